"""What every lockfile parser shares besides its contract (``parsing.py``): purls, name
normalisation, hash and source spellings, TOML helpers, lines, and ``package`` to build an
entry (ecosystem facts come from the spec in ``ecosystem.py``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from packageurl import PackageURL

from gatekeeper.deps.ecosystem import ECOSYSTEMS, spec_of
from gatekeeper.deps.parsing import LockfileError
from gatekeeper.models.deps import Ecosystem, Package

# Every spelling of every default registry, to the one its spec names.
_REGISTRY_ALIASES = {
    alias: spec.registry for spec in ECOSYSTEMS.values() for alias in spec.registry_aliases
}


def normalize_name(ecosystem: str, name: str) -> str:
    """The ecosystem's canonical spelling of a name (PEP 503 for PyPI; as written elsewhere:
    gem names are case-sensitive, npm and Cargo names are kept as written)."""
    return spec_of(ecosystem).normalize_name(name)


# Components made only of these characters need no escaping and no normalisation in any
# of our purl types, so the string can be assembled directly (a test checks it against
# packageurl-python on every type); anything else goes through packageurl-python.
_PURL_PLAIN = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_PURL_PLAIN_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def make_purl(ecosystem: str, name: str, version: str | None) -> str:
    """A purl for the package (packageurl-python does the escaping)."""
    spec = spec_of(ecosystem)
    namespace, short = spec.split_name(name)
    if (
        _PURL_PLAIN.match(short)
        and (version is None or _PURL_PLAIN_VERSION.match(version))
        and (namespace is None or all(_PURL_PLAIN.match(seg) for seg in namespace.split("/")))
    ):
        head = (
            f"pkg:{spec.purl_type}/{namespace}/{short}"
            if namespace
            else f"pkg:{spec.purl_type}/{short}"
        )
        return f"{head}@{version}" if version is not None else head
    purl = PackageURL(type=spec.purl_type, namespace=namespace, name=short, version=version)
    return str(purl.to_string())


def registry_source(ecosystem: str, url: str | None) -> str:
    """``registry:URL`` with the default registry's aliases folded together."""
    if not url:
        return spec_of(ecosystem).default_source
    url = url.strip()
    url = _REGISTRY_ALIASES.get(url, url)
    url = _REGISTRY_ALIASES.get(url.rstrip("/"), url.rstrip("/"))
    return f"registry:{url}"


_CODELOAD = re.compile(
    r"^https?://codeload\.github\.com/([^/]+)/([^/]+)/(?:tar\.gz|zip|legacy\.tar\.gz)/"
)


def git_source(url: str) -> str:
    """``git:URL`` for a git dependency: the repository, without the commit, tag or branch
    that pins it (``#sha``, ``?rev=``, pip's ``@ref``, a codeload archive's path), so that
    moving to another commit of the same repository is an update, not another source."""
    url = url.strip().split("#", 1)[0].split("?", 1)[0]
    codeload = _CODELOAD.match(url)
    if codeload:
        return f"git:https://github.com/{codeload.group(1)}/{codeload.group(2)}"
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.partition("/")[2]:
        # pip: git+https://host/org/repo.git@v1.0 (an @ in the host part is a user name)
        host, _, path = rest.partition("/")
        url = f"{scheme}://{host}/{path.rsplit('@', 1)[0]}"
    return f"git:{url}"


def is_default_source(ecosystem: str, source: str) -> bool:
    return source == spec_of(ecosystem).default_source


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_SRI_ALGS = {"sha1", "sha256", "sha384", "sha512"}


def sri_to_hashes(value: str) -> list[str]:
    """``sha512-BASE64 sha1-BASE64`` (Subresource Integrity) to ``alg:hex`` entries.

    Raises:
        LockfileError: a member is not ``alg-base64``.
    """
    out = []
    for member in value.split():
        alg, sep, b64 = member.partition("-")
        if not sep or alg not in _SRI_ALGS:
            raise LockfileError(f"not a Subresource Integrity value: {member[:40]!r}")
        try:
            out.append(f"{alg}:{base64.b64decode(b64, validate=True).hex()}")
        except (binascii.Error, ValueError) as exc:
            raise LockfileError(f"bad base64 in integrity value {member[:40]!r}") from exc
    return out


def hex_hash(alg: str, value: str) -> str:
    """``alg:hex`` after checking the digest is hex.

    Raises:
        LockfileError: not hex.
    """
    if not _HEX.match(value):
        raise LockfileError(f"{alg} digest is not hex: {value[:40]!r}")
    return f"{alg.lower()}:{value.lower()}"


def prefixed_hash(value: str) -> str:
    """``sha256:HEX`` / ``sha256=HEX`` as used by pip, poetry and uv, to ``sha256:hex``.

    Raises:
        LockfileError: no algorithm or not hex.
    """
    alg, sep, digest = value.replace("=", ":", 1).partition(":")
    if not sep or alg.lower() not in _SRI_ALGS | {"md5"}:
        raise LockfileError(f"hash without a known algorithm: {value[:40]!r}")
    return hex_hash(alg, digest)


