"""Image evidence from an OCI image layout or a ``docker save`` archive, without an engine.

References::

    oci:DIR[:TAG]              an OCI image layout directory (index.json -> manifest -> config)
    oci-archive:FILE[:TAG]     the same layout inside a tar file
    docker-archive:FILE        a ``docker save`` tarball (manifest.json; its OCI index.json when
                               present, as written by Docker 25 and later)

SECURITY: an image archive is hostile input. Nothing is ever extracted or written: the tar
index is read in place and blobs are streamed. Every blob is hashed as it is read and compared
with the digest that names it before its content is trusted (JSON) or recorded (layers).
Archives are rejected with ``InvalidInput`` when a member name is absolute or climbs out with
``..``, a link points outside the archive, a member declares more bytes than the archive holds
or than the limits allow, there are too many members, a name appears twice, a blob's bytes do
not match its digest or size, or the archive is truncated.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import re
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from gatekeeper._fileio import loads_json_strict
from gatekeeper.container.secret import classify, is_secret_file, redact_text
from gatekeeper.errors import InvalidInput
from gatekeeper.models.container import Image, ImageEnv, Layer, Package
from gatekeeper.models.policy import Limits

_CHUNK = 1024 * 1024
_MAX_JSON = 16 * 1024 * 1024  # index, manifest, config
_MAX_SBOM = 64 * 1024 * 1024
_MAX_SECRET_FILES = 100  # per layer, in the evidence
_MAX_LINK_DEPTH = 8
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_INDEX_TYPES = frozenset({MT_OCI_INDEX, MT_DOCKER_LIST})
_MANIFEST_TYPES = frozenset({MT_OCI_MANIFEST, MT_DOCKER_MANIFEST})
_TAR_LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
_REF_NAME = "org.opencontainers.image.ref.name"
_CONTAINERD_NAME = "io.containerd.image.name"
_BASE_NAME = "org.opencontainers.image.base.name"
_BASE_DIGEST = "org.opencontainers.image.base.digest"
_REFERENCE_TYPE = "vnd.docker.reference.type"
_REFERENCE_DIGEST = "vnd.docker.reference.digest"
# A config label naming an SBOM blob stored in the same layout or archive (documented).
SBOM_LABEL = "dev.gatekeeper.sbom"
_SBOM_TYPES = {
    "application/vnd.cyclonedx+json": "cyclonedx",
    "application/spdx+json": "spdx",
}
_SBOM_PREDICATES = {
    "https://cyclonedx.org/bom": "cyclonedx",
    "https://spdx.dev/Document": "spdx",
}


# -- reading blobs ------------------------------------------------------------------------


class _HashingReader:
    """Reads a stream while hashing and counting it, refusing more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, what: str) -> None:
        self.raw = raw
        self.limit = limit
        self.what = what
        self.count = 0
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        data = self.raw.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise InvalidInput(f"{self.what}: more bytes than its descriptor declares")
        self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def _check_digest(digest: object, what: str) -> str:
    """The hex part of a sha256 digest; anything else is rejected (it also names a path)."""
    if not isinstance(digest, str):
        raise InvalidInput(f"{what}: digest missing")
    match = _DIGEST.match(digest)
    if not match:
        raise InvalidInput(f"{what}: unsupported or malformed digest {digest!r} (sha256 only)")
    return match.group(1)


