"""The expression parser, where values flow, and three-valued conditions."""

from __future__ import annotations

import pytest

from gatekeeper.audit._gha_expr import (
    UNKNOWN,
    ExpressionError,
    NotAny,
    OneOf,
    Ref,
    World,
    evaluate,
    find_expressions,
    parse_expression,
    unparse,
    value_refs,
)
from gatekeeper.audit._gha_reach import reach


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("github.event['issue']['title']", "github.event.issue.title"),
        ("github.EVENT.Issue.Title", "github.event.issue.title"),
        ("github.event.commits[0].message", "github.event.commits.*.message"),
        ("github.event.pull_request.labels.*.name", "github.event.pull_request.labels.*.name"),
        ("fromJSON(steps.x.outputs.y).title", "(fromjson(steps.x.outputs.y)).title"),
        ("!(a == 'x''y')", "!a == 'x''y'"),
        ("0xff == 255 && -2.5e3 < 1", "255 == 255 && -2500 < 1"),
        ("format('{0} {1}', a, b)", "format('{0} {1}', a, b)"),
    ],
)
def test_parse_and_unparse(text: str, form: str) -> None:
    assert unparse(parse_expression(text)) == form


@pytest.mark.parametrize("text", ["a ==", "(a", "a.", "'open", "a ! b", "f(a,", "a[b"])
def test_malformed_expressions_are_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_nesting_is_bounded() -> None:
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse_expression("(" * 100 + "a" + ")" * 100)


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("a.b", ["a.b"]),
        ("a == b", []),
        ("contains(a, b)", []),
        ("a || b", ["a", "b"]),
        ("a && b", ["b"]),
        ("format('{0}', a)", ["a"]),
        ("toJSON(a)", ["a"]),
        ("join(a.*.name, ', ')", ["a.*.name"]),
        ("hashFiles(a)", []),
        ("case(a == 'x', b, c)", ["b", "c"]),
        ("!a", []),
    ],
)
def test_value_refs(text: str, refs: list[str]) -> None:
    found = [r.dotted for r in value_refs(parse_expression(text)) if isinstance(r, Ref)]
    assert found == refs


def test_find_expressions_skips_braces_inside_strings() -> None:
    text = "echo ${{ format('}}{0}', github.head_ref) }} and ${{ x }} ${{ broken( }}"
    found = find_expressions(text)
    assert [f.inner for f in found] == ["format('}}{0}', github.head_ref)", "x", "broken("]
    assert found[2].tree is None


def test_three_valued_evaluation() -> None:
    values = {
        ("github", "event_name"): "issues",
        ("github", "actor"): NotAny(r".*\[bot\]"),
        ("assoc",): OneOf(frozenset({"none", "contributor"})),
    }
    world = World(lambda path: values.get(path, UNKNOWN))
    cases = {
        "github.event_name == 'push'": False,
        "github.event_name == 'ISSUES'": True,
        "github.actor == 'octocat'": False,
        "github.actor == 'dependabot[bot]'": None,
        "assoc == 'MEMBER'": False,
        "assoc == 'none'": None,
        'contains(fromJSON(\'["OWNER", "MEMBER"]\'), assoc)': False,
        "unknown.thing || true": True,
        "unknown.thing && false": False,
        "always()": True,
    }
    for text, expected in cases.items():
        assert evaluate(parse_expression(text), world) is expected, text


@pytest.mark.parametrize(
    ("condition", "event", "expected"),
    [
        (
            "github.event.pull_request.head.repo.full_name == github.repository",
            "pull_request_target",
            "closed",
        ),
        ("!github.event.pull_request.head.repo.fork", "pull_request_target", "closed"),
        ("github.event.label.name == 'safe to test'", "pull_request_target", "gated"),
        ("contains(github.event.pull_request.labels.*.name, 'ok')", "pull_request_target", "gated"),
        ("github.event.comment.author_association == 'MEMBER'", "issue_comment", "gated"),
        ("github.actor == 'dependabot[bot]'", "pull_request_target", "open"),
        (
            "github.event.pull_request.user.login == 'dependabot[bot]'",
            "pull_request_target",
            "closed",
        ),
        ("github.event_name == 'push'", "issue_comment", "closed"),
        ("github.event.workflow_run.event == 'push'", "workflow_run", "closed"),
        ("github.ref == 'refs/heads/main'", "pull_request", "closed"),
        ("startsWith(github.event.comment.body, '/test')", "issue_comment", "open"),
    ],
)
def test_reach_of_an_outsiders_event(condition: str, event: str, expected: str) -> None:
    assert reach((condition,), event) == expected
