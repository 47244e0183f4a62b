"""``check --staged`` judges what is staged for every tree kind, not only the two whose
collectors read the index themselves (secrets, pipeline): deps and container read a copy of
the index written to a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper._git import materialize_index
from gatekeeper.app.assess import INDEX_KINDS, TREE_KINDS
from gatekeeper.cli import main
from tests.conftest import commit_files

DIGEST = "a" * 64
SAFE = f"FROM python:3.12-slim@sha256:{DIGEST}\nUSER app\n"
RISKY = "FROM python:3.12-slim\nRUN curl -fsSL https://get.example/install.sh | sh\n"
RISKY_RULES = {"container/unpinned-base", "container/remote-script", "container/root-user"}


def _rules(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> set[str]:
    code = main(["check", str(root), "--staged", "--format", "json", *args])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1), report
    return {f["rule"] for f in report["findings"] if f.get("status") != "existing"}


def test_staged_container_audit_reads_the_staged_dockerfile(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"Dockerfile": SAFE}, "image")
    (root / "Dockerfile").write_text(RISKY)
    git_repo.index.add(["Dockerfile"])
    (root / "Dockerfile").write_text(SAFE)  # the work tree goes back; the commit would not
    assert RISKY_RULES <= _rules(root, capsys, "--only", "container")


def test_staged_container_audit_ignores_an_unstaged_dockerfile(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"Dockerfile": SAFE, "app.py": "x = 1\n"}, "image")
    (root / "Dockerfile").write_text(RISKY)  # not staged: not part of the commit
    (root / "app.py").write_text("x = 2\n")
    git_repo.index.add(["app.py"])
    assert not RISKY_RULES & _rules(root, capsys, "--only", "container")
    # the same work tree, audited as a tree, has them
    code = main(["check", str(root), "--only", "container", "--format", "json"])
    tree = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code in (0, 1) and RISKY_RULES <= tree


def test_staged_deps_audit_reads_the_staged_lockfile(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    lock = {"name": "app", "lockfileVersion": 3, "packages": {"": {"name": "app"}}}
    commit_files(git_repo, {"package-lock.json": json.dumps(lock)}, "lock")
    (root / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {')
    git_repo.index.add(["package-lock.json"])
    (root / "package-lock.json").write_text(json.dumps(lock))
    assert "deps/parse-error" in _rules(root, capsys, "--only", "deps")


def test_staged_lockfile_over_the_cap_is_reported_as_in_the_tree(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An oversized staged lockfile is a parse error, as in the work tree; never left out."""
    root = Path(git_repo.working_tree_dir or ".")
    packages = {f"node_modules/p{i}": {"version": "1.0.0"} for i in range(400)}
    big = json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages})
    small = json.dumps({"name": "app", "lockfileVersion": 3, "packages": {}})
    commit_files(git_repo, {"package-lock.json": small}, "lock")
    (root / "package-lock.json").write_text(big)
    git_repo.index.add(["package-lock.json"])
    (root / "package-lock.json").write_text(small)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: t\nexpires: 2099-01-01T00:00:00Z\n"
        f"limits:\n  max_file_bytes: {len(big) - 1}\n"
    )
    code = main(["check", str(root), "--staged", "--only", "deps", "--policy", str(policy)])
    out = capsys.readouterr().out
    assert code == 1
    assert "deps/parse-error" in out and f"larger than the {len(big) - 1}-byte limit" in out


def test_the_index_copy_holds_what_is_staged_below_the_directory_asked_for(
    git_repo: git.Repo, tmp_path: Path
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"svc/Dockerfile": SAFE, "other/Dockerfile": SAFE}, "images")
    (root / "svc" / "Dockerfile").write_text(RISKY)
    (root / "svc" / "notes.md").write_text("not staged\n")
    git_repo.index.add(["svc/Dockerfile"])
    (root / "svc" / "Dockerfile").write_text("changed again, not staged\n")
    (root / "svc" / "link").symlink_to("../other/Dockerfile")
    git_repo.index.add(["svc/link"])
    whole, below = tmp_path / "whole", tmp_path / "below"
    materialize_index(root, whole, max_bytes=1 << 20, max_files=100)
    materialize_index(root / "svc", below, max_bytes=1 << 20, max_files=100)
    assert (whole / "svc" / "Dockerfile").read_text() == RISKY
    assert (whole / "other" / "Dockerfile").read_text() == SAFE
    assert sorted(p.name for p in below.iterdir()) == ["Dockerfile", "link"]
    assert (below / "Dockerfile").read_text() == RISKY
    link = below / "link"  # a link is written as a file holding its target, never followed
    assert not link.is_symlink() and link.read_text() == "../other/Dockerfile"
    small = tmp_path / "small"
    assert len(RISKY) < len(SAFE)
    materialize_index(root, small, max_bytes=len(RISKY), max_files=100)
    assert (small / "svc" / "Dockerfile").read_text() == RISKY
    # over max_bytes: its size is kept (a collector's cap names it), its content is not read
    over = small / "other" / "Dockerfile"
    assert over.stat().st_size == len(SAFE) and set(over.read_bytes()) == {0}


def test_staged_copy_over_the_file_limit_stops_with_a_reason(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {f"f{i}.txt": f"{i}\n" for i in range(5)}, "files")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: t\nexpires: 2099-01-01T00:00:00Z\nlimits:\n  max_files: 3\n"
    )
    code = main(["check", str(root), "--staged", "--only", "deps", "--policy", str(policy)])
    err = capsys.readouterr().err
    assert code == 2
    assert "over the 3-file limit" in err


def test_the_index_kinds_are_the_collectors_that_read_the_index() -> None:
    """A tree kind missing from INDEX_KINDS is read from a copy; one listed there must read
    the index itself (its collector branches on ``ctx.staged``)."""
    assert set(INDEX_KINDS) < set(TREE_KINDS)
    sources = Path(__file__).resolve().parents[2] / "gatekeeper" / "collect"
    for kind in TREE_KINDS:
        reads_index = "ctx.staged" in (sources / f"{kind}.py").read_text()
        assert reads_index is (kind in INDEX_KINDS), kind
