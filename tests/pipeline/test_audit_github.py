"""GitHub Actions rules: each fires on real workflow syntax and stays quiet on its near-misses."""

from __future__ import annotations

from gatekeeper.models.finding import Finding, Severity
from tests.pipeline.conftest import Scan, rules


def serious(findings: list[Finding]) -> list[Finding]:
    """Findings at medium or above (low ones are advice: the message says what is missing)."""
    return [f for f in findings if f.severity.at_least(Severity.MEDIUM)]


SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
WF = ".github/workflows/ci.yml"

CLEAN = f"""
name: ci
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA} # v4.1.1
        with:
          persist-credentials: false
      - uses: actions/setup-python@{SHA}
        with:
          python-version: "3.12"
      - run: |
          pip install -r requirements.txt
          pytest -q
"""


def test_clean_workflow_has_no_findings(scan: Scan) -> None:
    assert scan({WF: CLEAN}) == []


# --- dangerous-trigger / untrusted-checkout ---------------------------------------------------


def test_pull_request_target_checkout_of_head_is_critical(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on:
          pull_request_target:
            types: [opened, synchronize]
        permissions: {{contents: read}}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: ${{{{ github.event.pull_request.head.sha }}}}
                  persist-credentials: false
              - run: make test
                env:
                  DEPLOY_KEY: ${{{{ secrets.DEPLOY_KEY }}}}
    """
        }
    )
    trig = rules(findings, "pipeline/dangerous-trigger")
    assert [(f.line, f.severity.value) for f in trig] == [(2, "medium")]
    checkout = rules(findings, "pipeline/untrusted-checkout")
    assert [(f.line, f.severity.value) for f in checkout] == [(11, "critical")]
    assert "runs with secrets" in checkout[0].message


def test_workflow_run_head_branch_checkout_and_gh_pr_checkout(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on:
          workflow_run:
            workflows: [ci]
            types: [completed]
        permissions: {{}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: ${{{{ github.event.workflow_run.head_branch }}}}
                  persist-credentials: false
              - run: gh pr checkout 12
    """
        }
    )
    lines = sorted(f.line for f in rules(findings, "pipeline/untrusted-checkout"))
    assert lines == [12, 14]


def test_pull_request_target_without_head_checkout_is_only_context(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: pull_request_target
        permissions: {{pull-requests: write}}
        jobs:
          label:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  persist-credentials: false
              - uses: actions/labeler@{SHA}
    """
        }
    )
    assert [(f.rule, f.severity.value) for f in rules(findings, "pipeline/dangerous-trigger")] == [
        ("pipeline/dangerous-trigger", "low")
    ]
    assert "labeler" in rules(findings, "pipeline/dangerous-trigger")[0].message or (
        "GitHub's own actions" in rules(findings, "pipeline/dangerous-trigger")[0].message
    )
    assert serious(findings) == []


def test_head_checkout_on_plain_pull_request_is_fine(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: pull_request
        permissions: {{contents: read}}
        jobs:
          t:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: ${{{{ github.event.pull_request.head.sha }}}}
    """
        }
    )
    assert rules(findings, "pipeline/untrusted-checkout") == []
    assert serious(findings) == []


# --- template-injection ----------------------------------------------------------------------


def test_template_injection_in_run_and_github_script(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: issues
        permissions: {{issues: write}}
        jobs:
          triage:
            runs-on: ubuntu-latest
            steps:
              - name: greet
                run: |
                  echo "new issue"
                  echo "${{{{ github.event.issue.title }}}}"
              - uses: actions/github-script@{SHA}
                with:
                  script: |
                    const body = `${{{{ github.event.issue.body }}}}`
                    console.log(body)
              - run: echo "${{{{ github.head_ref }}}}"
    """
        }
    )
    hits = rules(findings, "pipeline/template-injection")
    # `github.head_ref` is empty on `issues`: reported, at low, saying so.
    assert sorted((f.line, f.severity.value) for f in hits) == [
        (10, "high"),
        (14, "high"),
        (16, "low"),
    ]
    assert "none of the workflow's triggers (issues) carries github.head_ref" in hits[2].message
    assert all("github." in f.message for f in hits)


def test_env_indirection_and_with_inputs_do_not_fire(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: issues
        permissions: {{issues: write}}
        jobs:
          triage:
            runs-on: ubuntu-latest
            steps:
              - env:
                  TITLE: ${{{{ github.event.issue.title }}}}
                run: echo "$TITLE"
              - uses: some-org/labeler@{SHA}
                with:
                  text: ${{{{ github.event.issue.body }}}}
              - run: echo "${{{{ github.sha }}}} ${{{{ github.event.issue.number }}}}"
              - if: contains(github.event.issue.title, 'bug')
                run: echo bug
              - run: echo "${{{{ contains(github.event.issue.title, 'x') }}}}"
    """
        }
    )
    assert rules(findings, "pipeline/template-injection") == []


