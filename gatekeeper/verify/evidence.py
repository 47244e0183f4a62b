"""What a stage's ``requires`` asks of the evidence its attestation carries.

``requires: [KIND]`` means the attestation carries KIND evidence (``attest --audit``), and
that the evidence shows the audits of that kind could run. For ``deps`` that includes the
vulnerability audit: dependency evidence collected without a vulnerability source (no
``--osv-db``, no ``--osv-api``, or an API that could not be reached with
``--osv-offline-ok``) says that ``deps/known-vulnerability`` did not run, and a stage that
requires ``deps`` blocks with ``verify/audit-missing`` naming what did not run. Evidence
with no package at one exact version had nothing to match, so it is complete.

Each check reads the evidence as ``attest --audit`` wrote it (gatekeeper's own format,
signed under a key the policy trusts); anything it cannot read is a gap (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _packages(data: Any) -> list[dict[str, Any]] | None:
    """The head tree's package entries of attested deps evidence; None when unreadable."""
    tree = data.get("tree") if isinstance(data, dict) else None
    packages = tree.get("packages") if isinstance(tree, dict) else None
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        return None
    return packages


def _why_not_consulted(data: dict[str, Any]) -> str:
    notes = data.get("notes")
    for note in notes if isinstance(notes, list) else []:
        if isinstance(note, str) and note.startswith("OSV API not consulted"):
            return note
    return "no --osv-db or --osv-api given"


def _deps_gap(data: Any) -> str | None:
    packages = _packages(data)
    if packages is None:
        return "its dependency evidence is malformed (no package list)"
    source = data.get("osv")
    if isinstance(source, str) and source:
        return None
    if not any(p.get("version") for p in packages):
        return None  # nothing at one exact version: nothing a vulnerability source could match
    return (
        "its dependency evidence was collected without a vulnerability source "
        f"({_why_not_consulted(data)}), so deps/known-vulnerability did not run"
    )


# kind -> what is missing from that kind's evidence (None: nothing).
_GAPS: dict[str, Callable[[Any], str | None]] = {
    "deps": _deps_gap,
}


def evidence_gap(kind: str, data: Any) -> str | None:
    """Why ``data`` (the attested ``kind`` evidence) does not satisfy ``requires: [kind]``."""
    check = _GAPS.get(kind)
    return check(data) if check is not None else None
