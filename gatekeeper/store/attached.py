"""Attestations attached to an image in a registry (``gatekeeper import --image REF``).

Two conventions attach attestations to an image manifest ``sha256:<hex>``:

* cosign's tag: ``sha256-<hex>.att`` holds an image manifest whose layers
  (``application/vnd.dsse.envelope.v1+json``) are DSSE envelopes; cosign keeps a layer's
  certificate, chain and Rekor entry in the layer descriptor's annotations
  (``dev.sigstore.cosign/certificate``, ``/chain``, ``/bundle``);
* OCI 1.1 referrers: manifests whose ``subject`` is the image, listed by the referrers API
  (``GET /v2/<name>/referrers/<digest>``) or, on a registry without it, by the image index the
  distribution spec's fallback tag ``sha256-<hex>`` holds. A referrer of artifact type
  ``application/vnd.dev.sigstore.bundle.v0.3+json`` (GitHub's attestations, ``cosign attest
  --new-bundle-format``) carries a Sigstore bundle per layer; one of type
  ``application/vnd.dsse.envelope.v1+json`` or ``application/vnd.in-toto+json`` (cosign's
  referrer mode) carries DSSE envelopes. Other artifact types (signatures, SBOMs) are named
  in a note and skipped.

Everything is read through :class:`RegistryClient` (authentication, bounded reads, digest
checks); each layer is then one document for the importer, checked exactly as a file's.

SECURITY: nothing read here is trusted: a layer whose bytes do not match its digest (or its
descriptor's size) is refused, a referrer whose ``subject`` is another manifest is not
attached to this image, and the verifier checks every signature and subject later. Caps: the
store's (``MAX_LOOKUP_ENVELOPES`` manifests and layers, ``MAX_READ_BYTES`` in all,
``MAX_MANIFEST_BYTES`` a manifest, ``MAX_BLOB_BYTES`` a layer, ``MAX_LIST_BYTES`` a listing).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.store._registry import (
    DOCKER_MANIFEST_TYPES,
    INDEX_TYPE,
    MANIFEST_TYPE,
    MAX_BLOB_BYTES,
    RegistryClient,
    RegistryRef,
    is_digest,
    is_loopback_host,
)
from gatekeeper.store.base import MAX_LOOKUP_ENVELOPES, MAX_READ_BYTES, ReadBudget, StoreLimitError

DSSE_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_TYPE = "application/vnd.in-toto+json"
BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
ATT_SUFFIX = ".att"

# What cosign keeps beside an ``.att`` layer, and why the importer does not read it.
COSIGN_ANNOTATIONS = {
    "dev.sigstore.cosign/certificate": "the signing certificate",
    "dev.sigstore.cosign/chain": "the certificate chain",
    "dev.sigstore.cosign/bundle": "the Rekor entry and its signed timestamp",
    "dev.sigstore.cosign/rfc3161timestamp": "an RFC 3161 timestamp",
}

_IMAGE_MANIFEST_TYPES = (MANIFEST_TYPE, DOCKER_MANIFEST_TYPES[0])
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_PLAIN_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+/;= -]{0,254}$")


def _shown(value: object) -> str:
    """A media or artifact type from the registry, safe to print (no control characters)."""
    if isinstance(value, str) and _PLAIN_TYPE.match(value):
        return value
    return json.dumps(value, ensure_ascii=True)[:120] if value is not None else "(none)"


def referrers_tag(digest: str) -> str:
    """The distribution spec's referrers tag schema: ``<alg>-<ref>``, the algorithm cut to
    32 characters and the encoded digest to 64."""
    alg, _, encoded = digest.partition(":")
    return f"{alg[:32]}-{encoded[:64]}"


@dataclass(frozen=True)
class ImageRef:
    """``HOST[:PORT]/REPO@sha256:<hex>`` or ``HOST[:PORT]/REPO:TAG``."""

    text: str
    registry: RegistryRef
    reference: str  # a digest or a tag

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Raises InvalidInput for anything but a registry host, a repository and a tag or
        digest (no default registry, no implicit ``latest``)."""
        name, at, digest = text.partition("@")
        if at:
            if not is_digest(digest):
                raise InvalidInput(f"--image {text}: {digest!r} is not a sha256 or sha512 digest")
            reference = digest
        else:
            head, colon, tag = name.rpartition(":")
            if not colon or "/" in tag:
                raise InvalidInput(
                    f"--image {text}: name a tag or a digest (HOST/REPO:TAG or "
                    "HOST/REPO@sha256:HEX); there is no implicit latest"
                )
            if not _TAG.match(tag):
                raise InvalidInput(f"--image {text}: {tag!r} is not a valid tag")
            name, reference = head, tag
        host = name.split("/", 1)[0]
        if "/" not in name or not ("." in host or ":" in host or host == "localhost"):
            raise InvalidInput(
                f"--image {text}: name the registry host (HOST[:PORT]/REPO...); "
                "there is no default registry"
            )
        if "://" in text:
            raise InvalidInput(f"--image {text}: no scheme (HOST[:PORT]/REPO:TAG)")
        return cls(text=text, registry=RegistryRef.parse(f"oci://{name}"), reference=reference)

    @property
    def name(self) -> str:
        return f"{self.registry.host}/{self.registry.repository}"


