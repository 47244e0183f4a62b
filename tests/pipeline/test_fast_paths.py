"""The fast paths of the pipeline collector and audits agree with the slow paths they screen.

Each screen (a cheap check that lets most inputs skip a list of patterns) must never skip an
input one of the patterns would match: every test here compares the screened result with the
full rules, on near-misses at the screen's boundary and on generated inputs.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.audit import _shellflow, pipeline_common
from gatekeeper.collect import build_files
from gatekeeper.collect.build_files import BuildFiles, build_file_kind
from gatekeeper.models.pipeline import Job, KeyValue, PipelineEvidence, Step, Workflow
from tests.pipeline.conftest import Scan, rules


def _full_kind(path: str) -> object:
    name = path.rsplit("/", 1)[-1]
    return build_files._build_file_kind(path, name, name.lower())


# Near-misses of the screen: each sits next to a rule, on one side or the other.
BUILD_PATHS = [
    ".github/workflows/ci.yml",
    ".github/workflows/ci.YAML",
    ".github/workflows/sub/ci.yml",
    ".github/workflow/ci.yml",
    ".github/actions/setup/run.py",
    ".github/scripts/notes.md",
    ".github/CODEOWNERS",
    "action.yml",
    "a/b/ACTION.YAML",
    "a/b/action.yml.bak",
    "action.json",
    "Jenkinsfile",
    "jenkinsfile.release",
    "ci/Jenkinsfile.md",
    "deploy.jenkinsfile",
    "jenkinsfile.py",
    "vars/deploy.groovy",
    "lib/vars/deploy.groovy",
    "src/vars/deploy.groovy",
    "vars/deploy-it.groovy",
    "vars/deploy.groovy\n",
    "vars/deploy.Groovy",
    ".gitlab-ci.yml",
    "sub/.GITLAB-CI.yaml",
    ".gitlab/ci/build.yml",
    "x.gitlab-ci.yml",
    "Dockerfile",
    "docker/Dockerfile.dev",
    "app.dockerfile",
    "Dockerfile.md",
    "dockerfile.py",
    "Containerfile",
    "docker-compose.yml",
    "compose.override.yaml",
    "docker-compose.md",
    "composer.json",
    "Makefile",
    "GNUmakefile",
    "rules.mk",
    "build.gradle.kts",
    "app.gradle",
    "build.sbt",
    "defs.bzl",
    "BUILD",
    "BUILD.bazel",
    "build",
    "workspace",
    "WORKSPACE.bzlmod",
    "build.rs",
    "src/build.rs",
    "setup.py",
    "noxfile.py",
    "tox.ini",
    "CMakeLists.txt",
    "README.md",
    "build.sh",
    "release-linux.ps1",
    "install_deps.bat",
    "ci.cmd",
    "builder.sh",
    "scripts/build-all.py",
    "Scripts/Release.rb",
    "scripts/test.py",
    "ci/run.py",
    "ci/notes.md",
    ".ci/x",
    "tools/ci/x.py",
    "tools/cix/x.py",
    ".circleci/config.yml",
    ".buildkite/pipeline.yml",
    ".mvn/wrapper/maven-wrapper.properties",
    "gradle/wrapper/gradle-wrapper.properties",
    "gradle/wrappers/x",
    "buildSrc/src/main/kotlin/x.kt",
    "a/buildSrc/x.kt",
    "a/buildsrc/x.kt",
    "project/plugins.sbt",
    "project/build.properties",
    "project/Dependencies.scala",
    "sub/project/x.scala",
    "src/main.rs",
    "lib/util.py",
    "docs/index.rst",
    "Taskfile.yml",
    ".pre-commit-config.yaml",
    # Non-ASCII: re.IGNORECASE folds the Kelvin sign to `k` and the long s to `s`.
    "Jen\u212ainsfile",
    "do\u212aerfile",
    "compo\u017fe.yml",
    "\u017fcripts/build.py",
    "act\u0130on.yml",
]


def test_screen_agrees_with_the_rules_on_near_misses() -> None:
    for path in BUILD_PATHS:
        assert build_file_kind(path) == _full_kind(path), path


def test_screen_passes_every_build_file_and_skips_ordinary_files() -> None:
    for path in BUILD_PATHS:
        name = path.rsplit("/", 1)[-1].lower()
        if _full_kind(path) is not None:
            assert build_files._may_be_build_file(path, name), path
    for path in ("src/main.rs", "lib/util.py", "README.md", "a/b/c.json", "docs/x.rst"):
        assert not build_files._may_be_build_file(path, path.rsplit("/", 1)[-1].lower())


_PIECES = st.sampled_from(
    [
        ".github",
        "workflows",
        "actions",
        "scripts",
        "Scripts",
        "ci",
        ".ci",
        "tools",
        "vars",
        "src",
        "resources",
        "project",
        "buildSrc",
        "gradle",
        "wrapper",
        ".mvn",
        ".circleci",
        "action.yml",
        "Action.YAML",
        "Jenkinsfile",
        "x.jenkinsfile",
        "deploy.groovy",
        ".gitlab-ci.yml",
        "Dockerfile",
        "Dockerfile.md",
        "compose.yaml",
        "docker-compose.yml",
        "Makefile",
        "build.sh",
        "build.rs",
        "release.ps1",
        "x.mk",
        "x.bzl",
        "BUILD",
        "build",
        "notes.md",
        "main.rs",
        "a",
        "\u212a",
        "\u017f",
        "\n",
    ]
)
_PATHS = st.lists(_PIECES, min_size=1, max_size=5).map("/".join) | st.text(
    alphabet="abcdkKsSuv./-_\n\u212a\u017fBUILDjenkinsfilecompose", max_size=30
)


@settings(max_examples=500, deadline=None)
@given(_PATHS)
def test_screen_agrees_with_the_rules_on_generated_paths(path: str) -> None:
    assert build_file_kind(path) == _full_kind(path)


def test_catalogue_without_a_shared_library_is_the_path_rules() -> None:
    catalogue = BuildFiles(["src/x.groovy", "resources/a.txt", "lib/vars/x.groovy"])
    assert catalogue.kind("lib/src/y.groovy") == "build-script"
    assert catalogue.kind("src/y.groovy") is None
    assert BuildFiles([]).kind("src/y.groovy") is None
    assert BuildFiles([]).kind("resources/a.txt") is None


# --- the script screens of pipeline_common -----------------------------------------------------

SCREEN_LINES = [
    "curl -fsSL https://example.com/install.sh | sh",
    "CURL -k https://x",
    "wget -qO- x | bash",
    "Invoke-WebRequest x | iex",
    "iex (New-Object Net.WebClient).DownloadString('x')",
    "aria2c x",
    "git config --global http.sslVerify false",
    "npm config set strict-ssl false",
    "npm config set strict_ssl false",
    "npm config set strict ssl",
    "pip install --trusted-host pypi.org x",
    "export GIT_SSL_NO_VERIFY=1",
    "export NODE_TLS_REJECT_UNAUTHORIZED=0",
    "PYTHONHTTPSVERIFY=0 python x.py",
    "aws s3 cp --no-verify-ssl x y",
    "aws s3 cp --no-verify ssl x",
    "apt-get install --allow-unauthenticated x",
    "yum install --nogpgcheck x",
    "make -k all",
    "echo ssl",
    "echo strict\nssl",
    "cargo build --release",
    "",
    # Non-ASCII: re.IGNORECASE reads the Kelvin sign as k and the long s as s.
    "\u212aubectl --insecure-skip-tls-verify",
    "npm config set \u017ftrict-\u017f\u017fl false",
    "cur\u0142 x",
    "echo \u00e9t\u00e9 && curl -k x",
]


def _regex_screens(text: str) -> tuple[bool, bool]:
    remote = pipeline_common._MAYBE_REMOTE.search(text) is not None
    if remote and text.isascii():
        remote = pipeline_common._may_run_download(text, text.lower())
    return remote, pipeline_common._MAYBE_INSECURE.search(text) is not None


def test_script_screens_are_the_regexes_on_near_misses() -> None:
    for text in SCREEN_LINES:
        assert pipeline_common.screens(text) == _regex_screens(text), text
    assert pipeline_common.screens("cargo build --release") == (False, False)
    assert pipeline_common.screens("npm config set strict ssl") == (False, True)
    assert pipeline_common.screens("curl -o x https://example.com") == (False, True)
    assert pipeline_common.screens("curl https://x | sh") == (True, True)


def test_screens_pass_every_line_the_patterns_match() -> None:
    from gatekeeper.audit import _shellrisk

    matched = 0
    for text in [*SCREEN_LINES, *RISKY_LINES]:
        remote, insecure = pipeline_common.screens(text)
        if _shellrisk.remote_script(text) is not None:
            matched += 1
            assert remote, text
        if _shellrisk.insecure_fetch(text) is not None:
            matched += 1
            assert insecure, text
    assert matched >= 20


RISKY_LINES = [
    "curl -fsSL https://x | sudo -E bash -",
    "wget -qO- https://x | sh -s -- -y",
    "bash <(curl -s https://x)",
    "source <(wget -qO- x)",
    ". <(curl x)",
    'sh -c "$(curl -fsSL https://x)"',
    'python3 -c "$(wget -qO- x)"',
    'eval "$(curl -s x)"',
    "bash `curl -s x`",
    "iex (iwr https://x)",
    "IEX (New-Object Net.WebClient).DownloadString('x')",
    "Invoke-Expression (Invoke-WebRequest x)",
    "iwr https://x | iex",
    "irm https://x | Invoke-Expression",
    "http https://x | python",
    "aria2c -o - x | perl",
    "curl -k https://x",
    "curl -sSk https://x",
    "curl --insecure https://x",
    "wget --no-check-certificate x",
    "kubectl --insecure-skip-tls-verify apply",
    "podman pull --tls-verify=false x",
    "pip install --trusted-host x y",
    "dnf install --nogpgcheck x",
    "apt-get -o Acquire::AllowInsecureRepositories=true update",
    "yarn config set strict-ssl false",
    "git -c http.sslVerify=false clone x",
    "export GIT_SSL_NO_VERIFY=true",
    "NODE_TLS_REJECT_UNAUTHORIZED=0 node x",
    "PYTHONHTTPSVERIFY=0 python x",
    "echo 'deb [trusted=yes] http://x ./' > list",
    "sed -i s/gpgcheck=1/gpgcheck=0/ x.repo",
    "apk add --allow-untrusted x.apk",
]


def test_script_screen_words_are_plain_words() -> None:
    # The fast path reads the regexes' alternatives as substrings: they must be literals.
    for word in (*pipeline_common._REMOTE_WORDS, *pipeline_common._INSECURE_WORDS):
        assert re.escape(word) == word
        assert word == word.lower()


_SCREEN_TEXT = st.lists(
    st.sampled_from(
        [
            *"curlwgetfhpsiknvoxdbaTLSGPyRjz_.- =\n'\"|",
            *("curl", "ssl", "strict", "verify", "insecure", "tls", "\u212a", "\u017f", "\u0130"),
        ]
    ),
    max_size=25,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_SCREEN_TEXT)
def test_script_screens_are_the_regexes_on_generated_text(text: str) -> None:
    assert pipeline_common.screens(text) == _regex_screens(text)


_RISKY_TEXT = st.lists(
    st.sampled_from(
        [
            *" |;&()$<`'\"-",
            *("curl", "wget", "http", "iex", "IEX", "iwr", "Invoke-Expression", "bash", "sh"),
            *("sudo", "source", ".", "-c", "eval", "python3", "-k", "-sk", "--insecure", "x"),
            *("DownloadString", "New-Object Net.WebClient", "\u212a", "\u0130ex", "https://x"),
        ]
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=1000, deadline=None)
@given(_RISKY_TEXT)
def test_screens_pass_every_generated_line_the_patterns_match(text: str) -> None:
    from gatekeeper.audit import _shellrisk

    remote, insecure = pipeline_common.screens(text)
    if _shellrisk.remote_script(text) is not None:
        assert remote
    if _shellrisk.insecure_fetch(text) is not None:
        assert insecure


def test_logical_lines_are_shared_but_each_caller_gets_its_own_list() -> None:
    first = pipeline_common.logical_lines("a \\\n  b\n# c\nd\n", 3)
    assert [(line.text, line.line) for line in first] == [("a b", 3), ("d", 6)]
    first.clear()
    again = pipeline_common.logical_lines("a \\\n  b\n# c\nd\n", 3)
    assert [(line.text, line.line) for line in again] == [("a b", 3), ("d", 6)]
    folded = pipeline_common.logical_lines("a\nb", 7, exact=False)
    assert [(line.text, line.line) for line in folded] == [("a", 7), ("b", 7)]


def test_per_evidence_computes_once_per_evidence_object() -> None:
    calls: list[int] = []

    @pipeline_common.per_evidence
    def count(evidence: PipelineEvidence) -> int:
        calls.append(1)
        return len(evidence.files)

    one, two = PipelineEvidence(), PipelineEvidence()
    assert count(one) == 0 and count(one) == 0
    assert len(calls) == 1
    count(two)
    assert len(calls) == 2
    count(one)  # still among the last two
    assert len(calls) == 2


# --- shell splitting (_shellflow): the literal checks before each pattern ----------------------


def _reference_redirects(command: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    found: list[tuple[str, str]] = []

    def take(match: re.Match[str]) -> str:
        found.append((match.group(1), match.group(2)))
        return " "

    stripped = re.sub(r"(?<![<&\d])(>>|>\||>)\s*(\"[^\"]*\"|'[^']*'|[^\s;&|]+)", take, command)
    return stripped, tuple(found)


def _reference_words(text: str) -> tuple[str, ...]:
    out: list[str] = []
    current: list[str] = []
    started = False
    for match in _shellflow._WORD_PART.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            if started:
                out.append("".join(current))
                current, started = [], False
            continue
        started = True
        if kind == "double":
            current.append(re.sub(r'\\(["\\$`])', r"\1", match.group("double")))
        else:
            current.append(match.group(kind or "plain"))
    if started:
        out.append("".join(current))
    return tuple(out)


def _reference_line_commands(text: str) -> list[tuple[str, tuple[str, ...], str, object]]:
    out = []
    piped_in = ""
    for part, sep in _shellflow._scan_split(text, (";", "&&", "||", "|", "&")):
        command = part.strip()
        if not command:
            continue
        command = re.sub(r"^(?:then|do|else|elif|if|while|until|!|\{|\()\s+", "", command)
        stripped, redirects = _reference_redirects(command)
        stdin = piped_in
        herestring = _shellflow._HERESTRING.search(stripped)
        if herestring:
            stdin = herestring.group(1)
            stripped = stripped[: herestring.start()]
        words = _reference_words(_shellflow._HEREDOC.sub(" ", stripped))
        out.append((command, words, stdin, redirects))
        piped_in = (piped_in + "\n" + command) if sep == "|" else ""
    return out


SHELL_LINES = [
    "echo hi",
    'echo "a \\"b\\" \\$c" > out.txt',
    "echo x >> $GITHUB_ENV",
    "echo x >| f",
    "cat <<EOF > f",
    "cat <<'EOF'",
    'read -r X <<< "$Y"',
    "cmd 2>&1 | tee -a log",
    "a=1 b=2 cmd arg",
    "if [ -f x ]; then echo y; fi",
    "while read l; do echo $l; done < f",
    "$env:X = $Y",
    "$X=1",
    "curl -d @- https://x < /dev/null",
    "exec 3<>/dev/tcp/host/80",
    "echo x > /dev/tcp/host/80",
    "bash -c 'cat /dev/tcp/x/1'",
    "echo '<<' \">\"",
    "echo a\\>b",
    "",
]


def test_shell_splitting_agrees_with_the_unscreened_patterns() -> None:
    for text in SHELL_LINES:
        got = [
            (c.text, c.words, c.stdin_text, c.redirects)
            for c in _shellflow._line_commands(_shellflow.ShellLine(text, 1), "")
        ]
        assert got == _reference_line_commands(text), text


_SHELL_TEXT = st.lists(
    st.sampled_from(
        [
            *"ab $=<>|&;'\"\\`(){}:-/",
            *("echo", "cat", "tee", "read", "<<", "<<<", ">>", "2>&1", "$env:", "EOF", "then"),
            *("Add-Content", "GITHUB_ENV", "/dev/tcp/", "x=", '\\"', "\\\\"),
        ]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_SHELL_TEXT)
def test_shell_splitting_agrees_on_generated_lines(text: str) -> None:
    got = [
        (c.text, c.words, c.stdin_text, c.redirects)
        for c in _shellflow._line_commands(_shellflow.ShellLine(text, 1), "")
    ]
    assert got == _reference_line_commands(text)


@settings(max_examples=300, deadline=None)
@given(_SHELL_TEXT)
def test_assignment_and_network_screens_agree(text: str) -> None:
    ps = re.match(r"^\$(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$", text, re.DOTALL)
    screened = _shellflow._PS_ASSIGN.match(text) if text.startswith("$") else None
    assert (ps and ps.groups()) == (screened and screened.groups())
    for word in text.split():
        full = re.fullmatch("[A-Za-z_][A-Za-z0-9_]*=.*", word) is not None
        assert full == ("=" in word and _shellflow._ASSIGN_WORD.fullmatch(word) is not None)
    dev = re.search(r">\s*/dev/(?:tcp|udp)/", text) is not None
    assert dev == ("/dev/" in text and _shellflow._DEV_TCP.search(text) is not None)
    writer = _shellflow._PS_WRITERS.search(text) is not None
    assert writer == ("$" in text and ":" in text and writer)


def test_powershell_writer_screen_on_near_misses() -> None:
    command = _shellflow.commands([_shellflow.ShellLine('Add-Content $env:GITHUB_ENV "X=1"', 1)])
    assert _shellflow.Flow._env_target(command[0]) == "ENV"
    command = _shellflow.commands([_shellflow.ShellLine("Add-Content env GITHUB_ENV x", 1)])
    assert _shellflow.Flow._env_target(command[0]) is None


# --- secret exfiltration: secrets of the workflow and job env read once per job ---------------


def test_exfiltration_secrets_per_step_are_the_three_levels_read_together() -> None:
    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=value, line=1)

    wf_env = [kv("A", "${{ secrets.A }}"), kv("X", "${{ secrets.X }}"), kv("P", "plain")]
    job_env = [kv("X", "${{ secrets.JOB_X }}"), kv("B", "${{ github.token }}")]
    steps = [
        Step(index=0, line=5, run="echo $A", env=[kv("X", "plain"), kv("C", "${{ secrets.C }}")]),
        Step(index=1, line=6, uses="actions/checkout@v4"),
        Step(index=2, line=7, run="echo $B", env=[kv("B", "${{ toJSON(secrets) }}")]),
    ]
    job = Job(id="j", line=3, steps=steps, env=job_env)
    wf = Workflow(path=".github/workflows/x.yml", jobs=[job], env=wf_env)
    got = [secrets for _where, secrets, _lines, _scope in pipeline_common._github_exfil_scripts(wf)]
    want = [
        pipeline_common._github_secrets([*wf_env, *job_env, *step.env])
        for step in steps
        if step.run is not None
    ]
    assert got == want
    assert [list(g) for g in got] == [list(w) for w in want]  # the same order
    assert got[0]["X"].name.startswith("`secrets.JOB_X`")
    assert got[1]["B"].dump


# --- YAML 1.2 through libyaml: the tag of a plain scalar without the resolver table ----------

_SCALARS = """\
a: plain
b: ""
c: ''
d:
e: ~
f: null
g: Null
h: NULL
i: nil
j: true
k: "true"
l: TRUE
m: yes
n: on
o: 'off'
p: -1
q: +1.5
r: .5
s: .inf
t: -.Inf
u: .nan
v: 0x1F
w: 0o17
x: 1e3
y: 2024-02-30
z: |
  true
