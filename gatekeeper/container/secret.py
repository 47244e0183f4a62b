"""Secret-looking values in build instructions and image configuration.

SECURITY: a value judged secret is never stored or printed; callers keep the redacted form
(first 4 characters and the length) and the sha256 of the value, which is also the stable
key of the finding. Recognised: well-known token formats (the same families as the secrets/
rules) anywhere, and high-entropy literals assigned to names like password, secret, token.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from gatekeeper.models.container import RedactedValue
from gatekeeper.secrets.detect import (
    RawHit,
    redact,
    scan_text,
    shannon_entropy,
    value_fingerprint,
)

# One set of credential formats for the whole project: the secrets family's detectors.
_FORMAT_DETECTORS = frozenset(
    {
        "private-key",
        "aws-access-key",
        "github-token",
        "gitlab-token",
        "slack-token",
        "stripe-key",
        "google-api-key",
        "npm-token",
        "pypi-token",
        "jwt",
        "url-credentials",
    }
)

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
    {
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".git-credentials",
        ".env",
        ".htpasswd",
    }
)
_SECRET_SUFFIXES = (".key", ".p12", ".pfx")


def _format_hits(text: str) -> list[RawHit]:
    """Hits of the secrets family's format detectors (not its name-based generic rule)."""
    return scan_text(text, "Dockerfile", detectors=lambda name: name in _FORMAT_DETECTORS)


def token_kind(value: str) -> str | None:
    """The well-known token format (or URL password) found in ``value``, if any."""
    hits = _format_hits(value)
    return hits[0].detector if hits else None


def _is_placeholder_or_ref(value: str) -> bool:
    stripped = value.strip().strip("'\"")
    return (
        not stripped or bool(_PLACEHOLDER.match(stripped)) or bool(_VARIABLE_REF.search(stripped))
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
            and shannon_entropy(literal) >= 2.5
        ):
            kind = f"name:{name}"
    if kind is None:
        return None
    return RedactedValue(redacted=redact(value), sha256=value_fingerprint(value), reason=kind)


def redact_text(text: str) -> str:
    """``text`` with every well-known token and URL password replaced by its redacted form."""
    for hit in sorted(_format_hits(text), key=lambda h: h.start, reverse=True):
        text = text[: hit.start] + redact(hit.value) + text[hit.end :]
    return text


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
