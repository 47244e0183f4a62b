#!/usr/bin/env python3
"""Benchmark: does a verify of one artifact cost the same in a small and a large OCI store?

    python bench/store_scale_bench.py [--sizes 20 1000 10000] [--writers 8] [--verifies 5]
                                      [--registry HOST:PORT] [--full-read-up-to 1000] [--keep]

Grows one repository of a loopback registry (``--registry``, default
$GATEKEEPER_TEST_REGISTRY or 127.0.0.1:5000; plain HTTP) to each size in turn: attestations
of a 4-stage policy (build, test, scan, release), one pipeline run per artifact, signed
with a fresh Ed25519 key and pushed through ``OciStore.put`` from ``--writers`` processes.
At each size it prints:

* push throughput of that growth step (attestations/s from the writers), failures, and
  the tag listings the writers asked the registry for (a listing's cost grows with the
  repository on a registry that cannot page it);
* ``gatekeeper verify --image-digest`` of the first artifact, a separate process each time
  (start-up included), median of ``--verifies`` runs, with the no-op ``--version`` process
  for reference; and ``--no-log`` so the decision log does not grow between runs. Each run
  alternates with the same verify in a reference repository holding the smallest size
  (pushed first, never grown), so that the ratio of the two medians is taken under the
  same machine load: on a shared machine the load changes more between growth steps than
  the verify's cost does;
* up to ``--full-read-up-to`` attestations, the same verify with the subject/run lookup
  switched off (every envelope of every stage read, as before the index was read).

Everything pushed is deleted at the end (manifests, then blobs): the registry must allow
deletes (``storage.delete.enabled``). On docker-registry 2.8 each manifest delete scans
every tag of the repository, so this takes hours at 10,000 attestations; ``--keep`` skips
it and prints the repository's name, whose directory under the registry's storage
(``docker/registry/v2/repositories/<name>``) can then be removed while nothing else uses it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("build", "test", "scan", "release")
Item = tuple[bytes, str, str, str]  # envelope, stage, subject digest, run id


def make_envelopes(key: Path, first: int, count: int) -> list[Item]:
    """Signed attestations of artifacts ``first`` .. ``first + count // 4``, 4 stages each."""
    from gatekeeper.attest.dsse import sign_envelope
    from gatekeeper.attest.keys import load_signer
    from gatekeeper.attest.stage import envelope_bytes
    from gatekeeper.attest.statement import build_statement, statement_bytes
    from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
    from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate

    signer = load_signer(str(key))
    now = datetime.now(UTC)
    out: list[Item] = []
    n = first
    while len(out) < count:
        hexpart = f"{n:064x}"
        for stage in STAGES:
            predicate = StagePredicate(
                stage=stage,
                command=["make", stage],
                exit_code=0,
                started_at=now,
                finished_at=now,
                products=[Artifact(name=f"artifact-{n}", digest={"sha256": hexpart})],
                run=RunInfo(run_id=f"run-{n}", source_commit="c" * 40),
            )
            data = envelope_bytes(
                sign_envelope(
                    statement_bytes(build_statement(predicate)), INTOTO_PAYLOAD_TYPE, [signer]
                )
            )
            out.append((data, stage, f"sha256:{hexpart}", f"run-{n}"))
        n += 1
    return out[:count]


def push_worker(uri: str, items: list[Item]) -> tuple[int, list[str], int]:
    from gatekeeper.store import IndexKeys, RunKey, open_store

    store = open_store(uri, insecure=True)
    listings = 0
    send = store.client.http.request  # type: ignore[attr-defined]

    def counting(method: str, url: str, **kwargs: object) -> object:
        nonlocal listings
        listings += "/tags/list" in url
        return send(method, url, **kwargs)

    store.client.http.request = counting  # type: ignore[attr-defined]
    failures = []
    done = 0
    for data, stage, subject, run in items:
        try:
            keys = IndexKeys(stage=stage, subjects=(subject,), run=RunKey(run, "c" * 40))
            store.put(data, keys)
            done += 1
        except Exception as exc:  # a bench counts failures, it does not stop on them
            failures.append(f"{type(exc).__name__}: {exc}")
    return done, failures, listings


