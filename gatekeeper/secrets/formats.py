"""Credential formats recognisable on their own: token prefixes, key blocks, URL passwords.

Each detector is a precompiled pattern guarded by cheap substring prefilters, so a file
with no ``AKIA`` never runs the AWS pattern. These are the formats that count wherever they
appear (a Dockerfile ``RUN`` line, an image label, a lockfile URL), whatever name they are
assigned to; ``format_hits`` finds them and ``classify.redact_text`` hides them.

Every hit carries the shape of its value (``Shape``): ``verified`` when the format carries
its own proof (GitHub's and npm's CRC32 checksum, the structure of a fine-grained PAT, an
AWS key id in base32, a PyPI macaroon for pypi.org), ``placeholder`` for an obvious stand-in
(``ghp_xxxx…``, ``AKIAIOSFODNN7EXAMPLE``), ``weak`` for a guessable password, ``generated``
otherwise. The context model (``context.py``) never lowers a verified token.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import functools
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from gatekeeper.models.secrets import Shape
from gatekeeper.secrets._values import (
    char_classes,
    is_non_value,
    is_placeholder,
    is_reference,
    is_stand_in,
    is_weak_default,
    literal_alternation,
    looks_random,
    redact,
    shannon_entropy,
)
from gatekeeper.secrets.vendors import VENDORS, is_example_key, vendor_matches

__all__ = [
    "NEEDLES",
    "PRECEDENCE",
    "Lines",
    "RawHit",
    "Shape",
    "binary_hits",
    "format_hits",
    "holds_any",
    "keep_distinct",
    "token_checksum_ok",
    "url_password_shape",
]


@dataclass(frozen=True, init=False)
class RawHit:
    detector: str  # the rule name without its family, e.g. "aws-access-key"
    value: str  # SECURITY: never leaves the process; see redact / value_fingerprint
    start: int
    end: int
    line: int  # 1-based, within the scanned text
    paired: bool = False  # aws-access-key: its secret access key is nearby
    detail: str = ""  # what matched, without the value (e.g. "npmrc _authToken")
    shape: Shape = "generated"
    host: str = ""  # url-credentials: the host the password is for

    def __init__(
        self,
        detector: str,
        value: str,
        start: int,
        end: int,
        line: int,
        paired: bool = False,
        detail: str = "",
        shape: Shape = "generated",
        host: str = "",
    ) -> None:
        # NOTE: the fields set in one step, not one frozen `__setattr__` bypass each: a
        # template of placeholders gives a hit a line, and this halved what each cost.
        self.__dict__.update(
            detector=detector,
            value=value,
            start=start,
            end=end,
            line=line,
            paired=paired,
            detail=detail,
            shape=shape,
            host=host,
        )


class Lines:
    """Offset -> 1-based line number: the line feeds before it are counted for a file's first
    few hits, and a table of line starts is built when it has more."""

    # NOTE: counting is a scan of the text up to the offset; the table costs a string and an
    # addition a line (a large file with a hit or two took longer to number than to scan).
    COUNTED = 8

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._counted = 0

    def starts(self) -> list[int]:
        if self._starts is None:
            # NOTE: each line's start is the sum of the lengths (and line feeds) before it,
            # added up by `accumulate` over `split`, not by a Python loop a line at a time.
            lengths = map(len, self.text.split("\n")[:-1])
            self._starts = list(itertools.accumulate(map((1).__add__, lengths), initial=0))
        return self._starts

    def line(self, offset: int) -> int:
        if self._starts is None and self._counted < self.COUNTED:
            self._counted += 1
            return self.text.count("\n", 0, offset) + 1
        return bisect.bisect_right(self._starts or self.starts(), offset)

    def window(self, offset: int, radius: int) -> tuple[int, int]:
        starts = self.starts()
        index = bisect.bisect_right(starts, offset) - 1
        lo = starts[max(0, index - radius)]
        hi_index = index + radius + 1
        hi = starts[hi_index] if hi_index < len(starts) else len(self.text)
        return lo, hi


# One secret gives one hit: where two hits overlap, the lower number wins. Specific token
# formats win over config-file credentials, which win over URL credentials and generic
# assignments.
PRECEDENCE = {
    "private-key": 0,
    "aws-access-key": 1,
    "github-token": 1,
    "gitlab-token": 1,
    "slack-token": 1,
    "stripe-key": 1,
    "google-api-key": 1,
    "npm-token": 1,
    "pypi-token": 1,
    "vendor-token": 1,
    "jwt": 2,
    "docker-auth": 3,
    "config-file-credentials": 4,
    "url-credentials": 5,
    "generic-assignment": 6,
    "_consumed": 0,  # a span taken by another hit (the secret key paired with an AWS key id)
}


def _token_shape(value: str, body_start: int = 0, min_entropy: float = 3.0) -> Shape:
    """``placeholder`` for an obvious stand-in, a published example key or a body too
    regular to be issued."""
    if is_placeholder(value) or is_example_key(value):
        return "placeholder"
    body = value[body_start:]
    low = body.lower()
    if any(p in low for p in ("xxxx", "example", "0000", "aaaa", "1234567", "abcdef")):
        return "placeholder"
    if low.endswith("here"):  # `xoxe.xoxp-1-RandomStringHere`, `sk_live_YourKeyHere`
        return "placeholder"
    return "generated" if shannon_entropy(body) >= min_entropy else "placeholder"


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def token_checksum_ok(token: str) -> bool:
    """GitHub's (and npm's) token checksum: the last 6 characters are the CRC32 of the
    characters between the prefix's ``_`` and them, in base62 (github.blog, 2021-04-05)."""
    _, sep, rest = token.partition("_")
    if not sep or len(rest) <= 6 or not rest.isalnum() or not rest.isascii():
        return False
    content, checksum = rest[:-6], rest[-6:]
    return _base62(zlib.crc32(content.encode()), 6) == checksum


