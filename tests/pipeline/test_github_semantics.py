"""GitHub's reading of a workflow: YAML 1.2 scalars, files GitHub refuses, `parallel:` steps,
`$/` self-repository references, and matrices expanded as GitHub expands them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.collect._yaml_lines import load_with_lines
from gatekeeper.collect.github_actions import parse_workflow
from tests.pipeline.conftest import Scan, collect, rules, write_tree

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
WF = ".github/workflows/ci.yml"


# --- YAML 1.2 ----------------------------------------------------------------------------------


def test_yaml_12_scalars_are_read_as_github_reads_them() -> None:
    doc = load_with_lines(
        "a: yes\nb: on\nc: y\nd: 2024-02-30\ne: 0o17\nf: 0x1F\ng: 012\nh: TRUE\ni: ~\nj: 3.10\n",
        schema="1.2",
    )
    assert doc == {
        "a": "yes",
        "b": "on",
        "c": "y",
        "d": "2024-02-30",
        "e": 15,
        "f": 31,
        "g": 12,
        "h": True,
        "i": None,
        "j": 3.1,
    }


def test_yaml_11_keeps_its_booleans_but_a_bad_date_is_text_not_a_crash() -> None:
    assert load_with_lines("a: yes\nd: 2024-02-30\n") == {"a": True, "d": "2024-02-30"}


def test_a_non_existent_date_in_a_workflow_does_not_crash_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        tmp_path,
        {
            WF: f"""
            on:
              schedule:
                - cron: "0 0 * * *"
            permissions: {{contents: read}}
            env:
              RELEASED: 2024-02-30
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@{SHA}
                    with: {{persist-credentials: false}}
                  - run: echo "$RELEASED"
            """
        },
    )
    code = main(["check", str(tmp_path), "--only", "pipeline", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["verdict"] == "pass"
    evidence = collect(tmp_path)
    assert evidence.workflows[0].env[0].value == "2024-02-30"


def test_unsecure_commands_yes_on_y_are_strings_the_runner_reads_as_false(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {}
        env:
          ACTIONS_ALLOW_UNSECURE_COMMANDS: yes
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              ACTIONS_ALLOW_UNSECURE_COMMANDS: on
            steps:
              - run: echo hi
                env:
                  ACTIONS_ALLOW_UNSECURE_COMMANDS: y
              - run: echo hi
                env:
                  ACTIONS_ALLOW_UNSECURE_COMMANDS: $true
        """
        }
    )
    hits = rules(findings, "pipeline/insecure-commands")
    assert [(f.line, f.severity.value) for f in hits] == [(16, "high")]


# --- files GitHub refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: a\n        env: {A: 1}\n"
            "        run: b\n",
            8,
            "duplicate key `run`",
        ),
        (
            "on: push\nruns-on: x\njobs:\n  a:\n    runs-on: x\n    steps: [{run: a}]\n",
            2,
            "`runs-on`",
        ),
        ("on: push\njobs:\n  a:\n    steps: [{run: a}]\n", 3, "no `runs-on:`"),
        ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: nothing\n", 6, "needs"),
        ("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n    steps: []\n", 5, "`stepz`"),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - parallel:\n"
            "          - name: nothing\n",
            7,
            "parallel",
        ),
        ("on: push\nbase: &b {A: 1}\njobs: {<<: *b}\n", 3, "merge keys"),
    ],
)
def test_a_file_github_refuses_is_a_parse_error_with_its_line(
    scan: Scan, text: str, line: int, words: str
) -> None:
    findings = scan({WF: text})
    errors = rules(findings, "pipeline/parse-error")
    assert len(errors) == 1 and errors[0].line == line and words in errors[0].message
    assert errors[0].severity.value == "high"


def test_duplicate_env_key_is_refused_not_read_by_its_last_value(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            WF: """
            on: workflow_dispatch
            jobs:
              demo:
                runs-on: ubuntu-latest
                steps:
                  - env:
                      FOO: foo
                    run: echo ...
                    env:
                      BAR: ${{ github.event.issue.title }}
            """
        },
    )
    (entry,) = collect(tmp_path).files
    assert entry.parse_error is not None and entry.parse_error.line == 9
    assert "duplicate key `env`" in entry.parse_error.message


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {WF: "on: push\njobs:\n  a:\n    <<: {runs-on: x}\n    steps: [{run: a}]\n"},
    )
    (entry,) = collect(tmp_path).files
    assert entry.parse_error is not None and "merge keys" in entry.parse_error.message


# --- parallel steps, `$/`, anchors -----------------------------------------------------------


