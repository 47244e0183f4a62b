"""Measure what real CI configurations need from the YAML caps (limits.yaml_*).

For each YAML file given (or found under the directories given): its size, the aliases in its
largest document, its nesting depth, the nodes its aliases expand to, and the time to load it
with gatekeeper's loader under the default caps. The defaults in ``Limits`` are meant to sit
an order of magnitude above the largest of these; bench/README.md records a run.

    .venv/bin/python bench/yaml_limits_bench.py DIR_OR_FILE... [--top 10]

Nothing here is imported by gatekeeper; it reads files and prints a table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from gatekeeper.collect._yaml_lines import YamlLinesError, load_with_lines_all


@dataclass
class Measure:
    path: str
    size: int
    aliases: int  # in the document with the most
    depth: int  # deepest nesting of collections (a scalar at top level is depth 0)
    expanded: int  # nodes after alias expansion, largest document
    load_ms: float
    error: str = ""


class _TagTolerantLoader(yaml.SafeLoader):
    """Composes (never constructs), so application tags such as `!reference` are fine."""


def _measure_events(text: str) -> tuple[int, int]:
    aliases = best_aliases = depth = best_depth = 0
    for event in yaml.parse(text, Loader=_TagTolerantLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            aliases = 0
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            best_aliases = max(best_aliases, aliases)
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            best_depth = max(best_depth, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return best_aliases, best_depth


def _expanded(node: object, memo: dict[int, int]) -> int:
    """Nodes of the document with every alias expanded, counted without expanding."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once (gatekeeper refuses those)
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded(c, memo) for c in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded(k, memo) + _expanded(v, memo) for k, v in node.value)
    else:
        total = 1
    memo[key] = total
    return total


def measure(path: Path) -> Measure:
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    try:
        aliases, depth = _measure_events(text)
        expanded = max(
            (_expanded(doc, {}) for doc in yaml.compose_all(text, Loader=_TagTolerantLoader)),
            default=0,
        )
    except yaml.YAMLError as exc:
        return Measure(str(path), len(data), 0, 0, 0, 0.0, f"not YAML: {str(exc)[:60]}")
    started = time.perf_counter()
    error = ""
    try:
        load_with_lines_all(text)  # the pipeline loader: GitLab's `!reference` is kept as text
    except YamlLinesError as exc:
        error = str(exc).splitlines()[0][:80]
    load_ms = (time.perf_counter() - started) * 1000
    return Measure(str(path), len(data), aliases, depth, expanded, load_ms, error)


def _files(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml")))
        else:
            out.append(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--top", type=int, default=10, help="rows per column to show")
    args = parser.parse_args()
    rows = [measure(p) for p in _files(args.paths)]
    print(f"{len(rows)} files, {sum(r.size for r in rows)} bytes")
    for column in ("aliases", "depth", "expanded", "size", "load_ms"):
        print(f"\nlargest by {column}:")
        for row in sorted(rows, key=lambda r: getattr(r, column), reverse=True)[: args.top]:
            print(
                f"  {row.aliases:6d} aliases  depth {row.depth:3d}  {row.expanded:8d} nodes  "
                f"{row.size:8d} B  {row.load_ms:7.1f} ms  {row.path}  {row.error}"
            )
    refused = [r for r in rows if r.error and not r.error.startswith("not YAML")]
    print(f"\nrefused by the default caps: {len(refused)}")
    for row in refused:
        print(f"  {row.path}: {row.error}")


if __name__ == "__main__":
    main()
