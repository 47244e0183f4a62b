"""Version ordering by each ecosystem's own rules (its spec names the scheme), never as strings.

Usage::

    from gatekeeper.deps.versions import compare, version_key
    compare("PyPI", "2.0.0rc1", "2.0.0")   # -1
    compare("Go", "v0.0.0-20230101000000-abcdef123456", "v0.1.0")   # -1

``version_key(ecosystem, version)`` returns a value that sorts in the ecosystem's order;
an unparseable version raises ``UnparseableVersion`` (a ``ValueError``): callers decide,
nothing guesses.

- PyPI: PEP 440 through ``packaging``.
- npm, crates.io: SemVer 2.0.0 (prerelease identifiers ordered, build metadata ignored);
  a leading ``v`` or ``=`` is accepted as npm does.
- Go: SemVer with the mandatory ``v``; pseudo-versions are prereleases and order by their
  timestamp; ``+incompatible`` is build metadata.
- RubyGems: ``Gem::Version`` (segments, letters make a prerelease, trailing zeros ignored).
- Maven: ``ComparableVersion`` (qualifier order alpha < beta < milestone < rc < snapshot <
  release < sp, then other strings; ``-``/``.``/digit-letter transitions split items).
- Packagist: Composer's ``VersionParser::normalize`` (a leading ``v`` dropped, four numeric
  parts, ``a``/``b``/``p``/``pl``/``rc`` spelled out) then PHP's ``version_compare`` (dev <
  alpha < beta < RC < release < patch); branches (``dev-main``, ``1.x-dev``) do not order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from packaging.version import InvalidVersion, Version

from gatekeeper.deps.ecosystem import ECOSYSTEMS, VersionScheme

__all__ = [
    "SCHEMES",
    "UnparseableVersion",
    "compare",
    "is_exact",
    "semver_key",
    "version_key",
]


class UnparseableVersion(ValueError):
    """The version string does not follow its ecosystem's syntax."""


# ---------------------------------------------------------------- SemVer (npm, Cargo, Go)

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@functools.lru_cache(maxsize=65536)
def semver_key(version: str) -> tuple[Any, ...]:
    """Sort key for SemVer 2.0.0: a release sorts after its prereleases; build is ignored."""
    match = _SEMVER.match(version)
    if match is None:
        raise UnparseableVersion(f"not a SemVer version: {version!r}")
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        pre_key: tuple[Any, ...] = (1,)
    else:
        # Numeric identifiers sort numerically and before alphanumeric ones; a longer
        # list of identifiers sorts after its prefix (tuple comparison does exactly that).
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
        pre_key = (0, ids)
    return (int(major), int(minor), int(patch), pre_key)


def _npm_key(version: str) -> tuple[Any, ...]:
    text = version.strip()
    if text[:1] in ("v", "="):
        text = text[1:]
    return semver_key(text)


def _go_key(version: str) -> tuple[Any, ...]:
    if not version.startswith("v"):
        raise UnparseableVersion(f"not a Go module version (no leading v): {version!r}")
    return semver_key(version[1:])


# ---------------------------------------------------------------- PEP 440


def _pep440_key(version: str) -> Any:
    try:
        return Version(version)
    except InvalidVersion as exc:
        raise UnparseableVersion(f"not a PEP 440 version: {version!r}") from exc


# ---------------------------------------------------------------- RubyGems

_GEM_OK = re.compile(r"^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z.-]+)?$")


def _gem_key(version: str) -> _GemKey:
    text = version.strip()
    if not _GEM_OK.match(text):
        raise UnparseableVersion(f"not a RubyGems version: {text!r}")
    # Gem::Version treats "-" as ".pre." (a prerelease marker).
    text = text.replace("-", ".pre.")
    segments: list[int | str] = [
        int(s) if s.isdigit() else s for s in re.findall(r"[0-9]+|[a-zA-Z]+", text)
    ]
    # Canonical form: trailing zeros of the release part and of the prerelease part drop.
    first_str = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    release, pre = segments[:first_str], segments[first_str:]
    while release and release[-1] == 0:
        release.pop()
    while pre and pre[-1] == 0:
        pre.pop()
    # Encode for tuple comparison: a string segment sorts below any number at that position;
    # a missing segment is 0.
    return _GemKey(tuple(release + pre))


@functools.total_ordering
class _GemKey:
    __slots__ = ("segs",)

    def __init__(self, segs: tuple[int | str, ...]) -> None:
        self.segs = segs

    def _cmp(self, other: _GemKey) -> int:
        a, b = self.segs, other.segs
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else 0
            y = b[i] if i < len(b) else 0
            if x == y:
                continue
            if isinstance(x, str) and isinstance(y, int):
                return -1
            if isinstance(x, int) and isinstance(y, str):
                return 1
            return -1 if x < y else 1  # type: ignore[operator]
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _GemKey) and self._cmp(other) == 0

    def __lt__(self, other: _GemKey) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash(self.segs)