def test_steps_under_parallel_are_audited(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: issues
        permissions: {issues: write}
        jobs:
          triage:
            runs-on: ubuntu-latest
            steps:
              - parallel:
                  - name: greet
                    run: echo "${{ github.event.issue.title }}"
                  - name: other
                    run: echo ok
              - run: echo after
        """
        }
    )
    hits = rules(findings, "pipeline/template-injection")
    assert [(f.line, f.severity.value) for f in hits] == [(9, "high")]
    wf = parse_workflow(
        "x.yml",
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - parallel:\n"
        "          - run: a\n          - run: b\n      - run: c\n",
    )
    steps = wf.jobs[0].steps
    assert [(s.run, s.parallel_group) for s in steps] == [("a", 0), ("b", 0), ("c", None)]


def test_self_repository_uses_is_local_not_unpinned(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: $/.github/actions/setup
          call:
            uses: $/.github/workflows/build.yml
        """,
            ".github/actions/setup/action.yml": """
        name: setup
        runs:
          using: composite
          steps:
            - run: echo setup
              shell: bash
        """,
            ".github/workflows/build.yml": """
        on: workflow_call
        jobs:
          b:
            runs-on: ubuntu-latest
            steps: [{run: make}]
        """,
        }
    )
    assert rules(findings, "pipeline/unpinned-action") == []


def test_an_aliased_step_is_reported_where_it_is_used() -> None:
    wf = parse_workflow(
        "x.yml",
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - &co\n        uses: a/b@v1\n"
        "  b:\n    runs-on: x\n    steps:\n      - *co\n",
    )
    assert [(s.line, s.uses_line) for j in wf.jobs for s in j.steps] == [(6, 7), (11, 11)]


# --- the matrix ------------------------------------------------------------------------------


def test_matrix_include_and_exclude_are_expanded_as_github_does() -> None:
    wf = parse_workflow(
        "x.yml",
        """
on: push
jobs:
  a:
    strategy:
      matrix:
        os: [ubuntu-latest, self-hosted]
        py: ["3.11", "3.12"]
        exclude:
          - os: self-hosted
            py: "3.11"
        include:
          - os: ubuntu-latest
            extra: yes
          - os: macos-latest
            py: "3.12"
    runs-on: ${{ matrix.os }}
    steps: [{run: make}]
""",
    )
    job = wf.jobs[0]
    assert job.matrix == [
        {"os": "ubuntu-latest", "py": "3.11", "extra": "yes"},
        {"os": "ubuntu-latest", "py": "3.12", "extra": "yes"},
        {"os": "self-hosted", "py": "3.12"},
        {"os": "macos-latest", "py": "3.12"},
    ]
    assert job.runner_sets == [["ubuntu-latest"], ["self-hosted"], ["macos-latest"]]


def test_self_hosted_runner_removed_by_a_matrix_exclude_does_not_fire(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: pull_request
        permissions: {}
        jobs:
          test:
            strategy:
              matrix:
                runner: [ubuntu-latest, [self-hosted, gpu]]
                event: [push, pr]
                exclude:
                  - runner: [self-hosted, gpu]
            runs-on: ${{ matrix.runner }}
            steps: [{run: make}]
        """
        }
    )
    assert rules(findings, "pipeline/self-hosted-runner") == []


def test_a_matrix_over_256_combinations_is_refused(tmp_path: Path) -> None:
    axis = "[" + ", ".join(str(i) for i in range(17)) + "]"
    write_tree(
        tmp_path,
        {
            WF: f"on: push\njobs:\n  a:\n    strategy:\n      matrix:\n        x: {axis}\n"
            f"        y: {axis}\n    runs-on: x\n    steps: [{{run: a}}]\n"
        },
    )
    (entry,) = collect(tmp_path).files
    assert entry.parse_error is not None and "256" in entry.parse_error.message


def test_unpinned_images_chosen_through_the_matrix_or_an_expression(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: workflow_call
        jobs:
          a:
            runs-on: ubuntu-latest
            container:
              image: ${{ matrix.image }}
            strategy:
              matrix:
                include:
                  - image: "ubuntu@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                  - image: ubuntu:latest
            steps: [{run: make}]
          b:
            runs-on: ubuntu-latest
            container:
              image: ${{ inputs.image || vars.DEFAULT_IMAGE }}
            steps: [{run: make}]
          c:
            runs-on: ubuntu-latest
            services:
              redis:
                image: ${{ inputs.redis && 'redis@sha256:0000000000000000000000000000000000000000000000000000000000000000' || '' }}
            steps: [{run: make}]
        """
        }
    )
    messages = [f.message for f in rules(findings, "pipeline/unpinned-image")]
    assert len(messages) == 2
    assert "`ubuntu:latest`" in messages[0]
    assert "chosen when the job runs" in messages[1]
