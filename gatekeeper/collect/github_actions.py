"""GitHub Actions workflows and actions (``action.yml``), parsed with a line for every key.

The file is read as GitHub reads it: YAML 1.2's core schema (``on``, ``yes`` and
``2024-02-30`` are strings; ``_yaml_lines`` with ``schema="1.2"``), duplicate keys and merge
keys refused. A workflow GitHub would refuse is a ``WorkflowParseError`` naming the line: an
unknown top-level, job or step key, a job without ``runs-on`` (or ``steps``), a step with
neither ``uses`` nor ``run``, a matrix over GitHub's 256 combinations. Every trigger, job,
step, ``uses``, ``run``, ``with``, ``env``, ``container``, ``services`` and ``secrets`` entry
keeps its line; steps of a ``parallel:`` block are recorded like the others, with their group.
``strategy.matrix`` is expanded as GitHub expands it (``include``/``exclude``), and
``runs-on`` is resolved for each combination. Nothing in the file is evaluated: expressions
(``${{ ... }}``) are kept as text.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.collect._yaml_lines import LList, LMap, YamlLinesError, load_with_lines
from gatekeeper.models.pipeline import (
    Container,
    Input,
    Job,
    KeyValue,
    Permissions,
    Step,
    Trigger,
    Workflow,
)

# The keys GitHub accepts at each level (docs: "Workflow syntax for GitHub Actions").
WORKFLOW_KEYS = frozenset(
    {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
)
_COMMON_JOB_KEYS = frozenset(
    {"name", "permissions", "needs", "if", "strategy", "concurrency", "continue-on-error"}
)
STEPS_JOB_KEYS = _COMMON_JOB_KEYS | {
    "runs-on",
    "environment",
    "outputs",
    "env",
    "defaults",
    "steps",
    "timeout-minutes",
    "container",
    "services",
    "snapshot",
}
CALL_JOB_KEYS = _COMMON_JOB_KEYS | {"uses", "with", "secrets"}
STEP_KEYS = frozenset(
    {
        "id",
        "if",
        "name",
        "uses",
        "run",
        "working-directory",
        "shell",
        "with",
        "env",
        "continue-on-error",
        "timeout-minutes",
        "background",
    }
)
_CONTROL_KEYS = ("wait", "wait-all", "cancel")
MAX_MATRIX = 256  # GitHub runs at most 256 jobs per matrix
_MATRIX_REF = re.compile(r"\$\{\{\s*matrix((?:\.[A-Za-z0-9_-]+)+)\s*\}\}")
_USES_COMMENT = re.compile(r"""uses:\s*["']?[^\s"'#]+["']?\s+#\s*(.*?)\s*$""")


class WorkflowParseError(FileParseError):
    """The file is YAML but not a workflow/action GitHub would accept; ``line`` is 1-based."""


