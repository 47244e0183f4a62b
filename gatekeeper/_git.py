"""Running git, and opening git repositories, with a safe configuration.

SECURITY: a repository being audited is hostile input. Its own config may set
``core.fsmonitor``, ``core.sshCommand``, hooks, ``diff.external`` or filters that run
programs. gatekeeper never lets git run any of them: global and system config are
ignored, and the dangerous keys are overridden through GIT_CONFIG_* variables, which
take precedence over the repository's config.

``GitRunner``, ``BlobReader`` and ``StagedIndex`` run the git command line directly and do
not load GitPython, which costs a process tens of milliseconds to import (the pre-commit
hook and ``check`` read git through them). ``open_repo`` gives a GitPython repository to
``pr-check`` and to reading a file at a revision.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gatekeeper.errors import CollectionError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from hashlib import _Hash

    import git

_SAFE_OVERRIDES = {
    "core.fsmonitor": "false",
    "core.hooksPath": os.devnull,
    "core.sshCommand": "false",
    "core.gitProxy": "",
    "core.askPass": "",
    "diff.external": "",
    "core.pager": "cat",
    "protocol.allow": "never",
    "protocol.file.allow": "never",
    "uploadpack.packObjectsHook": "",
    "credential.helper": "",
    "gpg.program": "gpg",
    "gpg.openpgp.program": "gpg",
    "gpg.x509.program": "gpgsm",
    "gpg.ssh.program": "ssh-keygen",
    "safe.directory": "*",
}


def safe_git_env() -> dict[str, str]:
    env = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_EXTERNAL_DIFF": "",
        "GIT_PAGER": "cat",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_OPTIONAL_LOCKS": "0",
    }
    env["GIT_CONFIG_COUNT"] = str(len(_SAFE_OVERRIDES))
    for i, (key, value) in enumerate(_SAFE_OVERRIDES.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


# Per-driver keys a repository (or its .gitattributes) can point at a program.
_DRIVER_KEY = re.compile(
    r"^(?:filter\.[^\n]+\.(?:clean|smudge|process)"
    r"|diff\.[^\n]+\.(?:command|textconv)|merge\.[^\n]+\.driver)$",
    re.IGNORECASE,
)


def repo_safe_env(workdir: str | os.PathLike[str]) -> dict[str, str]:
    """``safe_git_env()`` plus an empty override for every filter, diff and merge driver
    the repository's config defines.

    SECURITY: ``.gitattributes`` can bind any path to a driver named in the repository's
    config (``filter.x.clean``, ``diff.x.textconv``, ...); the names are arbitrary, so they
    are read first (``git config --list`` executes nothing) and each is set to the empty
    string, which git treats as "no filter" (and refuses to run as a diff program).
    """
    env = safe_git_env()
    try:
        listed = subprocess.run(
            ["git", "config", "--list", "--name-only", "-z"],  # noqa: S607
            cwd=workdir,
            env={**os.environ, **env},
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CollectionError(f"{workdir}: cannot read the repository's git config: {exc}") from exc
    names = sorted(
        {n for n in listed.stdout.decode("utf-8", "replace").split("\0") if _DRIVER_KEY.match(n)}
    )
    count = int(env["GIT_CONFIG_COUNT"])
    for i, name in enumerate(names, start=count):
        env[f"GIT_CONFIG_KEY_{i}"] = name
        env[f"GIT_CONFIG_VALUE_{i}"] = ""
    env["GIT_CONFIG_COUNT"] = str(count + len(names))
    return env


def work_tree_top(path: str | os.PathLike[str]) -> Path | None:
    """The top of the git work tree ``path`` (a directory) is in, or None outside one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],  # noqa: S607
            cwd=path,
            env={**os.environ, **safe_git_env()},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = result.stdout.strip()
    return Path(top) if result.returncode == 0 and top else None


