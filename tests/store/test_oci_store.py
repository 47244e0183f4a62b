"""The OCI store against a real registry (Debian's docker-registry 2.8: no referrers API,
so the spec's tag-schema fallback with receipts is the path under test here)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatekeeper.attest.importer import import_files
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.store import IndexKeys, open_store
from gatekeeper.store._registry import MANIFEST_TYPE, digest_of
from gatekeeper.store.oci import (
    EMPTY_DESCRIPTOR,
    ENVELOPE_TYPE,
    OciStore,
    anchor_manifest,
    canonical,
    index_tag,
    receipt_tag,
)
from gatekeeper.verify.evaluate import VerifyConfig, run_verify
from tests.store._helpers import envelope, hexdigest, signer

ROOT = Path(__file__).resolve().parents[2]


def _open(uri: str) -> OciStore:
    store = open_store(uri, insecure=True)
    assert isinstance(store, OciStore)
    return store


def test_put_then_find_by_stage_subject_and_all(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    assert store.supports_referrers() is False  # docker-registry 2.8
    key = signer(tmp_path)
    app, lib = hexdigest("app"), hexdigest("lib")
    build, build_keys = envelope(key, "build", {"app.tar": app, "lib.so": lib})
    scan, scan_keys = envelope(key, "scan", {"app.tar": app})
    build_id = store.put(build, build_keys)
    scan_id = store.put(scan, scan_keys)
    assert build_id == digest_of(build).partition(":")[2]

    fresh = _open(oci_uri)  # a reader in another process sees the same
    assert [e.id for e in fresh.by_stage("build")] == [build_id]
    assert [e.id for e in fresh.by_stage("scan")] == [scan_id]
    assert fresh.by_stage("release") == []
    assert sorted(e.id for e in fresh.by_subject(f"sha256:{app}")) == sorted([build_id, scan_id])
    assert [e.id for e in fresh.by_subject(f"sha256:{lib}")] == [build_id]
    assert fresh.by_subject(f"sha256:{hexdigest('other')}") == []
    assert sorted(e.id for e in fresh.all()) == sorted([build_id, scan_id])
    assert fresh.by_stage("build")[0].data == build
    assert "@sha256:" in fresh.by_stage("build")[0].location


def test_put_is_idempotent(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    data, keys = envelope(signer(tmp_path), "build", {"a": hexdigest("a")})
    tags_before = None
    for _ in range(3):
        store.put(data, keys)
        tags = store.client.list_tags()
        assert tags_before is None or sorted(tags) == sorted(tags_before)
        tags_before = tags
    assert len(_open(oci_uri).by_stage("build")) == 1


def test_subject_that_is_an_image_in_the_repository_gets_the_real_descriptor(
    oci_uri: str, tmp_path: Path
) -> None:
    store = _open(oci_uri)
    client = store.client
    layer = client.push_blob(b"layer-bytes")
    client.push_blob(b"{}")
    image = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 11}
            ],
        }
    )
    client.put_manifest("v1.0", image, MANIFEST_TYPE)
    image_digest = digest_of(image)

    data, keys = envelope(signer(tmp_path), "release", {"image": image_digest.partition(":")[2]})
    env_id = store.put(data, keys)

    # The spec's fallback tag for the image lists the attestation, so other OCI tools
    # (oras discover, for one) find it under the image.
    index = client.get_manifest(index_tag(image_digest))
    assert index is not None
    entries = json.loads(index.data)["manifests"]
    referrer = client.get_manifest(entries[0]["digest"])
    assert referrer is not None
    doc = json.loads(referrer.data)
    assert doc["artifactType"] == ENVELOPE_TYPE
    assert doc["subject"] == {
        "mediaType": MANIFEST_TYPE,
        "digest": image_digest,
        "size": len(image),
    }
    assert doc["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert doc["annotations"]["dev.gatekeeper.stage"] == "release"
    assert [e.id for e in _open(oci_uri).by_subject(image_digest)] == [env_id]


def test_subject_not_in_registry_uses_a_synthetic_anchor(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    artifact = hexdigest("a file, not an image")
    data, keys = envelope(signer(tmp_path), "build", {"dist/app.tgz": artifact})
    store.put(data, keys)
    anchor = anchor_manifest("subject", f"sha256:{artifact}")
    stored = store.client.get_manifest(digest_of(anchor))
    assert stored is not None and stored.data == anchor
    index = store.client.get_manifest(index_tag(digest_of(anchor)))
    assert index is not None
    referrer = store.client.get_manifest(json.loads(index.data)["manifests"][0]["digest"])
    assert referrer is not None
    assert json.loads(referrer.data)["subject"]["digest"] == digest_of(anchor)
    # No tag was made for the artifact digest itself: nothing claims it is a manifest.
    assert index_tag(f"sha256:{artifact}") not in store.client.list_tags()


def test_a_receipt_naming_an_envelope_the_registry_lacks_is_an_error(
    oci_uri: str, tmp_path: Path
) -> None:
    store = _open(oci_uri)
    data, keys = envelope(signer(tmp_path), "build", {"a": hexdigest("a")})
    store.put(data, keys)
    # A forged receipt: a tag that names an envelope digest nothing was pushed for.
    stage_key = digest_of(anchor_manifest("stage", "build"))
    forged = receipt_tag(stage_key, "sha256:" + "e" * 64)
    store.client.put_manifest(forged, anchor_manifest("stage", "build"), MANIFEST_TYPE)
    with pytest.raises(StoreError, match="which the registry does not have"):
        _open(oci_uri).by_stage("build")
    with pytest.raises(StoreError, match="which the registry does not have"):
        _open(oci_uri).all()


def test_a_receipt_is_read_by_the_digest_its_name_records(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    key = signer(tmp_path)
    data, keys = envelope(key, "build", {"a": hexdigest("a")})
    env_id = store.put(data, keys)
    other, _ = envelope(key, "build", {"b": hexdigest("b")}, run_id="other")
    store.client.push_blob(other)
    # Re-pointing the receipt tag at a manifest for another envelope changes nothing read.
    stage_key = digest_of(anchor_manifest("stage", "build"))
    swapped = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": ENVELOPE_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [
                {"mediaType": ENVELOPE_TYPE, "digest": digest_of(other), "size": len(other)}
            ],
        }
    )
    store.client.put_manifest(receipt_tag(stage_key, digest_of(data)), swapped, MANIFEST_TYPE)
    assert [e.id for e in _open(oci_uri).by_stage("build")] == [env_id]


def test_a_tag_holding_something_else_is_not_overwritten(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    artifact = hexdigest("x")
    anchor_digest = digest_of(anchor_manifest("subject", f"sha256:{artifact}"))
    store.client.push_blob(b"{}")
    foreign = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
        }
    )
    store.client.put_manifest(index_tag(anchor_digest), foreign, MANIFEST_TYPE)
    data, keys = envelope(signer(tmp_path), "build", {"x": artifact})
    with pytest.raises(StoreError, match="not a referrers image index"):
        store.put(data, keys)


def test_store_uri_validation() -> None:
    with pytest.raises(InvalidInput, match="credentials in the store URI"):
        open_store("oci://user:pw@127.0.0.1:5000/acme/app", insecure=True)
    with pytest.raises(InvalidInput, match="no repository"):
        open_store("oci://127.0.0.1:5000", insecure=True)
    with pytest.raises(InvalidInput, match="not a valid repository name"):
        open_store("oci://127.0.0.1:5000/Acme/App", insecure=True)
    with pytest.raises(InvalidInput, match="only for loopback"):
        open_store("oci://registry.example.com/acme/app", insecure=True)
    with pytest.raises(InvalidInput, match="unknown store option"):
        open_store("oci://127.0.0.1:5000/acme/app", insecure=True, colour="red")
    # Near misses: loopback names and IPv6 loopback are accepted for plain HTTP.
    assert open_store("oci://localhost:5000/acme/app", insecure=True).uri.startswith("oci://")
    assert open_store("oci://[::1]:5000/acme/app", insecure=True).client.base.startswith("http://")
    assert open_store("oci://registry.example.com/acme/app").client.base.startswith("https://")


def test_tls_is_the_default(registry: str) -> None:
    store = open_store(f"oci://{registry}/acme/tls")  # the test registry speaks plain HTTP
    with pytest.raises(StoreError, match="cannot reach the registry"):
        store.client.http.retries = 0
        store.by_stage("build")


_PUSHER = r"""
import sys, time
from pathlib import Path
from gatekeeper.store import IndexKeys, open_store
uri, folder, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
store = open_store(uri, insecure=True)
for item in sorted(folder.glob("*.env")):
    meta = item.with_suffix(".keys").read_text().split()
    store.put(item.read_bytes(), IndexKeys(stage=meta[0], subjects=tuple(meta[1:])))
