"""The scanner's fast paths find exactly what the plain forms they replace find.

Each shortcut (a pattern rewritten to search faster, a check skipped for text that cannot
match) is held here to the form it replaces, on the near-misses at its own boundaries.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from gatekeeper.secrets import detect, formats
from gatekeeper.secrets.detect import generic_regex
from gatekeeper.secrets.formats import Lines, RawHit, holds_any

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


@pytest.mark.parametrize(
    "text", ["", "a", "a\n", "\n", "\n\n", "a\nb", "a\n\nbc\n", "é\nü\r\nx", "x\ny\n" * 9]
)
def test_line_starts_are_where_each_line_feed_is_followed(text: str) -> None:
    counted, table = Lines(text), Lines(text)
    assert table.starts() == [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    # the first hits numbered by counting, the later ones by the table: the same numbers
    for offset in range(len(text) + 1):
        expected = sum(1 for ch in text[:offset] if ch == "\n") + 1
        assert counted.line(offset) == table.line(offset) == expected


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


# Token patterns as documented (the boundary before the token first) and the pattern the
# scanner searches (the boundary checked after the token's first literal characters).
DOCUMENTED_FORMATS = {
    "_AWS_ID": r"(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])",
    "_GITHUB": r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})"
    r"(?![A-Za-z0-9_])",
    "_GOOGLE": r"(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])",
    "_NPM": r"(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])",
    "_PYPI": r"(?<![A-Za-z0-9_-])(pypi-AgE[A-Za-z0-9_-]{50,})",
    "_JWT": r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"
    r"(?![A-Za-z0-9_.-])",
    "_URL_CRED": r"://([^\s:/?#@'\"<>\[\]{}]{1,128}):([^\s/@'\"<>{}]{1,256})@"
    r"([A-Za-z0-9][A-Za-z0-9.-]{0,252})",
}
_BODY = "Zx9kQ2mA7pLr3Tt8Vb" * 4
FORMAT_VALUES = [
    "AKIA" + "Q2MA7PLR3TT8VBZX",
    "ASIA" + "Q2MA7PLR3TT8VBZX9",
    "AKIQ2MA7PLR3TT8VBZX",
    "ghp_" + _BODY[:36],
    "gho_" + _BODY[:35],
    "github_pat_" + _BODY[:22] + "_" + _BODY[:59],
    "gh_pat_" + _BODY,
    "AIza" + _BODY[:35],
    "AIza" + _BODY[:36],
    "npm_" + _BODY[:36],
    "pypi-AgE" + _BODY[:50],
    "pypi-AgE" + _BODY[:49],
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0." + _BODY[:20],
    "https://deploy:" + _BODY[:20] + "@example.org/x",
    "https://user:pa:ss@host https://a:b@c",
    "ftp://" + "u" * 130 + ":p@h",
    "s3://u:" + "p" * 300 + "@h",
    "https://u@h:p@x",
]


@pytest.mark.parametrize("name", sorted(DOCUMENTED_FORMATS))
def test_token_patterns_find_what_the_documented_patterns_find(name: str) -> None:
    searched, documented = getattr(formats, name), re.compile(DOCUMENTED_FORMATS[name])
    for value in FORMAT_VALUES:
        for before in ("", " ", "x", "_", "-", ".", "=", "/", "é"):
            text = f"{before}{value} {before}{value}\n"
            for pos in range(len(before) + 2):
                got = [(m.span(), m.groups()) for m in searched.finditer(text, pos)]
                assert got == [(m.span(), m.groups()) for m in documented.finditer(text, pos)]


@pytest.mark.parametrize(
    "text",
    [
        '<add key="ApiToken" value="Zx9kQ2mA7pLr3Tt8Vb"/>',
        '<add monkey="ApiToken" value="Zx9kQ2mA7pLr3Tt8Vb"/>',
        '<add _key="a" value="b"/><add key = \'c\'  value= "d"/>',
        'key="a" value="b"',
        'ékey="a" value="b" 9key="c" value="d" -key="e" value="f"',
        "keykey='a' value='b'",
    ],
)
def test_the_key_value_pattern_finds_what_a_word_boundary_finds(text: str) -> None:
    documented = re.compile(
        r"""\bkey\s*=\s*["']([^"'<>\n]{1,80})["']\s+value\s*=\s*["']([^"'<>\n]{1,500})["']"""
    )
    for pos in range(len(text)):
        got = [(m.span(1), m.span(2)) for m in detect._XML_KEY_VALUE.finditer(text, pos)]
        assert got == [(m.span(1), m.span(2)) for m in documented.finditer(text, pos)]


DOCUMENTED_HTTP = {
    "_CURL_USER": re.compile(
        r"""(?:^|[\s"'])(?:-u[ \t]*|--user[ \t=]+)["']?([^\s:"'$]{0,128})["']?:["']?([^\s"']{1,256})"""
    ),
    "_AUTH_HEADER": re.compile(
        r"""authorization["']?[ \t]*[:=,][ \t]*["']?(?:(basic|bearer|token)[ \t]+)?"""
        r"""([A-Za-z0-9._~+/=-]{8,2048})(?![A-Za-z0-9._~+/=$-])""",
        re.IGNORECASE,
    ),
}
HTTP_TEXTS = [
    f"curl -u deploy:{S} https://x",
    f"-u deploy:{S}",
    f'curl "-u" deploy:{S} -u a:b',
    f"curl --user=deploy:{S} --user  me:{S}",
    f"curl x-u deploy:{S}",
    f"curl -uadmin:{S} -u-u a:b",
    f"curl\t-u\t'me':'{S}'\n-u x:y",
    f"curl --user $U:$P -u :{S}",
    f"Authorization: Bearer {S}",
    f'"authorization": "Basic {S}", AUTHORIZATION={S}',
    f"AuThOrIzAtIoN , token {S}",
    f"Authorization: bearer {S}$x",
    f"xauthorization:{S}",
    "Authorization: Bearer short",
    f"Authorization: {S}\u017f{S}",  # a long s, which case folding makes an s
]


