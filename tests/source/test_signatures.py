"""Commit signature states on real repositories with real GnuPG and SSH signatures.

Every state for both kinds: good and trusted; good but by a key outside what the policy
allows (``source/unknown-identity``); unverifiable because the key is unknown here
(``source/unverified-signature``, info unless the policy requires trusted signers); bad
(``source/bad-signature``). The verifying machine's keyring is each test's own
(``verifying_keyring``); keys are imported into it only where a test says so.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.collect import forge_keys as forge_registry
from gatekeeper.collect.forge_keys import ForgeKey
from gatekeeper.errors import InvalidInput
from gatekeeper.models.finding import Finding
from gatekeeper.models.source import SourceEvidence
from tests.source.conftest import GpgKeys
from tests.source.helpers import audit, collect, commit, sh, write

SIGNATURE_RULES = (
    "source/unsigned-commit",
    "source/bad-signature",
    "source/unverified-signature",
    "source/unknown-identity",
)


def _sig(findings: list[Finding]) -> list[tuple[str, str]]:
    """(rule, severity) of the signature findings, sorted."""
    return sorted((f.rule, f.severity.value) for f in findings if f.rule in SIGNATURE_RULES)


def _messages(findings: list[Finding], rule: str) -> str:
    return " | ".join(f.message for f in findings if f.rule == rule)


def gpg_commit(repo: git.Repo, keys: GpgKeys, name: str, message: str = "signed") -> str:
    write(repo, f"{name}-{message}.txt".replace(" ", "_"), message + "\n")
    sh(repo, "add", "-A")
    env = {"GNUPGHOME": str(keys.home)}
    config = ["-c", f"user.signingkey={keys.fingerprints[name]}"]
    if name == "old":
        config += ["-c", f"gpg.program={keys.fake_time_gpg}"]
    sh(repo, *config, "commit", "-q", "-S", "-m", message, env=env)
    return sh(repo, "rev-parse", "HEAD")


def ssh_commit(repo: git.Repo, key: Path, message: str = "ssh signed") -> str:
    write(repo, f"{key.name}-{message}.txt".replace(" ", "_"), message + "\n")
    sh(repo, "add", "-A")
    sh(
        repo,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={key}",
        "commit",
        "-q",
        "-S",
        "-m",
        message,
    )
    return sh(repo, "rev-parse", "HEAD")


def allowed_signers(tmp_path: Path, *keys: Path, name: str = "allowed_signers") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"dev@example.invalid {Path(f'{k}.pub').read_text()}" for k in keys))
    return path


def tamper(repo: git.Repo, old: str, new: str) -> str:
    """Rewrite HEAD's commit object (message changed, signature kept) and point main at it."""
    raw = sh(repo, "cat-file", "commit", "HEAD") + "\n"
    assert old in raw
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.working_tree_dir,
        input=raw.replace(old, new, 1),
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    sh(repo, "update-ref", "refs/heads/main", sha)
    return sha


def _only_commit(ev: SourceEvidence) -> tuple[str, str | None]:
    (c,) = ev.commits
    return c.signature.status, c.signature.format


# --- OpenPGP ------------------------------------------------------------------------------


def test_gpg_good_and_trusted(repo: git.Repo, gpg_keys: GpgKeys, verifying_keyring: Path) -> None:
    gpg_keys.import_into(verifying_keyring, "dev")
    fpr = gpg_keys.fingerprints["dev"]
    base = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "dev")
    ev = collect(repo, base)
    sig = ev.commits[0].signature
    assert sig.status in ("G", "U") and sig.format == "openpgp"
    assert sig.primary_fingerprint == fpr and sig.forge is None
    assert _sig(audit(ev)) == []
    # A key known here is trusted when the policy lists none, even when it requires signatures.
    assert _sig(audit(ev, require_signed_commits=True)) == []
    assert _sig(audit(ev, require_signed_commits=True, trusted_commit_keys=[fpr])) == []
    assert _sig(audit(ev, require_signed_commits=True, trusted_commit_keys=[fpr[-16:]])) == []


def test_gpg_good_but_key_not_in_the_policy_is_unknown_identity(
    repo: git.Repo, gpg_keys: GpgKeys, verifying_keyring: Path
) -> None:
    gpg_keys.import_into(verifying_keyring, "dev", "other")
    base = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "other")
    ev = collect(repo, base)
    found = audit(ev, trusted_commit_keys=[gpg_keys.fingerprints["dev"]])
    # It verifies: the signer is someone the policy did not list, not a forger.
    assert _sig(found) == [("source/unknown-identity", "high")]
    assert "not among the policy's trusted_commit_keys" in _messages(
        found, "source/unknown-identity"
    )


