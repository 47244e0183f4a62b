"""The ecosystems gatekeeper reads: one spec each, the only place their facts are written.

A spec names the manifest and lockfile formats (file names, the parser of each, which
lockfiles a manifest must agree with), the OSV ecosystem name (also the evidence's
``ecosystem``), the purl type and how a name splits into purl namespace and name, the
version scheme, the default registry and its other spellings, and how names normalise.
Everything else reads it: ``scan`` (which parser for which file), ``common`` (purls,
sources), ``versions`` (ordering), ``osv`` (matching), ``sbom``, and the ``deps/`` audits.

Adding an ecosystem: a spec here (and its name in ``models.deps.Ecosystem``, the evidence
schema), a parser module, tests. Parsers are named as ``"module:function"`` and imported
when first used, so this module imports no parser (and every parser may import it).

Usage::

    from gatekeeper.deps.ecosystem import ECOSYSTEMS, format_for
    ECOSYSTEMS["PyPI"].purl_type        # "pypi"
    format_for("web/yarn.lock")         # (npm spec, FileFormat(parser="...:parse_yarn_lock"))
"""

from __future__ import annotations

import functools
import importlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, cast

from gatekeeper.deps.parsing import Parser
from gatekeeper.models.deps import Ecosystem

__all__ = [
    "ECOSYSTEMS",
    "EcosystemSpec",
    "FileFormat",
    "VersionScheme",
    "format_for",
    "is_dependency_file",
    "spec_of",
    "unsupported_lockfile",
]

# How versions order (implemented in ``versions.py``, one key function per scheme).
VersionScheme = Literal["pep440", "npm-semver", "semver", "go", "rubygems", "maven", "composer"]


@dataclass(frozen=True)
class FileFormat:
    """One manifest or lockfile format."""

    parser: str  # "module:function", imported when first used
    # A lock records what is resolved; a manifest declares; a build file is code that runs
    # at install time (setup.py, a gemspec) and is read for its install hooks only; a config
    # file chooses where packages come from (.npmrc) and is read for that only.
    role: Literal["lock", "manifest", "build", "config"] = "lock"
    locks: tuple[str, ...] = ()  # a manifest: the files beside it that must agree with it
    skip_under: str | None = None  # a directory whose copies are not the project's own
    # Files that, beside this one, make the package manager ignore it (npm installs from
    # npm-shrinkwrap.json and never reads the package-lock.json next to it).
    shadowed_by: tuple[str, ...] = ()
    # The lockfile records which version each dependent gets (its parser fills
    # ``Package.uses`` and the projects' ``uses``), so a diff can compare per dependent when
    # one name has several versions; without it the diff compares the highest version.
    per_dependent: bool = False

    def load(self) -> Parser:
        return cast("Parser", load_ref(self.parser))


