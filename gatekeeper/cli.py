"""Command line: argparse -> config -> pipeline -> report -> exit code.

No policy logic lives here. Exit codes: 0 pass, 1 blocked, 2 usage/configuration
error, 3 internal error; every non-zero code blocks promotion.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gatekeeper import __version__
from gatekeeper._pydantic_plugins import disable as disable_pydantic_plugins
from gatekeeper.commands.args import (
    KEY_HELP,
    add_audit_args,
    add_config_args,
    add_insecure_registry_arg,
    add_key_args,
    add_osv_args,
    add_policy_arg,
    add_quiet_arg,
    add_report_args,
)
from gatekeeper.errors import ExitCode, GatekeeperError, InvalidInput

Handler = Callable[[argparse.Namespace], int]

EPILOG = """\
exit codes (every non-zero code blocks promotion):
  0  pass: may be promoted (check, pr-check: nothing at or above the blocking severity)
  1  blocked by the policy, with every reason (attest: the wrapped command failed)
  2  usage or configuration error: bad arguments, an unreadable or invalid policy,
     configuration, key or input file
  3  internal error (a bug); set GATEKEEPER_DEBUG=1 to print its traceback

environment:
  GATEKEEPER_DEBUG=1         print the traceback of an internal error (exit 3)
  GATEKEEPER_STORE           the attestation store when --store is not given
                             (default .gatekeeper/)
  GATEKEEPER_NO_PROGRESS=1   never draw a progress line (it is drawn only on a terminal)
  NO_COLOR, FORCE_COLOR      with --color auto: no colour / colour even when not a terminal
  GATEKEEPER_RULES_URL       where the rule catalogue is published (links in reports)
  GITHUB_TOKEN               pr-check: post a commit status and a check run

