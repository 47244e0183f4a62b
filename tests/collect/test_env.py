"""The CI environment mapping (Jenkins, GitHub Actions, GitLab CI) and where it ends up."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.attest.keys import write_keypair
from gatekeeper.attest.stage import AttestConfig, run_attest
from gatekeeper.cli import main
from gatekeeper.collect.env import detect_ci
from gatekeeper.commands.check import default_base
from tests.conftest import commit_files

JENKINS_PR = {
    "JENKINS_URL": "https://ci.example/",
    "BUILD_URL": "https://ci.example/job/app/job/PR-31/4/",
    "JOB_NAME": "app/PR-31",
    "BUILD_NUMBER": "4",
    "GIT_COMMIT": "a" * 40,
    "GIT_PREVIOUS_SUCCESSFUL_COMMIT": "b" * 40,
    "GIT_PREVIOUS_COMMIT": "c" * 40,
    "GIT_URL": "https://git.example/acme/app.git",
    "BRANCH_NAME": "PR-31",
    "CHANGE_ID": "31",
    "CHANGE_TARGET": "main",
    "CHANGE_AUTHOR": "dev1",
    "NODE_NAME": "agent-7",
}


def test_jenkins_multibranch_pull_request() -> None:
    ci = detect_ci(JENKINS_PR)
    assert ci.platform == "jenkins"
    assert ci.run_id == "app/PR-31#4"
    assert ci.run_url == "https://ci.example/job/app/job/PR-31/4/"
    assert ci.job == "app/PR-31"
    assert ci.commit == "a" * 40
    assert ci.previous_commit == "b" * 40  # the last successful build wins over the last build
    assert ci.pull_request == "31"
    assert ci.event == "pull_request"
    assert ci.target_branch == "main"
    assert ci.ref == "PR-31"
    assert ci.repository == "https://git.example/acme/app.git"
    assert ci.runner == "agent-7"
    assert ci.actor == "dev1"


def test_jenkins_branch_build() -> None:
    env = {
        k: v
        for k, v in JENKINS_PR.items()
        if k
        not in (
            "CHANGE_ID",
            "CHANGE_TARGET",
            "CHANGE_AUTHOR",
            "JENKINS_URL",
            "GIT_PREVIOUS_SUCCESSFUL_COMMIT",
        )
    }
    env["GIT_BRANCH"] = "origin/main"
    ci = detect_ci(env)  # BUILD_URL + JOB_NAME are enough to know it is Jenkins
    assert ci.platform == "jenkins"
    assert ci.pull_request is None and ci.event is None and ci.target_branch is None
    assert ci.previous_commit == "c" * 40
    assert ci.ref == "origin/main"


def test_jenkins_without_build_number_uses_build_tag() -> None:
    ci = detect_ci({"JENKINS_HOME": "/var/jenkins", "BUILD_TAG": "jenkins-app-9"})
    assert ci.platform == "jenkins" and ci.run_id == "jenkins-app-9"


def test_near_misses_are_local() -> None:
    # A BUILD_URL alone (many tools set one) is not Jenkins; blank values do not count.
    assert detect_ci({"BUILD_URL": "https://x/"}).platform == "local"
    assert detect_ci({"JENKINS_URL": "  ", "GITHUB_ACTIONS": "false"}).platform == "local"
    assert detect_ci({}).platform == "local"


def test_github_actions_pull_request() -> None:
    ci = detect_ci(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/app",
            "GITHUB_RUN_ID": "77",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_REF": "refs/pull/12/merge",
            "GITHUB_SHA": "d" * 40,
            "GITHUB_BASE_REF": "main",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_JOB": "gate",
        }
    )
    assert ci.platform == "github-actions"
    assert ci.run_id == "77-2"
    assert ci.run_url == "https://github.com/acme/app/actions/runs/77"
    assert ci.pull_request == "12" and ci.target_branch == "main"


def test_gitlab_merge_request() -> None:
    ci = detect_ci(
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_ID": "5",
            "CI_MERGE_REQUEST_IID": "3",
            "CI_COMMIT_SHA": "e" * 40,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        }
    )
    assert ci.platform == "gitlab-ci"
    assert (ci.run_id, ci.pull_request, ci.target_branch) == ("5", "3", "main")


def test_attestation_records_jenkins_environment(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"app.py": "print('hi')\n"}, "app")
    key = tmp_path / "ci.key"
    write_keypair(key)
    result = run_attest(
        AttestConfig(
            stage="build",
            keys=[str(key)],
            repo=root,
            products=["app.py"],
            store=str(tmp_path / "store"),
            environ=dict(JENKINS_PR),
        )
    )
    run = result.predicate.run
    assert run.run_id == "app/PR-31#4"
    assert run.ci.platform == "jenkins"
    assert run.ci.pull_request == "31" and run.ci.target_branch == "main"
    assert run.ci.run_url == JENKINS_PR["BUILD_URL"]


def test_default_base_for_multibranch_pull_requests() -> None:
    assert default_base({"CHANGE_TARGET": "main", "CHANGE_ID": "31"}) == "origin/main"
    assert default_base({"CHANGE_TARGET": "main"}) is None  # not a pull-request build
    assert default_base({"CHANGE_ID": "31"}) is None
    assert default_base({}) is None


def test_check_uses_change_target_as_base(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    token = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"
    commit_files(git_repo, {"old.env": f"T={token}\n"}, "old")
    git_repo.git.update_ref("refs/remotes/origin/main", git_repo.head.commit.hexsha)
    commit_files(git_repo, {"docs.txt": "x\n"}, "docs")
    monkeypatch.setenv("CHANGE_TARGET", "main")
    monkeypatch.setenv("CHANGE_ID", "31")
    assert main(["check", str(root), "--only", "secrets", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [f["status"] for f in report["findings"]] == ["existing"]
    # An explicit --base wins; without the Jenkins variables there is no base at all.
    monkeypatch.delenv("CHANGE_ID")
    assert main(["check", str(root), "--only", "secrets", "--format", "json"]) == 1


def test_missing_change_target_ref_is_an_error(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGE_TARGET", "release")
    monkeypatch.setenv("CHANGE_ID", "2")
    code = main(["check", str(git_repo.working_tree_dir), "--only", "secrets"])
    assert code == 2  # origin/release is not in the clone: never silently no base
