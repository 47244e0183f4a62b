"""The Groovy reader follows the grammar Jenkins runs (Groovy 2.4) for slashy strings.

Groovy's lexer reads ``/`` as a division right after a token that can end an expression (an
identifier or keyword, a number, a string, ``)``, ``]``, ``}``, ``++``, ``--``) and as the start
of a slashy string anywhere else. Each snippet below is valid Groovy 2.4 (checked with
``groovy`` when it is installed: see ``test_snippets_are_valid_groovy``) and must never be a
parse error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from gatekeeper.collect.jenkinsfile import JenkinsParseError, parse_jenkinsfile, tokenize
from tests.pipeline.conftest import Scan, rules

VALID = {
    "regex_after_tilde_ending_in_star": "def w = env.NODE_NAME ==~ ~/windows-.*/\n",
    "regex_after_tilde_ending_in_plus": "def p = ~/a.+/\nprintln p\n",
    "find_operator": "def m = ('v1.22' =~ /v(\\d+)\\.(\\d+)*/)\n",
    "match_operator": "if ('abc' ==~ /a.+c/) { println 'yes' }\n",
    "escaped_slash": "def parts = 'a/b'.split(/\\//)\ndef q = /a\\/b*/\n",
    "slashy_ending_in_dollar": "def v = 'v1' ==~ /^v\\d+$/\n",
    "slashy_interpolation": "def n = 'x'\ndef r = /${n}-.*/\n",
    "multiline_slashy": "def r = /first\nsecond.*/\n",
    "dollar_slashy": "def d = $/a/b*/c $$ $/ done/$\n",
    "division_chain": "def a = 8\ndef b = 2\ndef c = a / b / 2\n",
    "division_after_paren": "def a = 8\ndef c = (a + 1) / 3 / 2\n",
    "division_after_index": "def xs = [4]\ndef c = xs[0] / 2 / 1\n",
    "division_after_increment": "def n = 4\ndef c = n++ / 2 / 1\n",
    "division_after_number": "def c = 10 / 2 / 5\n",
    "division_after_string": "def c = '10' / 2\n",
    "division_after_closure_call": "def c = { 4 }() / 2 / 1\n",
    "division_assign": "def c = 8\nc /= 2\n",
    "regex_in_list_and_args": (
        "def rs = [/a*/, /b+/]\nprintln(/c*/)\nprintln(1, /d+/)\ndef m = [k: /e*/]\n"
    ),
    "regex_in_ternary": "def f = true\ndef q = f ? /a*/ : /b+/\n",
    "regex_after_plus_and_not": "def s = 'a' + /b*/\ndef t = !/c*/\n",
    "regex_after_line_break": "def a = 1\ndef b = a\n  /c*/\n",
    "comments_with_quotes_and_slashes": (
        "// don't stop at / or '\n/* it's a \"comment\" / */\ndef x = 1 // trailing '\n"
    ),
    "gstring_with_closure_and_slash": (
        "def xs = [1, 2]\ndef s = \"${xs.collect { it * 2 }.join('/')} / ${xs.size() / 2}\"\n"
    ),
    "triple_quoted_with_slashes": "def s = '''a /* not a comment */ b'''\ndef t = \"\"\"//\"\"\"\n",
    "replace_all_slash": "def s = 'a/b'.replaceAll(/\\//, '-')\n",
    "closure_then_division": "def f = { it }\ndef g = f(4) / 2\n",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_groovy_is_never_a_parse_error(name: str) -> None:
    tokenize(VALID[name])  # raises JenkinsParseError on a misread
    parse_jenkinsfile("Jenkinsfile", VALID[name])


def _strings(src: str) -> list[str]:
    return [t.value for t in tokenize(src) if t.kind == "string"]


def test_slashy_strings_are_read_as_strings() -> None:
    assert _strings(VALID["regex_after_tilde_ending_in_star"]) == ["windows-.*"]
    assert _strings("def p = ~/a.+/\n") == ["a.+"]
    assert _strings("def q = f ? /a*/ : /b+/\n") == ["a*", "b+"]
    assert _strings("def r = /first\nsecond.*/\n") == ["first\nsecond.*"]


def test_division_is_not_a_string() -> None:
    assert _strings("def c = (a + 1) / 3 / 2\n") == []
    assert _strings("def c = xs[0] / 2 / 1\n") == []
    assert _strings("def c = n++ / 2 / 1\n") == []


def test_lines_stay_right_after_a_multiline_slashy() -> None:
    src = "def r = /first\nsecond.*/\nsh 'make'\n"
    jf = parse_jenkinsfile("Jenkinsfile", src)
    assert [(s.line, s.text) for s in jf.shell_steps] == [(3, "make")]


@pytest.mark.parametrize(
    "src",
    [
        "def s = 'unterminated\n",
        'def s = "unterminated ${x}\n',
        "/* never closed\n",
        "node { sh 'x'\n",
        "def r = ~/never closed\n",
    ],
)
def test_what_groovy_rejects_is_a_parse_error(src: str) -> None:
    with pytest.raises(JenkinsParseError):
        tokenize(src)


SHARED_LIBRARY_STEP = """
    def call(Map config = [:]) {
        def label = config.label ?: 'linux'
        def isWindows = label ==~ ~/windows-.*/ || label =~ /win.+/
        def ratio = config.total / config.parts / 2
        node(label) {
            if (env.BRANCH_NAME ==~ /release-.*/) {
                sh "deploy ${params.TARGET}"
            }
            sh 'echo "$TARGET"'
        }
    }
"""


def test_rules_still_see_steps_after_regexes(scan: Scan) -> None:
    """The reported shape: a library step with `~/…*/` is audited, not a parse error."""
    findings = scan({"vars/deploy.groovy": SHARED_LIBRARY_STEP, "Jenkinsfile": "deploy()\n"})
    assert rules(findings, "pipeline/parse-error") == []
    hits = rules(findings, "pipeline/jenkins-param-injection")
    assert [(f.path, f.line) for f in hits] == [("vars/deploy.groovy", 7)]


def _groovy() -> str | None:
    """The ``groovy`` command with a usable Java, or None."""
    exe = shutil.which("groovy")
    if exe is None:
        return None
    if not os.environ.get("JAVA_HOME"):
        jvm = Path("/usr/lib/jvm")
        homes = sorted(jvm.glob("java-*-openjdk-*")) if jvm.is_dir() else []
        if not homes:
            return None
        os.environ["JAVA_HOME"] = str(homes[-1])
    return exe


ORACLE = textwrap.dedent(
    """
    import org.codehaus.groovy.control.*
    for (p in args) {
        def unit = new CompilationUnit(new CompilerConfiguration())
        unit.addSource(new File(p))
        try { unit.compile(Phases.CONVERSION); println "OK " + new File(p).name }
        catch (Throwable e) { println "ERR " + new File(p).name }
    }
    """
)


def test_snippets_are_valid_groovy(tmp_path: Path) -> None:
    """The grammar's own parser (parse only, never run) accepts every VALID snippet."""
    exe = _groovy()
    if exe is None:
        pytest.skip("groovy is not installed")
    (tmp_path / "Oracle.groovy").write_text(ORACLE)
    files = []
    for name, src in VALID.items():
        (tmp_path / f"{name}.groovy").write_text(src)
        files.append(str(tmp_path / f"{name}.groovy"))
    out = subprocess.run(
        [exe, str(tmp_path / "Oracle.groovy"), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    verdicts = dict(line.split(" ", 1)[::-1] for line in out.splitlines() if " " in line)
    assert verdicts == {f"{name}.groovy": "OK" for name in VALID}
