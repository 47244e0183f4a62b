"""The Action's run step under a simulated GitHub Actions environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from gatekeeper.attest.keys import write_keypair
from gatekeeper.integrations.github_action import ActionInputs, fail_step, run, write_outputs
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict
from tests.conftest import commit_files

ROOT = Path(__file__).resolve().parents[2]
TOKEN_VALUE = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"


def parse_github_output(text: str) -> dict[str, str]:
    """Read $GITHUB_OUTPUT the way the runner does (name=value and name<<DELIM heredocs)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
    return out


class Runner:
    """Temp files standing in for the runner's: summary, outputs, event, workspace."""

    def __init__(self, tmp_path: Path, workspace: Path) -> None:
        self.tmp = tmp_path / "runner"
        self.tmp.mkdir()
        self.summary = self.tmp / "step_summary.md"
        self.output = self.tmp / "output.txt"
        self.summary.touch()
        self.output.touch()
        self.env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            "RUNNER_TEMP": str(self.tmp),
            "GITHUB_REPOSITORY": "acme/widget",
            "GITHUB_RUN_ID": "5",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_EVENT_NAME": "push",
        }

    def run(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str
    ) -> tuple[int, str, dict[str, str]]:
        env = dict(self.env)
        env.update({f"GATEKEEPER_INPUT_{k.upper()}": v for k, v in inputs.items()})
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(env["GITHUB_WORKSPACE"])
        code = run(env, sys.stdout, sys.stderr)
        out = capsys.readouterr().out
        return code, out, parse_github_output(self.output.read_text())


@pytest.fixture
def leaky_repo(git_repo: git.Repo) -> Path:
    commit_files(git_repo, {"deploy/app.env": f"API_TOKEN={TOKEN_VALUE}\n"}, "token")
    return Path(git_repo.working_tree_dir or ".")


