"""Jenkins rules over parsed Jenkinsfiles.

- ``pipeline/jenkins-secret-interpolation``: a credential variable is interpolated by Groovy
  into a shell step (``sh "curl -u ${PASS}"``): the secret lands in the command line, the
  process list and the build's step arguments. Single quotes (``sh 'curl -u $PASS'``) or an
  escaped ``\\$PASS`` leave the expansion to the shell: the fix, and never a finding.
- ``pipeline/jenkins-param-injection``: ``params.*`` or user/SCM-controlled ``env.*`` values
  interpolated by Groovy into a shell step: the value becomes shell code.
- ``pipeline/jenkins-unpinned-library``: ``@Library``/``library`` without a fixed version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.pipeline_common import Occurrences
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import Jenkinsfile, PipelineEvidence

# SECURITY: environment values an outside contributor (branch, PR title, commit author) or a
# build requester chooses. BUILD_NUMBER, GIT_COMMIT (hex), WORKSPACE... are not on the list.
USER_CONTROLLED_ENV = frozenset(
    {
        "BRANCH_NAME",
        "CHANGE_TITLE",
        "CHANGE_BRANCH",
        "CHANGE_AUTHOR",
        "CHANGE_AUTHOR_DISPLAY_NAME",
        "CHANGE_AUTHOR_EMAIL",
        "CHANGE_FORK",
        "CHANGE_URL",
        "CHANGE_TARGET",
        "TAG_NAME",
        "GIT_BRANCH",
        "GIT_LOCAL_BRANCH",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "BUILD_USER",
        "BUILD_USER_ID",
        "gitlabSourceBranch",
        "gitlabTargetBranch",
        "gitlabBranch",
        "gitlabMergeRequestTitle",
        "gitlabMergeRequestDescription",
        "gitlabUserName",
        "gitlabUserEmail",
        "ghprbSourceBranch",
        "ghprbTargetBranch",
        "ghprbPullTitle",
        "ghprbPullDescription",
        "ghprbPullLongDescription",
        "ghprbCommentBody",
        "ghprbActualCommitAuthor",
        "ghprbActualCommitAuthorEmail",
        "ghprbPullAuthorLogin",
        "ghprbTriggerAuthor",
    }
)
# Parameter kinds whose value cannot carry shell syntax: a boolean, or one of the listed
# choices (Jenkins rejects a value that is not among them, from the UI and the REST API).
_SAFE_PARAM_KINDS = frozenset({"booleanParam", "choice"})
_SHA = re.compile(r"^[0-9a-f]{40}$")
_GSTRING_EXPR = re.compile(r"(?<!\\)\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_.]*)")
_VERSION = re.compile(r"^v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.-]+)?$")


def _root(expr: str) -> tuple[str | None, str]:
    """``env.X`` -> ("env", "X"); ``params.X`` -> ("params", "X"); ``X.trim()`` -> (None, "X")."""
    expr = expr.strip()
    match = re.match(r"^(env|params)\s*(?:\.|\?\.)\s*([A-Za-z_][A-Za-z0-9_]*)", expr)
    if match:
        return match.group(1), match.group(2)
    match = re.match(r"^(?:env|params)\s*\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\]", expr)
    if match:
        return expr.split("[", 1)[0].strip(), match.group(1)
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)", expr)
    return (None, match.group(1)) if match else (None, "")


SECRET_INTERPOLATION = Rule(
    "pipeline/jenkins-secret-interpolation",
    Severity.HIGH,
    summary="a Jenkins credential variable is interpolated by Groovy inside a double-quoted "
    "`sh`/`bat` string",
    help="Groovy substitutes the secret before the shell runs, so it lands in the command "
    "line, in process listings and in the build's recorded step arguments. Use single quotes "
    "and let the shell expand the variable (`sh 'curl -u \"$USER:$PASS\" …'`).",
)
PARAM_INJECTION = Rule(
    "pipeline/jenkins-param-injection",
    Severity.HIGH,
    summary="`params.*` or user/SCM-controlled `env.*` values are Groovy-interpolated into a "
    "shell step",
    help="The value becomes part of the shell script, so a build parameter, a branch name or "
    "a pull-request title can run commands on the agent. Pass it through the environment and "
    "quote it in the shell (`sh 'make TARGET=\"$TARGET\"'`).",
)
UNPINNED_LIBRARY = Rule(
    "pipeline/jenkins-unpinned-library",
    Severity.MEDIUM,
    summary="`@Library` or `library` loads a shared library without a fixed version",
    help="A shared library runs in every build that loads it, with the build's credentials; "
    "without a fixed version whoever can push to its default branch changes every pipeline at "
    "once. Load a tag or a commit (`@Library('name@v1.4.0')`).",
)


def _unsafe_param(params: dict[str, str | None], name: str) -> bool:
    """A declared or referenced parameter whose value can carry shell syntax."""
    return params.get(name) not in _SAFE_PARAM_KINDS


def _controlled(
    scope: str | None, name: str, params: dict[str, str | None], derived: dict[str, str]
) -> str | None:
    """Who controls the interpolated value, when someone outside the pipeline does."""
    from_env = scope in (None, "env")
    if scope == "params" and _unsafe_param(params, name):
        return f"the build parameter params.{name}"
    if from_env and name in USER_CONTROLLED_ENV:
        return f"{name}, which the branch or change author chooses"
    if scope is None and name in params and _unsafe_param(params, name):
        return f"the build parameter {name}"
    if from_env and name in derived:
        return f"{name}, which `environment` sets from {derived[name]}"
    return None


def _derived_env(jf: Jenkinsfile, params: dict[str, str | None]) -> dict[str, str]:
    """``environment { X = "${params.Y}" }``: X -> what it is set from."""
    derived: dict[str, str] = {}
    for entry in jf.env_assignments:
        if entry.is_literal or entry.value is None:
            continue
        source = next(
            (
                e
                for e in (x.strip("{}") for x in _GSTRING_EXPR.findall(entry.value))
                if _tainted(e, params)
            ),
            None,
        )
        if source is not None:
            derived[entry.key] = source
    return derived


def _tainted(expr: str, params: dict[str, str | None]) -> bool:
    scope, name = _root(expr)
    return (scope == "params" and _unsafe_param(params, name)) or (
        scope in (None, "env") and name in USER_CONTROLLED_ENV
    )


def _pinned(version: str | None) -> bool:
    return (
        version is not None
        and "$" not in version
        and bool(_SHA.match(version) or _VERSION.match(version))
    )


class JenkinsAudit:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(SECRET_INTERPOLATION, PARAM_INJECTION, UNPINNED_LIBRARY)
    summary: ClassVar[str] = "Groovy interpolation of secrets and parameters; unpinned libraries"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for jf in evidence.jenkinsfiles:
            occurrences = Occurrences()
            yield from self._interpolations(jf, occurrences)
            yield from self._libraries(jf, occurrences)

    def _interpolations(self, jf: Jenkinsfile, occurrences: Occurrences) -> Iterator[Finding]:
        secrets = {v for binding in jf.credentials for v in binding.variables}
        params = {p.key: p.value for p in jf.parameters}
        derived = _derived_env(jf, params)
        for step in jf.shell_steps:
            for interp in step.interpolations:
                scope, name = _root(interp.expr)
                if name in secrets and scope in (None, "env"):
                    yield SECRET_INTERPOLATION.finding(
                        f"`{step.step}` step: Groovy interpolates the credential {name} "
                        f"(`${{{interp.expr}}}`) into the command line, where process listings "
                        "and step arguments expose it; use single quotes and let the shell "
                        f"expand it (`{step.step} '... ${name} ...'`)",
                        path=jf.path,
                        line=interp.line,
                        key=occurrences.key(jf.path, f"si|{step.step}|{interp.expr}"),
                    )
                    continue
                controlled = _controlled(scope, name, params, derived)
                if controlled is None:
                    continue
                yield PARAM_INJECTION.finding(
                    f"`{step.step}` step: Groovy interpolates {controlled} (`{interp.expr}`) "
                    "into the script, so its value is run as shell code; pass it through the "
                    f"environment and quote it in the shell (`{step.step} 'make \"$VALUE\"'`)",
                    path=jf.path,
                    line=interp.line,
                    key=occurrences.key(jf.path, f"pi|{step.step}|{interp.expr}"),
                )

    def _libraries(self, jf: Jenkinsfile, occurrences: Occurrences) -> Iterator[Finding]:
        for lib in jf.libraries:
            version = lib.version
            if _pinned(version):
                continue
            what = (
                "no version (the library's default branch)"
                if version is None
                else (f"`{version}`, a branch or moving reference")
            )
            yield UNPINNED_LIBRARY.finding(
                f"shared library `{lib.name}` is loaded at {what}: whoever can push to it "
                "runs code in every build; pin a tag or commit (`@Library('"
                f"{lib.name}@<sha or version>')`)",
                path=jf.path,
                line=lib.line,
                key=occurrences.key(jf.path, f"lib|{lib.spec}"),
            )


AUDITS = (JenkinsAudit,)
