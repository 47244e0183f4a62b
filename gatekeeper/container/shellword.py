"""Dockerfile word processing: quotes, the escape character and variable substitution.

BuildKit processes the arguments of ``FROM``, ``USER``, ``ENV``, ``ARG``, ``LABEL``, ``COPY``,
``ADD``, ``WORKDIR``, ``EXPOSE``, ``VOLUME`` and ``STOPSIGNAL`` as one shell word each before
it uses them (``RUN``/``CMD``/``ENTRYPOINT`` are left to the shell at run time). This module
follows its rules:

- ``'...'`` is literal; ``"..."`` keeps everything but ``$`` substitution, and the escape
  character escapes only ``"``, ``$`` and itself there; outside quotes the escape character
  makes the next character literal. Quotes are removed.
- ``$NAME``, ``${NAME}``; ``${NAME:-word}`` / ``${NAME-word}`` (a default),
  ``${NAME:+word}`` / ``${NAME+word}`` (an alternative), ``${NAME:?msg}`` / ``${NAME?msg}``
  (required), ``${NAME#pat}``, ``${NAME##pat}``, ``${NAME%pat}``, ``${NAME%%pat}`` (trim a
  shell pattern), ``${NAME/pat/repl}`` and ``${NAME//pat/repl}`` (replace). The word may itself
  hold substitutions. ``$`` followed by no name stays ``$``.
- ``${}``, ``${:x}``, an unsupported modifier, a missing ``}`` or an unterminated quote are
  errors (``WordError``), as in BuildKit.

Variables map to a value, or to None when declared without one (``ARG NAME``); a name that is
None or absent is *unset*. ``process_word`` reports which unset names the result depends on,
so a caller can tell "empty" from "cannot be known here".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Variables = dict[str, str | None]


class WordError(ValueError):
    """The word is not valid Dockerfile syntax (BuildKit rejects it too)."""


@dataclass
class Word:
    """The processed word and what it depended on."""

    value: str
    unset: list[str] = field(default_factory=list)  # names referenced without a value


_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class _Scanner:
    def __init__(self, text: str, variables: Variables, escape: str) -> None:
        self.text = text
        self.i = 0
        self.variables = variables
        self.escape = escape
        self.unset: list[str] = []

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def next(self) -> str:
        char = self.peek()
        self.i += 1 if char else 0
        return char

    # -- the word ------------------------------------------------------------------------

    def word(self, stop: str = "", raw_escapes: bool = False) -> str:
        """Process up to ``stop`` (consumed) or the end; ``stop`` missing is an error."""
        out: list[str] = []
        while self.peek():
            char = self.peek()
            if stop and char == stop:
                self.next()
                return "".join(out)
            if char == "$":
                out.append(self.dollar())
            elif char == "'":
                out.append(self.single_quoted())
            elif char == '"':
                out.append(self.double_quoted(raw_escapes))
            else:
                self.next()
                if char == self.escape:
                    if raw_escapes:
                        out.append(char)
                    char = self.next()
                    if not char:
                        break
                out.append(char)
        if stop:
            raise WordError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def single_quoted(self) -> str:
        self.next()
        end = self.text.find("'", self.i)
        if end < 0:
            raise WordError("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.i : end]
        self.i = end + 1
        return value

    def double_quoted(self, raw_escapes: bool) -> str:
        self.next()
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise WordError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if char == '"':
                self.next()
                return "".join(out)
            if char == "$":
                out.append(self.dollar())
                continue
            self.next()
            if char == self.escape:
                if raw_escapes:
                    out.append(char)
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    char = self.next()
            out.append(char)

    # -- substitution --------------------------------------------------------------------

    def name(self) -> str:
        start = self.i
        char = self.peek()
        if char.isdigit():
            while self.peek().isdigit():
                self.next()
            return self.text[start : self.i]
        if char and char in _SPECIAL_PARAMS:
            return self.next()
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.next()
        return self.text[start : self.i]

    def lookup(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is None:
            self.unset.append(name)
        return value

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return self.lookup(name) or ""
        self.next()
        if not self.peek():
            raise WordError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise WordError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        if op == "}":
            return self.lookup(name) or ""
        if op == "/":
            return self.replace(name)
        colon = op == ":"
        if colon:
            op = self.next()
        if op not in ("+", "-", "?", "#", "%"):
            raise WordError(f"unsupported modifier ({':' if colon else ''}{op}) in substitution")
        before = len(self.unset)
        try:
            word = self.word("}", raw_escapes=op in "#%")
        except WordError as exc:
            if not self.peek():
                raise WordError("syntax error: missing '}'") from exc
            raise
        value = self.variables.get(name)
        is_set = value is not None and not (colon and value == "")
        if (op == "-" and is_set) or (op == "+" and not is_set):
            del self.unset[before:]  # the word is not used: what it depends on does not count
        return self.modified(name, op, is_set, word)

    def modified(self, name: str, op: str, is_set: bool, word: str) -> str:
        value = self.variables.get(name)
        if op == "-":
            return (value or "") if is_set else word
        if op == "+":
            return word if is_set else ""
        if op == "?":
            if not is_set:
                raise WordError(f"{name}: {word or 'is not allowed to be unset'}")
            return value or ""
        # `#`/`%` trim a prefix/suffix; a doubled operator matches the longest.
        if value is None:
            self.unset.append(name)
            return ""
        greedy = word.startswith(op)
        pattern = word[1:] if greedy else word
        return _trim(value, pattern, greedy, suffix=op == "%")

    def replace(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self.word("/", raw_escapes=True)
        replacement = self.word("}", raw_escapes=True)
        value = self.lookup(name)
        if value is None:
            return ""
        regex = _pattern_regex(pattern, greedy=True)
        return regex.sub(replacement.replace("\\", "\\\\"), value, count=0 if replace_all else 1)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool = False) -> re.Pattern[str]:
    """A shell pattern (``*``, ``?``, ``\\`` escapes; no brackets) as a regular expression."""
    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*" if greedy else ".*?")
        elif char == "?":
            out.append(".")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _trim(value: str, pattern: str, greedy: bool, *, suffix: bool) -> str:
    if suffix:
        # The shortest (or longest) suffix: match the reversed pattern at the reversed start.
        reversed_pattern = _reverse_pattern(pattern)
        regex = _pattern_regex(reversed_pattern, greedy=greedy, anchored=True)
        match = regex.match(value[::-1])
        return value[: len(value) - match.end()] if match else value
    match = _pattern_regex(pattern, greedy=greedy, anchored=True).match(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each ``\\x`` escape in front of its character."""
    pieces: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            pieces.append(pattern[i : i + 2])
            i += 2
        else:
            pieces.append(pattern[i])
            i += 1
    return "".join(reversed(pieces))


def process_word(text: str, variables: Variables, escape: str = "\\") -> Word:
    """Process one Dockerfile word: quotes removed, escapes applied, variables substituted.

    Raises:
        WordError: an unterminated quote, a bad substitution or a missing ``}``.
    """
    scanner = _Scanner(text, variables, escape)
    value = scanner.word()
    return Word(value=value, unset=sorted(set(scanner.unset)))


__all__ = ["Variables", "Word", "WordError", "process_word"]
