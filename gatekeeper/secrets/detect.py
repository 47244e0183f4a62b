"""Secret detectors over text: credential formats, tool config files, generic assignments.

The credential formats (``formats.py``) count wherever they appear; a tool's config file
(``.npmrc``, ``.pypirc``, ``.netrc``, kubeconfig, Maven ``settings.xml``, ``.env``, a Docker
config) makes its credential fields count; elsewhere a literal counts when it is assigned to
a name like password or token and the classifier (``classify.py``) says it is a secret.
One secret gives one hit (see ``formats.PRECEDENCE``).

A hit whose value is an obvious stand-in is kept with ``shape="placeholder"`` (the audit
reports it at info, saying so); only references and non-values are no hit at all.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from gatekeeper.secrets.classify import (
    NAME_SEGMENTS,
    NAME_WORDS,
    assignment_shape,
    credential_shape,
    is_placeholder,
    is_pointer_name,
    is_reference,
    is_secret_name,
)
from gatekeeper.secrets.formats import (
    NEEDLES,
    Lines,
    RawHit,
    Shape,
    binary_hits,
    keep_distinct,
    specific_hits,
    url_credential_hits,
    url_password_shape,
)

__all__ = ["LOCKFILES", "RawHit", "config_kind", "scan_binary", "scan_text", "secret_spans"]

# Files whose values are integrity hashes, not secrets: every ecosystem's lockfile (a test checks
# that each lockfile gatekeeper.deps reads is here), including formats it does not parse.
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
        "gems.locked",
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
        ".map",  # a source map: generated from code, its sourcesContent is code
        ".ps1",  # PowerShell: an unquoted right-hand side is a command (`$t = Get-Token`)
        ".psm1",
    }
)

# --- tool config files -----------------------------------------------------------------------

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
# In a .env file a *_KEY variable holds a key (STRIPE_KEY, SENDGRID_KEY) by convention.
_DOTENV_KEY = re.compile(r"(?i)_key$|^key$")
_DOCKER_AUTH = re.compile(
    r"\"(auth|identitytoken|registrytoken)\"\s*:\s*\"([A-Za-z0-9+/=._-]{4,})\""
)

_CONFIG_NAMES = {
    ".npmrc": "npmrc",
    "npmrc": "npmrc",
    ".pypirc": "pypirc",
    "pypirc": "pypirc",
    ".netrc": "netrc",
    "_netrc": "netrc",
    "netrc": "netrc",
    "settings.xml": "maven",
    "settings-security.xml": "maven",
    ".dockercfg": "docker",
}
_CONFIG_IN_FOLDER = {(".docker", "config.json"): "docker", (".kube", "config"): "kube"}
_DOTENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults")


def _is_dotenv(low: str) -> bool:
    return low == ".env" or low.endswith(".env") or low.startswith(".env.")


def _is_kubeconfig(low: str, text: str) -> bool:
    return "kubeconfig" in low or (
        "kind: Config" in text and "clusters:" in text and "users:" in text
    )


def config_kind(path: str, text: str) -> str | None:
    """Which tool config a file is, from its name (and, for kubeconfig/docker, its content)."""
    pure = PurePosixPath(path)
    low = pure.name.lower()
    kind = _CONFIG_NAMES.get(low) or _CONFIG_IN_FOLDER.get((pure.parent.name, low))
    if kind is not None:
        return kind
    if _is_dotenv(low):
        # NOTE: an example .env is no tool config (a random-looking value there is still
        # reported as a generic assignment).
        return None if any(m in low for m in _DOTENV_TEMPLATES) else "dotenv"
    if _is_kubeconfig(low, text):
        return "kube"
    if low.endswith(".json") and '"auths"' in text:
        return "docker"
    return None


def _credential(m: re.Match[str], group: int, detail: str, lines: Lines) -> Iterator[RawHit]:
    value = m.group(group).strip().strip("\"'")
    shape = credential_shape(value)
    if shape is not None:
        yield RawHit(
            "config-file-credentials",
            value,
            m.start(group),
            m.end(group),
            lines.line(m.start(group)),
            detail=detail,
            shape=shape,
        )


def _fields(
    pattern: re.Pattern[str], detail: Callable[[re.Match[str]], str]
) -> Callable[[str, Lines], Iterator[RawHit]]:
    """A config format whose credential is the pattern's second group."""

    def hits(text: str, lines: Lines) -> Iterator[RawHit]:
        for m in pattern.finditer(text):
            yield from _credential(m, 2, detail(m), lines)

    return hits


