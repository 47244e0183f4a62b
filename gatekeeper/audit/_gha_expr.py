"""GitHub Actions expressions (``${{ ... }}``): a parser, where values flow, and conditions.

The grammar is GitHub's (docs: "Evaluate expressions in workflows and actions"): literals
(``null``, booleans, numbers including ``0x`` hex and exponents, ``'strings'`` with ``''``
escapes), contexts with property access (``github.event.issue.title``), index access
(``github.event['issue']``, ``commits[0]``) and object filters (``labels.*.name``), function
calls, ``!``, comparisons, ``&&`` and ``||``. Context names and properties are
case-insensitive; they are kept lower-cased.

Three questions are answered over the tree:

- ``value_refs``: which contexts can reach the *value* of an expression (what would be pasted
  into a script). ``a == b`` and ``contains(a, b)`` are booleans; ``a || b`` is either
  operand; ``a && b`` is ``b`` (or a falsy ``a``, which carries no text); ``format``,
  ``join``, ``toJSON``, ``fromJSON`` and ``case`` pass their operands' text on.
- ``context_refs``: every context an expression reads, wherever it appears.
- ``evaluate``: a three-valued reading of a condition (true, false, or unknown) against a
  partial description of the run (``World``), used to tell whether an outsider's event can
  reach a job or a step at all.

Nothing is ever executed; parsing is linear in the text and bounded in depth.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

MAX_DEPTH = 64  # nesting of parentheses and calls; deeper is refused as a parse error
MAX_EXPRESSION = 20_000  # characters


class ExpressionError(ValueError):
    """Text that is not a GitHub expression (GitHub would refuse the workflow too)."""


# --- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    value: str | float | bool | None


@dataclass(frozen=True)
class Ref:
    """A context path: ``("github", "event", "issue", "title")``; ``"*"`` is any element."""

    path: tuple[str, ...]
    dynamic: bool = False  # an index that is itself an expression (``github.event[x]``)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Access:
    """Property or index access on a value that is not a context (``fromJSON(x).a``)."""

    base: Expr
    path: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str  # lower-cased
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class BinOp:
    op: str  # == != < <= > >= && ||
    left: Expr
    right: Expr


Expr = Union[Lit, Ref, Access, Call, Not, BinOp]  # noqa: UP007


# --- tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<str>'(?:[^']|'')*')
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>!().\[\],*-])
    )""",
    re.VERBOSE,
)


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value or kind not in ("op",):
            raise ExpressionError(f"expected `{value}`, found `{text or 'end'}`")


def _tokenize(text: str) -> _Tokens:
    if len(text) > MAX_EXPRESSION:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION} characters")
    items: list[tuple[str, str]] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos : pos + 1]!r}")
        kind = match.lastgroup or "op"
        items.append((kind, match.group(kind)))
        pos = match.end()
    return _Tokens(items)


# --- the parser ------------------------------------------------------------------------------

