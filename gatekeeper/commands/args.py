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
    from gatekeeper.attest.keys import KeyRef
    from gatekeeper.models.options import AuditOptions

FORMATS = ("text", "json", "sarif", "junit", "markdown")

# check's options that only shape check's own output or what it reads, and why
# ``attest --audit`` does not take them (tests/attest/test_audit_options.py checks the list).
CHECK_ONLY_OPTIONS: dict[str, str] = {
    "--staged": "a pre-commit audit of the index; an attestation records the tree",
    "--baseline": "marks accepted findings in a report; the verifier ignores such marks",
    "--write-baseline": "writes a baseline file instead of reporting",
    "--format": "report formats; attest writes a signed statement",
    "--output": "report files; attest writes a signed statement",
}


def add_report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        action="append",
        choices=FORMATS,
        metavar="F",
        help="text, json, sarif, junit or markdown; repeat with --output for several reports",
    )
    parser.add_argument(
        "--output",
        action="append",
        metavar="FILE",
        help="write the report of the matching --format to FILE (atomically)",
    )


def add_policy_arg(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--policy", required=required, metavar="FILE", help="policy YAML file")


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
        metavar="KIND",
        help="collect only these evidence kinds (repeatable)",
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