# ---------------------------------------------------------------- Maven ComparableVersion

_MVN_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_MVN_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_MVN_RELEASE_INDEX = str(_MVN_QUALIFIERS.index(""))


def _mvn_qualifier(value: str) -> str:
    if value in _MVN_QUALIFIERS:
        return str(_MVN_QUALIFIERS.index(value))
    return f"{len(_MVN_QUALIFIERS)}-{value}"


class _MvnItem:
    """One item of a ComparableVersion: int, string qualifier, or a nested list."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any) -> None:
        self.kind = kind  # "int" | "str" | "list"
        self.value = value

    def is_null(self) -> bool:
        if self.kind == "int":
            return bool(self.value == 0)
        if self.kind == "str":
            return _mvn_qualifier(self.value) == _MVN_RELEASE_INDEX
        return not self.value

    def compare(self, other: _MvnItem | None) -> int:
        if self.kind == "int":
            return self._compare_int(other)
        if self.kind == "str":
            return self._compare_str(other)
        return self._compare_list(other)

    def _compare_int(self, other: _MvnItem | None) -> int:
        if other is None:
            return 0 if self.value == 0 else 1
        if other.kind == "int":
            return int(self.value > other.value) - int(self.value < other.value)
        return 1

    def _compare_str(self, other: _MvnItem | None) -> int:
        mine = _mvn_qualifier(self.value)
        if other is None:
            return (mine > _MVN_RELEASE_INDEX) - (mine < _MVN_RELEASE_INDEX)
        if other.kind == "str":
            theirs = _mvn_qualifier(other.value)
            return (mine > theirs) - (mine < theirs)
        return -1

    def _compare_list(self, other: _MvnItem | None) -> int:
        if other is None:
            return 0 if not self.value else int(self.value[0].compare(None))
        if other.kind != "list":
            return -1 if other.kind == "int" else 1
        left, right = self.value, other.value
        for i in range(max(len(left), len(right))):
            result = _compare_items(
                left[i] if i < len(left) else None, right[i] if i < len(right) else None
            )
            if result:
                return result
        return 0


def _compare_items(left: _MvnItem | None, right: _MvnItem | None) -> int:
    if left is not None:
        return left.compare(right)
    return 0 if right is None else -right.compare(None)


def _mvn_parse_item(is_digit: bool, text: str, followed_by_digit: bool = False) -> _MvnItem:
    if is_digit:
        return _MvnItem("int", int(text))
    if followed_by_digit and len(text) == 1:
        text = {"a": "alpha", "b": "beta", "m": "milestone"}.get(text, text)
    return _MvnItem("str", _MVN_ALIASES.get(text, text))


def _mvn_normalize(items: list[_MvnItem]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if items[i].is_null():
            del items[i]
        elif items[i].kind != "list":
            break


def _mvn_item_or_zero(is_digit: bool, text: str, start: int, end: int) -> _MvnItem:
    return _MvnItem("int", 0) if end == start else _mvn_parse_item(is_digit, text[start:end])


class _MvnParser:
    """ComparableVersion's parser: items split at ``.``, ``-`` and digit/letter transitions;
    ``-`` and transitions open a nested list."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: list[_MvnItem] = []
        self.current = self.root
        self.stack = [self.root]
        self.is_digit = False
        self.start = 0

    def parse(self) -> _MvnItem:
        for i, char in enumerate(self.text):
            if char in ".-":
                self.current.append(_mvn_item_or_zero(self.is_digit, self.text, self.start, i))
                self.start = i + 1
                if char == "-":
                    self._push_list()
            else:
                self._transition(i, char.isdigit())
        if len(self.text) > self.start:
            self.current.append(_mvn_parse_item(self.is_digit, self.text[self.start :]))
        while self.stack:
            _mvn_normalize(self.stack.pop())
        return _MvnItem("list", self.root)

    def _transition(self, i: int, digit: bool) -> None:
        """A digit after letters or a letter after digits ends an item and opens a list."""
        if digit != self.is_digit and i > self.start:
            word = self.text[self.start : i]
            self.current.append(_mvn_parse_item(self.is_digit, word, followed_by_digit=digit))
            self.start = i
            self._push_list()
        self.is_digit = digit

    def _push_list(self) -> None:
        nested: list[_MvnItem] = []
        self.current.append(_MvnItem("list", nested))
        self.stack.append(nested)
        self.current = nested


def _maven_key(version: str) -> Any:
    text = version.strip().lower()
    if not text or any(c.isspace() for c in text):
        raise UnparseableVersion(f"not a Maven version: {version!r}")
    return _MvnKey(_MvnParser(text).parse())


@functools.total_ordering
class _MvnKey:
    __slots__ = ("item",)

    def __init__(self, item: _MvnItem) -> None:
        self.item = item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _MvnKey) and self.item.compare(other.item) == 0

    def __lt__(self, other: _MvnKey) -> bool:
        return self.item.compare(other.item) < 0

    def __hash__(self) -> int:
        return 0  # NOTE: equality is structural across spellings ("1.0" == "1"); keep hashing safe


