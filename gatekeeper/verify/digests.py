"""``verify --digest ALG:HEX``: an artifact named by its digest, in any in-toto DigestSet
algorithm (https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md)."""

from __future__ import annotations

import re

from gatekeeper.errors import InvalidInput
from gatekeeper.models.statement import TREE_DIGEST_ALG

# in-toto DigestSet algorithms with the length of their hex value; None: any even length of
# at least 32 digits.
DIGEST_ALGORITHMS: dict[str, tuple[int, ...] | None] = {
    "sha224": (56,),
    "sha256": (64,),
    "sha384": (96,),
    "sha512": (128,),
    "sha512_224": (56,),
    "sha512_256": (64,),
    "sha3_224": (56,),
    "sha3_256": (64,),
    "sha3_384": (96,),
    "sha3_512": (128,),
    "shake128": None,
    "shake256": None,
    "blake2b": None,
    "blake2s": None,
    "ripemd160": (40,),
    "sm3": (64,),
    "gost": (64,),
    "dirHash": (64,),
    "gitCommit": (40, 64),
    "gitTree": (40, 64),
    "gitBlob": (40, 64),
    "gitTag": (40, 64),
    TREE_DIGEST_ALG: (64,),
}
# SECURITY: a digest anyone can collide names no one artifact.
_BROKEN_DIGESTS = ("md5", "sha1")


def parse_digest(spec: str) -> tuple[str, str]:
    """(display name, "ALG:hex") for ``--digest ALG:HEX``, any in-toto DigestSet algorithm.

    Raises:
        InvalidInput: no ``:``, an unknown or broken algorithm, or a value of the wrong length.
    """
    alg, sep, value = spec.partition(":")
    if not sep or not value:
        raise InvalidInput(f"--digest {spec!r}: give ALG:HEX, e.g. sha512:<128 hex digits>")
    if alg in _BROKEN_DIGESTS:
        raise InvalidInput(
            f"--digest {spec[:24]}…: {alg} is not collision resistant, so it names no one "
            "artifact; give a sha256 or sha512 digest"
        )
    if alg not in DIGEST_ALGORITHMS:
        raise InvalidInput(
            f"--digest {spec[:24]}…: unknown algorithm {alg!r} (in-toto DigestSet names: "
            f"{', '.join(sorted(DIGEST_ALGORITHMS))})"
        )
    hexpart = value.lower()
    lengths = DIGEST_ALGORITHMS[alg]
    if not re.fullmatch(r"[0-9a-f]+", hexpart) or (
        len(hexpart) not in lengths
        if lengths is not None
        else len(hexpart) < 32 or len(hexpart) % 2
    ):
        wanted = " or ".join(str(n) for n in lengths) if lengths else "an even number (32+) of"
        raise InvalidInput(f"--digest {spec[:24]}…: {alg} takes {wanted} hex digits")
    return spec, f"{alg}:{hexpart}"


__all__ = ["DIGEST_ALGORITHMS", "parse_digest"]
