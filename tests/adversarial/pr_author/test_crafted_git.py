"""Hostile git repositories: gatekeeper reads them and never runs anything they configure.

A repository's own config, hooks and attributes are attacker-controlled. Every program they
could name is a script that creates a marker file; after ``check --base``, ``collect``,
``attest`` (with ``--audit``) and ``pr-check`` no marker may exist.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
from pathlib import Path

import git
import pytest

from gatekeeper._git import safe_git_env
from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from tests.conftest import commit_files

HOOKS = (
    "pre-commit",
    "post-commit",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-rebase",
    "reference-transaction",
    "post-index-change",
    "fsmonitor-watchman",
    "pre-auto-gc",
    "post-rewrite",
    "commit-msg",
    "prepare-commit-msg",
    "sendemail-validate",
    "push-to-checkout",
)

SHELL_CONFIGS = {  # run through a shell by git
    "filter.evil.clean": "clean",
    "filter.evil.smudge": "smudge",
    "diff.evil.textconv": "textconv",
    "diff.evil.command": "diffcmd",
    "merge.evil.driver": "merge",
    "core.fsmonitor": "fsmonitor",
    "core.sshCommand": "ssh",
    "core.pager": "pager",
    "core.editor": "editor",
    "sequence.editor": "seqeditor",
    "diff.external": "extdiff",
    "credential.helper": "!{script} credential",
    "core.askPass": "askpass",
    "core.gitProxy": "gitproxy",
    "uploadpack.packObjectsHook": "packhook",
    "core.alternateRefsCommand": "altrefs",
    "pager.log": "pagerlog",
    "pager.diff": "pagerdiff",
}
PROGRAM_CONFIGS = {  # run directly by git
    "gpg.program": "gpg",
    "gpg.openpgp.program": "openpgp",
    "gpg.x509.program": "x509",
    "gpg.ssh.program": "sshkeygen",
}


def _script(dirpath: Path, markers: Path, name: str) -> Path:
    path = dirpath / f"evil-{name}"
    # NOTE: never read stdin: a long-running filter protocol would wait forever.
    path.write_text(f"#!/bin/sh\ntouch '{markers}/{name}'\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _fake_signed_commit(repo: git.Repo, header: str, body: str) -> str:
    """A commit object carrying a gpgsig header of the given format (the signature is junk)."""
    head = repo.head.commit
    sig = "\n".join(f" {line}" for line in [header, body, header.replace("BEGIN", "END")])
    text = (
        f"tree {head.tree.hexsha}\nparent {head.hexsha}\n"
        f"author Dev One <dev@example.invalid> 1700000000 +0000\n"
        f"committer Dev One <dev@example.invalid> 1700000000 +0000\n"
        f"gpgsig{sig[0:]}\n\nsigned {header[11:20]}\n"
    )
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.working_tree_dir,
            input=text.encode(),
            capture_output=True,
            check=True,
            env={**os.environ, **safe_git_env()},
        )
        .stdout.decode()
        .strip()
    )
    repo.head.reference.set_object(sha)  # type: ignore[union-attr]
    return sha


@pytest.fixture
def trapped(tmp_path: Path) -> tuple[git.Repo, str, Path]:
    """(repo, base sha, marker dir): a repository whose config, hooks and attributes run code."""
    markers = tmp_path / "markers"
    markers.mkdir()
    bins = tmp_path / "bin"
    bins.mkdir()
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("commit", "gpgsign", "false")
    commit_files(repo, {"README.md": "hello\n", "data.txt": "one\n"}, "initial")
    base = repo.head.commit.hexsha
    commit_files(
        repo,
        {
            ".gitattributes": "* filter=evil diff=evil merge=evil\n",
            "data.txt": "two\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: echo hi\n",
            "requirements.txt": "requests==2.31.0\n",
            "Dockerfile": "FROM alpine:3.19\nUSER app\n",
            "config.env": "API_TOKEN=notarealtokenjustwordsxx\n",
        },
        "change",
    )
    _fake_signed_commit(repo, "-----BEGIN PGP SIGNATURE-----", "iQEzBAABCAAdFiEE")
    _fake_signed_commit(repo, "-----BEGIN SIGNED MESSAGE-----", "MIAGCSqGSIb3DQEHAqCA")
    _fake_signed_commit(repo, "-----BEGIN SSH SIGNATURE-----", "U1NIU0lHAAAAAQ")
    # Install the traps only now, so building the fixture itself runs none of them.
    with repo.config_writer() as cfg:
        for key, name in {**SHELL_CONFIGS, **PROGRAM_CONFIGS}.items():
            section, _, option = key.rpartition(".")
            script = _script(bins, markers, name.split()[0].lstrip("!").replace("{script}", "cred"))
            value = name.replace("{script}", str(script)) if "{script}" in name else str(script)
            cfg.set_value(section, option, value)
        cfg.set_value("core", "hooksPath", str(bins / "hooks"))
        cfg.set_value("include", "path", str(tmp_path / "included.cfg"))
    (tmp_path / "included.cfg").write_text(
        f"[core]\n\tfsmonitor = {_script(bins, markers, 'included-fsmonitor')}\n"
    )
    for hooks_dir in (bins / "hooks", Path(repo.git_dir) / "hooks"):
        hooks_dir.mkdir(exist_ok=True)
        for hook in HOOKS:
            _script(hooks_dir.parent if False else bins, markers, f"hook-{hook}").rename(
                hooks_dir / hook
            )
    return repo, base, markers


def _no_markers(markers: Path) -> None:
    assert sorted(p.name for p in markers.iterdir()) == []


def _sanity_trap_fires(repo: git.Repo, markers: Path) -> None:
    """Prove the traps are live: plain git (without gatekeeper's env) does run them."""
    # Test scaffolding runs the git on PATH on purpose: it is what a user would run.
    subprocess.run(
        ["git", "status"], cwd=repo.working_tree_dir, capture_output=True, check=False, timeout=30
    )
    fired = {p.name for p in markers.iterdir()}
    assert fired & {"fsmonitor", "included-fsmonitor", "clean"}, fired
    for path in markers.iterdir():
        path.unlink()


def test_traps_are_live_without_the_safe_env(trapped: tuple[git.Repo, str, Path]) -> None:
    repo, _, markers = trapped
    _sanity_trap_fires(repo, markers)
    subprocess.run(
        ["git", "log", "-3", "--format=%G?"],
        cwd=repo.working_tree_dir,
        capture_output=True,
        check=False,
        timeout=30,
    )
    fired = {p.name for p in markers.iterdir()}
    assert fired & {"gpg", "openpgp"} and "x509" in fired, fired


def test_check_with_base_runs_nothing(trapped: tuple[git.Repo, str, Path], tmp_path: Path) -> None:
    repo, base, markers = trapped
    out = tmp_path / "report.json"
    code = main(
        [
            "check",
            str(repo.working_tree_dir),
            "--base",
            base,
            "--format",
            "json",
            "--output",
            str(out),
        ]
    )
    assert code in (0, 1)
    report = json.loads(out.read_text())
    assert "source" in report["kinds"]
    _no_markers(markers)


def test_staged_check_runs_nothing(trapped: tuple[git.Repo, str, Path], tmp_path: Path) -> None:
    # The pre-commit path: every kind, the index read by the collectors and copied for the
    # others, HEAD's tree read for the findings it already had.
    repo, _, markers = trapped
    root = Path(repo.working_tree_dir or ".")
    (root / "data.txt").write_text("three\n")
    (root / "config.env").write_text("API_TOKEN=ghp_" + "x1Y2z3" * 6 + "\n")
    repo.index.add(["data.txt", "config.env"])
    out = tmp_path / "report.json"
    code = main(["check", str(root), "--staged", "--format", "json", "--output", str(out)])
    assert code in (0, 1)
    report = json.loads(out.read_text())
    assert {"secrets", "pipeline", "deps", "container"} <= set(report["kinds"])
    assert "config.env" in {f["path"] for f in report["findings"]}
    _no_markers(markers)


@pytest.mark.parametrize("kind", ["source", "secrets", "pipeline", "deps", "container", "env"])
def test_collect_runs_nothing(
    trapped: tuple[git.Repo, str, Path], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base, markers = trapped
    assert main(["collect", kind, str(repo.working_tree_dir), "--base", base]) == 0
    json.loads(capsys.readouterr().out)
    _no_markers(markers)


def test_attest_with_audit_runs_nothing(
    trapped: tuple[git.Repo, str, Path], tmp_path: Path
) -> None:
    repo, base, markers = trapped
    write_keypair(tmp_path / "key")
    code = main(
        [
            "attest",
            "--stage",
            "source",
            "--key",
            str(tmp_path / "key"),
            "--repo",
            str(repo.working_tree_dir),
            "--store",
            str(tmp_path / "store"),
            "--audit",
            "--base",
            base,
            "--product",
            "data.txt",
            "--material",
            "README.md",
        ]
    )
    assert code == 0
    _no_markers(markers)


def test_pr_check_offline_runs_nothing(trapped: tuple[git.Repo, str, Path], tmp_path: Path) -> None:
    repo, base, markers = trapped
    code = main(
        [
            "pr-check",
            str(repo.working_tree_dir),
            "--base",
            base,
            "--no-report",
            "--format",
            "json",
            "--output",
            str(tmp_path / "pr.json"),
        ]
    )
    assert code in (0, 1, 2)
    _no_markers(markers)


def test_shallow_clone_with_missing_base_is_a_clean_block(
    tmp_path: Path, git_repo: git.Repo
) -> None:
    for i in range(3):
        commit_files(git_repo, {f"f{i}.txt": f"{i}\n"}, f"c{i}")
    base = git_repo.head.commit.parents[0].parents[0].hexsha
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{git_repo.working_tree_dir}", str(clone)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (clone / ".git" / "shallow").exists()
    out = tmp_path / "r.json"
    code = main(["check", str(clone), "--base", base, "--format", "json", "--output", str(out)])
    assert code != 0  # the base is not in the clone: never a pass
    code = main(["check", str(clone), "--format", "json", "--output", str(out)])
    assert code in (0, 1)  # without --base, a shallow clone is just a tree


def test_a_base_blob_missing_from_the_clone_stops_with_a_reason(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    # A partial clone (or a damaged object store) lacks a blob of the base revision: the
    # findings the base already had cannot be established, so the run stops (exit 2).
    base = commit_files(git_repo, {"README.md": "hello\n", "app.py": "x = 1\n"}, "base")
    commit_files(git_repo, {"app.py": "x = 2\n"}, "change")
    root = Path(git_repo.working_tree_dir or ".")
    blob = base.tree["README.md"].hexsha
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    code = main(["check", str(root), "--base", base.hexsha, "--only", "secrets"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{base.hexsha}:README.md: object {blob} is missing" in err
    assert "Traceback" not in err


def test_detached_head_attest_and_check(git_repo: git.Repo, tmp_path: Path) -> None:
    first = git_repo.head.commit.hexsha
    commit_files(git_repo, {"app.py": "print(1)\n"}, "second")
    git_repo.git.checkout(first)  # detached
    assert git_repo.head.is_detached
    write_keypair(tmp_path / "key")
    store = tmp_path / "store"
    assert (
        main(
            [
                "attest",
                "--stage",
                "s",
                "--key",
                str(tmp_path / "key"),
                "--repo",
                str(git_repo.working_tree_dir),
                "--store",
                str(store),
                "--product",
                "README.md",
            ]
        )
        == 0
    )
    [env] = (store / "envelopes").iterdir()
    import base64

    payload = json.loads(base64.b64decode(json.loads(env.read_text())["payload"]))
    assert payload["predicate"]["run"]["source_commit"] == first
    out = tmp_path / "r.json"
    assert main(
        [
            "check",
            str(git_repo.working_tree_dir),
            "--base",
            first,
            "--format",
            "json",
            "--output",
            str(out),
        ]
    ) in (0, 1)


def test_submodule_pointing_at_a_local_path_is_never_fetched(
    git_repo: git.Repo, tmp_path: Path
) -> None:
    other = git.Repo.init(tmp_path / "other", initial_branch="main")
    commit_files(other, {"x.txt": "x\n"}, "x")
    base = git_repo.head.commit.hexsha
    root = Path(git_repo.working_tree_dir or ".")
    (root / ".gitmodules").write_text(
        f'[submodule "sub"]\n\tpath = sub\n\turl = {tmp_path / "other"}\n'
        '[submodule "evil"]\n\tpath = evil\n\turl = ../../../../etc\n'
        f'[submodule "ext"]\n\tpath = ext\n\turl = ext::sh -c touch% {tmp_path}/ext-marker\n'
    )
    # A gitlink entry (mode 160000) without cloning: plumbing only.
    git_repo.git.update_index("--add", "--cacheinfo", f"160000,{other.head.commit.hexsha},sub")
    git_repo.index.add([".gitmodules"])
    git_repo.git.commit("-m", "add submodules")
    out = tmp_path / "r.json"
    code = main(["check", str(root), "--base", base, "--format", "json", "--output", str(out)])
    assert code in (0, 1)
    report = json.loads(out.read_text())
    assert "source/submodule-change" in {f["rule"] for f in report["findings"]}
    assert not (root / "sub" / "x.txt").exists()  # nothing was cloned or checked out
    assert not (tmp_path / "ext-marker").exists()


# -- every git subprocess goes through the safe environment --------------------------------

_ALLOWED = {
    # module: why it may start a process
    # the safe environment itself: head_commit, work_tree_top, and GitRunner (env =
    # os.environ + safe_git_env()), which the collectors, BlobReader and StagedIndex use
    "gatekeeper/_git.py": "the safe environment itself",
    "gatekeeper/collect/commit_signatures.py": "gpg --export/--import into a throwaway home",
    "gatekeeper/attest/stage.py": "runs the user's own stage command (after `--`), never git",
}
_SPAWN = {
    "run",
    "Popen",
    "call",
    "check_call",
    "check_output",
    "system",
    "popen",
    "spawnv",
    "spawnvp",
    "execv",
    "execvp",
    "execve",
    "startfile",
}


def _spawning_modules(package: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hits = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if name in ("subprocess", "os") and node.func.attr in _SPAWN:
                    hits.append(f"{name}.{node.func.attr} line {node.lineno}")
                if node.func.attr in ("Repo", "Git") and name == "git":
                    hits.append(f"git.{node.func.attr}( line {node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "pty", "git.cmd"):
                hits.append(f"from {node.module} import line {node.lineno}")
        if hits:
            found[rel] = hits
    return found


def test_every_git_call_goes_through_the_safe_env() -> None:
    package = Path(__file__).resolve().parents[3] / "gatekeeper"
    found = _spawning_modules(package)
    unexpected = {k: v for k, v in found.items() if k not in _ALLOWED}
    assert unexpected == {}, f"processes started outside the audited modules: {unexpected}"
    source = (package / "_git.py").read_text()
    assert "safe_git_env()" in source and "env=self.env" in source
    stage = (package / "attest" / "stage.py").read_text()
    assert '"git"' not in stage


@pytest.mark.parametrize(
    "key",
    [
        "core.fsmonitor",
        "core.hooksPath",
        "core.sshCommand",
        "diff.external",
        "core.pager",
        "credential.helper",
        "gpg.program",
        "gpg.ssh.program",
        "protocol.allow",
    ],
)
def test_safe_env_overrides(key: str) -> None:
    env = safe_git_env()
    keys = {env[f"GIT_CONFIG_KEY_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))}
    assert key in keys
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull


def test_open_repo_applies_the_safe_env(trapped: tuple[git.Repo, str, Path]) -> None:
    from gatekeeper._git import open_repo

    repo, _, markers = trapped
    safe = open_repo(repo.working_tree_dir or ".")
    safe.git.status()
    safe.git.diff("HEAD~1")
    safe.git.log("-3", "--format=%G? %H")
    _no_markers(markers)
