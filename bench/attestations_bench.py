"""What gatekeeper imports and verifies of the attestations other tools publish as test data.

Standalone (not a test). It reads the producers' repositories (not bundled: clone them, or
point at bare mirrors), imports every attestation-like file of their test data into a
temporary store with ``gatekeeper import``'s own code, and checks each imported signature
under the producer's published public key where there is one:

    git clone https://github.com/slsa-framework/slsa-verifier sources/slsa-framework/slsa-verifier
    ...                                     # the other repositories in REPOSITORIES below
    .venv/bin/python bench/attestations_bench.py --sources sources [--files] [--json OUT]

``--sources DIR`` holds each repository as ``DIR/OWNER/NAME`` (a clone) or as a bare
repository ``DIR/OWNER+NAME/repo``; a repository that is missing is reported and skipped.
Files are read at the checked-out (or HEAD) commit, which the report names.

Each file is counted once, under its producer and format:

* imported: every attestation in it was accepted (a wrapper counts once, however many
  attestations it carries); refused: ``import`` said why (exit 2, nothing stored);
* of the refused, those the producer's own tests mark invalid (``EXPECTED_INVALID``, each
  with the test that says so) and the others (a defect, to be read from ``--files``); of the
  imported, those the producer's tests reject for what is not their form (a digest, a
  missing certificate: ``verify`` judges them);
* verified: every signature gatekeeper can check (key-based; a key the producer publishes)
  verifies; ``bad signature``: one does not (the producer's tests mark these invalid too);
  keyless (a Fulcio certificate): checked by the Sigstore bundle verifier, not here; no key:
  the producer publishes no key for it.

Not attestations, and so not in the counts: unsigned statements and predicates (test inputs
for signers), in-toto layouts (policies), witness policies, trusted roots and other JSON.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from securesystemslib.signer import SSlibKey

from gatekeeper._fileio import loads_json_strict
from gatekeeper.attest.dsse import signature_verifies
from gatekeeper.attest.importer import Imported, import_files
from gatekeeper.attest.keys import parse_public_key
from gatekeeper.attest.signed import open_signed
from gatekeeper.errors import GatekeeperError
from gatekeeper.store import open_store

# repository -> the folders holding its published test data
REPOSITORIES: dict[str, tuple[str, ...]] = {
    "slsa-framework/slsa-verifier": (
        "cli/slsa-verifier/testdata/",
        "verifiers/internal/gcb/testdata/",
        "verifiers/internal/gha/testdata/",
    ),
    "slsa-framework/slsa-github-generator": (
        ".github/actions/sign-attestations/testdata/",
        "internal/builders/go/testdata/",
        "internal/builders/docker/testdata/",
    ),
    "sigstore/sigstore-python": ("test/assets/",),
    "sigstore/cosign": ("pkg/cosign/testdata/", "pkg/policy/testdata/"),
    "in-toto/witness": ("test/",),
    "in-toto/in-toto": ("tests/demo_files/", "tests/demo_dsse_files/", "tests/demo_files_gpg/"),
    "cli/cli": ("pkg/cmd/attestation/test/data/",),
    "in-toto/in-toto-golang": ("test/data/",),
    "npm/cli": ("test/fixtures/sigstore/", "workspaces/libnpmpublish/test/fixtures/"),
    "sigstore/sigstore-js": ("tests/bundles/",),
}

# (repository, path regex) -> producer, by where the file sits in the repository
PRODUCERS: list[tuple[str, str, str]] = [
    ("slsa-framework/slsa-verifier", r"/(gcb_container|gcb)/", "Google Cloud Build"),
    ("slsa-framework/slsa-verifier", r"/npm/|/npm-", "npm provenance"),
    ("slsa-framework/slsa-verifier", r"/vsa/", "Google VSA (BCID)"),
    ("slsa-framework/slsa-verifier", r"/bcr/", "Bazel Central Registry"),
    ("slsa-framework/slsa-verifier", r".", "slsa-github-generator (slsa-verifier test data)"),
    ("slsa-framework/slsa-github-generator", r".", "slsa-github-generator"),
    ("sigstore/sigstore-python", r".", "sigstore-python"),
    ("sigstore/cosign", r".", "cosign"),
    ("in-toto/witness", r".", "witness"),
    ("in-toto/in-toto", r".", "in-toto (demo links)"),
    ("cli/cli", r".", "GitHub artifact attestations (gh)"),
    ("in-toto/in-toto-golang", r".", "in-toto (in-toto-golang links)"),
    ("npm/cli", r".", "npm provenance (npm CLI test data)"),
    ("sigstore/sigstore-js", r".", "sigstore-js"),
]

# Files the producer's own tests expect to fail, refused by `import` for their form:
# (repository, path regex, the producer's test that marks them invalid).
EXPECTED_INVALID: list[tuple[str, str, str]] = [
    (
        "slsa-framework/slsa-verifier",
        r"gcb_container/v0\.[23]/gcloud-container-invalid-signature-encoding\.json$",
        'cli/slsa-verifier/main_regression_test.go "invalid signature encoding"',
    ),
    (
        "slsa-framework/slsa-verifier",
        r"gcb/testdata/gcloud-container-invalid-signature-payloadtype\.json$",
        'verifiers/internal/gcb/provenance_test.go "invalid signature"',
    ),
    (
        "slsa-framework/slsa-verifier",
        r"gcb/testdata/v1\.0-gcloud-container-github-(single|both)-invalid-sig\.json$",
        'verifiers/internal/gcb/provenance_test.go "signature global v1.0 ... pae invalid"',
    ),
    (
        "slsa-framework/slsa-verifier",
        r"gcb/testdata/gcloud-container-empty-provenance\.json$",
        'verifiers/internal/gcb/provenance_test.go "invalid provenance empty"',
    ),
    (
        "slsa-framework/slsa-verifier",
        r"gcb/testdata/gcloud-container-(empty-payload|no-payload|invalid-payload-encoding"
        r"|invalid-signature-encodingv03)\.json$",
        "named invalid; no test at this commit reads it",
    ),
    (
        "cli/cli",
        r"sigstoreBundle-invalid-signature\.json$",
        "pkg/cmd/attestation/verification/sigstore_integration_test.go (verification fails)",
    ),
    (
        "cli/cli",
        r"bundle-missing-cert\.jsonl$",
        'pkg/cmd/attestation/verification/attestation_test.go "with missing verification '
        'certificate"',
    ),
    (
        "cli/cli",
        r"bundle-missing-verification-material\.jsonl$",
        'pkg/cmd/attestation/verification/attestation_test.go "with missing verification material"',
    ),
    (
        "npm/cli",
        r"libnpmpublish/test/fixtures/no-provenance-envelope-bundle\.json$",
        'workspaces/libnpmpublish/test/publish.js "bundle missing DSSE envelope"',
    ),
    (
        "npm/cli",
        r"libnpmpublish/test/fixtures/bad-dsse-payload-bundle\.json$",
        'workspaces/libnpmpublish/test/publish.js "bundle with invalid DSSE payload"',
    ),
    (
        "npm/cli",
        r"libnpmpublish/test/fixtures/no-provenance-subject-bundle\.json$",
        'workspaces/libnpmpublish/test/publish.js "provenance with missing subject"',
    ),
    (
        "npm/cli",
        r"libnpmpublish/test/fixtures/(multi-subject|digest-mismatch)-provenance-bundle\.json$",
        'workspaces/libnpmpublish/test/publish.js (publish refuses it: "more than one subject",'
        ' "subject digest does not match" the package)',
    ),
]

# Public keys producers publish: (repository, path regex of the attestations, key files).
KEYS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "in-toto/in-toto",
        r"tests/demo_(dsse_)?files/",
        ("tests/demo_files/alice.pub", "tests/demo_files/bob.pub", "tests/demo_files/carl.pub"),
    ),
    ("in-toto/witness", r"test/", ("test/testpub.pem", "test/testpub2.pem")),
    (
        "slsa-framework/slsa-verifier",
        r"/vsa/gce/v1/",
        ("cli/slsa-verifier/testdata/vsa/gce/v1/vsa_signing_public_key.pem",),
    ),
    (
        "slsa-framework/slsa-verifier",
        r"/(gcb_container|gcb)/",
        (
            "verifiers/internal/gcb/keys/materials/global-pae.key",
            "verifiers/internal/gcb/keys/materials/global-pae-google-hosted-worker_1.key",
            "verifiers/internal/gcb/keys/materials/global-pae-provenanceSigner_1.key",
        ),
    ),
    (
        "in-toto/in-toto-golang",
        r"test/data/",
        (
            *(f"test/data/{name}.pub" for name in ("alice", "carol", "dan", "erin", "frank")),
            *(f"test/data/{name}.pub" for name in ("grace", "heidi")),
            # its DSSE links are signed by the in-toto demo's keys, published with in-toto
            "in-toto/in-toto:tests/demo_files/alice.pub",
            "in-toto/in-toto:tests/demo_files/bob.pub",
            "in-toto/in-toto:tests/demo_files/carl.pub",
        ),
    ),
]


# Attestations signed by a key the producer does not publish: (repository, path regex, why).
UNPUBLISHED_KEYS: list[tuple[str, str, str]] = [
    (
        "in-toto/in-toto-golang",
        r"test/data/(foo|package)\.d3ffd108\.link$",
        "a parsing fixture (model_test.go) whose key d3ffd108 is not in the repository",
    ),
]


# Keys that sign the bare payload instead of DSSE's PAE (Cloud Build's regional keys, before
# Cloud Build signed DSSE): counted apart, since a DSSE verifier must not accept them.
PRE_DSSE_KEYS: list[tuple[str, str, str]] = [
    (
        "slsa-framework/slsa-verifier",
        r"/(gcb_container|gcb)/",
        "verifiers/internal/gcb/keys/materials/",
    ),
]


class Repository:
    """Files of one repository, from a clone or a bare repository (via git)."""

    def __init__(self, name: str, sources: Path) -> None:
        self.name = name
        self.sources = sources
        owner, repo = name.split("/")
        clone = sources / owner / repo
        bare = sources / f"{owner}+{repo}" / "repo"
        if (clone / ".git").exists():
            self.git = ["git", "-C", str(clone)]
        elif bare.exists():
            self.git = ["git", "--git-dir", str(bare)]
        else:
            raise FileNotFoundError(name)
        self.commit = self._run("rev-parse", "HEAD").strip()

    def _run(self, *args: str) -> str:
        return subprocess.run([*self.git, *args], check=True, capture_output=True, text=True).stdout

    def files(self, prefixes: tuple[str, ...]) -> list[str]:
        listed = self._run("ls-tree", "-r", "--name-only", self.commit).splitlines()
        return [p for p in listed if p.startswith(prefixes)]

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when the snapshot lacks the blob (large files)."""
        done = subprocess.run(
            [*self.git, "show", f"{self.commit}:{path}"], capture_output=True, check=False
        )
        return done.stdout if done.returncode == 0 else None


