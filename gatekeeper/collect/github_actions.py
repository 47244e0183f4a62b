"""GitHub Actions workflows and actions (``action.yml``), parsed with a line for every key.

The workflow is read through the line-aware safe loader (``_yaml_lines``), so ``on:`` stays
the trigger key it is (YAML 1.1 would read it as ``True``) and every trigger, job, step,
``uses``, ``run``, ``with``, ``env``, ``container``, ``services`` and ``secrets`` entry keeps
its line. Nothing in the file is evaluated: expressions (``${{ ... }}``) are kept as text.
"""

from __future__ import annotations

import re
from typing import Any

from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.collect._yaml_lines import LList, LMap, YamlLinesError, load_with_lines
from gatekeeper.models.pipeline import (
    Container,
    Job,
    KeyValue,
    Permissions,
    Step,
    Trigger,
    Workflow,
)


class WorkflowParseError(FileParseError):
    """The file is YAML but not a workflow/action GitHub would accept; ``line`` is 1-based."""


def _text(value: Any) -> str | None:
    """A scalar as the workflow author wrote it (booleans in YAML spelling)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (LMap, LList)):
        return None
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
        triggers = []
        for event, config in value.items():
            types: list[str] = []
            branches: list[str] = []
            tags: list[str] = []
            if isinstance(config, LMap):
                types = _str_list(config.get("types"))
                branches = _str_list(config.get("branches"))
                tags = _str_list(config.get("tags"))
            triggers.append(
                Trigger(
                    event=event,
                    line=value.line_of(event),
                    types=types,
                    branches=branches,
                    tags=tags,
                )
            )
        return triggers
    raise WorkflowParseError("`on:` must be an event name, a list or a mapping", line)


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


def _steps(value: Any, line: int) -> list[Step]:
    if value is None:
        return []
    if not isinstance(value, LList):
        raise WorkflowParseError("`steps:` must be a list", line)
    steps = []
    for index, raw in enumerate(value):
        step_line = value.line_of(index)
        step = _expect_map(raw, "a step", step_line)
        run = step.get("run")
        if run is not None and not isinstance(run, str):
            run = _text(run)
        steps.append(
            Step(
                index=index,
                line=step_line,
                id=_text(step.get("id")),
                name=_text(step.get("name")),
                if_=_text(step.get("if")),
                uses=_text(step.get("uses")),
                uses_line=step.line_of("uses") if "uses" in step else None,
                run=run,
                run_line=step.value_line("run") if "run" in step else None,
                run_is_block="run" in step.literal_values,
                shell=_text(step.get("shell")),
                with_=key_values(step.get("with"), step.line_of("with")),
                env=key_values(step.get("env"), step.line_of("env")),
                key_lines=dict(sorted(step.key_lines.items())),
            )
        )
    return steps


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")


def _matrix_values(strategy: Any, name: str) -> list[str]:
    """Every value ``matrix.<name>`` can take: the axis and ``include`` entries."""
    matrix = strategy.get("matrix") if isinstance(strategy, LMap) else None
    if not isinstance(matrix, LMap):
        return []
    values: list[str] = []
    axis = matrix.get(name)
    items = list(axis) if isinstance(axis, LList) else [axis]
    for include in matrix.get("include") or []:
        if isinstance(include, LMap) and name in include:
            items.append(include[name])
    for item in items:
        values.extend(_str_list(item))
    return values


def _runs_on(value: Any, strategy: Any = None) -> list[str]:
    """Runner labels; ``${{ matrix.x }}`` is expanded to every value the matrix gives it."""
    if isinstance(value, LMap):  # {group: ..., labels: [...]}
        labels = _str_list(value.get("labels"))
        group = _text(value.get("group"))
        return ([f"group:{group}"] if group else []) + labels
    labels = []
    for label in _str_list(value):
        labels.append(label)
        for ref in _MATRIX_REF.findall(label):
            labels.extend(v for v in _matrix_values(strategy, ref) if v not in labels)
    return labels


def _job(job_id: str, raw: Any, line: int) -> Job:
    job = _expect_map(raw, f"job {job_id!r}", line)
    environment = job.get("environment")
    if isinstance(environment, LMap):
        environment = environment.get("name")
    return Job(
        id=job_id,
        line=line,
        name=_text(job.get("name")),
        if_=_text(job.get("if")),
        runs_on=_runs_on(job.get("runs-on"), job.get("strategy")),
        runs_on_line=_line_if_set(job, "runs-on"),
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
        steps=_steps(job.get("steps"), job.line_of("steps")),
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
        YamlLinesError: not YAML (or over a limit).
        WorkflowParseError: YAML, but not a workflow.
    """
    doc = load_with_lines(text)
    if not isinstance(doc, LMap):
        raise WorkflowParseError("a workflow must be a mapping", getattr(doc, "line", 1))
    if "on" not in doc:
        raise WorkflowParseError("a workflow needs `on:` (its triggers)", doc.line)
    if "jobs" not in doc:
        raise WorkflowParseError("a workflow needs `jobs:`", doc.line)
    jobs_map = _expect_map(doc["jobs"], "`jobs:`", doc.line_of("jobs"))
    return Workflow(
        path=path,
        kind="workflow",
        name=_text(doc.get("name")),
        triggers=_triggers(doc["on"], doc.line_of("on")),
        triggers_line=doc.line_of("on"),
        permissions=(
            _permissions(doc["permissions"], doc.line_of("permissions"))
            if "permissions" in doc
            else None
        ),
        env=key_values(doc.get("env"), doc.line_of("env")),
        jobs=[_job(job_id, raw, jobs_map.line_of(job_id)) for job_id, raw in jobs_map.items()],
        key_lines=dict(sorted(doc.key_lines.items())),
    )


def parse_action(path: str, text: str) -> Workflow:
    """Parse an ``action.yml``: composite steps become one job named ``runs``.

    Raises:
        YamlLinesError / WorkflowParseError: as :func:`parse_workflow`.
    """
    doc = load_with_lines(text)
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
                steps=_steps(runs.get("steps"), runs.line_of("steps")),
                env=key_values(runs.get("env"), runs.line_of("env")),
            )
        )
    return Workflow(
        path=path,
        kind="action",
        name=_text(doc.get("name")),
        jobs=jobs,
        runs_using=using,
        runs_image=_text(runs.get("image")),
        runs_image_line=runs.line_of("image") if "image" in runs else None,
        key_lines=dict(sorted(doc.key_lines.items())),
    )


__all__ = ["WorkflowParseError", "YamlLinesError", "key_values", "parse_action", "parse_workflow"]
