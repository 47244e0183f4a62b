"""The project passes its own gate: planted test credentials are assembled at run time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_gatekeeper_check_passes_on_this_repository(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--format", "json", str(ROOT)])
    report = json.loads(capsys.readouterr().out)
    blocking = [
        f"{f['rule']} {f.get('path')}:{f.get('line')}"
        for f in report["findings"]
        if f["severity"] in ("high", "critical")
    ]
    assert blocking == []
    assert code == 0 and report["verdict"] == "pass"
