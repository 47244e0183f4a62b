"""Where a secret was found, and what that does to its finding's severity: one context model.

Every family that reports a credential asks here (the ``secrets/`` rules, ``container/
secret-in-build``, ``pipeline/hardcoded-credentials``), so a fixture key or a placeholder URL
reads the same in each. Context **lowers** a finding's severity and the message says why; it
never hides a finding. What lowers, and to what:

- at most **medium**: a test, fixture or test-data path (``tests/``, ``testdata/``,
  ``*_test.go``, ``conftest.py``); an example, sample, demo or template (``examples/``,
  ``*.example``, ``run_demo.py``); documentation (``docs/``, ``*.md``, ``README``); key
  material the repository uses only as test input (every file naming it is a test);
- at most **low**: a URL password for a loopback host (``localhost``, ``127.0.0.1``);
- **info**: a URL password for a reserved name (RFC 2606 / RFC 6761: ``example.com``,
  ``*.example``, ``*.test``, ``*.invalid``); an obvious placeholder value (``pass``,
  ``changeme``, ``xxx``, ``<token>``, ``ghp_xxxx…``).

A token whose format proves it real (``formats.Shape`` ``verified``: a GitHub or npm token
with a valid CRC32 checksum, a fine-grained PAT of the documented structure, an AWS key id
in base32, a PyPI macaroon for pypi.org) is never lowered: a real token in a test file is a
real token. A well-known weak password (``P@ssw0rd``, ``admin123``) is a credential and is
lowered by place only, like any other.

Usage::

    from gatekeeper.secrets.context import assess
    verdict = assess(Severity.CRITICAL, path="tests/keys/server.pem", shape="generated")
    verdict.severity   # Severity.MEDIUM
    verdict.note()     # " (critical lowered to medium: under a test path (tests/))"
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from gatekeeper._testpaths import TEST_DIRS
from gatekeeper.models.finding import Severity
from gatekeeper.models.secrets import RedactedValue
from gatekeeper.secrets._values import is_weak_default
from gatekeeper.secrets.classify import REASON_SUFFIXES
from gatekeeper.secrets.formats import Shape, format_hits

__all__ = [
    "Assessment",
    "HostContext",
    "KeyUse",
    "PathContext",
    "assess",
    "assess_secret",
    "assess_value",
    "host_context",
    "path_context",
    "shape_of_reason",
]

PathKind = Literal["test", "example", "docs"]

# --- paths -----------------------------------------------------------------------------------

# Directory names (any depth, any case) that hold tests, fixtures and test data.
_TEST_DIRS = TEST_DIRS
# ... and their prefixes and suffixes: testutils/, test-assets/, dummyserver/, fakeredis/,
# mockserver/, integration-tests/, unit_tests/, api-spec/ is not one (no `-spec` suffix).
_TEST_DIR_PREFIXES = ("test", "dummy", "fake", "mock")
_TEST_DIR_SUFFIXES = ("-test", "_test", "-tests", "_tests", ".tests", "-fixtures", "_fixtures")
# Directory names of examples, samples, demos and playgrounds (and their -/_ compounds:
# examples-go/); a playground is a project's sandbox of small apps (vite's end-to-end fixtures).
_EXAMPLE_DIR = re.compile(
    r"^_?(?:examples?|samples?|demos?|playgrounds?)(?:[-_.].*)?$"
    r"|[-_](?:examples?|samples?|demos?|playgrounds?)$"
)
_DOCS_DIRS = frozenset(
    {"doc", "docs", "documentation", "_docs", "docsrc", "doc-src", "docs_src", "docs-src"}
)

# Words of a file name (split at separators and camelCase) that make it a test file.
_TEST_WORDS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "unittest",
        "unittests",
        "conftest",
        "testdata",
        "testcase",
        "testcases",
        "fixture",
        "fixtures",
        "mock",
        "mocks",
        "dummy",
        "fake",
        "fakes",
        "stub",
        "stubs",
    }
)
# `spec` makes a test only in code (`user_spec.rb`, `app.spec.ts`), not `openapi-spec.yaml`.
_SPEC_CODE = frozenset(
    {".rb", ".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", ".scala", ".kt", ".groovy", ".lua"}
    | {".ex", ".exs", ".coffee", ".py", ".swift", ".cr", ".php"}
)
_EXAMPLE_WORDS = frozenset({"example", "examples", "sample", "samples", "demo", "demos"})
# A last suffix that makes a file a template of another (`.env.example`, `config.yml.dist`).
_TEMPLATE_SUFFIXES = frozenset({".example", ".sample", ".dist", ".template", ".tmpl", ".tpl"})
_DOCS_SUFFIXES = frozenset(
    {".md", ".markdown", ".mdx", ".rst", ".adoc", ".asciidoc", ".rdoc", ".pod", ".textile"}
)
_DOCS_STEMS = frozenset(
    {
        "readme",
        "changelog",
        "changes",
        "history",
        "news",
        "contributing",
        "authors",
        "install",
        "faq",
        "upgrading",
        "migration",
    }
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class PathContext:
    """Why a path is test, example or documentation material: its kind and the marker."""

    kind: PathKind
    marker: str  # e.g. "tests/", "*_test.go", "README.md"

    @property
    def why(self) -> str:
        where = {
            "test": "under a test path",
            "example": "in an example",
            "docs": "in documentation",
        }[self.kind]
        return f"{where} ({self.marker})"


def _words(stem: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(stem) if w]


def _test_dir(segment: str) -> bool:
    low = segment.lower()
    return (
        low in _TEST_DIRS or low.startswith(_TEST_DIR_PREFIXES) or low.endswith(_TEST_DIR_SUFFIXES)
    )


def _file_context(name: str) -> PathContext | None:
    pure = PurePosixPath(name)
    suffix = pure.suffix.lower()
    parts = name.split(".")
    stem = parts[0] or (parts[1] if len(parts) > 1 else "")  # `.env.example`: env
    words = _words(stem)
    inner = {p.lower() for p in parts[1:-1]}  # `app.test.ts`: {test}
    if (
        any(w in _TEST_WORDS or w.startswith("test") for w in words)
        or inner & {"test", "spec"}
        or (suffix in _SPEC_CODE and words and words[-1] == "spec" and len(words) > 1)
    ):
        return PathContext("test", name)
    if suffix in _TEMPLATE_SUFFIXES or any(w in _EXAMPLE_WORDS for w in words):
        return PathContext("example", name)
    if inner & _EXAMPLE_WORDS:
        return PathContext("example", name)
    if suffix in _DOCS_SUFFIXES or (words and words[0] in _DOCS_STEMS and len(words) == 1):
        return PathContext("docs", name)
    return None


def path_context(path: str) -> PathContext | None:
    """Whether ``path`` (relative, ``/``-separated) is test, example or documentation
    material, and what in it says so; None for ordinary code and configuration.

    Directories decide before the file name, tests before examples before docs: a fixture
    under ``docs/`` is a test fixture.
    """
    segments = [s for s in path.replace("\\", "/").split("/") if s]
    if not segments:
        return None
    dirs, name = segments[:-1], segments[-1]
    found: dict[PathKind, str] = {}
    for segment in dirs:
        if _test_dir(segment):
            found.setdefault("test", f"{segment}/")
        elif _EXAMPLE_DIR.search(segment.lower()):
            found.setdefault("example", f"{segment}/")
        elif segment.lower() in _DOCS_DIRS:
            found.setdefault("docs", f"{segment}/")
    by_name = _file_context(name)
    if by_name is not None:
        found.setdefault(by_name.kind, by_name.marker)
    for kind in ("test", "example", "docs"):
        if kind in found:
            return PathContext(kind, found[kind])
    return None


# --- hosts -----------------------------------------------------------------------------------

# RFC 2606 and RFC 6761: names that can never be a real service.
_RESERVED_TLDS = ("example", "test", "invalid")
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class HostContext:
    kind: Literal["reserved", "loopback"]
    host: str

    @property
    def why(self) -> str:
        if self.kind == "reserved":
            return f"for a reserved example name ({self.host}) that no real service has"
        return f"for a loopback host ({self.host}) reachable only on the machine itself"


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_context(host: str) -> HostContext | None:
    """Whether a URL's host is a reserved example name or a loopback address."""
    low = host.lower().rstrip(".")
    if not low:
        return None
    if _loopback(low):
        return HostContext("loopback", low)
    labels = low.split(".")
    if labels[-1] in _RESERVED_TLDS or low in _EXAMPLE_DOMAINS:
        return HostContext("reserved", low)
    if low.endswith(tuple("." + domain for domain in _EXAMPLE_DOMAINS)):
        return HostContext("reserved", low)
    return None


