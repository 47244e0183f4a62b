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
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from gatekeeper.secrets._values import is_stand_in, is_weak_default, literal_alternation
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
    holds_any,
    keep_distinct,
    specific_hits,
    url_credential_hits,
    url_password_shape,
)

__all__ = [
    "LOCKFILES",
    "RawHit",
    "config_kind",
    "generic_regex",
    "scan_binary",
    "scan_text",
    "secret_spans",
]

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
# NuGet.config: a package source's credentials (`packageSourceCredentials`) and API keys.
_NUGET = re.compile(
    r"""<add\s+key\s*=\s*["'](ClearTextPassword|Password|ApiKey)["']\s+value\s*=\s*["']([^"'<>\n]*)["']""",
    re.IGNORECASE,
)
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
    "nuget.config": "nuget",
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


def _credential(m: re.Match[str], group: int, detail: str, lines: Lines) -> RawHit | None:
    value = m.group(group).strip().strip("\"'")
    shape = credential_shape(value)
    if shape is None:
        return None
    start = m.start(group)
    return RawHit(
        "config-file-credentials",
        value,
        start,
        m.end(group),
        lines.line(start),
        detail=detail,
        shape=shape,
    )


def _fields(
    pattern: re.Pattern[str], detail: Callable[[re.Match[str]], str]
) -> Callable[[str, Lines], Iterator[RawHit]]:
    """A config format whose credential is the pattern's second group."""

    def hits(text: str, lines: Lines) -> Iterator[RawHit]:
        for m in pattern.finditer(text):
            if (hit := _credential(m, 2, detail(m), lines)) is not None:
                yield hit

    return hits


def _maven(text: str, lines: Lines) -> Iterator[RawHit]:
    for m in _MAVEN.finditer(text):
        value = m.group(2)
        if value.startswith("{") and value.endswith("}"):
            continue  # NOTE: Maven-encrypted ({...}) passwords are not plaintext
        if (hit := _credential(m, 2, f"Maven settings <{m.group(1)}>", lines)) is not None:
            yield hit


@functools.lru_cache(maxsize=8192)
def _dotenv_secret_name(name: str) -> bool:
    return is_secret_name(name) or (
        _DOTENV_KEY.search(name) is not None and not is_pointer_name(name)
    )


def _dotenv(text: str, lines: Lines) -> Iterator[RawHit]:
    for m in _DOTENV.finditer(text):
        name = m.group(1)
        if not _dotenv_secret_name(name):
            continue
        group = m.lastindex or 0  # NOTE: the value's group (2 to 4) is the last to match
        if m.group(group) and (hit := _credential(m, group, f".env {name}", lines)) is not None:
            yield hit


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
    "nuget": _fields(_NUGET, lambda m: f"NuGet.config {m.group(1)}"),
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
# count only as a whole segment are checked for their boundaries in code (``_candidates``):
# lookarounds in the pattern made the scan three times slower.
# The assignment forms: `=`, `:`, `=>`, `<-`, Go's and Make's `:=`, Make's `::=`, `:::=` and
# `?=`, PHP's `.=` and `??=`, Ruby's `||=`, a type between name and operator (Go `var t string
# =`, Kotlin/TypeScript/Rust `t: String =`), and a quoted name followed by a comma and a
# quoted value (`System.setProperty("API_TOKEN", "…")`, `os.getenv("TOKEN", "…")`), which
# ``_generic`` accepts only in that form.
_GENERIC_TAIL = (
    r"([A-Za-z0-9_.-]{0,40})([\"'])?"
    r"(?:(?:[ \t]*:[ \t]*|[ \t]+)(?:&(?:'static )?str|str|string|\[\]byte)\??(?=[ \t]*=))?"
    r"[ \t]*(:::=|::=|:=|\?\?=|\?=|\.=|\|\|=|=>|=|:|<-|(?(3),|(?!)))[ \t]*"
    r"(?:\"([^\"\n]{1,500})\"|'([^'\n]{1,500})'|`([^`\n]{1,500})`|([^\s\"'`,;&){}\[\]<>]{1,500}))"
)


def _name_alternatives() -> list[str]:
    """The name words, then the segment words: the order the pattern prefers them in."""
    # NOTE: split at the `|` outside a group (`passw(?:or)?d|passphrase|…`)
    return [*re.split(r"\|(?![^()]*\))", NAME_WORDS), *sorted(NAME_SEGMENTS)]


