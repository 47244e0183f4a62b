#!/usr/bin/env python3
"""Benchmark: a 3-stage chain with gatekeeper and with in-toto, hashing throughput, start-up.

    python bench/chain_bench.py [--sizes 1000 10000] [--repeat 3] [--baseline PYTHON]

For each N it generates a tree of N small files (on /dev/shm when available), then times,
as separate processes the way a user runs them:

* gatekeeper: ``attest`` source (products src/**), build (materials src/**, products
  dist/*), release (materials dist/*, products dist/*), then ``verify``;
* in-toto: ``in-toto-run --use-dsse`` for the same three steps, then ``in-toto-verify`` with
  a layout of the equivalent MATCH rules and a closing DISALLOW.

It also measures sha256 throughput on one large file against ``openssl dgst -sha256``,
files per second over 20,000 small files, and ``gatekeeper --version`` start-up.
Prints medians and ratios of wall time and of CPU time (user + system of the processes run:
steadier than wall time on a shared machine), with the load average before and after each
size. The two tools' repeats alternate, so a change in load falls on both. Needs the test
extras (in-toto) installed.

Beside each size it prints the floor: four processes that only start Python and import the
third-party modules every gatekeeper command needs (``startup_bench.DEPENDENCIES``), against
half of in-toto's time. A chain cannot be faster than its floor.

``--baseline PYTHON`` times a second gatekeeper installation (another version's
environment) in the same runs, alternating with the first: before and after side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_gatekeeper
from startup_bench import DEPENDENCIES

PY = sys.executable
BIN = Path(PY).parent


def _tmp_root() -> Path:
    shm = Path("/dev/shm")  # noqa: S108 - a RAM disk, not a temp file name
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="gk-bench-", dir=base))


def make_tree(root: Path, n: int) -> None:
    per_dir = 100
    for i in range(n):
        d = root / "src" / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.txt").write_text(f"file {i}\n" * 4)
    (root / "dist").mkdir(exist_ok=True)
    (root / "dist" / "app.tar.gz").write_bytes(os.urandom(4096))


class Timed:
    """Wall and CPU seconds (user + system of the child processes), added up."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def __iadd__(self, other: Timed) -> Timed:
        self.wall += other.wall
        self.cpu += other.cpu
        return self


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Timed:
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    timed = Timed()
    timed.wall = time.perf_counter() - start
    timed.cpu = _children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd[:4])}... failed ({result.returncode}):\n{result.stderr[-2000:]}"
        )
    return timed


