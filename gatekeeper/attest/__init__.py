"""Attestations: keys, DSSE envelopes, in-toto statements, materials, and the `attest` stage.

Usage::

    from gatekeeper.attest import AttestConfig, load_signer, run_attest, sign_envelope
    result = run_attest(AttestConfig(stage="build", keys=["keys/ci"], products=["dist/*"]))

``run_attest`` records a stage (materials, the command, products, and with ``audit`` the
evidence and findings of ``gatekeeper.app.gather``); ``parse_attestation`` reads
gatekeeper's stage predicate, in-toto links and SLSA provenance into one ``StageRecord``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it; imported on first use, so that importing one
# submodule (the verifier needs only dsse and statement) does not import the others.
_EXPORTS = {
    "AttestConfig": "gatekeeper.attest.stage",
    "AttestResult": "gatekeeper.attest.stage",
    "Imported": "gatekeeper.attest.importer",
    "KEY_TYPES": "gatekeeper.attest.keys",
    "LoadedSigner": "gatekeeper.attest.keys",
    "SignatureCheck": "gatekeeper.attest.dsse",
    "StageRecord": "gatekeeper.attest.statement",
    "b64decode_strict": "gatekeeper.attest.dsse",
    "build_statement": "gatekeeper.attest.statement",
    "dir_artifact": "gatekeeper.attest.materials",
    "envelope_bytes": "gatekeeper.attest.stage",
    "import_files": "gatekeeper.attest.importer",
    "load_public_key": "gatekeeper.attest.keys",
    "load_signer": "gatekeeper.attest.keys",
    "pae": "gatekeeper.attest.dsse",
    "parse_attestation": "gatekeeper.attest.statement",
    "record_dirs": "gatekeeper.attest.materials",
    "record_globs": "gatekeeper.attest.materials",
    "run_attest": "gatekeeper.attest.stage",
    "sign_envelope": "gatekeeper.attest.dsse",
    "statement_bytes": "gatekeeper.attest.statement",
    "verify_envelope_signatures": "gatekeeper.attest.dsse",
    "write_keypair": "gatekeeper.attest.keys",
}

if TYPE_CHECKING:
    from gatekeeper.attest.dsse import (
        SignatureCheck,
        b64decode_strict,
        pae,
        sign_envelope,
        verify_envelope_signatures,
    )
    from gatekeeper.attest.importer import Imported, import_files
    from gatekeeper.attest.keys import (
        KEY_TYPES,
        LoadedSigner,
        load_public_key,
        load_signer,
        write_keypair,
    )
    from gatekeeper.attest.materials import dir_artifact, record_dirs, record_globs
    from gatekeeper.attest.stage import AttestConfig, AttestResult, envelope_bytes, run_attest
    from gatekeeper.attest.statement import (
        StageRecord,
        build_statement,
        parse_attestation,
        statement_bytes,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "KEY_TYPES",
    "AttestConfig",
    "AttestResult",
    "Imported",
    "LoadedSigner",
    "SignatureCheck",
    "StageRecord",
    "b64decode_strict",
    "build_statement",
    "dir_artifact",
    "envelope_bytes",
    "import_files",
    "load_public_key",
    "load_signer",
    "pae",
    "parse_attestation",
    "record_dirs",
    "record_globs",
    "run_attest",
    "sign_envelope",
    "statement_bytes",
    "verify_envelope_signatures",
    "write_keypair",
]
