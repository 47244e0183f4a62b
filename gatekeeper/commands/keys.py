"""`gatekeeper keygen`, `gatekeeper key export`, `gatekeeper policy sign` and `policy validate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper._fileio import write_output
from gatekeeper._git import open_repo
from gatekeeper.attest.keys import (
    KeyRef,
    export_public_key,
    generate_key,
    load_signer,
    public_key_pem,
)
from gatekeeper.attest.signers import PEM, backend_for
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.commands.args import signing_keys
from gatekeeper.errors import CollectionError, ExitCode
from gatekeeper.policy import load_policy, policy_signature_path, resolve_key_path


def unignored_work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` when git would not ignore it (so ``git add -A``
    would commit it); None outside a work tree, or when it is ignored."""
    import git

    try:
        repo = open_repo(path.parent)  # git with the safe configuration
    except CollectionError:
        return None
    if repo.working_tree_dir is None:
        return None
    try:
        repo.git.check_ignore("-q", "--", str(path.resolve()))
    except git.GitCommandError as exc:
        # check-ignore exits 1 for a path it does not ignore (a tracked file included)
        return Path(repo.working_tree_dir) if exc.status == 1 else None
    return None


def cmd_keygen(args: argparse.Namespace) -> int:
    ref = KeyRef(args.path, args.passphrase_env)
    generated = generate_key(ref, args.type, force=args.force)
    sys.stdout.write(f"{generated.where}; key id {generated.public_key.keyid}\n")
    if backend_for(ref.uri) is PEM:
        path = Path(ref.rest if ref.uri.startswith("file:") else ref.uri)
        root = unignored_work_tree(path)
        if root is not None:
            # SECURITY: a private key in a work tree is one `git add -A` from being published.
            sys.stderr.write(
                f"gatekeeper: warning: {path} is inside the git work tree {root} and git does "
                "not ignore it: a commit would publish the private key (and `gatekeeper check` "
                "reports it). Keep signing keys outside the repository (for example "
                f"~/.config/gatekeeper/keys/{path.name}), or add the path to .gitignore.\n"
            )
    else:
        sys.stdout.write(f"write its public key with: gatekeeper key export '{ref.uri}' -o FILE\n")
    return ExitCode.PASS


def cmd_key_export(args: argparse.Namespace) -> int:
    key = export_public_key(KeyRef(args.uri, args.passphrase_env))
    pem = public_key_pem(key)
    if args.output:
        write_output(args.output, pem, mode=0o644)
        sys.stderr.write(f"{args.output}: public key of {args.uri}; key id {key.keyid}\n")
    else:
        sys.stdout.write(pem.decode("ascii"))
        sys.stderr.write(f"public key of {args.uri}; key id {key.keyid}\n")
    return ExitCode.PASS


def cmd_policy_sign(args: argparse.Namespace) -> int:
    from gatekeeper.verify.policy_signature import read_key_files, sign_policy
    from gatekeeper.verify.sigstore import read_trusted_roots

    policy, data = load_policy(args.policy)  # never sign a policy that does not validate
    key_files = read_key_files(args.policy, policy)  # nor one whose key files do not load
    roots = read_trusted_roots(args.policy, policy)  # nor trusted roots
    signers = [load_signer(k) for k in signing_keys(args)]
    envelope = sign_policy(args.policy, data, policy, key_files, signers, roots)
    out = policy_signature_path(args.policy)
    write_output(out, envelope_bytes(envelope))
    files = [k.ref for k in key_files.values()] + [r.ref for r in roots.values() if r.ref]
    bound = ", ".join(sorted(files)) or "no key files"
    serial = f" serial {policy.serial}," if policy.serial is not None else ""
    sys.stdout.write(
        f"{out}: policy {policy.name},{serial} and {bound} signed by "
        f"{', '.join(s.keyid[:16] for s in signers)}\n"
    )
    return ExitCode.PASS


def cmd_policy_validate(args: argparse.Namespace) -> int:
    from gatekeeper.attest.keys import load_public_key
    from gatekeeper.verify.sigstore import read_trusted_roots

    policy, _ = load_policy(args.policy)
    for ref in policy.key_files().values():
        load_public_key(resolve_key_path(args.policy, ref))
    read_trusted_roots(args.policy, policy)
    serial = f", serial {policy.serial}" if policy.serial is not None else ""
    lines = [
        f"{args.policy}: policy {policy.name} is valid (expires {policy.expires:%Y-%m-%d}{serial})"
    ]
    for name, key in policy.identity_keys().items():
        lines.append(
            f"  key {name}: keyless {key.identity.describe()} under trusted root {key.trusted_root}"
        )
    for stage in policy.stages:
        extra = f", follows {stage.follows}" if stage.follows else ""
        req = f", requires {', '.join(stage.requires)}" if stage.requires else ""
        if stage.provenance is not None:
            matcher = stage.provenance
            builders = ", ".join(matcher.builder_ids) or "any builder"
            req += f", accepts provenance from {builders}"
            if matcher.source_repositories:
                req += f" of {', '.join(matcher.source_repositories)}"
            if matcher.source_refs:
                req += f" at {', '.join(matcher.source_refs)}"
            if matcher.workflow_paths:
                req += f" by {', '.join(matcher.workflow_paths)}"
            if matcher.must_match_commit:
                req += " (its recorded commit must be the one verified)"
        lines.append(
            f"  stage {stage.name}: {stage.threshold} of {', '.join(stage.signed_by)}{extra}{req}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return ExitCode.PASS
