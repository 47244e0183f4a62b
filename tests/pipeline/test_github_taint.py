"""Taint flow: outsiders' text followed through env, shell variables, outputs, jobs, local
actions and reusable workflows, with the whole path in the finding; severity from
exploitability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.models.finding import Severity
from tests.pipeline.conftest import Scan, rules

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
WF = ".github/workflows/ci.yml"


# --- through local composite actions and reusable workflows -------------------------------------


def test_issue_title_into_a_local_composite_action_that_interpolates_its_input(
    scan: Scan,
) -> None:
    findings = scan(
        {
            WF: """
        on:
          issues:
            types: [opened]
        permissions: {issues: write}
        jobs:
          triage:
            runs-on: ubuntu-latest
            steps:
              - uses: ./.github/actions/greet
                with:
                  title: ${{ github.event.issue.title }}
        """,
            ".github/actions/greet/action.yml": """
        name: greet
        inputs:
          title: {required: true}
        runs:
          using: composite
          steps:
            - run: echo "Thanks for ${{ inputs.title }}"
              shell: bash
        """,
        }
    )
    (hit,) = rules(findings, "pipeline/template-injection")
    assert (hit.path, hit.line, hit.severity) == (WF, 9, Severity.HIGH)
    # the whole path: source, the input, the action file, the sink
    assert "github.event.issue.title → `with: title` of ./.github/actions/greet" in hit.message
    assert "via .github/actions/greet/action.yml (used by step #0, line 9)" in hit.message
    assert "run: at .github/actions/greet/action.yml:7" in hit.message


def test_the_same_action_called_with_a_constant_is_quiet(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issues
        permissions: {issues: write}
        jobs:
          triage:
            runs-on: ubuntu-latest
            steps:
              - uses: ./.github/actions/greet
                with:
                  title: hello
        """,
            ".github/actions/greet/action.yml": """
        name: greet
        inputs:
          title: {required: true}
        runs:
          using: composite
          steps:
            - run: echo "Thanks for ${{ inputs.title }}"
              shell: bash
        """,
        }
    )
    assert rules(findings, "pipeline/template-injection") == []


def test_a_published_action_expanding_its_input_is_low(scan: Scan) -> None:
    findings = scan(
        {
            "action.yml": """
        name: published
        inputs:
          version: {required: true}
        runs:
          using: composite
          steps:
            - run: install ${{ inputs.version }}
              shell: bash
        """,
        }
    )
    (hit,) = rules(findings, "pipeline/template-injection")
    assert hit.severity == Severity.LOW and "whoever calls it decides" in hit.message


def test_taint_through_a_local_reusable_workflow_and_its_outputs(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {pull-requests: write}
        jobs:
          meta:
            uses: ./.github/workflows/meta.yml
            with:
              branch: ${{ github.event.pull_request.head.ref }}
          use:
            needs: meta
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ needs.meta.outputs.slug }}"
        """,
            ".github/workflows/meta.yml": """
        on:
          workflow_call:
            inputs:
              branch: {type: string, required: true}
            outputs:
              slug:
                value: ${{ jobs.m.outputs.slug }}
        jobs:
          m:
            runs-on: ubuntu-latest
            outputs:
              slug: ${{ steps.s.outputs.slug }}
            steps:
              - id: s
                env:
                  BRANCH: ${{ inputs.branch }}
                run: echo "slug=$BRANCH" >> "$GITHUB_OUTPUT"
        """,
        }
    )
    hits = rules(findings, "pipeline/template-injection")
    assert [(f.path, f.line, f.severity) for f in hits] == [(WF, 12, Severity.HIGH)]
    path = hits[0].message
    for hop in (
        "github.event.pull_request.head.ref",
        "`with: branch` of ./.github/workflows/meta.yml",
        "env BRANCH",
        "$GITHUB_OUTPUT as slug",
        "steps.s.outputs.slug",
        "job output m.slug",
        "workflow output slug",
    ):
        assert hop in path


def test_a_boolean_input_carries_no_text(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/reuse.yml": """
        on:
          workflow_call:
            inputs:
              debug: {type: boolean}
              name: {type: string}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo ${{ inputs.debug }} ${{ inputs.name }}
        """,
        }
    )
    hits = rules(findings, "pipeline/template-injection")
    assert len(hits) == 1 and "inputs.name" in hits[0].message


# --- through shell variables into $GITHUB_ENV ----------------------------------------------------


def test_the_advisory_pattern_title_through_a_shell_variable_into_github_env(scan: Scan) -> None:
    findings = scan(
        {
            WF: r"""
        on: pull_request_target
        permissions: {}
        jobs:
          vulnerable:
            runs-on: ubuntu-latest
            steps:
              - name: Passes the title around
                env:
                  TITLE: ${{ github.event.pull_request.title }}
                run: |
                  message=$(echo "$TITLE" | grep -oP '[{\[][^}\]]+[}\]]' | sed 's/{\|}\|\[\|\]//g')
                  echo "message=$message" >> $GITHUB_ENV
        """
        }
    )
    (hit,) = rules(findings, "pipeline/github-env-injection")
    assert hit.line == 12 and hit.severity == Severity.HIGH
    assert "as message" in hit.message and "env TITLE" in hit.message


def test_read_and_heredoc_carry_taint_but_quoted_literals_do_not(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issue_comment
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              BODY: ${{ github.event.comment.body }}
            steps:
              - run: |
                  read -r first <<< "$BODY"
                  echo "FIRST=$first" >> "$GITHUB_ENV"
                  echo 'LITERAL=$BODY' >> "$GITHUB_ENV"
                  count=$(( 1 + 2 ))
                  echo "COUNT=$count" >> "$GITHUB_ENV"
              - run: echo "${{ env.FIRST }}"
        """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/github-env-injection")] == [11]
    # the value written to GITHUB_ENV is in the next step's environment and expression
    (later,) = rules(findings, "pipeline/template-injection")
    assert later.line == 15 and "$GITHUB_ENV as FIRST" in later.message


