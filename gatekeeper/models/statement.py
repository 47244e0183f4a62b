"""in-toto Statement v1, gatekeeper's stage predicate, and the foreign types gatekeeper reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from gatekeeper.models.base import GatekeeperModel, empty_list
from gatekeeper.models.finding import Finding

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
STATEMENT_V01_TYPE = "https://in-toto.io/Statement/v0.1"
STAGE_PREDICATE_TYPE = "https://gatekeeper.dev/attestation/stage/v1"
SLSA_PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
SLSA_PROVENANCE_V02_TYPE = "https://slsa.dev/provenance/v0.2"
SLSA_PROVENANCE_V01_TYPE = "https://slsa.dev/provenance/v0.1"
# The provenance predicate types a stage's ``provenance:`` matcher may accept.
PROVENANCE_TYPES = (SLSA_PROVENANCE_TYPE, SLSA_PROVENANCE_V02_TYPE, SLSA_PROVENANCE_V01_TYPE)
SLSA_VSA_TYPE = "https://slsa.dev/verification_summary/v1"
# witness (in-toto/witness) attestation collections: a step name, and one attestation per
# attestor (material, command-run, product, git, ...).
WITNESS_COLLECTION_TYPES = (
    "https://witness.testifysec.com/attestation-collection/v0.1",
    "https://witness.dev/attestation-collection/v0.1",
)

DigestSet = dict[str, str]

# The digest-set algorithm of a directory digest (``Artifact.kind == "dir"``): sha256 over
# gatekeeper's length-prefixed tree encoding, version 2 (``gatekeeper._digest.tree_digest``).
# Version 1 hashed unescaped ``<sha256>  <name>`` lines under the key ``sha256``; a file name
# holding a newline could make two trees hash alike, so such digests are refused.
TREE_DIGEST_ALG = "sha256-tree-v2"


class Subject(GatekeeperModel):
    name: str
    digest: DigestSet = Field(min_length=1)


class Artifact(GatekeeperModel):
    """A material or product: a file, a symlink (recorded, never followed) or a directory digest."""

    name: str
    digest: DigestSet = Field(min_length=1)
    kind: Literal["file", "symlink", "dir"] = "file"
    target: str | None = None  # symlink target, as written in the link
    count: int | None = None  # files covered by a directory digest


class CIEnvironment(GatekeeperModel):
    platform: Literal["github-actions", "jenkins", "gitlab-ci", "local"] = "local"
    run_id: str | None = None
    run_url: str | None = None
    job: str | None = None
    workflow: str | None = None
    repository: str | None = None
    ref: str | None = None
    commit: str | None = None
    previous_commit: str | None = None
    runner: str | None = None
    actor: str | None = None
    event: str | None = None
    pull_request: str | None = None
    target_branch: str | None = None


class RunInfo(GatekeeperModel):
    """What binds the stages of one pipeline run together (replay protection)."""

    run_id: str | None = None
    source_commit: str | None = None
    ci: CIEnvironment = Field(default_factory=CIEnvironment)


class StagePredicate(GatekeeperModel):
    stage: str = Field(min_length=1)
    command: list[str] = Field(default_factory=empty_list)
    exit_code: int | None = None
    # SECURITY: a time without a time zone cannot be compared with the verifier's clock; it
    # is a malformed statement (verify/malformed), never an internal error.
    started_at: AwareDatetime
    finished_at: AwareDatetime
    materials: list[Artifact] = Field(default_factory=empty_list)
    products: list[Artifact] = Field(default_factory=empty_list)
    run: RunInfo = Field(default_factory=RunInfo)
    # Filled by `attest --audit`: evidence kind -> the collector's JSON, and the findings.
    audited: list[str] = Field(default_factory=empty_list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=empty_list)
    gatekeeper_version: str = ""


class Statement(GatekeeperModel):
    type_: Literal["https://in-toto.io/Statement/v1"] = Field(alias="_type")
    subject: list[Subject] = Field(min_length=1)
    predicate_type: str = Field(alias="predicateType")
    predicate: dict[str, Any] = Field(default_factory=dict)
