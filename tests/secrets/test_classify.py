"""One answer to "does this look like a secret?" in every family that asks.

The same (name, value) pair goes through each caller: the secrets detectors (a generic
assignment in a config file), a Dockerfile ``ENV`` (container/secret-in-build), a workflow
literal (pipeline/hardcoded-credentials) and the redaction of evidence. Before the classifier
was shared these disagreed; the ids name what each pair shows.
"""

from __future__ import annotations

import uuid

import pytest

from gatekeeper.audit.pipeline_common import literal_credential
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.secrets import scan_text
from gatekeeper.secrets.classify import (
    classify,
    is_credential_value,
    is_secret_name,
    secret_assignment,
)
from gatekeeper.secrets.redaction import redact_strings
from tests.secrets import tokens as t

# Values are assembled at run time: the repository's own check stays clean.
RANDOM = t.password(41, 18)

PAIRS = [
    # -- secrets ------------------------------------------------------------------------------
    pytest.param("DB_PASSWORD", t.password(40), True, id="generated-password"),
    pytest.param("DB_PASSWORD", "Zx9$" + "kq2LmP0vR7tYwB4n", True, id="dollar-inside-a-literal"),
    pytest.param("DB_PASS", RANDOM, True, id="pass-segment"),
    pytest.param("BASIC_AUTH", RANDOM, True, id="auth-segment"),
    pytest.param("GPG_PASSPHRASE", RANDOM, True, id="passphrase"),
    pytest.param("REGISTRY_CREDS", RANDOM, True, id="creds-segment"),
    pytest.param("MYTOKEN", RANDOM, True, id="word-inside-a-name"),
    pytest.param("DEPLOY_PASSWORD", "hunter2-" + "Zq8x!Lm4Rp", True, id="weak-word-random-tail"),
    pytest.param("NPM_AUTH", t.docker_auth(42), True, id="base64-of-credentials"),
    # -- secrets: weak passwords are passwords (easily guessed, still credentials) -----------
    pytest.param("POSTGRES_PASSWORD", "postgres" + "123", True, id="well-known-default"),
    pytest.param("ADMIN_PASSWORD", "admin" + "12345", True, id="default-with-digits"),
    pytest.param("PASSWORD", "P@ss" + "w0rd", True, id="famous-weak-password"),
    pytest.param("ROOT_PASSWORD", "root" + "!", False, id="too-short-for-a-password"),
    # -- not secrets: the value ---------------------------------------------------------------
    pytest.param("API_TOKEN", "changeme-please", False, id="placeholder"),
    pytest.param("KEYCHAIN_PASSWORD", "password" + "1", False, id="numbered-example"),
    pytest.param("POSTGRES_PASSWORD", "postgres", False, id="default-word-alone"),
    pytest.param("TOKEN", "${{ secrets.DEPLOY }}", False, id="actions-reference"),
    pytest.param("TOKEN", "$DEPLOY_TOKEN", False, id="variable-reference"),
    pytest.param("TOKEN", "ENC(" + "Gq7xK2mPz9" + ")", False, id="encrypted-reference"),
    pytest.param("SECRET_KEY", "correct horse battery staple", False, id="prose"),
    pytest.param("PASSWORD", "CorrectHorseBattery", False, id="camel-case-words"),
    pytest.param("API_KEY", "0123456789abcdef" * 2, False, id="hex-digest"),
    pytest.param("SESSION_SECRET", str(uuid.UUID(int=7 << 100)), False, id="uuid"),
    pytest.param("PASSWORD", "1234567890123", False, id="number"),
    pytest.param("API_KEY", "my.module.path", False, id="dotted-identifier"),
    pytest.param("TOKEN", "v1.2.3-beta", False, id="version"),
    pytest.param("PASSWORD", "aaaaaaaaaaaa", False, id="low-entropy"),
    pytest.param("PASSWORD_FILE", "/run/secrets/db", False, id="path"),
    # -- not secrets: the name ----------------------------------------------------------------
    pytest.param("TOKEN_AUDIENCE", "sts.amazonaws.com", False, id="host-name-setting"),
    pytest.param("AUTH_PROVIDER", "github-actions", False, id="word-setting"),
    pytest.param("GITHUB_TOKEN_SCOPE", RANDOM, False, id="pointer-name"),
    pytest.param("SECRET_PROVIDER", RANDOM, False, id="provider-name"),
    pytest.param("use_token", RANDOM, False, id="flag-name"),
    pytest.param("AUTHOR", RANDOM, False, id="auth-inside-a-word"),
    pytest.param("REGION", RANDOM, False, id="ordinary-name"),
]


