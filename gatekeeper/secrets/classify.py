"""Does this look like a secret? One answer for the whole project.

Every family asks here: the secrets detectors (generic assignments and tool config files),
the container family (``ENV``/``ARG``, image config, build context files), the pipeline
family (literal credentials in workflows) and the redaction of evidence before it is
printed or signed. Three questions, each answered once:

- ``secret_assignment(name, value)``: a literal assigned to a name like ``DB_PASSWORD``,
  ``API_KEY`` or ``client_secret`` that looks generated, or is a well-known weak password
  (a reference, a stand-in, a word, a path, a digest or prose is not);
- ``is_credential_value(value)``: a literal in a field that holds a credential by
  definition (``.npmrc`` ``_authToken``, a registry password, a ``secrets:`` input);
- ``token_kind(value)``: a credential format recognisable on its own (``ghp_...``, a private
  key block, a URL password), whatever it is assigned to.

``assignment_shape`` and ``credential_shape`` say what such a value is (``Shape``:
generated, weak, or an explicit placeholder the secrets family reports at info); what the
place it was found in does to the severity is ``context.py``'s.

Usage::

    from gatekeeper.secrets.classify import classify
    secret = classify("DB_PASSWORD", value)   # RedactedValue | None
    if secret is not None:
        print(secret.redacted, secret.reason)   # never the value itself
"""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath

from gatekeeper.models.secrets import RedactedValue
from gatekeeper.secrets._values import (
    is_explicit_stand_in,
    is_non_value,
    is_placeholder,
    is_reference,
    is_stand_in,
    is_weak_default,
    looks_random,
    redact,
    shannon_entropy,
    value_fingerprint,
)
from gatekeeper.secrets.formats import RawHit, Shape, format_hits

__all__ = [
    "NAME_SEGMENTS",
    "NAME_WORDS",
    "REASON_SUFFIXES",
    "assignment_shape",
    "classify",
    "credential_shape",
    "is_credential_value",
    "is_placeholder",
    "is_pointer_name",
    "is_reference",
    "is_secret_file",
    "is_secret_name",
    "is_secret_value",
    "is_weak_default",
    "looks_random",
    "redact",
    "redact_text",
    "secret_assignment",
    "token_kind",
    "value_fingerprint",
]

# --- names -----------------------------------------------------------------------------------

