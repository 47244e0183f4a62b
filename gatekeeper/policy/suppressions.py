"""Inline suppressions: a comment on the offending line that excuses one finding there.

The form, in the comment syntax of the file's type::

    run: ./install.sh  # gatekeeper: ignore[pipeline/remote-script] vendored until=2026-06-30
    token = "x"  // gatekeeper: ignore[secrets/generic-assignment] fixture until=2026-01-31
    <version>1.0</version> <!-- gatekeeper: ignore[deps/downgrade] JDK 8 until=2026-03-01 -->

- ``ignore[...]`` names one rule id or several (``ignore[a/x,b/y]``), exactly; no globs.
- A reason and ``until=YYYY-MM-DD`` are required, as for a policy exception; the
  suppression holds through the end of that day (UTC) and excuses nothing afterwards.
- It must sit on the line the finding names, inside a comment the file's type allows (see
  ``comment_openers``). A file that cannot carry a comment (a JSON lockfile, a binary) and
  a finding without a line (a commit, the repository) cannot be suppressed inline: use a
  policy exception. ``source/`` findings (history, reviews, gate changes) never can.
- What every suppression found on a finding's line did is reported (``Suppression``):
  active, expired, invalid, untrusted, disabled or unmatched.

Where the line is read: the audited tree (the index with ``--staged``). ``pr-check`` passes
the base revision as ``trusted_revision``: a suppression counts only when its line, as
written, is already there, so a pull request cannot excuse its own findings (it takes
effect once merged, like a policy change).

Suppressions are a convenience of ``check`` and ``pr-check``; attested findings are judged
by the verifier's policy, which no comment in the tree can change.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from gatekeeper.audit.rule import RULE_ID
from gatekeeper.models.finding import Finding
from gatekeeper.models.suppression import Suppression, SuppressionStatus

if TYPE_CHECKING:
    import git

    from gatekeeper._git import StagedIndex

MARKER = "gatekeeper: ignore["
# Families whose findings are about a line of a file in the tree.
SUPPRESSIBLE_FAMILIES = frozenset({"pipeline", "secrets", "deps", "container"})

_MARKER = re.compile(r"gatekeeper:\s*ignore\[(?P<rules>[^\]]*)\](?P<rest>.*)$")
_UNTIL = re.compile(r"(?:^|\s)until=(?P<date>\S*)")
_CLOSERS = ("*/", "-->")

_HASH = ("#",)
_SLASH = ("//", "/*")
_XML = ("<!--",)
_BY_SUFFIX: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ".yml .yaml .sh .bash .zsh .ksh .py .pyi .rb .pl .toml .cfg .ini .conf .env "
        ".properties .tf .hcl .r .ps1 .psm1 .mk .dockerfile .containerfile .gemspec .cmake "
        ".nix".split(),
        _HASH,
    ),
    **dict.fromkeys(
        ".groovy .gradle .kts .kt .java .js .mjs .cjs .ts .tsx .jsx .go .mod .c .h .cc .cpp "
        ".hpp .cs .rs .swift .scala .dart .proto .jsonc .json5 .jenkinsfile".split(),
        _SLASH,
    ),
    **dict.fromkeys(".xml .html .htm .md .csproj .props".split(), _XML),
    ".php": (*_HASH, *_SLASH),
    ".sql": ("--",),
    ".lua": ("--",),
}
_BY_NAME: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        "makefile gnumakefile gemfile pipfile vagrantfile rakefile brewfile codeowners "
        "allowed_signers .gitignore .dockerignore .npmrc .yarnrc .pypirc .env procfile "
        "yarn.lock cargo.lock poetry.lock uv.lock pdm.lock".split(),
        _HASH,
    ),
    "jenkinsfile": _SLASH,
}
# Lockfiles whose format has no comments, whatever their suffix says.
_NO_COMMENTS = frozenset(
    {"gemfile.lock", "go.sum", "package-lock.json", "pipfile.lock", "composer.lock", "flake.lock"}
)


def comment_openers(path: str, first_line: str = "") -> tuple[str, ...]:
    """The comment openers the type of ``path`` allows (empty: it cannot carry a comment).

    Decided by name and suffix; a file without a known one that starts with ``#!`` (a
    script) takes ``#``.
    """
    name = PurePosixPath(path).name.lower()
    if name in _NO_COMMENTS:
        return ()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.startswith(("dockerfile", "containerfile")) or name.endswith(".dockerfile"):
        return _HASH
    if name.startswith("jenkinsfile"):
        return _SLASH
    if name.startswith(("requirements", "constraints")) and name.endswith((".txt", ".in")):
        return _HASH
    suffix = PurePosixPath(name).suffix
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    return _HASH if first_line.startswith("#!") else ()


@dataclass(frozen=True)
class Marker:
    """One ``gatekeeper: ignore[...]`` comment, parsed; ``problem`` says why it is invalid."""

    rules: tuple[str, ...]
    reason: str
    until: date | None
    problem: str | None


def _in_comment(line: str, start: int, openers: tuple[str, ...]) -> bool:
    """Whether the marker at ``start`` follows one of ``openers`` that opens a comment (at the
    start of the line or after a space), with nothing but spaces in between."""
    head = line[:start].rstrip()
    for opener in openers:
        if head.endswith(opener):
            before = head[: len(head) - len(opener)]
            if not before or before[-1].isspace():
                return True
    return False


def parse_marker(line: str, openers: tuple[str, ...]) -> Marker | None:
    """The suppression on ``line``, or None when the line has none.

    A marker outside a comment the file type allows is returned with a problem, so that the
    report can say why it excuses nothing.
    """
    match = _MARKER.search(line)
    if match is None:
        return None
    index = match.start()
    rules = tuple(r.strip() for r in match.group("rules").split(",") if r.strip())
    rest = match.group("rest").strip()
    for closer in _CLOSERS:
        if rest.endswith(closer):
            rest = rest[: -len(closer)].rstrip()
    until: date | None = None
    problem: str | None = None
    found = _UNTIL.search(rest)
    if found is not None:
        try:
            until = date.fromisoformat(found.group("date"))
        except ValueError:
            problem = f"until={found.group('date')} is not a date (YYYY-MM-DD)"
        rest = (rest[: found.start()] + " " + rest[found.end() :]).strip()
    reason = " ".join(rest.split())
    if not openers:
        problem = "this type of file cannot carry a comment: use a policy exception"
    elif not _in_comment(line, index, openers):
        problem = f"not in a comment ({' or '.join(openers)}) of this type of file"
    elif not rules:
        problem = "ignore[] names no rule id"
    elif bad := [r for r in rules if not RULE_ID.match(r)]:
        problem = f"not a rule id: {bad[0]!r} (ids look like family/name; no globs)"
    elif problem is None and until is None:
        problem = "no until=YYYY-MM-DD: a suppression needs an expiry, as an exception does"
    elif problem is None and not reason:
        problem = "no reason: say why the finding is acceptable"
    return Marker(rules=rules, reason=reason, until=until, problem=problem)


def expired(until: date, now: datetime) -> bool:
    """Whether a suppression ``until`` that date has expired (it holds through its last day)."""
    return now > datetime.combine(until, time(23, 59, 59), tzinfo=UTC)


LineReader = Callable[[str], list[str] | None]


def _split(data: bytes) -> list[str]:
    return [line.rstrip("\r") for line in data.decode("utf-8", "replace").split("\n")]


def work_tree_lines(root: Path, max_bytes: int) -> LineReader:
    """Lines of a file of the tree at ``root``; None for anything but a regular file inside it.

    SECURITY: the path comes from a finding; it is read only if it names a regular file
    below ``root`` (no symbolic link, no ``..``), within the policy's file-size cap.
    """

    def read(rel: str) -> list[str] | None:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            return None
        current = root
        for part in parts:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return None
            if stat.S_ISLNK(mode):
                return None
        if not stat.S_ISREG(mode) or os.lstat(current).st_size > max_bytes:
            return None
        try:
            return _split(current.read_bytes())
        except OSError:
            return None

    return read


class RevisionLines:
    """Lines of a file at a revision (``":"``: the index), read from git's objects.

    No checkout and no filter runs; a link, a submodule or a file over the cap is None.
    The repository is opened on first use (the index through ``StagedIndex``, without
    GitPython); ``close`` releases it.
    """

    def __init__(self, repo_path: Path, revision: str, max_bytes: int) -> None:
        self.repo_path = repo_path
        self.revision = revision
        self.max_bytes = max_bytes
        self._repo: git.Repo | None = None
        self._index: StagedIndex | None = None

    def __call__(self, rel: str) -> list[str] | None:
        if self.revision == ":":
            return self._staged(rel)
        import git

        from gatekeeper._git import open_repo

        if self._repo is None:
            self._repo = open_repo(self.repo_path)
        try:
            node = self._repo.commit(self.revision).tree / rel
        except (KeyError, ValueError, git.GitError):
            return None
        if not isinstance(node, git.Blob) or not stat.S_ISREG(node.mode):
            return None
        if node.size > self.max_bytes:
            return None
        data: bytes = node.data_stream.read()
        return _split(data)

    def _staged(self, rel: str) -> list[str] | None:
        from gatekeeper._git import StagedIndex

        if self._index is None:
            self._index = StagedIndex(self.repo_path)
        entry = self._index.entries.get(rel)
        if entry is None or not stat.S_ISREG(entry[0]):
            return None
        size, data = self._index.read(rel, self.max_bytes)
        return None if size > self.max_bytes else _split(data)

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None
        if self._index is not None:
            self._index.close()
            self._index = None


@dataclass(frozen=True)
class SuppressionSettings:
    """Whether inline suppressions count, and (pr-check) the revision they must come from."""

    inline: bool = True
    trusted_revision: str | None = None


@dataclass(frozen=True)
class Suppressions:
    """Fingerprints an active suppression excuses, and every suppression found (for reports)."""

    excused: frozenset[str]
    records: list[Suppression]


def _cached(reader: LineReader) -> LineReader:
    cache: dict[str, list[str] | None] = {}

    def read(rel: str) -> list[str] | None:
        if rel not in cache:
            cache[rel] = reader(rel)
        return cache[rel]

    return read


def _judge(
    marker: Marker,
    text: str,
    path: str,
    named: list[Finding],
    context: tuple[datetime, SuppressionSettings, LineReader | None],
) -> tuple[SuppressionStatus, str | None]:
    """(status, problem) of a well-placed marker naming ``named`` findings on its line."""
    now, settings, trusted = context
    if marker.problem is not None:
        return "invalid", marker.problem
    if not settings.inline:
        return "disabled", "inline suppressions are turned off in the repository configuration"
    if marker.until is not None and expired(marker.until, now):
        return "expired", f"expired {marker.until.isoformat()}: the finding is not excused"
    if not named:
        return "unmatched", "no finding of the rules it names is on this line"
    unsuppressible = sorted(
        {f.rule for f in named if f.rule.split("/")[0] not in SUPPRESSIBLE_FAMILIES}
    )
    if unsuppressible:
        return "invalid", f"{unsuppressible[0]} findings cannot be suppressed inline"
    if trusted is not None:
        base_lines = trusted(path)
        if base_lines is None or text.strip() not in {b.strip() for b in base_lines}:
            revision = (settings.trusted_revision or "")[:12]
            return (
                "untrusted",
                f"added by the pull request (not in the base revision {revision}): it takes "
                "effect once merged",
            )
    return "active", None


def find_suppressions(
    findings: Iterable[Finding],
    lines: LineReader,
    *,
    now: datetime,
    settings: SuppressionSettings,
    trusted: LineReader | None = None,
) -> Suppressions:
    """Read the suppression on the line of each finding that has a path and a line.

    ``trusted`` reads the trusted revision (pr-check's base): a suppression whose line is not
    there, as written, is ``untrusted``.
    """
    by_line: dict[tuple[str, int], list[Finding]] = {}
    for finding in findings:
        if finding.path and finding.line:
            by_line.setdefault((finding.path, finding.line), []).append(finding)
    read = _cached(lines)
    trusted_read = _cached(trusted) if trusted is not None else None
    excused: set[str] = set()
    records: list[Suppression] = []
    for (path, number), here in sorted(by_line.items()):
        content = read(path)
        if content is None or number > len(content):
            continue
        text = content[number - 1]
        marker = parse_marker(text, comment_openers(path, content[0] if content else ""))
        if marker is None:
            continue
        named = [f for f in here if f.rule in marker.rules]
        status, problem = _judge(marker, text, path, named, (now, settings, trusted_read))
        fingerprints = sorted(f.fingerprint for f in named)
        if status == "active":
            excused.update(fingerprints)
        records.append(
            Suppression(
                path=path,
                line=number,
                rules=list(marker.rules),
                reason=marker.reason,
                until=marker.until,
                status=status,
                problem=problem,
                findings=fingerprints,
            )
        )
    return Suppressions(excused=frozenset(excused), records=records)


__all__ = [
    "MARKER",
    "SUPPRESSIBLE_FAMILIES",
    "LineReader",
    "Marker",
    "RevisionLines",
    "SuppressionSettings",
    "Suppressions",
    "comment_openers",
    "expired",
    "find_suppressions",
    "parse_marker",
    "work_tree_lines",
]
