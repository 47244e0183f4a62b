"""Which policy stage an attestation stands for, decided from what is signed.

gatekeeper's own stage predicate and in-toto links name their stage in the signed payload.
A foreign provenance (SLSA) names none: it stands for a stage only when that stage's
``provenance`` matcher accepts its predicate type, builder id, build type, and the source
it records (repository, ref, workflow path). Where the store filed an envelope (``import
--stage``, the index) is an unsigned label and never decides. Signer identities are the
stage's ``signed_by``, judged with the signatures.
"""

from __future__ import annotations

from gatekeeper._glob import match_path
from gatekeeper.attest.statement import (
    SourceRecord,
    StageRecord,
    foreign_index_stage,
    normalise_repository,
)
from gatekeeper.models.policy import ProvenanceMatcher, StagePolicy


def index_stages(stage: StagePolicy) -> list[str]:
    """Where the store files the attestations that may stand for ``stage``."""
    names = [stage.name]
    if stage.provenance is not None:
        names.extend(foreign_index_stage(t) for t in stage.provenance.predicate_types)
    return names


def provenance_mismatch(matcher: ProvenanceMatcher | None, record: StageRecord) -> str | None:
    """Why a foreign provenance does not stand for the stage of ``matcher``; None if it does."""
    if matcher is None:
        return "the stage accepts no foreign provenance (it has no `provenance:` matcher)"
    if record.predicate_type not in matcher.predicate_types:
        return f"predicate type {record.predicate_type} is not accepted"
    if matcher.builder_ids and record.builder_id not in matcher.builder_ids:
        return f"builder {record.builder_id or '(none)'} is not in builder_ids"
    if matcher.build_types and record.build_type not in matcher.build_types:
        return f"build type {record.build_type or '(none)'} is not in build_types"
    return _source_mismatch(matcher, record.source or SourceRecord())


def _source_mismatch(matcher: ProvenanceMatcher, source: SourceRecord) -> str | None:
    """Why the source a provenance records is not one the matcher accepts; None if it is."""
    if matcher.source_repositories:
        wanted = {normalise_repository(r)[0] for r in matcher.source_repositories}
        if source.repository is None:
            return "it records no source repository (source_repositories is set)"
        if normalise_repository(source.repository)[0] not in wanted:
            return f"source repository {source.repository} is not in source_repositories"
    if matcher.source_refs:
        if source.ref is None:
            return "it records no source ref (source_refs is set)"
        if not any(match_path(pattern, source.ref) for pattern in matcher.source_refs):
            return f"source ref {source.ref} matches none of source_refs"
    if matcher.workflow_paths:
        if source.workflow_path is None:
            return "it records no workflow path (workflow_paths is set)"
        if source.workflow_path.removeprefix("./") not in matcher.workflow_paths:
            return f"workflow {source.workflow_path} is not in workflow_paths"
    return None


def stands_for(record: StageRecord, stage: StagePolicy) -> str | None:
    """None when ``record`` is an attestation of ``stage``; otherwise why it is not."""
    if record.kind == "slsa-provenance":
        return provenance_mismatch(stage.provenance, record)
    if not record.names_stage:
        return f"a {record.predicate_type} statement stands for no stage"
    if record.stage != stage.name:
        return f"it is signed as stage {record.stage}"
    return None
