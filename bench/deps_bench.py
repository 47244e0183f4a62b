"""Benchmark: `collect deps` + OSV matching on 20,000 packages against 50,000 advisories.

Generates, in a temp dir, lockfiles of five ecosystems (package-lock.json, poetry.lock,
Cargo.lock, go.mod/go.sum, Gemfile.lock) holding 20,000 packages and an OSV database
(directory of JSON records, the per-ecosystem layout) of 50,000 advisories over those names.
Then times, each in a fresh process (peak RSS from getrusage):

- cold: empty cache, so the database is indexed first;
- warm: the cached index is reused;
- reference: a straightforward implementation that reads every record on every run and
  matches introduced/fixed ranges with the same version ordering (results are compared).

pip-audit needs the network (it has no offline OSV database mode) and osv-scanner is not on
PyPI; the script says whether either is present and otherwise compares with the reference.

Usage: python bench/deps_bench.py [--packages 20000] [--advisories 50000] [--runs 5]
Targets: warm run under 2 s, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ECOSYSTEM_SHARE = (("npm", 0.4), ("PyPI", 0.2), ("crates.io", 0.2), ("Go", 0.1), ("RubyGems", 0.1))


def _version(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(0, 5), rng.randint(0, 20), rng.randint(0, 30))


def generate_tree(root: Path, count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Write the lockfiles; return (ecosystem, name, version) of every package."""
    out: list[tuple[str, str, str]] = []
    counts = {eco: int(count * share) for eco, share in ECOSYSTEM_SHARE}
    counts["npm"] += count - sum(counts.values())
    # npm: package-lock.json v3
    packages: dict[str, object] = {"": {"name": "bench", "version": "1.0.0"}}
    for i in range(counts["npm"]):
        name, (a, b, c) = f"npm-pkg-{i:05d}", _version(rng)
        version = f"{a}.{b}.{c}"
        packages[f"node_modules/{name}"] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        }
        out.append(("npm", name, version))
    (root / "package-lock.json").write_text(
        json.dumps(
            {"name": "bench", "lockfileVersion": 3, "requires": True, "packages": packages},
            indent=2,
        )
    )
    # PyPI: poetry.lock
    lines = []
    for i in range(counts["PyPI"]):
        name, (a, b, c) = f"py-pkg-{i:05d}", _version(rng)
        version = f"{a}.{b}.{c}"
        lines.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\n'
            f'optional = false\npython-versions = "*"\nfiles = [\n'
            f'    {{file = "{name}-{version}.tar.gz", hash = "sha256:{"c" * 64}"}},\n]\n'
        )
        out.append(("PyPI", name, version))
    (root / "poetry.lock").write_text("\n".join(lines) + '\n[metadata]\nlock-version = "2.0"\n')
    # Cargo.lock
    lines = ["version = 3\n"]
    for i in range(counts["crates.io"]):
        name, (a, b, c) = f"crate_{i:05d}", _version(rng)
        version = f"{a}.{b}.{c}"
        lines.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
            f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
            f'checksum = "{"d" * 64}"\n'
        )
        out.append(("crates.io", name, version))
    (root / "Cargo.lock").write_text("\n".join(lines))
    # go.mod + go.sum
    mod, sums = ["module example.com/bench\n\ngo 1.21\n\nrequire ("], []
    for i in range(counts["Go"]):
        name, (a, b, c) = f"example.com/mod{i:05d}", _version(rng)
        version = f"v{a}.{b}.{c}"
        mod.append(f"\t{name} {version}")
        sums.append(f"{name} {version} h1:{'E' * 43}=")
        sums.append(f"{name} {version}/go.mod h1:{'F' * 43}=")
        out.append(("Go", name, version))
    (root / "go.mod").write_text("\n".join(mod) + "\n)\n")
    (root / "go.sum").write_text("\n".join(sums) + "\n")
    # Gemfile.lock
    gem = ["GEM", "  remote: https://rubygems.org/", "  specs:"]
    for i in range(counts["RubyGems"]):
        name, (a, b, c) = f"gem-{i:05d}", _version(rng)
        version = f"{a}.{b}.{c}"
        gem.append(f"    {name} ({version})")
        out.append(("RubyGems", name, version))
    gem += ["", "PLATFORMS", "  ruby", "", "DEPENDENCIES", "  gem-00000", ""]
    (root / "Gemfile.lock").write_text("\n".join(gem))
    return out


