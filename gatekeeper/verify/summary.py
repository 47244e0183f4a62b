"""SLSA Verification Summary Attestations (VSA v1): signing on pass, checking at deploy.

A VSA says "this verifier checked these artifacts against this policy at this time and
they passed" (https://slsa.dev/spec/v1.0/verification_summary). `verify --emit-vsa` signs
one as an in-toto Statement v1 in a DSSE envelope whose subjects are the verified
artifacts; `vsa verify` lets a deployer check one signature instead of re-running the
verification: the signature under a key it trusts, the subject, the result, the policy
digest, and the summary's age.

SECURITY: the signature is verified over the exact payload bytes before the payload is
parsed; only keys given on the command line count; a VSA for another artifact, another
policy, a failed result or an old verification blocks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from securesystemslib.signer import SSlibKey

from gatekeeper import __version__
from gatekeeper._fileio import atomic_write, dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import LoadedSigner, load_public_key
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.base import OpenModel
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.models.policy import format_duration
from gatekeeper.models.statement import SLSA_VSA_TYPE, STATEMENT_TYPE, Statement, Subject
from gatekeeper.models.verdict import Reason, Verdict

VERIFIER_ID_ENV = "GATEKEEPER_VERIFIER_ID"
DEFAULT_VERIFIER_ID = "https://gatekeeper.dev/verifier/v1"
# What a pass of gatekeeper's policy establishes on SLSA's build track: provenance of the
# build exists, is signed by a key the policy trusts, and names the artifact. It cannot
# establish what levels 2 and 3 require of the build platform itself (hosted, isolated).
VERIFIED_LEVELS = ("SLSA_BUILD_LEVEL_1",)
DEFAULT_MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)
MAX_VSA_BYTES = 16 * 1024 * 1024


class ResourceDescriptor(OpenModel):
    uri: str | None = None
    digest: dict[str, str] = Field(default_factory=dict)
    name: str | None = None


class Verifier(OpenModel):
    id: str = Field(min_length=1)
    version: dict[str, str] = Field(default_factory=dict)


class VsaPredicate(OpenModel):
    """The VSA v1 predicate (other tools' extra fields are kept, not trusted)."""

    verifier: Verifier
    time_verified: datetime = Field(alias="timeVerified")
    resource_uri: str = Field(alias="resourceUri", min_length=1)
    policy: ResourceDescriptor
    input_attestations: list[ResourceDescriptor] = Field(
        default_factory=list, alias="inputAttestations"
    )
    verification_result: Literal["PASSED", "FAILED"] = Field(alias="verificationResult")
    verified_levels: list[str] = Field(alias="verifiedLevels", min_length=1)
    dependency_levels: dict[str, int] = Field(default_factory=dict, alias="dependencyLevels")
    slsa_version: str = Field(alias="slsaVersion")


@dataclass(frozen=True)
class VsaInput:
    """What a passing verify hands to the summary."""

    subjects: list[tuple[str, str]]  # (name, "sha256:<hex>")
    policy_uri: str
    policy_digest: str  # "sha256:<hex>"
    attestations: list[tuple[str, str]]  # (uri, envelope sha256 hex)
    resource_uri: str
    time_verified: datetime
    verifier_id: str = field(
        default_factory=lambda: os.environ.get(VERIFIER_ID_ENV) or DEFAULT_VERIFIER_ID
    )


def build_vsa(data: VsaInput) -> Statement:
    """The in-toto Statement v1 carrying the VSA predicate.

    Raises:
        InvalidInput: no subject, or a digest that is not sha256.
    """
    if not data.subjects:
        raise InvalidInput("a verification summary needs at least one subject")
    subjects = []
    for name, digest in sorted(set(data.subjects)):
        alg, _, hexpart = digest.partition(":")
        if alg != "sha256" or len(hexpart) != 64:
            raise InvalidInput(f"{digest}: a summary subject needs a sha256 digest")
        subjects.append(Subject(name=name, digest={"sha256": hexpart}))
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
        "verifiedLevels": list(VERIFIED_LEVELS),
        "dependencyLevels": {},
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
    keys: list[str]  # public key files
    subjects: list[tuple[str, str]]  # (name, "sha256:<hex>") that must all be covered
    policy_digest: str | None = None  # "sha256:<hex>" the summary must name
    any_policy: bool = False  # without policy_digest: accept any policy (said in the notes)
    max_age: timedelta = DEFAULT_MAX_AGE
    verifier_id: str | None = None
    now: datetime | None = None


def _reason(code: str, message: str) -> Reason:
    return Reason(code=code, message=message)


@dataclass(frozen=True)
class _Summary:
    """A summary whose signature verified under a given key, parsed."""

    statement: Statement
    predicate: VsaPredicate


class _Refused(Exception):
    """The summary cannot be read as a signed VSA: one reason, and nothing else is checked."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.reason = _reason(code, message)


def _verified_payload(check: VsaCheck, envelope: Envelope, keys: dict[str, SSlibKey]) -> bytes:
    """The payload, once a signature verifies under one of ``keys``. Raises _Refused."""
    if not envelope.signatures:
        raise _Refused("verify/unsigned", f"{check.path}: the summary carries no signature")
    try:
        payload, checks = verify_envelope_signatures(envelope, keys)
    except MalformedInput as exc:
        raise _Refused("verify/malformed", f"{check.path}: {exc}") from exc
    if not any(c.verified_by for c in checks):
        raise _Refused(
            "verify/bad-signature", f"{check.path}: no signature verifies under the given key(s)"
        )
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        raise _Refused(
            "verify/malformed",
            f"{check.path}: payload type {envelope.payload_type!r} is not in-toto",
        )
    return payload


def _open_summary(check: VsaCheck, raw: bytes, keys: dict[str, SSlibKey]) -> _Summary:
    """Verify the signature over the exact payload bytes, then parse. Raises _Refused."""
    try:
        envelope = Envelope.model_validate(loads_json_strict(raw))
    except (ValueError, ValidationError) as exc:
        raise _Refused(
            "verify/malformed", f"{check.path}: not a DSSE envelope ({str(exc).splitlines()[0]})"
        ) from exc
    payload = _verified_payload(check, envelope, keys)
    try:
        statement = Statement.model_validate(loads_json_strict(payload))
        if statement.predicate_type != SLSA_VSA_TYPE:
            raise _Refused(
                "verify/malformed",
                f"{check.path}: predicate type {statement.predicate_type!r} is not a VSA v1",
            )
        predicate = VsaPredicate.model_validate(statement.predicate)
    except (ValueError, ValidationError) as exc:
        raise _Refused(
            "verify/malformed",
            f"{check.path}: not a VSA v1 statement ({str(exc).splitlines()[0]})",
        ) from exc
    return _Summary(statement=statement, predicate=predicate)


def _result_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    result = summary.predicate.verification_result
    if result == "PASSED":
        return []
    return [_reason("verify/vsa-failed", f"the summary records verification result {result}")]


def _subject_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    covered = {
        f"sha256:{s.digest['sha256']}" for s in summary.statement.subject if "sha256" in s.digest
    }
    return [
        _reason(
            "verify/subject-mismatch",
            f"{name}: {digest} is not a subject of the summary (it covers "
            f"{', '.join(sorted(covered)) or 'nothing'})",
        )
        for name, digest in check.subjects
        if digest not in covered
    ]


def _policy_reasons(check: VsaCheck, summary: _Summary, now: datetime) -> list[Reason]:
    if check.policy_digest is None:
        return []
    named = summary.predicate.policy.digest.get("sha256")
    if named is not None and f"sha256:{named}" == check.policy_digest:
        return []
    return [
        _reason(
            "verify/vsa-policy-mismatch",
            f"the summary was made under policy sha256:{named}, not {check.policy_digest}",
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


# Each check of a signed, parsed summary returns its reasons; any reason refuses it.
_SUMMARY_CHECKS = (
    _result_reasons,
    _subject_reasons,
    _policy_reasons,
    _age_reasons,
    _verifier_reasons,
)


def _require_inputs(check: VsaCheck) -> None:
    """Raises InvalidInput when there is nothing to check the summary against."""
    if not check.keys:
        raise InvalidInput("give the verifier's public key with --key")
    if not check.subjects:
        raise InvalidInput(
            "name the artifact the summary must cover (--image-digest or --artifact)"
        )
    if check.policy_digest is None and not check.any_policy:
        # SECURITY: a summary made under any policy (a weaker one, say) must not pass by default.
        raise InvalidInput(
            "name the policy the summary must have been made under (--policy FILE or "
            "--policy-digest sha256:<hex>), or accept any policy with --any-policy"
        )


def _unchecked_notes(check: VsaCheck, predicate: VsaPredicate) -> list[str]:
    if check.policy_digest:
        return []
    return [
        "no --policy or --policy-digest given: the summary's policy "
        f"({predicate.policy.uri} sha256:{predicate.policy.digest.get('sha256')}) "
        "was not checked"
    ]


def check_vsa(check: VsaCheck) -> Verdict:
    """Every reason to refuse the summary; a pass only when there is none.

    Raises:
        InvalidInput: unreadable key or summary file, or nothing to check it against.
    """
    _require_inputs(check)
    keys = {f"key{i + 1}": load_public_key(path) for i, path in enumerate(check.keys)}
    shown = [f"{name} ({digest})" if name != digest else digest for name, digest in check.subjects]
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
    )


def remove_stale_summary(path: Path) -> None:
    """SECURITY: a summary left from an earlier run must not pass for a blocked one."""
    if path.exists() or path.is_symlink():
        path.unlink()
