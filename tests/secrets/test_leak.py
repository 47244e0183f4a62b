"""No credential the scanner recognises leaves the process: not in `collect` (JSON or text, any
kind), not in `check` (every format), not in the attestation `attest --audit` signs.

Distinct credentials are planted in every place repository text is kept verbatim: a
workflow's `run:` script and `env:`, a Jenkins `sh` step, a GitLab `script:` line, a
Dockerfile `RUN` (and its heredoc), a commit subject, a requirements index URL, and the CI
environment the run reads. The audits still see the real values (they report them); what is
printed or signed holds only the redacted form.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import git
import pytest

from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from tests.conftest import commit_files
from tests.secrets import tokens as t

# One distinct credential per place (seeded, assembled at run time: no literal in the tree).
PLANTED = {
    "workflow run: assignment": t.password(101),
    "workflow run: option": t.password(102),
    "workflow env:": t.password(103),
    "jenkins sh": t.password(104),
    "jenkins sh (double-quoted)": t.password(105),
    "gitlab script:": t.password(106),
    "gitlab script: option": t.password(107),
    "dockerfile RUN": t.password(108),
    "dockerfile RUN heredoc": t.password(109),
    "workflow run: URL": t.password(110),
    "requirements index URL": t.password(111),
    "CI environment (GIT_URL)": t.password(112),
    "commit subject": t.github(113),
}
P = PLANTED


def _repository(repo: git.Repo) -> str:
    """Plant every credential; returns the base commit (before the change)."""
    base = repo.head.commit.hexsha
    workflow = (
        "on: push\npermissions: {contents: read}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        f"    env:\n      DEPLOY_PASSWORD: {P['workflow env:']}\n"
        "    steps:\n"
        "      - run: |\n"
        f"          DB_PASSWORD={P['workflow run: assignment']} ./migrate.sh\n"
        f"          ./cli login --password={P['workflow run: option']}\n"
        f"          git clone https://deploy:{P['workflow run: URL']}@git.corp.internal/app.git\n"
    )
    jenkinsfile = (
        "pipeline {\n  agent any\n  stages {\n    stage('deploy') {\n      steps {\n"
        f"        sh 'DEPLOY_TOKEN={P['jenkins sh']} ./deploy.sh'\n"
        f'        sh "export DB_PASSWORD={P["jenkins sh (double-quoted)"]}"\n'
        "      }\n    }\n  }\n}\n"
    )
    gitlab = (
        "deploy:\n  script:\n"
        f"    - export API_SECRET={P['gitlab script:']}\n"
        f"    - ./run --password={P['gitlab script: option']}\n"
    )
    dockerfile = (
        f"FROM alpine@sha256:{'b' * 64}\n"
        f"RUN DB_PASSWORD={P['dockerfile RUN']} ./setup.sh\n"
        "RUN <<EOF\n"
        f"export API_TOKEN={P['dockerfile RUN heredoc']}\n"
        "EOF\n"
        "USER app\n"
    )
    requirements = (
        f"--index-url https://ci:{P['requirements index URL']}@pypi.corp.internal/simple\n"
        "requests==2.32.3\n"
    )
    commit_files(
        repo,
        {
            ".github/workflows/deploy.yml": workflow,
            "Jenkinsfile": jenkinsfile,
            ".gitlab-ci.yml": gitlab,
            "Dockerfile": dockerfile,
            "requirements.txt": requirements,
            "src/app.py": "print('app')\n",
        },
        f"deploy: rotate the token to {P['commit subject']}",
    )
    return base


@pytest.fixture
def planted(git_repo: git.Repo, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    root = Path(git_repo.working_tree_dir or ".")
    base = _repository(git_repo)
    # The run's CI facts come from the environment (Jenkins records GIT_URL as the repository).
    monkeypatch.setenv("JENKINS_URL", "https://jenkins.corp.internal/")
    monkeypatch.setenv(
        "GIT_URL", f"https://ci:{P['CI environment (GIT_URL)']}@git.corp.internal/app.git"
    )
    monkeypatch.setenv("JOB_NAME", "app")
    monkeypatch.setenv("BUILD_NUMBER", "7")
    return root, base


def _leaks(text: str) -> list[str]:
    return [place for place, value in PLANTED.items() if value in text]


@pytest.mark.parametrize("kind", ["source", "pipeline", "deps", "secrets", "container", "env"])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_collect_prints_no_credential(
    planted: tuple[Path, str], capsys: pytest.CaptureFixture[str], kind: str, fmt: str
) -> None:
    root, base = planted
    assert main(["collect", kind, str(root), "--base", base, "--format", fmt]) == 0
    assert _leaks(capsys.readouterr().out) == []


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "markdown", "text"])
def test_check_prints_no_credential(
    planted: tuple[Path, str], capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    root, base = planted
    code = main(["check", str(root), "--base", base, "--format", fmt])
    out = capsys.readouterr()
    assert code == 1  # the planted credentials are findings
    assert _leaks(out.out + out.err) == []


def test_the_audits_still_see_the_real_values(
    planted: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, base = planted
    main(["check", str(root), "--base", base, "--format", "json"])
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert {
        "secrets/generic-assignment",
        "secrets/url-credentials",
        "pipeline/hardcoded-credentials",
    } <= rules


def _payloads(store: Path) -> list[str]:
    """Every file of the store as text, with each DSSE envelope's payload decoded."""
    texts = []
    for path in sorted(p for p in store.rglob("*") if p.is_file()):
        raw = path.read_bytes().decode("utf-8", "replace")
        texts.append(raw)
        try:
            envelope = json.loads(raw)
        except ValueError:
            continue
        if isinstance(envelope, dict) and "payload" in envelope:
            texts.append(base64.b64decode(envelope["payload"]).decode())
    return texts


def test_attest_audit_signs_no_credential(planted: tuple[Path, str], tmp_path: Path) -> None:
    root, base = planted
    key = tmp_path / "keys" / "ci"
    write_keypair(key, "ed25519")
    store = tmp_path / "store"
    args = ["attest", "--stage", "scan", "--key", str(key), "--repo", str(root)]
    args += ["--store", str(store), "--audit", "--base", base, "--product", "src/**"]
    assert main(args) == 0
    payloads = _payloads(store)
    statements = [json.loads(p) for p in payloads if '"predicateType"' in p and p.startswith("{")]
    assert statements, "no statement found in the store"
    evidence = statements[0]["predicate"]["evidence"]
    assert set(evidence) >= {"source", "pipeline", "deps", "secrets", "container", "env"}
    assert _leaks("\n".join(payloads)) == []
