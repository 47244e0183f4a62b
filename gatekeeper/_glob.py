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
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    regex = "".join(out)
    if pattern.endswith("/"):
        regex += ".*"  # a directory pattern covers everything below it
    return re.compile(f"(?s:{regex})\\Z")


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