@functools.cache
def load_ref(ref: str) -> object:
    """The object a ``"module:attribute"`` reference names (imported on first use)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _as_written(name: str) -> str:
    return name


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _no_namespace(name: str) -> tuple[str | None, str]:
    return None, name


def _npm_scope(name: str) -> tuple[str | None, str]:
    if name.startswith("@") and "/" in name:
        scope, short = name.split("/", 1)
        return scope, short
    return None, name


def _go_path(name: str) -> tuple[str | None, str]:
    if "/" in name:
        namespace, short = name.rsplit("/", 1)
        return namespace, short
    return None, name


def _lower(name: str) -> str:
    return name.lower()


def _vendor(name: str) -> tuple[str | None, str]:
    if "/" in name:
        vendor, short = name.split("/", 1)
        return vendor, short
    return None, name


def _maven_group(name: str) -> tuple[str | None, str]:
    if ":" in name:
        group, artifact = name.split(":", 1)
        return group, artifact
    return None, name


@dataclass(frozen=True)
class EcosystemSpec:
    """Everything gatekeeper knows about one ecosystem."""

    name: Ecosystem  # the OSV ecosystem name; also the evidence's ``ecosystem``
    purl_type: str
    registry: str  # the default registry's URL
    version_scheme: VersionScheme
    files: Mapping[str, FileFormat]  # by exact file name
    # Other spellings of the default registry (a source from one of them is the default).
    registry_aliases: tuple[str, ...] = ()
    # Formats recognised by path rather than by exact name (``requirements/dev.txt``).
    path_formats: tuple[tuple[Callable[[str], bool], FileFormat], ...] = ()
    normalize_name: Callable[[str], str] = _as_written
    split_name: Callable[[str], tuple[str | None, str]] = _no_namespace  # purl namespace, name
    osv_version_prefix: str = ""  # written by the ecosystem, left out by OSV records (Go's "v")
    sbom_group: bool = True  # CycloneDX ``group`` is the purl namespace (else the name is whole)
    # Called with every file's result once all are parsed (facts that span files).
    finish: str | None = None

    @property
    def default_source(self) -> str:
        return f"registry:{self.registry}"


# requirements*.lock: pip-format locks written by rye and `uv export`.
_REQUIREMENTS = re.compile(
    r"^(?:.*[-_.])?requirements(?:[-_.].*)?\.(?:txt|lock)$|^constraints\.txt$"
)


# PEP 751: ``pylock.toml`` or ``pylock.<name>.toml``.
_PYLOCK = re.compile(r"^pylock\.(?:[^./]+\.)?toml$")


def is_pylock(path: str) -> bool:
    return bool(_PYLOCK.match(posixpath.basename(path)))


# Gradle dependency locking: ``gradle.lockfile`` (one per project), its build script's
# ``buildscript-gradle.lockfile``, and the per-configuration files of Gradle before 6.4
# (``gradle/dependency-locks/<configuration>.lockfile``).
def is_gradle_lockfile(path: str) -> bool:
    name = posixpath.basename(path)
    if name in ("gradle.lockfile", "buildscript-gradle.lockfile"):
        return True
    return name.endswith(".lockfile") and posixpath.dirname(path).endswith(
        "gradle/dependency-locks"
    )


def is_gemspec(path: str) -> bool:
    return path.endswith(".gemspec") and "/vendor/" not in f"/{path}"


def is_requirements_file(path: str) -> bool:
    name = posixpath.basename(path)
    if _REQUIREMENTS.match(name):
        return True
    # requirements/base.txt, requirements/dev.txt
    return name.endswith(".txt") and posixpath.basename(posixpath.dirname(path)) == "requirements"


_NPM_LOCKS = (
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
)

ECOSYSTEMS: dict[str, EcosystemSpec] = {
    spec.name: spec
    for spec in (
        EcosystemSpec(
            name="PyPI",
            purl_type="pypi",
            registry="https://pypi.org/simple",
            registry_aliases=(
                "https://pypi.org/simple/",
                "https://pypi.python.org/simple",
                "https://pypi.python.org/simple/",
            ),
            version_scheme="pep440",
            normalize_name=_pep503,
            files={
                "poetry.lock": FileFormat("gatekeeper.deps.pypi:parse_poetry_lock"),
                "Pipfile.lock": FileFormat("gatekeeper.deps.pypi:parse_pipfile_lock"),
                # uv: a dependency names its version (and source) when the lock holds several.
                "uv.lock": FileFormat("gatekeeper.deps.pypi:parse_uv_lock", per_dependent=True),
                "pdm.lock": FileFormat("gatekeeper.deps.pylock:parse_pdm_lock"),
                "pyproject.toml": FileFormat(
                    "gatekeeper.deps.pypi:parse_pyproject",
                    role="manifest",
                    locks=("poetry.lock", "uv.lock", "pdm.lock"),
                ),
                # Runs at install time: read for its install hooks (deps/install-script).
                "setup.py": FileFormat("gatekeeper.deps.install:parse_setup_py", role="build"),
            },
            path_formats=(
                (is_requirements_file, FileFormat("gatekeeper.deps.pypi:parse_requirements")),
                (is_pylock, FileFormat("gatekeeper.deps.pylock:parse_pylock")),
            ),
        ),
        EcosystemSpec(
            name="npm",
            purl_type="npm",
            registry="https://registry.npmjs.org",
            registry_aliases=("https://registry.yarnpkg.com", "https://registry.npmjs.org/"),
            version_scheme="npm-semver",
            split_name=_npm_scope,
            files={
                "package.json": FileFormat(
                    "gatekeeper.deps.npm:parse_package_json",
                    role="manifest",
                    locks=_NPM_LOCKS,
                    skip_under="node_modules",
                ),
                # npm: install paths (node_modules/a/node_modules/b) say who gets which
                # version; yarn: each descriptor (name@range) resolves to one entry; pnpm:
                # importers and packages name their dependencies' exact versions.
                "package-lock.json": FileFormat(
                    "gatekeeper.deps.npm:parse_package_lock",
                    per_dependent=True,
                    shadowed_by=("npm-shrinkwrap.json",),
                ),
                "npm-shrinkwrap.json": FileFormat(
                    "gatekeeper.deps.npm:parse_package_lock", per_dependent=True
                ),
                "yarn.lock": FileFormat("gatekeeper.deps.npm:parse_yarn_lock", per_dependent=True),
                "pnpm-lock.yaml": FileFormat(
                    "gatekeeper.deps.npm:parse_pnpm_lock", per_dependent=True
                ),
                "bun.lock": FileFormat("gatekeeper.deps.bun:parse_bun_lock", per_dependent=True),
                # The registry a package-lock entry without `resolved` is fetched from.
                ".npmrc": FileFormat(
                    "gatekeeper.deps.npm:parse_npmrc", role="config", skip_under="node_modules"
                ),
            },
            finish="gatekeeper.deps.npm:mark_yarn_direct",
        ),
        EcosystemSpec(
            name="Go",
            purl_type="golang",
            registry="https://proxy.golang.org",
            version_scheme="go",
            split_name=_go_path,
            osv_version_prefix="v",
            sbom_group=False,
            files={
                # go.mod pins exact versions (minimal version selection); go.sum beside it
                # holds the hashes and is read by the go.mod parser.
                "go.mod": FileFormat(
                    "gatekeeper.deps.golang:parse_go_mod", role="manifest", locks=("go.sum",)
                ),
            },
        ),
        EcosystemSpec(
            name="crates.io",
            purl_type="cargo",
            registry="https://github.com/rust-lang/crates.io-index",
            registry_aliases=("sparse+https://index.crates.io/", "https://index.crates.io/"),
            version_scheme="semver",
            # Cargo.lock: a dependency is "name" when the lock holds one version of it and
            # "name version" when it holds several.
            files={
                "Cargo.lock": FileFormat(
                    "gatekeeper.deps.cargo:parse_cargo_lock", per_dependent=True
                )
            },
        ),
        EcosystemSpec(
            name="RubyGems",
            purl_type="gem",
            registry="https://rubygems.org",
            registry_aliases=("https://rubygems.org/",),
            version_scheme="rubygems",
            files={
                "Gemfile.lock": FileFormat("gatekeeper.deps.rubygems:parse_gemfile_lock"),
                "gems.locked": FileFormat("gatekeeper.deps.rubygems:parse_gemfile_lock"),
            },
            # A gemspec's native extensions are built at install time (deps/install-script).
            path_formats=(
                (is_gemspec, FileFormat("gatekeeper.deps.install:parse_gemspec", role="build")),
            ),
        ),
        EcosystemSpec(
            name="Maven",
            purl_type="maven",
            registry="https://repo.maven.apache.org/maven2",
            registry_aliases=("https://repo1.maven.org/maven2",),
            version_scheme="maven",
            split_name=_maven_group,
            files={"pom.xml": FileFormat("gatekeeper.deps.maven:parse_pom", role="manifest")},
            path_formats=(
                (is_gradle_lockfile, FileFormat("gatekeeper.deps.gradle:parse_gradle_lockfile")),
            ),
        ),
        EcosystemSpec(
            name="Packagist",
            purl_type="composer",
            registry="https://repo.packagist.org",
            # Drupal's own Composer repository serves the drupal/* projects every Drupal
            # site installs beside Packagist's: a second default, not a private mirror.
            registry_aliases=(
                "https://packagist.org",
                "https://repo.packagist.org/",
                "https://packages.drupal.org/8",
                "https://packages.drupal.org/7",
            ),
            version_scheme="composer",
            # Composer package names are lower case ("vendor/package"), compared as such.
            normalize_name=_lower,
            split_name=_vendor,
            files={"composer.lock": FileFormat("gatekeeper.deps.composer:parse_composer_lock")},
        ),
    )
}

_BY_NAME: dict[str, tuple[EcosystemSpec, FileFormat]] = {
    name: (spec, fmt) for spec in ECOSYSTEMS.values() for name, fmt in spec.files.items()
}


def spec_of(ecosystem: str) -> EcosystemSpec:
    """The spec of an ecosystem by its name.

    Raises:
        KeyError: not an ecosystem gatekeeper reads.
    """
    return ECOSYSTEMS[ecosystem]


def format_for(path: str) -> tuple[EcosystemSpec, FileFormat] | None:
    """The ecosystem and format of a repository-relative POSIX path, if it is one we read."""
    name = posixpath.basename(path)
    found = _BY_NAME.get(name)
    if found is not None:
        skip = found[1].skip_under
        return None if skip and f"/{skip}/" in f"/{path}" else found
    for spec in ECOSYSTEMS.values():
        for matches, fmt in spec.path_formats:
            if matches(path):
                return spec, fmt
    return None


def is_dependency_file(path: str) -> bool:
    """Whether ``path`` (repository-relative, POSIX) is a manifest or lockfile we read."""
    return format_for(path) is not None


# Lockfiles of formats gatekeeper does not read, by file name: what each is. Finding one is
# a note and a ``deps/unsupported-lockfile`` finding (its packages are not audited), never
# silence.
UNSUPPORTED_LOCKFILES: dict[str, str] = {
    "bun.lockb": "Bun's binary lockfile (bun 1.2 and later write the text bun.lock, which is read)",
    "deno.lock": "Deno's lockfile",
    "packages.lock.json": "a NuGet lockfile",
    "paket.lock": "a Paket (NuGet) lockfile",
    "mix.lock": "a Mix (Hex) lockfile",
    "pubspec.lock": "a Dart/Flutter pub lockfile",
    "Podfile.lock": "a CocoaPods lockfile",
    "Package.resolved": "a Swift Package Manager lockfile",
    "Cartfile.resolved": "a Carthage lockfile",
    "conan.lock": "a Conan lockfile",
    "renv.lock": "an R renv lockfile",
    "stack.yaml.lock": "a Haskell Stack lockfile",
    "cabal.project.freeze": "a Haskell Cabal freeze file",
    "flake.lock": "a Nix flake lockfile",
    "conda-lock.yml": "a conda-lock lockfile",
    "pixi.lock": "a pixi (conda) lockfile",
    "Gopkg.lock": "a Go dep lockfile (pre-modules)",
    "glide.lock": "a Go Glide lockfile (pre-modules)",
    "shard.lock": "a Crystal shards lockfile",
    "Berksfile.lock": "a Chef Berkshelf lockfile",
    "verification-metadata.xml": "Gradle's dependency verification metadata (checksums of "
    "every artifact Gradle verified, not a resolution: gradle.lockfile is read)",
}


def unsupported_lockfile(path: str) -> str | None:
    """What a lockfile of a format gatekeeper does not read is, or None (not one)."""
    if "/node_modules/" in f"/{path}":
        return None  # a dependency's own files, not the project's
    name = posixpath.basename(path)
    found = UNSUPPORTED_LOCKFILES.get(name)
    if name == "verification-metadata.xml" and not path.endswith("gradle/" + name):
        return None
    return found
