"""Fixtures of the deps tests."""

from __future__ import annotations

from collections.abc import Iterator

import git
import pytest


@pytest.fixture
def git_repo(git_repo: git.Repo) -> Iterator[git.Repo]:
    """The shared repository fixture, closed afterwards: GitPython keeps ``git cat-file``
    processes open per repository object, and a test file that makes many of them would
    otherwise end with unclosed-process warnings (which this suite turns into errors)."""
    yield git_repo
    git_repo.close()
