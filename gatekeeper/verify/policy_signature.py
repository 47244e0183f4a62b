"""Signed policies: the policy's bytes and every key file it names, bound in one signature.

A policy trusts keys by naming their files (``keys: {ci: keys/ci.pub}``). Signing the
policy text alone would let whoever can replace ``keys/ci.pub`` keep the signature valid
and have their own attestations trusted. ``gatekeeper policy sign`` therefore signs an
in-toto Statement v1 whose subjects are the policy file and every key file it names, each
with the sha256 of its exact bytes (``POLICY.sig``, a DSSE envelope). ``verify
--policy-key`` checks the signature, then that the policy and each key file are the bytes
that were signed; the keys it trusts are parsed from the very bytes it hashed.

Signatures made before key files were bound (payload type
``application/vnd.gatekeeper.policy+yaml``, the policy text only) are refused with a
message saying to sign the policy again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from securesystemslib.signer import SSlibKey

from gatekeeper._fileio import dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import MAX_KEY_BYTES, LoadedSigner, parse_public_key
from gatekeeper.errors import GatekeeperError, InvalidInput, MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, POLICY_PAYLOAD_TYPE, Envelope
from gatekeeper.models.policy import Policy
from gatekeeper.models.statement import STATEMENT_TYPE, Statement, Subject
from gatekeeper.policy.load import policy_signature_path, resolve_key_path
from gatekeeper.verify.sigstore import RootFile

POLICY_SIGNATURE_TYPE = "https://gatekeeper.dev/policy-signature/v2"
MAX_SIGNATURE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class KeyFile:
    """A key file a policy names: its exact bytes, their digest, and the key parsed from them."""

    name: str  # the policy's name for the key
    ref: str  # the path as written in the policy
    path: Path
    sha256: str
    key: SSlibKey


def read_key_files(policy_path: str | Path, policy: Policy) -> dict[str, KeyFile]:
    """Every key file the policy names, read once: the key is parsed from the bytes hashed.

    Raises:
        InvalidInput: a key file is unreadable, too large, or not a public key; or one key is
            declared twice with different schemes.
    """
    out: dict[str, KeyFile] = {}
    for name, ref in policy.key_files().items():
        path = resolve_key_path(policy_path, ref)
        data = read_bounded(path, MAX_KEY_BYTES)
        out[name] = KeyFile(
            name=name,
            ref=ref,
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            key=parse_public_key(data, str(path)),
        )
    # SECURITY: a key id covers the declared scheme, so one key declared twice (PSS and
    # PKCS#1 v1.5) would have two ids and count twice toward a threshold.
    by_material: dict[str, str] = {}
    for name, key_file in out.items():
        material = str(key_file.key.keyval["public"])
        other = by_material.setdefault(material, name)
        if other != name and out[other].key.keyid != key_file.key.keyid:
            raise InvalidInput(
                f"keys {other} and {name} are one key declared with two schemes "
                f"({out[other].key.scheme}, {key_file.key.scheme}); declare it once"
            )
    return out


def _subject_name(policy_path: str | Path) -> str:
    return Path(policy_path).name


def _bound_roots(roots: dict[str, RootFile] | None) -> list[RootFile]:
    """The trusted root files a policy names (the built-in root ships with gatekeeper)."""
    return [r for r in (roots or {}).values() if r.ref]


def binding_statement(
    policy_path: str | Path,
    policy_bytes: bytes,
    policy: Policy,
    keys: dict[str, KeyFile],
    roots: dict[str, RootFile] | None = None,
) -> bytes:
    """The payload ``policy sign`` signs: the policy, its key files and its trusted root
    files, each by sha256.

    Raises:
        InvalidInput: a key or root file is named like the policy file.
    """
    policy_name = _subject_name(policy_path)
    subjects = {policy_name: hashlib.sha256(policy_bytes).hexdigest()}
    files = [(k.ref, k.path, k.sha256) for k in keys.values()]
    files += [(r.ref, r.path, r.sha256) for r in _bound_roots(roots)]
    for ref, path, sha256 in files:
        if ref == policy_name:
            raise InvalidInput(f"{path}: a key file cannot be named like the policy itself")
        subjects[ref] = sha256
    bound_roots = {r.name: r.ref for r in _bound_roots(roots)}
    statement = Statement.model_validate(
        {
            "_type": STATEMENT_TYPE,
            "subject": [
                Subject(name=name, digest={"sha256": digest})
                for name, digest in sorted(subjects.items())
            ],
            "predicateType": POLICY_SIGNATURE_TYPE,
            "predicate": {
                "policy": policy_name,
                "name": policy.name,
                "serial": policy.serial,
                "keys": {k.name: k.ref for k in keys.values()},
                # SECURITY: a replaced trusted root would trust another CA and log.
                **({"trusted_roots": bound_roots} if bound_roots else {}),
            },
        }
    )
    data = statement.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumps_json(data, indent=None).encode("utf-8")


def sign_policy(
    policy_path: str | Path,
    policy_bytes: bytes,
    policy: Policy,
    keys: dict[str, KeyFile],
    signers: Sequence[LoadedSigner],
    roots: dict[str, RootFile] | None = None,
) -> Envelope:
    """The DSSE envelope binding the policy, its key and root files. Raises SigningError."""
    payload = binding_statement(policy_path, policy_bytes, policy, keys, roots)
    return sign_envelope(payload, INTOTO_PAYLOAD_TYPE, signers)


def _read_signature(sig_path: Path) -> Envelope:
    """Raises InvalidInput / ValueError / ValidationError."""
    return Envelope.model_validate(loads_json_strict(read_bounded(sig_path, MAX_SIGNATURE_BYTES)))


def _signed_subjects(payload: bytes, sig_path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """(subject name -> sha256, predicate) of a verified binding payload. Raises MalformedInput."""
    try:
        statement = Statement.model_validate(loads_json_strict(payload))
    except (ValueError, ValidationError) as exc:
        raise MalformedInput(f"{sig_path}: the signed payload is not an in-toto Statement") from exc
    if statement.predicate_type != POLICY_SIGNATURE_TYPE:
        raise MalformedInput(
            f"{sig_path}: the signed statement is a {statement.predicate_type!r}, "
            "not a policy signature"
        )
    subjects: dict[str, str] = {}
    for subject in statement.subject:
        digest = subject.digest.get("sha256")
        if digest is None or subject.name in subjects:
            raise MalformedInput(f"{sig_path}: subject {subject.name!r} has no single sha256")
        subjects[subject.name] = digest
    return subjects, statement.predicate


def policy_signature_problem(
    policy_path: Path,
    policy_bytes: bytes,
    keys: dict[str, KeyFile],
    policy_key: SSlibKey,
    roots: dict[str, RootFile] | None = None,
) -> str | None:
    """Why the policy at ``policy_path`` is not signed by ``policy_key``; None when it is.

    Signed means: ``POLICY.sig`` verifies under the policy key, and binds the policy's exact
    bytes and the exact bytes of every key file the policy names.
    """
    sig_path = policy_signature_path(policy_path)
    try:
        envelope = _read_signature(sig_path)
        payload, checks = verify_envelope_signatures(envelope, {"policy-key": policy_key})
    except (InvalidInput, MalformedInput, ValueError, ValidationError) as exc:
        detail = exc.diagnostics() if isinstance(exc, GatekeeperError) else str(exc)
        return f"{sig_path}: no valid policy signature ({detail.splitlines()[0]})"
    if not any(c.verified_by for c in checks):
        return f"{sig_path}: the policy signature does not verify under the policy key"
    if envelope.payload_type == POLICY_PAYLOAD_TYPE:
        return (
            f"{sig_path}: signed in the old format, which covers the policy text but not the "
            "key files it names; sign the policy again with `gatekeeper policy sign` so the "
            "signature binds its keys"
        )
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        return f"{sig_path}: payload type {envelope.payload_type!r} is not a policy signature"
    try:
        subjects, predicate = _signed_subjects(payload, sig_path)
    except MalformedInput as exc:
        return str(exc)
    signed_policy = predicate.get("policy")
    if (
        not isinstance(signed_policy, str)
        or subjects.get(signed_policy) != hashlib.sha256(policy_bytes).hexdigest()
    ):
        return f"{policy_path}: the policy differs from the one that was signed"
    for key in keys.values():
        signed = subjects.get(key.ref)
        if signed is None:
            return f"{key.path} (key {key.name}): the signature does not bind this key file"
        if signed != key.sha256:
            return (
                f"{key.path} (key {key.name}): the key file differs from the one signed with "
                "the policy (replaced after signing?)"
            )
    for root in _bound_roots(roots):
        signed = subjects.get(root.ref)
        if signed is None:
            return (
                f"{root.path} (trusted root {root.name}): the signature does not bind this "
                "trusted root; sign the policy again with `gatekeeper policy sign`"
            )
        if signed != root.sha256:
            return (
                f"{root.path} (trusted root {root.name}): the trusted root differs from the one "
                "signed with the policy (replaced after signing?)"
            )
    return None
