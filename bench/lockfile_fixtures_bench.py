"""gatekeeper's lockfile parsers on a peer's own extractor test cases.

osv-scalibr (the library behind osv-scanner) keeps, for each lockfile extractor, a
``testdata/`` directory and Go test tables that name each case's input file and the exact
package list (name and version) the extractor must return, or that it must fail. This script
reads those tables (a small Go literal reader: no Go toolchain needed), runs gatekeeper's
parser of the same format over each input, and compares the package lists.

Usage::

    python bench/lockfile_fixtures_bench.py --scalibr PATH [--json OUT] [--show-misses]

``PATH`` is a checkout of github.com/google/osv-scalibr or a bare clone of it (read with
``git archive``; nothing is built or run). The peer's files are read for measuring only.

How the lists are compared (the conventions differ, the packages must not):

- names in each ecosystem's canonical spelling (PEP 503 for PyPI, lower case for
  Packagist); a Go module's version without its ``v``;
- Go: the peer lists ``stdlib`` at the ``go`` directive's version; gatekeeper does not (the
  directive is a minimum, not the toolchain that builds), so it is left out of the peer's
  list. A ``replace``d module is compared by the module whose code is built (the
  replacement's path, as the peer names it, and OSV is asked about);
- an entry gatekeeper records without a version (an unpinned requirement) is compared as
  version ``""``, as the peer writes it;
- a case that expects an error passes when gatekeeper reports a parse error for the file
  (or, for an input the format does not cover at all, reads nothing from it).
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.deps import DirSource, scan
from gatekeeper.deps.common import normalize_name
from gatekeeper.models.deps import Package

# ------------------------------------------------------------------ reading Go test tables

_TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<rune>'(?:[^'\\\n]|\\.)+')
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*:(?!=)
  | (?P<comma>,)
  | (?P<other>[^\s{}",`'/]+|/)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class _Block:
    """One ``{…}`` composite literal: its own keys' scalar values and its keyed children."""

    values: dict[str, str] = field(default_factory=dict)  # key -> literal (strings unquoted)
    children: list[tuple[str | None, _Block]] = field(default_factory=list)
    start: int = 0
    end: int = 0

    def child(self, key: str) -> _Block | None:
        return next((b for k, b in self.children if k and k.lower() == key.lower()), None)

    def value(self, key: str) -> str | None:
        return next((v for k, v in self.values.items() if k.lower() == key.lower()), None)


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return json.loads(token) if token.startswith('"') else token


def parse_go_literals(text: str) -> _Block:
    """Every brace block of a Go file as a tree (only keys, strings and nesting are kept)."""
    root = _Block(end=len(text))
    stack = [root]
    key: str | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "comment":
            continue
        if kind == "open":
            block = _Block(start=match.end())
            stack[-1].children.append((key, block))
            stack.append(block)
            key = None
        elif kind == "close":
            if len(stack) > 1:
                stack.pop().end = match.start()
            key = None
        elif kind == "key":
            key = match.group("key")
        elif kind == "comma":
            key = None
        elif kind in ("string", "raw") and key is not None:
            stack[-1].values.setdefault(key, _unquote(match.group(kind)))
        elif kind == "other" and key is not None:
            stack[-1].values.setdefault(key, match.group(0))
    return root


@dataclass
class Case:
    extractor: str
    name: str
    path: str  # relative to the extractor's directory
    want_error: bool
    want: list[tuple[str, str]] | None  # None: the table's expectation is not literal


def _walk(block: _Block) -> list[_Block]:
    out = [block]
    for _, child in block.children:
        out.extend(_walk(child))
    return out


def _case_path(block: _Block) -> str | None:
    path = block.value("path")
    if path is None:
        config = block.child("InputConfig")
        path = config.value("path") if config is not None else None
    return path


# A package written as a helper's call: ``pkg(t, "emoji", "2.14.0", "testdata/x", 5)``.
_CALL = re.compile(r'\b\w+\(\s*(?:t\s*,\s*)?"([^"]*)"\s*,\s*"([^"]*)"')


def _wanted(block: _Block, text: str) -> list[tuple[str, str]] | None:
    packages = block.child("WantPackages") or block.child("WantInventory")
    if packages is None:
        literal = block.value("WantPackages")
        if literal not in (None, "nil"):
            return None  # a variable or a helper's result
        return []
    # Items written as helpers' calls, outside the literal items.
    own, pos = [], packages.start
    for _, item in packages.children:
        own.append(text[pos : item.start - 1])
        pos = item.end + 1
    own.append(text[pos : packages.end])
    out = [(m.group(1), m.group(2)) for m in _CALL.finditer(" ".join(own))]
    for _, item in packages.children:
        name = item.value("Name")
        if name is None:
            return None
        out.append((name, item.value("Version") or ""))
    return out


