"""The context model: where a secret is lowers its finding's severity, says why, never hides it.

Paths of tests, fixtures, examples and docs; reserved and loopback hosts; placeholders; key
material only tests use. A token whose format proves it real keeps its severity anywhere.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.container import ContainerAudit
from gatekeeper.audit.pipeline_common import PipelineHardcodedCredentials
from gatekeeper.audit.secrets import SecretsAudit
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.container import ContainerCollector
from gatekeeper.collect.pipeline import PipelineCollector
from gatekeeper.collect.secrets import SecretsCollector
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.secrets.context import KeyUse, assess, host_context, path_context
from tests.conftest import commit_files
from tests.secrets import tokens as t

PATHS = [
    # tests, fixtures, test data
    ("tests/keys/server.pem", "test", "tests/"),
    ("src/test/java/AuthTest.java", "test", "test/"),
    ("pkg/auth/token_test.go", "test", "token_test.go"),
    ("test_settings.py", "test", "test_settings.py"),
    ("conftest.py", "test", "conftest.py"),
    ("web/__tests__/login.js", "test", "__tests__/"),
    ("web/src/login.test.ts", "test", "login.test.ts"),
    ("spec/models/user_spec.rb", "test", "spec/"),
    ("lib/user_spec.rb", "test", "user_spec.rb"),
    ("internal/testdata/creds.json", "test", "testdata/"),
    ("pkg/e2e/fixtures/build/ssh/key", "test", "e2e/"),
    ("app/fixtures/users.yaml", "test", "fixtures/"),
    ("regress/ed25519_openssh.prv", "test", "regress/"),  # OpenSSH's regression suite
    ("dummyserver/certs/server.key", "test", "dummyserver/"),
    ("crates/uv-test/src/proxy.rs", "test", "uv-test/"),
    (".github/workflows/cosign-test.key", "test", "cosign-test.key"),
    ("src/AuthTests.cs", "test", "AuthTests.cs"),
    # examples, samples, demos, templates
    ("examples/client.py", "example", "examples/"),
    ("docs/examples/upload.c", "example", "examples/"),
    ("run_demo.py", "example", "run_demo.py"),
    (".env.example", "example", ".env.example"),
    ("config/settings.yml.dist", "example", "settings.yml.dist"),
    ("samples-go/main.go", "example", "samples-go/"),
    ("playground/fs-serve/root/src/.env", "example", "playground/"),
    # documentation
    ("docs/setup.yaml", "docs", "docs/"),
    ("README.md", "docs", "README.md"),
    ("README", "docs", "README"),
    ("guide/install.rst", "docs", "install.rst"),
    ("CHANGELOG", "docs", "CHANGELOG"),
]
NOT_CONTEXT = [
    "src/app.py",
    "config/settings.yaml",
    ".github/workflows/release.yml",
    "Latest.java",  # "test" inside a word is no test word
    "contest.py",
    "attestation.go",
    "api/openapi-spec.yaml",  # `spec` names a test only in code (`user_spec.rb`)
    "mkdocs.yml",
    "deploy/k8s/secret.yaml",
    "functionary_bob/bob",
]


@pytest.mark.parametrize(("path", "kind", "marker"), PATHS)
def test_paths_of_tests_examples_and_docs(path: str, kind: str, marker: str) -> None:
    found = path_context(path)
    assert found is not None and (found.kind, found.marker) == (kind, marker)


@pytest.mark.parametrize("path", NOT_CONTEXT)
def test_ordinary_code_and_configuration_is_no_context(path: str) -> None:
    assert path_context(path) is None


def test_a_test_directory_decides_before_a_docs_file_name() -> None:
    found = path_context("docs/tests/README.md")
    assert found is not None and found.kind == "test"


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("example.com", "reserved"),
        ("files.example.org", "reserved"),
        ("example.net", "reserved"),
        ("ftp.site.example", "reserved"),
        ("db.test", "reserved"),
        ("nowhere.invalid", "reserved"),
        ("localhost", "loopback"),
        ("api.localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("127.8.0.1", "loopback"),
        ("github.com", None),
        ("test.pypi.org", None),  # a real service whose name starts with `test`
        ("example.com.evil.io", None),
        ("db", None),
    ],
)
def test_reserved_and_loopback_hosts(host: str, kind: str | None) -> None:
    found = host_context(host)
    assert (found.kind if found else None) == kind


def test_context_lowers_and_says_why() -> None:
    verdict = assess(Severity.CRITICAL, path="tests/keys/server.pem")
    assert verdict.severity is Severity.MEDIUM
    assert verdict.note() == " (critical lowered to medium: under a test path (tests/))"


def test_the_lowest_context_wins_and_every_reason_is_given() -> None:
    verdict = assess(Severity.HIGH, path="tests/t.py", shape="placeholder", host="example.com")
    assert verdict.severity is Severity.INFO
    note = verdict.note()
    assert "placeholder" in note and "example.com" in note and "tests/" in note


def test_loopback_is_low_and_ordinary_places_keep_the_default() -> None:
    assert assess(Severity.HIGH, path="src/db.py", host="localhost").severity is Severity.LOW
    plain = assess(Severity.HIGH, path="src/db.py", host="db.internal")
    assert plain.severity is Severity.HIGH and plain.note() == ""


def test_context_never_raises_a_severity() -> None:
    assert assess(Severity.LOW, path="tests/a.py").severity is Severity.LOW


def test_a_verified_token_keeps_its_severity_wherever_it_is() -> None:
    verdict = assess(Severity.CRITICAL, path="tests/fixtures/env", shape="verified")
    assert verdict.severity is Severity.CRITICAL
    assert "its format verifies, so it stays critical although under a test path" in (
        verdict.note()
    )


def test_a_weak_password_is_a_credential_lowered_by_place_only() -> None:
    prod = assess(Severity.HIGH, path="deploy/prod.yaml", shape="weak")
    assert prod.severity is Severity.HIGH and "well-known weak password" in prod.note()
    assert assess(Severity.HIGH, path="tests/a.yaml", shape="weak").severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("users", "complete", "expected"),
    [
        (["tests/test_tls.py", "tests/conftest.py"], True, Severity.MEDIUM),
        (["tests/test_tls.py", "README.md"], True, Severity.MEDIUM),  # docs only mention it
        (["tests/test_tls.py", "src/server.py"], True, Severity.CRITICAL),
        (["README.md"], True, Severity.CRITICAL),  # nothing uses it as test input
        ([], True, Severity.CRITICAL),
        (["tests/test_tls.py"], False, Severity.CRITICAL),  # more users than were recorded
    ],
)
def test_key_material_only_tests_use(users: list[str], complete: bool, expected: Severity) -> None:
    verdict = assess(Severity.CRITICAL, path="certs/server.key", use=KeyUse(users, complete))
    assert verdict.severity is expected


# --- through the collector and the audits ------------------------------------------------


def _pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _secrets_findings(root: Path) -> dict[str, Finding]:
    evidence = SecretsCollector().collect(CollectContext(repo=root))
    return {f.path or "": f for f in SecretsAudit().run(evidence, AuditContext())}


def test_real_repository_layout(git_repo: git.Repo) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(
        git_repo,
        {
            "tests/keys/fixture.pem": _pem_key(),
            "certs/server.key": _pem_key(),
            "tests/test_tls.py": "CERT = 'certs/server.key'\n",
            "certs/prod.key": _pem_key(),
            "src/server.py": "KEY = open('certs/prod.key').read()\n",
            "src/client.py": "URL = 'https://user:pass@example.com/simple'\n",
            "src/db.py": "DSN = 'postgresql://app:" + t.password(3) + "@localhost/app'\n",
            "tests/fixtures/gh.env": f"GH_TOKEN={t.github(4)}\n",
            "tests/fixtures/real.env": f"GH_TOKEN={t.github_checksummed(5)}\n",
            "deploy/prod.yaml": "db:\n  password: P@ss" + "w0rd!\n",
        },
    )
    found = _secrets_findings(root)
    expected = {
        "tests/keys/fixture.pem": (Severity.MEDIUM, "under a test path (tests/)"),
        "certs/server.key": (
            Severity.MEDIUM,
            "key material the repository uses only as test input (tests/test_tls.py)",
        ),
        "certs/prod.key": (Severity.CRITICAL, ""),
        "src/client.py": (Severity.INFO, "an obvious placeholder, not a credential"),
        "src/db.py": (Severity.LOW, "for a loopback host (localhost)"),
        "tests/fixtures/gh.env": (Severity.MEDIUM, "under a test path (tests/)"),
        "tests/fixtures/real.env": (Severity.CRITICAL, "its format verifies"),
        "deploy/prod.yaml": (Severity.HIGH, "a well-known weak password"),
    }
    assert set(found) == set(expected)
    for path, (severity, why) in expected.items():
        assert found[path].severity is severity, (path, found[path].message)
        assert why in found[path].message, (path, found[path].message)
    assert "lowered" not in found["certs/prod.key"].message


def test_an_aws_key_id_of_real_shape_stays_high_in_tests(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "real_shape.ini").write_text(f"key = {t.aws_key_id(3)}\n")
    (tmp_path / "tests" / "not_base32.ini").write_text(f"key = {t.aws_key_id_not_base32(3)}\n")
    found = _secrets_findings(tmp_path)
    assert found["tests/real_shape.ini"].severity is Severity.HIGH
    assert found["tests/not_base32.ini"].severity is Severity.MEDIUM


def test_the_container_family_uses_the_same_context(tmp_path: Path) -> None:
    dockerfile = f"FROM alpine@sha256:{'a' * 64}\nUSER app\nENV DB_PASSWORD={t.password(7)}\n"
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    (tmp_path / "tests" / "fixtures" / "Dockerfile").write_text(dockerfile)
    evidence = ContainerCollector().collect(CollectContext(repo=tmp_path))
    found = {
        f.path: f
        for f in ContainerAudit().run(evidence, AuditContext())
        if f.rule == "container/secret-in-build"
    }
    assert found["Dockerfile"].severity is Severity.HIGH
    assert found["tests/fixtures/Dockerfile"].severity is Severity.MEDIUM
    assert "under a test path (tests/)" in found["tests/fixtures/Dockerfile"].message


def test_the_pipeline_family_uses_the_same_context(tmp_path: Path) -> None:
    config = f"variables:\n  DEPLOY_TOKEN: {t.password(8)}\nbuild:\n  script: [make]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(config)
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    (tmp_path / "tests" / "fixtures" / ".gitlab-ci.yml").write_text(config)
    evidence = PipelineCollector().collect(CollectContext(repo=tmp_path))
    found = {f.path: f for f in PipelineHardcodedCredentials().run(evidence, AuditContext())}
    assert found[".gitlab-ci.yml"].severity is Severity.HIGH
    assert found["tests/fixtures/.gitlab-ci.yml"].severity is Severity.MEDIUM
