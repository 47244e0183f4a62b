#!/usr/bin/env python3
"""Benchmark: `gatekeeper check` on a large repository, peak memory and time, beside peers.

    python bench/large_repo_bench.py [--files 100000] [--commits 10000] [--runs 1]
                                     [--detect-secrets PATH] [--zizmor PATH]

Builds a repository with ``git fast-import`` in a temporary directory: a base commit of
``--files`` small files (source, YAML configs, a few CI workflows and scripts) and
``--commits`` commits on top (1-3 files each, a merged pull request every 100). Then, as
separate processes (median seconds of ``--runs``, peak RSS of the process tree):

- ``gatekeeper check --base BASE --format json`` (every collector; the range is 10,000
  commits) and ``gatekeeper check`` without a base (the whole tree);
- ``detect-secrets scan --all-files`` over the work tree and ``zizmor --offline`` over it,
  when found (``--detect-secrets``/``--zizmor``, else on PATH): the same tree, each tool's
  own job (secrets; workflows).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_gatekeeper
from _fastimport import FastImport  # bench/ is on the path when a bench runs

AUTHORS = [("Ana Dev", "ana@example.org"), ("Bo Dev", "bo@example.org")]
WORKFLOW = (
    "on: [push, pull_request]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - run: make test\n"
)


def build(root: Path, files: int, commits: int) -> str:
    rng = random.Random(7)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    paths = []
    for i in range(files):
        kind = i % 10
        if kind < 7:
            paths.append(f"src/pkg{i % 300:03d}/mod{i}.py")
        elif kind < 9:
            paths.append(f"config/area{i % 50:02d}/svc{i}.yaml")
        else:
            paths.append(f"docs/sec{i % 40:02d}/page{i}.md")
    paths += [f".github/workflows/wf{i}.yml" for i in range(20)] + ["Makefile", "build.sh"]
    stream = FastImport(AUTHORS)

    def content(path: str, n: int) -> str:
        if path.endswith(".py"):
            return f"def f{n}(x):\n    return x * {n % 97}\n"
        if path.endswith(".yaml"):
            return f"app:\n  replicas: {n % 9}\n  commit: {rng.getrandbits(160):040x}\n"
        if path.endswith(".yml"):
            return WORKFLOW
        return f"# page {n}\n\nSome text about component {n}.\n"

    commit = stream.commit

    when = 1_700_000_000
    commit(1, None, [(p, content(p, i)) for i, p in enumerate(paths)], when, "base\n")
    mark = parent = 1
    made = 0
    while made < commits:
        mark += 1
        when += 60
        touched = [(p, content(p, mark)) for p in rng.sample(paths, rng.randint(1, 3))]
        if made % 100 == 99:
            side = mark
            commit(side, parent, touched, when, f"feature {side}\n", ref="refs/heads/side")
            mark += 1
            commit(
                mark, parent, [], when + 30, f"Merge pull request #{made} from acme/f\n", merge=side
            )
            made += 2
        else:
            commit(mark, parent, touched, when, f"change {mark}\n")
            made += 1
        parent = mark
    stream.load(root)
    return subprocess.run(
        ["git", "rev-list", "--max-parents=0", "main"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]


_MEASURE = (
    "import resource, subprocess, sys, time;"
    "t = time.perf_counter();"
    "p = subprocess.run(sys.argv[1:], capture_output=True);"
    "e = time.perf_counter() - t;"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
    "sys.stderr.write(f'{e} {r} {p.returncode}\\n')"
)


def measure(argv: list[str], runs: int, cwd: Path) -> tuple[float, float, str]:
    """(median seconds, peak RSS MiB of the largest process, exit code of the last run)."""
    times, peak, code = [], 0.0, ""
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, *argv], cwd=cwd, capture_output=True, check=True
        )
        elapsed, rss_kb, code = proc.stderr.decode().split()[-3:]
        times.append(float(elapsed))
        peak = max(peak, int(rss_kb) / 1024)
    return statistics.median(times), peak, code


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--detect-secrets", default=shutil.which("detect-secrets"))
    parser.add_argument("--zizmor", default=shutil.which("zizmor"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-large-bench-") as tmp:
        root = Path(tmp) / "repo"
        started = time.perf_counter()
        base = build(root, args.files, args.commits)
        print(
            f"repository: {args.files} files, {args.commits} commits "
            f"({time.perf_counter() - started:.0f} s to generate)",
            flush=True,
        )
        gk = [sys.executable, "-m", "gatekeeper", "check", str(root), "--format", "json"]
        rows = [
            (f"gatekeeper check --base ({args.commits} commits)", [*gk, "--base", base]),
            ("gatekeeper check (whole tree, no base)", gk),
        ]
        if args.detect_secrets:
            rows.append(
                ("detect-secrets scan --all-files", [args.detect_secrets, "scan", "--all-files"])
            )
        if args.zizmor:
            rows.append(("zizmor --offline", [args.zizmor, "--offline", "--format", "json", "."]))
        for label, argv in rows:
            secs, rss, code = measure(argv, args.runs, root)
            print(f"{label:45s} {secs:7.1f} s  peak RSS {rss:6.0f} MiB  (exit {code})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