def read_cases(extractor: str, directory: Path) -> list[Case]:
    """The extraction cases of every ``*_test.go`` of an extractor directory."""
    cases: list[Case] = []
    seen: set[tuple[str, str]] = set()
    for test in sorted(directory.glob("*_test.go")):
        source = test.read_text()
        tree = parse_go_literals(source)
        for block in _walk(tree):
            path = _case_path(block)
            if path is None or not path.startswith("testdata/"):
                continue
            keys = {k.lower() for k in block.values} | {k.lower() for k, _ in block.children if k}
            if not keys & {"wantpackages", "wanterr", "wantinventory", "wantresultmetric"}:
                continue  # a FileRequired case: a path, no extraction
            name = block.value("Name") or path
            if (name, path) in seen:
                continue
            seen.add((name, path))
            err = block.value("WantErr")
            want_error = block.child("WantErr") is not None or err not in (None, "nil")
            cases.append(Case(extractor, name, path, want_error, _wanted(block, source)))
    # A case that only checks a result metric ("results are tested in the other files")
    # is no package-list case when another case lists that input's packages.
    listed = {c.path for c in cases if c.want}
    return [c for c in cases if c.want or c.want_error or c.path not in listed]


# ------------------------------------------------------------------ running gatekeeper

# Each peer extractor this measures: the file name its format has in a repository, and how
# a case's sibling inputs are named (go.mod reads the go.sum beside it).
EXTRACTORS: dict[str, str] = {
    "python/requirements": "requirements.txt",
    "python/poetrylock": "poetry.lock",
    "python/pipfilelock": "Pipfile.lock",
    "python/uvlock": "uv.lock",
    "python/pdmlock": "pdm.lock",
    "python/pylock": "pylock.toml",
    "javascript/packagelockjson": "package-lock.json",
    "javascript/yarnlock": "yarn.lock",
    "javascript/pnpmlock": "pnpm-lock.yaml",
    "javascript/bunlock": "bun.lock",
    "golang/gomod": "go.mod",
    "rust/cargolock": "Cargo.lock",
    "ruby/gemfilelock": "Gemfile.lock",
    "java/pomxml": "pom.xml",
    "java/gradlelockfile": "gradle.lockfile",
    "php/composerlock": "composer.lock",
}


# The peer's extractors of these ecosystems whose formats gatekeeper does not read as
# lockfiles, and why (their cases are counted, not run).
NOT_READ: dict[str, str] = {
    "golang/vendormodules": "vendor/modules.txt repeats go.mod's build list (the go command "
    "refuses a vendor directory that disagrees with go.mod, which is read); reading both "
    "would report every finding twice",
    "java/gradleverificationmetadataxml": "gradle/verification-metadata.xml lists every "
    "artifact Gradle ever verified (plugins, build tools, every version seen), not what the "
    "build resolves; gradle.lockfile is read, and this file is a deps/unsupported-lockfile "
    "note",
    "java/gradleversioncatalog": "gradle/libs.versions.toml declares versions (often ranges "
    "or rich versions) for builds to use, like a manifest; what they resolve to is in "
    "gradle.lockfile, which is read",
}

# The cases that differ, each with the reason (a case that differs without one is printed
# as unexplained).
EXPLAINED: dict[tuple[str, str], str] = {
    ("python/requirements", "testdata/env_var.txt"): "`qwert==${MY_VARIABLE_1}`: pip takes "
    "the version from the environment at install time; gatekeeper records the entry as not "
    "pinned by the file (deps/unpinned), the peer leaves it out",
    ("python/requirements", "testdata/per_req_options.txt"): "`foo7==1.0 unexpected_text` "
    "is no valid requirement (pip refuses it): a parse error of that line, where the peer "
    "records version `1.0 unexpected_text_before_options_stays_around`",
    ("javascript/yarnlock", "testdata/exclude-root.v2.lock"): "`@ws/ansi-regex` is a "
    "workspace member (`workspace:` resolution): the repository's own code, recorded as a "
    "project (a dependent), not as a package",
    ("rust/cargolock", "testdata/two-packages-with-local.lock"): "`local-rust-pkg` has no "
    "`source`: a workspace member or path crate, the repository's own code, recorded as a "
    "project",
    ("java/pomxml", "testdata/with-parent.xml"): "`org.dave:dave` is declared by the parent "
    "pom: recorded once, at the parent that declares it (its managed versions and "
    "properties do reach the child)",
    ("java/pomxml", "testdata/multi-version.xml"): "two declarations of one artifact: both "
    "are recorded (Maven warns and uses the last, 1.1.1); the peer keeps only the first",
}

