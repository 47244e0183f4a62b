"""Keys in Google Cloud KMS (``gcpkms:``) and Azure Key Vault (``azurekms:``).

The same path as AWS KMS: the public key is fetched first (through the provider's SDK,
with its ambient credentials), turned into the key id and scheme a PEM of it would have,
and the provider signs a locally computed digest through securesystemslib's signer.

* ``gcpkms:projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V``:
  credentials from Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
  ``gcloud auth application-default login``, or the attached service account); the key
  needs ``roles/cloudkms.publicKeyViewer`` and ``roles/cloudkms.signer``. EC keys, and RSA
  keys of algorithm ``RSA_SIGN_PSS_*_SHA256`` (3072 bits or more).
* ``azurekms://VAULT.vault.azure.net/keys/NAME[/VERSION]``: credentials from
  ``DefaultAzureCredential`` (environment, workload or managed identity, ``az login``); the
  identity needs the keys ``get`` and ``sign`` permissions. EC keys on P-256 or P-384.
"""

from __future__ import annotations

import re
from typing import Any

from securesystemslib.signer import Signer, SSlibKey

from gatekeeper._sdk_imports import enable
from gatekeeper.attest.signers.base import (
    GeneratedKey,
    GuardedSigner,
    KeyRef,
    LoadedSigner,
    public_key_from_crypto,
    public_key_from_pem,
    refuse_secret,
    require_sdk,
)
from gatekeeper.errors import InvalidInput, SigningError

