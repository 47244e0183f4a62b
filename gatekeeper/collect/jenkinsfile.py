"""Jenkinsfiles (declarative and scripted Groovy), read with a tokenizer, never executed.

The tokenizer knows what matters for auditing a pipeline: comments (``//``, ``/* */``),
strings in every Groovy quoting (``'...'``, ``"..."`` with ``${}``/``$name`` interpolation,
``'''...'''``, ``\"\"\"...\"\"\"``, slashy ``/.../`` and dollar-slashy ``$/.../$``), identifiers,
annotations and brackets. From the tokens it records the ``sh``/``bat``/``powershell``/
``pwsh`` steps with their quoting and interpolations, ``withCredentials`` bindings and
``credentials()`` assignments, ``@Library``/``library`` loads, declared ``parameters`` and
``environment`` assignments, each with its line. An unterminated string or comment, or an
unbalanced bracket, is a parse error with the line where it starts.

Division or slashy string: as Groovy's own lexer (the 2.4 grammar Jenkins runs), a ``/`` is a
division right after a token that can end an expression and opens a slashy string anywhere
else, so ``~/windows-.*/``, ``=~ /a.+/`` and ``a / b / c`` all read as Jenkins reads them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from gatekeeper.collect._parse_error import FileParseError
from gatekeeper.models.pipeline import (
    CredentialBinding,
    Interpolation,
    Jenkinsfile,
    KeyValue,
    LibraryRef,
    ShellStep,
)

SHELL_STEPS = frozenset({"sh", "bat", "powershell", "pwsh"})
# Objects through which library code calls pipeline steps (`steps.sh`, `script.sh`).
_STEP_RECEIVERS = frozenset({"steps", "script", "this", "ctx", "context", "pipeline", "dsl"})
_IDENT_START = re.compile(r"[A-Za-z_$]")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_OPERATOR = re.compile(r"==~|&&|\|\||==|!=|=~|\?\.|\*\.|->|<<|\+\+|--")
_CLOSERS = frozenset({")", "]", "}"})
_BLANK = re.compile(r"[ \t\r\f\ufeff]+")
_DOLLAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z]?")
# Groovy's lexer (the 2.4 grammar Jenkins runs) reads `/` as a division only right after a
# token that can end an expression: an identifier or keyword, a number, a string, `)`, `]`,
# `}`, `++` or `--`. After anything else (an operator, an opening bracket, a comma, a line
# break, the start of the file) it opens a slashy string: `~/a.*/`, `=~ /x+/`, `(/re/)`.
_EXPRESSION_END_PUNCT = frozenset({")", "]", "}", "++", "--"})
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
# SECURITY: nesting deeper than this is not a pipeline anyone writes; refusing it bounds the
# work of every scan below (each skips nested groups through the precomputed partners).
MAX_NESTING = 256
MAX_SHELL_STEPS = 20_000
QuoteKind = Literal["'", '"', "'''", '"""', "/", "none"]


@functools.cache
def _string_specials(quote: str, interpolating: bool) -> re.Pattern[str]:
    """Characters that end a run of plain text inside a string of this quoting."""
    closer = "/$" if quote == "$/" else quote
    chars = {"\n", closer[0]}
    if quote != "$/":
        chars.add("\\")
    if interpolating:
        chars.add("$")
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


class JenkinsParseError(FileParseError):
    """An unterminated string or comment, or unbalanced brackets, at ``line``."""

    line: int

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message, line)


@dataclass
class Token:
    kind: Literal["ident", "string", "number", "punct", "newline", "annotation"]
    value: str
    line: int
    quote: QuoteKind = "none"
    interpolations: list[Interpolation] = field(default_factory=list)
    match: int = -1  # for a bracket: the index of its partner (set by the lexer)


def _scan_interpolation(src: str, i: int, line: int) -> tuple[str, int, int]:
    """``src[i]`` is the ``{`` after ``$``: return (expr, index after ``}``, line at end)."""
    depth = 0
    j = i
    start_line = line
    while j < len(src):
        char = src[j]
        if char == "\n":
            line += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return src[i + 1 : j], j + 1, line
        elif char in "'\"":
            j, line = _skip_quoted(src, j, line)
        j += 1
    raise JenkinsParseError("unterminated ${...} interpolation", start_line)


