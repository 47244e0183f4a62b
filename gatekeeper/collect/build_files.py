"""The build-controller catalogue: which files decide what a build does.

This module is the only place that says what a build-controller file is. The pipeline
collector records (and parses) the files it names; the source collector and the
``source/pipeline-change`` and ``source/codeowners-gap`` rules count changes to them.

A build-controller file is one whose change alters what the CI runs, with its secrets, or
what ends up in the artifact:

- **GitHub Actions**: workflows (``.github/workflows/*.yml``, the directory GitHub reads,
  not below it), ``action.yml`` anywhere, and every other file of local actions
  (``.github/actions/**``) and of ``.github/scripts/**``.
- **GitLab CI**: ``.gitlab-ci.yml`` anywhere; files meant to be included (``.gitlab/ci/**``
  and ``*.gitlab-ci.yml``) count as changes, and the pipeline collector parses them when a
  GitLab CI file includes them (a fragment on its own is not a pipeline).
- **Jenkins**: ``Jenkinsfile``, ``Jenkinsfile.*``, ``*.jenkinsfile``; a shared library's
  global steps ``vars/*.groovy``, and, next to such a ``vars/`` directory, the library's
  ``src/**.groovy`` classes and ``resources/**`` (``src/`` of an ordinary Groovy project
  does not count).
- **Make**: ``Makefile``, ``makefile``, ``GNUmakefile``, ``*.mk``.
- **Gradle**: ``build.gradle(.kts)``, ``settings.gradle(.kts)``, other ``*.gradle(.kts)``
  script plugins, ``gradlew(.bat)``, ``gradle/wrapper/**``, ``buildSrc/**``.
- **Maven**: ``pom.xml``, ``mvnw(.cmd)``, ``.mvn/**``.
- **sbt**: ``*.sbt``, and at the root ``project/*.scala``, ``project/*.sbt`` and
  ``project/build.properties``.
- **Ant**: ``build.xml``.
- **Bazel** (and Pants/Buck ``BUILD`` files): ``BUILD``, ``BUILD.bazel``, ``WORKSPACE``,
  ``WORKSPACE.bazel``, ``WORKSPACE.bzlmod``, ``MODULE.bazel``, ``*.bzl``, ``.bazelrc``,
  ``.bazelversion``.
- **Nix**: ``flake.nix``, ``default.nix``, ``shell.nix``.
- **Containers**: Dockerfiles and Containerfiles (named as ``gatekeeper.collect.container``
  defines them) and Compose files.
- **Other CI and task runners**: ``.circleci/**``, ``.buildkite/**``, ``.travis.yml``,
  ``.drone.yml``, ``azure-pipelines.yml``, ``bitbucket-pipelines.yml``, ``cloudbuild.yaml``,
  ``buildspec.yml``, ``appveyor.yml``, ``codemagic.yaml``, ``.goreleaser.yml``,
  ``.pre-commit-config.yaml``, ``justfile``, ``Taskfile.yml``, ``Rakefile``, ``Earthfile``,
  ``CMakeLists.txt``, ``meson.build``, Cargo's ``build.rs``, Python's ``setup.py``,
  ``noxfile.py`` and ``tox.ini``.
- **Build scripts**: shell, PowerShell and batch scripts named ``build*``, ``release*``,
  ``deploy*``, ``publish*``, ``package*``, ``bootstrap*``, ``install*`` or ``ci*`` (the word,
  then the end or ``-``, ``_``, ``.``) anywhere; ``scripts/build*`` and ``scripts/release*``
  of any language; and every file in the root ``ci/``, ``.ci/`` and ``tools/ci/``
  directories.

Documentation never counts (``*.md``, ``*.rst``, ``*.txt``, ``*.adoc``), and neither do
files that only look like a build file (``docs/Makefile.md``, ``src/build_utils.py``,
``jenkinsfile.py``). Manifests that change with every dependency update (``package.json``,
``pyproject.toml``, ``Cargo.toml``) are the ``deps/`` family's, not build controllers.

Usage::

    from gatekeeper.collect.build_files import BuildFiles, build_file_kind
    build_file_kind("vars/deploy.groovy")          # "jenkinsfile"
    BuildFiles(tree).is_build_controller(path)     # with the tree: shared-library src/
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gatekeeper.models.pipeline import FileKind

# Dockerfiles and Containerfiles (the container collector parses the files named here).
_NAMES = ("dockerfile", "containerfile")
# Templates, documents and source code named after a Dockerfile (`dockerfile.py`, `Dockerfile.md`).
_NOT_DOCKERFILE = (
    ".dockerignore",
    ".containerignore",
    ".j2",
    ".jinja",
    ".jinja2",
    ".tmpl",
    ".tpl",
    ".template",
    ".in",
    ".md",
    ".rst",
    ".txt",
    ".orig",
    ".rej",
    ".bak",
    ".swp",
    ".example",
    ".sample",
    ".py",
    ".pyc",
    ".adoc",
    ".html",
    ".json",
    ".js",
    ".ts",
    ".go",
    ".rs",
    ".java",
    ".rb",
    ".c",
    ".h",
    ".cpp",
    ".cs",
    ".kt",
    ".scala",
    ".php",
    ".swift",
    ".ipynb",
)


def is_dockerfile_name(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(_NOT_DOCKERFILE):
        return False
    return name in _NAMES or any(name.startswith(f"{n}.") or name.endswith(f".{n}") for n in _NAMES)


# Documents and source code named after a build file (`jenkinsfile.py`, `Makefile.md`).
_NOT_BUILD_SUFFIXES = (
    ".md",
    ".rst",
    ".txt",
    ".adoc",
    ".html",
    ".py",
    ".pyc",
    ".json",
    ".js",
    ".ts",
    ".go",
    ".rs",
    ".java",
    ".rb",
    ".c",
    ".h",
    ".cpp",
    ".cs",
    ".kt",
    ".scala",
    ".php",
    ".swift",
    ".ipynb",
)
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc", ".html")

_WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.[Yy][Aa]?[Mm][Ll]$")
_ACTION = re.compile(r"^(?:.+/)?action\.ya?ml$", re.IGNORECASE)
_JENKINSFILE = re.compile(r"^(?:jenkinsfile(?:\..+)?|.+\.jenkinsfile)$", re.IGNORECASE)
# A Jenkins shared library's global steps; the capture is the library's root directory.
_LIBRARY_VAR = re.compile(r"^((?:.+/)?)vars/[A-Za-z0-9_]+\.groovy$")
_GITLAB_CI = re.compile(r"^(?:.+/)?\.gitlab-ci\.ya?ml$", re.IGNORECASE)
_GITLAB_INCLUDE = re.compile(r"^\.gitlab/ci/.+\.ya?ml$|^(?:.+/)?[^/]+\.gitlab-ci\.ya?ml$")

# File names (lower-cased) that are build controllers wherever they are.
_BUILD_NAMES = frozenset(
    {
        # make
        "makefile",
        "gnumakefile",
        # Gradle, Maven, sbt, Ant
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradlew",
        "gradlew.bat",
        "pom.xml",
        "mvnw",
        "mvnw.cmd",
        "build.xml",
        # Nix
        "flake.nix",
        "default.nix",
        "shell.nix",
        # other CI systems and task runners
        ".travis.yml",
        ".drone.yml",
        "azure-pipelines.yml",
        "azure-pipelines.yaml",
        "bitbucket-pipelines.yml",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        "buildspec.yml",
        "buildspec.yaml",
        "appveyor.yml",
        ".appveyor.yml",
        "codemagic.yaml",
        ".goreleaser.yml",
        ".goreleaser.yaml",
        ".pre-commit-config.yaml",
        ".pre-commit-config.yml",
        "justfile",
        ".justfile",
        "taskfile.yml",
        "taskfile.yaml",
        "taskfile.dist.yml",
        "taskfile.dist.yaml",
        "rakefile",
        "earthfile",
        "cmakelists.txt",
        "meson.build",
        "build.rs",
        "setup.py",
        "noxfile.py",
        "tox.ini",
    }
)
# Bazel's names are case-sensitive (`build` without an extension is something else).
_BAZEL_NAMES = frozenset(
    {
        "BUILD",
        "BUILD.bazel",
        "WORKSPACE",
        "WORKSPACE.bazel",
        "WORKSPACE.bzlmod",
        "MODULE.bazel",
        ".bazelrc",
        ".bazelversion",
    }
)
_BUILD_SUFFIXES = (".mk", ".gradle", ".gradle.kts", ".sbt", ".bzl")
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:\.[^/]+)?\.ya?ml$", re.IGNORECASE)
_SCRIPT_SUFFIXES = (".sh", ".bash", ".ps1", ".bat", ".cmd")
_SCRIPT_STEM = re.compile(
    r"^(?:build|release|deploy|publish|package|bootstrap|install|ci)(?:$|[-_.])", re.IGNORECASE
)
# Directories whose every file (documentation aside) is build-controller material.
_BUILD_DIRS = re.compile(
    r"^(?:ci|\.ci|tools/ci|\.circleci|\.buildkite|\.mvn|gradle/wrapper"
    r"|\.github/actions|\.github/scripts)/"
    r"|^(?:.+/)?buildSrc/"
)
_SCRIPTS_DIR = re.compile(r"^scripts/(?:.+/)?(?:build|release)[^/]*$", re.IGNORECASE)
_SBT_PROJECT = re.compile(r"^project/(?:[^/]+\.(?:scala|sbt)|build\.properties)$")


def _jenkins_kind(path: str, lower: str) -> FileKind | None:
    name = path.rsplit("/", 1)[-1]
    # NOTE: `Jenkinsfile.release` is a pipeline; `jenkinsfile.py` or `Jenkinsfile.md` is not.
    if _JENKINSFILE.match(name) and not lower.endswith(_NOT_BUILD_SUFFIXES):
        return "jenkinsfile"
    if _LIBRARY_VAR.match(path) and "/src/" not in f"/{path}":
        # A Jenkins shared library's global steps run in every pipeline that loads it.
        return "jenkinsfile"
    return None


def _is_named_script(name: str, lower: str) -> bool:
    """``build.sh``, ``release-linux.ps1``...: a script whose name says what it is for."""
    return lower.endswith(_SCRIPT_SUFFIXES) and bool(_SCRIPT_STEM.match(name))


def _in_build_location(path: str) -> bool:
    return any(p.match(path) for p in (_BUILD_DIRS, _SCRIPTS_DIR, _SBT_PROJECT))


def _is_build_script(path: str, name: str, lower: str) -> bool:
    if lower == "build.rs":
        return "/src/" not in f"/{path}"  # Cargo's build script, not a module named build
    if lower in _BUILD_NAMES or name in _BAZEL_NAMES:
        return True
    if lower.endswith(_DOC_SUFFIXES):
        return False
    return (
        lower.endswith(_BUILD_SUFFIXES)
        or bool(_COMPOSE.match(name))
        or _is_named_script(name, lower)
        or _in_build_location(path)
    )


# The screen of ``build_file_kind``: every rule above needs one of these in an ASCII path
# (a directory prefix, a word of the name, a suffix or a whole name); tests hold the two sides.
_MAYBE_PREFIXES = (
    ".github/",
    "ci/",
    ".ci/",
    "tools/ci/",
    ".circleci/",
    ".buildkite/",
    ".mvn/",
    "gradle/wrapper/",
    "project/",
)
_MAYBE_WORD = re.compile(r"action\.y|jenkinsfile|\.gitlab-ci\.y|dockerfile|containerfile|compose")
_MAYBE_SUFFIXES = (*_BUILD_SUFFIXES, *_SCRIPT_SUFFIXES, ".groovy")
_MAYBE_NAMES = _BUILD_NAMES | {n.lower() for n in _BAZEL_NAMES}


def _may_be_build_file(path: str, lower: str) -> bool:
    """False only for an ASCII ``path`` that no rule of ``build_file_kind`` can match.

    NOTE: the rules read names case-insensitively through ``re.IGNORECASE``, which also
    folds non-ASCII letters (the Kelvin sign is a ``k``); ``str.lower`` agrees with it on
    ASCII only, so any other path always takes the full rules. So does a path with a
    newline: a pattern's ``$`` also matches before a final newline (``vars/x.groovy\n``).
    """
    if not path.isascii() or "\n" in path:
        return True
    return (
        lower in _MAYBE_NAMES
        or lower.endswith(_MAYBE_SUFFIXES)
        or _MAYBE_WORD.search(lower) is not None
        or path.startswith(_MAYBE_PREFIXES)
        or path[:8].lower() == "scripts/"
        or "buildSrc/" in path
    )


def build_file_kind(path: str) -> FileKind | None:
    """The kind of build-controller file ``path`` (repository-relative, ``/``) is, or None.

    Judged from the path alone; ``BuildFiles`` also knows a shared library's ``src/``.
    """
    name = path.rsplit("/", 1)[-1]
    lower = name.lower()
    if not _may_be_build_file(path, lower):
        return None
    return _build_file_kind(path, name, lower)


def _build_file_kind(path: str, name: str, lower: str) -> FileKind | None:
    if _WORKFLOW.match(path):
        return "github-workflow"
    if _ACTION.match(path):
        return "github-action"
    jenkins = _jenkins_kind(path, lower)
    if jenkins is not None:
        return jenkins
    if _GITLAB_CI.match(path):
        return "gitlab-ci"
    if is_dockerfile_name(path):
        return "dockerfile"
    if _is_build_script(path, name, lower):
        return "build-script"
    return None


def is_gitlab_include(path: str) -> bool:
    """A file laid out to be included by GitLab CI (``.gitlab/ci/**``, ``*.gitlab-ci.yml``)."""
    return bool(_GITLAB_INCLUDE.match(path))


def library_roots(paths: Iterable[str]) -> frozenset[str]:
    """Directories (``""`` for the root, else ``dir/``) holding a Jenkins shared library."""
    roots = set()
    for path in paths:
        if ".groovy" not in path:
            continue  # NOTE: what every match needs (most paths of a tree lack it)
        match = _LIBRARY_VAR.match(path)
        if match and "/src/" not in f"/{path}":
            roots.add(match.group(1))
    return frozenset(roots)


class BuildFiles:
    """The catalogue applied to one tree: knows which directories are shared libraries."""

    def __init__(self, tree: Iterable[str] = ()) -> None:
        self._roots = library_roots(tree)

    def kind(self, path: str) -> FileKind | None:
        """As ``build_file_kind``, plus a shared library's ``src/**.groovy`` and resources."""
        kind = build_file_kind(path)
        if kind is None and self._in_library(path):
            return "build-script"
        return kind

    def is_build_controller(self, path: str) -> bool:
        """Whether a change to ``path`` changes the build controller."""
        return self.kind(path) is not None or is_gitlab_include(path)

    def _in_library(self, path: str) -> bool:
        if not self._roots or path.lower().endswith(_DOC_SUFFIXES):
            return False
        for root in self._roots:
            rest = path[len(root) :] if path.startswith(root) else None
            if rest is not None and (
                (rest.startswith("src/") and rest.endswith(".groovy"))
                or rest.startswith("resources/")
            ):
                return True
        return False


__all__ = ["BuildFiles", "build_file_kind", "is_gitlab_include", "library_roots"]
