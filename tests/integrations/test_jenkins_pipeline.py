"""The example Jenkinsfile and the shared library, run end to end under Groovy.

Debian's ``groovy`` runs ``tests/integrations/jenkins/harness.groovy``: the declarative
pipeline with stand-ins for the Jenkins steps, where ``sh`` really runs its script (so
gatekeeper and make run for real), ``junit`` parses the XML, and ``withCredentials`` binds
key files generated for the test. ``.ci/run`` installs groovy when it is missing.

The workspace holds the shipped ``policies/release.yaml`` as it is: when its ``expires``
passes, the main-branch run blocks (verify/policy-expired) on purpose, since the example
would then block every user who copies it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from gatekeeper.policy import parse_policy
from tests.conftest import commit_files

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "integrations" / "jenkins"
HARNESS = Path(__file__).parent / "jenkins" / "harness.groovy"
RELEASE_POLICY = ROOT / "policies" / "release.yaml"
MAKEFILE = "dist:\n\tmkdir -p dist\n\ttar -cf dist/app.tar.gz src\n"
DEPLOY = '#!/bin/sh\nset -eu\ncp "$1" deployed.tar.gz\n'


def _groovy_env(tmp_path: Path) -> dict[str, str]:
    """The environment the groovy launcher needs: a JAVA_HOME that holds a java."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "home")}
    home = os.environ.get("JAVA_HOME", "")
    if not (home and Path(home, "bin", "java").is_file()):
        java = shutil.which("java")
        if java is None:
            pytest.fail("no java for groovy: .ci/run installs Debian's groovy (and a JRE)")
        home = str(Path(java).resolve().parent.parent)
    env["JAVA_HOME"] = home
    return env


