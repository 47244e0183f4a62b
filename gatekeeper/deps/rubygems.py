"""RubyGems: ``Gemfile.lock`` (GEM, GIT, PATH sources, DEPENDENCIES, CHECKSUMS)."""

from __future__ import annotations

import re

from gatekeeper.deps.common import (
    FileSource,
    LockfileError,
    ParseResult,
    hex_hash,
    package,
    registry_source,
)

_SPEC = re.compile(r"^    ([A-Za-z0-9_.\-]+) \(([^)]+)\)$")
_DEP = re.compile(r"^      ([A-Za-z0-9_.\-]+)(?: \(([^)]+)\))?$")
_DIRECT = re.compile(r"^  ([A-Za-z0-9_.\-]+)(?: \([^)]*\))?!?$")
_CHECKSUM = re.compile(r"^  ([A-Za-z0-9_.\-]+) \(([^)]+)\)(?: sha256=([0-9a-fA-F]+))?$")
_SECTIONS = {
    "GEM",
    "GIT",
    "PATH",
    "PLATFORMS",
    "DEPENDENCIES",
    "CHECKSUMS",
    "BUNDLED WITH",
    "RUBY VERSION",
    "PLUGIN SOURCE",
}


def _split_platform(version: str) -> str:
    # "1.15.4-x86_64-linux" -> "1.15.4": the platform suffix is not part of the version.
    match = re.match(r"^([0-9][0-9A-Za-z.]*)(?:-[a-z].*)?$", version)
    return match.group(1) if match else version


def parse_gemfile_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    section: str | None = None
    remote: str | None = None
    specs: list[tuple[int, str, str, str, list[str]]] = []  # line, name, version, source, deps
    direct: set[str] = set()
    checksums: dict[tuple[str, str], str] = {}
    has_checksums = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if not raw.startswith(" "):
            section = raw.strip()
            if section not in _SECTIONS:
                raise LockfileError(f"unknown Gemfile.lock section {section!r}", number)
            remote = None
            has_checksums = has_checksums or section == "CHECKSUMS"
            continue
        if section in ("GEM", "GIT", "PATH", "PLUGIN SOURCE"):
            stripped = raw.strip()
            if raw.startswith("  remote:"):
                remote = stripped.split(":", 1)[1].strip()
                continue
            if raw.startswith("  ") and not raw.startswith("   ") and ":" in stripped:
                continue  # revision:, branch:, specs:, glob:
            spec = _SPEC.match(raw)
            if spec:
                if section == "GEM":
                    src = registry_source("RubyGems", remote)
                elif section == "GIT":
                    src = f"git:{remote}"
                elif section == "PLUGIN SOURCE":
                    # A source plugin (an S3 bucket, another server) fetches from elsewhere:
                    # remote, never the project's own code.
                    src = f"url:{remote}"
                else:
                    src = f"path:{remote}"
                specs.append((number, spec.group(1), spec.group(2), src, []))
                continue
            dep = _DEP.match(raw)
            if dep and specs:
                specs[-1][4].append(dep.group(1))
                continue
            raise LockfileError(f"unexpected line in {section}: {stripped[:60]!r}", number)
        elif section == "DEPENDENCIES":
            match = _DIRECT.match(raw)
            if not match:
                raise LockfileError(f"unexpected dependency line {raw.strip()[:60]!r}", number)
            direct.add(match.group(1))
        elif section == "CHECKSUMS":
            match = _CHECKSUM.match(raw)
            if not match:
                raise LockfileError(f"unexpected checksum line {raw.strip()[:60]!r}", number)
            if match.group(3):
                checksums[(match.group(1), match.group(2))] = hex_hash("sha256", match.group(3))
    for number, name, version, src, deps in specs:
        if src.startswith("path:"):
            continue  # a local gem: the project's own code
        hashes = [checksums[(name, version)]] if (name, version) in checksums else []
        result.packages.append(
            package(
                "RubyGems",
                name,
                _split_platform(version),
                file=path,
                line=number,
                source=src,
                hashes=hashes,
                direct=name in direct,
                # Bundler records checksums only once the lockfile has a CHECKSUMS section.
                hash_supported=has_checksums and src.startswith("registry:"),
                depends_on=deps,
            )
        )
    result.files.append(path)
