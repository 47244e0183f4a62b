"""Sigstore bundles: offline verification against a trusted root, and keyless identities.

A Sigstore bundle (media types v0.1 to v0.3) carries a DSSE envelope signed with a short-lived
Fulcio certificate, the transparency-log entry of that signature and, optionally, RFC 3161
timestamps. ``BundleVerifier.check`` verifies one bundle offline with sigstore-python
(``Verifier.verify_dsse``): the certificate chains to the trusted root's Fulcio CA at the
signing time, its signed certificate timestamp verifies under the root's CT log keys, the log
entry's inclusion proof (and promise) verify under the root's log keys and match the bundle's
envelope, the signing time (the log's integrated time or a trusted timestamp) lies inside the
certificate's validity, and the envelope's signature verifies under the certificate's key.
Only then is the certificate's identity (issuer, subject, Fulcio claims) compared with the
policy's identity keys: a bundle that verifies but whose signer no identity key names counts
for nothing (``verify/untrusted-key``).

Every failure is a reason with a code, never a traceback:

========================  =====================================================================
``verify/malformed``      not a bundle the library can load (not JSON, an unknown media type,
                          cosign's legacy signature bundle, a file signature rather than an
                          attestation); the message names what is missing
``verify/untrusted-key``  the certificate was not issued by the trusted root's Fulcio CA, or
                          its identity matches no identity the policy trusts for the stage
``verify/certificate-invalid``  signed outside the certificate's validity (expired or not yet
                          valid at the signing time), no valid SCT, or not a code-signing key
``verify/log-entry-invalid``    no log entry, a log entry that does not match the bundle, an
                          inclusion proof, checkpoint or promise that does not verify, or no
                          trusted signing time
``verify/bad-signature``  the envelope's signature does not verify: the payload was altered
========================  =====================================================================

sigstore-python is imported only here and only when a bundle or a trusted root is read, so a
verify that meets no bundle never pays for it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper._fileio import loads_json_strict, read_bounded
from gatekeeper.attest.bundle import BundleOutcome, Signer, fail, precheck_bundle
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import FULCIO_CLAIMS, PUBLIC_GOOD_ROOT, IdentityKey, Policy
from gatekeeper.policy.load import resolve_key_path

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from sigstore.models import Bundle, TrustedRoot

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
PUBLIC_GOOD_PATH = (
    Path(__file__).resolve().parent.parent / "data" / "sigstore" / "public-good.trusted_root.json"
)
MAX_ROOT_BYTES = 4 * 1024 * 1024

_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"  # raw bytes (deprecated, still written by Fulcio)
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"  # DER UTF8String
_OTHERNAME = "1.3.6.1.4.1.57264.1.7"  # Fulcio's "username" SAN


# -- trusted roots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RootFile:
    """A trusted root a policy names: its exact bytes and their digest (bound when signed)."""

    name: str
    ref: str  # the path as written in the policy; "" for the built-in root
    path: Path
    sha256: str
    data: bytes


def _root_file(name: str, ref: str, path: Path) -> RootFile:
    data = read_bounded(path, MAX_ROOT_BYTES)
    _load_root(data, str(path))  # refuse a file that is not a usable trusted root
    return RootFile(name, ref, path, hashlib.sha256(data).hexdigest(), data)


def public_good_root() -> RootFile:
    """The public-good instance's trusted root as gatekeeper ships it (data/sigstore/)."""
    return _root_file(PUBLIC_GOOD_ROOT, "", PUBLIC_GOOD_PATH)


def read_trusted_roots(policy_path: str | Path, policy: Policy) -> dict[str, RootFile]:
    """Every trusted root the policy names, and the built-in one when an identity uses it.

    Raises:
        InvalidInput: a root file is unreadable, too large, or not a Sigstore trusted root
            with a Fulcio CA, a transparency log and a CT log.
    """
    out = {
        name: _root_file(name, ref, resolve_key_path(policy_path, ref))
        for name, ref in sorted(policy.trusted_roots.items())
    }
    if any(k.trusted_root == PUBLIC_GOOD_ROOT for k in policy.identity_keys().values()):
        out[PUBLIC_GOOD_ROOT] = public_good_root()
    return out


