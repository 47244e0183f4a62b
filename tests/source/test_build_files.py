"""The build-controller catalogue: one list, used by the pipeline collector and by
``source/pipeline-change``; each family fires, near-misses do not, on a real repository."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from gatekeeper.audit import run_audits
from gatekeeper.audit.base import AuditContext
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.build_files import BuildFiles, build_file_kind, library_roots
from gatekeeper.collect.git_source import path_category
from gatekeeper.collect.pipeline import PipelineCollector, classify
from tests.source.helpers import audit, collect, commit, write

# The paths a range may change that must give `source/pipeline-change`: the four the
# source docs promised and the old lists missed, then at least one per family.
BUILD_CONTROLLER = [
    # the four that fell between the two old lists
    "vars/deploy.groovy",
    ".github/scripts/release-helper.sh",
    "build.sbt",
    "build.xml",
    # GitHub Actions
    ".github/workflows/release.yaml",
    ".github/actions/setup/action.yml",
    ".github/actions/setup/entrypoint.sh",
    ".github/scripts/changelog.py",
    # GitLab CI
    ".gitlab-ci.yml",
    "services/api/.gitlab-ci.yml",
    # Jenkins
    "Jenkinsfile",
    "ci/Jenkinsfile.release",
    "jobs/nightly.jenkinsfile",
    # make
    "Makefile",
    "GNUmakefile",
    "mk/rules.mk",
    # Gradle
    "build.gradle.kts",
    "settings.gradle",
    "gradlew",
    "gradle/wrapper/gradle-wrapper.properties",
    "gradle/publishing.gradle",
    "buildSrc/src/main/kotlin/conventions.gradle.kts",
    # Maven
    "pom.xml",
    "mvnw",
    ".mvn/extensions.xml",
    # sbt
    "project/plugins.sbt",
    "project/Dependencies.scala",
    "project/build.properties",
    # Ant
    "modules/core/build.xml",
    # Bazel
    "BUILD",
    "pkg/BUILD.bazel",
    "WORKSPACE",
    "MODULE.bazel",
    "tools/defs.bzl",
    ".bazelrc",
    # Nix
    "flake.nix",
    "default.nix",
    "shell.nix",
    # containers
    "Dockerfile",
    "docker/Containerfile.prod",
    "docker-compose.yml",
    # build scripts
    "build.sh",
    "scripts/build.sh",
    "scripts/build_wheels.py",
    "release_linux.ps1",
    "ci/run-tests.sh",
    ".ci/run",
    "tools/ci/lint.py",
    # other CI systems and build tools
    ".circleci/config.yml",
    ".buildkite/pipeline.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    ".pre-commit-config.yaml",
    "CMakeLists.txt",
    "crates/core/build.rs",
    "setup.py",
    "tox.ini",
]
# Paths that look like build files and must not count: a false pipeline-change is noise.
NEAR_MISSES = [
    "docs/Makefile.md",
    "src/build_utils.py",
    "gatekeeper/collect/jenkinsfile.py",
    "docs/Dockerfile.md",
    "Jenkinsfile.md",
    ".github/workflows/README.md",
    ".github/workflows/sub/ci.yml",
    ".github/scripts/README.md",
    ".github/dependabot.yml",
    "docs/workflows.yml",
    "scripts/format.sh",
    "vars/README.md",
    "crates/core/src/build.rs",
    "lib/project/Main.scala",
    "build/lib/module.py",
    "pyproject.toml",
    "setup.cfg",
    "package.json",
    "builder.go",
    "ci.md",
]
# Groovy sources are a Jenkins shared library's only next to its `vars/` (see below).
NOT_IN_A_LIBRARY = ["src/main/groovy/org/acme/App.groovy", "src/org/acme/Util.groovy"]


@pytest.mark.parametrize("path", BUILD_CONTROLLER)
def test_a_build_controller_path_counts_for_both_collectors(path: str) -> None:
    assert build_file_kind(path) is not None
    assert classify(path) == build_file_kind(path)
    assert path_category(path) == "pipeline"


@pytest.mark.parametrize("path", NEAR_MISSES + NOT_IN_A_LIBRARY)
def test_a_near_miss_counts_for_neither(path: str) -> None:
    assert build_file_kind(path) is None
    assert classify(path) is None
    assert path_category(path) is None


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("vars/deploy.groovy", "jenkinsfile"),
        (".github/scripts/release-helper.sh", "build-script"),
        ("build.sbt", "build-script"),
        ("build.xml", "build-script"),
        (".github/actions/setup/Dockerfile", "dockerfile"),
        ("services/api/.gitlab-ci.yml", "gitlab-ci"),
    ],
)
def test_the_kind_decides_how_the_pipeline_collector_reads_a_file(path: str, kind: str) -> None:
    assert build_file_kind(path) == kind


def test_a_shared_library_src_and_resources_count_next_to_its_vars() -> None:
    tree = ["vars/deploy.groovy", "src/org/acme/Build.groovy", "resources/acme/deploy.sh"]
    assert library_roots(tree) == {""}
    build_files = BuildFiles(tree)
    assert build_files.kind("src/org/acme/Build.groovy") == "build-script"
    assert build_files.kind("resources/acme/config.json") == "build-script"
    assert build_files.kind("resources/README.md") is None
    assert path_category("src/org/acme/Build.groovy", build_files) == "pipeline"
    # An ordinary Groovy project (no vars/ beside src/) is application code.
    plain = BuildFiles(["src/main/groovy/App.groovy", "build.gradle"])
    assert plain.kind("src/main/groovy/App.groovy") is None
    # A library in a subdirectory owns only its own src/.
    nested = BuildFiles(["libs/shared/vars/step.groovy"])
    assert nested.kind("libs/shared/src/org/Step.groovy") == "build-script"
    assert nested.kind("src/org/Step.groovy") is None


def test_gitlab_include_locations_count_as_changes_but_are_not_parsed_alone() -> None:
    for path in (".gitlab/ci/build.yml", "templates/deploy.gitlab-ci.yml"):
        assert build_file_kind(path) is None
        assert BuildFiles().is_build_controller(path)
        assert path_category(path) == "pipeline"
    assert not BuildFiles().is_build_controller(".gitlab/issue_templates/bug.md")


def test_the_gate_wins_over_the_build_controller() -> None:
    assert path_category("policies/release.yaml") == "gate"
    assert path_category(".github/CODEOWNERS") == "gate"


def _range_findings(
    repo: git.Repo, paths: list[str], tree: dict[str, str] | None = None
) -> set[str]:
    base = repo.head.commit.hexsha
    for path in paths:
        write(repo, path, "echo hello\n")
    for path, text in (tree or {}).items():
        write(repo, path, text)
    commit(repo)
    return {f.path or "" for f in audit(collect(repo, base)) if f.rule == "source/pipeline-change"}


def test_the_range_of_the_defect_gets_pipeline_change_for_each_path(repo: git.Repo) -> None:
    four = BUILD_CONTROLLER[:4]
    assert _range_findings(repo, four) == set(four)


def test_every_family_fires_and_no_near_miss_does(repo: git.Repo) -> None:
    assert _range_findings(repo, BUILD_CONTROLLER + NEAR_MISSES) == set(BUILD_CONTROLLER)


def test_a_shared_library_class_fires_in_a_library_repository(repo: git.Repo) -> None:
    write(repo, "vars/deploy.groovy", "def call() {}\n")
    commit(repo)
    found = _range_findings(repo, ["src/org/acme/Build.groovy", "src/main/groovy/x.txt"])
    assert found == {"src/org/acme/Build.groovy"}


def test_the_pipeline_collector_records_what_the_catalogue_names(tmp_path: Path) -> None:
    for path in BUILD_CONTROLLER + NEAR_MISSES:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("echo hello\n")
    evidence = PipelineCollector().collect(CollectContext(repo=tmp_path))
    assert {f.path for f in evidence.files} == set(BUILD_CONTROLLER)


def test_a_gitlab_file_included_from_anywhere_counts_when_the_pipeline_is_collected(
    repo: git.Repo,
) -> None:
    write(
        repo, ".gitlab-ci.yml", "include:\n  - local: deploy/jobs.yml\nbuild:\n  script: [make]\n"
    )
    commit(repo)
    base = repo.head.commit.hexsha
    write(repo, "deploy/jobs.yml", "deploy:\n  script:\n    - ./deploy.sh\n")
    write(repo, "deploy/notes.yml", "not: included\n")
    commit(repo)
    root = Path(repo.working_tree_dir or ".")
    source = collect(repo, base)
    pipeline = PipelineCollector().collect(CollectContext(repo=root))
    evidence = {"source": source, "pipeline": pipeline}
    findings = run_audits(evidence, AuditContext(repo=root, evidence=evidence))
    changed = {f.path for f in findings if f.rule == "source/pipeline-change"}
    assert changed == {"deploy/jobs.yml"}
    # Without the pipeline evidence only the catalogue's own paths count.
    assert not [f for f in audit(source) if f.rule == "source/pipeline-change"]
