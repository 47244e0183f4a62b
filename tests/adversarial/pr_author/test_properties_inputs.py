"""Properties of the loaders and globs that read what a pull request writes (hypothesis).

No input crashes strict JSON, YAML, globs or policy parsing: each ends in a value or its
documented clean error, and the same input gives the same output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper._glob import compile_glob, match_path, static_prefix
from gatekeeper._yaml import load_yaml, load_yaml_all
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import Policy
from gatekeeper.policy import parse_policy
from tests.adversarial.mutation import VALID_POLICY, json_scalars, json_values, yaml_texts

# -- loads_json_strict ------------------------------------------------------------------------


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
@example(b'{"a": 1, "a": 2}')
@example(b"[" * 5000)
@example(b'{"x": NaN}')
def test_loads_json_strict_only_raises_value_error(data: bytes) -> None:
    try:
        first = loads_json_strict(data)
    except ValueError:
        with pytest.raises(ValueError):
            loads_json_strict(data)
        return
    assert loads_json_strict(data) == first  # deterministic
    assert json.loads(data) == first  # a stricter parser never disagrees when both accept


@given(json_values)
def test_loads_json_strict_accepts_every_standard_document(value: Any) -> None:
    text = json.dumps(value)
    assert loads_json_strict(text) == value
    assert loads_json_strict(text.encode()) == value


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), json_scalars, min_size=1, max_size=5),
    st.data(),
)
def test_loads_json_strict_rejects_any_duplicate_key(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(obj)))
    body = json.dumps(obj)
    crafted = body[:-1] + f", {json.dumps(key)}: {json.dumps(obj[key])}}}"
    with pytest.raises(ValueError, match="duplicate key"):
        loads_json_strict(crafted)


# -- load_yaml ---------------------------------------------------------------------------------


@given(yaml_texts)
@example("a: &a [*a]")
@example("[" * 300)
@example("!!python/object/apply:os.system ['touch /tmp/gk-yaml-pwned']")
def test_load_yaml_only_raises_yaml_error(text: str) -> None:
    for loader in (load_yaml, lambda t: load_yaml(t, strict_keys=True), load_yaml_all):
        try:
            first = loader(text)
        except yaml.YAMLError:
            continue
        assert loader(text) == first
    assert not Path("/tmp/gk-yaml-pwned").exists()  # noqa: S108 - proving nothing ran


@given(json_values)
def test_load_yaml_reads_every_json_document(value: Any) -> None:
    # JSON is (almost) YAML: keys that are not YAML-ambiguous load back as they were.
    text = json.dumps(value, ensure_ascii=True)
    try:
        loaded = load_yaml(text)
    except yaml.YAMLError:
        return  # e.g. nesting over the cap, or YAML 1.1 quirks in keys: refused, not crashed
    assert loaded == value or isinstance(loaded, (dict, list, str, int, float, bool, type(None)))


# -- globs -------------------------------------------------------------------------------------

path_chars = st.sampled_from([*"ab/.*?[]!-\\", "é", "\n", " "])
glob_patterns = st.lists(path_chars, max_size=16).map("".join)
paths = st.lists(
    st.sampled_from(["a", "b", "ab", ".x", "é", " ", "[", "*"]), min_size=1, max_size=5
).map("/".join)


@given(glob_patterns, paths)
@example("[z-a]", "a")
@example("[", "[")
@example("a/[!]", "a/b")
def test_glob_never_raises_and_is_deterministic(pattern: str, path: str) -> None:
    first = match_path(pattern, path)
    assert match_path(pattern, path) is first
    assert isinstance(static_prefix(pattern), str)


@given(paths)
def test_glob_literal_matches_itself_and_star_stays_in_a_segment(path: str) -> None:
    assume(path == path.strip())  # NOTE: patterns are stripped (documented in docs/limits.md)
    literal = "".join(f"[{c}]" if c in "*?[]" else c for c in path)
    assert match_path(literal, path)
    assert match_path("**", path)
    assert match_path("*", path) == ("/" not in path)
    assert match_path("?", path) == (len(path) == 1 and path != "/")
    assert not match_path("[!x]", "/")  # a class never matches a separator


@given(paths, paths)
def test_glob_dir_pattern_covers_only_its_subtree(prefix: str, rest: str) -> None:
    assume(prefix == prefix.strip())
    pattern = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix) + "/**"
    assert match_path(pattern, f"{prefix}/{rest}")
    assume(not f"{rest}/".startswith(f"{prefix}/"))
    assert not match_path(pattern, rest)


def test_compile_glob_cache_returns_the_same_pattern() -> None:
    assert compile_glob("src/**") is compile_glob("src/**")


# -- policies ---------------------------------------------------------------------------------


def _parse_or_invalid(data: bytes) -> Policy | str:
    try:
        return parse_policy(data, "p.yaml")
    except InvalidInput as exc:
        return f"invalid: {exc}"


@given(st.binary(max_size=400) | yaml_texts.map(str.encode))
def test_parse_policy_never_crashes(data: bytes) -> None:
    first = _parse_or_invalid(data)
    assert _parse_or_invalid(data) == first


@given(st.integers(0, len(VALID_POLICY) - 1), st.integers(0, 255))
def test_mutated_policy_parses_or_is_invalid(position: int, value: int) -> None:
    mutated = bytearray(VALID_POLICY)
    mutated[position] = value
    result = _parse_or_invalid(bytes(mutated))
    assert result == _parse_or_invalid(bytes(mutated))
    if isinstance(result, Policy):
        # Whatever parsed is internally consistent: thresholds reachable, keys known.
        for stage in result.stages:
            assert 1 <= stage.threshold <= len(stage.signed_by)
            assert set(stage.signed_by) <= set(result.keys)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "name",
                "expires",
                "max_age",
                "keys",
                "stages",
                "audits",
                "exceptions",
                "extra",
                "Stages",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_random_policy_documents_never_crash(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc).encode()
    assert _parse_or_invalid(text) == _parse_or_invalid(text)


escape_soup = st.lists(
    st.sampled_from(
        [
            '"',
            "\\ud800",
            "\\udfff",
            "\\ud83d\\ude00",
            "\\\\",
            "a",
            "\\u00e9",
            "[",
            "]",
            "{",
            "}",
            ":",
            ",",
            " ",
            "\\n",
        ]
    ),
    max_size=20,
).map("".join)


@given(
    escape_soup | escape_soup.map(lambda s: f'["{s}"]') | escape_soup.map(lambda s: f'{{"{s}": 1}}')
)
def test_strict_json_output_is_always_writable_utf8(text: str) -> None:
    """Whatever loads_json_strict accepts can be written back as UTF-8 (no lone surrogates)."""

    try:
        value = loads_json_strict(text)
    except ValueError:
        return
    dumps_json(value).encode("utf-8")
