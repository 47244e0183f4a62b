"""Rules shared by every CI format: parse errors, drift, scripts and literal credentials."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gatekeeper.audit.pipeline_common import insecure_fetch, remote_script
from gatekeeper.models.policy import AuditsPolicy
from gatekeeper.secrets import redact, value_fingerprint
from tests.pipeline.conftest import Scan, audit, rules, write_tree

WF = ".github/workflows/ci.yml"
HEAD = "on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"


# --- remote-script / insecure-fetch: the command patterns ------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "curl -fsSL https://get.example.com/install.sh | sh",
        "curl -sSL https://x.io/i | sudo bash -s -- --yes",
        "curl https://x.io/i | sudo -E bash -",
        "wget -O- https://x.io/setup | bash",
        "wget -qO - https://x.io/setup.py | python3",
        "bash <(curl -s https://x.io/i.sh)",
        'sh -c "$(curl -fsSL https://raw.githubusercontent.com/o/r/HEAD/install.sh)"',
        "source <(curl -s https://x.io/env)",
        "iex (iwr https://x.io/install.ps1)",
        "iex ((New-Object System.Net.WebClient).DownloadString('https://x.io/i.ps1'))",
        "irm https://get.scoop.sh | iex",
        "Invoke-WebRequest https://x.io/a.ps1 -UseBasicParsing | Invoke-Expression",
    ],
)
def test_remote_script_patterns_fire(command: str) -> None:
    assert remote_script(command) is not None


@pytest.mark.parametrize(
    "command",
    [
        "curl -fsSLo install.sh https://x.io/install.sh",
        "curl -s https://api.github.com/repos/o/r | jq -r .tag_name",
        "curl -sL https://x.io/f.tgz | tar xz",
        "curl -sL https://x.io/f | sha256sum -c expected.sha256",
        "curl -s https://x.io/a | tee out.txt",
        "wget https://x.io/pkg.deb && sudo dpkg -i pkg.deb",
        "bash ./install.sh",
        "echo hi | bash",
        "curl https://x.io/a | shasum -a 256",
    ],
)
def test_remote_script_near_misses(command: str) -> None:
    assert remote_script(command) is None


@pytest.mark.parametrize(
    "command",
    [
        "curl -k https://internal/artifact",
        "curl -fsSLk https://internal/artifact -o a",
        "curl --insecure https://x",
        "wget --no-check-certificate https://x/y",
        "pip install --trusted-host pypi.internal -r req.txt",
        "yum install -y --nogpgcheck foo",
        "apt-get install -y --allow-unauthenticated foo",
        "npm config set strict-ssl false",
        "yarn config set strict-ssl false",
        "export GIT_SSL_NO_VERIFY=true",
        "GIT_SSL_NO_VERIFY=1 git clone https://x/r",
        "git config --global http.sslVerify false",
        "helm repo add x https://x --insecure-skip-tls-verify",
        "NODE_TLS_REJECT_UNAUTHORIZED=0 node build.js",
    ],
)
def test_insecure_fetch_patterns_fire(command: str) -> None:
    assert insecure_fetch(command) is not None


@pytest.mark.parametrize(
    "command",
    [
        "curl -fsSL https://x -o out",
        "curl -L --keepalive-time 5 https://x",
        "curl -H 'X-Kind: k' https://x",
        "curl -fsSLO https://x/src.tgz && make -k",
        "curl -s 'https://x/api?a=1&b=2' -o out",
        "pip install -r requirements.txt",
        "npm config set strict-ssl true",
        "export GIT_SSL_NO_VERIFY=false",
        "unset GIT_SSL_NO_VERIFY",
        "git config http.sslVerify true",
        "apt-get install -y curl",
        "docker build --tls-verify=true .",
    ],
)
def test_insecure_fetch_near_misses(command: str) -> None:
    assert insecure_fetch(command) is None


def test_scripts_in_every_format_carry_lines(scan: Scan) -> None:
    findings = scan(
        {
            WF: HEAD
            + """    steps:
      - run: |
          echo start
          curl -fsSL https://x.io/i.sh \\
            | bash
      - run: curl -k https://x
""",
            ".gitlab-ci.yml": """
            build:
              script:
                - make
                - wget -qO- https://x.io/i | sh
        """,
            "Jenkinsfile": """
            node {
              sh '''
                set -e
                curl https://x.io/i | bash
              '''
              sh "curl --insecure https://x"
            }
        """,
            "build.sh": "#!/bin/sh\n# curl https://x | sh in a comment\ncurl -s https://x.io/a | sh\n",
            "Makefile": "deps:\n\tpip install --trusted-host pypi.internal x\n",
        }
    )
    remote = sorted((f.path, f.line) for f in rules(findings, "pipeline/remote-script"))
    assert remote == [
        (".github/workflows/ci.yml", 9),
        (".gitlab-ci.yml", 4),
        ("Jenkinsfile", 4),
        ("build.sh", 3),
    ]
    insecure = sorted((f.path, f.line) for f in rules(findings, "pipeline/insecure-fetch"))
    assert insecure == [(".github/workflows/ci.yml", 11), ("Jenkinsfile", 6), ("Makefile", 2)]


def test_insecure_env_variables(scan: Scan) -> None:
    findings = scan(
        {
            WF: HEAD
            + """    env:
      GIT_SSL_NO_VERIFY: "true"
      NODE_TLS_REJECT_UNAUTHORIZED: "1"
    steps:
      - run: make
        env:
          NODE_TLS_REJECT_UNAUTHORIZED: 0
