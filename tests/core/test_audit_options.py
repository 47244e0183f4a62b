"""AuditOptions: one typed model for what check, pr-check and attest --audit pass on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gatekeeper.app import AuditOptions
from gatekeeper.cli import build_parser
from gatekeeper.commands.args import audit_options


def test_an_unknown_option_is_an_error_not_ignored() -> None:
    with pytest.raises(ValidationError, match="osv_dbb"):
        AuditOptions.model_validate({"osv_dbb": "osv/"})


def test_options_are_frozen() -> None:
    options = AuditOptions(osv_db=Path("osv"))
    with pytest.raises(ValidationError):
        options.osv_db = None  # type: ignore[misc]


def test_the_base_tree_is_never_audited_with_the_promoted_image() -> None:
    options = AuditOptions(image="oci:build/layout", osv_db=Path("osv"), osv_offline_ok=True)
    base = options.for_base_tree()
    assert base.image is None
    assert (base.osv_db, base.osv_offline_ok) == (Path("osv"), True)


def test_command_line_to_options() -> None:
    args = build_parser().parse_args(
        [
            "check",
            "--osv-db",
            "osv.zip",
            "--osv-api-url",
            "http://127.0.0.1:8080",
            "--osv-offline-ok",
            "--image",
            "docker-archive:image.tar",
            "--allowed-signers",
            ".github/allowed_signers",
        ]
    )
    assert audit_options(args) == AuditOptions(
        osv_db=Path("osv.zip"),
        osv_api_url="http://127.0.0.1:8080",
        osv_offline_ok=True,
        image="docker-archive:image.tar",
        allowed_signers=Path(".github/allowed_signers"),
    )
    assert audit_options(build_parser().parse_args(["check"])) == AuditOptions()
