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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import InvalidInput
from gatekeeper.models.container import Image, ImageEnv, Layer, Package
from gatekeeper.models.policy import Limits
from gatekeeper.secrets.classify import classify, is_secret_file, redact_text

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


_GZIP_MAGIC = b"\x1f\x8b"
# The ratio cap applies once a layer has inflated this much: small layers of text compress
# far better than big ones, and a bomb is caught long before it costs anything.
RATIO_WARMUP = 32 * 1024 * 1024


@dataclass
class _Inflated:
    """Bytes inflated from every layer of one image so far (``limits.max_inflated_bytes``)."""

    total: int = 0


class _GzipLayer:
    """A gzip layer read as the tar stream inside it, inflated in bounded steps.

    SECURITY: a 4.7 MB gzip member can inflate to gigabytes, and one unbounded
    ``decompress()`` call to a gigabyte at once. Every read asks zlib for at most ``size``
    bytes (``max_length``), and inflating stops with ``InvalidInput`` naming the cap when the
    layer gives more than ``limits.max_layer_inflated_bytes``, all layers more than
    ``limits.max_inflated_bytes``, or (after the first 32 MiB) more than
    ``limits.max_layer_ratio`` bytes per compressed byte. Concatenated gzip members are read on.
    """

    def __init__(self, raw: _Prefixed, limits: Limits, inflated: _Inflated, what: str) -> None:
        self.raw = raw
        self.limits = limits
        self.inflated = inflated
        self.what = what
        self.count = 0
        self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        out = b""
        while not out:
            if self.zlib.eof:
                # The next gzip member starts with what the last one left over.
                data = self.zlib.unused_data or self.raw.read(64 * 1024)
                self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self.zlib.unconsumed_tail or self.raw.read(64 * 1024)
            if not data:
                return b""
            try:
                out = self.zlib.decompress(data, size)
            except zlib.error as exc:
                raise InvalidInput(f"{self.what}: corrupt gzip layer: {exc}") from exc
        self._account(len(out))
        return out

    def _account(self, count: int) -> None:
        self.count += count
        self.inflated.total += count
        limits = self.limits
        if self.count > limits.max_layer_inflated_bytes:
            raise InvalidInput(
                f"{self.what}: the layer inflates to more than {limits.max_layer_inflated_bytes} "
                f"bytes (limits.max_layer_inflated_bytes)"
            )
        if self.inflated.total > limits.max_inflated_bytes:
            raise InvalidInput(
                f"{self.what}: the image's layers inflate to more than "
                f"{limits.max_inflated_bytes} bytes in total (limits.max_inflated_bytes)"
            )
        compressed = max(self.raw.count, 1)
        if self.count > RATIO_WARMUP and self.count > limits.max_layer_ratio * compressed:
            raise InvalidInput(
                f"{self.what}: the layer inflates {self.count // compressed}-fold, more than "
                f"limits.max_layer_ratio ({limits.max_layer_ratio}); a decompression bomb?"
            )


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


