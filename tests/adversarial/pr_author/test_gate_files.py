"""A pull request that rewrites its own judge: the policy, the baseline, the configuration.

``pr-check --policy policies/ci.yaml --baseline gk-baseline.json`` (the documented command)
used to read both files from the pull request's checkout. Now they come from the base
revision, and changing them is a ``source/gate-change`` that blocks until someone other
than the author approves the head.
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
from tests.prcheck.conftest import OWNER_REPO, FakeGitHub, make_event

BASE_POLICY = """version: 1
name: ci
expires: 2099-01-01T00:00:00Z
audits:
  block_at: high
"""


def _token() -> str:
    return "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"


def _url_secret() -> str:
    return "https://deploy:" + "Xk29vLq7Tz4mWp8R" + "@registry.acme-corp.io:8443/v2"


@pytest.fixture
def repo(git_repo: git.Repo) -> git.Repo:
    """main holds the reviewed policy and an empty baseline; the pull request branches off."""
    commit_files(
        git_repo,
        {
            "policies/ci.yaml": BASE_POLICY,
            "gk-baseline.json": '{"version": 1, "findings": []}\n',
            "src/app.py": "print('hello')\n",
        },
        "gate",
    )
    git_repo.git.branch("main-tip")
    git_repo.git.checkout("-b", "feature")
    return git_repo


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", OWNER_REPO)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _root(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or ".")


def _pr_check(
    repo: git.Repo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
    event: Path | None = None,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.chdir(_root(repo))  # the documented command runs in the checkout
    argv = ["pr-check", "--no-report", "--format", "json", *extra]
    if event is None:
        argv += ["--base", "main"]
    else:
        argv += ["--event", str(event)]
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def _active(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == rule and "status" not in f]


DOCS_ARGS = ("--policy", "policies/ci.yaml", "--baseline", "gk-baseline.json")


def test_a_rule_switched_off_in_the_pull_requests_policy_still_fires(
    repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(
        repo,
        {
            "policies/ci.yaml": BASE_POLICY + "  rules:\n    secrets/github-token: off\n",
            "deploy.env": f"GITHUB_TOKEN={_token()}\n",
        },
        "switch the token rule off",
    )
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, "--only", "secrets")
    assert code == 1
    assert [f["path"] for f in _active(report, "secrets/github-token")] == ["deploy.env"]
    [gate] = _active(report, "source/gate-change")
    assert gate["path"] == "policies/ci.yaml" and gate["severity"] == "high"
    assert "reads it from the base revision" in gate["message"]
    assert any("policy read from the base revision" in n for n in report["notes"])


def test_a_secret_in_the_pull_requests_own_baseline_still_blocks(
    repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _root(repo)
    (root / "deploy.env").write_text(f"GITHUB_TOKEN={_token()}\n")
    # The author computes the fingerprint the way the docs say, and commits it.
    monkeypatch.chdir(root)
    assert main(["check", "--only", "secrets", "--write-baseline", "gk-baseline.json"]) == 0
    assert "secrets/github-token" in (root / "gk-baseline.json").read_text()
    repo.index.add(["deploy.env", "gk-baseline.json"])
    repo.index.commit("baseline my token")
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, "--only", "secrets")
    assert code == 1
    assert [f["path"] for f in _active(report, "secrets/github-token")] == ["deploy.env"]
    assert [f["path"] for f in _active(report, "source/gate-change")] == ["gk-baseline.json"]


def test_a_loosened_block_at_does_not_loosen_the_gate(
    repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(
        repo,
        {
            "policies/ci.yaml": BASE_POLICY.replace("block_at: high", "block_at: critical"),
            "ci/push.sh": f"docker login {_url_secret()}\n",
        },
        "only critical findings block",
    )
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS)
    assert code == 1
    assert report["block_at"] == "high"
    assert [f["severity"] for f in _active(report, "secrets/url-credentials")] == ["high"]


def test_a_policy_the_base_does_not_have_is_not_used(
    repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(
        repo,
        {
            "policies/lenient.yaml": BASE_POLICY.replace("block_at: high", "block_at: critical"),
            "ci/push.sh": f"docker login {_url_secret()}\n",
        },
        "bring my own policy",
    )
    code, report = _pr_check(repo, capsys, monkeypatch, "--policy", "policies/lenient.yaml")
    assert code == 1
    assert report["policy"] == "default"
    assert any("not in the base revision" in n for n in report["notes"])
    assert [f["path"] for f in _active(report, "source/gate-change")] == ["policies/lenient.yaml"]


def test_a_symlink_swapped_in_for_the_policy_directory_changes_nothing(
    repo: git.Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lenient = tmp_path / "elsewhere"
    lenient.mkdir()
    (lenient / "ci.yaml").write_text(BASE_POLICY.replace("block_at: high", "block_at: critical"))
    root = _root(repo)
    repo.index.remove(["policies/ci.yaml"], working_tree=True)
    if (root / "policies").exists():
        (root / "policies").rmdir()
    (root / "policies").symlink_to(lenient)
    (root / "ci").mkdir()
    (root / "ci" / "push.sh").write_text(f"docker login {_url_secret()}\n")
    repo.index.add(["policies", "ci/push.sh"])
    repo.index.commit("policies now live elsewhere")
    code, report = _pr_check(repo, capsys, monkeypatch, "--policy", "policies/ci.yaml")
    assert code == 1
    assert report["policy"] == "ci" and report["block_at"] == "high"
    assert _active(report, "secrets/url-credentials")


def test_the_repository_configuration_is_a_gate_file(
    repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(repo, {".gatekeeper.yaml": "block_at: critical\n"}, "configure the gate")
    code, report = _pr_check(repo, capsys, monkeypatch, "--only", "secrets")
    assert code == 1
    [gate] = _active(report, "source/gate-change")
    assert gate["path"] == ".gatekeeper.yaml"


def _approve(github: FakeGitHub, head: str, login: str) -> None:
    github.reviews_pages = [
        [{"user": {"login": login}, "state": "APPROVED", "commit_id": head, "id": 1}]
    ]


def test_a_gate_change_blocks_until_someone_else_approves_the_head(
    repo: git.Repo,
    tmp_path: Path,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = repo.commit("main").hexsha
    head = commit_files(repo, {"policies/ci.yaml": BASE_POLICY + "max_age: 7d\n"}, "tighten").hexsha
    event = make_event(tmp_path, base, head, author="dev1")
    monkeypatch.setenv("GITHUB_TOKEN", "t-" + "5f1c9a7e3b2d")

    _approve(github, head, "dev1")  # the author's own approval never counts
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, event=event)
    assert code == 1
    [gate] = _active(report, "source/gate-change")
    assert "nobody other than the author approved the head" in gate["message"]

    _approve(github, "0" * 40, "reviewer")  # an approval of an earlier push
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, event=event)
    assert code == 1

    _approve(github, head, "reviewer")
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, event=event)
    assert code == 0, report
    [gate] = [f for f in report["findings"] if f["rule"] == "source/gate-change"]
    assert gate["severity"] == "info"
    assert "approved at the head" in gate["message"] and "reviewer" in gate["message"]


def test_without_readable_reviews_a_gate_change_blocks(
    repo: git.Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fork's pull request has no token: an unverifiable review is no review."""
    base = repo.commit("main").hexsha
    head = commit_files(repo, {"gk-baseline.json": '{"version": 1, "findings": []}\n\n'}).hexsha
    event = make_event(tmp_path, base, head, fork=True)
    code, report = _pr_check(repo, capsys, monkeypatch, *DOCS_ARGS, event=event)
    assert code == 1
    [gate] = _active(report, "source/gate-change")
    assert "the reviews could not be read (no GITHUB_TOKEN)" in gate["message"]
