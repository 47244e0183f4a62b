"""A release signed by a key on a PKCS#11 token and a key in AWS KMS, verified 2-of-2.

The three stages run through the CLI as a pipeline would: keys made on the token with
`gatekeeper keygen`, public keys written with `gatekeeper key export`, stages signed with
`attest --key hsm:... --key awskms:...`, and `verify` against a policy whose release stage
needs both keys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from gatekeeper.cli import main
from gatekeeper.store import IndexKeys, open_store
from tests.attest.signers.conftest import HsmKey, kms_key
from tests.conftest import commit_files


def _policy(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "release",
                "expires": "2099-01-01T00:00:00Z",
                "keys": {"token": "keys/token.pub", "kms": "keys/kms.pub"},
                "stages": [
                    {"name": "source", "signed_by": ["token"]},
                    {"name": "build", "signed_by": ["kms"], "follows": "source"},
                    {
                        "name": "release",
                        "signed_by": ["token", "kms"],
                        "threshold": 2,
                        "follows": "build",
                    },
                ],
            },
            sort_keys=False,
        )
    )
    return path


def _attest(repo: Path, store: Path, stage: str, keys: list[str], *globs: str) -> None:
    argv = ["attest", "--stage", stage, "--repo", str(repo), "--store", str(store)]
    argv += ["--run-id", "run-7", *keys, *globs]
    assert main(argv) == 0


@pytest.fixture
def chain(tmp_path: Path, hsm_key: HsmKey, kms: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    repo_path = tmp_path / "repo"
    repo = git.Repo.init(repo_path, initial_branch="main")
    commit_files(repo, {"src/app.py": "print('release')\n"}, "initial")
    kms_uri = f"awskms:{kms_key(kms)}"
    keys = tmp_path / "keys"
    assert main(["key", "export", hsm_key.uri, "-o", str(keys / "token.pub")]) == 0
    assert main(["key", "export", kms_uri, "-o", str(keys / "kms.pub")]) == 0
    token = ["--key", hsm_key.uri, "--passphrase-env", "HSM_PIN"]
    store = tmp_path / "store"
    _attest(repo_path, store, "source", token, "--product", "src/**")
    (repo_path / "dist").mkdir()
    artifact = repo_path / "dist" / "app-1.0.tar.gz"
    artifact.write_bytes(b"the release\n")
    _attest(
        repo_path,
        store,
        "build",
        ["--key", kms_uri],
        "--material",
        "src/**",
        "--product",
        "dist/*",
    )
    _attest(
        repo_path,
        store,
        "release",
        [*token, "--key", kms_uri],
        "--material",
        "dist/*",
        "--product",
        "dist/*",
    )
    capsys.readouterr()
    return _policy(tmp_path / "policy.yaml"), store, artifact


def _verify(policy: Path, store: Path, artifact: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    code = main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(store),
            "--no-log",
            "--format",
            "json",
            str(artifact),
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_token_and_kms_keys_sign_a_release_that_verifies_two_of_two(
    chain: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    policy, store, artifact = chain
    code, report = _verify(policy, store, artifact, capsys)
    assert code == 0, report
    assert report["verdict"] == "pass"
    release = json.loads(open_store(str(store)).by_stage("release")[0].data)
    assert len(release["signatures"]) == 2


@pytest.mark.parametrize("dropped", [0, 1])
def test_removing_either_release_signature_blocks_on_the_threshold(
    chain: Any, tmp_path: Path, dropped: int, capsys: pytest.CaptureFixture[str]
) -> None:
    policy, store, artifact = chain
    source = open_store(str(store))
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    stripped = open_store(str(tmp_path / f"stripped-{dropped}"))
    for stage in ("source", "build"):
        for stored in source.by_stage(stage):
            subjects = (f"sha256:{digest}",) if stage == "build" else ()
            stripped.put(stored.data, IndexKeys(stage=stage, subjects=subjects))
    release = json.loads(source.by_stage("release")[0].data)
    del release["signatures"][dropped]
    stripped.put(
        json.dumps(release).encode(), IndexKeys(stage="release", subjects=(f"sha256:{digest}",))
    )
    code, report = _verify(policy, tmp_path / f"stripped-{dropped}", artifact, capsys)
    assert code == 1
    assert report["verdict"] == "block"
    assert [r["code"] for r in report["reasons"]] == ["verify/threshold"]
    assert "1 of the 2 distinct trusted keys" in report["reasons"][0]["message"]
