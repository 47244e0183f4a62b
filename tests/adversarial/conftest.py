"""Helpers for the adversarial suite: find and replace stored envelopes of a pipeline run."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.harness import Pipeline


def stage_envelope(pipeline: Pipeline, stage: str) -> Path:
    """The single stored envelope file whose (signed) payload is for ``stage``."""
    hits = []
    for path in sorted((pipeline.store / "envelopes").glob("*.json")):
        data = json.loads(path.read_bytes())
        payload = json.loads(base64.b64decode(data["payload"]))
        if payload.get("predicate", {}).get("stage") == stage:
            hits.append(path)
    assert len(hits) == 1, f"expected one {stage} envelope, found {len(hits)}"
    return hits[0]


def envelope_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_bytes())
    return loaded


def payload_of(path: Path) -> bytes:
    return base64.b64decode(envelope_json(path)["payload"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