def _by_first_letter(alternatives: list[str]) -> str:
    """``alternatives`` grouped by their first letter (``p(?:asswd|wd|…)|s(?:ecret)|…``), each
    group keeping their order: the same first match, but one branch tried per letter instead
    of every word at every position."""
    if not all(alternative[:1].isalnum() for alternative in alternatives):
        return "|".join(alternatives)  # NOTE: only words that start with a letter are grouped
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        groups.setdefault(alternative[0], []).append(alternative[1:])
    return "|".join(f"{first}(?:{'|'.join(rest)})" for first, rest in groups.items())


def generic_regex(*, fast: bool = True) -> str:
    """The generic assignment pattern. ``fast=False``: as written, the name words one flat
    alternation and the name's tail greedy; ``fast`` finds the same matches (a test holds
    them to it) with the words grouped by first letter and the tail possessive."""
    alternatives = _name_alternatives()
    if not fast:
        return "(" + "|".join(alternatives) + ")" + _GENERIC_TAIL
    # NOTE: no operator or quote starts with a name character but `.=`, whose `=` ends the
    # name's characters anyway: a shorter tail never matches where the longest failed, and
    # trying each of the 40 was most of the time spent on words that are no assignment.
    tail = _GENERIC_TAIL.replace("{0,40})", "{0,40}+)", 1)
    return "(" + _by_first_letter(alternatives) + ")" + tail


@functools.cache
def _generic_pattern() -> re.Pattern[str]:
    # NOTE: compiled when first needed, not when gatekeeper starts.
    return re.compile(generic_regex())


# A value in an XML element named like a secret, on one line or several
# (`<apiToken>…</apiToken>`), and .NET's `<add key="ApiToken" value="…"/>` (appSettings,
# NuGet.config's `ClearTextPassword`).
_XML_CLOSE = re.compile(r"</([A-Za-z_][\w.:-]{0,60})>")
_XML_VALUE = re.compile(r"[ \t\r\n]*([^<>\s]{1,500})[ \t\r\n]*")
# NOTE: `key(?<!\wkey)` is `\bkey` with the boundary checked after the literal, which the
# search skips to (not a boundary test at every position).
_XML_KEY_VALUE = re.compile(
    r"""key(?<!\wkey)\s*=\s*["']([^"'<>\n]{1,80})["']\s+value\s*=\s*["']([^"'<>\n]{1,500})["']"""
)


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two; keep offsets exact
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


_NAME_CHARSET = frozenset(_NAME_CHARS)


def _name_start(text: str, offset: int) -> int:
    """Where the run of name characters that ends at ``offset`` starts."""
    if not offset or text[offset - 1] not in _NAME_CHARSET:
        return offset  # NOTE: most names start with their secret word (`password: …`)
    # NOTE: `rstrip` over a slice, not a loop a character at a time; a slice of nothing but
    # name characters looks further back.
    while True:
        lo = max(0, offset - 64)
        kept = len(text[lo:offset].rstrip(_NAME_CHARS))
        if kept or lo == 0:
            return lo + kept
        offset = lo


def _value(text: str, m: re.Match[str], is_code: bool) -> tuple[int, str] | None:
    """(value group, value) of a candidate, or None for an expression."""
    group = m.lastindex or 0  # NOTE: the value's group (5 to 8) is the last to match
    if m.group(4) == "," and (not m.group(3) or group not in (5, 6)):
        return None  # NOTE: `token, x` is an argument list, not an assignment
    end = m.end()
    if group != 8 and text[end : end + 3].lstrip(" \t").startswith("+"):
        return None  # NOTE: `"pypi-AgE" + random(120)`: the start of a concatenation
    value = text[m.start(group) : m.end(group)].strip()
    if group == 8:
        if is_code or "(" in value:
            return None  # NOTE: an unquoted right-hand side in code is an expression
        if value.endswith("\\"):
            return None  # NOTE: `Usuário\ ou\ senha`: prose with escaped spaces (.properties)
        if value.endswith(".."):
            return None  # NOTE: `ops_eyJzaWdu...`: a value shown cut short, not the value
        value = value.rstrip(".")
    return group, value


_SEGMENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _candidates(low: str, pos: int = 0) -> Iterator[re.Match[str]]:
    """The pattern's matches in ``low`` from ``pos`` on; a short word (``pass``, ``auth``...)
    only as a whole segment of the name, not inside a word."""
    search = _generic_pattern().search
    while (m := search(low, pos)) is not None:
        if m.group(1) in NAME_SEGMENTS:
            start, end = m.span(1)
            if (start and low[start - 1] in _SEGMENT_CHARS) or low[end : end + 1] in _SEGMENT_CHARS:
                pos = m.start() + 1  # as a pattern that refused this word would go on
                continue
        pos = m.end()
        yield m


def _inside_string(text: str, offset: int) -> bool:
    """Whether ``offset`` is inside a quoted string that opened earlier on its line."""
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset]
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1


# (name start, value start, name, value, shape) of an assignment, offsets within its line.
_Assignment = tuple[int, int, str, str, Shape]


def _assignment(text: str, m: re.Match[str], is_code: bool) -> _Assignment | None:
    """A candidate the classifier says is a secret assigned to a secret's name, or None."""
    start = _name_start(text, m.start())
    name = text[start : m.end(2)]
    # secret_assignment(name, value), in two halves: most candidates fail on the name.
    if not is_secret_name(name):
        return None
    operator = m.group(4)
    if operator == ":" and m.group(3) is None and _inside_string(text, start):
        return None  # NOTE: `notes = "io.jsonwebtoken:jjwt…"`: words in a string, no key
    if operator == "," and (is_stand_in(name) or is_weak_default(name)):
        return None  # NOTE: `reset_password('password123', 'password123')`: two values
    found = _value(text, m, is_code)
    if found is None:
        return None
    group, value = found
    shape = assignment_shape(value, keyed=True)
    return None if shape is None else (start, m.start(group), name, value, shape)


def _line_assignments(
    text: str, low: str, line: tuple[int, int], is_code: bool
) -> list[_Assignment]:
    """The assignments on the line ``text[line[0]:line[1]]``, offsets from its start."""
    line_start, line_end = line
    found = []
    for m in _candidates(low, line_start):
        if m.start() > line_end:
            break
        if (assignment := _assignment(text, m, is_code)) is not None:
            name_start, value_start, name, value, shape = assignment
            found.append((name_start - line_start, value_start - line_start, name, value, shape))
    return found


def _generic(text: str, lines: Lines, *, is_code: bool) -> Iterator[RawHit]:
    """Literals assigned to a secret's name.

    Every candidate lies within one line, and what a candidate is depends on its line only
    (the name's start, a string opened before it, the value, what follows it on the line):
    a line seen before in the text gives what it gave then, without reading it again
    (templates and config files repeat their lines). What does not depend on the line alone
    is decided for each: a stand-in is one hit per text, and an Algolia key is public by
    the settings around it."""
    stand_ins: set[str] = set()  # a stand-in is one hit per text (templates repeat them)
    seen: dict[str, list[_Assignment]] = {}
    low = _lower_same_length(text)
    search = _generic_pattern().search
    pos = 0
    while (m := search(low, pos)) is not None:
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end == -1 else line_end
        key = text[line_start:line_end]
        if (found := seen.get(key)) is None:
            found = seen[key] = _line_assignments(text, low, (line_start, line_end), is_code)
        for name_at, value_at, name, value, shape in found:
            start = line_start + value_at
            if shape == "placeholder":
                if value in stand_ins:
                    continue
                stand_ins.add(value)
            elif shape == "generated" and _algolia_search_key(text, name, start):
                shape = "public"
            yield RawHit(
                "generic-assignment",
                value,
                start,
                start + len(value),
                lines.line(line_start + name_at),
                detail=f"assigned to {name[:64]}",
                shape=shape,
            )
        pos = line_end + 1


# An Algolia client configuration: `{appId: "…", apiKey: "<32 hex>", indexName: "…"}`
# (Docusaurus' DocSearch, the npm search of yarn's bundled release).
_ALGOLIA_KEY_NAME = re.compile(r"(?:search_?)?api_?key", re.IGNORECASE)
_ALGOLIA_APP_ID = re.compile(r"\bapp(?:lication)?_?id\b", re.IGNORECASE)
_ALGOLIA_INDEX = re.compile(r"\bindex_?name\b", re.IGNORECASE)
_HEX32 = re.compile(r"[0-9a-f]{32}")


