"""The decision log of an OCI store: one artifact per entry, under a never-reused tag.

Tag ``gatekeeper-log-<seq, 10 digits>-<sha256 hex of the entry line>``; the artifact is an
image manifest (artifactType ``application/vnd.gatekeeper.decision.v1+json``, empty
config) whose one layer is the entry's line. Because the tag names the line's digest, a
reader fetches the blob by that digest and the registry cannot substitute another entry.

Registries have no compare-and-swap, so two verifies may both append sequence number N.
Nothing is overwritten (each entry has its own tag); the next append adopts every entry
not yet reachable from the chain head (``merged``), and ``log verify`` checks the result
(see gatekeeper/verify/log.py).

Finding the newest entries must not cost a listing of the repository's tags (on a registry
that cannot page its tag list, that listing grows with every attestation stored). The tag
``gatekeeper-log-tail`` holds an image index of the entries of the newest sequence numbers;
each append reads it (one request), then adds its own entry (read, modify, write, verify,
and verify again a moment later, when a concurrent writer's overwrite would show). The
tail is a cache: the entry tags stay the record, ``lines`` (``log show``, ``log verify``)
lists them, and an append *heals* the tail from a listing of the log tags when there is no
tail yet (a log written before it), when a writer saw its entry lost from it, and otherwise
at most every HEAL_EVERY seconds (and HEAL_SHARE times the listing's own time), so entries
written without the tail (by an older gatekeeper) are adopted too. A read (a verify's
rollback check) heals only where there is no tail or it is marked contended: it cannot
write the heal back, so a periodic heal would list tags on every verify. So that a verify
never needs a listing to learn the log is empty, the store writes the tail on its first
push into a repository that has none (``ensure_tail``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import StoreError
from gatekeeper.models.decision import (
    GENESIS,
    MAX_LINE_BYTES,
    DecisionEntry,
    PolicyMark,
    entry_line,
    line_digest,
    merge_marks,
)
from gatekeeper.store._registry import (
    EMPTY_DATA,
    EMPTY_DESCRIPTOR,
    INDEX_TYPE,
    MANIFEST_TYPE,
    Manifest,
    RegistryClient,
    canonical,
    digest_of,
)
from gatekeeper.store.base import Appended, Decision

LOG_TYPE = "application/vnd.gatekeeper.decision.v1+json"
ADOPT_WINDOW = 16  # sequence numbers below the newest that an append reads
LOG_TAG_PREFIX = "gatekeeper-log-"
TAIL_TAG = "gatekeeper-log-tail"
ANNOTATION_SEQ = "dev.gatekeeper.log.seq"
ANNOTATION_LINE = "dev.gatekeeper.log.line"
ANNOTATION_HEALED = "dev.gatekeeper.log.healed"  # unix time of the last heal
ANNOTATION_HEAL_COST = "dev.gatekeeper.log.heal-seconds"  # how long its listing took
ANNOTATION_CONTENDED = "dev.gatekeeper.log.contended"  # heal on every append until then
HEAL_EVERY = 300.0
HEAL_SHARE = 50
CONTENDED_FOR = 60.0
TAIL_ATTEMPTS = 12
MAX_TAIL_ENTRIES = 1024
_TAG = re.compile(r"^gatekeeper-log-(\d{10})-([0-9a-f]{64})$")
_LINE = re.compile(r"^sha256:[0-9a-f]{64}$")


def log_tag(seq: int, digest: str) -> str:
    return f"{LOG_TAG_PREFIX}{seq:010d}-{digest.partition(':')[2]}"


def _entry_manifest(digest: str, size: int) -> bytes:
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": LOG_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [{"mediaType": LOG_TYPE, "digest": digest, "size": size}],
        }
    )


def _number(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


@dataclass
class _Tail:
    """What the tail tag holds: (seq, line digest) -> its index entry, and its bookkeeping."""

    manifest: Manifest | None = None
    entries: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    healed: float = 0.0
    heal_cost: float = 0.0
    contended: float = 0.0

    def heal_due(self, now: float, *, periodic: bool) -> bool:
        """Whether the tail must be completed from a listing of the log tags: when there is
        none, while it is marked contended, and (``periodic``: appends, which write the heal
        back) every HEAL_EVERY seconds."""
        if self.manifest is None or now < self.contended:
            return True
        return periodic and now - self.healed > max(HEAL_EVERY, HEAL_SHARE * self.heal_cost)


def _tail_entry(seq: int, digest: str, size: int) -> dict[str, Any]:
    """The tail's descriptor of an entry: its manifest (which the registry has)."""
    manifest = _entry_manifest(digest, size)
    return {
        "mediaType": MANIFEST_TYPE,
        "digest": digest_of(manifest),
        "size": len(manifest),
        "artifactType": LOG_TYPE,
        "annotations": {ANNOTATION_SEQ: str(seq), ANNOTATION_LINE: digest},
    }


