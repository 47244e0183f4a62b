"""Taint flow through GitHub Actions workflows, local actions and reusable workflows.

Sources are the event contexts an outsider writes (``_gha_catalogue``: issue titles, comment
bodies, branch names...), outputs of actions that carry such text, contexts that name a pull
request's code, files of an artifact downloaded from another run, and, in a file analysed on
its own, the inputs of a composite action or reusable workflow (its caller decides them).
Values are followed through:

- expressions (``_gha_expr.value_refs``: ``a || b``, ``format``, ``toJSON``, ``fromJSON``...);
- ``env:`` at workflow, job and step level, and ``${{ env.X }}``;
- shell variables inside ``run:`` (``_shellflow``: assignments, command substitution,
  ``read``, ``for``), and writes to ``$GITHUB_ENV`` (later steps' environment),
  ``$GITHUB_OUTPUT`` (``steps.<id>.outputs.*``) and ``$GITHUB_PATH``;
- job outputs and ``needs.<job>.outputs.*`` (jobs in dependency order);
- ``matrix`` values built from tainted data;
- ``with:`` into a local composite action (``uses: ./dir`` or ``$/dir``) and its outputs, and
  into a local reusable workflow (``jobs.<id>.uses``) and its ``workflow_call`` outputs.

What reaches a sink is recorded as a ``Sink`` with every hop from source to sink: code
(``run:``, inputs an action runs as code), environment files, a checkout of a ref, and an
artifact run or unpacked over the checkout. The audits decide severity from the sink's
``Site`` (the workflow whose triggers apply, the job, the conditions on the way).

The analysis runs once per evidence (``analyse``) and is shared by every audit of the run.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, cast

from gatekeeper.audit import _gha_catalogue as catalogue
from gatekeeper.audit._gha_expr import (
    Access,
    BinOp,
    Call,
    Expr,
    Found,
    Ref,
    context_refs,
    find_expressions,
)
from gatekeeper.audit._shellflow import Command, Flow, ShellLine, commands
from gatekeeper.audit.pipeline_common import per_evidence
from gatekeeper.models.pipeline import Job, KeyValue, PipelineEvidence, Step, Workflow

MAX_DEPTH = 4  # nested local calls followed
MAX_HOPS = 12
MAX_TAINTS = 8  # per value: enough to explain, bounded on pathological files

TaintKind = Literal["text", "head", "artifact"]
Control = Literal["outsider", "contributor", "caller"]
SinkKind = Literal["code", "env", "checkout", "artifact-exec", "artifact-overwrite"]

_HEAD_LOOKUP_EVENTS = frozenset(
    {"issue_comment", "workflow_run", "pull_request_target", "pull_request_review"}
)
_HEAD_LOOKUP = re.compile(
    r"\bgh\s+pr\s+view\b|\bgh\s+api\s+\S*pulls/|/pulls/\$|pulls\.get\b|\.head\.(?:sha|ref)\b|"
    r"headRefName|headRefOid",
)
_CHECKOUT_CMD = re.compile(
    r"^(?:git\s+(?:-\S+\s+)*(?:fetch|checkout|switch|pull|reset|clone|worktree|merge|rebase)"
    r"|gh\s+pr\s+(?:checkout|diff)|gh\s+repo\s+clone)\b"
)
_PR_REF_TEXT = re.compile(r"\brefs/pull/|\bpull/\$|\bpull/\d|\bgh\s+pr\s+checkout\b")
_EXEC_WORDS = frozenset(
    {
        "bash",
        "sh",
        "zsh",
        "python",
        "python3",
        "node",
        "ruby",
        "perl",
        "source",
        ".",
        "pwsh",
        "chmod",
        "exec",
        "eval",
        "npx",
        "deno",
        "php",
    }
)
_ARTIFACT_READ = re.compile(r"\$\(\s*(?:cat|<)\s*([^)\s]+)|\bcat\s+([^\s|;&>]+)|<\s*([^\s<|;&]+)")
_EVENT_JQ = re.compile(
    r"\bjq\b[^|;]*?['\"]?\.([A-Za-z_][\w.\[\]]*)['\"]?[^|;]*\$\{?GITHUB_EVENT_PATH\b"
)
_CONTROL_RANK = {"outsider": 0, "contributor": 1, "caller": 2}


@dataclass(frozen=True)
class Taint:
    """Text (or a reference to code) someone outside the maintainers chose, and its path."""

    kind: TaintKind
    origin: str  # the source: a context, an action's output, an artifact, an input
    control: Control
    events: frozenset[str]  # the events under which ``control`` chooses it
    hops: tuple[str, ...] = ()
    actor_written: bool = False  # written by whoever causes the event (a comment's author)

    def via(self, hop: str) -> Taint:
        if len(self.hops) >= MAX_HOPS or (self.hops and self.hops[-1] == hop):
            return self
        return replace(self, hops=(*self.hops, hop))

    def path(self, sink: str) -> str:
        return " → ".join((self.origin, *self.hops, sink))

    @property
    def identity(self) -> tuple[str, str, str, frozenset[str]]:
        return (self.kind, self.origin, self.control, self.events)


Taints = tuple[Taint, ...]


def _merge(*groups: Iterable[Taint]) -> Taints:
    out: dict[tuple[str, str, str, frozenset[str]], Taint] = {}
    for group in groups:
        for taint in group:
            current = out.get(taint.identity)
            # NOTE: the shortest path, and of equally short ones the first in text order:
            # taints come out of sets, whose order changes from one process to the next.
            if current is None or (len(taint.hops), taint.hops) < (
                len(current.hops),
                current.hops,
            ):
                out[taint.identity] = taint
    ordered = sorted(
        out.values(),
        key=lambda t: (_CONTROL_RANK[t.control], t.kind, t.origin, sorted(t.events), t.hops),
    )
    return tuple(ordered[:MAX_TAINTS])


def _via(taints: Iterable[Taint], hop: str) -> Taints:
    return tuple(t.via(hop) for t in taints)


@dataclass(frozen=True)
class Site:
    """Where a sink is reached from: the workflow whose triggers apply and its job, the
    ``if:`` conditions on the way, the local calls followed, and where to report."""

    workflow: Workflow
    job: Job
    conditions: tuple[str, ...]
    chain: tuple[str, ...]
    events: frozenset[str]
    caller_unknown: bool  # a reusable workflow or action: its callers' triggers apply
    report_path: str
    report_line: int | None  # set when the sink is inside a local call


@dataclass(frozen=True)
class Sink:
    kind: SinkKind
    site: Site
    path: str  # the file the sink is in
    line: int
    where: str  # "job build, step lint"
    what: str  # "run:", "`script` input of actions/github-script", "$GITHUB_ENV"...
    detail: str  # the expression or the command
    taints: Taints
    step: Step
    name: str | None = None  # the variable or output written


@dataclass
class _Artifact:
    directory: str  # where it is unpacked, relative to the workspace ("." the root)
    taint: Taint
    step: Step
    over_checkout: bool


@dataclass
class _JobState:
    workflow: Workflow
    job: Job
    inputs: dict[str, Taints] | None
    declared_inputs: dict[str, str | None]
    env: dict[str, Taints]
    needs: dict[str, dict[str, Taints]]
    matrix: dict[str, Taints]
    outputs: dict[tuple[str, str], Taints] = field(default_factory=dict)
    steps_by_id: dict[str, Step] = field(default_factory=dict)
    artifacts: list[_Artifact] = field(default_factory=list)
    checked_out: bool = False
    # Set once the job checked out a pull request's code: its files are the author's.
    workspace: Taint | None = None


def _label(step: Step) -> str:
    return step.id or step.name or f"#{step.index}"


def _local_target(uses: str | None) -> str | None:
    """The repository path of a local ``uses:`` (``./dir``, ``$/dir``), or None."""
    if uses is None:
        return None
    text = uses.strip()
    for prefix in ("./", "$/", ".\\"):
        if text.startswith(prefix):
            rel = posixpath.normpath(text[len(prefix) :].replace("\\", "/").split("@", 1)[0])
            return "" if rel == "." else rel
    return None


def is_local_uses(uses: str | None) -> bool:
    return _local_target(uses) is not None


class _Index:
    """The repository's workflows and actions, by path, and who calls whom."""

    def __init__(self, evidence: PipelineEvidence) -> None:
        self.files = {wf.path: wf for wf in evidence.workflows}
        self.callers: dict[str, set[str]] = {}
        for wf in evidence.workflows:
            for job in wf.jobs:
                target = self.reusable(job.uses)
                if target is not None:
                    self.callers.setdefault(target.path, set()).add(wf.path)
                for step in job.steps:
                    action = self.action(step.uses)
                    if action is not None:
                        self.callers.setdefault(action.path, set()).add(wf.path)

    def action(self, uses: str | None) -> Workflow | None:
        target = _local_target(uses)
        if target is None:
            return None
        for name in ("action.yml", "action.yaml"):
            found = self.files.get(posixpath.join(target, name) if target else name)
            if found is not None and found.kind == "action":
                return found
        return None

    def reusable(self, uses: str | None) -> Workflow | None:
        target = _local_target(uses)
        if target is None:
            return None
        found = self.files.get(target)
        return found if found is not None and found.kind == "workflow" else None