def _documents(data: bytes) -> list[object] | None:
    """The JSON documents of a file (one, or JSON Lines); None when it is not JSON."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if not text or text[0] not in "{[":
        return None
    try:
        return [loads_json_strict(text)]
    except ValueError:
        pass
    try:
        return [loads_json_strict(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        return None


def classify(obj: object) -> str | None:
    """The format of an attestation-like document; None for other JSON."""
    if not isinstance(obj, dict):
        return None
    if _is_bundle(obj):
        if "messageSignature" in obj:
            return "not an attestation: Sigstore bundle of a message signature (over a file)"
        media = re.search(r"v?(0\.\d)", str(obj.get("mediaType", "")))
        return f"Sigstore bundle {media.group(1) if media else '(unknown version)'}"
    if "provenance_summary" in obj:
        return "Cloud Build provenance JSON"
    if isinstance(obj.get("attestations"), list):
        items = obj["attestations"]
        if items and all(isinstance(i, dict) and "predicateType" in i for i in items):
            return "npm registry attestations"
        if items and all(
            isinstance(i, dict) and ("bundle" in i or "bundle_url" in i) for i in items
        ):
            return "GitHub attestations API JSON"
        return None
    if "signed" in obj and "signatures" in obj and isinstance(obj["signed"], dict):
        kind = obj["signed"].get("_type")
        if kind == "link" and not obj["signatures"]:
            return "not an attestation: unsigned link"
        return "in-toto link (metablock)" if kind == "link" else f"not an attestation: {kind}"
    if "payload" in obj and "payloadType" in obj:
        kind = _payload_kind(obj)
        if kind in ("layout",) or "/policy/" in str(obj["payloadType"]):
            return f"not an attestation: {kind or obj['payloadType']}"
        return "DSSE envelope"
    if "_type" in obj and "subject" in obj:
        return "not an attestation: unsigned statement"
    return None


def _is_bundle(obj: dict[str, object]) -> bool:
    media_type = obj.get("mediaType")
    if isinstance(media_type, str) and media_type.startswith("application/vnd.dev.sigstore.bundle"):
        return True
    return "verificationMaterial" in obj and ("dsseEnvelope" in obj or "messageSignature" in obj)


def _payload_kind(obj: dict[str, object]) -> str | None:
    """The ``_type`` of a DSSE payload (a link, a layout, a statement), if it decodes."""
    try:
        payload = loads_json_strict(base64.b64decode(str(obj["payload"]) + "==="))
    except (ValueError, binascii.Error):
        return None
    kind = payload.get("_type") if isinstance(payload, dict) else None
    return str(kind) if kind is not None else None


@dataclass
class Row:
    files: int = 0
    imported: int = 0
    imported_expected: int = 0  # imported, though the producer's tests reject it
    refused_expected: int = 0
    refused_other: int = 0
    verified: int = 0
    pre_dsse: int = 0
    bad_signature: int = 0
    keyless: int = 0
    no_key: int = 0
    details: list[str] = field(default_factory=list)


@dataclass
class KeySets:
    dsse: dict[str, SSlibKey] = field(default_factory=dict)
    pre_dsse: dict[str, SSlibKey] = field(default_factory=dict)  # sign the bare payload


def _keys_for(repo: Repository, path: str) -> KeySets:
    keys = KeySets()
    for name, pattern, key_files in KEYS:
        if name == repo.name and re.search(pattern, path):
            for key_file in key_files:
                data = _read_key(repo, key_file)
                if data is None:
                    continue
                try:
                    keys.dsse[key_file] = parse_public_key(data, key_file)
                except GatekeeperError:
                    continue  # a curve gatekeeper does not verify (secp256k1, secp224r1)
    for name, pattern, folder in PRE_DSSE_KEYS:
        if name == repo.name and re.search(pattern, path):
            for key_file in repo.files((folder,)):
                data = repo.read(key_file)
                if data is not None and "global-pae" not in key_file:
                    keys.pre_dsse[key_file] = parse_public_key(data, key_file)
    return keys


def _read_key(repo: Repository, key_file: str) -> bytes | None:
    """A key file of this repository, or ``OWNER/NAME:PATH`` of another one."""
    other, sep, path = key_file.partition(":")
    if not sep:
        return repo.read(key_file)
    try:
        return Repository(other, repo.sources).read(path)
    except (FileNotFoundError, subprocess.CalledProcessError):
        return None


def _expected(repo: Repository, path: str) -> str | None:
    for name, pattern, test in EXPECTED_INVALID:
        if name == repo.name and re.search(pattern, path):
            return test
    return None


def _has_certificate(obj: object) -> bool:
    """A certificate anywhere in the document (an empty ``cert`` field is none)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("cert", "certificate", "x509CertificateChain") and value:
                return True
            if _has_certificate(value):
                return True
    if isinstance(obj, list):
        return any(_has_certificate(item) for item in obj)
    return False


