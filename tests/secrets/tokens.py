"""Fake credentials of real formats, built at run time so no literal token sits in the tree.

Every value is random (seeded, so tests are deterministic) and belongs to no real account.
"""

# ruff: noqa: S311  (seeded fakes for tests, not cryptography)
from __future__ import annotations

import base64
import json
import random
import string
import zlib

_ALNUM = string.ascii_letters + string.digits


def body(n: int, seed: int = 0, alphabet: str = _ALNUM) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_key_id(seed: int = 1) -> str:
    return "AKIA" + body(16, seed, string.ascii_uppercase + "234567")


def aws_key_id_not_base32(seed: int = 1) -> str:
    """The shape the detector accepts but AWS never issues (0, 1, 8 and 9 are not base32)."""
    return "AKIA" + body(15, seed, string.ascii_uppercase) + "8"


def aws_secret(seed: int = 2) -> str:
    rng = random.Random(seed)
    while True:
        value = "".join(rng.choice(_ALNUM + "/+") for _ in range(40))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def github(seed: int = 3, prefix: str = "ghp_") -> str:
    return prefix + body(36, seed)


def _crc32_base62(content: str) -> str:
    """GitHub's and npm's token checksum: CRC32 of the random part, 6 base62 digits."""
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    number, digits = zlib.crc32(content.encode()), []
    for _ in range(6):
        number, digit = divmod(number, 62)
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


def github_checksummed(seed: int = 3, prefix: str = "ghp_") -> str:
    """A token of GitHub's format with a valid checksum (as GitHub issues them)."""
    content = body(30, seed)
    return prefix + content + _crc32_base62(content)


def npm_checksummed(seed: int = 10) -> str:
    content = body(30, seed)
    return "npm_" + content + _crc32_base62(content)


def github_pat(seed: int = 4) -> str:
    return "github_pat_" + body(22, seed) + "_" + body(59, seed + 1)


def gitlab(seed: int = 5) -> str:
    return "glpat-" + body(20, seed)


def slack(seed: int = 6) -> str:
    return "xoxb-" + body(12, seed, string.digits) + "-" + body(24, seed + 1)


def slack_webhook(seed: int = 7) -> str:
    return (
        "https://hooks.slack.com/services/T"
        + body(8, seed, string.ascii_uppercase)
        + "/B"
        + body(8, seed + 1, string.ascii_uppercase)
        + "/"
        + body(24, seed + 2)
    )


def stripe(seed: int = 8) -> str:
    return "sk_" + "live_" + body(24, seed)


def google(seed: int = 9) -> str:
    return "AIza" + body(35, seed, _ALNUM + "_-")


def npm(seed: int = 10) -> str:
    return "npm_" + body(36, seed)


def pypi(seed: int = 11) -> str:
    return "pypi-AgEIcHlwaS5vcmc" + body(60, seed, _ALNUM + "_-")


def jwt(seed: int = 12, alg: str = "HS256") -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return (
        enc({"alg": alg, "typ": "JWT"})
        + "."
        + enc({"sub": body(8, seed), "iat": 1700000000})
        + "."
        + body(43, seed + 1, _ALNUM + "_-")
    )


def private_key(seed: int = 13, kind: str = "RSA ") -> str:
    lines = [body(64, seed + i, _ALNUM + "+/") for i in range(6)]
    return (
        f"-----BEGIN {kind}PRIVATE KEY-----\n"
        + "\n".join(lines)
        + f"\n-----END {kind}PRIVATE KEY-----\n"
    )


def password(seed: int = 14, n: int = 20) -> str:
    rng = random.Random(seed)
    while True:
        value = "".join(rng.choice(_ALNUM + "!#%^*") for _ in range(n))
        if sum(map(str.isdigit, value)) and sum(map(str.isupper, value)):
            return value


def docker_auth(seed: int = 15) -> str:
    return base64.b64encode(f"robot:{password(seed)}".encode()).decode()
