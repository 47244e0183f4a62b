"""The ``secrets`` collector: credentials in the tree, the staged change, or the range.

- Default: every file of the tree (in a git repository: tracked files plus untracked ones
  that are not ignored; elsewhere: every file ``walk_files`` yields), read through
  ``secrets.text.decode``: UTF-8, UTF-16 and UTF-32 by content, text around stray NULs; a
  file whose content cannot hold text is scanned for credential formats only. Files over
  ``limits.max_file_bytes`` are listed as skipped.
- ``--base``: the tree, plus every line ADDED by each commit of base..head, including
  lines that a later commit of the range deleted again (one streamed ``git log -p``). A
  blob git shows as binary (NULs, UTF-16, a ``-diff``/``binary`` attribute in the
  repository's .gitattributes) is read from the object store and scanned whole.
- ``--staged``: only the blobs staged in the index (the pre-commit hook).

For a private key outside test paths, the files of the tree that name its file are recorded
(``used_by``): the context model lowers key material that only tests use.

SECURITY: the values found never leave this module: hits carry a redacted form and a
sha256 fingerprint. Repository content is only read, never run (no textconv, no filters).
"""

from __future__ import annotations

import re
import secrets as _random
from pathlib import Path, PurePosixPath
from typing import ClassVar

from gatekeeper._git import BlobReader, GitRunner
from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.errors import CollectionError
from gatekeeper.models.secrets import SecretHit, SecretsEvidence, SkippedFile
from gatekeeper.secrets import (
    RawHit,
    decode,
    path_context,
    redact,
    scan_binary,
    scan_text,
    value_fingerprint,
)

# "@@ -a,b +c,d @@", or for a merge's combined diff "@@@ -a,b -c,d +e,f @@@".
_HUNK = re.compile(rb"^(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? \1")
_UNQUOTE = {
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
}
# SECURITY: the repository's config must not change how the diff is printed.
_DIFF_ARGS = (
    "-c",
    "log.showRoot=true",
    "-c",
    "i18n.logOutputEncoding=UTF-8",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.relative=false",
)


def _unquote_path(raw: bytes) -> str:
    """Undo git's C-style quoting of a path (``"dir/a\\tb"``)."""
    if not raw.startswith(b'"'):
        return raw.decode("utf-8", "replace")
    body = raw[1:-1] if raw.endswith(b'"') else raw[1:]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == 0x5C and i + 1 < len(body):  # backslash
            nxt = chr(body[i + 1])
            if nxt in "01234567" and i + 3 < len(body) + 1:
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.extend(_UNQUOTE.get(nxt, nxt).encode())
            i += 2
            continue
        out.append(ch)
        i += 1
    return out.decode("utf-8", "replace")


def _to_hits(
    raw: list[RawHit], path: str, source: str, commit: str | None, line_map: list[int] | None = None
) -> list[SecretHit]:
    hits = []
    seen: set[tuple[str, str]] = set()
    for hit in raw:
        if hit.shape == "placeholder":
            # NOTE: a stand-in is recorded once per file (its finding is one per value and
            # path anyway); a template full of `changeme` must not cost a hit per line.
            if (hit.detector, hit.value) in seen:
                continue
            seen.add((hit.detector, hit.value))
        line = hit.line
        if line_map:
            line = line_map[min(hit.line, len(line_map)) - 1]
        hits.append(
            SecretHit(
                detector=hit.detector,
                path=path,
                line=max(1, line),
                redacted=redact(hit.value),
                fingerprint=value_fingerprint(hit.value),
                source=source,
                commit=commit,
                paired=hit.paired,
                detail=hit.detail,
                shape=hit.shape,
                host=hit.host,
            )
        )
    return hits


def _scan(data: bytes, path: str) -> tuple[list[RawHit], bool]:
    """The hits in a file's content, and whether it was binary (formats only)."""
    decoded = decode(data)
    if decoded.is_binary:
        return scan_binary(data), True
    return scan_text(decoded.text, path), False


