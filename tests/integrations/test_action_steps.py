"""action.yml's steps run the way the runner runs them: bash, the step's env, the workflow's.

The runner gives a step the workflow's environment with the step's own ``env:`` on top, and
evaluates ``${{ inputs.X }}`` and ``${{ steps.ID.outputs.Y }}`` before the step starts. The
simulation here does the same for the expressions action.yml uses (anything else fails the
test), and runs every ``run:`` step with bash, as the real runner would.

The install step is run for real against a lock of one small wheel built here (the real
lock's wheels need the network): from the wheel cache, offline; and with a tampered cache
and no index, failing closed. The warm install time of the real lock is measured in
bench/action_install_bench.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from gatekeeper.attest.keys import write_keypair
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import sarif
from tests.conftest import commit_files
from tests.integrations.test_github_action import parse_github_output

ROOT = Path(__file__).resolve().parents[2]
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _step(step_id: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("id") == step_id)


class ActionRun:
    """The runner's side of one use of the action: inputs, the workflow env, step outputs."""

    def __init__(self, tmp_path: Path, workspace: Path, action_path: Path = ROOT) -> None:
        self.tmp = tmp_path / "runner"
        self.tmp.mkdir(exist_ok=True)
        self.workspace = workspace
        self.action_path = action_path
        defaults = {k: str(v.get("default", "")) for k, v in _action()["inputs"].items()}
        self.inputs: dict[str, str] = defaults
        self.outputs: dict[str, dict[str, str]] = {}
        self.workflow_env: dict[str, str] = {}

    def _evaluate(self, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if m := re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)", expr):
                return self.inputs[m.group(1)]
            if m := re.fullmatch(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", expr):
                return self.outputs.get(m.group(1), {}).get(m.group(2), "")
            pytest.fail(f"the simulated runner does not know the expression {expr!r}")

        return _EXPR.sub(one, str(value))

    def run_step(self, step_id: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        step = _step(step_id)
        output = self.tmp / f"output-{step_id}.txt"
        output.write_text("")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))},
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "RUNNER_TEMP": str(self.tmp),
            "GITHUB_REPOSITORY": "acme/widget",
            "GITHUB_EVENT_NAME": "push",
            **self.workflow_env,
            # The step's env: wins over the workflow's, even when it is empty.
            **{k: self._evaluate(v) for k, v in step.get("env", {}).items()},
            **extra_env,
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.outputs[step_id] = parse_github_output(output.read_text())
        return proc


@pytest.fixture
def workspace(git_repo: git.Repo) -> Path:
    return Path(git_repo.working_tree_dir or ".")


def test_a_gatekeeper_package_in_the_workspace_is_never_imported(
    git_repo: git.Repo, workspace: Path, tmp_path: Path
) -> None:
    # The repository under audit (say, a pull request) ships gatekeeper/ at its root: with
    # the workspace as the current directory, `python -m` would import it instead of the
    # installed gate, and run the pull request's code with the job's token.
    marker = tmp_path / "pwned"
    planted = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    commit_files(
        git_repo,
        {
            "gatekeeper/__init__.py": planted,
            "gatekeeper/integrations/__init__.py": planted,
            "gatekeeper/integrations/github_action.py": planted,
        },
        "a package named like the gate",
    )
    action = ActionRun(tmp_path, workspace)
    action.outputs["install"] = {"python": sys.executable}  # the installed gate
    action.inputs.update(command="check", args="--only secrets")
    # PYTHONPATH from the workflow cannot put it in front either.
    action.workflow_env["PYTHONPATH"] = str(workspace)
    proc = action.run_step("gate")
    assert not marker.exists(), proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert action.outputs["gate"]["verdict"] == "pass"


