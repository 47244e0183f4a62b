"""The keys forges sign their own commits with, bundled as data and never fetched.

GitHub signs every commit it creates itself (the merge of a pull request, squash and rebase
merges, edits and reverts made in the web interface, "Update branch") with its *web-flow*
OpenPGP key; GitLab.com signs the commits its web interface creates with an SSH key. A
machine that never imported them reports those signatures as unverifiable, which is what
they are there, not bad. gatekeeper ships the published public keys
(``gatekeeper/data/forge_keys/``) and verifies against them in the same pass as every other
signature (``collect/commit_signatures.py``), so a forge's signature is recognised by its full
fingerprint, offline.

Knowing a forge's key is not trusting it: a verified forge signature says that the forge made
the commit, on behalf of whoever was logged in. A policy trusts a forge on the merge commits
it signs (``audits.trusted_forge_merges``), or on every commit it signs by listing the key's
fingerprint in ``audits.trusted_commit_keys`` (docs/source.md).

To add a forge key: put the published public key in ``gatekeeper/data/forge_keys/``, add a
``ForgeKey`` below with its full fingerprint and where it is published, and the test that
checks the fingerprint of the bundled file (tests/source/test_forge_keys.py) covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gatekeeper.models.source import Forge

DATA = Path(__file__).resolve().parent.parent / "data" / "forge_keys"


@dataclass(frozen=True)
class ForgeKey:
    """One forge signing key: who uses it, its fingerprint, and the bundled public key."""

    forge: Forge
    name: str  # how findings name it
    format: Literal["openpgp", "ssh"]
    # The full OpenPGP fingerprint (upper-case hex) or the SSH ``SHA256:`` fingerprint.
    # SECURITY: a signature is the forge's only when the key that verified it has this
    # fingerprint; a 64-bit key id alone is never enough.
    fingerprint: str
    path: Path  # the public key as published (armoured OpenPGP, or an allowed-signers line)
    source: str  # where the forge publishes it
    retired: str | None = None  # the date the forge stopped using it (the key has expired)


FORGE_KEYS: tuple[ForgeKey, ...] = (
    ForgeKey(
        forge="github",
        name="GitHub's web-flow key B5690EEEBB952194",
        format="openpgp",
        fingerprint="968479A1AFF927E37D1A566BB5690EEEBB952194",
        path=DATA / "github-web-flow-2024.asc",
        source="https://github.com/web-flow.gpg",
    ),
    ForgeKey(
        forge="github",
        name="GitHub's previous web-flow key 4AEE18F83AFDEB23",
        format="openpgp",
        fingerprint="5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23",
        path=DATA / "github-web-flow-2017.asc",
        source="https://github.com/web-flow.gpg",
        retired="2024-01-16",  # rotated; the key expired that day
    ),
    ForgeKey(
        forge="gitlab",
        name="GitLab.com's web-commit key",
        format="ssh",
        fingerprint="SHA256:ylvmNrhpOBqBQRVi0S8xv2meWLs/QnN7AztQlZY5UPE",
        path=DATA / "gitlab-web-commits.allowed_signers",
        source="https://docs.gitlab.com/user/project/repository/signed_commits/",
    ),
)


def forge_keys() -> tuple[ForgeKey, ...]:
    """The registered forge keys (read at call time, so tests can register a test key)."""
    return FORGE_KEYS


def forge_key_for(fingerprints: Iterable[str | None], keys: Sequence[ForgeKey]) -> ForgeKey | None:
    """The forge key whose full fingerprint is one of ``fingerprints`` (case-insensitive)."""
    have = {f.strip().upper() for f in fingerprints if f}
    return next((k for k in keys if k.fingerprint.upper() in have), None)


def openpgp_material(keys: Sequence[ForgeKey]) -> bytes:
    """The armoured OpenPGP forge keys, concatenated for one ``gpg --import``."""
    return b"".join(k.path.read_bytes() for k in keys if k.format == "openpgp")


__all__ = ["DATA", "FORGE_KEYS", "ForgeKey", "forge_key_for", "forge_keys", "openpgp_material"]
