"""Caps against a flooded store: signatures per envelope, envelopes per lookup and per artifact,
bytes read in total; and a payload no trusted key signed is never parsed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.cli import main
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope, Signature
from gatekeeper.verify import evaluate
from tests.harness import Pipeline, codes

ROOT = Path(__file__).resolve().parents[2]


def _release_envelope(pipeline: Pipeline) -> Path:
    for path in (pipeline.store / "envelopes").iterdir():
        payload = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
        if payload["predicate"]["stage"] == "release":
            return path
    raise AssertionError("no release envelope")


def test_an_envelope_with_thousands_of_signatures_is_refused_unread(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    path = _release_envelope(pipeline)
    genuine = Envelope.model_validate_json(path.read_text())
    junk = [
        Signature(keyid=f"{i:064x}", sig=base64.b64encode(os.urandom(64)).decode())
        for i in range(20_000)
    ]
    flooded = genuine.model_copy(update={"signatures": [*genuine.signatures, *junk]})
    path.unlink()
    pipeline.store_envelope(flooded, "release")
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/limit-exceeded"}
    assert "20002 signatures, more than the 32" in verdict.reasons[0].message


def test_import_refuses_an_envelope_with_too_many_signatures(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.run_all()
    genuine = Envelope.model_validate_json(_release_envelope(pipeline).read_text())
    extra = [genuine.signatures[0]] * 40
    path = tmp_path / "many.json"
    path.write_bytes(envelope_bytes(genuine.model_copy(update={"signatures": extra})))
    assert main(["import", str(path), "--store", str(tmp_path / "other")]) == 2
    assert "more than the 32" in capsys.readouterr().err


def test_a_payload_no_trusted_key_signed_is_never_parsed(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    path = _release_envelope(pipeline)
    path.unlink()
    # Signed by a key the policy does not trust, over a payload that is not even JSON.
    crafted = sign_envelope(b"{not json", INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("other"))])
    pipeline.store_envelope(crafted, "release")
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/untrusted-key"}  # judged by its signatures alone


_MEASURE = r"""
import resource, sys
from gatekeeper.cli import main
code = main(["verify", "--policy", sys.argv[1], "--store", sys.argv[2], "--no-log",
             "--format", "json", "--output", sys.argv[4], sys.argv[3]])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _unsigned_envelope(payload: bytes) -> bytes:
    envelope = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": INTOTO_PAYLOAD_TYPE,
        "signatures": [],
    }
    return json.dumps(envelope).encode()


def _verify_peak_mb(pipeline: Pipeline, artifact: Path, report: Path) -> tuple[int, int]:
    """Exit code and peak RSS (MB) of one `verify` in a fresh interpreter."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            str(pipeline.policy_path),
            str(pipeline.store),
            str(artifact),
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    code, peak_mb = (int(x) for x in out.stdout.split()[-2:])
    return code, peak_mb


def test_an_unsigned_28mb_envelope_does_not_amplify(pipeline: Pipeline, tmp_path: Path) -> None:
    artifact = pipeline.run_all()
    path = _release_envelope(pipeline)
    path.unlink()
    # The same verify with a tiny unsigned envelope: the interpreter, the imports and the
    # allocator of this environment, measured rather than assumed.
    pipeline.store_envelope(_unsigned_envelope(b"[]"), "release")
    _, baseline_mb = _verify_peak_mb(pipeline, artifact, tmp_path / "baseline.json")
    # 21 MB of tiny JSON objects (28 MB in base64): parsed, several hundred MB of objects.
    envelope = _unsigned_envelope(b"[" + b",".join([b'{"a":1}'] * 2_600_000) + b"]")
    pipeline.store_envelope(envelope, "release")
    code, peak_mb = _verify_peak_mb(pipeline, artifact, tmp_path / "report.json")
    assert code == 1
    reasons = json.loads((tmp_path / "report.json").read_text())["reasons"]
    assert {r["code"] for r in reasons} == {"verify/unsigned"}
    # Reading and decoding costs a few copies of the envelope; parsing its payload cost
    # over 20 (600+ MB above the baseline). Allow 12 copies.
    growth_mb = peak_mb - baseline_mb
    assert growth_mb < 12 * len(envelope) // 2**20, f"peak RSS grew {growth_mb} MB"


def test_too_many_envelopes_under_one_stage_is_a_limit(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = pipeline.run_all()
    # Flooded within the artifact's own run: what a verify of this artifact must read.
    for _ in range(3):
        pipeline.attest("source", products=["src/**"])
    monkeypatch.setattr("gatekeeper.store.base.MAX_LOOKUP_ENVELOPES", 3)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/limit-exceeded"}
    assert "4 envelopes indexed under stage source, more than the 3" in verdict.reasons[0].message
    code = main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--no-log",
            str(artifact),
        ]
    )
    assert code == 1  # a block with the cap named, not an internal error


def test_bytes_read_in_total_are_capped(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = pipeline.run_all()
    total = sum(p.stat().st_size for p in (pipeline.store / "envelopes").iterdir())
    monkeypatch.setattr("gatekeeper.store.base.MAX_READ_BYTES", total - 1)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/limit-exceeded"}
    assert f"more than {total - 1} bytes" in verdict.reasons[0].message
    monkeypatch.setattr("gatekeeper.store.base.MAX_READ_BYTES", total)
    assert pipeline.verify(artifact).allowed


def test_chains_tried_per_artifact_are_capped(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = pipeline.run_all(run_id="good")
    # Newer release attestations of the same artifact from runs that have no other stage.
    for run in ("r1", "r2", "r3"):
        pipeline.attest(
            "release", keys=["ci", "rm"], run_id=run, materials=["dist/*"], products=["dist/*"]
        )
    assert pipeline.verify(artifact).allowed  # the fourth, older chain passes
    monkeypatch.setattr(evaluate, "MAX_CHAINS_PER_SUBJECT", 2)
    verdict = pipeline.verify(artifact)
    assert "verify/limit-exceeded" in codes(verdict)
    assert "the newest 2 were tried" in " ".join(r.message for r in verdict.reasons)
