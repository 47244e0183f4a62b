"""Evidence printed by `collect` or signed into an attestation never carries a credential."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.secrets.redaction import redact_strings, redact_text
from tests.harness import Pipeline
from tests.secrets import tokens as t

TOKEN = "ghp_" + "raZZRF9p1DuMLMDC0whd" + "qk5VqYq1947nghkp"  # assembled: no literal in the repo
PLANTED_VALUE = "Xk29qpLm" + "77AazzQ1vv"


def _workflow(root: Path) -> None:
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        f"    env:\n      API_TOKEN: {TOKEN}\n      DB_PASSWORD: {PLANTED_VALUE}\n"
        "      REGION: eu-west-1\n      DEPLOY: ${{ secrets.DEPLOY_TOKEN }}\n"
        f"    steps:\n      - run: 'curl -H \"Authorization: token {TOKEN}\" https://x.example'\n"
    )


def test_collect_pipeline_prints_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _workflow(tmp_path)
    assert main(["collect", "pipeline", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and PLANTED_VALUE not in out
    assert "ghp_…(40 chars)" in out and "Xk29…(18 chars)" in out
    assert "eu-west-1" in out and "${{ secrets.DEPLOY_TOKEN }}" in out  # settings stay readable


def test_attested_evidence_carries_no_secret(pipeline: Pipeline) -> None:
    _workflow(pipeline.repo_path)
    result = pipeline.attest("scan", audit=True, products=["src/**"])
    payload = base64.b64decode(result.envelope.payload).decode()
    assert TOKEN not in payload and PLANTED_VALUE not in payload
    statement = json.loads(payload)
    rules = {f["rule"] for f in statement["predicate"]["findings"]}
    assert "pipeline/hardcoded-credentials" in rules  # the audit still saw the real value


def test_redact_strings_keeps_ordinary_values() -> None:
    data = {
        "env": [{"key": "REGION", "value": "eu-west-1"}, {"key": "TOKEN", "value": TOKEN}],
        "note": f"see https://ci:{PLANTED_VALUE}@host.example/x",
    }
    out = redact_strings(data)
    assert out["env"][0]["value"] == "eu-west-1"
    assert TOKEN not in json.dumps(out) and PLANTED_VALUE not in json.dumps(out)


@pytest.mark.parametrize(
    "line",
    [
        "DB_PASSWORD={secret} ./migrate.sh",
        "export API_TOKEN={secret}",
        "./cli login --password={secret}",
        "sh 'DEPLOY_TOKEN={secret} ./deploy.sh'",
        'mysql -u app "--password={secret}"',
        "git clone https://deploy:{secret}@git.corp.internal/app.git",
        "curl -H 'Authorization: token {token}' https://api.github.com",
    ],
)
def test_script_lines_lose_every_secret_the_scanner_finds(line: str) -> None:
    secret, token = t.password(61), t.github(62)
    text = line.format(secret=secret, token=token)
    out = redact_text(text)
    assert secret not in out and token not in out
    assert "…(" in out  # the redacted form stands in its place


def test_redaction_keeps_references_and_placeholders_readable() -> None:
    text = "DB_PASSWORD=${DB_PASSWORD} TOKEN=changeme URL=https://user:pass@example.com/"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "access-key",
        "private.key",
        "auth_key",
        "credential",
        "DB_PASS",
        "PW",
        "BASIC_AUTH",
        "REGISTRY_CREDS",
    ],
)
def test_every_secret_name_is_redacted_in_text(name: str) -> None:
    """Redaction skips text that holds no format prefix, URL or secret-like name: every name
    the classifier knows must get through that quick test."""
    secret = t.password(63)
    assert secret not in redact_text(f"export {name}={secret}")