# SECURITY: verification programs are pinned on the command line as well: the repository's
# own config could otherwise name a program for x509 signatures (gpg.x509.program) that
# git would run while verifying a crafted commit.
VERIFY_CONFIG = (
    "-c",
    "gpg.program=gpg",
    "-c",
    "gpg.openpgp.program=gpg",
    "-c",
    "gpg.x509.program=gpgsm",
    "-c",
    "gpg.ssh.program=ssh-keygen",
    "-c",
    "log.showSignature=false",
    "-c",
    "core.quotePath=false",
)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class GitRunner:
    """Runs git (never a repository program) in one repository with the safe environment."""

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        extra_config: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = str(workdir)
        self.env = {**os.environ, **safe_git_env(), **(extra_env or {})}
        self.extra_config = extra_config
        self._errors: dict[int, IO[bytes]] = {}

    def argv(self, *args: str) -> list[str]:
        return ["git", *VERIFY_CONFIG, *self.extra_config, *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(  # noqa: S603 - fixed git argv, no shell, safe config
            self.argv(*args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise CollectionError(
                f"git {' '.join(args[:3])} failed: {_decode(proc.stderr).strip()[:500]}"
            )
        return proc

    def popen(self, *args: str, stdin: bool = False) -> subprocess.Popen[bytes]:
        """Start git with stdout piped; stderr goes to a temp file (read by ``finish``).

        NOTE: git can write a line to stderr per commit (e.g. one per SSH signature it
        cannot check); a stderr pipe nobody reads would fill up and deadlock the stream.
        """
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(  # noqa: S603 - fixed git argv, no shell, safe config
            self.argv(*args),
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        self._errors[proc.pid] = errors
        return proc

    def finish(self, proc: subprocess.Popen[bytes]) -> tuple[int, str]:
        """Close the pipes, wait, and return (exit code, the tail of stderr)."""
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        code = proc.wait()
        errors = self._errors.pop(proc.pid)
        try:
            errors.seek(0, os.SEEK_END)
            errors.seek(max(0, errors.tell() - 4096))
            tail = _decode(errors.read()).strip()
        finally:
            errors.close()
        return code, tail

    def rev(self, ref: str) -> str | None:
        proc = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        return _decode(proc.stdout).strip() or None if proc.returncode == 0 else None


class BlobReader:
    """One ``git cat-file --batch`` process; reads blobs bounded to what the audits need."""

    def __init__(self, runner: GitRunner) -> None:
        self.runner = runner
        self.proc = runner.popen("cat-file", "--batch", stdin=True)

    def read(self, sha: str, keep: int, digest: _Hash | None = None) -> tuple[int, bytes]:
        """(size, first ``keep`` bytes). The rest is streamed through and dropped; every byte
        of the object goes into ``digest`` when one is given."""
        assert self.proc.stdin is not None and self.proc.stdout is not None  # noqa: S101
        self.proc.stdin.write(sha.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline()
        parts = header.split()
        if len(parts) != 3:
            raise CollectionError(f"git cat-file: object {sha} is missing ({_decode(header)!r})")
        size = int(parts[2])
        kept = self.proc.stdout.read(min(size, keep))
        if digest is not None:
            digest.update(kept)
        remaining = size - len(kept)
        while remaining > 0:
            got = self.proc.stdout.read(min(remaining, 1 << 20))
            if not got:
                raise CollectionError(f"git cat-file: truncated object {sha}")
            if digest is not None:
                digest.update(got)
            remaining -= len(got)
        self.proc.stdout.read(1)  # the newline after the content
        return size, kept

    def close(self) -> None:
        code, errors = self.runner.finish(self.proc)
        if code != 0:
            raise CollectionError(f"git cat-file failed: {errors[:500]}")


GITLINK_MODE = 0o160000


class StagedIndex:
    """The files staged in the git index (stage 0), as ``git ls-files --stage`` lists them
    (so ``GIT_INDEX_FILE``, a split or a sparse index count as git counts them), with their
    blobs read through one ``git cat-file --batch`` on first use. Raises CollectionError
    outside a git work tree.
    """

    def __init__(self, path: str | os.PathLike[str], top: Path | None = None) -> None:
        """``top``: the work tree's top when the caller knows it (``path`` is in it)."""
        top = top or work_tree_top(path)
        if top is None:
            raise CollectionError(f"{path}: not a git repository")
        self.top = top
        self.runner = GitRunner(top)
        listed = self.runner.run("ls-files", "--stage", "-z", "--full-name").stdout
        self.entries: dict[str, tuple[int, str]] = {}
        for record in listed.split(b"\0"):
            meta, tab, name = record.partition(b"\t")
            fields = meta.split(b" ")
            if not tab or len(fields) != 3 or fields[2] != b"0":
                continue  # the trailing empty record, or a conflict stage
            self.entries[_decode(name)] = (int(fields[0], 8), _decode(fields[1]))
        self._reader: BlobReader | None = None

    def read(self, rel: str, keep: int, digest: _Hash | None = None) -> tuple[int, bytes]:
        """(size, first ``keep`` bytes) of the blob staged at ``rel`` (see ``BlobReader``).
        Raises KeyError when nothing is staged there, CollectionError when git cannot read it.
        """
        _mode, sha = self.entries[rel]
        if self._reader is None:
            self._reader = BlobReader(self.runner)
        return self._reader.read(sha, keep, digest)

    def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.close()


def open_repo(path: str | os.PathLike[str], *, search_parent: bool = True) -> git.Repo:
    """Open the repository at (or above) ``path`` with git's dangerous hooks disabled.

    Raises:
        CollectionError: ``path`` is not inside a git repository.
    """
    import git

    try:
        repo = git.Repo(Path(path), search_parent_directories=search_parent)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise CollectionError(f"{path}: not a git repository") from exc
    repo.git.update_environment(**repo_safe_env(repo.working_tree_dir or repo.git_dir))
    return repo


def head_commit(path: str | os.PathLike[str]) -> str | None:
    """The commit checked out at ``path``, or None outside a repository / before the first commit.

    Uses one ``git rev-parse`` under the safe configuration (cheaper than loading GitPython).
    """
    env = {**os.environ, **safe_git_env()}
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],  # noqa: S607
            cwd=path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = result.stdout.strip()
    if result.returncode != 0 or len(sha) not in (40, 64):
        return None
    return sha


def commit_runner(workdir: str | os.PathLike[str], ref: str) -> tuple[GitRunner, str]:
    """A runner at the top of the work tree ``workdir`` is in, and the commit ``ref`` names.

    Raises:
        CollectionError: not a repository, or no such commit.
    """
    top = work_tree_top(workdir)
    if top is None:
        raise CollectionError(f"{workdir}: not a git repository")
    runner = GitRunner(top)
    commit = runner.rev(ref)
    if commit is None:
        raise CollectionError(f"{ref}: no such commit in {top}")
    return runner, commit


def tree_blobs(
    runner: GitRunner, commit: str, *, sizes: bool = False
) -> list[tuple[str, int, str, int]]:
    """(path, mode, blob id, size) of every blob in ``commit``'s tree, from one
    ``git ls-tree``; a submodule's commit is left out. The size is -1 unless ``sizes``
    (which has git read each object's header)."""
    listed = runner.run("ls-tree", "-r", "-z", "--full-tree", *(["-l"] if sizes else []), commit)
    out: list[tuple[str, int, str, int]] = []
    for record in listed.stdout.split(b"\0"):
        meta, tab, name = record.partition(b"\t")
        fields = meta.split()
        if not tab or len(fields) != (4 if sizes else 3) or fields[1] != b"blob":
            continue  # the trailing empty record, or a submodule's commit
        size = int(fields[3]) if sizes else -1
        out.append((_decode(name), int(fields[0], 8), _decode(fields[2]), size))
    return out


def materialize_tree(
    workdir: str | os.PathLike[str],
    ref: str,
    dest: Path,
    max_bytes: int,
    paths: Iterable[str] | None = None,
) -> None:
    """Write the files of ``ref``'s tree, in the repository ``workdir`` is in, into ``dest``
    from the object store (only ``paths``, those of them the tree has, when given).

    No checkout happens, so no filter, hook or attribute of the repository runs: one
    ``git ls-tree`` lists the tree and one ``git cat-file --batch`` reads its blobs.
    Symlinks are written as plain files holding their target; submodules are skipped, and
    so are a path that would leave ``dest`` and a file over ``max_bytes``.

    Raises:
        CollectionError: not a repository, the ref does not exist, or a blob is missing.
    """
    runner, commit = commit_runner(workdir, ref)
    wanted = None if paths is None else set(paths)
    blobs = [
        (path, sha)
        for path, _mode, sha, _size in tree_blobs(runner, commit)
        if wanted is None or path in wanted
    ]
    _write_blobs(runner, blobs, dest, max_bytes, f"{ref}:", _MISSING_BASE_HINT)


def materialize_index(
    workdir: str | os.PathLike[str], dest: Path, max_bytes: int, max_files: int
) -> None:
    """Write the files staged in the index below ``workdir`` (paths relative to it) into
    ``dest``, as ``materialize_tree`` writes a commit's: from the object store, without a
    checkout, a filter or a submodule. A file over ``max_bytes`` is written as a sparse file
    of its size (its content is not read), so that a collector's size cap names it as it
    would in the work tree: an oversized staged file is reported, never silently left out.

    Raises:
        CollectionError: not a repository, more than ``max_files`` files, or a blob is missing.
    """
    index = StagedIndex(workdir)
    try:
        here, top = Path(workdir).resolve(), index.top.resolve()
        prefix = "" if here == top else f"{here.relative_to(top).as_posix()}/"
        blobs = [
            (path[len(prefix) :], sha)
            for path, (mode, sha) in sorted(index.entries.items())
            if path.startswith(prefix) and mode != GITLINK_MODE
        ]
        if len(blobs) > max_files:
            raise CollectionError(
                f"{workdir}: {len(blobs)} files staged, over the {max_files}-file limit"
            )
        _write_blobs(index.runner, blobs, dest, max_bytes, ":", "", keep_size=True)
    finally:
        index.close()


# A partial or damaged clone: a blob of the base is not in the object store. Judging the base
# without it could call a finding new that the base already had, or the reverse, so the run
# stops (exit 2) rather than guess.
_MISSING_BASE_HINT = (
    "; fetch the base revision's objects (for example `git fetch --unshallow` or a clone "
    "without --filter), or set audits.block_existing: true to judge every finding without "
    "the base"
)


def _write_blobs(
    runner: GitRunner,
    blobs: list[tuple[str, str]],
    dest: Path,
    max_bytes: int,
    where: str,
    hint: str,
    *,
    keep_size: bool = False,
) -> None:
    """Write each (path, blob id) into ``dest``; ``where`` names the revision in errors and
    ``hint`` ends the message for a missing blob. A blob over ``max_bytes`` is left out, or
    with ``keep_size`` written as a sparse file of its size."""
    reader: BlobReader | None = None
    try:
        for path, sha in blobs:
            rel = Path(path)
            if rel.is_absolute() or ".." in rel.parts:
                continue
            reader = reader or BlobReader(runner)
            try:
                size, data = reader.read(sha, max_bytes)
            except CollectionError as exc:
                raise CollectionError(
                    f"{where}{path}: object {sha} is missing from the repository "
                    f"(a partial or shallow clone?){hint}"
                ) from exc
            if size > max_bytes and not keep_size:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if size > max_bytes:
                with open(target, "wb") as handle:
                    handle.truncate(size)
            else:
                target.write_bytes(data)
    finally:
        if reader is not None:
            reader.close()