def _text(value: Any) -> str | None:
    """A scalar as GitHub reads it (booleans in YAML spelling, numbers as numbers)."""
    if value is None or isinstance(value, (LMap, LList)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    return str(value)


def _str_list(value: Any) -> list[str]:
    if isinstance(value, LList):
        return [t for t in (_text(v) for v in value) if t is not None]
    text = _text(value)
    return [text] if text is not None else []


def key_values(value: Any, line: int) -> list[KeyValue]:
    """``env:``/``with:``-style mappings as KeyValue entries; an expression as one ``*`` entry."""
    if isinstance(value, LMap):
        out = []
        for key, item in value.items():
            is_literal = not isinstance(item, (LMap, LList))
            out.append(
                KeyValue(
                    key=key,
                    value=_text(item),
                    line=value.line_of(key),
                    is_literal=is_literal,
                    value_line=value.value_line(key),
                    value_is_block=key in value.literal_values,
                )
            )
        return out
    if value is None:
        return []
    # e.g. `env: ${{ fromJSON(inputs.env) }}`: one entry standing for the whole mapping.
    return [KeyValue(key="*", value=_text(value), line=line, is_literal=False)]


def _expect_map(value: Any, what: str, line: int) -> LMap:
    if not isinstance(value, LMap):
        raise WorkflowParseError(f"{what} must be a mapping", line)
    return value


def _unknown_keys(mapping: LMap, allowed: frozenset[str], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise WorkflowParseError(
                f"{what} has an unknown key `{key}`; GitHub rejects the file",
                mapping.line_of(key),
            )


# --- triggers and inputs -----------------------------------------------------------------------


def _trigger(event: str, config: Any, line: int) -> Trigger:
    if not isinstance(config, LMap):
        return Trigger(event=event, line=line)
    return Trigger(
        event=event,
        line=line,
        types=_str_list(config.get("types")),
        branches=_str_list(config.get("branches")),
        tags=_str_list(config.get("tags")),
        workflows=_str_list(config.get("workflows")),
    )


def _triggers(value: Any, line: int) -> list[Trigger]:
    if isinstance(value, str):
        return [Trigger(event=value, line=line)]
    if isinstance(value, LList):
        triggers = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise WorkflowParseError("`on:` list items must be event names", value.line_of(i))
            triggers.append(Trigger(event=item, line=value.line_of(i)))
        return triggers
    if isinstance(value, LMap):
        return [_trigger(event, config, value.line_of(event)) for event, config in value.items()]
    raise WorkflowParseError("`on:` must be an event name, a list or a mapping", line)


def _inputs(value: Any, source: str) -> list[Input]:
    if not isinstance(value, LMap):
        return []
    out = []
    for name, spec in value.items():
        spec_map = spec if isinstance(spec, LMap) else LMap()
        out.append(
            Input(
                name=name,
                line=value.line_of(name),
                source=source,
                type=_text(spec_map.get("type")),
                default=_text(spec_map.get("default")),
            )
        )
    return out


def _workflow_inputs(on: Any) -> list[Input]:
    if not isinstance(on, LMap):
        return []
    inputs: list[Input] = []
    for event in ("workflow_call", "workflow_dispatch"):
        config = on.get(event)
        if isinstance(config, LMap):
            inputs.extend(_inputs(config.get("inputs"), event))
    return inputs


def _call_outputs(on: Any) -> list[KeyValue]:
    """``on.workflow_call.outputs``: each output's ``value`` expression."""
    config = on.get("workflow_call") if isinstance(on, LMap) else None
    outputs = config.get("outputs") if isinstance(config, LMap) else None
    if not isinstance(outputs, LMap):
        return []
    return [_output_value(outputs, name) for name in outputs]


def _output_value(outputs: LMap, name: str) -> KeyValue:
    spec = outputs[name]
    if isinstance(spec, LMap):
        return KeyValue(
            key=name,
            value=_text(spec.get("value")),
            line=spec.line_of("value") if "value" in spec else outputs.line_of(name),
            value_line=spec.value_line("value") if "value" in spec else None,
            value_is_block="value" in spec.literal_values,
        )
    return KeyValue(key=name, value=_text(spec), line=outputs.line_of(name))


def _permissions(value: Any, line: int) -> Permissions:
    if isinstance(value, LMap):
        return Permissions(line=line, scopes=key_values(value, line))
    if isinstance(value, str):
        return Permissions(line=line, preset=value)
    if value is None:
        # `permissions:` with nothing after it is null, which GitHub treats as `{}`.
        return Permissions(line=line)
    raise WorkflowParseError("`permissions:` must be read-all, write-all or a mapping", line)


def _container(value: Any, line: int, name: str | None) -> Container:
    if isinstance(value, LMap):
        image = _text(value.get("image"))
        return Container(
            name=name,
            image=image,
            line=line,
            image_line=value.line_of("image") if "image" in value else line,
            credentials=key_values(value.get("credentials"), value.line_of("credentials")),
            env=key_values(value.get("env"), value.line_of("env")),
        )
    return Container(name=name, image=_text(value), line=line, image_line=line)


# --- steps ------------------------------------------------------------------------------------


class _StepReader:
    """Reads a job's (or composite action's) ``steps:`` list into flat ``Step`` records."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines  # the file's lines, for the comment after `uses:`
        self.steps: list[Step] = []

    def read(self, value: Any, line: int) -> list[Step]:
        if value is None:
            return []
        if not isinstance(value, LList):
            raise WorkflowParseError("`steps:` must be a list", line)
        for position, raw in enumerate(value):
            step_line = value.line_of(position)
            step = _expect_map(raw, "a step", step_line)
            if "parallel" in step:
                self._parallel(step, position, step_line)
            else:
                self._step(step, step_line, None)
        return self.steps

    def _parallel(self, block: LMap, position: int, line: int) -> None:
        _unknown_keys(block, frozenset({"parallel"}), "a `parallel:` step")
        inner = block["parallel"]
        if not isinstance(inner, LList) or not inner:
            raise WorkflowParseError("`parallel:` must be a list of steps", line)
        for index, raw in enumerate(inner):
            inner_line = inner.line_of(index)
            step = _expect_map(raw, "a step of `parallel:`", inner_line)
            if "uses" not in step and "run" not in step:
                raise WorkflowParseError(
                    "a step of `parallel:` needs `uses:` or `run:`", inner_line
                )
            self._step(step, inner_line, position)

    def _step(self, step: LMap, line: int, group: int | None) -> None:
        control = next((k for k in _CONTROL_KEYS if k in step), None)
        allowed = STEP_KEYS if control is None else frozenset({"id", "name", control})
        _unknown_keys(step, allowed, "a step")
        if control is None and "uses" not in step and "run" not in step:
            raise WorkflowParseError("a step needs `uses:` or `run:`", line)
        if "uses" in step and "run" in step:
            raise WorkflowParseError("a step has both `uses:` and `run:`", line)
        run = step.get("run")
        if run is not None and not isinstance(run, str):
            run = _text(run)
        uses_line = step.line_of("uses") if "uses" in step else None
        if uses_line is not None and uses_line < line:
            uses_line = line  # an aliased step (`- *checkout`): report where it is used
        self.steps.append(
            Step(
                index=len(self.steps),
                line=line,
                id=_text(step.get("id")),
                name=_text(step.get("name")),
                if_=_text(step.get("if")),
                uses=_text(step.get("uses")),
                uses_line=uses_line,
                run=run,
                run_line=step.value_line("run") if "run" in step else None,
                run_is_block="run" in step.literal_values,
                shell=_text(step.get("shell")),
                with_=key_values(step.get("with"), step.line_of("with")),
                env=key_values(step.get("env"), step.line_of("env")),
                key_lines=dict(sorted(step.key_lines.items())),
                working_directory=_text(step.get("working-directory")),
                uses_comment=self._comment(uses_line),
                parallel_group=group,
                background=step.get("background") is True,
                control=control,
            )
        )

    def _comment(self, line: int | None) -> str | None:
        if line is None or not 0 < line <= len(self.lines):
            return None
        match = _USES_COMMENT.search(self.lines[line - 1])
        return match.group(1)[:200] if match and match.group(1) else None


# --- the matrix -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A matrix value as plain data (strings for scalars, as GitHub compares them)."""
    if isinstance(value, LMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, LList):
        return [_plain(v) for v in value]
    return _text(value)


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value


def _matches(combo: dict[str, Any], entry: dict[str, Any]) -> bool:
    return all(k in combo and combo[k] == v for k, v in entry.items())


def _apply_includes(
    originals: list[dict[str, Any]], includes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """GitHub's rule: an include extends every original combination whose original values it
    does not overwrite (values added by earlier includes may be overwritten); when it extends
    none, it becomes a combination of its own."""
    dims = [set(c) for c in originals]
    added: list[dict[str, Any]] = []
    for entry in includes:
        extended = False
        for combo, original in zip(originals, dims, strict=True):
            if all(combo[k] == v for k, v in entry.items() if k in original):
                combo.update({k: v for k, v in entry.items() if k not in original})
                extended = True
        if not extended:
            added.append(dict(entry))
    return originals + added


class _DynamicMatrix(Exception):
    """A matrix (or part of one) given by an expression: its values are known at run time."""

    def __init__(self, expression: str, line: int) -> None:
        super().__init__(expression)
        self.expression, self.line = expression, line


def _matrix(strategy: Any, line: int) -> tuple[list[dict[str, Any]] | None, str | None, int]:
    """(combinations, expression, line) of ``strategy.matrix``."""
    if not isinstance(strategy, LMap) or "matrix" not in strategy:
        return None, None, line
    matrix = strategy["matrix"]
    matrix_line = strategy.line_of("matrix")
    try:
        if _is_expression(matrix):
            raise _DynamicMatrix(str(matrix), matrix_line)
        if not isinstance(matrix, LMap):
            raise WorkflowParseError("`strategy.matrix` must be a mapping", matrix_line)
        dims = _matrix_dimensions(matrix)
        include, exclude = (_matrix_entries(matrix, key) for key in ("include", "exclude"))
    except _DynamicMatrix as dynamic:
        return None, dynamic.expression, dynamic.line
    size = math.prod(len(v) for v in dims.values()) if dims else 0
    if size + len(include) > MAX_MATRIX:
        raise WorkflowParseError(
            f"the matrix expands to {size + len(include)} combinations; GitHub runs at "
            f"most {MAX_MATRIX}",
            matrix_line,
        )
    combos = (
        [dict(zip(dims, values, strict=True)) for values in itertools.product(*dims.values())]
        if dims
        else []
    )
    combos = [c for c in combos if not any(_matches(c, e) for e in exclude)]
    return _apply_includes(combos, include), None, matrix_line


def _matrix_dimensions(matrix: LMap) -> dict[str, list[Any]]:
    """Each dimension's values (``include`` and ``exclude`` are not dimensions)."""
    dims: dict[str, list[Any]] = {}
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        if _is_expression(values):
            raise _DynamicMatrix(str(values), matrix.line_of(key))
        if not isinstance(values, LList):
            raise WorkflowParseError(
                f"matrix dimension `{key}` must be a list", matrix.line_of(key)
            )
        dims[key] = [_plain(v) for v in values]
    return dims


def _matrix_entries(matrix: LMap, key: str) -> list[dict[str, Any]]:
    """The mappings listed under ``include`` or ``exclude``."""
    entries = matrix.get(key)
    if _is_expression(entries):
        raise _DynamicMatrix(str(entries), matrix.line_of(key))
    return [e for e in (_plain(x) for x in (entries or [])) if isinstance(e, dict)]


def _lookup(combo: dict[str, Any], path: str) -> Any:
    value: Any = combo
    for part in path.strip(".").split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _substitute(label: str, combo: dict[str, Any]) -> list[str]:
    """A runner label with ``${{ matrix.x }}`` replaced by its value in ``combo``."""
    whole = _MATRIX_REF.fullmatch(label.strip())
    if whole is not None:
        value = _lookup(combo, whole.group(1))
        if isinstance(value, list):
            return [str(v) for v in value if v is not None]
        if value is not None and not isinstance(value, dict):
            return [str(value)]
        return [label]

    def one(match: re.Match[str]) -> str:
        value = _lookup(combo, match.group(1))
        return str(value) if isinstance(value, str) else match.group(0)

    return [_MATRIX_REF.sub(one, label)]


def _runs_on(value: Any) -> list[str]:
    """Runner labels as written; ``{group, labels}`` as ``group:NAME`` and the labels."""
    if isinstance(value, LMap):
        labels = _str_list(value.get("labels"))
        group = _text(value.get("group"))
        return ([f"group:{group}"] if group else []) + labels
    return _str_list(value)


def _runner_sets(labels: list[str], combos: list[dict[str, Any]] | None) -> list[list[str]]:
    if not labels:
        return []
    if not combos or not any("matrix" in label for label in labels):
        return [labels]
    sets: list[list[str]] = []
    for combo in combos:
        resolved = [part for label in labels for part in _substitute(label, combo)]
        if resolved not in sets:
            sets.append(resolved)
    return sets


# --- jobs and files ---------------------------------------------------------------------------


def _job(job_id: str, raw: Any, line: int, lines: list[str]) -> Job:
    job = _expect_map(raw, f"job {job_id!r}", line)
    if "uses" in job:
        _unknown_keys(job, CALL_JOB_KEYS, f"job {job_id!r} (a reusable workflow call)")
    else:
        _unknown_keys(job, STEPS_JOB_KEYS, f"job {job_id!r}")
        if "runs-on" not in job:
            raise WorkflowParseError(f"job {job_id!r} has no `runs-on:`; GitHub rejects it", line)
        if "steps" not in job:
            raise WorkflowParseError(f"job {job_id!r} has no `steps:`; GitHub rejects it", line)
    environment = job.get("environment")
    if isinstance(environment, LMap):
        environment = environment.get("name")
    combos, matrix_expression, matrix_line = _matrix(job.get("strategy"), line)
    runs_on = _runs_on(job.get("runs-on"))
    return Job(
        id=job_id,
        line=line,
        name=_text(job.get("name")),
        if_=_text(job.get("if")),
        runs_on=runs_on,
        runs_on_line=_line_if_set(job, "runs-on"),
        runner_sets=_runner_sets(runs_on, combos),
        needs=_str_list(job.get("needs")),
        outputs=key_values(job.get("outputs"), job.line_of("outputs")),
        matrix=combos,
        matrix_expression=matrix_expression,
        matrix_line=matrix_line if (combos is not None or matrix_expression) else None,
        permissions=(
            _permissions(job["permissions"], job.line_of("permissions"))
            if "permissions" in job
            else None
        ),
        env=key_values(job.get("env"), job.line_of("env")),
        container=(
            _container(job["container"], job.line_of("container"), None)
            if job.get("container") is not None
            else None
        ),
        services=_services(job.get("services")),
        steps=_StepReader(lines).read(job.get("steps"), job.line_of("steps")),
        uses=_text(job.get("uses")),
        uses_line=_line_if_set(job, "uses"),
        with_=key_values(job.get("with"), job.line_of("with")),
        secrets=_job_secrets(job.get("secrets"), job.line_of("secrets")),
        secrets_line=_line_if_set(job, "secrets"),
        environment=_text(environment),
        key_lines=dict(sorted(job.key_lines.items())),
    )


def _line_if_set(mapping: LMap, key: str) -> int | None:
    return mapping.line_of(key) if key in mapping else None


def _services(value: Any) -> list[Container]:
    if not isinstance(value, LMap):
        return []
    return [_container(spec, value.line_of(name), name) for name, spec in value.items()]


def _job_secrets(value: Any, line: int) -> str | list[KeyValue] | None:
    """A reusable workflow's ``secrets:``: ``inherit``, a mapping, or one expression."""
    if isinstance(value, str):
        if value == "inherit":
            return "inherit"
        return [KeyValue(key="*", value=value, line=line, is_literal=False)]
    if isinstance(value, LMap):
        return key_values(value, line)
    return None


def parse_workflow(path: str, text: str) -> Workflow:
    """Parse a workflow file.

    Raises:
        YamlLinesError: not YAML (or over a limit, or a duplicate key).
        WorkflowParseError: YAML, but not a workflow GitHub would accept.
    """
    doc = load_with_lines(text, schema="1.2")
    if not isinstance(doc, LMap):
        raise WorkflowParseError("a workflow must be a mapping", getattr(doc, "line", 1))
    if "on" not in doc:
        raise WorkflowParseError("a workflow needs `on:` (its triggers)", doc.line)
    if "jobs" not in doc:
        raise WorkflowParseError("a workflow needs `jobs:`", doc.line)
    _unknown_keys(doc, WORKFLOW_KEYS, "the workflow")
    jobs_map = _expect_map(doc["jobs"], "`jobs:`", doc.line_of("jobs"))
    lines = text.splitlines()
    return Workflow(
        path=path,
        kind="workflow",
        name=_text(doc.get("name")),
        run_name=_text(doc.get("run-name")),
        inputs=_workflow_inputs(doc["on"]),
        outputs=_call_outputs(doc["on"]),
        triggers=_triggers(doc["on"], doc.line_of("on")),
        triggers_line=doc.line_of("on"),
        permissions=(
            _permissions(doc["permissions"], doc.line_of("permissions"))
            if "permissions" in doc
            else None
        ),
        env=key_values(doc.get("env"), doc.line_of("env")),
        jobs=[
            _job(job_id, raw, jobs_map.line_of(job_id), lines) for job_id, raw in jobs_map.items()
        ],
        key_lines=dict(sorted(doc.key_lines.items())),
    )


def parse_action(path: str, text: str) -> Workflow:
    """Parse an ``action.yml``: composite steps become one job named ``runs``.

    Raises:
        YamlLinesError / WorkflowParseError: as :func:`parse_workflow`.
    """
    doc = load_with_lines(text, schema="1.2")
    if not isinstance(doc, LMap):
        raise WorkflowParseError("an action must be a mapping", getattr(doc, "line", 1))
    if "runs" not in doc:
        raise WorkflowParseError("an action needs `runs:`", doc.line)
    runs = _expect_map(doc["runs"], "`runs:`", doc.line_of("runs"))
    using = _text(runs.get("using"))
    jobs: list[Job] = []
    if "steps" in runs:
        jobs.append(
            Job(
                id="runs",
                line=doc.line_of("runs"),
                steps=_StepReader(text.splitlines()).read(runs.get("steps"), runs.line_of("steps")),
                env=key_values(runs.get("env"), runs.line_of("env")),
            )
        )
    outputs = doc.get("outputs")
    return Workflow(
        path=path,
        kind="action",
        name=_text(doc.get("name")),
        inputs=_inputs(doc.get("inputs"), "action"),
        outputs=[_output_value(outputs, n) for n in outputs] if isinstance(outputs, LMap) else [],
        jobs=jobs,
        runs_using=using,
        runs_image=_text(runs.get("image")),
        runs_image_line=runs.line_of("image") if "image" in runs else None,
        key_lines=dict(sorted(doc.key_lines.items())),
    )


__all__ = ["WorkflowParseError", "YamlLinesError", "key_values", "parse_action", "parse_workflow"]
