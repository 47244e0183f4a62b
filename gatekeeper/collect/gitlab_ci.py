"""GitLab CI configuration (``.gitlab-ci.yml`` and the local files it includes).

Records every ``include:`` (local, remote, project, template, component) with its ref and
line, and every job's image, scripts (``before_script``, ``script``, ``after_script``) and
variables. Local includes are resolved inside the tree (globs too) by the pipeline collector.
Application tags such as ``!reference`` are kept as text, never constructed.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.collect._yaml_lines import LList, LMap, load_with_lines_all
from gatekeeper.collect.github_actions import key_values
from gatekeeper.models.pipeline import GitlabCi, GitlabInclude, GitlabJob, KeyValue, ScriptLine

# Top-level keys that are not jobs.
RESERVED = frozenset(
    {
        "include",
        "stages",
        "variables",
        "default",
        "workflow",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "types",
        "spec",
    }
)
_SCRIPT_KEYS = ("before_script", "script", "after_script")


class GitlabParseError(FileParseError):
    """The file is YAML but not a GitLab CI configuration; ``line`` is 1-based when known."""


def _include_entry(value: Any, line: int) -> GitlabInclude:
    if isinstance(value, str):
        kind = "remote" if value.startswith(("http://", "https://")) else "local"
        return GitlabInclude(kind=kind, target=value, line=line)
    if not isinstance(value, LMap):
        raise GitlabParseError("an include must be a path, a URL or a mapping", line)
    ref = value.get("ref")
    ref_text = None if ref is None else str(ref)
    file_kind = next((k for k in _INCLUDE_KINDS if k in value), None)
    if file_kind is not None:
        return _include_file(value, file_kind, ref_text)
    if "project" in value:
        return _include_project(value, ref_text)
    raise GitlabParseError(
        "an include needs one of local, remote, project, template or component", line
    )


_INCLUDE_KINDS = ("local", "remote", "template", "component")


def _include_file(value: LMap, kind: str, ref_text: str | None) -> GitlabInclude:
    """``local:``, ``remote:``, ``template:`` or ``component:``."""
    if kind == "remote":
        # NOTE: a remote include is pinned by `integrity:` (a content hash) only;
        # GitLab ignores a `ref:` beside it, so that must not read as a pin.
        ref_text = str(value["integrity"]) if "integrity" in value else None
    return GitlabInclude(kind=kind, target=str(value[kind]), ref=ref_text, line=value.line_of(kind))


def _include_project(value: LMap, ref_text: str | None) -> GitlabInclude:
    """``project:`` with ``file:`` (one path or a list) and ``ref:``."""
    files = value.get("file")
    target = ", ".join(str(f) for f in files) if isinstance(files, LList) else str(files)
    return GitlabInclude(
        kind="project",
        target=target,
        ref=ref_text,
        line=value.line_of("project"),
        project=str(value["project"]),
    )


def _includes(value: Any, line: int) -> list[GitlabInclude]:
    if isinstance(value, LList):
        return [_include_entry(item, value.line_of(i)) for i, item in enumerate(value)]
    return [_include_entry(value, line)]


def _scripts(value: Any, line: int, is_block: bool = False) -> list[ScriptLine]:
    """A script as lines; nested lists (from `!reference` or anchors) are flattened."""
    if value is None:
        return []
    if isinstance(value, str):
        return [ScriptLine(text=value, line=line, is_block=is_block)]
    if isinstance(value, LList):
        out: list[ScriptLine] = []
        for i, item in enumerate(value):
            out.extend(_scripts(item, value.line_of(i), i in value.literal_items))
        return out
    if isinstance(value, (LMap,)):
        raise GitlabParseError("a script must be a string or a list of strings", line)
    return [ScriptLine(text=str(value), line=line)]


def _variables(value: Any, line: int) -> list[KeyValue]:
    """``variables:`` entries; the long form ``NAME: {value: ..., description: ...}`` too."""
    entries = key_values(value, line)
    if not isinstance(value, LMap):
        return entries
    out = []
    for entry in entries:
        raw = value.get(entry.key)
        if isinstance(raw, LMap) and "value" in raw and not isinstance(raw["value"], (LMap, LList)):
            inner = raw["value"]
            text = (
                None
                if inner is None
                else (("true" if inner else "false") if isinstance(inner, bool) else str(inner))
            )
            entry = entry.model_copy(
                update={"value": text, "is_literal": True, "value_line": raw.line_of("value")}
            )
        out.append(entry)
    return out


def _image(value: Any) -> str | None:
    if isinstance(value, LMap):
        name = value.get("name")
        return None if name is None else str(name)
    return None if value is None else str(value)


def _holder_scripts(holder: LMap, key: str) -> list[ScriptLine]:
    """The script lines of ``holder[key]`` (``before_script``, ``script``, ``after_script``)."""
    if key not in holder:
        return []
    return _scripts(holder[key], holder.value_line(key), key in holder.literal_values)


def _empty_document() -> LMap:
    doc = LMap()
    doc.line, doc.key_lines, doc.value_lines, doc.literal_values = 1, {}, {}, set()
    return doc


def _document(text: str) -> LMap:
    """The configuration mapping (after an optional component ``spec:`` header document)."""
    docs = load_with_lines_all(text)
    if len(docs) == 2 and isinstance(docs[0], LMap) and "spec" in docs[0]:
        docs = docs[1:]  # the CI/CD component `spec:` header
    if len(docs) > 1:
        raise GitlabParseError("a GitLab CI file holds one document", None)
    doc = docs[0] if docs else _empty_document()
    if not isinstance(doc, LMap):
        raise GitlabParseError("a GitLab CI file must be a mapping", getattr(doc, "line", 1))
    return doc


def _defaults(doc: LMap) -> tuple[list[ScriptLine], str | None, int | None]:
    """Scripts and image that apply to every job: top-level keys and ``default:``."""
    holders = [h for h in (doc, doc.get("default")) if isinstance(h, LMap)]
    scripts = [s for key in _SCRIPT_KEYS for h in holders for s in _holder_scripts(h, key)]
    image, image_line = None, None
    for holder in holders:
        if holder.get("image") is not None:
            image, image_line = _image(holder["image"]), holder.line_of("image")
    return scripts, image, image_line


def _job(name: str, raw: LMap, line: int) -> GitlabJob:
    return GitlabJob(
        name=name,
        line=line,
        image=_image(raw.get("image")),
        image_line=raw.line_of("image") if "image" in raw else None,
        scripts=[s for key in _SCRIPT_KEYS for s in _holder_scripts(raw, key)],
        variables=_variables(raw.get("variables"), raw.line_of("variables")),
    )


def parse_gitlab_ci(path: str, text: str, included_from: str | None = None) -> GitlabCi:
    """Parse a GitLab CI file (an optional `spec:` header document comes first).

    Raises:
        YamlLinesError: not YAML (or over a limit).
        GitlabParseError: YAML, but not a GitLab CI configuration.
    """
    doc = _document(text)
    includes = _includes(doc["include"], doc.line_of("include")) if "include" in doc else []
    default_scripts, default_image, default_image_line = _defaults(doc)
    jobs = [
        _job(name, raw, doc.line_of(name))
        for name, raw in doc.items()
        if name not in RESERVED and isinstance(raw, LMap)
    ]
    return GitlabCi(
        path=path,
        included_from=included_from,
        includes=includes,
        jobs=jobs,
        variables=_variables(doc.get("variables"), doc.line_of("variables")),
        default_scripts=default_scripts,
        default_image=default_image,
        default_image_line=default_image_line,
    )


__all__ = ["GitlabParseError", "parse_gitlab_ci"]