def _secrets_family(name: str, value: str) -> bool:
    hits = scan_text(f'{name}: "{value}"\n', "config/app.yaml")
    assert {h.detector for h in hits} <= {"generic-assignment"}
    # A stand-in is recorded (reported at info), not reported as a credential.
    return any(h.shape != "placeholder" for h in hits)


def _container_family(name: str, value: str) -> bool:
    dockerfile = parse_dockerfile(f'FROM alpine\nENV {name}="{value}"\n'.encode(), "Dockerfile")
    assert dockerfile.parse_error is None
    (instruction,) = [i for i in dockerfile.stages[0].instructions if i.keyword == "ENV"]
    (pair,) = instruction.pairs
    return pair.secret is not None


def _pipeline_family(name: str, value: str) -> bool:
    return literal_credential(name, value)


def _redaction(name: str, value: str) -> bool:
    return bool(redact_strings({"key": name, "value": value})["value"] != value)


@pytest.mark.parametrize(("name", "value", "expected"), PAIRS)
def test_every_family_gives_the_classifiers_answer(name: str, value: str, expected: bool) -> None:
    assert secret_assignment(name, value) is expected
    assert (classify(name, value) is not None) is expected
    answers = {
        "secrets": _secrets_family(name, value),
        "container": _container_family(name, value),
        "pipeline": _pipeline_family(name, value),
        "redaction": _redaction(name, value),
    }
    assert answers == dict.fromkeys(answers, expected)


# (value, a credential?, what the secrets family records: its shape, or None for no hit)
CREDENTIAL_FIELDS = [
    pytest.param(t.password(43, 10), True, "generated", id="generated"),
    pytest.param("r3g-T0k3n-" + "9911", True, "generated", id="literal-token"),
    pytest.param("s3cr" + "3t", True, "weak", id="weak-word"),
    pytest.param("postgres", False, "placeholder", id="well-known-default"),
    pytest.param("changeme", False, "placeholder", id="placeholder"),
    pytest.param("abc", False, "placeholder", id="too-short"),
    pytest.param("${NPM_TOKEN}", False, None, id="reference"),
    pytest.param("/run/secrets/registry", False, None, id="path"),
]


@pytest.mark.parametrize(("value", "expected", "shape"), CREDENTIAL_FIELDS)
def test_fields_that_hold_a_credential_agree(value: str, expected: bool, shape: str | None) -> None:
    """A `.pypirc` password and a workflow's registry password are the same question."""
    assert is_credential_value(value) is expected
    hits = scan_text(f"[pypi]\nusername = me\npassword = {value}\n", ".pypirc")
    assert [h.shape for h in hits] == ([shape] if shape else [])
    assert literal_credential("password", value, any_literal=True) is expected


def test_token_formats_count_whatever_the_name() -> None:
    token = t.github(44)
    secret = classify("REGION", token)
    assert secret is not None and secret.reason == "github-token"
    assert token not in secret.redacted
    assert classify("REGION", "eu-west-1") is None


def test_names() -> None:
    assert all(map(is_secret_name, ["client_secret", "DB_PASS", "apiKey", "X-Auth-Key"]))
    assert not any(map(is_secret_name, ["TOKEN_URL", "max_tokens", "PASSPORT", "bypass"]))


@pytest.mark.parametrize(
    "run",
    [
        "RUN DB_PASSWORD={pw} ./setup.sh",
        "RUN usermod --password={pw} app",
        "RUN curl -fsS https://deploy:{pw}@artifacts.corp.internal/app.tgz -o /app.tgz",
    ],
)
def test_a_secret_the_scanner_finds_in_a_run_line_is_one_for_the_container_family(
    run: str,
) -> None:
    password = t.password(45)
    text = run.format(pw=password)
    assert classify(None, text) is not None
    assert [h.detector for h in scan_text(text, "Dockerfile")]  # the secrets family agrees
    dockerfile = parse_dockerfile(f"FROM alpine\n{text}\n".encode(), "Dockerfile")
    (instruction,) = [i for i in dockerfile.stages[0].instructions if i.keyword == "RUN"]
    assert instruction.secret is not None and password not in instruction.args