_FINE_GRAINED_PAT = re.compile(r"^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$")


# Each proof returns what proves a token real ("" when nothing does).
_CRC32_OK = "CRC32 checksum valid"


def _github_proof(token: str) -> str:
    if token.startswith("github_pat_"):
        # NOTE: no public checksum; the documented structure (22 + 59 base62) is the proof.
        return "fine-grained PAT structure" if _FINE_GRAINED_PAT.match(token) else ""
    return _CRC32_OK if token_checksum_ok(token) else ""  # any length: ghr_ tokens are longer


def _npm_proof(token: str) -> str:
    return _CRC32_OK if len(token) == 40 and token_checksum_ok(token) else ""


# A PyPI token is "pypi-" and a base64url macaroon whose location is pypi.org or test.pypi.org.
_PYPI_LOCATIONS = (b"\x02\x01\x08pypi.org", b"\x02\x01\x0dtest.pypi.org")


def _pypi_proof(token: str) -> str:
    body = token.removeprefix("pypi-")
    head = body[:24]  # 18 bytes: enough for the version, the location field and its value
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return ""
    return "a macaroon for pypi.org" if raw.startswith(_PYPI_LOCATIONS) else ""


_AWS_BASE32 = re.compile(r"^[A-Z2-7]{16}$")


def _aws_proof(key_id: str) -> str:
    """An AWS access key id is its prefix and 16 base32 characters (no 0, 1, 8 or 9)."""
    return "a base32 key id" if _AWS_BASE32.match(key_id[4:]) else ""


def _shape(
    value: str, body_start: int, min_entropy: float, prove: Callable[[str], str]
) -> tuple[Shape, str]:
    """The token's shape, and its proof when it is verified."""
    shape = _token_shape(value, body_start, min_entropy)
    if shape == "generated" and (proof := prove(value)):
        return "verified", proof
    return shape, ""


def _unprovable(_: str) -> str:
    return ""


