"""SARIF 2.1.0 report, in the shape GitHub code scanning accepts.

One run, tool ``gatekeeper``: ``tool.driver.rules`` holds every rule id that appears in the
results (help text from RULES.md, ``properties.security-severity`` as a numeric string and
``properties.problem.severity``); each finding is a result with a level, a message, a
location (``artifactLocation.uri`` + ``region.startLine``) and ``partialFingerprints`` (the
finding's own fingerprint, which survives line moves). Findings that do not block because
they are excepted or baselined carry a SARIF ``suppressions`` entry; findings already on the
base have ``baselineState: unchanged``. A ``verify`` verdict's reasons are results too.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gatekeeper import __version__
from gatekeeper._fileio import dumps_json
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Reason, Verdict

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

# "fires when" text of every rule in RULES.md: the help a reader of a report needs.
RULE_HELP: dict[str, str] = {
    "source/history-rewrite": "the base is not an ancestor of the head (force-push, rewritten "
    "history)",
    "source/unsigned-commit": "a commit in the range carries no signature (info unless the policy "
    "requires signed commits, then high)",
    "source/bad-signature": "a commit signature is present but does not verify, or its key is not "
    "trusted by the policy",
    "source/unknown-identity": "author or committer is outside the identities the policy allows",
    "source/pipeline-change": "the range touches a build-controller file: CI workflows, "
    "Jenkinsfile, GitLab CI, Dockerfile, Makefile, build scripts",
    "source/gate-change": "the range touches gatekeeper's own policy files, CODEOWNERS or "
    "branch-protection config",
    "source/unreviewed-change": "the policy requires review and a change has no approval by "
    "someone other than its author",
    "source/codeowners-gap": "a build-controller or policy path is not covered by any "
    "CODEOWNERS rule",
    "source/binary-added": "a binary or compiled file (by content) is added or changed",
    "source/executable-added": "a file gains the executable bit",
    "source/submodule-change": "a submodule is added or its pinned commit changes",
    "source/symlink-escape": "a symlink points outside the repository",
    "source/large-file": "a file over the policy's size limit is added",
    "pipeline/parse-error": "a pipeline file cannot be parsed",
    "pipeline/untrusted-checkout": "a pull_request_target or workflow_run workflow checks out the "
    "pull request's head",
    "pipeline/template-injection": "an attacker-controllable expression is expanded inside run: or "
    "actions/github-script's script:",
    "pipeline/dangerous-trigger": "pull_request_target or workflow_run is used",
    "pipeline/unpinned-action": "a uses: of an action or reusable workflow is not pinned to a full "
    "40-hex commit sha",
    "pipeline/unpinned-image": "a container:, services: or docker:// image has no @sha256: digest",
    "pipeline/excessive-permissions": "permissions: write-all, or a workflow with no permissions "
    "at any level",
    "pipeline/secrets-inherit": "a reusable workflow call passes secrets: inherit",
    "pipeline/self-hosted-runner": "a self-hosted runner serves a workflow that pull requests from "
    "forks can trigger",
    "pipeline/insecure-commands": "ACTIONS_ALLOW_UNSECURE_COMMANDS is enabled",
    "pipeline/github-env-injection": "untrusted input is written to $GITHUB_ENV, $GITHUB_PATH or "
    "$GITHUB_OUTPUT",
    "pipeline/persisted-credentials": "actions/checkout keeps credentials in a workflow that "
    "uploads artifacts or runs on untrusted input",
    "pipeline/hardcoded-credentials": "a literal password or token in a workflow rather than a "
    "secrets reference",
    "pipeline/remote-script": "a step downloads and executes a script in one go (curl | sh)",
    "pipeline/insecure-fetch": "TLS or signature checks are switched off (curl -k, --insecure, "
    "--trusted-host, --nogpgcheck, GIT_SSL_NO_VERIFY)",
    "pipeline/cache-poisoning": "a workflow that publishes or releases restores a cache that "
    "untrusted triggers can write",
    "pipeline/jenkins-secret-interpolation": "a Jenkins credential variable is interpolated by "
    "Groovy inside a double-quoted sh/bat string",
    "pipeline/jenkins-unpinned-library": "@Library or library loads a shared library without a "
    "fixed version",
    "pipeline/jenkins-param-injection": "params.* or user/SCM-controlled env.* values are "
    "Groovy-interpolated into a shell step",
    "pipeline/gitlab-unpinned-include": "a GitLab CI include: of a remote file or another project "
    "has no pinned ref",
    "pipeline/config-drift": "a pipeline file's digest differs from the digest approved in the "
    "policy",
    "deps/parse-error": "a manifest or lockfile cannot be parsed",
    "deps/known-vulnerability": "a resolved version falls inside an OSV advisory's affected ranges",
    "deps/downgrade": "a dependency's version is lower than on the base (back-revved)",
    "deps/hash-changed": "the same name and version resolve to a different integrity hash than on "
    "the base",
    "deps/source-changed": "a package resolves from another registry, URL, git repo or path than "
    "the base or the default registry",
    "deps/unpinned": "a requirement with no exact version in a file meant to pin",
    "deps/missing-hash": "a lock entry has no integrity hash where its format supports one",
    "deps/lock-mismatch": "a manifest and its lockfile disagree",
    "deps/new-dependency": "a dependency appears that was not on the base",
    "deps/typosquat": "a new dependency's name is one edit away from a well-known package",
    "secrets/private-key": "a PEM/OpenSSH private key block",
    "secrets/aws-access-key": "an AWS access key id (critical with its secret nearby)",
    "secrets/github-token": "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    "secrets/gitlab-token": "a GitLab token (glpat-)",
    "secrets/slack-token": "a Slack token or webhook URL",
    "secrets/stripe-key": "a live Stripe key (sk_live_, rk_live_)",
    "secrets/google-api-key": "a Google API key",
    "secrets/npm-token": "an npm token",
    "secrets/pypi-token": "a PyPI token",
    "secrets/jwt": "a signed JSON Web Token",
    "secrets/url-credentials": "scheme://user:password@host with a literal password",
    "secrets/docker-auth": "an auths entry with an auth value in a Docker config",
    "secrets/config-file-credentials": "a credential in a tool's config file (.npmrc, .pypirc, "
    ".netrc, kubeconfig, Maven settings.xml, .env)",
    "secrets/generic-assignment": "a high-entropy literal assigned to a name like password, "
    "secret, token, api_key",
    "container/parse-error": "a Dockerfile cannot be parsed",
    "container/root-user": "the final stage has no USER, or its user is root/0",
    "container/unpinned-base": "FROM has no @sha256: digest",
    "container/latest-tag": "FROM uses :latest or no tag at all",
    "container/add-remote": "ADD fetches a URL",
    "container/secret-in-build": "ENV/ARG holds a secret-looking literal, or a secret is copied "
    "into a layer",
    "container/remote-script": "RUN curl ... | sh and its relatives",
    "container/insecure-fetch": "TLS or signature checks are switched off inside a RUN",
    "container/untrusted-registry": "a base image comes from a registry outside the policy's "
    "allowed_registries",
    "verify/policy-invalid": "the policy does not parse or validate",
    "verify/policy-expired": "the policy's expires has passed",
    "verify/policy-unsigned": "a policy key was given and the policy's signature does not verify",
    "verify/missing-stage": "a required stage has no attestation for the artifact",
    "verify/unsigned": "an attestation has no signature",
    "verify/bad-signature": "a signature does not verify",
    "verify/untrusted-key": "the only valid signatures are by keys the policy does not trust for "
    "that stage",
    "verify/threshold": "fewer distinct trusted keys signed than the stage's threshold",
    "verify/chain-broken": "a stage's materials differ from the products of the stage it follows",
    "verify/subject-mismatch": "the artifact's digest is not a product of the final stage",
    "verify/commit-mismatch": "the source stage recorded another commit than the one promoted",
    "verify/run-mismatch": "the required stages' attestations do not belong to one pipeline run",
    "verify/stage-failed": "a stage's recorded command exited non-zero",
    "verify/stale": "an attestation is older than the policy's max_age",
    "verify/audit-failed": "an attested finding is at or above the blocking severity",
    "verify/audit-missing": "a stage's attestation does not carry evidence the policy requires",
    "verify/exception-expired": "an exception that would have excused a finding has expired",
    "verify/malformed": "an envelope or statement is not well-formed",
    "verify/internal-error": "anything unexpected: the gate fails closed",
}


def rule_help(rule_id: str) -> str:
    """The one-line description of a rule (RULES.md), or a generic line for an unknown id."""
    return RULE_HELP.get(rule_id, f"gatekeeper rule {rule_id}")


def _default_severities() -> dict[str, Severity]:
    from gatekeeper.audit import all_rules

    return all_rules()


def _rule(rule_id: str, severity: Severity) -> dict[str, Any]:
    text = rule_help(rule_id)
    family = rule_id.split("/", 1)[0]
    return {
        "id": rule_id,
        "name": rule_id.replace("/", "-"),
        "shortDescription": {"text": text[:1].upper() + text[1:]},
        "fullDescription": {"text": f"{rule_id} fires when {text}."},
        "help": {
            "text": f"{rule_id}: fires when {text}. Default severity: {severity.value}. "
            "Fix the cause, or add a policy exception with a reason and an expiry.",
            "markdown": f"**{rule_id}** fires when {text}.\n\nDefault severity: "
            f"`{severity.value}`. Fix the cause, or add a policy exception "
            "(`exceptions:` with `reason` and `expires`).",
        },
        "defaultConfiguration": {"level": _level_for(severity, blocking=None)},
        "properties": {
            "tags": ["security", family],
            "security-severity": _SECURITY_SEVERITY[severity],
            "problem.severity": _PROBLEM_SEVERITY[severity],
            "precision": "high",
        },
    }


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


def _finding_result(finding: Finding, index: int, block_at: Severity | None) -> dict[str, Any]:
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


def build(verdict: Verdict) -> dict[str, Any]:
    """The SARIF log as a dict (for tests and for callers that post-process it)."""
    defaults = _default_severities()
    rule_ids = sorted({f.rule for f in verdict.findings} | {r.code for r in verdict.reasons})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = []
    for rule_id in rule_ids:
        severity = defaults.get(rule_id)
        if severity is None:
            # verify/* codes always block; a finding's rule unknown to this build keeps its own.
            severity = next(
                (f.severity for f in verdict.findings if f.rule == rule_id), Severity.HIGH
            )
        rules.append(_rule(rule_id, severity))
    results = [_reason_result(r, index[r.code]) for r in verdict.reasons]
    results += [
        _finding_result(f, index[f.rule], verdict.block_at)
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
        "automationDetails": {"id": f"gatekeeper/{verdict.command}/"},
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


__all__ = ["FINGERPRINT_KEY", "NO_FILE_URI", "RULE_HELP", "build", "render", "rule_help"]