@dataclass
class Workspace:
    """A Jenkins workspace: a git checkout of a small project that ships the example."""

    root: Path
    secrets: Path
    repo: git.Repo
    env: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self, tmp_path: Path, jenkinsfile: str | None = None) -> dict[str, Any]:
        groovy = shutil.which("groovy")
        if groovy is None:
            pytest.fail("Debian's groovy is not installed: .ci/run installs it")
        path = self.root / "Jenkinsfile"
        if jenkinsfile is not None:
            path = tmp_path / "Jenkinsfile.test"
            path.write_text(jenkinsfile)
        report = tmp_path / "build.json"
        config = {
            "jenkinsfile": str(path),
            "library": str(LIBRARY),
            "workspace": str(self.root),
            "report": str(report),
            "env": self.env,
            "credentials": self.credentials,
        }
        config_path = tmp_path / "build-config.json"
        config_path.write_text(json.dumps(config))
        proc = subprocess.run(
            [groovy, str(HARNESS), str(config_path)],
            env=_groovy_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0 and report.is_file(), proc.stdout + proc.stderr
        build: dict[str, Any] = json.loads(report.read_text())
        build["log"] = proc.stderr
        return build


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "workspace"
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Dev One")
        cfg.set_value("user", "email", "dev@example.invalid")
        cfg.set_value("commit", "gpgsign", "false")
    secrets = tmp_path / "credentials"  # outside the workspace, as Jenkins keeps them
    policy = parse_policy(RELEASE_POLICY.read_bytes(), "release.yaml")
    files: dict[str, str | bytes] = {
        "src/app.py": "print('hello')\n",
        "Makefile": MAKEFILE,
        "deploy.sh": DEPLOY,
        "Jenkinsfile": (LIBRARY / "Jenkinsfile").read_text(),
        "policies/release.yaml": RELEASE_POLICY.read_text(),
        ".gitignore": "/dist/\n/reports/\n/.gatekeeper/\n/deployed.tar.gz\n",
    }
    for name, ref in policy.keys.items():
        write_keypair(secrets / name, "ed25519")
        files[f"policies/{ref}"] = (secrets / f"{name}.pub").read_bytes()
    commit_files(repo, files, "the project")
    deploy = root / "deploy.sh"
    deploy.chmod(deploy.stat().st_mode | stat.S_IXUSR)
    repo.index.add(["deploy.sh"])
    repo.index.commit("deploy.sh is executable")
    bindir = str(Path(sys.executable).parent)
    env = {
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "WORKSPACE": str(root),
        "JENKINS_URL": "https://jenkins.example/",
        "JOB_NAME": "acme/app/main",
        "BUILD_NUMBER": "42",
        "BUILD_URL": "https://jenkins.example/job/acme/job/app/job/main/42/",
        "BRANCH_NAME": "main",
        "GIT_BRANCH": "main",
        "GIT_COMMIT": repo.head.commit.hexsha,
        "NODE_NAME": "agent-1",
        "GATEKEEPER_NO_PROGRESS": "1",
        # Nothing in these builds may reach the internet: any HTTP client that tries goes
        # to a closed port on this machine instead.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
    }
    (tmp_path / "home").mkdir()
    credentials = {
        "gatekeeper-ci-key": {"kind": "file", "value": str(secrets / "ci")},
        "gatekeeper-release-key": {"kind": "file", "value": str(secrets / "release-manager")},
    }
    yield Workspace(root, secrets, repo, env, credentials)
    # GitPython's cat-file processes and pipes, closed before the warnings-as-errors sweep
    repo.close()


def _gatekeeper_scripts(build: dict[str, Any]) -> list[str]:
    return [
        s["script"] for s in build["steps"] if s["step"] == "sh" and "gatekeeper" in s["script"]
    ]


def test_example_pipeline_attests_every_stage_and_passes_verify(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = workspace.run(tmp_path)
    assert build["errors"] == [], build["log"][-4000:]
    assert build["result"] == "SUCCESS", build["log"][-4000:]
    assert build["stages"] == {
        "Gate: check": "SUCCESS",
        "Source (attested)": "SUCCESS",
        "Build (attested)": "SUCCESS",
        "Scan (attested)": "SUCCESS",
        "Release (attested)": "SUCCESS",
        "Gate: verify": "SUCCESS",
        "Deploy": "SUCCESS",
    }
    # Every stage the shipped policy requires was attested into the store, in this run.
    policy = parse_policy(RELEASE_POLICY.read_bytes(), "release.yaml")
    stored = {p.name for p in (workspace.root / ".gatekeeper" / "index" / "stage").iterdir()}
    assert stored == {s.name for s in policy.stages}
    # The library's reports were written and recorded with the junit step, without failures.
    junit = {j["testResults"]: j for j in build["junit"]}
    assert set(junit) == {"reports/gatekeeper-check.xml", "reports/gatekeeper-verify.xml"}
    assert all(j["found"] and j["tests"] > 0 and j["failures"] == 0 for j in junit.values())
    assert (workspace.root / "reports" / "gatekeeper-check.sarif").is_file()
    scripts = _gatekeeper_scripts(build)
    assert any(
        s.startswith("'gatekeeper' 'verify' '--policy' 'policies/release.yaml'") for s in scripts
    )
    assert build["inputs"] == [
        {"message": "Release dist/app.tar.gz?", "submitter": "release-managers"}
    ]
    assert (workspace.root / "deployed.tar.gz").is_file()
    assert build["archived"] == ["reports/*, .gatekeeper/**"]
    # The same verdict from outside the pipeline: every stage, signed, chained.
    monkeypatch.chdir(workspace.root)
    monkeypatch.setenv("GIT_COMMIT", workspace.env["GIT_COMMIT"])
    assert main(["verify", "--policy", "policies/release.yaml", "--no-log", "dist/app.tar.gz"]) == 0


def test_a_blocked_check_fails_the_build_and_skips_the_rest(
    workspace: Workspace, tmp_path: Path
) -> None:
    token = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"
    commit_files(workspace.repo, {"deploy/app.env": f"TOKEN={token}\n"}, "a token")
    workspace.env["GIT_COMMIT"] = workspace.repo.head.commit.hexsha
    build = workspace.run(tmp_path)
    assert build["result"] == "FAILURE"
    assert build["stages"]["Gate: check"] == "FAILURE"
    assert {v for k, v in build["stages"].items() if k != "Gate: check"} == {"SKIPPED"}
    assert "blocked" in build["errors"][0]["message"]
    (junit,) = build["junit"]
    assert junit["failures"] >= 1  # recorded even though the stage failed
    assert build["archived"]  # post { always } still ran
    assert token not in build["log"]
    assert not (workspace.root / ".gatekeeper" / "index").exists()


def test_pull_request_build_runs_pr_check_against_the_target(
    workspace: Workspace, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    workspace.repo.create_remote("origin", str(origin)).push("main:main")
    workspace.repo.git.checkout("-b", "feature")
    commit_files(workspace.repo, {"src/more.py": "X = 2\n"}, "a change")
    workspace.env.update(
        BRANCH_NAME="PR-7",
        CHANGE_ID="7",
        CHANGE_TARGET="main",
        GIT_COMMIT=workspace.repo.head.commit.hexsha,
        JOB_NAME="acme/app/PR-7",
    )
    build = workspace.run(tmp_path)
    assert build["errors"] == [], build["log"][-4000:]
    assert build["result"] == "SUCCESS"
    assert build["stages"]["Gate: check"] == "SUCCESS"
    assert [k for k, v in build["stages"].items() if v == "SKIPPED"] == [
        "Release (attested)",
        "Gate: verify",
        "Deploy",
    ]
    fetch = next(
        s for s in build["steps"] if s.get("label") == "gatekeeper: fetch the target branch"
    )
    assert fetch["status"] == 0
    assert any(s.startswith("'gatekeeper' 'pr-check'") for s in _gatekeeper_scripts(build))
    assert "not reported to GitHub" in build["log"]


def _step_pipeline(call: str) -> str:
    """A pipeline with one stage calling the library step, and one stage after it."""
    return (
        "pipeline {\n  agent any\n  stages {\n    stage('Gate') {\n      steps {\n"
        + f"        {call}\n"
        + "      }\n    }\n    stage('After') {\n      steps {\n        echo 'after'\n"
        + "      }\n    }\n  }\n}\n"
    )


@pytest.mark.parametrize("off", ["false", "'false'"])
def test_junit_false_writes_and_records_no_junit_report(
    workspace: Workspace, tmp_path: Path, off: str
) -> None:
    build = workspace.run(
        tmp_path,
        _step_pipeline(
            f"gatekeeper(command: 'check', junit: {off}, sarif: true, json: 'out/gk.json')"
        ),
    )
    assert build["errors"] == [], build["log"][-4000:]
    assert build["result"] == "SUCCESS"
    assert build["junit"] == []
    assert not (workspace.root / "false").exists()
    (script,) = _gatekeeper_scripts(build)
    assert "'junit'" not in script
    assert "'--format' 'sarif' '--output' 'reports/gatekeeper-check.sarif'" in script
    assert (workspace.root / "reports" / "gatekeeper-check.sarif").is_file()
    assert json.loads((workspace.root / "out" / "gk.json").read_text())["verdict"] == "pass"


def test_junit_true_and_a_path(workspace: Workspace, tmp_path: Path) -> None:
    build = workspace.run(
        tmp_path,
        _step_pipeline(
            "gatekeeper(command: 'check', junit: true, sarif: false)\n"
            "        gatekeeper(command: 'check', junit: 'out/check.xml')"
        ),
    )
    assert build["errors"] == [], build["log"][-4000:]
    assert [j["testResults"] for j in build["junit"]] == [
        "reports/gatekeeper-check.xml",
        "out/check.xml",
    ]
    assert all("'sarif'" not in s for s in _gatekeeper_scripts(build))


def test_a_report_option_that_is_neither_path_nor_boolean_fails(
    workspace: Workspace, tmp_path: Path
) -> None:
    build = workspace.run(tmp_path, _step_pipeline("gatekeeper(command: 'check', junit: 3)"))
    assert build["result"] == "FAILURE"
    assert "junit must be a path or a boolean" in build["errors"][0]["message"]
    assert _gatekeeper_scripts(build) == []


def test_fail_on_never_marks_the_build_unstable_and_goes_on(
    workspace: Workspace, tmp_path: Path
) -> None:
    token = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"
    commit_files(workspace.repo, {"deploy/app.env": f"TOKEN={token}\n"}, "a token")
    build = workspace.run(tmp_path, _step_pipeline("gatekeeper(command: 'check', failOn: 'never')"))
    assert build["result"] == "UNSTABLE"
    assert build["stages"] == {"Gate": "UNSTABLE", "After": "SUCCESS"}


def test_a_hostile_parameter_never_becomes_shell_syntax(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Values that reach the step from a build parameter or a branch name: a command
    # substitution in a report path, a quote-breaking word in args. The real sh runs them.
    build = workspace.run(
        tmp_path,
        _step_pipeline(
            "gatekeeper(command: 'check', junit: false, sarif: 'out/$(touch pwned-1).sarif')\n"
            "        gatekeeper(command: 'check', junit: false,\n"
            "                   args: ['--only', \"secrets'; touch pwned-2; echo '\"])"
        ),
    )
    assert not (workspace.root / "pwned-1").exists()
    assert not (workspace.root / "pwned-2").exists()
    # The first path is a file name like any other; the second word is refused by gatekeeper
    # as an unknown audit kind (exit 2), which fails the stage closed.
    assert (workspace.root / "out" / "$(touch pwned-1).sarif").is_file()
    assert build["result"] == "FAILURE"
    assert build["stages"]["Gate"] == "FAILURE"
    assert "exit code 2" in build["errors"][0]["message"]
