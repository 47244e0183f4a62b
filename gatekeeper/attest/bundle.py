"""What a Sigstore bundle holds, read before (and without) any verification.

A bundle (https://github.com/sigstore/protobuf-specs, media types v0.1 to v0.3) carries a DSSE
envelope or a message signature, a Fulcio certificate (or a public key hint), transparency-log
entries and RFC 3161 timestamps. ``import`` keeps a bundle whole; ``precheck_bundle`` names what
a bundle lacks that a verifier needs, so such a bundle is refused with a reason rather than a
library error. Verification itself is ``gatekeeper.verify.sigstore``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from gatekeeper._fileio import loads_json_strict

BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
# The media types sigstore-python reads (protobuf-specs bundle v0.1, v0.2, v0.3).
BUNDLE_MEDIA_TYPES = (
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
)


# The log entry kinds sigstore-python matches a DSSE bundle against (its verify_dsse step 8).
_DSSE_ENTRY_KINDS = (("dsse", "0.0.1"), ("hashedrekord", "0.0.2"))


def is_bundle(obj: object) -> bool:
    """Whether a parsed JSON document is (meant to be) a Sigstore bundle."""
    if not isinstance(obj, dict):
        return False
    media = obj.get("mediaType")
    return isinstance(media, str) and media.startswith(BUNDLE_MEDIA_PREFIX)


def is_legacy_cosign_bundle(obj: object) -> bool:
    """cosign's pre-bundle signature format (``base64Signature``, ``cert``, ``rekorBundle``)."""
    return isinstance(obj, dict) and "base64Signature" in obj and "rekorBundle" in obj


def bundle_statement_key(data: bytes) -> str | None:
    """For stored bytes that are a Sigstore bundle: a key shared by the bundles that sign the
    same statement (payload type and payload, as the bundle says: unverified, only grouped).
    None for anything else (a DSSE envelope)."""
    if b"mediaType" not in data:  # a DSSE envelope has none: no JSON parse for it here
        return None
    try:
        obj = loads_json_strict(data)
    except ValueError:
        return None
    if not is_bundle(obj):
        return None
    envelope = bundle_envelope(obj)
    if envelope is None:
        return "bundle:" + hashlib.sha256(data).hexdigest()  # judged alone (and refused)
    signed = f"{envelope.get('payloadType')!s}\n{envelope.get('payload')!s}"
    return "statement:" + hashlib.sha256(signed.encode()).hexdigest()


def bundle_envelope(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The DSSE envelope inside a bundle (unverified), or None when it signs a file digest."""
    envelope = obj.get("dsseEnvelope")
    return envelope if isinstance(envelope, dict) else None


@dataclass(frozen=True)
class Signer:
    """Who a verified certificate says signed: its issuer, subject and Fulcio claims."""

    issuer: str | None
    subjects: tuple[str, ...]  # the SAN values (URI, e-mail, Fulcio username)
    claims: dict[str, str] = field(default_factory=dict)  # policy claim name -> value

    @property
    def id(self) -> str:
        """One signer, however many certificates it was issued (counted once)."""
        text = "\n".join([self.issuer or "", *self.subjects])
        return "identity:" + hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        return f"{', '.join(self.subjects) or '(no subject)'} (issuer {self.issuer or 'none'})"


@dataclass(frozen=True)
class BundleOutcome:
    """What one bundle turned out to be under the policy's trusted roots and identities."""

    payload_type: str | None = None  # set when the bundle verified
    payload: bytes | None = None
    signer: Signer | None = None
    root: str | None = None  # the trusted root it verified under
    matched: tuple[str, ...] = ()  # identity key names whose identity the signer is
    code: str | None = None  # set when the bundle did not verify
    problem: str | None = None

    @property
    def verified(self) -> bool:
        return self.payload is not None and self.code is None


def fail(code: str, message: str, signer: Signer | None = None) -> BundleOutcome:
    """An outcome that blocks with ``code``."""
    return BundleOutcome(code=code, problem=message, signer=signer)


def precheck_bundle(obj: object) -> BundleOutcome | None:
    """What a bundle lacks before the library is asked to load it (None: nothing found).

    Names what is missing in the terms of the bundle format, so a bundle the library cannot
    read is refused with a reason rather than a library error.
    """
    form = _precheck_form(obj)
    if form is not None or not isinstance(obj, dict):
        return form
    material = obj["verificationMaterial"]
    entries = material.get("tlogEntries")
    if not entries:
        return _no_log_entry(material)
    if isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], dict):
        return _precheck_entry(entries[0], material)
    if isinstance(entries, list) and len(entries) > 1:
        return fail(
            "verify/log-entry-invalid",
            f"bundle carries {len(entries)} transparency-log entries; a Sigstore bundle has one",
        )
    return None