class _Scan:
    """Accumulates hits and counters for one collection."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits: list[SecretHit] = []
        self.skipped: list[SkippedFile] = []
        self.files = 0
        self.binary = 0
        self.bytes = 0
        self.commits = 0
        # The tree's files (relative to ``tree_root``): where key files are looked up.
        self.tree_root: Path | None = None
        self.tree_files: list[str] = []

    def content(self, data: bytes, path: str, source: str) -> None:
        raw, binary = _scan(data, path)
        self.files += 1
        self.binary += binary
        self.bytes += len(data)
        self.hits.extend(_to_hits(raw, path, source, None))

    def added_lines(self, commit: str, path: str, lines: list[tuple[int, bytes]]) -> None:
        data = b"\n".join(content for _, content in lines)
        self.bytes += len(data)
        raw, _ = _scan(data, path)
        self.hits.extend(_to_hits(raw, path, "history", commit, [n for n, _ in lines]))

    def blob(self, commit: str, path: str, data: bytes) -> None:
        """A whole blob added or changed by ``commit`` (one git showed as binary)."""
        self.bytes += len(data)
        raw, _ = _scan(data, path)
        self.hits.extend(_to_hits(raw, path, "history", commit))


def _read_file(root: Path, rel: str, scan: _Scan) -> None:
    path = root / rel
    if path.is_symlink() or not path.is_file():
        return
    try:
        with open(path, "rb") as handle:
            data = handle.read(scan.max_bytes + 1)
    except OSError as exc:
        scan.skipped.append(SkippedFile(path=rel, reason=f"unreadable: {exc.strerror or exc}"))
        return
    if len(data) > scan.max_bytes:
        scan.skipped.append(SkippedFile(path=rel, reason=f"larger than {scan.max_bytes} bytes"))
        return
    scan.content(data, rel, "tree")


def _git_tree_files(runner: GitRunner) -> list[str]:
    out = runner.run("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    return sorted({p.decode("utf-8", "replace") for p in out.split(b"\0") if p})


# SECURITY: no textconv, no external diff, no renames and fixed prefixes, whatever the
# repository's configuration says; merges as dense combined diffs.
_LOG_ARGS = (
    "log",
    "-p",
    "--cc",
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--full-index",
)
_DIFF_HEADERS = (b"diff --git ", b"diff --cc ", b"diff --combined ")


class _AddedLines:
    """Reads a streamed ``git log -p --cc -U0``, one line at a time, into the scan.

    Each commit's added lines are scanned per file as one block (with their line numbers in
    the new file). Blobs git shows as binary are remembered in ``hidden``.
    """

    def __init__(self, scan: _Scan, marker: bytes) -> None:
        self.scan = scan
        self.marker = marker
        self.commit: str | None = None
        self.path: str | None = None
        # SECURITY: git prints "Binary files ... differ" instead of the lines for a path that
        # the repository's own .gitattributes marks `-diff` or `binary`; such blobs are judged
        # by content, so an attribute cannot hide a secret added (and removed) in the range.
        self.diff_path: str | None = None
        self.new_blob: bytes | None = None
        self.hidden: dict[tuple[str, str], str] = {}
        self.in_hunk = False
        self.lineno = 0
        self.columns = 1  # prefix columns: 1 for a plain diff, one per parent for a combined diff
        self.block: list[tuple[int, bytes]] = []
        self.size = 0

    def feed(self, line: bytes) -> None:
        if line.startswith(self.marker):
            self._commit(line)
        elif line.startswith(_DIFF_HEADERS):
            self._file(line)
        elif not self.in_hunk:
            self._header(line)
        else:
            self._hunk_line(line)

    def flush(self) -> None:
        if self.commit and self.path and self.block:
            self.scan.added_lines(self.commit, self.path, self.block)
        self.block, self.size = [], 0

    def _commit(self, line: bytes) -> None:
        self.flush()
        self.commit = line[len(self.marker) :].strip().decode()
        self.scan.commits += 1
        self.path, self.in_hunk = None, False

    def _file(self, line: bytes) -> None:
        self.flush()
        self.path, self.in_hunk = None, False
        self.diff_path, self.new_blob = _header_path(line), None

    def _header(self, line: bytes) -> None:
        if line.startswith(b"index "):
            self.new_blob = line.split(b"..", 1)[-1].split()[0] if b".." in line else None
        elif line.startswith(b"Binary files "):
            self._binary()
        elif line.startswith(b"+++ "):
            # NOTE: git ends the line with a TAB when the name holds a space (for patch(1));
            # a TAB in a name itself is always quoted as "\t".
            target = line[4:].rstrip(b"\n").removesuffix(b"\t")
            self.path = None if target == b"/dev/null" else _unquote_path(target).removeprefix("b/")
        elif line.startswith(b"@@"):
            self.in_hunk = self._hunk(line)

    def _binary(self) -> None:
        if self.commit and self.diff_path and self.new_blob and self.new_blob.strip(b"0"):
            self.hidden.setdefault((self.commit, self.diff_path), self.new_blob.decode())

    def _hunk(self, line: bytes) -> bool:
        match = _HUNK.match(line)
        if match is None:
            return False
        self.columns, self.lineno = len(match.group(1)) - 1, int(match.group(2))
        return True

    def _hunk_line(self, line: bytes) -> None:
        prefix = line[: self.columns]
        if line.startswith(b"@@"):
            self._hunk(line)
        elif b"-" in prefix or line.startswith(b"\\"):
            return  # a removed line (or "\ No newline"): not in the result
        elif prefix == b"+" * self.columns:
            self._added(line[self.columns :].rstrip(b"\n"))
            self.lineno += 1
        else:
            self.lineno += 1  # context, or a merge line taken from one parent

    def _added(self, content: bytes) -> None:
        if self.path is None or self.size > self.scan.max_bytes:
            return
        self.size += len(content) + 1
        if self.size > self.scan.max_bytes:
            self.scan.skipped.append(
                SkippedFile(
                    path=self.path,
                    commit=self.commit,
                    reason=f"added lines exceed {self.scan.max_bytes} bytes",
                )
            )
        else:
            self.block.append((self.lineno, content))


def _history(runner: GitRunner, base: str, head: str, scan: _Scan) -> None:
    """Scan every line added by each commit of base..head (streamed ``git log -p -U0``).

    Merge commits are read as dense combined diffs (``--cc``): a line that is in neither
    parent (an "evil merge" or a conflict resolution) is scanned as added by the merge.
    """
    marker = f"\x1eGKCOMMIT{_random.token_hex(12)} ".encode()
    proc = runner.popen(
        *_DIFF_ARGS,
        *_LOG_ARGS,
        f"--format={marker.decode().replace(chr(0x1E), '%x1e')}%H",
        f"{base}..{head}",
        "--",
    )
    assert proc.stdout is not None  # noqa: S101
    reader = _AddedLines(scan, marker)
    try:
        for line in proc.stdout:
            reader.feed(line)
        reader.flush()
    finally:
        code, errors = runner.finish(proc)
    if code != 0:
        raise CollectionError(f"git log -p failed: {errors[:500]}")
    if reader.hidden:
        _hidden_blobs(runner, reader.hidden, scan)


def _header_path(line: bytes) -> str | None:
    """The path of a ``diff --git a/P b/P`` (both halves equal: no renames) or ``diff --cc P``."""
    rest = line.rstrip(b"\n").split(b" ", 2)[2]
    if line.startswith(b"diff --git "):
        half = (len(rest) - 1) // 2
        rest = rest[half + 1 :]
        return _unquote_path(rest).removeprefix("b/") or None
    return _unquote_path(rest) or None


def _hidden_blobs(runner: GitRunner, hidden: dict[tuple[str, str], str], scan: _Scan) -> None:
    """Scan, whole, the blobs git showed as binary: text by content (UTF-16, a stray NUL, a
    ``-diff`` attribute) as text, the others for credential formats, as in the tree."""
    reader = BlobReader(runner)
    try:
        for (commit, path), sha in sorted(hidden.items()):
            size, data = reader.read(sha, scan.max_bytes)
            if size > scan.max_bytes:
                scan.skipped.append(
                    SkippedFile(
                        path=path, commit=commit, reason=f"larger than {scan.max_bytes} bytes"
                    )
                )
                continue
            scan.blob(commit, path, data)
    finally:
        reader.close()


def _staged(runner: GitRunner, scan: _Scan) -> None:
    out = runner.run(
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
    ).stdout
    parts = out.split(b"\0")
    entries: list[tuple[str, str]] = []
    for i in range(0, len(parts) - 1, 2):
        meta = parts[i].decode("utf-8", "replace").lstrip(":").split(" ")
        if len(meta) != 5:
            continue
        _old_mode, new_mode, _old, new_sha, status = meta
        if status.startswith("D") or new_mode not in ("100644", "100755"):
            continue
        entries.append((parts[i + 1].decode("utf-8", "replace"), new_sha))
    if not entries:
        return
    reader = BlobReader(runner)
    try:
        for path, sha in sorted(entries):
            size, data = reader.read(sha, scan.max_bytes)
            if size > scan.max_bytes:
                scan.skipped.append(
                    SkippedFile(path=path, reason=f"larger than {scan.max_bytes} bytes")
                )
                continue
            scan.content(data, path, "staged")
    finally:
        reader.close()


def _resolve(runner: GitRunner, ref: str, what: str) -> str:
    sha = runner.rev(ref)
    if sha is None:
        shallow = runner.run("rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        hint = (
            "this is a shallow clone: `git fetch --unshallow` (or `git fetch --depth=N`)"
            if shallow
            else f"fetch it (e.g. `git fetch origin {ref.removeprefix('origin/')}`)"
        )
        raise CollectionError(f"{what} {ref!r} is not a commit in this repository; {hint}")
    return sha


def _walk_plain(root: Path, max_files: int, scan: _Scan) -> None:
    """Every file of a directory that is not a git repository (up to ``max_files``)."""
    scan.tree_root = root
    for count, rel in enumerate(walk_files(root, max_files + 1), start=1):
        if count > max_files:
            scan.skipped.append(
                SkippedFile(path="(more files)", reason=f"over the {max_files}-file limit")
            )
            break
        scan.tree_files.append(rel)
        _read_file(root, rel, scan)


def _tree_files(runner: GitRunner, root: Path, top: Path) -> tuple[Path, list[str]]:
    """Tracked and untracked-but-not-ignored files; below the top of the repository, only
    the directory asked for (like the other tree collectors), with paths relative to it."""
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    files = _git_tree_files(runner)
    if prefix:
        files = [f[len(prefix) + 1 :] for f in files if f.startswith(prefix + "/")]
    return (top / prefix if prefix else top), files


def _read_tree(runner: GitRunner, root: Path, top: Path, max_files: int, scan: _Scan) -> None:
    base, files = _tree_files(runner, root, top)
    if len(files) > max_files:
        # SECURITY: never a silent partial scan: the note names what was left out.
        scan.skipped.append(
            SkippedFile(
                path=f"({len(files) - max_files} more files)",
                reason=f"over the {max_files}-file limit",
            )
        )
        files = files[:max_files]
    scan.tree_root, scan.tree_files = base, files
    for rel in files:
        _read_file(base, rel, scan)


# The most files recorded as naming one key file; more are counted as "not all known".
_MAX_KEY_USERS = 20


# A key block that starts within the first lines of its file is a key file (a PEM file may
# open with a comment or a certificate); one further down is inline in code or config.
_KEY_FILE_FIRST_LINES = 5


def _key_file_names(scan: _Scan) -> set[str]:
    """Names of the key files outside test, example and docs paths (those are lowered by
    their path already): only a file that is a key is used by naming it."""
    return {
        PurePosixPath(hit.path).name
        for hit in scan.hits
        if hit.detector == "private-key"
        and hit.line <= _KEY_FILE_FIRST_LINES
        and path_context(hit.path) is None
    }


def _users(scan: _Scan, names: set[str], limit: int) -> dict[str, list[str]]:
    """The files of the tree that name each key file (its file name as a word)."""
    users: dict[str, list[str]] = {name: [] for name in names}
    if scan.tree_root is None:
        return users
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    # A whole name: not part of a longer one (`alice` is not in `alice.pub` or `malice`).
    pattern = re.compile(r"(?<![\w.-])(" + alternatives + r")(?![\w-]|\.\w)")
    key_paths = {h.path for h in scan.hits if h.detector == "private-key"}
    for rel in scan.tree_files:
        if rel in key_paths:
            continue
        path = scan.tree_root / rel
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        decoded = decode(data)
        if decoded.is_binary:
            continue
        for name in set(pattern.findall(decoded.text)):
            users[name].append(rel)
    return users


def _record_key_use(scan: _Scan) -> None:
    """Which files of the tree name each private key's file (``SecretHit.used_by``)."""
    names = _key_file_names(scan)
    if not names:
        return
    users = _users(scan, names, scan.max_bytes)
    for index, hit in enumerate(scan.hits):
        if hit.detector != "private-key" or hit.line > _KEY_FILE_FIRST_LINES:
            continue
        name = PurePosixPath(hit.path).name
        if name not in names:
            continue
        found = sorted(users[name])
        scan.hits[index] = hit.model_copy(
            update={
                "used_by": found[:_MAX_KEY_USERS],
                "used_by_all": len(found) <= _MAX_KEY_USERS,
            }
        )


