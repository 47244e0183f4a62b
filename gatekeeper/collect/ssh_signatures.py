"""SSH commit signatures checked in-process, with the answers git gets from ssh-keygen.

git checks an SSH-signed commit by running ``ssh-keygen -Y find-principals`` and then
``ssh-keygen -Y verify`` (or ``-Y check-novalidate`` when no principal is found) once per
commit: two processes per commit, which dominates the audit of a long signed range. This
module gives the same status, fingerprint and principal from the commit object itself:

- the signed payload is the commit object without its ``gpgsig`` header, as git cuts it;
- the signature is an SSHSIG blob (PROTOCOL.sshsig): ``ssh-ed25519``,
  ``ecdsa-sha2-nistp256/384/521`` and ``ssh-rsa`` keys (``rsa-sha2-256``/``rsa-sha2-512``
  signatures), hash ``sha256`` or ``sha512``, namespace ``git``;
- the allowed-signers file is read as ssh-keygen reads it: principals patterns (``*``,
  ``?``, ``!negation``), the ``namespaces``, ``valid-after`` and ``valid-before`` options
  judged at the committer's time (git's ``-Overify-time``), ``cert-authority`` lines
  (which never match a plain key), comments; the first line whose key matches names the
  principals, and each principal is then checked as ``-Y verify -I`` does.

Status: ``G`` (good, a principal of the allowed-signers file), ``U`` (good under the key the
signature carries, no principal), ``B`` (the signature does not verify) — git's own letters.

SECURITY: anything this module does not judge exactly as ssh-keygen does raises
``Unsupported`` and the commit is left to git and ssh-keygen (``collect/git_source.py``):
certificates and security-key (``sk-``) signatures, other key or signature types, a
malformed or non-canonical encoding, a SHA-256 repository, an allowed-signers line it does
not parse (that makes the whole file unsupported), a configured revocation file. An
unsupported case is never a pass; it costs the two processes it always cost.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

NAMESPACE = b"git"
_BEGIN = b"-----BEGIN SSH SIGNATURE-----\n"
_END = b"\n-----END SSH SIGNATURE-----"
_MAGIC = b"SSHSIG"
_HASHES = {b"sha256": hashlib.sha256, b"sha512": hashlib.sha512}
_CURVES: dict[bytes, tuple[bytes, ec.EllipticCurve, hashes.HashAlgorithm]] = {
    b"ecdsa-sha2-nistp256": (b"nistp256", ec.SECP256R1(), hashes.SHA256()),
    b"ecdsa-sha2-nistp384": (b"nistp384", ec.SECP384R1(), hashes.SHA384()),
    b"ecdsa-sha2-nistp521": (b"nistp521", ec.SECP521R1(), hashes.SHA512()),
}
_RSA_SIGNATURES: dict[bytes, hashes.HashAlgorithm] = {
    b"rsa-sha2-256": hashes.SHA256(),
    b"rsa-sha2-512": hashes.SHA512(),
}
_KEY_TYPES = {"ssh-ed25519", "ssh-rsa", *(t.decode() for t in _CURVES)}
# Key types ssh-keygen reads that can never equal a key of the types above (sshkey_equal
# compares the plain key type first): their lines are read, and never match.
_OTHER_KEY_TYPES = {"ssh-dss", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}
_MIN_RSA_BITS = 1024  # ssh-keygen refuses smaller RSA keys (SSH_RSA_MINIMUM_MODULUS_SIZE)
_MAX_PATTERN = 1023  # match_pattern_list gives up on longer patterns
_TIME = re.compile(r"^(\d{8}|\d{12}|\d{14})([Zz]?)$")
_OPTION = re.compile(
    r'(cert-authority)|(namespaces|valid-after|valid-before)="([^"]*)"', re.IGNORECASE
)
# Whitespace ssh does not split on but Python would: such a line is left to ssh-keygen.
_ODD_SPACE = re.compile(r"[^\S \t]")

Status = Literal["G", "U", "B"]


class Unsupported(Exception):
    """A case this module does not judge: git and ssh-keygen judge it instead."""


@dataclass(frozen=True)
class SshVerdict:
    status: Status
    fingerprint: str | None  # "SHA256:<base64>" as ssh-keygen prints it (None for B)
    principal: str | None  # the allowed-signers principal (G only)


# -- the SSH wire format ------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise Unsupported("truncated")
        value = int.from_bytes(self.data[self.pos : self.pos + 4], "big")
        self.pos += 4
        return value

    def string(self) -> bytes:
        size = self.u32()
        if self.pos + size > len(self.data):
            raise Unsupported("truncated")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def mpint(self) -> int:
        raw = self.string()
        if not raw or raw[0] & 0x80:
            raise Unsupported("an empty or negative mpint")
        if raw[0] == 0 and (len(raw) == 1 or not raw[1] & 0x80):
            raise Unsupported("a non-canonical mpint")
        return int.from_bytes(raw, "big")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise Unsupported("trailing data")


def _string(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


@dataclass(frozen=True)
class PublicKey:
    """A plain SSH public key of a supported type, parsed from its canonical blob."""

    type: bytes
    blob: bytes
    raw: bytes = b""  # Ed25519: the 32-byte key; ECDSA: the curve name
    numbers: tuple[int, ...] = ()  # ECDSA: x, y; RSA: e, n

    @property
    def identity(self) -> tuple[bytes, bytes, tuple[int, ...]]:
        """What sshkey_equal compares: the key, not how its blob was written."""
        return self.type, self.raw, self.numbers

    @property
    def fingerprint(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"


def parse_public_key(blob: bytes) -> PublicKey:
    """Raises Unsupported: another key type, or an encoding ssh might read differently."""
    reader = _Reader(blob)
    kind = reader.string()
    raw: bytes = b""
    numbers: tuple[int, ...] = ()
    if kind == b"ssh-ed25519":
        raw = reader.string()
        if len(raw) != 32:
            raise Unsupported("an Ed25519 key that is not 32 bytes")
    elif kind in _CURVES:
        curve_name, curve, _ = _CURVES[kind]
        if reader.string() != curve_name:
            raise Unsupported("an ECDSA key whose curve does not match its type")
        point = reader.string()
        if not point.startswith(b"\x04"):
            raise Unsupported("a compressed ECDSA point")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(curve, point).public_numbers()
        except ValueError as exc:
            raise Unsupported("an invalid ECDSA point") from exc
        raw, numbers = curve_name, (public.x, public.y)
    elif kind == b"ssh-rsa":
        e, n = reader.mpint(), reader.mpint()
        if n.bit_length() < _MIN_RSA_BITS:
            raise Unsupported("an RSA key below ssh's minimum size")
        numbers = (e, n)
    else:
        raise Unsupported(f"key type {kind[:64]!r}")
    reader.done()
    return PublicKey(type=kind, blob=blob, raw=raw, numbers=numbers)


@dataclass(frozen=True)
class Sshsig:
    key: PublicKey
    namespace: bytes
    hashalg: bytes
    signature: bytes  # the inner signature blob: string type, string value


def parse_armoured(armoured: bytes) -> Sshsig:
    """An armoured SSHSIG blob as ssh-keygen dearmours it. Raises Unsupported."""
    if not armoured.startswith(_BEGIN):
        raise Unsupported("no SSH signature header")
    end = armoured.find(_END, len(_BEGIN) - 1)
    if end < 0:
        raise Unsupported("no SSH signature footer")
    body = re.sub(rb"\s+", b"", armoured[len(_BEGIN) : end])
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unsupported("signature is not base64") from exc
    reader = _Reader(blob)
    if blob[:6] != _MAGIC:
        raise Unsupported("not an SSHSIG blob")
    reader.pos = 6
    if reader.u32() != 1:
        raise Unsupported("SSHSIG version")
    key = parse_public_key(reader.string())
    namespace = reader.string()
    reader.string()  # reserved
    hashalg = reader.string()
    signature = reader.string()
    reader.done()
    if hashalg not in _HASHES:
        raise Unsupported("hash algorithm")
    return Sshsig(key, namespace, hashalg, signature)


def signature_verifies(sig: Sshsig, payload: bytes) -> bool:
    """Whether ``sig`` signs ``payload`` in namespace ``git`` (ssh's sshsig_verify).

    Raises:
        Unsupported: an inner signature this module does not read as ssh does.
    """
    message = hashlib.new(sig.hashalg.decode(), payload).digest()
    signed = _MAGIC + _string(NAMESPACE) + _string(b"") + _string(sig.hashalg) + _string(message)
    reader = _Reader(sig.signature)
    kind = reader.string()
    value = reader.string()
    reader.done()
    key = sig.key
    try:
        if key.type == b"ssh-ed25519":
            if kind != b"ssh-ed25519" or len(value) != 64:
                raise Unsupported("an Ed25519 signature of another form")
            Ed25519PublicKey.from_public_bytes(key.raw).verify(value, signed)
        elif key.type in _CURVES:
            if kind != key.type:
                raise Unsupported("an ECDSA signature of another curve")
            inner = _Reader(value)
            r, s = inner.mpint(), inner.mpint()
            inner.done()
            _, curve, digest = _CURVES[key.type]
            x, y = key.numbers
            public = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
            public.verify(encode_dss_signature(r, s), signed, ec.ECDSA(digest))
        else:
            if kind not in _RSA_SIGNATURES:
                raise Unsupported("an RSA signature other than rsa-sha2-256/512")
            e, n = key.numbers
            if len(value) != (n.bit_length() + 7) // 8:
                raise Unsupported("an RSA signature shorter than the modulus")
            rsa.RSAPublicNumbers(e, n).public_key().verify(
                value, signed, padding.PKCS1v15(), _RSA_SIGNATURES[kind]
            )
    except InvalidSignature:
        return False
    return sig.namespace == NAMESPACE


# -- the commit object ----------------------------------------------------------------------


def split_commit(sha: str, raw: bytes) -> tuple[bytes, bytes, int]:
    """(payload, armoured signature, committer time) of an SSH-signed commit object, cut
    as git cuts them (``parse_signed_commit``). Raises Unsupported."""
    if len(sha) != 40:
        raise Unsupported("a repository in another object format")
    header, sep, body = raw.partition(b"\n\n")
    if not sep:
        raise Unsupported("a commit without a message separator")
    payload: list[bytes] = []
    signature: list[bytes] = []
    in_signature = seen = False
    for line in header.split(b"\n"):
        if in_signature and line.startswith(b" "):
            signature.append(line[1:] + b"\n")
            continue
        in_signature = False
        # NOTE: git keeps reading continuation lines into the signature after it, and drops
        # other signature headers: neither is what git writes, so both are left to git.
        if line.startswith(b"gpgsig") and (seen or not line.startswith(b"gpgsig ")):
            raise Unsupported("another signature header")
        if seen and line.startswith(b" "):
            raise Unsupported("a continuation line after the signature")
        if line.startswith(b"gpgsig "):
            seen = in_signature = True
            signature.append(line[len(b"gpgsig ") :] + b"\n")
            continue
        payload.append(line + b"\n")
    if not seen:
        raise Unsupported("no signature header")
    text = b"".join(payload)
    return text + b"\n" + body, b"".join(signature), _committer_time(text)


def _committer_time(header: bytes) -> int:
    """The committer's timestamp (git's ``payload_timestamp``). Raises Unsupported."""
    for line in header.split(b"\n"):
        if line.startswith(b"committer "):
            fields = line.rpartition(b">")[2].split()
            if not fields or not fields[0].isdigit() or int(fields[0]) == 0:
                raise Unsupported("a committer line without a time")
            return int(fields[0])
    raise Unsupported("no committer line")


# -- the allowed-signers file ---------------------------------------------------------------


def _match_pattern(value: str, pattern: str) -> bool:
    """ssh's match_pattern: ``*`` any run, ``?`` any one character, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def match_pattern_list(value: str, patterns: str) -> int:
    """ssh's match_pattern_list: 1 a pattern matches, -1 a negated one does, 0 neither."""
    positive = 0
    for element in patterns.split(","):
        negated = element.startswith("!")
        pattern = element[1:] if negated else element
        if len(pattern) >= _MAX_PATTERN:
            raise Unsupported("a pattern longer than ssh reads")
        if _match_pattern(value, pattern):
            if negated:
                return -1
            positive = 1
    return positive