def _load_root(data: bytes, source: str) -> TrustedRoot:
    """Raises InvalidInput: not a trusted root this verifier can use."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        obj = loads_json_strict(data)
    except ValueError as exc:
        raise InvalidInput(f"{source}: not a Sigstore trusted root: not JSON ({exc})") from exc
    if not isinstance(obj, dict) or obj.get("mediaType") != TRUSTED_ROOT_MEDIA_TYPE:
        media = obj.get("mediaType") if isinstance(obj, dict) else None
        raise InvalidInput(
            f"{source}: not a Sigstore trusted root (mediaType {media!r}, expected "
            f"{TRUSTED_ROOT_MEDIA_TYPE!r})"
        )
    try:
        root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(data))
        from sigstore._internal.trust import KeyringPurpose

        root.get_fulcio_certs()
        root.rekor_keyring(KeyringPurpose.VERIFY)
        root.ct_keyring(KeyringPurpose.VERIFY)
    except (SigstoreError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{source}: not a usable Sigstore trusted root: {exc}") from exc
    return root


# -- identities ---------------------------------------------------------------------------------


def _der_utf8(value: bytes) -> str | None:
    from cryptography.hazmat import asn1

    try:
        return asn1.decode_der(str, value)
    except (ValueError, TypeError):
        return None


def signer_of(cert: Certificate) -> Signer:
    """The identity a Fulcio certificate carries (nothing here is trusted until verified)."""
    from cryptography import x509

    # The extensions are read once (each lookup by OID would walk them all again).
    raw_by_oid = {
        e.oid.dotted_string: e.value.value
        for e in cert.extensions
        if isinstance(getattr(e.value, "value", None), bytes)
    }

    def ext(oid: str) -> bytes | None:
        return raw_by_oid.get(oid)

    issuer_v2 = ext(_ISSUER_V2)
    issuer_v1 = ext(_ISSUER_V1)
    issuer = _der_utf8(issuer_v2) if issuer_v2 is not None else None
    if issuer is None and issuer_v1 is not None:
        issuer = issuer_v1.decode("utf-8", "replace")
    subjects: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        subjects += san.get_values_for_type(x509.UniformResourceIdentifier)
        subjects += san.get_values_for_type(x509.RFC822Name)
        subjects += [
            on.value.decode("utf-8", "replace")
            for on in san.get_values_for_type(x509.OtherName)
            if on.type_id.dotted_string == _OTHERNAME
        ]
    except x509.ExtensionNotFound:
        pass
    claims = {}
    for name, oid in FULCIO_CLAIMS.items():
        raw = ext(oid)
        value = _der_utf8(raw) if raw is not None else None
        if value is not None:
            claims[name] = value
    return Signer(issuer=issuer, subjects=tuple(subjects), claims=claims)


def identity_mismatch(key: IdentityKey, signer: Signer) -> str | None:
    """Why ``signer`` is not the identity of ``key``; None when every field matches."""
    wanted = key.identity
    if signer.issuer != wanted.issuer:
        return f"issuer {signer.issuer or '(none)'} is not {wanted.issuer}"
    if wanted.subject is not None and wanted.subject not in signer.subjects:
        return f"subject {', '.join(signer.subjects) or '(none)'} is not {wanted.subject}"
    if wanted.subject_regex is not None and not any(
        re.fullmatch(wanted.subject_regex, s) for s in signer.subjects
    ):
        return (
            f"subject {', '.join(signer.subjects) or '(none)'} does not match "
            f"{wanted.subject_regex}"
        )
    for claim, value in wanted.claims().items():
        have = signer.claims.get(claim)
        if have != value:
            return f"{claim} {have or '(absent)'} is not {value}"
    return None


# -- bundles ------------------------------------------------------------------------------------


# sigstore-python reports failures as ``VerificationError`` with a message; the code of each
# (checked in tests/sigstore) is chosen by what the message is about, first match wins.
_FAILURE_CODES: tuple[tuple[str, str], ...] = (
    ("dsse: ", "verify/bad-signature"),
    ("signature is invalid for input", "verify/bad-signature"),
    ("expired at time of signing", "verify/certificate-invalid"),
    ("sct", "verify/certificate-invalid"),
    ("key usage", "verify/certificate-invalid"),
    ("extended usage", "verify/certificate-invalid"),
    ("no trusted signing time", "verify/log-entry-invalid"),
    ("log entry", "verify/log-entry-invalid"),
    ("inclusion", "verify/log-entry-invalid"),
    ("checkpoint", "verify/log-entry-invalid"),
    ("set:", "verify/log-entry-invalid"),
    ("integrated time", "verify/log-entry-invalid"),
    ("timestamp", "verify/log-entry-invalid"),
)


def _chains_at(root: TrustedRoot, cert: Certificate, when: datetime) -> bool:
    """Whether ``cert`` chains to the root's Fulcio CA at ``when`` (cryptography's builder)."""
    from cryptography.x509 import ExtendedKeyUsage
    from cryptography.x509.verification import (
        Criticality,
        ExtensionPolicy,
        PolicyBuilder,
        Store,
        VerificationError,
    )

    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(root.get_fulcio_certs()))
            .time(when)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
            .build_client_verifier()
        )
        verifier.verify(cert, [])
    except (VerificationError, ValueError):
        return False
    return True


def _signing_time(bundle: Bundle) -> datetime | None:
    """The time the bundle claims it was logged (unverified; used to explain a failure)."""
    from datetime import UTC

    integrated = bundle.log_entry._inner.integrated_time
    return datetime.fromtimestamp(int(integrated), tz=UTC) if integrated else None


def _chain_failure(root: TrustedRoot, bundle: Bundle, signer: Signer, detail: str) -> BundleOutcome:
    """A certificate that did not chain at the signing time: expired, or another CA's."""
    cert = bundle.signing_certificate
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if _chains_at(root, cert, start + (end - start) / 2):
        when = _signing_time(bundle)
        at = f" at {when.isoformat()}" if when is not None else ""
        return fail(
            "verify/certificate-invalid",
            f"signed{at}, outside its certificate's validity ({start.isoformat()} to "
            f"{end.isoformat()}): the certificate had expired or was not yet valid",
            signer,
        )
    return fail(
        "verify/untrusted-key",
        f"its certificate ({signer.describe()}) was not issued by the trusted root's Fulcio "
        f"CA ({detail})",
        signer,
    )