def run(
    sources: Path,
) -> tuple[dict[tuple[str, str], Row], list[str], list[str], Counter[str]]:
    rows: dict[tuple[str, str], Row] = defaultdict(Row)
    not_counted: Counter[str] = Counter()
    skipped: list[str] = []
    commits: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, prefixes in REPOSITORIES.items():
            try:
                repo = Repository(name, sources)
            except (FileNotFoundError, subprocess.CalledProcessError):
                skipped.append(f"{name}: not found under {sources}")
                continue
            commits.append(f"{name}@{repo.commit[:12]}")
            for path in repo.files(prefixes):
                _one(repo, path, work, rows, skipped, not_counted)
    return rows, skipped, commits, not_counted


def _producer(repo: Repository, path: str) -> str:
    return next(
        p for name, pattern, p in PRODUCERS if name == repo.name and re.search(pattern, path)
    )


def _one(
    repo: Repository,
    path: str,
    work: Path,
    rows: dict[tuple[str, str], Row],
    skipped: list[str],
    not_counted: Counter[str],
) -> None:
    data = repo.read(path)
    if data is None:
        skipped.append(f"{repo.name}:{path}: absent from the snapshot")
        return
    documents = _documents(data)
    if not documents:
        return
    formats = sorted({f for f in (classify(d) for d in documents) if f})
    if not formats:
        return
    expected = _expected(repo, path)
    if all(f.startswith("not an attestation") for f in formats):
        if not expected:
            not_counted[" + ".join(f.partition(": ")[2] for f in formats)] += 1
            return
        # the producer's tests feed it as an attestation and expect a refusal: count it
        formats = [f.partition(": ")[2] for f in formats]
    row = rows[(_producer(repo, path), " + ".join(formats))]
    row.files += 1
    source = work / f"in-{row.files}-{Path(path).name}"
    source.write_bytes(data)
    store_dir = work / f"store-{abs(hash(path))}"
    try:
        imported = import_files([str(source)], open_store(str(store_dir)))
    except GatekeeperError as exc:
        test = expected
        if test:
            row.refused_expected += 1
        else:
            row.refused_other += 1
        reason = exc.diagnostics().replace(str(source), Path(path).name)
        row.details.append(f"REFUSED {path}: {reason}" + (f" [expected: {test}]" if test else ""))
        return
    row.imported += 1
    if expected:
        # what makes it invalid is not its form (a signature, a digest, the producer's own
        # context): import keeps it, and verify judges it
        row.imported_expected += 1
    keys = _keys_for(repo, path)
    unpublished = any(
        name == repo.name and re.search(pattern, path) for name, pattern, _why in UNPUBLISHED_KEYS
    )
    outcome = _verify(imported, store_dir, keys, documents, unpublished)
    setattr(row, outcome, getattr(row, outcome) + 1)
    row.details.append(
        f"{outcome.upper().replace('_', ' ')} {path}"
        + (f" [invalid in the producer's tests: {expected}]" if expected else "")
    )