class _LayerStream(Protocol):
    def read(self, size: int = -1) -> bytes: ...


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
        while (info := self._next_member()) is not None:
            # NOTE: TarFile keeps every member it reads; we keep our own index instead.
            self.tar.members = []  # type: ignore[attr-defined]
            count += 1
            if count > limits.max_archive_members:
                raise InvalidInput(
                    f"{self.label}: more than {limits.max_archive_members} archive members"
                )
            name = _member_name(info.name, self.label)
            total = self._check_size(info, name, total, limits)
            self._check_kind(info, name)
            self.members[name] = info
        if not self.members:
            raise InvalidInput(f"{self.label}: empty archive")

    def _next_member(self) -> tarfile.TarInfo | None:
        try:
            return self.tar.next()
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise InvalidInput(f"{self.label}: truncated or corrupt archive: {exc}") from exc

    def _check_size(self, info: tarfile.TarInfo, name: str, total: int, limits: Limits) -> int:
        """The member's declared size fits the limits and the archive; returns the new total."""
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
        return total

    def _check_kind(self, info: tarfile.TarInfo, name: str) -> None:
        """Files, directories and links that stay inside the archive, each name once."""
        if info.issym() or info.islnk():
            _link_target(info, name, self.label)
        elif not (info.isreg() or info.isdir()):
            raise InvalidInput(f"{self.label}: member {name!r} is a device or fifo")
        if name in self.members and not info.isdir():
            raise InvalidInput(f"{self.label}: member {name!r} appears twice")

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
    inflated: _Inflated = field(default_factory=_Inflated)

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
                secret_files = self._scan(reader, f"{self.source.label}: {what}")
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

    def _scan(self, reader: _HashingReader, what: str) -> list[str]:
        """List a plain or gzip layer tar; any other compression is hashed, not listed."""
        head = reader.read(2)
        stream = _Prefixed(head, reader)
        if head == _GZIP_MAGIC:
            return _scan_layer(
                _GzipLayer(stream, self.limits, self.inflated, what), self.limits, what
            )
        if _compressed_otherwise(head):
            return []
        return _scan_layer(stream, self.limits, what)


class _Prefixed:
    """``head`` (already read) then the rest of ``reader``; counts like the reader."""

    def __init__(self, head: bytes, reader: _HashingReader) -> None:
        self.head = head
        self.reader = reader

    @property
    def count(self) -> int:
        return self.reader.count

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.reader.read(size)


def _compressed_otherwise(head: bytes) -> bool:
    """zstd (``28 b5``), bzip2 (``BZ``) or xz (``fd 37``): hashed, not listed."""
    return head in (b"\x28\xb5", b"BZ", b"\xfd7")


def _scan_layer(reader: _LayerStream, limits: Limits, what: str) -> list[str]:
    """Names of credential-looking files in a layer tar, read as a stream (never extracted).

    ``reader`` gives the plain tar (a gzip layer is inflated by ``_GzipLayer``, under caps).
    """
    found: list[str] = []
    try:
        layer = tarfile.open(fileobj=reader, mode="r|", bufsize=_CHUNK)  # type: ignore[call-overload]
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


_SCHEMES = ("oci", "oci-archive", "docker-archive")


def parse_reference(ref: str) -> _Ref:
    """Split ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]`` or ``docker-archive:FILE``.

    Raises:
        InvalidInput: an unknown scheme or a path that does not exist.
    """
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in _SCHEMES or not rest:
        raise InvalidInput(
            f"image reference {ref!r}: use oci:DIR[:TAG], oci-archive:FILE[:TAG] or "
            f"docker-archive:FILE (gatekeeper reads images from disk, never from a registry "
            f"or a container engine)"
        )
    want_dir = scheme == "oci"
    if _fits(Path(rest), want_dir):
        return _Ref(scheme, Path(rest), None)
    tagged = _split_tag(rest)
    if tagged is not None and _fits(Path(tagged[0]), want_dir):
        return _Ref(scheme, Path(tagged[0]), tagged[1])
    kind = "directory" if want_dir else "file"
    raise InvalidInput(f"image reference {ref!r}: no such {kind} {rest!r}")


def _fits(path: Path, want_dir: bool) -> bool:
    return path.is_dir() if want_dir else path.is_file()


def _split_tag(rest: str) -> tuple[str, str] | None:
    """``PATH:TAG`` as (PATH, TAG); None when ``rest`` does not end in a tag."""
    head, colon, tag = rest.rpartition(":")
    if colon and head and tag and "/" not in tag:
        return head, tag
    return None


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