aa: >-
  12
bb: [1, t, f, n, "0", ~x, tx, Fx, nope, -x, +, ., 9a]
cc: [true, true, "true", 3.12, 3.12, '3.12', ~, ~, npm ci, npm ci, null, "", ""]
"""


def test_fast_resolve_gives_the_resolver_table_tag_for_every_scalar() -> None:
    import yaml

    from gatekeeper.collect import _yaml_lines

    if _yaml_lines._CLoader is None:  # PyYAML without libyaml: no fast path to compare
        return
    compared: list[str] = []

    class Checked(_yaml_lines._CLoader):  # type: ignore[misc,name-defined]
        def resolve(self, kind: object, value: object, implicit: object) -> object:
            fast = _yaml_lines._CLoader.resolve(self, kind, value, implicit)
            slow = yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)
            assert fast == slow, value
            compared.append(str(value))
            return fast

    loader = Checked(_SCALARS)
    while loader.check_node():
        loader.get_node()
    loader.dispose()
    assert len(compared) >= 75
    values = _yaml_lines.load_with_lines(_SCALARS, "1.2")
    assert values["j"] is True and values["k"] == "true" and values["m"] == "yes"
    assert values["d"] is None and values["e"] is None and values["v"] == 31
    cc = [True, True, "true", 3.12, 3.12, "3.12", None, None, "npm ci", "npm ci", None, "", ""]
    assert values["cc"] == cc


# --- caches keyed on everything the result depends on ------------------------------------------


def test_flow_script_split_is_cached_per_text_line_and_block_style() -> None:
    from gatekeeper.audit import _gha_flow

    text = "a \\\n b\n# c\nd"
    block = Step(index=0, line=4, run=text, run_line=5, run_is_block=True)
    folded = Step(index=0, line=4, run=text, run_line=5, run_is_block=False)
    moved = Step(index=0, line=9, run=text, run_line=10, run_is_block=True)
    assert [(x.text, x.line) for x in _gha_flow._script_lines(text, block)] == [
        ("a b", 5),
        ("d", 8),
    ]
    assert [(x.text, x.line) for x in _gha_flow._script_lines(text, folded)] == [
        ("a b", 5),
        ("d", 5),
    ]
    assert [x.line for x in _gha_flow._script_lines(text, moved)] == [10, 13]
    assert _gha_flow._script_lines(text, block) == _gha_flow._script_lines(text, block)


def test_line_split_is_cached_per_text_and_heredoc_body_not_per_line() -> None:
    def split(text: str, line: int, body: str) -> list[tuple[int, str]]:
        found = _shellflow._line_commands(_shellflow.ShellLine(text, line), body)
        return [(c.line, c.stdin_text) for c in found]

    assert split("cat <<EOF > f", 3, "one") == [(3, "one")]
    assert split("cat <<EOF > f", 9, "two") == [(9, "two")]
    assert split("cat <<EOF > f", 9, "") == [(9, "")]
    assert split("a | b", 4, "x") == [(4, ""), (4, "\na")]


def test_expression_parse_is_shared_and_a_bad_expression_still_raises() -> None:
    import pytest

    from gatekeeper.audit import _gha_expr

    first = _gha_expr.parse_expression("github.event.issue.title == 'x' && matrix.os")
    again = _gha_expr.parse_expression("github.event.issue.title == 'x' && matrix.os")
    assert first == again
    assert isinstance(first, _gha_expr.BinOp) and first.op == "&&"
    for _ in range(2):
        with pytest.raises(_gha_expr.ExpressionError):
            _gha_expr.parse_expression("github.event.(")


def _reference_var_refs(text: str) -> set[str]:
    names: set[str] = set(_shellflow._PLACEHOLDER.findall(text)) if "__gk_" in text else set()
    out: list[str] = []
    quote = ""
    for char in text:
        if quote == "'":
            if char == "'":
                quote = ""
            continue
        if quote == '"':
            if char == '"':
                quote = ""
            out.append(char)
            continue
        if char == "'":
            quote = "'"
            continue
        if char == '"':
            quote = '"'
        out.append(char)
    for match in _shellflow._VAR_REF.finditer("".join(out)):
        names.add(next(g for g in match.groups() if g))
    return names


_REF_TEXT = st.lists(
    st.sampled_from(
        [*"ab_ $%'\"{}#:-", *("$X", "${Y}", "${#Z}", "$env:W", "%V%", "${__gk_e0}", "__gk_s1")]
    ),
    max_size=16,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_REF_TEXT)
def test_variable_references_agree_with_the_character_walk(text: str) -> None:
    assert _shellflow.var_refs(text) == _reference_var_refs(text)


def test_variable_references_on_near_misses() -> None:
    for text in ("echo $X", "echo '$X'", "echo \"'$X'\"", "echo X", "echo %X%", "'${__gk_e0}'"):
        assert _shellflow.var_refs(text) == _reference_var_refs(text), text
    assert _shellflow.var_refs("echo plain") == set()


def test_the_groovy_reader_is_imported_only_for_a_tree_with_a_jenkinsfile(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "gh/.github/workflows").mkdir(parents=True)
    (tmp_path / "gh/.github/workflows/ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n"
    )
    (tmp_path / "jf").mkdir()
    (tmp_path / "jf/Jenkinsfile").write_text("pipeline { agent any }\n")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gatekeeper.collect.base import CollectContext\n"
        "from gatekeeper.collect.pipeline import PipelineCollector\n"
        "ev = PipelineCollector().collect(CollectContext(repo=Path(sys.argv[1])))\n"
        "print(len(ev.workflows), len(ev.jenkinsfiles), 'gatekeeper.collect.jenkinsfile' in sys.modules)\n"
    )
    for tree, expected in (("gh", "1 0 False"), ("jf", "0 1 True")):
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / tree)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.split() == expected.split()


_SCRIPT_TEXT = st.lists(
    st.sampled_from(
        [
            *(" ", "\n", "\\\n", "`\n", "=", "'", '"', "true", "1", "$true", "export ", "# "),
            *("ACTIONS_ALLOW_UNSECURE_COMMANDS", "actions_allow_unsecure_commands", "ACTIONS_"),
            *("ALLOW_UNSECURE_COMMANDS", "\u017f", "echo"),
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_SCRIPT_TEXT)
def test_unsecure_commands_screen_passes_every_script_a_line_of_which_matches(
    script: str,
) -> None:
    from gatekeeper.audit import pipeline_github

    lines = pipeline_common.logical_lines(script, 1)
    if any(pipeline_github._UNSECURE_COMMANDS_RUN.search(line.text) for line in lines):
        assert pipeline_github._UNSECURE_COMMANDS_NAME.search(script)


def test_unsecure_commands_found_across_a_continuation(scan: Scan) -> None:
    run = "export ACTIONS_ALLOW_UNSECURE_COMMANDS \\\n  =true\necho done\n"
    workflow = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n" + "".join(
        f"          {line}\n" for line in run.splitlines()
    )
    findings = scan({".github/workflows/a.yml": workflow})
    assert [f.line for f in rules(findings, "pipeline/insecure-commands")] == [7]
    findings = scan({".github/workflows/a.yml": workflow.replace("=true", "=no")})
    assert rules(findings, "pipeline/insecure-commands") == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"${}:/-0123 x", "${{", "}}", "${X:1:2}", "${X//a}", "${{ a }}"]),
        max_size=10,
    ).map("".join)
)
def test_slice_and_expression_screens_agree(text: str) -> None:
    from gatekeeper.audit import pipeline_github

    name = "[A-Za-z_][A-Za-z0-9_]*"
    sliced = re.search(r"\$\{(" + name + r"):-?\d+(?::-?\d+)?\}|\$\{(" + name + r")//?", text)
    screened = _shellflow._SLICED.search(text) if "${" in text else None
    assert (sliced and sliced.groups()) == (screened and screened.groups())
    expected = re.sub(r"\$\{\{.*?\}\}", "*", text.strip()) or "default"
    assert pipeline_github._artifact_name(text, "default") == expected


def test_shellrisk_patterns_compile_on_first_search_and_search_alike() -> None:
    from gatekeeper.audit import _shellrisk

    lazy = _shellrisk._Lazy(r"\bcurl\b.*\|\s*SH", re.IGNORECASE)
    assert lazy._compiled is None
    eager = re.compile(r"\bcurl\b.*\|\s*SH", re.IGNORECASE)
    for text in ("curl x | sh", "xcurl | sh", "CURL a |  Sh", "curl"):
        got, want = lazy.search(text), eager.search(text)
        assert (got and got.span()) == (want and want.span())
    assert lazy._compiled is not None
    assert _shellrisk._Lazy(r"\|\||;").split("a || b; c") == ["a ", " b", " c"]


def test_catalogue_lookup_by_action_is_the_linear_scan() -> None:
    from gatekeeper.audit import _gha_catalogue as catalogue

    def scan(section: str, step: Step) -> list[object]:
        name = catalogue.uses_name(step.uses)
        major = catalogue.action_major(step.uses, step.uses_comment)
        return [
            e
            for e in catalogue._actions()[section]
            if name
            and e["action"] == name
            and catalogue._in_majors(e.get("majors", [None, None]), major)
        ]

    checked = 0
    for section in ("code_inputs", "caches", "outputs"):
        names = {e["action"] for e in catalogue._actions()[section]} | {"nobody/nothing", ""}
        for name in sorted(names):
            for ref in ("", "@v1", "@v2", "@v3", "@v4", "@v5", "@v7", "@main"):
                step = Step(index=0, line=1, uses=f"{name.upper()}{ref}" if name else None)
                assert catalogue._entries(section, step) == scan(section, step)
                checked += 1
    assert checked > 100


@settings(max_examples=300, deadline=None)
@given(_PATHS)
def test_library_roots_screen_agrees_with_the_pattern(path: str) -> None:
    expected = set()
    match = build_files._LIBRARY_VAR.match(path)
    if match and "/src/" not in f"/{path}":
        expected.add(match.group(1))
    assert build_files.library_roots([path]) == expected


def test_library_roots_on_near_misses() -> None:
    paths = ["vars/a.groovy", "lib/vars/b.groovy", "x/vars/c.groovy\n", "src/vars/d.groovy"]
    assert build_files.library_roots(paths) == {"", "lib/", "x/"}
    assert build_files.library_roots(["vars/a.Groovy", "vars/a.groov", "vars/a-b.groovy"]) == set()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*" \t#ab\\`\n", "REM ", "::", "rem "]), max_size=14).map("".join))
def test_logical_lines_agree_with_joining_every_line(script: str) -> None:
    comments = ("#", "REM ", "rem ", "::")
    want = []
    pending: list[str] = []
    start = 1
    for offset, raw in enumerate(script.split("\n")):
        if not pending:
            start = 1 + offset
        stripped = raw.rstrip()
        if stripped.endswith(("\\", "`")):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        text = " ".join(part.strip() for part in pending).strip()
        if text and not text.startswith(comments):
            want.append((text, start))
        pending = []
    if pending:
        text = " ".join(part.strip() for part in pending).strip()
        if text and not text.startswith("#"):
            want.append((text, start))
    got = [(x.text, x.line) for x in pipeline_common.logical_lines(script, 1)]
    assert got == want


_PUBLISH_TEXT = st.lists(
    st.sampled_from(
        [
            *(" ", "\n", "\\\n", "x", "--dry-run", "--snapshot", "-n"),
            *("npm", "yarn", "publish", "twine", "upload", "docker", "image", "push", "gh"),
            *("release", "create", "cargo", "uv", "mvn", "deploy", "gradlew", "gem", "nuget"),
            *("goreleaser", "dotnet", "vsce", "Publish", "PUSH"),
        ]
    ),
    max_size=10,
).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(_PUBLISH_TEXT)
def test_publish_screen_passes_every_script_a_line_of_which_publishes(script: str) -> None:
    from gatekeeper.audit import pipeline_github

    step = Step(index=0, line=1, run=script)
    lines = pipeline_common.logical_lines(script, 1)
    publishes = any(
        pipeline_github._PUBLISH_RUN.search(x.text) and not pipeline_github._DRY_RUN.search(x.text)
        for x in lines
    )
    assert (pipeline_github._step_publishes(step) is not None) == publishes


_WORD_TEXT = st.lists(
    st.sampled_from([*"ab-=/.:\t \n\x0b\x1c\u2003\u00a0'\"\\$()`", "$(x y)", "a b"]), max_size=14
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_WORD_TEXT)
def test_words_agree_with_the_tokenizer(text: str) -> None:
    assert _shellflow.words(text) == _reference_words(text)