_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----"
    r"((?:\\[rn]|[\s\"',+]|[A-Za-z0-9-]+: [^\n]*\n)*)"
    r"((?:[A-Za-z0-9+/=]|\\[rn]|[\s\"',+]){40,}?)"
    r"(?:-----END |\Z|(?=\n[ \t]*\n))"
)
# NOTE: a token's boundary is checked after its first literal characters (`(ghp_(?<!…ghp_)`,
# not `(?<!…)(ghp_`): the search then skips to those characters instead of trying the
# lookbehind at every position, and is its own prefilter.
_AWS_ID = re.compile(r"(A[KS]IA(?<![A-Za-z0-9]A[KS]IA)[A-Z0-9]{16})(?![A-Za-z0-9])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_GITHUB = re.compile(
    r"(g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{50,255}))"
    r"(?![A-Za-z0-9_])"
)
# GitLab's token prefixes (docs.gitlab.com, "Token prefixes"): personal, OAuth application
# secret, deploy, runner, CI/CD job, pipeline trigger, feed, incoming mail, agent for
# Kubernetes, SCIM, feature flags client.
_GITLAB_PREFIXES = (
    "glpat-",
    "gloas-",
    "gldt-",
    "glrt-",
    "glrtr-",
    "glcbt-",
    "glptt-",
    "glft-",
    "glimt-",
    "glagent-",
    "glsoat-",
    "glffct-",
)
# NOTE: the pattern starts with the literal `gl` (the boundary is checked after it), so the
# search skips to each `gl` instead of trying a lookbehind at every position.
_GITLAB = re.compile(
    r"(gl(?<![A-Za-z0-9_-]gl)(?:"
    + "|".join(re.escape(p[2:]) for p in _GITLAB_PREFIXES)
    + r")[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])"
)
_SLACK = re.compile(
    r"(?<![A-Za-z0-9_-])(xox[abeprs]-[A-Za-z0-9][A-Za-z0-9-]{8,250})(?![A-Za-z0-9_-])"
    r"|((?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,200})"
)
_STRIPE = re.compile(r"(?<![A-Za-z0-9_])([sr]k_(?:live|prod)_[A-Za-z0-9]{20,247})(?![A-Za-z0-9_])")
_GOOGLE = re.compile(r"(AIza(?<![A-Za-z0-9_-]AIza)[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])")
_NPM = re.compile(r"(npm_(?<![A-Za-z0-9_]npm_)[A-Za-z0-9]{36})(?![A-Za-z0-9_])")
_PYPI = re.compile(r"(pypi-AgE(?<![A-Za-z0-9_-]pypi-AgE)[A-Za-z0-9_-]{50,})")
_JWT = re.compile(
    r"(eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"
    r"(?![A-Za-z0-9_.-])"
)
# NOTE: a password may hold `?` and `#` unencoded (written into a config file as it is);
# the `@host` after it still makes it a credential.
# NOTE: the user and the password are taken possessively: each is followed by a character
# its class excludes (`:`, `@`), so a shorter one never matches where the longest failed.
_URL_CRED = re.compile(
    r"://([^\s:/?#@'\"<>\[\]{}]{1,128}+):([^\s/@'\"<>{}]{1,256}+)@([A-Za-z0-9][A-Za-z0-9.-]{0,252})"
)

# (detector, prefilter needles, pattern, where the random body starts, its minimum entropy,
# what proves the format)
_PREFIXED: tuple[
    tuple[str, tuple[str, ...], re.Pattern[str], int, float, Callable[[str], str]], ...
] = (
    (
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        _GITHUB,
        4,
        3.0,
        _github_proof,
    ),
    ("gitlab-token", ("gl",), _GITLAB, 5, 3.0, _unprovable),
    ("stripe-key", ("k_live_", "k_prod_"), _STRIPE, 8, 3.0, _unprovable),
    ("google-api-key", ("AIza",), _GOOGLE, 4, 3.0, _unprovable),
    ("npm-token", ("npm_",), _NPM, 4, 3.0, _npm_proof),
    ("pypi-token", ("pypi-AgE",), _PYPI, 8, 3.0, _pypi_proof),
)


@functools.cache
def holds_any(needles: tuple[str, ...]) -> Callable[[str], bool]:
    """A test of whether a text holds any of ``needles``: needles that share their first
    characters (``ghp_``, ``gho_``, ``github_pat_``) by one search of a pattern of them all
    (the search skips to those characters: 3 to 7 times faster than a substring test per
    needle), other needles by a substring test each."""
    if len(needles) > 1 and len({needle[:1] for needle in needles}) == 1:
        search = re.compile(literal_alternation(needles)).search
        return lambda text: search(text) is not None
    if len(needles) == 1:
        needle = needles[0]
        return lambda text: needle in text
    return lambda text: any(needle in text for needle in needles)


# Patterns that start with their token's literal characters: their search is the prefilter.
_OWN_PREFILTER = frozenset({"github-token", "gitlab-token", "google-api-key", "npm-token"})


def _private_keys(text: str, lines: Lines) -> Iterator[RawHit]:
    if "PRIVATE KEY" not in text:
        return
    for m in _PEM.finditer(text):
        body = re.sub(r"\\[rn]|[\s\"',+]", "", m.group(4))
        if len(body) < 40:
            continue
        stand_in = is_placeholder(body) or shannon_entropy(body) < 4.0
        kind = (m.group(1) or "").strip() or "PKCS#8"
        yield RawHit(
            "private-key",
            body[:4096],
            m.start(),
            m.end(),
            lines.line(m.start()),
            detail=f"{kind} private key block",
            shape="placeholder" if stand_in else "generated",
        )


def _aws_secret_near(text: str, lines: Lines, offset: int) -> re.Match[str] | None:
    """A secret access key within five lines of a key id."""
    lo, hi = lines.window(offset, 5)
    for s in _AWS_SECRET.finditer(text, lo, hi):
        cand = s.group(1)
        if shannon_entropy(cand) >= 4.0 and char_classes(cand) == 3 and not is_placeholder(cand):
            return s
    return None


