"""pr-check end to end: real repositories, a local stand-in for the GitHub API, exact requests."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.github.api import GitHubApiError, GitHubClient, _GitHubHttp
from gatekeeper.github.prcheck import (
    PrCheckConfig,
    PrCheckResult,
    report_to_github,
    reviews_option,
    run_pr_check,
)
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.source import PullRequestReview
from gatekeeper.models.verdict import Verdict
from gatekeeper.policy import default_policy
from tests.conftest import commit_files
from tests.prcheck.conftest import (
    OWNER_REPO,
    TOKEN,
    FakeGitHub,
    PullRequest,
    Reply,
    github_token,
    make_event,
)

BASE = f"/repos/{OWNER_REPO}"


@pytest.fixture
def actions_env(monkeypatch: pytest.MonkeyPatch, fake_github: FakeGitHub) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_API_URL", fake_github.url)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", OWNER_REPO)
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    return fake_github


def _json_out(capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return json.loads(captured.out), captured.err


def _review_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nname: reviewed\nexpires: 2099-01-01\naudits:\n  require_review: true\n"
    )
    return path


def test_new_finding_blocks_existing_does_not(
    pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(pull_request.event_path))
    code = main(["pr-check", str(pull_request.path), "--format", "json"])
    report, err = _json_out(capsys)
    assert code == 1
    assert report["command"] == "pr-check" and report["verdict"] == "block"
    by_path = {f["path"]: f for f in report["findings"] if f["rule"] == "secrets/github-token"}
    assert "status" not in by_path["src/app.env"]  # new: blocks
    assert by_path["old.env"]["status"] == "existing"  # on the base: does not block
    assert report["subjects"] == ["#7"]
    assert "not reported to GitHub: GITHUB_TOKEN is not set" in err
    assert actions_env.requests == []


def test_clean_change_passes(
    clean_pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(clean_pull_request.event_path))
    assert main(["pr-check", str(clean_pull_request.path), "--format", "json"]) == 0
    report, _ = _json_out(capsys)
    assert report["verdict"] == "pass"
    assert [f["status"] for f in report["findings"] if f["rule"] == "secrets/github-token"] == [
        "existing"
    ]


def test_block_existing_policy_blocks_base_findings(
    clean_pull_request: PullRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "strict.yaml"
    policy.write_text(
        "version: 1\nname: strict\nexpires: 2099-01-01\naudits:\n  block_existing: true\n"
    )
    code = main(
        [
            "pr-check",
            str(clean_pull_request.path),
            "--base",
            clean_pull_request.base,
            "--policy",
            str(policy),
            "--format",
            "json",
        ]
    )
    assert code == 1


def test_reports_status_and_check_run(
    pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(pull_request.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main(["pr-check", str(pull_request.path), "--format", "json"]) == 1
    head = pull_request.head
    assert actions_env.calls() == [
        ("POST", f"{BASE}/check-runs"),
        ("PATCH", f"{BASE}/check-runs/4242"),
        ("POST", f"{BASE}/statuses/{head}"),
    ]
    create, patch, status = actions_env.requests
    for req in actions_env.requests:
        assert req.headers["Authorization"] == f"Bearer {TOKEN}"
        assert req.headers["Accept"] == "application/vnd.github+json"
        assert req.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert status.body == {
        "state": "failure",
        "context": "gatekeeper/pr-check",
        "description": "1 blocking finding(s) at or above high",
        "target_url": "https://github.example/acme/widget/actions/runs/99",
    }
    assert create.body == {
        "name": "gatekeeper",
        "head_sha": head,
        "status": "in_progress",
        "details_url": "https://github.example/acme/widget/actions/runs/99",
        "external_id": "7",
    }
    assert patch.body["status"] == "completed" and patch.body["conclusion"] == "failure"
    output = patch.body["output"]
    assert output["title"] == "gatekeeper: block (1 blocking finding(s) at or above high)"
    assert output["summary"] == "❌ gatekeeper pr-check: BLOCK (policy `default`)"
    assert "`secrets/github-token`" in output["text"]
    assert output["annotations"] == [
        {
            "path": "src/app.env",
            "start_line": 1,
            "end_line": 1,
            "annotation_level": "failure",
            "title": "secrets/github-token",
            "message": next(a["message"] for a in output["annotations"]),
        }
    ]
    assert output["annotations"][0]["message"].endswith("(critical)")
    err = capsys.readouterr().err
    assert "check run 4242 (1 annotation(s) in 1 request(s))" in err


def test_pass_reports_success(
    clean_pull_request: PullRequest, monkeypatch: pytest.MonkeyPatch, actions_env: FakeGitHub
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(clean_pull_request.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main(["pr-check", str(clean_pull_request.path), "--format", "json"]) == 0
    assert actions_env.requests[2].body["state"] == "success"
    assert actions_env.requests[1].body["conclusion"] == "success"
    # The existing finding is not annotated: it is not the change's.
    assert actions_env.requests[1].body["output"]["annotations"] == []


def _many_findings(n: int) -> Verdict:
    findings = [
        Finding.make("secrets/jwt", Severity.MEDIUM, f"jwt {i}", path=f"f{i:03}.txt", line=i + 1)
        for i in range(n)
    ]
    return Verdict(
        command="pr-check",
        verdict="pass",
        findings=findings,
        block_at=Severity.HIGH,
        policy="default",
    )


def _cfg(fake: FakeGitHub, tmp_path: Path, **env: str) -> PrCheckConfig:
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": fake.url, **env}
    http = _GitHubHttp(clock=lambda: 1000.0, backoff=0.5)
    sleeps: list[float] = []
    http.sleep = sleeps.append
    cfg = PrCheckConfig(repo=tmp_path, policy=default_policy(), environ=environ, http=http)
    object.__setattr__(cfg, "sleeps", sleeps)
    return cfg


def test_annotations_batched_by_fifty(fake_github: FakeGitHub, tmp_path: Path) -> None:
    result = PrCheckResult(
        verdict=_many_findings(120),
        merge_base="a" * 40,
        head="b" * 40,
        number=3,
        repository=OWNER_REPO,
        is_fork=False,
    )
    report_to_github(result, _cfg(fake_github, tmp_path))
    patches = [r for r in fake_github.requests if r.method == "PATCH"]
    assert [len(p.body["output"]["annotations"]) for p in patches] == [50, 50, 20]
    assert ["conclusion" in p.body for p in patches] == [False, False, True]
    assert all(p.body["output"]["title"] == "gatekeeper: pass" for p in patches)
    levels = {a["annotation_level"] for p in patches for a in p.body["output"]["annotations"]}
    assert levels == {"warning"}


def test_retries_server_errors_and_rate_limits(fake_github: FakeGitHub, tmp_path: Path) -> None:
    status_path = f"{BASE}/statuses/{'b' * 40}"
    fake_github.script(
        "POST",
        status_path,
        Reply(502, {"message": "bad gateway"}),
        Reply(
            403,
            {"message": "API rate limit exceeded"},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1005"},
        ),
        Reply(429, {"message": "secondary rate limit"}, {"Retry-After": "2"}),
        Reply(403, {"message": "slow down"}, {"Retry-After": "3"}),
    )
    cfg = _cfg(fake_github, tmp_path)
    result = PrCheckResult(
        verdict=_many_findings(0),
        merge_base="a" * 40,
        head="b" * 40,
        number=None,
        repository=OWNER_REPO,
        is_fork=False,
    )
    report_to_github(result, cfg)
    assert [c for c in fake_github.calls() if c[0] == "POST" and "statuses" in c[1]] == [
        ("POST", status_path)
    ] * 5
    assert cfg.sleeps == [0.5, 5.0, 2.0, 3.0]  # type: ignore[attr-defined]


def _passing_result() -> PrCheckResult:
    return PrCheckResult(
        verdict=_many_findings(0),
        merge_base="a" * 40,
        head="b" * 40,
        number=None,
        repository=OWNER_REPO,
        is_fork=False,
    )


def test_plain_403_on_check_runs_is_not_retried_and_falls_back_to_a_status(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.script(
        "POST",
        f"{BASE}/check-runs",
        Reply(403, {"message": "Resource not accessible by integration"}),
    )
    lines = report_to_github(_passing_result(), _cfg(fake_github, tmp_path))
    assert fake_github.calls() == [
        ("POST", f"{BASE}/check-runs"),
        ("POST", f"{BASE}/statuses/{'b' * 40}"),
    ]
    assert fake_github.requests[1].body["state"] == "success"
    (line,) = lines
    assert "no check run" in line and "Resource not accessible by integration" in line
    assert "checks: write" in line


def test_403_on_the_status_too_fails_closed(fake_github: FakeGitHub, tmp_path: Path) -> None:
    refused = Reply(403, {"message": "Resource not accessible by personal access token"})
    fake_github.script("POST", f"{BASE}/check-runs", refused)
    fake_github.script("POST", f"{BASE}/statuses/{'b' * 40}", refused)
    with pytest.raises(GitHubApiError, match="HTTP 403: Resource not accessible") as info:
        report_to_github(_passing_result(), _cfg(fake_github, tmp_path))
    assert info.value.exit_code == 2


@pytest.mark.parametrize("status", [404, 422])
def test_other_check_run_refusals_still_fail_closed(
    fake_github: FakeGitHub, tmp_path: Path, status: int
) -> None:
    fake_github.script("POST", f"{BASE}/check-runs", Reply(status, {"message": "nope"}))
    with pytest.raises(GitHubApiError, match=f"HTTP {status}"):
        report_to_github(_passing_result(), _cfg(fake_github, tmp_path))
    assert len(fake_github.requests) == 1  # and so no status was posted


@pytest.mark.parametrize("clean", [True, False])
def test_personal_access_token_gets_a_commit_status(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    clean: bool,
) -> None:
    # A PAT (Jenkins): GitHub refuses check runs; the verdict goes out as a commit status,
    # and the log says once why there is no check run.
    pr: PullRequest = request.getfixturevalue("clean_pull_request" if clean else "pull_request")
    token = github_token()
    actions_env.script(
        "POST",
        f"{BASE}/check-runs",
        Reply(403, {"message": "Resource not accessible by personal access token"}),
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(pr.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", token)
    code = main(["pr-check", str(pr.path), "--format", "text"])
    captured = capsys.readouterr()
    assert code == (0 if clean else 1)
    assert actions_env.calls() == [
        ("POST", f"{BASE}/check-runs"),
        ("POST", f"{BASE}/statuses/{pr.head}"),
    ]
    status = actions_env.requests[1].body
    assert status["state"] == ("success" if clean else "failure")
    assert status["context"] == "gatekeeper/pr-check"
    assert captured.err.count("no check run") == 1
    assert "Resource not accessible by personal access token" in captured.err
    assert f"status gatekeeper/pr-check {status['state']} on {pr.head[:12]}" in captured.err
    assert token not in captured.out + captured.err


def test_token_never_appears(
    pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(pull_request.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    actions_env.script(
        "POST", f"{BASE}/check-runs", Reply(401, {"message": f"Bad credentials: Bearer {TOKEN}"})
    )
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    code = main(
        [
            "pr-check",
            str(pull_request.path),
            "--format",
            "json",
            "--format",
            "sarif",
            "--output",
            "-",
            "--output",
            str(sarif),
            "--format",
            "junit",
            "--output",
            str(junit),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2  # the verdict was printed, then reporting failed: still a block
    assert "HTTP 401: Bad credentials: Bearer ***" in captured.err
    for text in (captured.out, captured.err, sarif.read_text(), junit.read_text()):
        assert TOKEN not in text
    assert json.loads(captured.out)["verdict"] == "block"


def test_token_redacted_from_connection_errors(tmp_path: Path) -> None:
    client = GitHubClient(
        TOKEN, OWNER_REPO, api_url="http://127.0.0.1:9", http=_GitHubHttp(retries=0)
    )
    with pytest.raises(GitHubApiError) as info:
        client.create_status("c" * 40, state="success", description="d", context="c")
    assert TOKEN not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_reviews_paginated_and_fed_to_source_audit(
    clean_pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    head = clean_pull_request.head
    actions_env.reviews_pages = [
        [
            {"user": {"login": "rev1"}, "state": "APPROVED", "commit_id": "0" * 40},
            {"user": {"login": "rev2"}, "state": "COMMENTED", "commit_id": head},
        ],
        [
            {"user": {"login": "rev2"}, "state": "APPROVED", "commit_id": head},
            {"user": {"login": "dev1"}, "state": "APPROVED", "commit_id": head},
        ],
    ]
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(clean_pull_request.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code = main(
        [
            "pr-check",
            str(clean_pull_request.path),
            "--policy",
            str(_review_policy(tmp_path)),
            "--format",
            "json",
            "--no-report",
        ]
    )
    report, _ = _json_out(capsys)
    assert actions_env.calls() == [
        ("GET", f"{BASE}/pulls/7/reviews?per_page=100"),
        ("GET", f"{BASE}/pulls/7/reviews?per_page=100&page=2"),
    ]
    assert not [f for f in report["findings"] if f["rule"] == "source/unreviewed-change"]
    assert code == 0


def test_author_self_approval_does_not_count(
    clean_pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    actions_env.reviews_pages = [
        [
            {"user": {"login": "dev1"}, "state": "APPROVED", "commit_id": clean_pull_request.head},
            {"user": {"login": "rev1"}, "state": "APPROVED", "commit_id": "0" * 40},  # stale
        ]
    ]
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(clean_pull_request.event_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code = main(
        [
            "pr-check",
            str(clean_pull_request.path),
            "--policy",
            str(_review_policy(tmp_path)),
            "--format",
            "json",
            "--no-report",
        ]
    )
    report, _ = _json_out(capsys)
    assert code == 1
    new_rules = {f["rule"] for f in report["findings"] if f.get("status") is None}
    assert "source/unreviewed-change" in new_rules


def test_review_required_without_token_fails_closed(
    clean_pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(clean_pull_request.event_path))
    code = main(
        [
            "pr-check",
            str(clean_pull_request.path),
            "--policy",
            str(_review_policy(tmp_path)),
            "--format",
            "json",
        ]
    )
    report, _ = _json_out(capsys)
    assert code == 1
    assert any("reviews were not read" in n for n in report["notes"])


def test_reviews_option_latest_decision_wins() -> None:
    raw = [
        {"user": {"login": "a"}, "state": "APPROVED", "commit_id": "h"},
        {"user": {"login": "a"}, "state": "CHANGES_REQUESTED", "commit_id": "h"},
        {"user": {"login": "b"}, "state": "CHANGES_REQUESTED", "commit_id": "h"},
        {"user": {"login": "b"}, "state": "APPROVED", "commit_id": "h"},
        {"user": {"login": "b"}, "state": "COMMENTED", "commit_id": "h"},
        {"user": {"login": "c"}, "state": "APPROVED", "commit_id": "h"},
        {"user": {"login": "c"}, "state": "DISMISSED", "commit_id": "h"},
        {"user": {"login": "Author"}, "state": "APPROVED", "commit_id": "h"},
        {"user": None, "state": "APPROVED", "commit_id": "h"},
        {"user": {"login": "d"}, "state": "PENDING", "commit_id": "h"},
    ]
    assert reviews_option(raw, "author") == [
        PullRequestReview(head_sha="h", author="author", approved_by=["b"])
    ]


def test_foreign_pagination_link_is_refused(fake_github: FakeGitHub) -> None:
    fake_github.script(
        "GET",
        f"{BASE}/pulls/5/reviews?per_page=100",
        Reply(200, [], {"Link": '<https://evil.example/steal?page=2>; rel="next"'}),
    )
    client = GitHubClient(TOKEN, OWNER_REPO, api_url=fake_github.url)
    with pytest.raises(GitHubApiError, match="refusing to send the token"):
        client.list_reviews(5)
    assert len(fake_github.requests) == 1


def test_fork_pull_request(
    pull_request: PullRequest,
    monkeypatch: pytest.MonkeyPatch,
    actions_env: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = make_event(tmp_path, pull_request.base, pull_request.head, fork=True)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    # Without a token: prints and fails.
    assert main(["pr-check", str(pull_request.path), "--format", "json"]) == 1
    # With a (read-only) token: still no write is attempted.
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main(["pr-check", str(pull_request.path), "--format", "json"]) == 1
    assert actions_env.requests == []
    assert "comes from a fork" in capsys.readouterr().err


def test_no_base_is_a_usage_error(git_repo: git.Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pr-check", str(git_repo.working_tree_dir)]) == 2
    assert "pr-check needs a base" in capsys.readouterr().err


def test_head_must_be_checked_out(
    pull_request: PullRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    pull_request.repo.git.checkout("main")
    code = main(
        [
            "pr-check",
            str(pull_request.path),
            "--base",
            pull_request.base,
            "--head",
            pull_request.head,
        ]
    )
    assert code == 2
    assert "is not the pull request head" in capsys.readouterr().err


def test_merge_commit_checkout_is_accepted(
    pull_request: PullRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = pull_request.repo
    repo.git.checkout("main")
    commit_files(repo, {"other.txt": "main moved on\n"}, "main moves")
    repo.git.merge("--no-ff", "-m", "Merge feature", "feature")
    code = main(
        [
            "pr-check",
            str(pull_request.path),
            "--base",
            "main~1",
            "--head",
            pull_request.head,
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert any("audited the merge commit" in n for n in report["notes"])


def test_missing_base_commit(pull_request: PullRequest, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pr-check", str(pull_request.path), "--base", "f" * 40]) == 2
    assert "fetch it first" in capsys.readouterr().err


def test_jenkins_change_target(
    pull_request: PullRequest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pull_request.repo.git.update_ref("refs/remotes/origin/main", pull_request.base)
    monkeypatch.setenv("CHANGE_TARGET", "main")
    monkeypatch.setenv("CHANGE_ID", "31")
    assert main(["pr-check", str(pull_request.path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["subjects"] == ["#31"]
    statuses = {
        f["path"]: f.get("status")
        for f in report["findings"]
        if f["rule"] == "secrets/github-token"
    }
    assert statuses["old.env"] == "existing" and statuses["src/app.env"] is None


@pytest.mark.parametrize(
    "content", ["{not json", '{"pull_request": {"number": 1}}', '{"a": 1, "a": 2}']
)
def test_malformed_event(
    pull_request: PullRequest, tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "bad.json"
    event.write_text(content)
    assert main(["pr-check", str(pull_request.path), "--event", str(event)]) == 2
    assert "not a pull-request event" in capsys.readouterr().err


def test_non_pr_event_needs_base(
    pull_request: PullRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    push = tmp_path / "push.json"
    push.write_text('{"ref": "refs/heads/main"}')
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(push))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    with pytest.raises(InvalidInput, match="needs a base"):
        run_pr_check(
            PrCheckConfig(
                repo=pull_request.path,
                policy=default_policy(),
                environ={"GITHUB_EVENT_PATH": str(push), "GITHUB_EVENT_NAME": "push"},
            )
        )


def test_requests_loads_only_to_report() -> None:
    # Without a token nothing is posted: pr-check must not pay for importing requests.
    import subprocess
    import sys

    code = (
        "import sys, gatekeeper.github.prcheck, gatekeeper.commands.pr_check; "
        "sys.exit('requests' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
