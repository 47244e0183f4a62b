"""``verify --digest ALG:HEX``: an artifact known only by its digest, any DigestSet algorithm."""

from __future__ import annotations

import hashlib

import pytest

from gatekeeper.errors import InvalidInput
from gatekeeper.verify.digests import parse_digest


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (f"sha256:{'A' * 64}", f"sha256:{'a' * 64}"),
        (
            f"sha512:{hashlib.sha512(b'x').hexdigest()}",
            f"sha512:{hashlib.sha512(b'x').hexdigest()}",
        ),
        (f"gitCommit:{'1' * 40}", f"gitCommit:{'1' * 40}"),
        (f"sha3_256:{'2' * 64}", f"sha3_256:{'2' * 64}"),
        (f"blake2b:{'3' * 128}", f"blake2b:{'3' * 128}"),
    ],
)
def test_digest_set_algorithms(spec: str, expected: str) -> None:
    assert parse_digest(spec) == (spec, expected)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("sha256", "give ALG:HEX"),
        (f"md5:{'0' * 32}", "md5 is not collision resistant"),
        (f"sha1:{'0' * 40}", "sha1 is not collision resistant"),
        (f"sha257:{'0' * 64}", "unknown algorithm 'sha257'"),
        (f"sha512:{'0' * 64}", "sha512 takes 128 hex digits"),
        (f"sha256:{'g' * 64}", "sha256 takes 64 hex digits"),
        (f"shake256:{'0' * 31}", "an even number (32+) of hex digits"),
    ],
)
def test_bad_digests_are_usage_errors(spec: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_digest(spec)
    assert says in caught.value.diagnostics()
