"""Secret-looking values in build instructions and image configuration.

SECURITY: a value judged secret is never stored or printed; callers keep the redacted form
(first 4 characters and the length) and the sha256 of the value, which is also the stable
key of the finding. Recognised: well-known token formats (the same families as the secrets/
rules) anywhere, and high-entropy literals assigned to names like password, secret, token.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from pathlib import PurePosixPath

from gatekeeper.models.container import RedactedValue

# Token formats whose shape alone says "credential".
_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack-token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
    ("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("stripe-key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("pypi-token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{20,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
)

# ``scheme://user:password@host`` with a literal password.
_URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@")

_SECRET_NAME = re.compile(
    r"(?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|"
    r"credential)",
    re.IGNORECASE,
)
# Short words that only count as a whole segment of the name (AUTH_HEADER, not AUTHOR).
_SECRET_SEGMENTS = frozenset({"auth", "pass", "pwd", "pw", "creds"})
# Names that hold a pointer to a secret rather than the secret itself.
_POINTER_SUFFIX = re.compile(
    r"(?:_|-|^)(?:file|path|dir|url|uri|endpoint|host|port|user|username|name|id|type|method|"
    r"mode|header|enabled|length|expiry|ttl)$",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:<[^>]*>|\*+|x+|changeme|change[_-]?me|example|dummy|test(?:ing)?|sample|placeholder|"
    r"none|null|nil|true|false|yes|no|secret|password|token|your[_-].*|replace[_-]?me|todo|"
    r"redacted|default|empty|unset|\.\.\.+)$",
    re.IGNORECASE,
)
_VARIABLE_REF = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*")

# File names whose presence in a build context copy or an image layer means a credential.
_SECRET_BASENAMES = frozenset(
    {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc", ".pypirc", ".netrc",
     ".git-credentials", ".env", ".htpasswd"}
)
_SECRET_SUFFIXES = (".key", ".p12", ".pfx")


def redact(value: str) -> str:
    """The form that may be shown: the first 4 characters and the length."""
    return f"{value[:4]}…({len(value)} chars)"


def sha256_text(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def _entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def token_kind(value: str) -> str | None:
    """The well-known token format found in ``value``, if any."""
    for kind, pattern in _TOKEN_PATTERNS:
        if pattern.search(value):
            return kind
    match = _URL_CREDENTIALS.search(value)
    if match and not _is_placeholder_or_ref(match.group(1)):
        return "url-credentials"
    return None


def _is_placeholder_or_ref(value: str) -> bool:
    stripped = value.strip().strip("'\"")
    return (
        not stripped
        or bool(_PLACEHOLDER.match(stripped))
        or bool(_VARIABLE_REF.search(stripped))
    )


def is_secret_name(name: str) -> bool:
    segments = {part.lower() for part in re.split(r"[_.\-]+", name)}
    named = bool(_SECRET_NAME.search(name)) or bool(segments & _SECRET_SEGMENTS)
    return named and not _POINTER_SUFFIX.search(name)


def classify(name: str | None, value: str | None) -> RedactedValue | None:
    """Whether the literal ``value`` (assigned to ``name``) looks like a secret.

    A well-known token format always counts. A name like PASSWORD or API_KEY counts when the
    value is a literal (no ``$VAR``), not a placeholder, not a path, at least 8 characters long
    and not trivially repetitive.
    """
    if not value:
        return None
    kind = token_kind(value)
    if kind is None and name is not None and is_secret_name(name):
        literal = value.strip()
        if (
            len(literal) >= 8
            and not _is_placeholder_or_ref(literal)
            and not literal.startswith(("/", "./", "~/"))
            and _entropy(literal) >= 2.5
        ):
            kind = f"name:{name}"
    if kind is None:
        return None
    return RedactedValue(redacted=redact(value), sha256=sha256_text(value), reason=kind)


def redact_text(text: str) -> str:
    """``text`` with every well-known token and URL password replaced by its redacted form."""
    for _kind, pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: redact(m.group(0)), text)

    def _url(match: re.Match[str]) -> str:
        password = match.group(1)
        if _is_placeholder_or_ref(password):
            return match.group(0)
        return match.group(0).replace(f":{password}@", f":{redact(password)}@")

    return _URL_CREDENTIALS.sub(_url, text)


def is_secret_file(path: str, *, strict: bool = False) -> bool:
    """Whether a file name says credential (``id_rsa``, ``.npmrc``, ``.aws/credentials``...).

    ``strict`` (used for image layers, where system packages ship ``*.key`` test files) only
    accepts the unambiguous names, not the ``.key``/``.p12``/``.pfx`` suffixes.
    """
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name
    parent = pure.parent.name
    if name in _SECRET_BASENAMES:
        return True
    if parent == ".aws" and name == "credentials":
        return True
    if parent == ".docker" and name == "config.json":
        return True
    if not strict and name.lower().endswith(_SECRET_SUFFIXES):
        return True
    return False
