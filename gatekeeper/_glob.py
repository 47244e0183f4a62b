"""Path globs, matched in linear time: the one glob engine of the project.

Two dialects share one matcher:

- **path globs** (``compile_glob``, ``match_path``): ``attest --material/--product``, the
  rule and path globs of policy exceptions, GitLab CI ``include: local:`` wildcards. ``*`` and
  ``?`` never cross a ``/``; ``**/`` matches any number of whole path segments (none too);
  ``**`` anywhere else matches anything; ``[...]`` is a character class (``[!...]`` negated)
  that never matches ``/``, and a malformed class (``[``, ``[]``, ``[!]``, ``[z-a]``) is a
  literal ``[``; a trailing ``/`` covers everything below the directory. Patterns are
  stripped of surrounding whitespace and of leading ``./``.
- **CODEOWNERS patterns** (``compile_codeowners``): gitignore-style, as GitHub and GitLab
  read them: a pattern without a ``/`` (other than a trailing one) matches at any depth;
  ``\\`` escapes the next character; there are no character classes; a pattern names a file
  or a directory and everything below it, except that a trailing ``*`` segment (``docs/*``)
  stops at that level and a trailing ``/`` matches only below the directory.

SECURITY: both a glob and the path it is matched against can come from a pull request (a
CODEOWNERS line, a GitLab include, a file name). A backtracking regex turns ``*a*a*a…c`` or
a run of ``**/`` into exponential or high-polynomial time. Here a pattern compiles to a
position automaton whose states are the bits of a Python integer; each character of the
path is one step of a few bit operations over ``len(pattern)`` bits, whatever the pattern,
and steps already taken are cached (a lazy DFA). Matching is O(len(path) * len(pattern) / 64)
word operations at worst and never backtracks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["Glob", "compile_codeowners", "compile_glob", "match_path", "static_prefix"]

# What one compiled glob may cache (transitions and character masks), in bits of state: a
# small pattern keeps up to 4096 of each, a huge one fewer; past that, steps are computed.
_CACHE_BITS = 1 << 20
_MAX_CACHED = 4096


@dataclass(frozen=True, slots=True)
class _Class:
    """A ``[...]`` class: inclusive ranges of characters, maybe negated; never ``/``."""

    ranges: tuple[tuple[str, str], ...]
    negate: bool

    def matches(self, ch: str) -> bool:
        if ch == "/":
            return False
        return any(lo <= ch <= hi for lo, hi in self.ranges) != self.negate


# What one position of the automaton consumes: a literal character, any character but
# ``/``, any character at all, or a class.
_NOT_SLASH = "not-slash"
_ANY = "any"
_Pred = str | _Class  # a one-character string is a literal; the two names above are wildcards


@dataclass(frozen=True, slots=True)
class _Item:
    """One element of a compiled glob.

    ``one``: exactly one character matching ``pred``; ``star``: any number of them;
    ``segments``: ``(?:.*/)?`` — nothing, or anything that ends with a ``/`` (what ``**/``
    means: any number of whole segments).
    """

    kind: str  # "one" | "star" | "segments"
    pred: _Pred = _ANY


_SEGMENTS = _Item("segments")
_STAR_ANY = _Item("star", _ANY)
_STAR_SEGMENT = _Item("star", _NOT_SLASH)
_ONE_IN_SEGMENT = _Item("one", _NOT_SLASH)


@functools.lru_cache(maxsize=4096)
def _literal(ch: str) -> _Item:
    return _Item("one", ch)


class Glob:
    """A compiled glob; ``match(path)`` says whether it covers the whole ``path``.

    The automaton has one bit per position (one per ``one``/``star`` item, two per
    ``segments`` item: its ``.*`` and its ``/``) and an accepting bit after the last. A set
    bit of the state means "this position may consume the next character".
    """

    __slots__ = (
        "_accept",
        "_any",
        "_below",
        "_cached",
        "_chars",
        "_classes",
        "_eps",
        "_exits",
        "_literal",
        "_literals",
        "_loops",
        "_not_slash",
        "_prefix",
        "_prefix_only",
        "_room",
        "_seg_any",
        "_start",
        "_steps",
        "_suffix",
        "pattern",
    )

    def __init__(self, pattern: str, items: list[_Item], *, below: bool = False) -> None:
        """``below``: also match any path that continues the match with ``/`` (a directory)."""
        self.pattern = pattern
        self._below = below
        # Positions per role, then one integer per role. NOTE: masks are built from position
        # lists (linear), never by OR-ing into a growing integer (quadratic in the pattern).
        literals: dict[str, list[int]] = {}
        classes: dict[_Class, list[int]] = {}
        any_pos: list[int] = []
        not_slash: list[int] = []
        exits: list[int] = []
        loops: list[int] = []
        eps: list[int] = []
        seg_any: list[int] = []
        at = 0
        for item in items:
            pred = item.pred
            if item.kind == "segments":  # ".*" at `at`, then "/" at `at + 1`
                any_pos.append(at)
                loops.append(at)
                seg_any.append(at)
                eps += (at, at + 1)  # entering: the "/" too, and (skipped) what follows
                literals.setdefault("/", []).append(at + 1)
                exits.append(at + 1)
                at += 2
                continue
            if pred == _ANY:
                any_pos.append(at)
            elif pred == _NOT_SLASH:
                not_slash.append(at)
            elif isinstance(pred, _Class):
                classes.setdefault(pred, []).append(at)
            else:
                literals.setdefault(pred, []).append(at)
            exits.append(at)
            if item.kind == "star":
                loops.append(at)
                eps.append(at)  # nullable: entering it also enters what follows
            at += 1
        self._accept = 1 << at
        self._room = max(16, min(_MAX_CACHED, _CACHE_BITS // (at + 1)))
        self._literals = literals
        self._classes = tuple(classes.items())
        self._any = _bits(any_pos)
        self._not_slash = _bits(not_slash)
        self._exits = _bits(exits)
        self._loops = _bits(loops)
        self._eps = _bits(eps)
        self._seg_any = _bits(seg_any)
        self._chars: dict[str, int] = {}
        self._steps: dict[int, dict[str, int]] = {}
        self._cached = 0
        self._start = self._close(1)
        # Fast paths: a pattern that is all literal is a string comparison; a literal head
        # or tail is a necessary condition checked before any step.
        plain = all(_is_literal(i) for i in items)
        self._literal = "".join(str(i.pred) for i in items) if plain else None
        self._prefix = _literal_run(items)
        self._suffix = "" if below else _literal_run(items[::-1])[::-1]
        self._prefix_only = (
            not below and len(items) == len(self._prefix) + 1 and items[-1] == _STAR_ANY
        )

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def _close(self, starts: int) -> int:
        """``starts`` plus every position reachable from them without consuming a character.

        The epsilon edges all go one bit up (``eps``), so a carry over each run of them sets
        every bit from a start to one past the run's end.
        """
        eps = self._eps
        return starts | (((starts & eps) + eps) ^ eps)

    def _mask(self, ch: str) -> int:
        """The positions that can consume ``ch``."""
        mask = self._chars.get(ch)
        if mask is None:
            positions = list(self._literals.get(ch, ()))
            if ch != "/":
                for klass, at in self._classes:
                    if klass.matches(ch):
                        positions += at
            mask = _bits(positions) | self._any
            if ch != "/":
                mask |= self._not_slash
            if len(self._chars) < self._room:
                self._chars[ch] = mask
        return mask

    def _step(self, state: int, ch: str) -> int:
        consumed = state & self._mask(ch)
        nxt = (
            self._close((consumed & self._exits) << 1)
            | (consumed & self._loops)
            | ((consumed & self._seg_any) << 1)  # after the ".*" of "**/", the "/" may come
        )
        if self._cached < self._room:
            self._cached += 1
            self._steps.setdefault(state, {})[ch] = nxt
        return nxt

    def match(self, path: str) -> bool:
        literal = self._literal
        if literal is not None:
            return path == literal or (self._below and path.startswith(literal + "/"))
        if not path.startswith(self._prefix) or not path.endswith(self._suffix):
            return False
        if self._prefix_only:
            return True  # "dir/**", "dir/": the prefix is the whole condition
        state = self._start
        accept = self._accept
        below = self._below
        steps = self._steps
        for ch in path:
            if below and ch == "/" and state & accept:
                return True
            row = steps.get(state)
            nxt = row.get(ch) if row is not None else None
            state = self._step(state, ch) if nxt is None else nxt
            if not state:
                return False
        return bool(state & accept)


def _bits(positions: list[int]) -> int:
    """An integer with the bits at ``positions`` set (in time linear in the highest one)."""
    if not positions:
        return 0
    buf = bytearray((max(positions) >> 3) + 1)
    for p in positions:
        buf[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(buf, "little")


def _is_literal(item: _Item) -> bool:
    return item.kind == "one" and isinstance(item.pred, str) and len(item.pred) == 1


def _literal_run(items: list[_Item]) -> str:
    """The literal characters ``items`` start with."""
    out = []
    for item in items:
        if not _is_literal(item):
            break
        out.append(str(item.pred))
    return "".join(out)


def _char_class(body: str) -> _Class | None:
    """``[body]`` as a class; None when it is not a valid one (then ``[`` is a literal).

    Ranges read as in a regex class: ``a-z``; a ``-`` first or last is literal; a range
    whose ends are reversed makes the class invalid.

    SECURITY: a glob comes from a policy, the command line or a repository file; a
    malformed one must be a literal, never an error that crashes the gate.
    """
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body:
        return None
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        lo = body[i]
        if i + 2 < len(body) and body[i + 1] == "-":
            hi = body[i + 2]
            if hi < lo:
                return None
            ranges.append((lo, hi))
            i += 3
        else:
            ranges.append((lo, lo))
            i += 1
    return _Class(tuple(ranges), negate)


def _path_items(pattern: str) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            items.append(_SEGMENTS)
            i += 3
        elif pattern.startswith("**", i):
            items.append(_STAR_ANY)
            i += 2
        elif pattern[i] == "*":
            items.append(_STAR_SEGMENT)
            i += 1
        elif pattern[i] == "?":
            items.append(_ONE_IN_SEGMENT)
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            klass = None if end == -1 else _char_class(pattern[i + 1 : end])
            if klass is None:
                items.append(_literal("["))
                i += 1
            else:
                items.append(_Item("one", klass))
                i = end + 1
        else:
            items.append(_literal(pattern[i]))
            i += 1
    return _simplified(items)


def _simplified(items: list[_Item]) -> list[_Item]:
    """The same language with redundant wildcards merged (``**/**/`` is ``**/``, ``***``
    is ``**``): fewer positions, same matches."""
    out: list[_Item] = []
    for item in items:
        prev = out[-1] if out else None
        if prev is not None and prev.kind != "one" and item.kind != "one":
            if prev == item:
                continue  # "**/**/", "**" "**", "*" "*"
            if prev == _STAR_ANY or item == _STAR_ANY:
                # ".*" next to "[^/]*" or "(?:.*/)?" is ".*"
                if prev == _STAR_ANY:
                    continue
                out[-1] = _STAR_ANY
                continue
        out.append(item)
    return out


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """A path glob (see the module docstring)."""
    cleaned = pattern.strip()
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    items = _path_items(cleaned)
    if cleaned.endswith("/"):
        items.append(_STAR_ANY)  # a directory pattern covers everything below it
    return Glob(pattern, _simplified(items))


def match_path(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path)


def compile_codeowners(pattern: str) -> Glob:
    """A CODEOWNERS pattern, with GitHub's and GitLab's gitignore-style semantics."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/") if pattern != "/" else ""
    items: list[_Item] = [] if anchored else [_SEGMENTS]
    i = 0
    while i < len(body):
        if body.startswith("/**", i) and i + 3 == len(body):
            items += [_literal("/"), _STAR_ANY]
            i += 3
        elif body.startswith("**/", i):
            items.append(_SEGMENTS)
            i += 3
        elif body.startswith("**", i):
            items.append(_STAR_ANY)
            i += 2
        elif body[i] == "*":
            items.append(_STAR_SEGMENT)
            i += 1
        elif body[i] == "?":
            items.append(_ONE_IN_SEGMENT)
            i += 1
        elif body[i] == "\\" and i + 1 < len(body):
            items.append(_literal(body[i + 1]))
            i += 2
        else:
            items.append(_literal(body[i]))
            i += 1
    if pattern.endswith("/"):
        # A directory pattern: only what is below it.
        return Glob(pattern, _simplified([*items, _literal("/"), _STAR_ANY]))
    last = body.rsplit("/", 1)[-1]
    if "*" in last and not last.startswith("**"):
        # GitHub: `docs/*` covers the files directly in docs/, not deeper ones.
        return Glob(pattern, _simplified(items))
    return Glob(pattern, _simplified(items), below=True)


def static_prefix(pattern: str) -> str:
    """The leading directories of a glob that hold no wildcard (where a walk may start)."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)
