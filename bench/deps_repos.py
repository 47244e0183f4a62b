"""Measurement: the deps/ findings of `check --only deps` on real repositories, first audit
and one year of history.

For each repository (a git working tree, e.g. a local clone of a public project) it runs,
each in a fresh process, with the default policy:

- ``gatekeeper check --only deps REPO`` (the first audit of the tree, no base);
- ``gatekeeper check --only deps --base BASE REPO`` where BASE is the last commit at least
  365 days older than HEAD's commit date (``--days`` to change it).

and prints, per repository, the lockfiles read, the verdict of each run, the counts of
findings by rule at high and above (active ones, i.e. not already on the base), and every
such finding (rule, file, message) so that each can be read and judged.

Usage: python bench/deps_repos.py [--days 365] [--json OUT] [--policy FILE] REPO [REPO ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _bytecode import compile_gatekeeper

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


def run_check(repo: Path, base: str | None, policy: Path | None) -> tuple[dict[str, Any], float]:
    cmd = [sys.executable, "-m", "gatekeeper", "check", "--only", "deps", "--format", "json"]
    if base:
        cmd += ["--base", base]
    if policy:
        cmd += ["--policy", str(policy)]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, str(repo)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        error = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return {"verdict": "error", "findings": [], "error": error}, elapsed
    return json.loads(proc.stdout), elapsed


def files_read(repo: Path) -> list[str]:
    cmd = [sys.executable, "-m", "gatekeeper", "collect", "deps", str(repo)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return list(json.loads(proc.stdout)["tree"]["files"])


def high_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in report["findings"]
        if f["severity"] in _HIGH and f.get("status") is None and f["rule"].startswith("deps/")
    ]


def measure(repo: Path, days: int, policy: Path | None) -> dict[str, Any]:
    base = base_commit(repo, days)
    tree, tree_s = run_check(repo, None, policy)
    out: dict[str, Any] = {
        "repo": repo.name,
        "head": _git(repo, "rev-parse", "--short=12", "HEAD"),
        "files": len(files_read(repo)),
        "tree": {"verdict": tree["verdict"], "seconds": round(tree_s, 2)},
        "tree_high": high_findings(tree),
        "base": base[:12] if base else None,
    }
    if base:
        ranged, range_s = run_check(repo, base, policy)
        out["range"] = {"verdict": ranged["verdict"], "seconds": round(range_s, 2)}
        out["range_high"] = high_findings(ranged)
    return out


def _counts(findings: list[dict[str, Any]]) -> str:
    counts = Counter(f["rule"] for f in findings)
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())) or "-"


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--json", type=Path, help="also write every result as JSON")
    parser.add_argument("--policy", type=Path, help="a policy file for both runs")
    args = parser.parse_args()
    results = [measure(repo, args.days, args.policy) for repo in args.repos]
    print("| repository | lockfiles | tree | high (tree) | base | range | high (range) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ranged = r.get("range", {})
        print(
            f"| {r['repo']} | {r['files']} | {r['tree']['verdict']} | {_counts(r['tree_high'])} "
            f"| {r['base'] or '-'} | {ranged.get('verdict', '-')} "
            f"| {_counts(r.get('range_high', []))} |"
        )
    print()
    for r in results:
        for where in ("tree_high", "range_high"):
            for f in r.get(where, []):
                print(f"- {r['repo']} ({where.split('_')[0]}): {f['rule']} {f['path']}:{f['line']}")
                print(f"  {f['message']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
