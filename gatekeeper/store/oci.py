"""The OCI registry store (``oci://HOST[:PORT]/REPO``): attestations next to the images.

Layout (see docs/oci-store.md for the full picture)::

    blob      <envelope bytes>                        the DSSE envelope, content-addressed
    manifest  anchor("subject:sha256:<hex>")          a tiny synthetic manifest per subject,
    manifest  anchor("stage:<name>"), anchor("all")   per stage, and (referrers API) one for all
    manifest  referrer(envelope, subject=<key>)       artifactType = the DSSE envelope type,
                                                      empty config, one layer = the envelope,
                                                      annotations: stage and subjects

Each envelope is pushed as one referrer manifest per *key*: the synthetic anchor of each
of its subjects, the real image manifest when the subject digest is a manifest in this
repository (so ``oras discover IMAGE@DIGEST`` lists it), the anchor of its stage and, on a
registry with the referrers API, the "all" anchor. Lookups are "the referrers of a key":

* registries with the OCI 1.1 referrers API (``GET /v2/<name>/referrers/<digest>``)
  maintain that relation themselves, atomically;
* registries without it (Docker's distribution 2.x, Debian's docker-registry) get the
  tag-schema fallback of the distribution spec: tag ``sha256-<hex>`` holds an image index
  of the referrers of ``sha256:<hex>`` (read-modify-write, ``If-Match`` sent, read back
  after the write and retried). Those registries have no compare-and-swap, so a concurrent
  writer can still overwrite an index update after it was read back. gatekeeper therefore
  also writes a *receipt*: the referrer manifest is pushed under its own, never-reused tag
  ``gkr-<first 32 hex of the key digest>-<envelope sha256 hex>``. A tag with a unique name
  cannot be lost to a concurrent writer, so the receipts are the ground truth gatekeeper
  reads (one tag listing per store, then each envelope by the digest its receipt names);
  the index tag is kept for other OCI tools and for quick lookups.

Keeping the index tags whole without listing tags on every push: a writer reads its entries
back once more RECHECK_AFTER seconds after it saw them written (and writes them again if
they went). An entry checked twice can only be removed by a writer whose read came before
the entry was written and whose write landed after the second check: a read-modify-write
longer than RECHECK_AFTER, which that writer measures; every writer whose write took longer
than SLOW_WRITE (= RECHECK_AFTER) heals the index from a listing of the key's receipts made
after its write. So a push lists tags only after a slow write, and a writer that returned
has its entries in the index, unless the index tag was removed by hand, a writer of an
older gatekeeper (which heals from periodic listings instead) overwrote it, or every one
of a healer's INDEX_ATTEMPTS writes was slow; a lookup that misses an entry so is only
slower (the verifier reads the receipts of every stage), never wrong.

Lookups by subject and by run (``complete=False``) read the referrers API or the key's
index tag only: their cost follows what names the key, not the size of the repository.
Complete lookups (the default, and ``by_stage``/``all``) also read the receipts: by tag
prefix where the registry pages its tag list (``n``/``last``), else from the whole list
(one request: the paged attempt's answer, learnt once per process).

The index a store keeps is only a way to find candidates: the verifier re-reads every fact
from the signed payload. Every manifest and blob read back is checked against its digest.
"""

from __future__ import annotations

import functools
import os
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from gatekeeper._fileio import loads_json_strict
from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.store._registry import (
    EMPTY_DATA,
    EMPTY_DESCRIPTOR,
    INDEX_TYPE,
    MANIFEST_TYPE,
    Credentials,
    Manifest,
    RegistryClient,
    RegistryRef,
    canonical,
    digest_of,
    is_digest,
    load_credentials,
)
from gatekeeper.store._registry_log import OciDecisionLog
from gatekeeper.store.base import (
    DSSE_MEDIA_TYPE,
    DecisionLog,
    IndexKeys,
    ReadBudget,
    RunKey,
    StoredEnvelope,
    check_lookup_size,
)

CA_BUNDLE_ENV = "GATEKEEPER_REGISTRY_CA_BUNDLE"  # PEM CAs for a registry with a private CA
ENVELOPE_TYPE = DSSE_MEDIA_TYPE
ANCHOR_TYPE = "application/vnd.gatekeeper.anchor.v1+json"
EMPTY_DIGEST = digest_of(EMPTY_DATA)
ANNOTATION_STAGE = "dev.gatekeeper.stage"
ANNOTATION_SUBJECTS = "dev.gatekeeper.subjects"
ANNOTATION_ANCHOR = "dev.gatekeeper.anchor"
ANNOTATION_ENVELOPE = "dev.gatekeeper.envelope"  # in index entries: the envelope's digest

MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
INDEX_ATTEMPTS = 12
FETCH_WORKERS = 8  # concurrent manifest and blob reads during a lookup
# A writer reads its index entries again this long after it saw them written; a writer whose
# own read-modify-write of an index took longer than SLOW_WRITE may have overwritten an entry
# another writer had already checked twice, and heals the index from the receipts.
RECHECK_AFTER = 0.15
SLOW_WRITE = RECHECK_AFTER
RECEIPT_KEY_HEX = 32  # 128 bits of the key digest: "gkr-" + 32 + "-" + 64 = 101 characters
_RECEIPT = re.compile(r"^gkr-([0-9a-f]{32})-([0-9a-f]{64})$")
_OCI_MANIFESTS = (
    MANIFEST_TYPE,
    INDEX_TYPE,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)

# Content-addressed caches shared by every store in the process. Safe because every entry
# was checked against its digest when it was fetched, and digests never change meaning.
_CACHE_LIMIT = 256 * 1024 * 1024


class _ContentCache:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[tuple[str, str], bytes] = OrderedDict()

        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self.lock:
            return self.items.get(key)

    def put(self, key: tuple[str, str], data: bytes) -> None:
        with self.lock:
            if key in self.items or len(data) > self.limit:
                return
            self.items[key] = data
            self.size += len(data)
            while self.size > self.limit:
                _, dropped = self.items.popitem(last=False)
                self.size -= len(dropped)


_CONTENT = _ContentCache(_CACHE_LIMIT)


def anchor_manifest(kind: str, value: str) -> bytes:
    """The synthetic manifest standing for a subject digest, a stage, or "all".

    Deterministic, so a reader computes its digest without asking the registry.
    """
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": ANCHOR_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
            "annotations": {ANNOTATION_ANCHOR: f"{kind}:{value}"},
        }
    )


def index_tag(digest: str) -> str:
    """The distribution spec's referrers tag schema: ``<alg>-<hex>``."""
    alg, _, hexpart = digest.partition(":")
    return f"{alg}-{hexpart}"[:128]


def receipt_prefix(key_digest: str) -> str:
    return f"gkr-{key_digest.partition(':')[2][:RECEIPT_KEY_HEX]}-"


def receipt_tag(key_digest: str, envelope_digest: str) -> str:
    """``gkr-<key hex, 32>-<envelope sha256 hex>``: names the envelope it stands for."""
    return receipt_prefix(key_digest) + envelope_digest.partition(":")[2]


def _is_envelope_descriptor(desc: dict[str, Any]) -> bool:
    digest = desc.get("digest")
    return (
        desc.get("artifactType") == ENVELOPE_TYPE and isinstance(digest, str) and is_digest(digest)
    )


def _only_layer(doc: Any) -> dict[str, Any] | None:
    """The one layer of a gatekeeper envelope artifact; None for anything else."""
    if not isinstance(doc, dict) or doc.get("artifactType") != ENVELOPE_TYPE:
        return None
    layers = doc.get("layers")
    if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
        return None
    layer: dict[str, Any] = layers[0]
    return layer


def _is_envelope_layer(layer: dict[str, Any]) -> bool:
    digest, size = layer.get("digest"), layer.get("size")
    return (
        layer.get("mediaType") == ENVELOPE_TYPE
        and isinstance(digest, str)
        and is_digest(digest)
        and isinstance(size, int)
        and 0 < size <= MAX_ENVELOPE_BYTES
    )


_T = TypeVar("_T")


def _concurrently(calls: list[Callable[[], _T]]) -> list[_T]:
    """The results of ``calls``, made from a few threads when there are several.

    Raises:
        the first failed call's exception, once every call has ended.
    """
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), FETCH_WORKERS)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


