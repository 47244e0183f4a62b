"""Secrets evidence (kind ``secrets``): where credentials were found, never the credentials.

SECURITY: a hit carries a redacted form (first 4 characters and the length) and the
sha256 of the value. The value itself is never stored, so this evidence can be printed,
attested and uploaded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel

Detector = Literal[
    "private-key",
    "aws-access-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "stripe-key",
    "google-api-key",
    "npm-token",
    "pypi-token",
    "jwt",
    "url-credentials",
    "docker-auth",
    "config-file-credentials",
    "generic-assignment",
]


class SecretHit(GatekeeperModel):
    detector: Detector  # the secrets/ rule name
    path: str
    line: int = Field(ge=1)
    redacted: str  # first 4 characters and the length
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")  # sha256 of the value
    source: Literal["tree", "staged", "history"]
    commit: str | None = None  # for history: the commit that added the line
    paired: bool = False  # aws-access-key: its secret access key is nearby
    detail: str = ""


class SkippedFile(GatekeeperModel):
    path: str
    reason: str
    commit: str | None = None


class SecretsEvidence(GatekeeperModel):
    schema_version: Literal[1] = 1
    mode: Literal["tree", "staged"]
    base: str | None = None
    base_commit: str | None = None
    head: str | None = None
    files_scanned: int = 0
    bytes_scanned: int = 0
    commits_scanned: int = 0
    hits: list[SecretHit] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
