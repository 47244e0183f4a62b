"""The pull-request event GitHub Actions writes to ``$GITHUB_EVENT_PATH``.

Only the fields pr-check needs are read (base and head shas, number, repositories, author);
the event carries hundreds more, which are ignored. A file that is not JSON or lacks a
field we need is an error, never a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatekeeper._fileio import loads_json_strict, read_bounded
from gatekeeper.errors import InvalidInput

MAX_EVENT_BYTES = 16 * 1024 * 1024
_SHA = r"^[0-9a-f]{40}([0-9a-f]{24})?$"


class _Lenient(BaseModel):
    # NOTE: GitHub's format, not ours: unknown fields are expected and ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Lenient):
    login: str


class _Repo(_Lenient):
    full_name: str


class _Ref(_Lenient):
    sha: str = Field(pattern=_SHA)
    ref: str
    repo: _Repo | None = None  # null when the fork was deleted


class _PullRequest(_Lenient):
    number: int = Field(ge=1)
    base: _Ref
    head: _Ref
    user: _User


class _Event(_Lenient):
    pull_request: _PullRequest
    repository: _Repo


class PullRequestEvent(BaseModel):
    """What pr-check takes from the event."""

    model_config = ConfigDict(frozen=True)

    number: int
    base_sha: str
    base_ref: str
    head_sha: str
    repository: str  # owner/name of the base repository (where statuses go)
    author: str
    is_fork: bool


def load_event(path: str | os.PathLike[str]) -> PullRequestEvent:
    """Read a ``pull_request`` / ``pull_request_target`` event file.

    Raises:
        InvalidInput: unreadable, not JSON, or not a pull-request event.
    """
    try:
        raw = loads_json_strict(read_bounded(path, MAX_EVENT_BYTES))
        event = _Event.model_validate(raw)
    except ValueError as exc:  # ValidationError is a ValueError
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else exc
        raise InvalidInput(f"{path}: not a pull-request event: {detail}") from None
    pr = event.pull_request
    head_repo = pr.head.repo.full_name if pr.head.repo else None
    return PullRequestEvent(
        number=pr.number,
        base_sha=pr.base.sha,
        base_ref=pr.base.ref,
        head_sha=pr.head.sha,
        repository=event.repository.full_name,
        author=pr.user.login,
        is_fork=head_repo is None or head_repo.lower() != event.repository.full_name.lower(),
    )


def event_from_environment(environ: Mapping[str, str]) -> PullRequestEvent | None:
    """The event of a pull-request workflow run, or None when this is not one."""
    path = environ.get("GITHUB_EVENT_PATH", "").strip()
    name = environ.get("GITHUB_EVENT_NAME", "").strip()
    if not path:
        return None
    if name and name not in ("pull_request", "pull_request_target"):
        return None
    if not Path(path).is_file():
        raise InvalidInput(f"GITHUB_EVENT_PATH {path!r} is not a file")
    return load_event(path)


__all__ = ["PullRequestEvent", "event_from_environment", "load_event"]