# Other names of the same format (an input named as such keeps its name).
_SAME_FORMAT = {"package-lock.json": ("package-lock.json", "npm-shrinkwrap.json")}


class _CaseSource:
    """The extractor's directory, with the case's input presented under its real file name
    (``case/pdm.lock``) and its siblings beside it (``case/go.sum`` is ``testdata/X.sum``)."""

    def __init__(self, root: Path, case: Case, file_name: str) -> None:
        self.files = DirSource(root, 64 << 20)
        self.case_dir = posixpath.dirname(case.path)
        self.map = {f"case/{file_name}": case.path}
        if file_name == "go.mod":
            stem = case.path.rsplit(".", 1)[0]
            self.map["case/go.sum"] = f"{stem}.sum"

    def read(self, path: str) -> bytes | None:
        real = self.map.get(path)
        if real is None and path.startswith("case/"):
            real = posixpath.join(self.case_dir, path.removeprefix("case/"))
        return self.files.read(real) if real is not None else None


def _entry(pkg: Package) -> tuple[str, str]:
    """(name, version) of one of gatekeeper's entries, in the peer's spelling."""
    name, version = pkg.name, pkg.version or ""
    if pkg.ecosystem == "Go":
        version = version.removeprefix("v")
        kind, _, target = pkg.source.partition(":")
        if kind == "url":
            name = target  # the replacement module: the code that is built
        elif kind == "path":
            name, version = target, ""  # a local replacement, named by its directory
    return _canonical(pkg.ecosystem, name), version


def _ours(
    packages: list[Package], theirs: set[tuple[str, str]]
) -> tuple[set[tuple[str, str]], list[tuple[str, str]]]:
    """gatekeeper's entries as the peer would list them, and those it records beyond the
    peer (a dependency from git, a URL or a path whose name the peer does not list)."""
    listed = {name for name, _ in theirs}
    out: set[tuple[str, str]] = set()
    beyond: list[tuple[str, str]] = []
    for pkg in packages:
        name, version = _entry(pkg)
        if not version and pkg.spec:
            # A range or an unresolved version: the peer writes the version the
            # requirement names where gatekeeper keeps the requirement as written.
            named = [v for n, v in theirs if n == name and v and v in pkg.spec]
            version = named[0] if named else version
        if name not in listed and pkg.source.partition(":")[0] in ("git", "url", "path"):
            beyond.append((name, version))
            continue
        out.add((name, version))
    return out, sorted(set(beyond))


_ECOSYSTEM_OF = {
    "python": "PyPI",
    "javascript": "npm",
    "golang": "Go",
    "rust": "crates.io",
    "ruby": "RubyGems",
    "java": "Maven",
    "php": "Packagist",
}


def _canonical(ecosystem: str, name: str) -> str:
    try:
        return normalize_name(ecosystem, name)
    except KeyError:
        return name


def _theirs(case: Case) -> list[tuple[str, str]]:
    ecosystem = _ECOSYSTEM_OF[case.extractor.split("/")[0]]
    out = []
    for name, version in case.want or []:
        if ecosystem == "Go" and name == "stdlib":
            continue
        out.append((_canonical(ecosystem, name), version))
    return out


@dataclass
class Outcome:
    case: Case
    status: str  # "exact", "differs", "error-expected-ok", "error-missed", "crash", ...
    missing: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    beyond: list[tuple[str, str]] = field(default_factory=list)