def _skip_quoted(src: str, j: int, line: int) -> tuple[int, int]:
    """A string inside an interpolation opens at ``src[j]``: (index of its closer, line there).

    No nesting beyond this one level is needed to find where the interpolation ends.
    """
    quote = src[j]
    k = j + 1
    while k < len(src) and src[k] != quote:
        if src[k] == "\\":
            k += 1
        elif src[k] == "\n":
            line += 1
        k += 1
    return k, line


class _Lexer:
    """Tokens from Groovy source: one handler per kind of token start (see ``_STARTS``)."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.stack: list[tuple[str, int, int]] = []  # open brackets: (bracket, line, token index)

    def run(self) -> list[Token]:
        size = len(self.src)
        while self.i < size:
            char = self.src[self.i]
            _STARTS.get(char, _Lexer._other)(self, char)
        if self.stack:
            opener, opened, _ = self.stack[-1]
            raise JenkinsParseError(f"{opener!r} is never closed", opened)
        return self.tokens

    def _token(self, kind: Literal["ident", "number", "annotation"], start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.src[start:end], self.line))
        self.i = end

    # -- one handler per kind of token start ----------------------------------------------

    def _newline(self, char: str) -> None:
        self.tokens.append(Token("newline", char, self.line))
        self.line += 1
        self.i += 1

    def _blank(self, char: str) -> None:
        blank = _BLANK.match(self.src, self.i)
        self.i = blank.end() if blank else self.i + 1

    def _ident(self, char: str) -> None:
        match = _IDENT.match(self.src, self.i)
        self._token("ident", self.i, match.end() if match else self.i + 1)

    def _number(self, char: str) -> None:
        match = _NUMBER.match(self.src, self.i)
        self._token("number", self.i, match.end() if match else self.i + 1)

    def _quote(self, char: str) -> None:
        line = self.line
        quote = char * 3 if self.src.startswith(char * 3, self.i) else char
        self.i += len(quote)
        self.tokens.append(self._string(quote, char == '"', line))

    def _slash(self, char: str) -> None:
        """A comment, a slashy string or a division."""
        if self.src.startswith("//", self.i):
            self._skip_line()
        elif self.src.startswith("/*", self.i):
            end = self.src.find("*/", self.i + 2)
            if end == -1:
                raise JenkinsParseError("unterminated /* comment", self.line)
            self.line += self.src.count("\n", self.i, end)
            self.i = end + 2
        elif self._slash_starts_string():
            line = self.line
            self.i += 1
            self.tokens.append(self._string("/", True, line))
        else:
            self._punct(char)

    def _dollar(self, char: str) -> None:
        """``$/`` opens a dollar-slashy string; otherwise ``$`` starts an identifier."""
        if not self.src.startswith("$/", self.i):
            self._ident(char)
            return
        line = self.line
        self.i += 2
        self.tokens.append(self._string("$/", True, line))

    def _at(self, char: str) -> None:
        if not _IDENT_START.match(self.src[self.i + 1 : self.i + 2] or " "):
            self._punct(char)
            return
        match = _IDENT.match(self.src, self.i + 1)
        self._token("annotation", self.i + 1, match.end() if match else self.i + 1)

    def _backslash(self, char: str) -> None:
        if not self.src.startswith("\\\n", self.i):
            self._punct(char)
            return
        self.line += 1  # a line continuation
        self.i += 2

    def _hash(self, char: str) -> None:
        if self.i == 0 and self.src.startswith("#!"):
            self._skip_line()  # the shebang line
        else:
            self._punct(char)

    def _other(self, char: str) -> None:
        if char.isalpha() or char == "_":
            self._ident(char)
        elif char.isdigit():
            self._number(char)
        else:
            self._punct(char)

    def _punct(self, char: str) -> None:
        operator = _OPERATOR.match(self.src, self.i)
        op = operator.group(0) if operator else char
        token = Token("punct", op, self.line)
        if op in _BRACKETS:
            self._open(op)
        elif op in _CLOSERS:
            self._close(token)
        self.tokens.append(token)
        self.i += len(op)

    # -- helpers --------------------------------------------------------------------------

    def _skip_line(self) -> None:
        end = self.src.find("\n", self.i)
        self.i = len(self.src) if end == -1 else end

    def _open(self, bracket: str) -> None:
        self.stack.append((bracket, self.line, len(self.tokens)))
        if len(self.stack) > MAX_NESTING:
            raise JenkinsParseError(f"brackets nested deeper than {MAX_NESTING}", self.line)

    def _close(self, token: Token) -> None:
        """Pair the closing bracket ``token`` (not yet appended) with its opener."""
        if not self.stack:
            raise JenkinsParseError(f"unbalanced {token.value!r}", token.line)
        opener, _, index = self.stack.pop()
        if _BRACKETS[opener] != token.value:
            raise JenkinsParseError(f"{token.value!r} does not close {opener!r}", token.line)
        token.match = index
        self.tokens[index].match = len(self.tokens)

    def _slash_starts_string(self) -> bool:
        """Whether the ``/`` at ``self.i`` opens a slashy string (else it is a division)."""
        prev = self.tokens[-1] if self.tokens else None
        if prev is None or prev.kind == "newline":
            return True
        if prev.kind in ("ident", "annotation", "number", "string"):
            return False
        return prev.value not in _EXPRESSION_END_PUNCT

    # -- strings --------------------------------------------------------------------------

    def _string(self, quote: str, interpolating: bool, start_line: int) -> Token:
        """Read a string body after its opening ``quote``; ``self.i`` is past the opener."""
        src = self.src
        parts: list[str] = []
        interps: list[Interpolation] = []
        closer = "/$" if quote == "$/" else quote
        special = _string_specials(quote, interpolating)
        while True:
            found = special.search(src, self.i)
            if found is None:
                raise JenkinsParseError("unterminated string", start_line)
            if found.start() > self.i:
                parts.append(src[self.i : found.start()])  # plain text up to the next special
                self.i = found.start()
            if src.startswith(closer, self.i):
                self.i += len(closer)
                break
            parts.append(self._string_special(quote, interpolating, start_line, interps))
        kind: QuoteKind = "/" if quote in ("/", "$/") else quote  # type: ignore[assignment]
        return Token("string", "".join(parts), start_line, kind, interps if interpolating else [])

    def _string_special(
        self, quote: str, interpolating: bool, start_line: int, interps: list[Interpolation]
    ) -> str:
        """Consume the special character at ``self.i`` inside a string; return its source text."""
        char = self.src[self.i]
        if char == "\n":
            if len(quote) == 1 and quote != "/":
                raise JenkinsParseError("unterminated string", start_line)
            self.line += 1
        elif char == "\\" and quote != "$/":
            if self.src[self.i + 1 : self.i + 2] == "\n":
                self.line += 1
            return self._advance(2)
        elif char == "$" and interpolating:
            return self._string_dollar(quote, interps)
        return self._advance(1)

    def _string_dollar(self, quote: str, interps: list[Interpolation]) -> str:
        """``${expr}``, ``$name`` (recorded as interpolations), dollar-slashy escapes, or ``$``."""
        src = self.src
        nxt = src[self.i + 1 : self.i + 2]
        if quote == "$/" and nxt in ("$", "/"):
            return self._advance(2)  # `$$` and `$/` escapes
        if nxt == "{":
            expr, end, end_line = _scan_interpolation(src, self.i + 1, self.line)
            interps.append(Interpolation(expr=expr.strip(), line=self.line))
            self.line = end_line
            return self._advance(end - self.i)
        match = _DOLLAR_NAME.match(src, self.i + 1)
        if match:
            interps.append(Interpolation(expr=match.group(0), line=self.line))
            return self._advance(match.end() - self.i)
        return self._advance(1)

    def _advance(self, count: int) -> str:
        """Consume ``count`` characters and return them."""
        text = self.src[self.i : self.i + count]
        self.i += count
        return text


# The handler for each character that can start a token; anything else goes to ``_other``
# (identifiers, numbers, operators and brackets).
_STARTS: dict[str, Callable[[_Lexer, str], None]] = {
    "\n": _Lexer._newline,
    **dict.fromkeys(" \t\r\f\ufeff", _Lexer._blank),
    "'": _Lexer._quote,
    '"': _Lexer._quote,
    "/": _Lexer._slash,
    "$": _Lexer._dollar,
    "@": _Lexer._at,
    "\\": _Lexer._backslash,
    "#": _Lexer._hash,
}


def tokenize(src: str) -> list[Token]:
    """Raises JenkinsParseError for unterminated strings/comments and unbalanced brackets."""
    return _Lexer(src).run()


def _matching(tokens: list[Token], i: int) -> int:
    """Index of the bracket closing the one at ``tokens[i]`` (the lexer paired them)."""
    match = tokens[i].match
    return match if match >= 0 else len(tokens) - 1


def _is_opener(tok: Token) -> bool:
    return tok.kind == "punct" and tok.value in _BRACKETS


def _next_sig(tokens: list[Token], i: int) -> int:
    while i < len(tokens) and tokens[i].kind == "newline":
        i += 1
    return i


def _is_member(tokens: list[Token], i: int) -> bool:
    """True when ``tokens[i]`` follows a ``.`` (a property or method of something else)."""
    return i > 0 and tokens[i - 1].kind == "punct" and tokens[i - 1].value in (".", "?.", "*.")


def _dotted(tokens: list[Token], i: int) -> tuple[str, int]:
    """A dotted identifier chain starting at ``i``: (text, index after it)."""
    parts = [tokens[i].value]
    j = i + 1
    while (
        j + 1 < len(tokens)
        and tokens[j].kind == "punct"
        and tokens[j].value in (".", "?.")
        and tokens[j + 1].kind == "ident"
    ):
        parts.append(tokens[j + 1].value)
        j += 2
    return ".".join(parts), j


def _named_args(tokens: list[Token], start: int, end: int) -> dict[str, Token]:
    """``name: 'value'`` pairs at the top level between ``start`` and ``end`` (exclusive)."""
    out: dict[str, Token] = {}
    j = start
    while j < end:
        tok = tokens[j]
        if _is_opener(tok):
            j = _matching(tokens, j) + 1  # nested groups belong to someone else
            continue
        if (
            tok.kind == "ident"
            and j + 2 < end
            and tokens[j + 1].value == ":"
            and tokens[j + 2].kind == "string"
        ):
            out.setdefault(tok.value, tokens[j + 2])
        j += 1
    return out


@dataclass
class _Script:
    """The parts of a script argument, as they are read."""

    first_string: Token | None = None
    text: list[str] = field(default_factory=list)
    interpolations: list[Interpolation] = field(default_factory=list)


def _script_expression(tokens: list[Token], start: int, end: int, step: str) -> ShellStep | None:
    """The script argument between ``start`` and ``end``: strings and concatenated values."""
    script = _Script()
    j = start
    while j < end:
        j = _script_part(tokens, j, end, script)
    first = script.first_string
    if first is None and not script.interpolations:
        return None
    return ShellStep(
        step=step,
        line=first.line if first is not None else tokens[start].line,
        quote=first.quote if first is not None else "none",
        text="".join(script.text),
        interpolations=script.interpolations,
    )


def _script_part(tokens: list[Token], j: int, end: int, script: _Script) -> int:
    """Add ``tokens[j]`` to ``script``; returns the index after what it took."""
    tok = tokens[j]
    if tok.kind == "string":
        script.first_string = script.first_string or tok
        script.text.append(tok.value)
        script.interpolations.extend(tok.interpolations)
        return j + 1
    if tok.kind == "ident" and not _is_member(tokens, j):
        expr, j = _dotted(tokens, j)
        # NOTE: `'echo ' + params.X` puts the value into the script just as `"${...}"` does.
        script.interpolations.append(Interpolation(expr=expr, line=tok.line))
        if j < end and _is_punct(tokens[j], "("):
            return _matching(tokens, j) + 1
        return j
    if _is_opener(tok):
        return _matching(tokens, j) + 1
    return j + 1


def _is_punct(tok: Token, value: str) -> bool:
    return tok.kind == "punct" and tok.value == value


def _statement_end(tokens: list[Token], i: int) -> int:
    """End of a command expression starting at ``i`` (newline at depth 0, unless continued)."""
    j = i
    while j < len(tokens):
        tok = tokens[j]
        if _is_opener(tok):
            j = _matching(tokens, j) + 1
            continue
        if tok.kind == "punct" and tok.value in _CLOSERS:
            return j
        if (tok.kind == "newline" or tok.value == ";") and not _continued(tokens, i, j):
            return j
        j += 1
    return j


def _continued(tokens: list[Token], i: int, j: int) -> bool:
    """Whether the line break at ``j`` continues the expression (after ``+``, ``,`` or ``(``)."""
    return j > i and tokens[j - 1].kind == "punct" and tokens[j - 1].value in ("+", ",", "(")


def _shell_step(tokens: list[Token], i: int) -> ShellStep | None:
    step = tokens[i].value
    j = i + 1
    if j < len(tokens) and _is_punct(tokens[j], "("):
        return _shell_call(tokens, j, step)
    return _shell_command(tokens, j, step)


def _shell_call(tokens: list[Token], opener: int, step: str) -> ShellStep | None:
    """``sh(...)``: the ``script:`` argument, else the first argument."""
    start, close = opener + 1, _matching(tokens, opener)
    first = _named_script(tokens, start, close)
    first = start if first is None else first
    return _script_expression(tokens, first, _arg_end(tokens, first, close), step)


def _shell_command(tokens: list[Token], start: int, step: str) -> ShellStep | None:
    """``sh '...'`` or ``sh script: '...'``: the arguments run to the end of the statement."""
    end = _statement_end(tokens, start)
    if start >= end:
        return None
    first = _named_script(tokens, start, end)
    if first is None:
        if tokens[start].kind not in ("string", "ident"):
            return None
        if tokens[start].kind == "ident" and start + 1 < end and tokens[start + 1].value == ":":
            return None  # named arguments without a script (e.g. `sh returnStatus: true`)
        first = start
    return _script_expression(tokens, first, _arg_end(tokens, first, end), step)


def _named_script(tokens: list[Token], start: int, end: int) -> int | None:
    """Where the value of a ``script:`` argument between ``start`` and ``end`` starts."""
    named = _named_args(tokens, start, end)
    if "script" not in named:
        return None
    return next(k for k in range(start, end) if tokens[k] is named["script"])


def _arg_end(tokens: list[Token], start: int, limit: int) -> int:
    """End of one argument: the next top-level ``,`` or ``limit``."""
    j = start
    while j < limit:
        tok = tokens[j]
        if _is_opener(tok):
            j = _matching(tokens, j) + 1
            continue
        if tok.kind == "punct" and tok.value == ",":
            return j
        j += 1
    return limit


def _library_spec(spec: str, line: int, form: Literal["annotation", "step"]) -> LibraryRef:
    name, sep, version = spec.partition("@")
    return LibraryRef(
        spec=spec, name=name.strip(), version=version.strip() if sep else None, line=line, form=form
    )


def _libraries(tokens: list[Token], i: int) -> list[LibraryRef]:
    tok = tokens[i]
    if tok.kind == "annotation" and tok.value == "Library":
        return _library_annotation(tokens, i)
    return _library_step(tokens, i)


def _library_annotation(tokens: list[Token], i: int) -> list[LibraryRef]:
    """``@Library('name@ref')``, ``@Library(['a', 'b@v1'])``."""
    j = i + 1
    if j >= len(tokens) or tokens[j].value != "(":
        return []
    close = _matching(tokens, j)
    return [
        _library_spec(t.value, t.line, "annotation")
        for t in tokens[j + 1 : close]
        if t.kind == "string"
    ]


def _library_step(tokens: list[Token], i: int) -> list[LibraryRef]:
    """``library 'name@ref'``, ``library('name@ref')``, ``library identifier: 'name@ref', ...``."""
    j = i + 1
    if j < len(tokens) and tokens[j].value == "(":
        start, end = j + 1, _matching(tokens, j)
    else:
        start, end = j, _statement_end(tokens, j)
    named = _named_args(tokens, start, end)
    if "identifier" in named:
        target = named["identifier"]
        return [_library_spec(target.value, target.line, "step")]
    if start < end and tokens[start].kind == "string":
        return [_library_spec(tokens[start].value, tokens[start].line, "step")]
    return []


def _calls(tokens: list[Token], start: int, end: int) -> Iterator[tuple[Token, int, int]]:
    """Each ``name(...)`` between ``start`` and ``end``: (name, first index inside, close)."""
    k = start
    while k < end:
        tok = tokens[k]
        if tok.kind == "ident" and k + 1 < end and tokens[k + 1].value == "(":
            close = _matching(tokens, k + 1)
            yield tok, k + 2, close
            k = close + 1
        else:
            k += 1


def _credential_bindings(tokens: list[Token], i: int) -> list[CredentialBinding]:
    """``withCredentials([binding(credentialsId: .., xxxVariable: 'NAME'), ...])``."""
    j = i + 1
    if j >= len(tokens) or tokens[j].value != "(":
        return []
    out = []
    for tok, start, close in _calls(tokens, j + 1, _matching(tokens, j)):
        named = _named_args(tokens, start, close)
        variables = sorted(
            {t.value for n, t in named.items() if n == "variable" or n.endswith("Variable")}
        )
        if variables:
            cred = named.get("credentialsId")
            out.append(
                CredentialBinding(
                    variables=variables,
                    credentials_id=cred.value if cred else None,
                    line=tok.line,
                    source="withCredentials",
                )
            )
    return out


def _assignment_target(tokens: list[Token], i: int) -> str | None:
    """For ``NAME = <tokens[i]>``: NAME, else None."""
    j = i - 1
    if j >= 1 and tokens[j].value == "=" and tokens[j - 1].kind == "ident":
        return tokens[j - 1].value
    return None


def _parameters(tokens: list[Token], i: int) -> list[KeyValue]:
    """Declared parameters in a ``parameters { ... }`` block or ``parameters([...])`` call."""
    j = _next_sig(tokens, i + 1)
    if j >= len(tokens) or tokens[j].value not in ("{", "("):
        return []
    out = []
    for tok, start, close in _calls(tokens, j + 1, _matching(tokens, j)):
        named = _named_args(tokens, start, close)
        if "name" in named:
            out.append(KeyValue(key=named["name"].value, value=tok.value, line=tok.line))
    return out


def _environment(tokens: list[Token], i: int) -> list[KeyValue]:
    """``environment { NAME = 'value' ... }``: names with their literal value (or None)."""
    j = _next_sig(tokens, i + 1)
    if j >= len(tokens) or tokens[j].value != "{":
        return []
    close = _matching(tokens, j)
    out = []
    k = j + 1
    while k < close - 1:
        if _is_opener(tokens[k]):
            k = _matching(tokens, k) + 1  # only the block's own assignments
            continue
        if _is_assignment_start(tokens, k):
            out.append(_environment_entry(tokens, k, close))
        k += 1
    return out


def _is_assignment_start(tokens: list[Token], k: int) -> bool:
    """``NAME =`` at the start of a statement."""
    return (
        tokens[k].kind == "ident"
        and tokens[k + 1].value == "="
        and (tokens[k - 1].kind == "newline" or tokens[k - 1].value in ("{", ";"))
    )


def _environment_entry(tokens: list[Token], k: int, close: int) -> KeyValue:
    name = tokens[k]
    value = tokens[k + 2] if k + 2 < close else None
    if value is None or value.kind != "string":
        return KeyValue(key=name.value, value=None, line=name.line, is_literal=False)
    # An interpolated value is kept as written (not literal): audits follow `${...}`.
    return KeyValue(
        key=name.value, value=value.value, line=name.line, is_literal=not value.interpolations
    )


# -- the statements a Jenkinsfile is read for ---------------------------------------------


@dataclass
class _Recorded:
    """What ``parse_jenkinsfile`` records, statement by statement."""

    shell_steps: list[ShellStep] = field(default_factory=list)
    credentials: list[CredentialBinding] = field(default_factory=list)
    libraries: list[LibraryRef] = field(default_factory=list)
    parameters: list[KeyValue] = field(default_factory=list)
    env_assignments: list[KeyValue] = field(default_factory=list)
    declarative: bool = False


def _on_pipeline(seen: _Recorded, tokens: list[Token], i: int) -> None:
    following = _next_sig(tokens, i + 1)
    if following < len(tokens) and tokens[following].value == "{":
        seen.declarative = True


def _on_shell_step(seen: _Recorded, tokens: list[Token], i: int) -> None:
    step = _shell_step(tokens, i)
    if step is None:
        return
    seen.shell_steps.append(step)
    if len(seen.shell_steps) > MAX_SHELL_STEPS:
        raise JenkinsParseError(
            f"more than {MAX_SHELL_STEPS} shell steps; not a pipeline to audit by hand or machine",
            tokens[i].line,
        )


def _on_library(seen: _Recorded, tokens: list[Token], i: int) -> None:
    seen.libraries.extend(_libraries(tokens, i))


def _on_with_credentials(seen: _Recorded, tokens: list[Token], i: int) -> None:
    seen.credentials.extend(_credential_bindings(tokens, i))


def _on_credentials(seen: _Recorded, tokens: list[Token], i: int) -> None:
    """``NAME = credentials('id')`` (declarative ``environment``)."""
    if i + 1 >= len(tokens) or tokens[i + 1].value != "(":
        return
    target = _assignment_target(tokens, i)
    if target is None:
        return
    close = _matching(tokens, i + 1)
    ids = [t.value for t in tokens[i + 2 : close] if t.kind == "string"]
    seen.credentials.append(
        CredentialBinding(
            # NOTE: a username/password credential also defines NAME_USR and NAME_PSW.
            variables=[target, f"{target}_PSW", f"{target}_USR"],
            credentials_id=ids[0] if ids else None,
            line=tokens[i].line,
            source="credentials",
        )
    )


def _on_parameters(seen: _Recorded, tokens: list[Token], i: int) -> None:
    seen.parameters.extend(_parameters(tokens, i))


def _on_environment(seen: _Recorded, tokens: list[Token], i: int) -> None:
    seen.env_assignments.extend(_environment(tokens, i))


# identifier -> what it records. A new statement to record is one handler and one line here.
_STATEMENTS: dict[str, Callable[[_Recorded, list[Token], int], None]] = {
    "pipeline": _on_pipeline,
    **dict.fromkeys(SHELL_STEPS, _on_shell_step),
    "library": _on_library,
    "withCredentials": _on_with_credentials,
    "credentials": _on_credentials,
    "parameters": _on_parameters,
    "environment": _on_environment,
}


def _is_foreign_member(tokens: list[Token], i: int) -> bool:
    """``x.name``: a property or method of something else, not a pipeline statement.

    Except ``steps.sh "..."`` in a shared library class: the same shell step.
    """
    if not _is_member(tokens, i):
        return False
    return not (
        tokens[i].value in SHELL_STEPS and i >= 2 and tokens[i - 2].value in _STEP_RECEIVERS
    )


def parse_jenkinsfile(path: str, text: str) -> Jenkinsfile:
    """Record what a Jenkinsfile does, from its tokens.

    Raises:
        JenkinsParseError: unterminated string/comment or unbalanced brackets (with the line).
    """
    tokens = tokenize(text)
    seen = _Recorded()
    for i, tok in enumerate(tokens):
        if tok.kind == "annotation":
            seen.libraries.extend(_libraries(tokens, i))
        elif tok.kind == "ident" and not _is_foreign_member(tokens, i):
            handler = _STATEMENTS.get(tok.value)
            if handler is not None:
                handler(seen, tokens, i)
    return Jenkinsfile(
        path=path,
        style="declarative" if seen.declarative else "scripted",
        shell_steps=seen.shell_steps,
        credentials=seen.credentials,
        libraries=seen.libraries,
        parameters=seen.parameters,
        env_assignments=seen.env_assignments,
    )


__all__ = ["SHELL_STEPS", "JenkinsParseError", "Token", "parse_jenkinsfile", "tokenize"]
