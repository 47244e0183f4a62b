"""Credential formats recognisable on their own: token prefixes, key blocks, URL passwords.

Each detector is a precompiled pattern guarded by cheap substring prefilters, so a file
with no ``AKIA`` never runs the AWS pattern. These are the formats that count wherever they
appear (a Dockerfile ``RUN`` line, an image label, a lockfile URL), whatever name they are
assigned to; ``format_hits`` finds them and ``classify.redact_text`` hides them.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from gatekeeper.secrets._values import (
    char_classes,
    is_placeholder,
    is_weak_default,
    looks_random,
    redact,
    shannon_entropy,
)

__all__ = ["PRECEDENCE", "Lines", "RawHit", "format_hits", "keep_distinct"]


@dataclass(frozen=True)
class RawHit:
    detector: str  # the rule name without its family, e.g. "aws-access-key"
    value: str  # SECURITY: never leaves the process; see redact / value_fingerprint
    start: int
    end: int
    line: int  # 1-based, within the scanned text
    paired: bool = False  # aws-access-key: its secret access key is nearby
    detail: str = ""  # what matched, without the value (e.g. "npmrc _authToken")


class Lines:
    """Offset -> 1-based line number, built only when a file has a hit."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        return self._starts

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts(), offset)

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
    "jwt": 2,
    "docker-auth": 3,
    "config-file-credentials": 4,
    "url-credentials": 5,
    "generic-assignment": 6,
    "_consumed": 0,  # a span taken by another hit (the secret key paired with an AWS key id)
}


def _token_ok(value: str, body_start: int = 0, min_entropy: float = 3.0) -> bool:
    if is_placeholder(value):
        return False
    body = value[body_start:]
    low = body.lower()
    if any(p in low for p in ("xxxx", "example", "0000", "aaaa", "1234567", "abcdef")):
        return False
    return shannon_entropy(body) >= min_entropy


_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----"
    r"((?:\\[rn]|[\s\"',+]|[A-Za-z0-9-]+: [^\n]*\n)*)"
    r"((?:[A-Za-z0-9+/=]|\\[rn]|[\s\"',+]){40,}?)"
    r"(?:-----END |\Z|(?=\n[ \t]*\n))"
)
_AWS_ID = re.compile(r"(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_GITHUB = re.compile(
    r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})"
    r"(?![A-Za-z0-9_])"
)
_GITLAB = re.compile(r"(?<![A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])")
_SLACK = re.compile(
    r"(?<![A-Za-z0-9_-])(xox[baprs]-[A-Za-z0-9][A-Za-z0-9-]{8,250})(?![A-Za-z0-9_-])"
    r"|(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,200})"
)
_STRIPE = re.compile(r"(?<![A-Za-z0-9_])([sr]k_live_[A-Za-z0-9]{20,247})(?![A-Za-z0-9_])")
_GOOGLE = re.compile(r"(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])")
_NPM = re.compile(r"(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])")
_PYPI = re.compile(r"(?<![A-Za-z0-9_-])(pypi-AgE[A-Za-z0-9_-]{50,})")
_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"
    r"(?![A-Za-z0-9_.-])"
)
_URL_CRED = re.compile(
    r"://([^\s:/?#@'\"<>\[\]{}]{1,128}):([^\s/?#@'\"<>{}]{1,256})@([A-Za-z0-9][A-Za-z0-9.-]{0,252})"
)

# (detector, prefilter needles, pattern, where the random body starts, its minimum entropy)
_PREFIXED: tuple[tuple[str, tuple[str, ...], re.Pattern[str], int, float], ...] = (
    ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), _GITHUB, 4, 3.0),
    ("gitlab-token", ("glpat-",), _GITLAB, 6, 3.0),
    ("stripe-key", ("k_live_",), _STRIPE, 8, 3.0),
    ("google-api-key", ("AIza",), _GOOGLE, 4, 3.0),
    ("npm-token", ("npm_",), _NPM, 4, 3.0),
    ("pypi-token", ("pypi-AgE",), _PYPI, 8, 3.0),
)


