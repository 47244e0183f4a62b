"""The GitHub Action's install step, cold and warm (a benchmark, not a test).

Runs ``integrations/github/install.sh`` the way action.yml does (``prepare``, then
``install``) with this checkout as the action, in a fresh ``RUNNER_TEMP`` per run:

- cold: no wheel cache, so the locked wheels are downloaded (hash-checked) from the index
  pip is configured with; this needs the network (or a local mirror);
- warm: the wheel directory a cold run left, as actions/cache restores it, installed with
  no index at all (``PIP_NO_INDEX=1``).

Prints the median of each (wall and CPU time: on a loaded machine the wall time is mostly
waiting for a core, the CPU time is what an idle runner would take) and whether the warm
median meets the 5 s target. The actions/cache restore itself (a download of ~15 MB on
GitHub's runners) is not included. ``--warm-only`` downloads once and times warm runs.

    python bench/action_install_bench.py [--repeat 5] [--python python3] [--warm-only]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "integrations" / "github" / "install.sh"
TARGET_WARM_S = 5.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(step: str, runner_temp: Path, python: str, wheels: Path, **env: str) -> float:
    full = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(runner_temp),
        "GATEKEEPER_PYTHON": python,
        "GATEKEEPER_WHEELS": str(wheels),
        **env,
    }
    started = time.perf_counter()
    cpu_before = _children_cpu()
    proc = subprocess.run(
        ["bash", str(INSTALL), step],
        env=full,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=runner_temp,
    )
    elapsed = time.perf_counter() - started
    _CPU.append(_children_cpu() - cpu_before)
    if proc.returncode != 0:
        sys.exit(f"install.sh {step} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


_CPU: list[float] = []  # CPU seconds of each _run, in order


def _cpu_of_last(n: int) -> float:
    return sum(_CPU[-n:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--warm-only", action="store_true", help="one download, then warm runs")
    args = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    warm_cpu: list[float] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gk-action-bench-") as tmp:
        base = Path(tmp)
        kept = base / "kept-wheels"
        for i in range(1 if args.warm_only else args.repeat):
            runner_temp = base / f"cold-{i}"
            runner_temp.mkdir()
            wheels = runner_temp / "gatekeeper-wheels"
            prep = _run("prepare", runner_temp, args.python, wheels)
            cold.append(prep + _run("install", runner_temp, args.python, wheels))
            if not kept.exists():
                shutil.copytree(wheels, kept)
            shutil.rmtree(runner_temp)
        for i in range(args.repeat):
            runner_temp = base / f"warm-{i}"
            runner_temp.mkdir()
            wheels = runner_temp / "gatekeeper-wheels"
            shutil.copytree(kept, wheels)  # what actions/cache restores
            prep = _run("prepare", runner_temp, args.python, wheels)
            warm.append(prep + _run("install", runner_temp, args.python, wheels, PIP_NO_INDEX="1"))
            warm_cpu.append(_cpu_of_last(2))
            shutil.rmtree(runner_temp)
        size = sum(p.stat().st_size for p in kept.iterdir()) / 2**20
        count = len(list(kept.iterdir()))
    cold_m, warm_m = statistics.median(cold), statistics.median(warm)
    load = (load_before + os.getloadavg()[0]) / 2
    print(f"wheel cache: {count} wheels, {size:.1f} MiB; load average ~{load:.1f}")
    print(f"cold install (download, hash-checked): median {cold_m:.2f} s  {cold}")
    print(f"warm install (from the cache, no index): median {warm_m:.2f} s  {warm}")
    print(f"warm install CPU time (user + sys): median {statistics.median(warm_cpu):.2f} s")
    verdict = "met" if warm_m < TARGET_WARM_S else "NOT met"
    print(
        f"target: warm < {TARGET_WARM_S:.0f} s: {verdict} ({cold_m / warm_m:.1f}x faster than cold)"
    )


if __name__ == "__main__":
    main()
