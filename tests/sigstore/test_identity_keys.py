"""Keyless identities in the policy: validation, counting in thresholds, trusted roots, signing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper.attest.keys import generate_key
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.policy import parse_policy
from tests.sigstore.conftest import (
    GITHUB,
    RELEASE,
    identity,
    verdict_json,
    verify_json,
    write_policy,
)
from tests.sigstore.standin import Instance

DEPLOY = "https://github.com/acme/app/.github/workflows/deploy.yml@refs/tags/v1.2.0"
STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app.tar.gz", "digest": {"sha256": hashlib.sha256(b"app").hexdigest()}}
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://acme.example/make@v1"},
            "runDetails": {"builder": {"id": RELEASE}},
        },
    }
).encode()
DIGEST = f"sha256:{hashlib.sha256(b'app').hexdigest()}"


def _local(subject: str, **claims: Any) -> dict[str, Any]:
    return {**identity(subject, **claims), "trusted_root": "local"}


def _bundles(tmp_path: Path, instance: Instance, *workflows: str) -> list[str]:
    out = []
    for i, workflow in enumerate(workflows):
        token = instance.github_token(workflow.removeprefix("https://github.com/"))
        path = tmp_path / f"b{i}.sigstore.json"
        path.write_text(json.dumps(instance.bundle(STATEMENT, token)))
        out += ["--bundle", str(path)]
    return out


def _verify(tmp_path: Path, policy: Path, bundles: list[str]) -> int:
    return verify_json(str(policy), str(tmp_path / "s"), *bundles, "--digest", DIGEST)


@pytest.fixture
def root(tmp_path: Path, instance: Instance) -> dict[str, str]:
    (tmp_path / "root.json").write_text(json.dumps(instance.trusted_root()))
    return {"local": "root.json"}


def test_two_workflows_meet_a_threshold_of_two(
    tmp_path: Path, instance: Instance, root: dict[str, str]
) -> None:
    keys = {"release": _local(RELEASE), "deploy": _local(DEPLOY)}
    policy = write_policy(tmp_path, keys, threshold=2, trusted_roots=root)
    assert _verify(tmp_path, policy, _bundles(tmp_path, instance, RELEASE, DEPLOY)) == 0


def test_one_signer_named_twice_counts_once(
    tmp_path: Path, instance: Instance, root: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    broad = {
        "identity": {"issuer": GITHUB, "subject_regex": r"https://github\.com/acme/app/.*"},
        "trusted_root": "local",
    }
    policy = write_policy(
        tmp_path, {"release": _local(RELEASE), "acme": broad}, threshold=2, trusted_roots=root
    )
    assert _verify(tmp_path, policy, _bundles(tmp_path, instance, RELEASE)) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/threshold"
    assert reason["message"].startswith(
        "1 of the 2 distinct trusted keys required signed (acme, release)"
    )


def test_one_workflow_signing_twice_counts_once(
    tmp_path: Path, instance: Instance, root: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Two runs of the release workflow: two certificates, one identity.
    keys = {"release": _local(RELEASE), "deploy": _local(DEPLOY)}
    policy = write_policy(tmp_path, keys, threshold=2, trusted_roots=root)
    assert _verify(tmp_path, policy, _bundles(tmp_path, instance, RELEASE, RELEASE)) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/threshold"


def test_an_identity_not_trusted_for_the_stage(
    tmp_path: Path, instance: Instance, root: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {"release": _local(RELEASE), "deploy": _local(DEPLOY)}
    policy = write_policy(tmp_path, keys, signed_by=["release"], trusted_roots=root)
    assert _verify(tmp_path, policy, _bundles(tmp_path, instance, DEPLOY)) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/untrusted-key"
    assert (
        "signed only by deploy, which the policy does not trust for stage publish"
        in reason["message"]
    )


def test_a_pem_key_and_an_identity_in_one_policy(
    tmp_path: Path, instance: Instance, root: dict[str, str]
) -> None:
    generate_key(str(tmp_path / "ci"), "ed25519")
    keys = {"ci": "ci.pub", "release": _local(RELEASE)}
    policy = write_policy(tmp_path, keys, signed_by=["ci", "release"], trusted_roots=root)
    assert _verify(tmp_path, policy, _bundles(tmp_path, instance, RELEASE)) == 0


def _parse(data: dict[str, Any]) -> None:
    base = {
        "version": 1,
        "name": "p",
        "expires": "2099-01-01",
        "stages": [{"name": "s", "signed_by": ["k"]}],
    }
    parse_policy(yaml.safe_dump({**base, **data}).encode(), "policy.yaml")


@pytest.mark.parametrize(
    ("keys", "extra", "says"),
    [
        ({"k": {"identity": {"issuer": GITHUB}}}, {}, "exactly one of subject and subject_regex"),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject": "a", "subject_regex": "a"}}},
            {},
            "exactly one of subject and subject_regex",
        ),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject_regex": "("}}},
            {},
            "not a regular expression",
        ),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject": "a", "workflow": "x"}}},
            {},
            "unknown field",
        ),
        ({"k": {"identity": {"issuer": GITHUB, "subject": "a"}, "root": "x"}}, {}, "unknown field"),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject": "a", "runner_environment": "laptop"}}},
            {},
            "runner_environment",
        ),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject": "a"}, "trusted_root": "github"}},
            {},
            "unknown trusted root 'github'",
        ),
        (
            {"k": {"identity": {"issuer": GITHUB, "subject": "a"}}},
            {"trusted_roots": {"public-good": "r.json"}},
            "names the trusted root gatekeeper ships",
        ),
        ({"k": {"identity": {"subject": "a"}}}, {}, "issuer"),
    ],
)
def test_identity_keys_are_strict(keys: dict[str, Any], extra: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _parse({"keys": keys, **extra})
    assert says in caught.value.diagnostics()


def test_a_valid_identity_key_parses() -> None:
    _parse(
        {
            "keys": {
                "k": {
                    "identity": {
                        "issuer": GITHUB,
                        "subject": RELEASE,
                        "source_ref": "refs/tags/v1.2.0",
                        "runner_environment": "github-hosted",
                    }
                }
            }
        }
    )


def test_a_trusted_root_that_is_not_one_is_a_policy_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "root.json").write_text('{"mediaType": "something else"}')
    policy = write_policy(
        tmp_path, {"release": _local(RELEASE)}, trusted_roots={"local": "root.json"}
    )
    assert verify_json(str(policy), str(tmp_path / "s"), "--digest", DIGEST) == 2
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/policy-invalid"
    assert "not a Sigstore trusted root" in reason["message"]


def test_policy_validate_lists_keyless_keys(
    tmp_path: Path, root: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"release": _local(RELEASE)}, trusted_roots=root)
    assert main(["policy", "validate", str(policy)]) == 0
    out = capsys.readouterr().out
    assert f"key release: keyless {RELEASE} (issuer {GITHUB}) under trusted root local" in out


def test_a_signed_policy_binds_its_trusted_root(
    tmp_path: Path, instance: Instance, root: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    generate_key(str(tmp_path / "policy-key"), "ed25519")
    policy = write_policy(tmp_path, {"release": _local(RELEASE)}, trusted_roots=root)
    assert main(["policy", "sign", "--key", str(tmp_path / "policy-key"), str(policy)]) == 0
    assert "root.json" in capsys.readouterr().out
    bundles = _bundles(tmp_path, instance, RELEASE)
    args = [
        "verify",
        "--policy",
        str(policy),
        "--policy-key",
        str(tmp_path / "policy-key.pub"),
        "--store",
        str(tmp_path / "s"),
        "--no-log",
        "--format",
        "json",
        *bundles,
        "--digest",
        DIGEST,
    ]
    assert main(args) == 0
    capsys.readouterr()
    # An attacker who can write next to the policy swaps in a root of their own instance.
    rogue = Instance()
    (tmp_path / "root.json").write_text(json.dumps(rogue.trusted_root()))
    assert main(args) == 1
    reasons = verdict_json(capsys)["reasons"]
    unsigned = [r["message"] for r in reasons if r["code"] == "verify/policy-unsigned"]
    assert unsigned == [
        f"{tmp_path / 'root.json'} (trusted root local): the trusted root differs from the one "
        "signed with the policy (replaced after signing?)"
    ]
