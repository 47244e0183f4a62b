"""The base of a range is read through the git command line: ``check --base`` finds what the
range changed in the lockfiles without loading GitPython (tens of milliseconds a run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest

from gatekeeper._git import GitRunner
from gatekeeper.deps.gittree import GitTreeSource
from gatekeeper.deps.parsing import LockfileError
from tests.conftest import commit_files

SCRIPT = (
    "import sys\n"
    "from gatekeeper.cli import main\n"
    "code = main(['check', sys.argv[1], *sys.argv[2:], '--format', 'json'])\n"
    "print(code, 'git' in sys.modules, file=sys.stderr)\n"
)


def _check(root: Path, *args: str) -> tuple[dict, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(proc.stdout), proc.stderr.split()[-2:]


def test_check_base_reads_the_base_lockfiles_without_gitpython(git_repo: git.Repo) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    base = commit_files(git_repo, {"svc/requirements.txt": "requests==2.31.0\n"}, "pin").hexsha
    commit_files(git_repo, {"svc/requirements.txt": "requests==2.30.0\n"}, "back")
    report, (code, loaded) = _check(root, "--base", base, "--only", "deps")
    assert loaded == "False"
    downgrades = [f for f in report["findings"] if f["rule"] == "deps/downgrade"]
    assert [f["path"] for f in downgrades] == ["svc/requirements.txt"]
    assert code in ("0", "1")


def test_the_base_reader_caps_skips_links_and_reads_below_the_directory(
    git_repo: git.Repo,
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    big = "".join(f"pkg{i}==1.0.{i}\n" for i in range(200))
    (root / "svc").mkdir()
    (root / "svc" / "linked.txt").symlink_to("../requirements.txt")
    git_repo.index.add(["svc/linked.txt"])
    commit = commit_files(
        git_repo,
        {"requirements.txt": big, "svc/requirements.txt": "pkg0==1.0.0\n", "svc/app.py": "x\n"},
        "lockfiles",
    ).hexsha
    runner = GitRunner(root)
    whole = GitTreeSource(runner, commit, "", max_bytes=len(big) - 1)
    below = GitTreeSource(runner, commit, "svc", max_bytes=len(big) - 1)
    try:
        assert whole.paths() == ["requirements.txt", "svc/requirements.txt"]
        with pytest.raises(LockfileError, match=f"larger than the {len(big) - 1}-byte limit"):
            whole.read("requirements.txt")
        assert below.paths() == ["requirements.txt"]
        assert below.read("requirements.txt") == b"pkg0==1.0.0\n"
        assert below.read("linked.txt") is None  # a link is never followed
        assert below.read("missing.txt") is None
    finally:
        whole.close()
        below.close()
