"""Where gatekeeper runs: pre-commit hook latency, pr-check, and report rendering.

Generates, in a temp dir, a repository of ``--files`` source/config files (a typical project)
with one commit, then stages a typical change (3 edited files, 1 new workflow) and measures,
as real subprocesses (interpreter start-up included):

- the pre-commit hook: ``gatekeeper check --staged --only secrets --only pipeline``
  (target: under 1 s on a typical change);
- ``gatekeeper pr-check --base main --no-report`` on a feature branch of that repository;
- rendering a verdict of ``--findings`` findings in every report format, in-process.

    .venv/bin/python bench/ci_bench.py [--files 2000] [--runs 5] [--findings 5000]
                                       [--zizmor PATH]

Prints the median of ``--runs`` runs for each, and the ratio to its target. With
``--zizmor``, ``zizmor --offline`` runs on the same repository, interleaved with the hook
(target: the hook at most 1.5x zizmor's time).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_gatekeeper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKFLOW = """name: ci
on: [push]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: make test
"""


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
    }
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env=env,
    )


def make_repo(root: Path, files: int) -> Path:
    rng = random.Random(6)
    repo = root / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        kind = i % 4
        sub = repo / f"pkg{i % 40}"
        sub.mkdir(exist_ok=True)
        if kind == 0:
            body = "\n".join(
                f"def f{j}(x):\n    return x * {rng.randint(1, 99)}" for j in range(30)
            )
            (sub / f"mod{i}.py").write_text(body + "\n")
        elif kind == 1:
            body = "\n".join(f"key{j}: value-{rng.randint(0, 10**6)}" for j in range(40))
            (sub / f"conf{i}.yaml").write_text(body + "\n")
        elif kind == 2:
            (sub / f"notes{i}.md").write_text("lorem ipsum dolor sit amet\n" * 60)
        else:
            (sub / f"data{i}.json").write_text(
                "{" + ",".join(f'"k{j}": {j}' for j in range(50)) + "}\n"
            )
    wf = repo / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(WORKFLOW)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


def stage_typical_change(repo: Path) -> None:
    for rel in ("pkg0/mod0.py", "pkg1/conf1.yaml", "pkg2/notes2.md"):
        with open(repo / rel, "a") as handle:
            handle.write("# a small edit\n")
    (repo / ".github" / "workflows" / "release.yml").write_text(WORKFLOW.replace("ci", "rel"))
    _git(repo, "add", "-A")


# As a developer's machine runs it: bytecode cached.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(cmd: list[str], cwd: Path, expect: set[int]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode not in expect:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return took


def median_seconds(cmd: list[str], cwd: Path, runs: int, expect: set[int]) -> float:
    return statistics.median(run_once(cmd, cwd, expect) for _ in range(runs))


def side_by_side(first: list[str], second: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Medians of two commands run alternately (so both see the same machine load)."""
    a, b = [], []
    for _ in range(runs):
        a.append(run_once(first, cwd, {0}))
        b.append(run_once(second, cwd, {0, 1, 10, 11, 12, 13, 14}))  # zizmor: findings
    return statistics.median(a), statistics.median(b)


def bench_renderers(n: int, runs: int) -> dict[str, float]:
    from gatekeeper.models.finding import Finding, Severity
    from gatekeeper.models.verdict import Verdict
    from gatekeeper.report import ReportFormat, render

    sevs = list(Severity)
    findings = sorted(
        (
            Finding.make(
                "secrets/jwt" if i % 2 else "pipeline/unpinned-action",
                sevs[i % 5],
                f"finding {i}",
                path=f"dir{i % 50}/file{i}.yml",
                line=i % 300 + 1,
            )
            for i in range(n)
        ),
        key=Finding.sort_key,
    )
    verdict = Verdict(
        command="check",
        verdict="block",
        findings=findings,
        block_at=Severity.HIGH,
        policy="bench",
        kinds=["pipeline", "secrets"],
    )
    out = {}
    for fmt in ReportFormat:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            render(fmt, verdict)
            times.append(time.perf_counter() - start)
        out[fmt.value] = statistics.median(times)
    return out


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--zizmor", help="zizmor binary: compare the hook with zizmor --offline")
    args = parser.parse_args()
    gk = [sys.executable, "-m", "gatekeeper"]
    tmp = Path(tempfile.mkdtemp(prefix="gk-ci-bench-"))
    try:
        repo = make_repo(tmp, args.files)
        stage_typical_change(repo)
        hook_cmd = [*gk, "check", "--staged", "--only", "secrets", "--only", "pipeline"]
        hook_cmd += ["--format", "text"]
        run_once(hook_cmd, repo, {0})  # bytecode and page cache warm
        hook = median_seconds(hook_cmd, repo, args.runs, {0})
        print(
            f"pre-commit hook (--staged, {args.files}-file repo, 4 staged files): "
            f"median {hook * 1000:.0f} ms; target 1000 ms; ratio {hook:.2f}x of target"
        )
        if args.zizmor:
            zizmor = [args.zizmor, "--offline", "--no-progress", "."]
            run_once(zizmor, repo, {0, 1, 10, 11, 12, 13, 14})
            ours, theirs = side_by_side(hook_cmd, zizmor, repo, args.runs)
            print(
                f"pre-commit hook vs zizmor --offline on the same repository (alternated): "
                f"{ours * 1000:.0f} ms vs {theirs * 1000:.0f} ms: {ours / theirs:.2f}x "
                "(target <= 1.5x)"
            )
        _git(repo, "checkout", "-q", "-b", "feature")
        _git(repo, "commit", "-q", "-m", "feature change")
        pr = median_seconds(
            [*gk, "pr-check", "--base", "main", "--no-report", "--format", "json"],
            repo,
            args.runs,
            {0, 1},
        )
        whole = median_seconds([*gk, "check", "--format", "json"], repo, args.runs, {0, 1})
        print(
            f"pr-check (merge base + base-tree re-audit): median {pr * 1000:.0f} ms; "
            f"whole-tree check: median {whole * 1000:.0f} ms; ratio {pr / whole:.2f}"
        )
        for fmt, seconds in bench_renderers(args.findings, args.runs).items():
            print(f"render {fmt:<8} {args.findings} findings: median {seconds * 1000:7.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
