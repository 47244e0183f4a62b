"""The dependency diff between the base snapshot and the tree.

Files are paired first: each file of the tree with the same path on the base, or, when it is
new, with the base file it was moved from (a file gone from the tree, same ecosystem, most of
the same package names). Entries are then matched by (file, ecosystem, name); a name not on
the paired file falls back to (ecosystem, name) anywhere on the base, so that moving a
lockfile is not "new" and a re-hash or a re-source is seen wherever the base had the package.

Versions are compared only within a pair of files (another lockfile of the repository is
another project, not an earlier state of this one), by the ecosystem's rules
(``versions.py``); a version that does not parse is never called a downgrade (and says so in
the notes). Where the lockfile records who gets which version (``Package.uses``,
``DepsSnapshot.projects``; ``FileFormat.per_dependent``), a downgrade is a dependent (the same
package at the same version, or one of the repository's own projects) that gets a lower
version than it got on the base: Cargo dropping ``wasi 0.14`` while ``getrandom 0.2`` keeps
its ``wasi 0.11``, or npm hoisting an older nested ``doctrine``, is none. Where it records no
dependent of the name, or does not record them at all (poetry.lock, requirements files), the
versions themselves are compared: the only one on each side, else the highest (and the change
says which).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gatekeeper.deps.common import make_purl, registry_source, split_use
from gatekeeper.deps.ecosystem import format_for
from gatekeeper.deps.versions import UnparseableVersion, version_key
from gatekeeper.models.deps import ChangeKind, CompareBasis, DepChange, DepsSnapshot, Package

Key = tuple[str, str]  # (ecosystem, name)
# A dependent: ("project", name, marker) for one of the repository's own projects, or
# ("package", name, version, marker); the marker ("" for none) is the environment a lock
# resolves the dependency for (uv's forks: one version per name per marker set).
Dependent = tuple[str, ...]


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


# ------------------------------------------------------------------ pairing files


def _file_names(snapshot: DepsSnapshot) -> dict[str, tuple[str, set[str]]]:
    """Each file's ecosystem and package names."""
    out: dict[str, tuple[str, set[str]]] = {}
    for pkg in snapshot.packages:
        out.setdefault(pkg.file, (pkg.ecosystem, set()))[1].add(pkg.name)
    return out


def file_origins(base: DepsSnapshot, head: DepsSnapshot) -> dict[str, str]:
    """Each head file's counterpart on the base: the same path, or for a new file the base
    file it was moved from (gone from the tree, same ecosystem, at least half of the two
    files' names in common; the most similar first, then the same file name)."""
    base_files, head_files = _file_names(base), _file_names(head)
    origins = {f: f for f in head_files if f in base_files}
    gone = [f for f in base_files if f not in head_files]
    candidates: list[tuple[float, bool, str, str]] = []
    for new in sorted(set(head_files) - set(base_files)):
        eco, names = head_files[new]
        for old in gone:
            old_eco, old_names = base_files[old]
            if old_eco != eco:
                continue
            similarity = len(names & old_names) / len(names | old_names)
            if similarity >= 0.5:
                same_name = old.rsplit("/", 1)[-1] == new.rsplit("/", 1)[-1]
                candidates.append((-similarity, not same_name, new, old))
    claimed: set[str] = set()
    for _, _, new, old in sorted(candidates):
        if new not in origins and old not in claimed:
            origins[new] = old
            claimed.add(old)
    return origins


# ------------------------------------------------------------------ who gets which version


