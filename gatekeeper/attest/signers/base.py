"""What every signer backend shares: the key reference, the loaded signer, key ids.

A backend turns a ``KeyRef`` (a ``--key`` URI and, optionally, the environment variable
holding that key's passphrase or PIN) into a ``LoadedSigner``. Whatever holds the private
key (a PEM file, a PKCS#11 token, a cloud KMS), the public key is read from it and turned
into an ``SSlibKey`` by ``public_key_from_crypto`` alone, so a key's id and signature
scheme follow from the public key only: the key in a KMS and the PEM exported from it
have one key id, and a threshold counts them once.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key, SecretsHandler, Signature, Signer, SSlibKey

from gatekeeper.errors import GatekeeperError, InvalidInput, SigningError

MIN_RSA_BITS = 3072


@dataclass(frozen=True)
class KeyRef:
    """One ``--key``: its URI and the variable naming its passphrase or PIN, if given."""

    uri: str
    secret_env: str | None = None

    @property
    def scheme(self) -> str:
        return self.uri.partition(":")[0]

    @property
    def rest(self) -> str:
        return self.uri.partition(":")[2]


@dataclass(frozen=True)
class LoadedSigner:
    signer: Signer
    public_key: SSlibKey
    source: str  # where it came from, for messages (never the key material or a secret)

    @property
    def keyid(self) -> str:
        return str(self.public_key.keyid)


@dataclass(frozen=True)
class GeneratedKey:
    """What ``keygen`` made: the public key and a line saying where the key lives."""

    public_key: SSlibKey
    where: str


class SignerBackend(Protocol):
    """One family of key locations, registered by URI scheme in ``signers/__init__.py``."""

    def load(self, ref: KeyRef) -> LoadedSigner:
        """A signer ready to sign; everything that can refuse is checked here."""
        ...

    def public_key(self, ref: KeyRef) -> SSlibKey:
        """The public key (for ``gatekeeper key export``)."""
        ...

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        """Make a new key at ``ref`` (refused where the key's home has its own tools)."""
        ...


# The signature schemes a public key may declare (an in-toto / securesystemslib key file),
# by key type. Without a declaration the scheme follows from the key: ECDSA P-256/P-384 with
# SHA-256/SHA-384, RSA with RSASSA-PSS SHA-256, Ed25519.
DECLARABLE_SCHEMES: dict[str, tuple[str, ...]] = {
    "rsa": (
        "rsassa-pss-sha256",
        "rsassa-pss-sha384",
        "rsassa-pss-sha512",
        "rsa-pkcs1v15-sha256",
        "rsa-pkcs1v15-sha384",
        "rsa-pkcs1v15-sha512",
    ),
    "ecdsa": ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"),
    "ed25519": ("ed25519",),
}


def public_key_from_crypto(public_key: Any, source: str, scheme: str | None = None) -> SSlibKey:
    """The one way a public key becomes an ``SSlibKey``: key id and scheme from the key.

    ``scheme``, when a key file declares one, must be a scheme of the key's type (and, for
    ECDSA, of its curve); the key id then covers the declared scheme, as in in-toto.

    Raises:
        InvalidInput: RSA under 3072 bits, an ECDSA curve other than P-256/P-384, a type
            securesystemslib does not support, or a declared scheme the key cannot use.
    """
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise InvalidInput(
            f"{source}: RSA key of {public_key.key_size} bits; at least {MIN_RSA_BITS} required"
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey) and not isinstance(
        public_key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        raise InvalidInput(f"{source}: unsupported ECDSA curve {public_key.curve.name}")
    try:
        default = SSlibKey.from_crypto(public_key)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{source}: unsupported public key type") from exc
    if scheme is None or scheme == default.scheme:
        return default
    allowed = DECLARABLE_SCHEMES.get(default.keytype, ())
    if default.keytype == "ecdsa":
        allowed = (default.scheme,)  # the curve fixes the hash
    if scheme not in allowed:
        raise InvalidInput(
            f"{source}: scheme {scheme!r} does not fit this {default.keytype} key "
            f"(it can declare: {', '.join(allowed) or default.scheme})"
        )
    return SSlibKey.from_crypto(public_key, scheme=scheme)


def public_key_from_pem(data: bytes, source: str) -> SSlibKey:
    """An ``SSlibKey`` from SubjectPublicKeyInfo PEM (what a KMS or token hands back)."""
    try:
        public_key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"{source}: not a PEM public key") from exc
    return public_key_from_crypto(public_key, source)


def public_key_pem(key: SSlibKey) -> bytes:
    """The SubjectPublicKeyInfo PEM a policy points at."""
    value = str(key.keyval["public"])
    crypto_key: Any = (
        ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
        if key.keytype == "ed25519"
        else serialization.load_pem_public_key(value.encode("ascii"))
    )
    pem: bytes = crypto_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def require_sdk(module: str, scheme: str, extra: str) -> ModuleType:
    """Import a provider SDK, or say which extra installs it.

    Raises:
        InvalidInput: the SDK is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InvalidInput(
            f"{scheme}: keys need the {module} package, which is not installed: "
            f"pip install 'gatekeeper[{extra}]'"
        ) from exc


def secret_from_env(ref: KeyRef, default_env: str, what: str) -> tuple[str, str] | None:
    """The key's secret and the variable it came from: ``--passphrase-env`` else the default.

    Returns None when neither is set. An explicit ``--passphrase-env`` that is unset or
    empty is an error (never a silent fall back to the default).

    Raises:
        InvalidInput: the variable named by ``--passphrase-env`` is unset or empty.
    """
    if ref.secret_env:
        value = os.environ.get(ref.secret_env)
        if not value:
            raise InvalidInput(
                f"{ref.uri}: --passphrase-env {ref.secret_env}: the variable is not set or "
                f"empty (it should hold the {what})"
            )
        return value, ref.secret_env
    value = os.environ.get(default_env)
    return (value, default_env) if value else None


def refuse_secret(ref: KeyRef, why: str) -> None:
    """For keys that take no passphrase: an explicit ``--passphrase-env`` is a mistake.

    Raises:
        InvalidInput: ``--passphrase-env`` was given for this key.
    """
    if ref.secret_env:
        raise InvalidInput(f"{ref.uri}: --passphrase-env does not apply: {why}")


class GuardedSigner(Signer):
    """Wraps a backend's signer: a failure becomes a ``SigningError`` that says why, and
    a signature that does not verify under the key's own public key is never used.

    SECURITY: a remote signer (token, KMS) could sign with another key or over other bytes
    (a wrong algorithm, a digest hashed twice); checking each signature locally before it
    is stored means a bad one fails ``attest`` instead of ``verify`` much later.
    """

    def __init__(
        self, inner: Signer, public: SSlibKey, source: str, explain: Callable[[Exception], str]
    ) -> None:
        self._inner = inner
        self._public = public
        self._source = source
        self._explain = explain

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    @classmethod
    def from_priv_key_uri(
        cls, priv_key_uri: str, public_key: Key, secrets_handler: SecretsHandler | None = None
    ) -> Signer:
        raise ValueError("GuardedSigner wraps a loaded signer; it cannot be loaded from a URI")

    def sign(self, payload: bytes) -> Signature:
        try:
            signature = self._inner.sign(payload)
        except GatekeeperError:
            raise
        except Exception as exc:  # SDKs raise their own types; every failure refuses
            raise SigningError(f"{self._source}: signing failed: {self._explain(exc)}") from exc
        try:
            self._public.verify_signature(
                Signature(self._public.keyid, signature.signature), payload
            )
        except (UnverifiedSignatureError, ValueError) as exc:
            raise SigningError(
                f"{self._source}: the signature it returned does not verify under its own "
                "public key; nothing was signed"
            ) from exc
        return Signature(self._public.keyid, signature.signature)