def _private_keys(text: str, lines: Lines) -> Iterator[RawHit]:
    if "PRIVATE KEY" not in text:
        return
    for m in _PEM.finditer(text):
        body = re.sub(r"\\[rn]|[\s\"',+]", "", m.group(4))
        if len(body) < 40 or is_placeholder(body) or shannon_entropy(body) < 4.0:
            continue
        kind = (m.group(1) or "").strip() or "PKCS#8"
        yield RawHit(
            "private-key",
            body[:4096],
            m.start(),
            m.end(),
            lines.line(m.start()),
            detail=f"{kind} private key block",
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
    if "AKIA" not in text and "ASIA" not in text:
        return
    for m in _AWS_ID.finditer(text):
        key = m.group(1)
        if not _token_ok(key, 4, 2.5):
            continue
        secret = _aws_secret_near(text, lines, m.start())
        yield RawHit(
            "aws-access-key",
            key,
            m.start(1),
            m.end(1),
            lines.line(m.start(1)),
            paired=secret is not None,
            detail="with its secret access key nearby" if secret else "",
        )
        if secret is not None:
            yield RawHit("_consumed", "", secret.start(1), secret.end(1), 0)


def _prefixed_tokens(text: str, lines: Lines) -> Iterator[RawHit]:
    for name, needles, pattern, body_start, min_entropy in _PREFIXED:
        if not any(n in text for n in needles):
            continue
        for m in pattern.finditer(text):
            value = m.group(1)
            if _token_ok(value, body_start, min_entropy):
                yield RawHit(name, value, m.start(1), m.end(1), lines.line(m.start(1)))


def _slack_tokens(text: str, lines: Lines) -> Iterator[RawHit]:
    if "xox" not in text and "hooks.slack.com" not in text:
        return
    for m in _SLACK.finditer(text):
        value = m.group(1) or m.group(2)
        body_start = 5 if m.group(1) else 30
        if _token_ok(value, body_start, 2.5):
            yield RawHit(
                "slack-token",
                value,
                m.start(),
                m.end(),
                lines.line(m.start()),
                detail="webhook URL" if m.group(2) else "",
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
        if _jwt_signed(value) and not is_placeholder(value):
            yield RawHit("jwt", value, m.start(1), m.end(1), lines.line(m.start(1)))


def _url_password_ok(user: str, password: str) -> bool:
    """Whether a URL's password part is a literal credential (not a reference or a port)."""
    if is_placeholder(password) or is_weak_default(password) or len(password) < 3:
        return False
    if password.lower() == user.lower() or password.startswith(("%", ":")):
        return False
    if shannon_entropy(password) < 1.5:
        return False
    # NOTE: host:port,host2 (a multi-host URL), not user:password
    return re.match(r"\d{1,5}(?:,|$)", password) is None


def url_credential_hits(text: str, lines: Lines) -> Iterator[RawHit]:
    """``scheme://user:password@host`` with a literal password."""
    if "://" not in text:
        return
    for m in _URL_CRED.finditer(text):
        user, password = m.group(1), m.group(2)
        if not _url_password_ok(user, password):
            continue
        # SECURITY: the user part can itself be a token (`https://ghp_...:x@host`); only a
        # name that does not look generated is printed as it is.
        shown = redact(user) if looks_random(user) else user[:32]
        yield RawHit(
            "url-credentials",
            password,
            m.start(2),
            m.end(2),
            lines.line(m.start()),
            detail=f"password for {shown}@{m.group(3)[:64]}",
        )


_FORMATS: tuple[Callable[[str, Lines], Iterator[RawHit]], ...] = (
    _private_keys,
    _aws_keys,
    _prefixed_tokens,
    _slack_tokens,
    _jwts,
)


def specific_hits(text: str, lines: Lines) -> Iterator[RawHit]:
    """Token formats with a recognisable prefix (and the spans they consume)."""
    for detector in _FORMATS:
        yield from detector(text, lines)


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