class _Source(Protocol):
    label: str

    def exists(self, name: str) -> bool: ...

    def open(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def size(self, name: str) -> int: ...


class _DirSource:
    """An OCI layout directory. Symlinks are refused, so nothing outside it is read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def _path(self, name: str) -> Path:
        parts = name.split("/")
        if name.startswith("/") or ".." in parts:
            raise InvalidInput(f"{self.label}: {name!r} escapes the layout")
        path = self.root
        for part in parts:
            path = path / part
            # SECURITY: a link in the layout could make us read (and report on) any file.
            if path.is_symlink():
                raise InvalidInput(f"{self.label}: {name!r} is a symlink; refusing to follow it")
        return path

    def exists(self, name: str) -> bool:
        path = self._path(name)
        return path.exists()

    def size(self, name: str) -> int:
        path = self._path(name)
        try:
            info = path.stat()
        except OSError as exc:
            raise InvalidInput(f"{self.label}: {name} is missing") from exc
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{self.label}: {name} is not a regular file")
        return info.st_size

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        path = self._path(name)
        self.size(name)
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise InvalidInput(f"{self.label}: cannot read {name}: {exc.strerror}") from exc
        with handle:
            try:
                yield handle
            except OSError as exc:
                raise InvalidInput(f"{self.label}: cannot read {name}: {exc}") from exc


class _TarSource:
    """A tar archive read in place: its index is checked member by member, nothing extracted."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.label = str(path)
        self.members: dict[str, tarfile.TarInfo] = {}
        try:
            self.file_size = path.stat().st_size
            self.tar = tarfile.open(path, mode="r:*")
        except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
            raise InvalidInput(f"{path}: not a readable tar archive: {exc}") from exc
        self.compressed = _is_compressed(path)
        try:
            self._index(limits)
        except BaseException:
            self.tar.close()
            raise

    def close(self) -> None:
        self.tar.close()

    def _index(self, limits: Limits) -> None:
        total = 0
        count = 0
        while True:
            try:
                info = self.tar.next()
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise InvalidInput(f"{self.label}: truncated or corrupt archive: {exc}") from exc
            if info is None:
                break
            # NOTE: TarFile keeps every member it reads; we keep our own index instead.
            self.tar.members = []  # type: ignore[attr-defined]
            count += 1
            if count > limits.max_archive_members:
                raise InvalidInput(
                    f"{self.label}: more than {limits.max_archive_members} archive members"
                )
            name = _member_name(info.name, self.label)
            if info.size > limits.max_declared_bytes:
                raise InvalidInput(
                    f"{self.label}: member {name!r} declares {info.size} bytes, over the "
                    f"{limits.max_declared_bytes}-byte limit"
                )
            if not self.compressed and info.offset_data + info.size > self.file_size:
                raise InvalidInput(
                    f"{self.label}: member {name!r} declares {info.size} bytes but the archive "
                    f"ends before them (truncated or forged size)"
                )
            total += info.size
            if total > limits.max_declared_bytes:
                raise InvalidInput(
                    f"{self.label}: members declare more than {limits.max_declared_bytes} bytes"
                )
            if info.issym() or info.islnk():
                _link_target(info, name, self.label)
            elif not (info.isreg() or info.isdir()):
                raise InvalidInput(f"{self.label}: member {name!r} is a device or fifo")
            if name in self.members and not info.isdir():
                raise InvalidInput(f"{self.label}: member {name!r} appears twice")
            self.members[name] = info
        if not self.members:
            raise InvalidInput(f"{self.label}: empty archive")

    def _resolve(self, name: str) -> tarfile.TarInfo:
        for _ in range(_MAX_LINK_DEPTH):
            info = self.members.get(name)
            if info is None:
                raise InvalidInput(f"{self.label}: {name} is missing from the archive")
            if not (info.issym() or info.islnk()):
                if not info.isreg():
                    raise InvalidInput(f"{self.label}: {name} is not a regular file")
                return info
            name = _link_target(info, name, self.label)
        raise InvalidInput(f"{self.label}: {name}: too many levels of links")

    def exists(self, name: str) -> bool:
        return name in self.members

    def size(self, name: str) -> int:
        return self._resolve(name).size

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        info = self._resolve(name)
        handle = self.tar.extractfile(info)
        if handle is None:
            raise InvalidInput(f"{self.label}: {name} is not a regular file")
        with handle:
            try:
                yield handle
            except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
                raise InvalidInput(
                    f"{self.label}: {name} is truncated or unreadable: {exc}"
                ) from exc


def _is_compressed(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from exc
    return magic.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))


def _member_name(raw: str, label: str) -> str:
    """A member name relative to the archive root; absolute or climbing names are rejected."""
    name = raw.replace("\\", "/")
    # SECURITY: reject rather than sanitise; a crafted archive is not an image to audit.
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise InvalidInput(f"{label}: member {raw!r} has an absolute path")
    while name.startswith("./"):
        name = name[2:]
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidInput(f"{label}: member {raw!r} climbs out of the archive (path traversal)")
    return "/".join(parts)


