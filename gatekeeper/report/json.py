"""JSON report: deterministic, always with a top-level ``verdict``."""

from __future__ import annotations

from gatekeeper._fileio import dumps_json
from gatekeeper.models.verdict import Verdict


def render(verdict: Verdict) -> str:
    data = verdict.model_dump(mode="json", exclude_none=True)
    data["findings"] = [f.model_dump(mode="json", exclude_none=True) for f in verdict.findings]
    data["reasons"] = [r.model_dump(mode="json", exclude_none=True) for r in verdict.reasons]
    return dumps_json(data)
