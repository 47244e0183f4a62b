"""Image evidence from OCI layouts and docker-save archives, and hostile archives."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from gatekeeper.container.image import SBOM_LABEL, read_image, resolve_image_subject
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import Limits
from tests.container.imagebuild import (
    LAYER_GZIP,
    make_config,
    make_layer,
    sha,
    tar_directory,
    write_docker_save,
    write_oci_layout,
)

GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_oci_layout_records_what_is_in_the_image(tmp_path: Path) -> None:
    layers = [
        make_layer({"etc/os-release": b"ID=test\n"}),
        make_layer({"app/main.py": b"print(1)\n"}, compress=True),
    ]
    config = make_config(
        user="app",
        ports=["8080/tcp", "443/tcp"],
        entrypoint=["/app/run"],
        cmd=["--serve"],
        labels={"org.opencontainers.image.title": "demo"},
        env=["PATH=/bin", f"GITHUB_TOKEN={GHP}"],
    )
    digests = write_oci_layout(
        tmp_path / "layout",
        config=config,
        layers=layers[:1],
        tag="v1",
        manifest_annotations={
            "org.opencontainers.image.base.name": "docker.io/library/debian:12",
            "org.opencontainers.image.base.digest": "sha256:" + "a" * 64,
        },
    )
    image = read_image(f"oci:{tmp_path / 'layout'}:v1")
    assert image.format == "oci-layout"
    assert image.name == "v1"
    assert image.manifest_digest == digests["manifest"]
    assert image.config_digest == digests["config"]
    assert (image.os, image.architecture) == ("linux", "amd64")
    assert image.user == "app"
    assert image.entrypoint == ["/app/run"] and image.cmd == ["--serve"]
    assert image.exposed_ports == ["443/tcp", "8080/tcp"]
    assert image.labels == {"org.opencontainers.image.title": "demo"}
    assert [layer.digest for layer in image.layers] == [f"sha256:{sha(layers[0])}"]
    assert image.total_size == len(layers[0])
    assert image.base_name == "docker.io/library/debian:12"
    assert image.base_digest == "sha256:" + "a" * 64
    secret_env = [e for e in image.env if e.secret]
    assert [e.name for e in secret_env] == ["GITHUB_TOKEN"]
    dumped = json.dumps(image.model_dump())
    assert GHP not in dumped  # never stored, only the redacted form and the hash
    assert secret_env[0].value == "ghp_…(40 chars)"
    assert secret_env[0].secret is not None and secret_env[0].secret.sha256 == sha(GHP.encode())


def test_gzip_layers_are_verified_and_listed(tmp_path: Path) -> None:
    layer = make_layer({"root/.npmrc": b"//registry/:_authToken=x\n", "app/a": b"a"}, compress=True)
    write_oci_layout(tmp_path / "l", layers=[layer], layer_media_type=LAYER_GZIP)
    image = read_image(f"oci:{tmp_path / 'l'}")
    assert image.layers[0].media_type == LAYER_GZIP
    assert image.layers[0].secret_files == ["root/.npmrc"]


def test_tag_selects_among_several_images_and_untagged_is_refused(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "l", tag="v1", extra_images=["v2"])
    assert read_image(f"oci:{tmp_path / 'l'}:v2").name == "v2"
    with pytest.raises(InvalidInput, match="2 images in the layout"):
        read_image(f"oci:{tmp_path / 'l'}")
    with pytest.raises(InvalidInput, match="no image tagged 'v9'"):
        read_image(f"oci:{tmp_path / 'l'}:v9")


def test_index_wrapping_one_image_with_sbom_referrer(tmp_path: Path) -> None:
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {"name": "openssl", "version": "3.0.13", "purl": "pkg:deb/debian/openssl@3.0.13"},
            {"name": "zlib", "version": "1.3", "components": [{"name": "inner", "version": "1"}]},
        ],
    }
    digests = write_oci_layout(tmp_path / "l", wrap_in_index=True, sbom=sbom)
    image = read_image(f"oci:{tmp_path / 'l'}")
    assert image.index_digest == digests["index"]
    assert image.manifest_digest == digests["manifest"]
    assert image.sbom_format == "cyclonedx"
    assert [(p.name, p.version) for p in image.packages] == [
        ("inner", "1"),
        ("openssl", "3.0.13"),
        ("zlib", "1.3"),
    ]
    name, hexdigest = resolve_image_subject(f"oci:{tmp_path / 'l'}:v1")
    assert (name, hexdigest) == ("v1", digests["index"].removeprefix("sha256:"))


def test_spdx_sbom_from_label(tmp_path: Path) -> None:
    root = tmp_path / "l"
    spdx = json.dumps(
        {
            "spdxVersion": "SPDX-2.3",
            "packages": [
                {
                    "name": "musl",
                    "versionInfo": "1.2.4",
                    "externalRefs": [
                        {"referenceType": "purl", "referenceLocator": "pkg:apk/alpine/musl@1.2.4"}
                    ],
                }
            ],
        }
    ).encode()
    blob = root / "blobs" / "sha256" / sha(spdx)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(spdx)
    write_oci_layout(root, config=make_config(labels={SBOM_LABEL: f"sha256:{sha(spdx)}"}))
    image = read_image(f"oci:{root}")
    assert image.sbom_format == "spdx"
    assert image.packages[0].purl == "pkg:apk/alpine/musl@1.2.4"


def test_no_sbom_means_no_packages(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "l")
    image = read_image(f"oci:{tmp_path / 'l'}")
    assert image.sbom_format is None and image.packages == []


def test_legacy_docker_save(tmp_path: Path) -> None:
    layers = [make_layer({"bin/sh": b"#!"}), make_layer({"home/app/.git-credentials": b"x"})]
    out = write_docker_save(
        tmp_path / "img.tar",
        layers=layers,
        config=make_config(
            user="",
            history=[
                {
                    "created_by": "|1 NPM_TOKEN=npm_"
                    + "Zx9Yw8Vu7Ts6Rq5P"
                    + "o4Nm3Lk2Ji1Hg0FeDcBa /bin/sh -c x"
                },
                {"created_by": '/bin/sh -c #(nop) CMD ["sh"]'},
            ],
        ),
    )
    image = read_image(f"docker-archive:{tmp_path / 'img.tar'}")
    assert image.format == "docker-archive"
    assert image.name == "example/app:1.0"
    assert image.manifest_digest is None
    assert image.config_digest == out["config"]
    assert [layer.digest for layer in image.layers] == [f"sha256:{sha(d)}" for d in layers]
    assert image.layers[1].secret_files == ["home/app/.git-credentials"]
    assert [e.name for e in image.history_secrets] == ["history[0]:NPM_TOKEN"]
    with pytest.raises(InvalidInput, match="legacy docker-save archive has no image manifest"):
        resolve_image_subject(f"docker-archive:{tmp_path / 'img.tar'}")


def test_modern_docker_save_has_a_manifest_digest(tmp_path: Path) -> None:
    out = write_docker_save(tmp_path / "img.tar", modern=True, tmp=tmp_path)
    image = read_image(f"docker-archive:{tmp_path / 'img.tar'}")
    assert image.manifest_digest == out["manifest"]
    assert image.name == "docker.io/example/app:1.0"
    name, hexdigest = resolve_image_subject(f"docker-archive:{tmp_path / 'img.tar'}")
    assert name == "docker.io/example/app:1.0"
    assert hexdigest == out["manifest"].removeprefix("sha256:")


def test_oci_archive(tmp_path: Path) -> None:
    out = write_oci_layout(tmp_path / "l", tag="stable")
    tar_directory(tmp_path / "l", tmp_path / "l.tar")
    image = read_image(f"oci-archive:{tmp_path / 'l.tar'}:stable")
    assert image.manifest_digest == out["manifest"]


@pytest.mark.parametrize(
    "ref",
    ["ghcr.io/acme/app:1", "oci:", "docker://x", "oci:/no/such/dir", "docker-archive:/no/such.tar"],
)
def test_bad_references(ref: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_image_subject(ref)


# -- tampered and hostile inputs ------------------------------------------------------------


def test_manifest_whose_digest_does_not_match_its_bytes(tmp_path: Path) -> None:
    digests = write_oci_layout(tmp_path / "l")
    blob = tmp_path / "l" / "blobs" / "sha256" / digests["manifest"].removeprefix("sha256:")
    doc = json.loads(blob.read_bytes())
    doc["annotations"] = {"evil": "1"}
    data = json.dumps(doc).encode()
    blob.write_bytes(data)
    index_path = tmp_path / "l" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"][0]["size"] = len(data)  # a consistent size; only the digest is wrong
    index_path.write_text(json.dumps(index))
    with pytest.raises(InvalidInput, match="does not match its digest"):
        read_image(f"oci:{tmp_path / 'l'}")
    with pytest.raises(InvalidInput, match="does not match its digest"):
        resolve_image_subject(f"oci:{tmp_path / 'l'}")


def test_layer_whose_bytes_were_swapped(tmp_path: Path) -> None:
    layer = make_layer({"a": b"original"})
    write_oci_layout(tmp_path / "l", layers=[layer])
    blob = tmp_path / "l" / "blobs" / "sha256" / sha(layer)
    evil = make_layer({"a": b"backdoor"})
    assert len(evil) == len(layer)
    blob.write_bytes(evil)
    with pytest.raises(InvalidInput, match="does not match its digest"):
        read_image(f"oci:{tmp_path / 'l'}")


def test_layer_shorter_than_its_descriptor(tmp_path: Path) -> None:
    layer = make_layer({"a": b"x" * 5000})
    write_oci_layout(tmp_path / "l", layers=[layer])
    blob = tmp_path / "l" / "blobs" / "sha256" / sha(layer)
    blob.write_bytes(layer[:1024])
    with pytest.raises(InvalidInput, match="descriptor says"):
        read_image(f"oci:{tmp_path / 'l'}")


def test_malformed_digest_cannot_name_a_path(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "l")
    index_path = tmp_path / "l" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    index_path.write_text(json.dumps(index))
    with pytest.raises(InvalidInput, match="malformed digest"):
        read_image(f"oci:{tmp_path / 'l'}")


def test_symlinked_blob_in_a_layout_is_refused(tmp_path: Path) -> None:
    digests = write_oci_layout(tmp_path / "l")
    config_blob = tmp_path / "l" / "blobs" / "sha256" / digests["config"].removeprefix("sha256:")
    outside = tmp_path / "outside.json"
    outside.write_bytes(config_blob.read_bytes())
    config_blob.unlink()
    config_blob.symlink_to(outside)
    with pytest.raises(InvalidInput, match="symlink"):
        read_image(f"oci:{tmp_path / 'l'}")


def test_malformed_json_in_index(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "l")
    (tmp_path / "l" / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_image(f"oci:{tmp_path / 'l'}")


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _assert_nothing_written(tmp_path: Path, before: set[str]) -> None:
    after = {str(p) for p in tmp_path.rglob("*")}
    assert after == before


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([_file("../evil.txt", b"x"), _file("manifest.json", b"[]")], "path traversal"),
        ([_file("blobs/../../evil", b"x")], "path traversal"),
        ([_file("/etc/evil", b"x")], "absolute path"),
        ([_link("manifest.json", "../../../../etc/passwd")], "points outside the archive"),
        ([_link("manifest.json", "/etc/passwd")], "absolute path"),
        ([_link("blobs/x", "../../outside", tarfile.LNKTYPE)], "points outside the archive"),
        ([_file("manifest.json", b"[]"), _file("manifest.json", b"[{}]")], "appears twice"),
    ],
)
def test_hostile_archive_members_are_rejected(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    archive = _archive(tmp_path / "evil.tar", members)
    before = {str(p) for p in tmp_path.rglob("*")}
    with pytest.raises(InvalidInput, match=message):
        read_image(f"docker-archive:{archive}")
    _assert_nothing_written(tmp_path, before)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_ten_gigabyte_declared_size_is_rejected(tmp_path: Path) -> None:
    info = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
    info.size = 10 * 1024**3
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    archive = tmp_path / "huge.tar"
    archive.write_bytes(header + b"\0" * 4096)  # far fewer bytes than declared
    with pytest.raises(InvalidInput, match="declares 10737418240 bytes"):
        read_image(f"docker-archive:{archive}")
    # And a real limit on what may be declared at all, whatever the archive holds.
    small = _archive(tmp_path / "ok.tar", [_file("manifest.json", b"x" * 2048)])
    with pytest.raises(InvalidInput, match="over the 1024-byte limit"):
        read_image(f"docker-archive:{small}", Limits(max_declared_bytes=1024))


def test_too_many_members(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "many.tar", [_file(f"f{i}", b"") for i in range(30)])
    with pytest.raises(InvalidInput, match="more than 20 archive members"):
        read_image(f"docker-archive:{archive}", Limits(max_archive_members=20))


def test_truncated_archive(tmp_path: Path) -> None:
    write_docker_save(tmp_path / "img.tar", layers=[make_layer({"a": os.urandom(20000)})])
    data = (tmp_path / "img.tar").read_bytes()
    with tarfile.open(tmp_path / "img.tar") as tar:
        last = tar.getmembers()[-1]
    # Inside a layer, inside the last member's data, and cleanly before the last member.
    for cut in (len(data) // 3, last.offset_data + 10, last.offset):
        (tmp_path / "cut.tar").write_bytes(data[:cut])
        with pytest.raises(InvalidInput):
            read_image(f"docker-archive:{tmp_path / 'cut.tar'}")


def test_not_a_tar_at_all(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(InvalidInput, match="not a readable tar archive"):
        read_image(f"docker-archive:{tmp_path / 'x.tar'}")


def test_legacy_layer_not_matching_diff_id(tmp_path: Path) -> None:
    write_docker_save(tmp_path / "img.tar", layers=[make_layer({"a": b"1"})])
    with tarfile.open(tmp_path / "img.tar") as tar:
        members = [
            (m, tar.extractfile(m).read() if m.isreg() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        ]
    swapped = []
    for info, data in members:
        if info.name.endswith("layer.tar"):
            data = make_layer({"a": b"2"})
            info.size = len(data)
        swapped.append((info, data))
    archive = _archive(tmp_path / "swapped.tar", swapped)
    with pytest.raises(InvalidInput, match="does not match its digest"):
        read_image(f"docker-archive:{archive}")


def test_symlinked_layer_inside_archive_is_followed_within_it(tmp_path: Path) -> None:
    # docker save de-duplicates identical layers with relative symlinks; those are fine.
    layer = make_layer({"a": b"1"})
    config = make_config(diff_ids=[f"sha256:{sha(layer)}"] * 2)
    config_bytes = json.dumps(config).encode()
    manifest = json.dumps(
        [
            {
                "Config": f"{sha(config_bytes)}.json",
                "RepoTags": ["x:1"],
                "Layers": ["one/layer.tar", "two/layer.tar"],
            }
        ]
    ).encode()
    archive = _archive(
        tmp_path / "dedup.tar",
        [
            _file(f"{sha(config_bytes)}.json", config_bytes),
            _file("one/layer.tar", layer),
            _link("two/layer.tar", "../one/layer.tar"),
            _file("manifest.json", manifest),
        ],
    )
    image = read_image(f"docker-archive:{archive}")
    assert len(image.layers) == 2


def test_gzip_compressed_docker_save_and_its_truncation(tmp_path: Path) -> None:
    import gzip

    write_docker_save(tmp_path / "img.tar", layers=[make_layer({"a": os.urandom(50000)})])
    data = gzip.compress((tmp_path / "img.tar").read_bytes())
    (tmp_path / "img.tar.gz").write_bytes(data)
    image = read_image(f"docker-archive:{tmp_path / 'img.tar.gz'}")
    assert image.name == "example/app:1.0" and len(image.layers) == 1
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInput):
        read_image(f"docker-archive:{tmp_path / 'cut.tar.gz'}")


def test_symlink_loop_inside_archive(tmp_path: Path) -> None:
    archive = _archive(
        tmp_path / "loop.tar", [_link("manifest.json", "a"), _link("a", "manifest.json")]
    )
    with pytest.raises(InvalidInput, match="too many levels of links"):
        read_image(f"docker-archive:{archive}")


@pytest.mark.parametrize(
    ("section", "value"),
    [("Env", {"A": "1"}), ("Env", ["A=1", 5]), ("Labels", ["a"]), ("ExposedPorts", "80/tcp")],
)
def test_malformed_config_sections(tmp_path: Path, section: str, value: object) -> None:
    config = make_config()
    config["config"][section] = value
    write_oci_layout(tmp_path / "l", config=config)
    with pytest.raises(InvalidInput, match=section):
        read_image(f"oci:{tmp_path / 'l'}")


def test_buildx_attestation_manifest_with_spdx_statement(tmp_path: Path) -> None:
    root = tmp_path / "l"
    digests = write_oci_layout(root, tag=None)
    index = json.loads((root / "index.json").read_text())
    image_desc = index["manifests"][0]

    def blob(data: bytes) -> dict[str, object]:
        path = root / "blobs" / "sha256" / sha(data)
        path.write_bytes(data)
        return {"digest": f"sha256:{sha(data)}", "size": len(data)}

    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": "pkg:docker/app", "digest": {"sha256": "0" * 64}}],
            "predicate": {
                "spdxVersion": "SPDX-2.3",
                "packages": [{"name": "busybox", "versionInfo": "1.36.1"}],
            },
        }
    ).encode()
    empty = blob(b"{}")
    attestation = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **empty},
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    **blob(statement),
                    "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
                }
            ],
        }
    ).encode()
    nested = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                image_desc,
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    **blob(attestation),
                    "platform": {"os": "unknown", "architecture": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": digests["manifest"],
                    },
                },
            ],
        }
    ).encode()
    top = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        **blob(nested),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    image = read_image(f"oci:{root}")
    assert image.manifest_digest == digests["manifest"]
    assert image.index_digest == top["digest"]
    assert image.sbom_format == "spdx"
    assert [(p.name, p.version) for p in image.packages] == [("busybox", "1.36.1")]


def test_one_image_under_two_names_is_one_image(tmp_path: Path) -> None:
    digests = write_oci_layout(tmp_path / "l", tag="1.0")
    index_path = tmp_path / "l" / "index.json"
    index = json.loads(index_path.read_text())
    again = dict(index["manifests"][0], annotations={"org.opencontainers.image.ref.name": "latest"})
    index["manifests"].append(again)
    index_path.write_text(json.dumps(index))
    image = read_image(f"oci:{tmp_path / 'l'}")
    assert image.manifest_digest == digests["manifest"] and image.name == "1.0"
    assert read_image(f"oci:{tmp_path / 'l'}:latest").name == "latest"
