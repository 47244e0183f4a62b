"""The command line as a user runs it: the issue's flow, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.harness import Pipeline


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


def test_attest_propagates_the_command_exit_code(pipeline: Pipeline) -> None:
    result = _run(
        ["attest", "--stage", "test", "--key", pipeline.key("ci"), "--", "sh", "-c", "exit 7"],
        pipeline.repo_path,
    )
    assert result.returncode == 7
    assert "command exited 7" in result.stderr
    assert len(list((pipeline.repo_path / ".gatekeeper" / "envelopes").iterdir())) == 1


def test_missing_command_is_attested_as_127(pipeline: Pipeline) -> None:
    result = _run(
        ["attest", "--stage", "test", "--key", pipeline.key("ci"), "--", "no-such-cmd-xyz"],
        pipeline.repo_path,
    )
    assert result.returncode == 127


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
