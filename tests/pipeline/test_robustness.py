"""Hostile or random input never crashes the collector or the audits: it parses or it is a
parse error, and the audits run over whatever parsed."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect._yaml_lines import YamlLinesError
from gatekeeper.collect.github_actions import WorkflowParseError, parse_action, parse_workflow
from gatekeeper.collect.gitlab_ci import GitlabParseError, parse_gitlab_ci
from gatekeeper.collect.jenkinsfile import JenkinsParseError, parse_jenkinsfile
from gatekeeper.models.pipeline import GitlabCi, Jenkinsfile, PipelineEvidence, Workflow

KEYS = st.sampled_from(
    [
        "on",
        "jobs",
        "steps",
        "uses",
        "run",
        "with",
        "env",
        "permissions",
        "runs-on",
        "container",
        "services",
        "secrets",
        "image",
        "credentials",
        "password",
        "strategy",
        "matrix",
        "include",
        "script",
        "project",
        "ref",
        "remote",
        "local",
        "component",
        "variables",
        "runs",
        "using",
        "pull_request_target",
        "push",
        "tags",
        "persist-credentials",
        "cache",
        "if",
        "name",
        "a",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(
        [
            "write-all",
            "self-hosted",
            "actions/checkout@v4",
            "docker://alpine",
            "inherit",
            "${{ github.event.issue.title }}",
            "curl -k https://x | sh",
            "echo x >> $GITHUB_ENV",
            "main",
            "0123456789abcdef0123456789abcdef01234567",
            "./local",
            "",
            "a\nb\n",
            "${{ matrix.os }}",
            "https://x/y.yml",
        ]
    ),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _audit(**parts: Any) -> None:
    evidence = PipelineEvidence(**parts)
    findings = run_audits({"pipeline": evidence}, AuditContext())
    assert all(f.rule.startswith("pipeline/") for f in findings)


@FAST
@given(TREES)
def test_random_workflows_parse_or_fail_cleanly(tree: Any) -> None:
    text = yaml.safe_dump(tree, default_flow_style=False)
    for parse in (parse_workflow, parse_action):
        try:
            model = parse("w.yml", text)
        except (YamlLinesError, WorkflowParseError):
            continue
        assert isinstance(model, Workflow)
        _audit(workflows=[model])


@FAST
@given(TREES)
def test_random_gitlab_files_parse_or_fail_cleanly(tree: Any) -> None:
    text = yaml.safe_dump(tree, default_flow_style=False)
    try:
        model = parse_gitlab_ci(".gitlab-ci.yml", text)
    except (YamlLinesError, GitlabParseError):
        return
    assert isinstance(model, GitlabCi)
    _audit(gitlab=[model])


GROOVY = st.lists(
    st.sampled_from(
        [
            "sh ",
            "sh(",
            "bat ",
            "script: ",
            '"',
            "'",
            "'''",
            '"""',
            "${",
            "}",
            "{",
            "(",
            ")",
            "[",
            "]",
            "$",
            "params.X",
            "env.BRANCH_NAME",
            "TOKEN",
            "\\",
            "\n",
            "//",
            "/*",
            "*/",
            "/",
            " ",
            "@Library(",
            "library ",
            "withCredentials([string(variable: 'TOKEN')])",
            "credentials(",
            "X = ",
            ",",
            "+",
            ".",
            "pipeline ",
            "parameters ",
            "environment ",
            "=",
            "a",
            "1",
            "#!",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(GROOVY)
def test_random_groovy_tokenizes_or_fails_cleanly(text: str) -> None:
    try:
        model = parse_jenkinsfile("Jenkinsfile", text)
    except JenkinsParseError as exc:
        assert exc.line >= 1
        return
    assert isinstance(model, Jenkinsfile)
    _audit(jenkinsfiles=[model])
