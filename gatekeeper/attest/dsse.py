"""DSSE v1: pre-authentication encoding, signing and signature verification.

SECURITY: signatures are verified over the PAE of the envelope's exact payload bytes,
before the payload is parsed. Which key made a signature is established only by
verifying it under a key the caller trusts; the envelope's ``keyid`` is a hint for the
order in which keys are tried, and one key counts once however often it signed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Signature as SslibSignature
from securesystemslib.signer import SSlibKey

from gatekeeper.attest.keys import LoadedSigner
from gatekeeper.errors import MalformedInput, SigningError
from gatekeeper.models.envelope import Envelope, Signature

# SECURITY: every signature is tried under every key the caller trusts; an envelope with
# thousands of junk signatures would cost seconds per verify. No real envelope comes near.
MAX_SIGNATURES = 32


class TooManySignatures(MalformedInput):
    """An envelope carries more signatures than ``MAX_SIGNATURES``: none is checked."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal bytes."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def b64decode_strict(value: str, what: str) -> bytes:
    """Standard or URL-safe base64 (DSSE allows either), padded or not; nothing else.

    Raises:
        MalformedInput: not base64.
    """
    text = value.strip()
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{what} is not valid base64") from exc


def sign_envelope(payload: bytes, payload_type: str, signers: Sequence[LoadedSigner]) -> Envelope:
    """Sign ``payload`` once with each signer (a key listed twice signs once).

    Raises:
        SigningError: no signer, or a signer failed.
    """
    if not signers:
        raise SigningError("no signing key given")
    message = pae(payload_type, payload)
    signatures: list[Signature] = []
    seen: set[str] = set()
    for loaded in signers:
        if loaded.keyid in seen:
            continue
        seen.add(loaded.keyid)
        try:
            raw = loaded.signer.sign(message)
        except SigningError:
            raise  # a signer backend's own reason (gatekeeper.attest.signers)
        except Exception as exc:  # a KMS or token signer may raise anything: refuse to attest
            raise SigningError(
                f"{loaded.source}: signing failed: {type(exc).__name__}: {exc}"
            ) from exc
        sig_b64 = base64.b64encode(bytes.fromhex(raw.signature)).decode("ascii")
        signatures.append(Signature(keyid=loaded.keyid, sig=sig_b64))
    return Envelope(
        payload=base64.b64encode(payload).decode("ascii"),
        payload_type=payload_type,
        signatures=signatures,
    )


@dataclass(frozen=True)
class SignatureCheck:
    """What one signature turned out to be."""

    index: int
    claimed_keyid: str
    verified_by: tuple[str, ...]  # names of the keys (among those tried) it verifies under


def verify_envelope_signatures(
    envelope: Envelope, keys: dict[str, SSlibKey]
) -> tuple[bytes, list[SignatureCheck]]:
    """Verify every signature of ``envelope`` under every key in ``keys`` (name -> key).

    Returns the decoded payload and, for each signature, the names of the keys under which
    it verifies. Nothing here decides a verdict.

    Raises:
        TooManySignatures: more than ``MAX_SIGNATURES`` signatures (none is tried).
        MalformedInput: bad base64 in payload or a signature.
    """
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise TooManySignatures(
            f"{len(envelope.signatures)} signatures, more than the {MAX_SIGNATURES} a "
            "verifier reads on one envelope"
        )
    payload = b64decode_strict(envelope.payload, "envelope payload")
    message = pae(envelope.payload_type, payload)
    by_id: dict[str, list[str]] = {}
    for name, key in keys.items():
        by_id.setdefault(key.keyid, []).append(name)
    checks: list[SignatureCheck] = []
    for index, sig in enumerate(envelope.signatures):
        raw = b64decode_strict(sig.sig, f"signature {index + 1}")
        if not raw:
            checks.append(SignatureCheck(index, sig.keyid, ()))
            continue
        verified: list[str] = []
        for name, key in _ordered(keys, sig.keyid):
            candidate = SslibSignature(keyid=key.keyid, sig=raw.hex())
            try:
                key.verify_signature(candidate, message)
            except UnverifiedSignatureError:
                continue
            verified.append(name)
        checks.append(SignatureCheck(index, sig.keyid, tuple(sorted(verified))))
    return payload, checks


def _ordered(keys: dict[str, SSlibKey], hint: str) -> Iterable[tuple[str, SSlibKey]]:
    # The hint only orders the attempts; every key is tried.
    return sorted(keys.items(), key=lambda item: (item[1].keyid != hint, item[0]))
