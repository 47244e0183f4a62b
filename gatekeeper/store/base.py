"""What an attestation store is: envelopes in, envelopes out by stage or subject digest.

The index a store keeps (stage name, subject digests) is read from the unverified payload
and is only a way to find candidates: the verifier re-reads every fact it relies on from
the signed payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredEnvelope:
    id: str  # sha256 of the stored bytes
    data: bytes
    location: str  # for messages: a path or a registry reference


@dataclass(frozen=True)
class IndexKeys:
    stage: str | None
    subjects: tuple[str, ...]  # "sha256:<hex>" and the like


class Store(Protocol):
    uri: str

    def put(self, data: bytes, keys: IndexKeys) -> str:
        """Store envelope bytes; return their id. Raises StoreError."""
        ...

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        """Every envelope indexed under ``stage``. Raises StoreError."""
        ...

    def by_subject(self, digest: str) -> list[StoredEnvelope]:
        """Every envelope with ``digest`` ("sha256:<hex>") among its subjects. Raises StoreError."""
        ...

    def all(self) -> list[StoredEnvelope]:
        """Every envelope. Raises StoreError."""
        ...