def _link_target(info: tarfile.TarInfo, name: str, label: str) -> str:
    """Where a symlink or hard link points, inside the archive; outside is rejected."""
    target = info.linkname.replace("\\", "/")
    if target.startswith("/"):
        raise InvalidInput(f"{label}: link {name!r} points to the absolute path {target!r}")
    joined = posixpath.join(posixpath.dirname(name), target) if info.issym() else target
    normal = posixpath.normpath(joined)
    if normal == ".." or normal.startswith("../") or normal.startswith("/"):
        raise InvalidInput(f"{label}: link {name!r} points outside the archive ({target!r})")
    return normal.removeprefix("./")


@dataclass
class _Blobs:
    """Digest-addressed reads over a source (``blobs/sha256/<hex>``)."""

    source: _Source
    limits: Limits

    def path(self, digest: str, what: str) -> str:
        return f"blobs/sha256/{_check_digest(digest, what)}"

    def read_json(
        self,
        name: str,
        what: str,
        *,
        digest: str | None = None,
        size: int | None = None,
        cap: int = _MAX_JSON,
    ) -> tuple[Any, str]:
        """Read, verify (when a digest names it) and parse a JSON file; returns (doc, sha256)."""
        actual_size = self.source.size(name)
        if actual_size > cap:
            raise InvalidInput(
                f"{self.source.label}: {what} is {actual_size} bytes, over the {cap}-byte limit"
            )
        if size is not None and size != actual_size:
            raise InvalidInput(
                f"{self.source.label}: {what} is {actual_size} bytes but its descriptor says {size}"
            )
        with self.source.open(name) as handle:
            data = handle.read(cap + 1)
        if len(data) != actual_size:
            raise InvalidInput(f"{self.source.label}: {what} is truncated")
        sha = hashlib.sha256(data).hexdigest()
        if digest is not None and f"sha256:{sha}" != digest:
            raise InvalidInput(
                f"{self.source.label}: {what} does not match its digest {digest} "
                f"(its bytes hash to sha256:{sha})"
            )
        try:
            return loads_json_strict(data), sha
        except ValueError as exc:
            raise InvalidInput(f"{self.source.label}: {what} is not valid JSON: {exc}") from exc

    def blob_json(
        self, descriptor: dict[str, Any], what: str, cap: int = _MAX_JSON
    ) -> tuple[Any, str]:
        digest = descriptor.get("digest")
        size = descriptor.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"{self.source.label}: {what} descriptor has no valid size")
        doc, _ = self.read_json(
            self.path(str(digest), what), what, digest=str(digest), size=size, cap=cap
        )
        return doc, str(digest)

    def verify_layer(
        self, name: str, digest: str, size: int | None, media_type: str | None, what: str
    ) -> Layer:
        """Stream a layer: hash it, check size and digest, list credential-looking files."""
        actual_size = self.source.size(name)
        if size is not None and size != actual_size:
            raise InvalidInput(
                f"{self.source.label}: {what} is {actual_size} bytes but its descriptor says {size}"
            )
        expected = _check_digest(digest, what)
        secret_files: list[str] = []
        with self.source.open(name) as handle:
            reader = _HashingReader(handle, actual_size, f"{self.source.label}: {what}")
            if media_type is None or media_type in _TAR_LAYER_TYPES:
                secret_files = _scan_layer(reader, self.limits, f"{self.source.label}: {what}")
            reader.drain()
        if reader.count != actual_size:
            raise InvalidInput(f"{self.source.label}: {what} is truncated")
        if reader.hash.hexdigest() != expected:
            raise InvalidInput(
                f"{self.source.label}: {what} does not match its digest {digest} "
                f"(its bytes hash to sha256:{reader.hash.hexdigest()})"
            )
        return Layer(
            digest=digest, size=actual_size, media_type=media_type, secret_files=secret_files
        )


def _scan_layer(reader: _HashingReader, limits: Limits, what: str) -> list[str]:
    """Names of credential-looking files in a layer tar, read as a stream (never extracted)."""
    found: list[str] = []
    try:
        layer = tarfile.open(fileobj=reader, mode="r|*", bufsize=_CHUNK)  # type: ignore[call-overload]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InvalidInput(f"{what}: not a readable layer tar: {exc}") from exc
    declared = 0
    with layer:
        while True:
            try:
                info = layer.next()
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise InvalidInput(f"{what}: corrupt layer tar: {exc}") from exc
            if info is None:
                break
            # NOTE: stream mode; keep no index of a layer's (possibly millions of) files.
            layer.members = []
            declared += info.size
            if declared > limits.max_declared_bytes:
                raise InvalidInput(
                    f"{what}: layer declares more than {limits.max_declared_bytes} bytes"
                )
            name = info.name.removeprefix("./")
            if (
                info.isreg()
                and is_secret_file(name, strict=True)
                and len(found) < _MAX_SECRET_FILES
            ):
                found.append(name)
    return sorted(found)


