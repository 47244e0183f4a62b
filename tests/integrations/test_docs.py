"""docs/ci.md and docs/jenkins.md: every example command parses, every input is documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from gatekeeper import cli
from gatekeeper.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "ci.md", ROOT / "docs" / "jenkins.md"]


def _commands(path: Path) -> list[str]:
    text = path.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    joined = [b.replace("\\\n", " ") for b in blocks]
    return [
        line.strip()
        for b in joined
        for line in b.splitlines()
        if line.strip().startswith("gatekeeper ")
    ]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_example_commands_parse(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _commands(path)
    assert commands
    for command in commands:
        argv = shlex.split(command, comments=True)[1:]
        if argv == ["--version"]:
            continue
        # Extension commands (pr-check) are loaded for the command line being parsed.
        monkeypatch.setattr(cli._EXTENSIONS, "wanted", argv)
        args = build_parser().parse_args(argv)
        assert getattr(args, "handler", None), command


def test_every_format_has_an_example() -> None:
    commands = " ".join(_commands(ROOT / "docs" / "ci.md"))
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        assert f"--format {fmt}" in commands, fmt
    assert "--output" in commands


def test_action_inputs_and_outputs_documented() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    docs = (ROOT / "docs" / "ci.md").read_text()
    for name in list(action["inputs"]) + list(action["outputs"]):
        assert f"| `{name}` |" in docs, name


def test_pr_check_options_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = (ROOT / "docs" / "ci.md").read_text()
    monkeypatch.setattr(cli._EXTENSIONS, "wanted", ["pr-check"])
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")
    pr = sub.choices["pr-check"]
    for action in pr._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert flag in docs, flag
