"""SARIF 2.1.0 report, in the shape GitHub code scanning accepts.

One run, tool ``gatekeeper``: ``tool.driver.rules`` holds every rule id that appears in the
results, described from its rule record (summary, help, ``helpUri`` to its section of the
rule catalogue when its web address is known, see ``report.links``), with
``properties.security-severity`` as a numeric string and ``properties.problem.severity``;
each finding is a result with a level, a message, a location (``artifactLocation.uri`` +
``region.startLine``) and ``partialFingerprints`` (the finding's own fingerprint, which
survives line moves). Findings that do not block because they are excepted or baselined
carry an ``external`` SARIF ``suppressions`` entry, those an inline comment suppresses an
``inSource`` one with its reason; findings already on the base have ``baselineState:
unchanged``. A ``verify`` verdict's reasons are results too.

The run names no category (``automationDetails``): the uploader's own category decides
(``github/codeql-action/upload-sarif`` sets one only when the SARIF has none, so a category
written here would silently replace the one the workflow asks for).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__
from gatekeeper._fileio import dumps_json
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.report.base import rule_record
from gatekeeper.report.links import rule_link, rule_url

if TYPE_CHECKING:
    from gatekeeper.audit.rule import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "gatekeeper/v1"
NO_FILE_URI = "no file associated with this alert"

# GitHub maps security-severity to a label: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low. "info" stays at 0.0 (GitHub shows it without a security label).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_PROBLEM_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "recommendation",
    Severity.INFO: "recommendation",
}


def _rule(rule_id: str, severity: Severity) -> dict[str, Any]:
    record = rule_record(rule_id)
    text = record.summary if record is not None else f"gatekeeper rule {rule_id}"
    family = rule_id.split("/", 1)[0]
    verb = "blocks when" if family == "verify" else "fires when"
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": rule_id.replace("/", "-"),
        "shortDescription": {"text": text[:1].upper() + text[1:]},
        "fullDescription": {"text": f"{rule_id} {verb} {text}."},
        "help": _help(rule_id, verb, text, severity, record),
        "defaultConfiguration": {"level": _level_for(severity, blocking=None)},
        "properties": {
            "tags": ["security", family],
            "security-severity": _SECURITY_SEVERITY[severity],
            "problem.severity": _PROBLEM_SEVERITY[severity],
            "precision": "high",
        },
    }
    uri = rule_url(rule_id)
    if uri is not None:
        rule["helpUri"] = uri
    return rule


def _help(
    rule_id: str, verb: str, text: str, severity: Severity, record: Rule | None
) -> dict[str, str]:
    """Help in text and Markdown: when it fires, why it matters and the fix, the default."""
    if verb == "blocks when":
        default = "A verifier reason always blocks."
        default_md = default
    else:
        default = (
            f"Default severity: {severity.value}. To accept a finding instead, add a policy "
            "exception with a reason and an expiry."
        )
        default_md = (
            f"Default severity: `{severity.value}`. To accept a finding instead, add a policy "
            "exception (`exceptions:` with `reason` and `expires`)."
        )
    paragraphs = [f"{rule_id} {verb} {text}.", default]
    markdown = [f"**{rule_id}** {verb} {text}.", default_md]
    if record is not None:
        paragraphs.insert(1, record.help)
        markdown[1:1] = [record.help]
        link = rule_link(rule_id)
        if rule_url(rule_id) is not None:
            markdown.append(f"[{rule_id} in the rule catalogue]({link})")
        else:
            markdown.append(f"{rule_id} in the rule catalogue: gatekeeper's `{link}`")
    return {"text": "\n\n".join(paragraphs), "markdown": "\n\n".join(markdown)}


def _level_for(severity: Severity, *, blocking: bool | None) -> str:
    if blocking:
        return "error"
    if severity.at_least(Severity.HIGH) and blocking is None:
        return "error"
    if severity.at_least(Severity.MEDIUM):
        return "warning"
    return "note"


def _location(path: str | None, line: int | None, logical: str | None = None) -> dict[str, Any]:
    if path is None:
        # NOTE: code scanning rejects a result without physicalLocation.artifactLocation.uri
        # ("locationFromSarifResult: expected artifact location"); repository-level results
        # use the placeholder OpenSSF Scorecard uses, and say what they are about logically.
        return {
            "physicalLocation": {
                "artifactLocation": {"uri": NO_FILE_URI},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{"name": logical or "repository", "kind": "module"}],
        }
    # A file-level finding (no line) points at the file's first line, which code scanning
    # needs to place and fingerprint the alert.
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line or 1},
        }
    }


def _finding_result(
    finding: Finding, index: int, block_at: Severity | None, reasons: dict[str, str]
) -> dict[str, Any]:
    blocking = block_at is not None and finding.blocks(block_at)
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _level_for(finding.severity, blocking=blocking),
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.line)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "baselineState": "unchanged" if finding.status == "existing" else "new",
        "properties": {
            "severity": finding.severity.value,
            "blocking": blocking,
            "status": finding.status or "new",
        },
    }
    if finding.status == "suppressed":
        result["suppressions"] = [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": reasons.get(finding.fingerprint, "an inline suppression"),
            }
        ]
    if finding.status in ("excepted", "baseline"):
        justification = (
            "excused by a policy exception"
            if finding.status == "excepted"
            else "accepted in the baseline file"
        )
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": justification}
        ]
    return result


def _reason_fingerprint(reason: Reason) -> str:
    raw = "\x1f".join((reason.code, reason.stage or "", reason.message)).encode()
    return hashlib.sha256(raw).hexdigest()


def _reason_result(reason: Reason, index: int) -> dict[str, Any]:
    return {
        "ruleId": reason.code,
        "ruleIndex": index,
        "level": "error",
        "message": {
            "text": f"[{reason.stage}] {reason.message}" if reason.stage else reason.message
        },
        "locations": [
            _location(
                None, None, logical=f"stage {reason.stage}" if reason.stage else "verification"
            )
        ],
        "partialFingerprints": {FINGERPRINT_KEY: _reason_fingerprint(reason)},
        "properties": {"blocking": True},
    }


def _default_severity(rule_id: str, verdict: Verdict) -> Severity:
    record = rule_record(rule_id)
    if record is not None:
        return record.severity  # verify/* codes: high, they always block
    # A finding's rule unknown to this build keeps its own severity.
    return next((f.severity for f in verdict.findings if f.rule == rule_id), Severity.HIGH)


def build(verdict: Verdict) -> dict[str, Any]:
    """The SARIF log as a dict (for tests and for callers that post-process it)."""
    rule_ids = sorted({f.rule for f in verdict.findings} | {r.code for r in verdict.reasons})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [_rule(rule_id, _default_severity(rule_id, verdict)) for rule_id in rule_ids]
    results = [_reason_result(r, index[r.code]) for r in verdict.reasons]
    justifications = {
        fp: f"{s.reason} (until {s.until.isoformat()})" if s.until else s.reason
        for s in verdict.suppressions
        if s.status == "active"
        for fp in s.findings
    }
    results += [
        _finding_result(f, index[f.rule], verdict.block_at, justifications)
        for f in sorted(verdict.findings, key=Finding.sort_key)
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gatekeeper",
                "semanticVersion": __version__,
                "version": __version__,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": note}} for note in verdict.notes
                ],
            }
        ],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "verdict": verdict.verdict,
            "command": verdict.command,
            "policy": verdict.policy,
            "blockAt": verdict.block_at.value if verdict.block_at else None,
            "subjects": list(verdict.subjects),
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(verdict: Verdict) -> str:
    # NOTE: compact: a machine format, and json's C encoder only runs without indent (5000
    # findings: ~3 s indented, ~0.3 s compact). Keys stay sorted: byte-identical output.
    return dumps_json(build(verdict), indent=None) + "\n"


__all__ = ["FINGERPRINT_KEY", "NO_FILE_URI", "build", "render"]
