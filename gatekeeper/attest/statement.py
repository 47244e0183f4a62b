"""Building and parsing in-toto statements for stages.

``parse_attestation`` turns a verified payload into one normalised ``StageRecord`` the
verifier reads: gatekeeper's stage predicate, an in-toto link, a witness attestation
collection, or SLSA provenance v0.1, v0.2 or v1, in an in-toto Statement v0.1 or v1.

Foreign formats are read as their specs say: unknown fields are ignored (statement-level
ones with a note), optional fields may be absent, and an error names the format and the
field (``Statement v0.1: subject[0].digest missing``). gatekeeper's own stage predicate stays
strict: an unknown field in it is an error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper._gcpause import collector_paused
from gatekeeper.attest.dsse import unknown_fields
from gatekeeper.errors import MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.finding import Finding
from gatekeeper.models.statement import (
    SLSA_PROVENANCE_TYPE,
    SLSA_PROVENANCE_V01_TYPE,
    SLSA_PROVENANCE_V02_TYPE,
    STAGE_PREDICATE_TYPE,
    STATEMENT_TYPE,
    STATEMENT_V01_TYPE,
    WITNESS_COLLECTION_TYPES,
    Artifact,
    StagePredicate,
    Statement,
)

STATEMENT_V01 = STATEMENT_V01_TYPE
_STATEMENT_VERSIONS = {STATEMENT_TYPE: "Statement v1", STATEMENT_V01_TYPE: "Statement v0.1"}


def _statement_data(predicate: StagePredicate) -> dict[str, Any]:
    """The in-toto Statement of ``predicate`` as JSON data: the predicate dumped once, the
    subjects taken from its dumped products."""
    dumped = predicate.model_dump(mode="json", exclude_none=True)
    subjects: list[dict[str, Any]] = [
        {"name": a["name"], "digest": a["digest"]} for a in dumped["products"]
    ]
    if not subjects:
        # in-toto requires a subject; a stage with no products is about its source commit.
        if predicate.run.source_commit:
            subjects = [
                {
                    "name": f"git+commit:{predicate.stage}",
                    "digest": {"gitCommit": predicate.run.source_commit},
                }
            ]
        else:
            listing = dumps_json([a.model_dump(mode="json") for a in predicate.materials])
            subjects = [
                {
                    "name": f"stage:{predicate.stage}",
                    "digest": {"sha256": hashlib.sha256(listing.encode()).hexdigest()},
                }
            ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": STAGE_PREDICATE_TYPE,
        "predicate": dumped,
    }


def build_statement(predicate: StagePredicate) -> Statement:
    with collector_paused():
        return Statement.model_validate(_statement_data(predicate))


def statement_bytes(statement: Statement) -> bytes:
    return dumps_json(
        statement.model_dump(mode="json", by_alias=True, exclude_none=True), indent=None
    ).encode("utf-8")


def canonical_statement(predicate: StagePredicate) -> tuple[Statement, bytes]:
    """``build_statement(predicate)`` and its ``statement_bytes``, in one JSON pass.

    The bytes are written from the same JSON data the statement is validated from (already
    in JSON form, which dumping the statement again would only copy), so they are the
    bytes ``statement_bytes`` gives.
    """
    with collector_paused():
        data = _statement_data(predicate)
        return Statement.model_validate(data), dumps_json(data, indent=None).encode("utf-8")


@dataclass(frozen=True)
class SourceRecord:
    """Where a foreign provenance says its build came from (all read from the signed payload).

    ``repository`` is normalised (``git+`` and ``.git`` dropped, no ``@ref``); ``commit`` is the
    source revision the provenance records (``gitCommit`` or ``sha1`` of the source
    dependency); ``workflow_path`` is the build's entry point in the repository
    (``.github/workflows/release.yml``, ``cloudbuild.yaml``).
    """

    repository: str | None = None
    ref: str | None = None
    commit: str | None = None
    workflow_path: str | None = None


# The kinds of attestation that name their stage in what is signed (a link's ``name``, a
# witness collection's ``name``, gatekeeper's ``stage``). Foreign provenance names none.
_NAMES_STAGE = frozenset({"gatekeeper", "in-toto-link", "witness-collection"})


@dataclass(frozen=True)
class StageRecord:
    """What the verifier needs from one attestation, whatever tool made it."""

    stage: str  # as signed; "" for foreign provenance (the policy's matchers decide)
    # "gatekeeper", "in-toto-link", "witness-collection", "slsa-provenance", or "statement"
    # (another predicate type: imported and stored, but evidence for no stage)
    kind: str
    subjects: list[tuple[str, dict[str, str]]]  # (name, digest set), in the statement's order
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
    source: SourceRecord | None = None
    notes: tuple[str, ...] = ()  # what was ignored while reading a foreign format

    @property
    def names_stage(self) -> bool:
        """Whether the signed payload names the stage (else the policy's matchers decide)."""
        return self.kind in _NAMES_STAGE

    @property
    def recorded_commit(self) -> str | None:
        """The source commit the attestation records: gatekeeper's run, or a foreign
        attestation's own record of its source (``None`` when it records none)."""
        if self.source_commit:
            return self.source_commit
        return self.source.commit if self.source is not None else None

    def subject_digests(self) -> set[str]:
        return {f"{alg}:{value}" for _name, d in self.subjects for alg, value in d.items()}


# -- the statement layer ---------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignStatement:
    """An in-toto Statement (v0.1 or v1) as its spec reads: unknown fields ignored."""

    version: str  # "Statement v1", "Statement v0.1" (for messages)
    subjects: list[tuple[str, dict[str, str]]]
    predicate_type: str
    predicate: dict[str, Any]
    notes: tuple[str, ...] = ()


def _digest_set(value: Any, what: str) -> dict[str, str]:
    """A DigestSet: algorithm -> value, at least one, every value a string. Raises."""
    if value is None:
        raise MalformedInput(f"{what} missing")
    if not isinstance(value, dict) or not value:
        raise MalformedInput(f"{what} is not a non-empty digest set")
    for alg, digest in value.items():
        if not isinstance(digest, str) or not digest:
            raise MalformedInput(f"{what}.{alg} is not a digest string")
    return dict(value)


_STATEMENT_FIELDS = frozenset({"_type", "subject", "predicateType", "predicate"})


def read_statement(data: dict[str, Any]) -> ForeignStatement:
    """An in-toto Statement v0.1 or v1; the subject's ``name`` is optional (``_`` if unset).

    Raises:
        MalformedInput: another ``_type``, or a required field missing or malformed; the
            message names the version and the field.
    """
    version = _STATEMENT_VERSIONS.get(str(data.get("_type")))
    if version is None:
        raise MalformedInput(
            f"_type {data.get('_type')!r} is neither an in-toto Statement (v1, v0.1) nor a link"
        )
    notes = [f"{version}: {note}" for note in unknown_fields(data, _STATEMENT_FIELDS, version)]
    raw_subjects = data.get("subject")
    if raw_subjects is None:
        raise MalformedInput(f"{version}: subject missing")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise MalformedInput(f"{version}: subject is not a non-empty list")
    subjects = []
    for index, entry in enumerate(raw_subjects):
        where = f"{version}: subject[{index}]"
        if not isinstance(entry, dict):
            raise MalformedInput(f"{where} is not an object")
        name = entry.get("name", entry.get("uri", "_"))
        if not isinstance(name, str):
            raise MalformedInput(f"{where}.name is not a string")
        subjects.append((name, _digest_set(entry.get("digest"), f"{where}.digest")))
    predicate_type = data.get("predicateType")
    if predicate_type is None:
        raise MalformedInput(f"{version}: predicateType missing")
    if not isinstance(predicate_type, str):
        raise MalformedInput(f"{version}: predicateType is not a string")
    if not predicate_type:
        notes.append(f"{version}: predicateType is empty (the statement says nothing it is)")
    predicate = data.get("predicate")
    if predicate is None:
        predicate = {}  # unset is the same as set-but-empty
    if not isinstance(predicate, dict):
        raise MalformedInput(f"{version}: predicate is not an object")
    return ForeignStatement(version, subjects, predicate_type, predicate, tuple(notes))


# -- parsing ---------------------------------------------------------------------------------


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


def foreign_index_stage(predicate_type: str) -> str:
    """The store index a foreign statement is filed under (it names no gatekeeper stage)."""
    return f"predicate:{predicate_type}"


def parse_attestation(
    payload_type: str,
    payload: bytes,
    index_stage: str | None = None,
    *,
    any_predicate: bool = False,
) -> StageRecord:
    """Parse a payload whose signatures have already been checked.

    SECURITY: every field comes from the payload. ``index_stage`` (where the store filed the
    envelope, an unsigned label) is not used: a foreign provenance names no stage, and the
    verifier's policy decides which stage it stands for (``StagePolicy.provenance``).

    ``any_predicate`` (for ``import``) reads a statement of any other predicate type as a
    ``statement`` record, evidence for no stage; the verifier leaves it unset, so an unknown
    predicate type where a stage's attestation is expected is malformed.

    Raises:
        MalformedInput: wrong payload type, not strict JSON, wrong ``_type``, a required
            field missing or malformed, or (without ``any_predicate``) an unknown
            predicate type.
    """
    with collector_paused():
        return _parse_payload(payload_type, payload, any_predicate=any_predicate)


def _parse_payload(payload_type: str, payload: bytes, *, any_predicate: bool) -> StageRecord:
    data = _payload_object(payload_type, payload)
    if data.get("_type") == "link":
        return _parse_link(data)
    statement = read_statement(data)
    kind = statement.predicate_type
    if kind == STAGE_PREDICATE_TYPE:
        return _parse_stage(statement)
    if kind in _PROVENANCE_READERS:
        return _PROVENANCE_READERS[kind](statement)
    if kind in WITNESS_COLLECTION_TYPES:
        return _parse_witness(statement)
    if any_predicate:
        return _record(statement, kind="statement")
    raise MalformedInput(f"unknown predicate type {kind!r}")


def _record(statement: ForeignStatement, **fields: Any) -> StageRecord:
    """A record of a foreign statement, with what the statement layer itself says."""
    values: dict[str, Any] = {
        "stage": "",
        "subjects": statement.subjects,
        "materials": [],
        "products": [Artifact(name=n, digest=d) for n, d in statement.subjects],
        "exit_code": None,
        "finished_at": None,
        "run_id": None,
        "source_commit": None,
        "predicate_type": statement.predicate_type,
        "notes": statement.notes,
    }
    values.update(fields)
    return StageRecord(**values)


def _parse_stage(statement: ForeignStatement) -> StageRecord:
    if statement.version != "Statement v1":
        raise MalformedInput(
            f"gatekeeper's stage predicate comes in a Statement v1, not {statement.version}"
        )
    try:
        pred = StagePredicate.model_validate(statement.predicate)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise MalformedInput(f"stage predicate invalid at {loc}: {err['msg']}") from exc
    return StageRecord(
        stage=pred.stage,
        kind="gatekeeper",
        subjects=statement.subjects,
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
        subjects=[(a.name, dict(a.digest)) for a in products],
        materials=materials,
        products=products,
        exit_code=code,
        finished_at=None,
        run_id=None,
        source_commit=None,
        command=[str(c) for c in command],
    )


# -- SLSA provenance -------------------------------------------------------------------------

_VERSION_NAMES = {
    SLSA_PROVENANCE_TYPE: "SLSA provenance v1",
    SLSA_PROVENANCE_V02_TYPE: "SLSA provenance v0.2",
    SLSA_PROVENANCE_V01_TYPE: "SLSA provenance v0.1",
}


def _object(value: Any, what: str, *, required: bool = False) -> dict[str, Any]:
    """An optional object (absent: empty). Raises MalformedInput: present but not an object."""
    if value is None:
        if required:
            raise MalformedInput(f"{what} missing")
        return {}
    if not isinstance(value, dict):
        raise MalformedInput(f"{what} is not an object")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedInput(f"{what} is not a string")
    return value


def _timestamp(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedInput(f"{what} is not a timestamp")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Nanosecond precision (Cloud Build) is more than datetime holds: keep microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedInput(f"{what} is not a timestamp") from exc
    if when.tzinfo is None:
        raise MalformedInput(f"{what} has no time zone")
    return when


def _dependencies(entries: Any, what: str) -> list[Artifact]:
    """Resolved dependencies or materials with a digest set (those without one are skipped:
    the spec makes the digest optional, and nothing can be compared without it)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise MalformedInput(f"{what} is not a list")
    out = []
    for entry in entries:
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if not isinstance(digest, dict) or not digest:
            continue
        if not all(isinstance(v, str) and v for v in digest.values()):
            continue
        name = entry.get("name") or entry.get("uri") or ""
        out.append(Artifact(name=str(name), digest=dict(digest)))
    return out


def normalise_repository(uri: str) -> tuple[str, str | None]:
    """(repository, ref) of a source URI: ``git+https://github.com/a/b@refs/heads/main`` ->
    (``https://github.com/a/b``, ``refs/heads/main``). ``.git`` and a trailing ``/`` go."""
    text = uri.strip()
    text = text.removeprefix("git+")
    ref = None
    scheme, sep, rest = text.partition("://")
    body = rest if sep else text
    if "@" in body.split("/", 1)[-1]:
        path_part = body.split("/", 1)
        head, at, tail = path_part[-1].rpartition("@")
        if at:
            ref = tail or None
            path_part[-1] = head
            body = "/".join(path_part)
    text = f"{scheme}{sep}{body}" if sep else body
    text = text.rstrip("/").removesuffix(".git")
    if sep:
        host, slash, path = text[len(scheme) + 3 :].partition("/")
        text = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    return text, ref


def _commit_of(digest: dict[str, str]) -> str | None:
    for alg in ("gitCommit", "sha1"):
        value = digest.get(alg)
        if value:
            return value.lower()
    return None


def _git_dependency(entries: Any) -> tuple[str, str | None, str | None] | None:
    """(repository, ref, commit) of the first ``git+`` dependency: the source, by the SLSA
    build types' convention of listing it first."""
    for entry in entries if isinstance(entries, list) else []:
        uri = entry.get("uri") if isinstance(entry, dict) else None
        if isinstance(uri, str) and uri.startswith("git+"):
            repository, ref = normalise_repository(uri)
            digest = entry.get("digest")
            commit = _commit_of(digest) if isinstance(digest, dict) else None
            return repository, ref, commit
    return None


def _source_v1(build_def: dict[str, Any], what: str) -> SourceRecord:
    """The source of a v1 provenance: the workflow (GitHub Actions build types), the build
    config source (Cloud Build), or ``source``; and the source dependency's commit."""
    params = _object(build_def.get("externalParameters"), f"{what}: externalParameters")
    described: dict[str, Any] = {}
    for key in ("workflow", "buildConfigSource", "source"):
        candidate = params.get(key)
        if isinstance(candidate, dict):
            described = candidate
            break
    repository = ref = path = None
    if described:
        raw_repo = described.get("repository") or described.get("uri")
        if isinstance(raw_repo, str):
            repository, ref = normalise_repository(raw_repo)
        ref = _optional_text(described.get("ref"), f"{what}: externalParameters ref") or ref
        path = _optional_text(described.get("path"), f"{what}: externalParameters path")
    dependency = _git_dependency(build_def.get("resolvedDependencies"))
    commit = None
    if dependency is not None:
        dep_repo, dep_ref, dep_commit = dependency
        if repository is None or dep_repo == repository:
            repository, ref, commit = dep_repo, ref or dep_ref, dep_commit
    digest = described.get("digest") if described else None
    if commit is None and isinstance(digest, dict):
        commit = _commit_of(digest)
    return SourceRecord(repository=repository, ref=ref, commit=commit, workflow_path=path)


def _parse_provenance_v1(statement: ForeignStatement) -> StageRecord:
    what = _VERSION_NAMES[statement.predicate_type]
    if not statement.predicate:
        raise MalformedInput(f"{what}: predicate missing")
    pred = statement.predicate
    build_def = _object(pred.get("buildDefinition"), f"{what}: buildDefinition", required=True)
    run_details = _object(pred.get("runDetails"), f"{what}: runDetails")
    meta = _object(run_details.get("metadata"), f"{what}: runDetails.metadata")
    builder = _object(run_details.get("builder"), f"{what}: runDetails.builder")
    return _record(
        statement,
        kind="slsa-provenance",
        materials=_dependencies(
            build_def.get("resolvedDependencies"), f"{what}: resolvedDependencies"
        ),
        finished_at=_timestamp(meta.get("finishedOn"), f"{what}: finishedOn"),
        run_id=_optional_text(meta.get("invocationId"), f"{what}: invocationId") or None,
        builder_id=_optional_text(builder.get("id"), f"{what}: builder.id"),
        build_type=_optional_text(build_def.get("buildType"), f"{what}: buildType"),
        source=_source_v1(build_def, what),
    )


def _source_v0(pred: dict[str, Any], what: str) -> SourceRecord:
    """v0.2: ``invocation.configSource`` (uri, digest, entryPoint), else the first git
    material. v0.1: the first git material and ``recipe.entryPoint``."""
    invocation = _object(pred.get("invocation"), f"{what}: invocation")
    config = _object(invocation.get("configSource"), f"{what}: invocation.configSource")
    repository = ref = commit = path = None
    uri = _optional_text(config.get("uri"), f"{what}: configSource.uri")
    if uri:
        repository, ref = normalise_repository(uri)
        digest = config.get("digest")
        commit = _commit_of(digest) if isinstance(digest, dict) else None
        path = _optional_text(config.get("entryPoint"), f"{what}: configSource.entryPoint")
    else:
        recipe = _object(pred.get("recipe"), f"{what}: recipe")
        path = _optional_text(recipe.get("entryPoint"), f"{what}: recipe.entryPoint")
    materials = pred.get("materials")
    if repository is None and isinstance(materials, list):
        for entry in materials:
            raw = entry.get("uri") if isinstance(entry, dict) else None
            digest = entry.get("digest") if isinstance(entry, dict) else None
            if isinstance(raw, str) and isinstance(digest, dict) and _commit_of(digest):
                repository, ref = normalise_repository(raw)
                commit = _commit_of(digest)
                break
    return SourceRecord(repository=repository, ref=ref, commit=commit, workflow_path=path)


def _parse_provenance_v0(statement: ForeignStatement) -> StageRecord:
    """SLSA provenance v0.2 (slsa-github-generator, npm) and v0.1 (Cloud Build)."""
    what = _VERSION_NAMES[statement.predicate_type]
    if not statement.predicate:
        raise MalformedInput(f"{what}: predicate missing")
    pred = statement.predicate
    builder = _object(pred.get("builder"), f"{what}: builder", required=True)
    meta = _object(pred.get("metadata"), f"{what}: metadata")
    if statement.predicate_type == SLSA_PROVENANCE_V02_TYPE:
        build_type = _optional_text(pred.get("buildType"), f"{what}: buildType")
    else:
        recipe = _object(pred.get("recipe"), f"{what}: recipe")
        build_type = _optional_text(recipe.get("type"), f"{what}: recipe.type")
    return _record(
        statement,
        kind="slsa-provenance",
        materials=_dependencies(pred.get("materials"), f"{what}: materials"),
        finished_at=_timestamp(meta.get("buildFinishedOn"), f"{what}: buildFinishedOn"),
        run_id=_optional_text(meta.get("buildInvocationId"), f"{what}: buildInvocationId") or None,
        builder_id=_optional_text(builder.get("id"), f"{what}: builder.id"),
        build_type=build_type,
        source=_source_v0(pred, what),
    )


_PROVENANCE_READERS: dict[str, Callable[[ForeignStatement], StageRecord]] = {
    SLSA_PROVENANCE_TYPE: _parse_provenance_v1,
    SLSA_PROVENANCE_V02_TYPE: _parse_provenance_v0,
    SLSA_PROVENANCE_V01_TYPE: _parse_provenance_v0,
}


# -- witness attestation collections ----------------------------------------------------------


def _witness_artifacts(value: Any, what: str) -> list[Artifact]:
    """A material or product attestor: file name -> digest set (materials), or -> {digest,
    mimeType} (products)."""
    if not isinstance(value, dict):
        raise MalformedInput(f"{what} is not an object")
    out = []
    for name, entry in sorted(value.items()):
        digest = entry.get("digest") if isinstance(entry, dict) and "digest" in entry else entry
        out.append(Artifact(name=name, digest=_digest_set(digest, f"{what}[{name!r}]")))
    return out


def _parse_witness(statement: ForeignStatement) -> StageRecord:
    """A witness attestation collection: its signed ``name`` is the stage; the material,
    product, command-run and git attestors give materials, products, the command, its exit
    code and the source commit."""
    what = "witness collection"
    pred = statement.predicate
    name = pred.get("name")
    if not isinstance(name, str) or not name:
        raise MalformedInput(f"{what}: name missing")
    attestations = pred.get("attestations")
    if not isinstance(attestations, list):
        raise MalformedInput(f"{what}: attestations missing")
    materials: list[Artifact] = []
    products: list[Artifact] = []
    command: list[str] = []
    exit_code: int | None = None
    commit: str | None = None
    for index, item in enumerate(attestations):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise MalformedInput(f"{what}: attestations[{index}].type missing")
        kind, body = item["type"], item.get("attestation")
        where = f"{what}: attestations[{index}] ({kind})"
        if kind.endswith("/material/v0.1"):
            materials = _witness_artifacts(body, where)
        elif kind.endswith("/product/v0.1"):
            products = _witness_artifacts(body, where)
        elif kind.endswith("/command-run/v0.1") and isinstance(body, dict):
            cmd = body.get("cmd") or []
            command = [str(c) for c in cmd] if isinstance(cmd, list) else [str(cmd)]
            code = body.get("exitcode")
            if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
                raise MalformedInput(f"{where}.exitcode is not an integer")
            exit_code = code
        elif kind.endswith("/git/v0.1") and isinstance(body, dict):
            commit = _optional_text(body.get("commithash"), f"{where}.commithash")
    return _record(
        statement,
        stage=name,
        kind="witness-collection",
        materials=materials,
        products=products,
        command=command,
        exit_code=exit_code,
        source=SourceRecord(commit=commit.lower() if commit else None),
    )
