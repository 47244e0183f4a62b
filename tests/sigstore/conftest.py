"""Fixtures for Sigstore bundles: the published bundles in data/ and a stand-in instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sigstore.standin import Instance

DATA = Path(__file__).parent / "data"

GITHUB = "https://token.actions.githubusercontent.com"
# The workflow that signed data/MODULE.bazel.intoto.jsonl (slsa-verifier's test data).
PUBLISHER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"
# The workflow that signed the same statement in data/MODULE-wrong-signer.bazel.intoto.jsonl.
MALICIOUS = (
    "https://github.com/loosebazooka/aa-test/.github/workflows/malicious_attestation.yaml"
    "@refs/heads/main"
)
RELEASE = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"


@pytest.fixture
def instance() -> Instance:
    return Instance()


def write_policy(
    root: Path,
    keys: dict[str, Any],
    *,
    stage: str = "publish",
    signed_by: list[str] | None = None,
    threshold: int = 1,
    trusted_roots: dict[str, str] | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """A policy with one stage that accepts SLSA provenance, signed by ``signed_by``."""
    data: dict[str, Any] = {
        "version": 1,
        "name": "keyless",
        "expires": "2099-01-01",
        "keys": keys,
        "stages": [
            {
                "name": stage,
                "signed_by": signed_by or sorted(keys),
                "threshold": threshold,
                "provenance": provenance if provenance is not None else {},
            }
        ],
    }
    if trusted_roots:
        data["trusted_roots"] = trusted_roots
    path = root / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def identity(subject: str, issuer: str = GITHUB, **extra: Any) -> dict[str, Any]:
    return {"identity": {"issuer": issuer, "subject": subject, **extra}}


def verdict_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = capsys.readouterr().out
    result: dict[str, Any] = json.loads(out)
    return result


def verify_json(policy: Path | str, store: Path | str, *rest: str) -> int:
    """``gatekeeper verify`` with a JSON report, no decision log, and ``rest`` (the artifact,
    ``--digest``, ``--bundle``, ...); the exit code."""
    from gatekeeper.cli import main

    return main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(store),
            "--no-log",
            "--format",
            "json",
            *rest,
        ]
    )
