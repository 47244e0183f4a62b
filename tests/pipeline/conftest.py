"""Fixtures for the pipeline family: write real CI files into a tree, collect, audit."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.pipeline import PipelineCollector
from gatekeeper.models.finding import Finding
from gatekeeper.models.pipeline import PipelineEvidence
from gatekeeper.models.policy import AuditsPolicy


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def collect(root: Path) -> PipelineEvidence:
    return PipelineCollector().collect(CollectContext(repo=root))


def audit(root: Path, policy: AuditsPolicy | None = None) -> list[Finding]:
    evidence = collect(root)
    ctx = AuditContext(policy=policy or AuditsPolicy(), repo=root, evidence={"pipeline": evidence})
    return run_audits({"pipeline": evidence}, ctx)


Scan = Callable[..., list[Finding]]


@pytest.fixture
def scan(tmp_path: Path) -> Scan:
    """scan({path: text}) -> findings of the pipeline audits over a plain directory."""
    counter = [0]

    def _scan(files: dict[str, str], policy: AuditsPolicy | None = None) -> list[Finding]:
        counter[0] += 1
        root = write_tree(tmp_path / f"tree{counter[0]}", files)
        return audit(root, policy)

    return _scan


def rules(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]