# -- references -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    scheme: str
    path: Path
    tag: str | None


def parse_reference(ref: str) -> _Ref:
    """Split ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]`` or ``docker-archive:FILE``.

    Raises:
        InvalidInput: an unknown scheme or a path that does not exist.
    """
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in ("oci", "oci-archive", "docker-archive") or not rest:
        raise InvalidInput(
            f"image reference {ref!r}: use oci:DIR[:TAG], oci-archive:FILE[:TAG] or "
            f"docker-archive:FILE (gatekeeper reads images from disk, never from a registry "
            f"or a container engine)"
        )
    want_dir = scheme == "oci"

    def fits(path: Path) -> bool:
        return path.is_dir() if want_dir else path.is_file()

    if fits(Path(rest)):
        return _Ref(scheme, Path(rest), None)
    head, colon, tag = rest.rpartition(":")
    if colon and head and tag and "/" not in tag and fits(Path(head)):
        return _Ref(scheme, Path(head), tag)
    kind = "directory" if want_dir else "file"
    raise InvalidInput(f"image reference {ref!r}: no such {kind} {rest!r}")


# -- the image ------------------------------------------------------------------------------


def read_image(ref: str, limits: Limits | None = None, *, verify_layers: bool = True) -> Image:
    """Read an image's manifest, config and layers from disk into evidence.

    Raises:
        InvalidInput: a bad reference, or an archive that is malformed, hostile or corrupt.
    """
    limits = limits or Limits()
    parsed = parse_reference(ref)
    if parsed.scheme == "oci":
        return _read_layout(
            ref, _DirSource(parsed.path), parsed.tag, limits, "oci-layout", verify_layers
        )
    source = _TarSource(parsed.path, limits)
    try:
        if parsed.scheme == "oci-archive":
            return _read_layout(ref, source, parsed.tag, limits, "oci-archive", verify_layers)
        if source.exists("index.json") and source.exists("oci-layout"):
            return _read_layout(
                ref,
                source,
                parsed.tag,
                limits,
                "docker-archive",
                verify_layers,
                docker_names=_docker_names(source, limits),
            )
        if parsed.tag is not None:
            raise InvalidInput(f"{ref}: a legacy docker-save archive cannot select a tag")
        return _read_docker_legacy(ref, source, limits, verify_layers)
    finally:
        source.close()


def resolve_image_subject(ref: str) -> tuple[str, str]:
    """The subject for ``attest --image``: (name, manifest sha256 hex without the prefix).

    The digest is the one a registry would serve for the image: the manifest's, or the index
    wrapping it (a buildx export with attestations). The manifest and config are verified
    against their digests; layers are not re-hashed here (``collect container`` does that).

    Raises:
        InvalidInput: a bad reference or archive, or a legacy docker-save archive, which has no
            manifest digest to sign.
    """
    image = read_image(ref, verify_layers=False)
    digest = image.index_digest or image.manifest_digest
    if digest is None:
        raise InvalidInput(
            f"{ref}: a legacy docker-save archive has no image manifest, so no digest a registry "
            f"would know; save it with Docker 25 or later, or export an OCI layout "
            f"(docker buildx build --output type=oci,dest=image.tar)"
        )
    name = image.name or str(parse_reference(ref).path)
    return name, digest.removeprefix("sha256:")


def _docker_names(source: _Source, limits: Limits) -> list[str]:
    if not source.exists("manifest.json"):
        return []
    doc, _ = _Blobs(source, limits).read_json("manifest.json", "manifest.json")
    names: list[str] = []
    if isinstance(doc, list):
        for entry in doc:
            if isinstance(entry, dict) and isinstance(entry.get("RepoTags"), list):
                names.extend(str(t) for t in entry["RepoTags"])
    return names


