"""The glob engine (gatekeeper/_glob.py) against the regex translation it replaced.

Standalone (not a test): generates its inputs, runs, prints medians and ratios.

    .venv/bin/python bench/glob_bench.py

1. Ordinary use: three path globs over 100,000 paths (attest globs, GitLab includes), and a
   96-rule CODEOWNERS file over 50 sensitive paths, compiled and matched each run.
2. Backtracking shapes a pull request can write: ``*a`` x k then ``c`` against 100 ``a``s
   and ``/ac``; ``**/`` x k then ``x/*.yml`` against a 2k-deep path. The regex translation
   runs in a child process cut at 10 s.
3. Size: a 4,000-character pattern against a 4,000-character path; a 100,000-character one.
"""

from __future__ import annotations

import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper._glob import compile_codeowners, compile_glob

# The previous translations, for comparison only.
_OLD = (("**/", "(?:[^/]*/)*"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))
_OLD_CO = (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def old_glob(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        for token, regex in _OLD:
            if pattern.startswith(token, i):
                out.append(regex)
                i += len(token)
                break
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("(?s:" + "".join(out) + (".*" if pattern.endswith("/") else "") + r")\Z")


def old_codeowners(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out, i = [], 0
    while i < len(body):
        if body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
            continue
        for token, regex in _OLD_CO:
            if body.startswith(token, i):
                out.append(regex)
                i += len(token)
                break
        else:
            out.append(re.escape(body[i]))
            i += 1
    if pattern.endswith("/"):
        suffix = "/.*"
    else:
        last = body.rsplit("/", 1)[-1]
        suffix = "" if "*" in last and not last.startswith("**") else "(?:/.*)?"
    return re.compile(("" if anchored else "^(?:.*/)?") + "".join(out) + suffix + "$")


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def old_in_child(kind: str, pattern: str, path: str, limit: float = 10.0) -> str:
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import glob_bench as g; "
        f"rx = g.old_{kind}(sys.argv[2]); t = time.perf_counter(); rx.match(sys.argv[3]); "
        "print((time.perf_counter() - t) * 1000)"
    )
    here = str(Path(__file__).resolve().parent)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, here, pattern, path],
            capture_output=True,
            text=True,
            timeout=limit,
            check=True,
        ).stdout
    except subprocess.TimeoutExpired:
        return f"> {limit * 1000:.0f} ms (cut)"
    return f"{float(out):.2f} ms"


def ordinary() -> None:
    rng = random.Random(0)
    dirs = ["src", "lib", "tests", "docs", "ci", ".github/workflows", "pkg/a/b", "vendor/x"]
    exts = ["py", "yml", "js", "md"]
    paths = [
        f"{rng.choice(dirs)}/{rng.choice(dirs)}/f{i}.{rng.choice(exts)}" for i in range(100_000)
    ]
    globs = ["ci/**/*.yml", "src/**", "**/*.md"]

    def new() -> int:
        compiled = [compile_glob.__wrapped__(p) for p in globs]
        return sum(1 for p in paths for g in compiled if g.match(p))

    def old() -> int:
        compiled = [old_glob(p) for p in globs]
        return sum(1 for p in paths for g in compiled if g.match(p))

    if new() != old():
        raise AssertionError("the engines disagree on the ordinary globs")
    n, o = median_ms(new), median_ms(old)
    print(f"3 globs x 100,000 paths: {n:.0f} ms, regex {o:.0f} ms (ratio {n / o:.2f})")

    rules = ["*", "/docs/", "*.js", "/.github/", "/src/**/test_*.py", "vendor/"] * 16
    sensitive = paths[:50]

    def new_co() -> int:
        compiled = [compile_codeowners(r) for r in rules]
        return sum(1 for p in sensitive for g in compiled if g.match(p))

    def old_co() -> int:
        re.purge()  # NOTE: as the new engine does, compile each run
        compiled = [old_codeowners(r) for r in rules]
        return sum(1 for p in sensitive for g in compiled if g.match(p))

    if new_co() != old_co():
        raise AssertionError("the engines disagree on the CODEOWNERS rules")
    n, o = median_ms(new_co, 15), median_ms(old_co, 15)
    print(f"CODEOWNERS, 96 rules x 50 paths: {n:.1f} ms, regex {o:.1f} ms (ratio {n / o:.2f})")


def backtracking() -> None:
    path = "a" * 100 + "/ac"
    for k in (10, 15, 20, 25):
        pattern = "*a" * k + "c"
        new = median_ms(lambda pattern=pattern: compile_codeowners(pattern).match(path))
        old = old_in_child("codeowners", pattern, path)
        print(f"CODEOWNERS '*a' x {k} + 'c' vs 100 a's: {new:.2f} ms; regex {old}")
    deep = "a/" * 2000 + "x/b/c.yml"
    for k in (10, 20, 40, 1000):
        pattern = "**/" * k + "x/*.yml"
        new = median_ms(lambda pattern=pattern: compile_glob.__wrapped__(pattern).match(deep))
        old = old_in_child("glob", pattern, deep) if k <= 40 else "not run"
        print(f"include '**/' x {k} + 'x/*.yml' vs a 2,000-deep path: {new:.2f} ms; regex {old}")


def size() -> None:
    path = "a" * 4_000 + "/ac"
    for chars in (4_000, 100_000):
        pattern = "*a" * (chars // 2) + "c"
        total = median_ms(lambda pattern=pattern: compile_codeowners(pattern).match(path), 3)
        print(f"a {chars:,}-character pattern vs a 4,003-character path: {total:.0f} ms")


def main() -> None:
    ordinary()
    backtracking()
    size()


if __name__ == "__main__":
    main()
