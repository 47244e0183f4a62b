"""Path globs with ``**``, matched against POSIX paths relative to the repository root.

``*`` and ``?`` never cross a ``/``; ``**`` matches any number of whole path segments.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip().lstrip("./") if pattern.startswith("./") else pattern.strip()
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                klass = _char_class(pattern[i + 1 : end])
                if klass is None:  # "[]", "[!]", "[z-a]": not a class, a literal "["
                    out.append(re.escape(char))
                    i += 1
                else:
                    out.append(klass)
                    i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    regex = "".join(out)
    if pattern.endswith("/"):
        regex += ".*"  # a directory pattern covers everything below it
    return re.compile(f"(?s:{regex})\\Z")


def _char_class(body: str) -> str | None:
    """``[...]`` as a regex class that never matches ``/``; None when it is not a valid class.

    SECURITY: a glob comes from a policy or the command line; a malformed one must be a
    literal, never a ``re.error`` that crashes the gate.
    """
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body:
        return None
    escaped = "".join("\\" + c if c in "\\[]^&~|" else c for c in body)
    klass = f"[^/{escaped}]" if negate else f"[{escaped}]"
    try:
        re.compile(klass)
    except re.error:
        return None
    return f"(?!/){klass}" if not negate else klass


def match_path(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def static_prefix(pattern: str) -> str:
    """The leading directories of a glob that hold no wildcard (where a walk may start)."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)