def _descriptors(doc: Any, what: str, label: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise InvalidInput(f"{label}: {what} is not an image index (schemaVersion 2)")
    manifests = doc.get("manifests")
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise InvalidInput(f"{label}: {what} has no manifests list")
    return manifests


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    raw = obj.get("annotations")
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def _descriptor_name(desc: dict[str, Any]) -> str | None:
    notes = _annotations(desc)
    return notes.get(_CONTAINERD_NAME) or notes.get(_REF_NAME)


def _matches_tag(desc: dict[str, Any], tag: str) -> bool:
    notes = _annotations(desc)
    if notes.get(_REF_NAME) == tag:
        return True
    full = notes.get(_CONTAINERD_NAME, "")
    return full == tag or full.endswith(f":{tag}")


def _is_attachment(desc: dict[str, Any]) -> bool:
    notes = _annotations(desc)
    platform = desc.get("platform")
    return (
        _REFERENCE_TYPE in notes
        or "artifactType" in desc
        or (isinstance(platform, dict) and platform.get("os") == "unknown")
    )


def _read_layout(
    ref: str,
    source: _Source,
    tag: str | None,
    limits: Limits,
    fmt: str,
    verify_layers: bool,
    docker_names: list[str] | None = None,
) -> Image:
    blobs = _Blobs(source, limits)
    label = source.label
    if not source.exists("index.json"):
        raise InvalidInput(f"{label}: not an OCI image layout (no index.json)")
    if source.exists("oci-layout"):
        layout, _ = blobs.read_json("oci-layout", "oci-layout")
        if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
            raise InvalidInput(f"{label}: oci-layout has no imageLayoutVersion")
    elif fmt != "docker-archive":
        raise InvalidInput(f"{label}: not an OCI image layout (no oci-layout file)")
    index, _ = blobs.read_json("index.json", "index.json")
    top = _descriptors(index, "index.json", label)
    if tag is not None:
        chosen = [d for d in top if _matches_tag(d, tag)]
        if not chosen:
            tags = sorted({n for d in top if (n := _descriptor_name(d))})
            raise InvalidInput(f"{label}: no image tagged {tag!r} (tags: {', '.join(tags) or '-'})")
    else:
        chosen = [d for d in top if not _is_attachment(d)]
    # One image saved under several names (docker save a:1 a:latest) is listed once per name.
    by_digest: dict[str, dict[str, Any]] = {}
    for desc in chosen:
        by_digest.setdefault(str(desc.get("digest")), desc)
    chosen = list(by_digest.values())
    if len(chosen) != 1:
        tags = sorted({n for d in chosen if (n := _descriptor_name(d))})
        raise InvalidInput(
            f"{label}: {len(chosen)} images in the layout; name one with :TAG "
            f"(tags: {', '.join(tags) or '-'})"
        )
    desc = chosen[0]
    name = _descriptor_name(desc) or (docker_names[0] if docker_names else None)
    index_digest: str | None = None
    siblings = top
    if desc.get("mediaType") in _INDEX_TYPES:
        nested, index_digest = blobs.blob_json(desc, "image index")
        siblings = _descriptors(nested, f"image index {index_digest}", label)
        images = [d for d in siblings if not _is_attachment(d)]
        if len(images) != 1:
            platforms = sorted(_platform(d) for d in images)
            raise InvalidInput(
                f"{label}: the image index {index_digest} holds {len(images)} platform images "
                f"({', '.join(platforms)}); gatekeeper audits one image: export one platform"
            )
        desc = images[0]
    if desc.get("mediaType") not in _MANIFEST_TYPES:
        raise InvalidInput(f"{label}: unsupported manifest media type {desc.get('mediaType')!r}")
    manifest, manifest_digest = blobs.blob_json(desc, "image manifest")
    if not isinstance(manifest, dict) or manifest.get("schemaVersion") != 2:
        raise InvalidInput(f"{label}: image manifest {manifest_digest} is not schemaVersion 2")
    config_desc = manifest.get("config")
    layer_descs = manifest.get("layers")
    if (
        not isinstance(config_desc, dict)
        or not isinstance(layer_descs, list)
        or not all(isinstance(d, dict) for d in layer_descs)
    ):
        raise InvalidInput(f"{label}: image manifest {manifest_digest} has no config or layers")
    config, config_digest = blobs.blob_json(config_desc, "image config")
    layers: list[Layer] = []
    for i, layer_desc in enumerate(layer_descs):
        digest = str(layer_desc.get("digest"))
        what = f"layer {i} ({digest})"
        size = layer_desc.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"{label}: {what} descriptor has no valid size")
        media_type = layer_desc.get("mediaType")
        media = str(media_type) if media_type is not None else None
        path = blobs.path(digest, what)
        if verify_layers:
            layers.append(blobs.verify_layer(path, digest, size, media, what))
        else:
            if source.size(path) != size:
                raise InvalidInput(f"{label}: {what} is not {size} bytes as its descriptor says")
            layers.append(Layer(digest=digest, size=size, media_type=media))
    annotations = _annotations(manifest)
    image = _image_from_config(
        ref,
        fmt,
        name,
        manifest_digest,
        index_digest,
        config_digest,
        config,
        layers,
        annotations,
        label,
    )
    sbom = _find_sbom(blobs, siblings, top, manifest_digest, image.labels)
    if sbom is not None:
        image = image.model_copy(update=sbom)
    return image


