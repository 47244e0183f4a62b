"""Opening git repositories with a safe configuration.

SECURITY: a repository being audited is hostile input. Its own config may set
``core.fsmonitor``, ``core.sshCommand``, hooks, ``diff.external`` or filters that run
programs. gatekeeper never lets git run any of them: global and system config are
ignored, and the dangerous keys are overridden through GIT_CONFIG_* variables, which
take precedence over the repository's config.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.errors import CollectionError

if TYPE_CHECKING:
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
    repo.git.update_environment(**safe_git_env())
    return repo


def head_commit(path: str | os.PathLike[str]) -> str | None:
    """The commit checked out at ``path``, or None outside a repository / before the first commit.

    Uses one ``git rev-parse`` under the safe configuration (cheaper than loading GitPython).
    """
    env = {**os.environ, **safe_git_env()}
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],  # noqa: S607
            cwd=path, env=env, capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = result.stdout.strip()
    if result.returncode != 0 or len(sha) not in (40, 64):
        return None
    return sha


def materialize_tree(repo: git.Repo, ref: str, dest: Path, max_bytes: int) -> None:
    """Write the files of ``ref``'s tree into ``dest`` from the object store.

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
    for item in tree.traverse():
        if not isinstance(item, git.Blob):
            continue
        if item.size > max_bytes:
            continue
        rel = Path(item.path)
        if rel.is_absolute() or ".." in rel.parts:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data_stream.read())
