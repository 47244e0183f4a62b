"""Vendor token formats: one entry per documented format (prefix, alphabet, length).

Each entry names the vendor and the kind of credential, the substrings a text must hold
before its pattern runs (prefilters), the pattern (group 1 is the token), where the random
body starts and the entropy it must reach to be more than a stand-in. The formats are the
ones the vendors document for their keys and tokens: a fixed prefix (``dop_v1_``,
``sk-ant-api03-``, ``hvs.``), a fixed marker inside (OpenAI's ``T3BlbkFJ``, Azure AD's
``Q~``, Azure DevOps' ``AZDO``), an alphabet and a length. Tokens without such a marker
(40 hex characters, a UUID) are no vendor format: they are found as generic assignments,
by the name they are assigned to.

Published example keys (from vendors' documentation and SDK samples) are known by their
sha256 only (``EXAMPLE_KEYS``): such a hit is a placeholder, reported at info.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.secrets._values import (
    is_placeholder,
    is_wordy,
    literal_alternation,
    shannon_entropy,
    value_fingerprint,
)

__all__ = [
    "EXAMPLE_KEYS",
    "VENDORS",
    "Vendor",
    "is_example_key",
    "searchable",
    "vendor_matches",
]


@dataclass(frozen=True)
class Vendor:
    name: str  # what the finding calls it, e.g. "Anthropic API key"
    needles: tuple[str, ...]  # the pattern runs only on text holding one of these
    regex: str  # group 1 is the token
    flags: int
    body_start: int = 0  # where the random part of the token starts
    min_entropy: float = 3.0  # below it, the body is too regular to be issued

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """``regex`` as it is searched (``searchable``): the same matches, found faster."""
        # NOTE: compiled when first needed, not when gatekeeper starts: a pre-commit hook
        # pays for the vendors its change mentions only.
        return re.compile(searchable(self.regex), self.flags)


# A token ends where the characters of its alphabet end.
_B = r"(?![A-Za-z0-9_-])"
_A = r"(?<![A-Za-z0-9_.-])"  # not inside a longer word, path or file name
_NOT_AFTER_DIGIT = r"(?<![0-9])"
# The literal characters a token starts with (`sk-ant-`, `pat`, `ya29\.`), not counting one
# a quantifier applies to; and a run of digits of bounded length (`\d{15,16}`).
# (Patterns compiled when first used, by `re`: no work when gatekeeper starts.)
_LEADING_LITERAL = r"(?:[A-Za-z0-9_~-]|\\\.)+(?![?*+{])"
_LEADING_DIGITS = r"\\d\{([1-9][0-9]*),([1-9][0-9]*)\}"


# Escapes and character classes, whose `(`, `)` and `|` are characters, not groups.
_ESCAPE_OR_CLASS = r"\\.|\[(?:\\.|[^\]\\])*\]"


def _alternation_at_top(group: str) -> bool:
    """Whether ``group`` (a pattern's text from its first group on) has a ``|`` in group 1
    itself rather than in a group nested in it."""
    depth = 1
    for ch in re.sub(_ESCAPE_OR_CLASS, "", group):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return False
        elif ch == "|" and depth == 1:
            return True
    return False


def searchable(regex: str) -> str:
    """``regex`` with its leading lookbehind moved after the token's first characters: the
    same matches (the same characters are checked before the token), but the search skips
    to those characters instead of trying the lookbehind at every position of a window.

    ``(?<![A-Za-z0-9_.-])(pat…)`` becomes ``(pat(?<![A-Za-z0-9_.-]pat)…)`` and
    ``(?<![0-9])(\\d{15,16}…)`` becomes ``(\\d(?<![0-9]\\d)\\d{14,15}…)``; any other
    pattern is returned as it is.
    """
    for before in (_A, _NOT_AFTER_DIGIT):
        if not regex.startswith(before + "(") or regex.startswith(before + "(?"):
            continue
        group = regex[len(before) + 1 :]
        if _alternation_at_top(group):
            return regex
        if before == _A and (lead := re.match(_LEADING_LITERAL, group)) is not None:
            literal = lead.group()
            return "(" + literal + before[:-1] + literal + ")" + group[lead.end() :]
        if before == _NOT_AFTER_DIGIT and (run := re.match(_LEADING_DIGITS, group)) is not None:
            low, high = int(run.group(1)) - 1, int(run.group(2)) - 1
            return rf"(\d{before[:-1]}\d)\d{{{low},{high}}}" + group[run.end() :]
    return regex


def _v(
    name: str,
    needles: tuple[str, ...] | str,
    body: str,
    body_start: int = 0,
    min_entropy: float = 3.0,
    *,
    flags: int = 0,
    before: str = "",
) -> Vendor:
    """A vendor's format: ``body`` is the token; ``before`` what must precede it (a variable
    name, for a format that is only the vendor's by the name it is assigned to)."""
    if isinstance(needles, str):
        needles = (needles,)
    pattern = (before or _A) + "(" + body + ")" + _B
    return Vendor(name, needles, pattern, flags, body_start, min_entropy)


_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

VENDORS: tuple[Vendor, ...] = (
    # AI providers
    _v("Anthropic API key", "sk-ant-", r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,100}AA", 14),
    _v(
        "OpenAI API key",
        "T3BlbkFJ",
        r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}",
        3,
    ),
    _v("Hugging Face token", "hf_", r"hf_[A-Za-z]{34}", 3),
    _v("Hugging Face organization token", "api_org_", r"api_org_[A-Za-z]{34}", 8),
    _v("Perplexity API key", "pplx-", r"pplx-[A-Za-z0-9]{48}", 5),
    _v("Groq API key", "gsk_", r"gsk_[A-Za-z0-9]{52}", 4),
    _v("xAI API key", "xai-", r"xai-[A-Za-z0-9]{80}", 4),
    _v("Replicate API token", "r8_", r"r8_[A-Za-z0-9]{37}", 3),
    # clouds and platforms
    _v("Alibaba Cloud AccessKey id", "LTAI", r"LTAI[A-Za-z0-9]{12,20}", 4, 2.8),
    _v(
        "Azure AD client secret",
        "Q~",
        r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
        5,
        before=r"(?<![A-Za-z0-9_~.,@/+-])",
    ),
    _v("Azure DevOps personal access token", "AZDO", r"[A-Za-z0-9]{52}AZDO[A-Za-z0-9]{28}", 0),
    _v(
        "Azure storage account key",
        "AccountKey=",
        r"[A-Za-z0-9+/]{86}==",
        0,
        before="AccountKey=",
    ),
    _v("DigitalOcean token", ("dop_v1_", "doo_v1_", "dor_v1_"), r"do[por]_v1_[a-f0-9]{64}", 7),
    _v("Heroku API key", "HRKU-", r"HRKU-AA[0-9A-Za-z_-]{58}", 7),
    _v(
        "Fly.io token",
        ("fo1_", "fm1", "fm2_"),
        r"(?:fo1_[\w-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})",
        4,
    ),
    _v("Cloudflare Origin CA key", "v1.0-", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", 5),
    _v("Databricks token", "dapi", r"dapi[a-f0-9]{32}(?:-\d)?", 4),
    _v("Dropbox short-lived access token", "sl.", r"sl\.[A-Za-z0-9_=-]{130,160}", 3),
    _v("Scalingo API token", "tk-us-", r"tk-us-[\w-]{48}", 6),
    _v(
        "Supabase token",
        ("sbp_", "sb_secret_"),
        r"(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{31,})",
        4,
    ),
    _v("Tailscale key", "tskey-", r"tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}", 6),
    _v("Docker Hub token", ("dckr_pat_", "dckr_oat_"), r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}", 9),
    _v("OpenShift user token", "sha256~", r"sha256~[\w-]{43}", 7),
    _v("Yandex Cloud API key", "AQVN", r"AQVN[A-Za-z0-9_-]{35,38}", 4),
    _v("Yandex Cloud IAM token", "t1.", r"t1\.[A-Z0-9a-z_-]+={0,2}\.[A-Z0-9a-z_-]{86}={0,2}", 3),
    _v("Google OAuth client secret", "GOCSPX-", r"GOCSPX-[A-Za-z0-9_-]{28}", 7),
    _v("Google OAuth access token", "ya29.", r"ya29\.[0-9A-Za-z_-]{30,}", 5),
    # infrastructure, CI and developer tools
    _v("HashiCorp Vault token", ("hvs.", "hvb.", "hvr."), r"hv[sbr]\.[A-Za-z0-9_-]{24,}", 4),
    _v(
        "Terraform Cloud API token",
        ".atlasv1.",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}",
        0,
    ),
    _v("Doppler token", "dp.", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_-]{40,44}", 6),
    _v("Pulumi access token", "pul-", r"pul-[a-f0-9]{40}", 4),
    _v("Postman API key", "PMAK-", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", 5),
    _v("Prefect API key", "pnu_", r"pnu_[A-Za-z0-9]{36}", 4),
    _v("Linear API key", "lin_api_", r"lin_api_[A-Za-z0-9]{40}", 8),
    _v("Grafana Cloud token", "glc_", r"glc_[A-Za-z0-9+/]{32,400}={0,2}", 4),
    _v("Grafana service account token", "glsa_", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", 5),
    _v("Grafana API key", "eyJrIjoi", r"eyJrIjoi[A-Za-z0-9]{70,400}={0,2}", 8),
    _v(
        "Harness access token",
        ("pat.", "sat."),
        r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
        4,
    ),
    _v("Atlassian API token", ("ATATT", "ATCTT"), r"AT[AC]TT3[A-Za-z0-9_=-]{180,200}", 6),
    _v("Bitbucket app password", "ATBB", r"ATBB[A-Za-z0-9_=.-]{32,}", 4),
    _v("JFrog Artifactory API key", "AKCp", r"AKCp[A-Za-z0-9]{69}", 4),
    _v("JFrog Artifactory reference token", "cmVmd", r"cmVmd[A-Za-z0-9]{59}", 5),
    _v(
        "Sourcegraph access token", "sgp_", r"sgp_(?:(?:local|[a-fA-F0-9]{16})_)?[a-fA-F0-9]{40}", 4
    ),
    _v("Sentry user auth token", "sntryu_", r"sntryu_[a-f0-9]{64}", 7),
    _v("Sentry organization token", "sntrys_", r"sntrys_eyJ[A-Za-z0-9+/=_-]{60,}", 7),
    _v("Octopus Deploy API key", "API-", r"API-[A-Z0-9]{26}", 4),
    _v("Infracost API token", "ico-", r"ico-[A-Za-z0-9]{32}", 4),
    _v("Defined Networking API token", "dnkey-", r"dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}", 6),
    _v("PlanetScale credential", "pscale_", r"pscale_(?:pw|tkn|oauth)_[A-Za-z0-9_=.-]{32,64}", 10),
    _v("Frame.io API token", "fio-u-", r"fio-u-[A-Za-z0-9_=-]{64}", 6),
    _v("Clojars deploy token", "CLOJARS_", r"CLOJARS_[a-z0-9]{60}", 8, flags=re.IGNORECASE),
    _v("RubyGems API key", "rubygems_", r"rubygems_[a-f0-9]{48}", 9),
    _v("NuGet API key", "oy2", r"oy2[a-z0-9]{43}", 3),
    _v("ReadMe API key", "rdme_", r"rdme_[a-z0-9]{70}", 5),
    _v("Private Packagist token", "packagist_", r"packagist_(?:uat|ort)_[a-f0-9]{68}", 14),
    _v(
        "age secret key",
        "AGE-SECRET-KEY-1",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        16,
        2.5,
    ),
    _v(
        "1Password secret key",
        "A3-",
        r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
        3,
    ),
    _v("1Password service account token", "ops_eyJ", r"ops_eyJ[A-Za-z0-9+/]{250,}={0,3}", 4),
    _v("Adafruit IO key", "aio_", r"aio_[A-Za-z0-9]{28}", 4),
    _v("Airtable personal access token", "pat", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", 3),
    _v(
        "Authress service client key",
        ("sc_", "ext_", "authress_"),
        r"(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[a-z0-9+/_=-]{30,120}",
        3,
    ),
    _v("Dynatrace API token", "dt0c01.", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}", 7),
    _v(
        "New Relic key",
        ("NRAK-", "NRII-", "NRJS-", "NRAA-"),
        r"NR(?:AK-[A-Z0-9]{27}|II-[A-Za-z0-9_-]{32}|JS-[a-f0-9]{19}|AA-[a-f0-9]{27})",
        5,
    ),
    # commerce, payments, messaging, mail
    _v(
        "Shopify token",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        6,
    ),
    _v(
        "Square credential",
        ("sq0atp-", "sq0csp-", "EAAA"),
        r"(?:sq0atp-[0-9A-Za-z_-]{22}|sq0csp-[0-9A-Za-z_-]{43}|EAAA[A-Za-z0-9_-]{60})",
        7,
    ),
    _v("Shippo API token", "shippo_", r"shippo_(?:live|test)_[a-fA-F0-9]{40}", 12),
    _v("Duffel API token", "duffel_", r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}", 12),
    _v("EasyPost API key", ("EZAK", "EZTK"), r"EZ[AT]K[A-Za-z0-9]{54}", 4),
    _v(
        "Flutterwave key",
        ("FLWSECK", "FLWPUBK"),
        r"FLW(?:SECK|PUBK)_TEST(?:-[a-h0-9]{32}-X|-?[a-h0-9]{12})",
        12,
    ),
    _v("Plaid access token", "access-", r"access-(?:sandbox|development|production)-" + _UUID, 20),
    _v("Twilio API key", "SK", r"SK[0-9a-fA-F]{32}", 2),
    _v("SendGrid API key", "SG.", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", 3),
    _v("Brevo (Sendinblue) API key", "xkeysib-", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}", 8),
    _v("Mailgun key", ("key-", "pubkey-"), r"(?:pub)?key-[a-f0-9]{32}", 4),
    _v("Mailchimp API key", "-us", r"[a-f0-9]{32}-us\d{1,2}", 0),
    _v("Telegram bot token", ":A", r"\d{5,16}:A[A-Za-z0-9_-]{34}", 0, before=r"(?<![0-9])"),
    _v(
        "Discord webhook",
        "/api/webhooks/",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,68}",
        40,
    ),
    _v(
        "Microsoft Teams webhook",
        ".webhook.office.com",
        r"https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/"
        + _UUID
        + "@"
        + _UUID
        + r"/IncomingWebhook/[a-f0-9]{32}/"
        + _UUID,
        40,
    ),
    _v("Typeform token", "tfp_", r"tfp_[A-Za-z0-9_.=-]{59}", 4),
    _v("Contentful token", "CFPAT-", r"CFPAT-[A-Za-z0-9_-]{43}", 6),
    _v(
        "Notion integration token",
        ("ntn_", "secret_"),
        r"(?:ntn_\d{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})",
        4,
        3.5,
    ),
    _v("Mapbox secret token", "sk.eyJ", r"sk\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}", 3),
    _v("MaxMind license key", "_mmk", r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk", 0),
    _v("Facebook access token", "EAA", r"EAA[BCDGIMU][A-Za-z0-9]{90,}", 4),
    _v(
        "Settlemint token", ("sm_pat_", "sm_aat_", "sm_sat_"), r"sm_(?:pat|aat|sat)_[a-z0-9]{16}", 7
    ),
    _v("ClickHouse Cloud key secret", "4b1d", r"4b1d[A-Za-z0-9]{38}", 4),
    _v("Intra42 client secret", "s-s4t2", r"s-s4t2(?:ud|af)-[a-f0-9]{64}", 10),
    _v("Slack app-level token", "xapp-", r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]+", 8),
    _v("Slack configuration token", "xoxe", r"xoxe(?:\.xox[bp])?-\d-[A-Z0-9]{146,}", 10),
    _v(
        "Sidekiq Enterprise credential",
        "CONTRIBSYS",
        r"[a-f0-9]{8}:[a-f0-9]{8}",
        0,
        before=r"(?i:CONTRIBSYS__COM)[\"']?[ \t]*[:=][ \t]*[\"']?",
    ),
    _v("Adobe client secret", "p8e-", r"p8e-[A-Za-z0-9]{32}", 4),
    _v("Lob API key", ("live_", "test_"), r"(?:live|test)_(?:pub_)?[a-f0-9]{31,35}", 5),
    _v(
        "Facebook app access token",
        "|",
        r"\d{15,16}\|[0-9A-Za-z_-]{27}",
        17,
        before=r"(?<![0-9])",
    ),
)

# sha256 of keys published as examples in vendors' SDK samples (AWS's documented example key
# id and secret carry the word EXAMPLE and are stand-ins already). Such a value is a
# placeholder wherever it appears: reported at info, as "an obvious placeholder".
EXAMPLE_KEYS = frozenset(
    {
        # Google API keys of the example and test apps in the firebase-android-sdk repository
        "0b476bdf9acf2123d547b5ae76f1e59884d8ec9553ee0c47e9f31fd4768f3f3c",
        "2037abcaffb2b77785da716cf7ccff4ff4d00c4ea930db0167b7d71f50af7eb4",
        "27a9a42931dff7eb2f8434e20a9bce976ea364e7bee49187f19d5cfeca9c7045",
        "37f8f09bdf12c2f2eae4ead7273a62ddb0c23459cbf902892f282b57f7ed6619",
        "3a8b61d0f636b007840c0d40ba12bcf48465dc054cdc1a68704a33521d84b665",
        "3f370c9dd8225c63b5c77de1f785edc9712958f18bb612d5fa2e0ae33aeca682",
        "49f777db995e8260da7ca9ffdf0c08d66f0453e97ec967018baf2cdfe3b582d0",
        "4c98242dcadc8b29005c6b4aad526552d5ea1842149154c0694adeec75847583",
        "8731261cb72d86267a32a532ebd3df429e2144e5e4ced7e13568bc9e6c8fb1b1",
        "a19f89ab3555eac10c40741f6df79ecf0935998f15569f8db9d67bce0181fff6",
        "a6c814bc555ae62c7bd8b58ec07bf559c7ed3a009976a1e0acc9cef0d4473b41",
        "dc0fcf046c61640cbd1e8b999ada3262d722c2ca4bf42dceac999020ffdbb614",
        "e4a5542bb7fd7b67e943c71ad29c34b5972c9840597e7eda53e666f44d5da0b9",
        "ea9bb1082cf95663f5faca23b8b15ef2aa0fce0a5c6df9c32dcb85b2e0a4513d",
        "eb540d2b6ee2a0a47c5779bc8a0141784c6b753840d4c6f4e2428a6e86e9e0b1",
        "f56e323494a6ffc2064e7a955908957d84f0755e5f975dabd64328d0359a8f7c",
    }
)


def is_example_key(value: str) -> bool:
    """A key published as an example (by its sha256: the keys are not written here)."""
    return value_fingerprint(value) in EXAMPLE_KEYS


# Needles a token holds inside it rather than at its start (OpenAI's marker, Azure DevOps'
# signature, Mailchimp's data centre, a Telegram bot id's colon, an Azure AD secret's `Q~`).
_INNER = frozenset(
    {
        "T3BlbkFJ",
        "AZDO",
        ".atlasv1.",
        "-us",
        ":A",
        "Q~",
        "|",
        "AccountKey=",
        "_mmk",
        "/api/webhooks/",
        ".webhook.office.com",
        "CONTRIBSYS",
    }
)
_NEEDLES = sorted({n for vendor in VENDORS for n in vendor.needles}, key=lambda n: (-len(n), n))
# One pass over a text says which vendors' patterns to run, and where: one substring test per
# needle was most of the scan time. A token starts after a character that is not part of it,
# so a needle at a token's start is searched with that character: the search then only stops
# at punctuation and spaces, not at every letter (three times faster). A needle found also
# stands for the shorter needles inside it (`dckr_pat_` holds `pat`), which the pass does not
# report at the same place. The character after the boundary is checked against the needles'
# first characters (one class test) before the alternation's branches are tried one by one:
# most boundaries (spaces, quotes, `=`) are followed by no needle (1.5x faster).


@functools.cache
def _scans() -> tuple[re.Pattern[str], re.Pattern[str]]:
    prefixed = [n for n in _NEEDLES if n not in _INNER]
    prefix = literal_alternation(prefixed)
    first = "".join(sorted({re.escape(n[0]) for n in prefixed}))
    inner = literal_alternation(n for n in _NEEDLES if n in _INNER)
    return (
        re.compile("[^A-Za-z0-9_.-](?=[" + first + "])(" + prefix + ")"),
        re.compile("(" + inner + ")"),
    )


_BY_NEEDLE: dict[str, tuple[int, ...]] = {
    needle: tuple(
        i for i, vendor in enumerate(VENDORS) if any(inner in needle for inner in vendor.needles)
    )
    for needle in _NEEDLES
}
# Around a needle, where its token can be: the characters a pattern may need before the
# needle (Azure DevOps' 52 before `AZDO`) and the longest token after it.
_BEFORE, _AFTER = 160, 2200


def _windows(text: str) -> dict[int, list[tuple[int, int]]]:
    """For each vendor whose needles ``text`` holds, the spans around them (merged): its
    pattern runs there only, not over the whole text."""
    found: list[tuple[int, int, str]] = []
    padded = " " + text  # NOTE: a token at the very start follows no character
    for scan in _scans():
        found.extend((m.start(1) - 1, m.end(1) - 1, m.group(1)) for m in scan.finditer(padded))
    spans: dict[int, list[tuple[int, int]]] = {}
    for start, end, needle in sorted(found):
        lo, hi = max(0, start - _BEFORE), end + _AFTER
        for index in _BY_NEEDLE[needle]:
            own = spans.setdefault(index, [])
            if own and lo <= own[-1][1]:
                own[-1] = (own[-1][0], max(hi, own[-1][1]))
            else:
                own.append((lo, hi))
    return spans


def vendor_matches(text: str) -> Iterator[tuple[Vendor, re.Match[str], bool]]:
    """(vendor, match, whether the body is a stand-in) for every vendor token in ``text``."""
    for index, spans in sorted(_windows(text).items()):
        vendor = VENDORS[index]
        for m in (m for lo, hi in spans for m in vendor.pattern.finditer(text, lo, hi)):
            value = m.group(1)
            body = value[vendor.body_start :]
            tail = body.rsplit(":", 1)[-1].lstrip("_-.")
            mixed = tail.lower() != tail and tail.upper() != tail
            if len(tail) >= 16 and mixed and is_wordy(tail):
                continue  # NOTE: `clm89341:AgencyIdentificationCodeContentType`: words
            low = body.lower()
            stand_in = (
                is_placeholder(value)
                or any(p in low for p in ("xxxx", "example", "0000", "aaaa", "1234567", "abcdef"))
                or shannon_entropy(body) < vendor.min_entropy
                or is_example_key(value)
            )
            yield vendor, m, stand_in
