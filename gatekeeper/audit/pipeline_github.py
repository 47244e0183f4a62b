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
from gatekeeper.audit.pipeline_common import Occurrences, logical_lines, step_script
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import Job, KeyValue, PipelineEvidence, Step, Workflow

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


class GithubTriggers:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {
        "pipeline/dangerous-trigger": Severity.MEDIUM,
        "pipeline/untrusted-checkout": Severity.CRITICAL,
        "pipeline/self-hosted-runner": Severity.HIGH,
        "pipeline/persisted-credentials": Severity.MEDIUM,
    }
    summary: ClassVar[str] = "triggers that run on untrusted input, and what they expose"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for wf in evidence.workflows:
            if wf.kind != "workflow":
                continue
            yield from self._workflow(wf)

    def _workflow(self, wf: Workflow) -> Iterator[Finding]:
        events = _events(wf)
        for trigger in wf.triggers:
            if trigger.event in DANGEROUS_TRIGGERS:
                yield Finding.make(
                    "pipeline/dangerous-trigger",
                    Severity.MEDIUM,
                    f"`{trigger.event}` runs with the base repository's secrets and a write "
                    "token on events outsiders cause; never build or run the contributed code "
                    "in it (use `pull_request`, or split into an unprivileged workflow)",
                    path=wf.path,
                    line=trigger.line,
                    key=trigger.event,
                )
        occurrences = Occurrences()
        # NOTE: `issue_comment` runs in the base repository with secrets too; "/test" bots
        # that check out refs/pull/N/head from it are the same hole.
        privileged = events & (DANGEROUS_TRIGGERS | {"issue_comment"})
        for job in wf.jobs:
            if privileged:
                yield from self._untrusted_checkout(wf, job, sorted(privileged), occurrences)
            pr_events = sorted(events & PR_TRIGGERS)
            labels = [label.lower() for label in job.runs_on]
            if pr_events and "self-hosted" in labels:
                yield Finding.make(
                    "pipeline/self-hosted-runner",
                    Severity.HIGH,
                    f"job {job.id} runs on a self-hosted runner and the workflow runs on "
                    f"{', '.join(pr_events)}: a pull request from a fork can run code on that "
                    "machine and persist on it (use GitHub-hosted or ephemeral runners)",
                    path=wf.path,
                    line=job.runs_on_line or job.line,
                    key=job.id,
                )
            yield from self._persisted_credentials(wf, job, events, occurrences)

    def _untrusted_checkout(
        self, wf: Workflow, job: Job, dangerous: list[str], occurrences: Occurrences
    ) -> Iterator[Finding]:
        for step in job.steps:
            if _uses_action(step, "actions/checkout"):
                for key in ("ref", "repository"):
                    entry = _with(step, key)
                    if entry is not None and entry.value and _PR_HEAD.search(entry.value):
                        yield Finding.make(
                            "pipeline/untrusted-checkout",
                            Severity.CRITICAL,
                            f"job {job.id} checks out the pull request's code ({key}: "
                            f"{entry.value.strip()}) in a {'/'.join(dangerous)} workflow, which "
                            "has secrets and a write token: the contributed code can steal them",
                            path=wf.path,
                            line=entry.line,
                            key=occurrences.key(wf.path, f"uc|{job.id}|{entry.value.strip()}"),
                        )
                        break
            for line in step_script(step):
                if _RUN_CHECKOUT.search(line.text):
                    yield Finding.make(
                        "pipeline/untrusted-checkout",
                        Severity.CRITICAL,
                        f"job {job.id} fetches the pull request's code in a "
                        f"{'/'.join(dangerous)} workflow: `{line.text[:120]}`",
                        path=wf.path,
                        line=line.line,
                        key=occurrences.key(wf.path, f"uc|{job.id}|{line.text}"),
                    )

    def _persisted_credentials(
        self, wf: Workflow, job: Job, events: set[str], occurrences: Occurrences
    ) -> Iterator[Finding]:
        uploads = any(_uses_action(s, *_UPLOADERS) for s in job.steps)
        untrusted = sorted(events & UNTRUSTED_TRIGGERS)
        if not uploads and not untrusted:
            return
        reason = "uploads artifacts" if uploads else f"runs on {', '.join(untrusted)}"
        for step in job.steps:
            if not _uses_action(step, "actions/checkout"):
                continue
            persist = _with(step, "persist-credentials")
            value = (persist.value or "").strip().lower() if persist else ""
            if value == "false" or "${{" in value:
                continue
            yield Finding.make(
                "pipeline/persisted-credentials",
                Severity.MEDIUM,
                f"job {job.id}: actions/checkout leaves the token in .git/config and the job "
                f"{reason}; set `persist-credentials: false`",
                path=wf.path,
                line=step.uses_line or step.line,
                key=occurrences.key(wf.path, f"pc|{job.id}|{step.uses}"),
            )


