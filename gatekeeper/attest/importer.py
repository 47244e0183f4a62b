"""`gatekeeper import`: envelopes made by other tools, checked for form, then stored.

Accepted: a DSSE envelope (JSON), an in-toto link wrapped in DSSE as ``in-toto-run
--use-dsse`` writes it, and ``.intoto.jsonl`` bundles (one envelope per line). A
signature is not checked here (the store is not trusted either): ``verify`` checks it
under the policy's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict, read_bounded
from gatekeeper.attest.dsse import MAX_SIGNATURES, b64decode_strict
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.attest.statement import foreign_index_stage, parse_attestation
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.envelope import Envelope
from gatekeeper.store import IndexKeys, RunKey, Store

MAX_IMPORT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Imported:
    source: str
    envelope_id: str
    stage: str
    kind: str


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


def _prepare(source: str, obj: object) -> _Prepared:
    """Check one envelope's form (nothing is stored yet). Raises InvalidInput."""
    if isinstance(obj, dict) and "dsseEnvelope" in obj:
        obj = obj["dsseEnvelope"]  # a Sigstore bundle carries the envelope inside
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
    run = RunKey(record.run_id, record.source_commit)
    keys = IndexKeys(stage=stage, subjects=tuple(sorted(record.subject_digests())), run=run)
    return _Prepared(source, envelope_bytes(envelope), keys, record.kind)


@dataclass(frozen=True)
class _Prepared:
    source: str
    data: bytes
    keys: IndexKeys
    kind: str


def import_files(paths: list[str], store: Store) -> list[Imported]:
    """Check every envelope in ``paths`` first, then store them all.

    Raises:
        InvalidInput: a file is unreadable or an envelope is not well-formed (nothing is stored).
    """
    prepared = [
        _prepare(source, obj) for raw_path in paths for source, obj in _envelopes_in(Path(raw_path))
    ]
    out = []
    for item in prepared:
        env_id = store.put(item.data, item.keys)
        out.append(
            Imported(
                source=item.source, envelope_id=env_id, stage=item.keys.stage or "", kind=item.kind
            )
        )
    return out
