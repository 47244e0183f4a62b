"""The artifacts a verify is about, and which attestation subjects name them.

An artifact is a file (hashed here) or a digest given on the command line, in any in-toto
DigestSet algorithm (``sha256:…``, ``sha512:…`` for npm, ``gitCommit:…``). A subject names
the artifact when they share a digest algorithm, every algorithm both record agrees, and a
file is matched only through an algorithm that identifies content (the SHA-2 and SHA-3
families of 256 bits or more, BLAKE2): a subject recorded only as ``md5`` or ``sha1`` never
matches a file, however its value reads.

A file is hashed with sha256 first; another algorithm is computed only when no attestation
names the file by sha256 and some attestation of the final stage records that algorithm.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper._digest import sha256_file
from gatekeeper.errors import InvalidInput

# Algorithms a file is hashed with to find the subject naming it (hashlib names by DigestSet
# name). Collision resistance of 128 bits or more: weaker ones identify nothing an attacker
# could not forge.
FILE_ALGORITHMS: dict[str, str] = {
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha3_256": "sha3_256",
    "sha3_384": "sha3_384",
    "sha3_512": "sha3_512",
    "blake2b": "blake2b",
    "blake2s": "blake2s",
}
# Hex lengths of the hash algorithms a digest on the command line is checked against.
_HEX_LENGTHS = {
    "sha1": 40,
    "sha224": 56,
    "sha256": 64,
    "sha384": 96,
    "sha512": 128,
    "sha3_256": 64,
    "sha3_384": 96,
    "sha3_512": 128,
    "blake2b": 128,
    "blake2s": 64,
    "gitCommit": 40,
}
_ALGORITHM = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def normal_value(value: str) -> str:
    """Hex carries no case; other values (an image id, a custom algorithm's) are kept."""
    return value.lower() if _HEX.match(value) else value


@dataclass
class ArtifactSubject:
    """One artifact to verify: its name, the digests known for it, the file if there is one."""

    name: str
    digests: dict[str, str]
    path: Path | None = None
    computed: list[str] = field(default_factory=list)  # algorithms hashed here besides sha256

    @property
    def primary(self) -> str:
        """``alg:value`` the reports, the decision log and the summary name it by."""
        alg = "sha256" if "sha256" in self.digests else next(iter(self.digests))
        return f"{alg}:{self.digests[alg]}"

    def shown(self) -> str:
        return self.name if self.name == self.primary else f"{self.name} ({self.primary})"

    def add_file_digests(self, algorithms: Iterable[str]) -> None:
        """Hash the file under each algorithm it is not yet known by (one read for all).

        Raises:
            InvalidInput: the file cannot be read.
        """
        wanted = sorted(
            a for a in set(algorithms) if a in FILE_ALGORITHMS and a not in self.digests
        )
        if self.path is None or not wanted:
            return
        hashers = {alg: hashlib.new(FILE_ALGORITHMS[alg]) for alg in wanted}
        try:
            with open(self.path, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    for hasher in hashers.values():
                        hasher.update(chunk)
        except OSError as exc:
            raise InvalidInput(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        for alg, hasher in hashers.items():
            self.digests[alg] = hasher.hexdigest()
            self.computed.append(alg)


def parse_digest(spec: str, what: str = "digest") -> tuple[str, str]:
    """``ALG:VALUE`` as an in-toto DigestSet entry.

    Raises:
        InvalidInput: no algorithm or value, or a hash algorithm's value of the wrong length.
    """
    alg, sep, value = spec.partition(":")
    if not sep or not _ALGORITHM.match(alg) or not value or any(c.isspace() for c in value):
        raise InvalidInput(f"{what} {spec!r}: give ALGORITHM:VALUE, e.g. sha512:<128 hex digits>")
    length = _HEX_LENGTHS.get(alg)
    if length is not None and (len(value) != length or not _HEX.match(value)):
        raise InvalidInput(f"{what} {spec!r}: a {alg} digest is {length} hex digits")
    return alg, normal_value(value)


def file_subject(spec: str) -> ArtifactSubject:
    """An artifact given as a file path: hashed with sha256 now, others when needed.

    Raises:
        InvalidInput: not an existing file, or unreadable.
    """
    path = Path(spec)
    if not path.is_file():
        raise InvalidInput(f"{spec}: no such file (give a file or sha256:<hex>)")
    try:
        return ArtifactSubject(spec, {"sha256": sha256_file(path)}, path)
    except OSError as exc:
        raise InvalidInput(f"{spec}: cannot read: {exc.strerror or exc}") from exc


def digest_subject(spec: str, what: str = "--digest") -> ArtifactSubject:
    """An artifact known only by a digest. Raises InvalidInput."""
    alg, value = parse_digest(spec, what)
    return ArtifactSubject(f"{alg}:{value}", {alg: value})


def subject_matches(subject_digest: dict[str, str], artifact: ArtifactSubject) -> bool:
    """Whether one attestation subject names ``artifact``: a shared algorithm, no shared
    algorithm that disagrees, and for a file a shared algorithm of ``FILE_ALGORITHMS``."""
    shared = [alg for alg in subject_digest if alg in artifact.digests]
    if not shared:
        return False
    if any(normal_value(subject_digest[alg]) != artifact.digests[alg] for alg in shared):
        return False
    if artifact.path is not None:
        return any(alg in FILE_ALGORITHMS for alg in shared)
    return True
