"""A vulnerable lockfile blocks through `attest --audit` + `verify`, and a stage that requires
dependency evidence blocks when that evidence says the vulnerability audit did not run.

Real files in their real formats: a requirements.txt and a package-lock.json (v3) pinning
versions inside an OSV record's affected range, the OSV records written per the OSV schema
into a directory (the offline database), or served by a local stand-in for the OSV API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.models.statement import RunInfo, StagePredicate
from tests.attest._osv import DJANGO_ADVISORY, OsvApi, write_osv_db
from tests.conftest import commit_files
from tests.harness import Pipeline

LODASH_ADVISORY: dict[str, Any] = {
    "schema_version": "1.6.0",
    "id": "GHSA-test-lo17-0002",
    "modified": "2024-05-02T00:00:00Z",
    "aliases": ["CVE-2099-0002"],
    "summary": "Prototype pollution in zipObjectDeep",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            "database_specific": {"severity": "HIGH"},
        }
    ],
}


def package_lock(lodash: str) -> str:
    """An npm v3 lockfile with one dependency, as `npm install` writes it."""
    return json.dumps(
        {
            "name": "app",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {
                "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": lodash}},
                "node_modules/lodash": {
                    "version": lodash,
                    "resolved": f"https://registry.npmjs.org/lodash/-/lodash-{lodash}.tgz",
                    "integrity": "sha512-" + "A" * 86 + "==",
                    "license": "MIT",
                },
            },
        },
        indent=2,
    )


@pytest.fixture(autouse=True)
def _osv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def gate(pipeline: Pipeline) -> Pipeline:
    """One stage, `scan`, which must carry dependency evidence; findings at high block."""
    data = pipeline.policy_dict()
    data["stages"] = [{"name": "scan", "signed_by": ["ci"], "requires": ["deps"]}]
    data["audits"] = {"block_at": "high"}
    pipeline.write_policy(data)
    return pipeline


@pytest.fixture
def osv_db(tmp_path: Path) -> Path:
    return write_osv_db(tmp_path / "osv", [DJANGO_ADVISORY, LODASH_ADVISORY])


def _lockfiles(gate: Pipeline, django: str, lodash: str | None = None) -> Path:
    files = {"requirements.txt": f"django=={django}\n"}
    if lodash is not None:
        files["package.json"] = json.dumps({"name": "app", "dependencies": {"lodash": lodash}})
        files["package-lock.json"] = package_lock(lodash)
    commit_files(gate.repo, files, "dependencies")
    return gate.build_artifact()


def _attest(gate: Pipeline, *options: str) -> int:
    return main(
        [
            "attest",
            "--stage",
            "scan",
            "--key",
            gate.key("ci"),
            "--store",
            str(gate.store),
            "--repo",
            str(gate.repo_path),
            "--product",
            "dist/*",
            "--audit",
            *options,
        ]
    )


def _verify(gate: Pipeline, artifact: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--policy",
            str(gate.policy_path),
            "--store",
            str(gate.store),
            "--format",
            "json",
            "--no-log",
            str(artifact),
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_vulnerable_lockfiles_block_through_attest_and_verify(
    gate: Pipeline, osv_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _lockfiles(gate, django="4.2.0", lodash="4.17.20")
    assert _attest(gate, "--osv-db", str(osv_db)) == 0
    code, report = _verify(gate, artifact, capsys)
    assert code == 1 and report["verdict"] == "block"
    reasons = {(r["code"], r["message"].split(":")[0]) for r in report["reasons"]}
    assert reasons == {
        ("verify/audit-failed", "critical deps/known-vulnerability at requirements.txt"),
        ("verify/audit-failed", "high deps/known-vulnerability at package-lock.json"),
    }
    messages = " ".join(r["message"] for r in report["reasons"])
    assert DJANGO_ADVISORY["id"] in messages and LODASH_ADVISORY["id"] in messages


def test_fixed_versions_pass(
    gate: Pipeline, osv_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _lockfiles(gate, django="4.2.1", lodash="4.17.21")
    assert _attest(gate, "--osv-db", str(osv_db)) == 0
    code, report = _verify(gate, artifact, capsys)
    assert (code, report["verdict"], report["reasons"]) == (0, "pass", [])


def test_the_osv_api_blocks_the_same_way(
    gate: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    api = OsvApi({("PyPI", "django", "4.2.0"): [DJANGO_ADVISORY]})
    try:
        artifact = _lockfiles(gate, django="4.2.0")
        assert _attest(gate, "--osv-api", "--osv-api-url", api.url) == 0
    finally:
        api.close()
    code, report = _verify(gate, artifact, capsys)
    assert code == 1
    assert [r["code"] for r in report["reasons"]] == ["verify/audit-failed"]
    assert "deps/known-vulnerability" in report["reasons"][0]["message"]


def test_dependency_evidence_without_a_vulnerability_source_is_missing(
    gate: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _lockfiles(gate, django="4.2.0")
    assert _attest(gate) == 0  # no --osv-db, no --osv-api: the vulnerability audit cannot run
    code, report = _verify(gate, artifact, capsys)
    assert code == 1
    [reason] = report["reasons"]
    assert reason["code"] == "verify/audit-missing" and reason["stage"] == "scan"
    assert "without a vulnerability source" in reason["message"]
    assert "deps/known-vulnerability did not run" in reason["message"]


def test_an_unreachable_api_is_named_when_the_audit_did_not_run(
    gate: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    api = OsvApi()
    dead = api.url
    api.close()
    artifact = _lockfiles(gate, django="4.2.0")
    assert _attest(gate, "--osv-api-url", dead, "--osv-offline-ok") == 0
    code, report = _verify(gate, artifact, capsys)
    assert code == 1
    [reason] = report["reasons"]
    assert reason["code"] == "verify/audit-missing"
    assert "OSV API not consulted" in reason["message"]


def test_nothing_to_match_is_complete_evidence(
    gate: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # No package at one exact version: no vulnerability source could have matched anything,
    # so the evidence is complete without one (a false block is a defect too).
    artifact = gate.build_artifact()
    assert _attest(gate) == 0
    code, report = _verify(gate, artifact, capsys)
    assert (code, report["reasons"]) == (0, [])


def test_a_stage_that_does_not_require_deps_is_not_asked_for_a_source(
    gate: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    data = gate.policy_dict()
    data["stages"] = [{"name": "scan", "signed_by": ["ci"], "requires": ["secrets"]}]
    gate.write_policy(data)
    artifact = _lockfiles(gate, django="4.2.0")
    assert _attest(gate) == 0
    code, report = _verify(gate, artifact, capsys)
    assert (code, report["reasons"]) == (0, [])


@pytest.mark.parametrize(
    "deps",
    [
        "not an object",
        {"osv": None},
        {"tree": {"packages": "none"}},
        {"tree": {"packages": [{"name": "django", "version": "4.2.0"}]}},  # no "osv" at all
    ],
)
def test_unreadable_dependency_evidence_is_missing(
    gate: Pipeline, deps: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = gate.build_artifact()
    now = datetime.now(UTC)
    from gatekeeper._digest import sha256_file
    from gatekeeper.models.statement import Artifact

    product = Artifact(name="dist/app-1.0.tar.gz", digest={"sha256": sha256_file(artifact)})
    gate.store_predicate(
        StagePredicate(
            stage="scan",
            started_at=now,
            finished_at=now,
            products=[product],
            run=RunInfo(),
            audited=["deps"],
            evidence={"deps": deps},
        )
    )
    code, report = _verify(gate, artifact, capsys)
    assert code == 1
    assert [r["code"] for r in report["reasons"]] == ["verify/audit-missing"]