def verify_time(committed: int) -> int:
    """The time ssh-keygen judges a key's validity at: git writes the committer's time as
    local wall-clock time (``-Overify-time``) and ssh reads it back with ``tm_isdst`` 0."""
    local = time.localtime(committed)
    return int(time.mktime((*local[:6], 0, 0, 0)))


def _local_time(text: str) -> int:
    """parse_absolute_time: YYYYMMDD[HHMM[SS]], local (standard) time or UTC with ``Z``."""
    match = _TIME.match(text)
    if match is None:
        raise Unsupported(f"time {text[:40]!r}")
    digits = match.group(1).ljust(14, "0")
    fields = (int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    clock = (int(digits[8:10]), int(digits[10:12]), int(digits[12:14]))
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and clock[0] < 24 and clock[1] < 60):
        raise Unsupported(f"time {text!r}")
    if clock[2] > 61:
        raise Unsupported(f"time {text!r}")
    moment = (*fields, *clock, 0, 0, 0)  # tm_isdst 0, as ssh's memset leaves it
    try:
        if match.group(2):
            return calendar.timegm(moment)
        return int(time.mktime(moment))
    except (OverflowError, ValueError) as exc:
        raise Unsupported(f"time {text!r}") from exc


@dataclass(frozen=True)
class _Line:
    principals: str
    key: PublicKey | None  # None: a key type that never equals a supported one
    ca: bool
    namespaces: str | None
    valid_after: int
    valid_before: int

    def matches_key(self, key: PublicKey, when: int) -> bool:
        if self.ca or self.key is None or self.key.identity != key.identity:
            return False
        if self.valid_after and when < self.valid_after:
            return False
        return not (self.valid_before and when > self.valid_before)


