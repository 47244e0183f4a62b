"""The decision log: every `verify` verdict, hash-chained, in the store.

Each entry is one line of canonical JSON (sorted keys, no spaces). An entry names the
sha256 of the previous entry's exact line bytes (``prev``) and its position (``seq``), so
editing, removing, reordering or inserting an entry breaks the chain at that point.
The chain proves the history *up to its head*: a log cut short after its last entry, or
whose last entry was rewritten, is caught by comparing with a head recorded elsewhere
(``verify`` prints each new head; ``log verify --head`` checks it).

Directory store: ``STORE/log/decisions.jsonl``, appended under an exclusive
``fcntl.flock`` with fsync, so concurrent verifies on one machine serialise and lose
nothing.

OCI store: registries offer no compare-and-swap, so there is no single chain head to
update. Each entry is pushed as its own artifact under a never-reused tag
``gatekeeper-log-<seq>-<sha256 hex>``. Concurrent appenders may both write sequence
number N; the *canonical* chain follows, from the highest entry, ``prev`` links back to
the first, and every entry off that chain (a concurrent sibling) must be adopted by a
later entry's ``merged`` list: an appender adopts every entry it sees that nothing
references yet. ``log verify`` checks all of it; an entry off the chain that nothing
adopted is accepted only at the last sequence number (it was written after the newest
append read the log).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field, ValidationError

from gatekeeper import __version__
from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.verdict import Reason
from gatekeeper.store import Store

GENESIS = "sha256:" + "0" * 64
LOG_RELATIVE = Path("log") / "decisions.jsonl"
MAX_LINE_BYTES = 1024 * 1024
MAX_LOG_BYTES = 1024 * 1024 * 1024
_DIGEST = r"^sha256:[0-9a-f]{64}$"


class LoggedSubject(GatekeeperModel):
    name: str
    digest: str = Field(pattern=_DIGEST)


class DecisionEntry(GatekeeperModel):
    """One line of the decision log."""

    version: Literal[1] = 1
    seq: int = Field(ge=0)
    prev: str = Field(pattern=_DIGEST)  # sha256 of the previous entry's line; GENESIS first
    merged: list[str] = Field(default_factory=list)  # OCI store: adopted concurrent entries
    time: datetime
    command: Literal["verify"] = "verify"
    verdict: Literal["pass", "block"]
    policy: str | None = None
    policy_digest: str | None = None
    subjects: list[LoggedSubject] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    attestations: list[str] = Field(default_factory=list)
    store: str = ""
    gatekeeper_version: str = __version__


@dataclass(frozen=True)
class Decision:
    """What a verify decided, before it has a place in the chain."""

    time: datetime
    verdict: Literal["pass", "block"]
    policy: str | None
    policy_digest: str | None
    subjects: list[LoggedSubject]
    reasons: list[Reason]
    attestations: list[str]
    store: str

    def entry(self, seq: int, prev: str, merged: Iterable[str] = ()) -> DecisionEntry:
        return DecisionEntry(
            seq=seq,
            prev=prev,
            merged=sorted(merged),
            time=self.time,
            verdict=self.verdict,
            policy=self.policy,
            policy_digest=self.policy_digest,
            subjects=self.subjects,
            reasons=self.reasons,
            attestations=sorted(set(self.attestations)),
            store=self.store,
        )


def entry_line(entry: DecisionEntry) -> bytes:
    """The canonical line of an entry (without the newline)."""
    return dumps_json(entry.model_dump(mode="json"), indent=None).encode("utf-8")


def line_digest(line: bytes) -> str:
    return "sha256:" + hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class Appended:
    entry: DecisionEntry
    digest: str
    where: str


class DecisionLog(Protocol):
    """Where a store keeps its decisions."""

    def append(self, decision: Decision) -> Appended:
        """Add one entry to the chain. Raises StoreError."""
        ...

    def lines(self) -> list[bytes]:
        """Every entry's line, in log order. Raises StoreError."""
        ...


