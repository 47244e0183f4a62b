"""`gatekeeper attest`: hash materials, run the command, hash products, sign, store.

A command that fails is still attested (with its exit code, so the verifier blocks on
it) and its exit code is propagated. Keys are loaded before anything runs, so a bad key
never leaves a half-done stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__
from gatekeeper._git import head_commit
from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import LoadedSigner, load_signer
from gatekeeper.attest.materials import record_dirs, record_globs
from gatekeeper.attest.statement import build_statement, statement_bytes
from gatekeeper.collect.env import detect_ci
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.models.finding import Finding
from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate
from gatekeeper.store import IndexKeys, open_store

if TYPE_CHECKING:
    from gatekeeper.models.policy import Policy

RUN_ID_ENV = "GATEKEEPER_RUN_ID"


@dataclass(frozen=True)
class AttestConfig:
    stage: str
    keys: list[str]
    repo: Path = Path(".")
    materials: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    material_dirs: list[str] = field(default_factory=list)
    product_dirs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    store: str | None = None
    run_id: str | None = None
    audit: bool = False
    base: str | None = None
    policy: Policy | None = None
    allow_empty: bool = False
    environ: dict[str, str] | None = None
    insecure_registry: bool = False  # plain HTTP to a loopback oci:// store only


@dataclass(frozen=True)
class AttestResult:
    envelope: Envelope
    envelope_id: str
    exit_code: int
    predicate: StagePredicate


def _run_command(command: list[str], cwd: Path) -> int:
    """Run the stage's command with inherited stdio; never through a shell."""
    try:
        completed = subprocess.run(command, cwd=cwd, check=False)  # noqa: S603 - the user's own command
    except FileNotFoundError:
        sys.stderr.write(f"gatekeeper: {command[0]}: command not found\n")
        return 127
    except PermissionError:
        sys.stderr.write(f"gatekeeper: {command[0]}: permission denied\n")
        return 126
    code = completed.returncode
    return 128 - code if code < 0 else code  # a signal N is reported as 128+N, like a shell


def _audit(cfg: AttestConfig) -> tuple[list[str], dict[str, Any], list[Finding]]:
    from gatekeeper._fileio import yaml_caps
    from gatekeeper.audit import AuditContext, run_audits
    from gatekeeper.collect import CollectContext, collect_all
    from gatekeeper.collect import kinds as all_kinds
    from gatekeeper.policy import default_policy

    policy = cfg.policy or default_policy()
    limits = policy.limits
    ctx = CollectContext(repo=cfg.repo, base=cfg.base, limits=limits)
    kinds = all_kinds()
    with yaml_caps(limits.yaml_max_aliases, limits.yaml_max_depth):
        evidence = collect_all(ctx, kinds)
    findings = run_audits(
        evidence,
        AuditContext(policy=policy.audits, repo=cfg.repo, base=cfg.base, evidence=evidence),
    )
    from gatekeeper.secrets.redaction import dump_evidence

    # SECURITY: an attestation is stored and shared; it never carries a credential.
    dumped = {k: dump_evidence(k, v) for k, v in sorted(evidence.items())}
    sbom = _sbom(evidence)
    if sbom is not None:
        dumped["sbom"] = sbom
    return sorted(evidence), dumped, findings


def _sbom(evidence: dict[str, Any]) -> Any:
    if "deps" not in evidence:
        return None
    from gatekeeper.deps.sbom import sbom_from_evidence

    return sbom_from_evidence(evidence["deps"])


def _image_subjects(images: list[str]) -> list[Artifact]:
    if not images:
        return []
    from gatekeeper.container.image import resolve_image_subject

    out = []
    for ref in images:
        name, digest = resolve_image_subject(ref)
        out.append(Artifact(name=name, digest={"sha256": digest}))
    return out


def run_attest(cfg: AttestConfig) -> AttestResult:
    """Raises InvalidInput / SigningError / StoreError; never stores a partial attestation."""
    if not cfg.repo.is_dir():
        raise InvalidInput(f"{cfg.repo}: no such directory")
    signers: list[LoadedSigner] = [load_signer(k) for k in cfg.keys]
    store = open_store(cfg.store, insecure=cfg.insecure_registry)
    environ = dict(os.environ) if cfg.environ is None else cfg.environ
    ci = detect_ci(environ)
    run_id = cfg.run_id or environ.get(RUN_ID_ENV) or ci.run_id
    source_commit = head_commit(cfg.repo) or ci.commit

    materials = record_globs(cfg.repo, cfg.materials, what="material", allow_empty=cfg.allow_empty)
    materials += record_dirs(cfg.repo, cfg.material_dirs, what="material")
    started = datetime.now(UTC)
    exit_code: int | None = None
    if cfg.command:
        exit_code = _run_command(cfg.command, cfg.repo)
    products = record_globs(cfg.repo, cfg.products, what="product", allow_empty=cfg.allow_empty)
    products += record_dirs(cfg.repo, cfg.product_dirs, what="product")
    products += _image_subjects(cfg.images)
    audited: list[str] = []
    evidence: dict[str, Any] = {}
    findings: list[Finding] = []
    if cfg.audit:
        audited, evidence, findings = _audit(cfg)
    finished = datetime.now(UTC)

    predicate = StagePredicate(
        stage=cfg.stage,
        command=list(cfg.command),
        exit_code=exit_code,
        started_at=started,
        finished_at=finished,
        materials=sorted(materials, key=lambda a: a.name),
        products=sorted(products, key=lambda a: a.name),
        run=RunInfo(run_id=run_id, source_commit=source_commit, ci=ci),
        audited=audited,
        evidence=evidence,
        findings=findings,
        gatekeeper_version=__version__,
    )
    statement = build_statement(predicate)
    envelope = sign_envelope(statement_bytes(statement), INTOTO_PAYLOAD_TYPE, signers)
    data = envelope_bytes(envelope)
    subjects = tuple(sorted(f"{alg}:{v}" for s in statement.subject for alg, v in s.digest.items()))
    env_id = store.put(data, IndexKeys(stage=cfg.stage, subjects=subjects))
    return AttestResult(
        envelope=envelope, envelope_id=env_id, exit_code=exit_code or 0, predicate=predicate
    )


def envelope_bytes(envelope: Envelope) -> bytes:
    from gatekeeper._fileio import dumps_json

    return dumps_json(envelope.model_dump(mode="json", by_alias=True)).encode("utf-8")
