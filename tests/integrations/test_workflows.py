"""The project's own workflows: valid, hardened, and passing gatekeeper's own pipeline audits."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gatekeeper.cli import main
from gatekeeper.models.finding import Severity

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # PyYAML reads the `on:` key as True (YAML 1.1); GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def _copy_pipeline_files(dest: Path) -> Path:
    shutil.copytree(ROOT / ".github", dest / ".github")
    shutil.copy2(ROOT / "action.yml", dest / "action.yml")
    return dest


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["check", str(root), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_own_workflows_pass_gatekeeper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy_pipeline_files(tmp_path)
    code, report = _check(root, capsys)
    serious = [f for f in report["findings"] if Severity(f["severity"]).at_least(Severity.MEDIUM)]
    assert serious == []
    assert code == 0
    # The audit really read them (not a vacuous pass).
    collected = main(["collect", "pipeline", str(root)])
    assert collected == 0
    files = {f["path"] for f in json.loads(capsys.readouterr().out)["files"]}
    assert {".github/workflows/ci.yml", ".github/workflows/release-gate.yml"} <= files


def test_the_self_check_would_notice_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_pipeline_files(tmp_path)
    ci = root / ".github" / "workflows" / "ci.yml"
    text = ci.read_text().replace("permissions:\n  contents: read\n", "", 1)
    text = text.replace(
        "# v4.2.2\n        with:\n          persist-credentials: false\n", "# v4.2.2\n", 1
    )
    text = text.replace(
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
        "someone/setup-python@v5",
        1,
    )
    ci.write_text(text)
    _, report = _check(root, capsys)
    rules = {
        f["rule"] for f in report["findings"] if Severity(f["severity"]).at_least(Severity.MEDIUM)
    }
    assert "pipeline/unpinned-action" in rules


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_schema(path: Path) -> None:
    schema = json.loads(
        (
            resources.files("check_jsonschema")
            / "builtin_schemas"
            / "vendor"
            / "github-workflows.json"
        ).read_text(encoding="utf-8")
    )
    jsonschema.validate(_load(path), schema)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hardening(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {"contents": "read"}
    lines = path.read_text().splitlines()
    for step in _steps(workflow):
        uses = step.get("uses")
        if uses is None or uses == "./":
            continue
        assert PINNED.match(uses), uses
        line = next(ln for ln in lines if f"uses: {uses}" in ln)
        assert re.search(r"# v\d", line), f"{uses}: no version comment"
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    for job in workflow["jobs"].values():
        assert "timeout-minutes" in job
        assert job.get("permissions", {}).get("contents", "read") == "read"


def test_ci_matrix_and_self_gate() -> None:
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    gate_steps = ci["jobs"]["gate"]["steps"]
    assert any(s.get("uses") == "./" and s["with"]["command"] == "check" for s in gate_steps)
    assert any(
        str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@") for s in gate_steps
    )
    assert ci["jobs"]["gate"]["permissions"]["security-events"] == "write"


def test_release_gate_chain() -> None:
    wf = _load(ROOT / ".github" / "workflows" / "release-gate.yml")
    jobs = wf["jobs"]
    assert jobs["build"]["needs"] == "source"
    assert jobs["verify"]["needs"] == "build"
    assert jobs["release"]["needs"] == "verify"
    assert jobs["release"]["if"] == "needs.verify.outputs.verdict == 'pass'"

    def commands(job: str) -> list[str]:
        return [s["with"]["command"] for s in jobs[job]["steps"] if s.get("uses") == "./"]

    assert commands("source") == ["check", "attest"]
    assert commands("build") == ["attest"]
    assert commands("verify") == ["verify"]
    # The store travels as an artifact from job to job.
    uploads = [s for s in _steps(wf) if "upload-artifact" in str(s.get("uses"))]
    downloads = [s for s in _steps(wf) if "download-artifact" in str(s.get("uses"))]
    assert any(".gatekeeper/" in s["with"]["path"] for s in uploads)
    assert {s["with"]["name"] for s in downloads} == {
        "gatekeeper-store-source",
        "release-candidate",
    }
    # Keys come from secrets through env, never inline.
    for step in _steps(wf):
        if step.get("uses") == "./" and step["with"]["command"] == "attest":
            assert "env:GATEKEEPER_CI_KEY" in step["with"]["args"]
            assert step["env"]["GATEKEEPER_CI_KEY"] == "${{ secrets.GATEKEEPER_CI_KEY }}"


def test_release_policy_is_valid() -> None:
    from gatekeeper.policy import parse_policy

    policy = parse_policy(
        (ROOT / ".github" / "gatekeeper" / "release.yaml").read_bytes(), "release.yaml"
    )
    assert [s.name for s in policy.stages] == ["source", "build"]
    assert policy.stage("build").follows == "source"