def _maven(text: str, lines: Lines) -> Iterator[RawHit]:
    for m in _MAVEN.finditer(text):
        value = m.group(2)
        if value.startswith("{") and value.endswith("}"):
            continue  # NOTE: Maven-encrypted ({...}) passwords are not plaintext
        yield from _credential(m, 2, f"Maven settings <{m.group(1)}>", lines)


def _dotenv_secret_name(name: str) -> bool:
    return is_secret_name(name) or (
        _DOTENV_KEY.search(name) is not None and not is_pointer_name(name)
    )


def _dotenv(text: str, lines: Lines) -> Iterator[RawHit]:
    for m in _DOTENV.finditer(text):
        if not _dotenv_secret_name(m.group(1)):
            continue
        group = next(g for g in (2, 3, 4) if m.group(g) is not None)
        if m.group(group):
            yield from _credential(m, group, f".env {m.group(1)}", lines)


def _docker_auth_shape(kind: str, value: str) -> Shape:
    """An ``auth`` value is base64 of ``user:password``: what the password is decides."""
    if is_placeholder(value) or len(value) < 8:
        return "placeholder"
    if kind != "auth":
        return "generated"
    try:
        plain = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return "generated"
    user, sep, password = plain.partition(":")
    if not sep:
        return "generated"
    return url_password_shape(user, password) or "placeholder"


def _docker(text: str, lines: Lines) -> Iterator[RawHit]:
    if '"auths"' not in text and not text.lstrip().startswith("{"):
        return
    for m in _DOCKER_AUTH.finditer(text):
        value = m.group(2)
        if is_reference(value):
            continue
        yield RawHit(
            "docker-auth",
            value,
            m.start(2),
            m.end(2),
            lines.line(m.start(2)),
            detail=f"Docker config {m.group(1)}",
            shape=_docker_auth_shape(m.group(1), value),
        )


_CONFIGS: dict[str, Callable[[str, Lines], Iterator[RawHit]]] = {
    "npmrc": _fields(_NPMRC, lambda m: f".npmrc {m.group(1)}"),
    "pypirc": _fields(_PYPIRC, lambda m: ".pypirc password"),
    "netrc": _fields(_NETRC, lambda m: ".netrc password"),
    "kube": _fields(_KUBE, lambda m: f"kubeconfig {m.group(1)}"),
    "maven": _maven,
    "dotenv": _dotenv,
    "docker": _docker,
}


def _config_hits(path: str, text: str, lines: Lines) -> Iterator[RawHit]:
    kind = config_kind(path, text)
    if kind is not None:
        return _CONFIGS[kind](text, lines)
    if '"auths"' in text:
        return _docker(text, lines)
    return iter(())


# --- generic assignments ---------------------------------------------------------------------


# NOTE: matched case-sensitively against the lower-cased text (10x faster than (?i)); values
# are then read from the original text at the same offsets. The name words are the
# classifier's; a match is only a candidate, the classifier decides. The short words that
# count only as a whole segment are checked for their boundaries in code (``_segment_ok``):
# lookarounds in the pattern made the scan three times slower.
_GENERIC = re.compile(
    r"(" + NAME_WORDS + "|" + "|".join(sorted(NAME_SEGMENTS)) + r")"
    r"([A-Za-z0-9_.-]{0,40})([\"']?)[ \t]*(?:=|:=|:|=>|<-)[ \t]*"
    r"(?:\"([^\"\n]{1,500})\"|'([^'\n]{1,500})'|`([^`\n]{1,500})`|([^\s\"'`,;&){}\[\]<>]{1,500}))"
)
_SEGMENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two; keep offsets exact
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


def _name_start(text: str, offset: int) -> int:
    while offset > 0 and text[offset - 1] in _NAME_CHARS:
        offset -= 1
    return offset


