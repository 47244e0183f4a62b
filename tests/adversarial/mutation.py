"""Mutation strategies shared by the adversarial suite's property tests (hypothesis).

``inputs(seed)`` draws a mutated real file (flipped, deleted, duplicated or inserted
format-significant tokens, truncations), random text, or a soup of tokens; ``same_result``
checks that a parser gives the same model, or the same clean error, twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
yaml_words = st.sampled_from(
    [
        "a",
        "b",
        "- ",
        ": ",
        "&x ",
        "*x",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\n",
        "  ",
        "'",
        '"',
        "!!str ",
        "!!python/object ",
        "<<: ",
        "? ",
        "|",
        ">",
        "#",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "\t",
        "\x00",
        "é",
    ]
)
yaml_texts = st.lists(yaml_words, max_size=40).map("".join) | st.text(max_size=200)

VALID_POLICY = (
    b"version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
    b"keys:\n  ci: keys/ci.pub\n  release-manager: keys/rm.pub\n"
    b"stages:\n  - name: source\n    signed_by: [ci]\n"
    b"  - name: build\n    signed_by: [ci]\n    follows: source\n"
    b"  - name: release\n    signed_by: [ci, release-manager]\n    threshold: 2\n"
    b"    follows: build\n"
    b"audits:\n  block_at: high\n  rules:\n    deps/new-dependency: off\n"
    b"exceptions:\n  - rule: secrets/generic-assignment\n    path: tests/**\n"
    b"    reason: fixtures\n    expires: 2098-01-31\n"
)

TOKENS = [
    "\n",
    " ",
    "  ",
    "\t",
    ":",
    "-",
    "'",
    '"',
    "{",
    "}",
    "[",
    "]",
    "${{",
    "}}",
    "$",
    "\\",
    "#",
    "*",
    "&",
    "<<",
    "|",
    ">",
    ",",
    "=",
    "@",
    "(",
    ")",
    ";",
    "`",
    "\x00",
    "\ufeff",
    "é",
    "\r\n",
    "sh '",
    "'''",
    '"""',
    "FROM ",
    "RUN ",
    "<<EOF\n",
    "EOF\n",
    "uses: ",
    "run: ",
    "steps:",
    "stage('",
    "pipeline {",
    "script:",
    "include:",
    "version = ",
    "[[package]]",
    "==",
    "^",
    "~>",
    "=>",
    "<!--",
    "]]>",
    "&amp;",
    "<",
    "/>",
    "\\ud800",
    '"\\udfff"',
    '"x\\ud83d\\ude00"',
]


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> str:
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "duplicate", "insert", "truncate"]))
        pos = draw(st.integers(0, max(0, len(text) - 1)))
        if op == "flip" and text:
            text = text[:pos] + draw(st.characters(max_codepoint=0x2FF)) + text[pos + 1 :]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif op == "duplicate":
            end = pos + draw(st.integers(1, 80))
            text = text[:end] + text[pos:end] + text[end:]
        elif op == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        else:
            text = text[:pos]
    return text


def inputs(seed: str) -> st.SearchStrategy[str]:
    return (
        mutated(seed)
        | st.text(max_size=300)
        | st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
    )


def same_result(fn: Callable[[], Any], allowed: tuple[type[BaseException], ...]) -> None:
    """Call twice: the same model, or the same clean error, both times."""
    results = []
    for _ in range(2):
        try:
            out = fn()
            results.append(
                ("ok", out.model_dump_json() if hasattr(out, "model_dump_json") else repr(out))
            )
        except allowed as exc:
            results.append((type(exc).__name__, str(exc)))
    assert results[0] == results[1]