def _platform(desc: dict[str, Any]) -> str:
    platform = desc.get("platform")
    if not isinstance(platform, dict):
        return "?"
    parts = [str(platform.get("os", "?")), str(platform.get("architecture", "?"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def _read_docker_legacy(ref: str, source: _TarSource, limits: Limits, verify_layers: bool) -> Image:
    label = source.label
    blobs = _Blobs(source, limits)
    if not source.exists("manifest.json"):
        raise InvalidInput(f"{label}: not a docker-save archive (no manifest.json)")
    doc, _ = blobs.read_json("manifest.json", "manifest.json")
    if not isinstance(doc, list) or len(doc) != 1 or not isinstance(doc[0], dict):
        count = len(doc) if isinstance(doc, list) else 0
        raise InvalidInput(f"{label}: manifest.json must describe exactly one image ({count})")
    entry = doc[0]
    config_name = entry.get("Config")
    layer_names = entry.get("Layers")
    if (
        not isinstance(config_name, str)
        or not isinstance(layer_names, list)
        or not all(isinstance(n, str) for n in layer_names)
    ):
        raise InvalidInput(f"{label}: manifest.json entry has no Config or Layers")
    config_name = _member_name(config_name, label)
    config, config_sha = blobs.read_json(config_name, f"image config {config_name}")
    # The config file is named by its digest (``<hex>.json`` or ``blobs/sha256/<hex>``).
    stem = posixpath.basename(config_name).removesuffix(".json")
    if re.fullmatch(r"[0-9a-f]{64}", stem) and stem != config_sha:
        raise InvalidInput(
            f"{label}: image config {config_name} does not match its digest "
            f"(its bytes hash to sha256:{config_sha})"
        )
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layer_names):
        raise InvalidInput(
            f"{label}: the config's rootfs.diff_ids do not list one digest per "
            f"layer of manifest.json"
        )
    layers: list[Layer] = []
    for i, (layer_name, diff_id) in enumerate(zip(layer_names, diff_ids, strict=True)):
        member = _member_name(layer_name, label)
        what = f"layer {i} ({member})"
        # Legacy layers are uncompressed tars, so the layer digest is the config's diff_id.
        digest = str(diff_id)
        _check_digest(digest, what)
        if verify_layers:
            layers.append(blobs.verify_layer(member, digest, None, None, what))
        else:
            layers.append(Layer(digest=digest, size=source.size(member)))
    tags = entry.get("RepoTags")
    name = str(tags[0]) if isinstance(tags, list) and tags else None
    return _image_from_config(
        ref, "docker-archive", name, None, None, f"sha256:{config_sha}", config, layers, {}, label
    )


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [redact_text(v) for v in value]
    return None


def _image_from_config(
    ref: str,
    fmt: str,
    name: str | None,
    manifest_digest: str | None,
    index_digest: str | None,
    config_digest: str,
    config: Any,
    layers: list[Layer],
    annotations: dict[str, str],
    label: str,
) -> Image:
    if not isinstance(config, dict):
        raise InvalidInput(f"{label}: the image config is not a JSON object")
    cfg = config.get("config") or {}
    if not isinstance(cfg, dict):
        raise InvalidInput(f"{label}: the image config's config section is not an object")
    env: list[ImageEnv] = []
    raw_env = cfg.get("Env") or []
    if not isinstance(raw_env, list):
        raise InvalidInput(f"{label}: the image config's Env is not a list")
    for item in raw_env:
        if not isinstance(item, str):
            raise InvalidInput(f"{label}: the image config's Env holds a non-string")
        key, _, value = item.partition("=")
        secret = classify(key, value)
        env.append(ImageEnv(name=key, value=secret.redacted if secret else value, secret=secret))
    labels_raw = cfg.get("Labels") or {}
    if not isinstance(labels_raw, dict):
        raise InvalidInput(f"{label}: the image config's Labels is not an object")
    labels: dict[str, str] = {}
    label_secrets: list[ImageEnv] = []
    for key, value in labels_raw.items():
        secret = classify(str(key), str(value))
        labels[str(key)] = secret.redacted if secret else redact_text(str(value))
        if secret is not None:
            label_secrets.append(ImageEnv(name=str(key), value=secret.redacted, secret=secret))
    ports = cfg.get("ExposedPorts") or {}
    if not isinstance(ports, dict):
        raise InvalidInput(f"{label}: the image config's ExposedPorts is not an object")
    user = cfg.get("User")
    return Image(
        reference=ref,
        format=fmt,
        name=name,
        manifest_digest=manifest_digest,
        index_digest=index_digest,
        config_digest=config_digest,
        os=_opt_str(config.get("os")),
        architecture=_opt_str(config.get("architecture")),
        variant=_opt_str(config.get("variant")),
        created=_opt_str(config.get("created")),
        user=user if isinstance(user, str) else None,
        entrypoint=_str_list(cfg.get("Entrypoint")),
        cmd=_str_list(cfg.get("Cmd")),
        working_dir=_opt_str(cfg.get("WorkingDir")),
        exposed_ports=sorted(str(p) for p in ports),
        env=env,
        history_secrets=_history_secrets(config.get("history")),
        command_secrets=_command_secrets(cfg),
        labels=dict(sorted(labels.items())),
        label_secrets=label_secrets,
        layers=layers,
        total_size=sum(layer.size for layer in layers),
        base_name=annotations.get(_BASE_NAME) or labels.get(_BASE_NAME),
        base_digest=annotations.get(_BASE_DIGEST) or labels.get(_BASE_DIGEST),
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _command_secrets(cfg: dict[str, Any]) -> list[ImageEnv]:
    """Tokens and ``--password=...`` literals among the Entrypoint and Cmd arguments.

    SECURITY: every container started from the image carries them; redacting them in the
    evidence without a finding would hide a leaked credential rather than report it.
    """
    found: list[ImageEnv] = []
    for field_name in ("Entrypoint", "Cmd"):
        args = cfg.get(field_name)
        if not isinstance(args, list):
            continue
        for i, arg in enumerate(args):
            if not isinstance(arg, str):
                continue
            key, eq, value = arg.partition("=")
            secret = (classify(key.lstrip("-"), value) if eq else None) or classify(None, arg)
            if secret is not None:
                found.append(
                    ImageEnv(name=f"{field_name}[{i}]", value=secret.redacted, secret=secret)
                )
    return found


_BUILD_ARGS = re.compile(r"^\|(\d+)\s+")


def _history_secrets(history: Any) -> list[ImageEnv]:
    """Build arguments and tokens that ``docker history`` would show (``|1 TOKEN=...``)."""
    found: list[ImageEnv] = []
    if not isinstance(history, list):
        return found
    for step, entry in enumerate(history):
        created_by = entry.get("created_by") if isinstance(entry, dict) else None
        if not isinstance(created_by, str):
            continue
        step_found: list[ImageEnv] = []
        match = _BUILD_ARGS.match(created_by)
        if match:
            words = created_by[match.end() :].split(" ")[: int(match.group(1))]
            for word in words:
                key, _, value = word.partition("=")
                secret = classify(key, value)
                if secret is not None:
                    step_found.append(
                        ImageEnv(
                            name=f"history[{step}]:{key}", value=secret.redacted, secret=secret
                        )
                    )
        if not step_found:
            secret = classify(None, created_by)
            if secret is not None:
                step_found.append(
                    ImageEnv(name=f"history[{step}]", value=secret.redacted, secret=secret)
                )
        found.extend(step_found)
    return found


# -- SBOMs ----------------------------------------------------------------------------------


def _find_sbom(
    blobs: _Blobs,
    siblings: list[dict[str, Any]],
    top: list[dict[str, Any]],
    manifest_digest: str,
    labels: dict[str, str],
) -> dict[str, Any] | None:
    """Best effort: an SBOM attached to the image, as packages.

    Looked for, in order: a buildx attestation manifest for the image (in-toto statements with
    an SPDX or CycloneDX predicate), an OCI referrer (a manifest whose ``subject`` is the image)
    carrying a CycloneDX or SPDX blob, and a config label ``dev.gatekeeper.sbom=sha256:...``
    naming a blob in the same layout. A digest mismatch is an error; an unreadable SBOM is not.
    """
    candidates = [*siblings, *[d for d in top if d not in siblings]]
    for desc in candidates:
        notes = _annotations(desc)
        is_attestation = (
            notes.get(_REFERENCE_TYPE) == "attestation-manifest"
            and notes.get(_REFERENCE_DIGEST) == manifest_digest
        )
        is_referrer = desc.get("artifactType") in _SBOM_TYPES or is_attestation
        if not is_referrer or desc.get("mediaType") not in _MANIFEST_TYPES:
            continue
        manifest, digest = blobs.blob_json(desc, "attached manifest")
        if not isinstance(manifest, dict):
            continue
        subject = manifest.get("subject")
        if not is_attestation and not (
            isinstance(subject, dict) and subject.get("digest") == manifest_digest
        ):
            continue
        for layer in manifest.get("layers") or []:
            if not isinstance(layer, dict):
                continue
            media = layer.get("mediaType")
            predicate = _annotations(layer).get("in-toto.io/predicate-type")
            fmt = _SBOM_TYPES.get(str(media)) or _SBOM_PREDICATES.get(str(predicate))
            if fmt is None:
                continue
            doc, blob_digest = blobs.blob_json(layer, "SBOM", cap=_MAX_SBOM)
            if media == "application/vnd.in-toto+json" and isinstance(doc, dict):
                doc = doc.get("predicate")
            packages = _sbom_packages(fmt, doc)
            if packages is not None:
                return {
                    "sbom_format": fmt,
                    "sbom_source": f"{digest} -> {blob_digest}",
                    "packages": packages,
                }
    label_digest = labels.get(SBOM_LABEL)
    if label_digest:
        doc, _ = blobs.read_json(
            blobs.path(label_digest, "SBOM label"), "SBOM blob", digest=label_digest, cap=_MAX_SBOM
        )
        for fmt in ("cyclonedx", "spdx"):
            packages = _sbom_packages(fmt, doc)
            if packages:
                return {
                    "sbom_format": fmt,
                    "sbom_source": f"label {SBOM_LABEL}",
                    "packages": packages,
                }
    return None


def _sbom_packages(fmt: str, doc: Any) -> list[Package] | None:
    if not isinstance(doc, dict):
        return None
    found: dict[tuple[str, str, str], Package] = {}
    if fmt == "cyclonedx":
        if "components" not in doc and doc.get("bomFormat") != "CycloneDX":
            return None
        stack = list(doc.get("components") or [])
        while stack:
            comp = stack.pop()
            if not isinstance(comp, dict):
                continue
            stack.extend(comp.get("components") or [])
            _add_package(found, comp.get("name"), comp.get("version"), comp.get("purl"))
    else:
        if "packages" not in doc and "spdxVersion" not in doc:
            return None
        for pkg in doc.get("packages") or []:
            if not isinstance(pkg, dict):
                continue
            purl = None
            for ref in pkg.get("externalRefs") or []:
                if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                    purl = ref.get("referenceLocator")
            _add_package(found, pkg.get("name"), pkg.get("versionInfo"), purl)
    return [found[k] for k in sorted(found)]


def _add_package(
    found: dict[tuple[str, str, str], Package], name: Any, version: Any, purl: Any
) -> None:
    if not isinstance(name, str) or not name:
        return
    version_s = version if isinstance(version, str) and version else None
    purl_s = purl if isinstance(purl, str) and purl else None
    found[(name, version_s or "", purl_s or "")] = Package(
        name=name, version=version_s, purl=purl_s
    )


__all__ = ["SBOM_LABEL", "parse_reference", "read_image", "resolve_image_subject"]
