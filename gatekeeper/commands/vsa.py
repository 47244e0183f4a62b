"""`gatekeeper vsa verify`: a deployer's one-signature check of a verification summary."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatekeeper.attest.keys import LoadedSigner
from gatekeeper.commands.output import emit, report_targets
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import parse_duration
from gatekeeper.models.verdict import Verdict
from gatekeeper.store import resolve_store_uri
from gatekeeper.verify.evaluate import VerifyTrace, artifact_digest
from gatekeeper.vsa import (
    DEFAULT_MAX_AGE,
    VsaCheck,
    VsaInput,
    check_vsa,
    policy_file_digest,
    write_vsa,
)


def add_parser(sub: Any, add_report_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("vsa", help="SLSA verification summaries (see `verify --emit-vsa`)")
    actions = p.add_subparsers(dest="vsa_command", metavar="ACTION")
    v = actions.add_parser("verify", help="check a signed verification summary before deploying")
    v.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="PUB",
        help="public key of the gate that signed the summary (repeatable)",
    )
    v.add_argument(
        "--image-digest",
        action="append",
        default=[],
        metavar="sha256:HEX",
        help="the artifact being deployed, by digest (repeatable)",
    )
    v.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="FILE",
        help="the artifact being deployed, as a file to hash (repeatable)",
    )
    which = v.add_mutually_exclusive_group()
    which.add_argument(
        "--policy", metavar="FILE", help="require the summary to name this policy file's sha256"
    )
    which.add_argument(
        "--policy-digest",
        metavar="sha256:HEX",
        help="require the summary to name this policy digest",
    )
    v.add_argument(
        "--max-age",
        metavar="DURATION",
        default=None,
        help="refuse a verification older than this (default 30d; s, m, h, d, w)",
    )
    v.add_argument("--verifier-id", metavar="URI", help="require this verifier id")
    v.add_argument("file", metavar="FILE", help="the summary (a DSSE envelope)")
    add_report_args(v)
    v.set_defaults(handler="gatekeeper.commands.vsa:cmd_vsa_verify")


def emit_vsa(
    args: argparse.Namespace, verdict: Verdict, trace: VerifyTrace, signers: list[LoadedSigner]
) -> None:
    """`verify --emit-vsa FILE`: sign a summary on pass; on block make sure FILE is absent.

    Raises:
        InvalidInput / SigningError: the summary cannot be built or signed.
    """
    target = Path(args.emit_vsa)
    if not verdict.allowed:
        # SECURITY: a summary left from an earlier run must not pass for this one.
        if target.exists() or target.is_symlink():
            target.unlink()
        sys.stderr.write(f"gatekeeper: blocked: no verification summary written to {target}\n")
        return
    if trace.policy_digest is None or not trace.subjects:
        raise InvalidInput("internal: a passing verdict without a policy digest or subjects")
    store = resolve_store_uri(args.store)
    is_oci = store.startswith("oci://")
    attestations = [
        (
            f"{store}@sha256:{env_id}"
            if is_oci
            else f"{Path(store).as_posix()}/envelopes/{env_id}.json",
            env_id,
        )
        for env_id in trace.attestations
    ]
    name, digest = trace.subjects[0]
    resource = name if name != digest else (f"{store}@{digest}" if is_oci else digest)
    write_vsa(
        target,
        VsaInput(
            subjects=list(trace.subjects),
            policy_uri=Path(args.policy).as_posix(),
            policy_digest=trace.policy_digest,
            attestations=attestations,
            resource_uri=resource,
            time_verified=datetime.now(UTC),
        ),
        signers,
    )
    sys.stderr.write(f"gatekeeper: verification summary written to {target}\n")


def cmd_vsa_verify(args: argparse.Namespace) -> int:
    from gatekeeper.commands.verify import verdict_exit_code

    report_targets(args)
    subjects = [artifact_digest(spec) for spec in args.image_digest]
    for path in args.artifact:
        if path.startswith("sha256:"):
            raise InvalidInput(f"--artifact {path}: give a file; use --image-digest for a digest")
        subjects.append(artifact_digest(path))
    policy_digest = None
    if args.policy:
        policy_digest = policy_file_digest(args.policy)
    elif args.policy_digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", args.policy_digest):
            raise InvalidInput(f"--policy-digest {args.policy_digest!r}: give sha256:<64 hex>")
        policy_digest = args.policy_digest
    max_age = DEFAULT_MAX_AGE
    if args.max_age is not None:
        try:
            max_age = parse_duration(args.max_age)
        except ValueError as exc:
            raise InvalidInput(f"--max-age: {exc}") from exc
    verdict = check_vsa(
        VsaCheck(
            path=Path(args.file),
            keys=list(args.key),
            subjects=subjects,
            policy_digest=policy_digest,
            max_age=max_age,
            verifier_id=args.verifier_id,
        )
    )
    emit(args, verdict)
    return verdict_exit_code(verdict)
