"""Recording materials and products: globs and directories under the repository root.

Files are hashed streaming and in parallel. Symlinks are recorded as links (their target
string is hashed), never followed, so nothing outside the tree is read. A directory can be
recorded as one digest over every file below it, so an attestation over 100,000 files
stays small.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from gatekeeper._digest import sha256_files, tree_digest
from gatekeeper._gcpause import collector_paused
from gatekeeper._glob import Glob, compile_glob, static_prefix
from gatekeeper.attest._progress import in_chunks
from gatekeeper.collect.base import never_walked
from gatekeeper.errors import InvalidInput
from gatekeeper.models.statement import TREE_DIGEST_ALG, Artifact


def _through_link(root: Path, rel: str, *, include_last: bool) -> bool:
    """True when a component of ``rel`` (the last one only if ``include_last``) is a symlink.

    SECURITY: ``src/link/etc/**`` with ``src/link -> /`` would otherwise walk and hash files
    outside the tree; a path through a link is not in the tree.
    """
    parts = [p for p in rel.split("/") if p]
    if not include_last:
        parts = parts[:-1]
    current = root
    for part in parts:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except OSError:
            return False  # nothing there: nothing to read either
    return False


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    """The entries of a directory; none when it is gone or not a directory. Raises InvalidInput."""
    try:
        with os.scandir(directory) as it:
            return list(it)
    except (NotADirectoryError, FileNotFoundError):
        return []
    except OSError as exc:
        raise InvalidInput(f"{directory}: cannot read: {exc.strerror or exc}") from exc


def _walk(root: Path, start: str, skip: frozenset[str]) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Yield (relative POSIX path, entry) for files and symlinks below ``root/start``.

    SECURITY: only the exact paths in ``skip`` (``never_walked``: the repository's own
    top-level ``.git`` and the store) are left out; a ``.git`` or ``.gatekeeper`` deeper in
    the tree is recorded like any other file.
    """
    if start and _through_link(root, start, include_last=True):
        return
    stack = [start]
    while stack:
        rel_dir = stack.pop()
        for entry in _entries(root / rel_dir if rel_dir else root):
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if rel in skip:
                continue
            if not entry.is_dir(follow_symlinks=False):
                yield rel, entry
            else:
                stack.append(rel)


def _check_pattern(pattern: str) -> str:
    cleaned = pattern.strip()
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if not cleaned or cleaned.startswith("/") or ".." in cleaned.split("/") or "\x00" in cleaned:
        raise InvalidInput(
            f"{pattern!r}: globs are relative to the repository root and stay inside it"
        )
    return cleaned


def _is_utf8(text: str) -> bool:
    if text.isascii():  # a flag of the string: no encoding needed
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _record(root: Path, names_entries: Iterable[tuple[str, os.DirEntry[str]]]) -> list[Artifact]:
    files: list[tuple[str, str]] = []  # (name, absolute path)
    artifacts: list[Artifact] = []
    for rel, entry in names_entries:
        if not _is_utf8(rel):
            # SECURITY: a statement is UTF-8 JSON; a name that is not UTF-8 cannot be recorded
            # faithfully, and an escaped spelling could collide with a real file's name.
            raise InvalidInput(
                f"{_shown(rel)}: file name is not valid UTF-8; rename the file or "
                "narrow the glob so it does not match"
            )
        # NOTE: the directory listing's own file type (an lstat only where the file system
        # gives none); the hashing checks again, on the open file, that it is regular.
        if entry.is_symlink():
            target = os.readlink(entry.path)
            if not _is_utf8(target):
                raise InvalidInput(f"{rel}: symlink target is not valid UTF-8 ({_shown(target)})")
            digest = hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()
            artifacts.append(
                Artifact(name=rel, digest={"sha256": digest}, kind="symlink", target=target)
            )
        elif entry.is_file(follow_symlinks=False):
            files.append((rel, entry.path))
        # SECURITY: sockets, fifos and devices are never opened.
    paths = [p for _, p in files]
    try:
        # Sizes unknown (0): the hashing routes a large file by its open descriptor.
        digests = in_chunks(sha256_files, paths, [0] * len(paths), "hashing")
    except OSError as exc:
        # SECURITY: a file swapped for a link or a FIFO after the walk is never read.
        detail = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        raise InvalidInput(
            f"a file changed while it was being recorded ({detail}); run attest on a "
            "workspace nothing else writes to during the stage"
        ) from exc
    artifacts.extend(
        Artifact(name=n, digest={"sha256": d}) for (n, _), d in zip(files, digests, strict=True)
    )
    artifacts.sort(key=lambda a: a.name)
    return artifacts


def _candidates(
    root: Path, start: str, skip: frozenset[str]
) -> Iterable[tuple[str, os.DirEntry[str]]]:
    """Files and links a pattern starting at ``start`` can match."""
    if start and _through_link(root, start, include_last=False):
        return []  # a path through a symlink is outside the tree: it matches nothing
    literal = root / start if start else root
    if start and (literal.is_symlink() or literal.is_file()):
        # A pattern naming one file or link directly.
        return [(start, e) for e in _entries(literal.parent) if e.name == literal.name]
    return _walk(root, start, skip)


def _by_start(patterns: list[str]) -> list[tuple[str, list[tuple[str, Glob]]]]:
    """Patterns grouped by where their walk can start, so each subtree is walked once."""
    starts: dict[str, list[tuple[str, Glob]]] = {}
    for pattern in patterns:
        starts.setdefault(static_prefix(pattern), []).append((pattern, compile_glob(pattern)))
    return sorted(starts.items())


def _match(
    root: Path, patterns: list[str], skip: frozenset[str]
) -> tuple[dict[str, os.DirEntry[str]], dict[str, int]]:
    """(path -> entry of every match, pattern -> its number of matches)."""
    matched: dict[str, os.DirEntry[str]] = {}
    hits = dict.fromkeys(patterns, 0)
    for start, regexes in _by_start(patterns):
        for rel, entry in _candidates(root, start, skip):
            for pattern, rx in regexes:
                if rx.match(rel):  # NOTE: every pattern counts its hits, even overlapping ones
                    hits[pattern] += 1
                    matched[rel] = entry
    return matched, hits


def record_globs(
    root: Path,
    patterns: list[str],
    *,
    what: str,
    allow_empty: bool = False,
    store: str | None = None,
) -> list[Artifact]:
    """Every file or symlink matching any of ``patterns``; ``store`` is the ``--store`` of the
    run (its directory, when inside ``root``, is not recorded).

    Raises:
        InvalidInput: a pattern leaves the tree, or matches nothing (unless ``allow_empty``).
    """
    if not patterns:
        return []
    cleaned = [_check_pattern(p) for p in patterns]
    matched, hits = _match(root, cleaned, never_walked(root, store))
    empty = [p for p, n in hits.items() if n == 0]
    if empty and not allow_empty:
        raise InvalidInput(
            f"--{what} {empty[0]!r} matches no file under {root} (globs are relative to the "
            "repository root; pass --allow-empty if that is expected)"
        )
    with collector_paused():
        return _record(root, sorted(matched.items()))


def record_dirs(
    root: Path, dirs: list[str], *, what: str, store: str | None = None
) -> list[Artifact]:
    """One digest per directory over every file and link below it (see ``tree_digest``);
    ``store`` as for ``record_globs``.

    Raises:
        InvalidInput: a directory is missing or outside the tree.
    """
    out = []
    for raw in dirs:
        rel = _check_pattern(raw).rstrip("/")
        path = root / rel
        if _through_link(root, rel, include_last=True) or not path.is_dir():
            raise InvalidInput(f"--{what}-dir {raw!r}: not a directory under {root}")
        with collector_paused():
            entries = _record(root, _walk(root, rel, never_walked(root, store)))
        out.append(dir_artifact(rel, entries))
    return out


def dir_artifact(rel: str, entries: list[Artifact]) -> Artifact:
    """The directory digest of ``entries`` (names relative to the repository root).

    Raises:
        ValueError: an entry has no sha256, or is neither a file nor a link.
    """
    prefix = rel + "/"
    triples = []
    for a in entries:
        if "sha256" not in a.digest:
            raise ValueError(f"{a.name} has no sha256 digest to fold into {prefix}")
        triples.append((a.name.removeprefix(prefix), a.kind, a.digest["sha256"]))
    return Artifact(
        name=prefix,
        digest={TREE_DIGEST_ALG: tree_digest(triples)},
        kind="dir",
        count=len(triples),
    )
