"""GitHub Actions rules over parsed workflows and actions (and GitLab CI job images).

Triggers, injection and checkout: ``dangerous-trigger``, ``untrusted-checkout``,
``template-injection``, ``github-env-injection``. Supply chain: ``unpinned-action``,
``unpinned-image``, ``cache-poisoning``. Token and runner exposure: ``excessive-permissions``,
``secrets-inherit``, ``self-hosted-runner``, ``insecure-commands``, ``persisted-credentials``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.pipeline_common import (
    Occurrences,
    ScriptLine,
    WorkflowAudit,
    job_containers,
    logical_lines,
    step_script,
)
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import GitlabCi, Job, KeyValue, PipelineEvidence, Step, Workflow

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
# SECURITY: contexts whose text an outside contributor chooses (titles, bodies, branch names,
# commit messages, author names...). Hex shas, numbers and repository ids are not on the list.
_TAINTED = re.compile(
    r"""github\s*\.\s*head_ref\b
    |github\.event\.(?:issue|pull_request|discussion)\.(?:title|body)\b
    |github\.event\.(?:comment|review|review_comment)\.body\b
    |github\.event\.pull_request\.head\.(?:ref|label|repo\.default_branch)\b
    |github\.event\.pages(?:\[[^\]]*\]|\.\*)?\.page_name\b
    |github\.event\.(?:commits(?:\[[^\]]*\]|\.\*)?|head_commit)
        \.(?:message|author\.(?:email|name)|committer\.(?:email|name))\b
    |github\.event\.workflow_run\.(?:head_branch|display_title
        |head_commit\.(?:message|author\.(?:email|name)|committer\.(?:email|name))
        |pull_requests(?:\[[^\]]*\]|\.\*)?\.head\.ref)\b
    |toJSON\(\s*github\.event\s*\)
    |toJSON\(\s*github\.event\.(?:issue|pull_request|comment|review|review_comment|discussion
        |head_commit|commits|workflow_run|pages)\b[^)]*\)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_BOOLEAN_ONLY = re.compile(
    r"^\s*!?\s*(?:contains|startsWith|endsWith)\s*\([^()]*\)\s*$|^[^|&]*(?:==|!=)[^|&]*$",
    re.IGNORECASE,
)
_ENV_REF = re.compile(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)\b")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_VERSION_TAG = re.compile(r"^v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z.-]+)?$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_PR_HEAD = re.compile(
    r"github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref|"
    r"github\.event\.pull_request\.merge_commit_sha|github\.event\.workflow_run\.head_(?:sha|branch)"
    r"|github\.event\.workflow_run\.head_commit\.id|refs/pull/|\bpull/\$\{\{|"
    r"github\.event\.pull_request\.head\.repo\.(?:full_name|clone_url|ssh_url)|"
    r"github\.event\.workflow_run\.head_repository\.full_name",
    re.IGNORECASE,
)
_RUN_CHECKOUT = re.compile(
    r"\bgh\s+pr\s+checkout\b|\bgit\s+(?:checkout|switch|fetch|pull|reset)\b.*(?:"
    + _PR_HEAD.pattern
    + r"|\$\{?(?:HEAD_REF|PR_HEAD|HEAD_SHA)\b)",
    re.IGNORECASE,
)
_ENV_FILE_WRITE = re.compile(
    r"(?:>>?|\btee\b(?:\s+-a)?|Out-File\b[^|\n]*?|Add-Content\b[^|\n]*?|Set-Content\b[^|\n]*?)"
    r"\s*[\"']?\$(?:\{?GITHUB_(ENV|PATH|OUTPUT)\}?|env:GITHUB_(ENV|PATH|OUTPUT))\b",
    re.IGNORECASE,
)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
# Data read at run time (command output, files): `cat >> $GITHUB_ENV <<EOF` is not a read.
_UNSECURE_COMMANDS_RUN = re.compile(
    r"ACTIONS_ALLOW_UNSECURE_COMMANDS\s*=\s*[\"']?(?:true|1)\b", re.IGNORECASE
)
_INDIRECT_DATA = re.compile(r"\$\(|`|\bcat\s+(?!>)|(?<!<)<(?!<)\s*\S|\bjq\b|\bunzip\b")