def _aws_keys(text: str, lines: Lines) -> Iterator[RawHit]:
    for m in _AWS_ID.finditer(text):
        key = m.group(1)
        shape, proof = _shape(key, 4, 2.5, _aws_proof)
        secret = None if shape == "placeholder" else _aws_secret_near(text, lines, m.start())
        details = [proof, "with its secret access key nearby" if secret else ""]
        yield RawHit(
            "aws-access-key",
            key,
            m.start(1),
            m.end(1),
            lines.line(m.start(1)),
            paired=secret is not None,
            detail=", ".join(d for d in details if d),
            shape=shape,
        )
        if secret is not None:
            yield RawHit("_consumed", "", secret.start(1), secret.end(1), 0)


def _prefixed_tokens(text: str, lines: Lines) -> Iterator[RawHit]:
    for name, needles, pattern, body_start, min_entropy, prove in _PREFIXED:
        if name not in _OWN_PREFILTER and not holds_any(needles)(text):
            continue
        for m in pattern.finditer(text):
            value = m.group(1)
            shape, proof = _shape(value, body_start, min_entropy, prove)
            yield RawHit(
                name,
                value,
                m.start(1),
                m.end(1),
                lines.line(m.start(1)),
                detail=proof,
                shape=shape,
            )


# Slack's workspace, user and app ids are 9 digits or more (`xoxb-1234-…` is a made-up one).
_SLACK_SHORT_ID = re.compile(r"-\d{1,6}(?:-|$)")


def _slack_shape(token: str, body_start: int) -> Shape:
    """A Slack token is ``xox?-`` and dash-separated parts, issued 30 characters or longer,
    ending in its random part (not a ``-``) and with ids of 9 digits or more."""
    if len(token) < 30 or token.endswith("-") or _SLACK_SHORT_ID.search(token):
        return "placeholder"
    return _token_shape(token, body_start, 2.5)


def _slack_tokens(text: str, lines: Lines) -> Iterator[RawHit]:
    if "xox" not in text and "hooks.slack.com" not in text:
        return
    for m in _SLACK.finditer(text):
        value = m.group(1) or m.group(2)
        body_start = 5 if m.group(1) else m.group(2).index("hooks") + 22
        yield RawHit(
            "slack-token",
            value,
            m.start(),
            m.end(),
            lines.line(m.start()),
            detail="webhook URL" if m.group(2) else "",
            shape=_slack_shape(value, body_start) if m.group(1) else _token_shape(value, 30, 2.5),
        )


