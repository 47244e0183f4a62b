"""The one glob engine (gatekeeper/_glob.py): same matches as the regex translation it replaced,
on every ordinary pattern, without ever backtracking.

The regex translations below are the project's previous implementation, kept here as the
oracle: the new matcher must agree with them wherever they were right.
"""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gatekeeper._glob import compile_codeowners, compile_glob, match_path, static_prefix
from gatekeeper.audit.source_integrity import codeowners_rules, owned

# -- the previous regex translations (the oracle) ----------------------------------------------

_OLD_WILDCARDS = (("**/", "(?:[^/]*/)*"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def _old_char_class(body: str) -> str | None:
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


def _old_glob(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip()
    out: list[str] = []
    i = 0
    while i < len(pattern):
        for token, regex in _OLD_WILDCARDS:
            if pattern.startswith(token, i):
                out.append(regex)
                i += len(token)
                break
        else:
            piece = None
            if pattern[i] == "[":
                end = pattern.find("]", i + 1)
                piece = None if end == -1 else _old_char_class(pattern[i + 1 : end])
                if piece is not None:
                    out.append(piece)
                    i = end + 1
            if piece is None:
                out.append(re.escape(pattern[i]))
                i += 1
    regex = "".join(out) + (".*" if pattern.endswith("/") else "")
    return re.compile(f"(?s:{regex})\\Z")


_OLD_CO_TOKENS = (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def _old_codeowners(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/") if pattern != "/" else ""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
            continue
        for token, regex in _OLD_CO_TOKENS:
            if body.startswith(token, i):
                out.append(regex)
                i += len(token)
                break
        else:
            if body[i] == "\\" and i + 1 < len(body):
                out.append(re.escape(body[i + 1]))
                i += 2
            else:
                out.append(re.escape(body[i]))
                i += 1
    if pattern.endswith("/"):
        suffix = "/.*"
    else:
        last = body.rsplit("/", 1)[-1]
        suffix = "" if "*" in last and not last.startswith("**") else "(?:/.*)?"
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"^{prefix}{''.join(out)}{suffix}$")


def _old_match(pattern: str, path: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "possible set difference" for "--" in a class
        return _old_glob(pattern).match(path) is not None


# -- the new matcher agrees with the oracle ----------------------------------------------------

pattern_chars = st.sampled_from([*"ab/.*?[]!-\\c", "é", " "])
patterns = st.lists(pattern_chars, max_size=12).map("".join)
path_chars = st.sampled_from([*"ab/.-c[*\\! ", "é"])
paths = st.lists(path_chars, max_size=12).map("".join)


def _ordinary(pattern: str) -> bool:
    """Patterns where the old translation was right (see the two fixes below)."""
    return not pattern.strip().startswith("./") and "[!-" not in pattern


@given(patterns, paths)
@example("**/*.yml", "ci/a/b.yml")
@example("a/**/b", "a/b")
@example("a**/b", "ab")
@example("[!a-c]x", "dx")
@example("[a-]", "-")
@example("src/", "src/a/b")
def test_path_globs_match_as_the_regex_translation_did(pattern: str, path: str) -> None:
    if _ordinary(pattern):
        assert match_path(pattern, path) is _old_match(pattern, path)


@given(patterns, paths)
@example("*.js", "a/b.js")
@example("/docs/", "docs/a")
@example("docs/*", "docs/a/b")
@example("docs/**", "docs/a/b")
@example("**/logs", "a/logs/x")
@example("\\#x", "#x")
@example("/", "/a")
def test_codeowners_patterns_match_as_the_regex_translation_did(pattern: str, path: str) -> None:
    # NOTE: the old translation's `.` did not match a newline, and `$` matched before a final
    # one; neither character is in the alphabet (a new test below pins the new behaviour).
    assert compile_codeowners(pattern).match(path) is (
        _old_codeowners(pattern).match(path) is not None
    )


@given(st.lists(st.sampled_from(["**/", "*/", "**", "*", "a", "/", "?"]), max_size=10), paths)
def test_runs_of_wildcards_match_as_before(parts: list[str], path: str) -> None:
    pattern = "".join(parts)
    assert match_path(pattern, path) is _old_match(pattern, path)
    assert compile_codeowners(pattern).match(path) is (
        _old_codeowners(pattern).match(path) is not None
    )


# -- semantics, by example ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("configs/*.yml", "configs/a.yml", True),
        ("configs/*.yml", "configs/sub/a.yml", False),
        ("configs/**.yml", "configs/sub/a.yml", True),
        ("configs/**/*.yml", "configs/a.yml", True),
        ("configs/**/*.yml", "configs/x/y/a.yml", True),
        ("**", "", True),
        ("*", "a/b", False),
        ("?", "/", False),
        ("[!x]", "/", False),
        ("[/]", "/", False),
        ("[z-a]", "[z-a]", True),  # malformed class: a literal "["
        ("[", "[", True),
        ("dist/", "dist/a/b.tar", True),
        ("dist/", "dist", False),
        ("  src/*.py ", "src/a.py", True),
    ],
)
def test_path_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert match_path(pattern, path) is expected


def test_leading_dot_slash_is_stripped_once_per_segment_only() -> None:
    # The old translation stripped every leading "." and "/" character, so "./.github/x"
    # became "github/x" and never matched the file it names.
    assert match_path("./.github/workflows/*.yml", ".github/workflows/ci.yml")
    assert match_path("././a", "a")
    assert not match_path("./.github/workflows/*.yml", "github/workflows/ci.yml")


def test_negated_class_starting_with_a_dash_excludes_only_its_members() -> None:
    # The old translation put "/" before the body, so "[!-a]" became the range "/-a".
    assert match_path("[!-a]", "b")
    assert match_path("[!-a]", "0")
    assert not match_path("[!-a]", "-")
    assert not match_path("[!-a]", "a")
    assert not match_path("[!-a]", "/")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*", "a/b/c", True),
        ("*.js", "src/deep/a.js", True),
        ("/docs/", "docs/a/b", True),
        ("/docs/", "docs", False),
        ("docs/*", "docs/a", True),
        ("docs/*", "docs/a/b", False),
        ("docs/**", "docs/a/b", True),
        ("apps/", "x/apps/y", True),
        ("/apps", "apps/y", True),
        ("/apps", "x/apps/y", False),
        ("**/logs", "a/b/logs/x", True),
        ("\\#file", "#file", True),
        ("a[bc]", "a[bc]", True),  # CODEOWNERS has no character classes
        ("a[bc]", "ab", False),
    ],
)
def test_codeowners_semantics(pattern: str, path: str, expected: bool) -> None:
    assert compile_codeowners(pattern).match(path) is expected
    assert owned(path, codeowners_rules(f"{pattern} @owner\n")) is expected


def test_a_file_name_with_a_newline_is_still_below_its_directory() -> None:
    assert compile_codeowners("/docs/").match("docs/a\nb")
    assert compile_codeowners("*").match("a\n")
    assert match_path("docs/**", "docs/a\nb")


def test_static_prefix_and_cache() -> None:
    assert static_prefix("src/lib/**/*.py") == "src/lib"
    assert static_prefix("*.py") == ""
    assert compile_glob("src/**") is compile_glob("src/**")


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("*a" * 40 + "c", "a" * 200 + "/ac"),
        ("**/" * 500 + "x/*.yml", "a/" * 1000 + "x/b/c.yml"),
        ("[ab]*" * 300 + "c", "ab" * 600 + "/c"),
        ("**a" * 300 + "c", "a/" * 600),
    ],
)
def test_backtracking_shapes_are_decided_in_one_pass(pattern: str, path: str) -> None:
    """Shapes that take a backtracking regex minutes (see tests/adversarial/pr_author for the
    end-to-end cases): the matcher steps once per character of the path."""
    glob = compile_glob(pattern)
    assert glob.match(path) is False
    assert glob.match(path + "x") is False
    owners = compile_codeowners(pattern)
    assert owners.match(path) is False
