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
        piece, i = _translate(pattern, i)
        out.append(piece)
    regex = "".join(out)
    if pattern.endswith("/"):
        regex += ".*"  # a directory pattern covers everything below it
    return re.compile(f"(?s:{regex})\\Z")


# Wildcards, longest first: what each matches, as a regex.
_WILDCARDS = (("**/", "(?:[^/]*/)*"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def _translate(pattern: str, i: int) -> tuple[str, int]:
    """The regex for the glob token at ``pattern[i]``, and the index after the token."""
    for token, regex in _WILDCARDS:
        if pattern.startswith(token, i):
            return regex, i + len(token)
    if pattern[i] == "[":
        end = pattern.find("]", i + 1)
        klass = None if end == -1 else _char_class(pattern[i + 1 : end])
        if klass is not None:
            return klass, end + 1
        # "[", "[]", "[!]", "[z-a]": not a class, a literal "["
    return re.escape(pattern[i]), i + 1


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
