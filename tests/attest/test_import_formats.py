"""`gatekeeper import` reads other tools' formats as their specs say: Statement v0.1 and v1,
SLSA provenance v0.1/v0.2/v1, witness collections, classic in-toto links, and the npm,
GitHub and Cloud Build wrappers; unknown fields are ignored with a note, and every refusal
names the format and the field. Inputs are written here from the specs and signed with keys
made for the test."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.importer import import_files
from gatekeeper.attest.keys import load_signer, write_keypair
from gatekeeper.attest.signed import open_signed
from gatekeeper.attest.statement import (
    SourceRecord,
    normalise_repository,
    parse_attestation,
)
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.store import open_store

DIGEST = "a" * 64
V01 = "https://in-toto.io/Statement/v0.1"
V1 = "https://in-toto.io/Statement/v1"


@pytest.fixture
def key(tmp_path: Path) -> str:
    write_keypair(tmp_path / "keys" / "ci", "ecdsa-p256")
    return str(tmp_path / "keys" / "ci")


def _envelope(key: str, statement: dict[str, Any], **extra: Any) -> dict[str, Any]:
    signed = sign_envelope(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(key)])
    envelope: dict[str, Any] = signed.model_dump(by_alias=True)
    envelope.update(extra)
    return envelope


def _statement(predicate_type: str, predicate: Any, kind: str = V01) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_type": kind,
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": DIGEST}}],
        "predicateType": predicate_type,
    }
    if predicate is not None:
        out["predicate"] = predicate
    return out


def _import(tmp_path: Path, obj: Any, name: str = "in.json") -> list[Any]:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return import_files([str(path)], open_store(str(tmp_path / "store")))


def _parse(statement: dict[str, Any]) -> Any:
    return parse_attestation(
        INTOTO_PAYLOAD_TYPE, json.dumps(statement).encode(), any_predicate=True
    )


# -- the statement layer ----------------------------------------------------------------------


def test_statement_v01_imports_and_unknown_fields_are_noted(tmp_path: Path, key: str) -> None:
    statement = _statement("https://example.invalid/custom/v1", {"x": 1})
    statement["extension"] = "kept out"
    envelope = _envelope(key, statement, cert="-----BEGIN CERTIFICATE-----")
    envelope["signatures"][0]["cert"] = "-----BEGIN CERTIFICATE-----"
    (imported,) = _import(tmp_path, envelope)
    assert imported.kind == "statement"
    assert imported.stage == "predicate:https://example.invalid/custom/v1"
    assert imported.notes == (
        "cert: unknown field, ignored",
        "signatures[0].cert: unknown field, ignored",
        "Statement v0.1: extension: unknown field, ignored",
    )


def test_import_prints_the_notes(
    tmp_path: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = _envelope(key, _statement("https://example.invalid/x", {}))
    envelope["signatures"][0]["cert"] = "PEM"
    path = tmp_path / "in.json"
    path.write_text(json.dumps(envelope))
    assert main(["import", str(path), "--store", str(tmp_path / "store")]) == 0
    captured = capsys.readouterr()
    assert "statement" in captured.out
    assert f"{path}: note: signatures[0].cert: unknown field, ignored" in captured.err


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("subject"), "Statement v0.1: subject missing"),
        (lambda s: s.update(subject=[]), "Statement v0.1: subject is not a non-empty list"),
        (lambda s: s["subject"][0].pop("digest"), "Statement v0.1: subject[0].digest missing"),
        (
            lambda s: s["subject"][0].update(digest={"sha256": 7}),
            "Statement v0.1: subject[0].digest.sha256 is not a digest string",
        ),
        (lambda s: s.pop("predicateType"), "Statement v0.1: predicateType missing"),
        (lambda s: s.update(predicate=[1]), "Statement v0.1: predicate is not an object"),
        (
            lambda s: s.update(_type="https://in-toto.io/Statement/v9"),
            "neither an in-toto Statement (v1, v0.1) nor a link",
        ),
        (lambda s: s.update(Subject=[]), "Subject differs from subject only in case"),
    ],
)
def test_a_malformed_statement_is_refused_naming_the_field(
    tmp_path: Path, key: str, mutate: Any, message: str
) -> None:
    statement = _statement("https://example.invalid/x", {})
    mutate(statement)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        _import(tmp_path, _envelope(key, statement))
    assert not (tmp_path / "store" / "envelopes").exists()


def test_subject_without_a_name_and_statement_without_a_predicate_are_read(key: str) -> None:
    # Statement v1: the subject's name is optional, an unset predicate is an empty one.
    statement = {"_type": V1, "subject": [{"digest": {"sha512": "b" * 128}}], "predicateType": "x"}
    record = _parse(statement)
    assert record.subjects == [("_", {"sha512": "b" * 128})]
    assert record.subject_digests() == {"sha512:" + "b" * 128}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("payload"), "DSSE envelope: payload missing"),
        (lambda e: e.update(payloadType=3), "DSSE envelope: payloadType is not a string"),
        (lambda e: e.update(signatures={}), "DSSE envelope: signatures is not a list"),
        (lambda e: e["signatures"][0].pop("sig"), r"signatures\[0\].sig missing"),
        (lambda e: e["signatures"][0].update(keyid=5), r"signatures\[0\].keyid is not a string"),
        (lambda e: e.update(Payload="x"), "Payload differs from payload only in case"),
        (lambda e: e.update(signatures=[]), "carries no signature"),
    ],
)
def test_a_malformed_envelope_is_refused_naming_the_field(
    tmp_path: Path, key: str, mutate: Any, message: str
) -> None:
    envelope = _envelope(key, _statement("https://example.invalid/x", {}))
    mutate(envelope)
    with pytest.raises(InvalidInput, match=message):
        _import(tmp_path, envelope)


def test_an_unsigned_statement_and_other_json_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="an unsigned in-toto Statement: nothing signs it"):
        _import(tmp_path, _statement("https://slsa.dev/provenance/v0.2", {}))
    with pytest.raises(InvalidInput, match="not an attestation: expected a DSSE envelope"):
        _import(tmp_path, {"name": "package.json"})


# -- SLSA provenance ---------------------------------------------------------------------------


def test_slsa_v02_provenance_records_builder_build_type_and_source() -> None:
    predicate = {
        "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/go@v1"},
        "buildType": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
        "invocation": {
            "configSource": {
                "uri": "git+https://github.com/Acme/App.git@refs/tags/v1.2.0",
                "digest": {"sha1": "0123456789ABCDEF0123456789abcdef01234567"},
                "entryPoint": ".github/workflows/release.yml",
            }
        },
        "metadata": {"buildInvocationId": "run-7", "buildFinishedOn": "2030-01-01T00:00:00Z"},
        "materials": [{"uri": "git+https://github.com/Acme/App", "digest": {"sha1": "01" * 20}}],
        "futureField": {"ignored": True},
    }
    record = _parse(_statement("https://slsa.dev/provenance/v0.2", predicate))
    assert record.kind == "slsa-provenance" and record.stage == ""
    assert record.builder_id == predicate["builder"]["id"]  # type: ignore[index]
    assert record.build_type == predicate["buildType"]
    assert record.run_id == "run-7"
    assert record.finished_at is not None and record.finished_at.year == 2030
    assert record.source == SourceRecord(
        repository="https://github.com/Acme/App",
        ref="refs/tags/v1.2.0",
        commit="0123456789abcdef0123456789abcdef01234567",
        workflow_path=".github/workflows/release.yml",
    )
    assert record.recorded_commit == "0123456789abcdef0123456789abcdef01234567"
    assert [m.name for m in record.materials] == ["git+https://github.com/Acme/App"]


def test_slsa_v1_github_workflow_provenance_records_its_source() -> None:
    # The GitHub Actions build type (GitHub artifact attestations, npm provenance).
    predicate = {
        "buildDefinition": {
            "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
            "externalParameters": {
                "workflow": {
                    "ref": "refs/heads/main",
                    "repository": "https://github.com/acme/app",
                    "path": ".github/workflows/release.yml",
                }
            },
            "resolvedDependencies": [
                {
                    "uri": "git+https://github.com/acme/app@refs/heads/main",
                    "digest": {"gitCommit": "c" * 40},
                }
            ],
        },
        "runDetails": {
            "builder": {"id": "https://github.com/actions/runner/github-hosted"},
            "metadata": {"invocationId": "https://github.com/acme/app/actions/runs/1/attempts/1"},
        },
    }
    record = _parse(_statement("https://slsa.dev/provenance/v1", predicate, kind=V1))
    assert record.source == SourceRecord(
        "https://github.com/acme/app", "refs/heads/main", "c" * 40, ".github/workflows/release.yml"
    )


def test_slsa_v1_cloud_build_provenance_records_its_source() -> None:
    predicate = {
        "buildDefinition": {
            "buildType": "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1",
            "externalParameters": {
                "buildConfigSource": {
                    "path": "cloudbuild.yaml",
                    "ref": "refs/heads/main",
                    "repository": "git+https://github.com/acme/app",
                }
            },
            "resolvedDependencies": [
                {
                    "uri": "git+https://github.com/acme/app@refs/heads/main",
                    "digest": {"sha1": "d" * 40},
                },
                {
                    "uri": "gcr.io/cloud-builders/docker@sha256:" + DIGEST,
                    "digest": {"sha256": DIGEST},
                },
            ],
        },
        "runDetails": {"builder": {"id": "https://cloudbuild.googleapis.com/GoogleHostedWorker"}},
    }
    record = _parse(_statement("https://slsa.dev/provenance/v1", predicate, kind=V1))
    assert record.source == SourceRecord(
        "https://github.com/acme/app", "refs/heads/main", "d" * 40, "cloudbuild.yaml"
    )
    assert len(record.materials) == 2


def test_slsa_v01_cloud_build_provenance_is_read() -> None:
    predicate = {
        "builder": {"id": "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3"},
        "recipe": {
            "type": "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1",
            "entryPoint": "cloudbuild.yaml",
        },
        "materials": [{"uri": "https://github.com/acme/app", "digest": {"sha1": "e" * 40}}],
        "metadata": {"buildFinishedOn": "2022-09-06T17:54:22.169342123Z"},
    }
    record = _parse(_statement("https://slsa.dev/provenance/v0.1", predicate))
    assert record.build_type == "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1"
    assert record.source == SourceRecord(
        "https://github.com/acme/app", None, "e" * 40, "cloudbuild.yaml"
    )
    assert record.finished_at is not None and record.finished_at.microsecond == 169342


@pytest.mark.parametrize(
    ("predicate_type", "predicate", "message"),
    [
        ("https://slsa.dev/provenance/v1", None, "SLSA provenance v1: predicate missing"),
        (
            "https://slsa.dev/provenance/v1",
            {"runDetails": {}},
            "SLSA provenance v1: buildDefinition missing",
        ),
        (
            "https://slsa.dev/provenance/v0.2",
            {"buildType": "x"},
            "SLSA provenance v0.2: builder missing",
        ),
        (
            "https://slsa.dev/provenance/v0.2",
            {"builder": {"id": 5}},
            "SLSA provenance v0.2: builder.id is not a string",
        ),
        (
            "https://slsa.dev/provenance/v0.2",
            {"builder": {"id": "b"}, "metadata": {"buildFinishedOn": "yesterday"}},
            "SLSA provenance v0.2: buildFinishedOn is not a timestamp",
        ),
    ],
)
def test_malformed_provenance_names_the_version_and_field(
    predicate_type: str, predicate: Any, message: str
) -> None:
    with pytest.raises(MalformedInput, match=message):
        _parse(_statement(predicate_type, predicate))


@pytest.mark.parametrize(
    ("uri", "repository", "ref"),
    [
        ("git+https://github.com/a/b@refs/tags/v1", "https://github.com/a/b", "refs/tags/v1"),
        ("https://GitHub.com/a/b.git", "https://github.com/a/b", None),
        ("git+ssh://git@github.com/a/b", "ssh://git@github.com/a/b", None),
        ("https://github.com/a/b/", "https://github.com/a/b", None),
    ],
)
def test_source_uris_are_normalised(uri: str, repository: str, ref: str | None) -> None:
    assert normalise_repository(uri) == (repository, ref)


# -- witness, in-toto links --------------------------------------------------------------------


def test_a_witness_collection_names_its_stage_and_records_the_step(
    tmp_path: Path, key: str
) -> None:
    predicate = {
        "name": "build",
        "attestations": [
            {
                "type": "https://witness.dev/attestations/material/v0.1",
                "attestation": {"src/a.c": {"sha256": DIGEST}},
            },
            {
                "type": "https://witness.dev/attestations/command-run/v0.1",
                "attestation": {"cmd": ["make"], "exitcode": 0},
            },
            {
                "type": "https://witness.dev/attestations/product/v0.1",
                "attestation": {
                    "app.tar.gz": {"mimeType": "application/gzip", "digest": {"sha256": "f" * 64}}
                },
            },
            {
                "type": "https://witness.dev/attestations/git/v0.1",
                "attestation": {"commithash": "A" * 40},
            },
            {
                "type": "https://witness.dev/attestations/environment/v0.1",
                "attestation": {"os": "linux"},
            },
        ],
    }
    statement = _statement("https://witness.testifysec.com/attestation-collection/v0.1", predicate)
    (imported,) = _import(tmp_path, _envelope(key, statement))
    assert (imported.kind, imported.stage) == ("witness-collection", "build")
    record = _parse(statement)
    assert record.command == ["make"] and record.exit_code == 0
    assert [m.name for m in record.materials] == ["src/a.c"]
    assert [(p.name, p.digest) for p in record.products] == [("app.tar.gz", {"sha256": "f" * 64})]
    assert record.recorded_commit == "a" * 40


def _metablock(tmp_path: Path, signed: dict[str, Any]) -> dict[str, Any]:
    signer = CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256")
    signature = signer.sign(encode_canonical(signed).encode())
    return {"signed": signed, "signatures": [signature.to_dict()]}


def test_a_classic_in_toto_link_imports_and_its_signature_is_over_canonical_json(
    tmp_path: Path,
) -> None:
    signed = {
        "_type": "link",
        "name": "package",
        "command": ["tar", "czf", "foo.tar.gz", "foo.py"],
        "materials": {"foo.py": {"sha256": DIGEST}},
        "products": {"foo.tar.gz": {"sha256": "b" * 64}},
        "byproducts": {"return-value": 0},
        "environment": {},
    }
    block = _metablock(tmp_path, signed)
    (imported,) = _import(tmp_path, block, "package.1234.link")
    assert (imported.kind, imported.stage, imported.form) == (
        "in-toto-link",
        "package",
        "in-toto link (metablock)",
    )
    document = open_signed(json.dumps(block).encode())
    assert document.form == "metablock"
    assert document.message == encode_canonical(signed).encode()


def test_an_in_toto_layout_is_refused_as_a_policy(tmp_path: Path) -> None:
    block = _metablock(tmp_path, {"_type": "layout", "steps": [], "inspect": [], "keys": {}})
    with pytest.raises(InvalidInput, match="an in-toto layout is a supply-chain policy"):
        _import(tmp_path, block)


def test_a_metablock_with_a_float_cannot_be_canonicalised(tmp_path: Path) -> None:
    block = {
        "signed": {"_type": "link", "name": "x", "v": 1.5},
        "signatures": [{"keyid": "k", "sig": "00"}],
    }
    with pytest.raises(InvalidInput, match="signed cannot be canonicalised"):
        _import(tmp_path, block)


# -- wrappers ----------------------------------------------------------------------------------


def _bundle(envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "dsseEnvelope": envelope,
    }


def test_npm_registry_attestations_are_unwrapped(tmp_path: Path, key: str) -> None:
    publish = _statement("https://github.com/npm/attestation/tree/main/specs/publish/v0.1", {})
    provenance = _statement("https://slsa.dev/provenance/v1", {"buildDefinition": {}}, kind=V1)
    listing = {
        "attestations": [
            {"predicateType": publish["predicateType"], "bundle": _bundle(_envelope(key, publish))},
            {
                "predicateType": provenance["predicateType"],
                "bundle": _bundle(_envelope(key, provenance)),
            },
        ]
    }
    imported = _import(tmp_path, listing)
    assert [i.kind for i in imported] == ["statement", "slsa-provenance"]
    assert imported[0].source.endswith("#attestations[0]")
    assert imported[1].form == "npm registry attestations: Sigstore bundle"


def test_github_attestations_api_listing_and_bulk_form_are_unwrapped(
    tmp_path: Path, key: str
) -> None:
    envelope = _envelope(
        key, _statement("https://slsa.dev/provenance/v1", {"buildDefinition": {}}, kind=V1)
    )
    listing = {
        "attestations": [
            {"bundle": _bundle(envelope), "repository_id": 1, "bundle_url": "https://x"}
        ]
    }
    (imported,) = _import(tmp_path, listing)
    assert imported.form == "GitHub attestations API: Sigstore bundle"
    bulk = {"attestations_subject_digests": {f"sha256:{DIGEST}": listing["attestations"]}}
    (imported,) = _import(tmp_path, bulk, "bulk.json")
    assert "attestations_subject_digests" in imported.source


def test_a_listing_item_without_its_bundle_is_named(tmp_path: Path) -> None:
    listing = {"attestations": [{"bundle_url": "https://example.invalid/b", "repository_id": 1}]}
    with pytest.raises(InvalidInput, match=r"attestations\[0\].bundle missing \(only a bundle_url"):
        _import(tmp_path, listing)


def test_cloud_build_provenance_is_unwrapped_and_a_malformed_item_left_out_with_a_note(
    tmp_path: Path, key: str
) -> None:
    statement = _statement("https://slsa.dev/provenance/v0.1", {"builder": {"id": "gcb"}})
    good = _envelope(key, statement)
    bad = dict(good, payload=base64.b64encode(b"{not json").decode())
    summary = {
        "image_summary": {"digest": f"sha256:{DIGEST}"},
        "provenance_summary": {
            "provenance": [
                {"envelope": bad, "build": {"intotoStatement": statement}},
                {"envelope": good, "build": {"intotoStatement": statement}},
            ]
        },
    }
    (imported,) = _import(tmp_path, summary)
    assert imported.source.endswith("#provenance_summary.provenance[1]")
    assert imported.form == "Cloud Build provenance"
    assert any(
        n.startswith("provenance_summary.provenance[1].build: an unsigned copy")
        for n in imported.notes
    )
    assert any(
        "not imported:" in n and "provenance[0]: payload is not strict JSON" in n
        for n in imported.notes
    )
    summary["provenance_summary"]["provenance"] = [{"envelope": bad}]
    with pytest.raises(InvalidInput, match="no attestation in it can be imported"):
        _import(tmp_path, summary)


def test_jsonl_of_mixed_formats_imports_every_line(tmp_path: Path, key: str) -> None:
    first = _envelope(key, _statement("https://example.invalid/a", {}))
    second = _bundle(_envelope(key, _statement("https://example.invalid/b", {})))
    text = json.dumps(first) + "\n\n" + json.dumps(second) + "\n"
    imported = _import(tmp_path, text, "all.intoto.jsonl")
    assert [i.source.rsplit(":", 1)[1] for i in imported] == ["1", "3"]