@dataclass
class Analysis:
    """Every sink found in the evidence, and facts the audits share."""

    sinks: list[Sink] = field(default_factory=list)
    callers: dict[str, set[str]] = field(default_factory=dict)

    def for_file(self, path: str) -> list[Sink]:
        return [s for s in self.sinks if s.site.report_path == path]


# --- the analyser ----------------------------------------------------------------------------


class _Analyser:
    def __init__(self, evidence: PipelineEvidence) -> None:
        self.index = _Index(evidence)
        self.sinks: list[Sink] = []
        self._calls: dict[object, tuple[tuple[Sink, ...], dict[str, Taints]]] = {}

    # -- entry points

    def run(self, evidence: PipelineEvidence) -> Analysis:
        for wf in evidence.workflows:
            events = frozenset(t.event for t in wf.triggers)
            unknown = wf.kind == "action" or "workflow_call" in events
            if self._analysed_through_callers(wf):
                continue
            self._workflow(wf, top=None, inputs=None, events=events, unknown=unknown, depth=0)
        return Analysis(sinks=self.sinks, callers=self.index.callers)

    def _analysed_through_callers(self, wf: Workflow) -> bool:
        """A local action or reusable workflow with callers in this repository is analysed
        through them (with what they pass); the repository's root action.yml is published
        for other repositories too, so it is also analysed on its own."""
        if wf.path in ("action.yml", "action.yaml"):
            return False
        if wf.kind == "workflow" and any(t.event != "workflow_call" for t in wf.triggers):
            return False
        return bool(self.index.callers.get(wf.path))

    # -- workflows and jobs

    def _workflow(
        self,
        wf: Workflow,
        top: Site | None,
        inputs: dict[str, Taints] | None,
        events: frozenset[str],
        unknown: bool,
        depth: int,
    ) -> dict[str, Taints]:
        """Analyse ``wf`` (as a top-level file, or called from ``top``); its call outputs."""
        declared = {i.name.lower(): i.type for i in wf.inputs if i.source != "workflow_dispatch"}
        wf_env = self._env_entries(wf.env, {}, None, f"{wf.path} env")
        needs: dict[str, dict[str, Taints]] = {}
        for job in _ordered(wf.jobs):
            site = self._site(wf, job, top, events, unknown)
            state = _JobState(
                workflow=wf,
                job=job,
                inputs=inputs,
                declared_inputs=declared,
                env=dict(wf_env),
                needs=needs,
                matrix={},
            )
            state.matrix = self._matrix(job, state)
            state.env.update(self._env_entries(job.env, state.env, state, f"job {job.id} env"))
            if job.uses is not None:
                needs[job.id.lower()] = self._call_job(job, state, site, depth)
                continue
            for step in job.steps:
                self._step(step, state, site, depth)
            needs[job.id.lower()] = {
                o.key.lower(): _via(
                    self._value_taints(o.value, state, {}), f"job output {job.id}.{o.key}"
                )
                for o in job.outputs
            }
        outputs: dict[str, Taints] = {}
        for out in wf.outputs:
            taints = _merge(
                *(
                    self._jobs_output(ref, needs)
                    for found in find_expressions(out.value or "")
                    for ref in _refs(found)
                )
            )
            outputs[out.key.lower()] = _via(taints, f"workflow output {out.key}")
        return outputs

    @staticmethod
    def _jobs_output(ref: Ref | Access, needs: dict[str, dict[str, Taints]]) -> Taints:
        if isinstance(ref, Ref) and len(ref.path) >= 4 and ref.path[0] == "jobs":
            return needs.get(ref.path[1], {}).get(ref.path[3], ())
        return ()

    @staticmethod
    def _site(
        wf: Workflow, job: Job, top: Site | None, events: frozenset[str], unknown: bool
    ) -> Site:
        conditions = tuple(c for c in (job.if_,) if c)
        if top is None:
            return Site(wf, job, conditions, (), events, unknown, wf.path, None)
        return replace(top, conditions=top.conditions + conditions)

    def _call_job(self, job: Job, state: _JobState, site: Site, depth: int) -> dict[str, Taints]:
        callee = self.index.reusable(job.uses)
        if callee is None or depth >= MAX_DEPTH or _in_chain(callee.path, site):
            return {}
        inputs = {
            e.key.lower(): _via(
                self._value_taints(e.value, state, {}), f"`with: {e.key}` of {job.uses}"
            )
            for e in job.with_
        }
        hop = f"{callee.path} (called by job {job.id}, line {job.uses_line or job.line})"
        top = replace(
            site,
            chain=(*site.chain, hop),
            report_line=site.report_line or job.uses_line or job.line,
        )
        # NOTE: a reusable workflow called with the same inputs under the same events gives
        # the same sinks, only reached from elsewhere: analyse it once, then re-site them.
        key = (callee.path, site.events, site.caller_unknown, tuple(sorted(inputs.items())))
        cached = self._calls.get(key)
        if cached is None:
            before = len(self.sinks)
            neutral = replace(top, conditions=(), chain=(), report_line=None)
            outputs = self._workflow(
                callee, neutral, inputs, site.events, site.caller_unknown, depth + 1
            )
            cached = (tuple(self.sinks[before:]), outputs)
            del self.sinks[before:]
            self._calls[key] = cached
        relative, outputs = cached
        self.sinks.extend(replace(s, site=_rebase(s.site, top)) for s in relative)
        return outputs

    # -- steps

    def _step(self, step: Step, state: _JobState, site: Site, depth: int) -> None:
        if step.id:
            state.steps_by_id[step.id.lower()] = step
        # NOTE: sites are frozen values: a step without `if:` shares its job's.
        step_site = replace(site, conditions=(*site.conditions, step.if_)) if step.if_ else site
        where = f"job {state.job.id}, step {_label(step)}"
        step_env = self._env_entries(step.env, state.env, state, f"step {_label(step)} env")
        visible = {**state.env, **step_env}
        if step.run is not None:
            self._run(step, state, step_site, where, visible)
        if step.uses is not None:
            self._uses(step, state, step_site, where, visible, depth)

    def _run(
        self, step: Step, state: _JobState, site: Site, where: str, env: dict[str, Taints]
    ) -> None:
        script = step.run or ""
        found = find_expressions(script)
        placeholders: dict[str, Taints] = {}
        text = script
        for index, expr in reversed(list(enumerate(found))):
            taints = self._found_taints(expr, state, env)
            line = step.run_line_at(expr.start)
            if taints:
                self._sink(
                    "code", site, state.workflow.path, line, where, "run:", expr, taints, step
                )
            name = f"__gk_e{index}"
            placeholders[name] = taints
            newlines = "\n" * script.count("\n", expr.start, expr.end)
            text = text[: expr.start] + "${" + name + "}" + newlines + text[expr.end :]
        lines = _script_lines(text, step)
        flow: Flow[Taint] = Flow(
            labels={k: frozenset(v) for k, v in {**env, **placeholders}.items() if v},
            source=self._substitution_source(state),
        )
        for command in commands(lines):
            flow.step(command)
            self._command_sources(command, flow, state)
            self._checkout_command(command, flow, state, site, where, step)
            self._artifact_use(command, state, site, where, step)
        self._env_writes(flow, state, site, where, step)

    def _substitution_source(self, state: _JobState) -> Callable[[str], frozenset[Taint]]:
        """What a command substitution reads: the event file, an artifact's files, a file of
        the pull request's checkout, the pull request looked up through the API."""

        def source(inner: str) -> frozenset[Taint]:
            found: list[Taint] = []
            jq = _EVENT_JQ.search(inner)
            if jq:
                parts = re.sub(r"\[\d*\]", ".*", jq.group(1)).lower().split(".")
                path = ("github", "event", *(p for p in parts if p))
                found.extend(_via(self._context_taints(path), "read from $GITHUB_EVENT_PATH"))
            if _HEAD_LOOKUP.search(inner):
                found.append(
                    Taint(
                        "head",
                        "the pull request's head, looked up through the API",
                        "outsider",
                        _HEAD_LOOKUP_EVENTS,
                    )
                )
            hop = f"read by `$({inner.strip()[:40]})`"
            found.extend(
                a.taint.via(hop) for a in state.artifacts if _reads_artifact(inner, a.directory)
            )
            if state.workspace is not None and _reads_artifact(inner, "."):
                found.append(state.workspace.via(hop))
            return frozenset(found)

        return source

    def _command_sources(self, command: Command, flow: Flow[Taint], state: _JobState) -> None:
        """``read X < file``: the variable holds the file's content."""
        if not command.words or command.words[0] != "read":
            return
        target = re.search(r"(?<!<)<(?!<)\s*([^\s<|;&]+)\s*$", command.text)
        if target is None:
            return
        labels = flow.source(f"cat {target.group(1)}") if flow.source else frozenset()
        for name in command.words[1:]:
            if re.fullmatch(r"[A-Za-z_]\w*", name):
                flow.labels[name] = frozenset(labels)

    def _checkout_command(
        self,
        command: Command,
        flow: Flow[Taint],
        state: _JobState,
        site: Site,
        where: str,
        step: Step,
    ) -> None:
        if not _CHECKOUT_CMD.match(command.text):
            return
        labels = [t for t in flow.of_text(command.text) if t.kind in ("head", "text")]
        if not labels and _PR_REF_TEXT.search(command.text):
            labels = [
                Taint(
                    "head",
                    "a pull request's code",
                    "outsider",
                    catalogue.privileged_outsider_events(),
                )
            ]
        if labels:
            self.sinks.append(
                Sink(
                    "checkout",
                    site,
                    state.workflow.path,
                    command.line,
                    where,
                    "run:",
                    command.text[:160],
                    _merge(labels),
                    step,
                )
            )
            self._checked_out_head(state, labels)

    def _artifact_use(
        self, command: Command, state: _JobState, site: Site, where: str, step: Step
    ) -> None:
        for artifact in state.artifacts:
            if artifact.over_checkout:
                self.sinks.append(
                    Sink(
                        "artifact-overwrite",
                        site,
                        state.workflow.path,
                        command.line,
                        where,
                        "run:",
                        command.text[:160],
                        (
                            artifact.taint.via(
                                f"unpacked over the checkout, then `{command.text[:60]}` runs"
                            ),
                        ),
                        step,
                    )
                )
                artifact.over_checkout = False  # once per artifact
                continue
            if _executes_from(command, artifact.directory):
                self.sinks.append(
                    Sink(
                        "artifact-exec",
                        site,
                        state.workflow.path,
                        command.line,
                        where,
                        "run:",
                        command.text[:160],
                        (artifact.taint.via(f"run by `{command.text[:60]}`"),),
                        step,
                    )
                )

    def _env_writes(
        self, flow: Flow[Taint], state: _JobState, site: Site, where: str, step: Step
    ) -> None:
        for write in flow.writes:
            target = f"$GITHUB_{write.target}"
            taints = _merge(write.labels)
            hop = (
                f"{target}" + (f" as {write.name}" if write.name else "") + f" (line {write.line})"
            )
            if write.target == "ENV" and write.name:
                state.env[write.name] = _merge(state.env.get(write.name, ()), _via(taints, hop))
            if write.target == "OUTPUT" and step.id:
                key = (step.id.lower(), (write.name or "*").lower())
                state.outputs[key] = _merge(state.outputs.get(key, ()), _via(taints, hop))
            if taints:
                self.sinks.append(
                    Sink(
                        "env",
                        site,
                        state.workflow.path,
                        write.line,
                        where,
                        target,
                        write.text[:160],
                        taints,
                        step,
                        write.name,
                    )
                )

    def _uses(
        self,
        step: Step,
        state: _JobState,
        site: Site,
        where: str,
        env: dict[str, Taints],
        depth: int,
    ) -> None:
        name = catalogue.uses_name(step.uses)
        if name == "actions/checkout":
            self._checkout_inputs(step, state, site, where, env)
            state.checked_out = True
        code_inputs = catalogue.code_inputs(step) if step.with_ else {}
        for entry in step.with_:
            what = code_inputs.get(entry.key.lower())
            if what is None or entry.value is None:
                continue
            for expr in find_expressions(entry.value):
                taints = self._found_taints(expr, state, env)
                if taints:
                    self._sink(
                        "code",
                        site,
                        state.workflow.path,
                        entry.line_at(expr.start),
                        where,
                        f"`{entry.key}` input of {name} ({what})",
                        expr,
                        taints,
                        step,
                    )
        if name == "actions/github-script":
            script = next((e.value for e in step.with_ if e.key == "script"), None) or ""
            if _HEAD_LOOKUP.search(script) and step.id:
                head = Taint(
                    "head",
                    "the pull request's head, looked up through the API",
                    "outsider",
                    _HEAD_LOOKUP_EVENTS,
                )
                state.outputs[(step.id.lower(), "*")] = (head.via(f"steps.{step.id} outputs"),)
        self._download(step, state, name)
        action = self.index.action(step.uses)
        if action is not None and depth < MAX_DEPTH and not _in_chain(action.path, site):
            self._call_action(action, step, state, site, env, depth)

    def _checkout_inputs(
        self, step: Step, state: _JobState, site: Site, where: str, env: dict[str, Taints]
    ) -> None:
        for entry in step.with_:
            if entry.key not in ("ref", "repository") or not entry.value:
                continue
            taints: list[Taint] = []
            for expr in find_expressions(entry.value):
                taints.extend(t for t in self._found_taints(expr, state, env, head=True))
            if re.search(r"refs/pull/", entry.value):
                taints.extend(
                    t
                    for t in self._value_taints(entry.value, state, env, head=True)
                    if t.kind == "head"
                )
            if taints:
                self.sinks.append(
                    Sink(
                        "checkout",
                        site,
                        state.workflow.path,
                        entry.line,
                        where,
                        f"`{entry.key}:` of actions/checkout",
                        f"{entry.key}: {entry.value}",
                        _merge(taints),
                        step,
                    )
                )
                self._checked_out_head(state, taints)

    @staticmethod
    def _checked_out_head(state: _JobState, taints: Iterable[Taint]) -> None:
        events = frozenset(e for t in taints for e in t.events)
        state.workspace = Taint("text", "a file of the pull request's checkout", "outsider", events)

    def _download(self, step: Step, state: _JobState, name: str) -> None:
        """Record an artifact downloaded from another run (one an outsider's run made)."""
        inputs = {e.key.lower(): (e.value or "").strip() for e in step.with_}
        foreign = False
        if name == "actions/download-artifact":
            foreign = "run-id" in inputs
        elif name == "dawidd6/action-download-artifact":
            foreign = True
        elif name == "actions/github-script":
            foreign = "downloadArtifact" in inputs.get("script", "")
        if not foreign:
            return
        directory = inputs.get("path", "") or "."
        directory = directory.replace("${{ github.workspace }}", ".").strip().rstrip("/") or "."
        directory = directory.removeprefix("./") or "."
        taint = Taint(
            "artifact",
            f"the artifact downloaded by step {_label(step)} (line {step.uses_line or step.line}), "
            "made by a run an outsider's pull request can start",
            "outsider",
            frozenset({"workflow_run", "pull_request_target", "issue_comment"}),
        )
        state.artifacts.append(
            _Artifact(directory, taint, step, over_checkout=directory == "." and state.checked_out)
        )

    def _call_action(
        self,
        action: Workflow,
        step: Step,
        state: _JobState,
        site: Site,
        env: dict[str, Taints],
        depth: int,
    ) -> None:
        line = step.uses_line or step.line
        passed = {
            e.key.lower(): _via(
                self._value_taints(e.value, state, env), f"`with: {e.key}` of {step.uses}"
            )
            for e in step.with_
        }
        for declared in action.inputs:
            if declared.name.lower() not in passed and declared.default:
                passed[declared.name.lower()] = _via(
                    self._value_taints(declared.default, state, env),
                    f"default of input {declared.name}",
                )
        hop = f"{action.path} (used by step {_label(step)}, line {line})"
        top = replace(site, chain=(*site.chain, hop), report_line=site.report_line or line)
        for job in action.jobs:
            sub = _JobState(
                workflow=action,
                job=job,
                inputs=passed,
                declared_inputs={i.name.lower(): i.type for i in action.inputs},
                env=dict(env),
                needs={},
                matrix=state.matrix,
            )
            sub.env.update(self._env_entries(job.env, sub.env, sub, f"{action.path} env"))
            for inner in job.steps:
                self._step(inner, sub, top, depth + 1)
            # GITHUB_ENV written inside the action holds for the caller's later steps.
            for key, taints in sub.env.items():
                if key not in env or taints != env.get(key):
                    state.env[key] = _merge(state.env.get(key, ()), taints)
            if step.id:
                for out in action.outputs:
                    taints = self._value_taints(out.value, sub, {})
                    state.outputs[(step.id.lower(), out.key.lower())] = _via(
                        taints, f"output {out.key} of {action.path}"
                    )

    # -- values

    def _env_entries(
        self, entries: list[KeyValue], env: dict[str, Taints], state: _JobState | None, where: str
    ) -> dict[str, Taints]:
        out: dict[str, Taints] = {}
        for entry in entries:
            if entry.key == "*" or entry.value is None:
                continue
            taints = (
                self._value_taints(entry.value, state, env) if state else self._static(entry.value)
            )
            out[entry.key] = _via(taints, f"env {entry.key} ({where}, line {entry.line})")
        return out

    def _static(self, text: str) -> Taints:
        """Taints of a workflow-level value (only event contexts can be read there)."""
        return _merge(
            *(
                self._context_taints(ref.path)
                for found in find_expressions(text)
                for ref in _refs(found)
                if isinstance(ref, Ref) and ref.path[0] == "github"
            )
        )

    def _value_taints(
        self, text: str | None, state: _JobState | None, env: dict[str, Taints], head: bool = False
    ) -> Taints:
        if not text or state is None:
            return ()
        return _merge(
            *(self._found_taints(found, state, env, head=head) for found in find_expressions(text))
        )

    def _found_taints(
        self, found: Found, state: _JobState, env: dict[str, Taints], head: bool = False
    ) -> Taints:
        if found.tree is None:
            return ()
        taints = _merge(*(self._expr_taints(found.tree, state, env, whole=False)))
        return taints if head else tuple(t for t in taints if t.kind != "head")

    def _expr_taints(
        self, expr: Expr, state: _JobState, env: dict[str, Taints], whole: bool
    ) -> Iterator[Taints]:
        if isinstance(expr, Ref):
            yield self._resolve(expr, state, env, whole)
        elif isinstance(expr, Access):
            for ref in context_refs(expr.base):
                yield self._resolve(ref, state, env, True)
        elif isinstance(expr, BinOp):
            if expr.op == "||":
                yield from self._expr_taints(expr.left, state, env, whole)
                yield from self._expr_taints(expr.right, state, env, whole)
            elif expr.op == "&&":
                yield from self._expr_taints(expr.right, state, env, whole)
        elif isinstance(expr, Call):
            yield from self._call_taints(expr, state, env)

    def _call_taints(
        self, expr: Call, state: _JobState, env: dict[str, Taints]
    ) -> Iterator[Taints]:
        if expr.name in (
            "contains",
            "startswith",
            "endswith",
            "success",
            "always",
            "failure",
            "cancelled",
            "hashfiles",
        ):
            return
        args = expr.args
        if expr.name == "case" and len(args) >= 3:
            args = tuple(a for i, a in enumerate(args) if i % 2 == 1 or i == len(args) - 1)
        whole = expr.name in ("tojson", "join")
        for arg in args:
            yield from self._expr_taints(arg, state, env, whole)

    def _resolve(self, ref: Ref, state: _JobState, env: dict[str, Taints], whole: bool) -> Taints:
        path = ref.path
        root = path[0]
        if root == "github":
            if path[:3] == ("github", "event", "inputs") and len(path) >= 4:
                return self._input(path[3], state)
            return self._context_taints(path, whole or ref.dynamic)
        if root == "env" and len(path) >= 2:
            return _lookup_env(env, path[1])
        if root == "inputs" and len(path) >= 2:
            return self._input(path[1], state)
        if root == "steps" and len(path) >= 4 and path[2] == "outputs":
            return self._step_output(path[1], path[3], state)
        if root == "needs" and len(path) >= 4 and path[2] == "outputs":
            return state.needs.get(path[1], {}).get(path[3], ())
        if root == "matrix":
            key = path[1] if len(path) >= 2 else "*"
            return _merge(state.matrix.get(key, ()), state.matrix.get("*", ()))
        return ()

    @staticmethod
    def _context_taints(path: tuple[str, ...], whole: bool = False) -> Taints:
        actor = catalogue.actor_text()
        out: list[Taint] = [
            Taint(
                "text",
                ".".join(path) if not whole else src.context,
                cast(Control, src.control),
                src.events,
                actor_written=src.context in actor,
            )
            for src in catalogue.text_sources(path, whole)
        ]
        heads = frozenset(e for e in catalogue.events() if catalogue.names_head(path, e))
        if heads:
            out.append(Taint("head", ".".join(path), "outsider", heads))
        return _merge(out)

    @staticmethod
    def _input(name: str, state: _JobState) -> Taints:
        if state.inputs is not None:
            return state.inputs.get(name.lower(), ())
        declared = state.declared_inputs
        if name.lower() not in declared:
            return ()  # a workflow_dispatch input: chosen by maintainers
        if declared[name.lower()] in ("boolean", "number"):
            return ()
        where = "the action" if state.workflow.kind == "action" else "the reusable workflow"
        return (Taint("text", f"input `{name}` of {where}", "caller", frozenset()),)

    def _step_output(self, step_id: str, output: str, state: _JobState) -> Taints:
        taints = _merge(
            state.outputs.get((step_id, output), ()), state.outputs.get((step_id, "*"), ())
        )
        step = state.steps_by_id.get(step_id)
        if step is not None:
            source = catalogue.tainted_output(step, output)
            if source is not None:
                taints = _merge(
                    taints,
                    (
                        Taint(
                            "text",
                            f"output `{output}` of {source.action} ({source.why})",
                            "outsider",
                            source.events,
                        ),
                    ),
                )
        return _via(taints, f"steps.{step_id}.outputs.{output}") if taints else ()

    def _matrix(self, job: Job, state: _JobState) -> dict[str, Taints]:
        out: dict[str, Taints] = {}
        if job.matrix_expression:
            taints = self._value_taints(job.matrix_expression, state, state.env)
            if taints:
                out["*"] = _via(taints, f"matrix of job {job.id}")
        for combo in job.matrix or []:
            for key, value in combo.items():
                if isinstance(value, str) and "${{" in value:
                    taints = self._value_taints(value, state, state.env)
                    if taints:
                        out[key.lower()] = _merge(
                            out.get(key.lower(), ()), _via(taints, f"matrix.{key} of job {job.id}")
                        )
        return out

    def _sink(
        self,
        kind: SinkKind,
        site: Site,
        path: str,
        line: int,
        where: str,
        what: str,
        expr: Found,
        taints: Taints,
        step: Step,
    ) -> None:
        self.sinks.append(Sink(kind, site, path, line, where, what, expr.inner, taints, step))


