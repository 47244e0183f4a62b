"""Where a finding's rule link points: GATEKEEPER_RULES_URL, the git install, or the source."""

from __future__ import annotations

import json

import pytest

from gatekeeper.report import links

SHA = "0123456789abcdef0123456789abcdef01234567"


def _direct_url(url: str, commit: str = SHA, vcs: str = "git") -> str:
    return json.dumps({"url": url, "vcs_info": {"vcs": vcs, "commit_id": commit}})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/acme/gatekeeper.git",
            f"https://github.com/acme/gatekeeper/blob/{SHA}/docs/rules.md",
        ),
        (
            "https://gitlab.com/acme/tools/gatekeeper",
            f"https://gitlab.com/acme/tools/gatekeeper/-/blob/{SHA}/docs/rules.md",
        ),
        # SECURITY: a token in the install URL is never repeated in a report.
        (
            "https://ci:ghp_secret@github.com/acme/gatekeeper",
            f"https://github.com/acme/gatekeeper/blob/{SHA}/docs/rules.md",
        ),
    ],
)
def test_a_git_install_links_to_the_catalogue_at_its_commit(url: str, expected: str) -> None:
    assert links.forge_catalogue_url(_direct_url(url)) == expected


@pytest.mark.parametrize(
    "direct_url",
    [
        _direct_url("https://github.com/acme/gatekeeper", commit="main"),  # a branch moves
        _direct_url("http://github.com/acme/gatekeeper"),
        _direct_url("https://git.example.org/acme/gatekeeper"),  # an unknown forge
        _direct_url("https://github.com/acme"),
        _direct_url("https://github.com/acme/gatekeeper", vcs="hg"),
        json.dumps({"url": "file:///src/gatekeeper", "dir_info": {"editable": True}}),
        "not json",
        "[]",
    ],
)
def test_other_installs_give_no_address(direct_url: str) -> None:
    assert links.forge_catalogue_url(direct_url) is None


def test_the_environment_wins_and_must_be_a_web_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "_installed_from", lambda: None)
    monkeypatch.setenv(links.RULES_URL_ENV, "https://docs.example.org/rules.md#old")
    assert links.rule_url("secrets/aws-access-key") == (
        "https://docs.example.org/rules.md#secrets-aws-access-key"
    )
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "https://a b", "docs/rules.md"):
        monkeypatch.setenv(links.RULES_URL_ENV, bad)
        assert links.catalogue_url() is None, bad
        assert links.rule_link("secrets/aws-access-key") == "docs/rules.md#secrets-aws-access-key"
    assert links.rule_url("no/such-rule") is None
