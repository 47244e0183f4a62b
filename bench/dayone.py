"""Measurement: day one on real repositories, `gatekeeper check` as a new user runs it.

For each repository (a git working tree, e.g. a local clone of a public project) it runs,
one after the other and each in a fresh process, with the default policy (or ``--policy``):

- ``gatekeeper check --format json REPO``: the tree audit, every collector, no base;
- ``gatekeeper check --format json --base BASE REPO``: the same plus the range, where BASE is
  the last commit at least 365 days older than HEAD's commit date (``--days`` to change it).

Each run has a time limit (``--timeout``, seconds; the whole process group is killed when it
is reached and the run is reported as ``timeout``). It prints, per repository, the head
commit, each run's verdict, wall and CPU seconds, the active high and critical findings
counted by rule (active: not excepted, baselined or already on the base), and then every
such finding (rule, severity, file:line, message) so that each can be read and judged.
``--json OUT`` also writes every result (sorted keys) for reading or comparing, with the
active findings of every severity counted by rule.

``--gatekeeper CMD`` runs another build (e.g. a checkout of an earlier commit) for a before
and after comparison.

Usage: python bench/dayone.py [--days 365] [--timeout 900] [--policy FILE] [--json OUT]
                              [--tree-only] [--gatekeeper CMD] REPO [REPO ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

_HIGH = {"high", "critical"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def base_commit(repo: Path, days: int) -> str | None:
    """The last commit at least ``days`` older than HEAD's commit date (None: no such commit)."""
    head_time = int(_git(repo, "log", "-1", "--format=%ct", "HEAD"))
    found = _git(repo, "rev-list", "-1", f"--before={head_time - days * 86400}", "HEAD")
    return found or None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_check(
    gatekeeper: list[str], repo: Path, base: str | None, policy: Path | None, timeout: float
) -> dict[str, Any]:
    """One `gatekeeper check` process: its report plus wall and CPU seconds."""
    cmd = [*gatekeeper, "check", "--format", "json"]
    if base:
        cmd += ["--base", base]
    if policy:
        cmd += ["--policy", str(policy)]
    cmd.append(str(repo))
    cpu_before = _children_cpu()
    start = time.perf_counter()
    # A session of its own, so a timeout ends git children as well.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {
            "verdict": "timeout",
            "error": f"stopped after {timeout:g} s",
            "findings": [],
            "seconds": round(time.perf_counter() - start, 2),
            "cpu_seconds": round(_children_cpu() - cpu_before, 2),
        }
    timing = {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(_children_cpu() - cpu_before, 2),
    }
    if proc.returncode not in (0, 1):
        error = f"exit {proc.returncode}: {stderr.strip()[-400:]}"
        return {"verdict": "error", "error": error, "findings": [], **timing}
    report = json.loads(stdout)
    return {"verdict": report["verdict"], "findings": report["findings"], **timing}


def high_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The active findings at high or critical: the ones that decide a block."""
    kept = [f for f in findings if f["severity"] in _HIGH and f.get("status") is None]
    return [
        {key: f.get(key) for key in ("rule", "severity", "path", "line", "message")} for f in kept
    ]


def by_rule(findings: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Active findings of every severity, counted by rule and severity (for the JSON)."""
    counts = Counter((f["rule"], f["severity"]) for f in findings if f.get("status") is None)
    out: dict[str, dict[str, int]] = {}
    for (rule, severity), n in sorted(counts.items()):
        out.setdefault(rule, {})[severity] = n
    return out


def by_severity(findings: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(f["severity"] for f in findings if f.get("status") is None).items()))


def measure(
    gatekeeper: list[str],
    repo: Path,
    days: int,
    policy: Path | None,
    timeout: float,
    tree_only: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "repo": repo.name,
        "head": _git(repo, "rev-parse", "--short=12", "HEAD"),
    }
    runs: list[tuple[str, str | None]] = [("tree", None)]
    base = None if tree_only else base_commit(repo, days)
    if base:
        out["base"] = base[:12]
        out["range_commits"] = int(_git(repo, "rev-list", "--count", f"{base}..HEAD"))
        runs.append(("range", base))
    for name, ref in runs:
        run = run_check(gatekeeper, repo, ref, policy, timeout)
        findings = run.pop("findings")
        run["high"] = high_findings(findings)
        run["active_by_severity"] = by_severity(findings)
        run["active_by_rule"] = by_rule(findings)
        out[name] = run
        print(
            f"# {repo.name} {name}: {run['verdict']} in {run['seconds']} s "
            f"({run['cpu_seconds']} s CPU), high {len(run['high'])}",
            file=sys.stderr,
            flush=True,
        )
    return out


def _counts(run: dict[str, Any] | None) -> str:
    if run is None:
        return "-"
    counts = Counter(f["rule"] for f in run["high"])
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())) or "-"


def _verdict(run: dict[str, Any] | None) -> str:
    if run is None:
        return "-"
    return f"{run['verdict']} ({run['seconds']} s)"


def print_results(results: list[dict[str, Any]]) -> None:
    print("| repository | commit | tree | high (tree) | base | range | high (range) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        base = f"{r['base']} ({r['range_commits']} commits)" if r.get("base") else "-"
        print(
            f"| {r['repo']} | {r['head']} | {_verdict(r['tree'])} | {_counts(r['tree'])} "
            f"| {base} | {_verdict(r.get('range'))} | {_counts(r.get('range'))} |"
        )
    print()
    for r in results:
        for where in ("tree", "range"):
            run = r.get(where)
            if run is None:
                continue
            if "error" in run:
                print(f"- {r['repo']} ({where}): {run['verdict']}: {run['error']}")
            for f in run["high"]:
                print(
                    f"- {r['repo']} ({where}): {f['rule']} {f['severity']} "
                    f"{f['path']}:{f['line']}\n  {f['message']}"
                )


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--days", type=int, default=365, help="age of the range's base")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--policy", type=Path, help="a policy file for every run")
    parser.add_argument("--json", type=Path, help="also write every result as JSON")
    parser.add_argument("--tree-only", action="store_true", help="skip the range runs")
    parser.add_argument(
        "--gatekeeper",
        default=f"{shlex.quote(sys.executable)} -m gatekeeper",
        help="the command that runs gatekeeper (default: this interpreter's -m gatekeeper), "
        "to measure another build",
    )
    args = parser.parse_args()
    gatekeeper = shlex.split(args.gatekeeper)
    results = []
    for repo in args.repos:  # one at a time: the runs are measured, never run side by side
        results.append(
            measure(gatekeeper, repo, args.days, args.policy, args.timeout, args.tree_only)
        )
        if args.json:  # written after each repository, so a long list can be read as it goes
            _write_atomically(args.json, json.dumps(results, indent=2, sort_keys=True) + "\n")
    print_results(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
