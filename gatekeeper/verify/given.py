"""Attestations given on the command line (``verify --bundle FILE``), seen over the store.

The files are read and checked for form as ``import`` reads them (Sigstore bundles kept whole,
DSSE envelopes, one per line in ``.jsonl``), but nothing is written: the verifier sees the
store's attestations and these together, found by the same index (stage, subject digests),
and judges them alike. Decisions are still logged in the store's decision log.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from gatekeeper.store import DecisionLog, IndexKeys, RunKey, Store, StoredEnvelope

if TYPE_CHECKING:
    from gatekeeper.attest.importer import Prepared


class GivenFiles:
    """A store that adds the given attestations to what ``base`` holds (read-only)."""

    def __init__(self, base: Store, given: list[Prepared]) -> None:
        self.base = base
        self.uri = base.uri
        self._given = [
            (StoredEnvelope(hashlib.sha256(g.data).hexdigest(), g.data, g.source), g.keys)
            for g in given
        ]

    @staticmethod
    def _merged(stored: list[StoredEnvelope], extra: list[StoredEnvelope]) -> list[StoredEnvelope]:
        out = list(stored)
        seen = {s.id for s in out}
        for item in extra:
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
        return out

    def put(self, data: bytes, keys: IndexKeys) -> str:
        return self.base.put(data, keys)

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        extra = [s for s, keys in self._given if keys.stage == stage]
        return self._merged(self.base.by_stage(stage), extra)

    def by_subject(self, digest: str, *, complete: bool = True) -> list[StoredEnvelope]:
        extra = [s for s, keys in self._given if digest in keys.subjects]
        return self._merged(self.base.by_subject(digest, complete=complete), extra)

    def by_run(self, run: RunKey, stage: str, *, complete: bool = True) -> list[StoredEnvelope]:
        extra = [s for s, keys in self._given if keys.stage == stage and keys.run == run]
        return self._merged(self.base.by_run(run, stage, complete=complete), extra)

    def all(self) -> list[StoredEnvelope]:
        return self._merged(self.base.all(), [s for s, _ in self._given])

    def decision_log(self) -> DecisionLog:
        return self.base.decision_log()


__all__ = ["GivenFiles"]