def test_expression_of_tainted_env_in_run_still_fires(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issue_comment
        permissions: {}
        env:
          BODY: ${{ github.event.comment.body }}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ env.BODY }}"
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/template-injection")] == [9]


def test_template_injection_in_composite_action(scan: Scan) -> None:
    findings = scan(
        {
            "actions/notify/action.yml": """
        name: notify
        runs:
          using: composite
          steps:
            - shell: bash
              run: echo "${{ github.event.pull_request.title }}"
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/template-injection")] == [6]


# --- unpinned-action / unpinned-image --------------------------------------------------------


def test_unpinned_actions_and_severities(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: github/codeql-action/init@v3
              - uses: docker/login-action@v3
              - uses: someone/thing@main
              - uses: someone/short@b4ffde6
              - uses: ./.github/actions/local
              - uses: someone/pinned@{SHA}
              - uses: actions/cache@main
          call:
            uses: org/shared/.github/workflows/build.yml@main
          local-call:
            uses: ./.github/workflows/reusable.yml
    """
        }
    )
    hits = {(f.line, f.severity.value) for f in rules(findings, "pipeline/unpinned-action")}
    assert hits == {
        (7, "low"),
        (8, "low"),
        (9, "medium"),
        (10, "medium"),
        (11, "medium"),
        (14, "medium"),
        (16, "medium"),
    }


def test_unpinned_images_container_services_and_docker_uses(scan: Scan) -> None:
    digest = "sha256:" + "a" * 64
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          a:
            runs-on: ubuntu-latest
            container: node:20
            services:
              db:
                image: postgres:16@{digest}
              cache:
                image: redis
            steps:
              - uses: docker://alpine:3.19
              - uses: docker://alpine@{digest}
          b:
            runs-on: ubuntu-latest
            container:
              image: ghcr.io/org/img@{digest}
            steps:
              - run: true
    """
        }
    )
    hits = sorted((f.line, f.severity.value) for f in rules(findings, "pipeline/unpinned-image"))
    assert hits == [(6, "low"), (11, "low"), (13, "low")]


# --- excessive-permissions / secrets-inherit -------------------------------------------------


def test_write_all_at_workflow_level_fires(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: write-all
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: make
    """
        }
    )
    hits = rules(findings, "pipeline/excessive-permissions")
    assert [(f.line, f.severity.value) for f in hits] == [(2, "medium")]
    assert "write-all" in hits[0].message


