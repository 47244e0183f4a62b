"""Rule records: who a rule is, written once, next to the audit that emits it.

A ``Rule`` carries everything a report or a document says about a rule id: its default
severity, the one-line "fires when" summary, the longer help (why it matters and how to
fix it) and the anchor of its section in docs/rules.md (``gatekeeper.report.links`` makes
the link). Each audit class lists its records
in a ``RuleSet`` and builds its findings from them, so the id and the default severity are
written in one place::

    UNPINNED = Rule(
        "pipeline/unpinned-action",
        Severity.MEDIUM,
        summary="a `uses:` of an action is not pinned to a full commit sha",
        help="Whoever controls the action's repository decides what runs. Pin the sha.",
    )

    class GithubSupplyChain:
        rules: ClassVar[RuleSet] = RuleSet(UNPINNED)

        def run(self, evidence, ctx):
            yield UNPINNED.finding("`someone/action@main` is not pinned", path=wf.path)

SARIF, JUnit and docs/rules.md read the records (``gatekeeper.audit.all_rule_records``);
no renderer keeps its own table of rule text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gatekeeper.models.finding import Finding, Severity

RULE_ID = re.compile(r"^[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """One rule id and what every report and document says about it.

    ``summary`` completes "fires when …" (lower case, no final period). ``help`` is full
    sentences: why the finding matters and how to fix it. ``default_label`` replaces the
    severity in the catalogue's default column when findings carry their own severity
    (``deps/known-vulnerability``: "advisory").
    """

    id: str
    severity: Severity
    summary: str
    help: str
    anchor: str = field(default="")
    default_label: str = field(default="")

    def __post_init__(self) -> None:
        if not self.anchor:
            object.__setattr__(self, "anchor", self.id.replace("/", "-"))

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def default_text(self) -> str:
        return self.default_label or self.severity.value

    def finding(
        self,
        message: str,
        *,
        severity: Severity | None = None,
        path: str | None = None,
        line: int | None = None,
        key: str = "",
    ) -> Finding:
        """A finding of this rule, at its default severity unless context says otherwise."""
        return Finding.make(
            self.id, severity or self.severity, message, path=path, line=line, key=key
        )


class RuleSet(Mapping[str, Severity]):
    """The rules one audit owns: reads as ``{rule id: default severity}``, keeps the records."""

    def __init__(self, *rules: Rule) -> None:
        self._rules = {rule.id: rule for rule in rules}
        if len(self._rules) != len(rules):
            raise ValueError("a rule id is listed twice")

    def __getitem__(self, rule_id: str) -> Severity:
        return self._rules[rule_id].severity

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"RuleSet({', '.join(self._rules)})"

    @property
    def records(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    def record(self, rule_id: str) -> Rule:
        return self._rules[rule_id]


__all__ = ["RULE_ID", "Rule", "RuleSet"]
