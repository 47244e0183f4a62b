"""Vendor token formats: each fires on a token of its documented shape and stays quiet on a
near-miss (one character short, a wrong prefix or alphabet, inside a longer word).

Tokens are built at run time from seeded random bodies, so no literal token sits in the tree.
"""

# ruff: noqa: S311  (seeded fakes for tests, not cryptography)
from __future__ import annotations

import json
import random
import re
import string
import uuid
from pathlib import Path

import pytest

from gatekeeper.secrets import scan_text
from gatekeeper.secrets.vendors import VENDORS, is_example_key, searchable

ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"
UPPER_ALNUM = string.ascii_uppercase + string.digits


def r(n: int, alphabet: str = ALNUM, seed: int = 0) -> str:
    rng = random.Random(seed * 1000 + n)
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        # a generated body has variety (no accidental stand-in marker such as 0000 or abc123)
        low = value.lower()
        if not any(p in low for p in ("0000", "aaaa", "xxxx", "1234", "abc", "123", "test")):
            return value


def u(seed: int = 0) -> str:
    return str(uuid.UUID(int=random.Random(seed).getrandbits(128)))


# (vendor name as the finding says it, a token, a near-miss)
CASES: list[tuple[str, str, str]] = [
    ("Anthropic API key", "sk-ant-api03-" + r(93, B64URL) + "AA", "sk-ant-api03-" + r(40, B64URL)),
    (
        "OpenAI API key",
        "sk-proj-" + r(20, B64URL) + "T3BlbkFJ" + r(20, B64URL),
        "sk-proj-" + r(20, B64URL) + "T3BlbkFX" + r(20, B64URL),
    ),
    (
        "Hugging Face token",
        "hf_" + r(34, string.ascii_letters),
        "hf_" + r(33, string.ascii_letters),
    ),
    (
        "Hugging Face organization token",
        "api_org_" + r(34, string.ascii_letters),
        "api_org_" + r(34, string.ascii_letters) + "9",
    ),
    ("Perplexity API key", "pplx-" + r(48), "pplx-" + r(47)),
    ("Groq API key", "gsk_" + r(52), "gsk_" + r(51)),
    ("xAI API key", "xai-" + r(80), "xai-" + r(79)),
    ("Replicate API token", "r8_" + r(37), "r8_" + r(36)),
    ("Alibaba Cloud AccessKey id", "LTAI" + r(20), "LTAi" + r(20)),
    (
        "Azure AD client secret",
        r(3, ALNUM) + "8Q~" + r(34, ALNUM + "_~."),
        r(3, ALNUM) + "8Q-" + r(34, ALNUM),
    ),
    (
        "Azure DevOps personal access token",
        r(52) + "AZDO" + r(28),
        r(52) + "AZDX" + r(28),
    ),
    (
        "Azure storage account key",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + r(86, ALNUM + "+/") + "==",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + r(40, ALNUM) + "==",
    ),
    ("DigitalOcean token", "dop_v1_" + r(64, HEX), "dop_v2_" + r(64, HEX)),
    ("Heroku API key", "HRKU-AA" + r(58, B64URL), "HRKU-AB" + r(58, B64URL)),
    ("Fly.io token", "fo1_" + r(43, B64URL), "fo1_" + r(42, B64URL)),
    (
        "Cloudflare Origin CA key",
        "v1.0-" + r(24, HEX) + "-" + r(146, HEX),
        "v1.0-" + r(24, HEX) + "-" + r(100, HEX),
    ),
    ("Databricks token", "dapi" + r(32, HEX), "dapi" + r(31, HEX)),
    ("Dropbox short-lived access token", "sl." + r(140, B64URL), "sl." + r(60, B64URL)),
    ("Scalingo API token", "tk-us-" + r(48, B64URL), "tk-us-" + r(47, B64URL)),
    ("Supabase token", "sbp_" + r(40, HEX), "sbp_" + r(39, HEX)),
    ("Tailscale key", "tskey-api-" + r(12) + "-" + r(30), "tskey-api-" + r(12)),
    ("Docker Hub token", "dckr_pat_" + r(27, B64URL), "dckr_pat_" + r(20, B64URL)),
    ("OpenShift user token", "sha256~" + r(43, B64URL), "sha256~" + r(42, B64URL)),
    ("Yandex Cloud API key", "AQVN" + r(38, B64URL), "AQVN" + r(20, B64URL)),
    (
        "Yandex Cloud IAM token",
        "t1." + r(40, B64URL) + "." + r(86, B64URL),
        "t1." + r(40, B64URL) + "." + r(60, B64URL),
    ),
    ("Google OAuth client secret", "GOCSPX-" + r(28, B64URL), "GOCSPX-" + r(27, B64URL)),
    ("Google OAuth access token", "ya29." + r(60, B64URL), "ya29." + r(20, B64URL)),
    ("HashiCorp Vault token", "hvs." + r(90, B64URL), "hvs." + r(20, B64URL)),
    (
        "Terraform Cloud API token",
        r(14) + ".atlasv1." + r(67, B64URL),
        r(14) + ".atlasv2." + r(67, B64URL),
    ),
    ("Doppler token", "dp.pt." + r(43), "dp.xx." + r(43)),
    ("Pulumi access token", "pul-" + r(40, HEX), "pul-" + r(39, HEX)),
    ("Postman API key", "PMAK-" + r(24, HEX) + "-" + r(34, HEX), "PMAK-" + r(24, HEX)),
    ("Prefect API key", "pnu_" + r(36), "pnu_" + r(35)),
    ("Linear API key", "lin_api_" + r(40), "lin_api_" + r(39)),
    ("Grafana Cloud token", "glc_" + r(60, ALNUM + "+/"), "glc_" + r(20)),
    ("Grafana service account token", "glsa_" + r(32) + "_" + r(8, HEX), "glsa_" + r(32)),
    ("Grafana API key", "eyJrIjoi" + r(80), "eyJrIjoi" + r(40)),
    (
        "Harness access token",
        "pat." + r(22) + "." + r(24) + "." + r(20),
        "pat." + r(22) + "." + r(24),
    ),
    ("Atlassian API token", "ATATT3" + r(186, B64URL + "="), "ATATT3" + r(100, B64URL)),
    ("Bitbucket app password", "ATBB" + r(32), "ATBB" + r(20)),
    ("JFrog Artifactory API key", "AKCp" + r(69), "AKCp" + r(68)),
    ("JFrog Artifactory reference token", "cmVmd" + r(59), "cmVmd" + r(58)),
    ("Sourcegraph access token", "sgp_" + r(16, HEX) + "_" + r(40, HEX), "sgp_" + r(39, HEX)),
    ("Sentry user auth token", "sntryu_" + r(64, HEX), "sntryu_" + r(63, HEX)),
    ("Sentry organization token", "sntrys_eyJ" + r(80, B64URL), "sntrys_eyJ" + r(30)),
    ("Octopus Deploy API key", "API-" + r(26, UPPER_ALNUM), "API-" + r(25, UPPER_ALNUM)),
    ("Infracost API token", "ico-" + r(32), "ico-" + r(31)),
    (
        "Defined Networking API token",
        "dnkey-" + r(26, LOWER_ALNUM) + "-" + r(52, LOWER_ALNUM),
        "dnkey-" + r(26, LOWER_ALNUM),
    ),
    ("PlanetScale credential", "pscale_pw_" + r(43, B64URL), "pscale_pw_" + r(20)),
    ("Frame.io API token", "fio-u-" + r(64, B64URL), "fio-u-" + r(63, B64URL)),
    ("Clojars deploy token", "CLOJARS_" + r(60, LOWER_ALNUM), "CLOJARS_" + r(59, LOWER_ALNUM)),
    ("RubyGems API key", "rubygems_" + r(48, HEX), "rubygems_" + r(47, HEX)),
    ("NuGet API key", "oy2" + r(43, LOWER_ALNUM), "oy2" + r(42, LOWER_ALNUM)),
    ("ReadMe API key", "rdme_" + r(70, LOWER_ALNUM), "rdme_" + r(69, LOWER_ALNUM)),
    ("Private Packagist token", "packagist_uat_" + r(68, HEX), "packagist_uat_" + r(67, HEX)),
    (
        "age secret key",
        "AGE-SECRET-KEY-1" + r(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
        "AGE-SECRET-KEY-1" + r(57, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
    ),
    (
        "1Password secret key",
        "A3-" + "-".join(r(n, UPPER_ALNUM, i) for i, n in enumerate((6, 11, 5, 5, 5))),
        "A3-" + "-".join(r(n, UPPER_ALNUM, i) for i, n in enumerate((6, 11, 5, 5))),
    ),
    ("1Password service account token", "ops_eyJ" + r(300, ALNUM + "+/"), "ops_eyJ" + r(40)),
    ("Adafruit IO key", "aio_" + r(28), "aio_" + r(27)),
    ("Airtable personal access token", "pat" + r(14) + "." + r(64, HEX), "pat" + r(14)),
    (
        "Authress service client key",
        "sc_"
        + r(10, LOWER_ALNUM)
        + "."
        + r(4, LOWER_ALNUM)
        + ".acc_"
        + r(10, LOWER_ALNUM)
        + "."
        + r(40, LOWER_ALNUM),
        "sc_" + r(10, LOWER_ALNUM) + "." + r(4, LOWER_ALNUM),
    ),
    ("Dynatrace API token", "dt0c01." + r(24) + "." + r(64), "dt0c01." + r(24)),
    ("New Relic key", "NRAK-" + r(27, UPPER_ALNUM), "NRAK-" + r(26, UPPER_ALNUM)),
    ("Shopify token", "shpat_" + r(32, HEX), "shpat_" + r(31, HEX)),
    ("Square credential", "sq0csp-" + r(43, B64URL), "sq0csp-" + r(42, B64URL)),
    ("Shippo API token", "shippo_live_" + r(40, HEX), "shippo_live_" + r(39, HEX)),
    ("Duffel API token", "duffel_live_" + r(43, B64URL), "duffel_live_" + r(42, B64URL)),
    ("EasyPost API key", "EZAK" + r(54), "EZAK" + r(53)),
    (
        "Flutterwave key",
        "FLWSECK_TEST-" + r(32, "abcdefgh0123456789") + "-X",
        "FLWSECK_TEST-" + r(31, "abcdefgh0123456789") + "-X",
    ),
    (
        "Plaid access token",
        "access-production-" + u(1),
        "access-staging-" + u(1),
    ),
    ("Twilio API key", "SK" + r(32, HEX), "SK" + r(31, HEX)),
    ("SendGrid API key", "SG." + r(22, B64URL) + "." + r(43, B64URL), "SG." + r(22, B64URL)),
    (
        "Brevo (Sendinblue) API key",
        "xkeysib-" + r(64, HEX) + "-" + r(16),
        "xkeysib-" + r(64, HEX),
    ),
    ("Mailgun key", "key-" + r(32, HEX), "key-" + r(31, HEX)),
    ("Mailchimp API key", r(32, HEX) + "-us12", r(31, HEX) + "-us12"),
    ("Telegram bot token", "123987456:AA" + r(33, B64URL), "123987456:BA" + r(33, B64URL)),
    (
        "Discord webhook",
        "https://discord.com/api/webhooks/918273645501928374/" + r(68, B64URL),
        "https://discord.com/api/webhooks/918273645501928374/" + r(20, B64URL),
    ),
    (
        "Microsoft Teams webhook",
        f"https://contoso.webhook.office.com/webhookb2/{u(1)}@{u(2)}/IncomingWebhook/"
        + r(32, HEX)
        + "/"
        + u(3),
        f"https://contoso.webhook.office.com/webhookb2/{u(1)}@{u(2)}/IncomingWebhook/",
    ),
    ("Typeform token", "tfp_" + r(59, B64URL), "tfp_" + r(58, B64URL)),
    ("Contentful token", "CFPAT-" + r(43, B64URL), "CFPAT-" + r(42, B64URL)),
    ("Notion integration token", "ntn_" + r(11, string.digits) + r(35), "ntn_" + r(40)),
    ("Mapbox secret token", "sk.eyJ" + r(60, B64URL) + "." + r(22, B64URL), "pk.eyJ" + r(60)),
    ("MaxMind license key", r(6) + "_" + r(29) + "_mmk", r(6) + "_" + r(28) + "_mmk"),
    ("Facebook access token", "EAAB" + r(120), "EAAB" + r(60)),
    ("Settlemint token", "sm_pat_" + r(16, LOWER_ALNUM), "sm_pat_" + r(10, LOWER_ALNUM)),
    ("ClickHouse Cloud key secret", "4b1d" + r(38), "4b1d" + r(37)),
    ("Intra42 client secret", "s-s4t2ud-" + r(64, HEX), "s-s4t2ud-" + r(63, HEX)),
    (
        "Slack app-level token",
        "xapp-1-A" + r(10, UPPER_ALNUM) + "-" + r(13, string.digits) + "-" + r(64, HEX),
        "xapp-A" + r(10, UPPER_ALNUM),
    ),
    ("Slack configuration token", "xoxe.xoxp-1-" + r(160, UPPER_ALNUM), "xoxe.xoxp-1-" + r(40)),
    (
        "Sidekiq Enterprise credential",
        "BUNDLE_ENTERPRISE__CONTRIBSYS__COM=" + r(8, HEX, 1) + ":" + r(8, HEX, 2),
        "BUNDLE_ENTERPRISE__CONTRIBSYS__COM=" + r(8, HEX),
    ),
    ("Adobe client secret", "p8e-" + r(32), "p8e-" + r(31)),
    ("Lob API key", "live_" + r(35, HEX), "live_" + r(20, HEX)),
    (
        "Facebook app access token",
        "1308742762612587|" + r(27, B64URL),
        "1308742762612587|" + r(20, B64URL),
    ),
]


def vendor_hits(text: str, path: str = "deploy/settings.conf") -> list[tuple[str, str]]:
    return [
        (hit.detail, hit.shape) for hit in scan_text(text, path) if hit.detector == "vendor-token"
    ]


def test_every_vendor_format_has_a_case() -> None:
    assert {name for name, _, _ in CASES} == {vendor.name for vendor in VENDORS}
    assert len(VENDORS) >= 60


@pytest.mark.parametrize(("name", "token", "near"), CASES, ids=[c[0] for c in CASES])
def test_vendor_token_fires(name: str, token: str, near: str) -> None:
    assert (name, "generated") in vendor_hits(f"value = {token}\n")


@pytest.mark.parametrize(("name", "token", "near"), CASES, ids=[c[0] for c in CASES])
def test_vendor_near_miss_does_not_fire(name: str, token: str, near: str) -> None:
    assert name not in [detail for detail, _ in vendor_hits(f"value = {near}\n")]


@pytest.mark.parametrize(("name", "token", "near"), CASES[:12], ids=[c[0] for c in CASES[:12]])
def test_vendor_token_inside_a_longer_word_or_file_name_does_not_fire(
    name: str, token: str, near: str
) -> None:
    assert name not in [detail for detail, _ in vendor_hits(f"value = asset.{token}x9\n")]


def test_a_regular_body_is_a_placeholder() -> None:
    assert vendor_hits("key = dapi" + "0" * 32 + "\n") == [("Databricks token", "placeholder")]
    assert vendor_hits("key = hf_" + "a" * 34 + "\n") == [("Hugging Face token", "placeholder")]


def test_published_example_keys_are_placeholders_by_fingerprint() -> None:
    key = "AIza" + "SyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs"  # a firebase-android-sdk sample key
    assert is_example_key(key)
    hits = scan_text(f"apiKey: {key}\n", "app/config.yaml")
    assert [(h.detector, h.shape) for h in hits] == [("google-api-key", "placeholder")]
    other = "AIza" + r(35, B64URL)
    assert not is_example_key(other)
    assert [h.shape for h in scan_text(f"apiKey: {other}\n", "app/config.yaml")] == ["generated"]


def test_vendor_tokens_in_binary_content_are_found() -> None:
    from gatekeeper.secrets import scan_binary

    token = "dop_v1_" + r(64, HEX)
    data = b"\x00\x01\x02" * 50 + token.encode() + b"\x00\xff" * 50
    assert [h.detail for h in scan_binary(data)] == ["DigitalOcean token"]


def test_vendor_tokens_are_redacted_in_evidence_strings() -> None:
    from gatekeeper.secrets.classify import redact_text

    token = "sntryu_" + r(64, HEX)
    cleaned = redact_text(f"curl -H 'X-Sentry: {token}' https://sentry.io")
    assert token not in cleaned
    assert "sntr…(71 chars)" in cleaned


@pytest.mark.parametrize(
    "prefix", ["glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "gloas-", "glft-", "glimt-"]
)
def test_gitlab_token_prefixes(prefix: str) -> None:
    token = prefix + r(20, B64URL, 3)
    assert [h.detector for h in scan_text(f"token = {token}\n", "ci/deploy.env.txt")] == [
        "gitlab-token"
    ]
    near = "xl" + prefix[2:] + r(20, B64URL, 3)
    assert "gitlab-token" not in [h.detector for h in scan_text(f"x = {near}\n", "a.txt")]


def test_vendor_finding_names_the_vendor_blocks_and_never_holds_the_token(
    tmp_path: Path,
) -> None:
    from gatekeeper.cli import main

    token = "dop_v1_" + r(64, HEX, 8)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "do.yaml").write_text(f"do_api: {token}\n")
    out = tmp_path / "report.json"
    code = main(
        ["check", str(tmp_path), "--only", "secrets", "--format", "json", "--output", str(out)]
    )
    report = out.read_text()
    assert code == 1
    assert token not in report and token[7:30] not in report
    finding = json.loads(report)["findings"][0]
    assert finding["rule"] == "secrets/vendor-token"
    assert finding["severity"] == "high"
    assert "DigitalOcean token" in finding["message"]


def test_a_vendor_token_in_a_test_path_is_lowered() -> None:
    from gatekeeper.models.finding import Severity
    from gatekeeper.secrets.context import assess

    verdict = assess(Severity.HIGH, path="tests/fixtures/do.yaml", shape="generated")
    assert verdict.severity == Severity.MEDIUM


# What may stand before a token: nothing, a separator, a character of a longer word, path or
# number (where the token must not fire), and the start of the searched span.
_BEFORE = ("", " ", "=", '"', "x", "9", ".", "-", "_", "~", "/", "1234567890")


@pytest.mark.parametrize(("name", "token", "near"), CASES, ids=[c[0] for c in CASES])
def test_a_searchable_pattern_finds_exactly_what_its_regex_finds(
    name: str, token: str, near: str
) -> None:
    """The pattern searched (its lookbehind moved after the token's first characters) and the
    documented regex agree on every token and near-miss, after every kind of character, at
    the start of a text and at the start of a span searched inside one."""
    vendor = next(v for v in VENDORS if v.name == name)
    documented = re.compile(vendor.regex, vendor.flags)
    for value in (token, near, token[: len(token) // 2], token + "Z", token.upper()):
        for before in _BEFORE:
            text = f"{before}{value} tail"
            for pos in (0, len(before)):
                got = [m.span(1) for m in vendor.pattern.finditer(text, pos)]
                assert got == [m.span(1) for m in documented.finditer(text, pos)], (before, pos)


def test_searchable_moves_the_lookbehind_after_the_first_characters_only_when_it_can() -> None:
    assert searchable(r"(?<![A-Za-z0-9_.-])(pat[A-Za-z0-9]{14})(?![A-Za-z0-9_-])") == (
        r"(pat(?<![A-Za-z0-9_.-]pat)[A-Za-z0-9]{14})(?![A-Za-z0-9_-])"
    )
    # a quantified last character is not part of the literal
    assert searchable(r"(?<![A-Za-z0-9_.-])(abc?d)") == r"(ab(?<![A-Za-z0-9_.-]ab)c?d)"
    assert searchable(r"(?<![0-9])(\d{15,16}\|x)") == r"(\d(?<![0-9]\d)\d{14,15}\|x)"
    for unchanged in (
        r"(?<![A-Za-z0-9_.-])((?:live|test)_[a-f0-9]{31})",  # a group first
        r"(?<![A-Za-z0-9_.-])(ab|cd)",  # an alternation in the token's own group
        r"(?<![A-Za-z0-9_.-])([a-f0-9]{32}-us)",  # a class first
        r"(?<![A-Za-z0-9_~.-])(abc)",  # another boundary
        r"AccountKey=([A-Za-z0-9+/]{86}==)",
    ):
        assert searchable(unchanged) == unchanged
