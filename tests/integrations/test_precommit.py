"""The pre-commit hook: a valid definition; `gatekeeper check --staged` blocks staged secrets."""

from __future__ import annotations

import shlex
import time
import tomllib
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from gatekeeper.cli import main
from tests.conftest import commit_files

ROOT = Path(__file__).resolve().parents[2]
TOKEN_VALUE = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"
# pre-commit's own list of languages (pre_commit/languages).
LANGUAGES = {
    "conda",
    "coursier",
    "dart",
    "docker",
    "docker_image",
    "dotnet",
    "fail",
    "golang",
    "haskell",
    "julia",
    "lua",
    "node",
    "perl",
    "pygrep",
    "python",
    "r",
    "ruby",
    "rust",
    "script",
    "swift",
    "system",
    "unsupported",
    "unsupported_script",
}
STAGES = {
    "commit-msg",
    "post-checkout",
    "post-commit",
    "post-merge",
    "post-rewrite",
    "pre-commit",
    "pre-merge-commit",
    "pre-push",
    "pre-rebase",
    "prepare-commit-msg",
    "manual",
}


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and len(hooks) == 1
    return hooks[0]


def _argv(hook: dict[str, Any]) -> list[str]:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "gatekeeper"
    return entry[1:] + [str(a) for a in hook.get("args", [])]


def test_hook_definition() -> None:
    hook = _hook()
    for required in ("id", "name", "entry", "language"):
        assert isinstance(hook[required], str) and hook[required]
    assert hook["language"] in LANGUAGES
    assert set(hook["stages"]) <= STAGES
    assert hook["pass_filenames"] is False
    # The entry is a console script this package installs.
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gatekeeper"] == "gatekeeper.cli:main"
    argv = _argv(hook)
    assert argv[:2] == ["check", "--staged"]
    assert "--staged" in shlex.split(hook["entry"])  # args overrides cannot drop it
    assert argv.count("--only") == 2 and {"secrets", "pipeline"} <= set(argv)


def _run_hook(repo: git.Repo, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(repo.working_tree_dir or ".")
    return main(_argv(_hook()))


def test_staged_secret_blocks_the_commit(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    (root / "deploy.env").write_text(f"GH_TOKEN={TOKEN_VALUE}\n")
    git_repo.index.add(["deploy.env"])
    started = time.perf_counter()
    code = _run_hook(git_repo, monkeypatch)
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    assert code == 1
    assert "secrets/github-token" in out and "deploy.env" in out
    assert TOKEN_VALUE not in out
    assert elapsed < 60.0  # a hang guard; the hook's cost is measured in bench/


def test_unstaged_secret_does_not_block(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"docs/notes.md": "ok\n"}, "docs")
    (root / "scratch.env").write_text(f"GH_TOKEN={TOKEN_VALUE}\n")  # not staged
    (root / "docs" / "notes.md").write_text("more\n")
    git_repo.index.add(["docs/notes.md"])
    assert _run_hook(git_repo, monkeypatch) == 0


def test_staged_broken_workflow_blocks(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    wf = root / ".github" / "workflows" / "ci.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text("on: [push]\njobs:\n  a: [unclosed\n")
    git_repo.index.add([".github/workflows/ci.yml"])
    assert _run_hook(git_repo, monkeypatch) == 1
    assert "pipeline/parse-error" in capsys.readouterr().out
