"""SLSA Verification Summary Attestations (VSA v1): signing on pass, checking at deploy.

A VSA says "this verifier checked these artifacts against this policy at this time and
they passed" (https://slsa.dev/spec/v1.0/verification_summary). `verify --emit-vsa` signs
one as an in-toto Statement v1 in a DSSE envelope whose subjects are the verified
artifacts; `vsa verify` lets a deployer check one signature instead of re-running the
verification: the signature under a key it trusts, the subject, the resource URI, the
result, the verified levels, the verifier, the policy digest, and the summary's age.

A summary claims only what was verified: ``SLSA_BUILD_LEVEL_1`` when every artifact's
passing chain holds provenance of its build, else ``SLSA_BUILD_LEVEL_0``; and no
``dependencyLevels`` (gatekeeper does not verify dependencies' levels, and an empty object
would say "no dependencies"). Summaries other verifiers sign are read as the spec says:
Statement v0.1 or v1, unknown fields ignored, optional fields absent, any DigestSet
algorithm in subjects (Google's ``gce_image_id``), signatures in any encoding the key allows.

SECURITY: the signature is verified over the exact payload bytes before the payload is
parsed; only keys given on the command line count; a VSA for another artifact, another
policy, a failed result or an old verification blocks.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from securesystemslib.signer import SSlibKey

from gatekeeper import __version__
from gatekeeper._fileio import atomic_write, dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.dsse import read_envelope, sign_envelope
from gatekeeper.attest.keys import LoadedSigner, load_public_key
from gatekeeper.attest.signed import open_dsse
from gatekeeper.attest.statement import ForeignStatement, read_statement
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.base import OpenModel, empty_list
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.policy import format_duration
from gatekeeper.models.statement import SLSA_VSA_TYPE, STATEMENT_TYPE, Statement, Subject
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.verify.subjects import ArtifactSubject, parse_digest, subject_matches

VERIFIER_ID_ENV = "GATEKEEPER_VERIFIER_ID"
DEFAULT_VERIFIER_ID = "https://gatekeeper.dev/verifier/v1"
# What a pass of gatekeeper's policy establishes on SLSA's build track: provenance of the
# build exists, is signed by a key the policy trusts, and names the artifact (level 1). It
# cannot establish what levels 2 and 3 require of the build platform (hosted, isolated). A
# chain with no build in it (an artifact that was only scanned or released) is level 0.
BUILD_LEVEL_1 = "SLSA_BUILD_LEVEL_1"
BUILD_LEVEL_0 = "SLSA_BUILD_LEVEL_0"
_SLSA_LEVEL = re.compile(r"^SLSA_([A-Z]+)_LEVEL_(\d+)$")
DEFAULT_MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)
MAX_VSA_BYTES = 16 * 1024 * 1024
_MAX_LISTED = 5


class ResourceDescriptor(OpenModel):
    uri: str | None = None
    digest: dict[str, str] = Field(default_factory=dict)
    name: str | None = None


class Verifier(OpenModel):
    id: str = Field(min_length=1)
    version: dict[str, str] = Field(default_factory=dict)


class VsaPredicate(OpenModel):
    """The VSA v1 predicate as the spec defines it: required fields required, optional ones
    optional, unknown ones ignored (other tools' extra fields are kept, never trusted)."""

    verifier: Verifier
    time_verified: datetime = Field(alias="timeVerified")
    resource_uri: str = Field(alias="resourceUri", min_length=1)
    policy: ResourceDescriptor
    input_attestations: list[ResourceDescriptor] = Field(
        default_factory=empty_list, alias="inputAttestations"
    )
    verification_result: Literal["PASSED", "FAILED"] = Field(alias="verificationResult")
    verified_levels: list[str] = Field(alias="verifiedLevels")
    dependency_levels: dict[str, int] | None = Field(default=None, alias="dependencyLevels")
    slsa_version: str | None = Field(default=None, alias="slsaVersion")


@dataclass(frozen=True)
class VsaInput:
    """What a passing verify hands to the summary."""

    subjects: list[tuple[str, str]]  # (name, "alg:value"): sha256 for files
    policy_uri: str
    policy_digest: str  # "sha256:<hex>"
    attestations: list[tuple[str, str]]  # (uri, envelope sha256 hex)
    resource_uri: str
    time_verified: datetime
    # Every artifact's passing chain held provenance of its build (SLSA build level 1).
    builds_verified: bool = False
    verifier_id: str = field(
        default_factory=lambda: os.environ.get(VERIFIER_ID_ENV) or DEFAULT_VERIFIER_ID
    )


def build_vsa(data: VsaInput) -> Statement:
    """The in-toto Statement v1 carrying the VSA predicate.

    Raises:
        InvalidInput: no subject, or a digest that is not ``ALG:VALUE``.
    """
    if not data.subjects:
        raise InvalidInput("a verification summary needs at least one subject")
    subjects = []
    for name, digest in sorted(set(data.subjects)):
        alg, value = parse_digest(digest, "summary subject")
        subjects.append(Subject(name=name, digest={alg: value}))
    predicate = {
        "verifier": {"id": data.verifier_id, "version": {"gatekeeper": __version__}},
        "timeVerified": data.time_verified.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "resourceUri": data.resource_uri,
        "policy": {
            "uri": data.policy_uri,
            "digest": {"sha256": data.policy_digest.partition(":")[2]},
        },
        "inputAttestations": [
            {"uri": uri, "digest": {"sha256": hexpart}}
            for uri, hexpart in sorted(set(data.attestations))
        ],
        "verificationResult": "PASSED",
        # SECURITY: claim only what was verified. dependencyLevels is left out: gatekeeper
        # does not verify dependencies, and `{}` would say there are none.
        "verifiedLevels": [BUILD_LEVEL_1 if data.builds_verified else BUILD_LEVEL_0],
        "slsaVersion": "1.0",
    }
    return Statement.model_validate(
        {
            "_type": STATEMENT_TYPE,
            "subject": subjects,
            "predicateType": SLSA_VSA_TYPE,
            "predicate": predicate,
        }
    )


def sign_vsa(data: VsaInput, signers: list[LoadedSigner]) -> bytes:
    """The signed DSSE envelope's bytes. Raises InvalidInput / SigningError."""
    statement = build_vsa(data)
    payload = dumps_json(
        statement.model_dump(mode="json", by_alias=True, exclude_none=True), indent=None
    ).encode("utf-8")
    envelope = sign_envelope(payload, INTOTO_PAYLOAD_TYPE, signers)
    return dumps_json(envelope.model_dump(mode="json", by_alias=True)).encode("utf-8")


def write_vsa(path: str | Path, data: VsaInput, signers: list[LoadedSigner]) -> None:
    atomic_write(path, sign_vsa(data, signers))


# -- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VsaCheck:
    """What a deployer requires of a summary."""

    path: Path
    keys: list[str]  # public key files (PEM, or in-toto keys declaring their scheme)
    # The artifacts that must all be covered: (name, "alg:value") or a file to hash.
    subjects: Sequence[tuple[str, str] | ArtifactSubject]
    policy_digest: str | None = None  # "sha256:<hex>" the summary must name
    any_policy: bool = False  # without policy_digest: accept any policy (said in the notes)
    max_age: timedelta = DEFAULT_MAX_AGE
    verifier_id: str | None = None
    now: datetime | None = None
    resource_uri: str | None = None  # the summary's resourceUri must be exactly this
    # Levels the summary must have verified; SLSA_<TRACK>_LEVEL_<n> is met by a higher level
    verified_levels: tuple[str, ...] = ()


def _reason(code: str, message: str) -> Reason:
    return Reason(code=code, message=message)


@dataclass(frozen=True)
class _Summary:
    """A summary whose signature verified under a given key, parsed."""

    statement: ForeignStatement
    predicate: VsaPredicate
    artifacts: list[ArtifactSubject]


class _Refused(Exception):
    """The summary cannot be read as a signed VSA: one reason, and nothing else is checked."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.reason = _reason(code, message)


def _verified_payload(check: VsaCheck, raw: bytes, keys: dict[str, SSlibKey]) -> bytes:
    """The payload, once a signature verifies under one of ``keys``. Raises _Refused."""
    try:
        obj = loads_json_strict(raw)
        read_envelope(obj)
    except (ValueError, MalformedInput) as exc:
        raise _Refused(
            "verify/malformed", f"{check.path}: not a DSSE envelope ({str(exc).splitlines()[0]})"
        ) from exc
    if not obj.get("signatures"):
        raise _Refused("verify/unsigned", f"{check.path}: the summary carries no signature")
    try:
        document = open_dsse(obj, str(check.path))
        checks = document.check(keys)
    except MalformedInput as exc:
        raise _Refused("verify/malformed", str(exc)) from exc
    if not any(c.verified_by for c in checks):
        raise _Refused(
            "verify/bad-signature", f"{check.path}: no signature verifies under the given key(s)"
        )
    if document.payload_type != INTOTO_PAYLOAD_TYPE:
        raise _Refused(
            "verify/malformed",
            f"{check.path}: payload type {document.payload_type!r} is not in-toto",
        )
    return document.payload


def _open_summary(check: VsaCheck, raw: bytes, keys: dict[str, SSlibKey]) -> _Summary:
    """Verify the signature over the exact payload bytes, then parse. Raises _Refused."""
    payload = _verified_payload(check, raw, keys)
    try:
        data = loads_json_strict(payload)
        if not isinstance(data, dict):
            raise MalformedInput("the payload is not a JSON object")
        statement = read_statement(data)
        if statement.predicate_type != SLSA_VSA_TYPE:
            raise _Refused(
                "verify/malformed",
                f"{check.path}: predicate type {statement.predicate_type!r} is not a VSA v1",
            )
        predicate = VsaPredicate.model_validate(statement.predicate)
    except (ValueError, ValidationError, MalformedInput) as exc:
        raise _Refused(
            "verify/malformed",
            f"{check.path}: not a VSA v1 statement ({str(exc).splitlines()[0]})",
        ) from exc
    artifacts = [s if isinstance(s, ArtifactSubject) else _given(*s) for s in check.subjects]
    return _Summary(statement=statement, predicate=predicate, artifacts=artifacts)


def _given(name: str, digest: str) -> ArtifactSubject:
    alg, value = parse_digest(digest)
    return ArtifactSubject(name, {alg: value})


def _result_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    result = summary.predicate.verification_result
    if result == "PASSED":
        return []
    return [_reason("verify/vsa-failed", f"the summary records verification result {result}")]


def _subject_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    subjects = [digest for _name, digest in summary.statement.subjects]
    algorithms = {alg for digest in subjects for alg in digest}
    covered = sorted({f"{alg}:{value}" for digest in subjects for alg, value in digest.items()})
    reasons = []
    for artifact in summary.artifacts:
        if not any(subject_matches(digest, artifact) for digest in subjects):
            artifact.add_file_digests(algorithms)  # a file, by the summary's algorithms
        if not any(subject_matches(digest, artifact) for digest in subjects):
            reasons.append(
                _reason(
                    "verify/subject-mismatch",
                    f"{artifact.name}: {artifact.primary} is not a subject of the summary (it "
                    f"covers {', '.join(covered[:_MAX_LISTED]) or 'nothing'})",
                )
            )
    return reasons


def _resource_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    named = summary.predicate.resource_uri
    if check.resource_uri is None or named == check.resource_uri:
        return []
    return [
        _reason(
            "verify/subject-mismatch",
            f"the summary is about resource {named!r}, not {check.resource_uri!r}",
        )
    ]


def _level_met(wanted: str, verified: list[str]) -> bool:
    """A level is met when it is listed, or (SLSA_<TRACK>_LEVEL_<n>) a higher level of its
    track is: each SLSA level implies the ones below it."""
    match = _SLSA_LEVEL.match(wanted)
    if match is None:
        return wanted in verified
    track, level = match.group(1), int(match.group(2))
    return any(
        (m := _SLSA_LEVEL.match(v)) is not None and m.group(1) == track and int(m.group(2)) >= level
        for v in verified
    )


def _level_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    verified = summary.predicate.verified_levels
    missing = [level for level in check.verified_levels if not _level_met(level, verified)]
    if not missing:
        return []
    return [
        _reason(
            "verify/vsa-level-mismatch",
            f"the summary verified {', '.join(verified) or 'no level'}, which does not meet "
            f"{', '.join(missing)}",
        )
    ]


def _policy_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    if check.policy_digest is None:
        return []
    named = summary.predicate.policy.digest.get("sha256")
    if named is not None and f"sha256:{named.lower()}" == check.policy_digest:
        return []
    made_under = f"policy sha256:{named}" if named else "a policy it names by no sha256 digest"
    return [
        _reason(
            "verify/vsa-policy-mismatch",
            f"the summary was made under {made_under}, not {check.policy_digest}",
        )
    ]


def _age_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    verified = summary.predicate.time_verified
    if verified.tzinfo is None:
        return [_reason("verify/malformed", "timeVerified has no time zone")]
    if verified > now + CLOCK_SKEW:
        return [
            _reason("verify/stale", f"the summary is dated in the future ({verified.isoformat()})")
        ]
    if now - verified > check.max_age:
        return [
            _reason(
                "verify/stale",
                f"the verification is {format_duration(now - verified)} old; "
                f"at most {format_duration(check.max_age)} is accepted",
            )
        ]
    return []


def _verifier_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    made_by = summary.predicate.verifier.id
    if check.verifier_id is None or made_by == check.verifier_id:
        return []
    return [
        _reason(
            "verify/vsa-verifier-mismatch",
            f"the summary was made by verifier {made_by!r}, not {check.verifier_id!r}",
        )
    ]


# Each check of a signed, parsed summary returns its reasons; any reason refuses it. The
# order follows the spec's "how to verify": subject, verifier, resource, result, levels;
# then what gatekeeper adds: the policy and the age.
_SUMMARY_CHECKS = (
    _subject_reasons,
    _verifier_reasons,
    _resource_reasons,
    _result_reasons,
    _level_reasons,
    _policy_reasons,
    _age_reasons,
)


def _require_inputs(check: VsaCheck) -> None:
    """Raises InvalidInput when there is nothing to check the summary against."""
    if not check.keys:
        raise InvalidInput("give the verifier's public key with --key")
    if not check.subjects:
        raise InvalidInput(
            "name the artifact the summary must cover (--image-digest, --digest or --artifact)"
        )
    if check.policy_digest is None and not check.any_policy:
        # SECURITY: a summary made under any policy (a weaker one, say) must not pass by default.
        raise InvalidInput(
            "name the policy the summary must have been made under (--policy FILE or "
            "--policy-digest sha256:<hex>), or accept any policy with --any-policy"
        )


def _unchecked_notes(check: VsaCheck, predicate: VsaPredicate) -> list[str]:
    notes = []
    if not check.policy_digest:
        notes.append(
            "no --policy or --policy-digest given: the summary's policy "
            f"({predicate.policy.uri} sha256:{predicate.policy.digest.get('sha256')}) "
            "was not checked"
        )
    if check.resource_uri is None:
        notes.append(
            f"no --resource-uri given: the summary's resourceUri ({predicate.resource_uri}) "
            "was not checked"
        )
    return notes


def check_vsa(check: VsaCheck) -> Verdict:
    """Every reason to refuse the summary; a pass only when there is none.

    Raises:
        InvalidInput: unreadable key or summary file, or nothing to check it against.
    """
    _require_inputs(check)
    keys = {f"key{i + 1}": load_public_key(path) for i, path in enumerate(check.keys)}
    shown = [
        s.shown()
        if isinstance(s, ArtifactSubject)
        else (f"{s[0]} ({s[1]})" if s[0] != s[1] else s[1])
        for s in check.subjects
    ]
    raw = read_bounded(check.path, MAX_VSA_BYTES)
    now = check.now or datetime.now(UTC)
    try:
        summary = _open_summary(check, raw, keys)
    except _Refused as refused:
        return Verdict(command="verify", verdict="block", reasons=[refused.reason], subjects=shown)
    reasons = [r for each in _SUMMARY_CHECKS for r in each(check, summary, now)]
    predicate = summary.predicate
    return Verdict(
        command="verify",
        verdict="block" if reasons else "pass",
        reasons=reasons,
        policy=predicate.policy.uri,
        subjects=shown,
        notes=_unchecked_notes(check, predicate),
    )


def policy_file_digest(path: str | Path) -> str:
    """sha256 of a policy file's exact bytes. Raises InvalidInput."""
    return "sha256:" + hashlib.sha256(read_bounded(path, 4 * 1024 * 1024)).hexdigest()


# -- emitting (``verify --emit-vsa FILE``) ----------------------------------------------------


def summary_input(
    trace_subjects: list[tuple[str, str]],
    attestations: list[str],
    policy_path: str | Path,
    policy_digest: str,
    store_uri: str,
    now: datetime,
    builds_verified: bool = False,
) -> VsaInput:
    """What a passing verify hands to the summary: where the attestations and artifact are.

    An envelope in an OCI store is named ``oci://HOST/REPO@sha256:<id>``; in a directory
    store by its path. An artifact known only by digest is named in the store it came from.
    """
    is_oci = store_uri.startswith("oci://")
    uris = [
        (
            f"{store_uri}@sha256:{env_id}"
            if is_oci
            else f"{Path(store_uri).as_posix()}/envelopes/{env_id}.json",
            env_id,
        )
        for env_id in attestations
    ]
    name, digest = trace_subjects[0]
    resource = name if name != digest else (f"{store_uri}@{digest}" if is_oci else digest)
    return VsaInput(
        subjects=list(trace_subjects),
        policy_uri=Path(policy_path).as_posix(),
        policy_digest=policy_digest,
        attestations=uris,
        resource_uri=resource,
        time_verified=now,
        builds_verified=builds_verified,
    )


def remove_stale_summary(path: Path) -> None:
    """SECURITY: a summary left from an earlier run must not pass for a blocked one.

    Only a regular file or a link is removed: a device or pipe named as the summary's path
    (``--emit-vsa /dev/null``) holds no earlier summary and must not be unlinked.
    """
    try:
        regular = path.is_file()  # follows a link: a link to a summary is removed too
    except OSError:
        regular = False
    if regular or (path.is_symlink() and not path.exists()):
        path.unlink()
