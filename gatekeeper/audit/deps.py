"""The ``deps/`` family: rules over the dependency evidence (see RULES.md).

Fingerprint keys name the package (and versions, source or advisory where that is what
the finding is about), never a line, so findings survive edits elsewhere in a lockfile.

Context lowers severity and says why, never hides: a manifest or lockfile under a test-data
directory (``fixtures/``, ``testdata/``) is input to the project's tests, not what it
installs, so its findings are at most medium (a parse error of one, low); a source other than
the default registry is configuration on a first audit (info) and a change in a range (high).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import ClassVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from gatekeeper._testpaths import TEST_DATA_DIRS
from gatekeeper.audit._installrisk import install_risk, is_native_build, is_standard_build
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.deps.common import is_default_source
from gatekeeper.deps.ecosystem import format_for
from gatekeeper.deps.typosquat import typosquat_target
from gatekeeper.models.deps import (
    Declared,
    DepChange,
    DepsEvidence,
    DepsSnapshot,
    InstallHook,
    Package,
)
from gatekeeper.models.finding import Finding, Severity

# --- rule records ----------------------------------------------------------------------------

PARSE_ERROR = Rule(
    "deps/parse-error",
    Severity.HIGH,
    summary="a manifest or lockfile cannot be parsed",
    help="A file that does not parse is not audited: none of its versions are checked against "
    "advisories or the base, and the package manager may read it differently. Fix the file, "
    "or regenerate it with the package manager.",
)
KNOWN_VULNERABILITY = Rule(
    "deps/known-vulnerability",
    # NOTE: each finding takes the advisory's severity; HIGH is what an advisory without CVSS
    # or database severity gets.
    Severity.HIGH,
    summary="a resolved version falls inside an OSV advisory's affected ranges or versions "
    "(severity from the advisory's CVSS or database severity; `high` when it has none)",
    help="The release would ship a version with a published vulnerability. Upgrade to a fixed "
    "version (the finding names it when the advisory does); when the vulnerable code cannot "
    "be reached, add an exception with the reason and an expiry.",
    default_label="advisory",
)
DOWNGRADE = Rule(
    "deps/downgrade",
    Severity.HIGH,
    summary="a dependency's version is lower than on the base (back-revved): with several "
    "versions of one name, a dependent gets a lower version than it got on the base (where "
    "the lockfile records who gets which; else the highest version is compared)",
    help="An older version can bring back vulnerabilities that were fixed, and a rollback is "
    "how a compromised or confused dependency update looks in a lockfile. A version that "
    "merely disappears while others of the same name stay (Cargo's `wasi 0.11` kept, "
    "`wasi 0.14` dropped) is no downgrade: nothing that used it gets less. Find out why the "
    "version went down; when it is deliberate, record the reason in an exception.",
)
HASH_CHANGED = Rule(
    "deps/hash-changed",
    Severity.CRITICAL,
    summary="the same name and version resolve to a different integrity hash than on the base, "
    "or lose every hash they had (a package-lock entry from the default registry that npm "
    "wrote without its URL and hash, where no other registry is configured: medium)",
    help="A released version's content never changes on a sound registry, so a new hash for "
    "the same version means the artifact was replaced or now comes from somewhere else, and "
    "a removed hash means nothing checks it any more. Do not merge until you know why; "
    "restore the base's lock entry and investigate the source.",
)
SOURCE_CHANGED = Rule(
    "deps/source-changed",
    Severity.HIGH,
    summary="a package resolves from a registry, URL, git repo or path other than the base or "
    "the default registry (on a first audit without a base: info, as configuration; from "
    "git, a URL or a path back to the default registry: medium)",
    help="Another source is another supply chain: a fork, a private mirror or a mistyped URL "
    "can serve anything under the same name. Check the new source, and go back to the default "
    "registry unless the move is deliberate. Without a base nothing is known to have changed, "
    "so a git dependency or a replaced module is reported as configuration (info); a range "
    "that introduces or changes one is high. A move from a private registry to the default "
    "one is the dependency-confusion shape and stays high.",
)
NEW_DEPENDENCY = Rule(
    "deps/new-dependency",
    Severity.INFO,
    summary="a dependency appears that was not on the base",
    help="Every new dependency is new code, from new people, in the release. Check that it is "
    "the package you meant (name, publisher, maintenance) before it lands.",
)
UNPINNED = Rule(
    "deps/unpinned",
    Severity.MEDIUM,
    summary="a requirement with no exact version in a file meant to pin (requirements without "
    "`==`, a lock entry with a range)",
    help="Without an exact version each install can resolve something new, including a "
    "malicious release published after the review. Pin exact versions, with hashes, in files "
    "meant to pin (the package manager's lock command, `pip-compile --generate-hashes`).",
)
MISSING_HASH = Rule(
    "deps/missing-hash",
    Severity.LOW,
    summary="a lock entry has no integrity hash where its format supports one",
    help="Without a hash the installer accepts whatever the registry serves for that version. "
    "Regenerate the lockfile with hashes.",
)
LOCK_MISMATCH = Rule(
    "deps/lock-mismatch",
    Severity.MEDIUM,
    summary="a manifest and its lockfile disagree (a declared dependency missing from the "
    "lock, or a lock that no longer satisfies the manifest)",
    help="When the lock does not match the manifest, the reviewed lock is not what gets "
    "installed, or the install fails and someone works around it. Regenerate the lockfile "
    "from the manifest and commit both together.",
)
TYPOSQUAT = Rule(
    "deps/typosquat",
    Severity.MEDIUM,
    summary="a new dependency's name is one edit away from a well-known package of its ecosystem",
    help="Typosquatted packages copy a popular name with one character changed and run code "
    "at install time. Check the name against the package you meant; when it really is another "
    "package, add an exception.",
)

UNSUPPORTED_LOCKFILE = Rule(
    "deps/unsupported-lockfile",
    Severity.INFO,
    summary="a lockfile of a format gatekeeper does not read is in the repository (bun.lockb, "
    "packages.lock.json, pubspec.lock, …): its packages are not audited",
    help="The packages that lockfile pins are not checked for advisories, downgrades, "
    "re-hashes or new sources, so the audit covers less than the repository installs. The "
    "finding says so instead of passing in silence; audit that ecosystem with a tool that "
    "reads it, or switch to a format gatekeeper reads (Bun's text bun.lock, for example).",
)
INSTALL_SCRIPT = Rule(
    "deps/install-script",
    Severity.MEDIUM,
    summary="the change adds or alters code that runs at install time: "
    "`preinstall`/`install`/`postinstall`/`prepare` scripts in package.json, a lockfile entry "
    "that is new with `hasInstallScript` or newly gains it, a `setup.py`/build backend "
    "change, a gem extension; high when the script fetches or runs remote code, reads "
    "credentials or writes outside the package; low when it only builds a native addon "
    "(`node-gyp rebuild`) or names a well-known build backend with only packaging tools as "
    "build requirements",
    help="Install scripts run with the installing user's rights on every developer machine "
    "and CI runner that installs the package, before any test or review of the result. The "
    "Shai-Hulud worm (2025) spread by publishing npm releases with a `postinstall` that "
    "downloaded and ran a payload, stole tokens from the environment and `.npmrc`, and "
    "pushed itself on; a dependency update that newly runs an install script is how that "
    "looks in a lockfile. Read the script (or the new release's) before merging; install "
    "with `--ignore-scripts` where the package does not need it.",
)


# --- context --------------------------------------------------------------------------------

# Directories whose files are input to the project's tests: a lockfile there is test data
# (osv-scanner's and poetry's own fixtures hold deliberately broken or odd lockfiles).
_TEST_DATA_DIRS = TEST_DATA_DIRS


def _test_data_folder(path: str | None) -> str | None:
    """The test-data directory a repository path is under, if any."""
    if not path:
        return None
    return next((part for part in path.split("/")[:-1] if part.lower() in _TEST_DATA_DIRS), None)


def _in_context(finding: Finding) -> Finding:
    """The finding at the severity its file's context allows, saying why when lowered: a
    parse error of test data is low, any other finding of test data at most medium."""
    folder = _test_data_folder(finding.path)
    if folder is None:
        return finding
    cap = Severity.LOW if finding.rule == "deps/parse-error" else Severity.MEDIUM
    if finding.severity.rank <= cap.rank:
        return finding
    return finding.model_copy(
        update={
            "severity": cap,
            "message": f"{finding.message} [{finding.severity.value} lowered to {cap.value}: "
            f"test data under {folder}/, input to the project's tests, not what it installs]",
        }
    )


class DepsParseAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(PARSE_ERROR)
    summary: ClassVar[str] = "a manifest or lockfile that cannot be parsed: a finding, not a pass"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for problem in evidence.tree.errors:
            yield _in_context(
                Finding.make(
                    "deps/parse-error",
                    Severity.HIGH,
                    f"cannot parse {problem.file}: {problem.message}",
                    path=problem.file,
                    line=problem.line,
                    key=f"parse:{problem.message}",
                )
            )


class KnownVulnerabilityAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(KNOWN_VULNERABILITY)
    summary: ClassVar[str] = "a resolved version inside an OSV advisory's affected ranges"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for vuln in evidence.vulnerabilities:
            aliases = f" ({', '.join(vuln.aliases)})" if vuln.aliases else ""
            fixed = f"; fixed in {', '.join(vuln.fixed)}" if vuln.fixed else "; no fixed version"
            score = f", CVSS {vuln.score}" if vuln.score is not None else ""
            summary = f": {vuln.summary}" if vuln.summary else ""
            yield _in_context(
                Finding.make(
                    "deps/known-vulnerability",
                    Severity(vuln.severity),
                    f"{vuln.name} {vuln.version} is affected by {vuln.id}{aliases}{score}"
                    f"{summary}{fixed}",
                    path=vuln.file,
                    line=vuln.line,
                    key=f"{vuln.ecosystem}:{vuln.name}@{vuln.version}:{vuln.id}",
                )
            )


class DepsDiffAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(DOWNGRADE, HASH_CHANGED, SOURCE_CHANGED, NEW_DEPENDENCY)
    summary: ClassVar[str] = "back-revved, re-hashed, re-sourced and new dependencies"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        changes, grouped = _group_new_file_sources(evidence)
        for change in changes:
            describe = _CHANGE_FINDINGS.get(change.kind)
            if describe is not None:
                yield _in_context(describe(change, evidence.base_ref))
        for group in grouped:
            yield _in_context(_resourced_together(group, evidence.base_ref))
        # A package new to the tree (or every package, without a base) that does not come from
        # its ecosystem's default registry: git, URL or another registry.
        for pkg in _new_packages(evidence):
            kind = pkg.source.partition(":")[0]
            if is_default_source(pkg.ecosystem, pkg.source) or kind == "path":
                continue
            yield _in_context(
                _new_source(pkg, evidence.base_ref, first_audit=evidence.base is None)
            )


def _from(ecosystem: str, source: str) -> str:
    """How a package gets from its source, for a message."""
    kind, _, where = source.partition(":")
    if ecosystem == "Go" and kind == "url":
        return f"is replaced by the module {where} (a go.mod replace)"
    return f"resolves from {source}"


def _new_source(pkg: Package, base_ref: str | None, *, first_audit: bool) -> Finding:
    where = f"{_from(pkg.ecosystem, pkg.source)}, not the default {pkg.ecosystem} registry"
    if first_audit:
        return Finding.make(
            "deps/source-changed",
            Severity.INFO,
            f"{pkg.name} {where}: recorded as configuration, since a first audit has no base "
            "to compare (a range that introduces or changes it is high)",
            path=pkg.file,
            line=pkg.line,
            key=f"{pkg.ecosystem}:{pkg.name}:{pkg.source}",
        )
    return Finding.make(
        "deps/source-changed",
        Severity.HIGH,
        f"{pkg.name} {where}, and is new since {base_ref}",
        path=pkg.file,
        line=pkg.line,
        key=f"{pkg.ecosystem}:{pkg.name}:{pkg.source}",
    )


def _who(dependents: list[str]) -> str:
    """The dependents of a downgrade, for a message (at most three named)."""
    names = []
    for label in dependents:
        dependent, _, marker = label.partition(" ; ")
        where = f" (where {marker})" if marker else ""
        if dependent == "project:.":
            names.append(f"the project{where}")
        elif dependent.startswith("project:range:"):
            names.append(f"whoever asks for {dependent.removeprefix('project:range:')}")
        elif dependent.startswith("project:"):
            names.append(f"the workspace member {dependent.removeprefix('project:')}{where}")
        else:
            name, _, version = dependent.rpartition("@")
            names.append(f"{name} {version}{where}")
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _downgraded(change: DepChange, base_ref: str | None) -> Finding:
    text = f"{change.name} is downgraded from {change.base_version} to {change.head_version}"
    if change.basis == "dependents":
        text += (
            f" for {_who(change.dependents)} (base {base_ref}): {change.file} records that "
            f"{'it' if len(change.dependents) == 1 else 'they'} got {change.base_version} "
            "on the base"
        )
    elif change.basis == "highest":
        text += (
            f" (base {base_ref}): {change.file} holds several versions of {change.name} and "
            "does not record which dependent gets which, so the highest versions are compared"
        )
    else:
        text += f" (base {base_ref})"
    return Finding.make(
        "deps/downgrade",
        Severity.HIGH,
        text,
        path=change.file,
        line=change.line,
        key=f"{change.ecosystem}:{change.name}:{change.base_version}->{change.head_version}",
    )


def _rehashed(change: DepChange, base_ref: str | None) -> Finding:
    ident = f"{change.ecosystem}:{change.name}"
    if not change.head_value and change.registry_implied:
        return Finding.make(
            "deps/hash-changed",
            Severity.MEDIUM,
            f"{change.name} {change.head_version} lost its integrity hash (was "
            f"{_short(change.base_value)} on {base_ref}) together with its resolved URL, as "
            "npm itself writes some package-lock entries: npm now fetches this version from "
            "the registry its configuration names (the repository's .npmrc names none but the "
            "default registry, which it came from on the base) without checking a digest. A "
            "version published there cannot be replaced, so this weakens verification rather "
            "than changing the artifact; reinstalling from a clean node_modules usually writes "
            "the hashes again",
            path=change.file,
            line=change.line,
            key=f"{ident}@{change.head_version}:removed",
        )
    if not change.head_value:
        return Finding.make(
            "deps/hash-changed",
            Severity.CRITICAL,
            f"{change.name} {change.head_version} lost the integrity hash it had on "
            f"{base_ref} (was {_short(change.base_value)}): nothing verifies the artifact any more",
            path=change.file,
            line=change.line,
            key=f"{ident}@{change.head_version}:removed",
        )
    if change.artifact:
        return Finding.make(
            "deps/hash-changed",
            Severity.CRITICAL,
            f"{change.name} {change.head_version}: its file {change.artifact} has a different "
            f"hash than on {base_ref} (was {_short(change.base_value)}, now "
            f"{_short(change.head_value)}) while the version stayed: the same file name is "
            "another artifact (a changed hash for the same file is how a poisoned lockfile "
            "looks, even while the version's other files keep theirs)",
            path=change.file,
            line=change.line,
            key=f"{ident}@{change.head_version}:{change.artifact}:{change.head_value}",
        )
    return Finding.make(
        "deps/hash-changed",
        Severity.CRITICAL,
        f"{change.name} {change.head_version} resolves to a different integrity hash "
        f"than on {base_ref} (was {_short(change.base_value)}, now "
        f"{_short(change.head_value)}): the same version is another artifact",
        path=change.file,
        line=change.line,
        key=f"{ident}@{change.head_version}:{change.head_value}",
    )


def _resourced(change: DepChange, base_ref: str | None) -> Finding:
    head = change.head_value or ""
    bases = (change.base_value or "").split()
    severity = Severity.HIGH
    why = ""
    # Back to the default registry from git, a URL or a path: a fork or a pre-release
    # dropped for a release (still another supply chain, so it is reported). From another
    # registry it stays high: that is the dependency-confusion shape.
    if is_default_source(change.ecosystem, head) and all(
        b.partition(":")[0] in ("git", "url", "path") for b in bases
    ):
        severity = Severity.MEDIUM
        why = (
            ": back to the default registry from git, a URL or a path; check that the "
            "registry's package is the same project"
        )
    return Finding.make(
        "deps/source-changed",
        severity,
        f"{change.name} now resolves from {head} (on {base_ref}: {change.base_value}){why}",
        path=change.file,
        line=change.line,
        key=f"{change.ecosystem}:{change.name}:{change.head_value}",
    )


def _group_new_file_sources(
    evidence: DepsEvidence,
) -> tuple[list[DepChange], list[list[DepChange]]]:
    """The changes, with the source changes of a lockfile new to the range gathered by source.

    A new lockfile (a Pyodide lock beside uv.lock) is compared with wherever the base had each
    package, so every package it takes from its one new source is a source change: one cause,
    reported once, naming the packages.
    """
    base_files = {pkg.file for pkg in evidence.base.packages} if evidence.base else set()
    groups: dict[tuple[str, str], list[DepChange]] = {}
    rest: list[DepChange] = []
    for change in evidence.changes:
        if change.kind == "source-changed" and change.file not in base_files:
            groups.setdefault((change.file, change.head_value or ""), []).append(change)
        else:
            rest.append(change)
    grouped = [group for group in groups.values() if len(group) > 1]
    rest.extend(group[0] for group in groups.values() if len(group) == 1)
    return rest, grouped


def _resourced_together(group: list[DepChange], base_ref: str | None) -> Finding:
    # The most severe member stands for the group: one package moved from a private registry
    # keeps it high even when the others only leave git for the default registry.
    first = max((_resourced(change, base_ref) for change in group), key=lambda f: f.severity.rank)
    names = sorted({change.name for change in group})
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    bases = sorted({b for change in group for b in (change.base_value or "").split()})
    return first.model_copy(
        update={
            "message": (
                f"{len(names)} packages of this new lockfile now resolve from "
                f"{group[0].head_value} ({shown}); on {base_ref} the repository resolved them "
                f"from {' '.join(bases)}: a new source for these packages, reported once"
            )
        }
    )


def _added(change: DepChange, base_ref: str | None) -> Finding:
    return Finding.make(
        "deps/new-dependency",
        Severity.INFO,
        f"new dependency {change.name} {change.head_version or ''}".rstrip(),
        path=change.file,
        line=change.line,
        key=f"{change.ecosystem}:{change.name}",
    )


# The finding of each kind of change (a removed dependency is no finding).
_CHANGE_FINDINGS: dict[str, Callable[[DepChange, str | None], Finding]] = {
    "downgraded": _downgraded,
    "hash-changed": _rehashed,
    "source-changed": _resourced,
    "added": _added,
}


def _short(value: str | None) -> str:
    if not value:
        return "none"
    first = value.split()[0]
    return first[:24] + ("…" if len(first) > 24 else "")


def _new_packages(evidence: DepsEvidence) -> Iterator[Package]:
    if evidence.base is None:
        yield from evidence.tree.packages
        return
    added = {(c.ecosystem, c.name) for c in evidence.changes if c.kind == "added"}
    for pkg in evidence.tree.packages:
        if (pkg.ecosystem, pkg.name) in added:
            yield pkg


class PinningAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(UNPINNED, MISSING_HASH)
    summary: ClassVar[str] = "entries of pinning files without one exact version or a hash"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for pkg in evidence.tree.packages:
            ident = f"{pkg.ecosystem}:{pkg.name}"
            if pkg.pinning and pkg.version is None:
                yield Finding.make(
                    "deps/unpinned",
                    Severity.MEDIUM,
                    f"{pkg.name} is not pinned to one version ({pkg.spec or 'no version'})",
                    path=pkg.file,
                    line=pkg.line,
                    key=ident,
                )
            elif pkg.hash_supported and not pkg.hashes:
                yield Finding.make(
                    "deps/missing-hash",
                    Severity.LOW,
                    f"{pkg.name} {pkg.version or ''} has no integrity hash".replace("  ", " "),
                    path=pkg.file,
                    line=pkg.line,
                    key=f"{ident}@{pkg.version}",
                )


class LockMismatchAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(LOCK_MISMATCH)
    summary: ClassVar[str] = "a manifest and the lockfile beside it disagree"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        tree = _Tree(evidence.tree)
        for manifest, decls in sorted(tree.manifests.items()):
            found = format_for(manifest)
            check = _LOCK_CHECKS.get(found[0].name) if found is not None else None
            if found is None or check is None:
                continue
            # The lockfiles a manifest must agree with are its format's (ecosystem.py).
            for lock in found[1].locks:
                lock_path = posixpath.join(posixpath.dirname(manifest), lock)
                yield from check(manifest, decls, lock_path, tree)


class _Tree:
    """The parts of a snapshot the lock-mismatch checks look up."""

    def __init__(self, snapshot: DepsSnapshot) -> None:
        broken = {e.file for e in snapshot.errors}
        self.files = set(snapshot.files) - broken
        self.lock_decls: dict[str, list[Declared]] = defaultdict(list)
        self.manifests: dict[str, list[Declared]] = defaultdict(list)
        for decl in snapshot.declared:
            if decl.role == "lock":
                self.lock_decls[decl.file].append(decl)
            elif decl.file not in broken:
                self.manifests[decl.file].append(decl)
        self.packages: dict[str, list[Package]] = defaultdict(list)
        for pkg in snapshot.packages:
            self.packages[pkg.file].append(pkg)


def _mismatch(manifest: str, line: int, lock: str, name: str, message: str) -> Finding:
    return Finding.make(
        "deps/lock-mismatch",
        Severity.MEDIUM,
        message,
        path=manifest,
        line=line,
        key=f"{lock}:{name}",
    )


def _npm_mismatch(
    manifest: str, decls: list[Declared], lock: str, tree: _Tree
) -> Iterator[Finding]:
    if lock not in tree.files:
        return
    recorded = tree.lock_decls[lock]
    by_name: dict[str, set[str]] = defaultdict(set)
    for decl in recorded:
        by_name[decl.name].add(decl.spec)
    for decl in decls:
        finding = _npm_declared(manifest, decl, lock, by_name.get(decl.name))
        if finding is not None:
            yield finding
    if lock.endswith("yarn.lock"):
        return  # yarn.lock keys include transitive dependencies: no reverse check
    declared = {d.name for d in decls}
    for name in sorted(set(by_name) - declared):
        line = next(d.line for d in recorded if d.name == name)
        yield Finding.make(
            "deps/lock-mismatch",
            Severity.MEDIUM,
            f"{lock} still records {name} as a dependency of the project, which "
            f"{manifest} no longer declares",
            path=lock,
            line=line,
            key=f"{manifest}:{name}",
        )


def _npm_declared(
    manifest: str, decl: Declared, lock: str, specs: set[str] | None
) -> Finding | None:
    """A declaration the lockfile lacks, or records with another spec."""
    if not specs:
        message = f"{decl.name}@{decl.spec} is declared in {manifest} but missing from {lock}"
    elif decl.spec not in specs:
        was = ", ".join(sorted(specs))
        message = f"{manifest} asks for {decl.name}@{decl.spec} but {lock} was resolved for {was}"
    else:
        return None
    return _mismatch(manifest, decl.line, lock, decl.name, message)


def _pypi_mismatch(
    manifest: str, decls: list[Declared], lock: str, tree: _Tree
) -> Iterator[Finding]:
    if lock not in tree.files:
        return
    versions: dict[str, list[str]] = defaultdict(list)
    for pkg in tree.packages[lock]:
        if pkg.version:
            versions[pkg.name].append(pkg.version)
        else:
            versions.setdefault(pkg.name, [])
    for decl in decls:
        if decl.name not in versions:
            yield _mismatch(
                manifest,
                decl.line,
                lock,
                decl.name,
                f"{decl.name} is declared in {manifest} but missing from {lock}",
            )
            continue
        locked = versions[decl.name]
        if locked and not _pep508_satisfied(decl, locked):
            yield _mismatch(
                manifest,
                decl.line,
                lock,
                decl.name,
                f"{manifest} asks for {decl.name}{decl.spec} but {lock} pins "
                f"{', '.join(sorted(locked))}",
            )


def _pep508_satisfied(decl: Declared, locked: list[str]) -> bool:
    """Whether a locked version satisfies a PEP 508 declaration (True when not comparable:
    never claim a mismatch that cannot be shown)."""
    if decl.syntax != "pep508" or not decl.spec:
        return True
    try:
        spec = SpecifierSet(decl.spec)
    except InvalidSpecifier:
        return True  # NOTE: pyproject parsing already rejected invalid requirements
    for version in locked:
        try:
            if spec.contains(Version(version), prereleases=True):
                return True
        except InvalidVersion:
            return True
    return False


def _go_mismatch(
    manifest: str, decls: list[Declared], go_sum: str, tree: _Tree
) -> Iterator[Finding]:
    has_sum = go_sum in tree.files
    by_name = {p.name: p for p in tree.packages[manifest]}
    for decl in decls:
        pkg = by_name.get(decl.name)
        if pkg is None or not pkg.direct or pkg.source.startswith("path:"):
            continue  # indirect requirements may legitimately have only a /go.mod line
        if not has_sum:
            yield _mismatch(
                manifest,
                decl.line,
                go_sum,
                decl.name,
                f"{manifest} requires {decl.name} {decl.spec} but there is no go.sum",
            )
        elif not pkg.hashes:
            yield _mismatch(
                manifest,
                decl.line,
                go_sum,
                decl.name,
                f"{manifest} requires {decl.name} {decl.spec} but {go_sum} has no "
                "hash for it (go build would refuse: missing go.sum entry)",
            )


# The lock-mismatch check of each ecosystem whose manifests name lockfiles.
_LOCK_CHECKS: dict[str, Callable[[str, list[Declared], str, _Tree], Iterator[Finding]]] = {
    "npm": _npm_mismatch,
    "PyPI": _pypi_mismatch,
    "Go": _go_mismatch,
}


class TyposquatAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(TYPOSQUAT)
    summary: ClassVar[str] = "a new dependency named one edit away from a well-known package"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for pkg in _new_packages(evidence):
            hit = typosquat_target(pkg.ecosystem, pkg.name)
            if hit is None:
                continue
            known, how = hit
            yield Finding.make(
                "deps/typosquat",
                Severity.MEDIUM,
                f"{pkg.name} is {how} away from the well-known {pkg.ecosystem} package {known}",
                path=pkg.file,
                line=pkg.line,
                key=f"{pkg.ecosystem}:{pkg.name}",
            )


class UnsupportedLockfileAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(UNSUPPORTED_LOCKFILE)
    summary: ClassVar[str] = "a lockfile gatekeeper cannot read: said, not passed over"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for entry in evidence.tree.unsupported:
            path, _, what = entry.partition(": ")
            yield Finding.make(
                "deps/unsupported-lockfile",
                Severity.INFO,
                f"{path} is {what}: not a format gatekeeper reads, so the packages it pins "
                "are not audited (advisories, downgrades, re-hashes, sources)",
                path=path,
                key=path,
            )


_HOOK_WHAT = {
    "npm-script": "the {name} script of {file}",
    "setup-py": "{file}",
    "build-system": "the [build-system] of {file}",
    "gem-extension": "the native extensions of {file}",
}
_HOOK_WHEN = {
    "npm-script": "npm, pnpm and yarn run it on every install of this package",
    "setup-py": "pip runs it to build and install this package",
    "build-system": "pip installs that backend and runs it to build this package",
    "gem-extension": "`gem install` compiles them by running their extconf.rb",
}


def _hook_lines(hook: InstallHook) -> list[str]:
    return [hook.command, *hook.code] if hook.command else list(hook.code)


def _hook_severity(hook: InstallHook, old: InstallHook | None) -> tuple[Severity, str]:
    """The severity of a new or changed install hook, and why."""
    risk = install_risk(_hook_lines(hook))
    if risk is not None:
        return Severity.HIGH, risk
    if hook.kind == "npm-script" and is_native_build(hook.command):
        return Severity.LOW, "it only builds a native addon from the package's own sources"
    if hook.kind == "build-system" and is_standard_build(hook.command):
        return Severity.LOW, (
            "a well-known build backend and build tools from the package index, no in-tree backend"
        )
    if old is not None and hook.kind == "setup-py" and set(old.code) == set(hook.code):
        return Severity.LOW, (
            "none of its lines that reach the network, run processes, read credentials or "
            "write files changed"
        )
    return Severity.MEDIUM, "read what it runs before merging"


def _hook_changed(old: InstallHook, new: InstallHook) -> bool:
    return (old.command, old.digest, old.code) != (new.command, new.digest, new.code)


def _describe(hook: InstallHook) -> str:
    what = _HOOK_WHAT[hook.kind].format(name=hook.name, file=hook.file)
    shown = f" (`{hook.command[:120]}`)" if hook.command else ""
    return f"{what}{shown}"


class InstallScriptAudit:
    evidence_kind: ClassVar[str] = "deps"
    rules: ClassVar[RuleSet] = RuleSet(INSTALL_SCRIPT)
    summary: ClassVar[str] = "install-time code added or altered by the change"

    def run(self, evidence: DepsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from (_in_context(f) for f in self._hooks(evidence))
        if evidence.base is not None:
            found = _lockfile_scripts(evidence.base, evidence.tree, evidence.base_ref)
            yield from (_in_context(f) for f in found)

    def _hooks(self, evidence: DepsEvidence) -> Iterator[Finding]:
        if evidence.base is None:
            # A first audit sees no change: only code that does something risky is said,
            # at medium, as present (not known to be new).
            for hook in evidence.tree.install_hooks:
                risk = install_risk(_hook_lines(hook))
                if risk is not None:
                    yield _hook_finding(
                        hook,
                        Severity.MEDIUM,
                        f"{_describe(hook)} runs at install time and {risk} "
                        f"({_HOOK_WHEN[hook.kind]}); a first audit has no base to tell "
                        "whether it is new",
                    )
            return
        before = {(h.file, h.kind, h.name): h for h in evidence.base.install_hooks}
        for hook in evidence.tree.install_hooks:
            old = before.get((hook.file, hook.kind, hook.name))
            if old is not None and not _hook_changed(old, hook):
                continue
            severity, why = _hook_severity(hook, old)
            verb = "adds" if old is None else "changes"
            yield _hook_finding(
                hook,
                severity,
                f"the change {verb} {_describe(hook)}, which runs at install time "
                f"({_HOOK_WHEN[hook.kind]}) since {evidence.base_ref}: {why}",
            )


def _hook_finding(hook: InstallHook, severity: Severity, message: str) -> Finding:
    return Finding.make(
        "deps/install-script",
        severity,
        message,
        path=hook.file,
        line=hook.line,
        key=f"{hook.kind}:{hook.name}:{hook.digest or ''}:{hook.command}",
    )


# How each lockfile says that a package runs an install script.
_SCRIPT_FIELD = {"pnpm-lock.yaml": "requiresBuild"}


def _lockfile_scripts(
    base: DepsSnapshot, tree: DepsSnapshot, base_ref: str | None
) -> Iterator[Finding]:
    """Lockfile entries that run an install script and did not before: a new package, or
    a package none of whose versions on the base ran one."""
    had: dict[tuple[str, str], bool] = {}
    for pkg in base.packages:
        key = (pkg.ecosystem, pkg.name)
        had[key] = had.get(key, False) or pkg.install_script
    seen: set[tuple[str, str, str | None]] = set()
    for pkg in tree.packages:
        key = (pkg.ecosystem, pkg.name)
        if not pkg.install_script or had.get(key) or (pkg.file, pkg.name, pkg.version) in seen:
            continue
        seen.add((pkg.file, pkg.name, pkg.version))
        field = _SCRIPT_FIELD.get(posixpath.basename(pkg.file), "hasInstallScript")
        if key in had:
            what = (
                f"{pkg.name} {pkg.version} now runs an install script ({pkg.file} records "
                f"`{field}`); none of its versions on {base_ref} did"
            )
        else:
            what = (
                f"new dependency {pkg.name} {pkg.version} runs an install script "
                f"({pkg.file} records `{field}`)"
            )
        yield Finding.make(
            "deps/install-script",
            Severity.MEDIUM,
            f"{what}: its code runs on every install, before anything is reviewed or tested; "
            "read the release's install script before merging",
            path=pkg.file,
            line=pkg.line,
            key=f"{pkg.ecosystem}:{pkg.name}@{pkg.version}:install-script",
        )


AUDITS = (
    DepsParseAudit,
    KnownVulnerabilityAudit,
    DepsDiffAudit,
    PinningAudit,
    LockMismatchAudit,
    TyposquatAudit,
    UnsupportedLockfileAudit,
    InstallScriptAudit,
)
