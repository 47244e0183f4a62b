"""Inline suppressions: the comment forms of each file type, what makes one invalid, expiry,
and where a suppression cannot be (no comment possible, no line, a source finding)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import git
import pytest

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.policy.suppressions import (
    RevisionLines,
    SuppressionSettings,
    comment_openers,
    expired,
    find_suppressions,
    parse_marker,
    work_tree_lines,
)
from tests.conftest import commit_files

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TAIL = "gatekeeper: ignore[secrets/generic-assignment] test fixture until=2026-12-31"


@pytest.fixture
def git_repo(git_repo: git.Repo) -> Iterator[git.Repo]:
    """The shared fixture, its git processes closed when the test ends (not at exit)."""
    yield git_repo
    git_repo.close()


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("config/app.yml", f"password: x  # {TAIL}"),
        ("scripts/build.sh", f'TOKEN="x" # {TAIL}'),
        ("Dockerfile", f"ENV TOKEN=x # {TAIL}"),
        ("requirements-dev.txt", f"django==4.2  # {TAIL}"),
        ("Jenkinsfile", f"def token = 'x' // {TAIL}"),
        ("ci/deploy.groovy", f"def token = 'x' /* {TAIL} */"),
        ("src/main.go", f'const token = "x" // {TAIL}'),
        ("pom.xml", f"<password>x</password> <!-- {TAIL} -->"),
        ("Cargo.lock", f'version = "1.0"  # {TAIL}'),
        ("db/seed.sql", f"SELECT 1; -- {TAIL}"),
    ],
)
def test_each_file_type_takes_its_own_comment(path: str, line: str) -> None:
    marker = parse_marker(line, comment_openers(path))
    assert marker is not None and marker.problem is None, marker
    assert marker.rules == ("secrets/generic-assignment",)
    assert marker.reason == "test fixture" and marker.until == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("path", "line", "problem"),
    [
        # A comment form the file type does not have is not a comment there.
        ("config/app.yml", f"password: x  // {TAIL}", "not in a comment"),
        ("Jenkinsfile", f"def token = 'x'  # {TAIL}", "not in a comment"),
        # Inside a value, not after a comment opener.
        ("config/app.yml", f"password: 'x#{TAIL}'", "not in a comment"),
        # Formats without comments: a policy exception is the only way.
        ("package-lock.json", f'"x": "{TAIL}"', "cannot carry a comment"),
        ("Gemfile.lock", f"    rack (2.0) # {TAIL}", "cannot carry a comment"),
        ("notes/unknown.dat", f"# {TAIL}", "cannot carry a comment"),
        ("a.yml", "# gatekeeper: ignore[] because until=2026-12-31", "names no rule id"),
        ("a.yml", "# gatekeeper: ignore[secrets/*] all of them until=2026-12-31", "no globs"),
        ("a.yml", "# gatekeeper: ignore[secrets/generic-assignment] forever", "no until="),
        (
            "a.yml",
            "# gatekeeper: ignore[secrets/generic-assignment] x until=31.12.2026",
            "not a date",
        ),
        ("a.yml", "# gatekeeper: ignore[secrets/generic-assignment] until=2026-12-31", "no reason"),
    ],
)
def test_what_makes_a_suppression_invalid(path: str, line: str, problem: str) -> None:
    marker = parse_marker(line, comment_openers(path))
    assert marker is not None and marker.problem is not None and problem in marker.problem


def test_a_line_without_a_marker_has_no_suppression() -> None:
    assert parse_marker("password: x  # gatekeeper ignores nothing here", ("#",)) is None


def test_a_script_without_a_suffix_takes_hash_comments() -> None:
    assert comment_openers("bin/release", "#!/bin/sh") == ("#",)
    assert comment_openers("bin/release", "echo") == ()


def test_until_holds_through_its_last_day() -> None:
    assert not expired(date(2026, 3, 1), NOW)
    assert expired(date(2026, 2, 28), NOW)


def _finding(rule: str, path: str | None, line: int | None) -> Finding:
    return Finding.make(rule, Severity.HIGH, "m", path=path, line=line, key=f"{path}:{line}")


def _lines(files: dict[str, str]) -> dict[str, list[str]]:
    return {path: text.split("\n") for path, text in files.items()}


def test_only_the_named_rule_on_the_named_line_is_excused(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text(f"a: 1\npassword: x  # {TAIL}\nb: 2\n")
    on_line = _finding("secrets/generic-assignment", "ci.yml", 2)
    other_rule = _finding("secrets/aws-access-key", "ci.yml", 2)
    other_line = _finding("secrets/generic-assignment", "ci.yml", 3)
    found = find_suppressions(
        [on_line, other_rule, other_line],
        work_tree_lines(tmp_path, 1 << 20),
        now=NOW,
        settings=SuppressionSettings(),
    )
    assert found.excused == {on_line.fingerprint}
    (record,) = found.records
    assert (record.status, record.line, record.findings) == ("active", 2, [on_line.fingerprint])


def test_a_typo_in_the_rule_id_is_reported_unmatched(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text(
        "password: x  # gatekeeper: ignore[secrets/generic] fixture until=2026-12-31\n"
    )
    found = find_suppressions(
        [_finding("secrets/generic-assignment", "ci.yml", 1)],
        work_tree_lines(tmp_path, 1 << 20),
        now=NOW,
        settings=SuppressionSettings(),
    )
    assert not found.excused and found.records[0].status == "unmatched"


def test_source_findings_and_findings_without_a_line_cannot_be_suppressed(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text(
        "* @a  # gatekeeper: ignore[source/gate-change] mine until=2026-12-31\n"
    )
    gate = _finding("source/gate-change", "CODEOWNERS", 1)
    whole_file = _finding("secrets/generic-assignment", "CODEOWNERS", None)
    found = find_suppressions(
        [gate, whole_file],
        work_tree_lines(tmp_path, 1 << 20),
        now=NOW,
        settings=SuppressionSettings(),
    )
    assert not found.excused
    assert found.records[0].status == "invalid"
    assert "cannot be suppressed inline" in (found.records[0].problem or "")


def test_the_tree_reader_refuses_links_and_escapes(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text(f"password: x  # {TAIL}\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "linked.yml").symlink_to(outside)
    (root / "dir").symlink_to(tmp_path)
    read = work_tree_lines(root, 1 << 20)
    assert read("linked.yml") is None
    assert read("dir/outside.yml") is None
    assert read("../outside.yml") is None
    assert read(str(outside)) is None
    (root / "big.yml").write_text("x" * 100)
    assert work_tree_lines(root, 10)("big.yml") is None


def test_trusted_revision_decides_in_pull_requests(git_repo: git.Repo) -> None:
    repo = Path(str(git_repo.working_tree_dir))
    base = commit_files(git_repo, {"ci.yml": f"password: x  # {TAIL}\n"}, "base").hexsha
    commit_files(git_repo, {"new.yml": f"password: y  # {TAIL}\n"}, "pull request")
    kept = _finding("secrets/generic-assignment", "ci.yml", 1)
    added = _finding("secrets/generic-assignment", "new.yml", 1)
    trusted = RevisionLines(repo, base, 1 << 20)
    try:
        found = find_suppressions(
            [kept, added],
            work_tree_lines(repo, 1 << 20),
            now=NOW,
            settings=SuppressionSettings(trusted_revision=base),
            trusted=trusted,
        )
    finally:
        trusted.close()
    assert found.excused == {kept.fingerprint}
    by_path = {r.path: r for r in found.records}
    assert by_path["new.yml"].status == "untrusted"
    assert "added by the pull request" in (by_path["new.yml"].problem or "")


def test_the_index_reader_reads_what_is_staged(git_repo: git.Repo) -> None:
    repo = Path(str(git_repo.working_tree_dir))
    commit_files(git_repo, {"ci.yml": "password: x\n"}, "c")
    (repo / "ci.yml").write_text(f"password: x  # {TAIL}\n")  # not staged
    index = RevisionLines(repo, ":", 1 << 20)
    try:
        assert index("ci.yml") == ["password: x", ""]
        assert index("missing.yml") is None
    finally:
        index.close()
