"""Near-misses seen in real files: what well-run repositories do must not be reported as
their problems (or only at low, saying what is missing)."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.container import ContainerCollector
from gatekeeper.models.finding import Severity
from gatekeeper.models.policy import AuditsPolicy
from tests.pipeline.conftest import Scan, rules, write_tree

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
WF = ".github/workflows/ci.yml"


def test_dry_run_publish_lookup_only_cache_and_one_publisher_per_job(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{}}
        jobs:
          check:
            runs-on: ubuntu-latest
            steps:
              - uses: Swatinem/rust-cache@{SHA}
              - run: cargo publish --dry-run
          lookup:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/cache@{SHA}
                with: {{path: x, key: k, lookup-only: true}}
              - run: cargo publish
          lint:
            runs-on: ubuntu-latest
            steps:
              - uses: Swatinem/rust-cache@{SHA}
              - run: cargo clippy
        """
        }
    )
    assert rules(findings, "pipeline/cache-poisoning") == []


def test_workflow_write_all_overridden_by_every_job(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: write-all
        jobs:
          a:
            runs-on: ubuntu-latest
            permissions: {contents: read}
            steps: [{run: make}]
          b:
            runs-on: ubuntu-latest
            permissions: {}
            steps: [{run: make}]
        """
        }
    )
    assert rules(findings, "pipeline/excessive-permissions") == []


def test_workflow_level_write_scope_for_a_single_job_is_low(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: schedule
        permissions:
          issues: write
        jobs:
          lock:
            runs-on: ubuntu-latest
            steps: [{run: make}]
        """
        }
    )
    (hit,) = rules(findings, "pipeline/excessive-permissions")
    assert hit.severity == Severity.LOW and "only job lock inherits it" in hit.message


def test_persisted_credentials_when_only_dist_is_uploaded(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
              - run: python -m build
              - uses: actions/upload-artifact@{SHA}
                with: {{name: dist, path: dist/}}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/persisted-credentials")
    assert hit.severity == Severity.LOW and "no step uploads the workspace" in hit.message


def test_minio_service_credentials_are_throwaway(scan: Scan) -> None:
    findings = scan(
        {
            WF: """
        on: push
        permissions: {}
        jobs:
          test:
            runs-on: ubuntu-latest
            services:
              minio:
                image: minio/minio@sha256:0000000000000000000000000000000000000000000000000000000000000000
                env:
                  MINIO_ROOT_USER: minioadmin
                  MINIO_ROOT_PASSWORD: Xk29sLq7vRt4
            env:
              MINIO_SECRET_KEY: Xk29sLq7vRt4
              API_TOKEN: Zq8vN3kLp9Xw2Rt7Yb4M
            steps: [{run: make test}]
        """
        }
    )
    hits = {f.line: f.severity for f in rules(findings, "pipeline/hardcoded-credentials")}
    assert hits == {11: Severity.LOW, 13: Severity.LOW, 14: Severity.HIGH}


def test_root_user_inherited_from_a_base_image_is_low_and_unknown(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM gcr.io/distroless/static:nonroot\nCOPY app /app\n",
            "scratch/Dockerfile": 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n',
            "multi/Dockerfile": "FROM python:3.12 AS build\nUSER app\nFROM build\nCOPY . .\n",
        },
    )
    evidence = ContainerCollector().collect(CollectContext(repo=root))
    ctx = AuditContext(policy=AuditsPolicy(), repo=root)
    findings = run_audits({"container": evidence}, ctx)
    by_path = {f.path: f for f in rules(findings, "container/root-user")}
    assert by_path["Dockerfile"].severity == Severity.LOW
    message = by_path["Dockerfile"].message
    assert "runs as its base image's user" in message
    assert "gcr.io/distroless/static:nonroot" in message
    assert by_path["scratch/Dockerfile"].severity == Severity.HIGH
    assert "multi/Dockerfile" not in by_path


def test_secrets_inherited_by_this_repositorys_own_workflow_are_low(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{}}
        jobs:
          own:
            uses: $/.github/workflows/build.yml
            secrets: inherit
          other:
            uses: org/shared/.github/workflows/build.yml@{SHA}
            secrets: inherit
        """,
            ".github/workflows/build.yml": "on: workflow_call\njobs:\n  b:\n"
            "    runs-on: ubuntu-latest\n    steps: [{run: make}]\n",
        }
    )
    hits = {f.line: f.severity for f in rules(findings, "pipeline/secrets-inherit")}
    assert hits == {6: Severity.LOW, 9: Severity.MEDIUM}


def test_a_cache_switched_off_in_the_run_that_publishes(scan: Scan) -> None:
    findings = scan(
        {
            WF: f"""
        on:
          push:
            branches: [main]
            tags: ["v*"]
          pull_request:
        permissions: {{}}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: astral-sh/setup-uv@v6
                with:
                  enable-cache: ${{{{ !startsWith(github.ref, 'refs/tags/') }}}}
              - run: uv build
              - uses: actions/upload-artifact@{SHA}
                with: {{name: dist, path: dist}}
          release:
            needs: build
            if: startsWith(github.ref, 'refs/tags/')
            runs-on: ubuntu-latest
            steps:
              - uses: actions/download-artifact@{SHA}
                with: {{name: dist}}
              - run: uv publish
        """
        }
    )
    assert rules(findings, "pipeline/cache-poisoning") == []


def test_findings_in_an_unused_test_fixture_action_are_low(scan: Scan) -> None:
    fixture = """
        name: vulnerable on purpose
        runs:
          using: composite
          steps:
            - run: echo hi
              shell: bash
              env:
                ACTIONS_ALLOW_UNSECURE_COMMANDS: true
        """
    findings = scan(
        {
            "tests/data/insecure/action.yml": fixture,
            "tests/data/broken/action.yml": "runs: [\n",
            ".github/actions/used/action.yml": fixture,
            WF: """
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: ./.github/actions/used
        """,
        }
    )
    by_path = {
        f.path: f
        for f in findings
        if f.rule in ("pipeline/insecure-commands", "pipeline/parse-error")
    }
    assert by_path["tests/data/insecure/action.yml"].severity == Severity.LOW
    assert "test fixture under `tests/`" in by_path["tests/data/insecure/action.yml"].message
    assert by_path["tests/data/broken/action.yml"].severity == Severity.LOW
    assert by_path[".github/actions/used/action.yml"].severity == Severity.HIGH


def _upload(scan: Scan, path: str) -> str | None:
    findings = scan(
        {
            WF: f"""
        on: push
        permissions: {{contents: read}}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@{SHA}
              - uses: actions/upload-artifact@{SHA}
                with: {{name: out, path: "{path}"}}
        """
        }
    )
    (hit,) = rules(findings, "pipeline/persisted-credentials")
    return hit.message


LINUX_WORK, MACOS_WORK = "/home/runner/work", "/Users/runner/work"  # $RUNNER_WORKSPACE's parent


def test_a_hosted_runners_workspace_by_absolute_path_is_the_workspace(scan: Scan) -> None:
    for path in (f"{LINUX_WORK}/app/app", f"{MACOS_WORK}/app/app/", LINUX_WORK):
        message = _upload(scan, path)
        assert message is not None and f"uploads `{path}`" in message, path


def test_a_directory_below_the_checkout_is_not_the_workspace(scan: Scan) -> None:
    message = _upload(scan, f"{LINUX_WORK}/app/app/dist")
    assert message is not None and "no step uploads the workspace" in message
