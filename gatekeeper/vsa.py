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

from gatekeeper import __version__
from gatekeeper._fileio import atomic_write, dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import LoadedSigner, load_public_key
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.base import OpenModel
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
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
    max_age: timedelta = DEFAULT_MAX_AGE
    verifier_id: str | None = None
    now: datetime | None = None


def _reason(code: str, message: str) -> Reason:
    return Reason(code=code, message=message)


def check_vsa(check: VsaCheck) -> Verdict:
    """Every reason to refuse the summary; a pass only when there is none.

    Raises:
        InvalidInput: unreadable key or summary file, or nothing to check it against.
    """
    if not check.keys:
        raise InvalidInput("give the verifier's public key with --key")
    if not check.subjects:
        raise InvalidInput(
            "name the artifact the summary must cover (--image-digest or --artifact)"
        )
    keys = {f"key{i + 1}": load_public_key(path) for i, path in enumerate(check.keys)}
    shown = [f"{name} ({digest})" if name != digest else digest for name, digest in check.subjects]
    raw = read_bounded(check.path, MAX_VSA_BYTES)
    now = check.now or datetime.now(UTC)

    def block(*reasons: Reason) -> Verdict:
        return Verdict(command="verify", verdict="block", reasons=list(reasons), subjects=shown)

    try:
        envelope = Envelope.model_validate(loads_json_strict(raw))
    except (ValueError, ValidationError) as exc:
        return block(
            _reason(
                "verify/malformed",
                f"{check.path}: not a DSSE envelope ({str(exc).splitlines()[0]})",
            )
        )
    if not envelope.signatures:
        return block(_reason("verify/unsigned", f"{check.path}: the summary carries no signature"))
    try:
        payload, checks = verify_envelope_signatures(envelope, keys)
    except MalformedInput as exc:
        return block(_reason("verify/malformed", f"{check.path}: {exc}"))
    if not any(c.verified_by for c in checks):
        return block(
            _reason(
                "verify/bad-signature",
                f"{check.path}: no signature verifies under the given key(s)",
            )
        )
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        return block(
            _reason(
                "verify/malformed",
                f"{check.path}: payload type {envelope.payload_type!r} is not in-toto",
            )
        )
    try:
        statement = Statement.model_validate(loads_json_strict(payload))
        if statement.predicate_type != SLSA_VSA_TYPE:
            return block(
                _reason(
                    "verify/malformed",
                    f"{check.path}: predicate type {statement.predicate_type!r} is not a VSA v1",
                )
            )
        predicate = VsaPredicate.model_validate(statement.predicate)
    except (ValueError, ValidationError) as exc:
        return block(
            _reason(
                "verify/malformed",
                f"{check.path}: not a VSA v1 statement ({str(exc).splitlines()[0]})",
            )
        )

    reasons: list[Reason] = []
    if predicate.verification_result != "PASSED":
        reasons.append(
            _reason(
                "verify/vsa-failed",
                f"the summary records verification result {predicate.verification_result}",
            )
        )
    covered = {f"sha256:{s.digest['sha256']}" for s in statement.subject if "sha256" in s.digest}
    for name, digest in check.subjects:
        if digest not in covered:
            reasons.append(
                _reason(
                    "verify/subject-mismatch",
                    f"{name}: {digest} is not a subject of the summary (it covers "
                    f"{', '.join(sorted(covered)) or 'nothing'})",
                )
            )
    if check.policy_digest is not None:
        named = predicate.policy.digest.get("sha256")
        if named is None or f"sha256:{named}" != check.policy_digest:
            reasons.append(
                _reason(
                    "verify/vsa-policy-mismatch",
                    f"the summary was made under policy sha256:{named}, not {check.policy_digest}",
                )
            )
    verified = predicate.time_verified
    if verified.tzinfo is None:
        reasons.append(_reason("verify/malformed", "timeVerified has no time zone"))
    elif verified > now + CLOCK_SKEW:
        reasons.append(
            _reason("verify/stale", f"the summary is dated in the future ({verified.isoformat()})")
        )
    elif now - verified > check.max_age:
        reasons.append(
            _reason(
                "verify/stale",
                f"the verification is {_human(now - verified)} old; "
                f"at most {_human(check.max_age)} is accepted",
            )
        )
    if check.verifier_id is not None and predicate.verifier.id != check.verifier_id:
        reasons.append(
            _reason(
                "verify/vsa-verifier-mismatch",
                f"the summary was made by verifier {predicate.verifier.id!r}, not "
                f"{check.verifier_id!r}",
            )
        )
    notes = (
        []
        if check.policy_digest
        else [
            "no --policy or --policy-digest given: the summary's policy "
            f"({predicate.policy.uri} sha256:{predicate.policy.digest.get('sha256')}) "
            "was not checked"
        ]
    )
    return Verdict(
        command="verify",
        verdict="block" if reasons else "pass",
        reasons=reasons,
        policy=predicate.policy.uri,
        subjects=shown,
        notes=notes,
    )


def policy_file_digest(path: str | Path) -> str:
    """sha256 of a policy file's exact bytes. Raises InvalidInput."""
    return "sha256:" + hashlib.sha256(read_bounded(path, 4 * 1024 * 1024)).hexdigest()


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0", "")
    return f"{seconds}s"