def _merged_index(entries: list[dict[str, Any]], additions: list[dict[str, Any]]) -> bytes:
    """A referrers image index of ``entries`` plus the ``additions`` it lacks, by digest."""
    new = {str(e["digest"]): e for e in additions}
    for existing in entries:
        new.pop(str(existing.get("digest", "")), None)
    merged = sorted([*entries, *new.values()], key=lambda e: str(e.get("digest", "")))
    return canonical({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": merged})


@dataclass(frozen=True)
class _Key:
    descriptor: dict[str, Any]
    indexed: bool  # keep the spec's fallback index tag for it (subjects, not stages)

    @property
    def digest(self) -> str:
        return str(self.descriptor["digest"])


def _anchor_key(kind: str, value: str, indexed: bool) -> tuple[_Key, bytes]:
    data = anchor_manifest(kind, value)
    return _Key(
        {
            "mediaType": MANIFEST_TYPE,
            "digest": digest_of(data),
            "size": len(data),
            "artifactType": ANCHOR_TYPE,
        },
        indexed,
    ), data


class OciStore:
    """Envelopes as OCI artifacts in one repository of a registry."""

    def __init__(self, uri: str, client: RegistryClient) -> None:
        self.uri = uri
        self.client = client
        self._referrers: bool | None = None
        self._known: set[str] = set()  # blobs and manifests known to exist in the registry
        self._log_ready = False  # the decision log's tail exists (checked on the first put)
        self._log: OciDecisionLog | None = None
        self._cache_scope = f"{client.ref.host}/{client.ref.repository}"
        self.sleep = time.sleep
        self.budget = ReadBudget(uri)

    # -- capabilities ----------------------------------------------------------------------

    def supports_referrers(self) -> bool:
        """Whether the registry implements the OCI 1.1 referrers API (asked once)."""
        if self._referrers is None:
            self._referrers = self.client.referrers(EMPTY_DIGEST, ENVELOPE_TYPE) is not None
        return self._referrers

    def _prefixed_tags(self, prefixes: list[str]) -> list[str]:
        """The tags starting with any of ``prefixes``: read by prefix where the registry
        pages its tag list, else filtered from the whole list (see the client)."""
        return self.client.tags_with_prefixes(prefixes)

    # -- writing ---------------------------------------------------------------------------

    def _targets(self, keys: IndexKeys) -> list[_Key]:
        """What the envelope's referrer manifests point at: one per key (see the module)."""
        targets: list[_Key] = []
        for subject in sorted(set(keys.subjects)):
            targets.append(self._anchor("subject", subject, indexed=True))
            if is_digest(subject) and subject.startswith("sha256:"):
                real = self.client.head_manifest(subject)
                if real is not None and real[0] in _OCI_MANIFESTS:
                    descriptor = {"mediaType": real[0], "digest": real[2], "size": real[1]}
                    targets.append(_Key(descriptor, indexed=True))
        if keys.stage:
            targets.append(self._anchor("stage", keys.stage, indexed=False))
        if keys.run is not None:
            targets.append(self._anchor("run", keys.run.index_key(keys.stage), indexed=True))
        if self.supports_referrers():
            # Without the referrers API every receipt tag already lists the envelope for all().
            targets.append(self._anchor("all", "", indexed=False))
        return targets

    def _anchor(self, kind: str, value: str, *, indexed: bool) -> _Key:
        key, anchor = _anchor_key(kind, value, indexed=indexed)
        self._ensure_manifest(key.digest, anchor)
        return key

    def put(self, data: bytes, keys: IndexKeys) -> str:
        """Push the envelope and one referrer manifest per key. Raises StoreError."""
        if len(data) > MAX_ENVELOPE_BYTES:
            raise StoreError(f"{self.uri}: envelope larger than {MAX_ENVELOPE_BYTES} bytes")
        # NOTE: independent requests go out together (the registry's latency, not its work,
        # is most of a push); the threads share one requests session, as in _fetch_all.
        self._ensure_blob(EMPTY_DATA)  # the anchors' config and layer (once per store)
        with ThreadPoolExecutor(max_workers=1) as pool:
            uploaded = pool.submit(self._ensure_blob, data)
            targets = self._targets(keys)
            env_digest = uploaded.result()  # the referrer manifests name it as their layer
        annotations = {ANNOTATION_SUBJECTS: " ".join(sorted(set(keys.subjects)))}
        if keys.stage:
            annotations[ANNOTATION_STAGE] = keys.stage
        layer = {"mediaType": ENVELOPE_TYPE, "digest": env_digest, "size": len(data)}
        pushed = _concurrently(
            [functools.partial(self._push_referrer, t, layer, annotations) for t in targets]
        )
        entries = {t.digest: [e] for t, e in zip(targets, pushed, strict=True) if e is not None}
        if entries:
            self._settle_indexes(entries)
        if not self._log_ready:
            # A reader learns the log is empty from its tail, without listing every tag.
            self._oci_log().ensure_tail()
            self._log_ready = True
        return env_digest.partition(":")[2]

    def _push_referrer(
        self, target: _Key, layer: dict[str, Any], annotations: dict[str, str]
    ) -> dict[str, Any] | None:
        """One referrer manifest of the envelope for ``target``, kept findable on any registry;
        the entry ``target``'s index tag must list (None: no index tag to keep)."""
        manifest = canonical(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "artifactType": ENVELOPE_TYPE,
                "config": EMPTY_DESCRIPTOR,
                "layers": [layer],
                "subject": target.descriptor,
                "annotations": annotations,
            }
        )
        manifest_digest = digest_of(manifest)
        if self.supports_referrers():
            response = self.client.put_manifest(manifest_digest, manifest, MANIFEST_TYPE)
            if response.headers.get("OCI-Subject") == target.digest:
                return None  # the registry maintains the referrers relation itself
        # Fallback: a receipt under a unique tag (lossless), then the spec's index tag.
        env_digest = str(layer["digest"])
        self.client.put_manifest(receipt_tag(target.digest, env_digest), manifest, MANIFEST_TYPE)
        if not target.indexed:
            return None
        return {
            "mediaType": MANIFEST_TYPE,
            "digest": manifest_digest,
            "size": len(manifest),
            "artifactType": ENVELOPE_TYPE,
            "annotations": {**annotations, ANNOTATION_ENVELOPE: env_digest},
        }

    def _ensure_blob(self, data: bytes) -> str:
        digest = digest_of(data)
        if digest not in self._known:
            self.client.push_blob(data)
            self._known.add(digest)
        return digest

    def _ensure_manifest(self, digest: str, data: bytes) -> None:
        if digest in self._known:
            return
        if self.client.head_manifest(digest) is None:
            self.client.put_manifest(digest, data, MANIFEST_TYPE)
        self._known.add(digest)

    def _settle_indexes(self, pending: dict[str, list[dict[str, Any]]]) -> None:
        """Make each key's index tag list its entries, and keep them listed.

        Without compare-and-swap a concurrent writer that read an index before our write can
        overwrite it after we read our entries back. So each entry is read back again
        RECHECK_AFTER seconds later (and written again if it went); a writer could still
        remove it after that only with a read-modify-write longer than RECHECK_AFTER, and
        every writer whose own write took longer than SLOW_WRITE heals that index: it merges
        in every receipt of the key the index lacks (one tag listing, only then). No listing
        otherwise: a push costs the same whatever the size of the repository.

        Raises:
            StoreError: an index tag holds something that is not an image index, or the
                entries could not be made to stick after INDEX_ATTEMPTS rounds.
        """
        for _ in range(INDEX_ATTEMPTS):
            _concurrently([functools.partial(self._add_or_heal, k, e) for k, e in pending.items()])
            checked = time.monotonic()  # every entry was read back before this
            self.sleep(max(0.0, checked + RECHECK_AFTER - time.monotonic()))
            missing = _concurrently(
                [functools.partial(self._gone, k, e) for k, e in pending.items()]
            )
            pending = {k: e for (k, e), gone in zip(pending.items(), missing, strict=True) if gone}
            if not pending:
                return
        raise StoreError(
            f"{self.uri}: could not keep the referrers index {index_tag(next(iter(pending)))} "
            f"after {INDEX_ATTEMPTS} rounds (the receipt tags were written)"
        )

    def _add_or_heal(self, key_digest: str, entries: list[dict[str, Any]]) -> None:
        if self._add_to_index(key_digest, entries):
            entries.extend(self._heal(key_digest))

    def _gone(self, key_digest: str, entries: list[dict[str, Any]]) -> bool:
        """Whether the key's index lacks any of ``entries`` now."""
        return bool(
            self._missing(self.client.get_manifest(index_tag(key_digest)), key_digest, entries)
        )

    def _heal(self, key_digest: str) -> list[dict[str, Any]]:
        """Merge into the key's index every receipt of the key it lacks, from a tag listing
        made after our own write (and again while our merging write is itself slow);
        returns the entries added."""
        tag = index_tag(key_digest)
        added: list[dict[str, Any]] = []
        for _ in range(INDEX_ATTEMPTS):
            current = self._index_entries(self.client.get_manifest(tag), tag)
            receipts = self.client.tags_with_prefixes([receipt_prefix(key_digest)], fresh=True)
            missing = self._unindexed_receipts(key_digest, current, receipts)
            added.extend(missing)
            if not missing or not self._add_to_index(key_digest, missing):
                break
        return added

    def _missing(
        self, manifest: Manifest | None, key_digest: str, entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        listed = {e.get("digest") for e in self._index_entries(manifest, index_tag(key_digest))}
        return [e for e in entries if e["digest"] not in listed]

    def _add_to_index(self, key_digest: str, entries: list[dict[str, Any]]) -> bool:
        """Add ``entries`` to the key's ``sha256-<hex>`` referrers index: read, modify, write,
        read back; returns whether a write took longer than SLOW_WRITE (see
        ``_settle_indexes``).

        Raises:
            StoreError: the tag holds something that is not an image index, or the entries
                could not be made to stick after INDEX_ATTEMPTS tries.
        """
        tag = index_tag(key_digest)
        slow = False
        for attempt in range(INDEX_ATTEMPTS):
            started = time.monotonic()
            current = self.client.get_manifest(tag)
            if not self._missing(current, key_digest, entries):
                return slow
            body = _merged_index(self._index_entries(current, tag), entries)
            # NOTE: registries that honour conditional writes answer 412 to a stale write;
            # those that ignore the header are covered by reading it back (and again later).
            condition = (
                {"If-Match": f'"{current.digest}"'}
                if current is not None
                else {"If-None-Match": "*"}
            )
            response = self.client.put_manifest(tag, body, INDEX_TYPE, headers=condition)
            slow = slow or time.monotonic() - started > SLOW_WRITE
            if response.status_code != 412 and not self._missing(
                self.client.get_manifest(tag), key_digest, entries
            ):
                return slow
            # Lost to a concurrent writer: back off with jitter and merge again.
            self.sleep(min(2.0, 0.02 * (2**attempt)) * (0.5 + random.random()))  # noqa: S311
        raise StoreError(
            f"{self.uri}: could not update the referrers index {tag} after "
            f"{INDEX_ATTEMPTS} attempts (the receipt tag was written)"
        )

    def _unindexed_receipts(
        self, key_digest: str, entries: list[dict[str, Any]], tags: list[str]
    ) -> list[dict[str, Any]]:
        prefix = receipt_prefix(key_digest)
        known = {
            str(e["annotations"].get(ANNOTATION_ENVELOPE, "")).partition(":")[2]
            for e in entries
            if isinstance(e.get("annotations"), dict)
        }
        out = []
        for tag in tags:
            # NOTE: the prefix first: where the registry cannot page its tag list, a heal
            # walks the whole list.
            if not tag.startswith(prefix):
                continue
            match = _RECEIPT.match(tag)
            if match is None or match.group(2) in known:
                continue
            entry = self._receipt_entry(tag, f"sha256:{match.group(2)}")
            if entry is not None:
                out.append(entry)
        return out

    def _receipt_entry(self, tag: str, env_digest: str) -> dict[str, Any] | None:
        """The index entry for the referrer manifest a receipt tag holds (None: gone, foreign)."""
        fetched = self.client.get_manifest(tag)
        if fetched is None:
            return None
        doc = loads_json_strict(fetched.data)
        if not isinstance(doc, dict) or doc.get("artifactType") != ENVELOPE_TYPE:
            return None
        annotations = doc.get("annotations")
        return {
            "mediaType": MANIFEST_TYPE,
            "digest": fetched.digest,
            "size": len(fetched.data),
            "artifactType": ENVELOPE_TYPE,
            "annotations": {
                **(annotations if isinstance(annotations, dict) else {}),
                ANNOTATION_ENVELOPE: env_digest,
            },
        }

    def _index_entries(self, manifest: Manifest | None, tag: str) -> list[dict[str, Any]]:
        if manifest is None:
            return []
        try:
            doc = loads_json_strict(manifest.data)
        except ValueError as exc:
            raise StoreError(f"{self.uri}: tag {tag} does not hold JSON") from exc
        entries = doc.get("manifests") if isinstance(doc, dict) else None
        if (
            not isinstance(doc, dict)
            or doc.get("mediaType", INDEX_TYPE) != INDEX_TYPE
            or not isinstance(entries, list)
        ):
            raise StoreError(
                f"{self.uri}: tag {tag} is not a referrers image index; refusing to overwrite it"
            )
        return [e for e in entries if isinstance(e, dict)]

    def decision_log(self) -> DecisionLog:
        """One artifact per entry under a never-reused tag (``gatekeeper.store._registry_log``);
        one object per store, so that a verify reads the log's tail once."""
        return self._oci_log()

    def _oci_log(self) -> OciDecisionLog:
        if self._log is None:
            self._log = OciDecisionLog(self.client, self.uri)
        return self._log

    # -- reading ---------------------------------------------------------------------------

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        return self._lookup([_anchor_key("stage", stage, indexed=False)[0].digest])

    def by_subject(self, digest: str, *, complete: bool = True) -> list[StoredEnvelope]:
        keys = [_anchor_key("subject", digest, indexed=True)[0].digest]
        if is_digest(digest) and digest.startswith("sha256:"):
            keys.append(digest)
        return self._lookup(keys, complete=complete)

    def by_run(self, run: RunKey, stage: str, *, complete: bool = True) -> list[StoredEnvelope]:
        anchor = _anchor_key("run", run.index_key(stage), indexed=True)[0].digest
        return self._lookup([anchor], complete=complete)

    def all(self) -> list[StoredEnvelope]:
        found = {e.id: e for e in self._lookup([_anchor_key("all", "", indexed=False)[0].digest])}
        receipts = sorted(
            {
                f"sha256:{m.group(2)}"
                for m in map(_RECEIPT.match, self._prefixed_tags(["gkr-"]))
                if m is not None
            }
        )
        check_lookup_size(len(receipts), "named by receipt tags", self.uri)
        for stored in self._fetch_all(receipts, self._envelope_blob):
            if stored is not None:
                found.setdefault(stored.id, stored)
        return [found[k] for k in sorted(found)]

    def _referrer_manifests(self, key_digests: list[str]) -> set[str]:
        """Referrer manifests the OCI 1.1 referrers API lists for the keys."""
        if not self.supports_referrers():
            return set()
        return {
            str(desc["digest"])
            for key in key_digests
            for desc in self.client.referrers(key, ENVELOPE_TYPE) or []
            if _is_envelope_descriptor(desc)
        }

    def _index_manifests(self, key_digests: list[str]) -> set[str]:
        """Referrer manifests the fallback index tags (``sha256-<hex>``) list for the keys."""
        found: set[str] = set()
        for key in key_digests:
            tag = index_tag(key)
            entries = self._index_entries(self.client.get_manifest(tag), tag)
            found.update(str(e["digest"]) for e in entries if _is_envelope_descriptor(e))
        return found

    def _lookup(self, key_digests: list[str], *, complete: bool = True) -> list[StoredEnvelope]:
        # Receipts and fallback indexes are read on every registry: an envelope pushed while
        # a registry lacked the referrers API stays visible after an upgrade. A quick look
        # (``complete=False``) reads no receipts: no tag list, one request per key.
        manifests = self._referrer_manifests(key_digests) | self._index_manifests(key_digests)
        blobs: set[str] = set()
        if complete:
            prefixes = [receipt_prefix(key) for key in key_digests]
            blobs = {  # envelope digests named by receipt tags
                f"sha256:{m.group(2)}"
                for m in map(_RECEIPT.match, self._prefixed_tags(prefixes))
                if m is not None
            }
        check_lookup_size(len(blobs) + len(manifests), "under one lookup", self.uri)
        found: dict[str, StoredEnvelope] = {}
        # A receipt names its envelope: one read, checked against that digest. A referrer
        # found through the referrers API or an index is read manifest first.
        for stored in [
            *self._fetch_all(sorted(blobs), self._envelope_blob),
            *self._fetch_all(sorted(manifests), self._envelope_from),
        ]:
            if stored is not None:
                found.setdefault(stored.id, stored)
        return [found[k] for k in sorted(found)]

    def _fetch_all(
        self, references: list[str], fetch: Callable[[str], StoredEnvelope | None]
    ) -> list[StoredEnvelope | None]:
        """Fetch many envelopes; several requests in flight hide the registry's latency.

        Raises:
            StoreError: the first fetch that failed (none is silently dropped).
        """
        if len(references) <= 2:
            return [fetch(r) for r in references]
        # NOTE: the threads share one requests session: its connection pool is thread-safe
        # (urllib3), and registries do not use cookies, the part of a session that is not.
        with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
            return list(pool.map(fetch, references))

    def _manifest(self, digest: str) -> tuple[str, bytes] | None:
        cached = _CONTENT.get((self._cache_scope, digest))
        if cached is not None:
            return digest, cached
        fetched = self.client.get_manifest(digest)  # checked against the digest
        if fetched is None:
            return None
        _CONTENT.put((self._cache_scope, fetched.digest), fetched.data)
        return fetched.digest, fetched.data

    def _blob(self, digest: str, what: str) -> bytes:
        """A blob by digest (checked), from the cache or the registry. Raises StoreError."""
        blob = _CONTENT.get((self._cache_scope, digest))
        if blob is None:
            blob = self.client.get_blob(digest, limit=MAX_ENVELOPE_BYTES)
            if blob is None:
                raise StoreError(f"{self.uri}: {what} {digest}, which the registry does not have")
            _CONTENT.put((self._cache_scope, digest), blob)
        return blob

    def _envelope_blob(self, digest: str) -> StoredEnvelope | None:
        """The envelope a receipt tag names, read by its digest (and checked against it)."""
        blob = self._blob(digest, "a receipt tag (removed, or a forged tag) names envelope")
        self.budget.charge(len(blob), digest)
        return StoredEnvelope(
            id=digest.partition(":")[2],
            data=blob,
            location=f"{self.client.ref.host}/{self.client.ref.repository}@{digest}",
        )

    def _envelope_layer(self, manifest_digest: str, data: bytes) -> tuple[str, int]:
        """(digest, size) of the one DSSE layer of a referrer manifest. Raises StoreError."""
        try:
            doc = loads_json_strict(data)
        except ValueError as exc:
            raise StoreError(f"{self.uri}: manifest {manifest_digest} is not JSON") from exc
        layer = _only_layer(doc)
        if layer is None:
            raise StoreError(
                f"{self.uri}: manifest {manifest_digest} is not a gatekeeper envelope "
                "artifact (one DSSE layer)"
            )
        if not _is_envelope_layer(layer):
            raise StoreError(
                f"{self.uri}: manifest {manifest_digest} has a malformed envelope layer"
            )
        return str(layer["digest"]), int(layer["size"])

    def _envelope_from(self, reference: str) -> StoredEnvelope | None:
        got = self._manifest(reference)
        if got is None:
            return None  # listed a moment ago, gone now (deleted): not a candidate
        manifest_digest, data = got
        blob_digest, size = self._envelope_layer(manifest_digest, data)
        blob = self._blob(blob_digest, f"manifest {manifest_digest} names envelope")
        if len(blob) != size:
            raise StoreError(
                f"{self.uri}: envelope {blob_digest} is {len(blob)} bytes, its "
                f"descriptor says {size}"
            )
        self.budget.charge(len(blob), blob_digest)
        env_id = digest_of(blob).partition(":")[2]
        return StoredEnvelope(
            id=env_id,
            data=blob,
            location=f"{self.client.ref.host}/{self.client.ref.repository}@{manifest_digest}",
        )


def open_oci_store(uri: str, *, insecure: bool = False, **options: Any) -> OciStore:
    """Open ``oci://HOST[:PORT]/REPO``; credentials from the environment or Docker config,
    CA certificates from ``$GATEKEEPER_REGISTRY_CA_BUNDLE`` when the registry's CA is private.

    Raises:
        InvalidInput: a malformed URI, an unknown option, or plain HTTP to a non-loopback host.
    """
    if options:
        raise InvalidInput(f"{uri}: unknown store option(s): {', '.join(sorted(options))}")
    ref = RegistryRef.parse(uri)
    credentials: Credentials | None = load_credentials(ref.host)
    client = RegistryClient(ref, insecure=insecure, credentials=credentials)
    ca_bundle = os.environ.get(CA_BUNDLE_ENV)
    if ca_bundle:
        if not os.path.isfile(ca_bundle):
            raise InvalidInput(
                f"{CA_BUNDLE_ENV}={ca_bundle}: no such file (a PEM bundle of CA certificates)"
            )
        # SECURITY: this replaces the default CA bundle for the registry; it never turns
        # certificate verification off.
        client.http.session.verify = ca_bundle
    return OciStore(f"oci://{ref.host}/{ref.repository}", client)