# Words that make a name a secret's wherever they appear in it (lower case, as a regex).
NAME_WORDS = (
    r"passw(?:or)?d|passphrase|pwd|secret|token|api[_.-]?key|access[_.-]?key"
    r"|private[_.-]?key|auth[_.-]?key|credential"
)
# Short words that only count as a whole segment of the name (DB_PASS, not BYPASS; BASIC_AUTH,
# not AUTHOR).
NAME_SEGMENTS = frozenset({"pass", "pw", "auth", "creds"})
_NAME_WORD = re.compile(NAME_WORDS)
_NAME_SPLIT = re.compile(r"[^a-z0-9]+")
# Names that hold something about a secret rather than the secret itself (matched as suffix).
_POINTER_SUFFIXES = (
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
_POINTER_ANYWHERE = re.compile(
    r"public[_.-]?key|pubkey|tokenizer|token_?count|max_?tokens|^(?:no|skip|use)[_.-]"
    # a file name (`secrets.md: api/types.md`, `token.json`): where something is written
    r"|\.(?:md|rst|txt|html?|json|ya?ml|toml|xml|ini|cfg|conf|py|js|ts|go|rs|sh|pem|crt|pub)$"
)


@functools.lru_cache(maxsize=8192)
def is_pointer_name(name: str) -> bool:
    """A name that describes a secret (``TOKEN_URL``, ``PASSWORD_FILE``, ``max_tokens``,
    ``use_token``) instead of holding one."""
    low = name.lower()
    return low.endswith(_POINTER_SUFFIXES) or _POINTER_ANYWHERE.search(low) is not None


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """A name like password, secret, token, api_key, credential (and not a pointer to one)."""
    low = name.lower()
    named = _NAME_WORD.search(low) is not None or not NAME_SEGMENTS.isdisjoint(
        _NAME_SPLIT.split(low)
    )
    return named and not is_pointer_name(low)


# --- values ----------------------------------------------------------------------------------

# A path or URL to the credential, not the credential.
_LOCATIONS = ("http://", "https://", "/", "./", "~/", "../")
_HOSTNAME = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def _literal(value: str) -> str:
    return value.strip().strip("'\"")


_PROSE_OR_TEMPLATE = re.compile(r"[ \t{}]")


# A relative path to a file (`api/types.md#section`); base64 never holds a dot.
_RELATIVE_PATH = re.compile(r"^(?:[\w.-]+/)+[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,4}(?:#\S*)?$")


def _not_a_literal_secret(text: str) -> bool:
    """Locations, host names, prose, templates and concatenations."""
    return (
        text.startswith((*_LOCATIONS, "+", "\\"))
        or _PROSE_OR_TEMPLATE.search(text) is not None
        or _HOSTNAME.match(text) is not None
        or _RELATIVE_PATH.match(text) is not None
    )


@functools.lru_cache(maxsize=8192)
def assignment_shape(value: str, *, keyed: bool = False) -> Shape | None:
    """What a literal assigned to a secret-like name is.

    ``generated`` (looks random) and ``weak`` (a well-known weak password, 6+ characters)
    are secrets; ``placeholder`` is a stand-in that says so (``changeme``, ``xxx``,
    ``<your-token>``; a bare word such as ``password`` is more often a label than a
    credential and is none); None for everything else: references and templates, no
    value, paths, URLs and host names, prose, words and identifiers, digests, UUIDs,
    numbers, anything shorter than 8 characters that is not a weak password.

    ``keyed`` (the scanner's generic rule, whose names say token, secret, key or password):
    a random hex string of a digest's length or a UUID is a secret too; only the name
    tells a Heroku key from a commit hash.
    """
    text = _literal(value)
    if not text or is_reference(text) or is_non_value(text) or _not_a_literal_secret(text):
        return None
    if is_weak_default(text):
        return "weak"
    if is_explicit_stand_in(text):
        return "placeholder"
    # NOTE: a generated secret is ASCII; `このトークンは…` in a .properties file is a message.
    if len(text) < 8 or not text.isascii():
        return None
    if not looks_random(text, keyed=keyed):
        # A key-shaped stand-in under a secret's name (`12345678-ABCD-…-1234567890AB`): said
        # at info, as a config file's stand-in is.
        return "placeholder" if keyed and _key_shaped_stand_in(text) else None
    return "generated"


_KEY_SHAPED = re.compile(r"^[A-Za-z0-9_-]{16,}$")


def _key_shaped_stand_in(text: str) -> bool:
    return (
        _KEY_SHAPED.match(text) is not None
        and any(c.isdigit() for c in text)
        and any(c.isalpha() for c in text)
        and is_stand_in(text)
    )


def is_secret_value(value: str) -> bool:
    """A literal that is a secret when a name like PASSWORD holds it (generated or weak)."""
    return assignment_shape(value) in ("generated", "weak")


@functools.lru_cache(maxsize=8192)
def credential_shape(value: str) -> Shape | None:
    """What a literal in a field that holds a credential by definition is.

    ``weak`` for a well-known weak password; ``placeholder`` for a stand-in (any, bare
    words included: the field says what the value is) or a value too short or regular to
    be a credential (under 6 characters, entropy under 2.5); ``generated`` otherwise.
    None for a reference, no value, or a path or URL to the credential.
    """
    text = _literal(value)
    if not text or is_reference(text) or is_non_value(text) or text.startswith(_LOCATIONS):
        return None
    if is_weak_default(text):
        return "weak"
    if is_stand_in(text) or len(text) < 6 or shannon_entropy(text) < 2.5:
        return "placeholder"
    return "generated"


def is_credential_value(value: str) -> bool:
    """A literal credential in a field that holds one by definition (6+ characters)."""
    return credential_shape(value) in ("generated", "weak")


def secret_assignment(name: str, value: str) -> bool:
    """Whether the literal ``value`` assigned to ``name`` is a secret."""
    return is_secret_name(name) and is_secret_value(value)


# --- formats, the combined answer, redaction -------------------------------------------------


def _secret_formats(value: str) -> list[RawHit]:
    return [hit for hit in format_hits(value) if hit.shape != "placeholder"]


def token_kind(value: str) -> str | None:
    """The credential format (or URL password) found in ``value``, if any (stand-ins such as
    ``ghp_xxxx…`` or ``user:pass@`` are none)."""
    hits = _secret_formats(value)
    return hits[0].detector if hits else None


# What ``classify`` writes after its reason for the shape of the value (read by ``context``).
REASON_SUFFIXES: dict[Shape, str] = {
    "verified": " (verified)",
    "weak": " (weak)",
    "generated": "",
    "placeholder": "",
    "public": " (public)",
}


def _secrets_in(text: str) -> list[RawHit]:
    """What the scanner finds in ``text`` read as a script (``detect.secret_spans``)."""
    # NOTE: the detectors build on this module; imported when first asked.
    from gatekeeper.secrets.detect import secret_spans

    return secret_spans(text)


def classify(name: str | None, value: str | None) -> RedactedValue | None:
    """The redacted form of ``value`` (assigned to ``name``) when it is a secret, else None.

    Whatever the scanner finds in the value read as a script counts: a credential format
    (the reason is its detector, e.g. ``github-token``, with `` (verified)`` when its
    checksum or structure proves it), a URL password, a secret-named assignment inside it
    (``RUN usermod --password=…``, ``JAVA_OPTS=-Dpassword=…``); otherwise
    ``secret_assignment`` decides (the reason is ``name:NAME``, with `` (weak)`` for a
    well-known weak password).
    """
    if not value:
        return None
    hits = _secrets_in(value)
    if hits:
        reason = hits[0].detector + REASON_SUFFIXES[hits[0].shape]
    elif name is not None and is_secret_name(name) and is_secret_value(value):
        reason = f"name:{name}" + REASON_SUFFIXES[assignment_shape(value) or "generated"]
    else:
        return None
    return RedactedValue(redacted=redact(value), sha256=value_fingerprint(value), reason=reason)


def redact_text(text: str) -> str:
    """``text`` with every secret the scanner finds in it replaced by its redacted form:
    credential formats, URL passwords and secret-named assignments (``DB_PASSWORD=…``,
    ``--password=…``), read as a script."""
    # NOTE: redaction builds on the detectors, which build on this module.
    from gatekeeper.secrets.redaction import redact_text as redact_found

    return redact_found(text)


# --- files -----------------------------------------------------------------------------------

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
_SECRET_IN_FOLDER = frozenset({(".aws", "credentials"), (".docker", "config.json")})
_SECRET_SUFFIXES = (".key", ".p12", ".pfx")


def is_secret_file(path: str, *, strict: bool = False) -> bool:
    """Whether a file name says credential (``id_rsa``, ``.npmrc``, ``.aws/credentials``...).

    ``strict`` (used for image layers, where system packages ship ``*.key`` test files) only
    accepts the unambiguous names, not the ``.key``/``.p12``/``.pfx`` suffixes.
    """
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.name in _SECRET_BASENAMES or (pure.parent.name, pure.name) in _SECRET_IN_FOLDER:
        return True
    return not strict and pure.name.lower().endswith(_SECRET_SUFFIXES)
