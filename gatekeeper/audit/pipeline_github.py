"""GitHub Actions rules over parsed workflows and actions (and GitLab CI job images).

Triggers and what they expose: ``dangerous-trigger``, ``untrusted-checkout``,
``self-hosted-runner``, ``persisted-credentials``, ``bot-condition``. Injection:
``template-injection``, ``github-env-injection``, ``artifact-poisoning``,
``insecure-commands``, ``unsound-contains``. Supply chain: ``unpinned-action``,
``unpinned-image``, ``cache-poisoning``, ``known-vulnerable-action``, ``disallowed-action``.
Tokens and secrets: ``excessive-permissions``, ``secrets-inherit``,
``overprovisioned-secrets``.

Severity follows exploitability (``_exposure``): high or critical only when an outsider can
cause the event, the job's conditions let it through, and the job has secrets or a write
token to lose; otherwise medium, low or info, and the message says which condition is
missing. The flow analysis (``_gha_flow``) runs once per evidence and is shared.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from gatekeeper.audit import _gha_catalogue as catalogue
from gatekeeper.audit._gha_expr import (
    BinOp,
    Expr,
    Lit,
    Ref,
    calls,
    comparisons,
    condition_tree,
    context_refs,
    find_expressions,
    unparse,
)
from gatekeeper.audit._gha_flow import Sink, Site, Taint, analyse, is_local_uses
from gatekeeper.audit._gha_reach import reach
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.pipeline_common import (
    Occurrences,
    WorkflowAudit,
    job_containers,
    logical_lines,
)
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import (
    GitlabCi,
    Job,
    KeyValue,
    PipelineEvidence,
    Step,
    Workflow,
)

_SHA = re.compile(r"^[0-9a-f]{40}$")
_VERSION_TAG = re.compile(r"^v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z.-]+)?$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_SECRETS_REF = re.compile(r"\bsecrets\s*(?:\.\s*(?!github_token\b)[A-Za-z_]|\[)", re.IGNORECASE)
_PUBLISH_RUN = re.compile(
    r"\b(?:npm|yarn|pnpm)\s+publish\b|\btwine\s+upload\b|\bdocker\s+(?:image\s+)?push\b|"
    r"\bgh\s+release\s+(?:create|upload)\b|\bcargo\s+publish\b|\b(?:poetry|uv|hatch|flit)\s+"
    r"publish\b|\bmvn\b.*\bdeploy\b|\bgradlew?\b.*\bpublish\b|\bgem\s+push\b|\bgoreleaser\b"
    r"(?!.*--snapshot)|\bdotnet\s+nuget\s+push\b|\bnuget\s+push\b|\bvsce\s+publish\b"
)
# A word every alternative of _PUBLISH_RUN needs (a logical line joins the script's lines
# with spaces, so none is ever split): a script without any is skipped.
_PUBLISH_WORDS = ("publish", "upload", "push", "create", "deploy", "goreleaser")
_DRY_RUN = re.compile(r"--dry-run\b|--dryrun\b|\s-n\b(?=.*\bpublish\b)|--snapshot\b")
_UNSECURE_COMMANDS_RUN = re.compile(
    r"ACTIONS_ALLOW_UNSECURE_COMMANDS\s*=\s*[\"']?(?:true|1|\$true)\b", re.IGNORECASE
)
# What every match of _UNSECURE_COMMANDS_RUN holds: a step's script without it is skipped
# (a logical line joins the script's lines with spaces, so the name is never split).
_UNSECURE_COMMANDS_NAME = re.compile("ACTIONS_ALLOW_UNSECURE_COMMANDS", re.IGNORECASE)
_RUNNER_TRUE = ("1", "true", "$true")  # the runner's ConvertToBoolean
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_FIRST_PARTY = ("actions/", "github/")
_UPLOADERS = ("actions/upload-artifact", "actions/upload-pages-artifact")
_WORKSPACE_PATHS = re.compile(
    r"^(?:\.|\./|\*|\*\*|\./\*\*?|\$\{\{\s*github\.workspace\s*\}\}/?|\$GITHUB_WORKSPACE/?|"
    r"\.git(?:/.*)?|"
    # A hosted runner's work directory ($RUNNER_WORKSPACE's parent), the repository's directory
    # in it, or the checkout itself, on Linux (home) and macOS (Users); a directory
    # below the checkout (`…/R/R/dist`) is not the workspace.
    r"/?(?:home|Users)/runner/work(?:/[^/]+){0,2}/?)$"
)
_BOT_ACTORS = frozenset(
    {
        "github.actor",
        "github.triggering_actor",
        "github.event.sender.login",
        "github.actor_id",
        "github.triggering_actor_id",
        "github.event.sender.id",
    }
)
_BOT_LITERAL = re.compile(r"\[bot\]$|^\d{6,}$", re.IGNORECASE)
_SPOOFABLE_NEEDLES = frozenset(
    {
        "github.ref",
        "github.ref_name",
        "github.head_ref",
        "github.base_ref",
        "github.actor",
        "github.triggering_actor",
        "env.github_ref",
        "env.github_ref_name",
        "env.github_head_ref",
        "env.github_actor",
    }
)


def _uses_name(uses: str | None) -> str:
    return catalogue.uses_name(uses)


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


# --- exposure: who can reach a job and what it holds -------------------------------------------


def job_is_self_hosted(job: Job) -> bool:
    return any("self-hosted" in (label.lower() for label in labels) for labels in job.runner_sets)


def _job_texts(wf: Workflow, job: Job) -> Iterator[str]:
    for entry in (*wf.env, *job.env, *job.with_):
        yield entry.value or ""
    if isinstance(job.secrets, list):
        for entry in job.secrets:
            yield entry.value or ""
    for step in job.steps:
        yield step.run or ""
        for entry in (*step.env, *step.with_):
            yield entry.value or ""


def uses_secrets(wf: Workflow, job: Job) -> bool:
    """Whether the job reads secrets other than the job token (or inherits all of them)."""
    if job.secrets == "inherit":
        return True
    return any(_SECRETS_REF.search(text) for text in _job_texts(wf, job))


def token_writable(wf: Workflow, job: Job) -> bool | None:
    """True: some scope is write; False: read-only or none; None: GitHub's default (unknown)."""
    permissions = job.permissions or wf.permissions
    if permissions is None:
        return None
    if permissions.preset is not None:
        return permissions.preset.strip().lower() == "write-all"
    return any((s.value or "").strip().lower() == "write" for s in permissions.scopes)


@dataclass(frozen=True)
class Exposure:
    severity: Severity
    why: str


def _conditions_text(site: Site) -> str:
    return " and ".join(f"`{c.strip()}`" for c in site.conditions) or "its conditions"


def _holdings(site: Site) -> str | None:
    """What the job has to lose, or None when it has neither secrets nor a write token."""
    wf, job = site.workflow, site.job
    held = []
    if uses_secrets(wf, job):
        held.append("secrets")
    writable = token_writable(wf, job)
    if writable is None:
        held.append("the default token (which may be read-write)")
    elif writable:
        held.append("a write token")
    return " and ".join(held) or None