@dataclass(frozen=True)
class _Origin:
    """Where an image's config was found: what the evidence says about the image itself."""

    reference: str
    format: str
    name: str | None
    manifest_digest: str | None
    index_digest: str | None
    config_digest: str
    label: str  # the layout or archive, for error messages


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
    _check_layout(blobs, fmt)
    index, _ = blobs.read_json("index.json", "index.json")
    top = _descriptors(index, "index.json", label)
    desc = _choose_image(top, tag, label)
    name = _descriptor_name(desc) or (docker_names[0] if docker_names else None)
    desc, index_digest, siblings = _platform_image(blobs, desc, top)
    manifest, manifest_digest, config_desc, layer_descs = _image_manifest(blobs, desc)
    config, config_digest = blobs.blob_json(config_desc, "image config")
    layers = [
        _layer(blobs, i, layer_desc, verify_layers) for i, layer_desc in enumerate(layer_descs)
    ]
    origin = _Origin(ref, fmt, name, manifest_digest, index_digest, config_digest, label)
    image = _image_from_config(origin, config, layers, _annotations(manifest))
    sbom = _find_sbom(blobs, siblings, top, manifest_digest, image.labels)
    if sbom is not None:
        image = image.model_copy(update=sbom)
    return image


def _check_layout(blobs: _Blobs, fmt: str) -> None:
    """An ``index.json`` and an ``oci-layout`` file (a docker save archive may lack the latter)."""
    source, label = blobs.source, blobs.source.label
    if not source.exists("index.json"):
        raise InvalidInput(f"{label}: not an OCI image layout (no index.json)")
    if source.exists("oci-layout"):
        layout, _ = blobs.read_json("oci-layout", "oci-layout")
        if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
            raise InvalidInput(f"{label}: oci-layout has no imageLayoutVersion")
    elif fmt != "docker-archive":
        raise InvalidInput(f"{label}: not an OCI image layout (no oci-layout file)")


def _choose_image(top: list[dict[str, Any]], tag: str | None, label: str) -> dict[str, Any]:
    """The one image of the layout: the one tagged ``tag``, else the only one there is."""
    # One image saved under several names (docker save a:1 a:latest) is listed once per name.
    by_digest: dict[str, dict[str, Any]] = {}
    for desc in _candidates(top, tag, label):
        by_digest.setdefault(str(desc.get("digest")), desc)
    if len(by_digest) != 1:
        raise InvalidInput(
            f"{label}: {len(by_digest)} images in the layout; name one with :TAG "
            f"(tags: {_tag_list(list(by_digest.values()))})"
        )
    return next(iter(by_digest.values()))


def _candidates(top: list[dict[str, Any]], tag: str | None, label: str) -> list[dict[str, Any]]:
    if tag is None:
        return [d for d in top if not _is_attachment(d)]
    chosen = [d for d in top if _matches_tag(d, tag)]
    if not chosen:
        raise InvalidInput(f"{label}: no image tagged {tag!r} (tags: {_tag_list(top)})")
    return chosen


def _tag_list(descs: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({n for d in descs if (n := _descriptor_name(d))})) or "-"


def _platform_image(
    blobs: _Blobs, desc: dict[str, Any], top: list[dict[str, Any]]
) -> tuple[dict[str, Any], str | None, list[dict[str, Any]]]:
    """For a multi-platform index: its one platform image, the index digest, its manifests.

    Any other descriptor is the image itself (no index digest; its siblings are ``top``).
    """
    if desc.get("mediaType") not in _INDEX_TYPES:
        return desc, None, top
    label = blobs.source.label
    nested, index_digest = blobs.blob_json(desc, "image index")
    siblings = _descriptors(nested, f"image index {index_digest}", label)
    images = [d for d in siblings if not _is_attachment(d)]
    if len(images) != 1:
        platforms = sorted(_platform(d) for d in images)
        raise InvalidInput(
            f"{label}: the image index {index_digest} holds {len(images)} platform images "
            f"({', '.join(platforms)}); gatekeeper audits one image: export one platform"
        )
    return images[0], index_digest, siblings


def _image_manifest(
    blobs: _Blobs, desc: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, Any], list[dict[str, Any]]]:
    """The image manifest: (manifest, its digest, the config descriptor, layer descriptors)."""
    label = blobs.source.label
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
    return manifest, manifest_digest, config_desc, layer_descs