def generate_db(
    root: Path, packages: list[tuple[str, str, str]], count: int, rng: random.Random
) -> None:
    for eco in {p[0] for p in packages}:
        (root / eco).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        eco, name, _ = rng.choice(packages)
        a, b, c = _version(rng)
        intro = "0" if rng.random() < 0.3 else f"{a}.{b}.0"
        fixed = f"{a}.{b + rng.randint(1, 5)}.{c}"
        record = {
            "schema_version": "1.6.0",
            "id": f"BENCH-{i:06d}",
            "modified": "2024-01-01T00:00:00Z",
            "aliases": [f"CVE-2024-{i:06d}"],
            "summary": f"synthetic advisory {i}",
            "affected": [
                {
                    "package": {"ecosystem": eco, "name": name},
                    "ranges": [
                        {
                            "type": "SEMVER" if eco == "Go" else "ECOSYSTEM",
                            "events": [{"introduced": intro}, {"fixed": fixed}],
                        }
                    ],
                }
            ],
            "database_specific": {"severity": rng.choice(["LOW", "MODERATE", "HIGH"])},
        }
        if i % 10 == 0:
            record["severity"] = [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
            ]
        (root / eco / f"{record['id']}.json").write_text(json.dumps(record))


# ------------------------------------------------------------------ child processes


def child_gatekeeper(tree: str, db: str) -> dict[str, object]:
    start = time.perf_counter()
    from gatekeeper.collect.base import CollectContext
    from gatekeeper.collect.deps import DepsCollector
    from gatekeeper.models.options import AuditOptions

    options = AuditOptions(osv_db=Path(db))
    evidence = DepsCollector().collect(CollectContext(repo=Path(tree), options=options))
    elapsed = time.perf_counter() - start
    matches = sorted({(v.ecosystem, v.name, v.version, v.id) for v in evidence.vulnerabilities})
    return {
        "seconds": elapsed,
        "packages": len(evidence.tree.packages),
        "matches": matches,
        "errors": len(evidence.tree.errors),
    }


def child_reference(tree: str, db: str) -> dict[str, object]:
    """Read every record every time; match introduced/fixed ranges by the same orderings."""
    start = time.perf_counter()
    from gatekeeper.collect.base import CollectContext
    from gatekeeper.collect.deps import DepsCollector
    from gatekeeper.deps.versions import semver_key, version_key
    from gatekeeper.models.options import AuditOptions

    options = AuditOptions(osv_skip=True)
    evidence = DepsCollector().collect(CollectContext(repo=Path(tree), options=options))
    by_pkg: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for dirpath, _dirs, files in os.walk(db):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as handle:
                record = json.load(handle)
            for aff in record["affected"]:
                by_pkg[(aff["package"]["ecosystem"], aff["package"]["name"])].append(
                    {"id": record["id"], "ranges": aff["ranges"]}
                )
    matches = set()
    for pkg in evidence.tree.packages:
        for adv in by_pkg.get((pkg.ecosystem, pkg.name), []):
            for rng in adv["ranges"]:  # type: ignore[attr-defined]

                def key(v: str, rtype: str = rng["type"], eco: str = pkg.ecosystem) -> object:
                    if rtype == "SEMVER":
                        return semver_key(v.removeprefix("v"))
                    return version_key(eco, v)

                intro = next(e["introduced"] for e in rng["events"] if "introduced" in e)
                fixed = next(e["fixed"] for e in rng["events"] if "fixed" in e)
                here = key(pkg.version or "")
                if (intro == "0" or here >= key(intro)) and here < key(fixed):  # type: ignore[operator]
                    matches.add((pkg.ecosystem, pkg.name, pkg.version, adv["id"]))
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "packages": len(evidence.tree.packages),
        "matches": sorted(matches),
        "errors": 0,
    }


