"""Reading the gate's own files from the base revision (gatekeeper/github/gatefiles.py)."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.github.gatefiles import (
    Revisions,
    gate_change_findings,
    in_work_tree,
    read_at,
    trusted_gate,
)
from gatekeeper.github.prcheck import judge_gate_changes
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.policy import default_policy
from tests.conftest import commit_files
from tests.prcheck.conftest import OWNER_REPO, FakeGitHub, make_event

POLICY = "version: 1\nname: base-policy\nexpires: 2099-01-01T00:00:00Z\n"


def _root(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or ".")


def _revisions(repo: git.Repo, base: str) -> Revisions:
    head = repo.head.commit.hexsha
    return Revisions(base=base, merge_base=base, head=head)


def test_in_work_tree_is_lexical_first(tmp_path: Path) -> None:
    top = tmp_path / "repo"
    (top / "policies").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    assert in_work_tree(top / "policies" / "ci.yaml", top) == "policies/ci.yaml"
    assert in_work_tree(outside / "ci.yaml", top) is None
    assert in_work_tree(top, top) is None
    # A link committed in the head cannot send a repository path out to the disk...
    (top / "evil").symlink_to(outside)
    assert in_work_tree(top / "evil" / "ci.yaml", top) == "evil/ci.yaml"
    # ...and a path reaching the checkout through a link outside it is still inside.
    (tmp_path / "alias").symlink_to(top)
    assert in_work_tree(tmp_path / "alias" / "policies" / "ci.yaml", top) == "policies/ci.yaml"


def test_read_at_reads_git_objects_under_a_cap(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"policies/ci.yaml": POLICY, "big.bin": b"x" * 5000})
    root = _root(git_repo)
    (root / "link").symlink_to("policies")
    git_repo.index.add(["link"])
    sha = git_repo.index.commit("link").hexsha
    (root / "policies" / "ci.yaml").write_text("changed in the work tree\n")
    assert read_at(git_repo, sha, "policies/ci.yaml", 1024) == POLICY.encode()
    assert read_at(git_repo, sha, "policies/none.yaml", 1024) is None
    assert read_at(git_repo, sha, "README.md/x", 1024) is None
    with pytest.raises(InvalidInput, match="4096-byte limit"):
        read_at(git_repo, sha, "big.bin", 4096)
    with pytest.raises(InvalidInput, match="symbolic link"):
        read_at(git_repo, sha, "link/ci.yaml", 1024)
    with pytest.raises(InvalidInput, match="not a file"):
        read_at(git_repo, sha, "policies", 1024)


def test_a_policy_outside_the_repository_is_read_from_disk(
    git_repo: git.Repo, tmp_path: Path
) -> None:
    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {"x.txt": "x\n"})
    org = tmp_path / "org-policy.yaml"
    org.write_text(POLICY.replace("base-policy", "org"))
    gate = trusted_gate(git_repo, _revisions(git_repo, base), policy_path=org, baseline_path=None)
    assert gate.policy.name == "org"
    assert [(f.role, f.path, f.changed) for f in gate.files] == [
        ("config", ".gatekeeper.yaml", False)
    ]
    with pytest.raises(InvalidInput, match="not both"):
        trusted_gate(
            git_repo,
            _revisions(git_repo, base),
            policy_path=org,
            baseline_path=None,
            policy=default_policy(),
        )


def test_base_policy_and_baseline_are_read_whatever_the_head_holds(git_repo: git.Repo) -> None:
    commit_files(
        git_repo,
        {"policies/ci.yaml": POLICY, "gk.json": '{"version": 1, "findings": []}\n'},
    )
    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {"policies/ci.yaml": "not: [a policy\n", "gk.json": "{}"})
    root = _root(git_repo)
    gate = trusted_gate(
        git_repo,
        _revisions(git_repo, base),
        policy_path=root / "policies" / "ci.yaml",
        baseline_path=root / "gk.json",
    )
    assert gate.policy.name == "base-policy"
    assert gate.baseline == frozenset()
    assert sorted(f.role for f in gate.changed) == ["baseline", "policy"]
    findings = gate_change_findings(gate, _revisions(git_repo, base))
    assert sorted(f.path or "" for f in findings) == ["gk.json", "policies/ci.yaml"]
    # The fingerprint names the new content: accepting one change never accepts the next.
    commit_files(git_repo, {"policies/ci.yaml": "still: [not a policy\n"})
    later = trusted_gate(
        git_repo,
        _revisions(git_repo, base),
        policy_path=root / "policies" / "ci.yaml",
        baseline_path=None,
    )
    [first] = [f for f in findings if f.path == "policies/ci.yaml"]
    [second] = gate_change_findings(later, _revisions(git_repo, base))
    assert first.fingerprint != second.fingerprint


def test_an_invalid_base_policy_is_a_usage_error_naming_the_revision(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(git_repo, {"policies/ci.yaml": POLICY + "unknown_key: 1\n"})
    base = git_repo.head.commit.hexsha
    git_repo.git.checkout("-b", "feature")
    commit_files(git_repo, {"policies/ci.yaml": POLICY})
    monkeypatch.chdir(_root(git_repo))
    code = main(["pr-check", "--base", base, "--policy", "policies/ci.yaml", "--no-report"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{base[:12]}:policies/ci.yaml" in err and "unknown field" in err


def _gate_finding(path: str = "policies/ci.yaml") -> Finding:
    return Finding.make("source/gate-change", Severity.HIGH, "the range changes it", path=path)


def test_judge_gate_changes() -> None:
    other = Finding.make("secrets/github-token", Severity.CRITICAL, "token", path="a.env")
    head = "a" * 40
    approved = judge_gate_changes([_gate_finding(), other], ["rev"], "", head)
    assert approved[0].severity is Severity.INFO and "by rev" in approved[0].message
    assert approved[1] == other
    assert approved[0].fingerprint == _gate_finding().fingerprint
    [unread] = judge_gate_changes([_gate_finding()], None, "no GITHUB_TOKEN", head)
    assert unread.severity is Severity.HIGH and "could not be read (no GITHUB_TOKEN)" in (
        unread.message
    )
    [nobody] = judge_gate_changes([_gate_finding()], [], "", head)
    assert nobody.severity is Severity.HIGH and "nobody other than the author" in nobody.message


@pytest.mark.parametrize("always_block", [False, True])
def test_an_approved_codeowners_change_passes_and_an_unapproved_one_blocks(
    git_repo: git.Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    always_block: bool,
) -> None:
    """The source audit's own gate paths (CODEOWNERS here) are judged by the same reviews;
    a base policy that sets the rule's severity makes every gate change block."""
    override = "audits:\n  rules:\n    source/gate-change: {severity: high}\n"
    policy = POLICY + (override if always_block else "")
    commit_files(git_repo, {".github/CODEOWNERS": "* @acme/dev\n", "policies/ci.yaml": policy})
    base = git_repo.head.commit.hexsha
    git_repo.git.checkout("-b", "feature")
    head = commit_files(git_repo, {".github/CODEOWNERS": "* @acme/dev @acme/ops\n"}).hexsha
    event = make_event(tmp_path, base, head)
    fake = FakeGitHub()
    fake.thread.start()
    try:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", OWNER_REPO)
        monkeypatch.setenv("GITHUB_TOKEN", "t-" + "5f1c9a7e3b2d")
        monkeypatch.chdir(_root(git_repo))
        argv = ["pr-check", "--event", str(event), "--no-report", "--policy", "policies/ci.yaml"]
        assert main([*argv, "--format", "json"]) == 1
        report = json.loads(capsys.readouterr().out)
        [gate] = [f for f in report["findings"] if f["rule"] == "source/gate-change"]
        assert gate["path"] == ".github/CODEOWNERS" and gate["severity"] == "high"
        fake.reviews_pages = [
            [{"user": {"login": "lead"}, "state": "APPROVED", "commit_id": head, "id": 9}]
        ]
        assert main([*argv, "--format", "json"]) == (1 if always_block else 0)
        report = json.loads(capsys.readouterr().out)
        [gate] = [f for f in report["findings"] if f["rule"] == "source/gate-change"]
        assert gate["severity"] == ("high" if always_block else "info")
        assert "by lead" in gate["message"]
        assert ("GET", f"/repos/{OWNER_REPO}/pulls/7/reviews?per_page=100") in fake.calls()
    finally:
        fake.server.shutdown()
        fake.server.server_close()