class OciDecisionLog:
    def __init__(self, client: RegistryClient, uri: str) -> None:
        self.client = client
        self.uri = uri
        self.now = time.time
        self.sleep = time.sleep
        self._tail: _Tail | None = None
        self._healed: dict[tuple[int, str], dict[str, Any]] | None = None  # by this append
        self._lines: dict[str, bytes] = {}  # entry lines read, by digest (checked)

    # -- the record: every log tag -------------------------------------------------------

    def _tags(self, window: int | None) -> list[tuple[int, str, str]]:
        """(seq, hex, tag) of every log tag, or of the newest ``window`` sequence numbers."""
        found = []
        for tag in self.client.tags_with_prefixes([LOG_TAG_PREFIX], fresh=True):
            match = _TAG.match(tag)
            if match is not None:
                found.append((int(match.group(1)), match.group(2), tag))
        if window is not None and found:
            top = max(seq for seq, _, _ in found)
            found = [item for item in found if item[0] >= top - window]
        return found

    def _fetch(self, items: list[tuple[int, str]], where: str) -> list[tuple[int, str, bytes]]:
        """(seq, digest, line) of each item, read by the line's digest, in log order."""
        out = []
        for seq, digest in items:
            line = self.client.get_blob(digest, limit=MAX_LINE_BYTES)
            if line is None:
                raise StoreError(
                    f"{self.uri}: {where} names decision-log entry {digest}, which the "
                    "registry does not have (removed)"
                )
            out.append((seq, digest, line))
        out.sort(key=lambda item: (item[0], item[1]))
        return out

    def lines(self) -> list[bytes]:
        tags = self._tags(None)
        items = [(seq, f"sha256:{hexpart}") for seq, hexpart, _ in tags]
        return [line for _, _, line in self._fetch(items, "a decision-log tag")]

    # -- the tail: the newest entries, one request away ----------------------------------

    def _read_tail(self) -> _Tail:
        """Raises StoreError: the tail tag holds something other than a log tail."""
        manifest = self.client.get_manifest(TAIL_TAG)
        tail = _Tail(manifest=manifest)
        if manifest is None:
            return tail
        try:
            doc = loads_json_strict(manifest.data)
        except ValueError as exc:
            raise StoreError(f"{self.uri}: tag {TAIL_TAG} does not hold JSON") from exc
        listed = doc.get("manifests") if isinstance(doc, dict) else None
        if not isinstance(listed, list) or len(listed) > MAX_TAIL_ENTRIES:
            raise StoreError(f"{self.uri}: tag {TAIL_TAG} is not a decision-log tail")
        for item in listed:
            notes = item.get("annotations") if isinstance(item, dict) else None
            seq = notes.get(ANNOTATION_SEQ) if isinstance(notes, dict) else None
            digest = notes.get(ANNOTATION_LINE) if isinstance(notes, dict) else None
            if not (isinstance(seq, str) and seq.isdigit() and isinstance(digest, str)):
                raise StoreError(f"{self.uri}: tag {TAIL_TAG} has a malformed entry")
            if not _LINE.match(digest):
                raise StoreError(f"{self.uri}: tag {TAIL_TAG} names a malformed digest")
            tail.entries[(int(seq), digest)] = item
        meta = doc.get("annotations")
        if isinstance(meta, dict):
            tail.healed = _number(meta.get(ANNOTATION_HEALED, 0))
            tail.heal_cost = _number(meta.get(ANNOTATION_HEAL_COST, 0))
            tail.contended = _number(meta.get(ANNOTATION_CONTENDED, 0))
        return tail

    def _window(self, periodic: bool) -> tuple[list[tuple[int, str]], set[tuple[int, str]]]:
        """(seq, digest) of the entries of the newest sequence numbers: from the tail, and
        from a listing of the log tags when a heal is due; and which of them the listing
        added (``append`` writes those back into the tail)."""
        tail = self._read_tail()
        self._tail = tail
        found = set(tail.entries)
        healed: set[tuple[int, str]] = set()
        now = self.now()
        if tail.heal_due(now, periodic=periodic):
            started = time.monotonic()
            listed = {(seq, f"sha256:{hexpart}") for seq, hexpart, _ in self._tags(ADOPT_WINDOW)}
            tail.heal_cost = time.monotonic() - started
            tail.healed = now
            healed = listed - found
            found |= listed
        if not found:
            return [], healed
        top = max(seq for seq, _ in found)
        return sorted(k for k in found if k[0] >= top - ADOPT_WINDOW), healed

    def _newest(self, *, periodic: bool) -> list[tuple[DecisionEntry, str]]:
        """The entries of the newest sequence numbers, parsed. Raises StoreError."""
        entries: list[tuple[DecisionEntry, str]] = []
        window, healed = self._window(periodic)
        missing = [item for item in window if item[1] not in self._lines]
        for _, digest, line in self._fetch(missing, f"tag {TAIL_TAG}"):
            self._lines[digest] = line
        self._healed = {
            key: _tail_entry(key[0], key[1], len(self._lines[key[1]]))
            for key in healed
            if key in window
        }
        # Only the newest entries matter: concurrent siblings sit at the top of the log, and
        # anything older is either on the chain or reported by `log verify`.
        for _, digest in window:
            try:
                entries.append((DecisionEntry.model_validate_json(self._lines[digest]), digest))
            except ValueError as exc:
                raise StoreError(
                    f"{self.uri}: decision-log entry {digest} is malformed; "
                    "refusing to append (run `gatekeeper log verify`)"
                ) from exc
        return entries

    def _next_entry(self, decision: Decision) -> DecisionEntry:
        """The entry after the head, adopting every entry nothing references yet."""
        entries = self._newest(periodic=True)
        if not entries:
            return decision.entry(0, GENESIS)
        head, head_digest = min(entries, key=lambda item: (-item[0].seq, item[1]))
        referenced = {ref for e, _ in entries for ref in (e.prev, *e.merged)}
        adopt = [d for _, d in entries if d not in referenced and d != head_digest]
        inherited = merge_marks(*(e.policies for e, _ in entries))
        return decision.entry(head.seq + 1, head_digest, adopt, inherited)

    def marks(self) -> dict[str, PolicyMark]:
        """The policy serials of the newest entries (concurrent siblings merged), from the
        tail; a listing only where there is no tail or it is marked contended (a read
        cannot write a heal back, so a periodic one would list on every verify)."""
        return merge_marks(*(e.policies for e, _ in self._newest(periodic=False)))

    def _tail_body(self, tail: _Tail, mine: dict[str, Any], contended: bool) -> bytes:
        """The tail with ``mine`` and whatever this append healed, pruned to the window."""
        merged = dict(tail.entries)
        for key, item in (self._healed or {}).items():
            merged.setdefault(key, item)
        annotations = mine["annotations"]
        merged[(int(annotations[ANNOTATION_SEQ]), annotations[ANNOTATION_LINE])] = mine
        top = max(seq for seq, _ in merged)
        kept = [merged[k] for k in sorted(merged) if k[0] >= top - ADOPT_WINDOW]
        now = self.now()
        healed = self._tail.healed if self._tail is not None else 0.0
        cost = self._tail.heal_cost if self._tail is not None else 0.0
        meta = {
            ANNOTATION_HEALED: f"{max(healed, tail.healed):.3f}",
            ANNOTATION_HEAL_COST: f"{max(cost, tail.heal_cost):.3f}",
        }
        until = max(tail.contended, now + CONTENDED_FOR if contended else 0.0)
        if until > now:
            meta[ANNOTATION_CONTENDED] = f"{until:.3f}"
        return canonical(
            {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": kept, "annotations": meta}
        )

    def ensure_tail(self) -> None:
        """Write the tail where the repository has none, so that a reader learns the newest
        entries (or that there are none) without listing every tag: from a listing of the
        log tags, listed again after the write until the tail holds what was listed (an
        append racing with this write may have registered its entry in the tail just
        before we replaced it). Once per repository; a tail that exists is left alone.

        Raises:
            StoreError: the registry refuses the write, or the log is unreadable.
        """
        if self.client.head_manifest(TAIL_TAG) is not None:
            return
        for _ in range(TAIL_ATTEMPTS):
            started = time.monotonic()
            listed = {(seq, f"sha256:{hexpart}") for seq, hexpart, _ in self._tags(ADOPT_WINDOW)}
            cost = time.monotonic() - started
            tail = self._read_tail()
            if tail.manifest is not None and listed <= set(tail.entries):
                return
            body = self._healed_tail(tail, sorted(listed - set(tail.entries)), cost)
            self.client.put_manifest(TAIL_TAG, body, INDEX_TYPE)
        raise StoreError(f"{self.uri}: could not write {TAIL_TAG} after {TAIL_ATTEMPTS} attempts")

    def _healed_tail(self, tail: _Tail, missing: list[tuple[int, str]], cost: float) -> bytes:
        """The tail with the ``missing`` (seq, digest) entries added, pruned to the window."""
        for _, digest, line in self._fetch(missing, "a decision-log tag"):
            self._lines[digest] = line
        merged = dict(tail.entries)
        merged.update({k: _tail_entry(k[0], k[1], len(self._lines[k[1]])) for k in missing})
        top = max((seq for seq, _ in merged), default=0)
        kept = [merged[k] for k in sorted(merged) if k[0] >= top - ADOPT_WINDOW]
        meta = {ANNOTATION_HEALED: f"{self.now():.3f}", ANNOTATION_HEAL_COST: f"{cost:.3f}"}
        body = {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": kept}
        return canonical({**body, "annotations": meta})

    def _in_tail(self, key: tuple[int, str]) -> bool:
        return key in self._read_tail().entries

    def _register(self, seq: int, digest: str, size: int) -> None:
        """Add the entry to the tail: read, modify, write, verify; then verify again after
        twice the time that took, and add it again (marking the tail contended, so the next
        appends heal from a listing) if a concurrent writer's overwrite removed it.

        Raises:
            StoreError: the entry could not be made to stick after TAIL_ATTEMPTS tries.
        """
        mine = _tail_entry(seq, digest, size)
        key = (seq, digest)
        contended = False
        for _ in range(TAIL_ATTEMPTS):
            started = time.monotonic()
            tail = self._read_tail()
            if key not in tail.entries or contended:
                body = self._tail_body(tail, mine, contended)
                self.client.put_manifest(TAIL_TAG, body, INDEX_TYPE)
                if not self._in_tail(key):
                    contended = True
                    continue
            took = time.monotonic() - started
            self.sleep(min(1.0, 2 * took + 0.01))
            if self._in_tail(key):
                return
            contended = True  # written, verified, then overwritten: add it again
        raise StoreError(
            f"{self.uri}: could not record decision-log entry {seq} in {TAIL_TAG} after "
            f"{TAIL_ATTEMPTS} attempts (the entry itself was written)"
        )

    def append(self, decision: Decision) -> Appended:
        """Raises StoreError when the registry refuses the entry or the log is unreadable."""
        entry = self._next_entry(decision)
        line = entry_line(entry)
        digest = line_digest(line)
        self.client.push_blob(EMPTY_DATA)
        self.client.push_blob(line)
        manifest = _entry_manifest(digest, len(line))
        tag = log_tag(entry.seq, digest)
        self.client.put_manifest(tag, manifest, MANIFEST_TYPE)
        stored = self.client.get_manifest(tag)
        if stored is None or stored.digest != digest_of(manifest):
            raise StoreError(f"{self.uri}: decision-log entry {tag} did not persist")
        self._register(entry.seq, digest, len(line))
        self._healed = None
        return Appended(entry=entry, digest=digest, where=f"{self.uri}:{tag}")
