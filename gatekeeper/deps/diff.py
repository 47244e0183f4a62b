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
from gatekeeper.models.deps import DepChange, DepsSnapshot, Package

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


def diff(base: DepsSnapshot, head: DepsSnapshot) -> tuple[list[DepChange], list[str]]:
    """Changes from ``base`` to ``head`` and notes about what could not be compared."""
    changes: list[DepChange] = []
    notes: list[str] = []
    base_file, base_name = _group(base.packages)
    head_file, head_name = _group(head.packages)

    for (file, eco, name), entries in sorted(head_file.items()):
        first = min(entries, key=lambda p: p.line)
        olds = base_file.get((file, eco, name)) or base_name.get((eco, name))
        if not olds:
            changes.append(
                DepChange(
                    kind="added",
                    ecosystem=eco,
                    name=name,
                    purl=first.purl,
                    file=file,
                    line=first.line,
                    head_version=first.version,
                )
            )
            continue
        head_versions = {p.version for p in entries if p.version}
        base_versions = {p.version for p in olds if p.version}
        if head_versions and base_versions and head_versions != base_versions:
            try:
                new = _max_version(eco, head_versions)
                old = _max_version(eco, base_versions)
            except UnparseableVersion as exc:
                notes.append(f"{file}: {eco}/{name}: versions not compared: {exc}")
            else:
                if new is not None and old is not None and new[1] != old[1]:
                    kind = "downgraded" if new[1] < old[1] else "upgraded"
                    line = next((p.line for p in entries if p.version == new[0]), first.line)
                    changes.append(
                        DepChange(
                            kind=kind,
                            ecosystem=eco,
                            name=name,
                            purl=make_purl(eco, name, new[0]),
                            file=file,
                            line=line,
                            base_version=old[0],
                            head_version=new[0],
                        )
                    )
        for pkg in entries:
            same = [o for o in olds if o.version == pkg.version and pkg.version]
            if pkg.hashes:
                rehashed = [o for o in same if o.hashes and hashes_conflict(o.hashes, pkg.hashes)]
                if rehashed and len(rehashed) == len([o for o in same if o.hashes]):
                    changes.append(
                        DepChange(
                            kind="hash-changed",
                            ecosystem=eco,
                            name=name,
                            purl=pkg.purl,
                            file=file,
                            line=pkg.line,
                            base_version=pkg.version,
                            head_version=pkg.version,
                            base_value=" ".join(rehashed[0].hashes),
                            head_value=" ".join(pkg.hashes),
                        )
                    )
            elif same and all(o.hashes and o.hash_supported for o in same):
                # The same version lost every integrity hash the base pinned it with (in a
                # requirements file, stripping them all also switches pip's checking off):
                # no hash of the base survives, and now nothing verifies the artifact.
                changes.append(
                    DepChange(
                        kind="hash-changed",
                        ecosystem=eco,
                        name=name,
                        purl=pkg.purl,
                        file=file,
                        line=pkg.line,
                        base_version=pkg.version,
                        head_version=pkg.version,
                        base_value=" ".join(same[0].hashes),
                    )
                )
            base_sources = {o.source for o in olds}
            if pkg.source not in base_sources:
                changes.append(
                    DepChange(
                        kind="source-changed",
                        ecosystem=eco,
                        name=name,
                        purl=pkg.purl,
                        file=file,
                        line=pkg.line,
                        base_version=olds[0].version,
                        head_version=pkg.version,
                        base_value=" ".join(sorted(base_sources)),
                        head_value=pkg.source,
                    )
                )

    for (eco, name), olds in sorted(base_name.items()):
        if (eco, name) not in head_name:
            first = min(olds, key=lambda p: (p.file, p.line))
            changes.append(
                DepChange(
                    kind="removed",
                    ecosystem=eco,
                    name=name,
                    purl=first.purl,
                    file=first.file,
                    base_version=first.version,
                )
            )
    unique = {c.model_dump_json(): c for c in changes}
    return sorted(unique.values(), key=lambda c: (c.file, c.line or 0, c.kind, c.name)), notes
