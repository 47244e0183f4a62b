"""Jenkins: the example Jenkinsfile passes the gate, the step is documented, the JUnit XML fits."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.models.finding import Severity
from tests.conftest import commit_files

ROOT = Path(__file__).resolve().parents[2]
JENKINS = ROOT / "integrations" / "jenkins"
TOKEN_VALUE = "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"


def _check_jenkinsfile(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, str]]]:
    (tmp_path / "Jenkinsfile").write_text(text)
    code = main(["check", str(tmp_path), "--only", "pipeline", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_example_jenkinsfile_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check_jenkinsfile(tmp_path, (JENKINS / "Jenkinsfile").read_text(), capsys)
    assert code == 0
    assert [f for f in findings if Severity(f["severity"]).at_least(Severity.MEDIUM)] == []
    assert main(["collect", "pipeline", str(tmp_path)]) == 0
    evidence = json.loads(capsys.readouterr().out)
    (jf,) = evidence["jenkinsfiles"]
    assert [f["parse_error"] for f in evidence["files"]] == [None]
    assert jf["path"] == "Jenkinsfile"


def test_double_quoted_credential_would_be_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (JENKINS / "Jenkinsfile").read_text().replace("sh '''", 'sh """', 1)
    text = text.replace("            '''", '            """', 1)
    code, findings = _check_jenkinsfile(tmp_path, text, capsys)
    assert code == 1
    assert "pipeline/jenkins-secret-interpolation" in {f["rule"] for f in findings}


def test_example_stages_and_library_pin() -> None:
    text = (JENKINS / "Jenkinsfile").read_text()
    stages = re.findall(r"stage\('([^']+)'\)", text)
    assert stages == [
        "Gate: check",
        "Source (attested)",
        "Build (attested)",
        "Scan (attested)",
        "Release (attested)",
        "Gate: verify",
        "Deploy",
    ]
    # Every stage the shipped release policy requires is attested, in the policy's order.
    from gatekeeper.policy import parse_policy

    policy = parse_policy((ROOT / "policies" / "release.yaml").read_bytes(), "release.yaml")
    attested = re.findall(r"gatekeeper attest --stage (\w+)", text)
    assert attested == [s.name for s in policy.stages]
    assert "command: 'verify'" in text and "policy: 'policies/release.yaml'" in text
    assert re.search(r"@Library\('gatekeeper@[0-9a-f]{40}'\) _", text)


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_example_pins_a_commit_that_exists_and_holds_this_library() -> None:
    # The pin must name a real commit of this repository whose vars/ is the library as it
    # is now: a library change without a new pin fails here.
    match = re.search(
        r"@Library\('gatekeeper@([0-9a-f]{40})'\)", (JENKINS / "Jenkinsfile").read_text()
    )
    assert match
    sha = match.group(1)
    if _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout of gatekeeper (e.g. an sdist)")
    if _git("cat-file", "-e", f"{sha}^{{commit}}").returncode != 0:
        shallow = _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        if shallow:
            pytest.skip(f"shallow clone: {sha} is not fetched")
        pytest.fail(f"the example Jenkinsfile pins {sha}, which is not a commit of this repository")
    diff = _git("diff", "--stat", sha, "--", "integrations/jenkins/vars")
    assert diff.returncode == 0 and diff.stdout == "", (
        f"integrations/jenkins/vars changed since the pinned {sha[:12]}: commit the library, "
        "then pin that commit in integrations/jenkins/Jenkinsfile and docs/jenkins.md\n"
        + diff.stdout
    )


def test_shared_library_step_documents_and_uses_every_parameter() -> None:
    text = (JENKINS / "vars" / "gatekeeper.groovy").read_text()
    header = text.split("*/", 1)[0]
    documented = re.findall(r"^ \*   (\w+)\s{2,}", header, re.M)
    assert documented == [
        "command",
        "policy",
        "base",
        "store",
        "junit",
        "sarif",
        "json",
        "format",
        "args",
        "failOn",
        "executable",
    ]
    body = text.split("*/", 1)[1]
    for name in documented:
        pattern = rf"params(\.{name}\b|\.get\('{name}'|\.containsKey\('{name}')|reportPath\(params, '{name}'"
        assert re.search(pattern, body), name
    assert "returnStatus: true" in body
    assert "junit(testResults: junitFile" in body
    assert "shellQuote" in body and "'\\\\''" in body
    # Groovy never interpolates a parameter into the shell line: the script is built by
    # quoting words, and the only sh literal with a variable is single-quoted.
    for literal in re.findall(r'script: "([^"]*)"', body):
        assert "${" not in literal


def test_junit_report_for_the_junit_step(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_files(git_repo, {"deploy/app.env": f"T={TOKEN_VALUE}\n", "ok.txt": "x\n"}, "token")
    root = Path(git_repo.working_tree_dir or ".")
    xml_path = tmp_path / "reports" / "gatekeeper-check.xml"
    code = main(
        [
            "check",
            str(root),
            "--only",
            "secrets",
            "--format",
            "junit",
            "--output",
            str(xml_path),
            "--format",
            "text",
        ]
    )
    assert code == 1
    assert "secrets/github-token" in capsys.readouterr().out
    tree = ET.parse(xml_path)  # noqa: S314 - our own output
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    secrets = suites.find("testsuite[@name='gatekeeper.secrets']")
    assert secrets is not None
    cases = {c.get("name"): c for c in secrets.iter("testcase")}
    failing = cases["secrets/github-token deploy/app.env:1"]
    failure = failing.find("failure")
    assert failure is not None and failure.get("message")
    assert TOKEN_VALUE not in xml_path.read_text()
    # Every rule of the secrets family that was checked is a test case; the rest pass.
    passing = [
        c
        for name, c in cases.items()
        if name and name.startswith("secrets/") and c.find("failure") is None
    ]
    assert len(passing) >= 10
    for case in suites.iter("testcase"):
        assert float(case.get("time", "x")) == 0.0
        assert case.get("classname", "").startswith("gatekeeper.")
    assert int(suites.get("failures", "0")) == 2  # the finding and the verdict


def test_docs_cover_jenkins() -> None:
    docs = (ROOT / "docs" / "jenkins.md").read_text()
    for needle in (
        "vars/gatekeeper.groovy",
        "GIT_COMMIT",
        "GIT_PREVIOUS_SUCCESSFUL_COMMIT",
        "CHANGE_TARGET",
        "CHANGE_ID",
        "BUILD_URL",
        "JOB_NAME",
        "BUILD_NUMBER",
        "junit",
        "failOn",
    ):
        assert needle in docs, needle