def _classify(root: TrustedRoot, bundle: Bundle, signer: Signer, exc: Exception) -> BundleOutcome:
    message = str(exc)
    if "certificate chain" in message.lower():
        return _chain_failure(root, bundle, signer, message)
    lowered = message.lower()
    if "not enough sources of verified time" in lowered:
        message = (
            "no trusted signing time: neither the log entry's inclusion promise nor a signed "
            "timestamp verifies under the trusted root (a bundle of another Sigstore instance, "
            "or one whose time source is not in the root)"
        )
        lowered = message.lower()
    for needle, code in _FAILURE_CODES:
        if needle in lowered:
            if code == "verify/bad-signature":
                message = f"the envelope's signature does not verify ({message}): the payload "
                message += "or signature was altered"
            return fail(code, message, signer)
    return fail("verify/bad-signature", f"does not verify: {message}", signer)


class _Certificate:
    """The verification policy handed to sigstore-python: it keeps the certificate.

    SECURITY: the identity is judged after ``verify_dsse`` returned (the chain, SCT, log entry,
    signing time and signature all verified), by ``identity_mismatch`` against the policy's
    identity keys; a bundle whose signer no identity key names never counts.
    """

    def __init__(self) -> None:
        self.seen: Certificate | None = None

    def verify(self, cert: Certificate) -> None:
        self.seen = cert


