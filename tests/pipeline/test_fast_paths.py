"""The fast paths of the pipeline collector and audits agree with the slow paths they screen.

Each screen (a cheap check that lets most inputs skip a list of patterns) must never skip an
input one of the patterns would match: every test here compares the screened result with the
full rules, on near-misses at the screen's boundary and on generated inputs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.collect import build_files
from gatekeeper.collect.build_files import BuildFiles, build_file_kind


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
