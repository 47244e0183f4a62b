"""``gatekeeper import --image REF``: the attestations cosign and GitHub attach to an image.

Artifacts are pushed in the producers' layouts: cosign's ``sha256-<hex>.att`` tag (an image
manifest whose layers are DSSE envelopes, with cosign's certificate, chain and Rekor
annotations on each layer descriptor: sigstore/cosign pkg/oci/static, pkg/oci/remote), and
OCI 1.1 referrer manifests (empty config, ``artifactType``, ``subject``) as GitHub's
attestations and ``cosign attest --new-bundle-format`` push them, found through the referrers
API (the local fake: docker-registry 2.8 lacks it) or the spec's fallback tag ``sha256-<hex>``
(the real docker-registry). DSSE envelopes are signed with keys made in the test; the
Sigstore bundle is data/MODULE.bazel.intoto.jsonl from tests/sigstore (published by
slsa-framework/slsa-verifier, see tests/sigstore/data/README.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gatekeeper.cli import main
from gatekeeper.store import open_store
from gatekeeper.store._registry import (
    EMPTY_DATA,
    EMPTY_DESCRIPTOR,
    INDEX_TYPE,
    MANIFEST_TYPE,
    RegistryClient,
    RegistryRef,
    canonical,
    digest_of,
)
from gatekeeper.store.attached import open_image
from tests.sigstore.conftest import DATA, PUBLISHER, identity, write_policy
from tests.store._fake_registry import fake_registry
from tests.store._helpers import envelope, signer

DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
GITHUB_BUNDLE = DATA / "MODULE.bazel.intoto.jsonl"
ARTIFACT = DATA / "MODULE.bazel"


# -- pushing artifacts in the producers' layouts ------------------------------------------


def _client(host: str, repository: str) -> RegistryClient:
    return RegistryClient(RegistryRef(host=host, repository=repository), insecure=True)


def _descriptor(
    client: RegistryClient, media_type: str, data: bytes, **extra: Any
) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": client.push_blob(data), "size": len(data), **extra}


def _push_image(client: RegistryClient, content: bytes, tag: str = "v1") -> tuple[str, int]:
    """An image (OCI config and one layer) under ``tag``: (manifest digest, size)."""
    layer = _descriptor(client, "application/vnd.oci.image.layer.v1.tar", content)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
        "config": {},
    }
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _descriptor(
                client, "application/vnd.oci.image.config.v1+json", canonical(config)
            ),
            "layers": [layer],
        }
    )
    client.put_manifest(tag, manifest, MANIFEST_TYPE)
    return digest_of(manifest), len(manifest)


def _certificate() -> str:
    """A PEM certificate, as cosign keeps a keyless signer's in the layer annotations."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-intermediate")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(minutes=10))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _push_att(
    client: RegistryClient,
    image_digest: str,
    envelopes: list[bytes],
    *,
    keyless: bool = False,
    tag: str | None = None,
) -> str:
    """cosign's attestation image: tag ``sha256-<hex>.att``, one DSSE layer per envelope."""
    layers = []
    for data in envelopes:
        annotations = {
            "dev.cosignproject.cosign/signature": "",
            "predicateType": json.loads(base64.b64decode(json.loads(data)["payload"]))[
                "predicateType"
            ],
        }
        if keyless:
            pem = _certificate()
            annotations["dev.sigstore.cosign/certificate"] = pem
            annotations["dev.sigstore.cosign/chain"] = pem
            annotations["dev.sigstore.cosign/bundle"] = json.dumps(
                {
                    "SignedEntryTimestamp": base64.b64encode(b"set").decode(),
                    "Payload": {
                        "body": base64.b64encode(b"{}").decode(),
                        "integratedTime": 1740770291,
                        "logIndex": 175508996,
                        "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
                    },
                }
            )
        layers.append(_descriptor(client, DSSE, data, annotations=annotations))
    config = {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}] * len(layers),
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        "config": {},
    }
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _descriptor(
                client, "application/vnd.oci.image.config.v1+json", canonical(config)
            ),
            "layers": layers,
        }
    )
    name = tag or image_digest.replace(":", "-") + ".att"
    client.put_manifest(name, manifest, MANIFEST_TYPE)
    return name


def _push_referrer(
    client: RegistryClient,
    subject: tuple[str, int],
    artifact_type: str,
    layers: list[tuple[str, bytes]],
) -> dict[str, Any]:
    """An OCI 1.1 referrer (GitHub's and cosign's layout): its descriptor, for an index."""
    client.push_blob(EMPTY_DATA)
    doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": artifact_type,
        "config": EMPTY_DESCRIPTOR,
        "layers": [_descriptor(client, media_type, data) for media_type, data in layers],
        "subject": {"mediaType": MANIFEST_TYPE, "digest": subject[0], "size": subject[1]},
        "annotations": {
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1",
            "org.opencontainers.image.created": "2025-02-28T19:18:11.000Z",
        },
    }
    data = canonical(doc)
    client.put_manifest(digest_of(data), data, MANIFEST_TYPE)
    return {
        "mediaType": MANIFEST_TYPE,
        "digest": digest_of(data),
        "size": len(data),
        "artifactType": artifact_type,
    }