def _verify(
    imported: list[Imported],
    store_dir: Path,
    keys: KeySets,
    documents: list[object],
    unpublished: bool = False,
) -> str:
    """The file's outcome: one of its attestations verifies under the producer's key (a
    listing passes when one of its attestations does, as the producers' verifiers read it)."""
    if not keys.dsse and not keys.pre_dsse:
        return "keyless" if any(_has_certificate(d) for d in documents) else "no_key"
    if unpublished:
        return "no_key"
    stored = [
        json.loads((store_dir / "envelopes" / f"{item.envelope_id}.json").read_bytes())
        for item in imported
    ]
    # A keyless Sigstore bundle is stored whole: its DSSE envelope is inside.
    opened = [open_signed(obj.get("dsseEnvelope", obj)) for obj in stored]
    if any(any(c.verified_by for c in doc.check(keys.dsse)) for doc in opened):
        return "verified"
    if any(
        signature_verifies(key, sig, doc.payload)
        for doc in opened
        for _claimed, sig in doc.signatures
        for key in keys.pre_dsse.values()
    ):
        return "pre_dsse"
    return "keyless" if any(_has_certificate(d) for d in documents) else "bad_signature"


def render(rows: dict[tuple[str, str], Row]) -> str:
    lines = [
        "| producer | format | files | imported | of which invalid in the producer's tests "
        "| refused (invalid in the producer's tests) "
        "| refused (other) | signature verified | signed over the bare payload (pre-DSSE) "
        "| bad signature | keyless | no key published |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = Row()
    for (producer, fmt), row in sorted(rows.items()):
        lines.append(
            f"| {producer} | {fmt} | {row.files} | {row.imported} | {row.imported_expected} "
            f"| {row.refused_expected} "
            f"| {row.refused_other} | {row.verified} | {row.pre_dsse} | {row.bad_signature} "
            f"| {row.keyless} | {row.no_key} |"
        )
        for name in (
            "files",
            "imported",
            "imported_expected",
            "refused_expected",
            "refused_other",
            "verified",
            "pre_dsse",
            "bad_signature",
            "keyless",
            "no_key",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    lines.append(
        f"| **total** | | {total.files} | {total.imported} | {total.imported_expected} "
        f"| {total.refused_expected} "
        f"| {total.refused_other} | {total.verified} | {total.pre_dsse} | {total.bad_signature} "
        f"| {total.keyless} | {total.no_key} |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--files", action="store_true", help="list every refusal")
    parser.add_argument("--json", type=Path, help="write the counts as JSON")
    args = parser.parse_args()
    rows, skipped, commits, not_counted = run(args.sources)
    print("sources: " + ", ".join(commits))
    print(render(rows))
    for what, count in sorted(not_counted.items()):
        print(f"not counted (not attestations): {count} x {what}")
    for line in skipped:
        print(f"skipped: {line}")
    if args.files:
        for (producer, fmt), row in sorted(rows.items()):
            for detail in row.details:
                print(f"{producer} / {fmt}: {detail}")
    if args.json:
        counts = {
            f"{p} / {f}": {k: v for k, v in vars(r).items() if k != "details"}
            for (p, f), r in sorted(rows.items())
        }
        args.json.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
    other = sum(r.refused_other for r in rows.values())
    return 1 if other else 0


if __name__ == "__main__":
    raise SystemExit(main())