def _jwt_signed(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        data = json.loads(decoded)
    except (binascii.Error, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("alg", "")).lower() not in ("", "none")


def _jwts(text: str, lines: Lines) -> Iterator[RawHit]:
    if "eyJ" not in text:
        return
    for m in _JWT.finditer(text):
        value = m.group(1)
        if _jwt_signed(value):  # NOTE: an unsigned token (alg none) proves nothing to anyone
            shape: Shape = "placeholder" if is_placeholder(value) else "generated"
            yield RawHit("jwt", value, m.start(1), m.end(1), lines.line(m.start(1)), shape=shape)


def url_password_shape(user: str, password: str) -> Shape | None:
    """What a URL's password part is; None when it is no literal (a reference, a template, a
    port of a multi-host URL)."""
    if password.startswith(("%", ":", "$")) or is_reference(password):
        return None
    # NOTE: host:port,host2 (a multi-host URL), not user:password
    if re.match(r"\d{1,5}(?:,|$)", password) is not None:
        return None
    plain = unquote(password)
    if is_non_value(plain):
        return None
    if plain[:1] + plain[-1:] in ("[]", "<>"):  # `[PASSWORD]`, `<password>`
        return "placeholder"
    if is_weak_default(plain):
        return "weak"
    if (
        is_stand_in(plain)
        or plain.lower() == unquote(user).lower()
        or len(plain) < 3
        or shannon_entropy(plain) < 1.5
        or any(c.isspace() for c in plain)  # prose: "a secret"
    ):
        return "placeholder"
    return "generated"


def url_credential_hits(text: str, lines: Lines) -> Iterator[RawHit]:
    """``scheme://user:password@host`` with a literal password."""
    if "://" not in text:
        return
    for m in _URL_CRED.finditer(text):
        user, password = m.group(1), m.group(2)
        shape = url_password_shape(user, password)
        if shape is None:
            continue
        host = m.group(3)[:253].rstrip(".").lower()
        # SECURITY: the user part can itself be a token (`https://ghp_...:x@host`); only a
        # name that does not look generated is printed as it is.
        shown = redact(user) if looks_random(user) else user[:32]
        yield RawHit(
            "url-credentials",
            password,
            m.start(2),
            m.end(2),
            lines.line(m.start()),
            detail=f"password for {shown}@{host[:64]}",
            shape=shape,
            host=host,
        )


def _vendor_tokens(text: str, lines: Lines) -> Iterator[RawHit]:
    """The documented token formats of other vendors (``vendors.py``)."""
    for vendor, m, stand_in in vendor_matches(text):
        yield RawHit(
            "vendor-token",
            m.group(1),
            m.start(1),
            m.end(1),
            lines.line(m.start(1)),
            detail=vendor.name,
            shape="placeholder" if stand_in else "generated",
        )


_FORMATS: tuple[Callable[[str, Lines], Iterator[RawHit]], ...] = (
    _private_keys,
    _aws_keys,
    _prefixed_tokens,
    _slack_tokens,
    _jwts,
    _vendor_tokens,
)


def specific_hits(text: str, lines: Lines) -> Iterator[RawHit]:
    """Token formats with a recognisable prefix (and the spans they consume)."""
    for detector in _FORMATS:
        yield from detector(text, lines)


# What every credential format contains: a file that cannot hold text is searched for these
# (a regular expression of literals is about 5x faster than one substring search each) and
# only the bytes around a match are read as text.
NEEDLES = tuple(
    sorted(
        {n for _, needles, *_ in _PREFIXED for n in needles}
        | {"AKIA", "ASIA", "xox", "hooks.slack.com", "eyJ", "PRIVATE KEY"}
        # NOTE: short vendor needles (`SK`, `pat`) would make every binary file a window
        | {n for vendor in VENDORS for n in vendor.needles if len(n) >= 4}
    )
)
_BINARY_NEEDLES = re.compile(b"|".join(re.escape(needle.encode()) for needle in NEEDLES))
# Around a match: the start of a key block's header before it, a whole 4096-bit key block
# and an AWS secret key five lines on after it.
_BEFORE, _AFTER = 1024, 8192


def _windows(data: bytes) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for m in _BINARY_NEEDLES.finditer(data):
        lo, hi = max(0, m.start() - _BEFORE), min(len(data), m.end() + _AFTER)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def binary_hits(data: bytes) -> list[RawHit]:
    """The credential formats in content that cannot hold text: tokens and key blocks are
    ASCII wherever they are stored, so the bytes around each likely prefix are read byte
    for character (``latin-1``). Line numbers count the line feeds before a hit."""
    hits: list[RawHit] = []
    for lo, hi in _windows(data):
        text = data[lo:hi].decode("latin-1")
        first_line = data.count(b"\n", 0, lo)
        hits.extend(
            dataclasses.replace(
                hit, start=hit.start + lo, end=hit.end + lo, line=hit.line + first_line
            )
            for hit in keep_distinct(specific_hits(text, Lines(text)))
        )
    return keep_distinct(hits)


def keep_distinct(
    hits: Iterable[RawHit], detectors: Callable[[str], bool] | None = None
) -> list[RawHit]:
    """One hit per secret: of overlapping hits the one of lowest ``PRECEDENCE`` wins.

    ``detectors`` optionally keeps only the detectors it accepts (after the overlaps are
    resolved, so a filtered-out detector still takes its span).
    """
    kept: list[RawHit] = []
    # The spans kept never overlap, so ordered by start they are ordered by end too: of
    # those starting before a hit ends, only the last can reach into it. A binary search a
    # hit, not a comparison with every kept span (a file of 40,000 tokens took 80 s).
    starts: list[int] = []
    ends: list[int] = []
    for hit in sorted(hits, key=lambda h: (PRECEDENCE[h.detector], h.start)):
        index = bisect.bisect_left(starts, hit.end)
        if index and ends[index - 1] > hit.start:
            continue
        starts.insert(index, hit.start)
        ends.insert(index, hit.end)
        if hit.detector != "_consumed" and (detectors is None or detectors(hit.detector)):
            kept.append(hit)
    kept.sort(key=lambda h: (h.start, h.detector))
    return kept


def format_hits(text: str) -> list[RawHit]:
    """Every credential in ``text`` that its format alone identifies (token formats, key
    blocks, URL passwords; not config-file fields or generic assignments, which need the
    file or the name as context)."""
    lines = Lines(text)
    return keep_distinct([*specific_hits(text, lines), *url_credential_hits(text, lines)])
