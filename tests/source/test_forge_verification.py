"""pr-check reads the forge's own verdict on the pull request's commit signatures.

A local HTTP server on 127.0.0.1 stands in for the GitHub REST API (``FakeGitHub`` of the
pr-check tests); the pull request's commits are signed for real with a key the verifying
machine does not have, so only GitHub's ``verification`` object can vouch for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.github.api import commit_verifications
from tests.prcheck.conftest import OWNER_REPO, TOKEN, FakeGitHub, Reply, make_event
from tests.source.conftest import GpgKeys
from tests.source.helpers import sh
from tests.source.test_signatures import gpg_commit

COMMITS = f"/repos/{OWNER_REPO}/pulls/7/commits?per_page=100"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _policy(tmp_path: Path, **audits: bool) -> Path:
    path = tmp_path / "policy.yaml"
    lines = "".join(f"  {k}: {str(v).lower()}\n" for k, v in audits.items())
    path.write_text(f"version: 1\nname: test\nexpires: 2099-01-01\naudits:\n{lines}")
    return path


def _pull_request(
    repo: git.Repo, tmp_path: Path, gpg_keys: GpgKeys, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """A pull request with one commit signed by its author's own key; the env of a workflow."""
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    head = gpg_commit(repo, gpg_keys, "other", "signed by the contributor")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(make_event(tmp_path, base, head)))
    monkeypatch.setenv("GITHUB_REPOSITORY", OWNER_REPO)
    return base, head


def _verification(sha: str, verified: bool, reason: str) -> dict[str, object]:
    return {
        "sha": sha,
        "commit": {
            "message": "signed by the contributor",
            "verification": {
                "verified": verified,
                "reason": reason,
                "signature": "-----BEGIN PGP SIGNATURE-----\n...",
                "payload": "tree ...",
                "verified_at": "2026-01-01T00:00:00Z",
            },
        },
        "html_url": "https://github.example/x",
    }


def _run(repo: git.Repo, policy: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    root = str(repo.working_tree_dir)
    output = ["--format", "json", "--no-report"]
    code = main(["pr-check", root, "--policy", str(policy), "--only", "source", *output])
    return code, json.loads(capsys.readouterr().out)


def _rules(report: dict) -> dict[str, str]:
    return {f["rule"]: f["message"] for f in report["findings"]}


@pytest.mark.parametrize(
    ("verified", "reason", "code", "rule"),
    [
        (True, "valid", 0, None),
        (False, "invalid", 1, "source/bad-signature"),
        (False, "unknown_key", 1, "source/unverified-signature"),
        (False, "gpgverify_unavailable", 1, "source/unverified-signature"),
    ],
)
def test_pr_check_uses_githubs_verification_of_the_pull_requests_commits(
    repo: git.Repo,
    gpg_keys: GpgKeys,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    verified: bool,
    reason: str,
    code: int,
    rule: str | None,
) -> None:
    _, head = _pull_request(repo, tmp_path, gpg_keys, monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    github.script("GET", COMMITS, Reply(200, [_verification(head, verified, reason)]))
    got, report = _run(repo, _policy(tmp_path, require_signed_commits=True), capsys)
    assert ("GET", COMMITS) in github.calls()
    signature_rules = {r for r in _rules(report) if "signature" in r or "identity" in r}
    assert got == code
    assert signature_rules == ({rule} if rule else set())
    if rule == "source/unverified-signature":
        assert f"(GitHub: {reason})" in _rules(report)[rule]


def test_without_a_token_or_a_requirement_the_forge_is_not_asked(
    repo: git.Repo,
    gpg_keys: GpgKeys,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _pull_request(repo, tmp_path, gpg_keys, monkeypatch)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    # Required but no token: checked locally (the contributor's key is unknown here).
    code, report = _run(repo, _policy(tmp_path, require_signed_commits=True), capsys)
    assert code == 1 and "source/unverified-signature" in _rules(report)
    assert any(
        "verification of the pull request's commits was not read" in n for n in report["notes"]
    )
    # A token, but the policy does not require signed commits: nothing to ask.
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code, report = _run(repo, _policy(tmp_path, require_review=False), capsys)
    assert code == 0 and github.calls() == []


def test_commit_verifications_ignore_what_they_cannot_read() -> None:
    sha = "a" * 40
    raw = [
        _verification(sha, True, "valid"),
        _verification("not-a-sha", True, "valid"),
        {"sha": "b" * 40, "commit": {"verification": {"verified": "yes", "reason": "valid"}}},
        {"sha": "c" * 40, "commit": None},
        {"sha": "d" * 40},
    ]
    assert [(v.sha, v.vouches) for v in commit_verifications(raw)] == [(sha, True)]
    (odd,) = commit_verifications([_verification(sha, True, "bad_email")])
    assert not odd.vouches  # "verified" with any reason but "valid" vouches for nothing