_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, tokens: _Tokens) -> None:
        self.tokens = tokens
        self.depth = 0

    def parse(self) -> Expr:
        expr = self.or_()
        kind, text = self.tokens.peek()
        if kind != "end":
            raise ExpressionError(f"unexpected `{text}`")
        return expr

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels")

    def or_(self) -> Expr:
        left = self.and_()
        while self.tokens.peek()[1] == "||":
            self.tokens.take()
            left = BinOp("||", left, self.and_())
        return left

    def and_(self) -> Expr:
        left = self.equality()
        while self.tokens.peek()[1] == "&&":
            self.tokens.take()
            left = BinOp("&&", left, self.equality())
        return left

    def equality(self) -> Expr:
        left = self.comparison()
        while self.tokens.peek()[1] in ("==", "!="):
            op = self.tokens.take()[1]
            left = BinOp(op, left, self.comparison())
        return left

    def comparison(self) -> Expr:
        left = self.unary()
        while self.tokens.peek()[1] in ("<", "<=", ">", ">="):
            op = self.tokens.take()[1]
            left = BinOp(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        kind, text = self.tokens.peek()
        if kind == "op" and text == "!":
            self.tokens.take()
            self._enter()
            try:
                return Not(self.unary())
            finally:
                self.depth -= 1
        if kind == "op" and text == "-" and self.tokens.peek(1)[0] == "num":
            self.tokens.take()
            number = self._number(self.tokens.take()[1])
            return Lit(-number)
        return self.postfix(self.primary())

    @staticmethod
    def _number(text: str) -> float:
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError as exc:
            raise ExpressionError(f"not a number: {text}") from exc

    def primary(self) -> Expr:
        kind, text = self.tokens.take()
        if kind == "num":
            return Lit(self._number(text))
        if kind == "str":
            return Lit(text[1:-1].replace("''", "'"))
        if kind == "ident":
            lower = text.lower()
            if self.tokens.peek()[1] == "(":
                return self.call(lower)
            if lower in ("true", "false"):
                return Lit(lower == "true")
            if lower == "null":
                return Lit(None)
            return Ref((lower,))
        if kind == "op" and text == "(":
            self._enter()
            try:
                inner = self.or_()
            finally:
                self.depth -= 1
            self.tokens.expect(")")
            return inner
        raise ExpressionError(f"unexpected `{text or 'end'}`")

    def call(self, name: str) -> Expr:
        self.tokens.expect("(")
        self._enter()
        args: list[Expr] = []
        try:
            if self.tokens.peek()[1] != ")":
                args.append(self.or_())
                while self.tokens.peek()[1] == ",":
                    self.tokens.take()
                    args.append(self.or_())
        finally:
            self.depth -= 1
        self.tokens.expect(")")
        return Call(name, tuple(args))

    def postfix(self, expr: Expr) -> Expr:
        path: list[str] = []
        dynamic = False
        while True:
            text = self.tokens.peek()[1]
            if text == ".":
                self.tokens.take()
                kind, name = self.tokens.take()
                if kind == "ident":
                    path.append(name.lower())
                elif name == "*":
                    path.append("*")
                else:
                    raise ExpressionError(f"expected a property name after `.`, found `{name}`")
            elif text == "[":
                self.tokens.take()
                segment, is_dynamic = self._index()
                path.append(segment)
                dynamic = dynamic or is_dynamic
                self.tokens.expect("]")
            else:
                break
        if not path:
            return expr
        if isinstance(expr, Ref):
            return Ref(expr.path + tuple(path), dynamic or expr.dynamic)
        return Access(expr, tuple(path))

    def _index(self) -> tuple[str, bool]:
        kind, text = self.tokens.peek()
        if kind == "op" and text == "*":
            self.tokens.take()
            return "*", False
        self._enter()
        try:
            index = self.or_()
        finally:
            self.depth -= 1
        if isinstance(index, Lit) and isinstance(index.value, str):
            return index.value.lower(), False
        if isinstance(index, Lit) and isinstance(index.value, float):
            return "*", False  # one element of an array: as any element
        return "*", True


@functools.lru_cache(maxsize=8192)
def parse_expression(text: str) -> Expr:
    """The tree of one expression (the text between ``${{`` and ``}}``, or an ``if:``).

    Trees are immutable, so one parse is shared by every audit (and every repetition of the
    expression) of the run; an expression that does not parse is parsed again each time.

    Raises:
        ExpressionError: not an expression.
    """
    return _Parser(_tokenize(text)).parse()


# --- finding expressions in text -------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One ``${{ ... }}`` in a text: offsets of the whole and its inner text."""

    start: int
    end: int
    inner: str
    tree: Expr | None  # None when the inner text does not parse


def find_expressions(text: str) -> list[Found]:
    """Every ``${{ ... }}`` in ``text``; ``}}`` inside a quoted string does not close one."""
    if "${{" not in text:
        return []
    return list(_find_expressions(text))


@functools.lru_cache(maxsize=8192)
def _find_expressions(text: str) -> tuple[Found, ...]:
    found: list[Found] = []
    pos = text.find("${{")
    while pos != -1:
        close = _closing(text, pos + 3)
        if close == -1:
            break
        inner = text[pos + 3 : close]
        try:
            tree: Expr | None = parse_expression(inner)
        except ExpressionError:
            tree = None
        found.append(Found(pos, close + 2, inner.strip(), tree))
        pos = text.find("${{", close + 2)
    return tuple(found)


def _closing(text: str, pos: int) -> int:
    quoted = False
    while pos < len(text) - 1:
        char = text[pos]
        if char == "'":
            quoted = not quoted  # '' inside a string toggles twice: still quoted
        elif not quoted and char == "}" and text[pos + 1] == "}":
            return pos
        pos += 1
    return -1


def condition_tree(text: str | None) -> Expr | None:
    """An ``if:`` as a tree: with or without ``${{ }}`` around it (None: no condition)."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.startswith("${{") and stripped.endswith("}}") and stripped.count("${{") == 1:
        stripped = stripped[3:-2]
    elif "${{" in stripped:
        return None  # a template mixing text and expressions: always a non-empty string
    try:
        return parse_expression(stripped)
    except ExpressionError:
        return None


# --- where values flow -----------------------------------------------------------------------

_BOOLEAN_FUNCTIONS = frozenset(
    {"contains", "startswith", "endswith", "success", "always", "failure", "cancelled"}
)
_OPAQUE_FUNCTIONS = frozenset({"hashfiles"})  # a hex digest whatever the input


def value_refs(expr: Expr) -> Iterator[Ref | Access]:
    """The contexts whose text can become (part of) the value of ``expr``."""
    if isinstance(expr, (Ref, Access)):
        yield expr
    elif isinstance(expr, BinOp):
        if expr.op == "||":
            yield from value_refs(expr.left)
            yield from value_refs(expr.right)
        elif expr.op == "&&":
            yield from value_refs(expr.right)
    elif isinstance(expr, Call):
        if expr.name in _BOOLEAN_FUNCTIONS or expr.name in _OPAQUE_FUNCTIONS:
            return
        args = expr.args
        if expr.name == "case" and len(args) >= 3:
            # case(pred1, value1, pred2, value2, ..., default): only values flow.
            args = tuple(a for i, a in enumerate(args) if i % 2 == 1 or i == len(args) - 1)
        for arg in args:
            yield from value_refs(arg)


def context_refs(expr: Expr) -> Iterator[Ref]:
    """Every context ``expr`` reads."""
    if isinstance(expr, Ref):
        yield expr
    elif isinstance(expr, Access):
        yield from context_refs(expr.base)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from context_refs(arg)
    elif isinstance(expr, Not):
        yield from context_refs(expr.operand)
    elif isinstance(expr, BinOp):
        yield from context_refs(expr.left)
        yield from context_refs(expr.right)


def base_refs(ref: Ref | Access) -> Iterator[Ref]:
    """The contexts a value reference reads (``fromJSON(x).a`` reads ``x``)."""
    if isinstance(ref, Ref):
        yield ref
    else:
        yield from context_refs(ref.base)


def calls(expr: Expr) -> Iterator[Call]:
    """Every function call in ``expr``."""
    if isinstance(expr, Call):
        yield expr
        for arg in expr.args:
            yield from calls(arg)
    elif isinstance(expr, Access):
        yield from calls(expr.base)
    elif isinstance(expr, Not):
        yield from calls(expr.operand)
    elif isinstance(expr, BinOp):
        yield from calls(expr.left)
        yield from calls(expr.right)


def comparisons(expr: Expr) -> Iterator[BinOp]:
    """Every ``==``/``!=`` in ``expr``."""
    if isinstance(expr, BinOp):
        if expr.op in ("==", "!="):
            yield expr
        yield from comparisons(expr.left)
        yield from comparisons(expr.right)
    elif isinstance(expr, Not):
        yield from comparisons(expr.operand)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from comparisons(arg)


# --- three-valued evaluation ------------------------------------------------------------------


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class OneOf:
    """A value known to be one of a few strings (compared case-insensitively)."""

    values: frozenset[str]


@dataclass(frozen=True)
class NotAny:
    """A string known to differ from every literal (an outsider's repository or login),
    except literals that match ``spoofable`` (a bot name an outsider can make appear)."""

    spoofable: str = ""  # a regex of literals this value may equal


@dataclass(frozen=True)
class Base:
    """A value of the base repository (``github.repository``): unknown text, but never the
    value an outsider's fork or login has."""

    name: str


@dataclass(frozen=True)
class Prefixed:
    """A string known to start with ``prefix`` (``refs/pull/``)."""

    prefix: str


Value = Union[  # noqa: UP007
    str, float, bool, None, _Unknown, OneOf, NotAny, Base, Prefixed, list[Any], dict[str, Any]
]


@dataclass(frozen=True)
class World:
    """What is known about a run: a lookup for contexts (UNKNOWN when nothing is known)."""

    lookup: Callable[[tuple[str, ...]], Value] = field(default=lambda _path: UNKNOWN)


def _truthy(value: Value) -> bool | None:
    if isinstance(value, Base):
        return True
    if isinstance(value, (_Unknown, OneOf, NotAny, Prefixed)):
        return None if isinstance(value, (_Unknown, OneOf)) else True
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return value != 0
    if isinstance(value, (list, dict)):
        return True
    return bool(value)


def _equal(left: Value, right: Value) -> bool | None:
    if isinstance(left, Base) or isinstance(right, Base):
        if isinstance(left, Base) and isinstance(right, Base):
            return left.name == right.name or None
        other = right if isinstance(left, Base) else left
        return False if isinstance(other, NotAny) else None
    if isinstance(left, (OneOf, NotAny, Prefixed)) and not isinstance(right, (OneOf, NotAny)):
        return _special_equal(left, right)
    if isinstance(right, (OneOf, NotAny, Prefixed)) and not isinstance(left, (OneOf, NotAny)):
        return _special_equal(right, left)
    if isinstance(left, NotAny) or isinstance(right, NotAny):
        return False if isinstance(left, NotAny) != isinstance(right, NotAny) else None
    if isinstance(left, (_Unknown, OneOf, Prefixed)) or isinstance(right, (_Unknown, OneOf)):
        return None
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
        return None
    return _coerce_number(left) == _coerce_number(right)


def _special_equal(special: OneOf | NotAny | Prefixed, other: Value) -> bool | None:
    if not isinstance(other, str):
        return None if isinstance(other, (_Unknown, Prefixed)) else False
    text = other.lower()
    if isinstance(special, OneOf):
        if text not in special.values:
            return False
        return True if special.values == frozenset({text}) else None
    if isinstance(special, Prefixed):
        return None if text.startswith(special.prefix) else False
    if special.spoofable and re.fullmatch(special.spoofable, text):
        return None
    return False


def _coerce_number(value: Value) -> float | None:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return None
    return None


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _starts(value: Value, prefix: Value, ends: bool = False) -> bool | None:
    if not isinstance(prefix, str):
        return None
    if isinstance(value, Prefixed) and not ends:
        if value.prefix.startswith(prefix.lower()):
            return True
        return None if prefix.lower().startswith(value.prefix) else False
    if isinstance(value, OneOf):
        hits = {
            (v.endswith(prefix.lower()) if ends else v.startswith(prefix.lower()))
            for v in value.values
        }
        return hits.pop() if len(hits) == 1 else None
    if isinstance(value, NotAny):
        return None
    if not isinstance(value, str):
        return None
    text = value.lower()
    return text.endswith(prefix.lower()) if ends else text.startswith(prefix.lower())


def _contains(haystack: Value, needle: Value) -> bool | None:
    if isinstance(haystack, list):
        results = [_equal(item, needle) for item in haystack]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle.lower() in haystack.lower()
    if isinstance(haystack, str) and isinstance(needle, OneOf):
        hits = {v in haystack.lower() for v in needle.values}
        return hits.pop() if len(hits) == 1 else None
    return None


class _Evaluator:
    def __init__(self, world: World) -> None:
        self.world = world

    def value(self, expr: Expr) -> Value:
        if isinstance(expr, Lit):
            return expr.value
        if isinstance(expr, Ref):
            return UNKNOWN if expr.dynamic else self.world.lookup(expr.path)
        if isinstance(expr, Not):
            return _to_value(_not(_truthy(self.value(expr.operand))))
        if isinstance(expr, BinOp):
            return self._binop(expr)
        if isinstance(expr, Call):
            return self._call(expr)
        return UNKNOWN  # Access: fromJSON(...).x

    def _binop(self, expr: BinOp) -> Value:
        if expr.op == "&&":
            left = self.value(expr.left)
            truth = _truthy(left)
            if truth is False:
                return left
            right = self.value(expr.right)
            if truth is True:
                return right
            return False if _truthy(right) is False else UNKNOWN
        if expr.op == "||":
            left = self.value(expr.left)
            truth = _truthy(left)
            if truth is True:
                return left
            right = self.value(expr.right)
            if truth is False:
                return right
            return True if _truthy(right) is True else UNKNOWN
        left, right = self.value(expr.left), self.value(expr.right)
        if expr.op == "==":
            return _to_value(_equal(left, right))
        if expr.op == "!=":
            return _to_value(_not(_equal(left, right)))
        a, b = _coerce_number(_plain(left)), _coerce_number(_plain(right))
        if a is None or b is None:
            return UNKNOWN
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[expr.op]

    def _call(self, expr: Call) -> Value:
        args = [self.value(a) for a in expr.args]
        if expr.name in ("success", "always") and not args:
            return True  # the job or step is reached in the ordinary case
        if expr.name in ("failure", "cancelled") and not args:
            return UNKNOWN
        if expr.name == "contains" and len(args) == 2:
            return _to_value(_contains(args[0], args[1]))
        if expr.name in ("startswith", "endswith") and len(args) == 2:
            return _to_value(_starts(args[0], args[1], ends=expr.name == "endswith"))
        if expr.name == "fromjson" and len(args) == 1 and isinstance(args[0], str):
            return _from_json(args[0])
        return UNKNOWN


def _plain(value: Value) -> Value:
    return value if isinstance(value, (str, float, bool)) or value is None else UNKNOWN


def _to_value(value: bool | None) -> Value:
    return UNKNOWN if value is None else value


def _from_json(text: str) -> Value:
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return UNKNOWN
    if isinstance(data, list):
        return [str(v) if not isinstance(v, (dict, list)) else UNKNOWN for v in data]
    if isinstance(data, (str, bool)) or data is None:
        return data
    if isinstance(data, (int, float)):
        return float(data)
    return UNKNOWN


def evaluate(expr: Expr, world: World) -> bool | None:
    """Whether ``expr`` is true in ``world``: True, False, or None when it cannot be told."""
    return _truthy(_Evaluator(world).value(expr))


def unparse(expr: Expr) -> str:
    """A compact text form of ``expr`` (for messages)."""
    if isinstance(expr, Lit):
        if isinstance(expr.value, str):
            return "'" + expr.value.replace("'", "''") + "'"
        if isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        if expr.value is None:
            return "null"
        return f"{expr.value:g}"
    if isinstance(expr, Ref):
        return expr.dotted
    if isinstance(expr, Access):
        return f"({unparse(expr.base)}).{'.'.join(expr.path)}"
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(unparse(a) for a in expr.args)})"
    if isinstance(expr, Not):
        return f"!{unparse(expr.operand)}"
    return f"{unparse(expr.left)} {expr.op} {unparse(expr.right)}"


__all__ = [
    "UNKNOWN",
    "Access",
    "Base",
    "BinOp",
    "Call",
    "Expr",
    "ExpressionError",
    "Found",
    "Lit",
    "Not",
    "NotAny",
    "OneOf",
    "Prefixed",
    "Ref",
    "World",
    "base_refs",
    "calls",
    "comparisons",
    "condition_tree",
    "context_refs",
    "evaluate",
    "find_expressions",
    "parse_expression",
    "unparse",
    "value_refs",
]
