"""Every build-controller parser fails the same way: a FileParseError with message and line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.collect.github_actions import parse_action, parse_workflow
from gatekeeper.collect.gitlab_ci import parse_gitlab_ci
from gatekeeper.collect.jenkinsfile import parse_jenkinsfile


@pytest.mark.parametrize(
    ("parse", "text", "error", "line"),
    [
        (parse_workflow, "on: push\njobs:\n  build: [1]\n", "WorkflowParseError", 3),
        (parse_workflow, "on: push\njobs: {a: [\n", "YamlLinesError", 3),  # at the end
        (parse_action, "name: a\n", "WorkflowParseError", 1),
        (parse_gitlab_ci, "include:\n  - 3\n", "GitlabParseError", 2),
        (parse_gitlab_ci, "a: b\n---\nc: d\n", "GitlabParseError", None),
        (parse_jenkinsfile, "pipeline {\n  sh 'x\n}\n", "JenkinsParseError", 2),
    ],
)
def test_a_file_that_does_not_parse_says_where(
    parse: Callable[[str, str], object], text: str, error: str, line: int | None
) -> None:
    with pytest.raises(FileParseError) as caught:
        parse("f", text)
    assert type(caught.value).__name__ == error
    assert caught.value.line == line
    assert caught.value.message == str(caught.value)
