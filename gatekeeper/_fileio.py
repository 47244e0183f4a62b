"""Atomic writes, bounded reads and strict parsing of JSON (YAML: ``gatekeeper._yaml``).

SECURITY: every file gatekeeper reads may be crafted. JSON with duplicate keys is
rejected (parsers that disagree on duplicates are a classic signature bypass).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from gatekeeper.errors import InvalidInput

DEFAULT_MAX_READ = 64 * 1024 * 1024


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via temp file, fsync and rename: readers see all or nothing."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_output(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Write a file the user named for output (a report, an SBOM, an exported key).

    A regular file, or a new one, is written atomically. A device or pipe the user named
    (``/dev/null``, ``/dev/stdout``, a process substitution's ``/dev/fd/N``) is written to as
    it is: renaming a temporary file over it would replace the device node itself.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        with open(path, "wb") as handle:
            handle.write(data)
        return
    atomic_write(path, data, mode)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # NOTE: some filesystems refuse fsync on directories; the rename already happened
    finally:
        os.close(fd)


def read_bounded(path: str | os.PathLike[str], limit: int = DEFAULT_MAX_READ) -> bytes:
    """Read a whole file, refusing one larger than ``limit`` bytes.

    Raises:
        InvalidInput: the file is missing, unreadable or too large.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise InvalidInput(f"{path}: larger than the {limit}-byte limit")
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads_json_strict(data: bytes | str) -> Any:
    """Parse JSON, rejecting duplicate keys, NaN/Infinity and invalid UTF-8.

    Raises:
        ValueError: the text is not strict JSON.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    else:
        data.encode("utf-8")  # a str with lone surrogates: UnicodeEncodeError, a ValueError
    try:
        result = json.loads(
            data, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except RecursionError as exc:
        # SECURITY: 10,000 nested brackets must be a parse error, not an internal error.
        raise ValueError("JSON nested too deeply") from exc
    if _SURROGATE_ESCAPE.search(data):
        _reject_lone_surrogates(result)
    return result


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_lone_surrogates(value: Any) -> None:
    """SECURITY: ``"\\ud800"`` is valid JSON syntax but not Unicode text (RFC 7493): it cannot
    be written back as UTF-8, so a report or a store key built from it would crash."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    "a \\u escape encodes a lone surrogate (not Unicode text)"
                ) from exc
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """Deterministic JSON: sorted keys, no trailing spaces, a final newline when indented."""
    text = json.dumps(
        obj,
        sort_keys=True,
        indent=indent,
        ensure_ascii=False,
        separators=(",", ": ") if indent else (",", ":"),
    )
    return text + "\n" if indent else text
