"""The decision log of a directory store: ``STORE/log/decisions.jsonl``.

Appended under an exclusive ``fcntl.flock`` with fsync, so concurrent verifies on one
machine serialise and lose nothing. A damaged tail (a torn or malformed last line) is
never appended to: ``gatekeeper log verify`` names it first.

SECURITY: ``log/`` and the log file are opened relative to the store's directory handles,
never through a link (``gatekeeper.store._dirfd``): a committed symlink cannot make verify
append outside the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import StoreError
from gatekeeper.models.decision import (
    GENESIS,
    MAX_LINE_BYTES,
    MAX_LOG_BYTES,
    DecisionEntry,
    PolicyMark,
    entry_line,
    line_digest,
    split_lines,
)
from gatekeeper.store._dirfd import StoreRoot, open_file
from gatekeeper.store.base import Appended, Decision

LOG_DIR = ("log",)
LOG_NAME = "decisions.jsonl"


class FileDecisionLog:
    """``STORE/log/decisions.jsonl``, appended under an exclusive flock with fsync."""

    def __init__(self, dirs: StoreRoot) -> None:
        self.dirs = dirs
        self.path = dirs.root.joinpath(*LOG_DIR, LOG_NAME)

    def _open(self, flags: int, *, create: bool) -> int | None:
        """The log file, opened without following links; None when absent (reading).

        Raises:
            StoreError: a link or a non-file in its place, or it cannot be opened.
        """
        with self.dirs.directory(LOG_DIR, create=create) as dir_fd:
            if dir_fd is None:
                return None
            try:
                return open_file(dir_fd, LOG_NAME, flags, str(self.path))
            except FileNotFoundError:
                return None

    def append(self, decision: Decision) -> Appended:
        """Raises StoreError when the log cannot be written or its tail is damaged."""
        fd = self._open(os.O_RDWR | os.O_CREAT | os.O_APPEND, create=True)
        if fd is None:
            raise StoreError(f"{self.path}: cannot open the decision log")
        with os.fdopen(fd, "r+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                last = self._last(handle.fileno())
                if last is None:
                    entry = decision.entry(0, GENESIS)
                else:
                    head, head_line = last
                    entry = decision.entry(
                        head.seq + 1, line_digest(head_line), inherited=head.policies
                    )
                line = entry_line(entry)
                # SECURITY: one write of the whole line under the lock, then fsync: a reader
                # (or a crash) never sees half an entry followed by another writer's line.
                os.write(handle.fileno(), line + b"\n")
                os.fsync(handle.fileno())
            except OSError as exc:
                raise StoreError(
                    f"{self.path}: cannot append to the decision log: {exc.strerror or exc}"
                ) from exc
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return Appended(entry=entry, digest=line_digest(line), where=str(self.path))

    def _last(self, fd: int) -> tuple[DecisionEntry, bytes] | None:
        """The last entry and its line; None for an empty log. Raises StoreError (damaged)."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        if size > MAX_LOG_BYTES:
            raise StoreError(
                f"{self.path}: the decision log is larger than {MAX_LOG_BYTES} bytes; rotate it"
            )
        start = max(0, size - MAX_LINE_BYTES - 1)
        os.lseek(fd, start, os.SEEK_SET)
        chunk = b""
        while len(chunk) < size - start:
            part = os.read(fd, size - start - len(chunk))
            if not part:
                break
            chunk += part
        if not chunk.endswith(b"\n"):
            raise StoreError(
                f"{self.path}: the decision log ends in a partial line; refusing to "
                "append (run `gatekeeper log verify`)"
            )
        body = chunk[:-1]
        cut = body.rfind(b"\n")
        if cut < 0 and start > 0:
            raise StoreError(
                f"{self.path}: the last decision-log line is longer than {MAX_LINE_BYTES} bytes"
            )
        last = body[cut + 1 :]
        try:
            entry = DecisionEntry.model_validate(loads_json_strict(last))
        except (ValueError, ValidationError) as exc:
            raise StoreError(
                f"{self.path}: the last decision-log entry is malformed; refusing to "
                "append (run `gatekeeper log verify`)"
            ) from exc
        return entry, last

    def marks(self) -> dict[str, PolicyMark]:
        """The policy serials the last entry carries (read under a shared lock)."""
        fd = self._open(os.O_RDONLY, create=False)
        if fd is None:
            return {}
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            last = self._last(fd)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)
        return dict(last[0].policies or {}) if last is not None else {}

    def lines(self) -> list[bytes]:
        fd = self._open(os.O_RDONLY, create=False)
        if fd is None:
            return []
        try:
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_LOG_BYTES + 1)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if len(data) > MAX_LOG_BYTES:
            raise StoreError(f"{self.path}: larger than {MAX_LOG_BYTES} bytes")
        return split_lines(data)
