"""The policy file (YAML): the user-facing contract of the verifier and the audits.

Unknown keys are errors: a typo must never weaken a gate.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from gatekeeper.models.base import GatekeeperModel, empty_list
from gatekeeper.models.finding import Severity
from gatekeeper.models.source import Forge

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_SECONDS = timedelta.max.days * 86400
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?i?b?)\s*$", re.IGNORECASE)

# The evidence kinds a stage may require (collectors of the same names).
EvidenceKind = Literal["source", "pipeline", "deps", "secrets", "container", "env"]


def parse_duration(value: object) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``45s``, ``2w`` (or a number of seconds). Raises ValueError,
    also for a duration longer than a timedelta holds (999,999,999 days)."""
    if isinstance(value, timedelta):
        return value
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match and int(match.group(1)) > 0:
            seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds is None:
        raise ValueError(f"not a duration: {value!r} (use a positive number with s, m, h, d or w)")
    if seconds > _MAX_SECONDS:
        raise ValueError(f"not a duration: {value!r} is longer than {timedelta.max.days} days")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """``7d``, ``1.5h``, ``30m``, ``45s``: the largest unit, one decimal when needed."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0", "")
    return f"{seconds}s"


def parse_size(value: object) -> int:
    """``5MB``, ``512k``, ``1GiB`` or a byte count."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            unit = match.group(2).lower()[:1]
            factor = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
            return int(match.group(1)) * factor
    raise ValueError(f"not a size: {value!r} (use e.g. 5MB, 512k or a byte count)")


def _as_utc(value: object) -> object:
    # A bare date means the end of that day in UTC; a naive time is taken as UTC.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        value = date.fromisoformat(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, 23, 59, 59, tzinfo=UTC)
    return value


def _naive_is_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, BeforeValidator(_as_utc), AfterValidator(_naive_is_utc)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]


SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
# The provenance predicate types gatekeeper reads (``gatekeeper.attest.statement``).
SUPPORTED_PROVENANCE_TYPES = (
    SLSA_PROVENANCE_V1,
    "https://slsa.dev/provenance/v0.2",
    "https://slsa.dev/provenance/v0.1",
)
_GLOB_CHARS = frozenset("*?[")


def _non_empty(values: list[str], what: str) -> list[str]:
    for value in values:
        if not value.strip():
            raise ValueError(f"{what}: an empty string matches nothing; remove it")
    return values