def test_no_permissions_anywhere_fires_once(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: [push]
        jobs:
          a:
            runs-on: ubuntu-latest
            steps: [{run: make}]
          b:
            runs-on: ubuntu-latest
            steps: [{run: make}]
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/excessive-permissions")] == [1]


def test_job_level_permissions_cover_the_workflow_but_a_gap_fires(scan: Scan) -> None:
    covered = scan(
        {
            WF: """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            permissions: {contents: read}
            steps: [{run: make}]
    """
        }
    )
    assert rules(covered, "pipeline/excessive-permissions") == []
    gap = scan(
        {
            WF: """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            permissions: read-all
            steps: [{run: make}]
          b:
            runs-on: ubuntu-latest
            steps: [{run: make}]
          c:
            runs-on: ubuntu-latest
            permissions: write-all
            steps: [{run: make}]
    """
        }
    )
    found = sorted((f.line, f.severity.value) for f in rules(gap, "pipeline/excessive-permissions"))
    # read-all: more than a job needs but nothing it can change (low); the gap and write-all
    assert found == [(5, "low"), (7, "medium"), (12, "medium")]


def test_secrets_inherit(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          call:
            uses: org/repo/.github/workflows/deploy.yml@{SHA}
            secrets: inherit
          named:
            uses: org/repo/.github/workflows/deploy.yml@{SHA}
            secrets:
              token: ${{{{ secrets.DEPLOY_TOKEN }}}}
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/secrets-inherit")] == [6]


# --- self-hosted-runner ----------------------------------------------------------------------


def test_self_hosted_runner_on_pull_request(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on:
          pull_request:
            branches: [main]
        permissions: {contents: read}
        jobs:
          build:
            runs-on: [self-hosted, linux, x64]
            steps: [{run: make}]
    """
        }
    )
    hits = rules(findings, "pipeline/self-hosted-runner")
    assert [(f.line, f.severity.value) for f in hits] == [(7, "high")]


def test_self_hosted_on_push_only_and_hosted_on_pr_do_not_fire(scan: Scan) -> None:
    push_only = scan(
        {
            WF: """
        on:
          push:
            branches: [main]
        permissions: {contents: read}
        jobs:
          build:
            runs-on: self-hosted
            steps: [{run: make}]
    """
        }
    )
    hosted = scan(
        {
            WF: """
        on: pull_request
        permissions: {contents: read}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps: [{run: make}]
    """
        }
    )
    assert rules(push_only + hosted, "pipeline/self-hosted-runner") == []


# --- insecure-commands / github-env-injection ------------------------------------------------


def test_insecure_commands(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {contents: read}
        env:
          ACTIONS_ALLOW_UNSECURE_COMMANDS: true
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              ACTIONS_ALLOW_UNSECURE_COMMANDS: "false"
            steps:
              - run: echo "ACTIONS_ALLOW_UNSECURE_COMMANDS=true" >> $GITHUB_ENV
    """
        }
    )
    assert sorted(f.line for f in rules(findings, "pipeline/insecure-commands")) == [4, 11]


def test_github_env_injection_direct_indirect_and_heredoc(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              BRANCH: ${{ github.head_ref }}
            steps:
              - run: |
                  echo "REF=$BRANCH" >> "$GITHUB_ENV"
                  echo "static=1" >> $GITHUB_OUTPUT
                  echo "NUM=$(cat pr/number.txt)" >> $GITHUB_ENV
                  cat >> $GITHUB_ENV <<EOF
                  X=${BRANCH}
                  EOF
              - run: echo "T=${{ github.event.pull_request.title }}" >> $GITHUB_ENV
    """
        }
    )
    hits = sorted(f.line for f in rules(findings, "pipeline/github-env-injection"))
    # `$(cat pr/number.txt)` reads a file of the base checkout (nothing here fetched the
    # pull request's files), so it is not the outsider's text.
    assert hits == [10, 13, 16]


def test_github_env_safe_writes_do_not_fire(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {contents: read}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "VERSION=1.2.3" >> $GITHUB_ENV
                  echo "SHA=${{ github.sha }}" >> $GITHUB_ENV
                  echo "DATE=$(date +%F)" >> $GITHUB_ENV
                  echo "$HOME/.local/bin" >> $GITHUB_PATH
    """
        }
    )
    assert rules(findings, "pipeline/github-env-injection") == []


# --- persisted-credentials -------------------------------------------------------------------