@pytest.mark.parametrize("name", sorted(DOCUMENTED_HTTP))
def test_http_credential_patterns_find_what_the_documented_patterns_find(name: str) -> None:
    """From every position for the header; for `curl -u` from the start of a text, as the
    scanner searches it (the documented pattern takes the character before the dash as part
    of its match, so from the dash itself it cannot match, where the lookbehind can)."""
    searched, documented = getattr(detect, name), DOCUMENTED_HTTP[name]
    for text in HTTP_TEXTS:
        for pos in range(len(text)) if name == "_AUTH_HEADER" else (0,):
            got = [(m.groups(), m.span(1), m.span(2)) for m in searched.finditer(text, pos)]
            assert got == [
                (m.groups(), m.span(1), m.span(2)) for m in documented.finditer(text, pos)
            ]


def test_a_raw_hit_is_built_as_its_dataclass_fields_say() -> None:
    hit = RawHit("generic-assignment", "v4lue", 3, 8, 1, detail="assigned to x")
    assert (hit.paired, hit.shape, hit.host) == (False, "generated", "")
    by_name = RawHit(
        detector="generic-assignment", value="v4lue", start=3, end=8, line=1, detail="assigned to x"
    )
    assert by_name == hit and hash(by_name) == hash(hit)
    assert dataclasses.astuple(hit) == tuple(
        getattr(hit, f.name) for f in dataclasses.fields(RawHit)
    )
    moved = dataclasses.replace(hit, start=13, end=18, line=2)
    assert (moved.start, moved.end, moved.line, moved.detail) == (13, 18, 2, "assigned to x")
    assert moved != hit
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.start = 4  # type: ignore[misc]


def _generic_candidate_by_candidate(text: str, is_code: bool) -> list[RawHit]:
    """The generic detector as it reads every candidate of the text in turn."""
    lines, stand_ins, hits = Lines(text), set(), []
    for m in detect._candidates(detect._lower_same_length(text)):
        found = detect._assignment(text, m, is_code)
        if found is None:
            continue
        name_start, start, name, value, shape = found
        if shape == "placeholder":
            if value in stand_ins:
                continue
            stand_ins.add(value)
        elif shape == "generated" and detect._algolia_search_key(text, name, start):
            shape = "public"
        detail = f"assigned to {name[:64]}"
        hit = RawHit("generic-assignment", value, start, start + len(value), lines.line(name_start))
        hits.append(dataclasses.replace(hit, detail=detail, shape=shape))
    return hits


_ALGOLIA = (
    'docsearch({\n  appId: "BH4D9OD16A",\n  apiKey: "'
    + "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6"
    + '",\n  indexName: "docs",\n});\n'
)
REPEATED_LINES = [
    # the same secret, a stand-in and a reference on lines that repeat
    f"API_TOKEN={S}\nDB_PASSWORD=changeme\nAPI_TOKEN={S}\nDB_PASSWORD=changeme\nX=${{Y}}\n" * 3,
    # one line, a concatenation after it on the next line, then the line alone
    f'token = "{S}"\n+ suffix\ntoken = "{S}"\n',
    # two candidates on one line, the second a segment word inside another word
    f"db_pass={S} bypass={S} auth={S}\n" * 2,
    # a string opened on the line before does not reach the next line
    f'notes = "io.jsonwebtoken\ntoken: {S}\nnotes = "x\ntoken: {S}\n',
    # an Algolia search key beside its settings, then the same line far from them
    _ALGOLIA + "# another setting\n" * 30 + '  apiKey: "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6",\n',
    # a character that lower-cases to two, before and on a repeated line
    f"İ\nsecret: {S} İ\nsecret: {S} İ\n",
    # no line feed after the last line
    f"password = {S}\npassword = {S}",
]


@pytest.mark.parametrize("text", REPEATED_LINES)
@pytest.mark.parametrize("is_code", [False, True])
def test_a_line_read_before_gives_what_reading_it_again_gives(text: str, is_code: bool) -> None:
    got = list(detect._generic(text, Lines(text), is_code=is_code))
    assert got == _generic_candidate_by_candidate(text, is_code)


def test_repeated_lines_are_each_reported_and_a_stand_in_once() -> None:
    hits = list(detect._generic(REPEATED_LINES[0], Lines(REPEATED_LINES[0]), is_code=False))
    assert [(h.line, h.shape) for h in hits] == [
        (1, "generated"),
        (2, "placeholder"),
        (3, "generated"),
        *[(line, "generated") for line in (6, 8, 11, 13)],
    ]


def test_an_algolia_key_is_public_only_where_its_settings_are_around_it() -> None:
    text = REPEATED_LINES[4]
    assert [h.shape for h in detect._generic(text, Lines(text), is_code=True)] == [
        "public",
        "generated",
    ]
