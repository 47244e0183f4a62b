"""The GitHub Actions facts the audits rely on, read from data files with their sources.

- ``gatekeeper/data/github_actions/events.json``: for every event an outsider can cause (and
  a few others), who can cause it, whether the run gets secrets and a write token, which
  code it runs by default, which payload contexts carry the outsider's text, and which name
  the pull request's code.
- ``gatekeeper/data/github_actions/actions.json``: third-party actions by major version:
  inputs they run as code, caches they restore (and how they are switched on or off),
  outputs an outsider writes, and publishing actions.

The files are loaded once per process, on first use.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.models.pipeline import Step

_DATA = Path(__file__).resolve().parent.parent / "data" / "github_actions"


@dataclass(frozen=True)
class EventInfo:
    name: str
    outsider: bool
    privileged: str  # always, same-repo, never
    code: str  # base, merge
    who: str
    payload: str
    text: dict[str, str]  # context pattern -> outsider / contributor
    head: tuple[str, ...]


@dataclass(frozen=True)
class TextSource:
    """An event context whose text someone outside the maintainers writes."""

    context: str  # the pattern matched, e.g. github.event.issue.title
    control: str  # outsider / contributor
    events: frozenset[str]


def _load(name: str) -> Any:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


@functools.cache
def events() -> dict[str, EventInfo]:
    raw = _load("events.json")["events"]
    return {
        name: EventInfo(
            name=name,
            outsider=bool(spec["outsider"]),
            privileged=str(spec["privileged"]),
            code=str(spec["code"]),
            who=str(spec["who"]),
            payload=str(spec["payload"]),
            text=dict(spec["text"]),
            head=tuple(spec["head"]),
        )
        for name, spec in raw.items()
    }


def outsider_events() -> frozenset[str]:
    return frozenset(name for name, info in events().items() if info.outsider)


def privileged_outsider_events() -> frozenset[str]:
    """Events an outsider causes that run with secrets and a write token."""
    return frozenset(
        name for name, info in events().items() if info.outsider and info.privileged != "never"
    )


def _pattern_parts(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("."))


def _matches(path: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if pattern and pattern[-1] == "**":
        prefix = pattern[:-1]
        return len(path) >= len(prefix) and all(
            p == "*" or q == "*" or p == q for p, q in zip(path, prefix, strict=False)
        )
    if len(path) != len(pattern):
        return False
    return all(q == "*" or p == "*" or p == q for p, q in zip(path, pattern, strict=True))


@functools.cache
def _text_index() -> tuple[tuple[tuple[str, ...], str, str, frozenset[str]], ...]:
    """(pattern parts, pattern, control, events) for every outsider-written context."""
    by_pattern: dict[tuple[str, str], set[str]] = {}
    for name, info in events().items():
        for pattern, control in info.text.items():
            by_pattern.setdefault((pattern, control), set()).add(name)
    return tuple(
        (_pattern_parts(p), p, c, frozenset(evs)) for (p, c), evs in sorted(by_pattern.items())
    )


@functools.lru_cache(maxsize=4096)
def text_sources(path: tuple[str, ...], whole_object: bool = False) -> tuple[TextSource, ...]:
    """The outsider-written contexts ``path`` reads.

    ``whole_object``: the value is serialised whole (``toJSON(github.event.issue)``), so a
    path that *contains* an outsider-written field counts too.
    """
    if path == ("github", "event") and whole_object:
        return tuple(
            TextSource(p, c, evs) for _, p, c, evs in _text_index() if p.startswith("github.")
        )
    out = []
    for parts, pattern, control, evs in _text_index():
        if _matches(path, parts):
            out.append(TextSource(pattern, control, evs))
        elif whole_object and len(path) < len(parts) and _matches(path, parts[: len(path)]):
            out.append(TextSource(pattern, control, evs))
    return tuple(out)


@functools.cache
def actor_text() -> frozenset[str]:
    """Contexts written by whoever causes the event (not the issue's or pull request's author)."""
    return frozenset(_load("events.json")["actor_text"])


@functools.cache
def _head_index() -> dict[str, frozenset[tuple[str, ...]]]:
    return {
        name: frozenset(_pattern_parts(p) for p in info.head) for name, info in events().items()
    }


def names_head(path: tuple[str, ...], event: str) -> bool:
    """Whether ``path`` names the pull request's code under ``event``."""
    return any(_matches(path, head) for head in _head_index().get(event, ()))


# --- actions ----------------------------------------------------------------------------------

_VERSION = re.compile(r"^(?:v|tag=v?|version=v?)?(\d+)(?:\.\d+)*(?:[-+].*)?$", re.IGNORECASE)


def uses_name(uses: str | None) -> str:
    """``owner/repo[/path]`` of a ``uses:`` without the ``@ref``, lower-cased."""
    return (uses or "").split("@", 1)[0].strip().lower()