class _Resolutions:
    """What each dependent of each file gets, read lazily (only files whose names need it)."""

    def __init__(self, snapshot: DepsSnapshot) -> None:
        self.snapshot = snapshot
        self._by_file: dict[str, dict[str, dict[Dependent, set[str]]]] | None = None

    def of(self, file: str, name: str) -> dict[Dependent, set[str]]:
        """Dependent -> the versions of ``name`` it gets, in ``file``."""
        if self._by_file is None:
            self._by_file = self._index()
        return self._by_file.get(file, {}).get(name, {})

    def _index(self) -> dict[str, dict[str, dict[Dependent, set[str]]]]:
        out: dict[str, dict[str, dict[Dependent, set[str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(set))
        )
        for pkg in self.snapshot.packages:
            for use in pkg.uses:
                name, version, marker = split_use(use)
                out[pkg.file][name][("package", pkg.name, pkg.version or "", marker)].add(version)
        for project in self.snapshot.projects:
            for use in project.uses:
                name, version, marker = split_use(use)
                out[project.file][name][("project", project.name, marker)].add(version)
        return out


def _records_dependents(file: str) -> bool:
    found = format_for(file)
    return found is not None and found[1].per_dependent


def _by_who(edges: dict[Dependent, set[str]]) -> dict[Dependent, dict[str, set[str]]]:
    """Dependent without its marker -> marker -> versions."""
    out: dict[Dependent, dict[str, set[str]]] = defaultdict(dict)
    for dependent, versions in edges.items():
        out[dependent[:-1]][dependent[-1]] = versions
    return out


def _paired(
    base: dict[Dependent, set[str]], head: dict[Dependent, set[str]]
) -> list[tuple[Dependent, set[str], set[str]]]:
    """(dependent, base versions, head versions) of each dependent on both sides: a project by
    its name, a package by name and version. A dependent at another version is another
    dependent: its release asks for what it asks for (a new release of a tool that pins an
    older library is no back-rev of the lockfile; a back-rev of the tool itself is seen where
    the tool is the dependency).

    Environments (uv's markers): the same marker on both sides is compared; when one side
    resolves for every environment and the other splits it into forks, the dependent is
    compared as a whole (its highest version on each side: a new fork for a new environment,
    such as a minimum-versions group, is no back-rev); forks split anew on both sides are not
    compared."""
    befores, afters = _by_who(base), _by_who(head)
    pairs: list[tuple[Dependent, set[str], set[str]]] = []
    for who in sorted(set(befores) & set(afters)):
        olds, news = befores[who], afters[who]
        common = sorted(set(olds) & set(news))
        if common:
            pairs.extend(((*who, m), olds[m], news[m]) for m in common)
        elif set(olds) == {""} or set(news) == {""}:
            every = (*who, "")
            pairs.append((every, set().union(*olds.values()), set().union(*news.values())))
    return pairs


def _label(dependent: Dependent) -> str:
    """``name@version`` of a package, ``project:NAME`` of a project, `` ; marker`` if any."""
    marker = f" ; {dependent[-1]}" if dependent[-1] else ""
    if dependent[0] == "project":
        return f"project:{dependent[1]}{marker}"
    return f"{dependent[1]}@{dependent[2]}{marker}"


@dataclass
class _Compare:
    """One name of one file, with its counterpart on the base."""

    entries: list[Package]
    olds: list[Package]
    base_file: str
    base: _Resolutions
    head: _Resolutions
    notes: list[str]

    @property
    def first(self) -> Package:
        return min(self.entries, key=lambda p: p.line)

    def changes(self) -> list[DepChange]:
        """The upgrade or downgrade(s) of this name, by the ecosystem's ordering."""
        heads, bases = _versions(self.entries), _versions(self.olds)
        if not heads or not bases or heads == bases:
            return []
        if all(p.source.startswith("path:") for p in (*self.entries, *self.olds)):
            return []  # a local package's version is the project's own number, no choice
        try:
            if _records_dependents(self.first.file) and _records_dependents(self.base_file):
                found = self._per_dependent(heads, bases)
                if found is not None:
                    return found
            return self._highest(heads, bases, _basis(heads, bases))
        except UnparseableVersion as exc:
            first = self.first
            self.notes.append(
                f"{first.file}: {first.ecosystem}/{first.name}: versions not compared: {exc}"
            )
            return []

    def _change(
        self,
        old: str,
        new: str,
        down: bool,
        basis: CompareBasis,
        dependents: list[str] | None = None,
    ) -> DepChange:
        first = self.first
        return DepChange(
            kind="downgraded" if down else "upgraded",
            ecosystem=first.ecosystem,
            name=first.name,
            purl=make_purl(first.ecosystem, first.name, new),
            file=first.file,
            line=_line_of(self.entries, new, first.line),
            base_version=old,
            head_version=new,
            basis=basis,
            dependents=dependents or [],
        )

    def _highest(self, heads: set[str], bases: set[str], basis: CompareBasis) -> list[DepChange]:
        eco = self.first.ecosystem
        new, old = _max_version(eco, heads), _max_version(eco, bases)
        if new is None or old is None or new[1] == old[1]:
            return []
        return [self._change(old[0], new[0], new[1] < old[1], basis)]

    def _per_dependent(self, heads: set[str], bases: set[str]) -> list[DepChange] | None:
        """A downgrade for each dependent that gets a lower version than on the base; else
        an upgrade when the highest version rose (a version merely dropped, or now used by
        other dependents than before, is neither). None when the lockfile records no
        dependent of the name on either side (then the versions themselves are compared)."""
        eco, name = self.first.ecosystem, self.first.name
        before, after = self.base.of(self.base_file, name), self.head.of(self.first.file, name)
        if not before and not after:
            return None
        drops: dict[tuple[str, str], list[str]] = defaultdict(list)
        for dependent, olds, news in _paired(before, after):
            old, new = _max_version(eco, olds), _max_version(eco, news)
            if old is not None and new is not None and new[1] < old[1]:
                drops[(old[0], new[0])].append(_label(dependent))
        if drops:
            return [
                self._change(old, new, True, "dependents", sorted(set(who)))
                for (old, new), who in sorted(drops.items())
            ]
        return [c for c in self._highest(heads, bases, _basis(heads, bases)) if not _down(c)]


def _basis(heads: set[str], bases: set[str]) -> CompareBasis:
    """How versions compare without dependents: the only one on each side, or the highest."""
    return "single" if len(heads) == len(bases) == 1 else "highest"


def _down(change: DepChange) -> bool:
    return change.kind == "downgraded"


def _versions(packages: list[Package]) -> set[str]:
    return {p.version for p in packages if p.version}


def _line_of(entries: list[Package], version: str, default: int) -> int:
    return next((p.line for p in entries if p.version == version), default)


def _hash_values(pkg: Package, same: list[Package]) -> tuple[str, str | None] | None:
    """(base hashes, head hashes) when the same version changed its hashes or lost them."""
    return _rehashed(pkg, same) if pkg.hashes else _unhashed(same)


def _file_rehashed(pkg: Package, same: list[Package]) -> tuple[str, str, str] | None:
    """(file name, base hashes, head hashes) of a file that both sides name and that has
    none of its base hashes now: the lockfile-poisoning signal, even while the version's
    other files keep theirs (a file added or dropped is no re-hash)."""
    for old in same:
        for file_name, hashes in sorted(pkg.file_hashes.items()):
            before = old.file_hashes.get(file_name)
            if before and hashes_conflict(before, hashes):
                return file_name, " ".join(before), " ".join(hashes)
    return None


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


def _hash_change(pkg: Package, same: list[Package], default_config: bool) -> DepChange | None:
    """The same version under other hashes than on the base, or under none any more.

    ``default_config``: the repository's configuration names no registry but the default."""
    # A version names one artifact within one source: the same version (or file name) from
    # another source, such as a Pyodide build of a PyPI wheel or a fork on git, is the
    # source-changed finding's, not a re-hash.
    same = [o for o in same if o.source == pkg.source]
    by_file = _file_rehashed(pkg, same) if pkg.file_hashes else None
    if by_file is not None:
        return _entry_change(
            "hash-changed",
            pkg,
            base_version=pkg.version,
            base_value=by_file[1],
            head_value=by_file[2],
            artifact=by_file[0],
        )
    values = _hash_values(pkg, same)
    if values is None:
        return None
    default = registry_source(pkg.ecosystem, None)
    implied = (
        values[1] is None
        and pkg.registry_implied
        and default_config
        and all(o.source == default for o in same)
    )
    change = _entry_change(
        "hash-changed", pkg, base_version=pkg.version, base_value=values[0], head_value=values[1]
    )
    return change.model_copy(update={"registry_implied": True}) if implied else change


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


def _entry_changes(pkg: Package, olds: list[Package], default_config: bool) -> list[DepChange]:
    same = [o for o in olds if o.version == pkg.version and pkg.version]
    changes = (_hash_change(pkg, same, default_config), _source_change(pkg, olds))
    return [c for c in changes if c is not None]


def _default_registries_only(snapshot: DepsSnapshot) -> bool:
    """Whether every registry setting of a tree (``path:line: key=URL``) names npm's
    default registry (or one of its aliases)."""
    default = registry_source("npm", None)
    return all(
        registry_source("npm", setting.split("=", 1)[1]) == default
        for setting in snapshot.registry_config
    )


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
    origins = file_origins(base, head)
    base_uses, head_uses = _Resolutions(base), _Resolutions(head)
    default_config = _default_registries_only(head)
    for (file, eco, name), entries in sorted(head_file.items()):
        origin = origins.get(file)
        paired = base_file.get((origin, eco, name)) if origin is not None else None
        olds = paired or base_name.get((eco, name))
        if not olds:
            changes.append(_added(entries))
            continue
        if paired and origin is not None:
            compare = _Compare(entries, paired, origin, base_uses, head_uses, notes)
            changes.extend(compare.changes())
        for pkg in entries:
            changes.extend(_entry_changes(pkg, olds, default_config))
    changes.extend(
        _removed(olds) for key, olds in sorted(base_name.items()) if key not in head_name
    )
    unique = {c.model_dump_json(): c for c in changes}
    return sorted(unique.values(), key=lambda c: (c.file, c.line or 0, c.kind, c.name)), notes