# --- helpers ------------------------------------------------------------------------------------


def _in_chain(path: str, site: Site) -> bool:
    """Whether ``path`` is already being analysed on the way to ``site`` (a call cycle)."""
    return path == site.workflow.path or any(hop.startswith(path + " ") for hop in site.chain)


def _rebase(relative: Site, top: Site) -> Site:
    """A site found inside a call, as reached from ``top`` (the call's own site)."""
    return replace(
        top,
        conditions=top.conditions + relative.conditions,
        chain=top.chain + relative.chain,
        report_line=top.report_line,
    )


def _refs(found: Found) -> list[Ref | Access]:
    if found.tree is None:
        return []
    from gatekeeper.audit._gha_expr import value_refs

    return list(value_refs(found.tree))


def _lookup_env(env: dict[str, Taints], name: str) -> Taints:
    if name in env:
        return env[name]
    lower = name.lower()
    for key, taints in env.items():
        if key.lower() == lower:
            return taints
    return ()


def _ordered(jobs: list[Job]) -> list[Job]:
    """Jobs in dependency order (``needs``); a cycle keeps the file's order."""
    by_id = {job.id.lower(): job for job in jobs}
    done: list[Job] = []
    seen: set[str] = set()

    def visit(job: Job, stack: set[str]) -> None:
        key = job.id.lower()
        if key in seen or key in stack:
            return
        stack.add(key)
        for need in job.needs:
            dep = by_id.get(need.lower())
            if dep is not None:
                visit(dep, stack)
        stack.discard(key)
        seen.add(key)
        done.append(job)

    for job in jobs:
        visit(job, set())
    return done