def load_toml(path: str, text: str) -> dict[str, Any]:
    """Raises LockfileError (with the line) when the text is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid TOML: {exc}", int(match.group(1)) if match else 1) from exc


def as_list(value: Any, what: str, line: int = 1) -> list[Any]:
    """``value`` when it is a list (absent: empty); raises LockfileError otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise LockfileError(f"{what} is not a list", line)
    return value


def as_table(value: Any, what: str, line: int = 1) -> dict[str, Any]:
    """``value`` when it is a table (absent: empty); raises LockfileError otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LockfileError(f"{what} is not a table", line)
    return value


def line_index(text: str, pattern: re.Pattern[str], group: int = 1) -> dict[str, int]:
    """Map the first capture of ``pattern`` (multiline) to the 1-based line of its first match."""
    out: dict[str, int] = {}
    line, pos = 1, 0
    for match in pattern.finditer(text):
        # Count newlines incrementally: one pass over the text, not one per match.
        line += text.count("\n", pos, match.start())
        pos = match.start()
        out.setdefault(match.group(group), line)
    return out


class LineCounter:
    """1-based line numbers of offsets in one text, O(log n) per lookup."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\n", text))

    def line_of(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self._starts, offset)


def table_lines(text: str, header: str) -> list[int]:
    """Lines of every ``[[header]]`` array-of-tables header in a TOML text, in order."""
    pattern = re.compile(r"^[ \t]*\[\[[ \t]*" + re.escape(header) + r"[ \t]*\]\]", re.MULTILINE)
    counter = LineCounter(text)
    return [counter.line_of(m.start()) for m in pattern.finditer(text)]


def find_line(text: str, needles: Iterable[str], default: int = 1) -> int:
    """The line of the first occurrence of the first needle found."""
    for needle in needles:
        pos = text.find(needle)
        if pos >= 0:
            return text.count("\n", 0, pos) + 1
    return default


def use_of(name: str, version: str, marker: str | None = None) -> str:
    """The ``name@version`` spelling of a resolved dependency (``Package.uses``), with
    `` ; marker`` when the lockfile resolves it for one environment only (uv's forks)."""
    return f"{name}@{version} ; {marker}" if marker else f"{name}@{version}"


def split_use(value: str) -> tuple[str, str, str]:
    """(name, version, marker or "") of a ``name@version[ ; marker]`` (split at the last
    ``@`` before the marker: npm scopes start with one, no ecosystem's versions contain one)."""
    resolved, _, marker = value.partition(" ; ")
    name, _, version = resolved.rpartition("@")
    return name, version, marker


@functools.lru_cache(maxsize=4096)
def redact_credentials(text: str) -> str:
    """``text`` with a credential inside a URL (``https://user:PASSWORD@host``, a token as
    the user name) in its redacted form: sources and specs end up in evidence, findings and
    the SBOM, and a secret is never printed. Judged by the secrets family's detectors."""
    if "://" not in text:
        return text
    from gatekeeper.secrets.classify import redact_text  # NOTE: only files with URLs pay

    return redact_text(text)


def package(
    ecosystem: Ecosystem,
    name: str,
    version: str | None,
    *,
    file: str,
    line: int,
    source: str | None = None,
    hashes: Iterable[str] = (),
    spec: str | None = None,
    direct: bool = False,
    pinning: bool = True,
    hash_supported: bool = False,
    depends_on: Iterable[str] = (),
    uses: Iterable[str] = (),
    file_hashes: Mapping[str, Iterable[str]] | None = None,
    install_script: bool = False,
    registry_implied: bool = False,
) -> Package:
    # SECURITY: names and versions come from hostile files; one that cannot be a package
    # (not text, or not expressible as a purl) is a parse error of that file, not a crash.
    if not isinstance(name, str) or not name or not isinstance(version, str | None):
        raise LockfileError(f"package name {name!r} / version {version!r} is not text", line)
    if version is not None and not version.strip():
        # A key without its version (pnpm's ``/name``): never an entry at version "".
        raise LockfileError(f"{name!r} has an empty version", line)
    name = normalize_name(ecosystem, name)
    try:
        purl = make_purl(ecosystem, name, version)
    except ValueError as exc:
        raise LockfileError(f"{name!r}: not a valid package name ({exc})", line) from exc
    by_file = {f: sorted(set(h)) for f, h in sorted((file_hashes or {}).items()) if h}
    return Package(
        ecosystem=ecosystem,
        name=name,
        version=version,
        spec=redact_credentials(spec) if spec else spec,
        purl=purl,
        hashes=sorted(set(hashes).union(*by_file.values())),
        source=redact_credentials(source) if source else spec_of(ecosystem).default_source,
        file=file,
        line=max(1, line),
        direct=direct,
        pinning=pinning,
        hash_supported=hash_supported,
        depends_on=sorted(set(depends_on)),
        uses=sorted(set(uses)),
        file_hashes=by_file,
        install_script=install_script,
        registry_implied=registry_implied,
    )
