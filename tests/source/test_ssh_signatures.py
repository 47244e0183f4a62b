"""SSH commit signatures checked in-process give git's own answers (git running ssh-keygen).

Every case signs real commits with keys ssh-keygen makes in tmp_path, then compares what
the source collector records with what ``git log --format=%G?`` says through ssh-keygen
against the same allowed-signers file, and asserts the expected state explicitly too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from gatekeeper.collect import git_source
from gatekeeper.collect.ssh_signatures import (
    AllowedSigners,
    Unsupported,
    match_pattern_list,
    parse_armoured,
    split_commit,
    verify_commit,
)
from tests.source.helpers import collect, sh, write

# 2023-11-14T22:13:20Z, the committer time of every signed commit below.
COMMITTED = 1700000000


@pytest.fixture(autouse=True)
def _closed_repo(repo: git.Repo) -> Iterator[None]:
    """GitPython's persistent cat-file processes end with the test."""
    yield
    repo.close()


def _key(tmp_path: Path, kind: str, bits: str | None = None, name: str = "") -> Path:
    path = tmp_path / f"key-{kind}{bits or ''}{name}"
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", kind, "-f", str(path)]
    if bits:
        args += ["-b", bits]
    subprocess.run(args, check=True)
    return path


def _pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def _sign_commit(repo: git.Repo, key: Path, *, namespace: str = "git", hashalg: str = "") -> str:
    """A commit signed as git signs it (``ssh-keygen -Y sign``), in namespace ``namespace``."""
    write(repo, f"f-{key.name}-{namespace}-{hashalg}.txt", f"{key.name}\n")
    sh(repo, "add", "-A")
    when = {"GIT_COMMITTER_DATE": f"{COMMITTED} +0000", "GIT_AUTHOR_DATE": f"{COMMITTED} +0000"}
    tree = sh(repo, "write-tree")
    parent = sh(repo, "rev-parse", "HEAD")
    unsigned = sh(repo, "commit-tree", tree, "-p", parent, "-m", f"signed by {key.name}", env=when)
    payload = sh(repo, "cat-file", "commit", unsigned).encode() + b"\n"
    args = ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key)]
    if hashalg:
        args += ["-O", f"hashalg={hashalg}"]
    signature = subprocess.run(args, input=payload, capture_output=True, check=True).stdout
    lines = signature.decode().rstrip("\n").split("\n")
    header, _, body = payload.decode().partition("\n\n")
    signed = header + "\ngpgsig " + "\n ".join(lines) + "\n\n" + body
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.working_tree_dir,
            input=signed.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    sh(repo, "update-ref", "refs/heads/main", sha)
    sh(repo, "reset", "-q", "--hard", sha)
    return sha


def _git_says(repo: git.Repo, sha: str, signers: Path) -> tuple[str, str | None, str | None]:
    """(status, fingerprint, principal) as git gets them from ssh-keygen."""
    out = sh(
        repo,
        "-c",
        f"gpg.ssh.allowedSignersFile={signers}",
        "-c",
        "gpg.ssh.program=ssh-keygen",
        "log",
        "--no-walk",
        "--format=%G?|%GF|%GS",
        sha,
    )
    status, fingerprint, principal = out.split("|")
    return status, fingerprint or None, principal or None


def _we_say(repo: git.Repo, base: str, signers: Path) -> tuple[str, str | None, str | None]:
    (commit,) = collect(repo, base, allowed_signers=signers).commits
    sig = commit.signature
    assert sig.format == "ssh"
    assert sig.key == sig.fingerprint
    return sig.status, sig.fingerprint, sig.signer


def _no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a commit is left to git's own verification."""

    def refuse(_verifier: object, shas: list[str]) -> dict[str, object]:
        assert shas == [], f"left to ssh-keygen: {shas}"
        return {}

    monkeypatch.setattr(git_source, "_git_signatures", refuse)


