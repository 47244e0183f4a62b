"""`gatekeeper attest`: hash materials, run the command, hash products, sign, store.

A command that fails is still attested (with its exit code, so the verifier blocks on
it) and its exit code is propagated. Keys are loaded before anything runs, so a bad key
never leaves a half-done stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__
from gatekeeper._git import head_commit
from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import KeyRef, LoadedSigner, load_signer
from gatekeeper.attest.materials import record_dirs, record_globs
from gatekeeper.attest.statement import canonical_statement
from gatekeeper.collect.env import detect_ci
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.models.finding import Finding
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate
from gatekeeper.store import IndexKeys, RunKey, Store, open_store

if TYPE_CHECKING:
    from gatekeeper.app import AuditRequest
    from gatekeeper.models.policy import Policy

RUN_ID_ENV = "GATEKEEPER_RUN_ID"


@dataclass(frozen=True)
class AttestConfig:
    stage: str
    keys: Sequence[str | KeyRef]
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
    kinds: list[str] | None = None  # with audit: the evidence kinds (default: every collector)
    options: AuditOptions = field(default_factory=AuditOptions)  # with audit, as for check
    allow_empty: bool = False
    environ: dict[str, str] | None = None
    insecure_registry: bool = False  # plain HTTP to a loopback oci:// store only
    # Sign with the CI's ambient OIDC identity (a Sigstore bundle) instead of ``keys``;
    # ``trust_config``: the Sigstore instance (default: the public-good one).
    keyless: bool = False
    trust_config: Path | None = None

    def audit_request(self) -> AuditRequest:
        """What ``--audit`` examines: the same request ``check`` builds from the same options.

        The image being attested (one ``--image``) is the image audited.

        Raises:
            InvalidInput: several images with ``audit`` (the image audit reads one image).
        """
        from gatekeeper.app import AuditRequest
        from gatekeeper.policy import default_policy

        options = self.options
        if self.images:
            if len(self.images) > 1:
                raise InvalidInput(
                    "--audit audits one image; give one --image (attest the others in "
                    "stages of their own)"
                )
            options = options.model_copy(update={"image": self.images[0]})
        return AuditRequest(
            repo=self.repo,
            policy=self.policy or default_policy(),
            base=self.base,
            kinds=self.kinds,
            options=options,
        )


@dataclass(frozen=True)
class AttestResult:
    envelope: Envelope
    envelope_id: str
    exit_code: int
    predicate: StagePredicate


@dataclass(frozen=True)
class _Audit:
    """What ``--audit`` embeds in the predicate."""

    audited: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


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


def _audit(request: AuditRequest) -> _Audit:
    """Collect and audit as ``check`` does; embed the redacted evidence and the findings.

    The findings are the audits' own (default severities, no status): the verifier applies
    its policy to them.
    """
    from gatekeeper.app import gather
    from gatekeeper.secrets.redaction import dump_evidence

    audited = gather(request)
    # SECURITY: an attestation is stored and shared; it never carries a credential.
    dumped = {k: dump_evidence(k, v) for k, v in sorted(audited.evidence.items())}
    sbom = _sbom(audited.evidence)
    if sbom is not None:
        dumped["sbom"] = sbom
    return _Audit(audited=audited.kinds, evidence=dumped, findings=audited.findings)


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


def _materials(cfg: AttestConfig) -> list[Artifact]:
    found = record_globs(
        cfg.repo, cfg.materials, what="material", allow_empty=cfg.allow_empty, store=cfg.store
    )
    return found + record_dirs(cfg.repo, cfg.material_dirs, what="material", store=cfg.store)


def _products(cfg: AttestConfig) -> list[Artifact]:
    found = record_globs(
        cfg.repo, cfg.products, what="product", allow_empty=cfg.allow_empty, store=cfg.store
    )
    return (
        found
        + record_dirs(cfg.repo, cfg.product_dirs, what="product", store=cfg.store)
        + _image_subjects(cfg.images)
    )


def _run_info(cfg: AttestConfig) -> RunInfo:
    environ = dict(os.environ) if cfg.environ is None else cfg.environ
    ci = detect_ci(environ)
    run_id = cfg.run_id or environ.get(RUN_ID_ENV) or ci.run_id
    return RunInfo(run_id=run_id, source_commit=head_commit(cfg.repo) or ci.commit, ci=ci)


def run_attest(cfg: AttestConfig) -> AttestResult:
    """Raises InvalidInput / SigningError / StoreError; never stores a partial attestation."""
    if not cfg.repo.is_dir():
        raise InvalidInput(f"{cfg.repo}: no such directory")
    # Everything that can refuse is checked before the command runs.
    if cfg.keyless == bool(cfg.keys):
        raise InvalidInput("give --key KEY (repeatable) or --keyless, not both")
    if cfg.trust_config is not None and not cfg.keyless:
        raise InvalidInput(
            "--trust-config names the Sigstore instance of --keyless; give --keyless"
        )
    signers: list[LoadedSigner] = [load_signer(k) for k in cfg.keys]
    if cfg.keyless:
        from gatekeeper.attest.keyless import check_keyless

        check_keyless(cfg.trust_config)
    if not cfg.audit and (cfg.kinds is not None or cfg.options != AuditOptions()):
        raise InvalidInput(
            "--only, --osv-*, and --allowed-signers configure the audit: give --audit too"
        )
    request = cfg.audit_request() if cfg.audit else None
    store = open_store(cfg.store, insecure=cfg.insecure_registry)
    run = _run_info(cfg)

    materials = _materials(cfg)
    started = datetime.now(UTC)
    exit_code = _run_command(cfg.command, cfg.repo) if cfg.command else None
    products = _products(cfg)
    audit = _audit(request) if request is not None else _Audit()
    finished = datetime.now(UTC)

    predicate = StagePredicate(
        stage=cfg.stage,
        command=list(cfg.command),
        exit_code=exit_code,
        started_at=started,
        finished_at=finished,
        materials=sorted(materials, key=lambda a: a.name),
        products=sorted(products, key=lambda a: a.name),
        run=run,
        audited=audit.audited,
        evidence=audit.evidence,
        findings=audit.findings,
        gatekeeper_version=__version__,
    )
    if cfg.keyless:
        envelope, env_id = _sign_keyless_and_store(predicate, cfg.trust_config, store)
    else:
        envelope, env_id = _sign_and_store(predicate, signers, store)
    return AttestResult(
        envelope=envelope, envelope_id=env_id, exit_code=exit_code or 0, predicate=predicate
    )


def _sign_and_store(
    predicate: StagePredicate, signers: list[LoadedSigner], store: Store
) -> tuple[Envelope, str]:
    statement, payload = canonical_statement(predicate)
    envelope = sign_envelope(payload, INTOTO_PAYLOAD_TYPE, signers)
    subjects = tuple(sorted(f"{alg}:{v}" for s in statement.subject for alg, v in s.digest.items()))
    run = RunKey(predicate.run.run_id, predicate.run.source_commit)
    env_id = store.put(
        envelope_bytes(envelope), IndexKeys(stage=predicate.stage, subjects=subjects, run=run)
    )
    return envelope, env_id


def _sign_keyless_and_store(
    predicate: StagePredicate, trust_config: Path | None, store: Store
) -> tuple[Envelope, str]:
    """Sign keyless and store the whole Sigstore bundle (its envelope means nothing alone)."""
    from gatekeeper._fileio import loads_json_strict
    from gatekeeper.attest.keyless import sign_keyless

    statement, payload = canonical_statement(predicate)
    bundle = sign_keyless(payload, trust_config)
    envelope = Envelope.model_validate(loads_json_strict(bundle)["dsseEnvelope"])
    subjects = tuple(sorted(f"{alg}:{v}" for s in statement.subject for alg, v in s.digest.items()))
    run = RunKey(predicate.run.run_id, predicate.run.source_commit)
    env_id = store.put(bundle, IndexKeys(stage=predicate.stage, subjects=subjects, run=run))
    return envelope, env_id


def envelope_bytes(envelope: Envelope) -> bytes:
    from gatekeeper._fileio import dumps_json

    return dumps_json(envelope.model_dump(mode="json", by_alias=True)).encode("utf-8")
