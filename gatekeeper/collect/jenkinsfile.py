"""Jenkinsfiles (declarative and scripted Groovy), read with a tokenizer, never executed.

The tokenizer knows what matters for auditing a pipeline: comments (``//``, ``/* */``),
strings in every Groovy quoting (``'...'``, ``"..."`` with ``${}``/``$name`` interpolation,
``'''...'''``, ``\"\"\"...\"\"\"``, slashy ``/.../`` and dollar-slashy ``$/.../$``), identifiers,
annotations and brackets. From the tokens it records the ``sh``/``bat``/``powershell``/
``pwsh`` steps with their quoting and interpolations, ``withCredentials`` bindings and
``credentials()`` assignments, ``@Library``/``library`` loads, declared ``parameters`` and
``environment`` assignments, each with its line. An unterminated string or comment, or an
unbalanced bracket, is a parse error with the line where it starts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

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
# After these tokens a `/` starts a slashy string rather than a division.
_REGEX_PRECEDERS = frozenset(
    {
        "(",
        "[",
        "{",
        ",",
        "=",
        ":",
        "?",
        "!",
        "&&",
        "||",
        "==",
        "!=",
        "=~",
        "==~",
        "+",
        "-",
        "*",
        "return",
        "in",
        ";",
    }
)
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


class JenkinsParseError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


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
            # a string inside the interpolation: skip it (no nesting beyond one level needed)
            k = j + 1
            while k < len(src) and src[k] != char:
                if src[k] == "\\":
                    k += 1
                elif src[k] == "\n":
                    line += 1
                k += 1
            j = k
        j += 1
    raise JenkinsParseError("unterminated ${...} interpolation", start_line)


class _Lexer:
    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.line = 1
        self.tokens: list[Token] = []

    def _prev_significant(self) -> Token | None:
        for tok in reversed(self.tokens):
            if tok.kind != "newline":
                return tok
        return None

    def _slash_starts_string(self) -> bool:
        prev = self._prev_significant()
        if prev is None:
            return True
        if prev.kind == "punct":
            return prev.value in _REGEX_PRECEDERS
        if prev.kind == "ident":
            return prev.value in _REGEX_PRECEDERS
        return False

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
            char = src[self.i]
            if src.startswith(closer, self.i):
                self.i += len(closer)
                break
            if char == "\n":
                if len(quote) == 1 and quote != "/":
                    raise JenkinsParseError("unterminated string", start_line)
                self.line += 1
                parts.append(char)
                self.i += 1
                continue
            if char == "\\" and quote != "$/":
                nxt = src[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.line += 1
                parts.append(src[self.i : self.i + 2])
                self.i += 2
                continue
            if char == "$" and interpolating:
                nxt = src[self.i + 1 : self.i + 2]
                if quote == "$/" and nxt in ("$", "/"):
                    parts.append(src[self.i : self.i + 2])  # `$$` and `$/` escapes
                    self.i += 2
                    continue
                if nxt == "{":
                    expr, end, end_line = _scan_interpolation(src, self.i + 1, self.line)
                    interps.append(Interpolation(expr=expr.strip(), line=self.line))
                    parts.append(src[self.i : end])
                    self.line = end_line
                    self.i = end
                    continue
                match = _DOLLAR_NAME.match(src, self.i + 1)
                if match:
                    interps.append(Interpolation(expr=match.group(0), line=self.line))
                    parts.append(src[self.i : match.end()])
                    self.i = match.end()
                    continue
            parts.append(char)
            self.i += 1
        kind: QuoteKind = "/" if quote in ("/", "$/") else quote  # type: ignore[assignment]
        return Token("string", "".join(parts), start_line, kind, interps if interpolating else [])

    def run(self) -> list[Token]:
        src = self.src
        stack: list[tuple[str, int, int]] = []
        size = len(src)
        while self.i < size:
            char = src[self.i]
            line = self.line
            if char == "\n":
                self.tokens.append(Token("newline", "\n", line))
                self.line += 1
                self.i += 1
            elif char in " \t\r\f\ufeff":
                blank = _BLANK.match(src, self.i)
                self.i = blank.end() if blank else self.i + 1
            elif (char.isalpha() or char in "_$") and not src.startswith("$/", self.i):
                match = _IDENT.match(src, self.i)
                end = match.end() if match else self.i + 1
                self.tokens.append(Token("ident", src[self.i : end], line))
                self.i = end
            elif char in "'\"":
                if src.startswith(char * 3, self.i):
                    self.i += 3
                    self.tokens.append(self._string(char * 3, char == '"', line))
                else:
                    self.i += 1
                    self.tokens.append(self._string(char, char == '"', line))
            elif char == "/" and src.startswith("//", self.i):
                end = src.find("\n", self.i)
                self.i = size if end == -1 else end
            elif char == "/" and src.startswith("/*", self.i):
                end = src.find("*/", self.i + 2)
                if end == -1:
                    raise JenkinsParseError("unterminated /* comment", line)
                self.line += src.count("\n", self.i, end)
                self.i = end + 2
            elif char == "/" and self._slash_starts_string():
                self.i += 1
                self.tokens.append(self._string("/", True, line))
            elif char == "$":  # `$/` opens a dollar-slashy string
                self.i += 2
                self.tokens.append(self._string("$/", True, line))
            elif char.isdigit():
                match = _NUMBER.match(src, self.i)
                end = match.end() if match else self.i + 1
                self.tokens.append(Token("number", src[self.i : end], line))
                self.i = end
            elif char == "@" and _IDENT_START.match(src[self.i + 1 : self.i + 2] or " "):
                match = _IDENT.match(src, self.i + 1)
                end = match.end() if match else self.i + 1
                self.tokens.append(Token("annotation", src[self.i + 1 : end], line))
                self.i = end
            elif char == "\\" and src.startswith("\\\n", self.i):
                self.line += 1
                self.i += 2
            elif self.i == 0 and src.startswith("#!"):
                end = src.find("\n")
                self.i = size if end == -1 else end
            else:
                operator = _OPERATOR.match(src, self.i)
                op = operator.group(0) if operator else char
                token = Token("punct", op, line)
                if op in _BRACKETS:
                    stack.append((op, line, len(self.tokens)))
                    if len(stack) > MAX_NESTING:
                        raise JenkinsParseError(f"brackets nested deeper than {MAX_NESTING}", line)
                elif op in _CLOSERS:
                    if not stack:
                        raise JenkinsParseError(f"unbalanced {op!r}", line)
                    opener, _, index = stack.pop()
                    if _BRACKETS[opener] != op:
                        raise JenkinsParseError(f"{op!r} does not close {opener!r}", line)
                    token.match = index
                    self.tokens[index].match = len(self.tokens)
                self.tokens.append(token)
                self.i += len(op)
        if stack:
            opener, opened, _ = stack[-1]
            raise JenkinsParseError(f"{opener!r} is never closed", opened)
        return self.tokens


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


def _script_expression(tokens: list[Token], start: int, end: int, step: str) -> ShellStep | None:
    """The script argument between ``start`` and ``end``: strings and concatenated values."""
    first_string: Token | None = None
    text_parts: list[str] = []
    interps: list[Interpolation] = []
    j = start
    while j < end:
        tok = tokens[j]
        if tok.kind == "string":
            first_string = first_string or tok
            text_parts.append(tok.value)
            interps.extend(tok.interpolations)
            j += 1
        elif tok.kind == "ident" and not _is_member(tokens, j):
            expr, j = _dotted(tokens, j)
            # NOTE: `'echo ' + params.X` puts the value into the script just as `"${...}"` does.
            interps.append(Interpolation(expr=expr, line=tok.line))
            if j < end and tokens[j].kind == "punct" and tokens[j].value == "(":
                j = _matching(tokens, j) + 1
        elif _is_opener(tok):
            j = _matching(tokens, j) + 1
        else:
            j += 1
    if first_string is None and not interps:
        return None
    quote: QuoteKind = first_string.quote if first_string is not None else "none"
    line = first_string.line if first_string is not None else tokens[start].line
    return ShellStep(
        step=step, line=line, quote=quote, text="".join(text_parts), interpolations=interps
    )


def _statement_end(tokens: list[Token], i: int) -> int:
    """End of a command expression starting at ``i`` (newline at depth 0, unless continued)."""
    j = i
    while j < len(tokens):
        tok = tokens[j]
        if _is_opener(tok):
            j = _matching(tokens, j) + 1
            continue
        if tok.kind == "punct" and tok.value in (")", "]", "}"):
            return j
        if tok.kind == "newline" or tok.value == ";":
            prev = tokens[j - 1] if j > i else None
            if prev is not None and prev.kind == "punct" and prev.value in ("+", ",", "("):
                j += 1
                continue
            return j
        j += 1
    return j


def _shell_step(tokens: list[Token], i: int) -> ShellStep | None:
    step = tokens[i].value
    j = i + 1
    if j < len(tokens) and tokens[j].kind == "punct" and tokens[j].value == "(":
        close = _matching(tokens, j)
        named = _named_args(tokens, j + 1, close)
        if "script" in named:
            k = next(k for k in range(j + 1, close) if tokens[k] is named["script"])
            return _script_expression(tokens, k, _arg_end(tokens, k, close), step)
        return _script_expression(tokens, j + 1, _arg_end(tokens, j + 1, close), step)
    end = _statement_end(tokens, j)
    if j >= end:
        return None
    named = _named_args(tokens, j, end)
    if "script" in named:
        k = next(k for k in range(j, end) if tokens[k] is named["script"])
        return _script_expression(tokens, k, _arg_end(tokens, k, end), step)
    if tokens[j].kind not in ("string", "ident"):
        return None
    if tokens[j].kind == "ident" and j + 1 < end and tokens[j + 1].value == ":":
        return None  # named arguments without a script (e.g. `sh returnStatus: true`)
    return _script_expression(tokens, j, _arg_end(tokens, j, end), step)


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
        j = i + 1
        if j < len(tokens) and tokens[j].value == "(":
            close = _matching(tokens, j)
            return [
                _library_spec(t.value, t.line, "annotation")
                for t in tokens[j + 1 : close]
                if t.kind == "string"
            ]
        return []
    # `library 'name@ref'`, `library('name@ref')`, `library identifier: 'name@ref', ...`
    j = i + 1
    if j < len(tokens) and tokens[j].value == "(":
        close = _matching(tokens, j)
        start, end = j + 1, close
    else:
        start, end = j, _statement_end(tokens, j)
    named = _named_args(tokens, start, end)
    if "identifier" in named:
        target = named["identifier"]
        return [_library_spec(target.value, target.line, "step")]
    if start < end and tokens[start].kind == "string":
        return [_library_spec(tokens[start].value, tokens[start].line, "step")]
    return []


def _credential_bindings(tokens: list[Token], i: int) -> list[CredentialBinding]:
    """``withCredentials([binding(credentialsId: .., xxxVariable: 'NAME'), ...])``."""
    j = i + 1
    if j >= len(tokens) or tokens[j].value != "(":
        return []
    close = _matching(tokens, j)
    out = []
    k = j + 1
    while k < close:
        tok = tokens[k]
        if tok.kind == "ident" and k + 1 < close and tokens[k + 1].value == "(":
            inner_close = _matching(tokens, k + 1)
            named = _named_args(tokens, k + 2, inner_close)
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
            k = inner_close + 1
            continue
        k += 1
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
    close = _matching(tokens, j)
    out = []
    k = j + 1
    while k < close:
        tok = tokens[k]
        if tok.kind == "ident" and k + 1 < close and tokens[k + 1].value == "(":
            inner_close = _matching(tokens, k + 1)
            named = _named_args(tokens, k + 2, inner_close)
            if "name" in named:
                out.append(KeyValue(key=named["name"].value, value=tok.value, line=tok.line))
            k = inner_close + 1
            continue
        k += 1
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
        tok = tokens[k]
        if _is_opener(tok):
            k = _matching(tokens, k) + 1  # only the block's own assignments
            continue
        if (
            tok.kind == "ident"
            and tokens[k + 1].value == "="
            and (tokens[k - 1].kind == "newline" or tokens[k - 1].value in ("{", ";"))
        ):
            value_tok = tokens[k + 2] if k + 2 < close else None
            is_string = value_tok is not None and value_tok.kind == "string"
            literal = is_string and not (value_tok.interpolations if value_tok else True)
            # An interpolated value is kept as written (not literal): audits follow `${...}`.
            out.append(
                KeyValue(
                    key=tok.value,
                    value=value_tok.value if is_string and value_tok else None,
                    line=tok.line,
                    is_literal=literal,
                )
            )
        k += 1
    return out


def parse_jenkinsfile(path: str, text: str) -> Jenkinsfile:
    """Record what a Jenkinsfile does, from its tokens.

    Raises:
        JenkinsParseError: unterminated string/comment or unbalanced brackets (with the line).
    """
    tokens = tokenize(text)
    shell_steps: list[ShellStep] = []
    credentials: list[CredentialBinding] = []
    libraries: list[LibraryRef] = []
    parameters: list[KeyValue] = []
    env_assignments: list[KeyValue] = []
    declarative = False
    for i, tok in enumerate(tokens):
        if tok.kind == "annotation":
            libraries.extend(_libraries(tokens, i))
            continue
        if tok.kind != "ident":
            continue
        if _is_member(tokens, i) and not (
            # `steps.sh "..."` in a shared library class is the same shell step
            tok.value in SHELL_STEPS and i >= 2 and tokens[i - 2].value in _STEP_RECEIVERS
        ):
            continue
        name = tok.value
        following = (
            tokens[_next_sig(tokens, i + 1)] if _next_sig(tokens, i + 1) < len(tokens) else None
        )
        if name == "pipeline" and following is not None and following.value == "{":
            declarative = True
        elif name in SHELL_STEPS:
            step = _shell_step(tokens, i)
            if step is not None:
                shell_steps.append(step)
                if len(shell_steps) > MAX_SHELL_STEPS:
                    raise JenkinsParseError(
                        f"more than {MAX_SHELL_STEPS} shell steps; not a pipeline to audit "
                        "by hand or machine",
                        tok.line,
                    )
        elif name == "library":
            libraries.extend(_libraries(tokens, i))
        elif name == "withCredentials":
            credentials.extend(_credential_bindings(tokens, i))
        elif name == "credentials" and i + 1 < len(tokens) and tokens[i + 1].value == "(":
            target = _assignment_target(tokens, i)
            if target is not None:
                close = _matching(tokens, i + 1)
                ids = [t.value for t in tokens[i + 2 : close] if t.kind == "string"]
                credentials.append(
                    CredentialBinding(
                        # NOTE: a username/password credential also defines NAME_USR and NAME_PSW.
                        variables=[target, f"{target}_PSW", f"{target}_USR"],
                        credentials_id=ids[0] if ids else None,
                        line=tok.line,
                        source="credentials",
                    )
                )
        elif name == "parameters":
            parameters.extend(_parameters(tokens, i))
        elif name == "environment":
            env_assignments.extend(_environment(tokens, i))
    return Jenkinsfile(
        path=path,
        style="declarative" if declarative else "scripted",
        shell_steps=shell_steps,
        credentials=credentials,
        libraries=libraries,
        parameters=parameters,
        env_assignments=env_assignments,
    )


__all__ = ["SHELL_STEPS", "JenkinsParseError", "Token", "parse_jenkinsfile", "tokenize"]
