"""Shared fixtures. No test reaches the internet: non-loopback connects raise."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from hypothesis import HealthCheck, settings

# Property tests: a fixed, derandomised number of examples in CI; fewer while developing.
# Select explicitly with HYPOTHESIS_PROFILE=ci|dev.
_PROFILE_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
    HealthCheck.data_too_large,
]
settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=_PROFILE_CHECKS,
)
settings.register_profile(
    "dev", max_examples=40, deadline=None, suppress_health_check=_PROFILE_CHECKS
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise OSError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise OSError(f"tests must not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(autouse=True)
def _clean_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start outside any CI, whatever machine runs them."""
    for name in (
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "JENKINS_URL",
        "JENKINS_HOME",
        "BUILD_URL",
        "JOB_NAME",
        "GATEKEEPER_RUN_ID",
        "GATEKEEPER_STORE",
        "GITHUB_SHA",
        "GIT_COMMIT",
        "CI_COMMIT_SHA",
        "GITHUB_TOKEN",
        "GITHUB_EVENT_PATH",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "CI",
    ):
        monkeypatch.delenv(name, raising=False)


ACTOR = git.Actor("Dev One", "dev@example.invalid")


def commit_files(
    repo: git.Repo,
    files: dict[str, str | bytes],
    message: str = "change",
    author: git.Actor = ACTOR,
) -> git.Commit:
    """Write files into the work tree, stage them and commit."""
    root = Path(repo.working_tree_dir or ".")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    repo.index.add(list(files))
    return repo.index.commit(message, author=author, committer=author)


@pytest.fixture
def git_repo(tmp_path: Path) -> git.Repo:
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Dev One")
        cfg.set_value("user", "email", "dev@example.invalid")
        cfg.set_value("commit", "gpgsign", "false")
    commit_files(repo, {"README.md": "hello\n"}, "initial")
    return repo


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Any]:
    """A git repo, three key pairs, a directory store and a 3-stage policy (tests/harness.py)."""
    from tests.harness import Pipeline

    made = Pipeline(tmp_path)
    yield made
    # GitPython keeps `git cat-file` processes per repository; end them with the test rather
    # than whenever the garbage collector reaches the repository (a ResourceWarning then).
    made.repo.close()
