"""What a value looks like: the value half of the secret classifier.

Kept below the token-format detectors (``formats.py``), which ask the same questions; the
public classifier (``classify.py``) re-exports what callers need. A value in a credential
position is one of:

- a reference or template: where the secret lives, or a value filled in at run time
  (``${VAR}``, ``${{ secrets.X }}``, ``%(password)s``, ``ENC(...)``): nothing is written down;
- no value: a switch, ``null``, a type name, a mask, an already redacted form;
- a stand-in: an obvious example standing for a credential (``changeme``, ``<your-token>``,
  ``xxx``, ``pass``, ``secret``, ``dummy``): reported at info where a credential is expected;
- a weak password: a famous one or a default word with decoration (``P@ssw0rd``,
  ``admin123``, ``postgres123``, ``hunter2``): guessable, but a credential;
- random: high enough entropy and variety to be generated (not words, identifiers, UUIDs,
  numbers, digests, versions or base64 of text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "char_classes",
    "is_explicit_stand_in",
    "is_non_value",
    "is_placeholder",
    "is_reference",
    "is_stand_in",
    "is_weak_default",
    "is_wordy",
    "literal_alternation",
    "looks_random",
    "redact",
    "shannon_entropy",
    "value_fingerprint",
]


def literal_alternation(words: Iterable[str]) -> str:
    """A pattern matching any of ``words``, factored by common prefix (``ab(?:c|d)``): Python's
    ``re`` tries a flat alternation's branches one by one at every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


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


# --- what a value is: a reference, no value, a stand-in, a weak password ----------------------

# SECURITY: the classes below decide what a finding says about a value, not whether a
# credential in a credential position is reported: a stand-in is reported as one (at info), a
# weak password as a credential. Only references and non-values are no finding at all, because
# nothing that could be a credential is written down.

# Where the secret lives instead of the secret: variables, vault and KMS references, encrypted
# values, digests, masks.
_REFERENCE = re.compile(
    r"""^(?:\$|%[A-Za-z_]+%|@[A-Za-z_.]+@|ENC\(|!vault|vault:|env[.:(]|process\.env|os\.environ
    |os\.getenv|getenv|secrets?\.|vars\.|params\.|settings\.|config\.|self\.|this\.|ref\+
    |arn:aws:secretsmanager|projects/[^/]+/secrets/|file:|sha\d+[-:]|md5[-:]|\*+$)""",
    re.IGNORECASE | re.VERBOSE,
)
# A name in braces, filled in by a format call or a deployment tool.
_BRACED_NAME = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_.:-]{0,80}\}$")
# A format field too short to be a secret: empty, positional (`{0}`), or a name of up to three
# characters (`{S}`, `{pw}`), with an optional conversion (`{0!r}`), as str.format and .NET
# composite formatting write them.
_FORMAT_FIELD = re.compile(r"^\{(?:\d{0,2}|[A-Za-z_][A-Za-z0-9_]{0,2})(?:![rsa])?\}$")
# Templates anywhere in the value: filled in at run time.
_TEMPLATE_PARTS = ("${", "{{", "}}", "$(", "%(")
# Values that are not a credential of any kind: switches, nothing, type names, masks.
_NON_VALUES = frozenset(
    {
        "none",
        "null",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "empty",
        "string",
        "str",
        "required",
        "optional",
        "unset",
        "masked",
        "hidden",
        "private",
        "public",
        "value",
        "bearer",
        "basic",
        "oauth2",
        "x-oauth-basic",
    }
)
# The redacted form this package prints (``ghp_…(40 chars)``), and masks (``:****``,
# ``••••``): already no secret.
_REDACTED_FORM = re.compile(r"…\(\d+ chars\)|\*{3,}|•{3,}")

