"""Crafted inputs shared by the adversarial suite: YAML and JSON bombs, sparse giant files,
and a child process whose peak memory is measured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gatekeeper._yaml import YAML_MAX_ALIASES

GB2 = 2 * 1024**3


def billion_laughs(top: str = "") -> str:
    """The classic: 9 levels of 9 aliases (10^9 strings when expanded), only 81 aliases."""
    text = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 10):
        text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + top


def alias_flood(top: str = "") -> str:
    """More aliases than the cap allows, each harmless."""
    return "a: &a 1\nb: [" + ", ".join(["*a"] * (YAML_MAX_ALIASES + 50)) + "]\n" + top


def narrow_bomb(top: str) -> str:
    """96 aliases, under the alias cap, that expand to 3^32 nodes: ``*Z`` in ``top`` is the bomb."""
    text = 'a0: &a0 ["lol","lol","lol"]\n'
    for i in range(1, 32):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 3) + "]\n"
    return text + top.replace("*Z", "*a31")


def deep_yaml(levels: int = 10_000) -> str:
    return "[" * levels + "]" * levels + "\n"


def deep_json(levels: int = 10_000) -> bytes:
    return (b'{"a":' * levels) + b"1" + (b"}" * levels)


def sparse(path: Path, size: int = GB2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def max_rss_kib(argv: list[str], cwd: Path | None = None) -> tuple[int, int, str]:
    """Run gatekeeper in a child; (exit code, its peak RSS in KiB, stderr)."""
    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(str(p.returncode) + ' ' + "
        "str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n' + p.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "gatekeeper", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    ).stdout
    head, _, err = out.partition("\n")
    code, rss = head.split()
    return int(code), int(rss), err
