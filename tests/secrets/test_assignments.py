"""A secret assigned in every common syntax, credentials on command lines and in headers,
Kubernetes Secrets, tool config files; each with a near-miss that must stay quiet."""

# ruff: noqa: S311  (seeded fakes for tests, not cryptography)
from __future__ import annotations

import base64
import random
import string
import uuid
from pathlib import Path

import pytest

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.secrets import SecretsAudit
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.secrets import SecretsCollector
from gatekeeper.models.finding import Severity
from gatekeeper.models.policy import AuditsPolicy
from gatekeeper.secrets import scan_text

ALNUM = string.ascii_letters + string.digits


def secret(n: int = 24, seed: int = 5) -> str:
    rng = random.Random(seed)
    while True:
        value = "".join(rng.choice(ALNUM) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


S = secret()
_RNG = random.Random(7)
HEX40 = "".join(_RNG.choice("0123456789abcdef") for _ in range(40))
UUID = str(uuid.UUID(int=random.Random(9).getrandbits(128)))


def found(text: str, path: str) -> list[tuple[str, str]]:
    return [(h.detector, h.shape) for h in scan_text(text, path)]


ASSIGNMENTS = [
    pytest.param(f'var apiToken string = "{S}"\n', "config.go", id="go-typed-var"),
    pytest.param(f'apiToken := "{S}"\n', "config.go", id="go-short"),
    pytest.param(f"apiToken := `{S}`\n", "config.go", id="go-backticks"),
    pytest.param(f'API_TOKEN ?= "{S}"\n', "Makefile", id="make-conditional"),
    pytest.param(f'API_TOKEN ::= "{S}"\n', "Makefile", id="make-shell"),
    pytest.param(f'API_TOKEN :::= "{S}"\n', "Makefile", id="make-evaluated"),
    pytest.param(f"API_TOKEN := {S}\n", "Makefile", id="make-simple-unquoted"),
    pytest.param(f'System.setProperty("API_TOKEN", "{S}");\n', "App.java", id="java-setproperty"),
    pytest.param(f'String apiToken = "{S}";\n', "App.java", id="java"),
    pytest.param(f'$apiToken .= "{S}";\n', "config.php", id="php-concat"),
    pytest.param(f'$apiToken ??= "{S}";\n', "config.php", id="php-null-coalesce"),
    pytest.param(f"<apiToken>{S}</apiToken>\n", "config.xml", id="xml-element"),
    pytest.param(f"<apiToken>\n    {S}\n</apiToken>\n", "config.xml", id="xml-multiline"),
    pytest.param(
        f'<add key="ClearTextPassword" value="{S}" />\n', "NuGet.config", id="nuget-cleartext"
    ),
    pytest.param(f'val apiToken: String = "{S}"\n', "App.kt", id="kotlin-typed"),
    pytest.param(f'var apiToken = "{S}"\n', "App.kt", id="kotlin"),
    pytest.param(f'let api_token: &str = "{S}";\n', "main.rs", id="rust-typed"),
    pytest.param(f'const apiToken: string = "{S}";\n', "app.ts", id="typescript-typed"),
    pytest.param(f'string apiToken = "{S}";\n', "App.cs", id="csharp"),
    pytest.param(f'@api_token ||= "{S}"\n', "app.rb", id="ruby-or-assign"),
    pytest.param(f'client = Client(api_key="{S}")\n', "app.py", id="python-kwarg"),
    pytest.param(f'def apiToken = "{S}"\n', "build.groovy", id="groovy"),
    pytest.param(f"api_token: {S}\n", "app.yaml", id="yaml"),
    pytest.param(f'api_token = "{S}"\n', "app.toml", id="toml"),
    pytest.param(f"api_token = {S}\n", "app.ini", id="ini"),
    pytest.param(f'{{"api_token": "{S}"}}\n', "app.json", id="json"),
    pytest.param(f"export API_TOKEN={S}\n", "deploy.sh", id="shell"),
    pytest.param(f'  api_token = "{S}"\n', "main.tf", id="hcl"),
    pytest.param(f"ENV API_TOKEN={S}\n", "Dockerfile", id="dockerfile-env"),
    pytest.param(f"ARG API_TOKEN={S}\n", "Dockerfile", id="dockerfile-arg"),
    pytest.param(f'  "apiToken" => "{S}"\n', "logstash.conf", id="logstash"),
    pytest.param(f'heroku_api_key = "{UUID}"\n', "settings.py", id="uuid-under-key-name"),
    pytest.param(f'algolia_api_key: "{HEX40}"\n', "app.yaml", id="hex-under-key-name"),
    pytest.param(f'vault_token: "s.{secret(24, 11)}"\n', "app.yaml", id="dotted-vault-token"),
]


@pytest.mark.parametrize(("text", "path"), ASSIGNMENTS)
def test_assignment_form_fires(text: str, path: str) -> None:
    assert ("generic-assignment", "generated") in found(text, path) or (
        "config-file-credentials",
        "generated",
    ) in found(text, path)


NEAR_MISSES = [
    pytest.param(f'var apiTokenURL string = "{S}"\n', "config.go", id="go-pointer-name"),
    pytest.param(f'API_VERSION ?= "{S}"\n', "Makefile", id="make-no-secret-name"),
    pytest.param(f'System.setProperty("API_TIMEOUT", "{S}");\n', "App.java", id="setproperty"),
    pytest.param(f"String apiToken = getToken({S});\n", "App.java", id="java-expression"),
    pytest.param(f"check(token, {S})\n", "app.py", id="comma-argument-list"),
    pytest.param(
        'assign("pypi_token", "pypi-AgEIcHlwaS5vcmc" + random_part(120))\n',
        "bench/corpus.py",
        id="start-of-a-concatenation",
    ),
    pytest.param(
        "User.find(1).reset_password('password123', 'password123')\n",
        "lib/models/recoverable.rb",
        id="comma-two-values",
    ),
    pytest.param(f"<apiVersion>{S}</apiVersion>\n", "config.xml", id="xml-other-element"),
    pytest.param(
        "<apiToken>${env.API_TOKEN}</apiToken>\n", "config.xml", id="xml-element-reference"
    ),
    pytest.param(f'<add key="Timeout" value="{S}" />\n', "NuGet.config", id="nuget-other-key"),
    pytest.param(f'commit_sha = "{HEX40}"\n', "settings.py", id="hex-under-other-name"),
    pytest.param(f'request_id = "{UUID}"\n', "settings.py", id="uuid-under-other-name"),
    pytest.param(
        "vault_token: settings.VAULT_TOKEN_NAME\n", "app.yaml", id="dotted-identifier-reference"
    ),
    pytest.param(
        'notes = "io.jsonwebtoken:jjwt-api, token:Zx9kQ2mA7pLr3Tt8Vb"\n',
        "build.gradle",
        id="token-inside-a-string-value",
    ),
    pytest.param("API_TOKEN={ApiToken}\nDB_PASSWORD={DatabasePassword}\n", ".env", id="braces"),
    pytest.param(
        "export OP_SERVICE_ACCOUNT_TOKEN=ops_eyJzaWduSW5BZGRyZXNzIjoiaHR0cHM6...\n",
        "README.txt",
        id="value-shown-cut-short",
    ),
]


@pytest.mark.parametrize(("text", "path"), NEAR_MISSES)
def test_assignment_near_miss_is_quiet(text: str, path: str) -> None:
    assert [shape for _, shape in found(text, path) if shape != "placeholder"] == []


def test_key_shaped_stand_in_under_a_key_name_is_info() -> None:
    text = 'const HEROKU_API_KEY = "12345678-ABCD-ABCD-ABCD-1234567890AB"\n'
    assert found(text, "config.go") == [("generic-assignment", "placeholder")]


# --- command lines and headers -----------------------------------------------------------------

PASSWORD = secret(16, 21)
BASIC = base64.b64encode(f"deploy:{PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"curl -u deploy:{PASSWORD} https://api.internal.io/v1\n",
        f"curl --user 'deploy:{PASSWORD}' https://api.internal.io/v1\n",
        f'curl --user="deploy:{PASSWORD}" https://api.internal.io/v1\n',
        f'curl -u ":{PASSWORD}" https://api.internal.io/v1\n',
        f'curl -H "Authorization: Basic {BASIC}" https://api.internal.io/v1\n',
        f'curl -H "Authorization: Bearer {S}" https://api.internal.io/v1\n',
        f'headers = {{"Authorization": "Bearer {S}"}}\n',
        # braces around a value do not make it a format field: only an index or a short name
        f"curl -u deploy:{{{PASSWORD}}} https://api.internal.io/v1\n",
        "curl -u deploy:{Zx9k} https://api.internal.io/v1\n",
    ],
)
def test_http_credentials_fire(text: str) -> None:
    assert ("generic-assignment", "generated") in found(text, "scripts/deploy.sh")


