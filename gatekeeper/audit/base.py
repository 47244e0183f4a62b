"""What every audit is: rules over one kind of evidence, yielding findings.

An audit class owns one or more rules, declared as ``Rule`` records in its ``rules``
(``gatekeeper.audit.rule``), and reads one kind of evidence. It yields findings at the
rule's default severity unless context says otherwise (the message then says why); the
policy's overrides, exceptions and baseline are applied afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from gatekeeper.audit.rule import RuleSet
from gatekeeper.models.finding import Finding
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import AuditsPolicy


@dataclass(frozen=True)
class AuditContext:
    policy: AuditsPolicy = field(default_factory=AuditsPolicy)
    repo: Path | None = None
    base: str | None = None
    staged: bool = False  # the evidence is of the index (``check --staged``), not the work tree
    # All evidence collected in this run (kind -> model), for audits that need a second kind.
    evidence: dict[str, Any] = field(default_factory=dict)
    options: AuditOptions = field(default_factory=AuditOptions)


class Audit(Protocol):
    evidence_kind: ClassVar[str]  # the collector kind this audit reads
    rules: ClassVar[RuleSet]  # its rule records; reads as rule id -> default severity
    summary: ClassVar[str]

    def run(self, evidence: Any, ctx: AuditContext) -> Iterator[Finding]: ...
