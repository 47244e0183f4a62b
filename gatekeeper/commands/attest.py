"""`gatekeeper attest`.

Exit codes: 0 when the stage is recorded and its command (if any) succeeded; 1 when the
command failed (the stage is recorded as failed, with the command's own exit code, so the
verifier blocks on it); 2 only for usage errors, as everywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper.attest.stage import AttestConfig, run_attest
from gatekeeper.commands.args import audit_options, signing_keys
from gatekeeper.commands.output import inform
from gatekeeper.errors import ExitCode


def cmd_attest(args: argparse.Namespace) -> int:
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    policy = None
    if args.policy:  # imported only then: without a policy, attest reads no YAML
        from gatekeeper.policy import load_policy

        policy = load_policy(args.policy)[0]
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
    summary = (
        f"attested stage {pred.stage}: {len(pred.materials)} material(s), "
        f"{len(pred.products)} product(s){code}; envelope {result.envelope_id[:12]}"
    )
    if result.exit_code == 0:
        inform(args, summary)
        return ExitCode.PASS
    # SECURITY: a failed stage is recorded (the verifier blocks on its exit code) and blocks
    # here too; 1, never the command's own code, which could read as a usage error (2).
    sys.stderr.write(
        f"gatekeeper: {summary}\ngatekeeper: blocked: the command exited {result.exit_code}; "
        f"stage {pred.stage} is recorded as failed\n"
    )
    return ExitCode.BLOCKED