class SecretsCollector:
    kind: ClassVar[str] = "secrets"

    def collect(self, ctx: CollectContext) -> SecretsEvidence:
        """Raises CollectionError: --base/--staged on a non-repository, or a missing ref."""
        root = Path(ctx.repo)
        scan = _Scan(ctx.limits.max_file_bytes)
        top = ctx.work_tree_top
        if top is None:
            if ctx.base is not None or ctx.staged:
                raise CollectionError(
                    f"{root}: not a git repository, so --base/--staged have nothing to compare"
                )
            _walk_plain(root, ctx.limits.max_files, scan)
            return self._evidence(scan, "tree")
        return self._collect_repo(ctx, GitRunner(top), top)

    def _collect_repo(self, ctx: CollectContext, runner: GitRunner, top: Path) -> SecretsEvidence:
        scan = _Scan(ctx.limits.max_file_bytes)
        if ctx.staged:
            _staged(runner, scan)
            if _key_file_names(scan):
                scan.tree_root, scan.tree_files = _tree_files(runner, Path(ctx.repo), top.resolve())
            return self._evidence(scan, "staged")
        _read_tree(runner, Path(ctx.repo), top.resolve(), ctx.limits.max_files, scan)
        if ctx.base is None:
            return self._evidence(scan, "tree")
        base = _resolve(runner, ctx.base, "base")
        head = _resolve(runner, ctx.head, "head")
        _history(runner, base, head, scan)
        return self._evidence(scan, "tree", base=ctx.base, base_commit=base, head=head)

    @staticmethod
    def _evidence(scan: _Scan, mode: str, **extra: str) -> SecretsEvidence:
        _record_key_use(scan)
        hits = sorted(
            scan.hits,
            key=lambda h: (h.path, h.line, h.detector, h.source, h.commit or "", h.fingerprint),
        )
        notes = []
        if scan.skipped:
            notes.append(
                f"secrets: {len(scan.skipped)} file(s) not scanned (too large or unreadable): "
                + ", ".join(sorted({s.path for s in scan.skipped})[:10])
            )
        return SecretsEvidence(
            mode=mode,
            files_scanned=scan.files,
            bytes_scanned=scan.bytes,
            binary_files=scan.binary,
            commits_scanned=scan.commits,
            hits=hits,
            skipped=sorted(scan.skipped, key=lambda s: (s.path, s.commit or "")),
            notes=notes,
            **extra,
        )