def _algolia_search_key(text: str, name: str, offset: int) -> bool:
    """Whether the value at ``offset`` is an Algolia search-only key: a 32-hex ``apiKey``
    with an ``appId`` and an ``indexName`` within a few lines around it."""
    if not _ALGOLIA_KEY_NAME.fullmatch(name.strip("\"'").rsplit(".", 1)[-1]):
        return False
    if not _HEX32.match(text, offset) or _HEX32.match(text, offset + 1):
        return False
    around = text[max(0, offset - 300) : offset + 300]
    return bool(_ALGOLIA_APP_ID.search(around) and _ALGOLIA_INDEX.search(around))


def _generic_hit(
    value: str, start: int, lines: Lines, detail: str, shape: Shape | None
) -> Iterator[RawHit]:
    if shape is not None:
        yield RawHit(
            "generic-assignment",
            value,
            start,
            start + len(value),
            lines.line(start),
            detail=detail,
            shape=shape,
        )


def _xml_assignments(text: str, lines: Lines) -> Iterator[RawHit]:
    """``<apiToken>…</apiToken>`` and ``<add key="ApiToken" value="…"/>``."""
    # NOTE: closing tags first (a literal `</` the search skips to), then only the elements
    # named like a secret are read back to their opening tag.
    for close in _XML_CLOSE.finditer(text):
        name = close.group(1)
        if not is_secret_name(name):
            continue
        opening = text.rfind(f"<{name}>", max(0, close.start() - 600), close.start())
        if opening == -1:
            continue
        m = _XML_VALUE.fullmatch(text, opening + len(name) + 2, close.start())
        if m is not None:
            shape = assignment_shape(m.group(1), keyed=True)
            yield from _generic_hit(m.group(1), m.start(1), lines, f"<{name[:64]}>", shape)
    if "value" in text and holds_any(("key=", "key ="))(text):
        for m in _XML_KEY_VALUE.finditer(text):
            if is_secret_name(m.group(1)):
                shape = assignment_shape(m.group(2), keyed=True)
                detail = f"assigned to {m.group(1)[:64]}"
                yield from _generic_hit(m.group(2), m.start(2), lines, detail, shape)


# `curl -u user:password`, `--user user:password`, `--user=…` (also `-uuser:password`).
# NOTE: `-(?<![^\s"']-)` is `(?:^|[\s"'])-` with what comes before the dash checked after
# it: the search skips to each dash instead of trying the start at every position.
_CURL_USER = re.compile(
    r"""-(?<![^\s"']-)(?:u[ \t]*|-user[ \t=]+)["']?([^\s:"'$]{0,128})["']?:["']?([^\s"']{1,256})"""
)
# An Authorization header with a literal credential, in a script, code or a config file.
# NOTE: `(?-i:[aA])` first (the letters case folding gives `a`): the search skips to each
# `a` and `A`; a first letter matched ignoring case would have it try every position.
_AUTH_HEADER = re.compile(
    r"""(?-i:[aA])uthorization["']?[ \t]*[:=,][ \t]*["']?(?:(basic|bearer|token)[ \t]+)?"""
    r"""([A-Za-z0-9._~+/=-]{8,2048})(?![A-Za-z0-9._~+/=$-])""",
    re.IGNORECASE,
)


