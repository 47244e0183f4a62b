"""The source collector on real repositories: ranges, modes, links, signatures, shallow clones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from gatekeeper.collect.git_source import is_outside, path_category, sniff_binary
from gatekeeper.errors import CollectionError
from tests.source.helpers import collect, commit, sh, write


def test_range_records_commits_files_modes_links_and_submodules(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    write(repo, "docs/a.md", "text\n")
    (Path(repo.working_tree_dir or ".") / "link").symlink_to("docs/a.md")
    first = commit(repo, "add things\n\nReviewed-by: Rita Reviewer <rita@example.invalid>")
    sub_sha = "1" * 40
    sh(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub_sha},vendor/lib")
    second = commit(repo, "pin lib", add=False)
    ev = collect(repo, base)
    assert ev.is_git and ev.base_is_ancestor is True
    assert ev.base_commit == base and ev.head == second
    assert ev.head_tree == repo.head.commit.tree.hexsha
    assert [c.sha for c in ev.commits] == [second, first]
    assert ev.commits[1].trailers[0].key == "Reviewed-by"
    assert ev.commits[0].parents == [first]
    changes = {c.path: c for c in ev.changes}
    assert changes["run.sh"].new_mode == "100755" and changes["run.sh"].change == "A"
    assert changes["link"].new_mode == "120000"
    assert changes["vendor/lib"].new_mode == "160000"
    blobs = {b.path: b for b in ev.blobs}
    assert blobs["link"].symlink_target == "docs/a.md"
    assert blobs["vendor/lib"].submodule_commit == sub_sha
    assert blobs["docs/a.md"].size == 5 and not blobs["docs/a.md"].is_binary
    assert ev.symlinks[0].path == "link"


def test_history_rewrite_is_recorded(repo: git.Repo) -> None:
    sh(repo, "checkout", "-q", "-b", "old")
    write(repo, "a.txt", "old\n")
    old = commit(repo, "on the old branch")
    sh(repo, "checkout", "-q", "main")
    write(repo, "b.txt", "new\n")
    commit(repo, "rewritten")
    ev = collect(repo, old)
    assert ev.base_is_ancestor is False


def test_without_base_records_head_only(repo: git.Repo) -> None:
    ev = collect(repo)
    assert ev.head == repo.head.commit.hexsha and ev.base is None
    assert ev.commits == [] and ev.changes == []


def test_plain_directory_is_recorded_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (root / "out").symlink_to("/etc/passwd")
    ev = collect(root)
    assert ev.is_git is False and ev.head is None
    assert [(s.path, s.target) for s in ev.symlinks] == [("out", "/etc/passwd")]
    assert ev.sensitive_paths == [".github/workflows/ci.yml"]
    assert "not a git repository" in ev.notes[0]
    with pytest.raises(CollectionError, match="not a git repository"):
        collect(root, "HEAD~1")


def test_missing_base_says_how_to_fetch(repo: git.Repo) -> None:
    with pytest.raises(CollectionError, match="git fetch origin nope"):
        collect(repo, "origin/nope")


def test_shallow_clone_without_base_says_unshallow(repo: git.Repo, tmp_path: Path) -> None:
    base = repo.head.commit.hexsha
    for i in range(3):
        write(repo, f"f{i}", str(i))
        commit(repo, f"c{i}")
    clone = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "-c",
            "protocol.file.allow=always",
            "clone",
            "-q",
            "--depth=1",
            f"file://{repo.working_tree_dir}",
            str(clone),
        ],
        check=True,
    )
    with pytest.raises(CollectionError, match="--unshallow"):
        collect(clone, base)
    with pytest.raises(CollectionError, match="shallow"):
        collect(clone, "origin/main~2")


def test_forged_record_markers_in_messages_do_not_split_commits(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "x", "1")
    commit(repo, "evil \x1eGKSTARTdeadbeef\x1f subject\n\n\x1fGKEND\x1e body")
    ev = collect(repo, base)
    assert len(ev.commits) == 1 and ev.commits[0].files[0].path == "x"


def test_merge_commits_know_their_pull_request_and_merged_commits(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "f.txt", "feature\n")
    feature = commit(repo, "feature work", author="Fay <fay@example.invalid>")
    sh(repo, "checkout", "-q", "main")
    write(repo, "m.txt", "main\n")
    commit(repo, "main work")
    sh(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #42 from acme/feature")
    ev = collect(repo, base)
    merge = ev.commits[0]
    assert merge.is_merge and merge.pull_request == 42
    assert merge.merged_commits == [feature]


def test_ssh_signatures_verify_with_allowed_signers(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "config", "gpg.format", "ssh")
    sh(repo, "config", "user.signingkey", str(ssh_keys["trusted"]))
    write(repo, "s.txt", "signed\n")
    commit(repo, "signed", extra=("-S",))
    allowed = tmp_path / "allowed_signers"
    pub = Path(f"{ssh_keys['trusted']}.pub").read_text()
    allowed.write_text(f"dev@example.invalid {pub}")
    good = collect(repo, base, allowed_signers=str(allowed))
    assert good.commits[0].signature.status == "G"
    assert good.commits[0].signature.format == "ssh"
    assert good.commits[0].signature.fingerprint.startswith("SHA256:")
    # No allowed-signers file: still checked, against the key the signature carries.
    unlisted = collect(repo, base).commits[0].signature
    assert unlisted.status == "U" and unlisted.fingerprint == good.commits[0].signature.fingerprint
    other = tmp_path / "other_signers"
    other_pub = Path(f"{ssh_keys['other']}.pub").read_text()
    other.write_text(f"dev@example.invalid {other_pub}")
    assert collect(repo, base, allowed_signers=str(other)).commits[0].signature.status == "U"


def test_a_signature_that_cannot_be_checked_is_never_recorded_as_unsigned(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "config", "gpg.format", "ssh")
    sh(repo, "config", "user.signingkey", str(ssh_keys["trusted"]))
    write(repo, "s.txt", "signed\n")
    commit(repo, "signed", extra=("-S",))
    monkeypatch.setenv("PATH", str(_only_git_on_path(tmp_path)))
    # A machine without ssh-keygen: the in-process check still reads the signature ...
    assert collect(repo, base).commits[0].signature.status == "U"
    # ... but a revocation file is ssh-keygen's to read: git prints N, the commit is
    # signed: E, and a note.
    revoked = tmp_path / "revoked_keys"
    revoked.write_text("")
    sh(repo, "config", "gpg.ssh.revocationFile", str(revoked))
    ev = collect(repo, base)
    assert ev.commits[0].signature.status == "E"
    assert ev.commits[0].signature.format == "ssh"
    assert any("ssh-keygen is not on PATH" in n for n in ev.notes)


def _only_git_on_path(tmp_path: Path) -> Path:
    """A PATH directory holding git alone (no gpg, no ssh-keygen)."""
    import shutil

    bin_dir = tmp_path / "only-git"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    return bin_dir


def test_repository_config_cannot_run_a_verification_program(
    repo: git.Repo, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    evil.chmod(0o755)
    base = repo.head.commit.hexsha
    # A commit carrying an x509-looking signature makes git pick gpg.x509.program.
    raw = sh(repo, "cat-file", "commit", "HEAD")
    header, _, body = raw.partition("\n\n")
    forged = (
        f"{header}\ngpgsig -----BEGIN SIGNED MESSAGE-----\n MIIB\n "
        f"-----END SIGNED MESSAGE-----\n\n{body}\n"
    )
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.working_tree_dir,
        input=forged,
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    sh(repo, "update-ref", "refs/heads/main", sha)
    write(repo, "y", "1")
    commit(repo, "after")
    for key in (
        "gpg.program",
        "gpg.openpgp.program",
        "gpg.x509.program",
        "gpg.ssh.program",
        "core.fsmonitor",
        "diff.external",
    ):
        sh(repo, "config", key, str(evil))
    assert not marker.exists()
    ev = collect(repo, base)
    forged_commit = next(c for c in ev.commits if c.sha == sha)
    assert forged_commit.signature.status in ("B", "E")  # signed, and it does not verify
    assert not marker.exists()


def test_sniff_binary_by_content_not_extension() -> None:
    assert sniff_binary(b"\x7fELF\x02\x01\x01" + b"\x00" * 20) == "ELF executable"
    assert sniff_binary(b"text\x00more") == "NUL bytes"
    assert sniff_binary(b"plain ascii that happens to live in a .bin file\n") is None
    assert sniff_binary(b"MZ is how the word starts") is None
    assert sniff_binary(b"MZ_REGION=eu-central-1\n" + b"# a text file long enough\n" * 4) is None
    assert sniff_binary(b"MZ\x90\x00\x03" + b"\x00" * 59 + b"PE") == "Windows PE executable"
    assert sniff_binary(b"\xff\xfeh\x00i\x00") is None  # UTF-16 text with a BOM


def test_path_categories() -> None:
    assert path_category(".github/workflows/ci.yml") == "pipeline"
    assert path_category("Jenkinsfile") == "pipeline"
    assert path_category("svc/Dockerfile.prod") == "pipeline"
    assert path_category("Makefile") == "pipeline"
    assert path_category("policies/release.yaml") == "gate"
    assert path_category(".github/CODEOWNERS") == "gate"
    assert path_category(".github/settings.yml") == "gate"
    assert path_category("docs/workflows.md") is None
    assert path_category("src/policies.py") is None
    assert path_category("src/make_file.py") is None


def test_symlink_escape_geometry() -> None:
    assert is_outside("link", "../x")
    assert is_outside("a/b/link", "../../../etc")
    assert is_outside("link", "/etc/passwd")
    assert not is_outside("a/b/link", "../c")
    assert not is_outside("a/link", "./b/../c")


def test_merged_commits_exclude_mainline_commits_merged_into_the_branch(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "f1", "1")
    f1 = commit(repo, "feature 1")
    sh(repo, "checkout", "-q", "main")
    write(repo, "m1", "1")
    commit(repo, "main 1")
    sh(repo, "checkout", "-q", "feature")
    sh(repo, "merge", "-q", "--no-ff", "main", "-m", "sync main into feature")
    sync = sh(repo, "rev-parse", "HEAD")
    write(repo, "f2", "2")
    f2 = commit(repo, "feature 2")
    sh(repo, "checkout", "-q", "main")
    sh(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #9 from a/feature")
    ev = collect(repo, base)
    merge = ev.commits[0]
    assert merge.pull_request == 9
    assert merge.merged_commits == sorted([f1, sync, f2])


def test_merge_attribution_scales_to_many_merges() -> None:
    import time

    from gatekeeper.collect.git_source import _merged_commits
    from gatekeeper.models.source import Commit, Identity, Signature

    who = Identity(name="a", email="a@b", date="2024-01-01T00:00:00+00:00")
    sig = Signature(status="N")
    commits: list[Commit] = []
    main_tip = "base"
    for i in range(1500):  # 1500 pull requests: side commit + merge on a long mainline
        side = f"s{i:05d}".ljust(40, "0")
        merge = f"m{i:05d}".ljust(40, "0")
        commits.append(
            Commit(
                sha=side,
                parents=[main_tip],
                author=who,
                committer=who,
                subject="work",
                signature=sig,
            )
        )
        commits.append(
            Commit(
                sha=merge,
                parents=[main_tip, side],
                author=who,
                committer=who,
                subject="merge",
                signature=sig,
            )
        )
        main_tip = merge
    commits.reverse()  # newest first, as git log --topo-order lists them
    start = time.perf_counter()
    merged = _merged_commits(commits)
    # A hang guard, not a speed test: the quadratic walk this replaced took minutes here.
    assert time.perf_counter() - start < 30.0
    assert merged["m00007".ljust(40, "0")] == ["s00007".ljust(40, "0")]


def test_many_unverifiable_signatures_do_not_deadlock_on_stderr(
    repo: git.Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ssh-keygen git prints one stderr line per SSH signature; 1,500 of them."""
    monkeypatch.setenv("PATH", str(_only_git_on_path(tmp_path)))
    import hashlib
    import zlib

    base = repo.head.commit.hexsha
    tree = repo.head.commit.tree.hexsha
    git_dir = Path(repo.git_dir)
    parent = base
    signature = (
        "gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lHAAAAAQ==\n -----END SSH SIGNATURE-----\n"
    )
    for i in range(1500):
        body = (
            f"tree {tree}\nparent {parent}\n"
            f"author A <a@example.invalid> {1700000000 + i} +0000\n"
            f"committer A <a@example.invalid> {1700000000 + i} +0000\n"
            f"{signature}\ncommit {i}\n"
        ).encode()
        raw = b"commit %d\x00" % len(body) + body
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        obj = git_dir / "objects" / sha[:2] / sha[2:]
        obj.parent.mkdir(exist_ok=True)
        obj.write_bytes(zlib.compress(raw))
        parent = sha
    sh(repo, "update-ref", "refs/heads/main", parent)
    ev = collect(repo, base)
    assert len(ev.commits) == 1500
    assert {c.signature.status for c in ev.commits} == {"E"}
