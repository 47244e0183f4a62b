#!/usr/bin/env python3
"""Benchmark: attestations in a local OCI registry, pushed from 8 processes, then verified.

    python bench/oci_bench.py [--sizes 100 500] [--per-subject 4] [--procs 8] [--repeat 1]
                              [--registry HOST:PORT]

For each size N (subjects) it makes N x per-subject signed stage attestations (a 4-stage
policy: build, test, scan, release, all naming the subject, one pipeline run per subject),
then, against Debian's docker-registry started on 127.0.0.1 with a temporary storage
directory (or --registry, plain HTTP on loopback):

* push: every envelope through ``OciStore.put`` from ``--procs`` concurrent processes
  (a fresh repository per run); attestations/s, and failures (must be 0);
* completeness: every envelope is found again by stage and by subject;
* verify, batch: one ``run_verify`` over all N subjects (what a release of N artifacts
  does); subjects verified per second;
* verify, one by one: each subject verified by its own ``run_verify`` (a fresh store, as a
  separate ``gatekeeper verify`` would), spread over ``--procs`` processes; verifications/s.

Prints medians over ``--repeat`` runs and the growth ratios from the smallest to the
largest size (linear growth: time ratio close to the size ratio).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("build", "test", "scan", "release")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        sys.exit(
            "docker-registry is not installed (apt-get install docker-registry) and no "
            "--registry was given"
        )
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with open(root / "registry.log", "wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    import requests

    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                return proc, f"127.0.0.1:{port}"
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("docker-registry did not start")


def make_envelopes(
    key_path: Path, subjects: int, per_subject: int
) -> tuple[list[tuple[bytes, str, tuple[str, ...]]], list[str]]:
    from gatekeeper.attest.dsse import sign_envelope
    from gatekeeper.attest.keys import load_signer
    from gatekeeper.attest.stage import envelope_bytes
    from gatekeeper.attest.statement import build_statement, statement_bytes
    from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
    from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate

    signer = load_signer(str(key_path))
    now = datetime.now(UTC)
    out, digests = [], []
    for n in range(subjects):
        hexpart = f"{n:064x}"
        digests.append(f"sha256:{hexpart}")
        for stage in STAGES[:per_subject]:
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
            out.append((data, stage, (f"sha256:{hexpart}",)))
    return out, digests


def push_worker(uri: str, items: list[tuple[bytes, str, tuple[str, ...]]]) -> tuple[int, list[str]]:
    from gatekeeper.store import IndexKeys, open_store

    store = open_store(uri, insecure=True)
    failures = []
    done = 0
    for data, stage, subjects in items:
        try:
            store.put(data, IndexKeys(stage=stage, subjects=subjects))
            done += 1
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    return done, failures


def verify_worker(uri: str, policy: str, digests: list[str]) -> tuple[int, list[str]]:
    from gatekeeper.verify.evaluate import VerifyConfig, run_verify

    passed, failures = 0, []
    for digest in digests:
        verdict = run_verify(
            VerifyConfig(
                policy_path=Path(policy), image_digests=[digest], store=uri, insecure_registry=True
            )
        )
        if verdict.allowed:
            passed += 1
        else:
            failures.append(f"{digest}: {[r.message for r in verdict.reasons][:2]}")
    return passed, failures


def batch_worker(uri: str, policy: str, digests: list[str]) -> tuple[bool, list[str]]:
    from gatekeeper.verify.evaluate import VerifyConfig, run_verify

    verdict = run_verify(
        VerifyConfig(
            policy_path=Path(policy), image_digests=digests, store=uri, insecure_registry=True
        )
    )
    return verdict.allowed, sorted({r.message for r in verdict.reasons})


def write_policy(root: Path, per_subject: int) -> Path:
    stages = "".join(f"  - name: {s}\n    signed_by: [ci]\n" for s in STAGES[:per_subject])
    policy = root / "policy.yaml"
    policy.write_text(
        "version: 1\nname: bench\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
        f"keys:\n  ci: {root / 'ci.pub'}\nstages:\n{stages}"
    )
    return policy


def one_run(
    registry: str, root: Path, subjects: int, per_subject: int, procs: int, one_by_one_sample: int
) -> dict[str, float]:
    from gatekeeper.store import open_store

    envelopes, digests = make_envelopes(root / "ci", subjects, per_subject)
    uri = f"oci://{registry}/bench/r{uuid.uuid4().hex[:12]}"
    chunks = [envelopes[i::procs] for i in range(procs)]
    with ProcessPoolExecutor(max_workers=procs) as pool:
        list(pool.map(_warm, range(procs)))  # start the workers before the clock
        start = time.perf_counter()
        results = list(pool.map(push_worker, [uri] * procs, chunks))
        push_s = time.perf_counter() - start
    pushed = sum(r[0] for r in results)
    failures = [f for r in results for f in r[1]]

    store = open_store(uri, insecure=True)
    found = {e.id for stage in STAGES[:per_subject] for e in store.by_stage(stage)}
    missing = len(envelopes) - len(found)

    policy = write_policy(root, per_subject)
    # Verifiers are fresh processes (spawned, not forked), like a `gatekeeper verify` on
    # another runner: nothing fetched by this process is cached in them.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        pool.submit(_warm, 0).result()
        start = time.perf_counter()
        _passed, batch_failures = pool.submit(batch_worker, uri, str(policy), digests).result()
        batch_s = time.perf_counter() - start
    batch_fail = len(batch_failures)

    sample = digests[:: max(1, len(digests) // one_by_one_sample)][:one_by_one_sample]
    groups = [sample[i::procs] for i in range(procs)]
    with ProcessPoolExecutor(max_workers=procs, mp_context=spawn) as pool:
        list(pool.map(_warm, range(procs)))
        start = time.perf_counter()
        vresults = list(pool.map(verify_worker, [uri] * procs, [str(policy)] * procs, groups))
        single_s = time.perf_counter() - start
    single_pass = sum(r[0] for r in vresults)
    single_fail = [f for r in vresults for f in r[1]]
    for message in (failures + batch_failures + single_fail)[:5]:
        print(f"    failure: {message}")
    return {
        "attestations": len(envelopes),
        "pushed": pushed,
        "push_failures": len(failures),
        "missing": missing,
        "push_s": push_s,
        "push_per_s": len(envelopes) / push_s,
        "batch_s": batch_s,
        "batch_per_s": subjects / batch_s,
        "batch_failures": batch_fail,
        "single_n": len(sample),
        "single_s": single_s,
        "single_per_s": len(sample) / single_s,
        "single_failures": len(single_fail),
        "single_pass": single_pass,
    }


def _warm(_: int) -> None:
    import gatekeeper.store.oci
    import gatekeeper.verify.evaluate  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--per-subject", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--one-by-one",
        type=int,
        default=40,
        help="subjects verified one verify each (a sample, spread evenly)",
    )
    parser.add_argument("--registry", metavar="HOST:PORT", help="use this loopback registry")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the registry on kill

    from gatekeeper.attest.keys import write_keypair

    root = Path(tempfile.mkdtemp(prefix="gk-oci-bench-"))
    proc = None
    try:
        registry = args.registry
        if registry is None:
            (root / "registry").mkdir()
            proc, registry = start_registry(root / "registry")
        write_keypair(root / "ci")
        print(
            f"registry {registry}; {args.procs} pushing processes; "
            f"{args.per_subject} attestations per subject"
        )
        medians: dict[int, dict[str, float]] = {}
        for size in args.sizes:
            runs = [
                one_run(registry, root, size, args.per_subject, args.procs, args.one_by_one)
                for _ in range(args.repeat)
            ]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            medians[size] = med
            print(
                f"\n{size} subjects, {int(med['attestations'])} attestations "
                f"(median of {args.repeat}):"
            )
            print(
                f"  push      {med['push_s']:8.2f} s   {med['push_per_s']:8.1f} attestations/s   "
                f"failures {int(med['push_failures'])}, missing afterwards {int(med['missing'])}"
            )
            print(
                f"  verify    {med['batch_s']:8.2f} s   {med['batch_per_s']:8.1f} subjects/s "
                f"(one verify of all {size}; failures {int(med['batch_failures'])})"
            )
            print(
                f"  verify x1 {med['single_s']:8.2f} s   "
                f"{med['single_per_s']:8.1f} verifications/s "
                f"({int(med['single_n'])} separate verifies over {args.procs} processes; "
                f"failures {int(med['single_failures'])})"
            )
        if len(args.sizes) >= 2:
            small, large = min(args.sizes), max(args.sizes)
            a, b = medians[small], medians[large]
            print(f"\ngrowth {small} -> {large} subjects (size x{large / small:.1f}):")
            print(f"  push time          x{b['push_s'] / a['push_s']:.2f}")
            print(f"  batch verify time  x{b['batch_s'] / a['batch_s']:.2f}")
            latency = (b["single_s"] / b["single_n"]) / (a["single_s"] / a["single_n"])
            print(
                f"  one verify latency x{latency:.2f}"
                "  (each verify reads every envelope of each policy stage)"
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
