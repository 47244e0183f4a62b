"""The shell the action and the workflows run passes ShellCheck, as actionlint would run it.

actionlint lints a workflow's ``run:`` scripts by handing each to ShellCheck with the
``${{ }}`` expressions blanked out; it does not lint an action's metadata file, whose
``run:`` steps and install script get the same treatment here. action.yml's structure is
checked against the published action schema in test_github_action.py. ``.ci/run`` installs
Debian's ``shellcheck`` when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)
# The checks actionlint itself turns off for run: scripts: variables the step's env: sets
# look unassigned to ShellCheck (SC2154), and a blanked expression makes constant
# comparisons and cases (SC2050, SC2157, SC2194).
_EXCLUDED = "SC2050,SC2154,SC2157,SC2194"


def _shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is not installed: .ci/run installs Debian's shellcheck")
    return found


def _check(script: str, name: str) -> None:
    result = subprocess.run(
        [_shellcheck(), "--norc", "--shell=bash", f"--exclude={_EXCLUDED}", "--format=gcc", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"


def _run_steps(document: dict[str, Any]) -> list[tuple[str, str]]:
    if "runs" in document:
        steps = list(document["runs"]["steps"])
    else:
        steps = [s for job in document["jobs"].values() for s in job.get("steps", [])]
    out = []
    for index, step in enumerate(steps):
        if "run" in step and step.get("shell", "bash") == "bash":
            # actionlint's own substitution: an expression becomes a word of underscores.
            script = _EXPR.sub(lambda m: "_" * len(m.group(0)), str(step["run"]))
            out.append((f"step {index} ({step.get('name', step.get('id', ''))})", script))
    return out


def test_the_install_script_passes_shellcheck() -> None:
    path = ROOT / "integrations" / "github" / "install.sh"
    _check(path.read_text(), str(path.relative_to(ROOT)))


@pytest.mark.parametrize(
    "path",
    ["action.yml", *sorted(p.name for p in (ROOT / ".github" / "workflows").glob("*.yml"))],
)
def test_run_steps_pass_shellcheck(path: str) -> None:
    file = ROOT / path if path == "action.yml" else ROOT / ".github" / "workflows" / path
    steps = _run_steps(yaml.safe_load(file.read_text()))
    assert steps, f"{path} has no run: step to check"
    for name, script in steps:
        _check(script, f"{path} {name}")


def test_shellcheck_would_flag_a_step_that_splits_an_input() -> None:
    # The near miss: the unquoted use the action's steps avoid is what ShellCheck reports.
    result = subprocess.run(
        [_shellcheck(), "--norc", "--shell=bash", f"--exclude={_EXCLUDED}", "-"],
        input='"$GATEKEEPER_VENV_PYTHON" -I -m gatekeeper check $GATEKEEPER_INPUT_ARGS\n',
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "SC2086" in result.stdout
