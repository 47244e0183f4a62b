"""`gatekeeper import`: envelopes made by other tools, checked for form, then stored.

Accepted: a DSSE envelope (JSON), an in-toto link wrapped in DSSE as ``in-toto-run
--use-dsse`` writes it, ``.intoto.jsonl`` files (one envelope per line), and Sigstore bundles
(``.sigstore.json``, or one per line). A bundle is kept whole (certificate, log entry,
timestamps and envelope), since its signature means nothing without them. A signature is not
checked here (the store is not trusted either): ``verify`` checks it under the policy's keys
and trusted roots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekeeper._fileio import dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.bundle import (
    bundle_envelope,
    is_bundle,
    is_legacy_cosign_bundle,
    precheck_bundle,
)
from gatekeeper.attest.dsse import MAX_SIGNATURES, b64decode_strict
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.attest.statement import foreign_index_stage, parse_attestation
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.envelope import Envelope
from gatekeeper.store import IndexKeys, Store

MAX_IMPORT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Imported:
    source: str
    envelope_id: str
    stage: str
    kind: str
    bundle: bool = False  # kept whole as a Sigstore bundle


def _envelopes_in(path: Path) -> list[tuple[str, object]]:
    data = read_bounded(path, MAX_IMPORT_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text") from exc
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"{path}: empty file")
    try:
        return [(str(path), loads_json_strict(stripped))]
    except ValueError:
        pass
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", loads_json_strict(line)))
        except ValueError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON: {exc}") from exc
    return out


def _bundle(source: str, obj: dict[str, Any]) -> tuple[object, bytes]:
    """A Sigstore bundle's envelope (to index it) and the bytes to store: the whole bundle.

    Raises:
        InvalidInput: a bundle no verifier could read (the reason names what is missing).
    """
    problem = precheck_bundle(obj)
    if problem is not None and problem.code == "verify/malformed":
        raise InvalidInput(f"{source}: {problem.problem}")
    return bundle_envelope(obj), dumps_json(obj, indent=None).encode("utf-8")


def _prepare(source: str, obj: object) -> Prepared:
    """Check one envelope's form (nothing is stored yet). Raises InvalidInput."""
    kept: bytes | None = None
    if is_legacy_cosign_bundle(obj):
        legacy = precheck_bundle(obj)
        raise InvalidInput(f"{source}: {legacy.problem if legacy else 'not a Sigstore bundle'}")
    if is_bundle(obj) and isinstance(obj, dict):
        # SECURITY: a bundle is stored whole; its envelope alone would verify under nothing.
        obj, kept = _bundle(source, obj)
    try:
        envelope = Envelope.model_validate(obj)
        payload = b64decode_strict(envelope.payload, "payload")
        record = parse_attestation(envelope.payload_type, payload)
    except ValidationError as exc:
        raise InvalidInput(f"{source}: not a DSSE envelope: {exc.errors()[0]['msg']}") from exc
    except MalformedInput as exc:
        raise InvalidInput(f"{source}: {exc}") from exc
    if not envelope.signatures:
        raise InvalidInput(f"{source}: the envelope carries no signature")
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise InvalidInput(
            f"{source}: {len(envelope.signatures)} signatures, more than the {MAX_SIGNATURES} "
            "a verifier reads on one envelope"
        )
    # SECURITY: a foreign provenance names no stage; it is filed under its predicate type and
    # the verifier's policy decides which stage it stands for (``stages[].provenance``).
    stage = record.stage or foreign_index_stage(record.predicate_type or "unknown")
    keys = IndexKeys(stage=stage, subjects=tuple(sorted(record.subject_digests())))
    data = kept if kept is not None else envelope_bytes(envelope)
    return Prepared(source, data, keys, record.kind, bundle=kept is not None)


@dataclass(frozen=True)
class Prepared:
    source: str
    data: bytes
    keys: IndexKeys
    kind: str
    bundle: bool = False  # a whole Sigstore bundle


def prepare_files(paths: list[str]) -> list[Prepared]:
    """Every attestation in ``paths``, checked for form, with the keys to index it by.

    Raises:
        InvalidInput: a file is unreadable or an attestation is not well-formed.
    """
    return [
        _prepare(source, obj) for raw_path in paths for source, obj in _envelopes_in(Path(raw_path))
    ]


def import_files(paths: list[str], store: Store) -> list[Imported]:
    """Check every envelope in ``paths`` first, then store them all.

    Raises:
        InvalidInput: a file is unreadable or an envelope is not well-formed (nothing is stored).
    """
    prepared = prepare_files(paths)
    out = []
    for item in prepared:
        env_id = store.put(item.data, item.keys)
        out.append(
            Imported(
                source=item.source,
                envelope_id=env_id,
                stage=item.keys.stage or "",
                kind=item.kind,
                bundle=item.bundle,
            )
        )
    return out
