"""Policy serials: the decision log remembers them, and an older policy put back blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from gatekeeper.verify import VerifyConfig, VerifyRequest, verify_artifacts
from gatekeeper.verify.log import verify_lines
from tests.harness import Pipeline, codes


def _policy(pipeline: Pipeline, serial: int | None, **changes: Any) -> bytes:
    data = pipeline.policy_dict()
    if serial is not None:
        data["serial"] = serial
    data.update(changes)
    pipeline.write_policy(data)
    return pipeline.policy_path.read_bytes()


def _sign(pipeline: Pipeline) -> str:
    if not (pipeline.keys / "policy").exists():
        write_keypair(pipeline.keys / "policy")
    assert main(["policy", "sign", "--key", pipeline.key("policy"), str(pipeline.policy_path)]) == 0
    return str(pipeline.keys / "policy.pub")


def _verify(pipeline: Pipeline, artifact: Path, policy_key: str | None = None) -> Any:
    """A verify as the command runs it: evaluated, then logged in the store."""
    return verify_artifacts(
        VerifyRequest(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
                policy_key=policy_key,
            )
        )
    ).verdict


def _log(pipeline: Pipeline) -> list[dict[str, Any]]:
    lines = (pipeline.store / "log" / "decisions.jsonl").read_bytes().splitlines()
    return [json.loads(line) for line in lines]


def test_an_older_signed_policy_put_back_blocks(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    old_policy = _policy(pipeline, 1, max_age="30d")  # the weaker, older policy
    policy_key = _sign(pipeline)
    old_signature = Path(f"{pipeline.policy_path}.sig").read_bytes()
    assert _verify(pipeline, artifact, policy_key).allowed

    _policy(pipeline, 2)
    _sign(pipeline)
    assert _verify(pipeline, artifact, policy_key).allowed
    assert _log(pipeline)[-1]["policies"]["release"]["serial"] == 2

    # Whoever can write the repository restores the old policy and its valid signature.
    pipeline.policy_path.write_bytes(old_policy)
    Path(f"{pipeline.policy_path}.sig").write_bytes(old_signature)
    verdict = _verify(pipeline, artifact, policy_key)
    assert codes(verdict) == {"verify/policy-rollback"}
    assert "serial 1" in verdict.reasons[0].message and "serial 2" in verdict.reasons[0].message
    # The block did not lower what the gate remembers, and the log still verifies.
    assert _log(pipeline)[-1]["policies"]["release"]["serial"] == 2
    lines = (pipeline.store / "log" / "decisions.jsonl").read_bytes().splitlines()
    assert verify_lines(lines).ok


def test_same_serial_with_other_content_blocks(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    _policy(pipeline, 3)
    assert _verify(pipeline, artifact).allowed
    _policy(pipeline, 3, max_age="365d")
    verdict = _verify(pipeline, artifact)
    assert codes(verdict) == {"verify/policy-rollback"}
    assert "new, higher serial" in verdict.reasons[0].message
    _policy(pipeline, 4, max_age="365d")
    assert _verify(pipeline, artifact).allowed


def test_policy_without_serial_after_one_was_accepted_blocks(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    assert _verify(pipeline, artifact).allowed  # no serial yet: nothing to remember
    assert "policies" not in _log(pipeline)[-1]
    _policy(pipeline, 1)
    assert _verify(pipeline, artifact).allowed
    _policy(pipeline, None)
    assert codes(_verify(pipeline, artifact)) == {"verify/policy-rollback"}


def test_a_policy_that_is_not_accepted_does_not_raise_the_serial(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    _policy(pipeline, 1)
    policy_key = _sign(pipeline)
    assert _verify(pipeline, artifact, policy_key).allowed
    # An unsigned policy claiming a high serial is refused, and remembered as nothing.
    _policy(pipeline, 999)
    assert codes(_verify(pipeline, artifact, policy_key)) == {"verify/policy-unsigned"}
    assert _log(pipeline)[-1]["policies"]["release"]["serial"] == 1
    _policy(pipeline, 1)
    assert _verify(pipeline, artifact, policy_key).allowed


def test_serials_are_remembered_per_policy_name(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    _policy(pipeline, 5)
    assert _verify(pipeline, artifact).allowed
    _policy(pipeline, 1, name="staging")
    assert _verify(pipeline, artifact).allowed
    marks = _log(pipeline)[-1]["policies"]
    assert {name: mark["serial"] for name, mark in marks.items()} == {"release": 5, "staging": 1}


def test_serial_is_checked_with_no_log_too(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    _policy(pipeline, 2)
    assert _verify(pipeline, artifact).allowed
    _policy(pipeline, 1)
    outcome = verify_artifacts(
        VerifyRequest(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            ),
            log=False,
        )
    )
    assert codes(outcome.verdict) == {"verify/policy-rollback"}
    assert outcome.exit_code == 1