def action_major(uses: str | None, comment: str | None = None) -> int | None:
    """The major version a ``uses:`` names: from its ref (``@v4``, ``@v4.1.2``), or for a
    commit pin from the comment after it (``# v4.1.1``); None when unknown."""
    ref = (uses or "").partition("@")[2].strip()
    match = _VERSION.match(ref)
    if match:
        return int(match.group(1))
    if comment:
        for word in comment.replace(",", " ").split():
            match = _VERSION.match(word)
            if match:
                return int(match.group(1))
    return None


def _in_majors(majors: list[int | None], major: int | None) -> bool:
    low, high = majors
    if major is None:
        return high is None  # unknown version: assume the newest behaviour
    return (low is None or major >= low) and (high is None or major <= high)


def _with(step: Step, key: str) -> str | None:
    for entry in step.with_:
        if entry.key.lower() == key.lower():
            return (entry.value or "").strip()
    return None


@functools.cache
def _actions() -> dict[str, Any]:
    data: dict[str, Any] = _load("actions.json")
    return data


@functools.cache
def _by_action(section: str) -> dict[str, list[dict[str, Any]]]:
    """A section's entries by action name, each list in the file's order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in _actions()[section]:
        out.setdefault(entry["action"], []).append(entry)
    return out


def _entries(section: str, step: Step) -> list[dict[str, Any]]:
    name = uses_name(step.uses)
    if not name:
        return []
    candidates = _by_action(section).get(name)
    if not candidates:
        return []
    major = action_major(step.uses, step.uses_comment)
    return [e for e in candidates if _in_majors(e.get("majors", [None, None]), major)]


def code_inputs(step: Step) -> dict[str, str]:
    """Inputs (lower-cased) of ``step``'s action that run as code, with what they run."""
    out: dict[str, str] = {}
    for entry in _entries("code_inputs", step):
        out.update(entry["inputs"])
    return out


Decide = Callable[[str], "bool | None"]


def cache_restored(step: Step, decide: Decide | None = None) -> str | None:
    """What cache ``step`` restores (for the message), or None when it restores none.

    ``decide`` reads an input given as an expression (``enable-cache: ${{ ... }}``): True
    (on), False (off), None (cannot be told: the message says it may be on).
    """
    for entry in _entries("caches", step):
        reason = _cache_reason(step, entry, decide)
        if reason is not None:
            return reason
    return None


def _is_off(value: str | None) -> bool:
    return value is not None and value.lower() in ("false", "0", "no", "off", "")


def _cache_reason(step: Step, entry: dict[str, Any], decide: Decide | None) -> str | None:
    name = uses_name(step.uses)
    for key, values in entry.get("skip", {}).items():
        if (_with(step, key) or "").lower() in values:
            return None
    mode = entry["mode"]
    if mode == "always":
        return f"{name} restores a cache"
    value = _with(step, entry["input"])
    if value is not None and "${{" in value:
        decided = decide(value) if decide is not None else None
        if decided is None:
            return f"{name} with `{entry['input']}: {value}` (may be on)"
        on = decided != bool(entry.get("inverted"))
        return f"{name} with `{entry['input']}: {value}`" if on else None
    if mode == "default-on":
        if entry.get("inverted"):
            off = value is not None and value.lower() in ("true", "1", "yes")
        else:
            off = _is_off(value) if value is not None else False
        if off:
            return _also(step, entry)
        note = f" ({entry['note']})" if entry.get("note") else ""
        return f"{name} caches by default{note}"
    # opt-in
    if value is None or _is_off(value):
        return None
    pattern = entry.get("on_pattern")
    if pattern and pattern not in value:
        return None
    return f"{name} with `{entry['input']}: {value}`"


def _also(step: Step, entry: dict[str, Any]) -> str | None:
    key = entry.get("also_opt_in")
    if key is None:
        return None
    value = _with(step, key)
    if value and not _is_off(value):
        return f"{uses_name(step.uses)} with `{key}: {value}`"
    return None


def publisher(step: Step) -> str | None:
    """The publishing action ``step`` is, or None."""
    name = uses_name(step.uses)
    for entry in _actions()["publishers"]:
        if entry["action"] != name:
            continue
        for key, values in entry.get("when", {}).items():
            value = (_with(step, key) or "").lower()
            if not value or value == "false" or ("*" not in values and value not in values):
                return None
        return name
    return None


@dataclass(frozen=True)
class OutputSource:
    action: str
    why: str
    events: frozenset[str]


def tainted_output(step: Step, output: str) -> OutputSource | None:
    """Whether output ``output`` of ``step``'s action carries an outsider's text."""
    for entry in _entries("outputs", step):
        for pattern in entry["outputs"]:
            if re.fullmatch(pattern.replace("*", ".*"), output.lower()):
                return OutputSource(entry["action"], entry["why"], frozenset(entry["events"]))
    return None


__all__ = [
    "EventInfo",
    "OutputSource",
    "TextSource",
    "action_major",
    "actor_text",
    "cache_restored",
    "code_inputs",
    "events",
    "names_head",
    "outsider_events",
    "privileged_outsider_events",
    "publisher",
    "tainted_output",
    "text_sources",
    "uses_name",
]