def _exposure(site: Site, taint: Taint, top: Severity) -> Exposure:
    """How exploitable one tainted value is at ``site`` (see the module docstring)."""
    if taint.control == "caller":
        return Exposure(
            Severity.LOW,
            f"the value comes from {taint.origin}: whoever calls it decides what runs",
        )
    relevant = sorted(taint.events & set(site.events))
    if not relevant:
        return _not_carried(site, taint)
    open_events, gated = _reached(site, taint, relevant)
    if not open_events and not gated:
        return Exposure(
            Severity.LOW,
            f"the conditions {_conditions_text(site)} keep out the events that carry "
            f"{taint.origin} ({', '.join(relevant)})",
        )
    if taint.control == "contributor":
        return Exposure(
            Severity.MEDIUM,
            f"{taint.origin} is text a contributor wrote that reaches this workflow only after a "
            "maintainer merges, pushes or relays it",
        )
    if open_events:
        return _open_exposure(site, taint, top, open_events)
    event = gated[0]
    return Exposure(
        _lower(top, 1) if top == Severity.CRITICAL else _lower(top, 2),
        f"`{event}` reaches the job only after a maintainer acts ({_conditions_text(site)}); "
        "the outsider's text is still in it then",
    )


def _not_carried(site: Site, taint: Taint) -> Exposure:
    """No trigger of this workflow carries the tainted value (or the caller's trigger decides)."""
    if site.caller_unknown:
        return Exposure(
            Severity.MEDIUM,
            f"{taint.origin} is written by outsiders on some events; whether it is here "
            "depends on the trigger of the workflow that calls this one",
        )
    shown = ", ".join(sorted(site.events)) or "none"
    return Exposure(
        Severity.LOW,
        f"none of the workflow's triggers ({shown}) carries {taint.origin}, so it is empty here",
    )


def _reached(site: Site, taint: Taint, relevant: list[str]) -> tuple[list[str], list[str]]:
    """The events that reach the site unconditionally, and those a maintainer's act gates."""
    open_events: list[str] = []
    gated: list[str] = []
    for event in relevant:
        reached = reach(site.conditions, event)
        if reached == "open":
            open_events.append(event)
        elif reached == "gated" and not taint.actor_written:
            gated.append(event)
    return open_events, gated


def _open_exposure(site: Site, taint: Taint, top: Severity, open_events: list[str]) -> Exposure:
    """An outsider's event reaches the site: privileged, self-hosted, or a fork's own run."""
    info = catalogue.events()
    privileged = [
        e
        for e in open_events
        if info[e].privileged == "always"
        or (info[e].privileged == "same-repo" and taint.actor_written)
    ]
    if privileged:
        event = privileged[0]
        who = info[event].who
        holdings = _holdings(site)
        if holdings is None:
            return Exposure(
                _lower(top, 1) if top == Severity.CRITICAL else top,
                f"an outsider can cause `{event}` ({who}); the job has no secrets and a "
                "read-only token, but the code runs in the base repository's context (it can "
                "write the caches later runs restore)",
            )
        return Exposure(
            top,
            f"an outsider can cause `{event}` ({who}) and the job holds {holdings}",
        )
    event = open_events[0]
    if job_is_self_hosted(site.job):
        return Exposure(top, f"`{event}` ({info[event].who}) reaches a self-hosted runner")
    return Exposure(
        _lower(top, 2),
        f"`{event}` from a fork runs without secrets and with a read-only token (its author "
        "can change the workflow in the pull request anyway)",
    )


def _lower(severity: Severity, steps: int) -> Severity:
    order = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    return order[max(0, order.index(severity) - steps)]


def _assess(
    sink: Sink, top: Severity, taints: Iterable[Taint] | None = None
) -> tuple[Exposure, Taint]:
    best: tuple[Exposure, Taint] | None = None
    for taint in taints if taints is not None else sink.taints:
        exposure = _exposure(sink.site, taint, top)
        if best is None or exposure.severity.rank > best[0].severity.rank:
            best = (exposure, taint)
    if best is None:
        raise ValueError("a sink without a taint")  # the flow never records one
    return best


def _report(sink: Sink) -> tuple[str, int]:
    return sink.site.report_path, sink.site.report_line or sink.line


def _path_text(sink: Sink, taint: Taint) -> str:
    """The whole path, source to sink, when it has hops or crosses files."""
    at = f"{sink.what} at {sink.path}:{sink.line}"
    hops = list(taint.hops)
    if not hops and not sink.site.chain and sink.path == sink.site.report_path:
        return ""
    return "; path: " + " → ".join(
        (taint.origin, *hops, *(f"via {c}" for c in sink.site.chain), at)
    )


# --- triggers --------------------------------------------------------------------------------

DANGEROUS_TRIGGER = Rule(
    "pipeline/dangerous-trigger",
    Severity.MEDIUM,
    summary="a privileged trigger an outsider can fire (`pull_request_target`, `workflow_run`, "
    "`issue_comment`, `issues`, review and discussion events, `fork`, `watch`) is used with "
    "something to lose (secrets, a checkout, scripts or third-party actions); a labeler-only "
    "workflow is low",
    help="These workflows run with the base repository's secrets and a write token on events "
    "outsiders cause; they are where an untrusted checkout or a template injection turns into "
    "stolen secrets, so each deserves a reviewer's attention. Prefer `pull_request`; when the "
    "privileged trigger is needed, never build or run the contributed code in it (split the "
    "work into an unprivileged workflow and a privileged one that reads its results as data).",
)
UNTRUSTED_CHECKOUT = Rule(
    "pipeline/untrusted-checkout",
    Severity.CRITICAL,
    summary="a workflow that runs with the base repository's privileges on an outsider's "
    "trigger (`pull_request_target`, `workflow_run`, `issue_comment`, `issues`, "
    "`discussion(_comment)`) checks out the pull request's head (ref or sha from the event, "
    "`refs/pull/…`, resolved through the API, or `gh pr checkout` / `git fetch` in `run:`)",
    help="The contributed code then runs with the base repository's secrets and write token "
    '(a "pwn request"). Build contributed code under `pull_request`, which has no secrets; '
    "when results must be reported back, upload them as an artifact and let a separate "
    "`workflow_run` workflow read the artifact as data.",
)
SELF_HOSTED_RUNNER = Rule(
    "pipeline/self-hosted-runner",
    Severity.HIGH,
    summary="a self-hosted runner serves a workflow that outsiders can trigger (fork pull "
    "requests, comments, reviews, issues, discussions, stars, forks)",
    help="A fork's pull request can run code on that machine, read what other jobs left there "
    "and persist on it for later builds; any event an outsider causes starts jobs on it. Run "
    "such workflows on GitHub-hosted or ephemeral, isolated runners.",
)
PERSISTED_CREDENTIALS = Rule(
    "pipeline/persisted-credentials",
    Severity.MEDIUM,
    summary="`actions/checkout` keeps credentials (no `persist-credentials: false`) in a job "
    "that uploads the workspace or runs on outsiders' events",
    help="The checkout stores the job's token in `.git/config`, where later steps, uploaded "
    "artifacts and code from the pull request can read it. Add `persist-credentials: false` "
    "to the checkout step.",
)
BOT_CONDITION = Rule(
    "pipeline/bot-condition",
    Severity.HIGH,
    summary="an `if:` trusts `github.actor` (or `triggering_actor`, `sender`) to be a bot "
    "(`== 'dependabot[bot]'`) in a workflow outsiders can trigger",
    help="`github.actor` is whoever caused the latest event, not who wrote the code: an "
    "outsider can make a bot the actor (by having it update their pull request) and pass the "
    "check. Check the pull request's author (`github.event.pull_request.user.login`) and, "
    "better, do not give bot pull requests privileges their content could abuse.",
)