def _token(rest: str) -> tuple[str, str]:
    """The next whitespace-delimited token and what follows it (leading space skipped)."""
    parts = rest.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _options(text: str) -> tuple[bool, str | None, int, int]:
    """(cert-authority, namespaces, valid-after, valid-before) of an options field."""
    ca, namespaces, after, before = False, None, 0, 0
    pos = 0
    while pos < len(text):
        match = _OPTION.match(text, pos)
        if match is None:
            raise Unsupported("an allowed-signers option ssh-keygen may read otherwise")
        if match.group(1):
            ca = True
        else:
            name, value = match.group(2).lower(), match.group(3)
            if name == "namespaces":
                if namespaces is not None:
                    raise Unsupported("two namespaces options")
                namespaces = value
            elif name == "valid-after":
                if after:
                    raise Unsupported("two valid-after options")
                after = _local_time(value)
            else:
                if before:
                    raise Unsupported("two valid-before options")
                before = _local_time(value)
        pos = match.end()
        if pos < len(text):
            if text[pos] != "," or pos + 1 == len(text):
                raise Unsupported("an allowed-signers option ssh-keygen may read otherwise")
            pos += 1
    if after and before and before <= after:
        raise Unsupported("valid-before not after valid-after")
    return ca, namespaces, after, before