class ProvenanceMatcher(GatekeeperModel):
    """Which foreign provenance stands for a stage, judged on what is signed.

    An imported SLSA provenance carries no gatekeeper stage name; the stage it stands for is
    the one whose matcher accepts it (and whose ``signed_by`` trusts its signer). An unsigned
    label (``import --stage``) never decides. Every list is "any of these"; an empty list
    accepts anything. What each field reads in each provenance version is in docs/policy.md.
    """

    predicate_types: list[str] = Field(default_factory=lambda: [SLSA_PROVENANCE_V1], min_length=1)
    builder_ids: list[str] = Field(default_factory=empty_list)  # exact ids; empty: any builder
    build_types: list[str] = Field(default_factory=empty_list)  # exact URIs; empty: any build type
    # The source the provenance says it built from: repository URLs (``git+`` and ``.git``
    # do not matter), refs (globs: ``refs/tags/v*``), workflow paths in the repository.
    source_repositories: list[str] = Field(default_factory=empty_list)
    source_refs: list[str] = Field(default_factory=empty_list)
    workflow_paths: list[str] = Field(default_factory=empty_list)
    # The commit the provenance records must be the commit being verified (``--commit``,
    # else the CI's); a provenance that records none, or a verify that names none, blocks.
    must_match_commit: bool = False

    @field_validator("predicate_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SUPPORTED_PROVENANCE_TYPES))
        if unknown:
            raise ValueError(
                f"predicate type(s) {', '.join(unknown)} cannot be read as provenance "
                f"(supported: {', '.join(SUPPORTED_PROVENANCE_TYPES)})"
            )
        return value

    @field_validator("builder_ids", "build_types", "source_repositories", "source_refs")
    @classmethod
    def _no_empty_strings(cls, value: list[str]) -> list[str]:
        return _non_empty(value, "provenance matcher")

    @field_validator("workflow_paths")
    @classmethod
    def _relative_paths(cls, value: list[str]) -> list[str]:
        _non_empty(value, "workflow_paths")
        return [v.strip().removeprefix("./") for v in value]

    def overlaps(self, other: ProvenanceMatcher) -> bool:
        """Whether one provenance could match both (then it would stand for two stages).

        Conservative for ref globs: two lists that share no literal but hold a glob are taken
        to overlap.
        """

        def meet(a: list[str], b: list[str]) -> bool:
            return not a or not b or bool(set(a) & set(b))

        def meet_globs(a: list[str], b: list[str]) -> bool:
            return meet(a, b) or any(_GLOB_CHARS & set(p) for p in [*a, *b])

        return (
            bool(set(self.predicate_types) & set(other.predicate_types))
            and meet(self.builder_ids, other.builder_ids)
            and meet(self.build_types, other.build_types)
            and meet(self.source_repositories, other.source_repositories)
            and meet_globs(self.source_refs, other.source_refs)
            and meet(self.workflow_paths, other.workflow_paths)
        )


# A Fulcio certificate's claims about the workload that signed (docs/policy.md, "Keyless
# identities"): the policy's name for each, and the certificate extension that carries it
# (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md; DER UTF8String values).
FULCIO_CLAIMS: dict[str, str] = {
    "build_signer_uri": "1.3.6.1.4.1.57264.1.9",
    "build_signer_digest": "1.3.6.1.4.1.57264.1.10",
    "runner_environment": "1.3.6.1.4.1.57264.1.11",
    "source_repository": "1.3.6.1.4.1.57264.1.12",
    "source_digest": "1.3.6.1.4.1.57264.1.13",
    "source_ref": "1.3.6.1.4.1.57264.1.14",
    "source_repository_identifier": "1.3.6.1.4.1.57264.1.15",
    "source_repository_owner_uri": "1.3.6.1.4.1.57264.1.16",
    "source_repository_owner_identifier": "1.3.6.1.4.1.57264.1.17",
    "build_config_uri": "1.3.6.1.4.1.57264.1.18",
    "build_config_digest": "1.3.6.1.4.1.57264.1.19",
    "build_trigger": "1.3.6.1.4.1.57264.1.20",
    "run_invocation_uri": "1.3.6.1.4.1.57264.1.21",
    "source_repository_visibility": "1.3.6.1.4.1.57264.1.22",
}

# The name of the trusted root gatekeeper ships (Sigstore's public-good instance); a key
# whose identity names no ``trusted_root`` is judged under it.
PUBLIC_GOOD_ROOT = "public-good"


class Identity(GatekeeperModel):
    """Who may sign keyless: the OIDC issuer, the certificate's subject, Fulcio claims.

    Every field given must match the signing certificate exactly (``subject_regex``: the whole
    subject must match the expression); a claim the certificate does not carry does not match.
    """

    issuer: str = Field(min_length=1)
    subject: str | None = Field(default=None, min_length=1)
    subject_regex: str | None = Field(default=None, min_length=1)
    build_signer_uri: str | None = None
    build_signer_digest: str | None = None
    runner_environment: Literal["github-hosted", "self-hosted"] | None = None
    source_repository: str | None = None
    source_digest: str | None = None
    source_ref: str | None = None
    source_repository_identifier: str | None = None
    source_repository_owner_uri: str | None = None
    source_repository_owner_identifier: str | None = None
    build_config_uri: str | None = None
    build_config_digest: str | None = None
    build_trigger: str | None = None
    run_invocation_uri: str | None = None
    source_repository_visibility: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Identity:
        # SECURITY: an identity without a subject would trust everyone the issuer vouches for.
        if (self.subject is None) == (self.subject_regex is None):
            raise ValueError("an identity needs exactly one of subject and subject_regex")
        if self.subject_regex is not None:
            try:
                re.compile(self.subject_regex)
            except re.error as exc:
                raise ValueError(f"subject_regex is not a regular expression: {exc}") from exc
        return self

    def claims(self) -> dict[str, str]:
        """The Fulcio claims this identity requires (policy name -> value)."""
        values = self.model_dump(include=set(FULCIO_CLAIMS), exclude_none=True)
        return {name: str(value) for name, value in sorted(values.items())}

    def describe(self) -> str:
        subject = self.subject or f"~{self.subject_regex}"
        return f"{subject} (issuer {self.issuer})"


class IdentityKey(GatekeeperModel):
    """A policy key that is a keyless identity, judged under a Sigstore trusted root."""

    identity: Identity
    trusted_root: str = PUBLIC_GOOD_ROOT


PolicyKey = Annotated[str | IdentityKey, Field(union_mode="left_to_right")]


class StagePolicy(GatekeeperModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    signed_by: list[str] = Field(min_length=1)
    threshold: int = Field(default=1, ge=1)
    follows: str | None = None
    requires: list[EvidenceKind] = Field(default_factory=empty_list)
    # Foreign provenance (SLSA) accepted as this stage's attestation; none when absent.
    provenance: ProvenanceMatcher | None = None

    @model_validator(mode="after")
    def _threshold_reachable(self) -> StagePolicy:
        if len(set(self.signed_by)) != len(self.signed_by):
            raise ValueError(f"stage {self.name!r}: signed_by names a key twice")
        if self.threshold > len(self.signed_by):
            raise ValueError(
                f"stage {self.name!r}: threshold {self.threshold} is more than the "
                f"{len(self.signed_by)} key(s) in signed_by"
            )
        return self


class RuleOverride(GatekeeperModel):
    severity: Severity | None = None
    enabled: bool = True


def _rule_override(value: object) -> object:
    # YAML 1.1 reads a bare `off` as False and `on` as True.
    if value is False or value == "off":
        return {"enabled": False}
    if value is True or value == "on":
        return {"enabled": True}
    if isinstance(value, str):
        return {"severity": value}
    return value


class AuditsPolicy(GatekeeperModel):
    block_at: Severity = Severity.HIGH
    rules: dict[str, Annotated[RuleOverride, BeforeValidator(_rule_override)]] = Field(
        default_factory=dict
    )
    # Every commit must be signed by a trusted key: unsigned, unverifiable and untrusted
    # signatures are high (docs/source.md, "Signature states").
    require_signed_commits: bool = False
    require_review: bool = False
    allowed_identities: list[str] = Field(default_factory=empty_list)
    # Fingerprints (or git-style key ids) of keys allowed to sign commits; empty: any valid one.
    trusted_commit_keys: list[str] = Field(default_factory=empty_list)
    # Forges whose bundled signing key is trusted on the merge commits it signs (2+ parents).
    trusted_forge_merges: list[Forge] = Field(default_factory=empty_list)
    approved_pipeline_digests: dict[str, str] = Field(default_factory=dict)
    allowed_registries: list[str] = Field(default_factory=empty_list)
    # GitHub Actions `uses:` patterns (`owner/repo`, `owner/*`, `owner/repo@ref`): when
    # `allowed_actions` is not empty, any other action is pipeline/disallowed-action; an action
    # matching `denied_actions` always is.
    allowed_actions: list[str] = Field(default_factory=empty_list)
    denied_actions: list[str] = Field(default_factory=empty_list)
    # Hosts a pipeline may send secrets to (`api.example.com`, `*.example.com`), besides the
    # hosts of the secret's own service (pipeline/secret-exfiltration).
    allowed_hosts: list[str] = Field(default_factory=empty_list)
    max_file_size: ByteSize = 5 * 1024 * 1024
    # Findings already present on the base are reported as existing and do not block,
    # unless this is set (pr-check and check --base).
    block_existing: bool = False

    @field_validator("rules")
    @classmethod
    def _known_rule_ids(cls, value: dict[str, RuleOverride]) -> dict[str, RuleOverride]:
        for rule_id in value:
            if not re.fullmatch(r"[a-z]+/[a-z0-9-]+", rule_id):
                raise ValueError(f"not a rule id: {rule_id!r} (ids look like family/name)")
        return value

    @field_validator("approved_pipeline_digests")
    @classmethod
    def _digests(cls, value: dict[str, str]) -> dict[str, str]:
        for path, digest in value.items():
            hexpart = digest.removeprefix("sha256:")
            if not re.fullmatch(r"[0-9a-f]{64}", hexpart):
                raise ValueError(f"approved digest for {path!r} is not a sha256 hex digest")
        return {p: d.removeprefix("sha256:") for p, d in value.items()}


class ExceptionPolicy(GatekeeperModel):
    rule: str = Field(pattern=r"^[a-z]+/[a-z0-9*-]+$")
    path: str = "**"
    fingerprint: str | None = None
    reason: str = Field(min_length=1)
    expires: UtcDatetime


class Limits(GatekeeperModel):
    """Caps on what one run reads (``limits:``); the defaults are far above a normal repository.

    The one definition: the policy's ``limits:`` section and what collectors read
    (``CollectContext.limits``). Hitting one is a finding or an error that names the cap
    (e.g. ``limits.max_files``).
    """

    max_file_bytes: ByteSize = 10 * 1024 * 1024
    max_files: int = Field(default=200_000, ge=1)
    max_line_bytes: ByteSize = 1024 * 1024
    yaml_max_aliases: int = Field(default=20_000, ge=0)
    yaml_max_depth: int = Field(default=200, ge=1, le=10_000)
    max_archive_members: int = Field(default=100_000, ge=1)
    max_declared_bytes: ByteSize = 64 * 1024**3
    # Image layers as they are decompressed to list their files: bytes out of one layer and of
    # all layers, and out per byte in (checked once a layer has given 32 MiB).
    max_layer_inflated_bytes: ByteSize = 32 * 1024**3
    max_inflated_bytes: ByteSize = 128 * 1024**3
    max_layer_ratio: int = Field(default=100, ge=1)


LimitsPolicy = Limits  # the name the policy model used first


class Policy(GatekeeperModel):
    version: Literal[1]
    name: str = Field(min_length=1)
    # Raised with every change; verify remembers the highest serial of each policy name in
    # its decision log and blocks an older (lower) one put back (verify/policy-rollback).
    serial: int | None = Field(default=None, ge=0)
    expires: UtcDatetime
    max_age: Duration | None = None
    # name -> a PEM public key file, or a keyless identity (``identity:``, ``trusted_root:``)
    keys: dict[str, PolicyKey] = Field(default_factory=dict)
    # name -> a Sigstore trusted_root.json, relative to the policy file; ``public-good`` is
    # the copy gatekeeper ships and cannot be redefined.
    trusted_roots: dict[str, str] = Field(default_factory=dict)
    stages: list[StagePolicy] = Field(default_factory=empty_list)
    audits: AuditsPolicy = Field(default_factory=AuditsPolicy)
    exceptions: list[ExceptionPolicy] = Field(default_factory=empty_list)
    limits: Limits = Field(default_factory=Limits)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        names = [s.name for s in self.stages]
        if PUBLIC_GOOD_ROOT in self.trusted_roots:
            raise ValueError(
                f"trusted_roots: {PUBLIC_GOOD_ROOT!r} names the trusted root gatekeeper ships; "
                "give your own root another name"
            )
        for key_name, identity in self.identity_keys().items():
            root = identity.trusted_root
            if root != PUBLIC_GOOD_ROOT and root not in self.trusted_roots:
                raise ValueError(
                    f"key {key_name!r} names unknown trusted root {root!r} "
                    f"(define it under trusted_roots, or use {PUBLIC_GOOD_ROOT!r})"
                )
        if len(set(names)) != len(names):
            raise ValueError("a stage name appears twice")
        matched = [(s.name, s.provenance) for s in self.stages if s.provenance is not None]
        for i, (first, accepts) in enumerate(matched):
            for second, other in matched[i + 1 :]:
                if accepts.overlaps(other):
                    raise ValueError(
                        f"stages {first!r} and {second!r} accept the same "
                        "provenance, so one attestation would stand for both; tell them "
                        "apart by builder_ids, build_types, source_repositories, "
                        "source_refs or workflow_paths"
                    )
        for stage in self.stages:
            for key in stage.signed_by:
                if key not in self.keys:
                    raise ValueError(f"stage {stage.name!r} names unknown key {key!r}")
            if stage.follows is not None:
                if stage.follows not in names:
                    raise ValueError(
                        f"stage {stage.name!r} follows unknown stage {stage.follows!r}"
                    )
                if names.index(stage.follows) >= names.index(stage.name):
                    raise ValueError(
                        f"stage {stage.name!r} follows {stage.follows!r}, which is not before it"
                    )
        return self

    def key_files(self) -> dict[str, str]:
        """The keys that are PEM public key files (name -> path as written)."""
        return {name: ref for name, ref in self.keys.items() if isinstance(ref, str)}

    def identity_keys(self) -> dict[str, IdentityKey]:
        """The keys that are keyless identities."""
        return {name: key for name, key in self.keys.items() if isinstance(key, IdentityKey)}

    def stage(self, name: str) -> StagePolicy:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)
