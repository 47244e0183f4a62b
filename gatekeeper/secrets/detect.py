"""Secret detectors over text, with prefilters and the filters that keep precision high.

Each detector is a precompiled pattern guarded by cheap substring prefilters, so a file
with no ``AKIA`` never runs the AWS pattern. Specific token formats win over config-file
credentials, which win over URL credentials and generic assignments: one secret gives
one hit. Placeholders (``changeme``, ``<your-token>``, ``${VAR}``, ``${{ secrets.X }}``,
``xxxx``...), low-entropy strings, hashes, UUIDs and base64 of ordinary text are dropped.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class RawHit:
    detector: str  # the rule name without its family, e.g. "aws-access-key"
    value: str  # SECURITY: never leaves the process; see redact / value_fingerprint
    start: int
    end: int
    line: int  # 1-based, within the scanned text
    paired: bool = False  # aws-access-key: its secret access key is nearby
    detail: str = ""  # what matched, without the value (e.g. "npmrc _authToken")


def redact(value: str) -> str:
    """The only form of a secret that is ever printed: first 4 characters and the length."""
    return f"{value[:4]}…({len(value)} chars)"


def value_fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


# --- precision filters -------------------------------------------------------------------

_PLACEHOLDER_PARTS = (
    "example",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "placeholder",
    "your_",
    "your-",
    "yourtoken",
    "yourpassword",
    "yoursecret",
    "xxxx",
    "****",
    "....",
    "dummy",
    "redacted",
    "replace_me",
    "replace-me",
    "replaceme",
    "fixme",
    "todo",
    "sample",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "$(",
    "%(",
    "insert",
    "notreal",
    "not_real",
    "not-real",
    "not-a-",
    "not_a_",
    "fake",
    "secret_here",
    "token_here",
    "here>",
    "mysecret",
    "my_secret",
    "mypassword",
    "my_password",
    "s3cr3t",
    "p@ssw0rd",
    "lorem",
    "abcdef123",
    "123456",
    "000000",
    "111111",
    "hunter2",
)
_PLACEHOLDER_PREFIXES = ("test", "fake", "dummy", "mock", "sample", "demo", "local")
_PLACEHOLDER_EXACT = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
        "apikey",
        "api_key",
        "key",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "test",
        "testing",
        "admin",
        "root",
        "default",
        "empty",
        "string",
        "str",
        "value",
        "foo",
        "bar",
        "foobar",
        "baz",
        "qwerty",
        "letmein",
        "hunter2",
        "guest",
        "user",
        "username",
        "required",
        "optional",
        "unset",
        "masked",
        "hidden",
        "private",
        "public",
        "secretkey",
        "secret_key",
        "access_key",
        "password1",
        "password123",
        "x-oauth-basic",
        "oauth2",
        "bearer",
        "basic",
    }
)
_REFERENCE = re.compile(
    r"""^(?:\$|%[A-Za-z_]+%|@[A-Za-z_.]+@|ENC\(|!vault|vault:|env[.:(]|process\.env|os\.environ
    |os\.getenv|getenv|secrets?\.|vars\.|params\.|settings\.|config\.|self\.|this\.|ref\+
    |arn:aws:secretsmanager|projects/[^/]+/secrets/|file:|sha\d+[-:]|md5[-:]|\*+$)""",
    re.IGNORECASE | re.VERBOSE,
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$")
_DOTTED_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?$")
_WORD_SEGMENT = re.compile(
    r"^[a-z]+$|^(?:[A-Z]?[a-z]{2,})+$|^[a-z]+(?:[A-Z][a-z]{2,})+$|^[A-Z]{2,}$"
)
_SEPARATORS = re.compile(r"[_./:@-]+")


def _is_wordy(value: str) -> bool:
    """Identifiers, module paths and rule ids: words joined by separators, no randomness."""
    segments = [s for s in _SEPARATORS.split(value) if s]
    return bool(segments) and all(_WORD_SEGMENT.match(s) for s in segments)


def is_placeholder(value: str) -> bool:
    """A value that is obviously not a real credential (template, example, reference)."""
    low = value.lower().strip()
    if not low or low in _PLACEHOLDER_EXACT:
        return True
    if any(part in low for part in _PLACEHOLDER_PARTS) or low.startswith(_PLACEHOLDER_PREFIXES):
        return True
    if _REFERENCE.match(value):
        return True
    return len(set(low.replace("-", "").replace("_", ""))) <= 2


def _ordinary_base64_text(value: str) -> bool:
    """Base64 that decodes to ordinary text (words and spaces), not to random bytes."""
    if len(value) < 16 or not _BASE64.match(value):
        return False
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    if not decoded:
        return False
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text) / len(text)
    letters = sum(ch.isalpha() or ch == " " for ch in text) / len(text)
    return printable > 0.97 and " " in text and letters > 0.7


def char_classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
    )


def looks_random(value: str, *, min_len: int = 8) -> bool:
    """High enough entropy and variety to be a generated secret rather than a word."""
    if len(value) < min_len or is_placeholder(value):
        return False
    if _UUID.match(value) or value.isdigit() or _DOTTED_IDENT.match(value):
        return False
    if _HEX.match(value) and len(value) in (32, 40, 64, 128) and value.lower() == value:
        return False  # NOTE: digests and commit hashes (md5, sha1, sha256, sha512)
    if _is_wordy(value) or _ordinary_base64_text(value):
        return False
    if value.isalpha() and len(value) < 24:
        return False  # NOTE: CamelCase words; a generated secret this short has a digit (94%)
    entropy = shannon_entropy(value)
    if len(value) >= 24 and entropy >= 3.7:
        return True
    return entropy >= 3.0 and char_classes(value) >= 2


def _token_ok(value: str, body_start: int = 0, min_entropy: float = 3.0) -> bool:
    if is_placeholder(value):
        return False
    body = value[body_start:]
    low = body.lower()
    if any(p in low for p in ("xxxx", "example", "0000", "aaaa", "1234567", "abcdef")):
        return False
    return shannon_entropy(body) >= min_entropy


# --- detectors ------------------------------------------------------------------------------

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
# NOTE: matched case-sensitively against the lower-cased text (10x faster than (?i)); values
# are then read from the original text at the same offsets.
_GENERIC = re.compile(
    r"(passw(?:or)?d|passwd|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key"
    r"|private[_.-]?key|auth[_.-]?key|credentials?)"
    r"([A-Za-z0-9_.-]{0,40})([\"']?)[ \t]*(?:=|:=|:|=>|<-)[ \t]*"
    r"(?:\"([^\"\n]{1,500})\"|'([^'\n]{1,500})'|`([^`\n]{1,500})`|([^\s\"'`,;){}\[\]<>]{1,500}))"
)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# Names that hold something about a secret rather than the secret itself (matched as suffix).
_NAME_SUFFIXES = (
    "file",
    "path",
    "dir",
    "url",
    "uri",
    "endpoint",
    "name",
    "id",
    "ids",
    "type",
    "length",
    "len",
    "size",
    "count",
    "env",
    "var",
    "variable",
    "field",
    "header",
    "param",
    "ref",
    "arn",
    "hash",
    "sha",
    "sha1",
    "sha256",
    "sha512",
    "digest",
    "checksum",
    "fingerprint",
    "provider",
    "policy",
    "format",
    "prefix",
    "suffix",
    "version",
    "expiry",
    "expires",
    "ttl",
    "timeout",
    "rotation",
    "label",
    "description",
    "regex",
    "pattern",
    "template",
    "mount",
    "store",
    "manager",
    "class",
    "method",
    "enabled",
    "required",
    "source",
    "kind",
    "mode",
    "location",
    "host",
    "port",
    "user",
    "username",
    "login",
    "email",
    "service",
    "scope",
    "scopes",
    "audience",
    "issuer",
    "algorithm",
    "alg",
    "public",
    "publickey",
    "public_key",
    "public-key",
)


def _name_excluded(name: str) -> bool:
    low = name.lower()
    return low.endswith(_NAME_SUFFIXES) or _NAME_EXCLUDE_ANY.search(low) is not None


_NAME_EXCLUDE_ANY = re.compile(r"(?i)public[_.-]?key|pubkey|tokenizer|token_?count|max_?tokens")

_NPMRC = re.compile(
    r"(?m)^[ \t]*(?:[^\s=#;]*:)?(_authToken|_auth|_password)[ \t]*=[ \t]*(\S+?)[ \t]*$"
)
_PYPIRC = re.compile(r"(?m)^[ \t]*(password)[ \t]*[=:][ \t]*(\S+?)[ \t]*$")
_NETRC = re.compile(r"(?:^|\s)(password|passwd)\s+(\S+)")
_KUBE = re.compile(
    r"(?m)^[ \t-]*(token|client-key-data|password|client-secret|id-token|refresh-token)"
    r"[ \t]*:[ \t]*[\"']?([^\s\"'#]+)"
)
_MAVEN = re.compile(r"<(password|passphrase)>\s*([^<\s]+)\s*</\1>")
_DOTENV = re.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*"
    r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s#\"']*))"
)
_DOTENV_NAME = re.compile(
    r"(?i)secret|token|passw|pwd|api_?key|private_?key|credential|auth|access_?key|_key$|^key$"
)
_DOCKER_AUTH = re.compile(
    r"\"(auth|identitytoken|registrytoken)\"\s*:\s*\"([A-Za-z0-9+/=._-]{4,})\""
)

LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "Cargo.lock",
        "go.sum",
        "Gemfile.lock",
        "composer.lock",
        "pdm.lock",
        "bun.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "flake.lock",
        "conda-lock.yml",
        "mix.lock",
        "pubspec.lock",
        "Podfile.lock",
    }
)
_CODE_EXT = frozenset(
    {
        ".py",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".rb",
        ".php",
        ".cs",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".rs",
        ".swift",
        ".m",
        ".groovy",
        ".gradle",
        ".dart",
        ".lua",
        ".pl",
        ".r",
        ".jl",
        ".ex",
        ".exs",
        ".erl",
        ".clj",
        ".vue",
        ".svelte",
        ".pyi",
    }
)

# Priority: a lower number wins when two hits overlap.
_PRIORITY = {
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
    "_consumed": 0,
}


def config_kind(path: str, text: str) -> str | None:
    """Which tool config a file is, from its name (and, for kubeconfig/docker, its content)."""
    pure = PurePosixPath(path)
    name = pure.name
    low = name.lower()
    if low in (".npmrc", "npmrc"):
        return "npmrc"
    if low in (".pypirc", "pypirc"):
        return "pypirc"
    if low in (".netrc", "_netrc", "netrc"):
        return "netrc"
    if low == "settings.xml" or low == "settings-security.xml":
        return "maven"
    if low == ".env" or low.endswith(".env") or low.startswith(".env."):
        if any(m in low for m in ("example", "sample", "template", "dist", "defaults")):
            return None
        return "dotenv"
    if low in (".dockercfg",) or (low == "config.json" and pure.parent.name == ".docker"):
        return "docker"
    if (
        "kubeconfig" in low
        or (low == "config" and pure.parent.name == ".kube")
        or ("kind: Config" in text and "clusters:" in text and "users:" in text)
    ):
        return "kube"
    if low.endswith(".json") and '"auths"' in text:
        return "docker"
    return None


class _Lines:
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


def _jwt_signed(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        data = json.loads(decoded)
    except (binascii.Error, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("alg", "")).lower() not in ("", "none")


def _specific(text: str, lines: _Lines) -> Iterator[RawHit]:
    """Token formats with a recognisable prefix."""
    if "PRIVATE KEY" in text:
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
    if "AKIA" in text or "ASIA" in text:
        for m in _AWS_ID.finditer(text):
            key = m.group(1)
            if not _token_ok(key, 4, 2.5):
                continue
            lo, hi = lines.window(m.start(), 5)
            secret = None
            for s in _AWS_SECRET.finditer(text, lo, hi):
                cand = s.group(1)
                if (
                    shannon_entropy(cand) >= 4.0
                    and char_classes(cand) == 3
                    and not is_placeholder(cand)
                ):
                    secret = s
                    break
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
    simple: tuple[tuple[str, tuple[str, ...], re.Pattern[str], int, float], ...] = (
        ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), _GITHUB, 4, 3.0),
        ("gitlab-token", ("glpat-",), _GITLAB, 6, 3.0),
        ("stripe-key", ("k_live_",), _STRIPE, 8, 3.0),
        ("google-api-key", ("AIza",), _GOOGLE, 4, 3.0),
        ("npm-token", ("npm_",), _NPM, 4, 3.0),
        ("pypi-token", ("pypi-AgE",), _PYPI, 8, 3.0),
    )
    for name, needles, pattern, body_start, min_entropy in simple:
        if not any(n in text for n in needles):
            continue
        for m in pattern.finditer(text):
            value = m.group(1)
            if _token_ok(value, body_start, min_entropy):
                yield RawHit(name, value, m.start(1), m.end(1), lines.line(m.start(1)))
    if "xox" in text or "hooks.slack.com" in text:
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
    if "eyJ" in text:
        for m in _JWT.finditer(text):
            value = m.group(1)
            if _jwt_signed(value) and not is_placeholder(value):
                yield RawHit("jwt", value, m.start(1), m.end(1), lines.line(m.start(1)))


def _url_credentials(text: str, lines: _Lines) -> Iterator[RawHit]:
    if "://" not in text:
        return
    for m in _URL_CRED.finditer(text):
        user, password = m.group(1), m.group(2)
        if is_placeholder(password) or password.lower() == user.lower() or len(password) < 3:
            continue
        if password.startswith(("%", ":")) or shannon_entropy(password) < 1.5:
            continue
        if re.match(r"\d{1,5}(?:,|$)", password):
            continue  # NOTE: host:port,host2 (a multi-host URL), not user:password
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


def _config_value_ok(value: str) -> bool:
    value = value.strip().strip("\"'")
    if len(value) < 6 or is_placeholder(value):
        return False
    if value.startswith(("/", "./", "~/", "../", "http://", "https://")):
        return False  # NOTE: a path or URL to the credential, not the credential
    return shannon_entropy(value) >= 2.5


def _config(kind: str, text: str, lines: _Lines) -> Iterator[RawHit]:
    def emit(m: re.Match[str], group: int, detail: str) -> Iterator[RawHit]:
        value = m.group(group).strip().strip("\"'")
        if _config_value_ok(value):
            yield RawHit(
                "config-file-credentials",
                value,
                m.start(group),
                m.end(group),
                lines.line(m.start(group)),
                detail=detail,
            )

    if kind == "npmrc":
        for m in _NPMRC.finditer(text):
            yield from emit(m, 2, f".npmrc {m.group(1)}")
    elif kind == "pypirc":
        for m in _PYPIRC.finditer(text):
            yield from emit(m, 2, ".pypirc password")
    elif kind == "netrc":
        for m in _NETRC.finditer(text):
            yield from emit(m, 2, ".netrc password")
    elif kind == "kube":
        for m in _KUBE.finditer(text):
            yield from emit(m, 2, f"kubeconfig {m.group(1)}")
    elif kind == "maven":
        for m in _MAVEN.finditer(text):
            value = m.group(2)
            if value.startswith("{") and value.endswith("}"):
                continue  # NOTE: Maven-encrypted ({...}) passwords are not plaintext
            yield from emit(m, 2, f"Maven settings <{m.group(1)}>")
    elif kind == "dotenv":
        for m in _DOTENV.finditer(text):
            if not _DOTENV_NAME.search(m.group(1)) or _name_excluded(m.group(1)):
                continue
            group = next(g for g in (2, 3, 4) if m.group(g) is not None)
            if m.group(group):
                yield from emit(m, group, f".env {m.group(1)}")
    elif kind == "docker":
        yield from _docker(text, lines)


def _docker(text: str, lines: _Lines) -> Iterator[RawHit]:
    if '"auths"' not in text and not text.lstrip().startswith("{"):
        return
    for m in _DOCKER_AUTH.finditer(text):
        value = m.group(2)
        if is_placeholder(value) or len(value) < 8:
            continue
        yield RawHit(
            "docker-auth",
            value,
            m.start(2),
            m.end(2),
            lines.line(m.start(2)),
            detail=f"Docker config {m.group(1)}",
        )


def _generic(path: str, text: str, lines: _Lines) -> Iterator[RawHit]:
    pure = PurePosixPath(path)
    if pure.name in LOCKFILES:
        return  # NOTE: lockfile integrity hashes are not secrets
    is_code = pure.suffix.lower() in _CODE_EXT
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two; keep offsets exact
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for m in _GENERIC.finditer(low):
        start = m.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        name = text[start : m.end(2)]
        if _name_excluded(name):
            continue
        group = next(g for g in (4, 5, 6, 7) if m.group(g) is not None)
        value = text[m.start(group) : m.end(group)].strip()
        if group == 7:
            if is_code or "(" in value:
                continue  # NOTE: an unquoted right-hand side in code is an expression
            value = value.rstrip(".")
        if value.startswith(("http://", "https://", "/", "./", "~/", "../")):
            continue
        if any(c in value for c in " \t{}") or value.startswith(("+", "\\")):
            continue  # NOTE: prose, string templates and concatenations, not literals
        if not looks_random(value):
            continue
        yield RawHit(
            "generic-assignment",
            value,
            m.start(group),
            m.start(group) + len(value),
            lines.line(start),
            detail=f"assigned to {name[:64]}",
        )


def scan_text(
    text: str,
    path: str,
    *,
    detectors: Callable[[str], bool] | None = None,
) -> list[RawHit]:
    """Every secret in ``text`` (the content of ``path``), one hit per secret occurrence.

    ``detectors`` optionally filters by detector name (used by tests and benchmarks).
    """
    lines = _Lines(text)
    hits: list[RawHit] = list(_specific(text, lines))
    kind = config_kind(path, text)
    if kind is not None:
        hits.extend(_config(kind, text, lines))
    elif '"auths"' in text:
        hits.extend(_docker(text, lines))
    hits.extend(_url_credentials(text, lines))
    hits.extend(_generic(path, text, lines))
    kept: list[RawHit] = []
    # The spans kept never overlap, so ordered by start they are ordered by end too: of
    # those starting before a hit ends, only the last can reach into it. A binary search a
    # hit, not a comparison with every kept span (a file of 40,000 tokens took 80 s).
    starts: list[int] = []
    ends: list[int] = []
    for hit in sorted(hits, key=lambda h: (_PRIORITY[h.detector], h.start)):
        index = bisect.bisect_left(starts, hit.end)
        if index and ends[index - 1] > hit.start:
            continue
        starts.insert(index, hit.start)
        ends.insert(index, hit.end)
        if hit.detector != "_consumed" and (detectors is None or detectors(hit.detector)):
            kept.append(hit)
    kept.sort(key=lambda h: (h.start, h.detector))
    return kept
