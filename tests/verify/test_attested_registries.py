"""The verifier's `allowed_registries` applies to attested container evidence (only the
verifier's policy counts), with real Dockerfiles audited by `attest --audit`."""

from __future__ import annotations

import base64
import json
from typing import Any

from gatekeeper.models.policy import Policy
from gatekeeper.store import open_store
from tests.conftest import commit_files
from tests.harness import Pipeline, codes

DIGEST = "a" * 64


def _scan_stage(pipeline: Pipeline, base: str, **audits: Any) -> None:
    commit_files(
        pipeline.repo,
        {"Dockerfile": f'FROM {base}@sha256:{DIGEST}\nUSER 1000\nCMD ["app"]\n'},
        "add a Dockerfile",
    )
    data = pipeline.policy_dict()
    data["stages"] = [{"name": "scan", "signed_by": ["ci"], "requires": ["container"]}]
    if audits:
        data["audits"] = audits
    pipeline.write_policy(data)


def _attest(pipeline: Pipeline, attester_policy: Policy | None = None) -> None:
    pipeline.build_artifact()
    pipeline.attest(
        "scan",
        products=["dist/*"],
        audit=True,
        kinds=["container"],
        policy=attester_policy,
    )


def test_a_base_image_outside_the_verifiers_registries_blocks(pipeline: Pipeline) -> None:
    _scan_stage(pipeline, "registry.evil.invalid/library/python:3.12")
    _attest(pipeline)  # the attester's policy lists no registries: no finding was recorded
    artifact = pipeline.repo_path / "dist" / "app-1.0.tar.gz"
    assert pipeline.verify(artifact).allowed
    pipeline.write_policy(
        {
            **pipeline.policy_dict(),
            "stages": [{"name": "scan", "signed_by": ["ci"], "requires": ["container"]}],
            "audits": {"allowed_registries": ["ghcr.io/acme"]},
        }
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/audit-failed"}
    assert "container/untrusted-registry" in verdict.reasons[0].message
    assert "registry.evil.invalid" in verdict.reasons[0].message


def test_a_base_image_from_an_allowed_registry_passes(pipeline: Pipeline) -> None:
    _scan_stage(pipeline, "ghcr.io/acme/python:3.12", allowed_registries=["ghcr.io/acme"])
    _attest(pipeline)
    assert pipeline.verify(pipeline.repo_path / "dist" / "app-1.0.tar.gz").allowed


def test_the_attesters_registry_list_does_not_decide(pipeline: Pipeline) -> None:
    # The attester was stricter than the verifier: its finding is set aside, the verifier's
    # policy (any registry) decides.
    _scan_stage(pipeline, "docker.io/library/python:3.12")
    strict = Policy.model_validate(
        {
            "version": 1,
            "name": "attester",
            "expires": "2099-01-01T00:00:00Z",
            "audits": {"allowed_registries": ["ghcr.io/acme"]},
        }
    )
    _attest(pipeline, strict)
    (stored,) = open_store(str(pipeline.store)).by_stage("scan")
    envelope = json.loads(stored.data)
    findings = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["findings"]
    assert [f["rule"] for f in findings] == ["container/untrusted-registry"]
    artifact = pipeline.repo_path / "dist" / "app-1.0.tar.gz"
    assert pipeline.verify(artifact).allowed
