"""Properties of the core formats and the verifier (hypothesis).

1. No input crashes: every parser ends in a value or its documented clean error.
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
import yaml
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from gatekeeper._fileio import load_yaml, load_yaml_all, loads_json_strict
from gatekeeper._glob import compile_glob, match_path, static_prefix
from gatekeeper.attest.dsse import b64decode_strict, verify_envelope_signatures
from gatekeeper.attest.keys import load_public_key
from gatekeeper.attest.statement import parse_attestation
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.models.policy import Policy
from gatekeeper.policy import parse_policy
from gatekeeper.verify.evaluate import VerifyConfig, run_verify
from tests.adversarial.conftest import stage_envelope
from tests.harness import Pipeline

# -- strategies --------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
yaml_words = st.sampled_from(
    [
        "a",
        "b",
        "- ",
        ": ",
        "&x ",
        "*x",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\n",
        "  ",
        "'",
        '"',
        "!!str ",
        "!!python/object ",
        "<<: ",
        "? ",
        "|",
        ">",
        "#",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "\t",
        "\x00",
        "é",
    ]
)
yaml_texts = st.lists(yaml_words, max_size=40).map("".join) | st.text(max_size=200)


# -- loads_json_strict ------------------------------------------------------------------------


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
@example(b'{"a": 1, "a": 2}')
@example(b"[" * 5000)
@example(b'{"x": NaN}')
def test_loads_json_strict_only_raises_value_error(data: bytes) -> None:
    try:
        first = loads_json_strict(data)
    except ValueError:
        with pytest.raises(ValueError):
            loads_json_strict(data)
        return
    assert loads_json_strict(data) == first  # deterministic
    assert json.loads(data) == first  # a stricter parser never disagrees when both accept


@given(json_values)
def test_loads_json_strict_accepts_every_standard_document(value: Any) -> None:
    text = json.dumps(value)
    assert loads_json_strict(text) == value
    assert loads_json_strict(text.encode()) == value


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), json_scalars, min_size=1, max_size=5),
    st.data(),
)
def test_loads_json_strict_rejects_any_duplicate_key(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(obj)))
    body = json.dumps(obj)
    crafted = body[:-1] + f", {json.dumps(key)}: {json.dumps(obj[key])}}}"
    with pytest.raises(ValueError, match="duplicate key"):
        loads_json_strict(crafted)


# -- load_yaml ---------------------------------------------------------------------------------


@given(yaml_texts)
@example("a: &a [*a]")
@example("[" * 300)
@example("!!python/object/apply:os.system ['touch /tmp/gk-yaml-pwned']")
def test_load_yaml_only_raises_yaml_error(text: str) -> None:
    for loader in (load_yaml, lambda t: load_yaml(t, strict_keys=True), load_yaml_all):
        try:
            first = loader(text)
        except yaml.YAMLError:
            continue
        assert loader(text) == first
    assert not Path("/tmp/gk-yaml-pwned").exists()  # noqa: S108 - proving nothing ran


@given(json_values)
def test_load_yaml_reads_every_json_document(value: Any) -> None:
    # JSON is (almost) YAML: keys that are not YAML-ambiguous load back as they were.
    text = json.dumps(value, ensure_ascii=True)
    try:
        loaded = load_yaml(text)
    except yaml.YAMLError:
        return  # e.g. nesting over the cap, or YAML 1.1 quirks in keys: refused, not crashed
    assert loaded == value or isinstance(loaded, (dict, list, str, int, float, bool, type(None)))


# -- globs -------------------------------------------------------------------------------------

path_chars = st.sampled_from([*"ab/.*?[]!-\\", "é", "\n", " "])
glob_patterns = st.lists(path_chars, max_size=16).map("".join)
paths = st.lists(
    st.sampled_from(["a", "b", "ab", ".x", "é", " ", "[", "*"]), min_size=1, max_size=5
).map("/".join)


@given(glob_patterns, paths)
@example("[z-a]", "a")
@example("[", "[")
@example("a/[!]", "a/b")
def test_glob_never_raises_and_is_deterministic(pattern: str, path: str) -> None:
    first = match_path(pattern, path)
    assert match_path(pattern, path) is first
    assert isinstance(static_prefix(pattern), str)


@given(paths)
def test_glob_literal_matches_itself_and_star_stays_in_a_segment(path: str) -> None:
    assume(path == path.strip())  # NOTE: patterns are stripped (documented in docs/limits.md)
    literal = "".join(f"[{c}]" if c in "*?[]" else c for c in path)
    assert match_path(literal, path)
    assert match_path("**", path)
    assert match_path("*", path) == ("/" not in path)
    assert match_path("?", path) == (len(path) == 1 and path != "/")
    assert not match_path("[!x]", "/")  # a class never matches a separator


@given(paths, paths)
def test_glob_dir_pattern_covers_only_its_subtree(prefix: str, rest: str) -> None:
    assume(prefix == prefix.strip())
    pattern = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix) + "/**"
    assert match_path(pattern, f"{prefix}/{rest}")
    assume(not f"{rest}/".startswith(f"{prefix}/"))
    assert not match_path(pattern, rest)


def test_compile_glob_cache_returns_the_same_pattern() -> None:
    assert compile_glob("src/**") is compile_glob("src/**")


# -- policies ---------------------------------------------------------------------------------

VALID_POLICY = (
    b"version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
    b"keys:\n  ci: keys/ci.pub\n  release-manager: keys/rm.pub\n"
    b"stages:\n  - name: source\n    signed_by: [ci]\n"
    b"  - name: build\n    signed_by: [ci]\n    follows: source\n"
    b"  - name: release\n    signed_by: [ci, release-manager]\n    threshold: 2\n"
    b"    follows: build\n"
    b"audits:\n  block_at: high\n  rules:\n    deps/new-dependency: off\n"
    b"exceptions:\n  - rule: secrets/generic-assignment\n    path: tests/**\n"
    b"    reason: fixtures\n    expires: 2098-01-31\n"
)


def _parse_or_invalid(data: bytes) -> Policy | str:
    try:
        return parse_policy(data, "p.yaml")
    except InvalidInput as exc:
        return f"invalid: {exc}"


@given(st.binary(max_size=400) | yaml_texts.map(str.encode))
def test_parse_policy_never_crashes(data: bytes) -> None:
    first = _parse_or_invalid(data)
    assert _parse_or_invalid(data) == first


@given(st.integers(0, len(VALID_POLICY) - 1), st.integers(0, 255))
def test_mutated_policy_parses_or_is_invalid(position: int, value: int) -> None:
    mutated = bytearray(VALID_POLICY)
    mutated[position] = value
    result = _parse_or_invalid(bytes(mutated))
    assert result == _parse_or_invalid(bytes(mutated))
    if isinstance(result, Policy):
        # Whatever parsed is internally consistent: thresholds reachable, keys known.
        for stage in result.stages:
            assert 1 <= stage.threshold <= len(stage.signed_by)
            assert set(stage.signed_by) <= set(result.keys)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "name",
                "expires",
                "max_age",
                "keys",
                "stages",
                "audits",
                "exceptions",
                "extra",
                "Stages",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_random_policy_documents_never_crash(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc).encode()
    assert _parse_or_invalid(text) == _parse_or_invalid(text)


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


escape_soup = st.lists(
    st.sampled_from(
        [
            '"',
            "\\ud800",
            "\\udfff",
            "\\ud83d\\ude00",
            "\\\\",
            "a",
            "\\u00e9",
            "[",
            "]",
            "{",
            "}",
            ":",
            ",",
            " ",
            "\\n",
        ]
    ),
    max_size=20,
).map("".join)


@given(
    escape_soup | escape_soup.map(lambda s: f'["{s}"]') | escape_soup.map(lambda s: f'{{"{s}": 1}}')
)
def test_strict_json_output_is_always_writable_utf8(text: str) -> None:
    """Whatever loads_json_strict accepts can be written back as UTF-8 (no lone surrogates)."""
    from gatekeeper._fileio import dumps_json

    try:
        value = loads_json_strict(text)
    except ValueError:
        return
    dumps_json(value).encode("utf-8")