_DANGEROUS = ("pull_request_target", "workflow_run")


def _third_party(job: Job) -> list[str]:
    return sorted(
        {
            name
            for step in job.steps
            if (name := _uses_name(step.uses))
            and not name.startswith(_FIRST_PARTY)
            and not is_local_uses(step.uses)
            and not name.startswith("docker://")
        }
    )


def _exposed(wf: Workflow, job: Job, event: str) -> list[str]:
    """What an outsider's ``event`` can reach in ``job`` (empty: nothing to go after)."""
    # NOTE: the event's text passed to steps through env is the safe way to use it; where
    # it reaches a script or an environment file, the injection rules report that.
    found: list[str] = []
    third = _third_party(job)
    if third:
        found.append(
            f"runs third-party actions, which can read the event's payload ({', '.join(third[:3])})"
        )
    if any(
        _uses_name(s.uses) in ("dawidd6/action-download-artifact",)
        or (_uses_action(s, "actions/download-artifact") and _with(s, "run-id") is not None)
        for s in job.steps
    ):
        found.append("downloads the triggering run's artifacts")
    if job.uses is not None and not is_local_uses(job.uses):
        found.append(f"calls {job.uses}")
    return found


def _outsider_jobs(wf: Workflow, event: str) -> list[Job]:
    """Jobs an outsider's ``event`` starts without a maintainer acting."""
    return [job for job in wf.jobs if reach(_job_conditions(job), event) == "open"]


def _trigger_exposure(wf: Workflow, event: str, sinks: list[Sink]) -> tuple[Severity, str]:
    """MEDIUM when a job an outsider's ``event`` reaches holds secrets or a write token and
    lets the event's input reach something; LOW otherwise, saying what is missing."""
    spec = catalogue.events()[event]
    head = [
        s.site.job.id
        for s in sinks
        if s.kind == "checkout" and any(event in t.events for t in s.taints)
    ]
    if head:
        return Severity.MEDIUM, f"job {head[0]} checks out the pull request's code"
    jobs = _outsider_jobs(wf, event)
    if not jobs:
        return Severity.LOW, "every job's condition keeps outsiders out"
    if not spec.text and spec.code == "base":
        return Severity.LOW, "an outsider can start it but passes it no text or code"
    if spec.privileged == "same-repo":
        return (
            Severity.LOW,
            "it is privileged only on pull requests from this repository's branches",
        )
    unprotected: list[str] = []
    for job in jobs:
        if any(
            sink.kind == "checkout"
            and sink.site.job is job
            and any(event in t.events for t in sink.taints)
            for sink in sinks
        ):
            return Severity.MEDIUM, f"job {job.id} checks out the pull request's code"
        holdings = _holdings(Site(wf, job, (), (), frozenset(), False, wf.path, None))
        exposed = _exposed(wf, job, event)
        if holdings and exposed:
            return Severity.MEDIUM, f"job {job.id} holds {holdings} and {'; '.join(exposed)}"
        if exposed:
            unprotected.append(
                f"job {job.id} {'; '.join(exposed)} but holds no secrets and a read-only token"
            )
    if unprotected:
        return Severity.LOW, unprotected[0]
    return Severity.LOW, (
        "no job passes the event's text to a script or a third-party action, or runs the "
        "triggering run's artifacts (only GitHub's own actions and maintainers' scripts)"
    )


def _job_conditions(job: Job) -> tuple[str, ...]:
    return (job.if_,) if job.if_ else ()


def _runs_after(job_steps: list[Step], step: Step) -> bool:
    """Whether anything that can run checked-out code follows ``step`` in its job."""
    for later in job_steps:
        if later.index <= step.index:
            continue
        if later.run is not None or is_local_uses(later.uses):
            return True
        name = _uses_name(later.uses)
        if name and not name.startswith(("actions/upload-artifact", "actions/cache")):
            return True
    return False