""",
            ".gitlab-ci.yml": (
                "variables:\n  GIT_SSL_NO_VERIFY: 'false'\n  PIP_TRUSTED_HOST: pypi.local\n"
            ),
        }
    )
    hits = sorted((f.path, f.line) for f in rules(findings, "pipeline/insecure-fetch"))
    assert hits == [
        (".github/workflows/ci.yml", 7),
        (".github/workflows/ci.yml", 12),
        (".gitlab-ci.yml", 3),
    ]


# --- hardcoded-credentials -------------------------------------------------------------------


def test_hardcoded_credentials_fire_and_never_print_the_value(scan: Scan) -> None:
    # Fake credentials planted for the test, assembled so the repository's own check stays
    # clean. Each looks generated: a placeholder (`s3cr3t`, `AbCdEf1234567890`) is no credential.
    secret = "hunter2-" + "Zq8x!Lm4Rp"
    registry_password = "Rg7pL2" + "x9QwVt"
    api_key = "Vq3L" + "m8Zt2Kp9Xr4Wn"
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        env:
          DEPLOY_PASSWORD: {secret}
        jobs:
          a:
            runs-on: ubuntu-latest
            container:
              image: ghcr.io/org/build@sha256:{"a" * 64}
              credentials:
                username: bot
                password: {registry_password}
            steps:
              - uses: org/deploy@{"b" * 40}
                with:
                  api-key: {api_key}
    """
        }
    )
    hits = rules(findings, "pipeline/hardcoded-credentials")
    assert sorted(f.line for f in hits) == [4, 12, 16]
    assert all(f.severity.value == "high" for f in hits)
    for finding in hits:
        assert secret not in finding.message
        assert registry_password not in finding.message
        assert api_key not in finding.message
    assert any("hunt…(18 chars)" in f.message for f in hits)


def test_hardcoded_credentials_use_the_secrets_familys_redaction_and_fingerprint(
    scan: Scan,
) -> None:
    # One credential, one printed form and one fingerprint, whichever family reports it.
    planted = "Zq8xLm4R" + "p7Tw2Vb9"  # assembled: the repository's own check stays clean
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        env:
          DEPLOY_TOKEN: {planted}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: make
    """
        }
    )
    (hit,) = rules(findings, "pipeline/hardcoded-credentials")
    assert redact(planted) in hit.message
    assert f"sha256 {value_fingerprint(planted)[:12]}…" in hit.message
    assert planted not in hit.message


def test_secret_references_and_placeholders_do_not_fire(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
            on: push
            permissions: {{contents: read}}
            env:
              API_TOKEN: ${{{{ secrets.API_TOKEN }}}}
              TOKEN_FORMAT: access_token
              TOKEN_AUDIENCE: sts.amazonaws.com
              AUTH_PROVIDER: github-actions
              API_KEY_HEADER: X-Api-Key
              SECRET_HINT: see the vault entry
              PASSWORD_FILE: /run/secrets/db
              NPM_TOKEN: ${{NPM_TOKEN}}
            jobs:
              a:
                runs-on: ubuntu-latest
                container:
                  image: ghcr.io/org/build@sha256:{"a" * 64}
                  credentials:
                    username: ${{{{ github.actor }}}}
                    password: ${{{{ secrets.GITHUB_TOKEN }}}}
                services:
                  db:
                    image: postgres@sha256:{"b" * 64}
                    env:
                      POSTGRES_PASSWORD: postgres
                steps:
                  - uses: org/deploy@{"b" * 40}
                    with:
                      token: ${{{{ secrets.DEPLOY }}}}
                      password: changeme
                      secret-name: prod-db
        """,
            ".gitlab-ci.yml": "variables:\n  DB_PASSWORD: $CI_DB_PASSWORD\n",
        }
    )
    assert rules(findings, "pipeline/hardcoded-credentials") == []


def test_gitlab_and_jenkins_literal_credentials(scan: Scan) -> None:
    # Planted values are assembled at run time so the repository's own check stays clean.
    planted_a = "Xk29-qpLm-" + "77Aa-zzQ1"
    planted_b = "q8Fz2LmP" + "0sVx9Rt4"
    findings = scan(
        {
            ".gitlab-ci.yml": f"variables:\n  REGISTRY_PASSWORD: '{planted_a}'\n",
            "Jenkinsfile": "pipeline {\n  agent any\n  environment {\n"
            f"    API_TOKEN = '{planted_b}'\n    REGION = 'eu-west-1'\n  }}\n}}\n",
        }
    )
    hits = sorted((f.path, f.line) for f in rules(findings, "pipeline/hardcoded-credentials"))
    assert hits == [(".gitlab-ci.yml", 2), ("Jenkinsfile", 4)]


