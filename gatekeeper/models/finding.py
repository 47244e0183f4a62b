"""Findings: what an audit rule reports, with a stable fingerprint."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from gatekeeper.models.base import GatekeeperModel


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


def fingerprint(rule: str, path: str | None, key: str) -> str:
    """A fingerprint that survives line moves: rule, path and a rule-chosen stable key.

    For secrets the key is the sha256 of the value, never the value itself.
    """
    raw = "\x1f".join((rule, path or "", key)).encode("utf-8", "surrogateescape")
    return hashlib.sha256(raw).hexdigest()


def printable(text: str) -> str:
    """``text`` with undecodable bytes (lone surrogates from non-UTF-8 file names) as ``\\xNN``.

    SECURITY: a crafted file name must not crash a report writer (JSON, SARIF and XML are
    UTF-8); the escape is deterministic and shows the bytes.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate outside the escaped-byte range
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class Finding(GatekeeperModel):
    rule: str = Field(pattern=r"^[a-z]+/[a-z0-9-]+$")
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = Field(default=None, ge=1)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    # Set by policy application: None (active), "excepted" (a policy exception), "suppressed"
    # (an inline suppression on its line), "baseline" (an accepted fingerprint), "existing"
    # (already on the base). Any other value is invalid, so a crafted attested finding cannot
    # invent a status that reports treat as harmless (and the verifier drops every status).
    status: Literal["excepted", "suppressed", "baseline", "existing"] | None = None

    @field_validator("message", "path")
    @classmethod
    def _utf8(cls, value: str | None) -> str | None:
        return None if value is None else printable(value)

    @classmethod
    def make(
        cls,
        rule: str,
        severity: Severity,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str = "",
    ) -> Finding:
        """Build a finding; ``key`` is what makes it unique within rule and path."""
        path = None if path is None else printable(path)
        return cls(
            rule=rule,
            severity=severity,
            message=message,
            path=path,
            line=line,
            fingerprint=fingerprint(rule, path, key or message),
        )

    def blocks(self, block_at: Severity) -> bool:
        """The one definition of a blocking finding: active and at or above ``block_at``."""
        return self.status is None and self.severity.at_least(block_at)

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path or "", self.line or 0, self.rule, self.fingerprint)
