"""Opening git repositories with a safe configuration.

SECURITY: a repository being audited is hostile input. Its own config may set
``core.fsmonitor``, ``core.sshCommand``, hooks, ``diff.external`` or filters that run
programs. gatekeeper never lets git run any of them: global and system config are
ignored, and the dangerous keys are overridden through GIT_CONFIG_* variables, which
take precedence over the repository's config.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.errors import CollectionError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

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


def materialize_tree(
    repo: git.Repo, ref: str, dest: Path, max_bytes: int, paths: Iterable[str] | None = None
) -> None:
    """Write the files of ``ref``'s tree into ``dest`` from the object store (only ``paths``,
    those of them the tree has, when given).

    No checkout happens, so no filter, hook or attribute of the repository runs.
    Symlinks are written as plain files holding their target; submodules are skipped.

    Raises:
        CollectionError: the ref does not exist.
    """
    import git

    try:
        tree = repo.commit(ref).tree
    except (git.BadName, ValueError, git.GitError) as exc:
        raise CollectionError(f"{ref}: no such commit in {repo.working_dir}") from exc
    for item in tree.traverse() if paths is None else _tree_items(tree, paths):
        if not isinstance(item, git.Blob):
            continue
        rel = Path(item.path)
        if rel.is_absolute() or ".." in rel.parts:
            continue
        try:
            if item.size > max_bytes:
                continue
            data = item.data_stream.read()
        except (ValueError, git.GitError) as exc:
            # A partial or damaged clone: the blob is not in the object store. Judging the
            # base without it could call a finding new that the base already had, or the
            # reverse, so the run stops here (exit 2) rather than guess.
            raise CollectionError(
                f"{ref}:{item.path}: object {item.hexsha} is missing from the repository "
                f"(a partial or shallow clone?); fetch the base revision's objects (for "
                f"example `git fetch --unshallow` or a clone without --filter), or set "
                f"audits.block_existing: true to judge every finding without the base"
            ) from exc
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _tree_items(tree: git.Tree, paths: Iterable[str]) -> Iterator[object]:
    """The entries of ``tree`` at ``paths`` (a path the tree does not have is left out)."""
    for path in sorted(set(paths)):
        try:
            yield tree / path
        except KeyError:
            continue