def _warm(_: int) -> None:
    import gatekeeper.store.oci  # noqa: F401


def push(uri: str, items: list[Item], writers: int) -> tuple[float, int, list[str], int]:
    chunks = [items[i::writers] for i in range(writers)]
    with ProcessPoolExecutor(max_workers=writers) as pool:
        list(pool.map(_warm, range(writers)))
        start = time.perf_counter()
        results = list(pool.map(push_worker, [uri] * writers, chunks))
        took = time.perf_counter() - start
    return (
        took,
        sum(r[0] for r in results),
        [f for r in results for f in r[1]],
        sum(r[2] for r in results),
    )


_FULL_READ = """
import sys
import gatekeeper.verify.evaluate as evaluate
evaluate._passes_quickly = lambda *a, **k: False
from gatekeeper.cli import main
sys.exit(main(sys.argv[1:]))
"""


def verify_times(argv: list[str], runs: int, *, full_read: bool = False) -> tuple[float, int]:
    """Median seconds of ``gatekeeper ARGV`` as a fresh process, and its exit code."""
    if full_read:
        cmd = [sys.executable, "-c", _FULL_READ, *argv]
    else:
        cmd = [sys.executable, "-m", "gatekeeper", *argv]
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        code = proc.returncode
        if code != 0:
            print(proc.stdout.decode()[-800:], proc.stderr.decode()[-800:], file=sys.stderr)
    return statistics.median(times), code


def paired_verify_times(
    argv: list[str], ref_argv: list[str], runs: int
) -> tuple[float, float, int]:
    """Median seconds of ``gatekeeper ARGV`` and of ``REF_ARGV``, run alternately."""
    grown, ref, code = [], [], 0
    for _ in range(runs):
        seconds, got = verify_times(argv, 1)
        grown.append(seconds)
        code = code or got
        seconds, got = verify_times(ref_argv, 1)
        ref.append(seconds)
        code = code or got
    return statistics.median(grown), statistics.median(ref), code


def cleanup(registry: str, repository: str, workers: int = 16) -> int:
    """Delete every manifest (tagged, and listed by the referrer indexes) and blob pushed,
    from ``workers`` threads; returns how many manifests were deleted."""
    base = f"http://{registry}/v2/{repository}"
    tags: list[str] = []
    url: str | None = f"{base}/tags/list?n=1000"
    while url:
        resp = requests.get(url, timeout=30)
        if resp.status_code == 404:
            break
        resp.raise_for_status()
        tags.extend(resp.json().get("tags") or [])
        link = resp.headers.get("Link", "")
        url = f"http://{registry}{link.split(';')[0].strip('<>')}" if link else None
    accept = "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json"

    def read(reference: str) -> tuple[str | None, list[str], list[str]]:
        resp = requests.get(f"{base}/manifests/{reference}", headers={"Accept": accept}, timeout=30)
        if resp.status_code != 200:
            return None, [], []
        doc = resp.json()
        listed = [str(entry["digest"]) for entry in doc.get("manifests") or []]
        layers = [doc.get("config") or {}, *(doc.get("layers") or [])]
        return (
            resp.headers["Docker-Content-Digest"],
            listed,
            [str(x["digest"]) for x in layers if "digest" in x],
        )

    manifests: set[str] = set()
    blobs: set[str] = set()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for digest, listed, layer_digests in pool.map(read, tags):
            if digest:
                manifests.add(digest)
            manifests.update(listed)
            blobs.update(layer_digests)
        for _, _, layer_digests in pool.map(read, sorted(manifests)):
            blobs.update(layer_digests)
        codes = list(
            pool.map(
                lambda d: requests.delete(f"{base}/manifests/{d}", timeout=30).status_code,
                sorted(manifests),
            )
        )
        list(pool.map(lambda d: requests.delete(f"{base}/blobs/{d}", timeout=30), sorted(blobs)))
    return sum(1 for code in codes if code == 202)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 1000, 10000])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--verifies", type=int, default=5)
    parser.add_argument("--full-read-up-to", type=int, default=1000)
    parser.add_argument(
        "--registry", default=os.environ.get("GATEKEEPER_TEST_REGISTRY", "127.0.0.1:5000")
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the repository (see the notes on deleting)"
    )
    args = parser.parse_args()

    from gatekeeper.attest.keys import write_keypair

    repository = f"gatekeeper-bench/scale-{uuid.uuid4().hex[:12]}"
    uri = f"oci://{args.registry}/{repository}"
    reference = f"{repository}-ref"
    with tempfile.TemporaryDirectory(prefix="gk-scale-bench-") as tmp:
        root = Path(tmp)
        write_keypair(root / "ci")
        stages = "".join(f"  - name: {s}\n    signed_by: [ci]\n" for s in STAGES)
        policy = root / "policy.yaml"
        policy.write_text(
            "version: 1\nname: bench\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
            f"keys:\n  ci: {root / 'ci.pub'}\nstages:\n{stages}"
        )
        try:
            rows, version_s = grow_and_measure(args, root, policy, uri, reference)
        finally:
            for name in (repository, reference):
                if args.keep:
                    print(f"kept {name} (remove its directory under the registry's storage)")
                else:
                    deleted = cleanup(args.registry, name)
                    print(f"cleaned up {name}: {deleted} manifests deleted")
    print(f"`gatekeeper --version` process: {version_s * 1000:.0f} ms")
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(
            f"verify one, {small['size']} -> {large['size']} attestations: "
            f"x{large['verify_s'] / small['verify_s']:.2f} between the steps, "
            f"x{large['verify_s'] / large['ref_s']:.2f} against the reference at the same "
            f"moment (x{small['verify_s'] / small['ref_s']:.2f} at {small['size']}); push "
            f"throughput x{large['push_per_s'] / small['push_per_s']:.2f}"
        )
    return 0 if all(r["exit"] == 0 and r["failures"] == 0 for r in rows) else 1


