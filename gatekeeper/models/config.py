"""The repository configuration: ``.gatekeeper.yaml`` at the top of the work tree.

Defaults for ``check`` and ``pr-check`` that a repository keeps with its code, so that a
plain ``gatekeeper check`` runs the way the project's CI does::

    version: 1
    policy: policies/ci.yaml              # a file of the repository
    baseline: .gatekeeper-baseline.json   # a file of the repository
    block_at: medium                      # stricter than the policy only
    only: [secrets, pipeline, deps]
    osv: {api: true, api_url: https://osv.internal.example, offline_ok: false}
    suppressions: {inline: true, from_pull_requests: false}

Strict like the policy: an unknown key is an error, never ignored. A command-line option
wins over the same setting here. What it cannot do, on purpose: name a file outside the
repository or through a symbolic link (``policy``, ``baseline``); make the gate less strict
than the policy (``block_at``); send OSV queries over plain HTTP to another host; point at
files a pull request could rewrite (an OSV database, an allowed-signers file: give those on
the command line). In ``pr-check`` the file is read from the base revision, with the policy
and baseline it names.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.finding import Severity
from gatekeeper.models.policy import EvidenceKind

CONFIG_FILE = ".gatekeeper.yaml"
MAX_CONFIG_BYTES = 1024 * 1024
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _repo_path(value: str) -> str:
    """A path of a file of the repository: relative, POSIX, no ``..``."""
    if not value or "\\" in value or "\0" in value:
        raise ValueError(f"not a repository path: {value!r}")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(
            f"{value!r}: name a file of the repository, relative to its top and without '..' "
            "(give a file elsewhere on the command line)"
        )
    return path.as_posix()


def _api_url(value: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return value
    if parts.scheme == "http" and host in _LOOPBACK:
        return value
    raise ValueError(f"{value!r}: use https (plain http only to a loopback address)")


RepoPath = Annotated[str, AfterValidator(_repo_path)]
ApiUrl = Annotated[str, AfterValidator(_api_url)]


class OsvConfig(GatekeeperModel):
    """The OSV API for ``deps/known-vulnerability`` (an offline database: ``--osv-db``)."""

    api: bool = False
    api_url: ApiUrl | None = None
    offline_ok: bool = False


class SuppressionConfig(GatekeeperModel):
    """Inline ``gatekeeper: ignore[...]`` comments."""

    inline: bool = True  # false: no comment excuses anything (they are still listed)
    # pr-check: honour the suppressions a pull request adds itself (default: only those
    # already in the base revision count).
    from_pull_requests: bool = False


class RepoConfig(GatekeeperModel):
    version: Literal[1]
    policy: RepoPath | None = None
    baseline: RepoPath | None = None
    block_at: Severity | None = None
    only: list[EvidenceKind] | None = Field(default=None, min_length=1)
    osv: OsvConfig = Field(default_factory=OsvConfig)
    suppressions: SuppressionConfig = Field(default_factory=SuppressionConfig)


__all__ = [
    "CONFIG_FILE",
    "MAX_CONFIG_BYTES",
    "OsvConfig",
    "RepoConfig",
    "SuppressionConfig",
]
