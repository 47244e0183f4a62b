"""Crafted envelopes and payloads in the store: deep JSON, invalid UTF-8, a 2 GB envelope.

Whatever the store holds, even bytes signed by trusted keys, verify ends in a block with a
reason (``verify/malformed``), never an internal error or a whole 2 GB read.
"""

from __future__ import annotations

import json

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from tests.adversarial.conftest import stage_envelope
from tests.adversarial.crafted import deep_json, max_rss_kib, sparse
from tests.harness import Pipeline, codes


def test_deep_json_envelope_is_malformed_not_internal(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    stage_envelope(pipeline, "release").write_bytes(deep_json())
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "verify/internal-error" not in codes(verdict)


def test_deep_json_payload_signed_by_trusted_keys_is_malformed(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    env = sign_envelope(
        deep_json(),
        INTOTO_PAYLOAD_TYPE,
        [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))],
    )
    stage_envelope(pipeline, "release").write_bytes(envelope_bytes(env))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "nested too deeply" in " ".join(r.message for r in verdict.reasons)


def test_invalid_utf8_payload_signed_by_trusted_keys_is_malformed(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    genuine = envelope_bytes(
        sign_envelope(b"{}", INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))])
    )
    del genuine
    path = stage_envelope(pipeline, "release")
    payload = json.loads(path.read_bytes())["payload"]
    import base64

    raw = base64.b64decode(payload).replace(b'"stage":"release"', b'"stage":"rel\xffase"')
    env = sign_envelope(
        raw, INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))]
    )
    path.write_bytes(envelope_bytes(env))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)


def test_2gb_envelope_in_the_store_is_not_read_whole(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    sparse(stage_envelope(pipeline, "release"))
    code, rss, err = max_rss_kib(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--format",
            "json",
            str(artifact),
        ]
    )
    assert code in (1, 3), err  # a block either way
    assert rss < 400 * 1024, f"peak RSS {rss} KiB"
