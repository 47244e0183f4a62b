"""Verdicts to render: built from real models, the way check and verify build them."""

from __future__ import annotations

import pytest

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Reason, Verdict


def finding(
    rule: str,
    severity: Severity,
    message: str,
    path: str | None = None,
    line: int | None = None,
    status: str | None = None,
    key: str = "",
) -> Finding:
    made = Finding.make(rule, severity, message, path=path, line=line, key=key or message)
    return made.model_copy(update={"status": status}) if status else made


@pytest.fixture
def check_verdict() -> Verdict:
    findings = [
        finding(
            "secrets/github-token",
            Severity.CRITICAL,
            "GitHub token ghp_…(40 chars)",
            "config/app.env",
            3,
        ),
        finding(
            "pipeline/unpinned-action",
            Severity.MEDIUM,
            "actions/checkout@v4 is not pinned",
            ".github/workflows/ci.yml",
            12,
        ),
        finding("source/history-rewrite", Severity.HIGH, "the base is not an ancestor of HEAD"),
        finding(
            "secrets/generic-assignment",
            Severity.HIGH,
            "password = 'hunt…(12 chars)'",
            "tests/fixtures/conf.py",
            7,
            status="excepted",
        ),
        finding(
            "deps/downgrade",
            Severity.HIGH,
            "requests 2.31.0 -> 2.20.0",
            "requirements.txt",
            1,
            status="existing",
        ),
    ]
    findings.sort(key=Finding.sort_key)
    return Verdict(
        command="check",
        verdict="block",
        findings=findings,
        block_at=Severity.HIGH,
        policy="release",
        kinds=["source"],
        notes=["OSV API not consulted (offline)"],
    )


@pytest.fixture
def pass_verdict() -> Verdict:
    return Verdict(
        command="check",
        verdict="pass",
        findings=[],
        block_at=Severity.HIGH,
        policy="default",
        kinds=["source"],
    )


@pytest.fixture
def verify_block() -> Verdict:
    return Verdict(
        command="verify",
        verdict="block",
        policy="release",
        subjects=["dist/app.tar.gz"],
        reasons=[
            Reason(
                code="verify/missing-stage", stage="scan", message="no attestation for stage scan"
            ),
            Reason(code="verify/threshold", stage="release", message="1 of 2 trusted keys signed"),
        ],
    )


@pytest.fixture
def verify_pass() -> Verdict:
    return Verdict(command="verify", verdict="pass", policy="release", subjects=["dist/app.tar.gz"])
