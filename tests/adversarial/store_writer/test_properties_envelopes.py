"""Properties of statements, envelopes and the verifier under what a store writer can do
(hypothesis).

1. No input crashes: statement, DSSE and envelope parsing end in a value or a clean error.
2. No mutation turns a block into a pass. A mutated envelope may still pass only when the
   mutation is *semantically void*, defined precisely as: the mutated file is strict JSON
   whose envelope has the same payload type, the same decoded payload bytes and the same
   decoded signature bytes in the same order (key ids are hints and may change; base64
   spelling — standard or URL-safe, padded or not, surrounding whitespace — may change;
   JSON whitespace and escapes outside the values may change).
3. The same input always gives the same output.
"""

from __future__ import annotations

import base64
import binascii
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict
from gatekeeper.attest.dsse import b64decode_strict, verify_envelope_signatures
from gatekeeper.attest.keys import load_public_key
from gatekeeper.attest.statement import parse_attestation
from gatekeeper.errors import MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.verify.evaluate import VerifyConfig, run_verify
from tests.adversarial.conftest import stage_envelope
from tests.adversarial.mutation import VALID_POLICY, json_values
from tests.harness import Pipeline

# -- statements and envelopes -----------------------------------------------------------------

statement_like = st.fixed_dictionaries(
    {
        "_type": st.sampled_from(
            ["https://in-toto.io/Statement/v1", "link", "https://in-toto.io/Statement/v0.1", 7]
        )
    },
    optional={
        "subject": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=5)}, optional={"digest": json_values}),
            max_size=2,
        )
        | json_values,
        "predicateType": st.sampled_from(
            ["https://gatekeeper.dev/attestation/stage/v1", "https://slsa.dev/provenance/v1", "x"]
        )
        | json_values,
        "predicate": json_values
        | st.fixed_dictionaries(
            {
                "stage": st.text(max_size=4),
                "started_at": st.just("2026-01-01T00:00:00Z"),
                "finished_at": st.text(max_size=25),
            },
            optional={
                "materials": json_values,
                "products": json_values,
                "run": json_values,
                "exit_code": json_values,
                "findings": json_values,
                "buildDefinition": json_values,
            },
        ),
        "name": json_values,
        "materials": json_values,
        "products": json_values,
        "byproducts": json_values,
        "command": json_values,
    },
)


@given(statement_like | json_values)
def test_parse_attestation_only_raises_malformed(doc: Any) -> None:
    payload = json.dumps(doc).encode()
    for payload_type in (INTOTO_PAYLOAD_TYPE, "application/json"):
        try:
            record = parse_attestation(payload_type, payload, "build")
        except MalformedInput:
            continue
        assert record.stage
        assert record == parse_attestation(payload_type, payload, "build")


@given(st.binary(max_size=200))
def test_parse_attestation_random_bytes(payload: bytes) -> None:
    with pytest.raises(MalformedInput):
        parse_attestation(INTOTO_PAYLOAD_TYPE, payload, None)


b64ish = st.text(alphabet=string.ascii_letters + string.digits + "+/=-_ \n%", max_size=60)


@given(b64ish)
def test_b64decode_strict_only_raises_malformed(text: str) -> None:
    try:
        out = b64decode_strict(text, "x")
    except MalformedInput:
        return
    assert out == b64decode_strict(text, "x")
    normal = text.strip().replace("-", "+").replace("_", "/")
    assert out == base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)


@given(
    st.fixed_dictionaries(
        {
            "payload": b64ish,
            "payloadType": st.text(max_size=30),
            "signatures": st.lists(
                st.fixed_dictionaries({"sig": b64ish}, optional={"keyid": st.text(max_size=10)}),
                max_size=3,
            ),
        }
    )
)
def test_random_envelopes_never_verify(doc: dict[str, Any]) -> None:
    envelope = Envelope.model_validate(doc)
    try:
        _, checks = verify_envelope_signatures(envelope, {"ci": _CI_KEY[0]})
    except MalformedInput:
        return
    assert all(c.verified_by == () for c in checks)


_CI_KEY: list[Any] = []