class GithubTriggers(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(
        DANGEROUS_TRIGGER,
        UNTRUSTED_CHECKOUT,
        SELF_HOSTED_RUNNER,
        PERSISTED_CREDENTIALS,
        BOT_CONDITION,
    )
    summary: ClassVar[str] = "triggers that run on untrusted input, and what they expose"

    def findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        analysis = analyse(evidence)
        for wf in evidence.workflows:
            occurrences = Occurrences()
            if wf.kind == "workflow":
                yield from self._dangerous_triggers(wf, analysis.for_file(wf.path))
                for job in wf.jobs:
                    yield from self._self_hosted_runner(wf, job, analysis.for_file(wf.path))
            for job in wf.jobs:
                yield from self._persisted_credentials(
                    wf, job, occurrences, analysis.for_file(wf.path)
                )
                yield from self._bot_conditions(wf, job, occurrences)
        yield from self._untrusted_checkouts(analysis.sinks)

    @staticmethod
    def _dangerous_triggers(wf: Workflow, sinks: list[Sink]) -> Iterator[Finding]:
        info = catalogue.events()
        for trigger in wf.triggers:
            event = info.get(trigger.event)
            if event is None or not event.outsider or event.privileged == "never":
                continue
            severity, why = _trigger_exposure(wf, trigger.event, sinks)
            yield DANGEROUS_TRIGGER.finding(
                f"`{trigger.event}` runs with the base repository's secrets and a write token on "
                f"events {event.who} causes; {why} (never build or run contributed code in it)",
                severity=severity,
                path=wf.path,
                line=trigger.line,
                key=trigger.event,
            )

    @staticmethod
    def _untrusted_checkouts(sinks: list[Sink]) -> Iterator[Finding]:
        occurrences = Occurrences()
        info = catalogue.events()
        for sink in sinks:
            if sink.kind != "checkout":
                continue
            best: tuple[Severity, str] | None = None
            for taint in sink.taints:
                for event in sorted(taint.events & sink.site.events):
                    if info[event].privileged != "always":
                        continue
                    reached = reach(sink.site.conditions, event)
                    if reached == "closed":
                        continue
                    severity, why = _checkout_severity(sink, event, reached)
                    if best is None or severity.rank > best[0].rank:
                        best = (severity, why)
                if best is None and sink.site.caller_unknown and taint.events & set(_DANGEROUS):
                    best = (
                        Severity.HIGH,
                        "if the workflow that calls this one runs on pull_request_target or "
                        "workflow_run, the contributed code runs with its secrets",
                    )
            if best is None:
                continue
            path, line = _report(sink)
            yield UNTRUSTED_CHECKOUT.finding(
                f"{sink.where}: {sink.what} `{sink.detail}` checks out the pull request's code; "
                f"{best[1]}{_path_text(sink, sink.taints[0])}",
                severity=best[0],
                path=path,
                line=line,
                key=occurrences.key(path, f"uc|{sink.where}|{sink.detail}"),
            )

    @staticmethod
    def _self_hosted_runner(wf: Workflow, job: Job, sinks: list[Sink]) -> Iterator[Finding]:
        if not job_is_self_hosted(job):
            return
        info = catalogue.events()
        head_checkout = any(s.kind == "checkout" and s.site.job is job for s in sinks)
        best: tuple[Severity, str] | None = None
        for event in sorted(_events(wf)):
            spec = info.get(event)
            if spec is None or not spec.outsider:
                continue
            reached = reach(_job_conditions(job), event)
            if reached == "closed":
                continue
            if spec.code == "merge" or head_checkout:
                severity = Severity.HIGH if reached == "open" else Severity.MEDIUM
                why = f"`{event}` ({spec.who}) runs the contributor's code on that machine"
            else:
                severity = Severity.MEDIUM
                why = (
                    f"`{event}` ({spec.who}) starts jobs on it; its own code does not run "
                    "there, but any injection or poisoned cache does"
                )
            if reached == "gated":
                why += f" once a maintainer acts ({job.if_})"
            if best is None or severity.rank > best[0].rank:
                best = (severity, why)
        if best is None:
            return
        yield SELF_HOSTED_RUNNER.finding(
            f"job {job.id} runs on a self-hosted runner: {best[1]}; it can persist on the machine "
            "(use GitHub-hosted or ephemeral runners)",
            severity=best[0],
            path=wf.path,
            line=job.runs_on_line or job.line,
            key=job.id,
        )

    @staticmethod
    def _persisted_credentials(
        wf: Workflow, job: Job, occurrences: Occurrences, sinks: list[Sink]
    ) -> Iterator[Finding]:
        for step in job.steps:
            if not _uses_action(step, "actions/checkout") or not _persists_credentials(step):
                continue
            severity, why = _credential_exposure(wf, job, step, sinks)
            yield PERSISTED_CREDENTIALS.finding(
                f"job {job.id}: actions/checkout leaves the job's token on disk (no "
                f"`persist-credentials: false`); {why}",
                severity=severity,
                path=wf.path,
                line=step.uses_line or step.line,
                key=occurrences.key(wf.path, f"pc|{job.id}|{step.uses}"),
            )

    @staticmethod
    def _bot_conditions(wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        events = _events(wf)
        info = catalogue.events()
        outsider = sorted(e for e in events if e in info and info[e].outsider)
        privileged = [e for e in outsider if info[e].privileged == "always"]
        sites = [(f"job {job.id}", job.if_, job.key_lines.get("if", job.line))]
        sites += [
            (
                f"job {job.id}, step {s.id or s.name or s.index}",
                s.if_,
                s.key_lines.get("if", s.line),
            )
            for s in job.steps
        ]
        for where, condition, line in sites:
            tree = condition_tree(condition)
            if tree is None:
                continue
            for compared in _bot_comparisons(tree):
                if privileged:
                    severity = Severity.HIGH
                    why = f"on `{privileged[0]}` an outsider can make the bot the actor"
                elif outsider:
                    severity = Severity.MEDIUM
                    why = f"on `{outsider[0]}` the actor is whoever acted last, not the author"
                else:
                    severity = Severity.LOW
                    why = "no trigger of this workflow is an outsider's, but the check is unsound"
                yield BOT_CONDITION.finding(
                    f"{where}: `{compared}` trusts the actor to be a bot; {why} (check "
                    "`github.event.pull_request.user.login` instead)",
                    severity=severity,
                    path=wf.path,
                    line=line,
                    key=occurrences.key(wf.path, f"bc|{where}|{compared}"),
                )


def _checkout_severity(sink: Sink, event: str, reached: str) -> tuple[Severity, str]:
    who = catalogue.events()[event].who
    held = _holdings(sink.site)
    holdings = held or "no secrets and a read-only token (but the repository's caches)"
    steps = sink.site.job.steps if sink.path == sink.site.workflow.path else []
    runs = _runs_after(steps, sink.step) if steps else True
    if reached == "gated":
        pinned = "head.sha" in sink.detail or "head_sha" in sink.detail
        if pinned:
            return (
                Severity.MEDIUM,
                f"it runs on `{event}` only after a maintainer acts "
                f"({_conditions_text(sink.site)}) and checks out the exact commit the event names",
            )
        return (
            Severity.HIGH,
            f"it runs on `{event}` once a maintainer acts ({_conditions_text(sink.site)}), but "
            "checks out a branch the contributor can push to in the meantime",
        )
    if runs:
        return (
            Severity.CRITICAL if held else Severity.HIGH,
            f"on `{event}` ({who}) the contributed code then runs with {holdings}",
        )
    return (
        Severity.HIGH,
        f"on `{event}` ({who}) nothing runs after it in this job, but the files sit next to "
        f"{holdings}",
    )


def _bot_comparisons(tree: Expr) -> Iterator[str]:
    for comparison in comparisons(tree):
        if comparison.op != "==":
            continue
        sides = (comparison.left, comparison.right)
        refs = [s for s in sides if isinstance(s, Ref)]
        lits = [s for s in sides if isinstance(s, Lit)]
        if len(refs) != 1 or len(lits) != 1:
            continue
        literal = lits[0].value
        text = (
            str(int(literal))
            if isinstance(literal, float) and literal.is_integer()
            else str(literal)
        )
        if refs[0].dotted in _BOT_ACTORS and _BOT_LITERAL.search(text):
            yield unparse(comparison)


def _persists_credentials(step: Step) -> bool:
    persist = _with(step, "persist-credentials")
    value = (persist.value or "").strip().lower() if persist else ""
    return value != "false" and "${{" not in value


def _uploads_workspace(job: Job, checkout: Step) -> str | None:
    """The upload step that takes the checkout's directory (and its .git), if any."""
    checkout_path = ((_with(checkout, "path") or KeyValue(key="", line=1)).value or ".").strip()
    for step in job.steps:
        if step.index <= checkout.index or not _uses_action(step, *_UPLOADERS):
            continue
        entry = _with(step, "path")
        paths = (
            [p.strip() for p in (entry.value or "").splitlines() if p.strip()] if entry else ["."]
        )
        if _uses_action(step, "actions/upload-pages-artifact") and entry is None:
            paths = ["_site"]
        for path in paths:
            clean = path.removeprefix("./").rstrip("/") or "."
            if _WORKSPACE_PATHS.match(path.strip()) or clean == checkout_path.removeprefix("./"):
                return f"step {step.id or step.index} uploads `{path}`"
    return None


def _credential_exposure(
    wf: Workflow, job: Job, step: Step, sinks: list[Sink]
) -> tuple[Severity, str]:
    major = catalogue.action_major(step.uses, step.uses_comment)
    upload = _uploads_workspace(job, step)
    if upload is not None and (major is None or major < 6):
        return Severity.MEDIUM, f"{upload}, so the token can end up in the artifact"
    runs_untrusted = [
        s
        for s in sinks
        if s.site.job is job
        and s.kind in ("checkout", "code", "artifact-exec", "artifact-overwrite")
        and _assess(s, Severity.HIGH)[0].severity.rank >= Severity.HIGH.rank
    ]
    if runs_untrusted:
        first = runs_untrusted[0]
        return Severity.MEDIUM, (
            f"the job also runs an outsider's input ({first.what} at line {first.line}), which "
            "can read the token"
        )
    if upload is not None:
        return Severity.LOW, (
            f"{upload}; actions/checkout v6 keeps the token outside the workspace, but later "
            "steps can still read it"
        )
    return Severity.LOW, (
        "no step uploads the workspace and nothing in the job runs an outsider's input, but "
        "later steps can read the token"
    )


# --- injection -------------------------------------------------------------------------------

TEMPLATE_INJECTION = Rule(
    "pipeline/template-injection",
    Severity.HIGH,
    summary="an attacker-controllable expression (`github.event.*` titles, bodies, branch "
    "names, commit messages, `github.head_ref`, outputs and inputs that carry them, …) is "
    "expanded inside `run:` or an input an action runs as code (`actions/github-script`'s "
    "`script:`, `azure/cli`'s `inlineScript`…)",
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
ARTIFACT_POISONING = Rule(
    "pipeline/artifact-poisoning",
    Severity.HIGH,
    summary="a privileged workflow (`workflow_run`, `pull_request_target`, release, deploy) "
    "downloads an artifact produced by an untrusted run and executes it, sources it, writes "
    "it to `$GITHUB_ENV`/`$GITHUB_PATH`, or extracts it over the workspace",
    help="The pull request's run made the artifact, so its author chose every byte: a script "
    "in it runs with the privileged workflow's secrets, a line written to `$GITHUB_ENV` sets "
    "`LD_PRELOAD` or `BASH_ENV` for later steps, and files unpacked over the checkout replace "
    "the build's own scripts. Download into a directory of its own, treat its content as "
    "data, and validate it (a number is `^[0-9]+$`) before using it.",
)
INSECURE_COMMANDS = Rule(
    "pipeline/insecure-commands",
    Severity.HIGH,
    summary="`ACTIONS_ALLOW_UNSECURE_COMMANDS` is enabled (`1`, `true`, `$true`)",
    help="It re-enables the deprecated `::set-env` and `::add-path` commands, so any line a "
    "step prints (attacker-controlled text in a log included) can set variables and PATH "
    "entries for later steps. Remove it and write to `$GITHUB_ENV` / `$GITHUB_PATH`.",
)
UNSOUND_CONTAINS = Rule(
    "pipeline/unsound-contains",
    Severity.MEDIUM,
    summary="an `if:` tests membership with `contains('a b c', x)` (a substring test) on a "
    "value an outsider can influence (a branch name, the actor)",
    help="`contains` on a string is a substring test: `contains('refs/heads/main "
    "refs/heads/develop', github.ref)` is true for a branch named `refs/heads/mai`. Use a "
    'list: `contains(fromJSON(\'["refs/heads/main", "refs/heads/develop"]\'), github.ref)`.',
)


class GithubInjection(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(
        TEMPLATE_INJECTION,
        GITHUB_ENV_INJECTION,
        ARTIFACT_POISONING,
        INSECURE_COMMANDS,
        UNSOUND_CONTAINS,
    )
    summary: ClassVar[str] = "attacker-controlled text reaching a shell, script or GITHUB_ENV"

    def findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        analysis = analyse(evidence)
        occurrences: dict[str, Occurrences] = {}

        def occ(path: str) -> Occurrences:
            return occurrences.setdefault(path, Occurrences())

        for sink in analysis.sinks:
            if sink.kind == "code":
                yield self._template_injection(sink, occ)
            elif sink.kind == "env":
                yield from self._env_injection(sink, occ)
            elif sink.kind in ("artifact-exec", "artifact-overwrite"):
                yield self._artifact(sink, occ)
        for wf in evidence.workflows:
            yield from self._insecure_commands(wf, occ(wf.path))
            yield from self._unsound_contains(wf, occ(wf.path))

    @staticmethod
    def _template_injection(sink: Sink, occ: Callable[[str], Occurrences]) -> Finding:
        exposure, taint = _assess(sink, Severity.HIGH)
        path, line = _report(sink)
        return TEMPLATE_INJECTION.finding(
            f"{sink.where}: `${{{{ {sink.detail} }}}}` is expanded into {sink.what} before it "
            f"runs, so whoever writes {taint.origin} writes code; {exposure.why}"
            f"{_path_text(sink, taint)} (pass it through `env:` and quote the variable)",
            severity=exposure.severity,
            path=path,
            line=line,
            key=occ(path).key(path, f"ti|{sink.where}|{sink.path}|{sink.detail}"),
        )

    @staticmethod
    def _env_injection(sink: Sink, occ: Callable[[str], Occurrences]) -> Iterator[Finding]:
        taints = [t for t in sink.taints if t.kind == "text"]
        artifact = [t for t in sink.taints if t.kind == "artifact"]
        path, line = _report(sink)
        if artifact and sink.what in ("$GITHUB_ENV", "$GITHUB_PATH"):
            exposure, taint = _assess(sink, Severity.HIGH, artifact)
            yield ARTIFACT_POISONING.finding(
                f"{sink.where}: `{sink.detail}` writes {taint.origin} to {sink.what}: a line in "
                f"it can set LD_PRELOAD, BASH_ENV or PATH for later steps; {exposure.why}"
                f"{_path_text(sink, taint)}",
                severity=exposure.severity,
                path=path,
                line=line,
                key=occ(path).key(path, f"ap|{sink.where}|{sink.detail}"),
            )
        if not taints:
            return
        exposure, taint = _assess(sink, Severity.HIGH, taints)
        severity, why = exposure.severity, exposure.why
        if sink.what == "$GITHUB_OUTPUT":
            severity = min(severity, Severity.LOW, key=lambda s: s.rank)
            why = (
                "a newline in it can set other outputs of this step (where an output reaches a "
                "script, that is reported on its own)"
            )
        effect = (
            "a newline in it defines arbitrary variables (LD_PRELOAD, NODE_OPTIONS...) or PATH "
            "entries for later steps; "
            if sink.what != "$GITHUB_OUTPUT"
            else ""
        )
        yield GITHUB_ENV_INJECTION.finding(
            f"{sink.where}: {taint.origin} is written to {sink.what}"
            f"{f' as {sink.name}' if sink.name else ''}; {effect}{why}{_path_text(sink, taint)}",
            severity=severity,
            path=path,
            line=line,
            key=occ(path).key(path, f"ei|{sink.where}|{sink.detail}"),
        )

    @staticmethod
    def _artifact(sink: Sink, occ: Callable[[str], Occurrences]) -> Finding:
        exposure, taint = _assess(sink, Severity.HIGH)
        severity, why = exposure.severity, exposure.why
        if severity.rank < Severity.MEDIUM.rank and not sink.site.caller_unknown:
            severity = Severity.MEDIUM
            why = (
                "the workflow is not started by outsiders' events, but the run that made the "
                "artifact may have been"
            )
        what = (
            "unpacks it over the checkout and then runs the build"
            if sink.kind == "artifact-overwrite"
            else "runs a file from it"
        )
        path, line = _report(sink)
        return ARTIFACT_POISONING.finding(
            f"{sink.where}: {taint.origin}; the job {what} (`{sink.detail[:80]}`); {why}"
            f"{_path_text(sink, taint)}",
            severity=severity,
            path=path,
            line=line,
            key=occ(path).key(path, f"ap|{sink.where}|{sink.kind}|{sink.detail}"),
        )

    @staticmethod
    def _insecure_commands(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for where, entries in _env_scopes(wf):
            for entry in entries:
                if entry.key.upper() != "ACTIONS_ALLOW_UNSECURE_COMMANDS":
                    continue
                value = (entry.value or "").strip()
                if "${{" in value:
                    severity, why = Severity.MEDIUM, f"`{value}` may evaluate to true"
                elif value.lower() in _RUNNER_TRUE:
                    severity, why = Severity.HIGH, f"`{value}` enables it"
                else:
                    continue  # the runner reads only 1, true and $true as on
                yield INSECURE_COMMANDS.finding(
                    f"{where}: ACTIONS_ALLOW_UNSECURE_COMMANDS: {why}; it re-enables the "
                    "deprecated `::set-env`/`::add-path` commands, so any output line can set "
                    "variables for later steps",
                    severity=severity,
                    path=wf.path,
                    line=entry.line,
                    key=occurrences.key(wf.path, f"ic|{where}"),
                )
        for job in wf.jobs:
            for step in job.steps:
                if not step.run or not _UNSECURE_COMMANDS_NAME.search(step.run):
                    continue
                for line in logical_lines(step.run, step.run_line or step.line, step.run_is_block):
                    if _UNSECURE_COMMANDS_RUN.search(line.text):
                        yield INSECURE_COMMANDS.finding(
                            f"job {job.id}: the step enables ACTIONS_ALLOW_UNSECURE_COMMANDS",
                            path=wf.path,
                            line=line.line,
                            key=occurrences.key(wf.path, f"ic|{job.id}|{line.text}"),
                        )

    @staticmethod
    def _unsound_contains(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for where, condition, line in _conditions(wf):
            tree = condition_tree(condition)
            if tree is None:
                continue
            for call in calls(tree):
                if call.name != "contains" or len(call.args) != 2:
                    continue
                haystack, needle = call.args
                if not (isinstance(haystack, Lit) and isinstance(haystack.value, str)):
                    continue
                refs = [r.dotted for r in context_refs(needle)]
                if not refs:
                    continue
                spoofable = [
                    r
                    for r in refs
                    if r in _SPOOFABLE_NEEDLES or catalogue.text_sources(tuple(r.split(".")))
                ]
                severity = Severity.MEDIUM if spoofable else Severity.LOW
                why = (
                    f"`{spoofable[0]}` can be chosen to be a substring of it"
                    if spoofable
                    else "the value is not an outsider's, but the test is still a substring test"
                )
                yield UNSOUND_CONTAINS.finding(
                    f"{where}: `{unparse(call)}` is a substring test; {why} (use "
                    "`contains(fromJSON('[...]'), x)`)",
                    severity=severity,
                    path=wf.path,
                    line=line,
                    key=occurrences.key(wf.path, f"uc|{where}|{unparse(call)}"),
                )


def _conditions(wf: Workflow) -> Iterator[tuple[str, str, int]]:
    for job in wf.jobs:
        if job.if_:
            yield f"job {job.id}", job.if_, job.key_lines.get("if", job.line)
        for step in job.steps:
            if step.if_:
                label = step.id or step.name or f"#{step.index}"
                yield f"job {job.id}, step {label}", step.if_, step.key_lines.get("if", step.line)


def _env_scopes(wf: Workflow) -> Iterator[tuple[str, list[KeyValue]]]:
    yield "workflow env", wf.env
    for job in wf.jobs:
        yield f"job {job.id} env", job.env
        if job.container is not None:
            yield f"job {job.id} container env", job.container.env
        for s in job.steps:
            yield f"job {job.id} step {s.id or s.index} env", s.env


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
    summary="a job that publishes or releases (or feeds one, or runs on a release or tag) "
    "restores a cache that untrusted triggers can write",
    help="Caches are shared with runs that untrusted triggers can start, so a cache poisoned "
    "from a pull request ends up in the release. Do not restore caches in jobs that publish "
    "or release; build what you ship from a clean state (`lookup-only`, or the action's "
    "switch to turn its cache off).",
)
KNOWN_VULNERABLE_ACTION = Rule(
    "pipeline/known-vulnerable-action",
    Severity.HIGH,
    summary="a `uses:` names a release of an action with an OSV advisory (the `GitHub Actions` "
    "ecosystem of the `--osv-db` database; severity from the advisory)",
    help="The release in use has a published vulnerability, often one that lets whoever "
    "controls its inputs run code or read secrets. Move to a fixed release (the advisory "
    "names it) and pin its commit sha.",
    default_label="advisory",
)
DISALLOWED_ACTION = Rule(
    "pipeline/disallowed-action",
    Severity.HIGH,
    summary="a `uses:` names an action or reusable workflow outside the policy's "
    "`audits.allowed_actions` (or inside its `audits.denied_actions`)",
    help="The policy lists the actions this organisation has reviewed; anything else runs "
    "unreviewed code with the job's token and secrets. Use an allowed action, or add this one "
    "to the policy after review.",
)


def _expression_values(expr: Expr) -> tuple[list[str], list[str]]:
    """(literal values, contexts) an expression can evaluate to (``a || 'x'``, ``c && 'y'``)."""
    if isinstance(expr, Lit):
        return ([expr.value] if isinstance(expr.value, str) and expr.value else []), []
    if isinstance(expr, BinOp) and expr.op in ("||", "&&"):
        left = _expression_values(expr.left) if expr.op == "||" else ([], [])
        right = _expression_values(expr.right)
        return left[0] + right[0], left[1] + right[1]
    return [], [unparse(expr)]


def _unpinned_image(
    path: str, where: str, image: str, line: int, occurrences: Occurrences
) -> Iterator[Finding]:
    image = image.strip()
    if not image or _DIGEST.search(image):
        return
    if "${{" in image:
        found = find_expressions(image)
        if len(found) != 1 or found[0].tree is None or found[0].end - found[0].start != len(image):
            return  # text around an expression: cannot be told
        literals, contexts = _expression_values(found[0].tree)
        for literal in literals:
            yield from _unpinned_image(path, where, literal, line, occurrences)
        if contexts:
            yield UNPINNED_IMAGE.finding(
                f"{where}: the image is chosen when the job runs (`{', '.join(contexts)}`), so "
                "nothing here pins it; pin `image@sha256:<digest>` where the value is set",
                path=path,
                line=line,
                key=occurrences.key(path, f"ui|{where}|{image}"),
            )
        return
    yield UNPINNED_IMAGE.finding(
        f"{where}: image `{image}` has no @sha256: digest, so the registry decides what "
        "runs (pin `image@sha256:<digest>`)",
        path=path,
        line=line,
        key=occurrences.key(path, f"ui|{where}|{image}"),
    )


def _matrix_images(job: Job, image: str) -> list[str]:
    """The images a ``${{ matrix.* }}`` image takes, from the expanded matrix."""
    found = re.fullmatch(r"\$\{\{\s*matrix((?:\.[A-Za-z0-9_-]+)+)\s*\}\}", image.strip())
    if found is None or not job.matrix:
        return [image]
    values: list[str] = []
    for combo in job.matrix:
        value: object = combo
        for part in found.group(1).strip(".").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value not in values:
            values.append(value)
    return values or [image]


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


def _step_publishes(step: Step) -> str | None:
    name = catalogue.publisher(step)
    if name is not None:
        return f"publishes with `{name}`"
    if not step.run or not any(word in step.run for word in _PUBLISH_WORDS):
        return None
    for line in logical_lines(step.run, 1):
        if _PUBLISH_RUN.search(line.text) and not _DRY_RUN.search(line.text):
            return f"publishes (`{line.text[:60]}`)"
    return None


def _release_trigger(wf: Workflow) -> str | None:
    for trigger in wf.triggers:
        if trigger.event == "release":
            return "runs on `release`"
        if trigger.event == "push" and trigger.tags:
            return "runs on pushed tags"
    return None


def _publishing_jobs(wf: Workflow) -> dict[str, tuple[str, str]]:
    """job id -> (why the job's cache matters, the publishing job): it publishes, or builds
    an artifact that a publishing job downloads."""
    reasons: dict[str, tuple[str, str]] = {}
    for job in wf.jobs:
        for step in job.steps:
            reason = _step_publishes(step)
            if reason is not None:
                reasons[job.id] = (f"the job {reason}", job.id)
                break
    by_id = {job.id: job for job in wf.jobs}
    pending = [j for j in reasons if _downloaded(by_id[j])]
    while pending:
        consumer = by_id[pending.pop()]
        wanted = _downloaded(consumer)
        for need in _needs_closure(by_id, consumer):
            feeder = by_id[need]
            if feeder.id in reasons:
                continue
            if any(fnmatch.fnmatchcase(n, w) for n in _uploaded(feeder) for w in wanted):
                reasons[feeder.id] = (
                    f"the job builds an artifact for job {consumer.id}, which publishes",
                    reasons[consumer.id][1],
                )
                pending.append(feeder.id)
    return reasons


def _artifact_name(value: str | None, default: str) -> str:
    text = (value or "").strip()
    return (_EXPRESSION.sub("*", text) if "${{" in text else text) or default


def _downloaded(job: Job) -> list[str]:
    """Name patterns of the artifacts a job downloads (``*``: all of them)."""
    out = []
    for step in job.steps:
        if _uses_action(step, "actions/download-artifact"):
            name = _with(step, "name") or _with(step, "pattern")
            out.append(_artifact_name(name.value if name else None, "*"))
    return out


def _uploaded(job: Job) -> list[str]:
    out = []
    for step in job.steps:
        if _uses_action(step, "actions/upload-artifact"):
            name = _with(step, "name")
            out.append(_artifact_name(name.value if name else None, "artifact"))
    return out


def _needs_closure(by_id: dict[str, Job], job: Job) -> list[str]:
    seen: list[str] = []
    stack = list(job.needs)
    while stack:
        need = stack.pop()
        if need in by_id and need not in seen:
            seen.append(need)
            stack.extend(by_id[need].needs)
    return seen


def _run_worlds(wf: Workflow) -> list[dict[tuple[str, ...], object]]:
    """What ``github.ref``, ``ref_type`` and ``event_name`` are in each kind of run the
    workflow's triggers start (a tag push, a branch push, a release...)."""
    from gatekeeper.audit._gha_expr import Prefixed

    RunWorld = dict[tuple[str, ...], object]
    tag: RunWorld = {("github", "ref"): Prefixed("refs/tags/"), ("github", "ref_type"): "tag"}
    branch: RunWorld = {
        ("github", "ref"): Prefixed("refs/heads/"),
        ("github", "ref_type"): "branch",
    }
    worlds: list[RunWorld] = []
    for trigger in wf.triggers:
        event: RunWorld = {("github", "event_name"): trigger.event}
        if trigger.event == "release":
            worlds.append({**event, **tag})
        elif trigger.event == "push":
            if trigger.tags or not trigger.branches:
                worlds.append({**event, **tag})
            if trigger.branches or not trigger.tags:
                worlds.append({**event, **branch})
        elif trigger.event in ("pull_request", "pull_request_review", "merge_group"):
            prefix = "refs/heads/" if trigger.event == "merge_group" else "refs/pull/"
            worlds.append({**event, ("github", "ref"): Prefixed(prefix)})
        else:
            worlds.append(event)
    return worlds


def _cache_decider(wf: Workflow, conditions: tuple[str, ...]) -> Callable[[str], bool | None]:
    """Reads a cache switch given by an expression in every run the workflow starts where
    the ``conditions`` (the publishing job's ``if:``) can hold: on if it is on in any of them,
    unknown if it cannot be told in one, off only if off in all."""
    from gatekeeper.audit._gha_expr import UNKNOWN, World, evaluate

    trees = [t for t in (condition_tree(c) for c in conditions) if t is not None]
    worlds = [
        world
        for world in _run_worlds(wf)
        if all(
            evaluate(t, World(lambda path, w=world: w.get(path, UNKNOWN))) is not False  # type: ignore[misc]
            for t in trees
        )
    ]

    def decide(value: str) -> bool | None:
        found = find_expressions(value)
        if len(found) != 1 or found[0].tree is None or not worlds:
            return None
        results = [
            evaluate(found[0].tree, World(lambda path, w=world: w.get(path, UNKNOWN)))  # type: ignore[misc]
            for world in worlds
        ]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False

    return decide


class GithubSupplyChain(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(
        UNPINNED_ACTION,
        UNPINNED_IMAGE,
        CACHE_POISONING,
        KNOWN_VULNERABLE_ACTION,
        DISALLOWED_ACTION,
    )
    summary: ClassVar[str] = "actions and images not pinned, caches restored by publishers"

    def findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        self._policy = ctx.policy
        yield from super().findings(evidence, ctx)
        for config in evidence.gitlab:
            yield from self._gitlab_images(config)
        if ctx.options.osv_db is not None:
            from gatekeeper.audit._gha_known import known_vulnerable

            yield from known_vulnerable(evidence, ctx, KNOWN_VULNERABLE_ACTION)

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
            if container.image is None:
                continue
            where = (
                f"job {job.id} service {container.name}"
                if container.name
                else f"job {job.id} container"
            )
            for image in _matrix_images(job, container.image):
                yield from _unpinned_image(wf.path, where, image, container.image_line, occurrences)

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

    def _action(
        self, wf: Workflow, where: str, uses: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        uses = uses.strip()
        if is_local_uses(uses):
            return  # this repository at this commit (`./`, `$/`): covered by its own audit
        if uses.startswith("docker://"):
            yield from _unpinned_image(wf.path, where, uses[len("docker://") :], line, occurrences)
            return
        if "${{" in uses:
            return  # GitHub rejects expressions in `uses:`; the workflow would not run
        yield from self._policy_check(wf, where, uses, line, occurrences)
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

    def _policy_check(
        self, wf: Workflow, where: str, uses: str, line: int, occurrences: Occurrences
    ) -> Iterator[Finding]:
        allowed = self._policy.allowed_actions
        denied = self._policy.denied_actions
        if not allowed and not denied:
            return
        reason = None
        if any(_action_matches(pattern, uses) for pattern in denied):
            reason = "is in the policy's `denied_actions`"
        elif allowed and not any(_action_matches(pattern, uses) for pattern in allowed):
            reason = "is not in the policy's `allowed_actions`"
        if reason is None:
            return
        yield DISALLOWED_ACTION.finding(
            f"{where}: `{uses}` {reason}; it runs unreviewed code with the job's token",
            path=wf.path,
            line=line,
            key=occurrences.key(wf.path, f"da|{uses}"),
        )

    @staticmethod
    def _cache_poisoning(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        if wf.kind != "workflow":
            return
        trigger = _release_trigger(wf)
        publishing = _publishing_jobs(wf)
        by_id = {job.id: job for job in wf.jobs}
        for job in wf.jobs:
            found = publishing.get(job.id)
            reason = found[0] if found else None
            publisher = by_id[found[1]] if found else job
            severity = Severity.MEDIUM
            if reason is None and trigger:
                reason = (
                    f"the workflow {trigger}, though this job neither publishes nor builds "
                    "what a publishing job ships"
                )
                severity = Severity.LOW
            if reason is None:
                continue
            decide = _cache_decider(wf, tuple(c for c in (job.if_, publisher.if_) if c))
            for step in job.steps:
                cache = catalogue.cache_restored(step, decide)
                if cache is None:
                    continue
                yield CACHE_POISONING.finding(
                    f"job {job.id}: {reason}, and {cache}; caches are shared with runs that "
                    "untrusted triggers can start, so a poisoned cache ends up in the release "
                    "(do not restore caches when building what you publish)",
                    severity=severity,
                    path=wf.path,
                    line=step.uses_line or step.line,
                    key=occurrences.key(wf.path, f"cp|{job.id}|{step.uses}"),
                )


def _action_matches(pattern: str, uses: str) -> bool:
    """``owner/repo``, ``owner/*``, ``owner/repo@ref`` or ``owner/repo/path@*`` patterns."""
    name, _, ref = uses.partition("@")
    pattern = pattern.strip().lower()
    target = f"{name.lower()}@{ref}" if "@" in pattern else name.lower()
    if fnmatch.fnmatchcase(target, pattern):
        return True
    # `owner/repo` also covers actions under paths of that repository.
    return "@" not in pattern and fnmatch.fnmatchcase(
        "/".join(name.lower().split("/")[:2]), pattern
    )


# --- tokens ----------------------------------------------------------------------------------

EXCESSIVE_PERMISSIONS = Rule(
    "pipeline/excessive-permissions",
    Severity.MEDIUM,
    summary="`permissions: write-all`, write scopes at workflow level, or a workflow with no "
    "`permissions` at any level (the token defaults may be write)",
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
OVERPROVISIONED_SECRETS = Rule(
    "pipeline/overprovisioned-secrets",
    Severity.MEDIUM,
    summary="`toJSON(secrets)` or a computed `secrets[...]` hands every secret of the "
    "repository to a step",
    help="The step receives all secrets, not the ones it needs, so anything that runs in it (a "
    "dependency, an action, an injected script) can read them all. Pass each secret by name.",
)


def _workflow_permissions(wf: Workflow) -> Iterator[Finding]:
    if wf.permissions is None:
        return
    overridden = bool(wf.jobs) and all(job.permissions is not None for job in wf.jobs)
    if overridden:
        return  # every job sets its own: the workflow's value applies to nothing
    if wf.permissions.preset == "write-all":
        yield EXCESSIVE_PERMISSIONS.finding(
            "`permissions: write-all` gives every job a token that can push code, "
            "publish packages and change settings; grant only the scopes each job needs",
            path=wf.path,
            line=wf.permissions.line,
            key="workflow:write-all",
        )
        return
    if wf.permissions.preset == "read-all":
        yield _read_all("the workflow's jobs", wf.path, wf.permissions.line, "workflow")
        return
    inheriting = [job.id for job in wf.jobs if job.permissions is None]
    for scope in wf.permissions.scopes:
        if (scope.value or "").strip().lower() != "write":
            continue
        if len(inheriting) == 1:
            severity = Severity.LOW
            why = (
                f"only job {inheriting[0]} inherits it today; granting it there keeps jobs "
                "added later read-only"
            )
        else:
            severity = Severity.MEDIUM
            why = f"every job that does not set its own gets it ({', '.join(inheriting)})"
        yield EXCESSIVE_PERMISSIONS.finding(
            f"workflow-level `{scope.key}: write`: {why}; grant it in the jobs that need it",
            severity=severity,
            path=wf.path,
            line=scope.line,
            key=f"workflow:write:{scope.key}",
        )


def _read_all(who: str, path: str, line: int, key: str) -> Finding:
    return EXCESSIVE_PERMISSIONS.finding(
        f"`permissions: read-all` lets {who} read every scope (issues, pull requests, security "
        "events, packages...): more than a job needs, though nothing it can change; list the "
        "scopes instead (`contents: read`)",
        severity=Severity.LOW,
        path=path,
        line=line,
        key=f"{key}:read-all",
    )


def _job_write_all(wf: Workflow) -> Iterator[Finding]:
    for job in wf.jobs:
        if job.permissions is not None and job.permissions.preset == "read-all":
            yield _read_all(f"job {job.id}", wf.path, job.permissions.line, job.id)
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


def _overprovisioned(expr: Expr) -> str | None:
    for call in calls(expr):
        if call.name == "tojson" and len(call.args) == 1:
            arg = call.args[0]
            if isinstance(arg, Ref) and arg.path == ("secrets",):
                return "toJSON(secrets)"
    for ref in context_refs(expr):
        if ref.path[0] == "secrets" and ref.dynamic:
            return "secrets[<expression>]"
    return None


def _expression_sites(wf: Workflow) -> Iterator[tuple[str, str, int, KeyValue | None]]:
    """(where, text, line, entry) of every value of the workflow that can hold expressions."""
    for entry in wf.env:
        yield "workflow env", entry.value or "", entry.line, entry
    for job in wf.jobs:
        for entry in (*job.env, *job.with_):
            yield f"job {job.id}", entry.value or "", entry.line, entry
        if isinstance(job.secrets, list):
            for entry in job.secrets:
                yield f"job {job.id} secrets", entry.value or "", entry.line, entry
        for step in job.steps:
            where = f"job {job.id}, step {step.id or step.name or step.index}"
            for entry in (*step.env, *step.with_):
                yield where, entry.value or "", entry.line, entry
            if step.run is not None:
                yield where, step.run, step.run_line or step.line, None


class GithubTokens(WorkflowAudit):
    rules: ClassVar[RuleSet] = RuleSet(
        EXCESSIVE_PERMISSIONS, SECRETS_INHERIT, OVERPROVISIONED_SECRETS
    )
    summary: ClassVar[str] = "token permissions and secrets handed to other workflows"

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        if wf.kind == "workflow":
            yield from _workflow_permissions(wf)
            yield from _job_write_all(wf)
            yield from _default_permissions(wf)
        yield from self._overprovisioned(wf, occurrences)
        yield from super().audit_workflow(wf, occurrences)

    def audit_job(self, wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        if job.secrets == "inherit":
            local = is_local_uses(job.uses)
            yield SECRETS_INHERIT.finding(
                f"job {job.id} passes every secret of this repository to "
                f"`{job.uses}` (`secrets: inherit`); "
                + (
                    "it is this repository's own workflow at the same commit, reviewed with "
                    "this one, so only least privilege is at stake; "
                    if local
                    else ""
                )
                + "pass only the ones it needs",
                severity=Severity.LOW if local else Severity.MEDIUM,
                path=wf.path,
                line=job.secrets_line or job.line,
                key=job.id,
            )

    @staticmethod
    def _overprovisioned(wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for where, text, line, entry in _expression_sites(wf):
            if "secrets" not in text:
                continue
            for found in find_expressions(text):
                if found.tree is None:
                    continue
                what = _overprovisioned(found.tree)
                if what is None:
                    continue
                at = entry.line_at(found.start) if entry is not None else line
                yield OVERPROVISIONED_SECRETS.finding(
                    f"{where}: `${{{{ {found.inner} }}}}` hands every secret of the repository "
                    f"to the step ({what}); pass the ones it needs by name",
                    path=wf.path,
                    line=at,
                    key=occurrences.key(wf.path, f"os|{where}|{found.inner}"),
                )


AUDITS = (GithubTriggers, GithubInjection, GithubSupplyChain, GithubTokens)

__all__ = [
    "AUDITS",
    "job_is_self_hosted",
    "token_writable",
    "uses_secrets",
]
