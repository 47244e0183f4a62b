"""The tree walk (collect/base.py): what it never enters, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.collect.base import never_walked, walk_files


def _tree(root: Path, files: list[str]) -> Path:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{rel}\n")
    return root


FILES = [
    ".git/config",
    ".git/hooks/pre-commit",
    ".gatekeeper/envelopes/a.json",
    "src/app.py",
    "src/.gatekeeper/payload.py",
    "src/.git/config",
    "vendor/.git/config",
    "vendor/lib/.hg/hgrc",
    "node_modules/left-pad/index.js",
    "src/node_modules/x/index.js",
]


def test_only_the_top_level_vcs_metadata_and_the_store_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo", FILES)
    monkeypatch.chdir(root)  # the default store is .gatekeeper in the current directory
    assert never_walked(root) == {".git", ".hg", ".svn", ".gatekeeper"}
    assert sorted(walk_files(root)) == [
        "src/.gatekeeper/payload.py",
        "src/.git/config",
        "src/app.py",
        "vendor/.git/config",
        "vendor/lib/.hg/hgrc",
    ]


def test_a_git_file_at_the_top_is_metadata_too(tmp_path: Path) -> None:
    # A worktree or a submodule has a `.git` file ("gitdir: ..."), not a directory.
    root = _tree(tmp_path / "repo", ["src/app.py", "sub/.git"])
    (root / ".git").write_text("gitdir: /elsewhere/.git/worktrees/repo\n")
    assert sorted(walk_files(root)) == ["src/app.py", "sub/.git"]


def test_the_configured_store_is_skipped_wherever_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo", ["build/store/envelopes/a.json", ".gatekeeper/policy.yaml"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEKEEPER_STORE", str(root / "build" / "store"))
    assert "build/store" in never_walked(root)
    # Not the store this time: a directory of the repository like any other.
    assert sorted(walk_files(root)) == [".gatekeeper/policy.yaml"]
    assert never_walked(root, str(root / ".gatekeeper")) >= {".gatekeeper"}
    assert "build/store" not in never_walked(root, str(root / ".gatekeeper"))


@pytest.mark.parametrize(
    "store", ["oci://127.0.0.1:5000/attest", "../elsewhere", "/", "."], ids=str
)
def test_a_store_outside_the_tree_skips_nothing_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    root = _tree(tmp_path / "repo", [".gatekeeper/x", "a"])
    monkeypatch.chdir(root)
    assert never_walked(root, store) == {".git", ".hg", ".svn"}
    assert sorted(walk_files(root, skip=never_walked(root, store))) == [".gatekeeper/x", "a"]


def test_a_file_url_store_is_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "repo", ["s/x", "a"])
    monkeypatch.chdir(root)
    assert "s" in never_walked(root, f"file://{root / 's'}")