# ---------------------------------------------------------------- Composer (Packagist)

_COMPOSER_MODIFIER = r"[._-]?(?:(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?$"
_COMPOSER_CLASSIC = re.compile(
    r"^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?" + _COMPOSER_MODIFIER, re.IGNORECASE
)
_COMPOSER_DATE = re.compile(
    r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _COMPOSER_MODIFIER, re.IGNORECASE
)
_COMPOSER_STABILITY = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
# PHP version_compare's special forms, matched as prefixes in this order; a number is "#"
# (4); any other string sorts below "dev".
_PHP_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3))
_PHP_FORMS_AFTER = (("#", 4), ("pl", 5), ("p", 5))


def _php_rank(part: str) -> int:
    for form, rank in (*_PHP_FORMS, *_PHP_FORMS_AFTER):
        if part.startswith(form):
            return rank
    return -1


def composer_normalize(version: str) -> str:
    """Composer's normalized form (``v1.2-beta1`` -> ``1.2.0.0-beta1``).

    Raises:
        UnparseableVersion: a branch (``dev-main``, ``1.x-dev``) or not a Composer version.
    """
    text = version.strip()
    if text.lower().startswith("dev-") or re.search(r"[.x*]-?dev$", text, re.IGNORECASE):
        raise UnparseableVersion(f"a Composer branch, not a release: {version!r}")
    match = _COMPOSER_CLASSIC.match(text)
    if match:
        numbers = [match.group(1), *((g or ".0")[1:] for g in match.groups()[1:4])]
        head, rest = ".".join(str(int(n)) for n in numbers), match.groups()[4:]
    else:
        match = _COMPOSER_DATE.match(text)
        if match is None:
            raise UnparseableVersion(f"not a Composer version: {version!r}")
        head, rest = re.sub(r"\D", ".", match.group(1)), match.groups()[1:]
    stability, number, dev = rest
    if stability and stability.lower() != "stable":
        name = _COMPOSER_STABILITY.get(stability.lower(), stability.lower())
        head += f"-{name}{(number or '').lstrip('.-')}"
    if dev:
        head += "-dev"
    return head


def _php_parts(version: str) -> list[tuple[int, int]]:
    """PHP's canonical parts (separators ``-_+.``, a break between digits and letters),
    each as (rank, number): a number is (4, n), a string its special-form rank."""
    text = re.sub(r"[-_+]", ".", version)
    text = re.sub(r"(?<=\d)(?=[^\d.])|(?<=[^\d.])(?=\d)", ".", text)
    return [(4, int(p)) if p.isdigit() else (_php_rank(p), 0) for p in text.split(".") if p]


@functools.total_ordering
class _ComposerKey:
    """PHP version_compare over Composer-normalized versions: a shorter version is padded
    with a part that sorts above any string but below any number (PHP's ``#``)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[tuple[int, int]]) -> None:
        self.parts = parts

    def _cmp(self, other: _ComposerKey) -> int:
        length = max(len(self.parts), len(other.parts))
        pad = (4, -1)
        a = self.parts + [pad] * (length - len(self.parts))
        b = other.parts + [pad] * (length - len(other.parts))
        return (a > b) - (a < b)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ComposerKey) and self._cmp(other) == 0

    def __lt__(self, other: _ComposerKey) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return 0  # NOTE: equal keys may differ in length (trailing pads); keep hashing safe


def _composer_key(version: str) -> _ComposerKey:
    return _ComposerKey(_php_parts(composer_normalize(version)))


# ---------------------------------------------------------------- dispatch

# One key function per version scheme; each ecosystem's spec names its scheme.
SCHEMES: dict[VersionScheme, Callable[[str], Any]] = {
    "pep440": _pep440_key,
    "npm-semver": _npm_key,
    "semver": semver_key,
    "go": _go_key,
    "rubygems": _gem_key,
    "maven": _maven_key,
    "composer": _composer_key,
}


@functools.lru_cache(maxsize=65536)
def version_key(ecosystem: str, version: str) -> Any:
    """A sort key ordering ``version`` by ``ecosystem``'s rules.

    Raises:
        UnparseableVersion: the version does not follow the ecosystem's syntax, or the
            ecosystem is unknown.
    """
    spec = ECOSYSTEMS.get(ecosystem)
    if spec is None:
        raise UnparseableVersion(f"unknown ecosystem {ecosystem!r}")
    return SCHEMES[spec.version_scheme](version)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b`` in ``ecosystem``.

    Raises:
        UnparseableVersion: either version is unparseable.
    """
    ka, kb = version_key(ecosystem, a), version_key(ecosystem, b)
    return int(ka > kb) - int(ka < kb)


def is_exact(ecosystem: str, version: str) -> bool:
    """Whether ``version`` is one parseable version (not a range) in ``ecosystem``."""
    try:
        version_key(ecosystem, version)
    except UnparseableVersion:
        return False
    return True