@pytest.mark.parametrize(
    ("kind", "bits", "hashalg"),
    [
        ("ed25519", None, ""),
        ("ed25519", None, "sha256"),
        ("ecdsa", "256", ""),
        ("ecdsa", "384", ""),
        ("ecdsa", "521", ""),
        ("rsa", "3072", ""),
        ("rsa", "2048", "sha256"),
    ],
)
def test_every_key_type_gives_gits_answer_in_process(
    repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    bits: str | None,
    hashalg: str,
) -> None:
    base = repo.head.commit.hexsha
    key = _key(tmp_path, kind, bits)
    sha = _sign_commit(repo, key, hashalg=hashalg)
    listed = tmp_path / "allowed"
    listed.write_text(f"dev@example.invalid {_pub(key)}\n")
    unlisted = tmp_path / "empty"
    unlisted.write_text("")
    expected = _git_says(repo, sha, listed)
    assert expected[0] == "G" and expected[2] == "dev@example.invalid"
    _no_fallback(monkeypatch)
    assert _we_say(repo, base, listed) == expected
    status, fingerprint, principal = _we_say(repo, base, unlisted)
    assert (status, fingerprint, principal) == _git_says(repo, sha, unlisted)
    assert status == "U" and fingerprint == expected[1] and principal is None


@pytest.mark.parametrize(
    ("line", "status", "principal"),
    [
        ("*@example.invalid {pub}", "G", "*@example.invalid"),
        ("alice@example.invalid,dev@example.invalid {pub}", "G", "alice@example.invalid"),
        ("!dev@example.invalid,*@example.invalid {pub}", "G", "!dev@example.invalid"),
        ('dev@example.invalid namespaces="file" {pub}', "B", None),
        ('dev@example.invalid namespaces="file,g*" {pub}', "G", "dev@example.invalid"),
        ('dev@example.invalid valid-after="20231114" {pub}', "G", "dev@example.invalid"),
        ('dev@example.invalid valid-after="20231115Z" {pub}', "U", None),
        ('dev@example.invalid valid-before="20231114Z" {pub}', "U", None),
        (
            'dev@example.invalid valid-after="20231101",valid-before="20231201" {pub}',
            "G",
            "dev@example.invalid",
        ),
        ("dev@example.invalid cert-authority {pub}", "U", None),
        ("# dev@example.invalid {pub}\n\n   \nother@example.invalid {other}", "U", None),
        (
            "other@example.invalid {other}\nsecond@example.invalid {pub} a comment",
            "G",
            "second@example.invalid",
        ),
    ],
)
def test_allowed_signers_lines_are_read_as_ssh_keygen_reads_them(
    repo: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    line: str,
    status: str,
    principal: str | None,
) -> None:
    base = repo.head.commit.hexsha
    key = _key(tmp_path, "ed25519")
    other = _key(tmp_path, "ed25519", name="-other")
    sha = _sign_commit(repo, key)
    signers = tmp_path / "allowed"
    signers.write_text(line.format(pub=_pub(key), other=_pub(other)) + "\n")
    expected = _git_says(repo, sha, signers)
    assert (expected[0], expected[2]) == (status, principal)
    _no_fallback(monkeypatch)
    assert _we_say(repo, base, signers) == expected


