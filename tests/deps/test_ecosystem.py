"""The ecosystem specs are the one place ecosystem facts live, and every reader agrees."""

from __future__ import annotations

import typing

import pytest

from gatekeeper.deps import ECOSYSTEMS, format_for, is_dependency_file, spec_of
from gatekeeper.deps.common import is_default_source, make_purl, registry_source
from gatekeeper.deps.ecosystem import VersionScheme, load_ref
from gatekeeper.deps.versions import SCHEMES, UnparseableVersion, version_key
from gatekeeper.models.deps import Ecosystem
from gatekeeper.secrets.detect import LOCKFILES


def test_every_ecosystem_of_the_evidence_schema_has_a_spec() -> None:
    assert set(ECOSYSTEMS) == set(typing.get_args(Ecosystem))
    assert all(name == spec.name for name, spec in ECOSYSTEMS.items())


def test_every_parser_and_hook_resolves() -> None:
    for spec in ECOSYSTEMS.values():
        formats = [*spec.files.values(), *(fmt for _, fmt in spec.path_formats)]
        assert formats, spec.name
        for fmt in formats:
            assert callable(fmt.load()), fmt.parser
        if spec.finish is not None:
            assert callable(load_ref(spec.finish))


def test_every_version_scheme_is_implemented() -> None:
    assert set(SCHEMES) == set(typing.get_args(VersionScheme))
    for spec in ECOSYSTEMS.values():
        assert spec.version_scheme in SCHEMES
    with pytest.raises(UnparseableVersion, match="unknown ecosystem"):
        version_key("Hackage", "1.0")


def test_every_lockfile_is_no_place_for_generic_secrets() -> None:
    """The secrets family skips lockfiles (their values are integrity hashes)."""
    locks = {
        name
        for spec in ECOSYSTEMS.values()
        for name, fmt in spec.files.items()
        if fmt.role == "lock"
    }
    locks |= {
        lock for spec in ECOSYSTEMS.values() for fmt in spec.files.values() for lock in fmt.locks
    }
    assert locks - {"package.json"} <= LOCKFILES


@pytest.mark.parametrize(
    ("path", "ecosystem"),
    [
        ("requirements.txt", "PyPI"),
        ("requirements/dev.txt", "PyPI"),
        ("ci-requirements.lock", "PyPI"),
        ("app/pyproject.toml", "PyPI"),
        ("web/yarn.lock", "npm"),
        ("package.json", "npm"),
        ("go.mod", "Go"),
        ("Cargo.lock", "crates.io"),
        ("gems.locked", "RubyGems"),
        ("pom.xml", "Maven"),
    ],
)
def test_files_map_to_their_ecosystem(path: str, ecosystem: str) -> None:
    found = format_for(path)
    assert found is not None and found[0].name == ecosystem
    assert is_dependency_file(path)


def test_vendored_and_unknown_files_are_not_read() -> None:
    assert not is_dependency_file("node_modules/left-pad/package.json")
    assert not is_dependency_file("go.sum")  # read by the go.mod beside it
    assert not is_dependency_file("README.md")


def test_registry_spellings_fold_into_the_default() -> None:
    for spec in ECOSYSTEMS.values():
        assert registry_source(spec.name, None) == spec.default_source
        assert is_default_source(spec.name, spec.default_source)
        for alias in spec.registry_aliases:
            assert registry_source(spec.name, alias) == spec.default_source
    assert registry_source("PyPI", "https://mirror.example.org/simple/") == (
        "registry:https://mirror.example.org/simple"
    )


def test_purl_types_and_namespaces_come_from_the_spec() -> None:
    assert make_purl("npm", "@types/node", "20.1.0") == "pkg:npm/%40types/node@20.1.0"
    assert make_purl("Go", "golang.org/x/net", "v0.1.0") == "pkg:golang/golang.org/x/net@v0.1.0"
    assert make_purl("Maven", "org.slf4j:slf4j-api", "2.0.9") == (
        "pkg:maven/org.slf4j/slf4j-api@2.0.9"
    )
    assert make_purl("crates.io", "serde", "1.0.0") == "pkg:cargo/serde@1.0.0"
    assert spec_of("PyPI").normalize_name("Typing_Extensions") == "typing-extensions"
