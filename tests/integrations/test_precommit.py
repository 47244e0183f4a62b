"""The pre-commit hook: a valid definition; `gatekeeper check --staged` blocks staged secrets."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.secrets.tokens import aws_key_id

ROOT = Path(__file__).resolve().parents[2]
TOKEN_VALUE = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"
# Template injection in a workflow: a high pipeline finding.
RISKY_WORKFLOW = """\
name: triage
on: pull_request_target
permissions:
  contents: read
jobs:
  label:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""
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


def _hooks() -> dict[str, dict[str, Any]]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list)
    return {hook["id"]: hook for hook in hooks}


def _hook(hook_id: str = "gatekeeper") -> dict[str, Any]:
    return _hooks()[hook_id]


def _argv(hook: dict[str, Any]) -> list[str]:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "gatekeeper"
    return entry[1:] + [str(a) for a in hook.get("args", [])]


def test_hook_definitions() -> None:
    hooks = _hooks()
    assert list(hooks) == ["gatekeeper", "gatekeeper-tree"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gatekeeper"] == "gatekeeper.cli:main"  # the entry's console script
    for hook in hooks.values():
        for required in ("id", "name", "entry", "language"):
            assert isinstance(hook[required], str) and hook[required]
        assert hook["language"] in LANGUAGES
        assert set(hook["stages"]) <= STAGES
        assert hook["pass_filenames"] is False and hook["always_run"] is True
        argv = _argv(hook)
        assert argv[0] == "check"
        assert argv.count("--only") == 2 and {"secrets", "pipeline"} <= set(argv)
    staged = hooks["gatekeeper"]
    assert _argv(staged)[:2] == ["check", "--staged"]
    assert "--staged" in shlex.split(staged["entry"])  # args overrides cannot drop it
    assert staged["stages"] == ["pre-commit"]
    assert "--staged" not in _argv(hooks["gatekeeper-tree"])


def _run_hook(repo: git.Repo, monkeypatch: pytest.MonkeyPatch, hook_id: str = "gatekeeper") -> int:
    monkeypatch.chdir(repo.working_tree_dir or ".")
    return main(_argv(_hook(hook_id)))


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


def test_a_finding_already_committed_does_not_block_the_next_commit(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_files(git_repo, {".github/workflows/triage.yml": RISKY_WORKFLOW}, "old workflow")
    root = Path(git_repo.working_tree_dir or ".")
    (root / "README.md").write_text("a README-only change\n")
    git_repo.index.add(["README.md"])
    assert _run_hook(git_repo, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "2 existing" in out  # reported, not hidden
    # Editing the workflow elsewhere keeps its old finding existing...
    wf = root / ".github" / "workflows" / "triage.yml"
    wf.write_text(RISKY_WORKFLOW.replace("name: triage", "name: triage (renamed)"))
    git_repo.index.add([".github/workflows/triage.yml"])
    assert _run_hook(git_repo, monkeypatch) == 0
    # ...and a new injection in it blocks.
    wf.write_text(RISKY_WORKFLOW + '      - run: echo "${{ github.event.pull_request.body }}"\n')
    git_repo.index.add([".github/workflows/triage.yml"])
    capsys.readouterr()
    assert _run_hook(git_repo, monkeypatch) == 1
    assert "pull_request.body" in capsys.readouterr().out


def test_a_secret_already_committed_is_existing_for_the_staged_hook(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_files(git_repo, {"deploy.env": f"GH_TOKEN={TOKEN_VALUE}\n"}, "old token")
    root = Path(git_repo.working_tree_dir or ".")
    (root / "deploy.env").write_text(f"GH_TOKEN={TOKEN_VALUE}\nREGION=eu\n")
    git_repo.index.add(["deploy.env"])
    assert _run_hook(git_repo, monkeypatch) == 0
    # The whole-tree hook sees it.
    assert _run_hook(git_repo, monkeypatch, "gatekeeper-tree") == 1


@pytest.mark.parametrize("how", [["-a"], ["--", ".github/workflows/triage.yml"]])
def test_git_commit_runs_the_hook_on_what_it_commits(
    git_repo: git.Repo, tmp_path: Path, how: list[str]
) -> None:
    """``git commit -a`` and ``git commit PATH`` hand the hook a temporary index
    (``GIT_INDEX_FILE``) holding what they commit: the hook judges that, so a dangerous
    workflow change that was never ``git add``-ed cannot slip through ``commit -a``."""

    root = Path(git_repo.working_tree_dir or ".")
    (root / ".github" / "workflows").mkdir(parents=True)
    safe = RISKY_WORKFLOW.replace("pull_request_target", "push").replace(
        "${{ github.event.pull_request.title }}", "hello"
    )
    commit_files(git_repo, {".github/workflows/triage.yml": safe}, "workflow")
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    argv = " ".join(shlex.quote(a) for a in _argv(_hook("gatekeeper")))
    hook.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m gatekeeper {argv}\n")
    hook.chmod(0o755)
    (root / ".github" / "workflows" / "triage.yml").write_text(RISKY_WORKFLOW)  # not added
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    env["PYTHONPATH"] = str(ROOT)

    def commit(message: str) -> tuple[int, str]:
        done = subprocess.run(
            ["git", "commit", "-q", "-m", message, *how],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr  # git hands the hook's output to stderr

    head = git_repo.head.commit.hexsha
    code, said = commit("triage")
    assert code != 0, said
    assert "pipeline/" in said and "triage.yml" in said
    assert git_repo.head.commit.hexsha == head  # nothing was committed
    (root / ".github" / "workflows" / "triage.yml").write_text(safe.replace("hello", "hi"))
    code, said = commit("wording")
    assert code == 0, said
    assert git_repo.head.commit.hexsha != head


def test_the_staged_hook_reads_of_head_only_what_can_hold_its_findings(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HEAD is read only to tell existing findings from new ones: nothing found, nothing read
    # (the commit hook stays fast); a secret, HEAD's version of its file; a pipeline
    # finding, HEAD's whole tree (its rules may depend on other files).
    from gatekeeper import _git

    reads: list[tuple[str, list[str] | None]] = []
    real = _git.materialize_tree

    def recording(repo: Path, ref: str, dest: Path, max_bytes: int, paths: Any = None) -> None:
        reads.append((ref, None if paths is None else sorted(paths)))
        real(repo, ref, dest, max_bytes, paths)

    monkeypatch.setattr(_git, "materialize_tree", recording)
    head = commit_files(git_repo, {"README.md": "hello\n", "src/app.py": "x = 1\n"}, "app")
    root = Path(git_repo.working_tree_dir or ".")
    (root / "README.md").write_text("hello again\n")
    git_repo.index.add(["README.md"])
    assert _run_hook(git_repo, monkeypatch) == 0
    assert reads == []
    (root / "deploy.env").write_text(f"GH_TOKEN={TOKEN_VALUE}\n")
    git_repo.index.add(["deploy.env"])
    assert _run_hook(git_repo, monkeypatch) == 1
    assert reads == [(head.hexsha, ["deploy.env"])]
    reads.clear()
    git_repo.index.remove(["deploy.env"], cached=True)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "triage.yml").write_text(RISKY_WORKFLOW)
    git_repo.index.add([".github/workflows/triage.yml"])
    assert _run_hook(git_repo, monkeypatch) == 1
    assert reads == [(head.hexsha, None)]


# -- the real pre-commit tool (offline: the hooks run as `repo: local` from this project's
# own hook definitions; the `gatekeeper` console script comes from the test environment) --


def _pre_commit_config(stages: dict[str, list[str]] | None = None) -> str:
    """A `repo: local` configuration holding this project's hook definitions as they are,
    except the language (nothing is installed: the entry runs from PATH) and the ``stages``
    a user's configuration overrides."""
    hooks = []
    for hook in _hooks().values():
        local = {k: v for k, v in hook.items() if k not in ("minimum_pre_commit_version",)}
        local["language"] = "unsupported"
        if stages and hook["id"] in stages:
            local["stages"] = stages[hook["id"]]
        hooks.append(local)
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


class PreCommit:
    """`pre-commit` run in a repository, with its cache and the environment in tmp_path."""

    def __init__(
        self, repo: git.Repo, tmp_path: Path, stages: dict[str, list[str]] | None = None
    ) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".")
        bindir = str(Path(sys.executable).parent)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))},
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "PRE_COMMIT_COLOR": "never",
            "GATEKEEPER_NO_PROGRESS": "1",
        }
        self.exe = shutil.which("pre-commit", path=bindir)
        if self.exe is None:
            pytest.fail("pre-commit is not installed: pip install -e '.[test]'")
        config = _pre_commit_config(stages)
        commit_files(repo, {".pre-commit-config.yaml": config}, "pre-commit configuration")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def test_manifest_validates_with_pre_commit(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "pre-commit"), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_commit_hook_with_the_real_pre_commit(git_repo: git.Repo, tmp_path: Path) -> None:
    commit_files(git_repo, {".github/workflows/triage.yml": RISKY_WORKFLOW}, "old workflow")
    # The configuration docs/ci.md gives for a repository developers and CI share.
    pc = PreCommit(git_repo, tmp_path, stages={"gatekeeper-tree": ["manual"]})
    installed = pc.run("install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # A README-only commit goes through, whatever was committed before.
    (pc.root / "README.md").write_text("docs only\n")
    pc.git("add", "README.md")
    commit = pc.git("commit", "-m", "docs")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert "gatekeeper (what the commit stages" in commit.stdout + commit.stderr
    assert "gatekeeper (the whole tree" not in commit.stdout + commit.stderr
    # A commit that stages a credential is refused, and the credential is not printed.
    aws = aws_key_id()
    (pc.root / "config").mkdir()
    (pc.root / "config" / "app.env").write_text(f"AWS_ACCESS_KEY_ID={aws}\n")
    pc.git("add", "config/app.env")
    refused = pc.git("commit", "-m", "credentials")
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "secrets/aws-access-key" in output and "config/app.env" in output
    assert aws not in output
    assert git_repo.head.commit.message.strip() == "docs"


def test_all_files_runs_audit_the_whole_tree(git_repo: git.Repo, tmp_path: Path) -> None:
    aws = aws_key_id()
    commit_files(git_repo, {"config/app.env": f"AWS_ACCESS_KEY_ID={aws}\n"}, "old key")
    pc = PreCommit(git_repo, tmp_path)
    tree = pc.run("run", "gatekeeper-tree", "--all-files")
    assert tree.returncode == 1, tree.stdout + tree.stderr
    assert "secrets/aws-access-key" in tree.stdout and aws not in tree.stdout
    # Every hook of the stage, as CI runs it: the whole-tree hook blocks.
    everything = pc.run("run", "--all-files")
    assert everything.returncode == 1
    assert "gatekeeper (the whole tree" in everything.stdout
    # The commit hook judges what is staged; --all-files stages nothing, so it passes.
    staged = pc.run("run", "gatekeeper", "--all-files")
    assert staged.returncode == 0, staged.stdout
    # With `stages: [manual]` (a configuration shared with developers), CI asks for it.
    text = _pre_commit_config({"gatekeeper-tree": ["manual"]})
    commit_files(git_repo, {".pre-commit-config.yaml": text}, "tree hook in CI only")
    assert pc.run("run", "--all-files").returncode == 0
    manual = pc.run("run", "--all-files", "--hook-stage", "manual")
    assert manual.returncode == 1 and "secrets/aws-access-key" in manual.stdout