"""


def test_eight_processes_pushing_at_once_lose_nothing(oci_uri: str, tmp_path: Path) -> None:
    key = signer(tmp_path)
    shared = hexdigest("shared-artifact")  # every process writes to the same subject index
    expected: set[str] = set()
    for proc in range(8):
        folder = tmp_path / f"p{proc}"
        folder.mkdir()
        for i in range(3):
            data, keys = envelope(
                key,
                "build",
                {"shared": shared, f"own{proc}-{i}": hexdigest(f"{proc}-{i}")},
                run_id=f"r{proc}-{i}",
            )
            (folder / f"{i}.env").write_bytes(data)
            (folder / f"{i}.keys").write_text(" ".join([keys.stage or "", *keys.subjects]))
            expected.add(digest_of(data).partition(":")[2])
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PUSHER, oci_uri, str(tmp_path / f"p{n}"), str(go)], cwd=ROOT
        )
        for n in range(8)
    ]
    time.sleep(0.5)
    go.write_text("go")
    assert [p.wait(timeout=120) for p in procs] == [0] * 8

    store = _open(oci_uri)
    assert {e.id for e in store.by_stage("build")} == expected
    assert {e.id for e in store.by_subject(f"sha256:{shared}")} == expected
    assert {e.id for e in store.all()} == expected
    # The spec's index tag (for other OCI tools, and quick lookups) is read-modify-write on
    # a registry with no compare-and-swap, so a concurrent writer may overwrite an entry;
    # each writer checks its entries again after a while and writes them back, and a writer
    # whose write was slow heals the index from the receipts: when every writer has
    # returned, the index lists every envelope.
    anchor = digest_of(anchor_manifest("subject", f"sha256:{shared}"))
    index = store.client.get_manifest(index_tag(anchor))
    assert index is not None
    assert len(json.loads(index.data)["manifests"]) == len(expected)
    assert {e.id for e in store.by_subject(f"sha256:{shared}", complete=False)} == expected
    data, keys = envelope(key, "build", {"shared": shared}, run_id="late")
    store.put(data, keys)
    index = store.client.get_manifest(index_tag(anchor))
    assert index is not None
    assert len(json.loads(index.data)["manifests"]) == len(expected) + 1


def _pipeline_into_oci(pipeline: object, oci_uri: str) -> Path:
    artifact: Path = pipeline.run_all(run_id="run-42")  # type: ignore[attr-defined]
    envelopes = sorted((Path(pipeline.store) / "envelopes").glob("*.json"))  # type: ignore[attr-defined]
    import_files([str(p) for p in envelopes], _open(oci_uri))
    return artifact


def test_directory_and_oci_stores_give_the_same_verdict(pipeline: object, oci_uri: str) -> None:
    artifact = _pipeline_into_oci(pipeline, oci_uri)
    policy = pipeline.policy_path  # type: ignore[attr-defined]
    on_disk = run_verify(
        VerifyConfig(policy_path=policy, artifacts=[str(artifact)], store=str(pipeline.store))
    )  # type: ignore[attr-defined]
    in_registry = run_verify(
        VerifyConfig(
            policy_path=policy, artifacts=[str(artifact)], store=oci_uri, insecure_registry=True
        )
    )
    assert on_disk.verdict == in_registry.verdict == "pass"
    assert on_disk.model_dump() == in_registry.model_dump()

    # The same tampering blocks the same way in both: another artifact is not attested.
    artifact.write_text("a different build")
    on_disk = run_verify(
        VerifyConfig(policy_path=policy, artifacts=[str(artifact)], store=str(pipeline.store))
    )  # type: ignore[attr-defined]
    in_registry = run_verify(
        VerifyConfig(
            policy_path=policy, artifacts=[str(artifact)], store=oci_uri, insecure_registry=True
        )
    )
    assert on_disk.verdict == in_registry.verdict == "block"
    assert {r.code for r in on_disk.reasons} == {r.code for r in in_registry.reasons}
    assert "verify/subject-mismatch" in {r.code for r in in_registry.reasons}


def test_cli_attest_verify_import_against_the_registry(
    tmp_path: Path,
    oci_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["keygen", "ci"]) == 0
    Path("policy.yaml").write_text(
        "version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\nkeys:\n  ci: ci.pub\n"
        "stages:\n  - name: build\n    signed_by: [ci]\n"
    )
    Path("app.bin").write_bytes(b"binary")
    monkeypatch.setenv("GATEKEEPER_RUN_ID", "run-7")
    assert (
        main(
            [
                "attest",
                "--stage",
                "build",
                "--key",
                "ci",
                "--product",
                "app.bin",
                "--store",
                oci_uri,
                "--insecure-registry",
                "--",
                sys.executable,
                "-c",
                "0",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "verify",
                "--policy",
                "policy.yaml",
                "--store",
                oci_uri,
                "--insecure-registry",
                "--format",
                "json",
                "app.bin",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"
    # A summary of a digest verified from a registry names the registry and the envelopes.
    digest = "sha256:" + hashlib.sha256(b"binary").hexdigest()
    assert main(["keygen", "gate"]) == 0
    assert (
        main(
            [
                "verify",
                "--policy",
                "policy.yaml",
                "--store",
                oci_uri,
                "--insecure-registry",
                "--image-digest",
                digest,
                "--emit-vsa",
                "vsa.json",
                "--key",
                "gate",
                "--format",
                "json",
            ]
        )
        == 0
    )
    envelope_doc = json.loads(Path("vsa.json").read_text())
    predicate = json.loads(base64.b64decode(envelope_doc["payload"]))["predicate"]
    assert predicate["resourceUri"] == f"{oci_uri}@{digest}"
    assert [a["uri"].startswith(f"{oci_uri}@sha256:") for a in predicate["inputAttestations"]] == [
        True
    ]
    assert (
        main(
            [
                "vsa",
                "verify",
                "--key",
                "gate.pub",
                "--image-digest",
                digest,
                "--policy",
                "policy.yaml",
                "vsa.json",
            ]
        )
        == 0
    )
    # --insecure-registry is refused for a non-loopback registry, before anything is sent.
    assert (
        main(
            [
                "verify",
                "--policy",
                "policy.yaml",
                "--store",
                "oci://registry.example/a/b",
                "--insecure-registry",
                "--no-log",
                "app.bin",
            ]
        )
        == 2
    )
    # import into the registry
    other = _open(oci_uri).by_stage("build")[0].data
    Path("copy.json").write_bytes(other)
    second = oci_uri + "-copy"
    assert main(["import", "copy.json", "--store", second, "--insecure-registry"]) == 0
    assert [e.data for e in _open(second).by_stage("build")] == [other]


def test_store_keys_without_stage(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    data, _ = envelope(signer(tmp_path), "build", {"a": hexdigest("a")})
    env_id = store.put(data, IndexKeys(stage=None, subjects=(f"sha256:{hexdigest('a')}",)))
    assert store.by_stage("build") == []
    assert [e.id for e in store.all()] == [env_id]


def test_tls_registry_with_a_private_ca(
    tls_registry: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, ca = tls_registry
    uri = f"oci://{address}/tls/app"
    # Without the CA the certificate is not trusted: an error, never a silent downgrade.
    store = open_store(uri)
    store.client.http.retries = 0  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="cannot reach the registry: SSLError"):
        store.by_stage("build")
    monkeypatch.setenv("GATEKEEPER_REGISTRY_CA_BUNDLE", str(ca))
    data, keys = envelope(signer(tmp_path), "build", {"a": hexdigest("a")})
    env_id = open_store(uri).put(data, keys)
    assert [e.id for e in open_store(uri).by_stage("build")] == [env_id]
    assert open_store(uri).client.base.startswith("https://")  # type: ignore[attr-defined]
    monkeypatch.setenv("GATEKEEPER_REGISTRY_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(InvalidInput, match="no such file"):
        open_store(uri)


def test_subjects_that_are_not_sha256_go_through_anchors(oci_uri: str, tmp_path: Path) -> None:
    store = _open(oci_uri)
    data, _ = envelope(signer(tmp_path), "source", {"x": hexdigest("x")})
    sha512 = "sha512:" + "ab" * 64
    commit = "gitCommit:" + "c" * 40
    env_id = store.put(data, IndexKeys(stage="source", subjects=(sha512, commit)))
    reader = _open(oci_uri)
    assert [e.id for e in reader.by_subject(sha512)] == [env_id]
    assert [e.id for e in reader.by_subject(commit)] == [env_id]
    assert reader.by_subject("gitCommit:" + "d" * 40) == []


def test_error_answer_is_read_only_as_far_as_its_message() -> None:
    # A registry answering an error with an endless body must not make the gate read it all.
    import io

    import requests

    from gatekeeper.store._registry import RegistryClient, RegistryRef

    body = json.dumps({"errors": [{"code": "DENIED", "message": "no"}]}).encode()

    class Huge(io.RawIOBase):  # the JSON error, then 64 MiB of padding
        served = 0

        def readinto(self, buffer: bytearray) -> int:
            if self.served >= 64 * 1024 * 1024:
                return 0
            start = body[self.served : self.served + len(buffer)]
            chunk = start + b" " * (len(buffer) - len(start))
            buffer[: len(chunk)] = chunk
            self.served += len(chunk)
            return len(chunk)

        def readable(self) -> bool:
            return True

    raw = Huge()
    response = requests.Response()
    response.status_code, response.raw = 500, raw
    client = RegistryClient(RegistryRef.parse("oci://registry.example/acme/app"))
    error = client._fail(response, "GET blob")
    assert raw.served <= 64 * 1024
    assert str(error) == "oci://registry.example/acme/app: GET blob: HTTP 500: DENIED no"
