"""Range benchmark: ``gatekeeper check --base`` over a generated 5,000-commit range.

Builds a repository with ``git fast-import`` in a temp dir: 5,000 commits by a handful of
authors on top of a base commit, touching source files, configs (with an occasional
planted credential and many decoys), CI workflows and scripts, with a merge of a pull
request every 100 commits. Then times (median of --runs) and measures the peak RSS of:

- ``gatekeeper check --base BASE --only source --only secrets`` (this engineer's families)
- ``gatekeeper check --base BASE`` (every registered collector)

    .venv/bin/python bench/range_bench.py [--commits 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _fastimport import FastImport  # bench/ is on the path when a bench runs

ALNUM = string.ascii_letters + string.digits
AUTHORS = [
    ("Ana Dev", "ana@example.org"),
    ("Bo Dev", "bo@example.org"),
    ("Cy Dev", "cy@example.org"),
    ("Di Dev", "di@example.org"),
]


def build_repo(root: Path, commits: int, seed: int = 3) -> str:
    """Create the repository; return the base commit sha."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    files: dict[str, list[str]] = {f"src/mod{i:03d}.py": [f"# module {i}\n"] for i in range(150)}
    files.update({f"config/svc{i:02d}.yaml": ["app:\n"] for i in range(40)})
    files[".github/workflows/ci.yml"] = ["on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n"]
    files["Makefile"] = ["all:\n\techo build\n"]
    stream = FastImport(AUTHORS)

    def commit(
        mark: int,
        parent: int | None,
        paths: list[str],
        when: int,
        msg: str,
        merge: int | None = None,
        ref: str = "refs/heads/main",
    ) -> None:
        stream.commit(mark, parent, [(p, "".join(files[p])) for p in paths], when, msg, merge, ref)

    when = 1_700_000_000
    commit(1, None, sorted(files), when, "base\n")
    mark, parent = 1, 1
    paths = sorted(files)
    made = 0
    while made < commits:
        mark += 1
        when += 60
        touched = rng.sample(paths, rng.randint(1, 3))
        for path in touched:
            if path.endswith(".py"):
                files[path].append(f"def f{mark}(x):\n    return x * {rng.randint(1, 99)}\n")
            elif path.endswith(".yaml"):
                roll = rng.random()
                if roll < 0.01:
                    secret = "".join(rng.choice(ALNUM) for _ in range(24))
                    files[path].append(f"  db_password: {secret}1Aa\n")
                elif roll < 0.3:
                    files[path].append(f"  commit: {rng.getrandbits(160):040x}\n")
                else:
                    files[path].append(f"  replicas_{mark}: {rng.randint(1, 9)}\n")
            else:
                files[path].append(f"# change {mark}\n")
        if made % 100 == 99:
            # a pull request: one commit on a side branch, merged with a GitHub-style message
            side = mark
            commit(side, parent, touched, when, f"feature {side}\n", ref="refs/heads/side")
            mark += 1
            commit(
                mark,
                parent,
                [],
                when + 30,
                f"Merge pull request #{made} from acme/feature-{side}\n",
                merge=side,
            )
            made += 2
        else:
            commit(mark, parent, touched, when, f"change {mark}\n\nSigned-off-by: x <x@y>\n")
            made += 1
        parent = mark
    stream.load(root)
    return _base(root)


def _base(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-list", "--max-parents=0", "main"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]


def measure(argv: list[str], runs: int) -> tuple[float, float, dict[str, object]]:
    """(median seconds, peak RSS MiB of any one process, last JSON output)."""
    times = []
    peak = 0.0
    output: dict[str, object] = {}
    for _ in range(runs):
        code = (
            "import resource, subprocess, sys, time;"
            "t = time.perf_counter();"
            "p = subprocess.run(sys.argv[1:], capture_output=True);"
            "e = time.perf_counter() - t;"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
            "sys.stderr.write(f'{e} {r} {p.returncode}\\n');"
            "sys.stdout.buffer.write(p.stdout)"
        )
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, check=True)
        elapsed, rss_kb, rc = proc.stderr.decode().split()[-3:]
        if rc not in ("0", "1"):
            raise SystemExit(f"gatekeeper exited {rc}: {proc.stdout[-500:]!r}")
        times.append(float(elapsed))
        peak = max(peak, int(rss_kb) / 1024)
        output = json.loads(proc.stdout)
    return statistics.median(times), peak, output


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-range-bench-") as tmp:
        root = Path(tmp) / "repo"
        t0 = time.perf_counter()
        base = build_repo(root, args.commits)
        count = subprocess.run(
            ["git", "rev-list", "--count", f"{base}..main"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(
            f"repository: {count} commits in base..head ({time.perf_counter() - t0:.1f}s "
            "to generate)"
        )
        cli = [
            sys.executable,
            "-m",
            "gatekeeper",
            "check",
            str(root),
            "--base",
            base,
            "--format",
            "json",
        ]
        for label, extra in (
            ("source+secrets", ["--only", "source", "--only", "secrets"]),
            ("all collectors", []),
        ):
            try:
                secs, rss, out = measure([*cli, *extra], args.runs)
            except (subprocess.CalledProcessError, SystemExit) as exc:
                print(f"check --base ({label}): failed: {exc}")
                continue
            findings = out.get("findings", [])
            rules: dict[str, int] = {}
            for f in findings if isinstance(findings, list) else []:
                rules[f["rule"]] = rules.get(f["rule"], 0) + 1
            print(
                f"check --base ({label}): median {secs:.2f}s over {args.runs} run(s), "
                f"peak RSS {rss:.0f} MiB, {len(findings)} findings, verdict {out.get('verdict')}"
            )
            print("  " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
