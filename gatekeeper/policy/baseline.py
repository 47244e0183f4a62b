"""Baseline files: the fingerprints of findings a team has accepted (``--baseline``).

The file is ours and strict (unknown keys are errors); writing it is atomic.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from gatekeeper._fileio import atomic_write, dumps_json, loads_json_strict, read_bounded
from gatekeeper.errors import InvalidInput
from gatekeeper.models.baseline import Baseline, BaselineEntry
from gatekeeper.models.finding import Finding


def load_baseline(path: Path) -> set[str]:
    """The accepted fingerprints.

    Raises:
        InvalidInput: the baseline file is unreadable or not a baseline.
    """
    return parse_baseline(read_bounded(path), str(path))


def parse_baseline(data: bytes, source: str) -> set[str]:
    """The accepted fingerprints of baseline bytes (``pr-check`` reads them from git).

    Raises:
        InvalidInput: not a baseline (names ``source``).
    """
    try:
        model = Baseline.model_validate(loads_json_strict(data))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"{source}: not a gatekeeper baseline file: {exc}") from exc
    return {entry.fingerprint for entry in model.findings}


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Write the fingerprints of ``findings``; returns how many (duplicates counted once)."""
    entries = {
        f.fingerprint: BaselineEntry(fingerprint=f.fingerprint, rule=f.rule, path=f.path)
        for f in findings
    }
    model = Baseline(findings=[entries[k] for k in sorted(entries)])
    atomic_write(path, dumps_json(model.model_dump(mode="json")).encode())
    return len(entries)