# --- the assessment --------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """A finding's severity after context, and why."""

    default: Severity
    severity: Severity
    reasons: tuple[str, ...] = ()  # what lowered it
    kept: str = ""  # why context did not lower it (a verified token format)
    weak: bool = False

    def note(self) -> str:
        """What a finding's message adds: why the severity is what it is."""
        notes = []
        if self.weak:
            notes.append("a well-known weak password: easily guessed, still a credential")
        if self.severity != self.default:
            notes.append(
                f"{self.default.value} lowered to {self.severity.value}: " + "; ".join(self.reasons)
            )
        elif self.kept:
            notes.append(self.kept)
        return f" ({'; '.join(notes)})" if notes else ""


@dataclass(frozen=True)
class _Cap:
    severity: Severity
    why: str


@dataclass(frozen=True)
class KeyUse:
    """Files of the repository that name a key file (its basename), for key material."""

    paths: Sequence[str] = field(default_factory=tuple)
    complete: bool = True  # False when there were more than ``paths`` holds


def _test_input(use: KeyUse) -> _Cap | None:
    """Key material that only tests and examples use (documentation that names it aside)."""
    users = [p for p in use.paths if (ctx := path_context(p)) is None or ctx.kind != "docs"]
    if not use.complete or not users:
        return None
    if all((ctx := path_context(p)) is not None and ctx.kind in ("test", "example") for p in users):
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        return _Cap(
            Severity.MEDIUM, f"key material the repository uses only as test input ({shown})"
        )
    return None


