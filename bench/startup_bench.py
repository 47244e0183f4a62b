#!/usr/bin/env python3
"""Start-up: what `gatekeeper attest` (a handful of files) and `gatekeeper verify` (one
artifact) cost over a bare interpreter, and what they import.

    python bench/startup_bench.py [--runs 9] [--budget-ms 80]

Runs each command as a fresh process ``--runs`` times in a temporary directory (a directory
store, one Ed25519 key, a one-stage policy, five small files) and prints medians and the
overhead over ``python -c pass`` against ``--budget-ms``, beside what the third-party modules
the two commands need cost alone (pydantic with one model, cryptography, securesystemslib's
signers, PyYAML, argparse): the floor under any gatekeeper code. Then runs each once more under
``python -X importtime`` and prints the total import time, the heaviest top-level imports,
and any module that must stay out of these commands (cloud/HSM SDKs, in-toto, sigstore):
finding one is a failure (exit 1), whatever the machine's speed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_gatekeeper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORBIDDEN = ("boto3", "botocore", "pkcs11", "google.cloud", "azure", "in_toto", "sigstore")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


# The third-party modules attest and verify cannot do without, imported as the command line
# imports them (no pydantic plugin registry, cloud SDKs deferred), with one model built.
DEPENDENCIES = """
import sys, types
registry = types.ModuleType("pydantic.plugin._loader")
registry.get_plugins = lambda: ()
sys.modules[registry.__name__] = registry
from gatekeeper._sdk_imports import defer
defer()
import argparse, hashlib, json
import yaml
from cryptography.hazmat.primitives.asymmetric import ed25519
import securesystemslib.signer
from pydantic import BaseModel
class Model(BaseModel):
    name: str
    digests: dict[str, str] = {}
Model(name="x")
"""

# As a user runs it: bytecode cached (a CI job may set PYTHONDONTWRITEBYTECODE for its own).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_LOADED = """
import runpy, sys
sys.argv = ["gatekeeper", *sys.argv[1:]]
try:
    runpy.run_module("gatekeeper", run_name="__main__")
except SystemExit:
    pass
print("LOADED " + " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def timed(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-500:]}")
    return statistics.median(times)


def imports(cmd: list[str], cwd: Path) -> tuple[float, list[tuple[float, str]], list[str]]:
    """(total import ms, heaviest top-level imports, forbidden modules loaded)."""
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", "-c", _LOADED, *cmd[3:]],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        check=False,
    )
    top: list[tuple[float, str]] = []
    loaded: list[str] = []
    for line in proc.stderr.decode().splitlines():
        if line.startswith("LOADED "):
            loaded = line.split()[1:]
        match = _LINE.match(line)
        if match is not None and len(match.group(3)) == 1:
            top.append((int(match.group(2)) / 1000, match.group(4)))
    bad = sorted(n for n in loaded if n == n.split(".")[0] and n.startswith(FORBIDDEN))
    bad += sorted(n for n in loaded if n.startswith(("google.cloud", "azure.")))
    return sum(ms for ms, _ in top), sorted(top, reverse=True)[:6], bad


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--budget-ms", type=float, default=80.0)
    args = parser.parse_args()
    from gatekeeper.attest.keys import write_keypair

    py = sys.executable
    failed = False
    with tempfile.TemporaryDirectory(prefix="gk-startup-") as tmp:
        root = Path(tmp)
        write_keypair(root / "ci")
        for i in range(5):
            (root / f"f{i}.txt").write_text(f"file {i}\n")
        (root / "policy.yaml").write_text(
            "version: 1\nname: t\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
            "keys:\n  ci: ci.pub\nstages:\n  - name: build\n    signed_by: [ci]\n"
        )
        gk = [py, "-m", "gatekeeper"]
        attest = [*gk, "attest", "--stage", "build", "--key", "ci", "--product", "f*.txt"]
        verify = [*gk, "verify", "--policy", "policy.yaml", "--store", "store", "--no-log"]
        verify += ["--format", "json", "f0.txt"]
        subprocess.run([*attest, "--store", "store"], cwd=root, capture_output=True, check=True)
        attest += ["--store", "timed"]  # the timed runs: verify's store keeps one attestation
        bare = timed([py, "-c", "pass"], root, args.runs)
        print(f"python -c pass: {bare * 1000:.0f} ms")
        floor = timed([py, "-c", DEPENDENCIES], root, args.runs)
        print(
            f"{'dependencies alone':20s} {floor * 1000:6.0f} ms  = pass + "
            f"{(floor - bare) * 1000:4.0f} ms (pydantic with one model, cryptography, "
            "securesystemslib's signers, PyYAML, argparse: what no command can go below)"
        )
        for name, cmd in (("attest, 5 files", attest), ("verify, 1 artifact", verify)):
            took = timed(cmd, root, args.runs)
            over = (took - bare) * 1000
            verdict = "within" if over <= args.budget_ms else "OVER"
            print(
                f"{name:20s} {took * 1000:6.0f} ms  = pass + {over:4.0f} ms "
                f"({verdict} the {args.budget_ms:.0f} ms budget)"
            )
            total, heaviest, bad = imports(cmd, root)
            shown = ", ".join(f"{mod} {ms:.0f}" for ms, mod in heaviest)
            print(f"{'':20s} imports {total:.0f} ms; heaviest: {shown}")
            if bad:
                failed = True
                print(f"{'':20s} FAIL: imported {', '.join(bad)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
