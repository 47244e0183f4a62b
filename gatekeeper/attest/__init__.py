"""Attestations: keys, DSSE envelopes, in-toto statements, materials, and the `attest` stage.

Usage::

    from gatekeeper.attest import AttestConfig, load_signer, run_attest, sign_envelope
    result = run_attest(AttestConfig(stage="build", keys=["keys/ci"], products=["dist/*"]))

``run_attest`` records a stage (materials, the command, products, and with ``audit`` the
evidence and findings of ``gatekeeper.app.gather``); ``parse_attestation`` reads
gatekeeper's stage predicate, in-toto links and SLSA provenance into one ``StageRecord``.
"""

from __future__ import annotations

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
