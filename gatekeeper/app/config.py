"""What a ``check`` (or ``pr-check``) runs on and with: the repository root, the repository
configuration (``.gatekeeper.yaml``) and the settings the command line and it give.

- The root: a path inside a git work tree audits that work tree, as git commands do
  (``repository_root``); ``--path-only`` audits the directory as given.
- The configuration: ``.gatekeeper.yaml`` at the root, ``--config FILE`` instead, or none
  with ``--no-config``. ``pr-check`` reads it from the base revision instead
  (``gatekeeper.github.gatefiles``), with ``parse_config``.
- The settings: a command-line option wins over the configuration, which wins over the
  default (``resolve``); ``--block-at`` and ``block_at`` only make the policy stricter
  (``with_block_at``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gatekeeper._fileio import read_bounded
from gatekeeper.errors import InvalidInput
from gatekeeper.models.config import CONFIG_FILE, MAX_CONFIG_BYTES, RepoConfig
from gatekeeper.models.finding import Severity
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import Policy
from gatekeeper.policy.suppressions import SuppressionSettings


def repository_root(path: Path, *, path_only: bool = False) -> Path:
    """The top of the git work tree ``path`` is in; ``path`` itself outside one, for a path
    that is not a directory, or with ``path_only`` (always absolute)."""
    path = Path(os.path.abspath(path))
    if path_only or not path.is_dir():
        return path
    from gatekeeper._git import work_tree_top

    return work_tree_top(path) or path


def parse_config(data: bytes, source: str) -> RepoConfig:
    """Parse ``.gatekeeper.yaml`` bytes.

    Raises:
        InvalidInput: not YAML, not a mapping, or not a valid configuration (names the file).
    """
    from gatekeeper.policy.load import parse_strict_document

    return parse_strict_document(
        data, source, RepoConfig, "configuration", "the configuration must be a YAML mapping"
    )


def repo_file(root: Path, rel: str, what: str) -> Path:
    """``root/rel`` when it is a regular file reached without a symbolic link.

    SECURITY: a file the configuration names is read and may be quoted in an error; a link
    (``policies/ci.yaml -> /proc/self/environ``) must not make the repository choose a file
    outside itself.

    Raises:
        InvalidInput: missing, a link on the way, or not a regular file.
    """
    current = root
    for part in PurePosixPath(rel).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            raise InvalidInput(f"{what} {rel}: no such file in {root}") from None
        if stat.S_ISLNK(mode):
            raise InvalidInput(
                f"{what} {rel}: {current.relative_to(root)} is a symbolic link; the "
                "configuration names files of the repository only"
            )
    if not stat.S_ISREG(mode):
        raise InvalidInput(f"{what} {rel}: not a regular file")
    return current


@dataclass(frozen=True)
class LoadedConfig:
    config: RepoConfig
    source: str  # where it was read from, for the report's notes


def load_config(root: Path, explicit: Path | None, *, enabled: bool = True) -> LoadedConfig | None:
    """The configuration ``check`` runs with: ``explicit`` (``--config``), else
    ``.gatekeeper.yaml`` at ``root`` when there is one; None with ``enabled=False``.

    Raises:
        InvalidInput: unreadable, a symbolic link (the default file), or invalid.
    """
    if not enabled:
        return None
    if explicit is not None:
        return LoadedConfig(
            parse_config(read_bounded(explicit, MAX_CONFIG_BYTES), str(explicit)), str(explicit)
        )
    path = root / CONFIG_FILE
    if not os.path.lexists(path):
        return None
    path = repo_file(root, CONFIG_FILE, "configuration")
    return LoadedConfig(parse_config(read_bounded(path, MAX_CONFIG_BYTES), str(path)), str(path))


@dataclass(frozen=True)
class Settings:
    """What one run uses, after the command line and the configuration have had their say."""

    policy: Path | None = None
    baseline: Path | None = None
    kinds: list[str] | None = None
    options: AuditOptions = field(default_factory=AuditOptions)
    block_at: Severity | None = None
    block_at_source: str = "--block-at"
    suppressions: SuppressionSettings = field(default_factory=SuppressionSettings)
    honour_pull_request_suppressions: bool = False


def _osv_given(options: AuditOptions) -> bool:
    return options.osv_db is not None or options.osv_api or options.osv_api_url is not None


def resolve(cli: Settings, config: RepoConfig | None, root: Path, *, on_disk: bool) -> Settings:
    """``cli``'s settings, completed by ``config`` where the command line said nothing.

    Paths the configuration names are relative to ``root``; ``on_disk`` (``check``) checks
    that each is a regular file of the repository, reached without a symbolic link
    (``pr-check`` reads them from the base revision instead).

    Raises:
        InvalidInput: a file the configuration names is missing or a link (``on_disk``).
    """
    if config is None:
        return cli

    def path(rel: str | None, what: str) -> Path | None:
        if rel is None:
            return None
        return repo_file(root, rel, f"{CONFIG_FILE}: {what}") if on_disk else root / rel

    options = cli.options
    if not _osv_given(options) and (config.osv.api or config.osv.api_url):
        options = options.model_copy(
            update={
                "osv_api": config.osv.api,
                "osv_api_url": config.osv.api_url,
                "osv_offline_ok": options.osv_offline_ok or config.osv.offline_ok,
            }
        )
    block_at, source = cli.block_at, cli.block_at_source
    if block_at is None and config.block_at is not None:
        block_at, source = config.block_at, f"block_at in {CONFIG_FILE}"
    return Settings(
        policy=cli.policy if cli.policy is not None else path(config.policy, "policy"),
        baseline=cli.baseline if cli.baseline is not None else path(config.baseline, "baseline"),
        kinds=cli.kinds if cli.kinds is not None else (list(config.only) if config.only else None),
        options=options,
        block_at=block_at,
        block_at_source=source,
        suppressions=SuppressionSettings(
            inline=config.suppressions.inline, trusted_revision=cli.suppressions.trusted_revision
        ),
        honour_pull_request_suppressions=config.suppressions.from_pull_requests,
    )


def with_block_at(policy: Policy, block_at: Severity | None, source: str = "--block-at") -> Policy:
    """``policy`` blocking at ``block_at``, which may only be stricter than the policy's own.

    Raises:
        InvalidInput: ``block_at`` is above the policy's ``audits.block_at``.
    """
    current = policy.audits.block_at
    if block_at is None or block_at == current:
        return policy
    if block_at.rank > current.rank:
        raise InvalidInput(
            f"{source} {block_at.value}: the policy {policy.name} blocks at {current.value}, "
            f"and {source} can only make the gate stricter; to block only at "
            f"{block_at.value} and above, set audits.block_at in a policy"
        )
    audits = policy.audits.model_copy(update={"block_at": block_at})
    return policy.model_copy(update={"audits": audits})


__all__ = [
    "CONFIG_FILE",
    "LoadedConfig",
    "Settings",
    "load_config",
    "parse_config",
    "repo_file",
    "repository_root",
    "resolve",
    "with_block_at",
]
