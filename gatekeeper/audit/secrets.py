"""Audits of the secrets evidence: every ``secrets/`` rule of RULES.md.

A finding's fingerprint is keyed on the sha256 of the secret's value (never the value),
so the same credential at the same path keeps one fingerprint whether it was found in the
tree, in the staged change or in a commit of the range, and whatever line it moves to.

Severities are the rules' defaults for a credential in ordinary code or configuration; the
context model (``gatekeeper.secrets.context``) lowers them for test, example and docs paths,
reserved and loopback hosts, placeholders and key material only tests use, and the message
says why. Nothing is dropped: every hit is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.secrets import SecretHit, SecretsEvidence
from gatekeeper.secrets.context import Assessment, KeyUse, assess

PRIVATE_KEY = Rule(
    "secrets/private-key",
    Severity.CRITICAL,
    summary="a PEM/OpenSSH private key block",
    help="Anyone who can read the repository can use the key, and it stays in the history "
    "after the file is deleted. Revoke the key, issue a new one kept in a secret store, "
    "and remove the file (from the history too if the repository is public). A key under a "
    "test path, or one that only tests name, is test input: medium.",
)
AWS_ACCESS_KEY = Rule(
    "secrets/aws-access-key",
    Severity.HIGH,
    summary="an AWS access key id (`AKIA`/`ASIA` + 16) — with its secret nearby: critical",
    help="With its secret key an access key id can do whatever its IAM user or role may do. "
    "Deactivate the key in IAM, create a new one kept in a secret store, and check "
    "CloudTrail for its use.",
)
GITHUB_TOKEN = Rule(
    "secrets/github-token",
    Severity.CRITICAL,
    summary="`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_` tokens",
    help="A GitHub token acts as its owner on every repository it reaches. Revoke it (the "
    "account's or the organisation's token settings) and keep the replacement in a secret "
    "store.",
)
GITLAB_TOKEN = Rule(
    "secrets/gitlab-token",
    Severity.CRITICAL,
    summary="GitLab tokens: `glpat-` and the other documented prefixes (`glptt-`, `gldt-`, "
    "`glrt-`, `glcbt-`, `gloas-`, …)",
    help="A GitLab personal access token acts as its owner on every project it reaches. Revoke "
    "it in the user's access-token settings and keep the replacement in a secret store.",
)
SLACK_TOKEN = Rule(
    "secrets/slack-token",
    Severity.HIGH,
    summary="`xox[baprs]-` tokens and Slack webhook URLs",
    help="A Slack token or webhook lets anyone post as the app, or read what it can read: a "
    "ready-made phishing channel. Revoke it in the Slack app's settings and keep the "
    "replacement in a secret store.",
)
STRIPE_KEY = Rule(
    "secrets/stripe-key",
    Severity.CRITICAL,
    summary="`sk_live_` / `rk_live_` keys",
    help="A live Stripe key can create charges and refunds and read customer data. Roll the "
    "key in the Stripe dashboard and keep the new one in a secret store.",
)
GOOGLE_API_KEY = Rule(
    "secrets/google-api-key",
    Severity.HIGH,
    summary="`AIza` + 35",
    help="A Google API key is billed to its project and reaches every API it is not restricted "
    "from. Delete or restrict it in the Cloud console and keep the replacement out of the "
    "repository.",
)
NPM_TOKEN = Rule(
    "secrets/npm-token",
    Severity.CRITICAL,
    summary="`npm_` + 36",
    help="An npm token can publish new versions of every package its owner maintains, which "
    "reaches everyone downstream. Revoke it (`npm token revoke`) and publish from CI with "
    "a secret or trusted publishing.",
)
PYPI_TOKEN = Rule(
    "secrets/pypi-token",
    Severity.CRITICAL,
    summary="`pypi-AgE` tokens",
    help="A PyPI token can upload releases of the projects it is scoped to. Revoke it in the "
    "PyPI account settings; prefer trusted publishing from CI.",
)
VENDOR_TOKEN = Rule(
    "secrets/vendor-token",
    Severity.HIGH,
    summary="a token in another vendor's documented format (Anthropic, OpenAI, Hugging Face, "
    "HashiCorp, Databricks, Shopify, Twilio, SendGrid, DigitalOcean, Azure, … : the message "
    "names it)",
    help="A vendor token acts for its owner on that vendor's service: reading data, running "
    "workloads billed to the account, sending mail or messages in its name. Revoke it in the "
    "vendor's console and keep the replacement in a secret store.",
)
JWT = Rule(
    "secrets/jwt",
    Severity.MEDIUM,
    summary="a signed JSON Web Token",
    help="A JWT is a bearer credential until it expires: whoever holds it is its subject. "
    "Check whether it is still valid, revoke the session or rotate the signing key, and "
    "keep tokens out of files.",
)
URL_CREDENTIALS = Rule(
    "secrets/url-credentials",
    Severity.HIGH,
    summary="`scheme://user:password@host` with a literal password (a placeholder password or "
    "a reserved host such as example.com: info; localhost: low)",
    help="The password travels with every copy of the URL, into logs and error messages too. "
    "Change it and pass it separately (an environment variable, a credential helper, a "
    "secret).",
)
DOCKER_AUTH = Rule(
    "secrets/docker-auth",
    Severity.HIGH,
    summary="an `auths` entry with an `auth` value in a Docker config",
    help="An `auth` value is the base64 of the registry user and password: it can push images "
    "as that account. Change the password or token and log in at run time (`docker login "
    "--password-stdin` from a secret).",
)
CONFIG_FILE_CREDENTIALS = Rule(
    "secrets/config-file-credentials",
    Severity.HIGH,
    summary="a credential in a tool's config file: `.npmrc` `_authToken`/`_password`, `.pypirc` "
    "password, `.netrc` password, kubeconfig token or client key, Maven `settings.xml` "
    "password, `.env` secrets",
    help="A tool reads its config file in every command run in that directory, and the file is "
    "easily committed with the project. Revoke the credential and point the tool at an "
    "environment variable or a secret provided at run time.",
)
GENERIC_ASSIGNMENT = Rule(
    "secrets/generic-assignment",
    Severity.HIGH,
    summary="a high-entropy literal or a well-known weak password assigned to a name like "
    "password, secret, token, api_key (references such as `${VAR}` and `${{ secrets.X }}` do "
    "not fire; explicit placeholders such as `changeme` are info)",
    help="A random-looking value assigned to a name like password or token is most likely a "
    "real credential. Rotate it if it is one, and read it from the environment or a "
    "secret store; when it is test data, keep it under a test or fixture path or add an "
    "exception.",
)
# What each detector's finding calls the credential.
_LABELS: dict[str, str] = {
    "private-key": "private key",
    "aws-access-key": "AWS access key id",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "stripe-key": "Stripe live key",
    "google-api-key": "Google API key",
    "npm-token": "npm access token",
    "pypi-token": "PyPI API token",
    "vendor-token": "vendor token",
    "jwt": "signed JSON Web Token",
    "url-credentials": "password in a URL",
    "docker-auth": "Docker registry credential",
    "config-file-credentials": "credential in a tool's config file",
    "generic-assignment": "high-entropy literal",
}


class SecretsAudit:
    evidence_kind: ClassVar[str] = "secrets"
    summary: ClassVar[str] = "credentials in configs, scripts and the change"
    rules: ClassVar[RuleSet] = RuleSet(
        PRIVATE_KEY,
        AWS_ACCESS_KEY,
        GITHUB_TOKEN,
        GITLAB_TOKEN,
        SLACK_TOKEN,
        STRIPE_KEY,
        GOOGLE_API_KEY,
        NPM_TOKEN,
        PYPI_TOKEN,
        VENDOR_TOKEN,
        JWT,
        URL_CREDENTIALS,
        DOCKER_AUTH,
        CONFIG_FILE_CREDENTIALS,
        GENERIC_ASSIGNMENT,
    )

    def run(self, evidence: SecretsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        # Tree and staged hits first: a secret still present is reported where it is now.
        order = {"tree": 0, "staged": 0, "history": 1}
        for hit in sorted(evidence.hits, key=lambda h: (order[h.source], h.path, h.line)):
            label = _LABELS[hit.detector]
            verdict = self._assess(hit)
            where = ""
            if hit.source == "history":
                where = f" (added in commit {(hit.commit or '')[:12]})"
            elif hit.source == "staged":
                where = " (staged)"
            detail = f", {hit.detail}" if hit.detail else ""
            yield Finding.make(
                f"secrets/{hit.detector}",
                verdict.severity,
                f"{label}{detail}: {hit.redacted} sha256:{hit.fingerprint[:16]}{where}"
                + verdict.note(),
                path=hit.path,
                line=hit.line,
                key=hit.fingerprint,
            )

    def _assess(self, hit: SecretHit) -> Assessment:
        default = self.rules[f"secrets/{hit.detector}"]
        if hit.detector == "aws-access-key" and hit.paired:
            default = Severity.CRITICAL
        use = None
        if hit.detector == "private-key":
            use = KeyUse(hit.used_by, hit.used_by_all)
        return assess(default, path=hit.path, shape=hit.shape, host=hit.host, use=use)


AUDITS = (SecretsAudit,)
