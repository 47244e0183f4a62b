"""Verifying Sigstore bundles offline: gatekeeper against sigstore-python on the same bundles.

The bundles are the published ones kept in tests/sigstore/data/ (sources named in its
README.md):

* ``github``: a GitHub-made SLSA provenance bundle for ``MODULE.bazel`` (slsa-verifier's test
  data), verified for the workflow that signed it: both tools must pass it;
* ``wrong-signer``: the same statement signed by another workflow, verified for the first
  workflow: both tools must refuse it;
* ``cosign``: a cosign attestation bundle signed keyless by an e-mail identity (cosign's test
  data), verified for that identity.

Two measures, medians of ``--repeat`` runs:

1. One command, as a user runs it (separate processes, interpreter start-up included):
   ``sigstore verify identity --offline --bundle B --cert-identity ID --cert-oidc-issuer ISS
   FILE_OR_DIGEST`` against ``gatekeeper verify --policy P --bundle B FILE`` (a one-stage policy
   whose only key is the identity). gatekeeper also parses the statement, matches the artifact
   to its subject and judges the stage; sigstore-python checks the statement's subject digest.
   cosign's statement is an in-toto Statement v0.1 with cosign's own predicate: ``sigstore
   verify identity`` refuses to read its subject (its Statement model is v1 only) and no
   gatekeeper stage stands for that predicate, so that bundle is compared in process only.
2. One bundle, in process, once both libraries are loaded: sigstore-python's
   ``Verifier.verify_dsse(Bundle.from_json(data), policy.Identity(...))`` against
   ``BundleVerifier.check(data)`` (which adds strict JSON parsing, the checks that name what a
   bundle lacks, and matching the certificate's identity and claims to the policy's keys), both
   under the public-good trusted root gatekeeper ships.

The verdicts of both tools are printed beside the times: a time means nothing if they differ.

With ``--sources DIR`` it first verifies every DSSE bundle of the producers' published test
data (``SOURCES``) with both verifiers, under the public-good root and for each bundle's own
signer, and prints how many verify and any bundle on which the two disagree.

    python bench/sigstore_bench.py [--repeat 7] [--calls 200] [--sources DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "sigstore" / "data"
SIGSTORE_CLI = Path(sys.executable).with_name("sigstore")
GITHUB = "https://token.actions.githubusercontent.com"
PUBLISHER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"
COSIGN_EMAIL = "cody@soyland.com"
GITHUB_OAUTH = "https://github.com/login/oauth"
COSIGN_SUBJECT = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"


@dataclass(frozen=True)
class Case:
    name: str
    bundle: Path
    subject: str  # the identity the verifier is told to trust
    issuer: str
    artifact: str  # a file, or sha256:HEX
    expect_pass: bool


CASES = (
    Case(
        "github",
        DATA / "MODULE.bazel.intoto.jsonl",
        PUBLISHER,
        GITHUB,
        str(DATA / "MODULE.bazel"),
        True,
    ),
    Case(
        "wrong-signer",
        DATA / "MODULE-wrong-signer.bazel.intoto.jsonl",
        PUBLISHER,
        GITHUB,
        str(DATA / "MODULE.bazel"),
        False,
    ),
    Case(
        "cosign",
        DATA / "cosign-oci-attestation.sigstore.json",
        COSIGN_EMAIL,
        GITHUB_OAUTH,
        COSIGN_SUBJECT,
        True,
    ),
)


def _timed_run(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, capture_output=True)
    return time.perf_counter() - start, done.returncode


def _median_runs(argvs: list[list[str]], repeat: int) -> list[tuple[float, int]]:
    """Median wall time and the exit code of each command; the commands take turns, so a
    busy moment of a shared machine falls on all of them alike."""
    times: list[list[float]] = [[] for _ in argvs]
    codes: list[set[int]] = [set() for _ in argvs]
    for _ in range(repeat):
        for index, argv in enumerate(argvs):
            seconds, code = _timed_run(argv)
            times[index].append(seconds)
            codes[index].add(code)
    for argv, seen in zip(argvs, codes, strict=True):
        if len(seen) != 1:
            raise SystemExit(f"{argv[:3]}: exit codes differ between runs: {sorted(seen)}")
    return [(statistics.median(t), c.pop()) for t, c in zip(times, codes, strict=True)]


def _sigstore_argv(case: Case) -> list[str]:
    return [
        str(SIGSTORE_CLI),
        "verify",
        "identity",
        "--offline",
        "--bundle",
        str(case.bundle),
        "--cert-identity",
        case.subject,
        "--cert-oidc-issuer",
        case.issuer,
        case.artifact,
    ]


def _gatekeeper_argv(case: Case, work: Path) -> list[str]:
    policy = work / f"{case.name}.json"
    key = {"identity": {"issuer": case.issuer, "subject": case.subject}}
    policy.write_text(
        json.dumps(
            {
                "version": 1,
                "name": "keyless",
                "expires": "2099-01-01",
                "keys": {"signer": key},
                "stages": [{"name": "publish", "signed_by": ["signer"], "provenance": {}}],
            }
        )
    )
    return [
        sys.executable,
        "-m",
        "gatekeeper",
        "verify",
        "--policy",
        str(policy),
        "--store",
        str(work / "empty"),
        "--no-log",
        "--bundle",
        str(case.bundle),
        case.artifact,
    ]


def _per_call(fns: list[Callable[[], bool]], calls: int) -> list[tuple[float, bool]]:
    """Median time per call and the verdict of each function; they take turns."""
    verdicts = [fn() for fn in fns]  # warm: roots and keyrings loaded
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(calls):
        for index, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[index].append(time.perf_counter() - start)
    return [(statistics.median(t), v) for t, v in zip(times, verdicts, strict=True)]


def _in_process(case: Case, calls: int) -> tuple[tuple[float, bool], tuple[float, bool]]:
    from sigstore.errors import VerificationError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier, policy

    from gatekeeper.models.policy import IdentityKey
    from gatekeeper.verify.sigstore import BundleVerifier, _load_root, public_good_root

    data = case.bundle.read_bytes().strip()
    root = public_good_root()
    theirs = Verifier(trusted_root=_load_root(root.data, "public-good"))
    identity = policy.Identity(identity=case.subject, issuer=case.issuer)

    def sigstore_python() -> bool:
        try:
            theirs.verify_dsse(Bundle.from_json(data), identity)
        except VerificationError:
            return False
        return True

    key = IdentityKey.model_validate({"identity": {"issuer": case.issuer, "subject": case.subject}})
    ours = BundleVerifier({"public-good": root}, {"signer": key})

    def gatekeeper() -> bool:
        outcome = ours.check(data)
        return outcome.verified and outcome.matched == ("signer",)

    theirs_result, ours_result = _per_call([sigstore_python, gatekeeper], calls)
    return theirs_result, ours_result


# Producers whose published test data holds Sigstore bundles (``--sources``).
SOURCES = (
    "slsa-framework/slsa-verifier",
    "slsa-framework/slsa-github-generator",
    "sigstore/sigstore-python",
    "sigstore/cosign",
    "sigstore/sigstore-js",
    "cli/cli",
    "npm/cli",
)


def _git_dir(root: Path, repo: str) -> Path | None:
    """A clone at ROOT/OWNER/NAME or a bare repository at ROOT/OWNER+NAME/repo."""
    for path in (root / repo, root / repo.replace("/", "+") / "repo"):
        if path.is_dir():
            return path
    return None


def _bundles_in(obj: object) -> list[dict[str, object]]:
    """The DSSE bundles in a JSON document (a bundle, or a listing that carries bundles)."""
    if isinstance(obj, dict):
        media = obj.get("mediaType")
        if isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.bundle"):
            return [obj] if "dsseEnvelope" in obj else []
        return [b for value in obj.values() for b in _bundles_in(value)]
    if isinstance(obj, list):
        return [b for value in obj for b in _bundles_in(value)]
    return []


def _published_bundles(root: Path) -> list[tuple[str, bytes]]:
    out = []
    for repo in SOURCES:
        git = _git_dir(root, repo)
        if git is None:
            print(f"  {repo}: not under {root}, skipped")
            continue
        listed = subprocess.run(
            ["git", "-C", str(git), "grep", "-l", "application/vnd.dev.sigstore.bundle", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        for spec in listed:
            path = spec.split(":", 1)[1]
            if path.endswith((".go", ".py", ".ts", ".js", ".md", ".rs", ".proto", ".java")):
                continue  # code and prose that mention the media type
            data = subprocess.run(
                ["git", "-C", str(git), "show", spec], capture_output=True, check=False
            ).stdout
            documents = []
            for chunk in [data, *data.splitlines()]:
                try:
                    documents.append(json.loads(chunk))
                except ValueError:
                    continue
                if chunk is data:
                    break
            for index, bundle in enumerate(b for d in documents for b in _bundles_in(d)):
                out.append((f"{repo}:{path}#{index}", json.dumps(bundle).encode()))
    return out


def _census(root: Path) -> int:
    """Every DSSE bundle of the producers' test data, verified by both under the public-good
    root for its own signer: which verify, and whether the two verifiers agree."""
    from collections import Counter

    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier, policy

    from gatekeeper.models.policy import IdentityKey
    from gatekeeper.verify.sigstore import BundleVerifier, _load_root, public_good_root, signer_of

    logging.getLogger("sigstore").setLevel(logging.ERROR)  # UnsafeNoOp's warning per bundle
    root_file = public_good_root()
    theirs = Verifier(trusted_root=_load_root(root_file.data, "public-good"))
    tally: Counter[tuple[str, str]] = Counter()
    disagree = []
    for name, data in _published_bundles(root):
        try:
            loaded = Bundle.from_json(data)
            signer = signer_of(loaded.signing_certificate)
            theirs.verify_dsse(loaded, policy.UnsafeNoOp())
            their_ok = True
        except (SigstoreError, ValueError):
            their_ok, signer = False, None
        wanted = {"issuer": "https://unknown.example", "subject_regex": ".*"}
        if signer is not None and signer.issuer and signer.subjects:
            wanted = {"issuer": signer.issuer, "subject": signer.subjects[0]}
        key = IdentityKey.model_validate({"identity": wanted})
        outcome = BundleVerifier({"public-good": root_file}, {"self": key}).check(data)
        ours = "verified" if outcome.verified else f"{outcome.code}: {(outcome.problem or '')[:60]}"
        tally[(ours, "verified" if their_ok else "refused")] += 1
        if outcome.verified != their_ok:
            disagree.append(name)
    total = sum(tally.values())
    print(f"published DSSE bundles under the public-good root: {total}")
    for (ours, their), count in sorted(tally.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4}  gatekeeper {ours}  |  sigstore-python {their}")
    for name in disagree:
        print(f"  verdicts differ: {name}")
    return len(disagree)


def _verdict(ok: bool) -> str:
    return "pass" if ok else "refuse"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    parser.add_argument("--calls", type=int, default=200, help="in-process calls (median)")
    parser.add_argument(
        "--sources",
        type=Path,
        help="also verify every bundle of the producers' test data: DIR/OWNER/NAME clones or "
        "DIR/OWNER+NAME/repo bare repositories",
    )
    args = parser.parse_args()
    py = sys.executable
    mismatches = _census(args.sources) if args.sources else 0

    print("start-up (one process, median)")
    imports = (
        ("gatekeeper", "import gatekeeper.cli"),
        ("sigstore-python", "import sigstore.verify"),
    )
    timed = _median_runs([[py, "-c", code] for _, code in imports], args.repeat)
    for (name, _), (seconds, _) in zip(imports, timed, strict=True):
        print(f"  import {name:28} {seconds * 1000:8.0f} ms")

    print("one verify command (separate processes, median)")
    print(
        f"  {'bundle':14} {'sigstore verify identity':>26} {'gatekeeper verify':>20} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for case in CASES:
            if case.name == "cosign":
                print(f"  {case.name:14} {'(Statement v0.1: in process only)':>48}")
                continue
            [(theirs, their_rc), (ours, our_rc)] = _median_runs(
                [_sigstore_argv(case), _gatekeeper_argv(case, work)], args.repeat
            )
            mismatches += (their_rc == 0) != case.expect_pass
            mismatches += (our_rc == 0) != case.expect_pass
            print(
                f"  {case.name:14} {theirs * 1000:7.0f} ms {_verdict(their_rc == 0):>8}"
                f"   {ours * 1000:7.0f} ms {_verdict(our_rc == 0):>8} {ours / theirs:5.2f}x"
            )

    print("one bundle in process, libraries loaded (median per bundle)")
    print(f"  {'bundle':14} {'sigstore-python':>26} {'gatekeeper':>20} {'ratio':>6}")
    for case in CASES:
        (theirs, their_ok), (ours, our_ok) = _in_process(case, args.calls)
        mismatches += their_ok != case.expect_pass
        mismatches += our_ok != case.expect_pass
        print(
            f"  {case.name:14} {theirs * 1000:7.2f} ms {_verdict(their_ok):>8}"
            f"   {ours * 1000:7.2f} ms {_verdict(our_ok):>8} {ours / theirs:5.2f}x"
        )
    if mismatches:
        print(f"{mismatches} verdict(s) differ from what the bundles are known to be")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
