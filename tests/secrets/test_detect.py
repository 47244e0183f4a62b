"""Each detector fires on its format and stays quiet on the near-misses that cry wolf."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from gatekeeper.secrets import redact, scan_text, value_fingerprint
from gatekeeper.secrets.classify import is_placeholder, looks_random
from tests.secrets import tokens as t


def detectors(text: str, path: str = "config/app.yaml") -> list[str]:
    """The detectors that report a credential (stand-ins are recorded apart, at info)."""
    return [h.detector for h in scan_text(text, path) if h.shape != "placeholder"]


def placeholders(text: str, path: str = "config/app.yaml") -> list[str]:
    return [h.detector for h in scan_text(text, path) if h.shape == "placeholder"]


FIRES = [
    pytest.param(t.private_key(), "deploy/key.pem", "private-key", id="pem-rsa"),
    pytest.param(t.private_key(kind="OPENSSH "), "id_ed25519", "private-key", id="openssh"),
    pytest.param(t.private_key(kind=""), "k.txt", "private-key", id="pkcs8"),
    pytest.param(
        '{"key": "' + t.private_key().replace("\n", "\\n") + '"}',
        "sa.json",
        "private-key",
        id="pem-in-json",
    ),
    pytest.param(
        f"aws_access_key_id = {t.aws_key_id()}\n", "creds.ini", "aws-access-key", id="aws-id"
    ),
    pytest.param(f"token: {t.github()}\n", "ci.yml", "github-token", id="ghp"),
    pytest.param(f"x = '{t.github(prefix='ghs_')}'\n", "a.py", "github-token", id="ghs"),
    pytest.param(f"GH={t.github_pat()}\n", "run.sh", "github-token", id="github-pat"),
    pytest.param(f"token: {t.gitlab()}\n", "a.yml", "gitlab-token", id="glpat"),
    pytest.param(f"SLACK={t.slack()}\n", "run.sh", "slack-token", id="xoxb"),
    pytest.param(f"url: {t.slack_webhook()}\n", "a.yml", "slack-token", id="slack-webhook"),
    pytest.param(f"STRIPE = '{t.stripe()}'\n", "a.py", "stripe-key", id="stripe"),
    pytest.param(f"maps_key: {t.google()}\n", "a.yml", "google-api-key", id="google"),
    pytest.param(f"//registry.npmjs.org/:_authToken={t.npm()}\n", "b.txt", "npm-token", id="npm"),
    pytest.param(f"password = {t.pypi()}\n", "upload.cfg", "pypi-token", id="pypi"),
    pytest.param(f"auth: Bearer {t.jwt()}\n", "a.yml", "jwt", id="jwt"),
    pytest.param(
        f"DATABASE_URL=postgres://app:{t.password()}@db.internal:5432/app\n",
        "settings.py",
        "url-credentials",
        id="url-creds",
    ),
    pytest.param(
        '{"auths": {"ghcr.io": {"auth": "' + t.docker_auth() + '"}}}',
        ".docker/config.json",
        "docker-auth",
        id="docker-config",
    ),
    pytest.param(
        '{"auths": {"r.example.org": {"auth": "' + t.docker_auth() + '"}}}',
        "deploy/pull-secret.json",
        "docker-auth",
        id="docker-auths-any-json",
    ),
    pytest.param(
        f"//npm.pkg.github.com/:_authToken={t.password(20)}\n",
        ".npmrc",
        "config-file-credentials",
        id="npmrc",
    ),
    pytest.param(
        f"[pypi]\nusername = me\npassword = {t.password(21)}\n",
        ".pypirc",
        "config-file-credentials",
        id="pypirc",
    ),
    pytest.param(
        f"machine api.host.org login me password {t.password(22)}\n",
        ".netrc",
        "config-file-credentials",
        id="netrc",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: u\n  user:\n"
        f"    token: {t.password(23, 32)}\n",
        "kubeconfig",
        "config-file-credentials",
        id="kubeconfig",
    ),
    pytest.param(
        f"<settings><servers><server><id>r</id><password>{t.password(24)}</password>"
        "</server></servers></settings>",
        "settings.xml",
        "config-file-credentials",
        id="maven",
    ),
    pytest.param(
        f"DB_PASSWORD={t.password(25, 12)}\n", ".env", "config-file-credentials", id="dotenv"
    ),
    pytest.param(
        f"db:\n  password: {t.password(26)}\n",
        "config/db.yaml",
        "generic-assignment",
        id="yaml-password",
    ),
    pytest.param(
        f'"client_secret": "{t.password(27, 32)}"\n',
        "app.json",
        "generic-assignment",
        id="json-secret",
    ),
    pytest.param(
        f'API_KEY = "{t.password(28)}"\n', "app.py", "generic-assignment", id="python-api-key"
    ),
    pytest.param(
        f"[auth]\nsecret_key = {t.password(29)}\n", "app.ini", "generic-assignment", id="ini-secret"
    ),
]


@pytest.mark.parametrize(("text", "path", "expected"), FIRES)
def test_detector_fires(text: str, path: str, expected: str) -> None:
    assert detectors(text, path) == [expected]


NEAR_MISSES = [
    pytest.param(
        "-----BEGIN PUBLIC KEY-----\n" + t.body(64) + "\n-----END PUBLIC KEY-----\n",
        "k.pem",
        id="public-key",
    ),
    pytest.param(
        'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    pass\n',
        "a.py",
        id="pem-marker-in-code",
    ),
    pytest.param(
        "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n",
        "doc.md",
        id="pem-elided",
    ),
    pytest.param("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", "docs.ini", id="aws-doc-example"),
    pytest.param("key: AKIAXXXXXXXXXXXXXXXX\n", "a.yml", id="aws-xxxx"),
    pytest.param("token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "a.yml", id="ghp-xxxx"),
    pytest.param("token: ${GITHUB_TOKEN}\n", "a.yml", id="env-reference"),
    pytest.param("token: glpat-xxxxxxxxxxxxxxxxxxxx\n", "a.yml", id="glpat-xxxx"),
    pytest.param("SLACK=xoxb-your-token-here\n", "run.sh", id="slack-placeholder"),
    pytest.param("STRIPE = 'sk_test_" + t.body(24, 3) + "'\n", "a.py", id="stripe-test-key"),
    pytest.param("key: AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n", "a.yml", id="google-xxxx"),
    pytest.param(
        "//registry.npmjs.org/:_authToken=npm_" + "0" * 36 + "\n", "b.txt", id="npm-zeros"
    ),
    pytest.param("password = pypi-AgEIcHlwaS5vcmc" + "x" * 60 + "\n", "a.cfg", id="pypi-xxxx"),
    pytest.param("token: ${{ secrets.GITHUB_TOKEN }}\n", "ci.yml", id="actions-secret"),
    pytest.param("password: changeme\n", "a.yml", id="changeme"),
    pytest.param('api_key: "<your-api-key>"\n', "a.yml", id="angle-placeholder"),
    pytest.param("secret: example-secret-value-123\n", "a.yml", id="example"),
    pytest.param("password: xxxxxxxxxxxx\n", "a.yml", id="xxxx"),
    pytest.param("password: aaaaaaaaaaaaaaaa\n", "a.yml", id="low-entropy"),
    pytest.param(
        "token_sha1: 3f786850e387550fdab836ed7e6dc881de23001b\n", "a.yml", id="digest-of-a-token"
    ),
    pytest.param(f"commit: {t.body(40, 1, '0123456789abcdef')}\n", "a.yml", id="commit-hash"),
    pytest.param(f"api_key: {uuid.UUID(int=12345678901234567890)}\n", "a.yml", id="uuid"),
    pytest.param(
        "secret: " + base64.b64encode(b"Hello world, this is only a test").decode() + "\n",
        "a.yml",
        id="base64-of-text",
    ),
    pytest.param(
        '"integrity": "sha512-' + t.body(86, 2) + '=="\n',
        "package-lock.json",
        id="lockfile-integrity",
    ),
    pytest.param(f"password_hash: {t.password(3)}\n", "a.yml", id="hash-name"),
    pytest.param("token_url: https://auth.example.org/token\n", "a.yml", id="token-url"),
    pytest.param("password = request.form['password']\n", "views.py", id="code-expression"),
    pytest.param("password = os.environ['DB_PASSWORD']\n", "settings.ini", id="environ"),
    pytest.param("max_tokens: 4096\n", "a.yml", id="max-tokens"),
    pytest.param("url: https://user:${PASSWORD}@host.org/x\n", "a.yml", id="url-reference"),
    pytest.param("url: https://user:password@host.org/x\n", "a.yml", id="url-placeholder"),
    pytest.param("url: https://host.org/@scope/pkg\n", "a.yml", id="url-no-creds"),
    pytest.param(
        "auth: eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0\n",
        "a.yml",
        id="jwt-alg-none",
    ),
    pytest.param("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", ".npmrc", id="npmrc-reference"),
    pytest.param("DB_PASSWORD=changeme\nAPI_KEY=\nHOST=db\n", ".env", id="dotenv-placeholder"),
    pytest.param(
        "DB_PASSWORD=your-db-password\nAPI_KEY=xxxx\n", ".env.example", id="dotenv-example-file"
    ),
    pytest.param("<password>${env.REPO_PASSWORD}</password>", "settings.xml", id="maven-ref"),
    pytest.param("<password>{COQLCE6DU6GtcS5P=}</password>", "settings.xml", id="maven-encrypted"),
    pytest.param(
        '{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}',
        ".docker/config.json",
        id="docker-credstore",
    ),
    pytest.param("public_key: " + t.body(44, 9) + "\n", "a.yml", id="public-key-name"),
    pytest.param(
        '"secrets-inherit": "a reusable workflow call passes secrets",\n', "a.py", id="prose"
    ),
    pytest.param(
        '"secrets": "gatekeeper.collect.secrets:SecretsCollector",\n', "a.py", id="module-path"
    ),
    pytest.param('SECRET_IN_BUILD = "container/secret-in-build"\n', "a.py", id="rule-id"),
    pytest.param('text = f"password: {make_password()}"\n', "a.py", id="f-string"),
    pytest.param("TOKEN: test-token-0123456789abcdef\n", "a.yml", id="test-prefix"),
    pytest.param("passwd: HTTPPasswordMgr\n", "request.pyi", id="type-annotation"),
    pytest.param("API_KEY = 'WillAlsoBeIgnored'\n", "README", id="camel-case-words"),
    pytest.param(
        "API_KEY = 'this-will-ordinarily-be-detected-by-a-plugin'\n", "README", id="kebab-words"
    ),
    pytest.param("secrets = SecretsCollection()\n", "README", id="call-in-docs"),
    pytest.param("u = 'https://foo.com:123,foo:bar@bar.com/path'\n", "a.py", id="multi-host-url"),
]


@pytest.mark.parametrize(("text", "path"), NEAR_MISSES)
def test_near_miss_does_not_fire(text: str, path: str) -> None:
    assert detectors(text, path) == []


def test_aws_key_with_its_secret_nearby_is_paired_and_the_secret_is_not_reported_twice() -> None:
    text = (
        f"[default]\naws_access_key_id = {t.aws_key_id()}\n"
        f"aws_secret_access_key = {t.aws_secret()}\nregion = eu-west-1\n"
    )
    hits = scan_text(text, ".aws/credentials")
    assert [(h.detector, h.paired, h.line) for h in hits] == [("aws-access-key", True, 2)]


def test_aws_key_alone_is_not_paired() -> None:
    hits = scan_text(f"key = {t.aws_key_id()}\n\n\n\n\n\n\n\nother = 1\n", "a.ini")
    assert [(h.detector, h.paired) for h in hits] == [("aws-access-key", False)]


def test_specific_detector_wins_over_generic() -> None:
    hits = scan_text(f"GITHUB_TOKEN: {t.github()}\npassword: {t.password()}\n", "a.yml")
    assert [h.detector for h in hits] == ["github-token", "generic-assignment"]
    assert [h.line for h in hits] == [1, 2]


def test_redaction_and_fingerprint() -> None:
    value = t.github()
    assert redact(value) == f"ghp_…({len(value)} chars)"
    assert value[4:] not in redact(value)
    assert len(value_fingerprint(value)) == 64


def test_filters() -> None:
    assert is_placeholder("${{ secrets.NPM_TOKEN }}")
    assert is_placeholder("<token>")
    assert is_placeholder("$DB_PASSWORD")
    assert not is_placeholder(t.password())
    assert looks_random(t.password())
    assert not looks_random("correcthorse")
    assert not looks_random("my_database_password_name")


def test_binary_garbage_and_huge_lines_do_not_crash() -> None:
    text = "password: " + "A" * 200_000 + "\n" + "\ufffd" * 1000 + "\x00\x01"
    assert detectors(text) == []


def test_many_hits_in_one_file_resolve_overlaps_in_near_linear_time() -> None:
    # Each line is a GitHub token and, overlapping it, a generic `token = ...` assignment:
    # one hit per line survives. Comparing each hit with every kept span took over a minute.
    lines = [f"token = {t.github(seed)}" for seed in range(40_000)]

    def cpu_seconds(n: int) -> float:
        start = time.process_time()
        scan_text("\n".join(lines[:n]), "tokens.txt")
        return time.process_time() - start

    hits = scan_text("\n".join(lines), "tokens.txt")
    # Whole file or line by line, the same hits (a few random bodies look like placeholders,
    # `xxxx`, and are recorded as such).
    expected = [
        (n, h.detector, h.shape)
        for n, line in enumerate(lines, start=1)
        for h in scan_text(line, "tokens.txt")
    ]
    assert [(h.line, h.detector, h.shape) for h in hits] == expected
    assert sum(d == "github-token" for _, d, _ in expected) > 39_900
    # Ten times the hits costs about ten times the work (quadratic was a hundred times:
    # over a minute); CPU time, so a busy machine does not decide.
    small, large = cpu_seconds(4_000), cpu_seconds(40_000)
    assert large < 25 * max(small, 0.01), f"{large:.1f}s for 40,000 hits, {small:.2f}s for 4,000"


def test_url_credentials_detail_never_shows_a_token_used_as_the_user() -> None:
    token, password = t.github(11), t.password(12)
    hits = scan_text(f'url = "https://{token}:{password}@github.com/o/r.git"\n', "a.cfg")
    assert sorted(h.detector for h in hits) == ["github-token", "url-credentials"]
    (url,) = (h for h in hits if h.detector == "url-credentials")
    assert token[4:12] not in url.detail and url.detail.startswith(f"password for {redact(token)}@")
    (plain,) = scan_text(f"https://deploy:{password}@git.example.org/r.git\n", "a.cfg")
    assert plain.detail == "password for deploy@git.example.org"


def test_env_example_is_not_a_tool_config_but_a_random_value_there_still_fires() -> None:
    assert detectors(f"DB_PASSWORD={t.password(4)}\n", ".env.example") == ["generic-assignment"]


def test_offsets_stay_exact_when_lower_casing_changes_length() -> None:
    secret = t.password(31)
    hits = scan_text(f"name: İstanbul İzmir\npassword: {secret}\n", "a.yml")
    assert [(h.detector, h.line, h.value) for h in hits] == [("generic-assignment", 2, secret)]


def test_upper_case_names_match_too() -> None:
    assert detectors(f"DB_PASSWORD: {t.password(32)}\n") == ["generic-assignment"]


# --- what a value is: stand-ins, weak passwords, verified formats ---------------------------

STAND_INS = [
    pytest.param(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", "a.ini", "aws-access-key", id="aws-doc"
    ),
    pytest.param(
        "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "a.yml", "github-token", id="ghp"
    ),
    pytest.param(
        "password = pypi-AgEIcHlwaS5vcmc" + "x" * 60 + "\n", "a.cfg", "pypi-token", id="pypi"
    ),
    pytest.param("password: changeme\n", "a.yml", "generic-assignment", id="changeme"),
    pytest.param('api_key: "<your-api-key>"\n', "a.yml", "generic-assignment", id="angle"),
    pytest.param(
        "Credential: xxx/20130524/us-east-1/s3\n", "a.txt", "generic-assignment", id="xxx"
    ),
    pytest.param("url: https://user:pass@host.org/x\n", "a.yml", "url-credentials", id="url-pass"),
    pytest.param(
        "u = 'https://jo:a%20secret@host.org/'\n", "a.py", "url-credentials", id="url-prose"
    ),
    pytest.param(
        "u = 'amqp://guest:guest@mq.internal/'\n", "a.py", "url-credentials", id="same-as-user"
    ),
    pytest.param("DB_PASSWORD=changeme\n", ".env", "config-file-credentials", id="dotenv"),
    pytest.param(
        '{"auths": {"example.com": {"auth": "'
        + base64.b64encode(b"username:password").decode()
        + '"}}}',
        "docs/metadata.yaml",
        "docker-auth",
        id="docker-auth-of-a-placeholder",
    ),
    pytest.param(
        "[pypi]\npassword = password1\n", ".pypirc", "config-file-credentials", id="numbered"
    ),
    pytest.param(
        ' * const apiToken = "abc123xyz456";\n', "index.js", "generic-assignment", id="abc123"
    ),
]


@pytest.mark.parametrize(("text", "path", "detector"), STAND_INS)
def test_stand_ins_are_recorded_as_placeholders_not_dropped(
    text: str, path: str, detector: str
) -> None:
    assert placeholders(text, path) == [detector]
    assert detectors(text, path) == []


NOT_A_VALUE = [
    pytest.param("token: ${GITHUB_TOKEN}\n", "a.yml", id="reference"),
    pytest.param("token: ${{ secrets.GITHUB_TOKEN }}\n", "ci.yml", id="actions-secret"),
    pytest.param("url: https://user:${PASSWORD}@host.org/x\n", "a.yml", id="url-reference"),
    pytest.param("dsn = '%(user)s:%(password)s@db'\n", "a.py", id="format-template"),
    pytest.param("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", ".npmrc", id="npmrc-ref"),
    pytest.param("password: ':********'\n", "a.yml", id="mask"),
    pytest.param("password: None\n", "a.yml", id="none"),
    pytest.param("password: password\n", "a.yml", id="bare-word-in-code"),  # a label, mostly
]


@pytest.mark.parametrize(("text", "path"), NOT_A_VALUE)
def test_references_and_non_values_record_nothing(text: str, path: str) -> None:
    assert scan_text(text, path) == []


WEAK = [
    pytest.param("password: hunter2\n", "a.yml", "generic-assignment", id="famous"),
    pytest.param("password: P@ssw0rd\n", "a.yml", "generic-assignment", id="leet"),
    pytest.param("ADMIN_PASSWORD: admin123\n", "a.yml", "generic-assignment", id="default-123"),
    pytest.param("root_password: 'root!'\n", "a.yml", None, id="too-short"),
    pytest.param("password: password1\n", "a.yml", None, id="numbered-example"),
    pytest.param(
        "DATABASE_URL=postgres://app:postgres123@db.internal/app\n",
        "settings.py",
        "url-credentials",
        id="url",
    ),
    pytest.param("[pypi]\npassword = s3cr3t\n", ".pypirc", "config-file-credentials", id="pypirc"),
]


@pytest.mark.parametrize(("text", "path", "detector"), WEAK)
def test_a_weak_password_is_a_credential(text: str, path: str, detector: str | None) -> None:
    hits = [h for h in scan_text(text, path) if h.shape == "weak"]
    assert [h.detector for h in hits] == ([detector] if detector else [])


def test_token_formats_that_prove_themselves_are_verified() -> None:
    def shape(text: str) -> list[str]:
        return [h.shape for h in scan_text(text, "a.env")]

    assert shape(f"T={t.github_checksummed(1)}\n") == ["verified"]
    assert shape(f"T={t.github_checksummed(2, 'gho_')}\n") == ["verified"]
    assert shape(f"T={t.github(3)}\n") == ["generated"]  # no valid checksum
    assert shape(f"T={t.github_pat(4)}\n") == ["verified"]  # the documented 22 + 59 structure
    assert shape(f"T={t.npm_checksummed(5)}\n") == ["verified"]
    assert shape(f"T={t.npm(6)}\n") == ["generated"]
    assert shape(f"K={t.aws_key_id(7)}\n") == ["verified"]  # base32
    assert shape(f"K={t.aws_key_id_not_base32(8)}\n") == ["generated"]
    assert shape(f"P={t.pypi(9)}\n") == ["verified"]  # a macaroon for pypi.org
    assert shape(f"P=pypi-AgEIc433aS5vcmc{t.body(60, 9)}\n") == ["generated"]
    (hit,) = scan_text(f"T={t.github_checksummed(1)}\n", "a.env")
    assert hit.detail == "CRC32 checksum valid"


PRECISION = [
    pytest.param(
        '  auth_proto ? auth_proto : "MIT-MAGIC-COOKIE-1",\n', "channel.c", id="words-and-a-number"
    ),
    pytest.param(
        "  'usage/types/secrets.md': 'api/types.md#pydantic.types.Secret'\n",
        "mkdocs.yml",
        id="file-names",
    ),
    pytest.param('curl -d "user=foobar&pass=12345&id=blablabla"\n', "MANUAL.md", id="form-body"),
    pytest.param(
        '{"sourcesContent": ["response.requestIncludesCredentials = includeCredentials\\n"]}',
        "dist/index.js.map",
        id="source-map",
    ),
]


PRECISION += [
    pytest.param(
        "Invalid\\ username\\ or\\ password=Usu\u00e1rio\\ ou\\ senha\\ inv\u00e1lida\n",
        "login_pt_BR.properties",
        id="escaped-spaces",
    ),
    pytest.param(
        "TokenNeverUsed.Title=\u4f7f\u7528\u3059\u308b\u30c8\u30fc\u30af\u30f3\u304c\u3042\u308a\u307e\u305b\u3093\n",
        "config_ja.properties",
        id="message-not-ascii",
    ),
    pytest.param(
        '\tgcpPubsubTokenExpiryKey = "PIPER_gcpPubsubTokenExpiresAt"\n', "token.go", id="camel-id"
    ),
    pytest.param("    $token = Get-AzDOAccessToken\n", "AzureDevOps.ps1", id="powershell-command"),
    pytest.param('    SecretKey = "AWS_S3_SECRET_KEY"\n', "config.toml", id="names-with-a-digit"),
]


@pytest.mark.parametrize(("text", "path"), PRECISION)
def test_shapes_seen_on_real_repositories_are_not_secrets(text: str, path: str) -> None:
    assert scan_text(text, path) == []


def test_url_credentials_record_the_host() -> None:
    (hit,) = scan_text(f"u = 'https://deploy:{t.password(9)}@Git.Example.ORG/r'\n", "a.py")
    assert hit.host == "git.example.org"
