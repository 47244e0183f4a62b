"""A small pipeline harness (fixture ``pipeline`` in conftest.py).

A git repo, real keys, a directory store, policies, attest and verify.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
import yaml

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer, write_keypair
from gatekeeper.attest.stage import AttestConfig, AttestResult, envelope_bytes, run_attest
from gatekeeper.attest.statement import build_statement, statement_bytes
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, Envelope
from gatekeeper.models.statement import StagePredicate
from gatekeeper.models.verdict import Verdict
from gatekeeper.store import IndexKeys, open_store
from gatekeeper.verify.evaluate import VerifyConfig, run_verify
from tests.conftest import commit_files


class Pipeline:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo_path = root / "repo"
        self.repo = git.Repo.init(self.repo_path, initial_branch="main")
        commit_files(
            self.repo, {"src/app.py": "print('hello')\n", "src/lib.py": "X = 1\n"}, "initial"
        )
        self.keys = root / "keys"
        for name, key_type in (("ci", "ed25519"), ("rm", "ecdsa-p256"), ("other", "ed25519")):
            write_keypair(self.keys / name, key_type)
        self.store = root / "store"
        self.policy_path = root / "policy.yaml"
        self.write_policy()

    def key(self, name: str) -> str:
        return str(self.keys / name)

    def policy_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "name": "release",
            "expires": "2099-01-01T00:00:00Z",
            "max_age": "7d",
            "keys": {"ci": "keys/ci.pub", "release-manager": "keys/rm.pub"},
            "stages": [
                {"name": "source", "signed_by": ["ci"]},
                {"name": "build", "signed_by": ["ci"], "follows": "source"},
                {
                    "name": "release",
                    "signed_by": ["ci", "release-manager"],
                    "threshold": 2,
                    "follows": "build",
                },
            ],
        }

    def write_two_stage_policy(self) -> Path:
        """The policy with its first two stages only: ``source``, then ``build`` following it."""
        return self.write_policy(stages=self.policy_dict()["stages"][:2])

    def write_policy(self, data: dict[str, Any] | None = None, **changes: Any) -> Path:
        policy = data if data is not None else self.policy_dict()
        policy.update(changes)
        self.policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
        return self.policy_path

    def attest(
        self, stage: str, keys: list[str] | None = None, run_id: str | None = None, **kwargs: Any
    ) -> AttestResult:
        return run_attest(
            AttestConfig(
                stage=stage,
                keys=[self.key(k) for k in (keys or ["ci"])],
                repo=self.repo_path,
                store=str(self.store),
                run_id=run_id,
                environ={},
                **kwargs,
            )
        )

    def build_artifact(self, content: str = "artifact-1.0") -> Path:
        dist = self.repo_path / "dist"
        dist.mkdir(exist_ok=True)
        artifact = dist / "app-1.0.tar.gz"
        artifact.write_text(content)
        return artifact

    def run_all(self, run_id: str | None = None) -> Path:
        self.attest("source", run_id=run_id, products=["src/**"])
        artifact = self.build_artifact()
        self.attest("build", run_id=run_id, materials=["src/**"], products=["dist/*"])
        self.attest(
            "release", keys=["ci", "rm"], run_id=run_id, materials=["dist/*"], products=["dist/*"]
        )
        return artifact

    def verify(self, *artifacts: str | Path, **kwargs: Any) -> Verdict:
        return run_verify(
            VerifyConfig(
                policy_path=self.policy_path,
                artifacts=[str(a) for a in artifacts],
                store=str(self.store),
                **kwargs,
            )
        )

    def store_predicate(self, predicate: StagePredicate, keys: list[str] | None = None) -> str:
        """Sign and store a hand-made predicate (for findings and crafted cases)."""
        statement = build_statement(predicate)
        envelope = sign_envelope(
            statement_bytes(statement),
            INTOTO_PAYLOAD_TYPE,
            [load_signer(self.key(k)) for k in (keys or ["ci"])],
        )
        return self.store_envelope(
            envelope,
            predicate.stage,
            statement.subject[0].digest["sha256"]
            if "sha256" in statement.subject[0].digest
            else None,
        )

    def store_envelope(
        self, envelope: Envelope | bytes, stage: str, subject_hex: str | None = None
    ) -> str:
        data = envelope if isinstance(envelope, bytes) else envelope_bytes(envelope)
        subjects = (f"sha256:{subject_hex}",) if subject_hex else ()
        return open_store(str(self.store)).put(data, IndexKeys(stage=stage, subjects=subjects))


def codes(verdict: Verdict) -> set[str]:
    return {r.code for r in verdict.reasons}


def now() -> datetime:
    return datetime.now(UTC)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
