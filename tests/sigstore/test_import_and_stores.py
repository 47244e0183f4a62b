"""Bundles through ``import``, ``verify --bundle`` and both stores; sigstore-python stays lazy."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.sigstore.conftest import (
    DATA,
    PUBLISHER,
    RELEASE,
    identity,
    verdict_json,
    verify_json,
    write_policy,
)
from tests.sigstore.standin import Instance
from tests.store.conftest import oci_uri, registry  # noqa: F401 - fixtures

BUNDLE = DATA / "MODULE.bazel.intoto.jsonl"
ARTIFACT = DATA / "MODULE.bazel"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            {"base64Signature": "AAAA", "cert": "x", "rekorBundle": {}},
            "cosign's legacy signature bundle",
        ),
        (
            (DATA / "sigstore-python-message-signature.sigstore").read_text(),
            "a message signature over a file",
        ),
        (
            {
                **json.loads((DATA / "MODULE.bazel.intoto.jsonl").read_text()),
                "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.9",
            },
            "media type",
        ),
    ],
)
def test_import_refuses_bundles_no_verifier_can_read(
    tmp_path: Path, content: object, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert main(["import", str(path), "--store", str(tmp_path / "store")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "store" / "envelopes").exists()


def test_a_timestamp_only_bundle_imports_and_verify_names_what_is_missing(
    tmp_path: Path, instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": hashlib.sha256(b"app").hexdigest()}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {}, "runDetails": {}},
        }
    ).encode()
    bundle = instance.bundle(statement, instance.github_token())
    bundle["verificationMaterial"]["tlogEntries"] = []
    bundle["verificationMaterial"]["timestampVerificationData"] = {
        "rfc3161Timestamps": [{"signedTimestamp": "MAA="}]
    }
    path = tmp_path / "tsa-only.sigstore.json"
    path.write_text(json.dumps(bundle))
    store = tmp_path / "store"
    assert main(["import", str(path), "--store", str(store)]) == 0
    capsys.readouterr()
    policy = write_policy(tmp_path, {"release": identity(RELEASE)})
    assert (
        verify_json(
            str(policy), str(store), "--digest", f"sha256:{hashlib.sha256(b'app').hexdigest()}"
        )
        == 1
    )
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/log-entry-invalid"
    assert "timestamp-only" in reason["message"]


def test_verify_bundle_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"p": identity(PUBLISHER)})
    code = main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(tmp_path / "s"),
            "--no-log",
            "--bundle",
            str(tmp_path / "missing.json"),
            str(ARTIFACT),
        ]
    )
    assert code == 2


def test_verify_bundle_that_is_not_an_attestation_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"p": identity(PUBLISHER)})
    junk = tmp_path / "junk.json"
    junk.write_text('{"base64Signature": "AAAA", "cert": "x", "rekorBundle": {}}')
    code = verify_json(str(policy), str(tmp_path / "s"), "--bundle", str(junk), str(ARTIFACT))
    assert code == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/malformed" and "legacy signature bundle" in reason["message"]


def test_verify_bundle_writes_nothing_to_the_store(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, {"p": identity(PUBLISHER)})
    store = tmp_path / "s"
    assert (
        main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                str(store),
                "--no-log",
                "--bundle",
                str(BUNDLE),
                str(ARTIFACT),
            ]
        )
        == 0
    )
    assert not (store / "envelopes").exists()


def test_a_bundle_in_an_oci_store(tmp_path: Path, oci_uri: str) -> None:  # noqa: F811
    assert main(["import", str(BUNDLE), "--store", oci_uri, "--insecure-registry"]) == 0
    policy = write_policy(tmp_path, {"p": identity(PUBLISHER)})
    assert (
        main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                oci_uri,
                "--insecure-registry",
                "--no-log",
                str(ARTIFACT),
            ]
        )
        == 0
    )


def _imported_modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {m.split(".")[0] for m in out.split()}


def test_sigstore_is_imported_only_where_a_bundle_is_read(tmp_path: Path) -> None:
    """sigstore-python costs ~0.8 s to import: commands that never meet a bundle skip it."""
    modules = _imported_modules(
        "import gatekeeper.cli, gatekeeper.verify.evaluate, gatekeeper.attest.importer, gatekeeper.attest.stage"
    )
    assert "sigstore" not in modules
    from gatekeeper.attest.keys import generate_key

    generate_key(str(tmp_path / "ci"), "ed25519")
    policy = write_policy(tmp_path, {"ci": "ci.pub"})
    run = f"from gatekeeper.cli import main; main(['verify', '--policy', {str(policy)!r}, '--store', {str(tmp_path / 's')!r}, '--no-log', '--digest', 'sha256:' + '0' * 64])"
    assert "sigstore" not in _imported_modules(run)