def test_persisted_credentials_with_upload_artifact(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
              - uses: actions/upload-artifact@{SHA}
                with: {{name: site, path: .}}
          b:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with: {{persist-credentials: false}}
              - uses: actions/upload-artifact@{SHA}
                with: {{name: site, path: dist}}
          c:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
              - run: make
    """
        }
    )
    assert [
        (f.line, f.severity.value) for f in rules(findings, "pipeline/persisted-credentials")
    ] == [(7, "medium"), (20, "low")]
    assert "uploads `.`" in rules(findings, "pipeline/persisted-credentials")[0].message


# --- cache-poisoning -------------------------------------------------------------------------


def test_cache_poisoning_in_release_workflow(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/release.yml": f"""
        on:
          push:
            tags: ["v*"]
        permissions: {{contents: write}}
        jobs:
          publish:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with: {{persist-credentials: false}}
              - uses: actions/setup-node@{SHA}
                with:
                  node-version: 20
                  cache: npm
              - uses: actions/setup-go@{SHA}
                with: {{cache: false}}
              - run: npm publish
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/cache-poisoning")] == [11]


def test_cache_in_ci_or_release_without_cache_does_not_fire(scan: Scan) -> None:
    ci = scan(
        {
            WF: f"""
        on: pull_request
        permissions: {{contents: read}}
        jobs:
          t:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/cache@{SHA}
                with: {{path: ~/.npm, key: npm}}
    """
        }
    )
    release = scan(
        {
            ".github/workflows/release.yml": f"""
        on:
          release:
            types: [published]
        permissions: {{contents: read, id-token: write}}
        jobs:
          pypi:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/setup-python@{SHA}
                with: {{python-version: "3.12"}}
              - uses: pypa/gh-action-pypi-publish@{SHA}
    """
        }
    )
    assert rules(ci + release, "pipeline/cache-poisoning") == []


def test_finding_fingerprints_survive_line_moves(scan: Scan) -> None:
    body = """
        on: push
        permissions: {contents: read}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: someone/thing@main
    """
    first = scan({WF: body})
    moved = scan({WF: "# a comment\n# another\n" + body.replace("\n        ", "\n")})
    assert [f.fingerprint for f in first] == [f.fingerprint for f in moved]
    assert [f.line for f in first] != [f.line for f in moved]


def test_self_hosted_runner_through_a_matrix(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request
        permissions: {contents: read}
        jobs:
          build:
            strategy:
              matrix:
                runner: [ubuntu-latest, [self-hosted, gpu]]
            runs-on: ${{ matrix.runner }}
            steps: [{run: make}]
          hosted:
            strategy:
              matrix:
                os: [ubuntu-latest, windows-latest]
                include:
                  - os: macos-latest
            runs-on: ${{ matrix.os }}
            steps: [{run: make}]
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/self-hosted-runner")] == [8]


def test_reusable_workflow_without_permissions_inherits_the_callers(scan: Scan) -> None:
    callee = scan(
        {
            ".github/workflows/reusable.yml": """
        on:
          workflow_call:
            inputs:
              target: {type: string, required: true}
        jobs:
          deploy:
            runs-on: ubuntu-latest
            steps: [{run: make deploy}]
    """
        }
    )
    assert rules(callee, "pipeline/excessive-permissions") == []
    also_push = scan(
        {
            ".github/workflows/reusable.yml": """
        on: [workflow_call, push]
        jobs:
          deploy:
            runs-on: ubuntu-latest
            steps: [{run: make deploy}]
    """
        }
    )
    assert len(rules(also_push, "pipeline/excessive-permissions")) == 1


def test_comment_bot_checking_out_the_pull_request(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: issue_comment
        permissions: {{contents: read}}
        jobs:
          test:
            if: github.event.issue.pull_request && github.event.comment.body == '/test'
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  ref: refs/pull/${{{{ github.event.issue.number }}}}/head
                  persist-credentials: false
              - run: make test
    """
        }
    )
    checkout = rules(findings, "pipeline/untrusted-checkout")
    # `/test` comments from anyone: the contributed code runs with the base's privileges.
    assert [(f.line, f.severity.value) for f in checkout] == [(10, "high")]
    assert "no secrets" not in checkout[0].message or "read-only" in checkout[0].message
    assert [f.severity.value for f in rules(findings, "pipeline/dangerous-trigger")] == ["medium"]


def test_run_fetching_the_pull_request_head(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {contents: read}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  git fetch origin pull/${{ github.event.number }}/head:pr
                  git checkout pr
              - run: git fetch origin main && git log -1
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/untrusted-checkout")] == [8]


def test_static_heredoc_to_github_env_in_pr_target_is_fine(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  cat >> "$GITHUB_ENV" <<EOF
                  MODE=ci
                  EOF
                  cat >> "$GITHUB_ENV" <<EOF
                  PR=$(cat pr/number)
                  EOF
    """
        }
    )
    # Neither heredoc writes an outsider's text: the file is the base checkout's.
    assert rules(findings, "pipeline/github-env-injection") == []


def test_multiline_env_delimiter_syntax_reports_the_tainted_line_only(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issue_comment
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - env:
                  BODY: ${{ github.event.comment.body }}
                run: |
                  echo "COMMENT<<EOF" >> "$GITHUB_ENV"
                  echo "$BODY" >> "$GITHUB_ENV"
                  echo "EOF" >> "$GITHUB_ENV"
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/github-env-injection")] == [11]
