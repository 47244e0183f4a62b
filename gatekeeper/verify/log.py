"""The decision log: recording each ``verify`` decision, and checking the hash chain.

Each entry is one line of canonical JSON (``gatekeeper.models.decision``) naming the
sha256 of the previous entry's exact line bytes (``prev``) and its position (``seq``), so
editing, removing, reordering or inserting an entry breaks the chain at that point. The
chain proves the history *up to its head*: a log cut short after its last entry, or whose
last entry was rewritten, is caught by comparing with a head recorded elsewhere
(``verify`` prints each new head; ``log verify --head`` checks it).

Where the lines live is the store's business (``Store.decision_log``). A directory store
appends to one file under a lock, so its log must be one linear chain. An OCI registry has
no compare-and-swap: each entry is its own artifact, concurrent appenders may both write
sequence number N, and the *canonical* chain follows, from the highest entry, ``prev``
links back to the first; every entry off that chain (a concurrent sibling) must be adopted
by a later entry's ``merged`` list. An entry off the chain that nothing adopted is accepted
only at the last sequence numbers (it was written after the newest append read the log).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import InvalidInput
from gatekeeper.models.decision import (
    DIGEST_PATTERN,
    GENESIS,
    DecisionEntry,
    LoggedSubject,
    entry_line,
    is_torn,
    line_digest,
)
from gatekeeper.models.verdict import Verdict
from gatekeeper.store import Appended, Decision, Store
from gatekeeper.verify.evaluate import VerifyTrace


def record_decision(store: Store, verdict: Verdict, trace: VerifyTrace) -> Appended:
    """Append a verify decision to the store's log; returns where, and the new head.

    Raises:
        StoreError: the log cannot be written (the caller fails closed).
    """
    return store.decision_log().append(
        Decision(
            time=datetime.now(UTC),
            verdict=verdict.verdict,
            policy=verdict.policy,
            policy_digest=trace.policy_digest,
            subjects=[LoggedSubject(name=name, digest=digest) for name, digest in trace.subjects],
            reasons=list(verdict.reasons),
            attestations=list(trace.attestations),
            store=store.uri,
            policy_mark=trace.policy_mark,
        )
    )


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
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse_line(number: int, line: bytes) -> tuple[DecisionEntry | None, Problem | None]:
    if is_torn(line):
        return None, Problem(
            number, "the line is cut short (no final newline): a torn or truncated write"
        )
    try:
        entry = DecisionEntry.model_validate(loads_json_strict(line))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, Problem(number, f"not a decision-log entry ({first})")
    if entry_line(entry) != line:
        return entry, Problem(number, "the entry is not in canonical form: it was edited")
    return entry, None


def _parse(lines: list[bytes]) -> tuple[list[DecisionEntry], list[Problem]]:
    entries: list[DecisionEntry] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        entry, problem = _parse_line(number, line)
        if entry is not None:
            entries.append(entry)
        if problem is not None:
            problems.append(problem)
    return entries, problems


def verify_lines(lines: list[bytes], head: str | None = None) -> LogReport:
    """Check a log's chain. Entries are in log order (``log show`` order).

    A log whose sequence numbers are all distinct must be one linear chain; a log with
    concurrent siblings (an OCI store's) must be a chain plus adopted siblings.
    """
    entries, problems = _parse(lines)
    digests = [line_digest(line) for line in lines]
    if problems:
        return LogReport(len(lines), digests[-1] if digests else None, problems)
    # SECURITY: only a registry's log may hold concurrent siblings; a directory store's log
    # (or one mixing the two) must be one linear chain, so a forged duplicate cannot switch
    # the check to the more tolerant mode.
    registry_log = bool(entries) and all(e.store.startswith("oci://") for e in entries)
    notes: list[str] = []
    if registry_log:
        problems, notes = _verify_dag(entries, digests)
    else:
        problems = _verify_linear(entries, digests)
    if head is not None and not problems and head not in digests:
        problems.append(
            Problem(
                len(lines),
                f"the expected head {head} is not in the log: entries "
                "were removed from its end or rewritten",
            )
        )
    return LogReport(len(lines), _head(entries, digests), problems, notes)


def _head(entries: list[DecisionEntry], digests: list[str]) -> str | None:
    if not entries:
        return None
    return digests[_head_index(entries, digests)]


def _head_index(entries: list[DecisionEntry], digests: list[str]) -> int:
    """The newest entry; among concurrent siblings the one with the smallest digest."""
    return min(range(len(entries)), key=lambda i: (-entries[i].seq, digests[i]))


def _linear_problem(
    i: int, entry: DecisionEntry, entries: list[DecisionEntry], digests: list[str]
) -> str | None:
    """What is wrong with entry ``i`` of a linear chain, if anything."""
    if entry.seq != i:
        later = [e.seq for e in entries[i + 1 :]]
        if i in later:
            what = f"entries were reordered (entry {i} comes later)"
        elif entry.seq > i:
            what = "an entry was removed before it"
        else:
            what = "an entry was inserted or duplicated"
        return f"entry has sequence number {entry.seq} at position {i}: {what}"
    expected_prev = GENESIS if i == 0 else digests[i - 1]
    if entry.prev != expected_prev:
        return (
            f"entry {entry.seq} names previous entry {entry.prev}, "
            f"but the entry before it is {expected_prev}: the "
            "previous entry was edited, removed or replaced"
        )
    if entry.merged:
        return f"entry {entry.seq} adopts entries that are not in the log"
    return None


def _verify_linear(entries: list[DecisionEntry], digests: list[str]) -> list[Problem]:
    """The first broken link of a one-writer log (later ones follow from it)."""
    for i, entry in enumerate(entries):
        message = _linear_problem(i, entry, entries, digests)
        if message is not None:
            return [Problem(i + 1, message)]
    return []


class _Dag:
    """A registry log: entries in (seq, digest) order, linked by ``prev`` and ``merged``."""

    def __init__(self, entries: list[DecisionEntry], digests: list[str]) -> None:
        self.entries = entries
        self.digests = digests
        self.by_digest = {d: i for i, d in enumerate(digests)}

    def order_problem(self) -> Problem | None:
        order = sorted(
            range(len(self.entries)), key=lambda i: (self.entries[i].seq, self.digests[i])
        )
        if order == list(range(len(self.entries))):
            return None
        first = next(n for n, i in enumerate(order) if n != i)
        return Problem(
            first + 1,
            "entries are out of order (log order is sequence number, then "
            "digest): an entry was moved",
        )

    def link_problems(self, i: int) -> list[Problem]:
        """What is wrong with entry ``i``'s ``prev`` and ``merged`` links."""
        entry, number = self.entries[i], i + 1
        if entry.seq == 0:
            if entry.prev != GENESIS:
                return [Problem(number, "the first entry does not start the chain")]
            return []
        problems: list[Problem] = []
        parent = self.by_digest.get(entry.prev)
        if parent is None:
            problems.append(
                Problem(
                    number,
                    f"entry {entry.seq} names previous entry {entry.prev}, "
                    "which is not in the log: it was removed or edited",
                )
            )
        elif self.entries[parent].seq != entry.seq - 1:
            problems.append(
                Problem(
                    number,
                    f"entry {entry.seq} follows entry {self.entries[parent].seq}: "
                    "sequence numbers were changed",
                )
            )
        problems.extend(self._adoption_problems(entry, number))
        return problems

    def _adoption_problems(self, entry: DecisionEntry, number: int) -> list[Problem]:
        problems = []
        for adopted in entry.merged:
            j = self.by_digest.get(adopted)
            if j is None:
                problems.append(
                    Problem(
                        number,
                        f"entry {entry.seq} adopts {adopted}, which is not in "
                        "the log: it was removed or edited",
                    )
                )
            elif self.entries[j].seq >= entry.seq:
                problems.append(Problem(number, f"entry {entry.seq} adopts a later entry"))
        return problems

    def canonical(self) -> set[int]:
        """The entries reachable from the head along ``prev`` and ``merged``."""
        covered: set[int] = set()
        stack = [_head_index(self.entries, self.digests)]
        while stack:
            i = stack.pop()
            if i in covered:
                continue
            covered.add(i)
            refs = [self.entries[i].prev, *self.entries[i].merged]
            stack.extend(self.by_digest[r] for r in refs if r in self.by_digest)
        return covered

    def stray(self, covered: set[int]) -> tuple[list[Problem], list[str]]:
        """Entries off the chain: fine at the newest sequence numbers, inserted otherwise."""
        top = max(e.seq for e in self.entries)
        referenced = {r for e in self.entries for r in (e.prev, *e.merged)}
        problems: list[Problem] = []
        notes: list[str] = []
        for i, entry in enumerate(self.entries):
            if i in covered or self.digests[i] in referenced:
                continue
            # A sibling nobody has adopted yet may only be at the newest sequence number(s):
            # it was written after the newest append read the log.
            if entry.seq >= top - 1:
                notes.append(
                    f"entry {entry.seq} ({self.digests[i][:19]}...) was written concurrently "
                    "and will be adopted by the next decision"
                )
            else:
                problems.append(
                    Problem(
                        i + 1, f"entry {entry.seq} is referenced by no later entry: it was inserted"
                    )
                )
        return problems, notes


def _verify_dag(
    entries: list[DecisionEntry], digests: list[str]
) -> tuple[list[Problem], list[str]]:
    dag = _Dag(entries, digests)
    moved = dag.order_problem()
    if moved is not None:
        return [moved], []
    problems = [p for i in range(len(entries)) for p in dag.link_problems(i)]
    if problems:
        return problems, []
    if not any(e.seq == 0 for e in entries):
        return [
            Problem(1, "the log does not start at sequence number 0: its start was removed")
        ], []
    return dag.stray(dag.canonical())


def parse_head(value: str | None) -> str | None:
    """Raises InvalidInput unless ``value`` is None or ``sha256:<64 hex>``."""
    if value is None:
        return None
    if not re.match(DIGEST_PATTERN, value):
        raise InvalidInput(
            f"--head {value!r}: give the digest `log show` or `verify` printed (sha256:<64 hex>)"
        )
    return value