def test_gpg_key_unknown_here_is_unverified_not_bad(
    repo: git.Repo, gpg_keys: GpgKeys, verifying_keyring: Path
) -> None:
    fpr = gpg_keys.fingerprints["dev"]
    base = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "dev")
    ev = collect(repo, base)  # the verifying keyring is empty: gpg says NO_PUBKEY
    found = audit(ev)
    assert _sig(found) == [("source/unverified-signature", "info")]
    assert _only_commit(ev) == ("E", "openpgp")
    assert ev.commits[0].signature.key == fpr[-16:]
    assert "not in the keyring here" in _messages(found, "source/unverified-signature")
    strict = audit(ev, require_signed_commits=True)
    assert _sig(strict) == [("source/unverified-signature", "high")]
    # SECURITY: naming the key in the policy does not make an unchecked signature trusted.
    listed = audit(ev, require_signed_commits=True, trusted_commit_keys=[fpr])
    assert _sig(listed) == [("source/unverified-signature", "high")]


def test_gpg_tampered_commit_is_bad(
    repo: git.Repo, gpg_keys: GpgKeys, verifying_keyring: Path
) -> None:
    base = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "dev", "pay alice")
    tamper(repo, "pay alice", "pay mallory")
    unknown = collect(repo, base)
    # Without the key nothing can be said; with it, the alteration shows.
    assert _only_commit(unknown) == ("E", "openpgp")
    assert _sig(audit(unknown)) == [("source/unverified-signature", "info")]
    gpg_keys.import_into(verifying_keyring, "dev")
    known = collect(repo, base)
    assert _only_commit(known) == ("B", "openpgp")
    found = audit(known)
    assert _sig(found) == [("source/bad-signature", "high")]
    assert "changed after it was signed" in _messages(found, "source/bad-signature")


def test_gpg_expired_key_is_unverified_and_revoked_key_is_bad(
    repo: git.Repo, gpg_keys: GpgKeys, verifying_keyring: Path
) -> None:
    gpg_keys.import_into(verifying_keyring, "old", "other")
    base = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "old", "made in 2020")
    expired = collect(repo, base)
    assert _only_commit(expired) == ("Y", "openpgp")
    found = audit(expired)
    assert _sig(found) == [("source/unverified-signature", "info")]
    assert "the key has expired" in _messages(found, "source/unverified-signature")
    assert _sig(audit(expired, require_signed_commits=True)) == [
        ("source/unverified-signature", "high")
    ]
    middle = repo.head.commit.hexsha
    gpg_commit(repo, gpg_keys, "other", "before revocation")
    gpg_keys.revoke_in(verifying_keyring, "other")
    revoked = collect(repo, middle)
    assert _only_commit(revoked) == ("R", "openpgp")
    found = audit(revoked)
    assert _sig(found) == [("source/bad-signature", "high")]
    assert "revoked" in _messages(found, "source/bad-signature")


# --- SSH ----------------------------------------------------------------------------------


def test_ssh_key_in_allowed_signers_is_trusted(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["trusted"])
    ev = collect(repo, base, allowed_signers=allowed_signers(tmp_path, ssh_keys["trusted"]))
    assert _only_commit(ev) == ("G", "ssh")
    assert ev.allowed_signers is not None and ev.allowed_signers.source == "option"
    assert _sig(audit(ev)) == []
    assert _sig(audit(ev, require_signed_commits=True)) == []


def test_ssh_signer_outside_the_allowed_signers_file_is_unknown_identity(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["other"])
    ev = collect(repo, base, allowed_signers=allowed_signers(tmp_path, ssh_keys["trusted"]))
    # SECURITY: the file names the SSH keys allowed; under any policy another key is flagged.
    found = audit(ev)
    assert _sig(found) == [("source/unknown-identity", "high")]
    assert "not in the allowed-signers file" in _messages(found, "source/unknown-identity")
    assert _only_commit(ev) == ("U", "ssh")


def test_ssh_without_allowed_signers_is_unverified_unless_the_policy_lists_the_key(
    repo: git.Repo, ssh_keys: dict[str, Path]
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["trusted"])
    ev = collect(repo, base)
    found = audit(ev)
    assert _sig(found) == [("source/unverified-signature", "info")]
    assert _only_commit(ev) == ("U", "ssh")  # intact, under the key it carries
    fingerprint = ev.commits[0].signature.fingerprint
    assert fingerprint and fingerprint.startswith("SHA256:")
    assert ev.allowed_signers is None
    assert "no allowed-signers file" in _messages(found, "source/unverified-signature")
    assert _sig(audit(ev, require_signed_commits=True)) == [("source/unverified-signature", "high")]
    # The policy naming the key's fingerprint is enough: the signature verifies under it.
    pinned = audit(ev, require_signed_commits=True, trusted_commit_keys=[fingerprint])
    assert _sig(pinned) == []
    other = audit(ev, require_signed_commits=True, trusted_commit_keys=["SHA256:" + "A" * 43])
    assert _sig(other) == [("source/unverified-signature", "high")]


