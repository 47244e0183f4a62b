"""`gatekeeper keygen`, `gatekeeper policy sign` and `gatekeeper policy validate`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gatekeeper._fileio import atomic_write
from gatekeeper.attest.keys import load_signer, write_keypair
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.policy import load_policy, policy_signature_path, resolve_key_path


def cmd_keygen(args: argparse.Namespace) -> int:
    passphrase = None
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise InvalidInput(
                f"--passphrase-env {args.passphrase_env}: the variable is not set or empty"
            )
        passphrase = value.encode()
    key = write_keypair(Path(args.path), args.type, passphrase, force=args.force)
    sys.stdout.write(f"{args.path} (private, 0600) and {args.path}.pub; key id {key.keyid}\n")
    return ExitCode.PASS


def cmd_policy_sign(args: argparse.Namespace) -> int:
    from gatekeeper.verify.policy_signature import read_key_files, sign_policy

    policy, data = load_policy(args.policy)  # never sign a policy that does not validate
    key_files = read_key_files(args.policy, policy)  # nor one whose key files do not load
    signers = [load_signer(k) for k in args.key]
    envelope = sign_policy(args.policy, data, policy, key_files, signers)
    out = policy_signature_path(args.policy)
    atomic_write(out, envelope_bytes(envelope))
    bound = ", ".join(sorted(k.ref for k in key_files.values())) or "no key files"
    serial = f" serial {policy.serial}," if policy.serial is not None else ""
    sys.stdout.write(
        f"{out}: policy {policy.name},{serial} and {bound} signed by "
        f"{', '.join(s.keyid[:16] for s in signers)}\n"
    )
    return ExitCode.PASS


def cmd_policy_validate(args: argparse.Namespace) -> int:
    from gatekeeper.attest.keys import load_public_key

    policy, _ = load_policy(args.policy)
    for name, ref in policy.keys.items():
        load_public_key(resolve_key_path(args.policy, ref))
        del name
    serial = f", serial {policy.serial}" if policy.serial is not None else ""
    lines = [
        f"{args.policy}: policy {policy.name} is valid (expires {policy.expires:%Y-%m-%d}{serial})"
    ]
    for stage in policy.stages:
        extra = f", follows {stage.follows}" if stage.follows else ""
        req = f", requires {', '.join(stage.requires)}" if stage.requires else ""
        if stage.provenance is not None:
            builders = ", ".join(stage.provenance.builder_ids) or "any builder"
            req += f", accepts provenance from {builders}"
        lines.append(
            f"  stage {stage.name}: {stage.threshold} of {', '.join(stage.signed_by)}{extra}{req}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return ExitCode.PASS
