"""The pull-request event file: what pr-check takes from it, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.errors import InvalidInput
from gatekeeper.github.event import event_from_environment, load_event
from tests.prcheck.conftest import make_event

BASE, HEAD = "a" * 40, "b" * 40


def test_fields(tmp_path: Path) -> None:
    event = load_event(make_event(tmp_path, BASE, HEAD, number=12, author="octo"))
    assert (event.number, event.base_sha, event.head_sha) == (12, BASE, HEAD)
    assert (event.repository, event.author, event.base_ref) == ("acme/widget", "octo", "main")
    assert event.is_fork is False


def test_fork_and_deleted_fork(tmp_path: Path) -> None:
    assert load_event(make_event(tmp_path, BASE, HEAD, fork=True)).is_fork is True
    path = make_event(tmp_path, BASE, HEAD)
    data = json.loads(path.read_text())
    data["pull_request"]["head"]["repo"] = None  # the fork was deleted
    path.write_text(json.dumps(data))
    assert load_event(path).is_fork is True


def test_same_repository_different_case_is_not_a_fork(tmp_path: Path) -> None:
    path = make_event(tmp_path, BASE, HEAD)
    data = json.loads(path.read_text())
    data["pull_request"]["head"]["repo"]["full_name"] = "ACME/Widget"
    path.write_text(json.dumps(data))
    assert load_event(path).is_fork is False


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["pull_request"]["head"].update(sha="not-a-sha"),
        lambda d: d["pull_request"].update(number=0),
        lambda d: d["pull_request"].pop("user"),
        lambda d: d.pop("repository"),
    ],
)
def test_malformed(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    path = make_event(tmp_path, BASE, HEAD)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="not a pull-request event"):
        load_event(path)


def test_environment(tmp_path: Path) -> None:
    path = str(make_event(tmp_path, BASE, HEAD))
    for name in ("pull_request", "pull_request_target", ""):
        got = event_from_environment({"GITHUB_EVENT_PATH": path, "GITHUB_EVENT_NAME": name})
        assert got is not None and got.head_sha == HEAD
    assert event_from_environment({"GITHUB_EVENT_PATH": path, "GITHUB_EVENT_NAME": "push"}) is None
    assert event_from_environment({}) is None
    with pytest.raises(InvalidInput, match="is not a file"):
        event_from_environment(
            {
                "GITHUB_EVENT_PATH": str(tmp_path / "missing.json"),
                "GITHUB_EVENT_NAME": "pull_request",
            }
        )


def test_oversized_event_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekeeper.github import event as event_module

    monkeypatch.setattr(event_module, "MAX_EVENT_BYTES", 100)
    with pytest.raises(InvalidInput):
        load_event(make_event(tmp_path, BASE, HEAD))