@pytest.mark.parametrize(
    "text",
    [
        'curl -u "$USER:$PASSWORD" https://api.internal.io/v1\n',
        'curl -u "${{ secrets.USER }}:${{ secrets.PASS }}" https://api.internal.io/v1\n',
        "curl --user neo4j:[PASSWORD] http://db.internal.io:7474/db/data/\n",
        "curl -u <user:password> https://api.internal.io\n",
        'curl -H "Authorization: Bearer $TOKEN" https://api.internal.io/v1\n',
        'curl -H "Authorization: Bearer XXXXXXXXXXXX" https://api.internal.io/v1\n',
        'curl -H "Authorization: Basic ..." https://api.internal.io/v1\n',
        f"tar -u deploy:{PASSWORD} archive.tar\n",  # no curl: -u is another program's flag
        # format fields filled in by str.format / .NET: no literal is written down
        "curl --user admin:{S} https://api.internal.io\n",
        'cmd = "curl -u admin:{0} https://api.internal.io".format(password)\n',
        'cmd = "curl -u admin:{} https://api.internal.io".format(password)\n',
        'cmd = "curl -u admin:{pw!r} https://api.internal.io"\n',
    ],
)
def test_http_credentials_near_miss(text: str) -> None:
    assert [shape for _, shape in found(text, "scripts/deploy.sh") if shape != "placeholder"] == []


