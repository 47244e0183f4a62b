"""The keyless examples in README.md and docs/ parse: policies validate, commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from gatekeeper import cli
from gatekeeper.cli import build_parser
from gatekeeper.policy import parse_policy

ROOT = Path(__file__).resolve().parents[2]


def _yaml_blocks(path: Path) -> list[str]:
    return [b for b in re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S) if "identity:" in b]


@pytest.mark.parametrize("doc", ["docs/policy.md", "docs/attestations.md"])
def test_keyless_policy_examples_validate(doc: str) -> None:
    blocks = _yaml_blocks(ROOT / doc)
    assert blocks
    for block in blocks:
        data = yaml.safe_load(block)
        data = {"version": 1, "name": "example", "expires": "2099-01-01", **data}
        data.setdefault("stages", [])
        roots = data.get("trusted_roots", {})
        for key in data["keys"].values():
            if isinstance(key, dict) and key.get("trusted_root") not in (None, "public-good"):
                assert key["trusted_root"] in roots
        parse_policy(yaml.safe_dump(data).encode(), doc)


@pytest.mark.parametrize("doc", ["README.md", "docs/attestations.md"])
def test_keyless_commands_parse(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / doc).read_text().replace("\\\n", " ")
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip().startswith("gatekeeper ")
        and any(flag in line for flag in ("--bundle", "--digest", "--keyless", "--trust-config"))
    ]
    assert lines
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        monkeypatch.setattr(cli._EXTENSIONS, "wanted", argv)
        assert getattr(build_parser().parse_args(argv), "handler", None), line
