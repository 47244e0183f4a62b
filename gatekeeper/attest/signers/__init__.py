"""Signer backends, chosen by the scheme of a ``--key`` URI.

Usage::

    from gatekeeper.attest.signers import KeyRef, backend_for
    loaded = backend_for("hsm:2?label=release").load(KeyRef("hsm:2?label=release", "HSM_PIN"))

A path with no scheme is a PEM file; ``file:`` and ``env:`` are PEM too; ``hsm:`` is a
PKCS#11 token; ``awskms:``, ``gcpkms:`` and ``azurekms:`` are cloud KMS keys (the URIs are
securesystemslib's). An unknown scheme is an error: there is never a default fallback.
Each backend imports its SDK only when used, and a missing SDK names the extra to install.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from gatekeeper.attest.signers.awskms import AWS_KMS
from gatekeeper.attest.signers.base import (
    GeneratedKey,
    GuardedSigner,
    KeyRef,
    LoadedSigner,
    SignerBackend,
    public_key_from_crypto,
    public_key_from_pem,
    public_key_pem,
)
from gatekeeper.attest.signers.cloudkms import AZURE_KMS, GCP_KMS
from gatekeeper.attest.signers.pem import PEM
from gatekeeper.attest.signers.pkcs11 import PKCS11
from gatekeeper.errors import InvalidInput

# scheme -> backend; the one place a scheme is given a meaning.
SIGNER_BACKENDS: dict[str, SignerBackend] = {
    "file": PEM,
    "env": PEM,
    "hsm": PKCS11,
    "awskms": AWS_KMS,
    "gcpkms": GCP_KMS,
    "azurekms": AZURE_KMS,
}
# pip extra that installs each scheme's SDK (documented in README.md)
EXTRAS = {"hsm": "hsm", "awskms": "aws", "gcpkms": "gcp", "azurekms": "azure"}

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]+):")

# NOTE: securesystemslib logs a failed KMS signature at ERROR; with no logging configured,
# Python would print it beside gatekeeper's own one-line reason. Each failure is reported
# once, by the backend; a handler configured by an embedding program still receives it.
logging.getLogger("securesystemslib").addHandler(logging.NullHandler())

__all__ = [
    "AWS_KMS",
    "AZURE_KMS",
    "EXTRAS",
    "GCP_KMS",
    "PEM",
    "PKCS11",
    "SIGNER_BACKENDS",
    "GeneratedKey",
    "GuardedSigner",
    "KeyRef",
    "LoadedSigner",
    "SignerBackend",
    "backend_for",
    "public_key_from_crypto",
    "public_key_from_pem",
    "public_key_pem",
]


def backend_for(uri: str) -> SignerBackend:
    """The backend a key URI names; a bare path (no ``scheme:``) is a PEM file.

    Raises:
        InvalidInput: an unknown scheme (that is not an existing file's name).
    """
    match = _SCHEME.match(uri)
    if match is None:
        return PEM
    backend = SIGNER_BACKENDS.get(match.group(1))
    if backend is not None:
        return backend
    if Path(uri).exists():  # a file whose name happens to contain a colon
        return PEM
    raise InvalidInput(
        f"{uri}: unknown key scheme {match.group(1)!r} (a PEM path, or one of "
        f"{', '.join(f'{s}:' for s in SIGNER_BACKENDS)})"
    )
