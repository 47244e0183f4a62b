"""Properties of the parsers of repository content under random and mutated real-format input.

For each parser: any input ends in a model or the parser's documented clean error (never an
unexpected exception), and the same input gives the same output. Seeds are small, real
files of each format; mutations flip, delete, duplicate and insert format-significant tokens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.collect._yaml_lines import YamlLinesError
from gatekeeper.collect.github_actions import WorkflowParseError, parse_action, parse_workflow
from gatekeeper.collect.gitlab_ci import GitlabParseError, parse_gitlab_ci
from gatekeeper.collect.jenkinsfile import JenkinsParseError, parse_jenkinsfile
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.deps import scan
from gatekeeper.secrets.detect import scan_text
from tests.adversarial.mutation import inputs, mutated, same_result

# -- seeds: one small real file per format ---------------------------------------------------

WORKFLOW = """name: ci
on:
  pull_request_target:
    branches: [main]
permissions: write-all
jobs:
  build:
    runs-on: [self-hosted, linux]
    container: {image: 'node:20', credentials: {username: u, password: hunter2}}
    env: {ACTIONS_ALLOW_UNSECURE_COMMANDS: 'true'}
    steps:
      - uses: actions/checkout@v4
        with: {ref: '${{ github.event.pull_request.head.sha }}'}
      - uses: some/action@main
      - run: |
          echo "${{ github.event.pull_request.title }}"
          curl -k https://x.example/install.sh | sh
          echo "X=${{ github.head_ref }}" >> $GITHUB_ENV
      - uses: actions/cache@v4
        with: {path: ~/.npm, key: k}
  call:
    uses: org/repo/.github/workflows/r.yml@v1
    secrets: inherit
"""

ACTION = """name: a
runs:
  using: composite
  steps:
    - run: echo "${{ inputs.x }}"
      shell: bash
    - uses: docker://alpine:3
"""

JENKINSFILE = """@Library('shared@master') _
pipeline {
  agent { docker { image 'maven:3' } }
  parameters { string(name: 'BRANCH', defaultValue: 'main') }
  environment { TOKEN = credentials('tok') }
  stages {
    stage('Build') {
      steps {
        sh "mvn -B -Dtoken=${TOKEN} deploy"
        sh 'echo ${params.BRANCH}'
        sh \"\"\"curl -sSL https://x.example/i.sh | bash\"\"\"
        script { def x = "${env.BRANCH_NAME}"; bat "echo ${x}" }
      }
    }
  }
  post { always { junit 'target/*.xml' } }
}
"""

GITLAB = """include:
  - remote: 'https://x.example/ci.yml'
  - project: 'group/templates'
    file: '/t.yml'
variables:
  PASSWORD: "hunter2hunter2"
.base: &base
  image: alpine
build:
  <<: *base
  stage: build
  script:
    - curl -k https://x.example | sh
    - echo $CI_COMMIT_MESSAGE
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
"""

DOCKERFILE = b"""# syntax=docker/dockerfile:1
ARG BASE=python:3.12
FROM ${BASE} AS build
ENV TOKEN=abc123secretvalue
RUN --mount=type=cache,target=/root/.cache \\
    pip install -r requirements.txt && \\
    curl -fsSL https://x.example/i.sh | sh
