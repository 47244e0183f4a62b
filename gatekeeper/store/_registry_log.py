"""The decision log of an OCI store: one artifact per entry, under a never-reused tag.

Tag ``gatekeeper-log-<seq, 10 digits>-<sha256 hex of the entry line>``; the artifact is an
image manifest (artifactType ``application/vnd.gatekeeper.decision.v1+json``, empty
config) whose one layer is the entry's line. Because the tag names the line's digest, a
reader fetches the blob by that digest and the registry cannot substitute another entry.

Registries have no compare-and-swap, so two verifies may both append sequence number N.
Nothing is overwritten (each entry has its own tag); the next append adopts every entry
not yet reachable from the chain head (``merged``), and ``log verify`` checks the result
(see gatekeeper/verify/log.py).
"""

from __future__ import annotations

import re

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
    MANIFEST_TYPE,
    RegistryClient,
    canonical,
    digest_of,
)
from gatekeeper.store.base import Appended, Decision

LOG_TYPE = "application/vnd.gatekeeper.decision.v1+json"
ADOPT_WINDOW = 16  # sequence numbers below the newest that an append reads
_TAG = re.compile(r"^gatekeeper-log-(\d{10})-([0-9a-f]{64})$")


def log_tag(seq: int, digest: str) -> str:
    return f"gatekeeper-log-{seq:010d}-{digest.partition(':')[2]}"


class OciDecisionLog:
    def __init__(self, client: RegistryClient, uri: str) -> None:
        self.client = client
        self.uri = uri

    def _tags(self, window: int | None) -> list[tuple[int, str, str]]:
        """(seq, hex, tag) of every log tag, or of the newest ``window`` sequence numbers."""
        found = []
        for tag in self.client.list_tags():
            match = _TAG.match(tag)
            if match is not None:
                found.append((int(match.group(1)), match.group(2), tag))
        if window is not None and found:
            top = max(seq for seq, _, _ in found)
            found = [item for item in found if item[0] >= top - window]
        return found

    def _read(self, window: int | None = None) -> list[tuple[int, str, bytes]]:
        """(seq from the tag, digest, line) for every entry (or the newest ``window``
        sequence numbers), in log order."""
        out = []
        for seq, hexpart, tag in self._tags(window):
            digest = f"sha256:{hexpart}"
            line = self.client.get_blob(digest, limit=MAX_LINE_BYTES)
            if line is None:
                raise StoreError(
                    f"{self.uri}: decision-log tag {tag} names entry {digest}, "
                    "which the registry does not have (removed)"
                )
            out.append((seq, digest, line))
        out.sort(key=lambda item: (item[0], item[1]))
        return out

    def lines(self) -> list[bytes]:
        return [line for _, _, line in self._read()]

    def _newest(self) -> list[tuple[DecisionEntry, str]]:
        """The entries of the newest sequence numbers, parsed. Raises StoreError."""
        entries: list[tuple[DecisionEntry, str]] = []
        # Only the newest entries matter: concurrent siblings sit at the top of the log, and
        # anything older is either on the chain or reported by `log verify`.
        for _, digest, line in self._read(window=ADOPT_WINDOW):
            try:
                entries.append((DecisionEntry.model_validate_json(line), digest))
            except ValueError as exc:
                raise StoreError(
                    f"{self.uri}: decision-log entry {digest} is malformed; "
                    "refusing to append (run `gatekeeper log verify`)"
                ) from exc
        return entries

    def _next_entry(self, decision: Decision) -> DecisionEntry:
        """The entry after the head, adopting every entry nothing references yet."""
        entries = self._newest()
        if not entries:
            return decision.entry(0, GENESIS)
        head, head_digest = min(entries, key=lambda item: (-item[0].seq, item[1]))
        referenced = {ref for e, _ in entries for ref in (e.prev, *e.merged)}
        adopt = [d for _, d in entries if d not in referenced and d != head_digest]
        inherited = merge_marks(*(e.policies for e, _ in entries))
        return decision.entry(head.seq + 1, head_digest, adopt, inherited)

    def marks(self) -> dict[str, PolicyMark]:
        """The policy serials of the newest entries (concurrent siblings merged)."""
        return merge_marks(*(e.policies for e, _ in self._newest()))

    def append(self, decision: Decision) -> Appended:
        """Raises StoreError when the registry refuses the entry or the log is unreadable."""
        entry = self._next_entry(decision)
        line = entry_line(entry)
        digest = line_digest(line)
        self.client.push_blob(EMPTY_DATA)
        self.client.push_blob(line)
        manifest = canonical(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "artifactType": LOG_TYPE,
                "config": EMPTY_DESCRIPTOR,
                "layers": [{"mediaType": LOG_TYPE, "digest": digest, "size": len(line)}],
            }
        )
        tag = log_tag(entry.seq, digest)
        self.client.put_manifest(tag, manifest, MANIFEST_TYPE)
        stored = self.client.get_manifest(tag)
        if stored is None or stored.digest != digest_of(manifest):
            raise StoreError(f"{self.uri}: decision-log entry {tag} did not persist")
        return Appended(entry=entry, digest=digest, where=f"{self.uri}:{tag}")
