"""Envelope timestamps without a time zone, or on days that do not exist, are malformed
statements (a reason, exit 1), never an internal error of the verifier (exit 3)."""

from __future__ import annotations

import json

import pytest

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.cli import main
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from tests.harness import Pipeline, codes


def _replace_release(pipeline: Pipeline, **times: str) -> None:
    """Re-sign the stored release attestation with its times rewritten (trusted keys)."""
    import base64

    for path in (pipeline.store / "envelopes").iterdir():
        envelope = json.loads(path.read_text())
        statement = json.loads(base64.b64decode(envelope["payload"]))
        if statement["predicate"]["stage"] != "release":
            continue
        statement["predicate"].update(times)
        signed = sign_envelope(
            json.dumps(statement).encode(),
            INTOTO_PAYLOAD_TYPE,
            [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))],
        )
        path.unlink()
        digest = statement["subject"][0]["digest"]["sha256"]
        pipeline.store_envelope(signed, "release", digest)


@pytest.mark.parametrize(
    "finished",
    ["2030-01-01T00:00:00", "2024-02-30T00:00:00Z"],
    ids=["no-time-zone", "no-such-day"],
)
def test_bad_timestamp_is_malformed_not_internal(
    pipeline: Pipeline, finished: str, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    _replace_release(pipeline, finished_at=finished, started_at=finished)
    verdict = pipeline.verify(artifact)
    assert "verify/malformed" in codes(verdict)
    assert "verify/internal-error" not in codes(verdict)
    malformed = [r.message for r in verdict.reasons if r.code == "verify/malformed"]
    assert any("_at" in m for m in malformed)
    code = main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--no-log",
            "--format",
            "json",
            str(artifact),
        ]
    )
    assert code == 1
    reasons = json.loads(capsys.readouterr().out)["reasons"]
    assert "verify/malformed" in {r["code"] for r in reasons}


def test_provenance_finished_without_time_zone_is_malformed(pipeline: Pipeline) -> None:
    import hashlib

    data = pipeline.policy_dict()
    data.pop("max_age")
    data["stages"] = [{"name": "build", "signed_by": ["ci"], "provenance": {}}]
    pipeline.write_policy(data)
    artifact = pipeline.build_artifact()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app", "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}}
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.invalid/make"},
            "runDetails": {"metadata": {"finishedOn": "2030-01-01T00:00:00"}},
        },
    }
    signed = sign_envelope(
        json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))]
    )
    pipeline.store_envelope(signed, "predicate:https://slsa.dev/provenance/v1")
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/internal-error" not in codes(verdict)
    assert any("finishedOn has no time zone" in r.message for r in verdict.reasons)
