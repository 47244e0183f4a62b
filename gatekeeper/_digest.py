"""Streaming, parallel sha256 hashing of files and directory trees."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

_CHUNK = 1024 * 1024


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hash one file in constant memory (hashlib.file_digest releases the GIL)."""
    with open(path, "rb", buffering=0) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_files(paths: Iterable[str], workers: int | None = None) -> list[str]:
    """Hash many files; small trees in this thread, large ones on a thread pool."""
    paths = list(paths)
    if len(paths) < 64:
        return [sha256_file(p) for p in paths]
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(sha256_file, paths, chunksize=64))


def tree_digest(entries: Iterable[tuple[str, str]]) -> str:
    """The digest of a directory: sha256 over sorted ``<sha256>  <relative path>\\n`` lines.

    The same form ``sha256sum`` prints, so a user can recompute it with
    ``find . -type f | sort | xargs sha256sum | sha256sum``-style tooling.
    """
    hasher = hashlib.sha256()
    for name, digest in sorted(entries):
        hasher.update(f"{digest}  {name}\n".encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()