def test_ssh_tampered_commit_is_bad_with_or_without_allowed_signers(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["trusted"], "pay alice")
    tamper(repo, "pay alice", "pay mallory")
    listed = allowed_signers(tmp_path, ssh_keys["trusted"])
    for ev in (collect(repo, base), collect(repo, base, allowed_signers=listed)):
        assert _sig(audit(ev)) == [("source/bad-signature", "high")]
        assert _only_commit(ev) == ("B", "ssh")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_allowed_signers_that_cannot_be_read_is_a_usage_error(
    repo: git.Repo,
    ssh_keys: dict[str, Path],
    tmp_path: Path,
    kind: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["other"])
    path = tmp_path / "alowed_signers"  # a typo
    if kind == "directory":
        path.mkdir()
    with pytest.raises(InvalidInput, match="allowed-signers"):
        collect(repo, base, allowed_signers=path)
    root = str(repo.working_tree_dir)
    args = ["--allowed-signers", str(path), "--only", "source"]
    assert main(["check", root, "--base", base, *args]) == 2
    assert main(["check", root, *args]) == 2  # even with nothing to verify
    assert "allowed-signers" in capsys.readouterr().err


def test_repository_configured_allowed_signers_is_used_and_must_exist(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base = repo.head.commit.hexsha
    ssh_commit(repo, ssh_keys["other"])
    listed = allowed_signers(tmp_path, ssh_keys["trusted"])
    sh(repo, "config", "gpg.ssh.allowedSignersFile", str(listed))
    ev = collect(repo, base)
    assert ev.allowed_signers is not None and ev.allowed_signers.source == "repository"
    assert _sig(audit(ev)) == [("source/unknown-identity", "high")]
    sh(repo, "config", "gpg.ssh.allowedSignersFile", str(tmp_path / "gone"))
    with pytest.raises(InvalidInput, match=r"gpg\.ssh\.allowedSignersFile"):
        collect(repo, base)


def test_malformed_ssh_signature_over_a_large_commit_does_not_stop_the_audit(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    """ssh-keygen exits before reading the payload; git must not die of SIGPIPE."""
    base = repo.head.commit.hexsha
    forged = (
        f"tree {repo.head.commit.tree.hexsha}\nparent {base}\n"
        "author M <m@example.invalid> 1700000000 +0000\n"
        "committer M <m@example.invalid> 1700000000 +0000\n"
        "gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lHAAAAAQ==\n -----END SSH SIGNATURE-----\n"
        "\n" + "x" * 300_000 + "\n"
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
    listed = allowed_signers(tmp_path, ssh_keys["trusted"])
    for ev in (collect(repo, base), collect(repo, base, allowed_signers=listed)):
        assert _only_commit(ev) == ("B", "ssh")
        assert _sig(audit(ev)) == [("source/bad-signature", "high")]


# --- forge keys ---------------------------------------------------------------------------


def _register_forge_key(
    monkeypatch: pytest.MonkeyPatch, forge: str, fmt: str, fingerprint: str, path: Path
) -> None:
    """Put a test key in the forge-key slot: the same registry the bundled keys are in."""
    key = ForgeKey(
        forge=forge,  # type: ignore[arg-type]
        name=f"the test {forge} key",
        format=fmt,  # type: ignore[arg-type]
        fingerprint=fingerprint,
        path=path,
        source="generated by the test",
    )
    monkeypatch.setattr(forge_registry, "FORGE_KEYS", (key,))


def _forge_range(repo: git.Repo, sign: list[str], env: dict[str, str]) -> tuple[str, str, str]:
    """base; a contributor's unsigned commit merged by the forge; a forge-signed non-merge."""
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "feature.txt", "feature\n")
    commit(repo, "feature work", author="Fay <fay@example.invalid>")
    sh(repo, "checkout", "-q", "main")
    sh(
        repo,
        *sign,
        "merge",
        "-q",
        "--no-ff",
        "-S",
        "feature",
        "-m",
        "Merge pull request #1 from acme/feature",
        env=env,
    )
    merge = sh(repo, "rev-parse", "HEAD")
    write(repo, "README", "edited in the web UI\n")
    sh(repo, "add", "-A")
    sh(repo, *sign, "commit", "-q", "-S", "-m", "Update README (#2)", env=env)
    return base, merge, sh(repo, "rev-parse", "HEAD")


def test_forge_signed_commits_with_a_test_key_in_the_github_slot(
    repo: git.Repo, gpg_keys: GpgKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fpr = gpg_keys.fingerprints["other"]
    public = tmp_path / "test-web-flow.asc"
    public.write_bytes(gpg_keys.public("other"))
    _register_forge_key(monkeypatch, "github", "openpgp", fpr, public)
    sign = ["-c", f"user.signingkey={fpr}"]
    base, merge, edit = _forge_range(repo, sign, {"GNUPGHOME": str(gpg_keys.home)})
    ev = collect(repo, base)  # the verifying keyring is empty: only the forge slot knows it
    by_sha = {c.sha: c.signature for c in ev.commits}
    assert by_sha[merge].forge == "github" and by_sha[edit].forge == "github"
    assert by_sha[merge].status in ("G", "U")

    # Default policy: a known forge's signature is neither bad nor unverified.
    assert _sig(audit(ev)) == [("source/unsigned-commit", "info")]
    # Required, and the policy does not trust the forge: both forge commits are flagged.
    strict = audit(ev, require_signed_commits=True)
    assert _sig(strict) == [
        ("source/unknown-identity", "high"),
        ("source/unknown-identity", "high"),
        ("source/unsigned-commit", "high"),
    ]
    # Trusted for merges: the merge passes, the web edit does not.
    merges = audit(ev, require_signed_commits=True, trusted_forge_merges=["github"])
    flagged = [f for f in merges if f.rule == "source/unknown-identity"]
    assert [f.message.split()[1] for f in flagged] == [edit[:12]]
    assert "merge commits only" in flagged[0].message
    # Listing the key trusts every commit the forge signs.
    everything = audit(ev, require_signed_commits=True, trusted_commit_keys=[fpr])
    assert _sig(everything) == [("source/unsigned-commit", "high")]

    # The slot empty (the key unknown here, as GitHub's own would be without the bundle).
    monkeypatch.setattr(forge_registry, "FORGE_KEYS", ())
    unknown = collect(repo, base)
    assert {unknown.commits[0].signature.status, unknown.commits[1].signature.status} == {"E"}
    assert _sig(audit(unknown)) == [
        ("source/unsigned-commit", "info"),
        ("source/unverified-signature", "info"),
        ("source/unverified-signature", "info"),
    ]


def test_forge_signed_commits_with_a_test_key_in_the_gitlab_slot(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ssh_keys["other"]
    line = subprocess.run(
        ["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True, check=True
    ).stdout
    fingerprint = line.split()[1]
    public = tmp_path / "test-gitlab.allowed_signers"
    public.write_text(f'noreply@gitlab.example namespaces="git" {Path(f"{key}.pub").read_text()}')
    _register_forge_key(monkeypatch, "gitlab", "ssh", fingerprint, public)
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    base, merge, edit = _forge_range(repo, sign, {})
    ev = collect(repo, base)
    by_sha = {c.sha: c.signature for c in ev.commits}
    assert by_sha[merge].forge == "gitlab" and by_sha[merge].format == "ssh"
    assert _sig(audit(ev)) == [("source/unsigned-commit", "info")]
    merges = audit(ev, require_signed_commits=True, trusted_forge_merges=["gitlab"])
    flagged = [f.message.split()[1] for f in merges if f.rule == "source/unknown-identity"]
    assert flagged == [edit[:12]]
    # An allowed-signers file that does not list the forge's key: flagged unless trusted.
    listed = collect(repo, base, allowed_signers=allowed_signers(tmp_path, ssh_keys["trusted"]))
    assert len([f for f in audit(listed) if f.rule == "source/unknown-identity"]) == 2
    trusted = audit(listed, trusted_forge_merges=["gitlab"])
    assert [f.message.split()[1] for f in trusted if f.rule == "source/unknown-identity"] == [
        edit[:12]
    ]


def test_contributor_signing_with_their_own_key_is_not_blocked_unless_required(
    repo: git.Repo,
    gpg_keys: GpgKeys,
    ssh_keys: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request whose commits are signed with keys this machine has never seen."""
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "contribution")
    gpg_commit(repo, gpg_keys, "other", "gpg signed fix")
    ssh_commit(repo, ssh_keys["other"], "ssh signed fix")
    root = str(repo.working_tree_dir)
    assert main(["check", root, "--base", base, "--only", "source"]) == 0
    assert main(["pr-check", root, "--base", base, "--only", "source", "--no-report"]) == 0
    capsys.readouterr()
    required = tmp_path / "signed.yaml"
    required.write_text(
        "version: 1\nname: signed\nexpires: 2099-01-01\naudits:\n  require_signed_commits: true\n"
    )
    policy = ["--policy", str(required), "--format", "json"]
    code = main(["check", root, "--base", base, "--only", "source", *policy])
    assert code == 1
    out = capsys.readouterr().out
    assert out.count('"source/unverified-signature"') == 2
    assert "source/bad-signature" not in out
