"""Benchmark: recall of the pipeline audits on zizmor's own integration test data.

For every workflow and action file of zizmor's test data (``crates/zizmor/tests/integration/
test-data`` of a zizmor checkout; configuration, Dependabot and pre-commit files aside), runs
``zizmor --offline --no-config --format json FILE`` and gatekeeper's pipeline collector and
audits on a tree holding only that file (as ``.github/workflows/NAME`` or ``action.yml``).

A positive is one zizmor finding at medium or high (its default persona) for an audit both
tools have, counted once per (file, audit, line). It is reported by gatekeeper when a
finding of the matching rule, at any severity, sits on a line of the zizmor finding's spans
or within one line of its primary location; ``excessive-permissions`` is matched per file
(gatekeeper reports a missing ``permissions:`` once per workflow, zizmor once per job).
Prints the table by audit (positives, reported, reported at medium or above) and every miss.

Usage:
    .venv/bin/python bench/workflow_recall.py \\
        --data ZIZMOR/crates/zizmor/tests/integration/test-data [--zizmor PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.pipeline import PipelineCollector
from gatekeeper.models.policy import AuditsPolicy

# zizmor audit -> gatekeeper rule (the audits both tools have)
SHARED = {
    "unpinned-uses": "pipeline/unpinned-action",
    "insecure-commands": "pipeline/insecure-commands",
    "dangerous-triggers": "pipeline/dangerous-trigger",
    "excessive-permissions": "pipeline/excessive-permissions",
    "cache-poisoning": "pipeline/cache-poisoning",
    "template-injection": "pipeline/template-injection",
    "unpinned-images": "pipeline/unpinned-image",
    "artipacked": "pipeline/persisted-credentials",
    "github-env": "pipeline/github-env-injection",
    "self-hosted-runner": "pipeline/self-hosted-runner",
    "secrets-inherit": "pipeline/secrets-inherit",
    "hardcoded-container-credentials": "pipeline/hardcoded-credentials",
    "bot-conditions": "pipeline/bot-condition",
    "unsound-contains": "pipeline/unsound-contains",
    "overprovisioned-secrets": "pipeline/overprovisioned-secrets",
    "known-vulnerable-actions": "pipeline/known-vulnerable-action",
}
_SERIOUS = ("medium", "high", "critical")


def _inputs(data: Path) -> list[tuple[Path, str]]:
    out = []
    for path in sorted(data.rglob("*")):
        rel = path.relative_to(data).as_posix()
        if not path.is_file() or path.suffix not in (".yml", ".yaml"):
            continue
        if "/configs/" in rel or "dependabot" in path.name or "pre-commit" in rel:
            continue
        if path.name.startswith("zizmor") or "config-scenarios" in rel:
            continue
        out.append((path, rel))
    return out


def _zizmor(zizmor: str, path: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [zizmor, "--offline", "--no-config", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found = json.loads(done.stdout or "[]")
    except ValueError:
        return []
    out = []
    for finding in found:
        if finding["determinations"]["severity"] not in ("Medium", "High"):
            continue
        rows: set[int] = set()
        primary = None
        for loc in finding["locations"]:
            span = loc["concrete"]["location"]
            first, last = span["start_point"]["row"] + 1, span["end_point"]["row"] + 1
            rows.update(range(first, last + 1))
            if loc["symbolic"]["kind"] == "Primary":
                primary = first
        out.append({"ident": finding["ident"], "rows": sorted(rows), "line": primary})
    return out


def _gatekeeper(path: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        is_action = path.name in ("action.yml", "action.yaml")
        target = root / "action.yml" if is_action else root / ".github/workflows" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
        evidence = PipelineCollector().collect(CollectContext(repo=root))
        ctx = AuditContext(policy=AuditsPolicy(), repo=root, evidence={"pipeline": evidence})
        findings = run_audits({"pipeline": evidence}, ctx)
    return [{"rule": f.rule, "severity": f.severity.value, "line": f.line} for f in findings]


def _match(z: dict[str, Any], gk: list[dict[str, Any]], used: set[int], rule: str) -> int | None:
    def free(i: int, g: dict[str, Any]) -> bool:
        return g["rule"] == rule and (i not in used or rule == "pipeline/excessive-permissions")

    for i, g in enumerate(gk):
        if free(i, g) and g["line"] in z["rows"]:
            return i
    for i, g in enumerate(gk):
        if free(i, g) and g["line"] is not None and abs(g["line"] - (z["line"] or 0)) <= 1:
            return i
    if rule == "pipeline/excessive-permissions":
        return next((i for i, g in enumerate(gk) if g["rule"] == rule), None)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--zizmor", default=shutil.which("zizmor") or "zizmor")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    total: collections.Counter[str] = collections.Counter()
    reported: collections.Counter[str] = collections.Counter()
    serious: collections.Counter[str] = collections.Counter()
    misses: list[tuple[str, str, int | None]] = []
    raw: dict[str, Any] = {}
    for path, rel in _inputs(args.data):
        positives = _zizmor(args.zizmor, path)
        gk = _gatekeeper(path)
        raw[rel] = {"zizmor": positives, "gatekeeper": gk}
        used: set[int] = set()
        seen: set[tuple[str, int | None]] = set()
        for z in positives:
            rule = SHARED.get(z["ident"])
            if rule is None or (z["ident"], z["line"]) in seen:
                continue
            seen.add((z["ident"], z["line"]))
            total[z["ident"]] += 1
            hit = _match(z, gk, used, rule)
            if hit is None:
                misses.append((rel, z["ident"], z["line"]))
                continue
            used.add(hit)
            reported[z["ident"]] += 1
            if gk[hit]["severity"] in _SERIOUS:
                serious[z["ident"]] += 1
    print(f"{'zizmor audit':32} {'positives':>9} {'reported':>8} {'at medium+':>10}")
    for ident in sorted(total):
        print(f"{ident:32} {total[ident]:9} {reported[ident]:8} {serious[ident]:10}")
    all_total, all_reported = sum(total.values()), sum(reported.values())
    print(
        f"{'all':32} {all_total:9} {all_reported:8} {sum(serious.values()):10}  "
        f"recall {100 * all_reported / max(1, all_total):.1f} %"
    )
    for rel, ident, line in misses:
        print(f"miss: {rel}:{line} {ident}")
    if args.json is not None:
        args.json.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
