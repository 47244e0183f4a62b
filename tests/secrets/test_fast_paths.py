"""The scanner's fast paths find exactly what the plain forms they replace find.

Each shortcut (a pattern rewritten to search faster, a check skipped for text that cannot
match) is held here to the form it replaces, on the near-misses at its own boundaries.
"""

from __future__ import annotations

import re

import pytest

from gatekeeper.secrets import detect
from gatekeeper.secrets.detect import generic_regex
from gatekeeper.secrets.formats import Lines, holds_any

from .test_assignments import ASSIGNMENTS, NEAR_MISSES, S

# Assignments at the edges of the generic pattern: the name words and the short words that
# count only as a whole segment, a name's tail at and past its 40 characters, each operator,
# a type between name and operator, a quoted name before a comma, and text that is no
# assignment at all.
GENERIC_EDGES = [
    f"password={S}",
    f"passwd: {S}",
    f"pass_word = '{S}'",
    f"bypass={S}",
    f"db_pass={S}",
    f"passenger={S}",
    f"pw: {S}",
    f"pwd={S}",
    f"pw_hash={S}",
    f"passphrase = {S}",
    f"api-key: {S}",
    f"apikey={S}",
    f"api.key={S}",
    f"private_key = {S}",
    f"privatekey={S}",
    f"authkey={S}",
    f"auth={S}",
    f"author={S}",
    f"oauth={S}",
    f"basic_auth: {S}",
    f"creds={S}",
    f"credentials: {S}",
    f"my_token{'x' * 39}={S}",
    f"my_token{'x' * 40}={S}",
    f"my_token{'x' * 41}={S}",
    f"my_token{'x' * 80}: {S}",
    f"$token.={S}",
    f'$token.="{S}"',
    f'$token .= "{S}"',
    f"token.{S}",
    f'token..="{S}"',
    f"token.=>{S}",
    f"token=>{S}",
    f'token ?= "{S}"',
    f'token ??= "{S}"',
    f'token ||= "{S}"',
    f'token := "{S}"',
    f'token ::= "{S}"',
    f'token :::= "{S}"',
    f"token <- {S}",
    f'token: &\'static str = "{S}"',
    f'token []byte = "{S}"',
    f'token: str? = "{S}"',
    f'"token", "{S}"',
    f'"token" , "{S}"',
    f"token, {S}",
    f'"token", `{S}`',
    f'token = "{S}" + rest',
    f"token = `{S}`",
    f'token = "{S}',
    "token = ",
    "token",
    "the token is valid",
    f"TOKEN={S}\nSECRET: {S}\n  password = '{S}'  # note",
]


def _texts() -> list[str]:
    texts = [str(p.values[0]) for p in (*ASSIGNMENTS, *NEAR_MISSES)] + GENERIC_EDGES
    return [detect._lower_same_length(text) for text in texts]


@pytest.mark.parametrize("text", _texts())
def test_the_generic_pattern_matches_as_written_from_every_position(text: str) -> None:
    fast, plain = re.compile(generic_regex()), re.compile(generic_regex(fast=False))
    for pos in range(len(text) + 1):
        got, want = fast.search(text, pos), plain.search(text, pos)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups()))


@pytest.mark.parametrize("text", _texts())
def test_the_value_group_is_the_last_group_matched(text: str) -> None:
    for m in re.finditer(generic_regex(fast=False), text):
        assert m.lastindex == next(g for g in (5, 6, 7, 8) if m.group(g) is not None)


def _name_start_one_by_one(text: str, offset: int) -> int:
    while offset > 0 and text[offset - 1] in detect._NAME_CHARS:
        offset -= 1
    return offset


@pytest.mark.parametrize("length", [0, 1, 2, 63, 64, 65, 127, 128, 129, 300])
@pytest.mark.parametrize("before", ["", " ", "\n", "x y", '"', "é"])
def test_a_name_starts_where_its_characters_start_however_long_it_is(
    length: int, before: str
) -> None:
    name = ("Ab9_.-" * 60)[:length]
    text = f"{before}{name}=value"
    offset = len(before) + length
    assert detect._name_start(text, offset) == _name_start_one_by_one(text, offset)
    if not before[-1:] or before[-1] not in detect._NAME_CHARS:
        assert detect._name_start(text, offset) == len(before)


NEEDLE_GROUPS = [
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ("AKIA", "ASIA"),
    ("k_live_", "k_prod_"),
    ("key=", "key ="),
    ("xox", "hooks.slack.com"),
    ("AIza",),
]


@pytest.mark.parametrize("needles", NEEDLE_GROUPS)
def test_holds_any_says_what_a_substring_test_per_needle_says(needles: tuple[str, ...]) -> None:
    texts = ["", "x", "gh", "ghp", "gh_p_", "AKI", "ASI A", "k_live", "key", "key  =", "xo x"]
    for needle in needles:
        texts += [needle, f"a {needle}", f"{needle} z", f"a\n{needle}\nz", needle[:-1], needle[1:]]
    for text in texts:
        assert holds_any(needles)(text) == any(n in text for n in needles), text


@pytest.mark.parametrize("text", ["", "a", "a\n", "\n", "\n\n", "a\nb", "a\n\nbc\n", "é\nü\r\nx"])
def test_line_starts_are_where_each_line_feed_is_followed(text: str) -> None:
    lines = Lines(text)
    assert lines.starts() == [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for offset in range(len(text) + 1):
        assert lines.line(offset) == text.count("\n", 0, offset) + 1


@pytest.mark.parametrize(
    "line",
    [
        *['API_TOKEN="x1"', "API_TOKEN='x1'", "API_TOKEN=x1", "API_TOKEN=", 'API_TOKEN="'],
        *["K=''", 'export K = "a b"', "K=#x", "K='unterminated", 'K="a"b'],
    ],
)
def test_the_dotenv_value_group_is_the_last_group_matched(line: str) -> None:
    for m in detect._DOTENV.finditer(f"{line}\n"):
        assert m.lastindex == next(g for g in (2, 3, 4) if m.group(g) is not None)