def _script_lines(text: str, step: Step) -> tuple[ShellLine, ...]:
    # NOTE: a local action or reusable workflow is analysed once per call: split it once.
    return _split_script(text, step.run_line or step.line, step.run_is_block)


@functools.lru_cache(maxsize=2048)
def _split_script(text: str, first: int, block: bool) -> tuple[ShellLine, ...]:
    out: list[ShellLine] = []
    pending: list[str] = []
    start = first
    for offset, raw in enumerate(text.split("\n")):
        if not pending:
            start = first + offset if block else first
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        logical = " ".join(p.strip() for p in pending).strip()
        pending = []
        if logical and not logical.startswith("#"):
            out.append(ShellLine(logical, start))
    if pending:
        out.append(ShellLine(" ".join(p.strip() for p in pending), start))
    return tuple(out)


def _under(path: str, directory: str) -> bool:
    clean = path.strip("\"'").removeprefix("./")
    if directory == ".":
        return not clean.startswith(("/", "$", "~")) and bool(clean)
    return clean == directory or clean.startswith(directory.rstrip("/") + "/")


def _reads_artifact(value: str, directory: str) -> bool:
    for match in _ARTIFACT_READ.finditer(value):
        target = next(g for g in match.groups() if g)
        if _under(target, directory):
            return True
    return False


def _executes_from(command: Command, directory: str) -> bool:
    items = list(command.words)
    if not items:
        return False
    first = items[0]
    if directory != "." and _under(first, directory) and ("/" in first):
        return True  # ./artifact/run.sh
    if first.rsplit("/", 1)[-1] in _EXEC_WORDS and len(items) > 1:
        args = [a for a in items[1:] if not a.startswith("-")]
        if directory == ".":
            return False
        return any(_under(a, directory) for a in args)
    return False


@per_evidence
def analyse(evidence: PipelineEvidence) -> Analysis:
    """The flow analysis of ``evidence``, computed once per evidence object."""
    return _Analyser(evidence).run(evidence)


__all__ = ["Analysis", "Sink", "Site", "Taint", "analyse", "is_local_uses"]
