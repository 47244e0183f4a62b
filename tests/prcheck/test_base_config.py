"""pr-check: the repository configuration and inline suppressions come from the base revision.

A pull request must not choose how it is judged: neither by editing .gatekeeper.yaml (which
names the policy and the baseline, and sets block_at and what is audited) nor by adding a
`gatekeeper: ignore[...]` comment to the line it makes blocking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.prcheck.conftest import make_event

WORKFLOW = (
    "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
    "      - run: echo ${{ github.event.issue.title }}{comment}\n"
)
SUPPRESS = "  # gatekeeper: ignore[pipeline/template-injection] our issues only until=2099-12-31"
LAX = "version: 1\nname: lax\nexpires: 2099-01-01T00:00:00Z\naudits:\n  block_at: critical\n"


@pytest.fixture
def git_repo(git_repo: git.Repo) -> Iterator[git.Repo]:
    yield git_repo
    git_repo.close()


def _pr_check(
    repo: git.Repo, tmp_path: Path, base: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any]]:
    head = repo.head.commit.hexsha
    event = make_event(tmp_path, base, head)
    code = main(
        [
            "pr-check",
            str(repo.working_tree_dir),
            "--event",
            str(event),
            "--no-report",
            "--format",
            "json",
            *extra,
        ]
    )
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, report


def _branch(repo: git.Repo, files: dict[str, str]) -> str:
    """Commit ``files`` on main (the base), then branch off; returns the base commit."""
    commit_files(repo, files, "base")
    base = repo.head.commit.hexsha
    repo.git.checkout("-b", "feature")
    return base


def test_a_pull_request_cannot_suppress_its_own_finding(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _branch(git_repo, {"src/app.py": "x = 1\n"})
    workflow = WORKFLOW.replace("{comment}", SUPPRESS)
    commit_files(git_repo, {".github/workflows/ci.yml": workflow}, "adds a suppressed finding")
    code, report = _pr_check(git_repo, tmp_path, base, capsys)
    assert code == 1, report
    (item,) = report["suppressions"]
    assert item["status"] == "untrusted" and "added by the pull request" in item["problem"]
    # The same check outside a pull request honours the suppression.
    assert main(["check", str(git_repo.working_tree_dir), "--only", "pipeline"]) == 0


def test_a_suppression_already_in_the_base_is_honoured(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The policy the base revision has blocks at critical, so the suppressed line could be
    # merged; the pull request raises the bar (base config: block_at high) and touches nothing.
    workflow = WORKFLOW.replace("{comment}", SUPPRESS)
    base = _branch(git_repo, {".github/workflows/ci.yml": workflow})
    commit_files(git_repo, {"docs/notes.md": "more\n"}, "docs")
    code, report = _pr_check(git_repo, tmp_path, base, capsys, "--only", "pipeline")
    assert code == 0, report
    statuses = {s["status"] for s in report["suppressions"]}
    assert statuses <= {"active"}


def test_the_base_configuration_may_trust_pull_request_suppressions(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = "version: 1\nsuppressions: {from_pull_requests: true}\n"
    base = _branch(git_repo, {".gatekeeper.yaml": config})
    workflow = WORKFLOW.replace("{comment}", SUPPRESS)
    commit_files(git_repo, {".github/workflows/ci.yml": workflow}, "suppressed finding")
    code, report = _pr_check(git_repo, tmp_path, base, capsys, "--only", "pipeline")
    assert code == 0, report
    assert [s["status"] for s in report["suppressions"]] == ["active"]


def test_the_configuration_is_the_base_revisions(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The base configures a strict run (block_at medium, pipeline audits); the pull request
    # rewrites the configuration to a lax policy and adds a finding.
    base = _branch(
        git_repo,
        {
            ".gatekeeper.yaml": "version: 1\nblock_at: medium\nonly: [pipeline]\n",
            "policies/lax.yaml": LAX,
        },
    )
    commit_files(
        git_repo,
        {
            ".gatekeeper.yaml": "version: 1\npolicy: policies/lax.yaml\n"
            "suppressions: {from_pull_requests: true}\n",
            ".github/workflows/ci.yml": WORKFLOW.replace("{comment}", SUPPRESS),
        },
        "relax the gate",
    )
    code, report = _pr_check(git_repo, tmp_path, base, capsys)
    assert code == 1
    assert report["block_at"] == "medium" and report["kinds"] == ["pipeline"]
    assert report["policy"] == "default"
    notes = " ".join(report["notes"])
    assert f"configuration read from the base revision {base[:12]}:.gatekeeper.yaml" in notes
    findings = report["findings"]
    gate = [f for f in findings if f["rule"] == "source/gate-change"]
    assert gate and gate[0]["path"] == ".gatekeeper.yaml"
    (item,) = report["suppressions"]
    assert item["status"] == "untrusted"


def test_the_base_configuration_names_the_policy_read_from_the_base(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _branch(
        git_repo,
        {".gatekeeper.yaml": "version: 1\npolicy: policies/ci.yaml\n", "policies/ci.yaml": LAX},
    )
    commit_files(git_repo, {"policies/ci.yaml": LAX.replace("critical", "info")}, "stricter?")
    code, report = _pr_check(git_repo, tmp_path, base, capsys, "--only", "pipeline")
    assert report["policy"] == "lax" and report["block_at"] == "critical"
    assert code == 0  # the policy change is a high gate-change finding: below critical
    # --block-at may only make the base's policy stricter.
    code, report = _pr_check(
        git_repo, tmp_path, base, capsys, "--only", "pipeline", "--block-at", "high"
    )
    assert report["block_at"] == "high" and code == 1
    assert (
        main(
            [
                "pr-check",
                str(git_repo.working_tree_dir),
                "--base",
                base,
                "--no-config",
                "--block-at",
                "critical",
                "--no-report",
            ]
        )
        == 2
    )


def test_an_invalid_base_configuration_is_a_usage_error(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _branch(git_repo, {".gatekeeper.yaml": "version: 1\nblock_at: medum\n"})
    commit_files(git_repo, {".gatekeeper.yaml": "version: 1\n"}, "fix it in the head")
    head = git_repo.head.commit.hexsha
    code = main(
        [
            "pr-check",
            str(git_repo.working_tree_dir),
            "--event",
            str(make_event(tmp_path, base, head)),
            "--no-report",
        ]
    )
    assert code == 2
    assert f"{base[:12]}:.gatekeeper.yaml: invalid configuration" in capsys.readouterr().err
    assert (
        main(
            [
                "pr-check",
                str(git_repo.working_tree_dir),
                "--event",
                str(make_event(tmp_path, base, head)),
                "--no-report",
                "--no-config",
                "--format",
                "json",
            ]
        )
        != 2
    )
