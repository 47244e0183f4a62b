"""Secrets evidence (kind ``secrets``): where credentials were found, never the credentials.

SECURITY: a hit carries a redacted form (first 4 characters and the length) and the
sha256 of the value. The value itself is never stored, so this evidence can be printed,
attested and uploaded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

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
    "vendor-token",
    "jwt",
    "url-credentials",
    "docker-auth",
    "config-file-credentials",
    "generic-assignment",
]
# What a hit's value is: "verified" (its format proves it: a checksum or structure),
# "generated" (random-looking), "weak" (a well-known weak password), "placeholder" (an obvious
# stand-in), "public" (a key its vendor publishes to every client by design, such as an Algolia
# search-only key beside its appId and indexName). The context model
# (gatekeeper.secrets.context) reads it with the path.
Shape = Literal["verified", "generated", "weak", "placeholder", "public"]


class RedactedValue(GatekeeperModel):
    """A value that looks like a secret: what may be shown of it, and its fingerprint."""

    redacted: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: str  # why it looks like a secret, e.g. "github-token" or "name:password"


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
    shape: Shape = "generated"
    host: str = ""  # url-credentials: the host the password is for
    # private-key: the files of the tree that name this key file (at most 20; ``used_by_all``
    # is False when there were more). Read by the context model: key material that only
    # tests use is test input.
    used_by: list[str] = Field(default_factory=empty_list)
    used_by_all: bool = True


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
    # Files whose content cannot hold text: scanned for credential formats only.
    binary_files: int = 0
    commits_scanned: int = 0
    hits: list[SecretHit] = Field(default_factory=empty_list)
    skipped: list[SkippedFile] = Field(default_factory=empty_list)
    notes: list[str] = Field(default_factory=empty_list)
