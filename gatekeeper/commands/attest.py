"""`gatekeeper attest`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper.attest.stage import AttestConfig, run_attest
from gatekeeper.commands.args import audit_options, signing_keys
from gatekeeper.policy import load_policy


def cmd_attest(args: argparse.Namespace) -> int:
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    policy = load_policy(args.policy)[0] if args.policy else None
    result = run_attest(
        AttestConfig(
            stage=args.stage,
            keys=signing_keys(args),
            repo=Path(args.repo),
            materials=args.material,
            products=args.product,
            material_dirs=args.material_dir,
            product_dirs=args.product_dir,
            images=args.image,
            command=command,
            store=args.store,
            run_id=args.run_id,
            audit=args.audit,
            base=args.base,
            policy=policy,
            kinds=args.only,
            options=audit_options(args),
            allow_empty=args.allow_empty,
            insecure_registry=args.insecure_registry,
            keyless=args.keyless,
            trust_config=args.trust_config,
        )
    )
    pred = result.predicate
    code = f", command exited {result.exit_code}" if command else ""
    sys.stderr.write(
        f"gatekeeper: attested stage {pred.stage}: {len(pred.materials)} material(s), "
        f"{len(pred.products)} product(s){code}; envelope {result.envelope_id[:12]}\n"
    )
    return result.exit_code
