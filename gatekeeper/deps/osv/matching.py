"""OSV semantics, shared by every source: severity, affected ranges, aliases.

Matching follows the OSV schema: ECOSYSTEM ranges compare by the ecosystem's order,
SEMVER ranges by SemVer 2.0.0, GIT ranges are ignored (noted); ``introduced`` / ``fixed`` /
``last_affected`` / ``limit`` events and explicit ``versions``; advisories that alias each
other are merged into one vulnerability.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.deps.cvss import base_score, severity_of_score
from gatekeeper.deps.ecosystem import ECOSYSTEMS
from gatekeeper.deps.versions import UnparseableVersion, semver_key, version_key
from gatekeeper.models.deps import Package, Vulnerability
from gatekeeper.models.osv import OsvAffected, OsvRecord

__all__ = [
    "Advisory",
    "advisory_of",
    "compact_affected",
    "fixed_versions",
    "is_affected",
    "merge_hits",
]

_DB_SEVERITY = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_GIT_NOTE = (
    "OSV GIT ranges are not evaluated (commit ranges need the source repository); "
    "ECOSYSTEM/SEMVER ranges and versions lists are"
)


# ------------------------------------------------------------------ advisories


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    score: float | None
    vector: str | None


def _best_cvss(record: OsvRecord) -> tuple[float, str] | None:
    """The highest CVSS v3/v4 base score among the record's (and its entries') vectors."""
    best: tuple[float, str] | None = None
    vectors = [*record.severity, *(s for a in record.affected for s in a.severity)]
    for sev in vectors:
        if sev.type not in ("CVSS_V3", "CVSS_V4"):
            continue
        try:
            score = base_score(sev.score)
        except ValueError:
            continue  # NOTE: a malformed vector falls through to the next source of severity
        if score is not None and (best is None or score > best[0]):
            best = (score, sev.score)
    return best


def _database_severity(record: OsvRecord) -> str:
    """The database's own severity (GHSA's LOW/MODERATE/HIGH/CRITICAL), else ``high``."""
    db = record.database_specific or {}
    raw = db.get("severity") if isinstance(db, dict) else None
    for affected in record.affected:
        if raw is None and isinstance(affected.database_specific, dict):
            raw = affected.database_specific.get("severity")
    return _DB_SEVERITY.get(str(raw).lower(), "high") if raw else "high"


def advisory_of(record: OsvRecord) -> Advisory:
    """The fields of a record a finding needs, with its severity computed.

    Severity: the highest CVSS v3/v4 base score among the record's (and its affected
    entries') vectors; else the database's own severity (GHSA's LOW/MODERATE/HIGH/CRITICAL);
    else ``high``.
    """
    head = (record.id, tuple(record.aliases), record.summary)
    best = _best_cvss(record)
    if best is not None:
        return Advisory(*head, severity_of_score(best[0]), best[0], best[1])
    return Advisory(*head, _database_severity(record), None, None)


# ------------------------------------------------------------------ ranges


def compact_affected(affected: OsvAffected) -> dict[str, Any]:
    """The matching-relevant part of an affected entry, as stored in the index.

    Events of ECOSYSTEM/SEMVER ranges are sorted here once, in the ecosystem's order
    (``"sorted": true``), so that matching walks them without sorting; a range whose
    versions do not parse is stored as written and evaluated (and noted) at match time.
    """
    ecosystem = affected.package.ecosystem if affected.package else ""
    ranges = []
    for rng in affected.ranges:
        events = [
            [k, getattr(e, k)]
            for e in rng.events
            for k in _EVENT_KINDS
            if getattr(e, k) is not None
        ]
        entry: dict[str, Any] = {"type": rng.type, "events": events}
        if rng.type in ("ECOSYSTEM", "SEMVER") and ecosystem in ECOSYSTEMS:
            try:
                entry["events"] = _sorted_events(rng.type, ecosystem, events)
                entry["sorted"] = True
            except UnparseableVersion:
                pass  # NOTE: evaluated at match time, where the failure becomes a note
        ranges.append(entry)
    return {"ranges": ranges, "versions": list(affected.versions)}


def _sorted_events(rtype: str, ecosystem: str, events: list[list[str]]) -> list[list[str]]:
    """OSV order: ``introduced: "0"`` first, then by version; limits last."""
    zero = [e for e in events if e[0] == "introduced" and e[1] == "0"]
    limits = [e for e in events if e[0] == "limit"]
    rest = [e for e in events if e not in zero and e[0] != "limit"]
    rest.sort(key=lambda e: _range_key(rtype, ecosystem, e[1]))
    return zero + rest + limits


def _osv_prefix(ecosystem: str) -> str:
    spec = ECOSYSTEMS.get(ecosystem)
    return spec.osv_version_prefix if spec is not None else ""


def _range_key(range_type: str, ecosystem: str, version: str) -> Any:
    if range_type == "SEMVER":
        return semver_key(version[1:] if version.startswith("v") else version)
    # An OSV record's version as the ecosystem writes it (Go's "v").
    prefix = _osv_prefix(ecosystem)
    return version_key(ecosystem, version if version.startswith(prefix) else prefix + version)


def _listed(ecosystem: str, version: str, versions: list[str]) -> bool:
    prefix = _osv_prefix(ecosystem)
    return version in versions or bool(prefix and version.removeprefix(prefix) in versions)


def is_affected(
    ecosystem: str, version: str, affected: Mapping[str, Any], notes: set[str] | None = None
) -> bool:
    """Whether ``version`` falls in an affected entry's versions or ranges (OSV semantics).

    A range whose versions do not parse is skipped with a note; GIT ranges are skipped.
    """
    if _listed(ecosystem, version, affected.get("versions") or []):
        return True
    return any(
        _range_affects(ecosystem, version, rng, notes) for rng in affected.get("ranges") or []
    )


def _range_affects(
    ecosystem: str, version: str, rng: Mapping[str, Any], notes: set[str] | None
) -> bool:
    rtype = rng.get("type")
    if rtype == "GIT":
        if notes is not None:
            notes.add(_GIT_NOTE)
        return False
    if rtype not in ("ECOSYSTEM", "SEMVER"):
        return False
    try:
        target = _range_key(rtype, ecosystem, version)
        return _in_range(rtype, ecosystem, target, rng.get("events") or [], bool(rng.get("sorted")))
    except UnparseableVersion as exc:
        if notes is not None:
            notes.add(f"an OSV range was not evaluated for {ecosystem} {version}: {exc}")
        return False


def _walk_events(rtype: str, ecosystem: str, target: Any, events: list[list[str]]) -> bool:
    """Whether ``target`` is affected by the (sorted) events, limits aside."""
    affected = False
    for kind, value in events:
        if kind == "limit":
            continue
        if kind == "introduced" and value == "0":
            affected = True
            continue
        key = _range_key(rtype, ecosystem, value)
        if key > target:
            break  # sorted ascending: no later event can change the answer (limits are last)
        if kind == "introduced":
            affected = True
        elif kind == "fixed" or (kind == "last_affected" and target > key):
            affected = False
    return affected


def _in_range(
    rtype: str, ecosystem: str, target: Any, events: list[list[str]], presorted: bool = False
) -> bool:
    """Walk the events in OSV order; raises UnparseableVersion for an unparseable event."""
    if not presorted:
        events = _sorted_events(rtype, ecosystem, events)
    affected = _walk_events(rtype, ecosystem, target, events)
    limits = [_range_key(rtype, ecosystem, v) for k, v in events if k == "limit"]
    if affected and limits and all(target >= lim for lim in limits):
        return False
    return affected


def fixed_versions(affected: Mapping[str, Any]) -> list[str]:
    return sorted(
        {v for r in affected.get("ranges") or [] for k, v in r.get("events") or [] if k == "fixed"}
    )


# ------------------------------------------------------------------ aliases


@dataclass
class _Hit:
    advisories: list[Advisory] = field(default_factory=list)
    fixed: set[str] = field(default_factory=set)


def _alias_groups(hits: Iterable[tuple[Advisory, list[str]]]) -> list[tuple[set[str], _Hit]]:
    """Advisories grouped transitively by shared ids and aliases."""
    groups: list[tuple[set[str], _Hit]] = []
    for adv, fixed in hits:
        merged_ids, merged = {adv.id, *adv.aliases}, _Hit([adv], set(fixed))
        rest = []
        for group_ids, hit in groups:
            if group_ids & merged_ids:
                merged_ids |= group_ids
                merged.advisories.extend(hit.advisories)
                merged.fixed |= hit.fixed
            else:
                rest.append((group_ids, hit))
        groups = [*rest, (merged_ids, merged)]
    return groups


def _vulnerability(pkg: Package, ids: set[str], hit: _Hit) -> Vulnerability:
    # The primary id is a record's own id, preferring GHSA, then others, CVE last.
    own = sorted(
        {a.id for a in hit.advisories},
        key=lambda i: (not i.startswith("GHSA-"), i.startswith("CVE-"), i),
    )
    primary = own[0]
    worst = max(hit.advisories, key=lambda a: (_RANK[a.severity], a.score or 0.0, a.id))
    summary = next((a.summary for a in sorted(hit.advisories, key=lambda a: a.id) if a.summary), "")
    return Vulnerability(
        id=primary,
        aliases=sorted(ids - {primary}),
        summary=summary,
        ecosystem=pkg.ecosystem,
        name=pkg.name,
        version=pkg.version or "",
        purl=pkg.purl,
        file=pkg.file,
        line=pkg.line,
        severity=worst.severity,
        score=worst.score,
        vector=worst.vector,
        fixed=sorted(hit.fixed),
    )


def merge_hits(pkg: Package, hits: Iterable[tuple[Advisory, list[str]]]) -> list[Vulnerability]:
    """One vulnerability per group of advisories that alias each other."""
    return [_vulnerability(pkg, ids, hit) for ids, hit in _alias_groups(hits)]
