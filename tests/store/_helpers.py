"""Signed envelopes for the store tests (real DSSE, real keys, no registry needed)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import LoadedSigner, load_signer, write_keypair
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.attest.statement import build_statement, statement_bytes
from gatekeeper.cli import main
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate
from gatekeeper.store import IndexKeys


def signer(tmp: Path, name: str = "ci") -> LoadedSigner:
    path = tmp / "keys" / name
    if not path.exists():
        write_keypair(path)
    return load_signer(str(path))


def hexdigest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def envelope(
    key: LoadedSigner,
    stage: str,
    products: dict[str, str],
    run_id: str = "run-1",
) -> tuple[bytes, IndexKeys]:
    """A signed stage attestation with ``products`` (name -> sha256 hex) as subjects."""
    now = datetime.now(UTC)
    predicate = StagePredicate(
        stage=stage,
        command=["make"],
        exit_code=0,
        started_at=now,
        finished_at=now,
        products=[Artifact(name=n, digest={"sha256": h}) for n, h in sorted(products.items())],
        run=RunInfo(run_id=run_id, source_commit="a" * 40),
    )
    statement = build_statement(predicate)
    signed = sign_envelope(statement_bytes(statement), INTOTO_PAYLOAD_TYPE, [key])
    subjects = tuple(sorted(f"sha256:{h}" for h in products.values()))
    return envelope_bytes(signed), IndexKeys(stage=stage, subjects=subjects)


def pipeline_in_registry(
    uri: str, tmp_path: Path, runs: tuple[str, ...] = ("r1", "r2")
) -> tuple[Path, Path]:
    """A one-stage policy, and an artifact attested into the registry at ``uri`` by each of
    ``runs``: (the policy, the artifact)."""
    assert main(["keygen", str(tmp_path / "keys" / "ci")]) == 0
    artifact = tmp_path / "app.bin"
    artifact.write_bytes(b"release bits\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\n"
        "keys: {ci: keys/ci.pub}\nstages:\n  - name: build\n    signed_by: [ci]\n"
    )
    for run in runs:
        code = main(
            [
                "attest",
                "--stage",
                "build",
                "--key",
                str(tmp_path / "keys" / "ci"),
                "--repo",
                str(tmp_path),
                "--product",
                "app.bin",
                "--run-id",
                run,
                "--store",
                uri,
                "--insecure-registry",
            ]
        )
        assert code == 0
    return policy, artifact