def test_a_jq_number_written_to_github_output_is_not_an_injection(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: workflow_run
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - id: n
                run: echo "count=$(jq '.items | length' data.json)" >> "$GITHUB_OUTPUT"
              - run: echo "${{ steps.n.outputs.count }}"
        """
        }
    )
    assert rules(findings, "pipeline/github-env-injection") == []
    assert rules(findings, "pipeline/template-injection") == []


def test_output_written_from_tainted_text_is_low_and_its_use_is_reported(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issues
        permissions: {issues: write}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - id: t
                env: {TITLE: "${{ github.event.issue.title }}"}
                run: echo "title=$TITLE" >> "$GITHUB_OUTPUT"
              - run: echo "${{ steps.t.outputs.title }}"
        """
        }
    )
    (out,) = rules(findings, "pipeline/github-env-injection")
    assert out.severity == Severity.LOW and "$GITHUB_OUTPUT" in out.message
    (use,) = rules(findings, "pipeline/template-injection")
    assert use.severity == Severity.HIGH and "steps.t.outputs.title" in use.message


# --- contexts read structurally --------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "expression"),
    [
        ("issues", "github.event['issue']['title']"),
        ("issues", "github.EVENT.Issue.TITLE"),
        ("issues", "github.event.changes.title.from"),
        ("pull_request_target", "github.event.pull_request.head.repo.description"),
        ("pull_request_target", "format('{0}', github.event.pull_request.body)"),
        ("pull_request_target", "toJSON(github.event.pull_request)"),
        ("issue_comment", "github.event.issue.title || github.event.comment.body"),
        ("push", "github.event.commits[0].message"),
    ],
)
def test_contexts_are_matched_structurally(scan: Scan, trigger: str, expression: str) -> None:
    findings = scan(
        {
            WF: f"""
        on: {trigger}
        permissions: {{contents: write}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{{{ {expression} }}}}"
        """
        }
    )
    (hit,) = rules(findings, "pipeline/template-injection")
    expected = Severity.MEDIUM if trigger == "push" else Severity.HIGH
    assert hit.severity == expected


@pytest.mark.parametrize(
    "expression",
    [
        "github.event.issue.title == 'bug'",
        "contains(github.event.issue.title, 'bug')",
        "github.event.issue.number",
        "github.event.issue.user.login",
        "hashFiles(github.event.issue.title)",
        "github.event.issue.title && 'yes'",
    ],
)
def test_values_that_carry_no_text_do_not_fire(scan: Scan, expression: str) -> None:
    findings = scan(
        {
            WF: f"""
        on: issues
        permissions: {{issues: write}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{{{ {expression} }}}}"
        """
        }
    )
    assert rules(findings, "pipeline/template-injection") == []


# --- code-executing inputs of third-party actions ----------------------------------------------