def test_check_blocks_with_every_output(
    leaky_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(tmp_path, leaky_repo)
    sarif = tmp_path / "out" / "gatekeeper.sarif"
    code, out, outputs = runner.run(
        monkeypatch,
        capsys,
        command="check",
        format="text",
        sarif_file=str(sarif),
        args="--only secrets",
    )
    assert code == 1
    # Annotation, with the file and line, in the log.
    annotation = next(line for line in out.splitlines() if line.startswith("::error "))
    assert annotation.startswith("::error file=deploy/app.env,line=1,title=secrets/github-token::")
    assert TOKEN_VALUE not in out
    # The text report went to the log too.
    assert "BLOCK: 1 finding(s) at or above high" in out
    # Outputs: verdict, the JSON report (heredoc), its file, the exit code.
    assert outputs["verdict"] == "block"
    assert outputs["exit-code"] == "1"
    report = json.loads(outputs["report"])
    assert report["verdict"] == "block"
    assert [f["rule"] for f in report["findings"]] == ["secrets/github-token"]
    assert json.loads(Path(outputs["report-file"]).read_text()) == report
    assert re.search(r"^report<<ghadelimiter_[0-9a-f-]{36}$", runner.output.read_text(), re.M)
    # Step summary in Markdown.
    summary = runner.summary.read_text()
    assert summary.startswith("## ❌ gatekeeper check: BLOCK")
    assert "| critical | `secrets/github-token` | `deploy/app.env:1` |" in summary
    # SARIF written where asked.
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_check_passes(
    git_repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(tmp_path, Path(git_repo.working_tree_dir or "."))
    code, out, outputs = runner.run(
        monkeypatch, capsys, command="check", args="--only secrets --only pipeline"
    )
    assert code == 0
    assert outputs["verdict"] == "pass" and outputs["exit-code"] == "0"
    assert "::error" not in out
    assert runner.summary.read_text().startswith("## ✅ gatekeeper check: PASS")


def test_fail_on_never_reports_only(
    leaky_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(tmp_path, leaky_repo)
    code, out, outputs = runner.run(monkeypatch, capsys, fail_on="never", args="--only secrets")
    assert code == 0
    assert outputs["verdict"] == "block"
    assert "::error file=deploy/app.env" in out


def test_fail_on_severity_is_stricter(
    git_repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A medium finding passes the default policy (blocks at high) ...
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4i"
        "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    commit_files(git_repo, {"notes/session.txt": f"session {jwt}\n"}, "jwt")
    root = Path(git_repo.working_tree_dir or ".")
    runner = Runner(tmp_path, root)
    code, out, outputs = runner.run(monkeypatch, capsys, args="--only secrets")
    assert (code, outputs["verdict"]) == (0, "pass")
    assert "::warning file=notes/session.txt" in out
    # ... and fails the step with fail-on: medium, the verdict itself unchanged.
    runner.output.write_text("")
    code, out, outputs = runner.run(monkeypatch, capsys, fail_on="medium", args="--only secrets")
    assert code == 1
    assert outputs["verdict"] == "pass"
    assert "::error title=gatekeeper::a new finding is at or above fail-on: medium" in out


def test_bad_inputs_fail(
    git_repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(tmp_path, Path(git_repo.working_tree_dir or "."))
    code, out, _ = runner.run(monkeypatch, capsys, command="deploy")
    assert code == 2
    assert out.startswith("::error title=gatekeeper action::input command must be one of")
    code, out, _ = runner.run(monkeypatch, capsys, fail_on="sometimes")
    assert code == 2
    code, _, _ = runner.run(monkeypatch, capsys, args="--only 'unclosed")
    assert code == 2


def test_configuration_error_fails_closed(
    git_repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(tmp_path, Path(git_repo.working_tree_dir or "."))
    code, out, outputs = runner.run(
        monkeypatch, capsys, policy="missing-policy.yaml", fail_on="never"
    )
    assert code == 2  # never is about policy blocks; an error always fails the step
    assert outputs["verdict"] == "block" and outputs["exit-code"] == "2"
    assert outputs["report"] == ""
    assert "failed with exit code 2 before deciding" in out


def test_attest_then_verify(
    git_repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    (root / "dist").mkdir()
    (root / "dist" / "app.tar.gz").write_bytes(b"artifact")
    key = tmp_path / "keys" / "ci.key"
    key.parent.mkdir()
    write_keypair(key)
    store = tmp_path / "store"
    runner = Runner(tmp_path, root)
    code, _, outputs = runner.run(
        monkeypatch,
        capsys,
        command="attest",
        store=str(store),
        args=f"--stage build --key {key} --product dist/app.tar.gz",
    )
    assert code == 0 and outputs["verdict"] == "pass" and outputs["report"] == ""
    policy = tmp_path / "keys" / "release.yaml"
    policy.write_text(
        "version: 1\nname: release\nexpires: 2099-01-01\nkeys:\n  ci: ci.key.pub\n"
        "stages:\n  - name: build\n    signed_by: [ci]\n  - name: scan\n"
        "    signed_by: [ci]\n"
    )
    code, out, outputs = runner.run(
        monkeypatch,
        capsys,
        command="verify",
        store=str(store),
        policy=str(policy),
        args="dist/app.tar.gz",
    )
    assert code == 1
    assert outputs["verdict"] == "block"
    reasons = json.loads(outputs["report"])["reasons"]
    assert "verify/missing-stage" in {r["code"] for r in reasons}
    assert "::error title=verify/missing-stage [scan]::" in out
    assert "## ❌ gatekeeper verify: BLOCK" in runner.summary.read_text()


def test_huge_report_output_is_summarised(
    leaky_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gatekeeper.integrations import github_action

    monkeypatch.setattr(github_action, "MAX_REPORT_OUTPUT", 100)
    runner = Runner(tmp_path, leaky_repo)
    code, _, outputs = runner.run(monkeypatch, capsys, args="--only secrets")
    assert code == 1
    short = json.loads(outputs["report"])
    assert short["truncated"] is True and short["verdict"] == "block"
    assert short["findings"] == 1
    full = json.loads(Path(short["report_file"]).read_text())
    assert full["findings"][0]["rule"] == "secrets/github-token"


def test_outputs_heredoc_cannot_be_broken(tmp_path: Path) -> None:
    path = tmp_path / "out"
    evil = "line1\nverdict=pass\nghadelimiter_fake\n"
    write_outputs(str(path), {"report": evil, "verdict": "block"})
    parsed = parse_github_output(path.read_text())
    assert parsed == {"report": evil, "verdict": "block"}


def test_fail_step_never_passes_an_error() -> None:
    verdict = Verdict(
        command="check",
        verdict="pass",
        block_at=Severity.HIGH,
        findings=[Finding.make("secrets/jwt", Severity.MEDIUM, "m", path="a")],
    )
    for fail_on in ("block", "never", "info", "critical"):
        assert fail_step(2, None, fail_on) and fail_step(3, verdict, fail_on)
        assert fail_step(1, None, fail_on)
    assert not fail_step(0, verdict, "block")
    assert fail_step(0, verdict, "medium") and not fail_step(0, verdict, "high")
    blocked = verdict.model_copy(update={"verdict": "block"})
    assert fail_step(1, blocked, "critical") and not fail_step(1, blocked, "never")


def test_inputs_are_split_not_evaluated() -> None:
    inputs = ActionInputs.from_env({"GATEKEEPER_INPUT_ARGS": "--only 'a b' $(touch x) `id`"})
    assert inputs.args == ["--only", "a b", "$(touch", "x)", "`id`"]
    assert inputs.command == "check" and inputs.fail_on == "block" and inputs.format == "text"


def test_module_entry_point_in_a_subprocess(leaky_repo: Path, tmp_path: Path) -> None:
    runner = Runner(tmp_path, leaky_repo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        **runner.env,
        "GATEKEEPER_INPUT_ARGS": "--only secrets",
        "GATEKEEPER_INPUT_FORMAT": "markdown",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper.integrations.github_action"],
        cwd=leaky_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "## ❌ gatekeeper check: BLOCK" in proc.stdout
    assert "::error file=deploy/app.env,line=1,title=secrets/github-token::" in proc.stdout
    assert parse_github_output(runner.output.read_text())["verdict"] == "block"


# -- action.yml ---------------------------------------------------------------------------


def _action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_yml_is_a_valid_composite_action() -> None:
    from importlib import resources

    schema = json.loads(
        (
            resources.files("check_jsonschema")
            / "builtin_schemas"
            / "vendor"
            / "github-actions.json"
        ).read_text(encoding="utf-8")
    )
    action = _action()
    jsonschema.validate(action, schema)
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {
        "command",
        "policy",
        "base",
        "store",
        "format",
        "sarif-file",
        "fail-on",
        "args",
    }
    assert set(action["outputs"]) >= {"verdict", "report"}


def test_action_uploads_sarif_only_when_asked() -> None:
    upload = next(s for s in _action()["runs"]["steps"] if "upload-sarif" in str(s.get("uses", "")))
    assert re.match(r"^github/codeql-action/upload-sarif@[0-9a-f]{40}$", upload["uses"])
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert _action()["inputs"]["upload-sarif"]["default"] == "false"


def test_action_never_splices_inputs_into_shell() -> None:
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    gate = next(s for s in _action()["runs"]["steps"] if s.get("id") == "gate")
    assert gate["env"]["GATEKEEPER_INPUT_ARGS"] == "${{ inputs.args }}"
    assert "gatekeeper.integrations.github_action" in gate["run"]


def test_lock_files_pin_every_requirement_with_hashes() -> None:
    for lock in ("requirements.lock", "build.lock"):
        text = (ROOT / "integrations" / "github" / lock).read_text()
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        blocks = re.split(r"\n(?=[A-Za-z])", body.strip())
        assert len(blocks) >= 3
        for block in blocks:
            assert re.match(r"^[A-Za-z0-9_.-]+==\S+", block), block
            assert "--hash=sha256:" in block, block


def test_lock_covers_every_runtime_dependency() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "integrations" / "github" / "requirements.lock").read_text().lower()
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        pin = re.search(rf"^{re.escape(name)}==([^\s;]+)", lock, re.M)
        assert pin, name
        # The pin satisfies pyproject's minimum: a raised floor needs a regenerated lock.
        assert Requirement(requirement).specifier.contains(pin.group(1), prereleases=True), (
            f"requirements.lock pins {name}=={pin.group(1)}, outside {requirement!r}"
        )


def test_lock_is_closed_under_dependencies() -> None:
    # install.sh installs the lock with --no-deps: every dependency of every pinned package
    # must be pinned too. Judged on this environment's installed metadata of each package,
    # for this platform (the lock is generated for all of them).
    from importlib import metadata

    from packaging.utils import canonicalize_name

    text = (ROOT / "integrations" / "github" / "requirements.lock").read_text()
    pinned = {
        canonicalize_name(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.M)
    }
    checked = 0
    for name in sorted(pinned):
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # a platform-specific pin (e.g. for Windows)
        checked += 1
        for spec in requires:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                assert canonicalize_name(requirement.name) in pinned, (
                    f"{name} needs {requirement.name}, which requirements.lock does not pin"
                )
    assert checked >= len(pinned) - 2


def test_reporting_command_without_a_report_fails_the_step(
    leaky_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `check --write-baseline` exits 0 and writes no report: that decided nothing, and a
    # repository with a blocking secret must not get a green step (or verdict=pass) from it.
    runner = Runner(tmp_path, leaky_repo)
    baseline = tmp_path / "baseline.json"
    for fail_on in ("block", "high", "never"):
        code, out, outputs = runner.run(
            monkeypatch,
            capsys,
            command="check",
            fail_on=fail_on,
            args=f"--only secrets --write-baseline {baseline}",
        )
        assert code != 0
        assert outputs["verdict"] == "block" and outputs["exit-code"] == "0"
        assert "exited 0 without a report" in out


def test_each_step_keeps_its_own_report_file(
    leaky_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two gatekeeper steps in one job: the first step's report-file must still hold its own
    # (blocking) report after the second step passes.
    runner = Runner(tmp_path, leaky_repo)
    code, _, first = runner.run(monkeypatch, capsys, args="--only secrets", fail_on="never")
    assert code == 0 and first["verdict"] == "block"
    code, _, second = runner.run(monkeypatch, capsys, args="--only deps")
    assert code == 0 and second["verdict"] == "pass"
    assert first["report-file"] != second["report-file"]
    assert json.loads(Path(first["report-file"]).read_text())["verdict"] == "block"
    assert json.loads(Path(second["report-file"]).read_text())["verdict"] == "pass"