@pytest.fixture(scope="module", autouse=True)
def _ci_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    from gatekeeper.attest.keys import write_keypair

    path = tmp_path_factory.mktemp("k") / "ci"
    write_keypair(path)
    _CI_KEY[:] = [load_public_key(f"{path}.pub")]


# -- the verifier under mutation ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, Path, dict[str, bytes]]:
    """A passing pipeline built once; tests mutate one file and restore it."""
    pipeline = Pipeline(tmp_path_factory.mktemp("chain"))
    artifact = pipeline.run_all(run_id="run-1")
    assert pipeline.verify(artifact).allowed
    originals = {
        stage: stage_envelope(pipeline, stage).read_bytes()
        for stage in ("source", "build", "release")
    }
    return pipeline, artifact, originals


def _semantics(data: bytes) -> tuple[str, bytes, tuple[bytes, ...]] | None:
    """The meaning of an envelope file (see the module docstring), or None if unreadable."""
    try:
        envelope = Envelope.model_validate(loads_json_strict(data))
        payload = b64decode_strict(envelope.payload, "payload")
        sigs = tuple(b64decode_strict(s.sig, "sig") for s in envelope.signatures)
    except (ValueError, ValidationError, MalformedInput, binascii.Error):
        return None
    return envelope.payload_type, payload, sigs


def _verdict_json(pipeline: Pipeline, artifact: Path) -> str:
    return run_verify(
        VerifyConfig(
            policy_path=pipeline.policy_path, artifacts=[str(artifact)], store=str(pipeline.store)
        )
    ).model_dump_json()


@given(stage=st.sampled_from(["source", "build", "release"]), data=st.data())
def test_no_byte_mutation_of_an_envelope_passes_unless_void(
    chain: tuple[Pipeline, Path, dict[str, bytes]], stage: str, data: st.DataObject
) -> None:
    pipeline, artifact, originals = chain
    original = originals[stage]
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    assume(bytes(mutated) != original)
    path = stage_envelope_path(pipeline, stage, original)
    path.write_bytes(bytes(mutated))
    try:
        verdict = run_verify(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            )
        )
        again = _verdict_json(pipeline, artifact)
    finally:
        path.write_bytes(original)
    assert verdict.model_dump_json() == again  # deterministic
    if verdict.allowed:
        assert _semantics(bytes(mutated)) == _semantics(original), "a non-void mutation passed"


@given(stage=st.sampled_from(["source", "build", "release"]), data=st.data())
def test_no_mutation_of_a_signed_payload_passes(
    chain: tuple[Pipeline, Path, dict[str, bytes]], stage: str, data: st.DataObject
) -> None:
    pipeline, artifact, originals = chain
    original = originals[stage]
    env = json.loads(original)
    payload = bytearray(base64.b64decode(env["payload"]))
    position = data.draw(st.integers(0, len(payload) - 1))
    payload[position] = data.draw(st.integers(0, 255).filter(lambda b: b != payload[position]))
    env["payload"] = base64.b64encode(bytes(payload)).decode()
    path = stage_envelope_path(pipeline, stage, original)
    path.write_text(json.dumps(env))
    try:
        verdict = run_verify(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            )
        )
    finally:
        path.write_bytes(original)
    # Blocked; the reason is bad-signature or malformed, or, when the byte hit the run id,
    # run-mismatch (the altered attestation no longer belongs to the run at all).
    assert verdict.verdict == "block"
    assert {r.code for r in verdict.reasons} & {
        "verify/bad-signature",
        "verify/malformed",
        "verify/run-mismatch",
        "verify/missing-stage",
        "verify/subject-mismatch",
    }


@given(position=st.integers(0, 11), value=st.integers(0, 255))
def test_no_mutation_of_the_product_passes(
    chain: tuple[Pipeline, Path, dict[str, bytes]], position: int, value: int
) -> None:
    pipeline, artifact, _ = chain
    original = artifact.read_bytes()
    mutated = bytearray(original)
    assume(mutated[position] != value)
    mutated[position] = value
    artifact.write_bytes(bytes(mutated))
    try:
        verdict = run_verify(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            )
        )
    finally:
        artifact.write_bytes(original)
    assert verdict.verdict == "block"
    assert {r.code for r in verdict.reasons} == {"verify/subject-mismatch"}