def _push_fallback_index(
    client: RegistryClient, image_digest: str, descriptors: list[dict[str, Any]]
) -> None:
    """The distribution spec's referrers tag schema: ``sha256-<hex>`` holds an image index."""
    index = canonical({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": descriptors})
    client.put_manifest(image_digest.replace(":", "-"), index, INDEX_TYPE)


def _stage_envelope(tmp_path: Path, image_digest: str, key: str = "ci") -> bytes:
    data, _ = envelope(signer(tmp_path, key), "build", {"image": image_digest.split(":")[1]})
    return data


def _policy(tmp_path: Path, key: str = "ci") -> Path:
    path = tmp_path / f"policy-{key}.yaml"
    path.write_text(
        "version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\n"
        f"keys:\n  {key}: {tmp_path / 'keys' / key}.pub\n"
        f"stages:\n  - name: build\n    signed_by: [{key}]\n"
    )
    return path


def _import(image: str, store: Path, *extra: str) -> int:
    return main(["import", "--image", image, "--store", str(store), "--insecure-registry", *extra])


def _stored(store: Path) -> int:
    return len(open_store(str(store)).all()) if store.exists() else 0


def _verify(tmp_path: Path, policy: Path, store: Path, digest: str) -> int:
    return main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(store),
            "--no-log",
            "--image-digest",
            digest,
            "--format",
            "json",
        ]
    )


@pytest.fixture
def repository(registry: str) -> tuple[str, str]:
    """(host, repository): a fresh repository in the session's registry."""
    return registry, f"gatekeeper-test/att{uuid.uuid4().hex[:12]}"


# -- cosign's .att tag, on a real docker-registry -----------------------------------------