class FileDecisionLog:
    """``STORE/log/decisions.jsonl``, appended under an exclusive flock with fsync."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, decision: Decision) -> Appended:
        """Raises StoreError when the log cannot be written or its tail is damaged."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot open the decision log: {exc.strerror or exc}"
            ) from exc
        with os.fdopen(fd, "r+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                seq, prev = self._tail(handle.fileno())
                entry = decision.entry(seq, prev)
                line = entry_line(entry)
                # SECURITY: one write of the whole line under the lock, then fsync: a reader
                # (or a crash) never sees half an entry followed by another writer's line.
                os.write(handle.fileno(), line + b"\n")
                os.fsync(handle.fileno())
            except OSError as exc:
                raise StoreError(
                    f"{self.path}: cannot append to the decision log: {exc.strerror or exc}"
                ) from exc
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return Appended(entry=entry, digest=line_digest(line), where=str(self.path))

    def _tail(self, fd: int) -> tuple[int, str]:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, GENESIS
        if size > MAX_LOG_BYTES:
            raise StoreError(
                f"{self.path}: the decision log is larger than {MAX_LOG_BYTES} bytes; rotate it"
            )
        start = max(0, size - MAX_LINE_BYTES - 1)
        os.lseek(fd, start, os.SEEK_SET)
        chunk = b""
        while len(chunk) < size - start:
            part = os.read(fd, size - start - len(chunk))
            if not part:
                break
            chunk += part
        if not chunk.endswith(b"\n"):
            raise StoreError(
                f"{self.path}: the decision log ends in a partial line; refusing to "
                "append (run `gatekeeper log verify`)"
            )
        body = chunk[:-1]
        cut = body.rfind(b"\n")
        if cut < 0 and start > 0:
            raise StoreError(
                f"{self.path}: the last decision-log line is longer than {MAX_LINE_BYTES} bytes"
            )
        last = body[cut + 1 :]
        try:
            entry = DecisionEntry.model_validate(loads_json_strict(last))
        except (ValueError, ValidationError) as exc:
            raise StoreError(
                f"{self.path}: the last decision-log entry is malformed; refusing to "
                "append (run `gatekeeper log verify`)"
            ) from exc
        return entry.seq + 1, line_digest(last)

    def lines(self) -> list[bytes]:
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(MAX_LOG_BYTES + 1)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if len(data) > MAX_LOG_BYTES:
            raise StoreError(f"{self.path}: larger than {MAX_LOG_BYTES} bytes")
        return split_lines(data)


def split_lines(data: bytes) -> list[bytes]:
    """Lines of a log; a final line without its newline is kept (and then fails verify)."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    else:
        parts[-1] = parts[-1] + b"\x00partial"  # marks a torn final line for verify
    return parts


def open_log(store: Store) -> DecisionLog:
    """The decision log of a store.

    Raises:
        StoreError: the store kind keeps no decision log.
    """
    from gatekeeper.store.filesystem import FilesystemStore

    if isinstance(store, FilesystemStore):
        return FileDecisionLog(store.root / LOG_RELATIVE)
    from gatekeeper.store.oci import OciStore

    if isinstance(store, OciStore):
        from gatekeeper.store._registry_log import OciDecisionLog

        return OciDecisionLog(store)
    raise StoreError(f"{store.uri}: this store keeps no decision log (use --no-log)")


# -- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    index: int  # 1-based line number
    message: str


@dataclass(frozen=True)
class LogReport:
    entries: int
    head: str | None
    problems: list[Problem]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse(lines: list[bytes]) -> tuple[list[DecisionEntry | None], list[Problem]]:
    parsed: list[DecisionEntry | None] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        if line.endswith(b"\x00partial"):
            problems.append(
                Problem(
                    number, "the line is cut short (no final newline): a torn or truncated write"
                )
            )
            parsed.append(None)
            continue
        try:
            entry = DecisionEntry.model_validate(loads_json_strict(line))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(Problem(number, f"not a decision-log entry ({first})"))
            parsed.append(None)
            continue
        if entry_line(entry) != line:
            problems.append(Problem(number, "the entry is not in canonical form: it was edited"))
        parsed.append(entry)
    return parsed, problems


def verify_lines(lines: list[bytes], head: str | None = None) -> LogReport:
    """Check a log's chain. Entries are in log order (``log show`` order).

    A log whose sequence numbers are all distinct must be one linear chain; a log with
    concurrent siblings (an OCI store's) must be a chain plus adopted siblings.
    """
    parsed, problems = _parse(lines)
    digests = [line_digest(line) for line in lines]
    if problems:
        return LogReport(len(lines), digests[-1] if digests else None, problems, [])
    entries = [e for e in parsed if e is not None]
    # SECURITY: only a registry's log may hold concurrent siblings; a directory store's log
    # (or one mixing the two) must be one linear chain, so a forged duplicate cannot switch
    # the check to the more tolerant mode.
    registry_log = bool(entries) and all(e.store.startswith("oci://") for e in entries)
    if not registry_log:
        problems = _verify_linear(entries, digests)
        notes: list[str] = []
    else:
        problems, notes = _verify_dag(entries, digests)
    head_digest = _head(entries, digests)
    if head is not None and not problems and head not in digests:
        problems.append(
            Problem(
                len(lines),
                f"the expected head {head} is not in the log: entries "
                "were removed from its end or rewritten",
            )
        )
    return LogReport(len(lines), head_digest, problems, notes)


def _head(entries: list[DecisionEntry], digests: list[str]) -> str | None:
    if not entries:
        return None
    return digests[_head_index(entries, digests)]


def _head_index(entries: list[DecisionEntry], digests: list[str]) -> int:
    """The newest entry; among concurrent siblings the one with the smallest digest."""
    return min(range(len(entries)), key=lambda i: (-entries[i].seq, digests[i]))


def _verify_linear(entries: list[DecisionEntry], digests: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for i, entry in enumerate(entries):
        number = i + 1
        expected_prev = GENESIS if i == 0 else digests[i - 1]
        if entry.seq != i:
            later = [e.seq for e in entries[i + 1 :]]
            if i in later:
                what = f"entries were reordered (entry {i} comes later)"
            elif entry.seq > i:
                what = "an entry was removed before it"
            else:
                what = "an entry was inserted or duplicated"
            problems.append(
                Problem(number, f"entry has sequence number {entry.seq} at position {i}: {what}")
            )
            break
        if entry.prev != expected_prev:
            problems.append(
                Problem(
                    number,
                    f"entry {entry.seq} names previous entry {entry.prev}, "
                    f"but the entry before it is {expected_prev}: the "
                    "previous entry was edited, removed or replaced",
                )
            )
            break
        if entry.merged:
            problems.append(
                Problem(number, f"entry {entry.seq} adopts entries that are not in the log")
            )
            break
    return problems


def _verify_dag(
    entries: list[DecisionEntry], digests: list[str]
) -> tuple[list[Problem], list[str]]:
    problems: list[Problem] = []
    by_digest = {d: i for i, d in enumerate(digests)}
    order = sorted(range(len(entries)), key=lambda i: (entries[i].seq, digests[i]))
    if order != list(range(len(entries))):
        first = next(n for n, i in enumerate(order) if n != i)
        return [
            Problem(
                first + 1,
                "entries are out of order (log order is sequence number, then "
                "digest): an entry was moved",
            )
        ], []
    for i, entry in enumerate(entries):
        number = i + 1
        if entry.seq == 0:
            if entry.prev != GENESIS:
                problems.append(Problem(number, "the first entry does not start the chain"))
            continue
        parent = by_digest.get(entry.prev)
        if parent is None:
            problems.append(
                Problem(
                    number,
                    f"entry {entry.seq} names previous entry {entry.prev}, "
                    "which is not in the log: it was removed or edited",
                )
            )
            continue
        if entries[parent].seq != entry.seq - 1:
            problems.append(
                Problem(
                    number,
                    f"entry {entry.seq} follows entry "
                    f"{entries[parent].seq}: "
                    "sequence numbers were changed",
                )
            )
        for adopted in entry.merged:
            j = by_digest.get(adopted)
            if j is None:
                problems.append(
                    Problem(
                        number,
                        f"entry {entry.seq} adopts {adopted}, which is "
                        "not in "
                        "the log: it was removed or edited",
                    )
                )
            elif entries[j].seq >= entry.seq:
                problems.append(Problem(number, f"entry {entry.seq} adopts a later entry"))
    if problems:
        return problems, []
    if not any(e.seq == 0 for e in entries):
        return [
            Problem(1, "the log does not start at sequence number 0: its start was removed")
        ], []
    # The canonical chain: from the head back along prev.
    top = max(e.seq for e in entries)
    head_index = _head_index(entries, digests)
    covered: set[int] = set()
    stack = [head_index]
    while stack:
        i = stack.pop()
        if i in covered:
            continue
        covered.add(i)
        refs = [entries[i].prev, *entries[i].merged]
        stack.extend(by_digest[r] for r in refs if r in by_digest)
    notes: list[str] = []
    for i, entry in enumerate(entries):
        if i in covered:
            continue
        # A sibling nobody has adopted yet may only be at the newest sequence number(s):
        # it was written after the newest append read the log.
        referenced = any(digests[i] in (e.prev, *e.merged) for e in entries)
        if referenced:
            continue
        if entry.seq >= top - 1:
            notes.append(
                f"entry {entry.seq} ({digests[i][:19]}...) was written concurrently and "
                "will be adopted by the next decision"
            )
            continue
        problems.append(
            Problem(i + 1, f"entry {entry.seq} is referenced by no later entry: it was inserted")
        )
    return problems, notes


def verify_store_log(log: DecisionLog, head: str | None = None) -> LogReport:
    return verify_lines(log.lines(), head)


def parse_head(value: str | None) -> str | None:
    """Raises InvalidInput unless ``value`` is None or ``sha256:<64 hex>``."""
    if value is None:
        return None
    if not re.match(_DIGEST, value):
        raise InvalidInput(
            f"--head {value!r}: give the digest `log show` or `verify` printed (sha256:<64 hex>)"
        )
    return value
