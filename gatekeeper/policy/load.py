"""Loading, defaulting and signing policy files.

A signed policy is the YAML file plus a detached DSSE envelope (``POLICY.sig``) whose
payload is the policy's exact bytes. ``verify --policy-key PUB`` checks that envelope
before the policy is trusted.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gatekeeper._fileio import read_bounded
from gatekeeper._yaml import load_yaml
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import Policy

MAX_POLICY_BYTES = 4 * 1024 * 1024
_Strict = TypeVar("_Strict", bound=BaseModel)


def default_policy() -> Policy:
    """The bundled default: no required stages, blocks findings at `high` and above."""
    return Policy.model_validate(
        {"version": 1, "name": "default", "expires": datetime(2099, 12, 31, tzinfo=UTC)}
    )


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (a typo must not weaken a gate)"
        parts.append(f"{loc}: {msg}")
    more = len(exc.errors()) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_strict_document(
    data: bytes, source: str, model: type[_Strict], what: str, mapping: str
) -> _Strict:
    """One of gatekeeper's own YAML files (a policy, ``.gatekeeper.yaml``), read strictly:
    duplicate keys refused, a mapping at the top, unknown fields an error.

    Raises:
        InvalidInput: not YAML, not UTF-8, not a mapping (``mapping`` says so), or not a
            valid ``what`` (names the file and the first errors).
    """
    try:
        raw = load_yaml(data, strict_keys=True)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source}: not UTF-8 text") from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"{source}: {mapping}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{source}: invalid {what}: {format_validation_error(exc)}") from exc


def parse_policy(data: bytes, source: str) -> Policy:
    """Parse policy bytes.

    Raises:
        InvalidInput: not YAML, not a mapping, or not a valid policy (names the file).
    """
    return parse_strict_document(data, source, Policy, "policy", "a policy must be a YAML mapping")


def load_policy(path: str | Path) -> tuple[Policy, bytes]:
    """Read and validate a policy file; returns the model and the exact bytes read.

    Raises:
        InvalidInput: unreadable or invalid.
    """
    data = read_bounded(path, MAX_POLICY_BYTES)
    return parse_policy(data, str(path)), data


def load_policy_or_default(path: str | Path | None) -> Policy:
    """The policy file at ``path``, or the bundled default when no path is given.

    Raises:
        InvalidInput: the file is unreadable or invalid.
    """
    return load_policy(path)[0] if path else default_policy()


def resolve_key_path(policy_path: str | Path, key_ref: str) -> Path:
    """Key paths in a policy are relative to the policy file.

    Raises:
        InvalidInput: nothing is there; the message says where it looked, and why there.
    """
    ref = Path(key_ref)
    path = ref if ref.is_absolute() else Path(policy_path).parent / ref
    if not os.path.lexists(path):
        if ref.is_absolute():
            raise InvalidInput(f"{path}: no such key file (named in {policy_path})")
        folder = Path(policy_path).parent.as_posix()
        folder = "" if folder == "." else f" ({folder}/)"
        raise InvalidInput(
            f"{path}: no such key file; key paths in a policy are relative to the policy "
            f"file's directory{folder}, so `{key_ref}` in {policy_path} names {path}"
        )
    return path


def policy_signature_path(policy_path: str | Path) -> Path:
    return Path(f"{policy_path}.sig")


def policy_payload(envelope_payload_b64: str) -> bytes:
    return base64.b64decode(envelope_payload_b64, validate=True)
