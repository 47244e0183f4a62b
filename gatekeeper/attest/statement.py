"""Building and parsing in-toto statements for stages.

``parse_attestation`` turns a verified payload (gatekeeper's stage predicate, an in-toto
link, or SLSA Provenance v1) into one normalised ``StageRecord`` the verifier reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper.errors import MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.finding import Finding
from gatekeeper.models.statement import (
    SLSA_PROVENANCE_TYPE,
    STAGE_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Artifact,
    StagePredicate,
    Statement,
    Subject,
)

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"


def build_statement(predicate: StagePredicate) -> Statement:
    subjects = [Subject(name=a.name, digest=a.digest) for a in predicate.products]
    if not subjects:
        # in-toto requires a subject; a stage with no products is about its source commit.
        if predicate.run.source_commit:
            subjects = [
                Subject(
                    name=f"git+commit:{predicate.stage}",
                    digest={"gitCommit": predicate.run.source_commit},
                )
            ]
        else:
            listing = dumps_json([a.model_dump(mode="json") for a in predicate.materials])
            subjects = [
                Subject(
                    name=f"stage:{predicate.stage}",
                    digest={"sha256": hashlib.sha256(listing.encode()).hexdigest()},
                )
            ]
    return Statement(
        type_=STATEMENT_TYPE,
        subject=subjects,
        predicate_type=STAGE_PREDICATE_TYPE,
        predicate=predicate.model_dump(mode="json", exclude_none=True),
    )


def statement_bytes(statement: Statement) -> bytes:
    return dumps_json(
        statement.model_dump(mode="json", by_alias=True, exclude_none=True), indent=None
    ).encode("utf-8")


@dataclass(frozen=True)
class StageRecord:
    """What the verifier needs from one attestation, whatever tool made it."""

    stage: str  # as signed; "" for foreign provenance (the policy's matchers decide)
    kind: str  # "gatekeeper", "in-toto-link", "slsa-provenance"
    subjects: dict[str, dict[str, str]]  # name -> digest set
    materials: list[Artifact]
    products: list[Artifact]
    exit_code: int | None
    finished_at: datetime | None
    run_id: str | None
    source_commit: str | None
    audited: list[str] = field(default_factory=list)
    evidence_kinds: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)  # kind -> the attested evidence
    findings: list[Finding] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    # Foreign provenance: what a stage's ``provenance`` matcher reads (all from the payload).
    predicate_type: str | None = None
    builder_id: str | None = None
    build_type: str | None = None

    def subject_digests(self) -> set[str]:
        return {f"{alg}:{value}" for d in self.subjects.values() for alg, value in d.items()}


def _artifacts_from_link(entries: Any, what: str) -> list[Artifact]:
    if not isinstance(entries, dict):
        raise MalformedInput(f"link {what} is not a mapping")
    out = []
    for name, digest in sorted(entries.items()):
        if (
            not isinstance(digest, dict)
            or not digest
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in digest.items())
        ):
            raise MalformedInput(f"link {what} entry {name!r} has no digest set")
        out.append(Artifact(name=name, digest=digest))
    return out


def _payload_object(payload_type: str, payload: bytes) -> dict[str, Any]:
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise MalformedInput(f"payload type {payload_type!r} is not {INTOTO_PAYLOAD_TYPE}")
    try:
        data = loads_json_strict(payload)
    except ValueError as exc:
        raise MalformedInput(f"payload is not strict JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedInput("payload is not a JSON object")
    return data


def _statement(data: dict[str, Any]) -> Statement:
    kind = data.get("_type")
    if kind == STATEMENT_V01:
        raise MalformedInput("in-toto Statement v0.1 is not accepted; use Statement v1")
    if kind != STATEMENT_TYPE:
        raise MalformedInput(f"_type {kind!r} is neither an in-toto Statement v1 nor a link")
    try:
        return Statement.model_validate(data)
    except ValidationError as exc:
        raise MalformedInput(f"not a valid in-toto Statement v1: {exc.errors()[0]['msg']}") from exc


def foreign_index_stage(predicate_type: str) -> str:
    """The store index a foreign statement is filed under (it names no gatekeeper stage)."""
    return f"predicate:{predicate_type}"


def parse_attestation(
    payload_type: str, payload: bytes, index_stage: str | None = None
) -> StageRecord:
    """Parse a payload whose signatures have already been checked.

    SECURITY: every field comes from the payload. ``index_stage`` (where the store filed the
    envelope, an unsigned label) is not used: a foreign provenance names no stage, and the
    verifier's policy decides which stage it stands for (``StagePolicy.provenance``).

    Raises:
        MalformedInput: wrong payload type, not strict JSON, wrong ``_type``, or an
            unknown predicate type.
    """
    data = _payload_object(payload_type, payload)
    if data.get("_type") == "link":
        return _parse_link(data)
    statement = _statement(data)
    subjects = {s.name: dict(s.digest) for s in statement.subject}
    if statement.predicate_type == STAGE_PREDICATE_TYPE:
        return _parse_stage(statement, subjects)
    if statement.predicate_type == SLSA_PROVENANCE_TYPE:
        return _parse_provenance(statement, subjects)
    raise MalformedInput(f"unknown predicate type {statement.predicate_type!r}")


def _parse_stage(statement: Statement, subjects: dict[str, dict[str, str]]) -> StageRecord:
    try:
        pred = StagePredicate.model_validate(statement.predicate)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise MalformedInput(f"stage predicate invalid at {loc}: {err['msg']}") from exc
    return StageRecord(
        stage=pred.stage,
        kind="gatekeeper",
        subjects=subjects,
        materials=pred.materials,
        products=pred.products,
        exit_code=pred.exit_code,
        finished_at=pred.finished_at,
        run_id=pred.run.run_id,
        source_commit=pred.run.source_commit,
        audited=pred.audited,
        evidence_kinds=sorted(pred.evidence),
        evidence=dict(pred.evidence),
        findings=pred.findings,
        command=pred.command,
    )


def _link_exit_code(data: dict[str, Any]) -> int | None:
    byproducts = data.get("byproducts") or {}
    code = byproducts.get("return-value") if isinstance(byproducts, dict) else None
    if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
        raise MalformedInput("link byproducts.return-value is not an integer")
    return code


def _parse_link(data: dict[str, Any]) -> StageRecord:
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise MalformedInput("in-toto link has no name")
    materials = _artifacts_from_link(data.get("materials", {}), "materials")
    products = _artifacts_from_link(data.get("products", {}), "products")
    code = _link_exit_code(data)
    command = data.get("command") or []
    if not isinstance(command, list):
        raise MalformedInput("link command is not a list")
    return StageRecord(
        stage=name,
        kind="in-toto-link",
        subjects={a.name: dict(a.digest) for a in products},
        materials=materials,
        products=products,
        exit_code=code,
        finished_at=None,
        run_id=None,
        source_commit=None,
        command=[str(c) for c in command],
    )


def _resolved_dependencies(build_def: dict[str, Any]) -> list[Artifact]:
    materials = []
    for dep in build_def.get("resolvedDependencies") or []:
        if isinstance(dep, dict) and isinstance(dep.get("digest"), dict) and dep["digest"]:
            name = dep.get("name") or dep.get("uri") or ""
            materials.append(Artifact(name=str(name), digest=dep["digest"]))
    return materials


def _finished_on(meta: Any) -> datetime | None:
    if not isinstance(meta, dict) or not isinstance(meta.get("finishedOn"), str):
        return None
    try:
        finished = datetime.fromisoformat(meta["finishedOn"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedInput("SLSA provenance finishedOn is not a timestamp") from exc
    if finished.tzinfo is None:
        raise MalformedInput("SLSA provenance finishedOn has no time zone")
    return finished


def _optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedInput(f"SLSA provenance {what} is not a string")
    return value


def _parse_provenance(statement: Statement, subjects: dict[str, dict[str, str]]) -> StageRecord:
    pred = statement.predicate
    build_def = pred.get("buildDefinition") if isinstance(pred, dict) else None
    if not isinstance(build_def, dict):
        raise MalformedInput("SLSA provenance has no buildDefinition")
    run_details = pred.get("runDetails") or {}
    if not isinstance(run_details, dict):
        raise MalformedInput("SLSA provenance runDetails is not an object")
    meta = run_details.get("metadata") or {}
    builder = run_details.get("builder") or {}
    products = [Artifact(name=n, digest=d) for n, d in subjects.items()]
    return StageRecord(
        stage="",
        kind="slsa-provenance",
        subjects=subjects,
        materials=_resolved_dependencies(build_def),
        products=products,
        exit_code=None,
        finished_at=_finished_on(meta),
        run_id=((meta.get("invocationId") if isinstance(meta, dict) else None) or None),
        source_commit=None,
        predicate_type=statement.predicate_type,
        builder_id=_optional_text(
            builder.get("id") if isinstance(builder, dict) else None, "builder.id"
        ),
        build_type=_optional_text(build_def.get("buildType"), "buildType"),
    )
