"""Attestations other tools published (tests/attest/data/published/README.md names each
file's repository and commit): they import, and those signed with a published key verify."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper.attest.importer import import_files
from gatekeeper.attest.keys import load_public_key
from gatekeeper.attest.signed import open_signed
from gatekeeper.cli import main
from gatekeeper.store import open_store

DATA = Path(__file__).parent / "data" / "published"


def _import(tmp_path: Path, name: str) -> list[Any]:
    return import_files([str(DATA / name)], open_store(str(tmp_path / "store")))


def _stored(tmp_path: Path, envelope_id: str) -> bytes:
    return (tmp_path / "store" / "envelopes" / f"{envelope_id}.json").read_bytes()


def _policy(tmp_path: Path, keys: dict[str, str], stages: list[dict[str, Any]]) -> Path:
    (tmp_path / "keys").mkdir(exist_ok=True)
    for name, source in keys.items():
        shutil.copy(DATA / source, tmp_path / "keys" / f"{name}.pub")
    policy = {
        "version": 1,
        "name": "published",
        "expires": "2099-01-01T00:00:00Z",
        "keys": {name: f"keys/{name}.pub" for name in keys},
        "stages": stages,
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def _verify(tmp_path: Path, policy: Path, *args: str, capsys: Any) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(tmp_path / "store"),
            "--no-log",
            "--format",
            "json",
            *args,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_in_toto_demo_links_verify_with_the_demo_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # in-toto's own demo: bob writes foo.py, carl packages it (RSA-PSS over canonical JSON).
    for name in ("in-toto-demo-write-code.776a00e2.link", "in-toto-demo-package.2f89b927.link"):
        (imported,) = _import(tmp_path, name)
        assert imported.kind == "in-toto-link"
        assert open_signed(_stored(tmp_path, imported.envelope_id)).check(
            {
                "bob": load_public_key(DATA / "in-toto-demo-bob.pub"),
                "carl": load_public_key(DATA / "in-toto-demo-carl.pub"),
            }
        )[0].verified_by in (("bob",), ("carl",))
    policy = _policy(
        tmp_path,
        {"bob": "in-toto-demo-bob.pub", "carl": "in-toto-demo-carl.pub"},
        [
            {"name": "write-code", "signed_by": ["bob"]},
            {"name": "package", "signed_by": ["carl"], "follows": "write-code"},
        ],
    )
    tarball = "sha256:52947cb78b91ad01fe81cd6aef42d1f6817e92b9e6936c1e5aabb7c98514f355"
    code, out = _verify(tmp_path, policy, tarball, capsys=capsys)
    assert (code, out["verdict"]) == (0, "pass")
    # The stages swapped between the keys: neither link is signed by the key trusted for it.
    swapped = _policy(
        tmp_path,
        {"bob": "in-toto-demo-carl.pub", "carl": "in-toto-demo-bob.pub"},
        [
            {"name": "write-code", "signed_by": ["bob"]},
            {"name": "package", "signed_by": ["carl"], "follows": "write-code"},
        ],
    )
    code, out = _verify(tmp_path, swapped, tarball, capsys=capsys)
    assert code == 1
    assert {r["code"] for r in out["reasons"]} == {"verify/untrusted-key"}


def test_an_openpgp_signed_link_imports_with_a_note_and_verifies_under_no_key(
    tmp_path: Path,
) -> None:
    (imported,) = _import(tmp_path, "in-toto-demo-gpg-write-code.8288ef56.link")
    assert imported.notes == (
        "signatures[0]: an OpenPGP signature, which gatekeeper cannot verify",
    )
    document = open_signed(_stored(tmp_path, imported.envelope_id))
    assert (
        document.check({"bob": load_public_key(DATA / "in-toto-demo-bob.pub")})[0].verified_by == ()
    )


def test_cloud_build_provenance_imports_and_verifies_under_google_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported = _import(tmp_path, "cloudbuild-v1.0-gcloud-container-github.json")
    assert [i.kind for i in imported] == ["slsa-provenance", "slsa-provenance"]
    assert all(i.form == "Cloud Build provenance" for i in imported)
    keys = {
        "worker": load_public_key(DATA / "cloudbuild-global-pae-google-hosted-worker_1.pub"),
        "signer": load_public_key(DATA / "cloudbuild-global-pae-provenanceSigner_1.pub"),
    }
    checks = [open_signed(_stored(tmp_path, i.envelope_id)).check(keys) for i in imported]
    # v1.0 signed by the google-hosted-worker key; v0.1 by provenanceSigner (DSSE) and by a
    # regional key over the bare payload, which a DSSE verifier does not accept.
    assert [[c.verified_by for c in each] for each in checks] == [[("worker",)], [("signer",), ()]]
    policy = _policy(
        tmp_path,
        {"gcb": "cloudbuild-global-pae-google-hosted-worker_1.pub"},
        [
            {
                "name": "build",
                "signed_by": ["gcb"],
                "provenance": {
                    "builder_ids": ["https://cloudbuild.googleapis.com/GoogleHostedWorker"],
                    "source_repositories": ["https://github.com/khalkie/gcb-prod-prov"],
                    "source_refs": ["refs/heads/main"],
                    "workflow_paths": ["cloudbuild.yaml"],
                    "must_match_commit": True,
                },
            }
        ],
    )
    image = "sha256:7e9b6e7ba2842c91cf49f3e214d04a7a496f8214356f41d81a6e6dcad11f11e3"
    commit = "2ce3f90facdb51aeb950d5bc641e981be61fdf48"
    code, out = _verify(
        tmp_path, policy, "--image-digest", image, "--commit", commit, capsys=capsys
    )
    assert (code, out["verdict"]) == (0, "pass")
    code, out = _verify(
        tmp_path, policy, "--image-digest", image, "--commit", "1" * 40, capsys=capsys
    )
    assert code == 1
    assert [r["code"] for r in out["reasons"]] == ["verify/commit-mismatch"]
    assert "recorded commit 2ce3f90facdb" in out["reasons"][0]["message"]


def test_npm_provenance_names_the_tarball_by_sha512(tmp_path: Path) -> None:
    imported = _import(tmp_path, "npm-provenance-npm-test-cli-v1-prega.tgz.json")
    assert [i.kind for i in imported] == ["statement", "slsa-provenance"]
    tarball = hashlib.sha512((DATA / "npm-provenance-npm-test-cli-v1-prega.tgz").read_bytes())
    # A keyless bundle is stored whole; its DSSE envelope is inside.
    kept = json.loads(_stored(tmp_path, imported[1].envelope_id))
    provenance = open_signed(kept["dsseEnvelope"])
    statement = json.loads(provenance.payload)
    assert statement["subject"][0]["digest"] == {"sha512": tarball.hexdigest()}
    assert (tmp_path / "store" / "index" / "subject").exists()


def test_slsa_github_generator_provenance_with_a_cert_field_imports(tmp_path: Path) -> None:
    (imported,) = _import(tmp_path, "slsa-github-generator-go-v1.2.1-push-v14.intoto.jsonl")
    assert imported.kind == "slsa-provenance"
    assert imported.notes == ("signatures[0].cert: unknown field, ignored",)


def test_a_witness_collection_verifies_under_the_witness_test_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (imported,) = _import(tmp_path, "witness-cdx-att.json")
    assert (imported.kind, imported.stage) == ("witness-collection", "sbom")
    policy = _policy(
        tmp_path, {"witness": "witness-testpub.pem"}, [{"name": "sbom", "signed_by": ["witness"]}]
    )
    product = "sha256:23b078b208f617fbf117bcedcae3a2b6a454085f8c8c3b73cc74fe9750f34bd3"
    code, out = _verify(tmp_path, policy, product, capsys=capsys)
    assert (code, out["verdict"]) == (0, "pass")


def test_in_toto_golang_links_verify_and_an_empty_cert_field_is_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # in-toto-golang's classic link carries a `cert` field (empty) in its signature: ignored
    # with a note; its RSA-PSS signature over the canonical JSON verifies under its key.
    (classic,) = _import(tmp_path, "in-toto-golang-foo.b7d643de.link")
    assert classic.kind == "in-toto-link"
    assert "signatures[0].cert: unknown field, ignored" in classic.notes
    dan = load_public_key(DATA / "in-toto-golang-dan.pub")
    carl = load_public_key(DATA / "in-toto-demo-carl.pub")
    assert open_signed(_stored(tmp_path, classic.envelope_id)).check({"dan": dan})[
        0
    ].verified_by == ("dan",)
    assert (
        open_signed(_stored(tmp_path, classic.envelope_id)).check({"carl": carl})[0].verified_by
        == ()
    )
    # Its DSSE link is signed with the in-toto demo's key of carl and verifies end to end.
    (dsse,) = _import(tmp_path, "in-toto-golang-package-dsse.2f89b927.link")
    assert (dsse.kind, dsse.notes) == ("in-toto-link", ())
    policy = _policy(
        tmp_path,
        {"carl": "in-toto-demo-carl.pub"},
        [{"name": "package-dsse", "signed_by": ["carl"]}],
    )
    tarball = "sha256:0c5c56be1f4d8707fe981f07b0d35a4a1a50e898e3ebc8b1fa12c7c6f364bb7b"
    code, out = _verify(tmp_path, policy, tarball, capsys=capsys)
    assert (code, out["verdict"]) == (0, "pass"), out["reasons"]
    code, out = _verify(tmp_path, policy, "sha256:" + "0" * 64, capsys=capsys)
    assert code == 1
    assert {r["code"] for r in out["reasons"]} == {"verify/subject-mismatch"}
