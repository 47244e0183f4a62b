"""What a value looks like: the value half of the secret classifier.

Kept below the token-format detectors (``formats.py``), which ask "is this a placeholder?"
too; the public classifier (``classify.py``) re-exports what callers need. Three kinds of
value are never a secret:

- a placeholder: a template, a reference to where the secret lives, an obvious example
  (``${VAR}``, ``${{ secrets.X }}``, ``<your-token>``, ``changeme``, ``xxxx``, ``ENC(...)``);
- a well-known default: a dictionary default or famous weak password with at most a few
  characters of decoration (``postgres123``, ``admin!``, ``hunter2``, ``P@ssw0rd``): public
  knowledge, not a secret;
- a value that is not random: words, identifiers, UUIDs, numbers, digests, base64 of text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable

__all__ = [
    "char_classes",
    "is_placeholder",
    "is_weak_default",
    "looks_random",
    "redact",
    "shannon_entropy",
    "value_fingerprint",
]


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


def char_classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
    )


# --- placeholders ----------------------------------------------------------------------------

# Markers that make a value a template or an example wherever they appear in it.
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
    "lorem",
    "abcdef123",
    "123456",
    "000000",
    "111111",
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
        "yes",
        "off",
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
# Where the secret lives instead of the secret: variables, vault and KMS references, encrypted
# values, digests, masks.
_REFERENCE = re.compile(
    r"""^(?:\$|%[A-Za-z_]+%|@[A-Za-z_.]+@|ENC\(|!vault|vault:|env[.:(]|process\.env|os\.environ
    |os\.getenv|getenv|secrets?\.|vars\.|params\.|settings\.|config\.|self\.|this\.|ref\+
    |arn:aws:secretsmanager|projects/[^/]+/secrets/|file:|sha\d+[-:]|md5[-:]|\*+$)""",
    re.IGNORECASE | re.VERBOSE,
)


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


# A dictionary default or famous weak password, then at most six characters of decoration.
_WEAK_DEFAULT = re.compile(
    r"^(?:your|my|some|example|sample|dummy|fake|test|placeholder|change[_-]?me|changeit|"
    r"redacted|none|null|todo|fixme|secret|s3cr3t|my_?secret|password|passwd|p@ssw0rd|"
    r"my_?password|hunter2|letmein|qwerty|token|postgres|mysql|root|admin|guest|user|default)"
    r"[\w.@!#%^*-]{0,6}$",
    re.IGNORECASE,
)


def is_weak_default(value: str) -> bool:
    """A well-known default (``postgres123``, ``admin!``, ``P@ssw0rd``): public, not secret."""
    return _WEAK_DEFAULT.match(value.strip()) is not None


# --- randomness ------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$")
_DOTTED_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?$")
_WORD_SEGMENT = re.compile(
    r"^[a-z]+$|^(?:[A-Z]?[a-z]{2,})+$|^[a-z]+(?:[A-Z][a-z]{2,})+$|^[A-Z]{2,}$"
)
_SEPARATORS = re.compile(r"[_./:@-]+")
_VERSION = re.compile(
    r"^v?\d+(?:\.\d+){1,3}(?:[-+.]?(?:alpha|beta|rc|dev|pre|post|snapshot|final|release)\.?\d*)?$",
    re.IGNORECASE,
)


def _is_wordy(value: str) -> bool:
    """Identifiers, module paths and rule ids: words joined by separators, no randomness."""
    segments = [s for s in _SEPARATORS.split(value) if s]
    return bool(segments) and all(_WORD_SEGMENT.match(s) for s in segments)


def _base64_text(value: str) -> str | None:
    """What base64 ``value`` decodes to, when it decodes to UTF-8 text."""
    if len(value) < 16 or not _BASE64.match(value):
        return None
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        return decoded.decode("utf-8") or None
    except (binascii.Error, ValueError):  # NOTE: UnicodeDecodeError is a ValueError
        return None


def _ordinary_base64_text(value: str) -> bool:
    """Base64 that decodes to ordinary text (words and spaces), not to random bytes."""
    text = _base64_text(value)
    if text is None:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text) / len(text)
    letters = sum(ch.isalpha() or ch == " " for ch in text) / len(text)
    return printable > 0.97 and " " in text and letters > 0.7


def _is_digest(value: str) -> bool:
    """Digests and commit hashes (md5, sha1, sha256, sha512): lower-case hex of their lengths."""
    return bool(_HEX.match(value)) and len(value) in (32, 40, 64, 128) and value.lower() == value


def _is_short_word(value: str) -> bool:
    # NOTE: CamelCase words; a generated secret this short has a digit (94%).
    return value.isalpha() and len(value) < 24


# Shapes that are structured, not random, however mixed their characters.
_NOT_RANDOM: tuple[Callable[[str], object], ...] = (
    _UUID.match,
    _VERSION.match,
    str.isdigit,
    _DOTTED_IDENT.match,
    _is_digest,
    _is_wordy,
    _ordinary_base64_text,
    _is_short_word,
)


def looks_random(value: str, *, min_len: int = 8) -> bool:
    """High enough entropy and variety to be a generated secret rather than a word."""
    if len(value) < min_len or is_placeholder(value):
        return False
    if any(shape(value) for shape in _NOT_RANDOM):
        return False
    entropy = shannon_entropy(value)
    if len(value) >= 24 and entropy >= 3.7:
        return True
    return entropy >= 3.0 and char_classes(value) >= 2
