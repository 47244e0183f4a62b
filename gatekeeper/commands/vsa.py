"""`gatekeeper vsa verify`: a deployer's one-signature check of a verification summary."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.commands.output import emit, report_targets
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import parse_duration
from gatekeeper.verify import (
    VsaCheck,
    artifact_digest,
    check_vsa,
    exit_code_for,
    policy_file_digest,
)
from gatekeeper.verify.subjects import ArtifactSubject, digest_subject, file_subject
from gatekeeper.verify.summary import DEFAULT_MAX_AGE


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
        "--digest",
        action="append",
        default=[],
        metavar="ALG:VALUE",
        help="the artifact being deployed, by a digest in any in-toto DigestSet algorithm "
        "(sha512:HEX, gce_image_id:ID; repeatable)",
    )
    v.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="FILE",
        help="the artifact being deployed, as a file to hash (repeatable)",
    )
    v.add_argument(
        "--resource-uri",
        metavar="URI",
        help="require the summary's resourceUri to be exactly this",
    )
    v.add_argument(
        "--verified-level",
        action="append",
        default=[],
        metavar="LEVEL",
        help="require this level in the summary's verifiedLevels (SLSA_BUILD_LEVEL_2 is also "
        "met by level 3; repeatable)",
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
    which.add_argument(
        "--any-policy",
        action="store_true",
        help="accept a summary made under any policy (the output says the policy was not "
        "checked); one of --policy, --policy-digest or --any-policy is required",
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


def cmd_vsa_verify(args: argparse.Namespace) -> int:
    report_targets(args)
    subjects: list[tuple[str, str] | ArtifactSubject] = [
        artifact_digest(spec) for spec in args.image_digest
    ]
    subjects += [digest_subject(spec) for spec in args.digest]
    for path in args.artifact:
        if path.startswith("sha256:"):
            raise InvalidInput(f"--artifact {path}: give a file; use --image-digest for a digest")
        subjects.append(file_subject(path))
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
            any_policy=args.any_policy,
            max_age=max_age,
            verifier_id=args.verifier_id,
            resource_uri=args.resource_uri,
            verified_levels=tuple(args.verified_level),
        )
    )
    emit(args, verdict)
    return exit_code_for(verdict)
