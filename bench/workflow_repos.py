"""Benchmark: ``check --only pipeline`` against ``zizmor --offline`` on real repositories.

For each repository directory given (a git work tree; clone them first), runs, side by side
and interleaved so that both tools see the same machine load:

    gatekeeper check REPO --only pipeline --format json
    zizmor --offline --format json REPO

``--runs`` times each, and prints per repository the median wall time of each tool, the
ratio, and gatekeeper's pipeline findings by severity; then the totals of wall time and of
CPU time (user + system of the process: on a shared machine, wall time is mostly waiting
for a core, and CPU time is the work each tool does). ``--findings FILE``
writes every finding at medium or above (rule, path, line, message) as JSON for reading by
hand: the precision table of bench/README.md is that reading.

gatekeeper runs as an installed package does, with its bytecode cache (the environment's
PYTHONDONTWRITEBYTECODE is cleared for it and a warm-up run writes the caches).

Usage:
    .venv/bin/python bench/workflow_repos.py REPO... [--runs 3] [--zizmor PATH]
        [--findings medium-plus.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bytecode import compile_gatekeeper

GATEKEEPER = [sys.executable, "-m", "gatekeeper"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one run."""
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, _cpu() - cpu, done.stdout


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zizmor", default=shutil.which("zizmor") or "zizmor")
    parser.add_argument("--findings", type=Path, help="write medium+ findings (JSON) here")
    args = parser.parse_args()
    env = _env()
    subprocess.run([*GATEKEEPER, "--version"], capture_output=True, env=env, check=False)
    totals = {"gatekeeper": 0.0, "zizmor": 0.0}
    cpu = {"gatekeeper": 0.0, "zizmor": 0.0}
    severities: collections.Counter[str] = collections.Counter()
    serious: dict[str, list[dict[str, object]]] = {}
    print(f"{'repository':34} {'gatekeeper':>10} {'zizmor':>8} {'ratio':>6}  findings")
    for repo in args.repos:
        gk_times, zz_times, gk_cpu, zz_cpu = [], [], [], []
        report = ""
        for _ in range(args.runs):
            elapsed, used, report = _time(
                [*GATEKEEPER, "check", str(repo), "--only", "pipeline", "--format", "json"], env
            )
            gk_times.append(elapsed)
            gk_cpu.append(used)
            zizmor = [args.zizmor, "--offline", "--format", "json", str(repo)]
            elapsed, used, _ = _time(zizmor, env)
            zz_times.append(elapsed)
            zz_cpu.append(used)
        gk, zz = statistics.median(gk_times), statistics.median(zz_times)
        totals["gatekeeper"] += gk
        totals["zizmor"] += zz
        cpu["gatekeeper"] += statistics.median(gk_cpu)
        cpu["zizmor"] += statistics.median(zz_cpu)
        findings = json.loads(report)["findings"] if report else []
        counts = collections.Counter(f["severity"] for f in findings)
        severities.update(counts)
        serious[repo.name] = [
            {k: f.get(k) for k in ("rule", "severity", "path", "line", "message")}
            for f in findings
            if f["severity"] in ("medium", "high", "critical")
        ]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"{repo.name:34} {gk:9.2f}s {zz:7.2f}s {gk / zz:6.2f}  {shown}")
    ratio = totals["gatekeeper"] / totals["zizmor"]
    print(
        f"{'total':34} {totals['gatekeeper']:9.2f}s {totals['zizmor']:7.2f}s {ratio:6.2f}  "
        + ", ".join(f"{k} {v}" for k, v in sorted(severities.items()))
    )
    print(
        f"{'total CPU (user + system)':34} {cpu['gatekeeper']:9.2f}s {cpu['zizmor']:7.2f}s "
        f"{cpu['gatekeeper'] / cpu['zizmor']:6.2f}"
    )
    if args.findings is not None:
        args.findings.write_text(json.dumps(serious, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
