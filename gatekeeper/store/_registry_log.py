"""The decision log of an OCI store: one artifact per entry, under a never-reused tag.

Tag ``gatekeeper-log-<seq, 10 digits>-<sha256 hex of the entry line>``; the artifact is an
image manifest (artifactType ``application/vnd.gatekeeper.decision.v1+json``, empty
config) whose one layer is the entry's line. Because the tag names the line's digest, a
reader fetches the blob by that digest and the registry cannot substitute another entry.

Registries have no compare-and-swap, so two verifies may both append sequence number N.
Nothing is overwritten (each entry has its own tag); the next append adopts every entry
not yet reachable from the chain head (``merged``), and ``log verify`` checks the result
(see gatekeeper/decision_log.py).
"""

from __future__ import annotations

import re

from gatekeeper.decision_log import (
    GENESIS,
    MAX_LINE_BYTES,
    Appended,
    Decision,
    DecisionEntry,
    entry_line,
    line_digest,
)
from gatekeeper.errors import StoreError
from gatekeeper.store._registry import MANIFEST_TYPE, digest_of
from gatekeeper.store.oci import EMPTY_DATA, EMPTY_DESCRIPTOR, OciStore, canonical

LOG_TYPE = "application/vnd.gatekeeper.decision.v1+json"
ADOPT_WINDOW = 16  # sequence numbers below the newest that an append reads
_TAG = re.compile(r"^gatekeeper-log-(\d{10})-([0-9a-f]{64})$")


def log_tag(seq: int, digest: str) -> str:
    return f"gatekeeper-log-{seq:010d}-{digest.partition(':')[2]}"


class OciDecisionLog:
    def __init__(self, store: OciStore) -> None:
        self.store = store
        self.client = store.client

    def _read(self, window: int | None = None) -> list[tuple[int, str, bytes]]:
        """(seq from the tag, digest, line) for every entry (or the newest ``window``
        sequence numbers), in log order."""
        found = []
        for tag in self.client.list_tags():
            match = _TAG.match(tag)
            if match is not None:
                found.append((int(match.group(1)), match.group(2), tag))
        if window is not None and found:
            top = max(seq for seq, _, _ in found)
            found = [item for item in found if item[0] >= top - window]
        out = []
        for seq, hexpart, tag in found:
            digest = f"sha256:{hexpart}"
            line = self.client.get_blob(digest, limit=MAX_LINE_BYTES)
            if line is None:
                raise StoreError(
                    f"{self.store.uri}: decision-log tag {tag} names entry {digest}, "
                    "which the registry does not have (removed)"
                )
            out.append((seq, digest, line))
        out.sort(key=lambda item: (item[0], item[1]))
        return out

    def lines(self) -> list[bytes]:
        return [line for _, _, line in self._read()]

    def append(self, decision: Decision) -> Appended:
        """Raises StoreError when the registry refuses the entry or the log is unreadable."""
        entries: list[tuple[DecisionEntry, str]] = []
        # Only the newest entries matter: concurrent siblings sit at the top of the log, and
        # anything older is either on the chain or reported by `log verify`.
        for _, digest, line in self._read(window=ADOPT_WINDOW):
            try:
                entries.append((DecisionEntry.model_validate_json(line), digest))
            except ValueError as exc:
                raise StoreError(
                    f"{self.store.uri}: decision-log entry {digest} is malformed; "
                    "refusing to append (run `gatekeeper log verify`)"
                ) from exc
        if not entries:
            entry = decision.entry(0, GENESIS)
        else:
            head, head_digest = min(entries, key=lambda item: (-item[0].seq, item[1]))
            referenced = {ref for e, _ in entries for ref in (e.prev, *e.merged)}
            adopt = [d for _, d in entries if d not in referenced and d != head_digest]
            entry = decision.entry(head.seq + 1, head_digest, adopt)
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
            raise StoreError(f"{self.store.uri}: decision-log entry {tag} did not persist")
        return Appended(entry=entry, digest=digest, where=f"{self.store.uri}:{tag}")
