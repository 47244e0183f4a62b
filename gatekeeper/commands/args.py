"""Arguments several commands share, and the typed options built from them.

``check``, ``attest --audit`` and ``pr-check`` take the same audit options (one helper adds
them, ``audit_options`` turns them into ``AuditOptions``), so a new option reaches every
command that collects and audits at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from gatekeeper.app.config import Settings
    from gatekeeper.attest.keys import KeyRef
    from gatekeeper.models.options import AuditOptions

# The evidence kinds (``gatekeeper.collect.kinds()``; a test keeps the two equal). Written
# out so that building the parser for --help or --version imports no collector.
KINDS = ("container", "deps", "env", "pipeline", "source", "secrets")
SEVERITIES = ("critical", "high", "medium", "low", "info")
FORMATS = ("text", "json", "sarif", "junit", "markdown")
COLOR_CHOICES = ("auto", "always", "never")


# check's options that only shape check's own output or what it reads, and why
# ``attest --audit`` does not take them (tests/attest/test_audit_options.py checks the list).
CHECK_ONLY_OPTIONS: dict[str, str] = {
    "--staged": "a pre-commit audit of the index; an attestation records the tree",
    "--baseline": "marks accepted findings in a report; the verifier ignores such marks",
    "--write-baseline": "writes a baseline file instead of reporting",
    "--format": "report formats; attest writes a signed statement",
    "--output": "report files; attest writes a signed statement",
    "--color": "colours check's text report; attest writes a signed statement",
    "--config": "the repository configuration sets check's defaults; an attestation records "
    "the audits' own findings for the verifier's policy to judge",
    "--no-config": "as --config",
    "--block-at": "the verifier's policy decides what blocks an attested stage",
    "--path-only": "attest --repo already names the directory as given",
}


def add_report_args(parser: argparse.ArgumentParser) -> None:
    """--format, --output, --color and --quiet (``commands.output`` says how they combine)."""
    parser.add_argument(
        "--format",
        action="append",
        choices=FORMATS,
        metavar="F",
        help="report format: text (default), json, sarif, junit or markdown; repeat with "
        "--output for several reports in one run",
    )
    parser.add_argument(
        "--output",
        action="append",
        metavar="FILE",
        help="write a report to FILE (atomically): the Nth --output takes the Nth --format, "
        "else the format its name says (.sarif, .json, .xml for JUnit, .md, .txt)",
    )
    add_color_arg(parser)
    add_quiet_arg(parser)


def add_color_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        metavar="WHEN",
        help="colour the text report: auto (default: on a terminal, unless NO_COLOR is set; "
        "FORCE_COLOR forces it), always or never",
    )


def add_quiet_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only what blocks and the verdict: no progress line, notes or "
        "informational messages (errors still go to standard error)",
    )


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """The repository configuration, the threshold and the root (``check``, ``pr-check``)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="read the repository configuration from FILE instead of .gatekeeper.yaml at "
        "the repository's top (pr-check reads a file of the repository from the base revision)",
    )
    which.add_argument(
        "--no-config",
        action="store_true",
        help="ignore .gatekeeper.yaml",
    )
    parser.add_argument(
        "--block-at",
        choices=SEVERITIES,
        metavar="SEVERITY",
        help="block on findings at or above SEVERITY (critical, high, medium, low or info); "
        "only stricter than the policy's audits.block_at",
    )
    parser.add_argument(
        "--path-only",
        action="store_true",
        help="audit REPO as given; without it, a path inside a git work tree audits the whole "
        "work tree (as git does)",
    )


def add_policy_arg(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--policy",
        required=required,
        metavar="FILE",
        help="policy YAML file (default: the configuration's, else the bundled policy: no "
        "stages, blocks at high)"
        if not required
        else "policy YAML file",
    )


def add_insecure_registry_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--insecure-registry",
        action="store_true",
        help="plain HTTP to an oci:// store on a loopback host (refused otherwise)",
    )


def add_osv_args(parser: argparse.ArgumentParser) -> None:
    """Where vulnerabilities come from (``deps``)."""
    parser.add_argument(
        "--osv-db",
        metavar="PATH",
        type=Path,
        help="offline OSV database: a directory or zip of OSV JSON records",
    )
    parser.add_argument(
        "--osv-api", action="store_true", help="query the OSV API (batched, cached)"
    )
    parser.add_argument(
        "--osv-api-url",
        metavar="URL",
        default=None,
        help="OSV API base URL (default https://api.osv.dev)",
    )
    parser.add_argument(
        "--osv-offline-ok",
        action="store_true",
        help="continue when the OSV API is unreachable (the report says so)",
    )