class BundleVerifier:
    """Verifies bundles under the policy's trusted roots; one per verify (roots loaded once)."""

    def __init__(self, roots: dict[str, RootFile], identities: dict[str, IdentityKey]) -> None:
        self.roots = roots
        self.identities = identities
        self._loaded: dict[str, Any] = {}

    def _verifier(self, name: str) -> Any:
        if name not in self._loaded:
            from sigstore.verify import Verifier

            root = self.roots[name]
            self._loaded[name] = Verifier(trusted_root=_load_root(root.data, str(root.path)))
        return self._loaded[name]

    def _root_order(self, prefer: Iterable[str]) -> list[str]:
        used = [k.trusted_root for k in self.identities.values()]
        order = [*prefer, *used]
        return [r for i, r in enumerate(order) if r in self.roots and r not in order[:i]]

    def check(self, data: bytes, prefer: Iterable[str] = ()) -> BundleOutcome:
        """Verify one bundle; ``prefer``: roots tried first (the stage's identities' roots).

        Never raises for anything in the bundle: every failure is an outcome with a code.
        """
        try:
            obj = loads_json_strict(data)
        except ValueError as exc:
            return fail("verify/malformed", f"bundle is not strict JSON: {exc}")
        early = precheck_bundle(obj)
        if early is not None:
            return early
        roots = self._root_order(prefer)
        if not roots:
            return fail(
                "verify/untrusted-key",
                "the policy names no keyless identity, so no Sigstore bundle can count",
            )
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle

        try:
            bundle = Bundle.from_json(data)
            # The certificate's extensions are parsed here first: a duplicate extension or
            # one that is not DER is a bundle that cannot be read, not a crash.
            signer = signer_of(bundle.signing_certificate)
        except SigstoreError as exc:
            return fail("verify/malformed", f"bundle cannot be loaded: {_diagnostics(exc)}")
        except _input_errors() as exc:
            return fail("verify/malformed", f"bundle cannot be loaded: {_diagnostics(exc)}")
        outcomes = []
        for name in roots:
            outcome = self._check_under(name, bundle, signer)
            if outcome.verified:
                return outcome
            outcomes.append(outcome)
        return outcomes[0]  # the stage's own root's reason

    def _check_under(self, name: str, bundle: Bundle, signer: Signer) -> BundleOutcome:
        from sigstore.errors import Error as SigstoreError

        verifier = self._verifier(name)
        capture = _Certificate()
        try:
            payload_type, payload = verifier.verify_dsse(bundle, capture)
        except SigstoreError as exc:
            return _classify(verifier._trusted_root, bundle, signer, exc)
        except _input_errors() as exc:
            # SECURITY: anything the library did not expect in the bundle still blocks.
            return fail(
                "verify/malformed", f"bundle cannot be verified: {_diagnostics(exc)}", signer
            )
        if capture.seen is None:
            return fail("verify/untrusted-key", "no certificate identity was checked", signer)
        matched = tuple(
            sorted(
                key_name
                for key_name, key in self.identities.items()
                if key.trusted_root == name and identity_mismatch(key, signer) is None
            )
        )
        return BundleOutcome(
            payload_type=payload_type,
            payload=payload,
            signer=signer,
            root=name,
            matched=matched,
        )

    def why_not(self, key_names: Iterable[str], signer: Signer) -> list[str]:
        """Why the signer is none of ``key_names`` (for messages)."""
        out = []
        for name in key_names:
            key = self.identities.get(name)
            if key is not None:
                out.append(f"{name}: {identity_mismatch(key, signer) or 'another trusted root'}")
        return out


def _input_errors() -> tuple[type[Exception], ...]:
    """What parsing a bundle's certificate, SCTs and log entry raises on bytes that are not
    what they claim (cryptography's own exception types are not ValueErrors)."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    return (
        ValueError,
        TypeError,
        KeyError,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
        x509.InvalidVersion,
        UnsupportedAlgorithm,
    )


def _diagnostics(exc: Exception) -> str:
    """A library error's message on one line, shortened (pydantic's run to pages)."""
    text = " ".join((str(exc).strip() or type(exc).__name__).split())
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = [
    "PUBLIC_GOOD_PATH",
    "BundleOutcome",
    "BundleVerifier",
    "RootFile",
    "Signer",
    "identity_mismatch",
    "public_good_root",
    "read_trusted_roots",
    "signer_of",
]