def test_cosign_att_tag_imports_and_verifies_under_the_right_key(
    tmp_path: Path, repository: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    host, repo = repository
    client = _client(host, repo)
    digest, _ = _push_image(client, b"app image")
    other_digest, _ = _push_image(client, b"another image", tag="v2")
    _push_att(client, digest, [_stage_envelope(tmp_path, digest)], keyless=True)
    # Near-misses, never read for v1: another image's .att, and tags that only look alike.
    _push_att(client, other_digest, [_stage_envelope(tmp_path, other_digest)])
    _push_att(client, digest, [_stage_envelope(tmp_path, other_digest)], tag="v1.att")
    hexpart = digest.split(":")[1]
    _push_att(
        client, digest, [_stage_envelope(tmp_path, other_digest)], tag=f"sha256-{hexpart}.sig"
    )
    store = tmp_path / "store"

    assert _import(f"{host}/{repo}:v1", store) == 0
    captured = capsys.readouterr()
    assert f"image {host}/{repo}@{digest} (v1)" in captured.out
    assert f"{host}/{repo}:sha256-{hexpart}.att#layers[0]: gatekeeper for stage build" in (
        captured.out
    )
    assert captured.out.count(" -> ") == 1
    assert "layer annotations dev.sigstore.cosign/certificate (the signing certificate), " in (
        captured.err
    )
    assert "dev.sigstore.cosign/bundle (the Rekor entry and its signed timestamp) not read" in (
        captured.err
    )
    assert _stored(store) == 1

    signer(tmp_path, "other")
    assert _verify(tmp_path, _policy(tmp_path), store, digest) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"
    assert _verify(tmp_path, _policy(tmp_path, "other"), store, digest) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "block"
    # The other image's attestation was not imported: nothing passes for its digest.
    assert _verify(tmp_path, _policy(tmp_path), store, other_digest) == 1


def test_an_image_by_digest_gets_its_own_att_only(
    tmp_path: Path, repository: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    host, repo = repository
    client = _client(host, repo)
    digest, _ = _push_image(client, b"app image")
    other_digest, _ = _push_image(client, b"another image", tag="v2")
    _push_att(client, other_digest, [_stage_envelope(tmp_path, other_digest)])
    _push_att(
        client, digest, [_stage_envelope(tmp_path, digest), _stage_envelope(tmp_path, digest)]
    )
    store = tmp_path / "store"
    assert _import(f"{host}/{repo}@{digest}", store) == 0
    out = capsys.readouterr().out
    assert f"image {host}/{repo}@{digest}\n" in out
    assert out.count(" -> ") == 2
    assert _verify(tmp_path, _policy(tmp_path), store, digest) == 0


def test_nothing_attached_is_exit_1_and_imports_nothing(
    tmp_path: Path, repository: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    host, repo = repository
    client = _client(host, repo)
    digest, _ = _push_image(client, b"app image")
    other_digest, _ = _push_image(client, b"another image", tag="v2")
    _push_att(client, other_digest, [_stage_envelope(tmp_path, other_digest)])
    _push_att(client, digest, [_stage_envelope(tmp_path, digest)], tag="v1.att")
    store = tmp_path / "store"
    assert _import(f"{host}/{repo}:v1", store) == 1
    captured = capsys.readouterr()
    assert f"{host}/{repo}@{digest}: no attestation attached" in captured.err
    assert f"tag sha256-{digest.split(':')[1]}.att" in captured.err
    assert "nothing imported" in captured.err
    assert _stored(store) == 0


# -- GitHub's bundle referrers, through the fallback tag on a real docker-registry --------


def test_github_bundle_referrer_through_the_fallback_tag(
    tmp_path: Path, repository: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    host, repo = repository
    client = _client(host, repo)
    image = _push_image(client, b"app image")
    other = _push_image(client, b"another image", tag="v2")
    bundle = GITHUB_BUNDLE.read_bytes().strip()
    descriptors = [
        _push_referrer(client, image, BUNDLE, [(BUNDLE, bundle)]),
        # An SBOM attached the same way: named in a note, skipped.
        _push_referrer(client, image, "application/spdx+json", [("application/spdx+json", b"{}")]),
        # Listed under this image, but its subject is another one: not attached to it.
        _push_referrer(client, other, BUNDLE, [(BUNDLE, bundle)]),
    ]
    _push_fallback_index(client, image[0], descriptors)
    store = tmp_path / "store"
    assert _import(f"{host}/{repo}:v1", store) == 0
    captured = capsys.readouterr()
    assert "(Sigstore bundle, kept whole)" in captured.out
    assert captured.out.count(" -> ") == 1
    assert "artifact type application/spdx+json, not an attestation; skipped" in captured.err
    assert f"its subject is not {image[0]}; skipped" in captured.err
    assert _stored(store) == 1

    # The published bundle's statement is about MODULE.bazel: verify it from the store.
    def verify(policy: Path) -> int:
        args = ["verify", "--policy", str(policy), "--store", str(store), "--no-log"]
        return main([*args, "--format", "json", str(ARTIFACT)])

    wanted = identity(
        PUBLISHER,
        source_repository="https://github.com/aspect-build/rules_lint",
        runner_environment="github-hosted",
    )
    policy = write_policy(tmp_path, {"publisher": wanted}, provenance={"builder_ids": [PUBLISHER]})
    assert verify(policy) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"
    other_identity = identity(PUBLISHER.replace("v0.0.1", "v0.0.2"))
    assert verify(write_policy(tmp_path, {"publisher": other_identity})) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "block"


# -- the referrers API, digest checks and caps, on the local fake -------------------------


def _fake_image(port: int) -> tuple[RegistryClient, tuple[str, int]]:
    client = _client(f"127.0.0.1:{port}", "acme/app")
    return client, _push_image(client, b"app image")


def test_referrers_api_cosign_and_github_layouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        # cosign's referrer mode: artifact type in-toto, DSSE layers; and a bundle (GitHub).
        _push_referrer(
            client,
            image,
            "application/vnd.in-toto+json",
            [(DSSE, _stage_envelope(tmp_path, image[0]))],
        )
        _push_referrer(client, image, BUNDLE, [(BUNDLE, GITHUB_BUNDLE.read_bytes().strip())])
        _push_referrer(client, image, "application/vnd.dev.cosign.artifact.sig.v1+json", [])
        store = tmp_path / "store"
        assert _import(f"127.0.0.1:{reg.port}/acme/app@{image[0]}", store) == 0
        captured = capsys.readouterr()
        assert captured.out.count(" -> ") == 2
        assert "application/vnd.dev.cosign.artifact.sig.v1+json, not an attestation" in (
            captured.err
        )
        assert any("/referrers/" in path for _, path, _ in reg.requests)
        assert _stored(store) == 2
        assert _verify(tmp_path, _policy(tmp_path), store, image[0]) == 0


def test_only_other_artifact_types_attached_is_exit_1_with_each_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        sbom = _push_referrer(client, image, "application/spdx+json", [])
        # A type crafted to rewrite the terminal is printed escaped.
        _push_referrer(client, image, "application/x\x1b[2Jevil", [])
        # A supported type whose only layer is something else: the layer is named, skipped.
        _push_referrer(client, image, BUNDLE, [("application/octet-stream", b"\x00")])
        # The fallback tag is read too (referrers pushed before the registry had the API).
        bad = {"mediaType": MANIFEST_TYPE, "digest": "sha256:\x1b]0;x", "size": 1}
        _push_fallback_index(client, image[0], [bad])
        store = tmp_path / "store"
        assert _import(f"127.0.0.1:{reg.port}/acme/app:v1", store) == 1
        err = capsys.readouterr().err
        assert "artifact type application/spdx+json, not an attestation; skipped" in err
        assert '"application/x\\u001b[2Jevil"' in err
        assert "\x1b" not in err
        assert "media type application/octet-stream is neither a Sigstore bundle" in err
        assert 'a referrer listed as "sha256:\\u001b]0;x", not a digest; skipped' in err
        assert "no attestation attached" in err
        # A referrer listed with another artifact type is skipped without being read.
        reads = [path for method, path, _ in reg.requests if method == "GET"]
        assert not any(sbom["digest"] in path for path in reads)
        assert _stored(store) == 0


def test_a_layer_whose_bytes_do_not_match_its_digest_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        data = _stage_envelope(tmp_path, image[0])
        _push_att(client, image[0], [data])
        reg.corrupt_blobs.add(digest_of(data))
        store = tmp_path / "store"
        assert _import(f"127.0.0.1:{reg.port}/acme/app:v1", store) == 2
        assert "content does not match its digest" in capsys.readouterr().err
        assert _stored(store) == 0


def test_a_layer_that_is_not_an_attestation_is_refused_as_a_file_would_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        unsigned = json.loads(_stage_envelope(tmp_path, image[0]))
        unsigned["signatures"] = []
        _push_att(
            client, image[0], [_stage_envelope(tmp_path, image[0]), json.dumps(unsigned).encode()]
        )
        store = tmp_path / "store"
        assert _import(f"127.0.0.1:{reg.port}/acme/app:v1", store) == 2
        assert "#layers[1]: the DSSE envelope carries no signature" in capsys.readouterr().err
        assert _stored(store) == 0  # checked before anything is stored


@pytest.mark.parametrize(
    ("cap", "value", "says"),
    [
        ("MAX_LOOKUP_ENVELOPES", 2, "MAX_LOOKUP_ENVELOPES"),
        ("MAX_READ_BYTES", 2000, "MAX_READ_BYTES"),
        ("MAX_BLOB_BYTES", 100, "MAX_BLOB_BYTES"),
    ],
)
def test_caps_are_errors_naming_the_cap(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cap: str,
    value: int,
    says: str,
) -> None:
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        _push_att(client, image[0], [_stage_envelope(tmp_path, image[0])] * 3)
        monkeypatch.setattr(f"gatekeeper.store.attached.{cap}", value)
        store = tmp_path / "store"
        assert _import(f"127.0.0.1:{reg.port}/acme/app:v1", store) == 2
        assert says in capsys.readouterr().err
        assert _stored(store) == 0


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("127.0.0.1:5/acme/app", "name a tag or a digest"),
        ("acme/app:v1", "name the registry host"),
        ("127.0.0.1:5/acme/app@sha256:abc", "is not a sha256 or sha512 digest"),
        ("127.0.0.1:5/Acme/app:v1", "not a valid repository name component"),
    ],
)
def test_malformed_references_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str, says: str
) -> None:
    assert _import(ref, tmp_path / "store") == 2
    assert says in capsys.readouterr().err


def test_an_image_the_registry_does_not_have_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_registry(referrers=True) as reg:
        assert _import(f"127.0.0.1:{reg.port}/acme/app:v9", tmp_path / "store") == 2
        assert "the registry has no such manifest" in capsys.readouterr().err


def test_import_needs_files_or_an_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import"]) == 2
    assert "--image REF" in capsys.readouterr().err


def test_sha256_of_layers_is_what_the_descriptor_says(tmp_path: Path) -> None:
    """The pushed layout is what cosign writes: the layer is the envelope's exact bytes."""
    data = _stage_envelope(tmp_path, "sha256:" + hashlib.sha256(b"x").hexdigest())
    with fake_registry(referrers=True) as reg:
        client, image = _fake_image(reg.port)
        tag = _push_att(client, image[0], [data])
        manifest = client.get_manifest(tag)
        assert manifest is not None
        [layer] = json.loads(manifest.data)["layers"]
        assert layer["mediaType"] == DSSE
        assert layer["digest"] == digest_of(data)
        assert client.get_blob(layer["digest"]) == data


def test_insecure_registry_means_plain_http_only_for_a_loopback_image() -> None:
    _, remote = open_image("registry.example/acme/app:v1", insecure=True)
    assert remote.scheme == "https"  # the flag was for a loopback store; the image keeps TLS
    _, local = open_image("127.0.0.1:5000/acme/app:v1", insecure=True)
    assert local.scheme == "http"
    _, default = open_image("127.0.0.1:5000/acme/app:v1")
    assert default.scheme == "https"