def _verify_argv(policy: Path, uri: str) -> list[str]:
    return [
        "verify",
        "--policy",
        str(policy),
        "--store",
        uri,
        "--insecure-registry",
        "--no-log",
        "--format",
        "json",
        "--image-digest",
        f"sha256:{0:064x}",
    ]


def grow_and_measure(
    args: argparse.Namespace, root: Path, policy: Path, uri: str, reference: str
) -> tuple[list[dict[str, Any]], float]:
    """Push the reference repository, then grow ``uri`` to each size and measure."""
    argv = _verify_argv(policy, uri)
    ref_uri = f"oci://{args.registry}/{reference}"
    ref_argv = _verify_argv(policy, ref_uri)
    version_s, _ = verify_times(["--version"], args.verifies)
    _, _, failures, _ = push(ref_uri, make_envelopes(root / "ci", 0, min(args.sizes)), args.writers)
    if failures:
        print(f"reference repository: {len(failures)} failures, e.g. {failures[0]}")
    rows: list[dict[str, Any]] = []
    stored = 0
    for size in sorted(args.sizes):
        started = time.perf_counter()
        items = make_envelopes(root / "ci", stored // 4, size - stored)
        signed_s = time.perf_counter() - started
        took, pushed, failures, listings = push(uri, items, args.writers)
        stored += pushed
        quick_s, ref_s, code = paired_verify_times(argv, ref_argv, args.verifies)
        full_s = None
        if size <= args.full_read_up_to:
            full_s, full_code = verify_times(argv, max(1, args.verifies // 2), full_read=True)
            code = code or full_code
        rows.append(
            {
                "size": stored,
                "push_per_s": pushed / took,
                "listings": listings,
                "failures": len(failures),
                "verify_s": quick_s,
                "ref_s": ref_s,
                "full_s": full_s,
                "exit": code,
            }
        )
        full = f"{full_s * 1000:7.0f} ms" if full_s is not None else "      —"
        print(
            f"{stored:6d} attestations: signed {len(items)} in {signed_s:5.1f} s, "
            f"pushed at {pushed / took:6.1f} att/s ({len(failures)} failures, "
            f"{listings} tag listings); verify one: {quick_s * 1000:6.0f} ms (exit {code}; "
            f"reference {ref_s * 1000:.0f} ms: x{quick_s / ref_s:.2f}); full read: {full}",
            flush=True,
        )
        for message in failures[:3]:
            print(f"    failure: {message}")
    return rows, version_s


if __name__ == "__main__":
    raise SystemExit(main())