_GCP = re.compile(
    r"^gcpkms:projects/[^/\s?#]+/locations/[^/\s?#]+/keyRings/[^/\s?#]+"
    r"/cryptoKeys/[^/\s?#]+/cryptoKeyVersions/[0-9]+$"
)
_AZURE = re.compile(
    r"^azurekms://(?P<vault>[A-Za-z0-9-]{3,24})\.vault\.azure\.net"
    r"/keys/(?P<name>[A-Za-z0-9-]{1,127})(?:/(?P<version>[A-Za-z0-9]{1,64}))?$"
)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def _explain_gcp(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "DefaultCredentialsError":
        return (
            "no Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS, or run "
            "gcloud auth application-default login)"
        )
    if name in ("PermissionDenied", "Forbidden", "Unauthenticated"):
        return f"access denied by Google Cloud KMS: {_first_line(exc)}"
    return _first_line(exc)


def _explain_azure(exc: Exception) -> str:
    name = type(exc).__name__
    if name in ("ClientAuthenticationError", "CredentialUnavailableError"):
        return (
            "no usable Azure credentials (set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
            "AZURE_CLIENT_SECRET, use a managed or workload identity, or az login)"
        )
    if name == "HttpResponseError" and getattr(exc, "status_code", None) == 403:
        return f"access denied by Azure Key Vault: {_first_line(exc)}"
    return _first_line(exc)


def _same_scheme(ref: KeyRef, provider_scheme: str, public: SSlibKey) -> None:
    """The provider's algorithm must be the one the public key calls for."""
    if provider_scheme != public.scheme:
        raise InvalidInput(
            f"{ref.uri}: the key signs with {provider_scheme}, but its public key calls for "
            f"{public.scheme} (RSA keys sign with RSASSA-PSS SHA-256, ECDSA keys with their "
            "curve's hash): use a key of that algorithm"
        )


class GcpKmsBackend:
    """``gcpkms:``: a key version in Google Cloud KMS."""

    def _fetch(self, ref: KeyRef) -> tuple[str, SSlibKey]:
        refuse_secret(ref, "a Google Cloud KMS key is reached with Google Cloud credentials")
        if not _GCP.match(ref.uri):
            raise InvalidInput(
                f"{ref.uri}: not a Google Cloud KMS key URI (gcpkms:projects/P/locations/L/"
                "keyRings/R/cryptoKeys/K/cryptoKeyVersions/V)"
            )
        require_sdk("google.cloud.kms", "gcpkms", "gcp")
        enable("securesystemslib.signer._gcp_signer")
        from securesystemslib.signer import GCPSigner

        try:
            priv_uri, provider_key = GCPSigner.import_(ref.rest)
        except Exception as exc:  # google-api-core and google-auth raise their own types
            raise SigningError(f"{ref.uri}: {_explain_gcp(exc)}") from exc
        public = public_key_from_pem(str(provider_key.keyval["public"]).encode(), ref.uri)
        _same_scheme(ref, provider_key.scheme, public)
        return priv_uri, public

    def load(self, ref: KeyRef) -> LoadedSigner:
        priv_uri, public = self._fetch(ref)
        try:
            inner = Signer.from_priv_key_uri(priv_uri, public)
        except Exception as exc:  # the SDK builds its client (and credentials) here
            raise SigningError(f"{ref.uri}: {_explain_gcp(exc)}") from exc
        signer = GuardedSigner(inner, public, ref.uri, _explain_gcp)
        return LoadedSigner(signer=signer, public_key=public, source=ref.uri)

    def public_key(self, ref: KeyRef) -> SSlibKey:
        return self._fetch(ref)[1]

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        raise InvalidInput(
            f"{ref.uri}: keys in Google Cloud KMS are made with Google's tools (gcloud kms "
            "keys create --purpose asymmetric-signing --default-algorithm ec-sign-p256-sha256);"
            " then write the public key with gatekeeper key export"
        )


class AzureKmsBackend:
    """``azurekms:``: a key in Azure Key Vault."""

    def _fetch(self, ref: KeyRef) -> SSlibKey:
        refuse_secret(ref, "an Azure Key Vault key is reached with Azure credentials")
        match = _AZURE.match(ref.uri)
        if match is None:
            raise InvalidInput(
                f"{ref.uri}: not an Azure Key Vault key URI "
                "(azurekms://VAULT.vault.azure.net/keys/NAME[/VERSION])"
            )
        identity = require_sdk("azure.identity", "azurekms", "azure")
        keys = require_sdk("azure.keyvault.keys", "azurekms", "azure")
        try:
            credential = identity.DefaultAzureCredential()
            # Credentials first: Key Vault's client would otherwise reach the vault before
            # finding out there are none.
            credential.get_token("https://vault.azure.net/.default")
            client = keys.KeyClient(
                vault_url=f"https://{match['vault']}.vault.azure.net/", credential=credential
            )
            jwk = client.get_key(match["name"], match["version"]).key
            crypto_key = _ec_public_key(jwk)
        except InvalidInput:
            raise
        except Exception as exc:  # azure-core and azure-identity raise their own types
            raise SigningError(f"{ref.uri}: {_explain_azure(exc)}") from exc
        return public_key_from_crypto(crypto_key, ref.uri)

    def load(self, ref: KeyRef) -> LoadedSigner:
        public = self._fetch(ref)
        enable("securesystemslib.signer._azure_signer")
        try:
            inner = Signer.from_priv_key_uri(ref.uri, public)
        except Exception as exc:  # the SDK builds its client (and credentials) here
            raise SigningError(f"{ref.uri}: {_explain_azure(exc)}") from exc
        signer = GuardedSigner(inner, public, ref.uri, _explain_azure)
        return LoadedSigner(signer=signer, public_key=public, source=ref.uri)

    def public_key(self, ref: KeyRef) -> SSlibKey:
        return self._fetch(ref)

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        raise InvalidInput(
            f"{ref.uri}: keys in Azure Key Vault are made with Azure's tools (az keyvault key "
            "create --kty EC --curve P-256); then write the public key with gatekeeper key export"
        )


def _ec_public_key(jwk: Any) -> Any:
    """A JSON Web Key from Key Vault as a cryptography EC public key (Key Vault signs EC only
    through securesystemslib)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
    kty = str(getattr(jwk.kty, "value", jwk.kty) or "")
    crv = str(getattr(jwk.crv, "value", jwk.crv) or "")
    if not kty.startswith("EC") or crv not in curves:
        raise InvalidInput(f"azurekms: a {kty} {crv} key; Key Vault keys sign as EC P-256/P-384")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"), curves[crv]
    )
    return numbers.public_key()


GCP_KMS = GcpKmsBackend()
AZURE_KMS = AzureKmsBackend()
