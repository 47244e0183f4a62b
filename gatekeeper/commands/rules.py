"""`gatekeeper rules`: each rule's documentation, where the report's links cannot reach.

The sections printed are those of docs/rules.md (``report.catalogue``): what fires the rule,
its default severity, why it matters and what to do. With no ids, one line per rule.
"""

from __future__ import annotations

import argparse
import sys

from gatekeeper.errors import ExitCode, InvalidInput


def cmd_rules(args: argparse.Namespace) -> int:
    from gatekeeper.report.base import rule_records
    from gatekeeper.report.links import rule_link

    index = rule_records()
    if not args.rules:
        width = max(len(rule_id) for rule_id in index)
        for rule_id in sorted(index):
            record = index[rule_id]
            default = "blocks" if record.family == "verify" else record.default_text
            sys.stdout.write(f"{rule_id:<{width}}  {default:<8}  {record.summary}\n")
        return ExitCode.PASS
    unknown = [r for r in args.rules if r not in index]
    if unknown:
        raise InvalidInput(
            f"no rule {', '.join(unknown)} in this gatekeeper (`gatekeeper rules` lists them)"
        )
    sections = []
    for rule_id in args.rules:
        record = index[rule_id]
        if record.family == "verify":
            when = f"Blocks when {record.summary}."
        else:
            when = f"Fires when {record.summary}. Default: {record.default_text}."
        sections.append(f"{rule_id}\n\n{when}\n\n{record.help}\n\n{rule_link(rule_id)}\n")
    sys.stdout.write("\n".join(sections))
    return ExitCode.PASS