@dataclass
class Attached:
    """What is attached to one image manifest, ready for the importer."""

    image: ImageRef
    digest: str  # the image manifest's digest (a tag is resolved to it)
    documents: list[tuple[str, object, tuple[str, ...]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was looked at and skipped
    looked_at: list[str] = field(default_factory=list)


class _Reader:
    """Manifests and blobs of one repository, counted and charged against the caps."""

    def __init__(self, client: RegistryClient, where: str) -> None:
        self.client = client
        self.where = where
        self.budget = ReadBudget(where, MAX_READ_BYTES)
        self.items = 0

    def count(self, more: int, what: str) -> None:
        self.items += more
        if self.items > MAX_LOOKUP_ENVELOPES:
            raise StoreLimitError(
                f"{self.where}: more than {MAX_LOOKUP_ENVELOPES} manifests and layers attached "
                f"({what}); the store's cap on one lookup (MAX_LOOKUP_ENVELOPES)"
            )

    def _charged(self, size: int) -> None:
        try:
            self.budget.charge(size)
        except StoreLimitError as exc:
            raise StoreLimitError(
                f"{self.where}: more than {self.budget.limit} bytes of attached manifests and "
                "layers; the store's cap on one command (MAX_READ_BYTES)"
            ) from exc

    def manifest(self, reference: str) -> tuple[dict[str, Any], str, str] | None:
        """(document, digest, media type) of a manifest, digest-checked; None when absent."""
        found = self.client.get_manifest(reference)
        if found is None:
            return None
        self._charged(len(found.data))
        try:
            doc = loads_json_strict(found.data)
        except ValueError as exc:
            raise StoreError(f"{self.where}: manifest {reference} is not JSON") from exc
        if not isinstance(doc, dict):
            raise StoreError(f"{self.where}: manifest {reference} is not a JSON object")
        media_type = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else None
        return doc, found.digest, media_type or found.media_type

    def layer(self, descriptor: dict[str, Any], what: str) -> bytes:
        """A layer's bytes: its descriptor's digest and size checked. Raises StoreError."""
        digest, size = descriptor.get("digest"), descriptor.get("size")
        if not isinstance(digest, str) or not is_digest(digest):
            raise StoreError(f"{what}: descriptor without a valid digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise StoreError(f"{what}: descriptor without a valid size")
        if size > MAX_BLOB_BYTES:
            raise StoreLimitError(
                f"{what}: {size} bytes, more than the {MAX_BLOB_BYTES}-byte cap on a layer "
                "(MAX_BLOB_BYTES)"
            )
        self._charged(size)
        data = self.client.get_blob(digest)  # SECURITY: checked against the digest
        if data is None:
            raise StoreError(f"{what}: the registry has no blob {digest}")
        if len(data) != size:
            raise StoreError(f"{what}: {len(data)} bytes, its descriptor says {size}")
        return data


def _document(data: bytes, source: str) -> object:
    """A layer's JSON. Raises InvalidInput (as a file that is not JSON would)."""
    try:
        return loads_json_strict(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{source}: not a JSON document ({type(exc).__name__})") from exc


def _layers(doc: dict[str, Any], where: str) -> list[dict[str, Any]]:
    layers = doc.get("layers")
    if not isinstance(layers, list) or not all(isinstance(d, dict) for d in layers):
        raise StoreError(f"{where}: an image manifest without a list of layer descriptors")
    return layers


def _cosign_notes(descriptor: dict[str, Any]) -> tuple[str, ...]:
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return ()
    present = [
        f"{key} ({what})"
        for key, what in COSIGN_ANNOTATIONS.items()
        if isinstance(annotations.get(key), str) and annotations[key]
    ]
    if not present:
        return ()
    return (
        f"layer annotation{'s' if len(present) > 1 else ''} {', '.join(present)} not read: the "
        "envelope verifies only under a policy key; a keyless attestation verifies from a "
        "Sigstore bundle with the log's inclusion proof (the referrer cosign attest "
        "--new-bundle-format attaches), which cosign's annotations do not carry",
    )


def _cosign_att(reader: _Reader, found: Attached, tag: str) -> None:
    """The DSSE envelopes in cosign's ``sha256-<hex>.att`` tag."""
    found.looked_at.append(f"tag {tag}")
    manifest = reader.manifest(tag)
    if manifest is None:
        return
    doc, digest, media_type = manifest
    where = f"{found.image.name}:{tag}"
    if media_type not in _IMAGE_MANIFEST_TYPES:
        found.notes.append(
            f"{where}: a {_shown(media_type)}, not an image manifest of attestations; skipped"
        )
        return
    layers = _layers(doc, where)
    reader.count(1 + len(layers), where)
    for index, descriptor in enumerate(layers):
        source = f"{where}#layers[{index}]"
        if descriptor.get("mediaType") != DSSE_TYPE:
            found.notes.append(
                f"{source}: media type {_shown(descriptor.get('mediaType'))} is not a DSSE "
                "envelope; skipped"
            )
            continue
        data = reader.layer(descriptor, f"{found.image.name}@{digest}#layers[{index}]")
        found.documents.append((source, _document(data, source), _cosign_notes(descriptor)))


def _referrer_descriptors(reader: _Reader, found: Attached) -> list[dict[str, Any]]:
    """The referrers API's listing and the fallback tag's index, by manifest digest."""
    client, digest = reader.client, found.digest
    listed: dict[str, dict[str, Any]] = {}
    what = f"referrers of {digest}"
    # The listing is read unfiltered (every artifact type, so the skipped ones can be named),
    # through the client's paging, which caps pages and bytes (MAX_PAGES, MAX_LIST_BYTES).
    pages = client._pages(f"{client.base}/referrers/{digest}", what, headers={"Accept": INDEX_TYPE})
    api = False
    for page in pages:
        if page is None:
            break
        api = True
        manifests = page.get("manifests") if isinstance(page, dict) else None
        if not isinstance(manifests, list):
            raise StoreError(f"{client.display}: {what} is not an image index")
        reader.count(len(manifests), what)
        for item in manifests:
            if isinstance(item, dict) and isinstance(item.get("digest"), str):
                listed.setdefault(item["digest"], item)
    found.looked_at.append(f"the referrers API ({'answered' if api else 'not offered'})")
    # The fallback tag is read on every registry: referrers pushed before the registry
    # offered the API stay attached.
    tag = referrers_tag(digest)
    found.looked_at.append(f"tag {tag}")
    index = reader.manifest(tag)
    if index is not None:
        doc, _, media_type = index
        manifests = doc.get("manifests")
        if media_type != INDEX_TYPE or not isinstance(manifests, list):
            found.notes.append(f"{found.image.name}:{tag}: not a referrers image index; skipped")
        else:
            reader.count(len(manifests), f"tag {tag}")
            for item in manifests:
                if isinstance(item, dict) and isinstance(item.get("digest"), str):
                    listed.setdefault(item["digest"], item)
    return [listed[key] for key in sorted(listed)]


def _artifact_type(doc: dict[str, Any]) -> str:
    """The manifest's artifact type: ``artifactType``, else its config's media type."""
    declared = doc.get("artifactType")
    if isinstance(declared, str) and declared:
        return declared
    config = doc.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    return media_type if isinstance(media_type, str) else ""


def _supported(artifact_type: str) -> bool:
    return artifact_type.startswith(BUNDLE_PREFIX) or artifact_type in (DSSE_TYPE, INTOTO_TYPE)


def _referrer(reader: _Reader, found: Attached, descriptor: dict[str, Any]) -> None:
    """The bundles or envelopes of one referrer manifest (or a note saying why none)."""
    ref_digest = str(descriptor["digest"])
    if not is_digest(ref_digest):
        found.notes.append(
            f"{found.image.name}: a referrer listed as {_shown(ref_digest)}, not a digest; skipped"
        )
        return
    where = f"{found.image.name}@{ref_digest}"
    listed_type = descriptor.get("artifactType")
    if isinstance(listed_type, str) and listed_type and not _supported(listed_type):
        found.notes.append(
            f"{where}: artifact type {_shown(listed_type)}, not an attestation; skipped"
        )
        return
    manifest = reader.manifest(ref_digest)
    if manifest is None:
        found.notes.append(
            f"{where}: listed as a referrer, but the registry has no such manifest; skipped"
        )
        return
    doc, _, media_type = manifest
    artifact_type = _artifact_type(doc)
    if media_type not in _IMAGE_MANIFEST_TYPES or not _supported(artifact_type):
        found.notes.append(
            f"{where}: artifact type {_shown(artifact_type or None)}, not an attestation; skipped"
        )
        return
    subject = doc.get("subject")
    if not isinstance(subject, dict) or subject.get("digest") != found.digest:
        # SECURITY: a listing is only a hint; the referrer's own subject says what it is about.
        found.notes.append(f"{where}: its subject is not {found.digest}; skipped")
        return
    layers = _layers(doc, where)
    reader.count(len(layers), where)
    for index, layer in enumerate(layers):
        source = f"{where}#layers[{index}]"
        layer_type = layer.get("mediaType")
        if not isinstance(layer_type, str) or not (
            layer_type.startswith(BUNDLE_PREFIX) or layer_type == DSSE_TYPE
        ):
            found.notes.append(
                f"{source}: media type {_shown(layer_type)} is neither a Sigstore bundle nor a "
                "DSSE envelope; skipped"
            )
            continue
        data = reader.layer(layer, source)
        found.documents.append((source, _document(data, source), ()))


def resolve(image: ImageRef, client: RegistryClient) -> str:
    """The digest of the manifest ``image`` names (a tag is read and hashed).

    Raises:
        InvalidInput: the registry has no such manifest.
    """
    manifest = client.get_manifest(image.reference)
    if manifest is None:
        raise InvalidInput(f"--image {image.text}: the registry has no such manifest")
    return manifest.digest


def find_attached(image: ImageRef, client: RegistryClient) -> Attached:
    """Every attestation attached to the manifest ``image`` names, read and checked.

    Raises:
        InvalidInput: no such image, or a layer that is not JSON.
        StoreError: a registry error, or content that does not match its digest or size.
        StoreLimitError: a cap was hit (the message names it).
    """
    digest = resolve(image, client)
    found = Attached(image=image, digest=digest)
    reader = _Reader(client, f"{image.name}@{digest}")
    _cosign_att(reader, found, digest.replace(":", "-", 1) + ATT_SUFFIX)
    for descriptor in _referrer_descriptors(reader, found):
        _referrer(reader, found, descriptor)
    return found


def open_image(text: str, *, insecure: bool = False) -> tuple[ImageRef, RegistryClient]:
    """The image reference and a client for its repository (credentials and CA bundle as
    for an ``oci://`` store; plain HTTP only to a loopback host, with ``insecure``).

    Raises:
        InvalidInput: a malformed reference, or plain HTTP to a non-loopback host.
    """
    from gatekeeper.store.oci import open_oci_store

    image = ImageRef.parse(text)
    # --insecure-registry may be meant for a loopback store: an image elsewhere keeps TLS.
    plain = insecure and is_loopback_host(image.registry.hostname)
    store = open_oci_store(f"oci://{image.name}", insecure=plain)
    return image, store.client