COPY --chown=app:app . /app
RUN <<EOF
echo heredoc
EOF
FROM scratch
COPY --from=build /app /app
USER root
HEALTHCHECK --interval=30s CMD ["/app/health"]
ENTRYPOINT ["/app/run"]
"""

LOCKFILES: dict[str, str] = {
    "requirements.txt": (
        "requests==2.31.0 --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaa\n"
        "flask>=2\n"
        "-e git+https://x.example/r.git#egg=r\n"
        "-r other.txt\n"
    ),
    "poetry.lock": (
        "[[package]]\n"
        'name = "requests"\n'
        'version = "2.31.0"\n'
        "[package.source]\n"
        'type = "legacy"\n'
        'url = "https://x.example/simple"\n'
        "[metadata]\n"
        'content-hash = "x"\n'
        "[metadata.files]\n"
        'requests = [{file = "r.whl", hash = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
        'bbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]\n'
    ),
    "Pipfile.lock": (
        '{"_meta": {"sources": [{"url": "https://pypi.org/simple"}]}, "default": {"reques'
        'ts": {"version": "==2.31.0", "hashes": ["sha256:cccccccccccccccccccccccccccccccc'
        'cccccccccccccccccccccccccccccccc"]}}, "develop": {}}'
    ),
    "uv.lock": (
        "version = 1\n"
        "[[package]]\n"
        'name = "idna"\n'
        'version = "3.7"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        'sdist = { url = "https://x.example/idna.tar.gz", hash = "sha256:dddddddddddddddd'
        'dddddddddddddddddddddddddddddddddddddddddddddddd" }\n'
    ),
    "pyproject.toml": (
        "[project]\n"
        'name = "app"\n'
        'dependencies = ["requests>=2", "idna==3.7"]\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.11"\n'
    ),
    "package.json": (
        '{"name": "app", "dependencies": {"lodash": "^4.17.0"}, "devDependencies": {"jest'
        '": "29.0.0"}}'
    ),
    "package-lock.json": (
        '{"name": "app", "lockfileVersion": 3, "packages": {"": {"dependencies": {"lodash'
        '": "^4.17.0"}}, "node_modules/lodash": {"version": "4.17.21", "resolved": "https'
        '://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", "integrity": "sha512-eeeeeee'
        'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee=="}}}'
    ),
    "yarn.lock": (
        "# yarn lockfile v1\n"
        "\n"
        "lodash@^4.17.0:\n"
        '  version "4.17.21"\n'
        '  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#abc"\n'
        "  integrity sha512-fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "fffffffffffffffffffffffff==\n"
    ),
    "pnpm-lock.yaml": (
        "lockfileVersion: '6.0'\n"
        "dependencies:\n"
        "  lodash:\n"
        "    specifier: ^4.17.0\n"
        "    version: 4.17.21\n"
        "packages:\n"
        "  /lodash@4.17.21:\n"
        "    resolution: {integrity: sha512-ggggggggggggggggggggggggggggggggggggggggggggg"
        "ggggggggggggggggggggggggggggggggggggggggg==}\n"
    ),
    "go.mod": (
        "module example.com/app\n"
        "\n"
        "go 1.22\n"
        "\n"
        "require (\n"
        "\tgolang.org/x/net v0.23.0\n"
        "\tgithub.com/x/y v1.2.3 // indirect\n"
        ")\n"
        "replace github.com/x/y => ../y\n"
    ),
    "Cargo.lock": (
        "version = 3\n"
        "[[package]]\n"
        'name = "serde"\n'
        'version = "1.0.200"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        'checksum = "1111111111111111111111111111111111111111111111111111111111111111"\n'
    ),
    "Gemfile.lock": (
        "GEM\n"
        "  remote: https://rubygems.org/\n"
        "  specs:\n"
        "    rack (3.0.8)\n"
        "    rails (7.1.0)\n"
        "      rack (>= 2)\n"
        "\n"
        "PLATFORMS\n"
        "  ruby\n"
        "\n"
        "DEPENDENCIES\n"
        "  rails (= 7.1.0)\n"
    ),
    "pom.xml": (
        '<?xml version="1.0"?>\n'
        "<project><modelVersion>4.0.0</modelVersion><groupId>g</groupId><artifactId>a</ar"
        "tifactId><version>1</version><properties><v>2.0</v></properties><dependencies><d"
        "ependency><groupId>org.x</groupId><artifactId>y</artifactId><version>${v}</versi"
        "on></dependency></dependencies></project>\n"
    ),
    "pdm.lock": (
        "[metadata]\n"
        'lock_version = "4.5.0"\n'
        "[[package]]\n"
        'name = "idna"\n'
        'version = "3.7"\n'
        'dependencies = ["six>=1"]\n'
        'files = [{file = "idna-3.7-py3-none-any.whl", hash = "sha256:33333333333333333333333'
        '33333333333333333333333333333333333333333"}]\n'
    ),
    "pylock.toml": (
        'lock-version = "1.0"\n'
        'created-by = "pip"\n'
        "[[packages]]\n"
        'name = "idna"\n'
        'version = "3.7"\n'
        'wheels = [{name = "idna-3.7-py3-none-any.whl", url = "https://files.pythonhosted.org/'
        'i/idna-3.7-py3-none-any.whl", hashes = {sha256 = "4444444444444444444444444444444444'
        '444444444444444444444444444444"}}]\n'
    ),
    "setup.py": (
        "from setuptools import setup\n"
        "import urllib.request\n"
        'setup(name="app", version="1.0", install_requires=["requests>=2"])\n'
    ),
    "bun.lock": (
        '{"lockfileVersion": 1, "workspaces": {"": {"name": "app", "dependencies": {"lodash": '
        '"^4.17.0"}}}, "packages": {"lodash": ["lodash@4.17.21", "", {}, "sha512-jjjjjjjjjjjj'
        'jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj=="],}}'
    ),
    ".npmrc": (
        "registry=https://registry.npmjs.org/\n"
        "@acme:registry = https://npm.acme.example/\n"
        "save-exact=true\n"
    ),
    "gradle.lockfile": (
        "# Gradle dependency lockfile\n"
        "org.slf4j:slf4j-api:2.0.13=compileClasspath,runtimeClasspath\n"
        "empty=annotationProcessor\n"
    ),
    "composer.lock": (
        '{"content-hash": "x", "packages": [{"name": "monolog/monolog", "version": "3.5.0", '
        '"source": {"type": "git", "url": "https://github.com/Seldaek/monolog.git", "referenc'
        'e": "c915e2634718dbc8a4a15c61b0e62e7a44e14448"}, "dist": {"type": "zip", "url": "htt'
        "ps://api.github.com/repos/Seldaek/monolog/zipball/c915e2634718dbc8a4a15c61b0e62e7a4"
        '4e14448", "reference": "c915e2634718dbc8a4a15c61b0e62e7a44e14448", "shasum": ""}, "'
        'notification-url": "https://packagist.org/downloads/"}], "packages-dev": []}'
    ),
}

# -- pipeline files: the clean errors are exactly those collect/pipeline.py turns into a
# pipeline/parse-error finding.


@given(inputs(WORKFLOW))
def test_workflow_parser(text: str) -> None:
    same_result(lambda: parse_workflow(".github/workflows/ci.yml", text), PIPELINE_ERRORS)


@given(inputs(ACTION))
def test_action_parser(text: str) -> None:
    same_result(lambda: parse_action("action.yml", text), PIPELINE_ERRORS)


@given(inputs(JENKINSFILE))
def test_jenkinsfile_parser(text: str) -> None:
    same_result(lambda: parse_jenkinsfile("Jenkinsfile", text), PIPELINE_ERRORS)


@given(inputs(GITLAB))
def test_gitlab_ci_parser(text: str) -> None:
    same_result(lambda: parse_gitlab_ci(".gitlab-ci.yml", text), PIPELINE_ERRORS)


PIPELINE_ERRORS = (YamlLinesError, WorkflowParseError, GitlabParseError, JenkinsParseError)


# -- Dockerfiles -------------------------------------------------------------------------------


@given(
    inputs(DOCKERFILE.decode()).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.binary(max_size=300)
)
def test_dockerfile_parser_never_raises(data: bytes) -> None:
    first = parse_dockerfile(data, "Dockerfile")
    assert parse_dockerfile(data, "Dockerfile").model_dump_json() == first.model_dump_json()


# -- lockfiles ----------------------------------------------------------------------------------


class _Mem:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)


@pytest.mark.parametrize("name", sorted(LOCKFILES))
@given(data=st.data())
def test_lockfile_parsers(name: str, data: st.DataObject) -> None:
    text = data.draw(inputs(LOCKFILES[name]), label=name)
    raw = text.encode("utf-8", "surrogatepass")
    if data.draw(st.booleans(), label="as bytes"):
        raw = data.draw(st.binary(max_size=200), label="bytes")

    def run() -> Any:
        return scan(_Mem({name: raw, "other.txt": b"idna==3.7\n"}), [name])

    same_result(run, ())
    snapshot = run()
    for err in snapshot.errors:
        assert err.file == name and (err.line is None or err.line >= 1)


def test_lockfile_seeds_parse_cleanly() -> None:
    """The seeds are real files: each parses without an error (so mutations start from valid)."""
    for name, text in LOCKFILES.items():
        snapshot = scan(_Mem({name: text.encode(), "other.txt": b"idna==3.7\n"}), [name])
        assert snapshot.errors == [], (name, snapshot.errors)


# -- secrets --------------------------------------------------------------------------------------

SECRETS_SEED = (
    'AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'
    "token: ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" + "\n"
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
    'password = "correct horse battery staple"\n'
)


@given(
    inputs(SECRETS_SEED),
    st.sampled_from(["config.env", "a.yml", "x.json", "Dockerfile", "settings.ini", "script.sh"]),
)
def test_secret_scanner_never_raises_and_never_echoes(text: str, path: str) -> None:
    first = scan_text(text, path)
    assert repr(scan_text(text, path)) == repr(first)


def test_parsers_registered_for_every_lockfile_format() -> None:
    from gatekeeper.deps import ECOSYSTEMS

    names = {name for spec in ECOSYSTEMS.values() for name in spec.files}
    assert names - {"npm-shrinkwrap.json", "gems.locked"} <= set(LOCKFILES)
    assert Path(__file__).name == "test_properties_parsers.py"


# -- report renderers: hostile text in findings never breaks an output format -------------------

hostile_text = st.text(max_size=60) | st.sampled_from(
    [
        "\x00",
        "\x1b[31mred",
        "]]>",
        "<script>",
        "::error::x",
        "%0A",
        "\r\n",
        "\u2028",
        "${{ secrets.X }}",
        "&amp;",
        "\"'",
        "\\",
        "é\u0301",
        "\ufeff",
    ]
)


@given(
    st.lists(st.tuples(hostile_text, hostile_text, st.none() | st.integers(1, 10**6)), max_size=4),
    hostile_text,
)
def test_renderers_never_raise_and_stay_well_formed(
    items: list[tuple[str, str, int | None]], note: str
) -> None:
    import xml.etree.ElementTree as ET

    from gatekeeper.models.finding import Finding, Severity
    from gatekeeper.models.verdict import Reason, Verdict
    from gatekeeper.report import ReportFormat, render

    findings = [
        Finding.make(
            "secrets/generic-assignment",
            Severity.HIGH,
            message,
            path=path or None,
            line=line,
            key=message,
        )
        for message, path, line in items
    ]
    verdict = Verdict(
        command="check",
        verdict="block" if findings else "pass",
        findings=findings,
        block_at=Severity.HIGH,
        notes=[note],
        kinds=["secrets"],
        reasons=[Reason(code="verify/malformed", message=note)],
    )
    for fmt in ReportFormat:
        out = render(fmt, verdict)
        assert out == render(fmt, verdict)
        out.encode("utf-8")
        if fmt in (ReportFormat.JSON, ReportFormat.SARIF):
            json.loads(out)
        if fmt is ReportFormat.JUNIT:
            ET.fromstring(out.encode("utf-8"))  # noqa: S314 - our own output


# -- check end to end: a tree of mutated real files ends in a verdict or a clean error ---------

_TREE_SEEDS = {
    ".github/workflows/ci.yml": WORKFLOW,
    "action.yml": ACTION,
    "Jenkinsfile": JENKINSFILE,
    ".gitlab-ci.yml": GITLAB,
    "Dockerfile": DOCKERFILE.decode(),
    "config.env": SECRETS_SEED,
    **LOCKFILES,
}


@given(data=st.data())
def test_check_on_random_trees_never_crashes(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from gatekeeper.app import CheckConfig, run_check
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.policy import default_policy
    from gatekeeper.report import ReportFormat, render

    root = tmp_path_factory.mktemp("tree")
    chosen = data.draw(
        st.lists(st.sampled_from(sorted(_TREE_SEEDS)), min_size=1, max_size=4, unique=True),
        label="files",
    )
    for name in chosen:
        text = data.draw(mutated(_TREE_SEEDS[name]), label=name)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    outputs = []
    for _ in range(2):
        try:
            result = run_check(CheckConfig(repo=root, policy=default_policy()))
        except GatekeeperError as exc:
            outputs.append(f"error: {exc}")
            continue
        rendered = [render(fmt, result.verdict) for fmt in ReportFormat]
        for text in rendered:
            text.encode("utf-8")
        outputs.append("\n".join(rendered))
    assert outputs[0] == outputs[1]  # byte-identical reports for the same tree


@given(data=st.data())
def test_check_with_base_on_random_histories_never_crashes(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Base and head are both mutated real files: the diffs (deps, pipeline, source) hold up."""
    import os
    import subprocess

    from gatekeeper._git import safe_git_env
    from gatekeeper.app import CheckConfig, run_check
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.policy import default_policy

    env = {
        **os.environ,
        **safe_git_env(),
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b.c",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@b.c",
    }
    root = tmp_path_factory.mktemp("history")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=root, env=env, check=True, capture_output=True, timeout=60
        )

    git("init", "-q")
    chosen = data.draw(
        st.lists(st.sampled_from(sorted(_TREE_SEEDS)), min_size=1, max_size=3, unique=True),
        label="files",
    )
    for round_ in ("base", "head"):
        for name in chosen:
            text = data.draw(mutated(_TREE_SEEDS[name]), label=f"{round_}:{name}")
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(text.encode("utf-8", "surrogatepass"))
        git("add", "-A")
        git("commit", "-q", "--allow-empty", "-m", round_)
    try:
        result = run_check(CheckConfig(repo=root, base="HEAD~1", policy=default_policy()))
    except GatekeeperError:
        return
    assert result.verdict.verdict in ("pass", "block")
