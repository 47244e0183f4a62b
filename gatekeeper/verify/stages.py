"""Which policy stage an attestation stands for, decided from what is signed.

gatekeeper's own stage predicate and in-toto links name their stage in the signed payload.
A foreign provenance (SLSA) names none: it stands for a stage only when that stage's
``provenance`` matcher accepts its predicate type, builder id and build type. Where the
store filed an envelope (``import --stage``, the index) is an unsigned label and never
decides. Signer identities are the stage's ``signed_by``, judged with the signatures.
"""

from __future__ import annotations

from gatekeeper.attest.statement import StageRecord, foreign_index_stage
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
    return None


def stands_for(record: StageRecord, stage: StagePolicy) -> str | None:
    """None when ``record`` is an attestation of ``stage``; otherwise why it is not."""
    if record.kind == "slsa-provenance":
        return provenance_mismatch(stage.provenance, record)
    if record.stage != stage.name:
        return f"it is signed as stage {record.stage}"
    return None