Every command, option, variable and file format: README.md and docs/ (docs/configuration.md
for .gatekeeper.yaml, inline suppressions and output options)."""


def _terminal_width() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (and, through it, the
    compression modules) on every start-up: argparse makes a formatter for every option."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout, not a terminal
        return 80


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout; wraps option help as usual."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_width() - 2)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line message (it already does; keep it explicit).

    Every parser and subparser shows the exit codes and the environment in its epilog.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EPILOG)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"gatekeeper: error: {message}\n")
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gatekeeper", description="Build-pipeline integrity gate.")
    parser.add_argument("--version", action="version", version=f"gatekeeper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("keygen", help="generate a signing key pair (files, or on a PKCS#11 token)")
    p.add_argument(
        "path",
        metavar="PATH",
        help="private key file (the public key goes to PATH.pub), or hsm:ID?label=TOKEN to "
        "make the key pair on a PKCS#11 token",
    )
    p.add_argument(
        "--type",
        default=None,
        choices=("ed25519", "ecdsa-p256", "rsa"),
        help="key type (default: ed25519 for files, ecdsa-p256 on a token)",
    )
    p.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="files: encrypt the private key with the passphrase in environment variable NAME; "
        "hsm: the token's user PIN (default GATEKEEPER_HSM_PIN)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(handler="gatekeeper.commands.keys:cmd_keygen")

    p = sub.add_parser("key", help="signing keys")
    ksub = p.add_subparsers(dest="key_command", metavar="ACTION", parser_class=_Parser)
    pk = ksub.add_parser("export", help="write the public key (PEM) of any --key URI")
    pk.add_argument("uri", metavar="KEY", help=KEY_HELP)
    pk.add_argument(
        "-o", "--output", metavar="FILE", help="write the PEM to FILE (default: standard output)"
    )
    pk.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="the variable holding the key's passphrase (encrypted PEM) or PIN (hsm:, only "
        "if the token hides public keys)",
    )
    pk.set_defaults(handler="gatekeeper.commands.keys:cmd_key_export")

    p = sub.add_parser("check", help="collect and audit a repository")
    p.add_argument(
        "repo",
        nargs="?",
        default=".",
        metavar="REPO",
        help="the repository, or any path inside it (default: the current directory)",
    )
    p.add_argument("--base", metavar="REF", help="also audit what changed since REF")
    add_policy_arg(p)
    p.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="accept the findings whose fingerprints are in FILE",
    )
    p.add_argument(
        "--write-baseline",
        metavar="FILE",
        type=Path,
        help="write the fingerprints of every current finding to FILE and exit 0",
    )
    p.add_argument(
        "--staged", action="store_true", help="audit only what is staged in the index (pre-commit)"
    )
    add_audit_args(p)
    add_config_args(p)
    add_report_args(p)
    p.set_defaults(handler="gatekeeper.commands.check:cmd_check")

    p = sub.add_parser("collect", help="print one kind of evidence as JSON")
    # NOTE: one positional list, so that REPO may follow options (`collect source --format text .`).
    p.add_argument(
        "target",
        nargs="+",
        metavar="KIND [REPO]",
        help="the evidence kind (container, deps, env, pipeline, source, secrets) and the "
        "repository or a path inside it (default: the current directory)",
    )
    p.add_argument("--base", metavar="REF", help="also collect what changed since REF")
    p.add_argument("--image", metavar="REF", help="container: oci:DIR[:TAG] or docker-archive:FILE")
    p.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="json (default: the evidence model, redacted) or text (a short listing)",
    )
    p.add_argument(
        "--path-only",
        action="store_true",
        help="collect from REPO as given, not from the top of the git work tree it is in",
    )
    p.add_argument(
        "--allowed-signers",
        metavar="FILE",
        type=Path,
        help="source: SSH allowed-signers file for commit signatures",
    )
    add_osv_args(p)
    p.set_defaults(handler="gatekeeper.commands.check:cmd_collect")

    p = sub.add_parser("attest", help="hash materials, run a command, hash products, sign, store")
    p.add_argument("--stage", required=True, metavar="NAME", help="the stage this records")
    add_key_args(p, required=False)
    p.add_argument(
        "--keyless",
        action="store_true",
        help="sign with the CI's ambient OIDC identity (Sigstore) instead of --key; the "
        "Sigstore bundle is stored",
    )
    p.add_argument(
        "--trust-config",
        metavar="FILE",
        type=Path,
        help="with --keyless: the Sigstore instance's client trust configuration (default: "
        "the public-good instance)",
    )
    p.add_argument(
        "--material",
        action="append",
        default=[],
        metavar="GLOB",
        help="files the stage consumed, hashed before the command runs (repeatable)",
    )
    p.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="GLOB",
        help="files the stage produced, hashed after the command ran (repeatable)",
    )
    p.add_argument(
        "--material-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="record one digest for the whole directory instead of one per file",
    )
    p.add_argument(
        "--product-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="record one digest for a whole product directory (repeatable)",
    )
    p.add_argument(
        "--store",
        metavar="STORE",
        help="a directory or oci://HOST/REPO (default: $GATEKEEPER_STORE or .gatekeeper/)",
    )
    p.add_argument(
        "--repo", default=".", metavar="DIR", help="repository root (globs are relative to it)"
    )
    p.add_argument(
        "--run-id", metavar="ID", help="pipeline run id (default: the CI's, or $GATEKEEPER_RUN_ID)"
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="embed the evidence and findings of `check` in the attestation",
    )
    p.add_argument("--base", metavar="REF", help="with --audit: the base ref for the audits")
    add_policy_arg(p)
    add_audit_args(p, image=False)
    p.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="REF",
        help="make the image's manifest digest a subject: oci:DIR[:TAG] or docker-archive:FILE "
        "(repeatable); with --audit, one image is also audited, as by check --image",
    )
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="do not fail when a --product glob matches nothing",
    )
    add_insecure_registry_arg(p)
    add_quiet_arg(p)
    p.add_argument(
        "cmd",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND ARGS...",
        help="the stage's command, run without a shell; when it fails, the stage is recorded "
        "as failed and attest exits 1 (its own exit code is printed and attested)",
    )
    p.set_defaults(handler="gatekeeper.commands.attest:cmd_attest")

    p = sub.add_parser("verify", help="decide whether artifacts may be promoted")
    add_policy_arg(p, required=True)
    p.add_argument(
        "--store",
        metavar="STORE",
        help="a directory or oci://HOST/REPO (default: $GATEKEEPER_STORE or .gatekeeper/)",
    )
    p.add_argument(
        "--policy-key", metavar="PUB", help="require the policy to be signed by this key"
    )
    p.add_argument(
        "--commit",
        metavar="SHA",
        help="the commit being promoted (default: the CI's commit variable, if any)",
    )
    p.add_argument(
        "--image-digest",
        action="append",
        default=[],
        metavar="sha256:HEX",
        help="promote an image (or any artifact) by digest",
    )
    p.add_argument(
        "--digest",
        action="append",
        default=[],
        metavar="ALG:HEX",
        help="promote an artifact known only by its digest, in any in-toto DigestSet "
        "algorithm (sha256, sha512, ...; repeatable)",
    )
    p.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="FILE",
        help="also judge the attestations in FILE: a Sigstore bundle, a DSSE envelope or "
        "one per line (repeatable; nothing is written to the store)",
    )
    add_insecure_registry_arg(p)
    p.add_argument(
        "--emit-vsa",
        metavar="FILE",
        help="on pass, write a signed SLSA verification summary to FILE (needs --key)",
    )
    add_key_args(
        p, required=False, help=f"with --emit-vsa: the key that signs the summary: {KEY_HELP}"
    )
    p.add_argument(
        "--no-log",
        action="store_true",
        help="do not append this decision to the store's decision log",
    )
    p.add_argument(
        "artifacts",
        nargs="*",
        metavar="ARTIFACT",
        help="a file to promote (hashed), or sha256:HEX",
    )
    add_report_args(p)
    p.set_defaults(handler="gatekeeper.commands.verify:cmd_verify")

    p = sub.add_parser("import", help="add envelopes made by other tools to the store")
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="in-toto links, DSSE envelopes, JSON Lines of attestations or Sigstore bundles",
    )
    p.add_argument(
        "--image",
        metavar="REF",
        help="also import every attestation attached to the image HOST/REPO@sha256:HEX "
        "or HOST/REPO:TAG in its registry (cosign's .att tag, OCI referrers); with "
        "--insecure-registry, plain HTTP only if HOST is loopback",
    )
    p.add_argument(
        "--store",
        metavar="STORE",
        help="a directory or oci://HOST/REPO (default: $GATEKEEPER_STORE or .gatekeeper/)",
    )
    p.add_argument(
        "--stage",
        metavar="NAME",
        help="ignored (kept for old scripts): the policy's `provenance:` matchers decide "
        "which stage a provenance stands for",
    )
    add_insecure_registry_arg(p)
    p.set_defaults(handler="gatekeeper.commands.verify:cmd_import")

    p = sub.add_parser("policy", help="policy files")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser)
    ps = psub.add_parser("sign", help="sign a policy file (writes POLICY.sig)")
    add_key_args(ps, required=True)
    ps.add_argument("policy", metavar="POLICY", help="the policy YAML file")
    ps.set_defaults(handler="gatekeeper.commands.keys:cmd_policy_sign")
    pv = psub.add_parser("validate", help="check a policy file and print its stages")
    pv.add_argument("policy", metavar="POLICY", help="the policy YAML file")
    pv.set_defaults(handler="gatekeeper.commands.keys:cmd_policy_validate")

    p = sub.add_parser(
        "rules", help="print a rule's documentation (docs/rules.md), or list every rule"
    )
    p.add_argument(
        "rules",
        nargs="*",
        metavar="RULE",
        help="a rule id or verifier reason code, as a report names it "
        "(e.g. pipeline/template-injection); none: one line per rule",
    )
    p.set_defaults(handler="gatekeeper.commands.rules:cmd_rules")

    _EXTENSIONS.register(sub)
    return parser


class _Extensions:
    """Subcommands contributed by other modules (sbom, pr-check, vsa, log).

    A module is imported only when its command is used or help is asked for, so that
    `gatekeeper --version` and the core commands start fast.
    """

    def __init__(self) -> None:
        self._modules: dict[str, str] = {}
        self.wanted: Sequence[str] | None = None

    def add(self, command: str, module: str) -> None:
        self._modules[command] = module

    def register(self, sub: Any) -> None:
        import importlib

        argv = list(self.wanted) if self.wanted is not None else sys.argv[1:]
        words = [a for a in argv if not a.startswith("-")]
        asked_help = any(a in ("-h", "--help") for a in argv) and not words
        for command, name in self._modules.items():
            if not asked_help and (not words or words[0] != command):
                sub.add_parser(command, help=f"see `gatekeeper {command} --help`", add_help=False)
                continue
            importlib.import_module(name).add_parser(sub, add_report_args)


_EXTENSIONS = _Extensions()
# Each module here defines add_parser(subparsers, add_report_args) and sets a handler.
for _command, _module in (
    ("sbom", "gatekeeper.commands.sbom"),
    ("pr-check", "gatekeeper.commands.pr_check"),
    ("vsa", "gatekeeper.commands.vsa"),
    ("log", "gatekeeper.commands.log"),
):
    _EXTENSIONS.add(_command, _module)


def _resolve(handler: str) -> Handler:
    import importlib

    module_name, _, func = handler.partition(":")
    fn: Handler = getattr(importlib.import_module(module_name), func)
    return fn


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; ``collect`` takes REPO after its options. Raises SystemExit on a usage error."""
    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    if getattr(args, "command", None) == "collect" and not any(e.startswith("-") for e in extra):
        args.target.extend(extra)  # REPO given after options
        return args
    parser.error(f"unrecognized arguments: {' '.join(extra)}")


