"""RubyGems: ``Gemfile.lock`` (GEM, GIT, PATH sources, DEPENDENCIES, CHECKSUMS).

A line that does not fit its section is that line's parse error; the rest is still read.
"""

from __future__ import annotations

import re

from gatekeeper.deps.common import hex_hash, package, registry_source
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult

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


_SOURCE_SECTIONS = ("GEM", "GIT", "PATH", "PLUGIN SOURCE")
# How each source section resolves: a source plugin (an S3 bucket, another server) fetches
# from elsewhere, remote, never the project's own code.
_SOURCE_KINDS = {"GIT": "git", "PLUGIN SOURCE": "url", "PATH": "path"}


class _Gemfile:
    """The sections of a Gemfile.lock, read line by line."""

    def __init__(self) -> None:
        self.section: str | None = None
        self.remote: str | None = None
        # (line, name, version, source, dependencies) of every spec of a source section
        self.specs: list[tuple[int, str, str, str, list[str]]] = []
        self.direct: set[str] = set()
        self.checksums: dict[tuple[str, str], str] = {}
        self.has_checksums = False

    def read(self, number: int, raw: str) -> None:
        if not raw.strip():
            return
        if not raw.startswith(" "):
            self._section(number, raw.strip())
        elif self.section in _SOURCE_SECTIONS:
            self._source_line(self.section, number, raw)
        elif self.section == "DEPENDENCIES":
            match = _DIRECT.match(raw)
            if not match:
                raise LockfileError(f"unexpected dependency line {raw.strip()[:60]!r}", number)
            self.direct.add(match.group(1))
        elif self.section == "CHECKSUMS":
            self._checksum(number, raw)

    def _section(self, number: int, section: str) -> None:
        self.section, self.remote = section, None
        if section not in _SECTIONS:
            # Its lines are skipped with it; the sections after it are still read.
            raise LockfileError(f"unknown Gemfile.lock section {section!r}", number)
        self.has_checksums = self.has_checksums or section == "CHECKSUMS"

    def _source_line(self, section: str, number: int, raw: str) -> None:
        stripped = raw.strip()
        if raw.startswith("  remote:"):
            self.remote = stripped.split(":", 1)[1].strip()
            return
        if raw.startswith("  ") and not raw.startswith("   ") and ":" in stripped:
            return  # revision:, branch:, specs:, glob:
        spec = _SPEC.match(raw)
        if spec:
            self.specs.append((number, spec.group(1), spec.group(2), self._source(section), []))
            return
        dep = _DEP.match(raw)
        if not dep or not self.specs:
            raise LockfileError(f"unexpected line in {section}: {stripped[:60]!r}", number)
        self.specs[-1][4].append(dep.group(1))

    def _source(self, section: str) -> str:
        if section == "GEM":
            return registry_source("RubyGems", self.remote)
        return f"{_SOURCE_KINDS[section]}:{self.remote}"

    def _checksum(self, number: int, raw: str) -> None:
        match = _CHECKSUM.match(raw)
        if not match:
            raise LockfileError(f"unexpected checksum line {raw.strip()[:60]!r}", number)
        if match.group(3):
            self.checksums[(match.group(1), match.group(2))] = hex_hash("sha256", match.group(3))


def parse_gemfile_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    lock = _Gemfile()
    for number, raw in enumerate(text.splitlines(), start=1):
        with result.entry(path, number):
            lock.read(number, raw)
    # PATH gems are recorded too (as path sources): often a vendored copy of a published
    # gem, whose advisories apply to it.
    for number, name, version, src, deps in lock.specs:
        checksum = lock.checksums.get((name, version))
        result.packages.append(
            package(
                "RubyGems",
                name,
                _split_platform(version),
                file=path,
                line=number,
                source=src,
                hashes=[checksum] if checksum else [],
                direct=name in lock.direct,
                # Bundler records checksums only once the lockfile has a CHECKSUMS section.
                hash_supported=lock.has_checksums and src.startswith("registry:"),
                depends_on=deps,
            )
        )
    result.files.append(path)
