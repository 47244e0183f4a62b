"""The pipeline collector (kind ``pipeline``): the build controller, file by file.

Walks the tree (a git work tree or a plain directory: ``check --base`` runs it on a base
tree materialized from git objects) and records, with its sha256 and size, every file that
the build-controller catalogue (``gatekeeper.collect.build_files``) names: workflows and
actions, Jenkinsfiles, GitLab CI files (with their local includes), Dockerfiles, build
scripts and the build files of make, Gradle, Maven, sbt, Ant, Bazel, Nix and other CI
systems. Workflows, Jenkinsfiles and GitLab CI files are parsed into models with lines;
shell-like build scripts contribute their network-related command lines. With ``--staged``
(the pre-commit hook) the files are read as staged in the git index, not from the work tree.

SECURITY: nothing is executed and symlinks are never followed. Files over the size limit
are hashed but not parsed (a parse error says so), so a 2 GB file cannot exhaust memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gatekeeper._git import GITLINK_MODE, StagedIndex
from gatekeeper._glob import match_path
from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.collect._yaml_lines import YamlLinesError
from gatekeeper.collect.base import THIRD_PARTY_DIRS, CollectContext, never_walked, walk_files
from gatekeeper.collect.build_files import BuildFiles, build_file_kind
from gatekeeper.collect.github_actions import parse_action, parse_workflow
from gatekeeper.collect.gitlab_ci import GitlabParseError, parse_gitlab_ci
from gatekeeper.errors import CollectionError
from gatekeeper.models.pipeline import (
    BuildScript,
    FileKind,
    GitlabCi,
    GitlabInclude,
    Jenkinsfile,
    ParseError,
    PipelineEvidence,
    PipelineFile,
    ScriptLine,
    Workflow,
)

_SHELLISH = (".sh", ".bash", ".ps1", ".bat", ".cmd", ".mk")
_SHELLISH_NAMES = frozenset({"makefile", "gnumakefile", "justfile", ".justfile", "build.sh"})
# Network and TLS-related commands worth recording from build scripts.
_NETWORK_WORDS = re.compile(
    r"curl|wget|\biwr\b|\birm\b|invoke-webrequest|invoke-restmethod|downloadstring|"
    r"\bgit\b|\bpip3?\b|\bnpm\b|\byarn\b|\bpnpm\b|apt(?:-get)?\b|\byum\b|\bdnf\b|\bzypper\b|"
    r"\bapk\b|ssl|tls|insecure|gpgcheck|unauthenticated|trusted-host|\bcertificate",
    re.IGNORECASE,
)
MAX_COMMANDS_PER_SCRIPT = 2000
# SECURITY: CI definitions are kilobytes; parsing is capped well below the general file limit
# so that a crafted multi-megabyte workflow costs seconds, not minutes (it is still hashed,
# and reported as a parse error).
MAX_DEFINITION_BYTES = 2 * 1024 * 1024
MAX_GITLAB_INCLUDES = 100


def classify(path: str) -> FileKind | None:
    """The kind of pipeline file ``path`` is, or None (judged from the path alone)."""
    return build_file_kind(path)


def _hash_file(path: Path, limit: int) -> tuple[str, int, bytes | None]:
    """(sha256, size, content) in one pass; content is None when over ``limit`` bytes.

    SECURITY: one read, so the digest recorded is the digest of the bytes parsed and
    audited: a file rewritten between a hashing pass and a parsing pass cannot pair an
    approved digest with other content.
    """
    digest = hashlib.sha256()
    size = 0
    kept: list[bytes] | None = []
    # SECURITY: a fifo (or device) named like a pipeline file would block the read forever;
    # never follow a link swapped in after the walk either.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path}: not a regular file")
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
            if kept is not None:
                if size > limit:
                    kept = None  # hashed to the end, not kept
                else:
                    kept.append(chunk)
    return digest.hexdigest(), size, None if kept is None else b"".join(kept)


def _join_continuations(text: str) -> list[ScriptLine]:
    """Logical lines (``\\``-continued lines joined) with the line where each starts."""
    out: list[ScriptLine] = []
    pending: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\") or stripped.endswith("`"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        logical = " ".join(part.strip() for part in pending).strip()
        pending = []
        if logical:
            out.append(ScriptLine(text=logical, line=start))
    if pending:
        out.append(ScriptLine(text=" ".join(p.strip() for p in pending), line=start))
    return out


def _build_script_commands(path: str, text: str) -> tuple[BuildScript, ParseError | None]:
    """The script's network-related lines, and a parse error when there are too many.

    SECURITY: past the cap a line is not audited, so the overflow is a parse error (a
    finding), never a silent cut: 2,000 harmless `git` lines must not hide a `curl | sh`.
    """
    commands = [
        line
        for line in _join_continuations(text)
        if not line.text.lstrip().startswith(("#", "//", "REM ", "rem ", "::"))
        and _NETWORK_WORDS.search(line.text)
    ]
    error = None
    if len(commands) > MAX_COMMANDS_PER_SCRIPT:
        first = commands[MAX_COMMANDS_PER_SCRIPT]
        error = ParseError(
            message=f"{len(commands)} network-related command lines, over the "
            f"{MAX_COMMANDS_PER_SCRIPT} recorded; from line {first.line} on, "
            "not audited",
            line=first.line,
        )
    return BuildScript(path=path, commands=commands[:MAX_COMMANDS_PER_SCRIPT]), error


def _is_shellish(path: str) -> bool:
    lower = path.rsplit("/", 1)[-1].lower()
    return (
        lower.endswith(_SHELLISH)
        or lower in _SHELLISH_NAMES
        or lower.startswith(("taskfile.", "makefile."))
    )


@dataclass(frozen=True)
class _Blob:
    sha256: str
    size: int
    data: bytes | None  # None when over the limit (hashed, not kept)
    link_target: str | None = None  # set for a symbolic link (never followed)


class _WorkTree:
    """Files of a directory (a git work tree or a plain directory)."""

    def __init__(self, root: Path, max_files: int) -> None:
        self.root = root
        self.max_files = max_files

    def paths(self) -> list[str]:
        return list(walk_files(self.root, self.max_files))

    def read(self, rel: str, limit: int) -> _Blob:
        full = self.root / rel
        if full.is_symlink():
            # SECURITY: never follow a link out of (or around) the tree; record the link itself.
            target = os.readlink(full)
            raw = os.fsencode(target)
            return _Blob(hashlib.sha256(raw).hexdigest(), len(raw), None, target)
        try:
            digest, size, data = _hash_file(full, limit)
        except OSError as exc:
            raise CollectionError(f"{rel}: cannot read: {exc.strerror or exc}") from exc
        return _Blob(digest, size, data)


class _Index:
    """Files as staged in the git index (``--staged``, the pre-commit hook)."""

    def __init__(self, root: Path, top: Path | None) -> None:
        self.index = StagedIndex(root, top)

    def paths(self) -> list[str]:
        # The same paths a walk of the work tree would give (see ``walk_files``); a
        # submodule's pointer is not a file of this repository.
        skip = never_walked(self.index.top)
        return sorted(
            path
            for path, (mode, _sha) in self.index.entries.items()
            if mode != GITLINK_MODE and not _skipped(path, skip)
        )

    def read(self, rel: str, limit: int) -> _Blob:
        digest = hashlib.sha256()
        size, kept = self.index.read(rel, limit, digest)
        if stat.S_ISLNK(self.index.entries[rel][0]):
            return _Blob(digest.hexdigest(), size, None, kept.decode("utf-8", "replace"))
        return _Blob(digest.hexdigest(), size, kept if size <= limit else None)

    def close(self) -> None:
        self.index.close()


def _skipped(path: str, skip: frozenset[str]) -> bool:
    parts = path.split("/")
    return any("/".join(parts[: i + 1]) in skip for i in range(len(parts))) or any(
        part in THIRD_PARTY_DIRS for part in parts[:-1]
    )


class PipelineCollector:
    kind: ClassVar[str] = "pipeline"

    def collect(self, ctx: CollectContext) -> PipelineEvidence:
        """Raises CollectionError when the path is not a directory (or, with --staged, not a
        git repository)."""
        root = Path(ctx.repo)
        if not root.is_dir():
            raise CollectionError(f"{root}: not a directory")
        if ctx.staged:
            index = _Index(root, ctx.work_tree_top)
            try:
                return self._collect(index, ctx)
            finally:
                index.close()
        return self._collect(_WorkTree(root, ctx.limits.max_files), ctx)

    def _collect(self, source: _WorkTree | _Index, ctx: CollectContext) -> PipelineEvidence:
        all_paths = source.paths()
        files: dict[str, PipelineFile] = {}
        workflows: list[Workflow] = []
        jenkinsfiles: list[Jenkinsfile] = []
        gitlab: list[GitlabCi] = []
        build_scripts: list[BuildScript] = []
        notes: list[str] = []
        catalogue = BuildFiles(all_paths)
        for rel in all_paths:
            kind = catalogue.kind(rel)
            if kind is None:
                continue
            entry, text = self._read(source, rel, kind, ctx)
            if text is not None and entry.parse_error is None:
                entry = self._parse(entry, text, workflows, jenkinsfiles, gitlab, build_scripts)
            files[rel] = entry
        _GitlabIncludes(self, source, ctx, all_paths, files, gitlab, notes).resolve()
        return PipelineEvidence(
            files=[files[p] for p in sorted(files)],
            workflows=sorted(workflows, key=lambda w: w.path),
            jenkinsfiles=sorted(jenkinsfiles, key=lambda j: j.path),
            gitlab=sorted(gitlab, key=lambda g: g.path),
            build_scripts=sorted(build_scripts, key=lambda b: b.path),
            notes=sorted(set(notes)),
        )

    def _read(
        self, source: _WorkTree | _Index, rel: str, kind: FileKind, ctx: CollectContext
    ) -> tuple[PipelineFile, str | None]:
        parsed_kind = kind in ("github-workflow", "github-action", "jenkinsfile", "gitlab-ci")
        limit = ctx.limits.max_file_bytes
        if parsed_kind:
            limit = min(limit, MAX_DEFINITION_BYTES)
        blob = source.read(rel, limit)
        if blob.link_target is not None:
            error = None
            if parsed_kind:
                error = ParseError(
                    message=f"is a symbolic link (to {blob.link_target!r}); not followed"
                )
            return PipelineFile(
                path=rel, kind=kind, sha256=blob.sha256, size=blob.size, parse_error=error
            ), None
        if blob.data is None:
            error = (
                ParseError(message=f"{blob.size} bytes, over the {limit}-byte limit; not parsed")
                if parsed_kind
                else None
            )
            return PipelineFile(
                path=rel, kind=kind, sha256=blob.sha256, size=blob.size, parse_error=error
            ), None
        entry = PipelineFile(path=rel, kind=kind, sha256=blob.sha256, size=blob.size)
        if not parsed_kind:
            return entry, blob.data.decode("utf-8", errors="replace")
        try:
            return entry, blob.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = blob.data[: exc.start].count(b"\n") + 1
            return entry.model_copy(
                update={"parse_error": ParseError(message="not valid UTF-8", line=line)}
            ), None

    def _parse(
        self,
        entry: PipelineFile,
        text: str,
        workflows: list[Workflow],
        jenkinsfiles: list[Jenkinsfile],
        gitlab: list[GitlabCi],
        build_scripts: list[BuildScript],
    ) -> PipelineFile:
        try:
            if entry.kind == "github-workflow":
                workflows.append(parse_workflow(entry.path, text))
            elif entry.kind == "github-action":
                workflows.append(parse_action(entry.path, text))
            elif entry.kind == "jenkinsfile":
                # NOTE: imported here: most trees have no Jenkinsfile, and the Groovy reader
                # costs every run a few milliseconds to import.
                from gatekeeper.collect.jenkinsfile import parse_jenkinsfile

                jenkinsfiles.append(parse_jenkinsfile(entry.path, text))
            elif entry.kind == "gitlab-ci":
                gitlab.append(parse_gitlab_ci(entry.path, text))
            elif entry.kind == "build-script" and _is_shellish(entry.path):
                script, error = _build_script_commands(entry.path, text)
                if script.commands:
                    build_scripts.append(script)
                if error is not None:
                    return entry.model_copy(update={"parse_error": error})
        except FileParseError as exc:  # every parser's (YAML, workflow, GitLab, Jenkins)
            return entry.model_copy(
                update={"parse_error": ParseError(message=exc.message, line=exc.line)}
            )
        return entry


@dataclass
class _GitlabIncludes:
    """Follows the local files that GitLab CI files include (globs too; cycles are fine)."""

    collector: PipelineCollector
    source: _WorkTree | _Index
    ctx: CollectContext
    all_paths: list[str]
    files: dict[str, PipelineFile]
    gitlab: list[GitlabCi]
    notes: list[str]
    followed: int = 0

    def resolve(self) -> None:
        """Raises CollectionError past ``MAX_GITLAB_INCLUDES`` local includes."""
        queue = list(self.gitlab)
        seen = {g.path for g in self.gitlab}
        while queue:
            config = queue.pop(0)
            for include in config.includes:
                if include.kind != "local":
                    continue
                for target in self._targets(config, include):
                    if target in seen:
                        continue
                    seen.add(target)
                    included = self._follow(config, target)
                    if included is not None:
                        queue.append(included)

    def _targets(self, config: GitlabCi, include: GitlabInclude) -> list[str]:
        """The files a local include names; a missing one is the including file's parse error."""
        pattern = include.target.lstrip("/")
        if "$" in pattern:
            self.notes.append(
                f"{config.path}:{include.line}: local include {include.target!r} uses a "
                "variable; not followed"
            )
            return []
        if any(c in pattern for c in "*?["):
            targets = [p for p in self.all_paths if match_path(pattern, p)]
        else:
            targets = [pattern] if pattern in self.all_paths else []
        entry = self.files.get(config.path)
        if not targets and entry is not None and entry.parse_error is None:
            error = ParseError(
                message=f"local include {include.target!r} does not exist", line=include.line
            )
            self.files[config.path] = entry.model_copy(update={"parse_error": error})
        return targets

    def _follow(self, config: GitlabCi, target: str) -> GitlabCi | None:
        """Read and parse one included file; the parsed file, or None when it does not parse."""
        self.followed += 1
        if self.followed > MAX_GITLAB_INCLUDES:
            raise CollectionError(f"{config.path}: more than {MAX_GITLAB_INCLUDES} local includes")
        entry, text = self.collector._read(self.source, target, "gitlab-ci", self.ctx)
        included = None
        if text is not None and entry.parse_error is None:
            try:
                included = parse_gitlab_ci(target, text, included_from=config.path)
            except (YamlLinesError, GitlabParseError) as exc:
                error = ParseError(message=exc.message, line=exc.line)
                entry = entry.model_copy(update={"parse_error": error})
        self.files[target] = entry
        if included is not None:
            self.gitlab.append(included)
        return included


__all__ = ["PipelineCollector", "classify"]