def _basic_shape(value: str) -> Shape | None:
    """A Basic credential is base64 of ``user:password``: the password decides."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return assignment_shape(value, keyed=True)  # NOTE: not base64: a token sent as is
    try:
        plain = raw.decode("utf-8")
    except ValueError:
        return assignment_shape(value, keyed=True)
    user, sep, password = plain.partition(":")
    return url_password_shape(user, password) if sep else None


def _http_credentials(text: str, lines: Lines) -> Iterator[RawHit]:
    """``curl -u user:password`` and ``Authorization: Basic|Bearer …`` headers."""
    if "curl" in text and "-u" in text:  # NOTE: `-u` is common, `curl` is not
        for m in _CURL_USER.finditer(text):
            shape = url_password_shape(m.group(1), m.group(2))
            yield from _generic_hit(m.group(2), m.start(2), lines, "curl --user password", shape)
    if "uthorization" in text or "UTHORIZATION" in text:
        for m in _AUTH_HEADER.finditer(text):
            scheme, value = (m.group(1) or "").lower(), m.group(2)
            if not scheme and value.lower() in ("basic", "bearer", "token"):
                continue
            shape = (
                _basic_shape(value) if scheme == "basic" else assignment_shape(value, keyed=True)
            )
            detail = f"Authorization: {scheme.capitalize() or '(no scheme)'} header"
            yield from _generic_hit(value, m.start(2), lines, detail, shape)


# --- Kubernetes Secrets ----------------------------------------------------------------------

_K8S_BLOCK = re.compile(r"(?m)^([ \t]*)(data|stringData):[ \t]*$")
_K8S_ENTRY = re.compile(r"""^([ \t]+)([\w.-]{1,253}):[ \t]*["']?([^\s"'#]{1,8192})["']?[ \t]*$""")
# Entries of a Secret that name where and who, not the secret.
_K8S_NOT_SECRET = re.compile(
    r"(?i)^(?:user(?:name)?|host(?:name)?|port|url|endpoint|namespace|database|db|name|email"
    r"|region|server|address|ca\.crt|tls\.crt|.*\.(?:crt|pub|cert))$"
)


_K8S_KIND = re.compile(r"(?m)^[ \t]*[\"']?kind[\"']?[ \t]*:[ \t]*[\"']?[Ss]ecret\b")


def _k8s_value(kind: str, key: str, value: str, start: int, lines: Lines) -> Iterator[RawHit]:
    plain: str | None = value
    if kind == "data":
        try:
            plain = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            plain = None
    if plain is None or "BEGIN CERTIFICATE" in plain:
        return
    # NOTE: a `.dockercfg` / `.dockerconfigjson` entry is a Docker config: registry logins.
    docker = plain.lstrip().startswith("{") and '"auth' in plain
    shape: Shape | None = "generated" if docker else credential_shape(plain)
    if shape is not None:
        yield RawHit(
            "config-file-credentials",
            value,
            start,
            start + len(value),
            lines.line(start),
            detail=f"Kubernetes Secret {kind}.{key[:64]}",
            shape=shape,
        )


def _k8s_secrets(text: str, lines: Lines) -> Iterator[RawHit]:
    """Every value of a Secret manifest's ``data`` (decoded from base64) and ``stringData``,
    on its line or in a block scalar (``key: |`` and the value on the next line)."""
    if "ecret" not in text or "kind" not in text or _K8S_KIND.search(text) is None:
        return
    for block in _K8S_BLOCK.finditer(text):
        indent = len(block.group(1).expandtabs())
        pending = ""  # the key of a block scalar whose value is on the next line
        pos = block.end() + 1
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end == -1 else end
            line = text[pos:end]
            stripped = line.strip()
            if pending and stripped:
                offset = pos + line.index(stripped[0])
                yield from _k8s_value(block.group(2), pending, stripped, offset, lines)
                pending = ""
                pos = end + 1
                continue
            m = _K8S_ENTRY.match(line)
            blank = not stripped or stripped.startswith("#")
            if not blank and (m is None or len(m.group(1).expandtabs()) <= indent):
                break
            if m is not None and not _K8S_NOT_SECRET.match(m.group(2)):
                if m.group(3) in ("|", ">", "|-", ">-", "|+", ">+"):
                    pending = m.group(2)
                else:
                    yield from _k8s_value(
                        block.group(2), m.group(2), m.group(3), pos + m.start(3), lines
                    )
            pos = end + 1


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
        *_k8s_secrets(text, lines),
        *url_credential_hits(text, lines),
        *_http_credentials(text, lines),
        *_xml_assignments(text, lines),
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
_NAME_STEMS = ("pass", "pw", "secret", "token", "key", "credential", "auth", "creds", "-u")


_NEEDLE_SEARCH = re.compile(literal_alternation(NEEDLES))


def _may_hold_secret(text: str) -> bool:
    if "://" in text and "@" in text:
        return True
    if _NEEDLE_SEARCH.search(text) is not None:
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
        *_http_credentials(text, lines),
        *_generic(text, lines, is_code=False),
    ]
    return keep_distinct(hit for hit in hits if hit.shape != "placeholder")