def _caps(path: str | None, shape: Shape, host: str, use: KeyUse | None) -> list[_Cap]:
    caps = []
    if shape == "placeholder":
        caps.append(_Cap(Severity.INFO, "an obvious placeholder, not a credential"))
    elif shape == "public":
        caps.append(
            _Cap(
                Severity.LOW,
                "an Algolia search-only key beside its appId and indexName: published to "
                "every browser by design, it can only search that index (an admin key in the "
                "same place would be a leak: Algolia's API keys page says which it is)",
            )
        )
    where = host_context(host) if host else None
    if where is not None:
        level = Severity.INFO if where.kind == "reserved" else Severity.LOW
        caps.append(_Cap(level, where.why))
    place = path_context(path) if path else None
    if place is not None:
        caps.append(_Cap(Severity.MEDIUM, place.why))
    elif use is not None and (cap := _test_input(use)) is not None:
        caps.append(cap)
    return caps


def assess(
    default: Severity,
    *,
    path: str | None,
    shape: Shape = "generated",
    host: str = "",
    use: KeyUse | None = None,
) -> Assessment:
    """The severity of a credential found at ``path`` (default ``default``) after context.

    ``shape`` is what the value is (``formats.Shape``), ``host`` the host of a URL password,
    ``use`` the files that name a key file.
    """
    caps = _caps(path, shape, host, use)
    if shape == "verified":
        kept = ""
        if caps:
            kept = f"its format verifies, so it stays {default.value} although " + "; ".join(
                cap.why for cap in caps
            )
        return Assessment(default, default, kept=kept)
    lowering = [cap for cap in caps if cap.severity.rank < default.rank]
    if not lowering:
        return Assessment(default, default, weak=shape == "weak")
    severity = min((cap.severity for cap in lowering), key=lambda s: s.rank)
    return Assessment(default, severity, tuple(cap.why for cap in lowering), weak=shape == "weak")


def _value_shape(value: str) -> Shape:
    hits = [hit for hit in format_hits(value) if hit.shape != "placeholder"]
    if hits:
        return hits[0].shape
    return "weak" if is_weak_default(value.strip().strip("'\"")) else "generated"


def assess_value(default: Severity, *, path: str | None, value: str) -> Assessment:
    """``assess`` for a family that holds the literal itself (a workflow's ``env:``)."""
    return assess(default, path=path, shape=_value_shape(value))


def shape_of_reason(reason: str) -> Shape:
    """The shape ``classify.classify`` wrote after its reason (``github-token (verified)``)."""
    for shape, suffix in REASON_SUFFIXES.items():
        if suffix and reason.endswith(suffix):
            return shape
    return "generated"


def assess_secret(default: Severity, *, path: str | None, secret: RedactedValue) -> Assessment:
    """``assess`` for a family that kept only the classifier's redacted form (containers)."""
    return assess(default, path=path, shape=shape_of_reason(secret.reason))