def _precheck_form(obj: object) -> BundleOutcome | None:
    """A Sigstore bundle of a media type read here, with a DSSE envelope and a certificate."""
    if is_legacy_cosign_bundle(obj):
        return fail(
            "verify/malformed",
            "cosign's legacy signature bundle (base64Signature, cert, rekorBundle), not a "
            "Sigstore bundle: sign again with `cosign attest --new-bundle-format`",
        )
    if not isinstance(obj, dict):
        return fail("verify/malformed", "not a Sigstore bundle (not a JSON object)")
    media = obj.get("mediaType")
    if media not in BUNDLE_MEDIA_TYPES:
        return fail(
            "verify/malformed",
            f"bundle media type {media!r} is not one this verifier reads (Sigstore bundle "
            "v0.1, v0.2, v0.3)",
        )
    material = obj.get("verificationMaterial")
    if not isinstance(material, dict):
        return fail("verify/malformed", "bundle has no verificationMaterial")
    if bundle_envelope(obj) is None:
        what = "messageSignature" if "messageSignature" in obj else "no dsseEnvelope"
        return fail(
            "verify/malformed",
            f"bundle signs a file digest ({what}), not an attestation: gatekeeper verifies "
            "bundles that carry a DSSE envelope",
        )
    if "publicKey" in material and "certificate" not in material:
        return fail(
            "verify/malformed",
            "bundle is signed with a public key (verificationMaterial.publicKey), not a "
            "Fulcio certificate: name that key's PEM file in the policy and import the DSSE "
            "envelope instead",
        )
    return None


def _has_signed_timestamp(material: dict[str, Any]) -> bool:
    stamps = material.get("timestampVerificationData") or {}
    return isinstance(stamps, dict) and bool(stamps.get("rfc3161Timestamps"))


def _no_log_entry(material: dict[str, Any]) -> BundleOutcome:
    kind = (
        "a timestamp-only bundle, as GitHub makes for private repositories; "
        "sigstore-python verifies bundles with one log entry"
        if _has_signed_timestamp(material)
        else "and no timestamp either"
    )
    return fail(
        "verify/log-entry-invalid",
        f"bundle carries no transparency-log entry (verificationMaterial.tlogEntries is "
        f"empty: {kind})",
    )


def _precheck_entry(entry: dict[str, Any], material: dict[str, Any]) -> BundleOutcome | None:
    """The one log entry: a kind sigstore-python checks a DSSE bundle against, a proof, a time."""
    kind_version = entry.get("kindVersion")
    logged = (
        (kind_version.get("kind"), kind_version.get("version"))
        if isinstance(kind_version, dict)
        else (None, None)
    )
    if logged not in _DSSE_ENTRY_KINDS:
        shown = " ".join(str(part) for part in logged if part) or "(none)"
        return fail(
            "verify/log-entry-invalid",
            f"the bundle's log entry is of kind {shown}"
            + " (verificationMaterial.tlogEntries[0].kindVersion), as sigstore-js (npm "
            "provenance) and early GitHub and slsa-github-generator bundles log "
            "attestations; sigstore-python checks a DSSE bundle against its log entry only "
            "for kinds dsse 0.0.1 (Rekor v1) and hashedrekord 0.0.2 (Rekor v2), so this "
            "bundle cannot be verified here: ask the producer for a bundle logged as dsse",
        )
    if not entry.get("inclusionProof"):
        return fail(
            "verify/log-entry-invalid",
            "the bundle's log entry has no inclusion proof (verificationMaterial.tlogEntries"
            "[0].inclusionProof; a v0.1 bundle may carry only the inclusion promise), and "
            "sigstore-python verifies a log entry by its proof and signed checkpoint: add "
            "it with `sigstore plumbing fix-bundle --upgrade-version` (asks the log), or "
            "ask the producer for a v0.2 or later bundle",
        )
    if not entry.get("inclusionPromise") and not _has_signed_timestamp(material):
        return fail(
            "verify/log-entry-invalid",
            "no trusted signing time: the log entry has no inclusion promise "
            "(verificationMaterial.tlogEntries[0].inclusionPromise; a Rekor v2 entry has "
            "none) and the bundle no signed timestamp (verificationMaterial."
            "timestampVerificationData.rfc3161Timestamps)",
        )
    return None


__all__ = [
    "BUNDLE_MEDIA_PREFIX",
    "BUNDLE_MEDIA_TYPES",
    "BundleOutcome",
    "Signer",
    "bundle_envelope",
    "bundle_statement_key",
    "fail",
    "is_bundle",
    "is_legacy_cosign_bundle",
    "precheck_bundle",
]