# Markers that make a value a stand-in (an obvious example) wherever they appear in it.
_STAND_IN_PARTS = (
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
    "abc123",
    "deadbeef",  # the hex words of examples and debuggers
    "cafebabe",
    "123456",
    "000000",
    "111111",
)
# Case-sensitive markers: runs of x or X (``xxx/2013…``), not an x inside random text.
_STAND_IN_RUN = re.compile(r"x{3}|X{3}")
_STAND_IN_PREFIXES = ("test", "fake", "dummy", "mock", "sample", "demo", "local")
# Words that stand for a credential instead of being one (``user:pass@host``).
_STAND_IN_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "key",
        "test",
        "testing",
        "admin",
        "root",
        "default",
        "foo",
        "bar",
        "foobar",
        "baz",
        "guest",
        "user",
        "username",
        "secretkey",
        "secret_key",
        "access_key",
        "postgres",
        "mysql",
        "redis",
    }
)
# Markers a stand-in in source code must carry to be reported as one: a bare word assigned to
# a secret-like name there is far more often a label or a field name (``{"password":
# "Password"}``) than a credential.
_EXPLICIT_STAND_IN = re.compile(
    r"change[_-]?(?:me|it)|placeholder|your[_-]?(?:token|password|secret|key|api)|example"
    r"|sample|abc123|dummy|redacted|replace[_-]?me|fixme|todo|insert|not[_-]?(?:real|a[_-])|fake"
    r"|_here\b|lorem|^<.*>$",
    re.IGNORECASE,
)


def is_reference(value: str) -> bool:
    """A reference to where the secret lives, or a template filled in at run time
    (``${VAR}``, ``$VAR``, ``${{ secrets.X }}``, ``%(password)s``, ``{{ vault_x }}``,
    ``ENC(...)``, ``os.environ[...]``): no literal is written down."""
    if _REFERENCE.match(value) is not None:
        return True
    if _BRACED_NAME.match(value) is not None and is_wordy(value[1:-1]):
        return True  # `{ApiToken}`, `{DB_PASSWORD}`: a .NET / Python format placeholder
    if _FORMAT_FIELD.match(value) is not None:
        return True  # a positional or one-letter field: str.format and .NET fill it in
    return any(part in value for part in _TEMPLATE_PARTS)


def is_non_value(value: str) -> bool:
    """Nothing, a switch, a type name, a mask (``****``) or an already redacted value."""
    low = value.lower().strip()
    return not low or low in _NON_VALUES or _REDACTED_FORM.search(value) is not None


# A stand-in word numbered (``password1``, ``user-2``, ``secret12``): one of several examples.
_NUMBERED = re.compile(r"^([a-z_]+?)[-_]?\d{1,2}$")


def is_stand_in(value: str) -> bool:
    """An obvious example standing for a credential (``changeme``, ``<your-token>``, ``xxx``,
    ``pass``, ``secret``, ``password1``, ``dummy``, one or two distinct characters)."""
    low = value.lower().strip()
    if low in _STAND_IN_WORDS or low.startswith(_STAND_IN_PREFIXES):
        return True
    numbered = _NUMBERED.match(low)
    if numbered is not None and numbered.group(1) in _STAND_IN_WORDS:
        return True
    if any(part in low for part in _STAND_IN_PARTS) or _STAND_IN_RUN.search(value):
        return True
    if "abc" in low and "123" in low:  # `AbCdEf123`: two sequences, typed not generated
        return True
    if "password" in low:  # `CleartextPassword1`, `mypassword`: says what it stands for
        return True
    return len(set(low.replace("-", "").replace("_", ""))) <= 2


def is_explicit_stand_in(value: str) -> bool:
    """A stand-in that says so (``changeme``, ``xxx``, ``<token>``, ``your_password``)."""
    text = value.strip()
    return _EXPLICIT_STAND_IN.search(text) is not None or _STAND_IN_RUN.search(text) is not None


def is_placeholder(value: str) -> bool:
    """A value that is obviously not a real credential: a reference or template, no value,
    or a stand-in."""
    return is_reference(value) or is_non_value(value) or is_stand_in(value)


# A famous weak password, or a default-password word made to pass a password rule
# (``admin123``, ``admin!``, ``P@ssw0rd``, ``postgres123``, ``s3cr3t``, ``hunter2``). Someone
# chose it as a password: it is a credential, and an easily guessed one. A word with one or
# two digits (``password1``, ``user2``) numbers examples and is a stand-in.
_FAMOUS_WEAK = re.compile(
    r"^(?:s3cr3t|p@ssw0rd|p@ssword|passw0rd|hunter2|letmein|qwerty|iloveyou|trustno1)"
    r"[0-9!@#$%^&*.?_-]{0,6}$",
    re.IGNORECASE,
)
_DEFAULT_WORD = re.compile(
    r"^(?:secret|my_?secret|password|passwd|my_?password|postgres|mysql|root|admin|guest|user"
    r"|default|welcome|master|manager)([0-9!@#$%^&*.?_-]{1,6})$",
    re.IGNORECASE,
)
_DECORATION_SYMBOL = re.compile(r"[!@#$%^&*?]")