def _key(kind: str, encoded: str) -> PublicKey | None:
    if kind in _OTHER_KEY_TYPES:
        return None
    if kind not in _KEY_TYPES:
        raise Unsupported(f"allowed-signers key type {kind[:64]!r}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unsupported("an allowed-signers key that is not base64") from exc
    key = parse_public_key(blob)
    if key.type.decode() != kind:
        raise Unsupported("an allowed-signers key whose type does not match its blob")
    return key


def _parse_line(line: str) -> _Line | None:
    text = line.lstrip(" \t\n\r")
    if not text or text.startswith("#"):
        return None
    if _ODD_SPACE.search(text):
        raise Unsupported("whitespace ssh-keygen does not split on")
    if '"' in text.split(None, 1)[0]:
        raise Unsupported("quoted principals")
    principals, rest = _token(text)
    if not rest:
        raise Unsupported("an allowed-signers line without a key")
    first, after = _token(rest)
    if first in _KEY_TYPES or first in _OTHER_KEY_TYPES:
        options, kind = "", first
    else:
        if first.count('"') % 2:
            raise Unsupported("options with spaces")
        options = first
        if not after:
            raise Unsupported("an allowed-signers line without a key")
        kind, after = _token(after)
    if not after:
        raise Unsupported("an allowed-signers key without its data")
    encoded, _comment = _token(after)
    ca, namespaces, valid_after, valid_before = _options(options)
    return _Line(principals, _key(kind, encoded), ca, namespaces, valid_after, valid_before)


class AllowedSigners:
    """An allowed-signers file read as ssh-keygen reads it.

    Raises:
        Unsupported: a line this module does not read exactly as ssh-keygen does.
    """

    def __init__(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unsupported("an allowed-signers file that is not UTF-8") from exc
        if "\0" in text or "\r" in text:
            raise Unsupported("NUL or CR in the allowed-signers file")
        self.lines = [parsed for line in text.split("\n") if (parsed := _parse_line(line))]

    def find_principals(self, key: PublicKey, when: int) -> list[str]:
        """``ssh-keygen -Y find-principals``: the first matching line's principals, split
        as it prints them (up to the first empty one)."""
        for line in self.lines:
            if line.matches_key(key, when):
                found = []
                for principal in line.principals.split(","):
                    if not principal:
                        break
                    found.append(principal)
                return found
        return []

    def allows(self, principal: str, key: PublicKey, when: int) -> bool:
        """``ssh-keygen -Y verify -I principal -n git``'s allowed-signers check."""
        for line in self.lines:
            if match_pattern_list(principal, line.principals) != 1:
                continue
            if not line.matches_key(key, when):
                continue
            if line.namespaces is not None and match_pattern_list("git", line.namespaces) != 1:
                continue
            return True
        return False


def verify_commit(sha: str, raw: bytes, signers: AllowedSigners) -> SshVerdict:
    """The status git gives an SSH-signed commit (``%G?``, ``%GF``, ``%GS``).

    Raises:
        Unsupported: leave this commit to git and ssh-keygen.
    """
    payload, armoured, committed = split_commit(sha, raw)
    when = verify_time(committed)
    sig = parse_armoured(armoured)
    good = signature_verifies(sig, payload)
    principals = signers.find_principals(sig.key, when)
    if not good:
        return SshVerdict("B", None, None)
    if not principals:
        return SshVerdict("U", sig.key.fingerprint, None)
    for principal in principals:
        if signers.allows(principal, sig.key, when):
            return SshVerdict("G", sig.key.fingerprint, principal)
    return SshVerdict("B", None, None)


__all__ = [
    "AllowedSigners",
    "PublicKey",
    "SshVerdict",
    "Unsupported",
    "match_pattern_list",
    "parse_armoured",
    "parse_public_key",
    "signature_verifies",
    "split_commit",
    "verify_commit",
]