def test_an_empty_store_input_keeps_the_workflows_store(workspace: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    write_keypair(keys / "ci", "ed25519")
    shared = tmp_path / "shared-store"
    action = ActionRun(tmp_path, workspace)
    action.outputs["install"] = {"python": sys.executable}
    action.workflow_env["GATEKEEPER_STORE"] = str(shared)  # env: at the workflow's top
    action.inputs.update(
        command="attest", store="", args=f"--stage build --key {keys / 'ci'} --product README.md"
    )
    proc = action.run_step("gate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (shared / "index" / "stage").iterdir()] == ["build"]
    assert not (workspace / ".gatekeeper").exists()
    # A store input given explicitly still wins.
    chosen = tmp_path / "chosen-store"
    action.inputs["store"] = str(chosen)
    assert action.run_step("gate").returncode == 0
    assert (chosen / "index" / "stage" / "build").is_dir()


def test_every_input_reaches_the_step_under_a_name_of_its_own() -> None:
    gate = _step("gate")
    inputs = set(_action()["inputs"])
    for name, value in gate["env"].items():
        if name == "GATEKEEPER_VENV_PYTHON":
            continue
        # An input's variable never shares a name with a setting gatekeeper reads itself.
        assert name.startswith("GATEKEEPER_INPUT_"), name
        (expr,) = _EXPR.findall(value)
        assert expr == f"inputs.{name.removeprefix('GATEKEEPER_INPUT_').lower().replace('_', '-')}"
        assert expr.removeprefix("inputs.") in inputs
    assert " -I -m gatekeeper.integrations.github_action" in gate["run"]


# -- SARIF category ------------------------------------------------------------------------


def _upload_sarif_category(log: dict[str, Any], category: str) -> dict[str, Any]:
    """What github/codeql-action/upload-sarif does with `category`: it becomes each run's
    automationDetails.id (with a trailing slash) unless the run already names one."""
    for run in log["runs"]:
        if "automationDetails" not in run:
            run["automationDetails"] = {"id": category.rstrip("/") + "/"}
    return log


def test_the_upload_category_is_honoured() -> None:
    verdict = Verdict(
        command="check",
        verdict="block",
        findings=[Finding.make("secrets/jwt", Severity.HIGH, "a jwt", path="a.txt", line=1)],
        block_at=Severity.HIGH,
        policy="default",
    )
    uploaded = _upload_sarif_category(sarif.build(verdict), "gatekeeper-prs")
    assert [r["automationDetails"]["id"] for r in uploaded["runs"]] == ["gatekeeper-prs/"]


def test_the_action_passes_its_category_to_the_upload() -> None:
    upload = next(s for s in _action()["runs"]["steps"] if "upload-sarif" in str(s.get("uses", "")))
    assert upload["with"]["category"] == (
        "${{ inputs.sarif-category || format('gatekeeper-{0}', inputs.command) }}"
    )
    assert _action()["inputs"]["sarif-category"]["default"] == ""


# -- the install step: a wheel cache checked against the lock --------------------------------


def _wheel(dest: Path, name: str = "gk_tinypkg", version: str = "1.0") -> Path:
    """A real (minimal, pure-Python) wheel, as PEP 427 describes it."""
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def _offline_pip_env(tmp_path: Path) -> dict[str, str]:
    """pip with no configuration and no reachable index: nothing is fetched from anywhere."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_CONSTRAINT": "",
        "HOME": str(tmp_path / "home"),
    }


@pytest.fixture
def tiny_action(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the action whose lock pins one wheel, and that wheel."""
    action = tmp_path / "action"
    (action / "integrations" / "github").mkdir(parents=True)
    shutil.copy2(
        ROOT / "integrations" / "github" / "install.sh", action / "integrations" / "github"
    )
    shutil.copytree(
        ROOT / "gatekeeper", action / "gatekeeper", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheel = _wheel(tmp_path / "built")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (action / "integrations" / "github" / "requirements.lock").write_text(
        f"gk-tinypkg==1.0 \\\n    --hash=sha256:{digest}\n"
    )
    return action, wheel


def test_prepare_keys_the_cache_on_the_lock_and_the_interpreter(
    workspace: Path, tmp_path: Path, tiny_action: tuple[Path, Path]
) -> None:
    action_path, _ = tiny_action
    run = ActionRun(tmp_path, workspace, action_path)
    run.inputs["python"] = sys.executable
    assert run.run_step("prepare").returncode == 0
    first = run.outputs["prepare"]
    lock = action_path / "integrations" / "github" / "requirements.lock"
    assert hashlib.sha256(lock.read_bytes()).hexdigest() in first["cache-key"]
    assert sys.implementation.cache_tag in first["cache-key"]
    assert first["wheels"] == str(run.tmp / "gatekeeper-wheels")
    lock.write_text(lock.read_text() + "# changed\n")
    assert run.run_step("prepare").returncode == 0
    assert run.outputs["prepare"]["cache-key"] != first["cache-key"]


def test_warm_install_from_the_cache_is_offline_and_hash_checked(
    workspace: Path, tmp_path: Path, tiny_action: tuple[Path, Path]
) -> None:
    action_path, wheel = tiny_action
    run = ActionRun(tmp_path, workspace, action_path)
    run.inputs["python"] = sys.executable
    run.run_step("prepare")
    wheels = Path(run.outputs["prepare"]["wheels"])
    wheels.mkdir(parents=True)
    shutil.copy2(wheel, wheels)  # what actions/cache restored
    proc = run.run_step("install", **_offline_pip_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "installed from the wheel cache" in proc.stdout
    vpy = run.outputs["install"]["python"]
    check = subprocess.run(
        [
            vpy,
            "-I",
            "-c",
            "import gk_tinypkg, gatekeeper; print(gk_tinypkg.VALUE, gatekeeper.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    value, location = check.stdout.split()
    assert value == "42"
    assert Path(location).is_relative_to(tmp_path / "runner" / "gatekeeper-venv")


def test_a_tampered_cache_is_not_installed(
    workspace: Path, tmp_path: Path, tiny_action: tuple[Path, Path]
) -> None:
    action_path, wheel = tiny_action
    run = ActionRun(tmp_path, workspace, action_path)
    run.inputs["python"] = sys.executable
    run.run_step("prepare")
    wheels = Path(run.outputs["prepare"]["wheels"])
    # Same name, other content: a poisoned cache entry.
    evil = _wheel(tmp_path / "evil")
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("gk_tinypkg/payload.py", "import os\n")
    wheels.mkdir(parents=True)
    shutil.copy2(evil, wheels / wheel.name)
    proc = run.run_step("install", **_offline_pip_env(tmp_path))
    # Not installed; downloading again is the only way on, and there is no index here.
    assert proc.returncode != 0
    assert "do not match requirements.lock" in proc.stdout
    assert "python" not in run.outputs["install"]
    venv = tmp_path / "runner" / "gatekeeper-venv"
    assert not list(venv.rglob("payload.py"))
