"""The dependency diff between the base snapshot and the tree.

Entries are matched by (file, ecosystem, name); when a file is new or was moved they fall
back to (ecosystem, name) anywhere on the base, so that moving a lockfile is not "new".
Versions compare by the ecosystem's rules (``versions.py``); a version that does not parse
is never called a downgrade (and says so in the notes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from gatekeeper.deps.common import make_purl
from gatekeeper.deps.versions import UnparseableVersion, version_key
from gatekeeper.models.deps import ChangeKind, DepChange, DepsSnapshot, Package

Key = tuple[str, str]  # (ecosystem, name)


def _group(
    packages: Iterable[Package],
) -> tuple[dict[tuple[str, str, str], list[Package]], dict[Key, list[Package]]]:
    by_file: dict[tuple[str, str, str], list[Package]] = defaultdict(list)
    by_name: dict[Key, list[Package]] = defaultdict(list)
    for pkg in packages:
        by_file[(pkg.file, pkg.ecosystem, pkg.name)].append(pkg)
        by_name[(pkg.ecosystem, pkg.name)].append(pkg)
    return by_file, by_name


def _max_version(ecosystem: str, versions: Iterable[str]) -> tuple[str, Any] | None:
    best: tuple[str, Any] | None = None
    for version in versions:
        key = version_key(ecosystem, version)
        if best is None or key > best[1]:
            best = (version, key)
    return best


def _hash_algs(hashes: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for value in hashes:
        alg, _, digest = value.partition(":")
        out[alg].add(digest)
    return out


def hashes_conflict(base: Iterable[str], head: Iterable[str]) -> bool:
    """True when both sides carry a hash of a common algorithm and share none of them.

    A lock that adds a wheel for a new platform keeps the old hashes (no conflict); the same
    version with only different digests is another artifact under the same name.
    """
    base_algs, head_algs = _hash_algs(base), _hash_algs(head)
    common = set(base_algs) & set(head_algs)
    return bool(common) and all(not (base_algs[a] & head_algs[a]) for a in common)


def _added(entries: list[Package]) -> DepChange:
    first = min(entries, key=lambda p: p.line)
    return DepChange(
        kind="added",
        ecosystem=first.ecosystem,
        name=first.name,
        purl=first.purl,
        file=first.file,
        line=first.line,
        head_version=first.version,
    )


def _highest_moved(
    first: Package, heads: set[str], bases: set[str], notes: list[str]
) -> tuple[str, str, bool] | None:
    """(new highest, old highest, is a downgrade) when the highest version moved."""
    try:
        new = _max_version(first.ecosystem, heads)
        old = _max_version(first.ecosystem, bases)
    except UnparseableVersion as exc:
        notes.append(f"{first.file}: {first.ecosystem}/{first.name}: versions not compared: {exc}")
        return None
    if new is None or old is None or new[1] == old[1]:
        return None
    return new[0], old[0], new[1] < old[1]


def _version_change(
    entries: list[Package], olds: list[Package], notes: list[str]
) -> DepChange | None:
    """An upgrade or downgrade of the highest version, by the ecosystem's ordering."""
    first = min(entries, key=lambda p: p.line)
    heads, bases = _versions(entries), _versions(olds)
    comparable = heads and bases and heads != bases
    moved = _highest_moved(first, heads, bases, notes) if comparable else None
    if moved is None:
        return None
    new, old, down = moved
    return DepChange(
        kind="downgraded" if down else "upgraded",
        ecosystem=first.ecosystem,
        name=first.name,
        purl=make_purl(first.ecosystem, first.name, new),
        file=first.file,
        line=_line_of(entries, new, first.line),
        base_version=old,
        head_version=new,
    )


def _versions(packages: list[Package]) -> set[str]:
    return {p.version for p in packages if p.version}


def _line_of(entries: list[Package], version: str, default: int) -> int:
    return next((p.line for p in entries if p.version == version), default)


def _hash_values(pkg: Package, same: list[Package]) -> tuple[str, str | None] | None:
    """(base hashes, head hashes) when the same version changed its hashes or lost them."""
    return _rehashed(pkg, same) if pkg.hashes else _unhashed(same)


def _rehashed(pkg: Package, same: list[Package]) -> tuple[str, str | None] | None:
    """Every hashed base entry of this version conflicts with the hashes it has now."""
    hashed = [o for o in same if o.hashes]
    rehashed = [o for o in hashed if hashes_conflict(o.hashes, pkg.hashes)]
    if rehashed and len(rehashed) == len(hashed):
        return " ".join(rehashed[0].hashes), " ".join(pkg.hashes)
    return None


def _unhashed(same: list[Package]) -> tuple[str, str | None] | None:
    # The same version lost every integrity hash the base pinned it with (in a requirements
    # file, stripping them all also switches pip's checking off): no hash of the base
    # survives, and now nothing verifies the artifact.
    if same and all(o.hashes and o.hash_supported for o in same):
        return " ".join(same[0].hashes), None
    return None


def _entry_change(kind: ChangeKind, pkg: Package, **values: str | None) -> DepChange:
    """A change of one head entry (file, line and purl are the head's)."""
    return DepChange(
        kind=kind,
        ecosystem=pkg.ecosystem,
        name=pkg.name,
        purl=pkg.purl,
        file=pkg.file,
        line=pkg.line,
        head_version=pkg.version,
        **values,
    )


def _hash_change(pkg: Package, same: list[Package]) -> DepChange | None:
    """The same version under other hashes than on the base, or under none any more."""
    values = _hash_values(pkg, same)
    if values is None:
        return None
    return _entry_change(
        "hash-changed", pkg, base_version=pkg.version, base_value=values[0], head_value=values[1]
    )


def _source_change(pkg: Package, olds: list[Package]) -> DepChange | None:
    base_sources = {o.source for o in olds}
    if pkg.source in base_sources:
        return None
    return _entry_change(
        "source-changed",
        pkg,
        base_version=olds[0].version,
        base_value=" ".join(sorted(base_sources)),
        head_value=pkg.source,
    )


def _entry_changes(pkg: Package, olds: list[Package]) -> list[DepChange]:
    same = [o for o in olds if o.version == pkg.version and pkg.version]
    return [c for c in (_hash_change(pkg, same), _source_change(pkg, olds)) if c is not None]


def _removed(olds: list[Package]) -> DepChange:
    first = min(olds, key=lambda p: (p.file, p.line))
    return DepChange(
        kind="removed",
        ecosystem=first.ecosystem,
        name=first.name,
        purl=first.purl,
        file=first.file,
        base_version=first.version,
    )


def diff(base: DepsSnapshot, head: DepsSnapshot) -> tuple[list[DepChange], list[str]]:
    """Changes from ``base`` to ``head`` and notes about what could not be compared."""
    changes: list[DepChange] = []
    notes: list[str] = []
    base_file, base_name = _group(base.packages)
    head_file, head_name = _group(head.packages)
    for (file, eco, name), entries in sorted(head_file.items()):
        olds = base_file.get((file, eco, name)) or base_name.get((eco, name))
        if not olds:
            changes.append(_added(entries))
            continue
        version_change = _version_change(entries, olds, notes)
        if version_change is not None:
            changes.append(version_change)
        for pkg in entries:
            changes.extend(_entry_changes(pkg, olds))
    changes.extend(
        _removed(olds) for key, olds in sorted(base_name.items()) if key not in head_name
    )
    unique = {c.model_dump_json(): c for c in changes}
    return sorted(unique.values(), key=lambda c: (c.file, c.line or 0, c.kind, c.name)), notes
