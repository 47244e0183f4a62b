"""pr-check on GitHub's default checkout: the merge commit of the head into the target branch.

``actions/checkout`` without ``ref:`` checks out ``refs/pull/N/merge``: a merge commit whose
first parent is the target branch as GitHub merged it and whose second parent is the pull
request's head. The target branch may have moved on since the pull request was opened; what
landed there is not the pull request's change and must not be judged as if it were.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.prcheck.conftest import make_event

OUTSIDER = git.Actor("Ops Elsewhere", "ops@elsewhere.example")
GITHUB = git.Actor("GitHub", "noreply@github.com")
# Template injection in a workflow: a high pipeline finding wherever it is introduced.
RISKY_WORKFLOW = """\
name: triage
on: pull_request_target
permissions:
  contents: read
jobs:
  label:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _merge_ref(repo: git.Repo, target: str, head: str) -> str:
    """What GitHub builds for refs/pull/N/merge: target first, head second, by GitHub."""
    repo.git.checkout("--detach", target)
    env = {
        "GIT_AUTHOR_NAME": GITHUB.name,
        "GIT_AUTHOR_EMAIL": GITHUB.email,
        "GIT_COMMITTER_NAME": GITHUB.name,
        "GIT_COMMITTER_EMAIL": GITHUB.email,
    }
    with repo.git.custom_environment(**env):
        repo.git.merge("--no-ff", "-m", f"Merge {head} into {target}", head)
    return repo.head.commit.hexsha


def _policy(tmp_path: Path) -> Path:
    """A policy outside the repository that allows only the team's identities."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nname: team\nexpires: 2099-01-01\n"
        "audits:\n  allowed_identities: ['*@example.invalid']\n"
    )
    return path


class _Scenario:
    """main at F; the pull request branches from F; main then moves on by someone else."""

    def __init__(self, repo: git.Repo, tmp_path: Path) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".")
        self.tmp_path = tmp_path
        self.fork_point = repo.head.commit.hexsha
        repo.git.checkout("-b", "feature")

    def pr_commit(self, files: dict[str, str | bytes], author: git.Actor | None = None) -> str:
        kwargs = {"author": author} if author else {}
        return commit_files(self.repo, files, "pull request change", **kwargs).hexsha

    def main_moves_on(self) -> str:
        self.repo.git.checkout("main")
        commit_files(
            self.repo,
            {".github/workflows/triage.yml": RISKY_WORKFLOW},
            "someone else's CI change",
            author=OUTSIDER,
        )
        return self.repo.head.commit.hexsha

    def run(
        self, head: str, base: str, capsys: pytest.CaptureFixture[str], *extra: str
    ) -> tuple[int, dict]:
        event = make_event(self.tmp_path, base, head)
        code = main(
            [
                "pr-check",
                str(self.root),
                "--event",
                str(event),
                "--policy",
                str(_policy(self.tmp_path)),
                "--no-report",
                "--format",
                "json",
                *extra,
            ]
        )
        captured = capsys.readouterr()
        assert captured.out, captured.err
        return code, json.loads(captured.out)


@pytest.fixture
def scenario(git_repo: git.Repo, tmp_path: Path) -> _Scenario:
    return _Scenario(git_repo, tmp_path)


def _rules(report: dict, status: str | None = None) -> set[str]:
    return {f["rule"] for f in report["findings"] if f.get("status") == status}


@pytest.mark.parametrize("event_base", ["fork point", "target tip"])
def test_what_landed_on_the_target_does_not_block(
    scenario: _Scenario, capsys: pytest.CaptureFixture[str], event_base: str
) -> None:
    head = scenario.pr_commit({"docs/guide.md": "how to use it\n"})
    tip = scenario.main_moves_on()
    merge = _merge_ref(scenario.repo, tip, head)
    assert [p.hexsha for p in scenario.repo.commit(merge).parents] == [tip, head]
    base = scenario.fork_point if event_base == "fork point" else tip
    code, report = scenario.run(head, base, capsys)
    # The target's own workflow is there in the tree, but it is the target's: existing.
    assert "pipeline/template-injection" in _rules(report, "existing")
    # Only the pull request's commit is audited: neither the outsider's commit on main nor
    # GitHub's merge commit is the pull request's.
    assert "source/unknown-identity" not in {f["rule"] for f in report["findings"]}
    new = [f for f in report["findings"] if f.get("status") is None]
    assert {f["severity"] for f in new} <= {"info"}  # e.g. source/unsigned-commit
    named = {sha for f in new for sha in re.findall(r"commit ([0-9a-f]{12})", f["message"])}
    assert named == {head[:12]}
    assert report["verdict"] == "pass" and code == 0
    note = next(n for n in report["notes"] if "merge commit" in n)
    assert merge[:12] in note and tip[:12] in note and head[:12] in note


def test_the_pull_requests_own_change_still_blocks_in_the_merge(
    scenario: _Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    head = scenario.pr_commit({".github/workflows/own.yml": RISKY_WORKFLOW}, author=OUTSIDER)
    tip = scenario.main_moves_on()
    _merge_ref(scenario.repo, tip, head)
    code, report = scenario.run(head, scenario.fork_point, capsys)
    assert code == 1
    new = [f for f in report["findings"] if f.get("status") is None]
    assert {(f["rule"], f.get("path")) for f in new} >= {
        ("pipeline/template-injection", ".github/workflows/own.yml")
    }
    identities = [f["message"] for f in new if f["rule"] == "source/unknown-identity"]
    # The pull request's own commit by an outsider, and nothing else.
    assert identities and all(head[:12] in m for m in identities)


def test_reviews_of_the_head_apply_on_the_merge_checkout(
    scenario: _Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    head = scenario.pr_commit({"docs/guide.md": "x\n"})
    tip = scenario.main_moves_on()
    _merge_ref(scenario.repo, tip, head)
    _, report = scenario.run(head, tip, capsys)
    assert not any("check out the head itself" in n for n in report["notes"])


def test_a_merge_whose_target_is_not_the_base_is_refused(
    scenario: _Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    # A merge commit of the head into a branch unrelated to the base: its first parent is
    # not the target branch, so what it holds cannot be taken as already there.
    head = scenario.pr_commit({"docs/guide.md": "x\n"})
    scenario.repo.git.checkout("--orphan", "elsewhere")
    scenario.repo.git.rm("-rf", "-q", ".")
    commit_files(scenario.repo, {".github/workflows/triage.yml": RISKY_WORKFLOW}, "unrelated")
    elsewhere = scenario.repo.head.commit.hexsha
    scenario.repo.git.checkout("--detach", elsewhere)
    scenario.repo.git.merge("--no-ff", "--allow-unrelated-histories", "-m", "m", head)
    event = make_event(scenario.tmp_path, scenario.fork_point, head)
    code = main(["pr-check", str(scenario.root), "--event", str(event), "--no-report"])
    assert code == 2
    assert "not on the target branch" in capsys.readouterr().err
