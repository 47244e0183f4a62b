"""CycloneDX JSON (1.5 or 1.6) from the dependency evidence.

Deterministic: components sorted by purl, no timestamp, and a serial number derived from
the content (a UUIDv5 of the components' digest), so the same tree gives the same bytes.
``attest --audit`` embeds this document so a verifier can answer "what is in this artifact?".
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from typing import Any

from packageurl import PackageURL

from gatekeeper import __version__
from gatekeeper.deps.common import is_default_source, split_use
from gatekeeper.deps.ecosystem import spec_of
from gatekeeper.models.deps import DepsEvidence, Package

__all__ = ["SPEC_VERSIONS", "sbom_from_evidence"]

SPEC_VERSIONS = ("1.5", "1.6")
_ALGS = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}


def _hashes(entries: list[Package]) -> list[dict[str, str]]:
    """File digests in CycloneDX's spelling (Go's ``h1:`` directory hashes are left out)."""
    hashes = sorted({h for p in entries for h in p.hashes if h.partition(":")[0] in _ALGS})
    return [{"alg": _ALGS[h.partition(":")[0]], "content": h.partition(":")[2]} for h in hashes]


def _references(entries: list[Package]) -> list[dict[str, str]]:
    """Where a package comes from when that is not its ecosystem's default registry."""
    sources = sorted({p.source for p in entries if not is_default_source(p.ecosystem, p.source)})
    refs = []
    for source in sources:
        kind, _, url = source.partition(":")
        if kind in ("git", "url", "registry") and "://" in url:
            refs.append(
                {
                    "type": "vcs" if kind == "git" else "distribution",
                    "url": url.removeprefix("git+").split(" ")[0],
                }
            )
    return refs


def _component(purl: str, entries: list[Package]) -> dict[str, Any]:
    first = entries[0]
    parsed = PackageURL.from_string(purl)
    grouped = spec_of(first.ecosystem).sbom_group
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": purl,
        "name": parsed.name if grouped else first.name,
        "version": first.version,
        "purl": purl,
    }
    if parsed.namespace and grouped:
        component["group"] = parsed.namespace
    hashes = _hashes(entries)
    if hashes:
        component["hashes"] = hashes
    refs = _references(entries)
    if refs:
        component["externalReferences"] = refs
    locations = sorted({f"{p.file}:{p.line}" for p in entries})
    component["properties"] = [
        *({"name": "gatekeeper:location", "value": loc} for loc in locations),
        {"name": "gatekeeper:direct", "value": str(any(p.direct for p in entries)).lower()},
    ]
    return component


def _dependency_purls(
    pkg: Package,
    by_file_name: dict[tuple[str, str], set[str]],
    by_file_version: dict[tuple[str, str, str], str],
) -> set[str]:
    """The components ``pkg`` depends on: the exact versions where its lockfile records them
    (``uses``), else by name when the name has one version in the file (an ambiguous name is
    left out)."""
    if pkg.uses:
        found = set()
        for use in pkg.uses:
            name, version, _ = split_use(use)
            target = by_file_version.get((pkg.file, name, version))
            if target is not None:
                found.add(target)
        return found
    out: set[str] = set()
    for name in pkg.depends_on:
        targets = by_file_name.get((pkg.file, name), set())
        if len(targets) == 1:
            out |= targets
    return out


def sbom_from_evidence(evidence: DepsEvidence, spec_version: str = "1.5") -> dict[str, Any]:
    """A CycloneDX BOM (as a JSON-ready dict) of every resolved package in the tree.

    Entries without one exact version (unpinned requirements) are not resolved and are left
    out; the deps/unpinned findings name them.

    Raises:
        ValueError: an unsupported spec version.
    """
    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"CycloneDX {spec_version} is not supported (one of {SPEC_VERSIONS})")
    by_purl: dict[str, list[Package]] = defaultdict(list)
    by_file_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_file_version: dict[tuple[str, str, str], str] = {}
    for pkg in evidence.tree.packages:
        if pkg.version is None:
            continue
        by_purl[pkg.purl].append(pkg)
        by_file_name[(pkg.file, pkg.name)].add(pkg.purl)
        by_file_version[(pkg.file, pkg.name, pkg.version)] = pkg.purl
    components = [
        _component(purl, sorted(entries, key=lambda p: (p.file, p.line)))
        for purl, entries in sorted(by_purl.items())
    ]
    depends: dict[str, set[str]] = defaultdict(set)
    for purl, entries in by_purl.items():
        for pkg in entries:
            depends[purl] |= _dependency_purls(pkg, by_file_name, by_file_version)
    dependencies = [
        {"ref": purl, "dependsOn": sorted(depends.get(purl, set()))} for purl in sorted(by_purl)
    ]
    digest = hashlib.sha256(
        json.dumps([components, dependencies], sort_keys=True).encode("utf-8")
    ).hexdigest()
    tool = {"type": "application", "name": "gatekeeper", "version": __version__}
    return {
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'gatekeeper-sbom:' + digest)}",
        "version": 1,
        "metadata": {"tools": {"components": [tool]}},
        "components": components,
        "dependencies": dependencies,
    }