def run_case(root: Path, case: Case) -> Outcome:
    file_name = EXTRACTORS[case.extractor]
    if posixpath.basename(case.path) in _SAME_FORMAT.get(file_name, ()):
        file_name = posixpath.basename(case.path)
    source = _CaseSource(root, case, file_name)
    # The files beside it that a package manager would see too (npm-shrinkwrap.json).
    paths = [f"case/{file_name}"]
    paths += [p for p in ("case/npm-shrinkwrap.json",) if p not in paths and source.read(p)]
    try:
        snapshot = scan(source, paths)
    except Exception as exc:
        return Outcome(case, "crash", errors=[f"{type(exc).__name__}: {exc}"])
    errors = [f"{e.line}: {e.message}" for e in snapshot.errors]
    if f"case/{file_name}" not in snapshot.files and not errors:
        # Not read at all: right only where the peer expects nothing either.
        return Outcome(case, "exact" if case.want == [] else "not read")
    if case.want_error and not case.want:
        ok = bool(errors) or not snapshot.packages
        return Outcome(case, "exact" if ok else "error missed", errors=errors)
    if case.want is None:
        return Outcome(case, "no literal expectation")
    theirs = _theirs(case)
    # The case's file and what it includes (requirements ``-r``), not a file beside it.
    mine = [p for p in snapshot.packages if p.file.startswith("case/")]
    mine = [
        p
        for p in mine
        if p.file in (f"case/{file_name}", "case/go.sum")
        or not p.file.endswith(tuple(_SAME_FORMAT.get(file_name, ())))
    ]
    ours, beyond = _ours(mine, set(theirs))
    if case.want_error:
        ok = bool(errors) and ours == set(theirs)
        return Outcome(case, "exact" if ok else "error missed", errors=errors, beyond=beyond)
    if ours == set(theirs):
        return Outcome(case, "exact", errors=errors, beyond=beyond)
    return Outcome(
        case,
        "differs",
        missing=sorted(set(theirs) - ours),
        extra=sorted(ours - set(theirs)),
        errors=errors,
        beyond=beyond,
    )


# ------------------------------------------------------------------ the peer's tree


def _peer_tree(path: Path, work: Path) -> Path:
    """The extractors' directory of a checkout, or of a bare clone unpacked into ``work``."""
    language = "extractor/filesystem/language"
    if (path / language).is_dir():
        return path / language
    dirs = [f"{language}/{extractor}" for extractor in (*EXTRACTORS, *NOT_READ)]
    archive = work / "peer.tar"
    with open(archive, "wb") as handle:
        done = subprocess.run(
            ["git", "--git-dir", str(path), "archive", "HEAD", *dirs],
            check=True,
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
        )
    # A partial mirror lacks some large blobs (binaries elsewhere in the tree); git names
    # them even when they are outside the directories asked for. Only ours matter.
    for line in done.stderr.splitlines():
        if any(f"'{d}/" in line or f"'{d.split('/', 3)[3]}/" in line for d in dirs):
            print(line, file=sys.stderr)
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    return work / language


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scalibr", type=Path, required=True, help="osv-scalibr checkout or bare clone"
    )
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--show-misses", action="store_true", help="print each case that differs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = _peer_tree(args.scalibr, Path(tmp))
        outcomes = [
            run_case(tree / extractor, case)
            for extractor in EXTRACTORS
            for case in read_cases(extractor, tree / extractor)
        ]
        not_read = {e: len(read_cases(e, tree / e)) for e in NOT_READ if (tree / e).is_dir()}
    report(outcomes, args.show_misses, not_read)
    if args.json:
        args.json.write_text(json.dumps([_as_json(o) for o in outcomes], indent=1) + "\n")
    return 0


def _as_json(outcome: Outcome) -> dict[str, object]:
    return {
        "extractor": outcome.case.extractor,
        "case": outcome.case.name,
        "path": outcome.case.path,
        "status": outcome.status,
        "missing": outcome.missing,
        "extra": outcome.extra,
        "errors": outcome.errors,
        "beyond": outcome.beyond,
    }


def report(outcomes: list[Outcome], show: bool, not_read: dict[str, int]) -> None:
    by_extractor: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        by_extractor.setdefault(outcome.case.extractor, Counter())[outcome.status] += 1
    print(f"{'extractor':32} {'cases':>5} {'exact':>5}  other")
    total = exact = 0
    for extractor, counts in by_extractor.items():
        n = sum(counts.values())
        total += n
        exact += counts["exact"]
        other = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "exact")
        print(f"{extractor:32} {n:5} {counts['exact']:5}  {other}")
    print(f"{'all':32} {total:5} {exact:5}  ({100 * exact / max(total, 1):.1f} %)")
    for extractor, count in not_read.items():
        print(f"{extractor:32} {count:5}   not a format read: {NOT_READ[extractor]}")
    print("\ncases that differ:")
    for outcome in outcomes:
        if outcome.status != "exact":
            reason = EXPLAINED.get((outcome.case.extractor, outcome.case.path), "UNEXPLAINED")
            print(f"- {outcome.case.extractor} {outcome.case.path}: {reason}")
    if show:
        for outcome in outcomes:
            if outcome.status != "exact":
                print(
                    f"\n{outcome.case.extractor} {outcome.case.name!r} ({outcome.case.path}): "
                    f"{outcome.status}"
                )
                for label, items in (("missing", outcome.missing), ("extra", outcome.extra)):
                    if items:
                        print(f"  {label}: {items}")
                for error in outcome.errors:
                    print(f"  error {error}")


if __name__ == "__main__":
    raise SystemExit(main())
