"""Paths inside a directory store, opened relative to directory handles, never through links.

SECURITY: the default store ``.gatekeeper/`` sits in the checkout, whose content is not
trusted. A committed symlink for the store, for ``envelopes/`` or for the decision log would
make ``attest`` or ``verify`` write (or read) outside the store. Every component below the
store's root is opened with ``O_NOFOLLOW`` relative to the handle of the directory above it
(``openat``), files are created with ``O_EXCL``/``O_NOFOLLOW`` and renamed within one
directory handle, and FIFOs are never waited on (``O_NONBLOCK``). A link, or anything that is
not the directory or regular file the store expects, is refused with a ``StoreError`` naming
it. The store's root itself must not be a link either; the directories above it are the
runner's (as given on the command line).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from gatekeeper.errors import StoreError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC


def _refusal(shown: str, exc: OSError, what: str, verb: str = "cannot open") -> StoreError:
    if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader (O_NONBLOCK)
        return StoreError(f"{shown}: {verb}: not a regular file (the store expects {what})")
    if exc.errno == errno.ELOOP:
        return StoreError(
            f"{shown}: {verb}: a symlink where the store expects {what} (refused: a store is "
            "never used through a link)"
        )
    if exc.errno == errno.ENOTDIR:
        return StoreError(f"{shown}: {verb}: not a directory (the store expects {what})")
    return StoreError(f"{shown}: {verb}: {exc.strerror or exc}")


def _as_link(exc: OSError, dir_fd: int | None, name: str) -> OSError:
    """``exc`` as ELOOP when ``name`` is a link (``O_DIRECTORY`` may report ENOTDIR first)."""
    if exc.errno != errno.ENOTDIR:
        return exc
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        return exc
    return OSError(errno.ELOOP, "a symlink") if stat.S_ISLNK(mode) else exc


class StoreRoot:
    """The root of a directory store, and directories below it by path components."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        self.root = Path(text.rstrip("/") or "/")

    def shown(self, parts: Sequence[str]) -> str:
        return str(self.root.joinpath(*parts))

    def _open_root(self, create: bool) -> int | None:
        if create:
            try:
                os.makedirs(self.root, exist_ok=True)
            except FileExistsError:
                pass  # a link or a file: the open below says which
            except OSError as exc:
                raise StoreError(
                    f"{self.root}: cannot create the store: {exc.strerror or exc}"
                ) from exc
        try:
            return os.open(self.root, _DIR_FLAGS)
        except FileNotFoundError:
            if create:
                raise StoreError(f"{self.root}: cannot create the store") from None
            return None
        except OSError as exc:
            raise _refusal(
                str(self.root), _as_link(exc, None, str(self.root)), "the store's directory"
            ) from exc

    def open_dir(self, parts: Sequence[str], *, create: bool) -> int | None:
        """A handle on ``ROOT/parts...`` (the caller closes it); None when it does not exist
        and ``create`` is false.

        Raises:
            StoreError: a component is a link or not a directory, or cannot be created.
        """
        fd = self._open_root(create)
        for i, part in enumerate(parts):
            if fd is None:
                return None
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    os.close(fd)
                    raise StoreError(
                        f"{self.shown(parts[: i + 1])}: cannot create: {exc.strerror or exc}"
                    ) from exc
            try:
                child: int | None = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                child = None
            except OSError as exc:
                raise _refusal(
                    self.shown(parts[: i + 1]), _as_link(exc, fd, part), "a directory"
                ) from exc
            finally:
                os.close(fd)
            if child is None and create:
                raise StoreError(f"{self.shown(parts[: i + 1])}: cannot create")
            fd = child
        return fd

    @contextlib.contextmanager
    def directory(self, parts: Sequence[str], *, create: bool) -> Iterator[int | None]:
        """``open_dir`` as a context; the handle is closed on exit."""
        fd = self.open_dir(parts, create=create)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    @contextlib.contextmanager
    def made(self, parts: Sequence[str]) -> Iterator[int]:
        """A handle on ``ROOT/parts...``, created as needed. Raises StoreError."""
        fd = self.open_dir(parts, create=True)
        if fd is None:
            raise StoreError(f"{self.shown(parts)}: cannot create")
        try:
            yield fd
        finally:
            os.close(fd)


def open_file(dir_fd: int, name: str, flags: int, shown: str, mode: int = 0o644) -> int:
    """Open ``name`` in ``dir_fd`` without following a link or waiting on a FIFO; it must be a
    regular file.

    Raises:
        FileNotFoundError: it does not exist (and ``flags`` do not create it).
        StoreError: a link, a FIFO, a directory, or any other failure.
    """
    verb = "cannot write" if flags & (os.O_WRONLY | os.O_RDWR) else "cannot read"
    try:
        fd = os.open(name, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, mode, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _refusal(shown, exc, "a file", verb) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreError(f"{shown}: {verb}: not a regular file")
    return fd


def read_file(dir_fd: int, name: str, limit: int, shown: str) -> bytes:
    """At most ``limit`` bytes of a regular file in ``dir_fd``.

    Raises:
        FileNotFoundError: it does not exist.
        StoreError: anything else (see ``open_file``).
    """
    fd = open_file(dir_fd, name, os.O_RDONLY, shown)
    try:
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, min(1 << 20, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise StoreError(f"{shown}: cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def entry_kind(dir_fd: int, name: str) -> int | None:
    """The ``st_mode`` of ``name`` in ``dir_fd`` (not following a link); None when absent."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


def write_atomic(dir_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``name`` in ``dir_fd``: a new temp file, fsync, rename (a link there is replaced,
    never followed). Raises OSError."""
    tmp = f".tmp-{secrets.token_hex(8)}"
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode, dir_fd=dir_fd
    )
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    fsync_dir(dir_fd)


def touch(dir_fd: int, name: str, shown: str) -> None:
    """Create an empty marker ``name`` in ``dir_fd`` if absent (never through a link, never
    blocking on a FIFO). Raises StoreError."""
    try:
        fd = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
            0o644,
            dir_fd=dir_fd,
        )
    except OSError as exc:
        raise _refusal(shown, exc, "an index marker", "cannot write") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreError(f"{shown}: not a regular file (refused: the store expects a marker)")
    finally:
        os.close(fd)


def fsync_dir(dir_fd: int) -> None:
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # NOTE: some filesystems refuse fsync on directories; the entries exist either way
