"""What an attestation store is: envelopes in, envelopes out by stage or subject digest,
and the store's decision log.

The index a store keeps (stage name, subject digests, the run) is read from the unverified
payload and is only a way to find candidates: the verifier re-reads every fact it relies on
from the signed payload.

Lookups by subject and by run come in two strengths. ``complete=True`` (the default) is
every item the store holds under the key. ``complete=False`` lets a store answer from its
per-key index alone, at a cost that does not grow with the store; on a registry without
compare-and-swap such an index can miss an entry lost to a concurrent writer (never invent
one). A quick answer serves a first look whose misses only ever block and are then looked
up again completely (``gatekeeper.verify.evaluate``).

Each store supplies its own decision log (``decision_log``): a directory appends to a file
under a lock, a registry pushes each entry as an artifact. The log's format and its chain
check know nothing of store classes (``gatekeeper.models.decision``, ``gatekeeper.verify.log``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from gatekeeper.errors import StoreError

if TYPE_CHECKING:
    # The decision log's models are imported when a decision is logged: ``attest`` only puts.
    from gatekeeper.models.decision import DecisionEntry, LoggedSubject, PolicyMark
    from gatekeeper.models.verdict import Reason

# SECURITY: whoever can write the store can flood it. Caps on what one store object hands
# out: envelopes per lookup (a stage, a subject, all) and bytes over its whole life (one
# verify). Far above a real store; hitting one is verify/limit-exceeded, never a hang.
MAX_LOOKUP_ENVELOPES = 50_000
MAX_READ_BYTES = 1024 * 1024 * 1024


class StoreLimitError(StoreError):
    """A cap on what a store hands out was hit (the message names it)."""


class ReadBudget:
    """The bytes a store object may still hand out, shared by its lookups (thread-safe).

    An item handed out again (a verify's quick look, then its full read) counts once."""

    def __init__(self, where: str, limit: int | None = None) -> None:
        self.where = where
        self.limit = MAX_READ_BYTES if limit is None else limit
        self.used = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def charge(self, size: int, item: str | None = None) -> None:
        """Raises StoreLimitError once more than ``limit`` bytes were handed out."""
        with self._lock:
            if item is None or item not in self._seen:
                self.used += size
            if item is not None:
                self._seen.add(item)
            if self.used > self.limit:
                raise StoreLimitError(
                    f"{self.where}: more than {self.limit} bytes of envelopes read by one "
                    "command (a cap against a flooded store); prune the store or split it"
                )


def check_lookup_size(count: int, what: str, where: str) -> None:
    """Raises StoreLimitError when one lookup would hand out more than MAX_LOOKUP_ENVELOPES."""
    if count > MAX_LOOKUP_ENVELOPES:
        raise StoreLimitError(
            f"{where}: {count} envelopes {what}, more than the {MAX_LOOKUP_ENVELOPES} one "
            "lookup reads (a cap against a flooded store); prune the store or split it"
        )


# What a store holds: DSSE envelopes.
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


@dataclass(frozen=True)
class StoredEnvelope:
    """One stored item, as read back (checked against its digest where it has one)."""

    id: str  # sha256 of the stored bytes
    data: bytes
    location: str  # for messages: a path or a registry reference


@dataclass(frozen=True)
class RunKey:
    """A pipeline run as the verifier binds stages: run id and source commit, either may
    be absent (an imported in-toto link has neither)."""

    run_id: str | None
    source_commit: str | None

    def index_key(self, stage: str | None) -> str:
        """``sha256:<hex>`` naming this run's attestations of ``stage`` in a store's index."""
        text = json.dumps(
            {"run": self.run_id, "commit": self.source_commit, "stage": stage},
            sort_keys=True,
            separators=(",", ":"),
        )
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


UNBOUND = RunKey(None, None)


@dataclass(frozen=True)
class IndexKeys:
    stage: str | None
    subjects: tuple[str, ...]  # "sha256:<hex>" and the like
    # The run the payload names; None: not indexed by run (found through its stage only).
    run: RunKey | None = None


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
    # (policy name, mark) when the policy was accepted and has a serial: remembered in the log
    policy_mark: tuple[str, PolicyMark] | None = None

    def entry(
        self,
        seq: int,
        prev: str,
        merged: Iterable[str] = (),
        inherited: dict[str, PolicyMark] | None = None,
    ) -> DecisionEntry:
        """The entry at ``seq`` after ``prev``; ``inherited``: the policy marks so far."""
        from gatekeeper.models.decision import DecisionEntry, merge_marks

        current = dict([self.policy_mark]) if self.policy_mark is not None else None
        marks = merge_marks(inherited, current)
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
            policies=marks or None,
        )


@dataclass(frozen=True)
class Appended:
    entry: DecisionEntry
    digest: str  # "sha256:<hex>" of the entry's line: the log's new head
    where: str  # for messages: a path or a registry reference


class DecisionLog(Protocol):
    """Where a store keeps its decisions."""

    def append(self, decision: Decision) -> Appended:
        """Add one entry to the chain. Raises StoreError."""
        ...

    def lines(self) -> list[bytes]:
        """Every entry's line, in log order. Raises StoreError."""
        ...

    def marks(self) -> dict[str, PolicyMark]:
        """The policy serials the log remembers (its newest entries). Raises StoreError."""
        ...


class Store(Protocol):
    uri: str

    def put(self, data: bytes, keys: IndexKeys) -> str:
        """Store envelope bytes; return their id. Raises StoreError."""
        ...

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        """Every envelope indexed under ``stage``. Raises StoreError."""
        ...

    def by_subject(self, digest: str, *, complete: bool = True) -> list[StoredEnvelope]:
        """Every envelope with ``digest`` ("sha256:<hex>") among its subjects (``complete``:
        see the module). Raises StoreError."""
        ...

    def by_run(self, run: RunKey, stage: str, *, complete: bool = True) -> list[StoredEnvelope]:
        """Every envelope of stage ``stage`` indexed under ``run`` (``complete``: see the
        module). Raises StoreError."""
        ...

    def all(self) -> list[StoredEnvelope]:
        """Every envelope. Raises StoreError."""
        ...

    def decision_log(self) -> DecisionLog:
        """The store's log of verify decisions. Raises StoreError."""
        ...
