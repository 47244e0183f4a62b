"""Build real OCI image layouts and ``docker save`` archives in code, for the container tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_layer(files: dict[str, bytes], *, compress: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    data = buf.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


def make_config(
    *,
    user: str | None = "1000",
    env: list[str] | None = None,
    labels: dict[str, str] | None = None,
    ports: list[str] | None = None,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    diff_ids: list[str] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    cfg: dict[str, Any] = {"Env": env if env is not None else ["PATH=/usr/bin:/bin"]}
    if user is not None:
        cfg["User"] = user
    if labels:
        cfg["Labels"] = labels
    if ports:
        cfg["ExposedPorts"] = {p: {} for p in ports}
    if entrypoint is not None:
        cfg["Entrypoint"] = entrypoint
    if cmd is not None:
        cfg["Cmd"] = cmd
    config: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids or []},
    }
    if history is not None:
        config["history"] = history
    return config


def _blob(root: Path, data: bytes) -> str:
    digest = sha(data)
    path = root / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True).encode()


def write_oci_layout(
    root: Path,
    *,
    config: dict[str, Any] | None = None,
    layers: list[bytes] | None = None,
    layer_media_type: str = LAYER_TAR,
    tag: str | None = "v1",
    manifest_annotations: dict[str, str] | None = None,
    wrap_in_index: bool = False,
    sbom: dict[str, Any] | None = None,
    sbom_media_type: str = "application/vnd.cyclonedx+json",
    extra_images: list[str] | None = None,
) -> dict[str, str]:
    """Write an OCI image layout; returns the digests (manifest, config, index, top)."""
    root.mkdir(parents=True, exist_ok=True)
    layers = layers if layers is not None else [make_layer({"app/main.py": b"print('hi')\n"})]
    layer_descs = [
        {"mediaType": layer_media_type, "digest": _blob(root, data), "size": len(data)}
        for data in layers
    ]
    if config is None:
        config = make_config()
    if not config["rootfs"]["diff_ids"]:
        config["rootfs"]["diff_ids"] = [f"sha256:{sha(d)}" for d in layers]
    config_bytes = _json(config)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": _blob(root, config_bytes),
            "size": len(config_bytes),
        },
        "layers": layer_descs,
    }
    if manifest_annotations:
        manifest["annotations"] = manifest_annotations
    manifest_bytes = _json(manifest)
    manifest_digest = _blob(root, manifest_bytes)
    manifest_desc: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "digest": manifest_digest,
        "size": len(manifest_bytes),
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    out = {"manifest": manifest_digest, "config": manifest["config"]["digest"]}
    attached: list[dict[str, Any]] = []
    if sbom is not None:
        sbom_bytes = _json(sbom)
        empty = b"{}"
        referrer = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": sbom_media_type,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": _blob(root, empty),
                "size": len(empty),
            },
            "layers": [
                {
                    "mediaType": sbom_media_type,
                    "digest": _blob(root, sbom_bytes),
                    "size": len(sbom_bytes),
                }
            ],
            "subject": {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
            },
        }
        referrer_bytes = _json(referrer)
        attached.append(
            {
                "mediaType": OCI_MANIFEST,
                "artifactType": sbom_media_type,
                "digest": _blob(root, referrer_bytes),
                "size": len(referrer_bytes),
            }
        )
    top_desc = manifest_desc
    top_list: list[dict[str, Any]]
    if wrap_in_index:
        nested = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [manifest_desc, *attached],
        }
        nested_bytes = _json(nested)
        top_desc = {
            "mediaType": OCI_INDEX,
            "digest": _blob(root, nested_bytes),
            "size": len(nested_bytes),
        }
        out["index"] = top_desc["digest"]
        top_list = [top_desc]
    else:
        top_list = [top_desc, *attached]
    if tag is not None:
        top_desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    for other in extra_images or []:
        data = _json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": manifest["config"],
                "layers": layer_descs,
                "annotations": {"org.example.variant": other},
            }
        )
        top_list.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": _blob(root, data),
                "size": len(data),
                "annotations": {"org.opencontainers.image.ref.name": other},
            }
        )
    (root / "oci-layout").write_bytes(_json({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_bytes(
        _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": top_list})
    )
    out["top"] = top_desc["digest"]
    return out


def tar_directory(src: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w") as tar:
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=path.relative_to(src).as_posix(), recursive=False)
    return dest


def write_docker_save(
    dest: Path,
    *,
    config: dict[str, Any] | None = None,
    layers: list[bytes] | None = None,
    repo_tags: list[str] | None = None,
    modern: bool = False,
    tmp: Path | None = None,
) -> dict[str, str]:
    """A ``docker save`` tarball: legacy (``<id>/layer.tar``) or Docker 25+ (OCI inside)."""
    layers = layers if layers is not None else [make_layer({"app/main.py": b"print('hi')\n"})]
    config = config if config is not None else make_config()
    config["rootfs"]["diff_ids"] = [f"sha256:{sha(d)}" for d in layers]
    repo_tags = repo_tags if repo_tags is not None else ["example/app:1.0"]
    if modern:
        assert tmp is not None
        layout = tmp / "docker-save-layout"
        out = write_oci_layout(layout, config=config, layers=layers, tag=None)
        index = json.loads((layout / "index.json").read_text())
        index["manifests"][0]["annotations"] = {
            "io.containerd.image.name": f"docker.io/{repo_tags[0]}",
            "org.opencontainers.image.ref.name": repo_tags[0].rpartition(":")[2],
        }
        (layout / "index.json").write_bytes(_json(index))
        manifest = [
            {
                "Config": f"blobs/sha256/{out['config'].removeprefix('sha256:')}",
                "RepoTags": repo_tags,
                "Layers": [f"blobs/sha256/{sha(d)}" for d in layers],
            }
        ]
        (layout / "manifest.json").write_bytes(_json(manifest))
        tar_directory(layout, dest)
        return out
    config_bytes = _json(config)
    config_id = sha(config_bytes)
    members: dict[str, bytes] = {f"{config_id}.json": config_bytes}
    layer_paths = []
    for data in layers:
        layer_id = sha(data + b"id")
        members[f"{layer_id}/layer.tar"] = data
        members[f"{layer_id}/VERSION"] = b"1.0"
        layer_paths.append(f"{layer_id}/layer.tar")
    members["manifest.json"] = _json(
        [{"Config": f"{config_id}.json", "RepoTags": repo_tags, "Layers": layer_paths}]
    )
    with tarfile.open(dest, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {"config": f"sha256:{config_id}"}
