"""Fixtures for source tests: a repository and throwaway SSH signing keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest


@pytest.fixture
def repo(git_repo: git.Repo) -> git.Repo:
    return git_repo


@pytest.fixture
def ssh_keys(tmp_path: Path) -> dict[str, Path]:
    keys = {}
    for name in ("trusted", "other"):
        key = tmp_path / f"key-{name}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
        )
        keys[name] = key
    return keys