def _layer(blobs: _Blobs, i: int, layer_desc: dict[str, Any], verify: bool) -> Layer:
    """Layer ``i``: hashed and scanned when ``verify``, else its size checked only."""
    digest = str(layer_desc.get("digest"))
    what = f"layer {i} ({digest})"
    size = layer_desc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput(f"{blobs.source.label}: {what} descriptor has no valid size")
    media_type = layer_desc.get("mediaType")
    media = str(media_type) if media_type is not None else None
    path = blobs.path(digest, what)
    if verify:
        return blobs.verify_layer(path, digest, size, media, what)
    if blobs.source.size(path) != size:
        raise InvalidInput(
            f"{blobs.source.label}: {what} is not {size} bytes as its descriptor says"
        )
    return Layer(digest=digest, size=size, media_type=media)


def _platform(desc: dict[str, Any]) -> str:
    platform = desc.get("platform")
    if not isinstance(platform, dict):
        return "?"
    parts = [str(platform.get("os", "?")), str(platform.get("architecture", "?"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def _read_docker_legacy(ref: str, source: _TarSource, limits: Limits, verify_layers: bool) -> Image:
    blobs = _Blobs(source, limits)
    entry, config_name, layer_names = _legacy_entry(blobs)
    config, config_sha = _legacy_config(blobs, config_name)
    diff_ids = _diff_ids(config, len(layer_names), source.label)
    layers = [
        _legacy_layer(blobs, i, layer_name, diff_id, verify_layers)
        for i, (layer_name, diff_id) in enumerate(zip(layer_names, diff_ids, strict=True))
    ]
    tags = entry.get("RepoTags")
    name = str(tags[0]) if isinstance(tags, list) and tags else None
    origin = _Origin(ref, "docker-archive", name, None, None, f"sha256:{config_sha}", source.label)
    return _image_from_config(origin, config, layers, {})


def _legacy_entry(blobs: _Blobs) -> tuple[dict[str, Any], str, list[str]]:
    """manifest.json's one entry: (the entry, its config member, its layer members)."""
    label = blobs.source.label
    if not blobs.source.exists("manifest.json"):
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
    return entry, _member_name(config_name, label), layer_names


def _legacy_config(blobs: _Blobs, config_name: str) -> tuple[Any, str]:
    """The config and its sha256, checked against its name (``<hex>.json``) when it has one."""
    config, config_sha = blobs.read_json(config_name, f"image config {config_name}")
    stem = posixpath.basename(config_name).removesuffix(".json")
    if re.fullmatch(r"[0-9a-f]{64}", stem) and stem != config_sha:
        raise InvalidInput(
            f"{blobs.source.label}: image config {config_name} does not match its digest "
            f"(its bytes hash to sha256:{config_sha})"
        )
    return config, config_sha


def _diff_ids(config: Any, count: int, label: str) -> list[Any]:
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != count:
        raise InvalidInput(
            f"{label}: the config's rootfs.diff_ids do not list one digest per "
            f"layer of manifest.json"
        )
    return diff_ids


def _legacy_layer(blobs: _Blobs, i: int, layer_name: str, diff_id: Any, verify: bool) -> Layer:
    member = _member_name(layer_name, blobs.source.label)
    what = f"layer {i} ({member})"
    # Legacy layers are uncompressed tars, so the layer digest is the config's diff_id.
    digest = str(diff_id)
    _check_digest(digest, what)
    if verify:
        return blobs.verify_layer(member, digest, None, None, what)
    return Layer(digest=digest, size=blobs.source.size(member))


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [redact_text(v) for v in value]
    return None


def _image_from_config(
    origin: _Origin, config: Any, layers: list[Layer], annotations: dict[str, str]
) -> Image:
    label = origin.label
    if not isinstance(config, dict):
        raise InvalidInput(f"{label}: the image config is not a JSON object")
    cfg = config.get("config") or {}
    if not isinstance(cfg, dict):
        raise InvalidInput(f"{label}: the image config's config section is not an object")
    env = _env(cfg, label)
    labels, label_secrets = _labels(cfg, label)
    ports = _ports(cfg, label)
    user = cfg.get("User")
    return Image(
        reference=origin.reference,
        format=origin.format,
        name=origin.name,
        manifest_digest=origin.manifest_digest,
        index_digest=origin.index_digest,
        config_digest=origin.config_digest,
        os=_opt_str(config.get("os")),
        architecture=_opt_str(config.get("architecture")),
        variant=_opt_str(config.get("variant")),
        created=_opt_str(config.get("created")),
        user=user if isinstance(user, str) else None,
        entrypoint=_str_list(cfg.get("Entrypoint")),
        cmd=_str_list(cfg.get("Cmd")),
        working_dir=_opt_str(cfg.get("WorkingDir")),
        exposed_ports=ports,
        env=env,
        history_secrets=_history_secrets(config.get("history")),
        command_secrets=_command_secrets(cfg),
        labels=labels,
        label_secrets=label_secrets,
        layers=layers,
        total_size=sum(layer.size for layer in layers),
        base_name=annotations.get(_BASE_NAME) or labels.get(_BASE_NAME),
        base_digest=annotations.get(_BASE_DIGEST) or labels.get(_BASE_DIGEST),
    )


def _ports(cfg: dict[str, Any], label: str) -> list[str]:
    ports = cfg.get("ExposedPorts") or {}
    if not isinstance(ports, dict):
        raise InvalidInput(f"{label}: the image config's ExposedPorts is not an object")
    return sorted(str(p) for p in ports)


def _env(cfg: dict[str, Any], label: str) -> list[ImageEnv]:
    """The config's Env, secret-looking values redacted."""
    raw_env = cfg.get("Env") or []
    if not isinstance(raw_env, list):
        raise InvalidInput(f"{label}: the image config's Env is not a list")
    env: list[ImageEnv] = []
    for item in raw_env:
        if not isinstance(item, str):
            raise InvalidInput(f"{label}: the image config's Env holds a non-string")
        key, _, value = item.partition("=")
        secret = classify(key, value)
        env.append(ImageEnv(name=key, value=secret.redacted if secret else value, secret=secret))
    return env


def _labels(cfg: dict[str, Any], label: str) -> tuple[dict[str, str], list[ImageEnv]]:
    """The config's Labels (sorted, secret-looking values redacted) and those secrets."""
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
    return dict(sorted(labels.items())), label_secrets


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
        found = _attached_sbom(blobs, desc, manifest_digest)
        if found is not None:
            return found
    return _label_sbom(blobs, labels)


def _attached_sbom(
    blobs: _Blobs, desc: dict[str, Any], manifest_digest: str
) -> dict[str, Any] | None:
    """The SBOM in ``desc`` when it is an attestation manifest or a referrer of the image."""
    is_attestation = _is_attestation_of(desc, manifest_digest)
    is_referrer = desc.get("artifactType") in _SBOM_TYPES or is_attestation
    if not is_referrer or desc.get("mediaType") not in _MANIFEST_TYPES:
        return None
    manifest, digest = blobs.blob_json(desc, "attached manifest")
    if not isinstance(manifest, dict):
        return None
    if not is_attestation and not _refers_to(manifest, manifest_digest):
        return None
    for layer in manifest.get("layers") or []:
        found = _sbom_layer(blobs, layer, digest)
        if found is not None:
            return found
    return None


def _is_attestation_of(desc: dict[str, Any], manifest_digest: str) -> bool:
    """Whether ``desc`` is buildx's attestation manifest for the image."""
    notes = _annotations(desc)
    return (
        notes.get(_REFERENCE_TYPE) == "attestation-manifest"
        and notes.get(_REFERENCE_DIGEST) == manifest_digest
    )


def _refers_to(manifest: dict[str, Any], manifest_digest: str) -> bool:
    """Whether an OCI referrer's ``subject`` is the image."""
    subject = manifest.get("subject")
    return isinstance(subject, dict) and subject.get("digest") == manifest_digest


def _sbom_layer(blobs: _Blobs, layer: Any, digest: str) -> dict[str, Any] | None:
    """The packages of an SBOM layer (a CycloneDX or SPDX document, or an in-toto statement)."""
    if not isinstance(layer, dict):
        return None
    media = layer.get("mediaType")
    predicate = _annotations(layer).get("in-toto.io/predicate-type")
    fmt = _SBOM_TYPES.get(str(media)) or _SBOM_PREDICATES.get(str(predicate))
    if fmt is None:
        return None
    doc, blob_digest = blobs.blob_json(layer, "SBOM", cap=_MAX_SBOM)
    if media == "application/vnd.in-toto+json" and isinstance(doc, dict):
        doc = doc.get("predicate")
    packages = _sbom_packages(fmt, doc)
    if packages is None:
        return None
    return {"sbom_format": fmt, "sbom_source": f"{digest} -> {blob_digest}", "packages": packages}


def _label_sbom(blobs: _Blobs, labels: dict[str, str]) -> dict[str, Any] | None:
    """The SBOM blob a ``dev.gatekeeper.sbom`` label names, in whichever format it is."""
    label_digest = labels.get(SBOM_LABEL)
    if not label_digest:
        return None
    doc, _ = blobs.read_json(
        blobs.path(label_digest, "SBOM label"), "SBOM blob", digest=label_digest, cap=_MAX_SBOM
    )
    for fmt in ("cyclonedx", "spdx"):
        packages = _sbom_packages(fmt, doc)
        if packages:
            return {"sbom_format": fmt, "sbom_source": f"label {SBOM_LABEL}", "packages": packages}
    return None


_Found = dict[tuple[str, str, str], Package]


def _sbom_packages(fmt: str, doc: Any) -> list[Package] | None:
    """The packages an SBOM lists, sorted; None when ``doc`` is not an SBOM of ``fmt``."""
    if not isinstance(doc, dict):
        return None
    read = _cyclonedx_packages if fmt == "cyclonedx" else _spdx_packages
    found = read(doc)
    if found is None:
        return None
    return [found[k] for k in sorted(found)]


def _cyclonedx_packages(doc: dict[str, Any]) -> _Found | None:
    if "components" not in doc and doc.get("bomFormat") != "CycloneDX":
        return None
    found: _Found = {}
    stack = list(doc.get("components") or [])
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        stack.extend(comp.get("components") or [])
        _add_package(found, comp.get("name"), comp.get("version"), comp.get("purl"))
    return found


def _spdx_packages(doc: dict[str, Any]) -> _Found | None:
    if "packages" not in doc and "spdxVersion" not in doc:
        return None
    found: _Found = {}
    for pkg in doc.get("packages") or []:
        if isinstance(pkg, dict):
            _add_package(found, pkg.get("name"), pkg.get("versionInfo"), _spdx_purl(pkg))
    return found


def _spdx_purl(pkg: dict[str, Any]) -> Any:
    """The locator of the package's (last) purl external reference, if any."""
    purl = None
    for ref in pkg.get("externalRefs") or []:
        if isinstance(ref, dict) and ref.get("referenceType") == "purl":
            purl = ref.get("referenceLocator")
    return purl


def _add_package(found: _Found, name: Any, version: Any, purl: Any) -> None:
    if not isinstance(name, str) or not name:
        return
    version_s = version if isinstance(version, str) and version else None
    purl_s = purl if isinstance(purl, str) and purl else None
    found[(name, version_s or "", purl_s or "")] = Package(
        name=name, version=version_s, purl=purl_s
    )


__all__ = ["SBOM_LABEL", "parse_reference", "read_image", "resolve_image_subject"]
