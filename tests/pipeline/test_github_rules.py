"""The rules added for the attacks of the last years, each in the shape of its incident, with
near-misses: triggers an outsider can fire, artifact poisoning, spoofable bot checks, unsound
`contains()`, `toJSON(secrets)`, known-vulnerable actions, the policy's action list, caches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.audit import _gha_catalogue as catalogue
from gatekeeper.models.finding import Severity
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import AuditsPolicy
from tests.pipeline.conftest import Scan, collect, rules, write_tree

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
WF = ".github/workflows/ci.yml"


# --- every trigger an outsider can fire -----------------------------------------------------------

OUTSIDER_EVENTS = (
    "pull_request_target",
    "workflow_run",
    "issue_comment",
    "issues",
    "discussion",
    "discussion_comment",
    "gollum",
    "fork",
    "watch",
)


def test_each_outsider_event_is_described_with_its_documented_payload() -> None:
    events = catalogue.events()
    for name in (*OUTSIDER_EVENTS, "pull_request", "pull_request_review"):
        spec = events[name]
        assert spec.outsider
        assert spec.payload.startswith("https://docs.github.com/en/webhooks/")
    assert events["push"].outsider is False
    assert "github.event.comment.body" in events["issue_comment"].text
    assert "github.event.review.body" in events["pull_request_review"].text
    assert "github.event.issue.number" in events["issue_comment"].head


@pytest.mark.parametrize("event", OUTSIDER_EVENTS)
def test_dangerous_trigger_covers_every_privileged_outsider_event(scan: Scan, event: str) -> None:
    findings = scan(
        {
            WF: f"""
        on: {event}
        permissions: {{contents: write}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: some/action@{SHA}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/dangerous-trigger")
    assert hit.line == 1 and f"`{event}`" in hit.message
    quiet = ("fork", "watch")  # the event carries no text and no code of the outsider's
    assert hit.severity == (Severity.LOW if event in quiet else Severity.MEDIUM)


def test_dangerous_trigger_near_misses(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/label.yml": f"""
        on: pull_request_target
        permissions: {{pull-requests: write}}
        jobs:
          label:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/labeler@{SHA}
        """,
            ".github/workflows/members.yml": f"""
        on: issue_comment
        permissions: {{contents: write}}
        jobs:
          a:
            if: github.event.comment.author_association == 'OWNER'
            runs-on: ubuntu-latest
            steps:
              - uses: some/action@{SHA}
        """,
            ".github/workflows/ci.yml": "on: [push, pull_request]\npermissions: {}\njobs:\n"
            "  a:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n",
        }
    )
    hits = {f.path: f for f in rules(findings, "pipeline/dangerous-trigger")}
    assert set(hits) == {".github/workflows/label.yml", ".github/workflows/members.yml"}
    assert all(f.severity == Severity.LOW for f in hits.values())
    assert "condition keeps outsiders out" in hits[".github/workflows/members.yml"].message


@pytest.mark.parametrize(
    ("event", "ref"),
    [
        ("pull_request_target", "${{ github.event.pull_request.head.sha }}"),
        ("pull_request_target", "refs/pull/${{ github.event.number }}/merge"),
        ("workflow_run", "${{ github.event.workflow_run.head_sha }}"),
        ("issue_comment", "refs/pull/${{ github.event.issue.number }}/head"),
        ("discussion", "${{ github.event.discussion.body }}"),
    ],
)
def test_untrusted_checkout_on_every_privileged_outsider_event(
    scan: Scan, event: str, ref: str
) -> None:
    findings = scan(
        {
            WF: f"""
        on: {event}
        permissions: {{contents: write}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: {ref}
                  persist-credentials: false
              - run: make test
        """
        }
    )
    (hit,) = rules(findings, "pipeline/untrusted-checkout")
    assert hit.line == 9 and hit.severity == Severity.CRITICAL


def test_checkout_resolved_through_the_api_on_issue_comment(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: issue_comment
        permissions: {{contents: read, pull-requests: read}}
        jobs:
          test:
            if: github.event.issue.pull_request && startsWith(github.event.comment.body, '/test')
            runs-on: ubuntu-latest
            steps:
              - id: pr
                env: {{GH_TOKEN: "${{{{ github.token }}}}", N: "${{{{ github.event.issue.number }}}}"}}
                run: echo "sha=$(gh pr view "$N" --json headRefOid -q .headRefOid)" >> "$GITHUB_OUTPUT"
              - uses: actions/checkout@{SHA}
                with:
                  ref: ${{{{ steps.pr.outputs.sha }}}}
              - run: make test
              - run: gh pr checkout ${{{{ github.event.issue.number }}}} && make
        """
        }
    )
    hits = rules(findings, "pipeline/untrusted-checkout")
    assert [f.line for f in hits] == [13, 15]
    assert all(f.severity.at_least(Severity.HIGH) for f in hits)


def test_a_label_gate_with_the_events_sha_is_medium(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on:
          pull_request_target:
            types: [labeled]
        permissions: {{contents: read}}
        jobs:
          test:
            if: github.event.label.name == 'safe to test'
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: ${{{{ github.event.pull_request.head.sha }}}}
              - run: make test
                env: {{TOKEN: "${{{{ secrets.TOKEN }}}}"}}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/untrusted-checkout")
    assert hit.severity == Severity.MEDIUM and "maintainer acts" in hit.message


@pytest.mark.parametrize(
    ("event", "severity"),
    [
        ("pull_request", Severity.HIGH),
        ("pull_request_review", Severity.HIGH),
        ("issue_comment", Severity.MEDIUM),
        ("discussion", Severity.MEDIUM),
        ("watch", Severity.MEDIUM),
    ],
)
def test_self_hosted_runner_on_every_outsider_event(
    scan: Scan, event: str, severity: Severity
) -> None:
    findings = scan(
        {
            WF: f"""
        on: {event}
        permissions: {{}}
        jobs:
          a:
            runs-on: [self-hosted, linux]
            steps: [{{run: make}}]
        """
        }
    )
    (hit,) = rules(findings, "pipeline/self-hosted-runner")
    assert hit.severity == severity and f"`{event}`" in hit.message


# --- artifact poisoning (the workflow_run pattern) ----------------------------------------------

DOWNLOAD = """
              - uses: actions/download-artifact@{sha}
                with:
                  name: pr
                  path: pr/
                  run-id: ${{{{ github.event.workflow_run.id }}}}
                  github-token: ${{{{ github.token }}}}
"""


def test_artifact_written_to_github_env_in_workflow_run(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on:
          workflow_run:
            workflows: [ci]
            types: [completed]
        permissions: {pull-requests: write}
        jobs:
          comment:
            runs-on: ubuntu-latest
            steps:"""
            + DOWNLOAD.format(sha=SHA)
            + """
              - run: echo "PR_NUMBER=$(cat pr/number)" >> "$GITHUB_ENV"
              - run: bash pr/post.sh
        """
        }
    )
    hits = rules(findings, "pipeline/artifact-poisoning")
    assert [(f.line, f.severity) for f in hits] == [(17, Severity.HIGH), (18, Severity.HIGH)]
    assert "$GITHUB_ENV" in hits[0].message and "runs a file from it" in hits[1].message
    assert rules(findings, "pipeline/github-env-injection") == []


def test_artifact_unpacked_over_the_checkout_then_built(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on:
          workflow_run:
            workflows: [ci]
            types: [completed]
        permissions: {{contents: write}}
        jobs:
          deploy:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with: {{persist-credentials: false}}
              - uses: dawidd6/action-download-artifact@{SHA}
                with:
                  run_id: ${{{{ github.event.workflow_run.id }}}}
              - run: npm ci && npm run build
        """
        }
    )
    (hit,) = rules(findings, "pipeline/artifact-poisoning")
    assert hit.line == 15 and "unpacks it over the checkout" in hit.message


def test_artifact_only_uploaded_or_read_as_data_does_not_fire(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/pr.yml": f"""
        on: pull_request
        permissions: {{}}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{{{ github.event.number }}}}" > number
              - uses: actions/upload-artifact@{SHA}
                with: {{name: pr, path: number}}
        """,
            ".github/workflows/comment.yml": """
        on:
          workflow_run:
            workflows: [ci]
            types: [completed]
        permissions: {pull-requests: write}
        jobs:
          comment:
            runs-on: ubuntu-latest
            steps:"""
            + DOWNLOAD.format(sha=SHA)
            + """
              - env: {GH_TOKEN: "${{ github.token }}"}
                run: gh pr comment 1 --body-file pr/comment.md
        """,
        }
    )
    assert rules(findings, "pipeline/artifact-poisoning") == []


# --- bot conditions, contains(), toJSON(secrets) --------------------------------------------------


def test_spoofable_bot_conditions(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {contents: write}
        jobs:
          automerge:
            if: github.actor == 'dependabot[bot]'
            runs-on: ubuntu-latest
            steps:
              - if: ${{ github['ACTOR'] == 'renovate[bot]' && github.repository == 'o/r' }}
                run: echo merge
              - if: github.actor_id == 49699333
                run: echo merge
              - if: github.event.pull_request.user.login == 'dependabot[bot]'
                run: echo sound
              - if: github.actor != 'dependabot[bot]'
                run: echo not a grant
              - if: github.actor == 'octocat'
                run: echo a person
        """
        }
    )
    hits = rules(findings, "pipeline/bot-condition")
    assert [(f.line, f.severity) for f in hits] == [
        (5, Severity.HIGH),
        (8, Severity.HIGH),
        (10, Severity.HIGH),
    ]