def is_weak_default(value: str) -> bool:
    """A well-known weak password (``postgres123``, ``admin!``, ``P@ssw0rd``, ``hunter2``).

    Public knowledge, so easily guessed, but chosen as someone's password: a credential. A
    default word counts with three digits or a symbol after it (``admin123``, ``root!``).
    """
    text = value.strip()
    if len(text) < 6:
        return False
    if _FAMOUS_WEAK.match(text) is not None:
        return True
    m = _DEFAULT_WORD.match(text)
    if m is None:
        return False
    decoration = m.group(1)
    digits = sum(c.isdigit() for c in decoration)
    return digits >= 3 or _DECORATION_SYMBOL.search(decoration) is not None


# --- randomness ------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$")
_DOTTED_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?$")
# Words: lower case, Capitalised or camelCase (a last short word allowed: `ExpiresAt`), CAPS,
# and short names with one digit (`S3`, `EC2`, `K8S`, `oauth2`).
_WORD_SEGMENT = re.compile(
    r"^[a-z]+$|^(?:[A-Z]?[a-z]{2,})+(?:[A-Z][a-z]?)?$|^[a-z]+(?:[A-Z][a-z]{2,})+(?:[A-Z][a-z]?)?$"
    r"|^[A-Z]{2,}$|^[A-Z]{1,5}[0-9][A-Z]{0,3}$|^[a-z]{1,5}[0-9][a-z]{0,3}$"
)
_SEPARATORS = re.compile(r"[_./:@-]+")
_VERSION = re.compile(
    r"^v?\d+(?:\.\d+){1,3}(?:[-+.]?(?:alpha|beta|rc|dev|pre|post|snapshot|final|release)\.?\d*)?$",
    re.IGNORECASE,
)


def is_wordy(value: str) -> bool:
    """Identifiers, module paths and rule ids: words joined by separators, no randomness
    (a short number may be one of the parts: ``MIT-MAGIC-COOKIE-1``, ``us-east-1``)."""
    segments = [s for s in _SEPARATORS.split(value) if s]
    words = sum(1 for s in segments if _WORD_SEGMENT.match(s))
    numbers = sum(1 for s in segments if s.isdigit() and len(s) <= 4)
    return words > 0 and words + numbers == len(segments)


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
    is_wordy,
    _ordinary_base64_text,
    _is_short_word,
)


# What a name that says token, secret or key makes a secret although its shape alone would
# not: a hex string of a digest's length and a UUID are how many vendors issue keys (Heroku,
# Algolia, Datadog, Snyk); only the name tells them from a commit hash or a request id.
_KEYED_SHAPES: tuple[Callable[[str], object], ...] = (_UUID.match, _is_digest)


def _has_random_part(value: str) -> bool:
    if value.startswith("eyJ"):
        return False  # NOTE: a JWT: the JWT rule judges it (by its header's algorithm)
    return any(len(part) >= 16 and char_classes(part) == 3 for part in value.split("."))


def looks_random(value: str, *, min_len: int = 8, keyed: bool = False) -> bool:
    """High enough entropy and variety to be a generated secret rather than a word.

    ``keyed``: the value is assigned to a secret's name, so hex of a digest's length and
    UUIDs count when random enough (lower-case hex reaches about 3.7 bits a character).
    """
    if len(value) < min_len or is_placeholder(value):
        return False
    if keyed and any(shape(value) for shape in _KEYED_SHAPES):
        return shannon_entropy(value) >= 3.0
    if keyed and _DOTTED_IDENT.match(value) and _has_random_part(value):
        return shannon_entropy(value) >= 3.0  # a Vault `s.` token, not `settings.SECRET_KEY`
    if any(shape(value) for shape in _NOT_RANDOM):
        return False
    entropy = shannon_entropy(value)
    if len(value) >= 24 and entropy >= 3.7:
        return True
    return entropy >= 3.0 and char_classes(value) >= 2
