"""Version ordering per ecosystem: the cases string comparison gets wrong."""

from __future__ import annotations

import pytest

from gatekeeper.deps.versions import UnparseableVersion, compare, is_exact, version_key


@pytest.mark.parametrize(
    ("ecosystem", "lower", "higher"),
    [
        ("PyPI", "1.9", "1.10"),
        ("PyPI", "2.0.0rc1", "2.0.0"),
        ("PyPI", "2.0.0.dev1", "2.0.0a1"),
        ("PyPI", "1.0", "1.0.post1"),
        ("npm", "1.9.0", "1.10.0"),
        ("npm", "1.0.0-alpha", "1.0.0"),
        ("npm", "1.0.0-alpha", "1.0.0-alpha.1"),
        ("npm", "1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("npm", "1.0.0-beta.2", "1.0.0-beta.11"),
        ("npm", "1.0.0-rc.1", "1.0.0"),
        ("crates.io", "0.9.9", "0.10.0"),
        ("crates.io", "1.0.0-beta", "1.0.0"),
        ("Go", "v0.0.0-20230101000000-abcdef123456", "v0.0.0-20230201000000-123456abcdef"),
        ("Go", "v0.0.0-20230101000000-abcdef123456", "v0.1.0"),
        ("Go", "v1.2.3", "v1.2.4-0.20230101000000-abcdef123456"),
        ("Go", "v1.2.4-0.20230101000000-abcdef123456", "v1.2.4"),
        ("Go", "v1.9.0", "v1.10.0"),
        ("Go", "v2.0.0+incompatible", "v2.1.0+incompatible"),
        ("RubyGems", "1.9", "1.10"),
        ("RubyGems", "1.0.0.pre", "1.0.0"),
        ("RubyGems", "1.0.a", "1.0"),
        ("RubyGems", "2.0.0.rc1", "2.0.0"),
        ("Maven", "1.9", "1.10"),
        ("Maven", "1.0-alpha-1", "1.0"),
        ("Maven", "1.0-alpha1", "1.0-beta1"),
        ("Maven", "1.0-rc1", "1.0-SNAPSHOT"),
        ("Maven", "1.0-SNAPSHOT", "1.0"),
        ("Maven", "1.0", "1.0-sp1"),
        ("Maven", "1.0-sp1", "1.0.1"),
        ("Maven", "2.0.0.RC1", "2.0.0"),
    ],
)
def test_ordering(ecosystem: str, lower: str, higher: str) -> None:
    assert compare(ecosystem, lower, higher) == -1
    assert compare(ecosystem, higher, lower) == 1


def test_string_comparison_would_get_these_wrong() -> None:
    # The reason the module exists: lexical order disagrees with every one of these.
    assert "1.10" < "1.9" and compare("PyPI", "1.10", "1.9") == 1
    assert "2.0.0rc1" > "2.0.0" and compare("PyPI", "2.0.0rc1", "2.0.0") == -1
    assert "1.0.0-alpha" > "1.0.0" and compare("npm", "1.0.0-alpha", "1.0.0") == -1


@pytest.mark.parametrize(
    ("ecosystem", "a", "b"),
    [
        ("Maven", "1.0", "1"),
        ("Maven", "1.0.0", "1-ga"),
        ("Maven", "1.0-final", "1.0"),
        ("Maven", "1-cr1", "1-rc1"),
        ("RubyGems", "1.0", "1.0.0"),
        ("npm", "1.0.0+build.1", "1.0.0+build.2"),
        ("Go", "v2.0.0+incompatible", "v2.0.0"),
        ("PyPI", "1.0", "1.0.0"),
        ("npm", "v1.2.3", "1.2.3"),
    ],
)
def test_equal(ecosystem: str, a: str, b: str) -> None:
    assert compare(ecosystem, a, b) == 0


@pytest.mark.parametrize(
    ("ecosystem", "version"),
    [
        ("PyPI", "not a version"),
        ("npm", "1.2"),
        ("npm", "^1.2.3"),
        ("crates.io", "01.2.3"),
        ("Go", "1.2.3"),
        ("RubyGems", "abc"),
        ("Maven", ""),
        ("Hex", "1.0.0"),
    ],
)
def test_unparseable(ecosystem: str, version: str) -> None:
    with pytest.raises(UnparseableVersion):
        version_key(ecosystem, version)
    assert not is_exact(ecosystem, version)


def test_sorting_a_list() -> None:
    versions = ["1.10.0", "1.2.0", "1.0.0-rc.1", "1.0.0", "1.9.0"]
    ordered = sorted(versions, key=lambda v: version_key("npm", v))
    assert ordered == ["1.0.0-rc.1", "1.0.0", "1.2.0", "1.9.0", "1.10.0"]
