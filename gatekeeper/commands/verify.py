"""`gatekeeper verify` and `gatekeeper import`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.commands.args import signing_keys
from gatekeeper.commands.output import emit, inform, report_targets
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.store import open_store
from gatekeeper.verify import (
    SummaryRequest,
    VerifyConfig,
    VerifyRequest,
    verify_artifacts,
)

if TYPE_CHECKING:
    from gatekeeper.attest.importer import Prepared

# The commit being promoted, when the CI says it and --commit does not.
_COMMIT_VARS = ("GATEKEEPER_COMMIT", "GITHUB_SHA", "GIT_COMMIT", "CI_COMMIT_SHA")


def _summary_request(args: argparse.Namespace) -> SummaryRequest | None:
    """``--emit-vsa FILE`` with its ``--key``s, loaded first: a bad key fails before verifying."""
    if args.key and not args.emit_vsa:
        raise InvalidInput("--key signs the --emit-vsa summary; give --emit-vsa FILE too")
    if args.emit_vsa and not args.key:
        raise InvalidInput("--emit-vsa needs --key KEY to sign the summary")
    if not args.emit_vsa:
        return None
    from gatekeeper.attest.keys import load_signer  # signing: only with --emit-vsa

    return SummaryRequest(
        path=Path(args.emit_vsa), signers=[load_signer(k) for k in signing_keys(args)]
    )


def cmd_verify(args: argparse.Namespace) -> int:
    if args.emit_vsa:
        from gatekeeper.verify.summary import remove_stale_summary

        # SECURITY: before anything can fail, so no exit leaves an earlier summary behind.
        remove_stale_summary(Path(args.emit_vsa))
    report_targets(args)
    summary = _summary_request(args)
    commit = args.commit or next((os.environ[v] for v in _COMMIT_VARS if os.environ.get(v)), None)
    outcome = verify_artifacts(
        VerifyRequest(
            config=VerifyConfig(
                policy_path=Path(args.policy),
                artifacts=args.artifacts,
                image_digests=args.image_digest,
                digests=args.digest,
                bundles=args.bundle,
                store=args.store,
                policy_key=args.policy_key,
                commit=commit,
                insecure_registry=args.insecure_registry,
            ),
            log=not args.no_log,
            summary=summary,
        )
    )
    for message in outcome.messages:
        inform(args, message)
    emit(args, outcome.verdict)
    return outcome.exit_code


def cmd_import(args: argparse.Namespace) -> int:
    if args.stage is not None:
        # SECURITY: an unsigned label never decides which stage an attestation stands for.
        sys.stderr.write(
            "gatekeeper: note: --stage is ignored: a link or gatekeeper attestation names its "
            "stage in what is signed, and the policy's `provenance:` matchers decide which "
            "stage a provenance stands for\n"
        )
    # NOTE: imported here: verify does not need the importer.
    from gatekeeper.attest.importer import prepare_files, store_prepared

    if not args.files and not args.image:
        raise InvalidInput("import: name FILEs, or --image REF")
    prepared = prepare_files(args.files)
    if args.image:
        found = _attached(args.image, args.insecure_registry)
        if found is None:
            return ExitCode.BLOCKED
        prepared.extend(found)
    store = open_store(args.store, insecure=args.insecure_registry)
    imported = store_prepared(prepared, store)
    for item in imported:
        if item.kind == "slsa-provenance":
            where = "(the policy's provenance matchers decide its stage)"
        elif item.kind == "statement":
            where = f"({item.stage.removeprefix('predicate:')}: evidence for no stage)"
        else:
            where = f"for stage {item.stage}"
        kind = f"{item.kind} (Sigstore bundle, kept whole)" if item.bundle else item.kind
        sys.stdout.write(f"{item.source}: {kind} {where} -> {item.envelope_id[:12]}\n")
        for note in item.notes:  # what a foreign format carried that was ignored
            sys.stderr.write(f"{item.source}: note: {note}\n")
    return ExitCode.PASS


def _attached(text: str, insecure: bool) -> list[Prepared] | None:
    """The attestations attached to the image ``text`` names, checked for form; None (after
    saying so) when nothing is attached: an image without attestations never passes silently.
    """
    from gatekeeper.attest.importer import prepare_documents
    from gatekeeper.store.attached import find_attached, open_image

    image, client = open_image(text, insecure=insecure)
    found = find_attached(image, client)
    resolved = "" if found.image.reference == found.digest else f" ({image.reference})"
    sys.stdout.write(f"image {image.name}@{found.digest}{resolved}\n")
    for note in found.notes:
        sys.stderr.write(f"gatekeeper: note: {note}\n")
    if not found.documents:
        sys.stderr.write(
            f"gatekeeper: {image.name}@{found.digest}: no attestation attached (looked at "
            f"{', '.join(found.looked_at)}); nothing imported\n"
        )
        return None
    return prepare_documents(found.documents)
