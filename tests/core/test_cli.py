"""The command line as a user runs it: the issue's flow, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.harness import Pipeline


@pytest.fixture
def git_repo(git_repo: git.Repo) -> Iterator[git.Repo]:
    """The shared fixture, its git processes closed when the test ends (not at exit)."""
    yield git_repo
    git_repo.close()


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_issue_flow_as_separate_processes(pipeline: Pipeline) -> None:
    repo = pipeline.repo_path
    keys = pipeline.keys
    (repo / "policies").mkdir()
    policy = repo / "policies" / "release.yaml"
    policy.write_text(
        "version: 1\nname: release\nexpires: 2099-06-30T00:00:00Z\nmax_age: 7d\n"
        f"keys:\n  ci: {keys}/ci.pub\n  release-manager: {keys}/rm.pub\n"
        "stages:\n  - name: source\n    signed_by: [ci]\n"
        "  - name: build\n    signed_by: [ci]\n    follows: source\n"
        "  - name: release\n    signed_by: [ci, release-manager]\n"
        "    threshold: 2\n    follows: build\n"
    )
    steps = [
        ["attest", "--stage", "source", "--key", f"{keys}/ci", "--product", "src/**"],
        [
            "attest",
            "--stage",
            "build",
            "--key",
            f"{keys}/ci",
            "--material",
            "src/**",
            "--product",
            "dist/*",
            "--",
            sys.executable,
            "-c",
            "import os; os.makedirs('dist', exist_ok=True); "
            "open('dist/app-1.0.tar.gz','w').write('x')",
        ],
        [
            "attest",
            "--stage",
            "release",
            "--key",
            f"{keys}/ci",
            "--key",
            f"{keys}/rm",
            "--material",
            "dist/*",
            "--product",
            "dist/*",
        ],
    ]
    for step in steps:
        result = _run(step, repo)
        assert result.returncode == 0, result.stderr
    ok = _run(
        ["verify", "--policy", "policies/release.yaml", "--format", "json", "dist/app-1.0.tar.gz"],
        repo,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "pass"
    text = _run(
        ["verify", "--policy", "policies/release.yaml", "--format", "text", "dist/app-1.0.tar.gz"],
        repo,
    )
    assert text.stdout.startswith("PASS: dist/app-1.0.tar.gz")

    (repo / "dist" / "app-1.0.tar.gz").write_text("tampered")
    blocked = _run(
        ["verify", "--policy", "policies/release.yaml", "--format", "json", "dist/app-1.0.tar.gz"],
        repo,
    )
    assert blocked.returncode == 1
    report = json.loads(blocked.stdout)
    assert report["verdict"] == "block"
    assert report["reasons"][0]["code"] == "verify/subject-mismatch"
    assert set(report["reasons"][0]) == {"code", "message", "stage"}


def _attested_exit_code(store: Path) -> int | None:
    import base64

    (envelope,) = (store / "envelopes").iterdir()
    statement = json.loads(base64.b64decode(json.loads(envelope.read_text())["payload"]))
    code: int | None = statement["predicate"]["exit_code"]
    return code


@pytest.mark.parametrize("code", [2, 7])
def test_a_failing_command_is_recorded_and_blocks_with_exit_1(
    pipeline: Pipeline, code: int
) -> None:
    # `make` failing with 2 must not read as a gatekeeper usage error (2): the stage is
    # recorded as failed and attest says blocked (1), printing the command's own code.
    result = _run(
        [
            "attest",
            "--stage",
            "test",
            "--key",
            pipeline.key("ci"),
            "--",
            "sh",
            "-c",
            f"exit {code}",
        ],
        pipeline.repo_path,
    )
    assert result.returncode == 1, result.stderr
    assert f"command exited {code}" in result.stderr
    assert "blocked" in result.stderr and "recorded as failed" in result.stderr
    assert _attested_exit_code(pipeline.repo_path / ".gatekeeper") == code


def test_a_missing_command_is_attested_as_127_and_blocks(pipeline: Pipeline) -> None:
    result = _run(
        ["attest", "--stage", "test", "--key", pipeline.key("ci"), "--", "no-such-cmd-xyz"],
        pipeline.repo_path,
    )
    assert result.returncode == 1
    assert "command exited 127" in result.stderr
    assert _attested_exit_code(pipeline.repo_path / ".gatekeeper") == 127


def test_a_succeeding_command_exits_0_and_quiet_says_nothing(pipeline: Pipeline) -> None:
    loud = _run(
        ["attest", "--stage", "a", "--key", pipeline.key("ci"), "--", "true"], pipeline.repo_path
    )
    assert loud.returncode == 0 and "attested stage a" in loud.stderr
    quiet = _run(
        ["attest", "--stage", "b", "--key", pipeline.key("ci"), "--quiet", "--", "true"],
        pipeline.repo_path,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_attest_usage_errors_stay_exit_2(pipeline: Pipeline) -> None:
    result = _run(
        ["attest", "--stage", "s", "--key", pipeline.key("ci"), "--product", "none/*"],
        pipeline.repo_path,
    )
    assert result.returncode == 2 and "matches no file" in result.stderr


def test_store_from_environment(pipeline: Pipeline, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere"
    result = _run(
        ["attest", "--stage", "s", "--key", pipeline.key("ci"), "--product", "src/**"],
        pipeline.repo_path,
        env={"GATEKEEPER_STORE": str(store)},
    )
    assert result.returncode == 0, result.stderr
    assert len(list((store / "envelopes").iterdir())) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["attest", "--stage", "s", "--key", "/nonexistent/key"], "/nonexistent/key: cannot read"),
        (["attest", "--stage", "s", "--key", "KEY", "--product", "out/*"], "matches no file"),
        (["verify", "--policy", "/nonexistent/policy.yaml", "ARTIFACT"], "policy-invalid"),
        (["verify", "--policy", "POLICY"], "at least one ARTIFACT"),
        (["verify", "--policy", "POLICY", "missing.tar.gz"], "missing.tar.gz: no such file"),
        (["verify", "--policy", "POLICY", "sha256:1234"], "not a sha256 digest"),
        (["import", "missing.json"], "missing.json: cannot read"),
        (["keygen", "k", "--type", "dsa"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(
    pipeline: Pipeline, args: list[str], needle: str
) -> None:
    artifact = pipeline.build_artifact()
    args = [
        {
            "KEY": pipeline.key("ci"),
            "POLICY": str(pipeline.policy_path),
            "ARTIFACT": str(artifact),
        }.get(a, a)
        for a in args
    ]
    result = _run(args, pipeline.repo_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_policy_yaml_is_exit_2_with_reason(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    pipeline.policy_path.write_text("version: 1\nname: [unclosed\n")
    assert (
        main(
            [
                "verify",
                "--policy",
                str(pipeline.policy_path),
                "--store",
                str(pipeline.store),
                "--format",
                "json",
                str(artifact),
            ]
        )
        == 2
    )
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "block" and out["reasons"][0]["code"] == "verify/policy-invalid"
    assert str(pipeline.policy_path) in out["reasons"][0]["message"]


def test_internal_error_exits_3(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatekeeper.verify import evaluate

    artifact = pipeline.run_all()
    monkeypatch.setattr(evaluate, "_examine", lambda *a: 1 / 0)
    assert (
        main(
            [
                "verify",
                "--policy",
                str(pipeline.policy_path),
                "--store",
                str(pipeline.store),
                "--format",
                "json",
                str(artifact),
            ]
        )
        == 3
    )
    assert json.loads(capsys.readouterr().out)["reasons"][0]["code"] == "verify/internal-error"


def test_json_output_is_deterministic(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    outputs = []
    for _ in range(2):
        main(
            [
                "verify",
                "--policy",
                str(pipeline.policy_path),
                "--store",
                str(pipeline.store),
                "--format",
                "json",
                str(artifact),
            ]
        )
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


def test_several_reports_in_one_run(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    out_json = tmp_path / "r.json"
    assert (
        main(
            [
                "verify",
                "--policy",
                str(pipeline.policy_path),
                "--store",
                str(pipeline.store),
                "--format",
                "json",
                "--output",
                str(out_json),
                "--format",
                "text",
                str(artifact),
            ]
        )
        == 0
    )
    assert json.loads(out_json.read_text())["verdict"] == "pass"
    assert capsys.readouterr().out.startswith("PASS")


def test_policy_validate_and_sign(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(pipeline.policy_path)]) == 0
    out = capsys.readouterr().out
    assert "stage release: 2 of ci, release-manager, follows build" in out
    assert main(["policy", "sign", "--key", pipeline.key("rm"), str(pipeline.policy_path)]) == 0
    assert Path(f"{pipeline.policy_path}.sig").exists()


def test_version_is_fast_enough_to_not_import_the_world() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gatekeeper", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("gatekeeper ")
    imported = result.stderr
    for heavy in ("pydantic", "git", "cryptography", "securesystemslib", "requests", "yaml"):
        assert f" {heavy}\n" not in imported and f"| {heavy}\n" not in imported, heavy


def test_collect_repo_may_follow_options(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "env", "--format", "json", str(pipeline.repo_path)]) == 0
    assert json.loads(capsys.readouterr().out)["platform"] == "local"
    assert main(["collect", "env", str(pipeline.repo_path), "extra"]) == 2
    assert main(["check", "--no-such-flag"]) == 2


def test_git_config_cannot_name_a_signature_program() -> None:
    from gatekeeper._git import safe_git_env

    env = safe_git_env()
    keys = {env[k]: env[k.replace("KEY", "VALUE")] for k in env if k.startswith("GIT_CONFIG_KEY_")}
    for key in (
        "gpg.program",
        "gpg.openpgp.program",
        "gpg.x509.program",
        "gpg.ssh.program",
        "core.fsmonitor",
        "core.sshCommand",
        "core.hooksPath",
    ):
        assert key in keys


# --- reports, the repository root, the configuration, suppressions, output options --------


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


Gk = Callable[..., Ran]


@pytest.fixture
def gk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Gk:
    """``gatekeeper ARGS`` run in this process from ``cwd`` (standard output is not a
    terminal), with a clean gatekeeper environment plus ``env``."""

    def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Ran:
        with monkeypatch.context() as m:
            for name in list(os.environ):
                if name.startswith(("GITHUB_", "GATEKEEPER_")) or name in (
                    "NO_COLOR",
                    "FORCE_COLOR",
                ):
                    m.delenv(name)
            for name, value in (env or {}).items():
                m.setenv(name, value)
            m.chdir(cwd)
            capsys.readouterr()
            code = main(args)
            out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


INJECTION = (
    "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
    "      - run: echo ${{ github.event.issue.title }}{comment}\n"
)
SUPPRESS = "  # gatekeeper: ignore[pipeline/template-injection] our own issues only until={until}"


def _injection_repo(git_repo: git.Repo, comment: str = "") -> Path:
    """A repository whose workflow has one high finding (line 7), and a low one for its
    `issues` trigger (line 1)."""
    commit_files(
        git_repo,
        {
            ".github/workflows/ci.yml": INJECTION.replace("{comment}", comment),
            "src/app.py": "x = 1\n",
        },
        "workflow",
    )
    return Path(str(git_repo.working_tree_dir))


def test_text_is_the_default_report_in_a_pipe(git_repo: git.Repo) -> None:  # a real pipe
    repo = _injection_repo(git_repo)
    result = _run(["check", "--only", "pipeline"], repo)  # stdout is a pipe here
    assert result.returncode == 1
    assert not result.stdout.lstrip().startswith("{"), result.stdout
    assert "x high     pipeline/template-injection" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("BLOCK: 1 finding(s) at or above high")
    assert "\033[" not in result.stdout and "\r" not in result.stderr  # no colour, no progress
    as_json = _run(["check", "--only", "pipeline", "--format", "json"], repo)
    report = json.loads(as_json.stdout)
    assert report["verdict"] == "block" and report["findings"][0]["rule"]


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("gk.sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("gk.sarif.json", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("gk.json", lambda text: json.loads(text)["verdict"] == "block"),
        ("gk.xml", lambda text: text.startswith("<?xml") and "<testsuites" in text),
        ("gk.md", lambda text: text.startswith("## ❌ gatekeeper check: BLOCK")),
        ("gk.txt", lambda text: text.splitlines()[-1].startswith("BLOCK:")),
    ],
)
def test_output_infers_the_format_from_the_file_name(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, check: Any
) -> None:
    repo = _injection_repo(git_repo)
    out = tmp_path / name
    assert main(["check", str(repo), "--only", "pipeline", "--output", str(out)]) == 1
    assert check(out.read_text()), out.read_text()[:200]
    assert capsys.readouterr().out == ""  # the one report went to the file


def test_explicit_format_wins_and_a_contradiction_is_a_usage_error(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _injection_repo(git_repo)
    args = ["check", str(repo), "--only", "pipeline"]
    # An ending that names no format: --format decides.
    assert main([*args, "--format", "sarif", "--output", str(tmp_path / "report.out")]) == 1
    assert json.loads((tmp_path / "report.out").read_text())["version"] == "2.1.0"
    # The README's pair: SARIF to a file, text to the log.
    sarif_file = tmp_path / "gk.sarif"
    assert main([*args, "--format", "sarif", "--output", str(sarif_file), "--format", "text"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("BLOCK:")
    for bad, needle in (
        (["--format", "json", "--output", str(tmp_path / "x.sarif")], "the file name says sarif"),
        (["--output", str(tmp_path / "report.out")], "the name says no report format"),
        (["--format", "json", "--format", "text"], "only one report can go to standard output"),
    ):
        assert main([*args, *bad]) == 2, bad
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "x.sarif").exists()  # refused before any work


def test_a_path_inside_a_repository_audits_the_repository(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    from_subdir = gk(["check", "--only", "pipeline"], repo / "src")
    assert from_subdir.returncode == 1, from_subdir.stdout
    assert f"in {repo.resolve()} " in from_subdir.stdout.splitlines()[-1]
    as_argument = gk(["check", "src", "--only", "pipeline", "--format", "json"], repo)
    assert json.loads(as_argument.stdout)["root"] == str(repo.resolve())
    only_there = gk(["check", "--path-only", "--only", "pipeline"], repo / "src")
    assert only_there.returncode == 0, only_there.stdout
    assert only_there.stdout.startswith(f"PASS: no findings in {(repo / 'src').resolve()} ")


def test_outside_a_repository_the_directory_is_audited_as_given(gk: Gk, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = gk(["check", "--only", "pipeline", "--format", "json"], plain)
    assert result.returncode == 0 and json.loads(result.stdout)["root"] == str(plain.resolve())


def test_the_repository_configuration_is_found_at_the_top(
    gk: Gk, git_repo: git.Repo, tmp_path: Path
) -> None:
    repo = _injection_repo(git_repo)
    # The configuration asks for the secrets audits only: the workflow finding is not looked for.
    (repo / ".gatekeeper.yaml").write_text("version: 1\nonly: [secrets]\n")
    from_subdir = gk(["check", "--format", "json"], repo / "src")
    report = json.loads(from_subdir.stdout)
    assert from_subdir.returncode == 0 and report["kinds"] == ["secrets"]
    assert f"configuration read from {repo.resolve() / '.gatekeeper.yaml'}" in report["notes"]
    # The command line wins; --no-config ignores the file; --config names another one.
    assert gk(["check", "--only", "pipeline"], repo).returncode == 1
    assert gk(["check", "--no-config"], repo).returncode == 1
    other = tmp_path / "elsewhere.yaml"
    other.write_text("version: 1\nonly: [pipeline]\nblock_at: critical\n")
    refused = gk(["check", "--config", str(other)], repo)
    assert refused.returncode == 2 and "can only make the gate stricter" in refused.stderr


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("version: 1\nonyl: [secrets]\n", "onyl: unknown field"),
        ("version: 2\n", "version"),
        ("version: 1\npolicy: ../org/policy.yaml\n", "without '..'"),
        ("version: 1\npolicy: /etc/gatekeeper/policy.yaml\n", "relative to its top"),
        ("version: 1\nonly: [everything]\n", "only.0"),
        ("version: 1\nosv: {api: true, api_url: 'http://osv.example'}\n", "use https"),
        ("version: 1\nblock_at: never\n", "block_at"),
        ("version: 1\nversion: 1\n", "duplicate key"),
        ("- version: 1\n", "must be a YAML mapping"),
        ("version: 1\npolicy: policies/missing.yaml\n", "no such file"),
    ],
)
def test_a_bad_configuration_is_a_usage_error(
    gk: Gk, git_repo: git.Repo, config: str, needle: str
) -> None:
    repo = _injection_repo(git_repo)
    (repo / ".gatekeeper.yaml").write_text(config)
    result = gk(["check"], repo)
    assert result.returncode == 2, result.stdout
    assert ".gatekeeper.yaml" in result.stderr and needle in result.stderr, result.stderr


def test_the_configuration_names_no_file_through_a_link(
    gk: Gk, git_repo: git.Repo, tmp_path: Path
) -> None:
    # SECURITY: a cloned repository must not make check read (and quote in an error) a file
    # outside itself, such as the job's environment.
    repo = _injection_repo(git_repo)
    secret = tmp_path / "outside.yaml"
    secret.write_text("TOKEN=abc\n")
    (repo / "policies").mkdir()
    (repo / "policies" / "ci.yaml").symlink_to(secret)
    (repo / ".gatekeeper.yaml").write_text("version: 1\npolicy: policies/ci.yaml\n")
    result = gk(["check"], repo)
    assert result.returncode == 2 and "is a symbolic link" in result.stderr
    assert "TOKEN" not in result.stdout + result.stderr
    (repo / ".gatekeeper.yaml").unlink()
    (repo / ".gatekeeper.yaml").symlink_to(secret)
    linked = gk(["check"], repo)
    assert linked.returncode == 2 and "is a symbolic link" in linked.stderr


def test_the_configuration_names_the_policy_and_baseline(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    (repo / "policies").mkdir()
    (repo / "policies" / "ci.yaml").write_text(
        "version: 1\nname: ci\nexpires: 2099-01-01T00:00:00Z\naudits:\n  block_at: critical\n"
    )
    assert gk(["check", "--write-baseline", "base.json", "--no-config"], repo).returncode == 0
    (repo / ".gatekeeper.yaml").write_text("version: 1\npolicy: policies/ci.yaml\n")
    relaxed = gk(["check", "--format", "json"], repo / "src")
    assert relaxed.returncode == 0 and json.loads(relaxed.stdout)["policy"] == "ci"
    (repo / ".gatekeeper.yaml").write_text("version: 1\nbaseline: base.json\n")
    accepted = json.loads(gk(["check", "--format", "json"], repo).stdout)
    assert accepted["verdict"] == "pass"
    assert {f["status"] for f in accepted["findings"]} == {"baseline"}


def test_block_at_is_stricter_only(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make\n"
    )  # one medium finding: no permissions
    assert gk(["check", "--only", "pipeline"], repo).returncode == 0
    stricter = gk(["check", "--only", "pipeline", "--block-at", "medium"], repo)
    assert stricter.returncode == 1 and "at or above medium" in stricter.stdout
    looser = gk(["check", "--only", "pipeline", "--block-at", "critical"], repo)
    assert looser.returncode == 2 and "set audits.block_at in a policy" in looser.stderr
    (repo / ".gatekeeper.yaml").write_text("version: 1\nblock_at: medium\n")
    assert gk(["check", "--only", "pipeline"], repo).returncode == 1
    assert gk(["check", "--only", "pipeline", "--block-at", "high"], repo).returncode == 0
    assert gk(["check", "--block-at", "severe"], repo).returncode == 2


def test_inline_suppressions_are_counted_listed_and_expire(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo, SUPPRESS.replace("{until}", "2099-12-31"))
    result = gk(["check", "--only", "pipeline"], repo)
    assert result.returncode == 0, result.stdout
    assert "inline suppressions: 1 active" in result.stdout
    assert (
        ".github/workflows/ci.yml:7  active  ignore[pipeline/template-injection] until "
        "2099-12-31: our own issues only"
    ) in result.stdout
    assert "not blocking: 1 suppressed" in result.stdout
    report = json.loads(gk(["check", "--only", "pipeline", "--format", "json"], repo).stdout)
    (item,) = report["suppressions"]
    (finding,) = [f for f in report["findings"] if f["rule"] == "pipeline/template-injection"]
    assert item["status"] == "active" and item["findings"] == [finding["fingerprint"]]
    assert finding["status"] == "suppressed"
    sarif = json.loads(gk(["check", "--only", "pipeline", "--format", "sarif"], repo).stdout)
    (result,) = [
        r for r in sarif["runs"][0]["results"] if r["ruleId"] == "pipeline/template-injection"
    ]
    (suppression,) = result["suppressions"]
    assert (
        suppression["kind"] == "inSource" and "our own issues only" in suppression["justification"]
    )

    workflow = repo / ".github" / "workflows" / "ci.yml"
    workflow.write_text(INJECTION.replace("{comment}", SUPPRESS.replace("{until}", "2020-01-31")))
    expired = gk(["check", "--only", "pipeline"], repo)
    assert expired.returncode == 1
    assert "expired  ignore[pipeline/template-injection] until 2020-01-31" in expired.stdout
    assert "expired 2020-01-31: the finding is not excused" in expired.stdout
    workflow.write_text(INJECTION.replace("{comment}", SUPPRESS.replace(" until={until}", "")))
    invalid = gk(["check", "--only", "pipeline"], repo)
    assert invalid.returncode == 1 and "no until=YYYY-MM-DD" in invalid.stdout
    workflow.write_text(INJECTION.replace("{comment}", SUPPRESS.replace("{until}", "2099-12-31")))
    (repo / ".gatekeeper.yaml").write_text("version: 1\nsuppressions: {inline: false}\n")
    disabled = gk(["check", "--only", "pipeline"], repo)
    assert disabled.returncode == 1 and "  disabled  " in disabled.stdout


def test_staged_check_reads_suppressions_from_the_index(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    # A new workflow (HEAD's findings are existing for --staged), staged without the comment.
    workflow = repo / ".github" / "workflows" / "triage.yml"
    workflow.write_text(INJECTION.replace("{comment}", ""))
    git_repo.index.add([".github/workflows/triage.yml"])
    workflow.write_text(INJECTION.replace("{comment}", SUPPRESS.replace("{until}", "2099-12-31")))
    # Suppressed in the work tree only: the commit being made carries no suppression.
    assert gk(["check", "--staged", "--only", "pipeline"], repo).returncode == 1
    git_repo.index.add([".github/workflows/triage.yml"])
    staged = gk(["check", "--staged", "--only", "pipeline"], repo)
    assert staged.returncode == 0, staged.stdout
    assert ".github/workflows/triage.yml:7  active" in staged.stdout


def test_quiet_keeps_what_blocks_and_the_verdict(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    (repo / ".github" / "workflows" / "extra.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make\n"
    )
    loud = gk(["check", "--only", "pipeline"], repo).stdout
    quiet = gk(["check", "--only", "pipeline", "--quiet"], repo)
    assert "extra.yml" in loud and "extra.yml" not in quiet.stdout
    assert quiet.stdout.splitlines() == [
        ".github/workflows/ci.yml",
        *[line for line in loud.splitlines() if "template-injection" in line],
        loud.splitlines()[-1],
    ]
    assert quiet.returncode == 1 and quiet.stderr == ""


@pytest.mark.parametrize(
    ("flags", "env", "coloured"),
    [
        ([], {}, False),  # a pipe
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),  # the flag wins
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ([], {"NO_COLOR": ""}, False),
    ],
)
def test_colour_choice(
    gk: Gk, git_repo: git.Repo, flags: list[str], env: dict[str, str], coloured: bool
) -> None:
    repo = _injection_repo(git_repo)
    result = gk(["check", "--only", "pipeline", *flags], repo, env={"TERM": "xterm", **env})
    assert ("\033[31m" in result.stdout) is coloured, result.stdout
    out = repo / "report.txt"
    gk(["check", "--only", "pipeline", "--color", "always", "--output", str(out)], repo)
    assert "\033[" not in out.read_text()  # files never carry escapes


def test_every_finding_links_to_its_rule(gk: Gk, git_repo: git.Repo) -> None:
    repo = _injection_repo(git_repo)
    plain = gk(["check", "--only", "pipeline"], repo).stdout
    assert "           see docs/rules.md#pipeline-template-injection" in plain
    url = "https://docs.example.org/gatekeeper/rules.md"
    linked = gk(["check", "--only", "pipeline"], repo, env={"GATEKEEPER_RULES_URL": url})
    assert f"see {url}#pipeline-template-injection" in linked.stdout
    md = gk(
        ["check", "--only", "pipeline", "--format", "markdown"],
        repo,
        env={"GATEKEEPER_RULES_URL": url},
    ).stdout
    assert f"[`pipeline/template-injection`]({url}#pipeline-template-injection)" in md
    sarif = json.loads(
        gk(
            ["check", "--only", "pipeline", "--format", "sarif"],
            repo,
            env={"GATEKEEPER_RULES_URL": url},
        ).stdout
    )
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["pipeline/template-injection"]["helpUri"] == f"{url}#pipeline-template-injection"
    assert all(r["helpUri"] == f"{url}#{r['id'].replace('/', '-')}" for r in rules.values())


def test_without_a_catalogue_address_the_text_report_names_the_rules_command(
    gk: Gk, git_repo: git.Repo
) -> None:
    repo = _injection_repo(git_repo)
    plain = gk(["check", "--only", "pipeline"], repo).stdout
    assert "note: `gatekeeper rules RULE` prints a rule's section of docs/rules.md" in plain
    url = "https://docs.example.org/gatekeeper/rules.md"
    linked = gk(["check", "--only", "pipeline"], repo, env={"GATEKEEPER_RULES_URL": url})
    assert "gatekeeper rules RULE" not in linked.stdout
    assert "gatekeeper rules" not in gk(["check", "--only", "pipeline", "--quiet"], repo).stdout
    md = gk(["check", "--only", "pipeline", "--format", "markdown"], repo).stdout
    assert "(`gatekeeper rules RULE` prints its section)" in md


def test_rules_prints_each_rules_section_of_the_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gatekeeper.report.base import rule_record

    assert main(["rules", "pipeline/template-injection", "verify/commit-mismatch"]) == 0
    out = capsys.readouterr().out
    record = rule_record("pipeline/template-injection")
    assert record is not None
    assert out.startswith("pipeline/template-injection\n\nFires when ")
    assert record.help in out and "Default: high." in out
    assert "docs/rules.md#pipeline-template-injection" in out
    assert "verify/commit-mismatch\n\nBlocks when " in out
    catalogue = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    assert f'<a id="{record.anchor}"></a>' in catalogue  # the link's anchor exists

    assert main(["rules"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert any(line.startswith("secrets/url-credentials ") and " high " in line for line in listing)
    assert len(listing) == len({line.split()[0] for line in listing}) > 50

    assert main(["rules", "pipeline/no-such-rule"]) == 2
    assert "no rule pipeline/no-such-rule" in capsys.readouterr().err


def _all_parsers(monkeypatch: pytest.MonkeyPatch) -> dict[str, argparse.ArgumentParser]:
    """Every parser of the command line, extensions included, by its command words."""
    from gatekeeper import cli

    monkeypatch.setattr(cli._EXTENSIONS, "wanted", ["--help"])  # loads every extension
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for word, child in action.choices.items():
                    walk(f"{name} {word}".strip(), child)

    walk("gatekeeper", cli.build_parser())
    return found


def test_every_option_has_help_and_lists_its_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    parsers = _all_parsers(monkeypatch)
    assert {"gatekeeper check", "gatekeeper pr-check", "gatekeeper vsa verify"} <= set(parsers)
    missing = []
    for name, parser in parsers.items():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{label}: no help")
            elif action.choices and action.metavar is not None:
                text = action.help
                absent = [str(c) for c in action.choices if str(c) not in text]
                if absent:
                    missing.append(f"{label}: help does not list {absent}")
    assert not missing, "\n".join(missing)


def test_help_shows_exit_codes_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, parser in _all_parsers(monkeypatch).items():
        text = parser.format_help()
        for needle in ("exit codes", "  2  usage or configuration error", "GATEKEEPER_DEBUG=1"):
            assert needle in text, (name, needle)
    assert main(["check", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--only KIND" in out and "container, deps, env, pipeline, source, secrets" in out
    assert "3 internal error" in out


def test_the_kinds_the_parser_offers_are_the_collectors() -> None:
    from gatekeeper.collect import kinds
    from gatekeeper.commands.args import KINDS

    assert sorted(KINDS) == sorted(kinds())


def test_gatekeeper_debug_prints_the_traceback_of_an_internal_error(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatekeeper.app import config

    monkeypatch.setattr(config, "repository_root", lambda *a, **k: 1 / 0)
    monkeypatch.setattr("gatekeeper.commands.check.repository_root", config.repository_root)
    assert main(["check", str(pipeline.repo_path)]) == 3
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("GATEKEEPER_DEBUG", "1")
    assert main(["check", str(pipeline.repo_path)]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError" in err and "Traceback" in err


def test_an_output_that_is_a_pipe_is_written_to_not_replaced(tmp_path: Path) -> None:
    # `--output /dev/null`, `/dev/stdout` or a process substitution name a device or a pipe:
    # renaming a temporary file over it would replace the node itself (as root, /dev/null).
    import stat
    import threading

    (tmp_path / "app.py").write_text("x = 1\n")
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code = main(
        ["check", str(tmp_path), "--only", "secrets", "--format", "json", "--output", str(fifo)]
    )
    reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the pipe, not a regular file
    assert json.loads(received[0])["verdict"] == "pass"


def test_a_regular_output_file_is_still_replaced_whole(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    out = tmp_path / "report.json"
    out.write_text("old contents that are longer than any report would be " * 100)
    assert (
        main(
            ["check", str(tmp_path), "--only", "secrets", "--format", "json", "--output", str(out)]
        )
        == 0
    )
    assert json.loads(out.read_text())["verdict"] == "pass"
