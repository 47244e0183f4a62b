"""What an attestation is signed as: a DSSE envelope, or an in-toto metablock.

A DSSE signature covers PAE(payloadType, payload), base64 in ``signatures[].sig``. A classic
in-toto metablock (``in-toto-run`` without ``--use-dsse``: ``{"signed": {...}, "signatures":
[{"keyid", "sig"}]}``) signs the canonical JSON of its ``signed`` object (securesystemslib's
encoding), hex in ``sig``. Both are opened into one ``SignedDocument``: the bytes the
signatures cover, the signatures, and the payload the statement parser reads once a trusted
key has verified them.

SECURITY: nothing here trusts a signature; ``check_signatures`` decides which keys made them.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any, Literal

from securesystemslib.exceptions import FormatError
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import SSlibKey

from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper.attest.dsse import (
    MAX_SIGNATURES,
    SignatureCheck,
    TooManySignatures,
    b64decode_strict,
    check_signatures,
    pae,
    read_envelope,
    unknown_fields,
)
from gatekeeper.errors import MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE

Form = Literal["dsse", "metablock"]


@dataclass(frozen=True)
class SignedDocument:
    """A signed attestation, opened but not yet trusted."""

    form: Form
    payload_type: str
    payload: bytes  # what ``parse_attestation`` reads once a trusted key signed it
    message: bytes  # the bytes every signature covers
    signatures: tuple[tuple[str, bytes], ...]  # (claimed key id, signature bytes)
    notes: tuple[str, ...] = ()

    def check(self, keys: dict[str, SSlibKey]) -> list[SignatureCheck]:
        """For each signature, the names of the keys in ``keys`` it verifies under.

        Raises:
            TooManySignatures: more than ``MAX_SIGNATURES`` signatures.
        """
        return check_signatures(self.message, self.signatures, keys)


def is_metablock(obj: object) -> bool:
    """An in-toto metablock: ``signed`` and ``signatures``, and no DSSE ``payload``."""
    return isinstance(obj, dict) and "signed" in obj and "payload" not in obj


def open_dsse(obj: object, what: str = "DSSE envelope") -> SignedDocument:
    """Raises MalformedInput: not a DSSE envelope, or bad base64 (the field is named)."""
    read = read_envelope(obj, what)
    envelope = read.envelope
    _cap(len(envelope.signatures))
    payload = b64decode_strict(envelope.payload, f"{what}: payload")
    signatures = tuple(
        (sig.keyid, b64decode_strict(sig.sig, f"{what}: signatures[{index}].sig"))
        for index, sig in enumerate(envelope.signatures)
    )
    return SignedDocument(
        form="dsse",
        payload_type=envelope.payload_type,
        payload=payload,
        message=pae(envelope.payload_type, payload),
        signatures=signatures,
        notes=read.notes,
    )


def open_metablock(obj: object, what: str = "in-toto metablock") -> SignedDocument:
    """A classic in-toto metablock (a link, or a layout: the caller decides what it accepts).

    ``signatures[].sig`` is hex. An OpenPGP signature (``signature`` and ``other_headers``,
    as ``in-toto-run --gpg`` writes) is kept but verifies under no key: gatekeeper's keys are
    PEM and in-toto keys, not OpenPGP keys.

    Raises:
        MalformedInput: ``signed`` is not an object or cannot be canonicalised, or a
            signature is malformed (the field is named).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("signed"), dict):
        raise MalformedInput(f"{what}: signed is not an object")
    signed = obj["signed"]
    notes = [
        f"{name}: unknown field, ignored" for name in sorted(set(obj) - {"signed", "signatures"})
    ]
    raw_signatures = obj.get("signatures")
    if raw_signatures is None:
        raw_signatures = []
    if not isinstance(raw_signatures, list):
        raise MalformedInput(f"{what}: signatures is not a list")
    _cap(len(raw_signatures))
    signatures: list[tuple[str, bytes]] = []
    for index, entry in enumerate(raw_signatures):
        where = f"signatures[{index}]"
        if not isinstance(entry, dict):
            raise MalformedInput(f"{what}: {where} is not an object")
        keyid = entry.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise MalformedInput(f"{what}: {where}.keyid is not a string")
        sig = entry.get("sig")
        if sig is None and "signature" in entry:
            notes.append(f"{where}: an OpenPGP signature, which gatekeeper cannot verify")
            signatures.append((keyid or "", b""))
            continue
        if not isinstance(sig, str):
            raise MalformedInput(f"{what}: {where}.sig missing or not a string")
        try:
            raw = binascii.unhexlify(sig)
        except (binascii.Error, ValueError) as exc:
            raise MalformedInput(f"{what}: {where}.sig is not hex") from exc
        notes.extend(unknown_fields(entry, frozenset({"keyid", "sig"}), what, f"{where}."))
        signatures.append((keyid or "", raw))
    try:
        message = _canonical(signed)
    except (FormatError, TypeError, ValueError, RecursionError) as exc:
        raise MalformedInput(f"{what}: signed cannot be canonicalised ({exc})") from exc
    return SignedDocument(
        form="metablock",
        payload_type=INTOTO_PAYLOAD_TYPE,
        payload=dumps_json(signed, indent=None).encode("utf-8"),
        message=message,
        signatures=tuple(signatures),
        notes=tuple(notes),
    )


def _cap(count: int) -> None:
    """Raises TooManySignatures before any signature is decoded."""
    if count > MAX_SIGNATURES:
        raise TooManySignatures(
            f"{count} signatures, more than the {MAX_SIGNATURES} a verifier reads on one envelope"
        )


def _canonical(signed: dict[str, Any]) -> bytes:
    """securesystemslib's canonical JSON (what in-toto signs). Raises on floats."""
    text = encode_canonical(signed)
    if text is None:  # only with an output function, which is not given
        raise ValueError("canonical encoding failed")
    return str(text).encode("utf-8")


def open_signed(data: bytes | object, what: str = "envelope") -> SignedDocument:
    """A stored attestation (bytes, or already parsed JSON) as a ``SignedDocument``.

    Raises:
        MalformedInput: not strict JSON, or neither a DSSE envelope nor a metablock.
    """
    obj: object = data
    if isinstance(data, bytes):
        try:
            obj = loads_json_strict(data)
        except ValueError as exc:
            raise MalformedInput(f"{what} is not strict JSON: {exc}") from exc
    if is_metablock(obj):
        return open_metablock(obj, what)
    return open_dsse(obj, what)