PR_TRIGGERS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
DANGEROUS_TRIGGERS = frozenset({"pull_request_target", "workflow_run"})
UNTRUSTED_TRIGGERS = frozenset(
    {
        "pull_request_target",
        "workflow_run",
        "issue_comment",
        "pull_request_review_comment",
        "discussion_comment",
        "issues",
    }
)
_UPLOADERS = ("actions/upload-artifact", "actions/upload-pages-artifact")
_PUBLISH_ACTIONS = (
    "pypa/gh-action-pypi-publish",
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "docker/build-push-action",
    "goreleaser/goreleaser-action",
    "actions/create-release",
    "actions/deploy-pages",
    "changesets/action",
    "rubygems/release-gem",
    "JS-DevTools/npm-publish",
)
_PUBLISH_RUN = re.compile(
    r"\b(?:npm|yarn|pnpm)\s+publish\b|\btwine\s+upload\b|\bdocker\s+push\b|\bgh\s+release\s+"
    r"(?:create|upload)\b|\bcargo\s+publish\b|\b(?:poetry|uv|hatch|flit)\s+publish\b|"
    r"\bmvn\b.*\bdeploy\b|\bgradlew?\b.*\bpublish\b|\bgem\s+push\b|\bgoreleaser\b",
)
_SETUP_CACHE_DEFAULT_ON = ("actions/setup-go",)  # v4+ caches unless `cache: false`
_SETUP_WITH_CACHE = (
    "actions/setup-node",
    "actions/setup-python",
    "actions/setup-java",
    "actions/setup-dotnet",
    "ruby/setup-ruby",
    "pnpm/action-setup",
)


def _uses_name(uses: str | None) -> str:
    """``owner/repo[/path]`` without the ``@ref``, lower-cased."""
    return (uses or "").split("@", 1)[0].strip().lower()


def _uses_action(step: Step, *names: str) -> bool:
    name = _uses_name(step.uses)
    return any(name == n.lower() or name.startswith(n.lower() + "/") for n in names)


def _with(step: Step, key: str) -> KeyValue | None:
    for entry in step.with_:
        if entry.key == key:
            return entry
    return None


def _events(wf: Workflow) -> set[str]:
    return {t.event for t in wf.triggers}


def tainted_expressions(text: str) -> Iterator[tuple[int, str]]:
    """(offset, expression) for each attacker-controllable ``${{ ... }}`` in ``text``."""
    for match in _EXPR.finditer(text):
        inner = match.group(1).strip()
        if _TAINTED.search(inner) and not _BOOLEAN_ONLY.match(inner):
            yield match.start(), inner


def _tainted_env_names(*scopes: list[KeyValue]) -> set[str]:
    """Env names (from the given scopes) whose value expands an attacker-controlled context."""
    names: set[str] = set()
    for scope in scopes:
        for entry in scope:
            if entry.value is not None and any(tainted_expressions(entry.value)):
                names.add(entry.key)
    return names


def _outside_quotes(text: str, offset: int) -> bool:
    """True when ``offset`` is not inside a '...' or "..." string (`echo "X<<EOF"` is text)."""
    quote = ""
    for char in text[:offset]:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
    return not quote


def _step_env_scopes(wf: Workflow, job: Job, step: Step) -> tuple[list[KeyValue], ...]:
    return (wf.env, job.env, step.env)


# --- triggers --------------------------------------------------------------------------------

DANGEROUS_TRIGGER = Rule(
    "pipeline/dangerous-trigger",
    Severity.MEDIUM,
    summary="`pull_request_target` or `workflow_run` is used at all: the workflow runs with the "
    "base repository's secrets and a write token on events outsiders cause",
    help="These workflows are where an untrusted checkout or a template injection turns into "
    "stolen secrets, so each deserves a reviewer's attention. Prefer `pull_request`; when the "
    "privileged trigger is needed, never build or run the contributed code in it (split the "
    "work into an unprivileged `pull_request` workflow and a privileged one that reads its "
    "results as data).",
)
UNTRUSTED_CHECKOUT = Rule(
    "pipeline/untrusted-checkout",
    Severity.CRITICAL,
    summary="a workflow that runs with the base repository's privileges on an outsider's "
    "trigger (`pull_request_target`, `workflow_run`, `issue_comment`) checks out the pull "
    "request's head (ref or sha from the event, `refs/pull/…`, or `gh pr checkout` / "
    "`git fetch` of the head in `run:`)",
    help="The contributed code then runs with the base repository's secrets and write token "
    '(a "pwn request"). Build contributed code under `pull_request`, which has no secrets; '
    "when results must be reported back, upload them as an artifact and let a separate "
    "`workflow_run` workflow read the artifact as data.",
)
SELF_HOSTED_RUNNER = Rule(
    "pipeline/self-hosted-runner",
    Severity.HIGH,
    summary="a self-hosted runner serves a workflow that pull requests from forks can trigger "
    "(`pull_request`, `pull_request_target`, `pull_request_review(_comment)`)",
    help="A fork's pull request can run code on that machine, read what other jobs left there "
    "and persist on it for later builds. Run pull-request workflows on GitHub-hosted or "
    "ephemeral, isolated runners.",
)
PERSISTED_CREDENTIALS = Rule(
    "pipeline/persisted-credentials",
    Severity.MEDIUM,
    summary="`actions/checkout` keeps credentials (no `persist-credentials: false`) in a "
    "workflow that uploads artifacts or runs on untrusted input",
    help="The checkout stores the job's token in `.git/config`, where later steps, uploaded "
    "artifacts and code from the pull request can read it. Add `persist-credentials: false` "
    "to the checkout step.",
)