def test_unsound_contains(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: [push, pull_request]
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - if: contains('refs/heads/main refs/heads/develop', github.ref)
                run: deploy
              - if: contains('runner1,runner2', runner.name)
                run: echo
              - if: contains(fromJSON('["refs/heads/main", "refs/heads/develop"]'), github.ref)
                run: deploy
              - if: contains(github.event.pull_request.labels.*.name, 'ok')
                run: echo
        """
        }
    )
    hits = rules(findings, "pipeline/unsound-contains")
    assert [(f.line, f.severity) for f in hits] == [(7, Severity.MEDIUM), (9, Severity.LOW)]


def test_overprovisioned_secrets(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: ./deploy
                env:
                  ALL: ${{ toJSON(secrets) }}
                  WRAPPED: ${{ format('{0}', toJSON(secrets)) }}
                  ONE: ${{ secrets.ONE }}
                  ONE_JSON: ${{ toJSON(secrets.ONE) }}
                  PICKED: ${{ secrets[inputs.name] }}
        """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/overprovisioned-secrets")] == [9, 10, 13]


# --- caches ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uses", "inputs", "fires"),
    [
        ("astral-sh/setup-uv@v6", "", True),
        ("astral-sh/setup-uv@v6", "enable-cache: false", False),
        ("astral-sh/setup-uv@v4", "", False),
        ("astral-sh/setup-uv@v4", "enable-cache: true", True),
        (f"astral-sh/setup-uv@{SHA} # v5.4.0", "", True),
        ("actions/setup-node@v5", "", True),
        ("actions/setup-node@v5", "package-manager-cache: false", False),
        ("actions/setup-node@v4", "", False),
        ("PyO3/maturin-action@v1", "sccache: true", True),
        ("PyO3/maturin-action@v1", "", False),
        ("ramsey/composer-install@v3", "", True),
        ("ramsey/composer-install@v3", "ignore-cache: true", False),
        ("actions/cache@v4", "path: x\n                  key: k", True),
        (
            "actions/cache@v4",
            "path: x\n                  key: k\n                  lookup-only: true",
            False,
        ),
        ("ruby/setup-ruby@v1", "bundler-cache: true", True),
    ],
)
def test_caches_on_by_default_and_switched_off(
    scan: Scan, uses: str, inputs: str, fires: bool
) -> None:
    with_block = f"\n                with:\n                  {inputs}" if inputs else ""
    findings = scan(
        {
            WF: f"""
        on:
          push:
            tags: ["v*"]
        permissions: {{}}
        jobs:
          publish:
            runs-on: ubuntu-latest
            steps:
              - uses: {uses}{with_block}
              - run: npm publish
        """
        }
    )
    assert bool(rules(findings, "pipeline/cache-poisoning")) is fires