@given(data=st.data())
def test_a_blocked_chain_stays_blocked_under_mutation(
    chain: tuple[Pipeline, Path, dict[str, bytes]], data: st.DataObject
) -> None:
    """Start from a block (release carries only one of its two signatures) and mutate it."""
    pipeline, artifact, originals = chain
    original = originals["release"]
    env = json.loads(original)
    env["signatures"] = env["signatures"][:1]
    blocked = json.dumps(env, indent=1).encode()
    mutated = bytearray(blocked)
    position = data.draw(st.integers(0, len(mutated) - 1))
    mutated[position] = data.draw(st.integers(0, 255))
    path = stage_envelope_path(pipeline, "release", original)
    try:
        path.write_bytes(blocked)
        assert (
            run_verify(
                VerifyConfig(
                    policy_path=pipeline.policy_path,
                    artifacts=[str(artifact)],
                    store=str(pipeline.store),
                )
            ).verdict
            == "block"
        )
        path.write_bytes(bytes(mutated))
        verdict = run_verify(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            )
        )
    finally:
        path.write_bytes(original)
    assert verdict.verdict == "block"


@given(position=st.integers(0, len(VALID_POLICY) - 1), value=st.integers(0, 255))
def test_no_mutation_of_a_signed_policy_passes(
    chain: tuple[Pipeline, Path, dict[str, bytes]], policy_signed: Path, position: int, value: int
) -> None:
    pipeline, artifact, _ = chain
    original = pipeline.policy_path.read_bytes()
    mutated = bytearray(original)
    position %= len(mutated)
    assume(mutated[position] != value)
    mutated[position] = value
    pipeline.policy_path.write_bytes(bytes(mutated))
    try:
        verdict = run_verify(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
                policy_key=str(policy_signed),
            )
        )
    finally:
        pipeline.policy_path.write_bytes(original)
    assert verdict.verdict == "block"


@pytest.fixture(scope="module")
def policy_signed(chain: tuple[Pipeline, Path, dict[str, bytes]]) -> Path:
    """Sign the chain's policy with a policy key; return the public key path."""
    from gatekeeper.attest.keys import write_keypair
    from gatekeeper.cli import main

    pipeline, artifact, _ = chain
    key = pipeline.root / "policy-key"
    write_keypair(key)
    assert main(["policy", "sign", "--key", str(key), str(pipeline.policy_path)]) == 0
    pub = Path(f"{key}.pub")
    assert run_verify(
        VerifyConfig(
            policy_path=pipeline.policy_path,
            artifacts=[str(artifact)],
            store=str(pipeline.store),
            policy_key=str(pub),
        )
    ).allowed
    return pub


def stage_envelope_path(pipeline: Pipeline, stage: str, original: bytes) -> Path:
    import hashlib

    return pipeline.store / "envelopes" / f"{hashlib.sha256(original).hexdigest()}.json"


@given(
    st.lists(
        st.binary(max_size=120) | json_values.map(lambda v: json.dumps(v).encode()),
        min_size=1,
        max_size=4,
    )
)
def test_random_store_content_always_blocks(
    chain: tuple[Pipeline, Path, dict[str, bytes]], blobs: list[bytes]
) -> None:
    pipeline, artifact, _ = chain
    from gatekeeper.store import IndexKeys, open_store

    scratch = pipeline.root / "scratch-store"
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    store = open_store(str(scratch))
    digest = __import__("hashlib").sha256(artifact.read_bytes()).hexdigest()
    for i, blob in enumerate(blobs):
        store.put(
            blob,
            IndexKeys(stage=("source", "build", "release")[i % 3], subjects=(f"sha256:{digest}",)),
        )
    verdict = run_verify(
        VerifyConfig(
            policy_path=pipeline.policy_path, artifacts=[str(artifact)], store=str(scratch)
        )
    )
    assert verdict.verdict == "block"
    assert verdict.reasons