def _head_input(step: Step) -> tuple[str, KeyValue] | None:
    """The ``actions/checkout`` input (``ref``/``repository``) naming the pull request's head."""
    if not _uses_action(step, "actions/checkout"):
        return None
    for key in ("ref", "repository"):
        entry = _with(step, key)
        if entry is not None and entry.value and _PR_HEAD.search(entry.value):
            return key, entry
    return None


def _exposure(job: Job, events: set[str]) -> str | None:
    """Why a persisted token matters in this job, or None when it does not."""
    if any(_uses_action(s, *_UPLOADERS) for s in job.steps):
        return "uploads artifacts"
    untrusted = sorted(events & UNTRUSTED_TRIGGERS)
    return f"runs on {', '.join(untrusted)}" if untrusted else None


def _persists_credentials(step: Step) -> bool:
    persist = _with(step, "persist-credentials")
    value = (persist.value or "").strip().lower() if persist else ""
    return value != "false" and "${{" not in value


class GithubTriggers(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(
        DANGEROUS_TRIGGER, UNTRUSTED_CHECKOUT, SELF_HOSTED_RUNNER, PERSISTED_CREDENTIALS
    )
    summary: ClassVar[str] = "triggers that run on untrusted input, and what they expose"
    workflows_only: ClassVar[bool] = True

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for trigger in wf.triggers:
            if trigger.event in DANGEROUS_TRIGGERS:
                yield DANGEROUS_TRIGGER.finding(
                    f"`{trigger.event}` runs with the base repository's secrets and a write "
                    "token on events outsiders cause; never build or run the contributed code "
                    "in it (use `pull_request`, or split into an unprivileged workflow)",
                    path=wf.path,
                    line=trigger.line,
                    key=trigger.event,
                )
        yield from super().audit_workflow(wf, occurrences)

    def audit_job(self, wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        events = _events(wf)
        # NOTE: `issue_comment` runs in the base repository with secrets too; "/test" bots
        # that check out refs/pull/N/head from it are the same hole.
        privileged = events & (DANGEROUS_TRIGGERS | {"issue_comment"})
        if privileged:
            yield from self._untrusted_checkout(wf, job, "/".join(sorted(privileged)), occurrences)
        yield from self._self_hosted_runner(wf, job, events)
        yield from self._persisted_credentials(wf, job, events, occurrences)

    @staticmethod
    def _untrusted_checkout(
        wf: Workflow, job: Job, triggers: str, occurrences: Occurrences
    ) -> Iterator[Finding]:
        for step in job.steps:
            head = _head_input(step)
            if head is not None:
                key, entry = head
                value = (entry.value or "").strip()
                yield UNTRUSTED_CHECKOUT.finding(
                    f"job {job.id} checks out the pull request's code ({key}: {value}) in a "
                    f"{triggers} workflow, which has secrets and a write token: the contributed "
                    "code can steal them",
                    path=wf.path,
                    line=entry.line,
                    key=occurrences.key(wf.path, f"uc|{job.id}|{value}"),
                )
            for line in step_script(step):
                if _RUN_CHECKOUT.search(line.text):
                    yield UNTRUSTED_CHECKOUT.finding(
                        f"job {job.id} fetches the pull request's code in a {triggers} "
                        f"workflow: `{line.text[:120]}`",
                        path=wf.path,
                        line=line.line,
                        key=occurrences.key(wf.path, f"uc|{job.id}|{line.text}"),
                    )

    @staticmethod
    def _self_hosted_runner(wf: Workflow, job: Job, events: set[str]) -> Iterator[Finding]:
        pr_events = sorted(events & PR_TRIGGERS)
        if pr_events and "self-hosted" in (label.lower() for label in job.runs_on):
            yield SELF_HOSTED_RUNNER.finding(
                f"job {job.id} runs on a self-hosted runner and the workflow runs on "
                f"{', '.join(pr_events)}: a pull request from a fork can run code on that "
                "machine and persist on it (use GitHub-hosted or ephemeral runners)",
                path=wf.path,
                line=job.runs_on_line or job.line,
                key=job.id,
            )

    @staticmethod
    def _persisted_credentials(
        wf: Workflow, job: Job, events: set[str], occurrences: Occurrences
    ) -> Iterator[Finding]:
        reason = _exposure(job, events)
        if reason is None:
            return
        for step in job.steps:
            if _uses_action(step, "actions/checkout") and _persists_credentials(step):
                yield PERSISTED_CREDENTIALS.finding(
                    f"job {job.id}: actions/checkout leaves the token in .git/config and the "
                    f"job {reason}; set `persist-credentials: false`",
                    path=wf.path,
                    line=step.uses_line or step.line,
                    key=occurrences.key(wf.path, f"pc|{job.id}|{step.uses}"),
                )


# --- injection -------------------------------------------------------------------------------

TEMPLATE_INJECTION = Rule(
    "pipeline/template-injection",
    Severity.HIGH,
    summary="an attacker-controllable expression (`github.event.*` titles, bodies, branch "
    "names, commit messages, `github.head_ref`, …) is expanded inside `run:` or "
    "`actions/github-script`'s `script:`",
    help="The expression is pasted into the script before it runs, so whoever writes the "
    "title, branch name or comment writes code that runs with the job's token and secrets. "
    'Pass the value through `env:` and use the variable, quoted (`"$TITLE"`).',
)
GITHUB_ENV_INJECTION = Rule(
    "pipeline/github-env-injection",
    Severity.HIGH,
    summary="untrusted input is written to `$GITHUB_ENV`, `$GITHUB_PATH` or `$GITHUB_OUTPUT`",
    help="A newline in the value defines arbitrary variables (`LD_PRELOAD`, `NODE_OPTIONS`, "
    "`BASH_ENV`) or PATH entries for every later step, which turns text into code execution. "
    "Do not write untrusted text to these files; when a value must be passed on, check it "
    "against a strict pattern first.",
)
INSECURE_COMMANDS = Rule(
    "pipeline/insecure-commands",
    Severity.HIGH,
    summary="`ACTIONS_ALLOW_UNSECURE_COMMANDS` is enabled",
    help="It re-enables the deprecated `::set-env` and `::add-path` workflow commands, so any "
    "line a step prints (attacker-controlled text in a log included) can set variables and "
    "PATH entries for later steps. Remove it and write to `$GITHUB_ENV` / `$GITHUB_PATH`.",
)


def _script_sources(step: Step) -> list[tuple[str, str, KeyValue | None]]:
    """(where, text, input entry) of the step's code: its ``run:`` and github-script's script."""
    sources: list[tuple[str, str, KeyValue | None]] = []
    if step.run is not None:
        sources.append(("run", step.run, None))
    if _uses_action(step, "actions/github-script"):
        script = _with(step, "script")
        if script is not None and script.value is not None:
            sources.append(("script", script.value, script))
    return sources


def _injections(text: str, tainted_env: set[str]) -> list[tuple[int, str]]:
    """(offset, expression) of tainted expressions and ``env.X`` references to tainted env."""
    hits = list(tainted_expressions(text))
    for match in _EXPR.finditer(text):
        inner = match.group(1).strip()
        ref = _ENV_REF.search(inner)
        if ref and ref.group(1) in tainted_env and not _BOOLEAN_ONLY.match(inner):
            hits.append((match.start(), inner))
    return sorted(hits)


def _tainted_var_ref(names: set[str]) -> re.Pattern[str] | None:
    """A shell or PowerShell reference to any of ``names``, or None when there are none."""
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    return re.compile(r"\$\{?(" + alternatives + r")\b" r"|\$env:(" + alternatives + r")\b")


def _written_content(lines: list[ScriptLine], index: int) -> str:
    """The text a line writes: the line itself, plus its heredoc body when it opens one."""
    text = lines[index].text
    heredoc = _HEREDOC.search(text)
    if not heredoc or not _outside_quotes(text, heredoc.start()):
        return text
    content = text
    for later in lines[index + 1 :]:
        if later.text == heredoc.group(1):
            break
        content += "\n" + later.text
    return content


def _untrusted_write(content: str, var_ref: re.Pattern[str] | None, dangerous: bool) -> str | None:
    """What makes a write to a GitHub environment file untrusted, or None."""
    if any(tainted_expressions(content)):
        return "an attacker-controlled expression"
    if var_ref is not None and var_ref.search(content):
        return "an environment variable holding attacker-controlled text"
    if dangerous and _INDIRECT_DATA.search(content):
        return "data read at run time in a pull_request_target/workflow_run workflow"
    return None


def _env_scopes(wf: Workflow) -> Iterator[tuple[str, list[KeyValue]]]:
    yield "workflow env", wf.env
    for job in wf.jobs:
        yield f"job {job.id} env", job.env
        if job.container is not None:
            yield f"job {job.id} container env", job.container.env
        for s in job.steps:
            yield f"job {job.id} step {s.id or s.index} env", s.env


def _enables_unsecure_commands(entry: KeyValue) -> bool:
    if entry.key.upper() != "ACTIONS_ALLOW_UNSECURE_COMMANDS":
        return False
    return (entry.value or "").strip().lower() not in ("", "false", "0", "no", "off")


class GithubInjection(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(TEMPLATE_INJECTION, GITHUB_ENV_INJECTION, INSECURE_COMMANDS)
    summary: ClassVar[str] = "attacker-controlled text reaching a shell, script or GITHUB_ENV"

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        yield from self._insecure_commands(wf, occurrences)
        yield from super().audit_workflow(wf, occurrences)

    def audit_step(
        self, wf: Workflow, job: Job, step: Step, occurrences: Occurrences
    ) -> Iterator[Finding]:
        tainted_env = _tainted_env_names(*_step_env_scopes(wf, job, step))
        yield from self._template_injection(wf, job, step, tainted_env, occurrences)
        if step.run is not None:
            dangerous = bool(_events(wf) & DANGEROUS_TRIGGERS)
            yield from self._env_injection(wf, job, step, tainted_env, dangerous, occurrences)

    @staticmethod
    def _template_injection(
        wf: Workflow, job: Job, step: Step, tainted_env: set[str], occurrences: Occurrences
    ) -> Iterator[Finding]:
        for where, text, entry in _script_sources(step):
            for offset, inner in _injections(text, tainted_env):
                line = entry.line_at(offset) if entry is not None else step.run_line_at(offset)
                yield TEMPLATE_INJECTION.finding(
                    f"job {job.id}: `${{{{ {inner} }}}}` is expanded into the step's {where} "
                    "before it runs, so its author controls the code; pass it through `env:` "
                    'and use the variable ("$TITLE") instead',
                    path=wf.path,
                    line=line,
                    key=occurrences.key(wf.path, f"ti|{job.id}|{step.id or step.name}|{inner}"),
                )

    @staticmethod
    def _env_injection(
        wf: Workflow,
        job: Job,
        step: Step,
        tainted_env: set[str],
        dangerous: bool,
        occurrences: Occurrences,
    ) -> Iterator[Finding]:
        var_ref = _tainted_var_ref(tainted_env)
        lines = step_script(step)
        for index, line in enumerate(lines):
            match = _ENV_FILE_WRITE.search(line.text)
            if not match:
                continue
            reason = _untrusted_write(_written_content(lines, index), var_ref, dangerous)
            if reason is None:
                continue
            target = f"GITHUB_{match.group(1) or match.group(2)}".upper()
            yield GITHUB_ENV_INJECTION.finding(
                f"job {job.id}: {reason} is written to ${target}; a newline in it defines "
                "arbitrary variables (LD_PRELOAD, NODE_OPTIONS...) or PATH entries for later "
                "steps",
                path=wf.path,
                line=line.line,
                key=occurrences.key(wf.path, f"ei|{job.id}|{line.text}"),
            )

    @staticmethod
    def _insecure_commands(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for where, entries in _env_scopes(wf):
            for entry in entries:
                if _enables_unsecure_commands(entry):
                    yield INSECURE_COMMANDS.finding(
                        f"{where}: ACTIONS_ALLOW_UNSECURE_COMMANDS={entry.value} re-enables the "
                        "deprecated `::set-env`/`::add-path` commands: any output line can set "
                        "variables for later steps",
                        path=wf.path,
                        line=entry.line,
                        key=occurrences.key(wf.path, f"ic|{where}"),
                    )
        for job in wf.jobs:
            for step in job.steps:
                for line in step_script(step):
                    if _UNSECURE_COMMANDS_RUN.search(line.text):
                        yield INSECURE_COMMANDS.finding(
                            f"job {job.id}: the step enables ACTIONS_ALLOW_UNSECURE_COMMANDS",
                            path=wf.path,
                            line=line.line,
                            key=occurrences.key(wf.path, f"ic|{job.id}|{line.text}"),
                        )


# --- supply chain ----------------------------------------------------------------------------

UNPINNED_ACTION = Rule(
    "pipeline/unpinned-action",
    Severity.MEDIUM,
    summary="a `uses:` of a third-party action or reusable workflow is not pinned to a full "
    "40-hex commit sha (`actions/*` and `github/*` by tag: `low`)",
    help="A tag or branch can be moved to other code at any time, by the action's owner or by "
    "whoever takes over its repository, and that code runs with the job's token and secrets. "
    "Pin the full commit sha and keep the version in a comment "
    "(`uses: owner/action@<sha> # v1.2.3`); Dependabot and Renovate keep such pins current.",
)
UNPINNED_IMAGE = Rule(
    "pipeline/unpinned-image",
    Severity.LOW,
    summary="a `container:` or `services:` image (or `docker://` action, or a GitLab CI "
    "`image:`) has no `@sha256:` digest",
    help="A tag is resolved by the registry when the job runs, so the registry, or whoever can "
    "push the tag, decides what runs in the job. Pin the digest: "
    "`image: node:20@sha256:<digest>`.",
)
CACHE_POISONING = Rule(
    "pipeline/cache-poisoning",
    Severity.MEDIUM,
    summary="a workflow that publishes or releases restores a cache that untrusted triggers "
    "can write",
    help="Caches are shared with runs that untrusted triggers can start, so a cache poisoned "
    "from a pull request ends up in the release. Do not restore caches in workflows that "
    "publish or release; build what you ship from a clean state.",
)


def _unpinned_image(
    path: str, where: str, image: str, line: int, occurrences: Occurrences
) -> Iterator[Finding]:
    image = image.strip()
    if not image or "${{" in image or _DIGEST.search(image):
        return
    yield UNPINNED_IMAGE.finding(
        f"{where}: image `{image}` has no @sha256: digest, so the registry decides what "
        "runs (pin `image@sha256:<digest>`)",
        path=path,
        line=line,
        key=occurrences.key(path, f"ui|{where}|{image}"),
    )


def _unpinned_action_message(where: str, uses: str) -> tuple[Severity, str]:
    """The severity and message for a ``uses:`` that is not pinned to a commit sha."""
    name, sep, ref = uses.partition("@")
    is_tag = bool(_VERSION_TAG.match(ref))
    owner = name.split("/", 1)[0].lower()
    # NOTE: GitHub's own actions by a version tag are low; by a branch they are not.
    first_party = owner in ("actions", "github") and is_tag
    what = "no ref at all"
    if sep:
        what = f"version tag `{ref}`" if is_tag else f"branch or ref `{ref}`"
    why = (
        "a first-party action by tag: the tag can still be moved"
        if first_party
        else "whoever controls that repository (or its tag) decides what runs here"
    )
    return (
        Severity.LOW if first_party else Severity.MEDIUM,
        f"{where}: `{uses}` is pinned to {what}, not a full commit sha; {why} "
        f"(pin `{name}@<40-hex sha>  # {ref or 'version'}`)",
    )


def _pushes(step: Step) -> bool:
    push = _with(step, "push")
    return push is not None and (push.value or "").lower() != "false"


def _publishing_trigger(wf: Workflow) -> str | None:
    for trigger in wf.triggers:
        if trigger.event == "release":
            return "runs on `release`"
        if trigger.event == "push" and trigger.tags:
            return "runs on pushed tags"
    return None


def _step_publishes(step: Step) -> str | None:
    if _uses_action(step, *_PUBLISH_ACTIONS):
        if _uses_action(step, "docker/build-push-action") and not _pushes(step):
            return None
        return f"publishes with `{_uses_name(step.uses)}`"
    for line in logical_lines(step.run or "", 1):
        if _PUBLISH_RUN.search(line.text):
            return f"publishes (`{line.text[:60]}`)"
    return None


def _publishes(wf: Workflow) -> str | None:
    """How the workflow publishes or releases, or None when it does not."""
    reason = _publishing_trigger(wf)
    steps = (step for job in wf.jobs for step in job.steps)
    while reason is None and (step := next(steps, None)) is not None:
        reason = _step_publishes(step)
    return reason


def _cache_input(step: Step) -> str:
    cache = _with(step, "cache")
    return (cache.value or "").strip().lower() if cache else ""


def _actions_cache(step: Step) -> str | None:
    if not _uses_action(step, "actions/cache"):
        return None
    name = _uses_name(step.uses)
    return None if name == "actions/cache/save" else name


def _rust_cache(step: Step) -> str | None:
    return "Swatinem/rust-cache" if _uses_action(step, "swatinem/rust-cache") else None


def _setup_cache_by_default(step: Step) -> str | None:
    if not _uses_action(step, *_SETUP_CACHE_DEFAULT_ON):
        return None
    major = re.match(r"v?(\d+)", (step.uses or "").partition("@")[2])
    default_on = major is None or int(major.group(1)) >= 4
    if _cache_input(step) in ("false", "0") or (_with(step, "cache") is None and not default_on):
        return None
    return f"{_uses_name(step.uses)} caches by default"


def _setup_with_cache(step: Step) -> str | None:
    value = _cache_input(step)
    if _uses_action(step, *_SETUP_WITH_CACHE) and value not in ("", "false", "0"):
        return f"{_uses_name(step.uses)} with cache: {value}"
    return None


def _setup_uv_cache(step: Step) -> str | None:
    enable = _with(step, "enable-cache")
    if _uses_action(step, "astral-sh/setup-uv") and enable is not None:
        if (enable.value or "").strip().lower() == "true":
            return "astral-sh/setup-uv with enable-cache"
    return None


# Each names the cache a step restores, or None; they match disjoint actions.
_CACHE_RESTORERS = (
    _actions_cache,
    _rust_cache,
    _setup_cache_by_default,
    _setup_with_cache,
    _setup_uv_cache,
)


def _restores_cache(step: Step) -> str | None:
    if step.uses is None:
        return None  # only actions restore caches
    return next((c for c in (f(step) for f in _CACHE_RESTORERS) if c is not None), None)


class GithubSupplyChain(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(UNPINNED_ACTION, UNPINNED_IMAGE, CACHE_POISONING)
    summary: ClassVar[str] = "actions and images not pinned, caches restored by publishers"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from super().run(evidence, ctx)
        for config in evidence.gitlab:
            yield from self._gitlab_images(config)

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        if wf.runs_image is not None and wf.runs_image.startswith("docker://"):
            image = wf.runs_image[len("docker://") :]
            yield from _unpinned_image(
                wf.path, "runs.image", image, wf.runs_image_line or 1, occurrences
            )
        yield from super().audit_workflow(wf, occurrences)
        yield from self._cache_poisoning(wf, occurrences)

    def audit_job(self, wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        if job.uses is not None:
            line = job.uses_line or job.line
            yield from self._action(wf, f"job {job.id}", job.uses, line, occurrences)
        yield from super().audit_job(wf, job, occurrences)
        for container in job_containers(job):
            if container.image is not None:
                where = (
                    f"job {job.id} service {container.name}"
                    if container.name
                    else f"job {job.id} container"
                )
                yield from _unpinned_image(
                    wf.path, where, container.image, container.image_line, occurrences
                )

    def audit_step(
        self, wf: Workflow, job: Job, step: Step, occurrences: Occurrences
    ) -> Iterator[Finding]:
        if step.uses is not None:
            line = step.uses_line or step.line
            yield from self._action(wf, f"job {job.id}", step.uses, line, occurrences)

    @staticmethod
    def _gitlab_images(config: GitlabCi) -> Iterator[Finding]:
        occurrences = Occurrences()
        images = [("default image", config.default_image, config.default_image_line)]
        images.extend((f"job {j.name} image", j.image, j.image_line) for j in config.jobs)
        for where, image, line in images:
            if image is not None and "$" not in image:
                yield from _unpinned_image(config.path, where, image, line or 1, occurrences)

    @staticmethod
    def _action(
        wf: Workflow, where: str, uses: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        uses = uses.strip()
        if uses.startswith(("./", ".\\")):
            return  # a local action or workflow: part of this tree, covered by its digest
        if uses.startswith("docker://"):
            yield from _unpinned_image(wf.path, where, uses[len("docker://") :], line, occurrences)
            return
        if "${{" in uses:
            return  # GitHub rejects expressions in `uses:`; the workflow would not run
        _, sep, ref = uses.partition("@")
        if sep and _SHA.match(ref):
            return
        severity, message = _unpinned_action_message(where, uses)
        yield UNPINNED_ACTION.finding(
            message,
            severity=severity,
            path=wf.path,
            line=line,
            key=occurrences.key(wf.path, f"ua|{uses}"),
        )

    @staticmethod
    def _cache_poisoning(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        if wf.kind != "workflow":
            return
        reason = _publishes(wf)
        if reason is None:
            return
        for job in wf.jobs:
            for step in job.steps:
                cache = _restores_cache(step)
                if cache is None:
                    continue
                yield CACHE_POISONING.finding(
                    f"job {job.id}: the workflow {reason} and restores a cache ({cache}); "
                    "caches are shared with runs that untrusted triggers can start, so a "
                    "poisoned cache ends up in the release (do not cache in publishing "
                    "workflows)",
                    path=wf.path,
                    line=step.uses_line or step.line,
                    key=occurrences.key(wf.path, f"cp|{job.id}|{step.uses}"),
                )


# --- tokens ----------------------------------------------------------------------------------

EXCESSIVE_PERMISSIONS = Rule(
    "pipeline/excessive-permissions",
    Severity.MEDIUM,
    summary="`permissions: write-all`, or a workflow with no `permissions` at any level (the "
    "token defaults may be write)",
    help="A token with write scopes lets any compromised step (an action, a dependency, an "
    "injected script) push code, publish packages or change settings. Set `permissions: {}` "
    "or `contents: read` at the top of the workflow and grant each job only the scopes it "
    "needs.",
)
SECRETS_INHERIT = Rule(
    "pipeline/secrets-inherit",
    Severity.MEDIUM,
    summary="a reusable workflow call passes `secrets: inherit`",
    help="Every secret of the repository is handed to the called workflow, including those it "
    "has no use for, and a compromise of that workflow exposes them all. Pass the secrets it "
    "needs by name (`secrets: {token: ${{ secrets.X }}}`).",
)


def _write_all(wf: Workflow) -> Iterator[Finding]:
    if wf.permissions is not None and wf.permissions.preset == "write-all":
        yield EXCESSIVE_PERMISSIONS.finding(
            "`permissions: write-all` gives every job a token that can push code, "
            "publish packages and change settings; grant only the scopes each job needs",
            path=wf.path,
            line=wf.permissions.line,
            key="workflow:write-all",
        )
    for job in wf.jobs:
        if job.permissions is not None and job.permissions.preset == "write-all":
            yield EXCESSIVE_PERMISSIONS.finding(
                f"job {job.id} has `permissions: write-all`; grant only the scopes it needs",
                path=wf.path,
                line=job.permissions.line,
                key=f"{job.id}:write-all",
            )


def _default_permissions(wf: Workflow) -> Iterator[Finding]:
    """Jobs that get the repository's default token: no ``permissions`` at any level."""
    if wf.permissions is not None or _events(wf) == {"workflow_call"}:
        return  # a reusable workflow runs with its caller's token; the caller is audited
    missing = [job for job in wf.jobs if job.permissions is None]
    if missing and len(missing) == len(wf.jobs):
        yield EXCESSIVE_PERMISSIONS.finding(
            "no `permissions:` at any level: the jobs get the repository's default token, "
            "which may be read-write; set `permissions: {}` (or `contents: read`) at the "
            "top and widen per job",
            path=wf.path,
            line=wf.triggers_line or 1,
            key="workflow:default",
        )
        return
    for job in missing:
        yield EXCESSIVE_PERMISSIONS.finding(
            f"job {job.id} has no `permissions:` and neither has the workflow: it gets the "
            "default token, which may be read-write",
            path=wf.path,
            line=job.line,
            key=f"{job.id}:default",
        )


class GithubTokens(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(EXCESSIVE_PERMISSIONS, SECRETS_INHERIT)
    summary: ClassVar[str] = "token permissions and secrets handed to other workflows"
    workflows_only: ClassVar[bool] = True

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        yield from _write_all(wf)
        yield from _default_permissions(wf)
        yield from super().audit_workflow(wf, occurrences)

    def audit_job(self, wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        if job.secrets == "inherit":
            yield SECRETS_INHERIT.finding(
                f"job {job.id} passes every secret of this repository to "
                f"`{job.uses}` (`secrets: inherit`); pass only the ones it needs",
                path=wf.path,
                line=job.secrets_line or job.line,
                key=job.id,
            )


AUDITS = (GithubTriggers, GithubInjection, GithubSupplyChain, GithubTokens)