def add_audit_args(parser: argparse.ArgumentParser, *, image: bool = True) -> None:
    """The options of one collect-and-audit run (``AuditOptions``) and ``--only``.

    ``image=False`` for a command that defines ``--image`` itself (``attest``).
    """
    parser.add_argument(
        "--only",
        action="append",
        choices=KINDS,
        metavar="KIND",
        help=f"collect and audit only this evidence kind (repeatable): {', '.join(KINDS)}",
    )
    add_osv_args(parser)
    if image:
        parser.add_argument(
            "--image",
            metavar="REF",
            help="also audit an image: oci:DIR[:TAG] or docker-archive:FILE",
        )
    parser.add_argument(
        "--allowed-signers",
        metavar="FILE",
        type=Path,
        help="source: SSH allowed-signers file for commit signatures (docs/source.md)",
    )


def audit_options(args: argparse.Namespace) -> AuditOptions:
    """The typed options of the arguments ``add_audit_args``/``add_osv_args`` added."""
    # NOTE: imported here: the parser is built for `--version` too, which must not load pydantic.
    from gatekeeper.models.options import AuditOptions

    image = getattr(args, "image", None)
    return AuditOptions(
        osv_db=getattr(args, "osv_db", None),
        osv_api=getattr(args, "osv_api", False),
        osv_api_url=getattr(args, "osv_api_url", None),
        osv_offline_ok=getattr(args, "osv_offline_ok", False),
        image=image if isinstance(image, str) else None,
        allowed_signers=getattr(args, "allowed_signers", None),
    )


def cli_settings(args: argparse.Namespace) -> Settings:
    """What the command line says about a check; ``app.config.resolve`` completes it."""
    from gatekeeper.app.config import Settings
    from gatekeeper.models.finding import Severity

    policy = getattr(args, "policy", None)
    block_at = getattr(args, "block_at", None)
    return Settings(
        policy=Path(policy) if policy else None,
        baseline=getattr(args, "baseline", None),
        kinds=getattr(args, "only", None),
        options=audit_options(args),
        block_at=Severity(block_at) if block_at else None,
    )


class KeyArg(NamedTuple):
    """One ``--key`` as parsed: its URI and the ``--passphrase-env`` that followed it."""

    uri: str
    secret_env: str | None = None


class _KeyAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        keys = [*(getattr(namespace, self.dest, None) or []), KeyArg(str(values))]
        setattr(namespace, self.dest, keys)


class _KeySecretAction(argparse.Action):
    """``--passphrase-env NAME`` belongs to the ``--key`` right before it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        keys: list[KeyArg] = list(getattr(namespace, "key", None) or [])
        if not keys:
            parser.error(f"{option_string} NAME must follow the --key it belongs to")
        if keys[-1].secret_env is not None:
            parser.error(f"{option_string} given twice for --key {keys[-1].uri}")
        keys[-1] = keys[-1]._replace(secret_env=str(values))
        namespace.key = keys


KEY_HELP = (
    "signing key: a PEM path, file:PATH, env:NAME, hsm:[ID][?label=TOKEN] (PKCS#11), "
    "awskms:KEY, gcpkms:projects/..., azurekms://VAULT.vault.azure.net/keys/NAME "
    "(see docs/attestations.md#keys)"
)


def add_key_args(parser: argparse.ArgumentParser, *, required: bool, help: str = KEY_HELP) -> None:
    """``--key URI`` (repeatable) and ``--passphrase-env NAME`` for the ``--key`` before it."""
    parser.add_argument(
        "--key",
        action=_KeyAction,
        required=required,
        default=[],
        metavar="KEY",
        help=f"{help}; repeat to co-sign",
    )
    parser.add_argument(
        "--passphrase-env",
        action=_KeySecretAction,
        metavar="NAME",
        help="the environment variable holding the passphrase (encrypted PEM) or PIN "
        "(hsm:) of the --key just before it; default GATEKEEPER_KEY_PASSPHRASE for "
        "encrypted PEM keys, GATEKEEPER_HSM_PIN for tokens",
    )


def signing_keys(args: argparse.Namespace) -> list[KeyRef]:
    """The ``--key`` options as key references, each with its own passphrase variable."""
    from gatekeeper.attest.keys import KeyRef

    return [KeyRef(k.uri, k.secret_env) for k in getattr(args, "key", None) or []]
