"""No pydantic plugin takes part in a gatekeeper process (gatekeeper/_pydantic_plugins.py).

A distribution installed beside gatekeeper registers a pydantic plugin through its entry
points (a ``.dist-info`` on ``PYTHONPATH``); the plugin's module leaves a marker file when it
is imported. Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gatekeeper.attest.keys import write_keypair

POLICY = (
    "version: 1\nname: p\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
    "keys:\n  ci: ci.pub\nstages:\n  - name: build\n    signed_by: [ci]\n"
)


@pytest.fixture
def plugin_site(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PYTHONPATH holds a distribution with a pydantic plugin."""
    site = tmp_path / "site"
    dist = site / "observer-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: observer\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nobserver = observer_plugin:plugin\n")
    marker = tmp_path / "plugin-loaded"
    (site / "observer_plugin.py").write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            Path({str(marker)!r}).write_text("loaded")

            class _Plugin:
                def new_schema_validator(self, *args, **kwargs):
                    return None, None, None

            plugin = _Plugin()
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    return env, marker


def test_the_planted_plugin_is_loaded_by_pydantic_itself(
    plugin_site: tuple[dict[str, str], Path],
) -> None:
    """The control: without gatekeeper's command line, pydantic loads the plugin."""
    env, marker = plugin_site
    code = "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int\nM(x=1)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()


def test_no_plugin_is_loaded_by_verify_and_no_package_metadata_is_read(
    plugin_site: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, marker = plugin_site
    work = tmp_path / "work"
    work.mkdir()
    write_keypair(work / "ci")
    (work / "policy.yaml").write_text(POLICY)
    (work / "app.bin").write_bytes(b"app")
    code = textwrap.dedent(
        """
        import runpy, sys
        sys.argv = ["gatekeeper", "verify", "--policy", "policy.yaml", "--store", "store",
                    "--no-log", "--format", "json", "app.bin"]
        try:
            runpy.run_module("gatekeeper", run_name="__main__")
        except SystemExit as exc:
            print("exit", exc.code, "metadata" if "importlib.metadata" in sys.modules else "-")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    # The policy was validated (models built): blocked for want of attestations, not an error.
    assert '"verdict": "block"' in proc.stdout, proc.stderr
    assert proc.stdout.strip().endswith("exit 1 -")
    assert not marker.exists()


def test_the_command_attest_runs_sees_the_environment_unchanged(tmp_path: Path) -> None:
    """Plugins are switched off in gatekeeper's process, not in the build it wraps."""
    from gatekeeper.cli import main

    write_keypair(tmp_path / "ci")
    seen = tmp_path / "seen"
    script = f"import os; open({str(seen)!r}, 'w').write(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')))"
    before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code = main(
            [
                "attest", "--stage", "build", "--key", "ci", "--store", "store",
                "--", sys.executable, "-c", script,
            ]
        )  # fmt: skip
    finally:
        os.chdir(cwd)
    assert code == 0
    assert seen.read_text() == repr(before)
    assert os.environ.get("PYDANTIC_DISABLE_PLUGINS") == before
