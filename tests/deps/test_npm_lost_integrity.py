"""A package-lock entry that loses its integrity hash.

npm itself writes some package-lock entries without ``resolved`` and ``integrity``; npm then
fetches that version from the registry its configuration names, without checking a digest.
Where the entry came from the default registry and the repository names no other registry,
that is weaker verification of an artifact that cannot be replaced (medium); an integrity
removed while the URL stays, or a registry setting pointing elsewhere, is still critical.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import git
import pytest

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.deps import DirSource, scan
from gatekeeper.models.finding import Finding
from tests.conftest import commit_files


def sri(name: str, version: str) -> str:
    digest = hashlib.sha512(f"{name}@{version}".encode()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def lock(*, resolved: bool = True, integrity: bool = True) -> str:
    """A package-lock v3 with ms 2.1.3 (its resolved URL and integrity as asked) and
    left-pad, whose entry never changes."""
    ms: dict[str, object] = {"version": "2.1.3", "license": "MIT"}
    if resolved:
        ms["resolved"] = "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz"
    if integrity:
        ms["integrity"] = sri("ms", "2.1.3")
    data = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"ms": "^2.1.3"}},
            "node_modules/left-pad": {
                "version": "1.3.0",
                "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
                "integrity": sri("left-pad", "1.3.0"),
            },
            "node_modules/ms": ms,
        },
    }
    return json.dumps(data, indent=2) + "\n"


PACKAGE_JSON = '{"name": "app", "version": "1.0.0", "dependencies": {"ms": "^2.1.3"}}\n'


def rehashed(git_repo: git.Repo, head: dict[str, str]) -> list[Finding]:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"package.json": PACKAGE_JSON, "package-lock.json": lock()})
    commit_files(git_repo, head)
    evidence = DepsCollector().collect(CollectContext(repo=root, base="HEAD~1"))
    found = run_audits({"deps": evidence}, AuditContext(repo=root, base="HEAD~1"))
    return [f for f in found if f.rule == "deps/hash-changed"]


def test_near_miss_npm_dropped_resolved_and_integrity_is_medium(git_repo: git.Repo) -> None:
    head = lock(resolved=False, integrity=False)
    line = head.splitlines().index('    "node_modules/ms": {') + 1
    found = rehashed(git_repo, {"package-lock.json": head})
    assert [(f.severity.value, f.line) for f in found] == [("medium", line)]
    assert "ms 2.1.3 lost its integrity hash" in found[0].message
    assert "cannot be replaced" in found[0].message


def test_near_miss_a_default_registry_setting_changes_nothing(git_repo: git.Repo) -> None:
    found = rehashed(
        git_repo,
        {
            "package-lock.json": lock(resolved=False, integrity=False),
            ".npmrc": "registry = https://registry.npmjs.org/\n"
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        },
    )
    assert [f.severity.value for f in found] == ["medium"]


def test_integrity_removed_while_the_url_stays_is_critical(git_repo: git.Repo) -> None:
    # npm never writes a registry tarball URL without its integrity: someone removed it.
    found = rehashed(git_repo, {"package-lock.json": lock(resolved=True, integrity=False)})
    assert [f.severity.value for f in found] == ["critical"]
    assert "nothing verifies the artifact any more" in found[0].message


@pytest.mark.parametrize(
    "npmrc",
    [
        "registry=https://npm.attacker.example/\n",
        "; a scoped mirror\n@acme:registry=https://npm.acme.example/\n",
    ],
    ids=["another-registry", "a-scoped-registry"],
)
def test_integrity_dropped_where_another_registry_is_configured_is_critical(
    git_repo: git.Repo, npmrc: str
) -> None:
    # Without a digest, npm takes whatever the configured registry serves for ms@2.1.3.
    found = rehashed(
        git_repo,
        {"package-lock.json": lock(resolved=False, integrity=False), ".npmrc": npmrc},
    )
    assert [f.severity.value for f in found] == ["critical"]


def test_npmrc_keeps_only_registry_settings(tmp_path: Path) -> None:
    (tmp_path / ".npmrc").write_text(
        "# company mirror\n"
        "registry=https://build:s3cr3tpass@npm.corp.example/\n"
        "@acme:registry = 'https://npm.acme.example/'\n"
        "//npm.corp.example/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789\n"
        "save-exact=true\n"
    )
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / ".npmrc").write_text("registry=https://other.example/\n")
    snapshot = scan(DirSource(tmp_path, 1 << 20), walk_files(tmp_path))
    assert len(snapshot.registry_config) == 2
    assert snapshot.registry_config[1] == ".npmrc:3: @acme:registry=https://npm.acme.example/"
    assert snapshot.registry_config[0].startswith(".npmrc:2: registry=https://")
    assert "s3cr3tpass" not in snapshot.model_dump_json()
    assert "_authToken" not in snapshot.model_dump_json()