def test_cache_poisoning_is_judged_per_job(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/release.yml": f"""
        on: push
        permissions: {{}}
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: Swatinem/rust-cache@{SHA}
              - run: cargo test && cargo publish --dry-run
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: Swatinem/rust-cache@{SHA}
              - run: cargo build --release
              - uses: actions/upload-artifact@{SHA}
                with: {{name: dist, path: target/release/tool}}
          coverage:
            runs-on: ubuntu-latest
            steps:
              - uses: Swatinem/rust-cache@{SHA}
              - uses: actions/upload-artifact@{SHA}
                with: {{name: coverage, path: cov}}
          publish:
            needs: [test, build, coverage]
            runs-on: ubuntu-latest
            steps:
              - uses: actions/download-artifact@{SHA}
                with: {{name: dist}}
              - run: gh release upload v1 tool
        """
        }
    )
    hits = rules(findings, "pipeline/cache-poisoning")
    assert [(f.line, f.severity) for f in hits] == [(12, Severity.MEDIUM)]
    assert "builds an artifact for job publish" in hits[0].message


# --- actions: known advisories and the policy's list --------------------------------------------


def _osv_db(root: Path) -> Path:
    db = root / "osv"
    db.mkdir()
    record = {
        "id": "GHSA-mrrh-fwg8-r2c3",
        "aliases": ["CVE-2025-30066"],
        "summary": "tj-actions/changed-files leaks secrets in the workflow log",
        "modified": "2025-03-20T00:00:00Z",
        "database_specific": {"severity": "HIGH"},
        "affected": [
            {
                "package": {"ecosystem": "GitHub Actions", "name": "tj-actions/changed-files"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "46.0.1"}]}
                ],
            }
        ],
    }
    (db / "GHSA-mrrh-fwg8-r2c3.json").write_text(json.dumps(record))
    other = dict(record, id="PYSEC-1", affected=[{"package": {"ecosystem": "PyPI", "name": "x"}}])
    (db / "PYSEC-1.json").write_text(json.dumps(other))
    return db


def test_known_vulnerable_action_from_the_osv_database(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "repo",
        {
            WF: f"""
            on: pull_request
            permissions: {{}}
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - uses: tj-actions/changed-files@v45.0.7
                  - uses: tj-actions/changed-files@{SHA} # v44.5.1
                  - uses: tj-actions/changed-files@v46.0.1
                  - uses: tj-actions/changed-files@v45
            """
        },
    )
    evidence = collect(root)
    options = AuditOptions(osv_db=_osv_db(tmp_path), osv_cache=tmp_path / "cache")
    ctx = AuditContext(policy=AuditsPolicy(), repo=root, options=options)
    findings = run_audits({"pipeline": evidence}, ctx)
    hits = rules(findings, "pipeline/known-vulnerable-action")
    assert [(f.line, f.severity) for f in hits] == [(7, Severity.HIGH), (8, Severity.HIGH)]
    assert "GHSA-mrrh-fwg8-r2c3" in hits[0].message and "CVE-2025-30066" in hits[0].message
    # a second run reads the extract from the cache
    assert list((tmp_path / "cache").glob("github-actions-*.json"))
    assert run_audits({"pipeline": evidence}, ctx) == findings
    # no database: nothing is claimed
    quiet = run_audits({"pipeline": evidence}, AuditContext(policy=AuditsPolicy(), repo=root))
    assert rules(quiet, "pipeline/known-vulnerable-action") == []


def test_the_policys_allowed_and_denied_actions(scan: Scan) -> None:
    files = {
        WF: f"""
        on: push
        permissions: {{}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with: {{persist-credentials: false}}
              - uses: docker/login-action@{SHA}
              - uses: someone/unknown@{SHA}
              - uses: ./.github/actions/local
        """
    }
    policy = AuditsPolicy(
        allowed_actions=["actions/*", "docker/*"], denied_actions=["docker/login-action"]
    )
    hits = rules(scan(files, policy), "pipeline/disallowed-action")
    assert [(f.line, f.severity) for f in hits] == [(9, Severity.HIGH), (10, Severity.HIGH)]
    assert "denied_actions" in hits[0].message and "allowed_actions" in hits[1].message
    assert rules(scan(files), "pipeline/disallowed-action") == []
