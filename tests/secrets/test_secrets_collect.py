"""The secrets collector and audit on real trees and repositories, and through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import git
import pytest

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.secrets import SecretsAudit
from gatekeeper.cli import main
from gatekeeper.collect import secrets as secrets_collector
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.secrets import SecretsCollector
from gatekeeper.errors import CollectionError
from gatekeeper.models.finding import Severity
from gatekeeper.models.policy import Limits
from gatekeeper.models.secrets import SecretsEvidence
from gatekeeper.secrets import RawHit
from tests.conftest import commit_files
from tests.secrets import tokens as t


def collect(root: Path, **kw: object) -> SecretsEvidence:
    return SecretsCollector().collect(CollectContext(repo=root, **kw))  # type: ignore[arg-type]


def findings(ev: SecretsEvidence) -> list:
    return list(SecretsAudit().run(ev, AuditContext()))


def workdir(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or ".")


def test_plain_directory_tree_scan(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(f"db:\n  password: {t.password()}\n")
    (tmp_path / "run.sh").write_text(f"export GH={t.github()}\n")
    (tmp_path / "blob.bin").write_bytes(bytes(range(32)) * 4 + t.github(8).encode())
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text(f"t='{t.github(9)}'\n")
    ev = collect(tmp_path)
    assert ev.mode == "tree" and ev.files_scanned == 3 and ev.binary_files == 1
    assert [(h.path, h.line, h.detector) for h in ev.hits] == [
        ("blob.bin", 5, "github-token"),  # binary: searched for token formats (4 line feeds)
        ("deploy/app.yaml", 2, "generic-assignment"),
        ("run.sh", 1, "github-token"),
    ]


def test_text_that_starts_with_mz_is_scanned_not_taken_for_an_executable(
    tmp_path: Path,
) -> None:
    # "MZ" is the DOS/PE magic, but `MZ_REGION=...` is text: read as text, its generic
    # assignments count too. A real executable is binary by content and is searched for
    # token formats only.
    (tmp_path / "app.conf").write_text(
        f"MZ_REGION=eu-central\nGH={t.github()}\nDB_PASSWORD={t.password(5)}\n"
    )
    (tmp_path / "tool.exe").write_bytes(
        b"MZ\x90\x00\x03"
        + b"\x00" * 59
        + f"GH={t.github(3)}\nDB_PASSWORD={t.password(6)}\n".encode()
    )
    ev = collect(tmp_path)
    assert ev.files_scanned == 2 and ev.binary_files == 1
    assert [(h.path, h.line, h.detector) for h in ev.hits] == [
        ("app.conf", 2, "github-token"),
        ("app.conf", 3, "generic-assignment"),
        ("tool.exe", 1, "github-token"),
    ]


def test_evidence_and_findings_never_contain_the_secret(tmp_path: Path) -> None:
    secret = t.github()
    (tmp_path / "a.env").write_text(f"TOKEN={secret}\n")
    ev = collect(tmp_path)
    dumped = ev.model_dump_json() + json.dumps([f.model_dump() for f in findings(ev)])
    assert secret not in dumped and secret[4:20] not in dumped
    assert ev.hits[0].redacted.startswith("ghp_")


def test_large_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 2048)
    ev = SecretsCollector().collect(
        CollectContext(repo=tmp_path, limits=Limits(max_file_bytes=1024))
    )
    assert [s.path for s in ev.skipped] == ["big.txt"]
    assert "big.txt" in ev.notes[0]


def test_git_tree_scans_tracked_and_untracked_but_not_ignored(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    commit_files(
        git_repo, {".gitignore": "local.env\n", "tracked.yaml": f"password: {t.password(1)}\n"}
    )
    (root / "untracked.yaml").write_text(f"password: {t.password(2)}\n")
    (root / "local.env").write_text(f"password: {t.password(3)}\n")
    ev = collect(root)
    assert sorted(h.path for h in ev.hits) == ["tracked.yaml", "untracked.yaml"]


def test_range_finds_a_secret_added_then_deleted_in_an_intermediate_commit(
    git_repo: git.Repo,
) -> None:
    root = workdir(git_repo)
    base = git_repo.head.commit.hexsha
    secret = t.github(42)
    added = commit_files(git_repo, {"conf/app.yaml": f"a: 1\nb: 2\ntoken: {secret}\n"}, "oops")
    commit_files(git_repo, {"conf/app.yaml": "a: 1\nb: 2\n"}, "remove it")
    assert collect(root).hits == []  # the tree is clean now
    ev = collect(root, base=base)
    assert ev.commits_scanned == 2
    assert [(h.path, h.line, h.source, h.commit) for h in ev.hits] == [
        ("conf/app.yaml", 3, "history", added.hexsha)
    ]
    found = findings(ev)
    assert found[0].rule == "secrets/github-token" and added.hexsha[:12] in found[0].message


def test_range_paths_with_spaces_and_quotes_are_the_tree_paths(git_repo: git.Repo) -> None:
    # git ends a `+++ b/name` line with a TAB when the name holds a space; the history hit
    # must carry the same path (and so the same finding fingerprint) as the tree hit.
    root = workdir(git_repo)
    base = git_repo.head.commit.hexsha
    files = {
        "deploy/my file.sh": f"GH={t.github(5)}\n",
        'odd "quoted" name.sh': f"GH={t.github(6)}\n",
    }
    commit_files(git_repo, files, "add")
    ev = collect(root, base=base)
    by_source = {(h.source, h.path) for h in ev.hits}
    assert by_source == {(source, path) for source in ("tree", "history") for path in files}
    keys = {(f.path, f.fingerprint) for f in findings(ev)}
    assert len(keys) == len(files)


def test_range_a_gitattributes_binary_mark_does_not_hide_added_lines(git_repo: git.Repo) -> None:
    # `-diff` / `binary` make git print "Binary files ... differ" instead of the lines; a
    # secret added and removed again under that cover must still be found, by content.
    root = workdir(git_repo)
    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {".gitattributes": "*.sh -diff\n*.env binary\n"}, "attributes")
    added = commit_files(
        git_repo,
        {
            "deploy/run.sh": f"set -e\nexport GH={t.github(7)}\n",
            "prod.env": f"TOKEN={t.github(8)}\n",
            "logo.sh": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + t.github(9).encode(),
        },
        "oops",
    )
    git_repo.index.remove(["deploy/run.sh", "prod.env", "logo.sh"], working_tree=True)
    git_repo.index.commit("remove them")
    assert collect(root).hits == []
    ev = collect(root, base=base)
    assert [(h.path, h.line, h.source, h.commit) for h in ev.hits] == [
        ("deploy/run.sh", 2, "history", added.hexsha),
        ("prod.env", 1, "history", added.hexsha),
    ]
    assert ev.skipped == []


def test_range_line_numbers_follow_hunks(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    commit_files(git_repo, {"a.yml": "".join(f"k{i}: v\n" for i in range(20))})
    base = git_repo.head.commit.hexsha
    lines = [f"k{i}: v\n" for i in range(20)]
    lines.insert(10, f"password: {t.password(5)}\n")
    commit_files(git_repo, {"a.yml": "".join(lines)})
    ev = collect(root, base=base)
    assert [(h.source, h.line) for h in ev.hits] == [("history", 11), ("tree", 11)]
    # One finding: the tree hit and the history hit share the fingerprint.
    assert len({f.fingerprint for f in findings(ev)}) == 1


def test_range_needs_git_and_an_existing_base(tmp_path: Path, git_repo: git.Repo) -> None:
    with pytest.raises(CollectionError, match="not a git repository"):
        collect(tmp_path, base="HEAD~1")
    with pytest.raises(CollectionError, match="git fetch"):
        collect(workdir(git_repo), base="origin/missing")


def test_staged_scans_only_the_staged_blobs(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    commit_files(git_repo, {"old.yaml": f"password: {t.password(6)}\n"})
    (root / "new.yaml").write_text(f"token: {t.github(7)}\n")
    (root / "unstaged.yaml").write_text(f"token: {t.github(8)}\n")
    git_repo.index.add(["new.yaml"])
    ev = collect(root, staged=True)
    assert ev.mode == "staged"
    assert [(h.path, h.source) for h in ev.hits] == [("new.yaml", "staged")]


def test_paired_aws_key_is_critical_unpaired_is_high(tmp_path: Path) -> None:
    (tmp_path / "paired.ini").write_text(
        f"aws_access_key_id={t.aws_key_id(1)}\naws_secret_access_key={t.aws_secret()}\n"
    )
    (tmp_path / "alone.ini").write_text(f"aws_access_key_id={t.aws_key_id(2)}\n")
    found = {f.path: f for f in findings(collect(tmp_path))}
    assert found["paired.ini"].severity == Severity.CRITICAL
    assert found["alone.ini"].severity == Severity.HIGH


def test_every_secrets_rule_has_its_default_severity() -> None:
    table = SecretsAudit.rules
    assert table["secrets/private-key"] == Severity.CRITICAL
    assert table["secrets/jwt"] == Severity.MEDIUM
    assert table["secrets/aws-access-key"] == Severity.HIGH
    assert table["secrets/vendor-token"] == Severity.HIGH
    assert len(table) == 15


def test_fingerprint_survives_a_line_move(tmp_path: Path) -> None:
    secret = t.password(9)
    (tmp_path / "a.yaml").write_text(f"password: {secret}\n")
    first = findings(collect(tmp_path))[0]
    (tmp_path / "a.yaml").write_text(f"x: 1\ny: 2\npassword: {secret}\n")
    moved = findings(collect(tmp_path))[0]
    assert first.fingerprint == moved.fingerprint and moved.line == 3


def test_cli_check_base_marks_existing_and_blocks_new(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = workdir(git_repo)
    commit_files(git_repo, {"old.yaml": f"password: {t.password(10)}\n"})
    base = git_repo.head.commit.hexsha
    assert main(["check", str(root), "--base", base, "--only", "secrets", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["status"] for f in out["findings"]] == ["existing"]
    commit_files(git_repo, {"new.yaml": f"token: {t.github(11)}\n"})
    assert main(["check", str(root), "--base", base, "--only", "secrets", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    new = [f for f in out["findings"] if f.get("status") is None]
    assert [f["rule"] for f in new] == ["secrets/github-token"]
    assert t.github(11) not in json.dumps(out)


def test_cli_staged_pre_commit_reads_only_the_staged_blob(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workdir(git_repo)
    for i in range(200):
        (root / f"src/m{i}.py").parent.mkdir(exist_ok=True)
        (root / f"src/m{i}.py").write_text("x = 1\n" * 50)
    git_repo.index.add([f"src/m{i}.py" for i in range(200)])
    git_repo.index.commit("many files")
    (root / "src/m1.py").write_text(f"x = 1\nAPI_KEY = '{t.password(12)}'\n")
    git_repo.index.add(["src/m1.py"])
    scanned: list[str] = []
    real_scan = secrets_collector._scan

    def counting_scan(data: bytes, path: str) -> tuple[list[RawHit], bool]:
        scanned.append(path)
        return real_scan(data, path)

    monkeypatch.setattr(secrets_collector, "_scan", counting_scan)
    code = main(["check", str(root), "--staged", "--only", "secrets", "--format", "json"])
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    assert [(f["path"], f["line"]) for f in out["findings"]] == [("src/m1.py", 2)]
    # Only the staged file is read: its staged blob, then HEAD's version of it (a secret
    # already committed is existing, not new); the 199 unchanged files are not scanned.
    assert scanned == ["src/m1.py", "src/m1.py"]


def test_collect_cli_prints_redacted_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".npmrc").write_text(f"//registry.npmjs.org/:_authToken={t.npm()}\n")
    assert main(["collect", "secrets", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '"npm-token"' in out and t.npm() not in out


def test_git_config_cannot_change_the_diff_we_parse(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {"sub/a.yml": f"password: {t.password(13)}\n"})
    for key, value in (
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("diff.relative", "true"),
        ("color.diff", "always"),
        ("diff.context", "5"),
    ):
        subprocess.run(["git", "config", key, value], cwd=root, check=True)
    ev = collect(root, base=base)
    assert [(h.path, h.line, h.source) for h in ev.hits] == [
        ("sub/a.yml", 1, "history"),
        ("sub/a.yml", 1, "tree"),
    ]


def test_range_scans_lines_that_only_a_merge_commit_adds(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    commit_files(git_repo, {"app.yaml": "a: 1\nb: 2\n"})
    base = git_repo.head.commit.hexsha
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": str(root)}

    def sh(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)

    sh("checkout", "-q", "-b", "feature")
    commit_files(git_repo, {"app.yaml": "a: 1\nb: 3\n"}, "feature")
    sh("checkout", "-q", "main")
    commit_files(git_repo, {"other.txt": "x\n"}, "main work")
    sh("merge", "-q", "--no-ff", "--no-commit", "feature")
    secret = t.password(40)
    (root / "app.yaml").write_text(f"a: 1\nb: 3\npassword: {secret}\n")  # an evil merge
    sh("add", "app.yaml")
    sh("commit", "-q", "-m", "Merge branch 'feature'")
    merge = git_repo.head.commit.hexsha
    hits = [h for h in collect(root, base=base).hits if h.source == "history"]
    assert [(h.path, h.line, h.commit) for h in hits] == [("app.yaml", 3, merge)]


def test_a_subdirectory_of_a_repository_scans_only_that_directory(git_repo: git.Repo) -> None:
    root = workdir(git_repo)
    commit_files(
        git_repo,
        {
            "svc/app.yaml": f"password: {t.password(50)}\n",
            "other/app.yaml": f"password: {t.password(51)}\n",
        },
    )
    ev = collect(root / "svc")
    assert [h.path for h in ev.hits] == ["app.yaml"]


def test_malformed_configs_are_still_scanned(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(
        '{"auths": {"r.io": {"auth": "' + t.docker_auth() + '"}, ,,, BROKEN'
    )
    (tmp_path / "latin1.yaml").write_bytes(
        b"caf\xe9: 1\npassword: " + t.password(60).encode() + b"\n"
    )
    hits = collect(tmp_path).hits
    assert [(h.path, h.detector) for h in hits] == [
        (".docker/config.json", "docker-auth"),
        ("latin1.yaml", "generic-assignment"),
    ]


def test_file_count_limit_is_reported_not_silent(tmp_path: Path, git_repo: git.Repo) -> None:
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text("x\n")
    ev = SecretsCollector().collect(CollectContext(repo=tmp_path, limits=Limits(max_files=2)))
    assert ev.files_scanned == 2 and "file limit" in ev.skipped[0].reason and ev.notes
    commit_files(git_repo, {"a.txt": "1", "b.txt": "2"})
    ev = SecretsCollector().collect(
        CollectContext(repo=workdir(git_repo), limits=Limits(max_files=2))
    )
    assert ev.files_scanned == 2 and "file limit" in ev.skipped[0].reason


def test_collect_text_format_is_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = t.gitlab()
    (tmp_path / "ci.yml").write_text(f"token: {secret}\n")
    assert main(["collect", "secrets", str(tmp_path), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "ci.yml:1: gitlab-token glpa…(26 chars) sha256:" in out and secret not in out