def test_a_signature_in_another_namespace_and_a_tampered_commit_are_bad(
    repo: git.Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _key(tmp_path, "ed25519")
    signers = tmp_path / "allowed"
    signers.write_text(f"dev@example.invalid {_pub(key)}\n")
    base = repo.head.commit.hexsha
    sha = _sign_commit(repo, key, namespace="file")
    assert _git_says(repo, sha, signers)[0] == "B"
    with monkeypatch.context() as patched:
        _no_fallback(patched)
        assert _we_say(repo, base, signers) == ("B", None, None)
    # A signed commit altered afterwards (message changed, signature kept).
    sha = _sign_commit(repo, key)
    raw = sh(repo, "cat-file", "commit", sha) + "\n"
    tampered = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.working_tree_dir,
            input=raw.replace("signed by", "signed for").encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    assert _git_says(repo, tampered, signers)[0] == "B"
    sh(repo, "update-ref", "refs/heads/main", tampered)
    _no_fallback(monkeypatch)
    evidence = collect(repo, sha, allowed_signers=signers)
    assert [c.signature.status for c in evidence.commits] == ["B"]


def test_what_is_not_read_in_process_is_left_to_ssh_keygen(repo: git.Repo, tmp_path: Path) -> None:
    """A quoted principal is a line this module does not read: the whole file goes to git."""
    base = repo.head.commit.hexsha
    key = _key(tmp_path, "ed25519")
    sha = _sign_commit(repo, key)
    signers = tmp_path / "allowed"
    signers.write_text(f'"dev team@example.invalid" {_pub(key)}\n')
    with pytest.raises(Unsupported):
        AllowedSigners(signers.read_bytes())
    expected = _git_says(repo, sha, signers)
    assert expected[0] == "G" and expected[2] == "dev team@example.invalid"
    assert _we_say(repo, base, signers) == expected


def test_a_revocation_file_leaves_ssh_signatures_to_ssh_keygen(
    repo: git.Repo, tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    key = _key(tmp_path, "ed25519")
    _sign_commit(repo, key)
    signers = tmp_path / "allowed"
    signers.write_text(f"dev@example.invalid {_pub(key)}\n")
    revoked = tmp_path / "revoked"
    revoked.write_text(_pub(key) + "\n")
    sh(repo, "config", "gpg.ssh.revocationFile", str(revoked))
    # ssh-keygen reads the revocation list: the revoked key's signature does not count.
    assert _we_say(repo, base, signers)[0] == "B"


def test_unsupported_signatures_raise_and_never_pass(repo: git.Repo, tmp_path: Path) -> None:
    key = _key(tmp_path, "ed25519")
    sha = _sign_commit(repo, key)
    raw = (sh(repo, "cat-file", "commit", sha) + "\n").encode()
    signers = AllowedSigners(f"dev@example.invalid {_pub(key)}\n".encode())
    assert verify_commit(sha, raw, signers).status == "G"
    # A SHA-256 repository, a truncated SSHSIG blob, a second signature header.
    with pytest.raises(Unsupported):
        verify_commit(sha + "0" * 24, raw, signers)
    with pytest.raises(Unsupported):
        parse_armoured(
            b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n"
        )
    doubled = raw.replace(b"\ngpgsig ", b"\ngpgsig-sha256 x\ngpgsig ", 1)
    with pytest.raises(Unsupported):
        split_commit(sha, doubled)


def test_payload_is_the_commit_without_its_signature_header(repo: git.Repo, tmp_path: Path) -> None:
    key = _key(tmp_path, "ed25519")
    sha = _sign_commit(repo, key)
    raw = (sh(repo, "cat-file", "commit", sha) + "\n").encode()
    payload, armoured, committed = split_commit(sha, raw)
    assert b"gpgsig" not in payload and payload.endswith(b"\n\nsigned by key-ed25519\n")
    assert armoured.startswith(b"-----BEGIN SSH SIGNATURE-----\n")
    assert armoured.endswith(b"-----END SSH SIGNATURE-----\n")
    assert committed == COMMITTED


@pytest.mark.parametrize(
    ("value", "patterns", "expected"),
    [
        ("dev@example.invalid", "dev@example.invalid", 1),
        ("dev@example.invalid", "*@example.invalid", 1),
        ("dev@example.invalid", "d?v@*", 1),
        ("dev@example.invalid", "DEV@example.invalid", 0),
        ("dev@example.invalid", "!dev@example.invalid,*", -1),
        ("dev@example.invalid", "other,*.invalid", 1),
        ("dev@example.invalid", "dev@example.invalid.com", 0),
        ("a.b", "a?b", 1),
        ("a.b", "a[.]b", 0),
    ],
)
def test_principal_patterns_match_as_ssh_matches_them(
    value: str, patterns: str, expected: int
) -> None:
    assert match_pattern_list(value, patterns) == expected
