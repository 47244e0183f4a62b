"""Unverifiable review is no review: a commit trailer is written by the commit's author.

Without the forge's review records (``check --base``, or ``pr-check`` without a token) no
review can be verified, so ``require_review`` blocks and says the reviews could not be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from tests.prcheck.conftest import make_event
from tests.source.helpers import commit, sh, write


def _review_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nname: reviewed\nexpires: 2099-01-01\naudits:\n  require_review: true\n"
    )
    return path


def test_check_base_with_a_reviewed_by_trailer_blocks_saying_reviews_could_not_be_read(
    repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a.txt", "change\n")
    sha = commit(repo, "change\n\nReviewed-by: Rita <rita@example.invalid>")
    root = str(repo.working_tree_dir)
    policy = _review_policy(tmp_path)
    code = main(["check", root, "--base", base, "--only", "source", "--policy", str(policy)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"commit {sha[:12]}" in out
    assert "reviews could not be read" in out


def test_pr_check_without_a_token_does_not_count_a_trailer_as_review(
    repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "a.txt", "change\n")
    head = commit(repo, "change\n\nApproved-by: Rita <rita@example.invalid>")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(make_event(tmp_path, base, head)))
    root = str(repo.working_tree_dir)
    policy = ["--policy", str(_review_policy(tmp_path)), "--only", "source"]
    code = main(["pr-check", root, *policy, "--format", "json", "--no-report"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["rule"] == "source/unreviewed-change"]
    assert "reviews could not be read" in finding["message"]
    assert any("no review can be verified" in n for n in report["notes"])