# --- Kubernetes Secrets ------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_kubernetes_secret_data_is_decoded_and_string_data_read() -> None:
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  username: {_b64('app')}\n"
        "  # the database password\n"
        f"  password: {_b64(PASSWORD)}\n"
        f"  tls.crt: {_b64('-----BEGIN CERTIFICATE-----x')}\n"
        f"stringData:\n  api-key: {S}\n"
    )
    hits = [(h.detail, h.shape) for h in scan_text(manifest, "k8s/db-secret.yaml")]
    assert hits == [
        ("Kubernetes Secret data.password", "generated"),
        ("Kubernetes Secret stringData.api-key", "generated"),
    ]


def test_kubernetes_secret_block_scalar_and_dockercfg() -> None:
    config = _b64('{"auths":{"registry.internal.io":{"auth":"' + _b64("u:" + PASSWORD) + '"}}}')
    manifest = (
        "apiVersion: v1\ndata:\n  .dockerconfigjson: |\n"
        f"    {config}\n"
        "kind: Secret\nmetadata:\n  name: pull\ntype: kubernetes.io/dockerconfigjson\n"
    )
    assert [h.detail for h in scan_text(manifest, "k8s/pull.yaml")] == [
        "Kubernetes Secret data..dockerconfigjson"
    ]


def test_configmap_data_is_not_a_secret() -> None:
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  blob: {_b64(S)}\n"
    assert scan_text(manifest, "k8s/config.yaml") == []


def test_command_line_and_header_credentials_are_redacted_in_evidence() -> None:
    from gatekeeper.secrets.classify import redact_text

    line = f'curl -u deploy:{PASSWORD} -H "Authorization: Bearer {S}" https://api.internal.io'
    cleaned = redact_text(line)
    assert PASSWORD not in cleaned and S not in cleaned
    assert "https://api.internal.io" in cleaned


HEX32 = HEX40[:32]


def test_an_algolia_search_key_beside_its_app_id_and_index_is_public() -> None:
    # Docusaurus' DocSearch configuration: the search-only key ships to every browser.
    docusaurus = (
        f'algolia: {{\n  appId: "BH4D9OD16A",\n  apiKey: "{HEX32}",\n  indexName: "site",\n}}'
    )
    assert found(docusaurus, "docusaurus.config.js") == [("generic-assignment", "public")]
    minified = f'var c={{appId:"OFCNCOG2CU",apiKey:"{HEX32}",indexName:"npm-search"}},d=1'
    assert found(minified, ".yarn/releases/yarn-4.0.0.cjs") == [("generic-assignment", "public")]


@pytest.mark.parametrize(
    "text",
    [
        # An admin key next to the same settings is a secret.
        f'{{appId: "BH4D9OD16A", adminApiKey: "{HEX32}", indexName: "site"}}',
        # No index named: nothing says this is a search-only client configuration.
        f'{{appId: "BH4D9OD16A", apiKey: "{HEX32}"}}',
        # Longer than Algolia's 32 hex: another vendor's key.
        f'{{appId: "BH4D9OD16A", apiKey: "{HEX40}", indexName: "site"}}',
    ],
    ids=["admin-key", "no-index", "not-32-hex"],
)
def test_other_keys_near_algolia_settings_stay_secrets(text: str) -> None:
    assert found(text, "search.js") == [("generic-assignment", "generated")]


def test_a_public_key_is_info_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "docusaurus.config.js").write_text(
        f'module.exports = {{ algolia: {{ appId: "BH4D9OD16A", apiKey: "{HEX32}", '
        'indexName: "site" } };\n'
    )
    findings = [
        f
        for f in SecretsAudit().run(
            SecretsCollector().collect(CollectContext(repo=tmp_path)),
            AuditContext(policy=AuditsPolicy(), repo=tmp_path),
        )
        if f.rule == "secrets/generic-assignment"
    ]
    # Low, not info: the text cannot tell a search-only key from an admin key put there.
    assert [f.severity for f in findings] == [Severity.LOW]
    assert "Algolia search-only key" in findings[0].message
    assert HEX32 not in findings[0].message
