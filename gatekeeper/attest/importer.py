"""`gatekeeper import`: attestations made by other tools, checked for form, then stored.

A file holds one JSON document or JSON Lines (one per line). Each document is one of:

* a DSSE envelope: ``in-toto-run --use-dsse``, slsa-github-generator's ``.intoto.jsonl``,
  cosign's attestations (``cosign download attestation``, an ``.att`` layer), witness;
* a classic in-toto link (a metablock: ``in-toto-run`` without ``--use-dsse``);
* a Sigstore bundle, kept whole (certificate, log entry, timestamps and DSSE envelope: a
  keyless signature means nothing without them); one signed with a public key
  (``verificationMaterial.publicKey``) is kept as its DSSE envelope, which that key verifies;
* a wrapper, unwrapped into the attestations it carries: npm's registry attestations
  (``{"attestations": [{"predicateType", "bundle"}]}``), GitHub's attestations API
  (``{"attestations": [{"bundle", "repository_id", ...}]}``, and the bulk form keyed by
  subject digest), and Cloud Build's provenance (``gcloud artifacts docker images describe
  --show-provenance --format=json``: ``provenance_summary.provenance[].envelope``).

Foreign formats are read as their specs say: unknown fields are ignored, each with a note
(``signatures[0].cert: unknown field, ignored``); an error names the format and the field.
A signature is not checked here (the store is not trusted either): ``verify`` checks it under
the policy's keys and, for a bundle, its trusted roots and keyless identities. Every document
of every file is checked before anything is stored; one that is not well-formed and nothing
is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from gatekeeper._fileio import dumps_json, loads_json_strict, read_bounded
from gatekeeper.attest.bundle import is_legacy_cosign_bundle, precheck_bundle
from gatekeeper.attest.dsse import MAX_SIGNATURES
from gatekeeper.attest.signed import SignedDocument, is_metablock, open_dsse, open_metablock
from gatekeeper.attest.statement import foreign_index_stage, parse_attestation
from gatekeeper.errors import InvalidInput, MalformedInput
from gatekeeper.store import IndexKeys, RunKey, Store

MAX_IMPORT_BYTES = 256 * 1024 * 1024
# Attestations one wrapper (an npm or GitHub listing, a Cloud Build summary) may carry.
MAX_WRAPPED = 1000


@dataclass(frozen=True)
class Imported:
    source: str
    envelope_id: str
    stage: str
    kind: str
    form: str = "DSSE envelope"  # how it was found: "in-toto link (metablock)", "npm ..."
    notes: tuple[str, ...] = ()  # what was ignored while reading it
    bundle: bool = False  # a Sigstore bundle kept whole


@dataclass(frozen=True)
class _Found:
    """One signed document found in a file (a wrapper's item is named by its place)."""

    source: str
    obj: object
    wrapper: str | None = None
    notes: tuple[str, ...] = ()


def _documents_in(path: Path) -> list[tuple[str, object]]:
    data = read_bounded(path, MAX_IMPORT_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text") from exc
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"{path}: empty file")
    try:
        return [(str(path), loads_json_strict(stripped))]
    except ValueError:
        pass
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", loads_json_strict(line)))
        except ValueError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON: {exc}") from exc
    return out


def is_sigstore_bundle(obj: object) -> bool:
    """A Sigstore bundle (any media type version), by its own fields."""
    if not isinstance(obj, dict):
        return False
    media_type = obj.get("mediaType")
    if isinstance(media_type, str) and media_type.startswith("application/vnd.dev.sigstore.bundle"):
        return True
    return "verificationMaterial" in obj and ("dsseEnvelope" in obj or "messageSignature" in obj)


def _unwrap(source: str, obj: object) -> list[_Found]:
    """The signed documents a wrapper carries, or the document itself.

    Raises:
        InvalidInput: a wrapper whose items carry no attestation, or too many items.
    """
    if not isinstance(obj, dict):
        return [_Found(source, obj)]
    if isinstance(obj.get("provenance_summary"), dict):
        return _cloud_build(source, obj["provenance_summary"])
    if isinstance(obj.get("attestations_subject_digests"), dict):
        items = [
            (f"attestations_subject_digests[{digest!r}][{index}]", item)
            for digest, listed in sorted(obj["attestations_subject_digests"].items())
            for index, item in enumerate(listed if isinstance(listed, list) else [])
        ]
        return _listing(source, items, "GitHub attestations API")
    if isinstance(obj.get("attestations"), list) and not is_sigstore_bundle(obj):
        listed = obj["attestations"]
        npm = all(isinstance(i, dict) and "predicateType" in i for i in listed)
        return _listing(
            source,
            [(f"attestations[{index}]", item) for index, item in enumerate(listed)],
            "npm registry attestations" if npm else "GitHub attestations API",
        )
    return [_Found(source, obj)]


def _listing(source: str, items: list[tuple[str, object]], wrapper: str) -> list[_Found]:
    if not items:
        raise InvalidInput(f"{source}: {wrapper}: no attestation in the listing")
    if len(items) > MAX_WRAPPED:
        raise InvalidInput(f"{source}: {wrapper}: more than {MAX_WRAPPED} attestations")
    out = []
    for where, item in items:
        bundle = item.get("bundle") if isinstance(item, dict) else None
        if bundle is None:
            hint = (
                " (only a bundle_url: download the bundle)"
                if isinstance(item, dict) and (item.get("bundle_url"))
                else ""
            )
            raise InvalidInput(f"{source}: {wrapper}: {where}.bundle missing{hint}")
        out.append(_Found(f"{source}#{where}", bundle, wrapper))
    return out


def _cloud_build(source: str, summary: dict[str, object]) -> list[_Found]:
    wrapper = "Cloud Build provenance"
    listed = summary.get("provenance")
    if not isinstance(listed, list) or not listed:
        raise InvalidInput(f"{source}: {wrapper}: provenance_summary.provenance missing")
    if len(listed) > MAX_WRAPPED:
        raise InvalidInput(f"{source}: {wrapper}: more than {MAX_WRAPPED} provenances")
    out = []
    for index, item in enumerate(listed):
        where = f"provenance_summary.provenance[{index}]"
        envelope = item.get("envelope") if isinstance(item, dict) else None
        if envelope is None:
            raise InvalidInput(f"{source}: {wrapper}: {where}.envelope missing")
        notes: tuple[str, ...] = ()
        if isinstance(item, dict) and "build" in item:
            notes = (
                f"{where}.build: an unsigned copy of the statement, ignored (the signed "
                "envelope is what counts)",
            )
        out.append(_Found(f"{source}#{where}", envelope, wrapper, notes))
    return out


@dataclass(frozen=True)
class Prepared:
    source: str
    data: bytes
    keys: IndexKeys
    kind: str
    form: str
    notes: tuple[str, ...]
    bundle: bool = False  # a Sigstore bundle kept whole (``verify --bundle`` reads these too)


def _signed_document(found: _Found) -> tuple[SignedDocument, str, object]:
    """The document, how it was found, and the object to store. Raises MalformedInput."""
    obj = found.obj
    if is_legacy_cosign_bundle(obj):
        legacy = precheck_bundle(obj)
        raise MalformedInput(legacy.problem if legacy and legacy.problem else "legacy bundle")
    if is_sigstore_bundle(obj):
        return _bundle_document(found)
    if is_metablock(obj):
        signed = obj.get("signed") if isinstance(obj, dict) else None
        kind = signed.get("_type") if isinstance(signed, dict) else None
        if kind == "layout":
            raise MalformedInput(
                "an in-toto layout is a supply-chain policy, not an attestation: gatekeeper's "
                "policy names the stages and keys (verify the layout with in-toto-verify)"
            )
        if kind != "link":
            raise MalformedInput(f"in-toto metablock: signed._type {kind!r} is not a link")
        return open_metablock(obj, "in-toto link"), "in-toto link (metablock)", obj
    if isinstance(obj, dict) and "payload" not in obj and "_type" in obj and "subject" in obj:
        raise MalformedInput(
            "an unsigned in-toto Statement: nothing signs it; import the DSSE envelope or "
            "Sigstore bundle that carries it"
        )
    if isinstance(obj, dict) and "payload" not in obj and "payloadType" not in obj:
        raise MalformedInput(
            "not an attestation: expected a DSSE envelope, an in-toto link, a Sigstore "
            "bundle, npm or GitHub attestations JSON, or Cloud Build provenance"
        )
    return open_dsse(obj), found.wrapper or "DSSE envelope", obj


def _bundle_document(found: _Found) -> tuple[SignedDocument, str, object]:
    """A Sigstore bundle: its DSSE envelope, and what to store. Raises MalformedInput.

    A keyless bundle (a Fulcio certificate) is stored whole, as the verifier needs its
    certificate, log entry and timestamps; one a verifier could not read is refused here with
    what it lacks. A bundle signed with a public key is stored as its DSSE envelope: a key the
    policy trusts must have made that signature.
    """
    obj = found.obj
    envelope = obj.get("dsseEnvelope") if isinstance(obj, dict) else None
    if envelope is None:
        raise MalformedInput(
            "Sigstore bundle: dsseEnvelope missing (a message signature over a file, not an "
            "attestation)"
        )
    form = f"{found.wrapper}: Sigstore bundle" if found.wrapper else "Sigstore bundle"
    document = open_dsse(envelope, "Sigstore bundle dsseEnvelope")
    material = obj.get("verificationMaterial") if isinstance(obj, dict) else None
    if isinstance(material, dict) and "publicKey" in material and "certificate" not in material:
        return document, form, envelope
    # SECURITY: a keyless bundle is stored whole; its envelope alone would verify under nothing.
    problem = precheck_bundle(obj)
    if problem is not None and problem.code == "verify/malformed":
        raise MalformedInput(f"Sigstore bundle: {problem.problem}")
    return document, form, obj


def _prepare(found: _Found) -> Prepared:
    """Check one document's form (nothing is stored yet). Raises InvalidInput."""
    try:
        document, form, to_store = _signed_document(found)
        record = parse_attestation(document.payload_type, document.payload, any_predicate=True)
    except MalformedInput as exc:
        raise InvalidInput(f"{found.source}: {exc}") from exc
    if not document.signatures:
        raise InvalidInput(f"{found.source}: the {form} carries no signature")
    if len(document.signatures) > MAX_SIGNATURES:
        raise InvalidInput(
            f"{found.source}: {len(document.signatures)} signatures, more than the "
            f"{MAX_SIGNATURES} a verifier reads on one envelope"
        )
    # SECURITY: a foreign provenance names no stage; it is filed under its predicate type and
    # the verifier's policy decides which stage it stands for (``stages[].provenance``).
    stage = record.stage or foreign_index_stage(record.predicate_type or "unknown")
    run = RunKey(record.run_id, record.source_commit)
    keys = IndexKeys(stage=stage, subjects=tuple(sorted(record.subject_digests())), run=run)
    data = dumps_json(to_store).encode("utf-8")
    return Prepared(
        found.source,
        data,
        keys,
        record.kind,
        form,
        (*found.notes, *document.notes, *record.notes),
        bundle=to_store is found.obj and is_sigstore_bundle(to_store),
    )


def _prepare_all(source: str, found: list[_Found]) -> list[Prepared]:
    """Every attestation of one document. A wrapper's items are independent attestations (a
    registry's listing, Cloud Build's provenance per key): one that is not well-formed is left
    out with a note naming why, as long as another one can be imported.

    Raises:
        InvalidInput: a document (or every item of a wrapper) is not well-formed.
    """
    if len(found) == 1 and found[0].wrapper is None:
        return [_prepare(found[0])]
    prepared: list[Prepared] = []
    left_out: list[str] = []
    for item in found:
        try:
            prepared.append(_prepare(item))
        except InvalidInput as exc:
            left_out.append(exc.diagnostics())
    if not prepared:
        shown = "; ".join(left_out[:3]) + (
            f"; and {len(left_out) - 3} more" if len(left_out) > 3 else ""
        )
        raise InvalidInput(f"{source}: no attestation in it can be imported: {shown}")
    first = prepared[0]
    notes = (*first.notes, *(f"not imported: {reason}" for reason in left_out))
    prepared[0] = replace(first, notes=notes)
    return prepared


def prepare_files(paths: list[str]) -> list[Prepared]:
    """Every attestation in ``paths``, checked for form, with the keys to index it by.

    Raises:
        InvalidInput: a file is unreadable or an attestation is not well-formed.
    """
    return [
        item
        for raw_path in paths
        for source, obj in _documents_in(Path(raw_path))
        for item in _prepare_all(source, _unwrap(source, obj))
    ]


def prepare_documents(documents: list[tuple[str, object, tuple[str, ...]]]) -> list[Prepared]:
    """Documents read from elsewhere than a file (a registry's layers), each a
    ``(source, parsed JSON, notes)``, checked for form exactly as a file's documents are.

    Raises:
        InvalidInput: an attestation is not well-formed.
    """
    out: list[Prepared] = []
    for source, obj, notes in documents:
        found = _unwrap(source, obj)
        if notes and len(found) == 1 and found[0].wrapper is None:
            found = [replace(found[0], notes=(*notes, *found[0].notes))]
        prepared = _prepare_all(source, found)
        if notes and found[0].wrapper is not None:
            prepared[0] = replace(prepared[0], notes=(*notes, *prepared[0].notes))
        out.extend(prepared)
    return out


def import_files(paths: list[str], store: Store) -> list[Imported]:
    """Check every attestation in ``paths`` first, then store them all.

    Raises:
        InvalidInput: a file is unreadable or an attestation is not well-formed (nothing is
            stored).
    """
    return store_prepared(prepare_files(paths), store)


def store_prepared(prepared: list[Prepared], store: Store) -> list[Imported]:
    """Store attestations already checked for form (``prepare_files``, ``prepare_documents``)."""
    out = []
    for item in prepared:
        env_id = store.put(item.data, item.keys)
        out.append(
            Imported(
                source=item.source,
                envelope_id=env_id,
                stage=item.keys.stage or "",
                kind=item.kind,
                form=item.form,
                notes=item.notes,
                bundle=item.bundle,
            )
        )
    return out