def run_child(mode: str, tree: Path, db: Path, cache: Path) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(tree), str(db)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=20_000)
    parser.add_argument("--advisories", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "TREE", "DB"))
    args = parser.parse_args()
    if args.child:
        mode, tree, db = args.child
        result = (child_gatekeeper if mode == "gatekeeper" else child_reference)(tree, db)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_mb"] = usage.ru_maxrss / 1024
        # CPU seconds of the whole process (interpreter start and imports included): what the
        # wall time would be on an idle machine; the wall time suffers on a shared one.
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return 0

    rng = random.Random(20240101)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-deps-bench-") as tmp:
        tmp_path = Path(tmp)
        tree, db = tmp_path / "tree", tmp_path / "osv"
        tree.mkdir()
        t0 = time.perf_counter()
        packages = generate_tree(tree, args.packages, rng)
        generate_db(db, packages, args.advisories, rng)
        print(
            f"generated {len(packages)} packages, {args.advisories} advisories "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        few = max(1, args.runs // 2 + 1)
        cold = [run_child("gatekeeper", tree, db, tmp_path / f"cache-cold-{i}") for i in range(few)]
        warm_cache = tmp_path / "cache-warm"
        run_child("gatekeeper", tree, db, warm_cache)  # build the index once
        warm = [run_child("gatekeeper", tree, db, warm_cache) for _ in range(args.runs)]
        ref = [run_child("reference", tree, db, tmp_path / "cache-ref") for _ in range(few)]
        cli = []
        for _ in range(args.runs):
            # The whole command line, JSON of 20,000 packages written out included.
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gatekeeper",
                    "collect",
                    "deps",
                    str(tree),
                    "--osv-db",
                    str(db),
                ],
                env={**os.environ, "XDG_CACHE_HOME": str(warm_cache)},
                stdout=subprocess.DEVNULL,
                check=True,
            )
            cli.append(time.perf_counter() - t0)

    def med(rows: list[dict[str, object]], key: str) -> float:
        return statistics.median(float(r[key]) for r in rows)  # type: ignore[arg-type]

    found = warm[0]["matches"]
    agree = found == ref[0]["matches"] and found == cold[0]["matches"]
    print(f"packages parsed: {warm[0]['packages']} (parse errors: {warm[0]['errors']})")
    print(f"vulnerable matches: {len(found)}; same as reference: {agree}")  # type: ignore[arg-type]
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"cold  (index build + collect + match): median {med(cold, 'seconds'):.2f} s wall, "
        f"{med(cold, 'cpu_seconds'):.2f} s CPU, peak {med(cold, 'peak_mb'):.0f} MB "
        f"(n={len(cold)})"
    )
    print(
        f"warm  (cached index):                  median {med(warm, 'seconds'):.2f} s wall, "
        f"{med(warm, 'cpu_seconds'):.2f} s CPU, peak {med(warm, 'peak_mb'):.0f} MB "
        f"(n={len(warm)})"
    )
    print(
        f"warm CLI `gatekeeper collect deps --osv-db` (process wall time, JSON out): "
        f"median {statistics.median(cli):.2f} s  (n={len(cli)})"
    )
    print(
        f"reference (re-reads every record):     median {med(ref, 'seconds'):.2f} s wall, "
        f"{med(ref, 'cpu_seconds'):.2f} s CPU, peak {med(ref, 'peak_mb'):.0f} MB "
        f"(n={len(ref)})"
    )
    print(
        f"ratio reference/warm: {med(ref, 'seconds') / med(warm, 'seconds'):.1f}x; "
        f"cold/warm: {med(cold, 'seconds') / med(warm, 'seconds'):.1f}x"
    )
    peak = max(med(cold, "peak_mb"), med(warm, "peak_mb"))
    print(
        f"targets: warm < 2 s: wall {'met' if med(warm, 'seconds') < 2 else 'MISSED'}, "
        f"CPU {'met' if med(warm, 'cpu_seconds') < 2 else 'MISSED'}; "
        f"peak < 500 MB: {'met' if peak < 500 else 'MISSED'}"
    )
    for tool in ("osv-scanner", "pip-audit"):
        where = shutil.which(tool)
        print(
            f"{tool}: {'found at ' + where if where else 'not installed'}"
            " — not comparable offline (pip-audit queries the network; osv-scanner is not on"
            " PyPI), so the reference implementation above is the comparison"
        )
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
