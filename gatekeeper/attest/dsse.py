"""DSSE v1: pre-authentication encoding, signing, reading and signature verification.

Envelopes other tools write are read as the DSSE spec says: ``payload``, ``payloadType`` and
``signatures[].sig`` are required, ``keyid`` is optional, and any other field (cosign's and
slsa-github-generator's ``cert``, witness's ``certificate``) is ignored with a note.

A signature is checked in the scheme its key declares (``SSlibKey.scheme``): Ed25519; ECDSA
P-256/SHA-256 or P-384/SHA-384, the signature in DER (X9.62) or as raw r||s of the curve's
size (IEEE P1363, as Google's verifiers and some KMS write it); RSA with RSASSA-PSS or
PKCS#1 v1.5 and the declared hash. Verification is done with ``cryptography``.

SECURITY: signatures are verified over the PAE of the envelope's exact payload bytes,
before the payload is parsed. Which key made a signature is established only by
verifying it under a key the caller trusts; the envelope's ``keyid`` is a hint for the
order in which keys are tried, and one key counts once however often it signed. RSA keys
never fall back from their declared padding to the other one.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
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
class ReadEnvelope:
    """A DSSE envelope as another tool wrote it, and what was ignored in it."""

    envelope: Envelope
    notes: tuple[str, ...] = ()


_ENVELOPE_FIELDS = frozenset({"payload", "payloadType", "signatures"})
_SIGNATURE_FIELDS = frozenset({"sig", "keyid"})


def unknown_fields(
    obj: dict[str, object], known: frozenset[str], what: str, prefix: str = ""
) -> list[str]:
    """A note for each unknown field (ignored, as the DSSE and in-toto specs say).

    SECURITY: a field that differs from a known one only in case (``Payload``) is refused:
    a parser that matches names without regard to case (Go's encoding/json) would read it
    as the known field, and two tools would see two payloads in one file.

    Raises:
        MalformedInput: an unknown field spelled like a known one.
    """
    folded = {name.casefold(): name for name in known}
    notes = []
    for name in sorted(set(obj) - known):
        if name.casefold() in folded:
            raise MalformedInput(
                f"{what}: {prefix}{name} differs from {prefix}{folded[name.casefold()]} only "
                "in case (another parser could read it as that field)"
            )
        notes.append(f"{prefix}{name}: unknown field, ignored")
    return notes


def read_envelope(obj: object, what: str = "DSSE envelope") -> ReadEnvelope:
    """Read a DSSE envelope as the spec says: unknown fields ignored (with a note each).

    Raises:
        MalformedInput: a required field is missing or of the wrong type; the message names it.
    """
    if not isinstance(obj, dict):
        raise MalformedInput(f"{what}: not a JSON object")
    notes = unknown_fields(obj, _ENVELOPE_FIELDS, what)
    for name in ("payload", "payloadType"):
        if name not in obj:
            raise MalformedInput(f"{what}: {name} missing")
        if not isinstance(obj[name], str):
            raise MalformedInput(f"{what}: {name} is not a string")
    raw_signatures = obj.get("signatures")
    if raw_signatures is None:
        raw_signatures = []
    if not isinstance(raw_signatures, list):
        raise MalformedInput(f"{what}: signatures is not a list")
    signatures = []
    for index, entry in enumerate(raw_signatures):
        where = f"signatures[{index}]"
        if not isinstance(entry, dict):
            raise MalformedInput(f"{what}: {where} is not an object")
        sig, keyid = entry.get("sig"), entry.get("keyid")
        if not isinstance(sig, str):
            problem = "missing" if sig is None else "is not a string"
            raise MalformedInput(f"{what}: {where}.sig {problem}")
        if keyid is not None and not isinstance(keyid, str):
            raise MalformedInput(f"{what}: {where}.keyid is not a string")
        notes.extend(unknown_fields(entry, _SIGNATURE_FIELDS, what, f"{where}."))
        signatures.append(Signature(keyid=keyid or "", sig=sig))
    envelope = Envelope(
        payload=obj["payload"], payload_type=obj["payloadType"], signatures=signatures
    )
    return ReadEnvelope(envelope, tuple(notes))


@dataclass(frozen=True)
class SignatureCheck:
    """What one signature turned out to be."""

    index: int
    claimed_keyid: str
    verified_by: tuple[str, ...]  # names of the keys (among those tried) it verifies under


_RSA_SCHEMES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "rsassa-pss-sha256": ("pss", hashes.SHA256),
    "rsassa-pss-sha384": ("pss", hashes.SHA384),
    "rsassa-pss-sha512": ("pss", hashes.SHA512),
    "rsa-pkcs1v15-sha256": ("pkcs1v15", hashes.SHA256),
    "rsa-pkcs1v15-sha384": ("pkcs1v15", hashes.SHA384),
    "rsa-pkcs1v15-sha512": ("pkcs1v15", hashes.SHA512),
}
_ECDSA_SCHEMES: dict[str, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    "ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256),
    "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384),
}


@functools.lru_cache(maxsize=256)
def _crypto_key(keytype: str, public: str) -> Any:
    """The ``cryptography`` key of an ``SSlibKey`` (parsed once per key)."""
    if keytype == "ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    return serialization.load_pem_public_key(public.encode("ascii"))


def _ecdsa_encodings(signature: bytes, curve: ec.EllipticCurve) -> list[bytes]:
    """The DER signature as given, and the raw r||s form re-encoded in DER when it has the
    curve's exact size. Both encode the same (r, s): accepting both forges nothing."""
    size = (curve.key_size + 7) // 8
    out = [signature]
    if len(signature) == 2 * size:
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        out.append(encode_dss_signature(r, s))
    return out


def signature_verifies(key: SSlibKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` over ``message`` verifies under ``key``, in its declared scheme.

    An unknown scheme or a key that does not parse verifies nothing (never an exception).
    """
    try:
        crypto = _crypto_key(key.keytype, str(key.keyval["public"]))
    except (KeyError, ValueError, UnsupportedAlgorithm):
        return False
    try:
        if key.scheme == "ed25519" and isinstance(crypto, ed25519.Ed25519PublicKey):
            crypto.verify(signature, message)
            return True
        if key.scheme in _ECDSA_SCHEMES and isinstance(crypto, ec.EllipticCurvePublicKey):
            curve, digest = _ECDSA_SCHEMES[key.scheme]
            if not isinstance(crypto.curve, curve):
                return False
            for candidate in _ecdsa_encodings(signature, crypto.curve):
                try:
                    crypto.verify(candidate, message, ec.ECDSA(digest()))
                except InvalidSignature:
                    continue
                return True
            return False
        if key.scheme in _RSA_SCHEMES and isinstance(crypto, rsa.RSAPublicKey):
            kind, digest = _RSA_SCHEMES[key.scheme]
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(digest()), salt_length=padding.PSS.AUTO)
                if kind == "pss"
                else padding.PKCS1v15()
            )
            crypto.verify(signature, message, pad, digest())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def check_signatures(
    message: bytes, signatures: Sequence[tuple[str, bytes]], keys: dict[str, SSlibKey]
) -> list[SignatureCheck]:
    """For each (claimed key id, signature bytes), the names of the keys it verifies under.

    Raises:
        TooManySignatures: more than ``MAX_SIGNATURES`` signatures (none is tried).
    """
    if len(signatures) > MAX_SIGNATURES:
        raise TooManySignatures(
            f"{len(signatures)} signatures, more than the {MAX_SIGNATURES} a "
            "verifier reads on one envelope"
        )
    checks: list[SignatureCheck] = []
    for index, (claimed, raw) in enumerate(signatures):
        verified = (
            [name for name, key in _ordered(keys, claimed) if signature_verifies(key, raw, message)]
            if raw
            else []
        )
        checks.append(SignatureCheck(index, claimed, tuple(sorted(verified))))
    return checks


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
    signatures = [
        (sig.keyid, b64decode_strict(sig.sig, f"signature {index + 1}"))
        for index, sig in enumerate(envelope.signatures)
    ]
    return payload, check_signatures(message, signatures, keys)


def _ordered(keys: dict[str, SSlibKey], hint: str) -> Iterable[tuple[str, SSlibKey]]:
    # The hint only orders the attempts; every key is tried.
    return sorted(keys.items(), key=lambda item: (item[1].keyid != hint, item[0]))