def gatekeeper_chain(root: Path, keys: Path, python: str = PY) -> tuple[Timed, Timed]:
    gk = [python, "-m", "gatekeeper"]
    store = root / ".gatekeeper"
    shutil.rmtree(store, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    env["GATEKEEPER_RUN_ID"] = "bench"
    attest = Timed()
    attest += run(
        [*gk, "attest", "--stage", "source", "--key", str(keys / "ci"), "--product", "src/**"],
        root,
        env,
    )
    attest += run(
        [
            *gk,
            "attest",
            "--stage",
            "build",
            "--key",
            str(keys / "ci"),
            "--material",
            "src/**",
            "--product",
            "dist/*",
        ],
        root,
        env,
    )
    attest += run(
        [
            *gk,
            "attest",
            "--stage",
            "release",
            "--key",
            str(keys / "ci"),
            "--material",
            "dist/*",
            "--product",
            "dist/*",
        ],
        root,
        env,
    )
    verify = run(
        [
            *gk,
            "verify",
            "--policy",
            str(keys / "policy.yaml"),
            "--format",
            "json",
            "dist/app.tar.gz",
        ],
        root,
        env,
    )
    return attest, verify


def intoto_chain(root: Path, keys: Path) -> tuple[Timed, Timed]:
    for link in root.glob("*.link"):
        link.unlink()
    key = str(keys / "ci")
    run_ = str(BIN / "in-toto-run")
    t = Timed()
    t += run([run_, "-n", "source", "--use-dsse", "--signing-key", key, "-p", "src", "-x"], root)
    t += run(
        [run_, "-n", "build", "--use-dsse", "--signing-key", key, "-m", "src", "-p", "dist", "-x"],
        root,
    )
    t += run(
        [
            run_,
            "-n",
            "release",
            "--use-dsse",
            "--signing-key",
            key,
            "-m",
            "dist",
            "-p",
            "dist",
            "-x",
        ],
        root,
    )
    shutil.copy(keys / "root.layout", root / "root.layout")
    v = run(
        [
            str(BIN / "in-toto-verify"),
            "--layout",
            "root.layout",
            "--verification-keys",
            str(keys / "layout.pub"),
        ],
        root,
    )
    return t, v


def make_keys_and_layout(keys: Path) -> None:
    from in_toto.models.layout import Layout, Step
    from in_toto.models.metadata import Envelope as ItEnvelope
    from securesystemslib.signer import CryptoSigner

    from gatekeeper.attest.keys import KeyRef, load_public_key, write_keypair
    from gatekeeper.attest.signers.pem import load_private_key

    keys.mkdir(parents=True, exist_ok=True)
    write_keypair(keys / "ci", force=True)
    write_keypair(keys / "layout", force=True)
    (keys / "policy.yaml").write_text(
        "version: 1\nname: bench\nexpires: 2099-01-01T00:00:00Z\nmax_age: 1d\n"
        f"keys:\n  ci: {keys / 'ci.pub'}\n"
        "stages:\n  - name: source\n    signed_by: [ci]\n"
        "  - name: build\n    signed_by: [ci]\n    follows: source\n"
        "  - name: release\n    signed_by: [ci]\n    follows: build\n"
    )
    ci_pub = load_public_key(keys / "ci.pub")
    layout = Layout()
    layout.set_relative_expiration(months=1)
    layout.keys = {ci_pub.keyid: {**ci_pub.to_dict(), "keyid": ci_pub.keyid}}
    steps = [
        ("source", [], [["ALLOW", "src/*"], ["DISALLOW", "*"]]),
        (
            "build",
            [["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", "source"], ["DISALLOW", "*"]],
            [["ALLOW", "dist/*"], ["DISALLOW", "*"]],
        ),
        (
            "release",
            [["MATCH", "dist/*", "WITH", "PRODUCTS", "FROM", "build"], ["DISALLOW", "*"]],
            [["MATCH", "dist/*", "WITH", "PRODUCTS", "FROM", "build"], ["DISALLOW", "*"]],
        ),
    ]
    for name, mats, prods in steps:
        step = Step(name=name)
        step.expected_materials = mats
        step.expected_products = prods
        step.pubkeys = [ci_pub.keyid]
        step.expected_command = []
        layout.steps.append(step)
    env = ItEnvelope.from_signable(layout)
    private, _ = load_private_key(KeyRef(str(keys / "layout")))
    env.create_signature(CryptoSigner(private, load_public_key(keys / "layout.pub")))
    env.dump(str(keys / "root.layout"))


def hashing(root: Path) -> dict[str, float]:
    big = root / "big.bin"
    size = 512 * 1024 * 1024
    with open(big, "wb") as handle:
        chunk = os.urandom(1024 * 1024)
        for _ in range(size // len(chunk)):
            handle.write(chunk)
    code = (
        "import sys,time;from gatekeeper._digest import sha256_file;t=time.perf_counter();"
        "sha256_file(sys.argv[1]);print(time.perf_counter()-t)"
    )
    ours = [
        float(
            subprocess.run(
                [PY, "-c", code, str(big)], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    theirs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["openssl", "dgst", "-sha256", str(big)], capture_output=True, check=True)
        theirs.append(time.perf_counter() - start)
    big.unlink()
    small = root / "small"
    make_tree(small, 20000)
    code = (
        "import sys,time;from pathlib import Path;"
        "from gatekeeper.attest.materials import record_globs;"
        "t=time.perf_counter();a=record_globs(Path(sys.argv[1]),['src/**'],what='product');"
        "print(len(a)/(time.perf_counter()-t))"
    )
    fps = [
        float(
            subprocess.run(
                [PY, "-c", code, str(small)], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    mb = size / 1024 / 1024
    return {
        "ours_mb_s": mb / statistics.median(ours),
        "openssl_mb_s": mb / statistics.median(theirs),
        "files_per_s": statistics.median(fps),
    }


def dependency_floor() -> float:
    """One process that only imports what every gatekeeper command needs (see
    startup_bench.DEPENDENCIES): no chain of four such processes can take less than four
    of these."""
    start = time.perf_counter()
    subprocess.run([PY, "-c", DEPENDENCIES], capture_output=True, check=True)
    return time.perf_counter() - start


def startup() -> float:
    times = []
    for _ in range(11):
        start = time.perf_counter()
        subprocess.run([str(BIN / "gatekeeper"), "--version"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    compile_gatekeeper()
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-hashing", action="store_true")
    parser.add_argument(
        "--baseline", metavar="PYTHON", help="a Python with another gatekeeper installed"
    )
    args = parser.parse_args()
    root = _tmp_root()
    try:
        keys = root / "keys"
        make_keys_and_layout(keys)
        print(f"work dir: {root}")
        for n in args.sizes:
            tree = root / f"tree-{n}"
            make_tree(tree, n)
            load = os.getloadavg()[0]
            runs: dict[str, list[tuple[Timed, Timed]]] = {"gatekeeper": [], "in-toto": []}
            floors: list[float] = []
            if args.baseline:
                runs["baseline"] = []
            for _ in range(args.repeat):  # alternating, so every tool sees the same load
                if args.baseline:
                    runs["baseline"].append(gatekeeper_chain(tree, keys, args.baseline))
                runs["gatekeeper"].append(gatekeeper_chain(tree, keys))
                runs["in-toto"].append(intoto_chain(tree, keys))
                floors.extend(dependency_floor() for _ in range(3))
            for what in ("wall", "cpu"):
                medians = {
                    name: (
                        statistics.median(getattr(a, what) for a, _ in timed),
                        statistics.median(getattr(v, what) for _, v in timed),
                    )
                    for name, timed in runs.items()
                }
                it_a, it_v = medians.pop("in-toto")
                for name, (gk_a, gk_v) in medians.items():
                    print(
                        f"N={n:>6} {what:>4}: {name:>10} 3 attests {gk_a:6.2f}s + verify "
                        f"{gk_v:5.2f}s = {gk_a + gk_v:6.2f}s | in-toto 3 runs {it_a:6.2f}s + "
                        f"verify {it_v:5.2f}s = {it_a + it_v:6.2f}s | "
                        f"ratio {(it_a + it_v) / (gk_a + gk_v):5.1f}x faster"
                    )
            floor = 4 * statistics.median(floors)
            it_total = statistics.median(a.wall + v.wall for a, v in runs["in-toto"])
            print(
                f"N={n:>6} floor: 4 processes x {floor / 4 * 1000:.0f} ms (Python and the "
                f"dependencies alone) = {floor:.2f}s; 2x in-toto needs <= {it_total / 2:.2f}s"
            )
            print(f"         load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
        if not args.skip_hashing:
            h = hashing(root)
            print(
                f"large file sha256: gatekeeper {h['ours_mb_s']:.0f} MB/s, "
                f"openssl {h['openssl_mb_s']:.0f} MB/s "
                f"({100 * h['ours_mb_s'] / h['openssl_mb_s']:.0f}% of openssl)"
            )
            print(f"20,000 small files: {h['files_per_s']:.0f} files/s")
        print(f"start-up (gatekeeper --version, median of 11): {startup() * 1000:.0f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