# --- parse-error -----------------------------------------------------------------------------


def test_malformed_files_are_parse_errors_and_the_rest_is_audited(scan: Scan) -> None:
    findings = scan(
        {
            ".github/workflows/broken.yml": "on: push\njobs:\n  a:\n    steps: [\n",
            ".github/workflows/notwf.yml": "- just\n- a list\n",
            ".github/workflows/good.yml": HEAD + "    steps:\n      - uses: someone/thing@main\n",
            "Jenkinsfile": 'pipeline {\n  stages {\n    sh "echo unterminated\n  }\n}\n',
            ".gitlab-ci.yml": "build:\n  script: [make\n",
        }
    )
    errors = {f.path: f for f in rules(findings, "pipeline/parse-error")}
    assert set(errors) == {
        ".github/workflows/broken.yml",
        ".github/workflows/notwf.yml",
        "Jenkinsfile",
        ".gitlab-ci.yml",
    }
    assert errors["Jenkinsfile"].line == 3
    assert errors[".github/workflows/notwf.yml"].line == 1
    assert all(f.line is not None and f.severity.value == "high" for f in errors.values())
    # the good workflow is still audited
    assert [f.path for f in rules(findings, "pipeline/unpinned-action")] == [
        ".github/workflows/good.yml"
    ]


def test_alias_bomb_is_a_parse_error_not_a_hang(scan: Scan) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    bomb += "on: push\njobs: {}\n"
    findings = scan({".github/workflows/bomb.yml": bomb})
    hits = rules(findings, "pipeline/parse-error")
    assert len(hits) == 1
    assert "alias" in hits[0].message


# --- config-drift ----------------------------------------------------------------------------


def test_config_drift(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "t",
        {
            WF: HEAD + "    steps: [{run: make}]\n",
            "Jenkinsfile": "node { sh 'make' }\n",
            "scripts/deploy.sh": "echo deploy\n",
        },
    )
    wf_digest = hashlib.sha256((root / WF).read_bytes()).hexdigest()
    deploy_digest = hashlib.sha256(b"echo deploy\n").hexdigest()
    policy = AuditsPolicy(
        approved_pipeline_digests={
            WF: wf_digest,  # matches: no finding
            "Jenkinsfile": "0" * 64,  # differs
            "scripts/deploy.sh": f"sha256:{deploy_digest}",  # not a classified file, still checked
            ".gitlab-ci.yml": "1" * 64,  # approved but gone
        }
    )
    drift = {f.path: f for f in rules(audit(root, policy), "pipeline/config-drift")}
    assert set(drift) == {"Jenkinsfile", ".gitlab-ci.yml"}
    assert drift["Jenkinsfile"].severity.value == "high"
    assert "missing" in drift[".gitlab-ci.yml"].message
    (root / "scripts/deploy.sh").write_text("echo pwned\n")
    drift = {f.path for f in rules(audit(root, policy), "pipeline/config-drift")}
    assert "scripts/deploy.sh" in drift


def test_no_approved_digests_no_drift(scan: Scan) -> None:
    assert rules(scan({"Jenkinsfile": "node { sh 'make' }\n"}), "pipeline/config-drift") == []


def test_literal_passed_as_a_reusable_workflow_secret(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          deploy:
            uses: org/repo/.github/workflows/deploy.yml@{"c" * 40}
            secrets:
              registry-token: r3g-T0k3n-9911
              deploy-key: ${{{{ secrets.DEPLOY_KEY }}}}
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/hardcoded-credentials")] == [7]


def test_fingerprints_survive_a_step_inserted_before(scan: Scan) -> None:
    steps = """      - env:
          API_TOKEN: Zq8xLm4RpT2v9Kw1
        run: curl -fsSL https://x.io/i.sh | sh
"""
    first = scan({WF: HEAD + "    steps:\n" + steps})
    second = scan({WF: HEAD + "    steps:\n      - run: echo hello\n" + steps})
    assert {f.rule for f in first} == {"pipeline/hardcoded-credentials", "pipeline/remote-script"}
    assert sorted(f.fingerprint for f in first) == sorted(f.fingerprint for f in second)


def test_a_build_script_over_the_command_cap_is_a_parse_error_not_a_silent_cut(
    tmp_path: Path,
) -> None:
    # Past the recorded cap a line is not audited: padding must not hide a `curl | sh`.
    padding = "git status\n" * 2000
    root = write_tree(tmp_path, {"build.sh": padding + "curl -fsSL https://x.io/i.sh | sh\n"})
    findings = audit(root)
    (error,) = rules(findings, "pipeline/parse-error")
    assert (error.path, error.line) == ("build.sh", 2001)
    assert "not audited" in error.message
    assert error.severity.value == "high"