@pytest.mark.parametrize(
    ("uses", "key"),
    [
        ("Amadevus/pwsh-script@v2", "script"),
        ("azure/cli@v2", "inlineScript"),
        ("mikefarah/yq@v4", "cmd"),
        ("jannekem/run-python-script-action@v1", "script"),
        ("tibdex/backport@v2", "title_template"),
        ("actions/github-script@v7", "script"),
    ],
)
def test_inputs_that_actions_run_as_code(scan: Scan, uses: str, key: str) -> None:
    findings = scan(
        {
            WF: f"""
        on: issues
        permissions: {{issues: write}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: {uses}
                with:
                  {key}: |
                    print("${{{{ github.event.issue.title }}}}")
                  other: ${{{{ github.event.issue.body }}}}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/template-injection")
    assert hit.line == 10 and f"`{key}` input of" in hit.message


# --- severity from exploitability ----------------------------------------------------------------


def test_severity_says_which_condition_is_missing(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/push.yml": """
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.event.issue.title }}"
              - run: echo "${{ github.event.head_commit.message }}"
        """,
            ".github/workflows/pr.yml": """
        on: pull_request
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.head_ref }}"
          b:
            runs-on: [self-hosted, linux]
            steps:
              - run: echo "${{ github.head_ref }}"
        """,
            ".github/workflows/comment.yml": """
        on: issue_comment
        permissions: {}
        jobs:
          members:
            if: github.event.comment.author_association == 'MEMBER'
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.event.comment.body }}"
          anyone:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.event.comment.body }}"
        """,
        }
    )
    by_place = {
        (f.path.rsplit("/", 1)[-1], f.line): (f.severity, f.message)
        for f in rules(findings, "pipeline/template-injection")
    }
    assert by_place[("push.yml", 7)][0] == Severity.LOW
    assert "none of the workflow's triggers (push)" in by_place[("push.yml", 7)][1]
    assert by_place[("push.yml", 8)][0] == Severity.MEDIUM
    assert "only after a maintainer merges" in by_place[("push.yml", 8)][1]
    assert by_place[("pr.yml", 7)][0] == Severity.LOW
    assert "without secrets" in by_place[("pr.yml", 7)][1]
    assert by_place[("pr.yml", 11)][0] == Severity.HIGH
    assert "self-hosted" in by_place[("pr.yml", 11)][1]
    assert by_place[("comment.yml", 8)][0] == Severity.LOW
    assert "keep out" in by_place[("comment.yml", 8)][1]
    assert by_place[("comment.yml", 12)][0] == Severity.HIGH


def test_a_spoofable_bot_check_does_not_keep_outsiders_out(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request_target
        permissions: {pull-requests: write}
        jobs:
          a:
            if: github.actor == 'dependabot[bot]'
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.event.pull_request.title }}"
          b:
            if: github.event.pull_request.user.login == 'dependabot[bot]'
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ github.event.pull_request.title }}"
        """
        }
    )
    severities = {f.line: f.severity for f in rules(findings, "pipeline/template-injection")}
    assert severities == {8: Severity.HIGH, 13: Severity.LOW}


def test_matrix_built_from_tainted_output(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issues
        permissions: {issues: write}
        jobs:
          plan:
            runs-on: ubuntu-latest
            outputs:
              targets: ${{ steps.p.outputs.targets }}
            steps:
              - id: p
                env: {BODY: "${{ github.event.issue.body }}"}
                run: echo "targets=$BODY" >> "$GITHUB_OUTPUT"
          build:
            needs: plan
            strategy:
              matrix:
                target: ${{ fromJSON(needs.plan.outputs.targets) }}
            runs-on: ubuntu-latest
            steps:
              - run: make ${{ matrix.target }}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/template-injection")
    assert hit.line == 19 and hit.severity == Severity.HIGH
    assert "matrix of job build" in hit.message


_TWO_EQUAL_PATHS = """\
name: subjects
inputs:
  path:
    description: a path
runs:
  using: composite
  steps:
    - id: name
      shell: bash
      env:
        UNTRUSTED_PATH: ${{ inputs.path }}
      run: |
        echo "artifact_name=$UNTRUSTED_PATH" >> "$GITHUB_OUTPUT"
        echo "filename=$UNTRUSTED_PATH" >> "$GITHUB_OUTPUT"
    - id: object
      shell: bash
      env:
        A: ${{ steps.name.outputs.artifact_name }}
        F: ${{ steps.name.outputs.filename }}
      run: |
        echo "base64=$A$F" >> "$GITHUB_OUTPUT"
"""


def test_of_two_equally_short_paths_the_message_shows_the_same_one_in_every_process(
    tmp_path: Path,
) -> None:
    # Taints travel in sets, whose order depends on the process's string hashing: the path
    # reported must not (the report is signed and compared byte for byte).
    (tmp_path / "action.yml").write_text(_TWO_EQUAL_PATHS)
    outputs = set()
    command = [sys.executable, "-m", "gatekeeper", "check", str(tmp_path), "--only", "pipeline"]
    for seed in ("0", "1", "2", "3", "5"):
        done = subprocess.run(
            [*command, "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode in (0, 1), done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    (report,) = outputs
    message = next(
        f["message"] for f in json.loads(report)["findings"] if "as base64" in f["message"]
    )
    assert "as artifact_name (line 13)" in message