def _value(text: str, m: re.Match[str], is_code: bool) -> tuple[int, str] | None:
    """(value group, value) of a candidate, or None for an expression."""
    group = next(g for g in (4, 5, 6, 7) if m.group(g) is not None)
    value = text[m.start(group) : m.end(group)].strip()
    if group == 7:
        if is_code or "(" in value:
            return None  # NOTE: an unquoted right-hand side in code is an expression
        if value.endswith("\\"):
            return None  # NOTE: `Usuário\ ou\ senha`: prose with escaped spaces (.properties)
        value = value.rstrip(".")
    return group, value


def _segment_ok(low: str, m: re.Match[str]) -> bool:
    """A short word (``pass``, ``auth``...) matched as a whole segment, not inside a word."""
    if m.group(1) not in NAME_SEGMENTS:
        return True
    start, end = m.start(1), m.end(1)
    before = low[start - 1] if start else ""
    after = low[end] if end < len(low) else ""
    return before not in _SEGMENT_CHARS and after not in _SEGMENT_CHARS


def _candidates(low: str) -> Iterator[re.Match[str]]:
    pos = 0
    while (m := _GENERIC.search(low, pos)) is not None:
        if not _segment_ok(low, m):
            pos = m.start() + 1  # as a pattern that refused this word would go on
            continue
        pos = m.end()
        yield m


def _generic(text: str, lines: Lines, *, is_code: bool) -> Iterator[RawHit]:
    stand_ins: set[str] = set()  # a stand-in is one hit per text (templates repeat them)
    for m in _candidates(_lower_same_length(text)):
        start = _name_start(text, m.start())
        name = text[start : m.end(2)]
        # secret_assignment(name, value), in two halves: most candidates fail on the name.
        if not is_secret_name(name):
            continue
        found = _value(text, m, is_code)
        if found is None:
            continue
        group, value = found
        shape = assignment_shape(value)
        if shape is None or (shape == "placeholder" and value in stand_ins):
            continue
        if shape == "placeholder":
            stand_ins.add(value)
        yield RawHit(
            "generic-assignment",
            value,
            m.start(group),
            m.start(group) + len(value),
            lines.line(start),
            detail=f"assigned to {name[:64]}",
            shape=shape,
        )


def scan_text(
    text: str,
    path: str,
    *,
    detectors: Callable[[str], bool] | None = None,
) -> list[RawHit]:
    """Every secret in ``text`` (the content of ``path``), one hit per secret occurrence.

    Hits of obvious stand-ins are included (``shape="placeholder"``). ``detectors``
    optionally filters by detector name (used by tests and benchmarks).
    """
    lines = Lines(text)
    pure = PurePosixPath(path)
    # NOTE: lockfile integrity hashes are not secrets
    generic = (
        iter(())
        if pure.name in LOCKFILES
        else _generic(text, lines, is_code=pure.suffix.lower() in _CODE_EXT)
    )
    hits = [
        *specific_hits(text, lines),
        *_config_hits(path, text, lines),
        *url_credential_hits(text, lines),
        *generic,
    ]
    return keep_distinct(hits, detectors)


def scan_binary(data: bytes) -> list[RawHit]:
    """The credential formats in a file whose content cannot hold text (``text.decode``
    says binary): see ``formats.binary_hits``."""
    return binary_hits(data)


# What a piece of text must contain to hold anything ``secret_spans`` finds: a format's
# prefix, a URL with a user part, or a stem of every secret-like name (``NAME_WORDS`` and
# ``NAME_SEGMENTS``). Substring tests reject most evidence strings (package names,
# versions, paths) before any detector runs; one regular expression of all the names was
# slower than the detectors it spared.
_NAME_STEMS = ("pass", "pw", "secret", "token", "key", "credential", "auth", "creds")


def _may_hold_secret(text: str) -> bool:
    if "://" in text and "@" in text:
        return True
    if any(needle in text for needle in NEEDLES):
        return True
    low = text.lower()
    return any(stem in low for stem in _NAME_STEMS)


def secret_spans(text: str) -> list[RawHit]:
    """The secrets in a piece of repository text that is no file of its own (a script line,
    an environment value, a commit subject): what redaction replaces. Read as a script, so
    an unquoted right-hand side counts; stand-ins are left out (and take no span)."""
    if not _may_hold_secret(text):
        return []
    lines = Lines(text)
    hits = [
        *specific_hits(text, lines),
        *url_credential_hits(text, lines),
        *_generic(text, lines, is_code=False),
    ]
    return keep_distinct(hit for hit in hits if hit.shape != "placeholder")
