"""Complexity gate: radon's cyclomatic complexity over the gatekeeper package.

Fails when more than 3.5 functions per 1,000 lines rank C or worse (complexity 11 and up), or
when any function ranks E or F (31 and up). Prints the density and the worst functions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

MAX_C_PER_KLOC = 3.5
FORBIDDEN = {"E", "F"}


def main() -> int:
    package = Path(__file__).resolve().parents[1] / "gatekeeper"
    lines = 0
    ranked: list[tuple[int, str]] = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines += text.count("\n")
        for block in cc_visit(text):
            if block.complexity > 10:
                where = f"{path.relative_to(package.parent)}:{block.lineno} {block.fullname}"
                ranked.append((block.complexity, where))
    density = len(ranked) * 1000 / max(lines, 1)
    worst = sorted(ranked, reverse=True)
    print(
        f"complexity: {len(ranked)} functions ranked C or worse in {lines:,} lines "
        f"({density:.2f} per 1,000; at most {MAX_C_PER_KLOC})"
    )
    for complexity, where in worst[:5]:
        print(f"  {cc_rank(complexity)} ({complexity}) {where}")
    forbidden = [w for c, w in worst if cc_rank(c) in FORBIDDEN]
    if forbidden:
        print("functions ranked E or F (split them into named steps):", *forbidden, sep="\n  ")
        return 1
    return 0 if density <= MAX_C_PER_KLOC else 1


if __name__ == "__main__":
    sys.exit(main())
