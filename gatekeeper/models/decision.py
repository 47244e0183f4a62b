"""The decision log's format: one canonical JSON line per ``verify`` decision, hash-chained.

Each entry names the sha256 of the previous entry's exact line bytes (``prev``; ``GENESIS``
for the first) and its position (``seq``). Stores keep the lines (``Store.decision_log``);
``gatekeeper.verify.log`` checks the chain.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import Field

from gatekeeper import __version__
from gatekeeper._fileio import dumps_json
from gatekeeper.models.base import GatekeeperModel, empty_list
from gatekeeper.models.verdict import Reason

GENESIS = "sha256:" + "0" * 64
MAX_LINE_BYTES = 1024 * 1024
MAX_LOG_BYTES = 1024 * 1024 * 1024
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
# A verified artifact's digest: sha256 for files; an artifact given by digest keeps its
# in-toto DigestSet algorithm (``sha512:…``, ``gitCommit:…``).
SUBJECT_DIGEST_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}:[^\s:]{1,512}$"
_TORN = b"\x00partial"  # marks a final line that had no newline (see split_lines)


class LoggedSubject(GatekeeperModel):
    name: str
    digest: str = Field(pattern=SUBJECT_DIGEST_PATTERN)


class PolicyMark(GatekeeperModel):
    """The highest ``serial`` accepted for one policy name, and that policy's digest."""

    serial: int = Field(ge=0)
    digest: str = Field(pattern=DIGEST_PATTERN)


def merge_marks(*marks: dict[str, PolicyMark] | None) -> dict[str, PolicyMark]:
    """Per policy name, the mark with the highest serial (ties: the smallest digest)."""
    out: dict[str, PolicyMark] = {}
    for each in marks:
        for name, mark in (each or {}).items():
            held = out.get(name)
            if held is None or (mark.serial, held.digest) > (held.serial, mark.digest):
                out[name] = mark
    return out


class DecisionEntry(GatekeeperModel):
    """One line of the decision log."""

    version: Literal[1] = 1
    seq: int = Field(ge=0)
    prev: str = Field(pattern=DIGEST_PATTERN)  # sha256 of the previous entry's line; GENESIS first
    merged: list[str] = Field(default_factory=empty_list)  # OCI store: adopted concurrent entries
    time: datetime
    command: Literal["verify"] = "verify"
    verdict: Literal["pass", "block"]
    policy: str | None = None
    policy_digest: str | None = None
    subjects: list[LoggedSubject] = Field(default_factory=empty_list)
    reasons: list[Reason] = Field(default_factory=empty_list)
    attestations: list[str] = Field(default_factory=empty_list)
    store: str = ""
    gatekeeper_version: str = __version__
    # The policy serials accepted so far (carried forward from the previous entry, so the
    # head alone tells what the gate remembers); absent from lines written before serials.
    policies: dict[str, PolicyMark] | None = None


def entry_line(entry: DecisionEntry) -> bytes:
    """The canonical line of an entry (without the newline)."""
    data = entry.model_dump(mode="json")
    if data.get("policies") is None:
        data.pop("policies", None)
    return dumps_json(data, indent=None).encode("utf-8")


def line_digest(line: bytes) -> str:
    return "sha256:" + hashlib.sha256(line).hexdigest()


def split_lines(data: bytes) -> list[bytes]:
    """Lines of a log; a final line without its newline is kept (and then fails verify)."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    else:
        parts[-1] = parts[-1] + _TORN  # marks a torn final line for verify
    return parts


def is_torn(line: bytes) -> bool:
    """Whether ``split_lines`` found this final line without its newline."""
    return line.endswith(_TORN)