def _run(handler: str, args: argparse.Namespace) -> int:
    """Run a handler; every failure is an exit code that blocks, with a one-line reason."""
    try:
        return int(_resolve(handler)(args))
    except GatekeeperError as exc:
        _error(exc.diagnostics())
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _error("interrupted")
        return int(ExitCode.INTERNAL)
    except Exception as exc:  # SECURITY: fail closed on anything unexpected
        _error(f"internal error: {type(exc).__name__}: {exc}")
        if os.environ.get("GATEKEEPER_DEBUG"):
            import traceback  # only here: its imports (linecache, tokenize) cost every start-up

            traceback.print_exc()
        return int(ExitCode.INTERNAL)


def main(argv: Sequence[str] | None = None) -> int:
    # SECURITY: no installed package takes part in validating policies and attestations
    # through a pydantic plugin (and no start-up scans every package's metadata for one).
    disable_pydantic_plugins()
    if argv is None:
        # A gatekeeper process (not a caller embedding main()): cloud and HSM SDKs are
        # imported when a key URI needs them (gatekeeper/_sdk_imports.py).
        from gatekeeper._sdk_imports import defer

        defer()
        # Start-up allocates tens of thousands of long-lived objects (modules, pydantic
        # schemas) that the default threshold (700) has the cycle collector traverse again
        # and again: about 5 % of a short run. Cyclic garbage is still collected.
        gc.set_threshold(10_000, 10, 10)
    _EXTENSIONS.wanted = argv
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    return _run(handler, args)


def _error(message: str) -> None:
    sys.stderr.write(f"gatekeeper: error: {message}\n")


def usage_error(message: str) -> InvalidInput:
    return InvalidInput(message)