class GithubInjection:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {
        "pipeline/template-injection": Severity.HIGH,
        "pipeline/github-env-injection": Severity.HIGH,
        "pipeline/insecure-commands": Severity.HIGH,
    }
    summary: ClassVar[str] = "attacker-controlled text reaching a shell, script or GITHUB_ENV"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for wf in evidence.workflows:
            occurrences = Occurrences()
            dangerous = bool(_events(wf) & DANGEROUS_TRIGGERS)
            yield from self._insecure_commands(wf, occurrences)
            for job in wf.jobs:
                for step in job.steps:
                    yield from self._template_injection(wf, job, step, occurrences)
                    yield from self._env_injection(wf, job, step, dangerous, occurrences)

    def _template_injection(
        self, wf: Workflow, job: Job, step: Step, occurrences: Occurrences
    ) -> Iterator[Finding]:
        tainted_env = _tainted_env_names(*_step_env_scopes(wf, job, step))
        sources: list[tuple[str, str, int, KeyValue | None]] = []
        if step.run is not None:
            sources.append(("run", step.run, step.run_line or step.line, None))
        if _uses_action(step, "actions/github-script"):
            script = _with(step, "script")
            if script is not None and script.value is not None:
                sources.append(("script", script.value, script.line, script))
        for where, text, _, entry in sources:
            hits = list(tainted_expressions(text))
            for match in _EXPR.finditer(text):
                inner = match.group(1).strip()
                ref = _ENV_REF.search(inner)
                if ref and ref.group(1) in tainted_env and not _BOOLEAN_ONLY.match(inner):
                    hits.append((match.start(), inner))
            for offset, inner in sorted(hits):
                line = entry.line_at(offset) if entry is not None else step.run_line_at(offset)
                yield Finding.make(
                    "pipeline/template-injection",
                    Severity.HIGH,
                    f"job {job.id}: `${{{{ {inner} }}}}` is expanded into the step's {where} "
                    "before it runs, so its author controls the code; pass it through `env:` "
                    'and use the variable ("$TITLE") instead',
                    path=wf.path,
                    line=line,
                    key=occurrences.key(wf.path, f"ti|{job.id}|{step.id or step.name}|{inner}"),
                )

    def _env_injection(
        self, wf: Workflow, job: Job, step: Step, dangerous: bool, occurrences: Occurrences
    ) -> Iterator[Finding]:
        if step.run is None:
            return
        tainted_env = _tainted_env_names(*_step_env_scopes(wf, job, step))
        var_ref = (
            re.compile(
                r"\$\{?(" + "|".join(re.escape(n) for n in sorted(tainted_env)) + r")\b"
                r"|\$env:(" + "|".join(re.escape(n) for n in sorted(tainted_env)) + r")\b"
            )
            if tainted_env
            else None
        )
        lines = step_script(step)
        for index, line in enumerate(lines):
            match = _ENV_FILE_WRITE.search(line.text)
            if not match:
                continue
            target = f"GITHUB_{match.group(1) or match.group(2)}".upper()
            content = line.text
            heredoc = _HEREDOC.search(line.text)
            if heredoc and _outside_quotes(line.text, heredoc.start()):
                for later in lines[index + 1 :]:
                    if later.text == heredoc.group(1):
                        break
                    content += "\n" + later.text
            reason = None
            if any(tainted_expressions(content)):
                reason = "an attacker-controlled expression"
            elif var_ref is not None and var_ref.search(content):
                reason = "an environment variable holding attacker-controlled text"
            elif dangerous and _INDIRECT_DATA.search(content):
                reason = "data read at run time in a pull_request_target/workflow_run workflow"
            if reason is None:
                continue
            yield Finding.make(
                "pipeline/github-env-injection",
                Severity.HIGH,
                f"job {job.id}: {reason} is written to ${target}; a newline in it defines "
                "arbitrary variables (LD_PRELOAD, NODE_OPTIONS...) or PATH entries for later "
                "steps",
                path=wf.path,
                line=line.line,
                key=occurrences.key(wf.path, f"ei|{job.id}|{line.text}"),
            )

    def _insecure_commands(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        scopes: list[tuple[str, list[KeyValue]]] = [("workflow env", wf.env)]
        for job in wf.jobs:
            scopes.append((f"job {job.id} env", job.env))
            if job.container is not None:
                scopes.append((f"job {job.id} container env", job.container.env))
            scopes.extend((f"job {job.id} step {s.id or s.index} env", s.env) for s in job.steps)
        for where, entries in scopes:
            for entry in entries:
                if entry.key.upper() != "ACTIONS_ALLOW_UNSECURE_COMMANDS":
                    continue
                value = (entry.value or "").strip().lower()
                if value in ("", "false", "0", "no", "off"):
                    continue
                yield Finding.make(
                    "pipeline/insecure-commands",
                    Severity.HIGH,
                    f"{where}: ACTIONS_ALLOW_UNSECURE_COMMANDS={entry.value} re-enables the "
                    "deprecated `::set-env`/`::add-path` commands: any output line can set "
                    "variables for later steps",
                    path=wf.path,
                    line=entry.line,
                    key=occurrences.key(wf.path, f"ic|{where}"),
                )
        pattern = re.compile(
            r"ACTIONS_ALLOW_UNSECURE_COMMANDS\s*=\s*[\"']?(?:true|1)\b", re.IGNORECASE
        )
        for job in wf.jobs:
            for step in job.steps:
                for line in step_script(step):
                    if pattern.search(line.text):
                        yield Finding.make(
                            "pipeline/insecure-commands",
                            Severity.HIGH,
                            f"job {job.id}: the step enables ACTIONS_ALLOW_UNSECURE_COMMANDS",
                            path=wf.path,
                            line=line.line,
                            key=occurrences.key(wf.path, f"ic|{job.id}|{line.text}"),
                        )


class GithubSupplyChain:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {
        "pipeline/unpinned-action": Severity.MEDIUM,
        "pipeline/unpinned-image": Severity.LOW,
        "pipeline/cache-poisoning": Severity.MEDIUM,
    }
    summary: ClassVar[str] = "actions and images not pinned, caches restored by publishers"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for wf in evidence.workflows:
            occurrences = Occurrences()
            if wf.runs_image is not None and wf.runs_image.startswith("docker://"):
                yield from self._image(
                    wf,
                    "runs.image",
                    wf.runs_image[len("docker://") :],
                    wf.runs_image_line or 1,
                    occurrences,
                )
            for job in wf.jobs:
                if job.uses is not None:
                    yield from self._action(
                        wf, f"job {job.id}", job.uses, job.uses_line or job.line, occurrences
                    )
                for step in job.steps:
                    if step.uses is not None:
                        yield from self._action(
                            wf, f"job {job.id}", step.uses, step.uses_line or step.line, occurrences
                        )
                containers = ([job.container] if job.container else []) + list(job.services)
                for container in containers:
                    if container.image is not None:
                        where = (
                            f"job {job.id} service {container.name}"
                            if container.name
                            else f"job {job.id} container"
                        )
                        yield from self._image(
                            wf, where, container.image, container.image_line, occurrences
                        )
            yield from self._cache_poisoning(wf, occurrences)
        for config in evidence.gitlab:
            occurrences = Occurrences()
            images = [("default image", config.default_image, config.default_image_line)]
            images.extend((f"job {j.name} image", j.image, j.image_line) for j in config.jobs)
            for where, image, line in images:
                if image is not None and "$" not in image:
                    yield from self._image_at(config.path, where, image, line or 1, occurrences)

    def _action(
        self, wf: Workflow, where: str, uses: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        uses = uses.strip()
        if uses.startswith("./") or uses.startswith(".\\"):
            return  # a local action or workflow: part of this tree, covered by its digest
        if uses.startswith("docker://"):
            yield from self._image(wf, where, uses[len("docker://") :], line, occurrences)
            return
        if "${{" in uses:
            return  # GitHub rejects expressions in `uses:`; the workflow would not run
        name, sep, ref = uses.partition("@")
        if sep and _SHA.match(ref):
            return
        owner = name.split("/", 1)[0].lower()
        # NOTE: GitHub's own actions by a version tag are low; by a branch they are not.
        first_party = owner in ("actions", "github") and bool(_VERSION_TAG.match(ref))
        severity = Severity.LOW if first_party else Severity.MEDIUM
        what = (
            (f"version tag `{ref}`" if _VERSION_TAG.match(ref) else f"branch or ref `{ref}`")
            if sep
            else "no ref at all"
        )
        why = (
            "a first-party action by tag: the tag can still be moved"
            if first_party
            else "whoever controls that repository (or its tag) decides what runs here"
        )
        yield Finding.make(
            "pipeline/unpinned-action",
            severity,
            f"{where}: `{uses}` is pinned to {what}, not a full commit sha; {why} "
            f"(pin `{name}@<40-hex sha>  # {ref or 'version'}`)",
            path=wf.path,
            line=line,
            key=occurrences.key(wf.path, f"ua|{uses}"),
        )

    def _image(
        self, wf: Workflow, where: str, image: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        yield from self._image_at(wf.path, where, image, line, occurrences)

    @staticmethod
    def _image_at(
        path: str, where: str, image: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        image = image.strip()
        if not image or "${{" in image or _DIGEST.search(image):
            return
        yield Finding.make(
            "pipeline/unpinned-image",
            Severity.LOW,
            f"{where}: image `{image}` has no @sha256: digest, so the registry decides what "
            "runs (pin `image@sha256:<digest>`)",
            path=path,
            line=line,
            key=occurrences.key(path, f"ui|{where}|{image}"),
        )

    def _cache_poisoning(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        if wf.kind != "workflow":
            return
        reason = self._publishes(wf)
        if reason is None:
            return
        for job in wf.jobs:
            for step in job.steps:
                cache = self._restores_cache(step)
                if cache is None:
                    continue
                yield Finding.make(
                    "pipeline/cache-poisoning",
                    Severity.MEDIUM,
                    f"job {job.id}: the workflow {reason} and restores a cache ({cache}); "
                    "caches are shared with runs that untrusted triggers can start, so a "
                    "poisoned cache ends up in the release (do not cache in publishing "
                    "workflows)",
                    path=wf.path,
                    line=step.uses_line or step.line,
                    key=occurrences.key(wf.path, f"cp|{job.id}|{step.uses}"),
                )

    @staticmethod
    def _publishes(wf: Workflow) -> str | None:
        for trigger in wf.triggers:
            if trigger.event == "release":
                return "runs on `release`"
            if trigger.event == "push" and trigger.tags:
                return "runs on pushed tags"
        for job in wf.jobs:
            for step in job.steps:
                if _uses_action(step, *_PUBLISH_ACTIONS):
                    push = _with(step, "push")
                    if _uses_action(step, "docker/build-push-action") and (
                        push is None or (push.value or "").lower() == "false"
                    ):
                        continue
                    return f"publishes with `{_uses_name(step.uses)}`"
                if step.run is not None:
                    for line in logical_lines(step.run, 1):
                        if _PUBLISH_RUN.search(line.text):
                            return f"publishes (`{line.text[:60]}`)"
        return None

    @staticmethod
    def _restores_cache(step: Step) -> str | None:
        if _uses_action(step, "actions/cache"):
            name = _uses_name(step.uses)
            return None if name == "actions/cache/save" else name
        if _uses_action(step, "swatinem/rust-cache"):
            return "Swatinem/rust-cache"
        cache = _with(step, "cache")
        cache_value = (cache.value or "").strip().lower() if cache else ""
        if _uses_action(step, *_SETUP_CACHE_DEFAULT_ON):
            ref = (step.uses or "").partition("@")[2]
            major = re.match(r"v?(\d+)", ref)
            default_on = major is None or int(major.group(1)) >= 4
            if cache_value in ("false", "0") or (cache is None and not default_on):
                return None
            return f"{_uses_name(step.uses)} caches by default"
        if _uses_action(step, *_SETUP_WITH_CACHE) and cache_value not in ("", "false", "0"):
            return f"{_uses_name(step.uses)} with cache: {cache_value}"
        enable = _with(step, "enable-cache")
        if (
            _uses_action(step, "astral-sh/setup-uv")
            and enable is not None
            and ((enable.value or "").strip().lower() == "true")
        ):
            return "astral-sh/setup-uv with enable-cache"
        return None


class GithubTokens:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {
        "pipeline/excessive-permissions": Severity.MEDIUM,
        "pipeline/secrets-inherit": Severity.MEDIUM,
    }
    summary: ClassVar[str] = "token permissions and secrets handed to other workflows"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for wf in evidence.workflows:
            if wf.kind != "workflow":
                continue
            yield from self._permissions(wf)
            for job in wf.jobs:
                if job.secrets == "inherit":
                    yield Finding.make(
                        "pipeline/secrets-inherit",
                        Severity.MEDIUM,
                        f"job {job.id} passes every secret of this repository to "
                        f"`{job.uses}` (`secrets: inherit`); pass only the ones it needs",
                        path=wf.path,
                        line=job.secrets_line or job.line,
                        key=job.id,
                    )

    def _permissions(self, wf: Workflow) -> Iterator[Finding]:
        if wf.permissions is not None and wf.permissions.preset == "write-all":
            yield Finding.make(
                "pipeline/excessive-permissions",
                Severity.MEDIUM,
                "`permissions: write-all` gives every job a token that can push code, "
                "publish packages and change settings; grant only the scopes each job needs",
                path=wf.path,
                line=wf.permissions.line,
                key="workflow:write-all",
            )
        for job in wf.jobs:
            if job.permissions is not None and job.permissions.preset == "write-all":
                yield Finding.make(
                    "pipeline/excessive-permissions",
                    Severity.MEDIUM,
                    f"job {job.id} has `permissions: write-all`; grant only the scopes it needs",
                    path=wf.path,
                    line=job.permissions.line,
                    key=f"{job.id}:write-all",
                )
        if wf.permissions is not None:
            return
        if _events(wf) == {"workflow_call"}:
            return  # a reusable workflow runs with its caller's token; the caller is audited
        missing = [job for job in wf.jobs if job.permissions is None]
        if not missing:
            return
        if len(missing) == len(wf.jobs):
            yield Finding.make(
                "pipeline/excessive-permissions",
                Severity.MEDIUM,
                "no `permissions:` at any level: the jobs get the repository's default token, "
                "which may be read-write; set `permissions: {}` (or `contents: read`) at the "
                "top and widen per job",
                path=wf.path,
                line=wf.triggers_line or 1,
                key="workflow:default",
            )
            return
        for job in missing:
            yield Finding.make(
                "pipeline/excessive-permissions",
                Severity.MEDIUM,
                f"job {job.id} has no `permissions:` and neither has the workflow: it gets the "
                "default token, which may be read-write",
                path=wf.path,
                line=job.line,
                key=f"{job.id}:default",
            )


AUDITS = (GithubTriggers, GithubInjection, GithubSupplyChain, GithubTokens)
