"""Benchmark: `gatekeeper collect container --image docker-archive:...` on a 1 GB, 20-layer image.

Generates a `docker save` archive (the Docker 25+ layout: manifest.json plus an OCI index and
blobs) in a temporary directory, then runs the real CLI in a child process several times and
reports the median wall time, the peak RSS of the child (target: under 100 MB) and the bytes it
wrote to disk (block output operations; a reader that extracted layers would write ~1 GB).
The baseline is one sequential sha256 pass over the archive: the least any verifying reader
must do.

    .venv/bin/python bench/image_bench.py [--size-mb 1024] [--layers 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

_FILE_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


def _write_layer(path: Path, size: int, rng: random.Random) -> str:
    """A layer tar of random files (and one sparse, zero-filled file); returns its sha256."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        written = 0
        index = 0
        while written < size:
            chunk = min(_FILE_BYTES, size - written)
            sparse = index % 4 == 3  # every fourth file is zeros: cheap to write, still hashed
            data = bytes(chunk) if sparse else rng.randbytes(chunk)
            info = tarfile.TarInfo(f"usr/lib/bench/file-{index:04d}.bin")
            info.size = chunk
            tar.addfile(info, io.BytesIO(data))
            written += chunk
            index += 1
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            hasher.update(block)
    return hasher.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_archive(dest: Path, work: Path, total_mb: int, layers: int) -> dict[str, object]:
    rng = random.Random(42)
    per_layer = total_mb * 1024 * 1024 // layers
    layer_digests: list[str] = []
    layer_sizes: list[int] = []
    with tarfile.open(dest, "w") as outer:
        for _ in range(layers):
            tmp_layer = work / "layer.tar"
            digest = _write_layer(tmp_layer, per_layer, rng)
            layer_digests.append(digest)
            layer_sizes.append(tmp_layer.stat().st_size)
            outer.add(tmp_layer, arcname=f"blobs/sha256/{digest}")
            tmp_layer.unlink()
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {
                "User": "10001",
                "Env": ["PATH=/usr/bin:/bin"],
                "Entrypoint": ["/usr/bin/app"],
                "ExposedPorts": {"8080/tcp": {}},
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in layer_digests]},
        }
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_digest = hashlib.sha256(config_bytes).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_digest}",
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{d}",
                    "size": s,
                }
                for d, s in zip(layer_digests, layer_sizes, strict=True)
            ],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": manifest["mediaType"],
                    "digest": f"sha256:{manifest_digest}",
                    "size": len(manifest_bytes),
                    "annotations": {
                        "io.containerd.image.name": "docker.io/bench/app:1",
                        "org.opencontainers.image.ref.name": "1",
                    },
                }
            ],
        }
        docker_manifest = [
            {
                "Config": f"blobs/sha256/{config_digest}",
                "RepoTags": ["bench/app:1"],
                "Layers": [f"blobs/sha256/{d}" for d in layer_digests],
            }
        ]
        _add_bytes(outer, f"blobs/sha256/{config_digest}", config_bytes)
        _add_bytes(outer, f"blobs/sha256/{manifest_digest}", manifest_bytes)
        _add_bytes(outer, "index.json", json.dumps(index).encode())
        _add_bytes(outer, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add_bytes(outer, "manifest.json", json.dumps(docker_manifest).encode())
    return {"manifest": f"sha256:{manifest_digest}", "layers": layers}


def _baseline(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        hashlib.file_digest(handle, "sha256")
    return time.perf_counter() - start


def _run_once(archive: Path, repo: Path, scratch_tmp: Path) -> tuple[float, int, int, str]:
    """One child run: wall seconds, peak RSS (bytes), bytes written, stdout."""
    env = dict(os.environ, TMPDIR=str(scratch_tmp))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatekeeper",
            "collect",
            "container",
            str(repo),
            "--image",
            f"docker-archive:{archive}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"collect failed ({proc.returncode}): {proc.stderr}")
    written = (after.ru_oublock - before.ru_oublock) * 512
    return elapsed, after.ru_maxrss * 1024, written, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gatekeeper-image-bench-") as tmp:
        work = Path(tmp)
        archive = work / "image.tar"
        started = time.perf_counter()
        info = build_archive(archive, work, args.size_mb, args.layers)
        size = archive.stat().st_size
        print(
            f"generated {archive.name}: {size / 1e9:.2f} GB, {args.layers} layers "
            f"in {time.perf_counter() - started:.1f}s"
        )
        repo = work / "repo"
        repo.mkdir()
        scratch_tmp = work / "child-tmp"
        scratch_tmp.mkdir()
        baselines = [_baseline(archive) for _ in range(args.runs)]
        times: list[float] = []
        rss: list[int] = []
        writes: list[int] = []
        stdout = ""
        for _ in range(args.runs):
            elapsed, peak, written, stdout = _run_once(archive, repo, scratch_tmp)
            times.append(elapsed)
            rss.append(peak)
            writes.append(written)
        evidence = json.loads(stdout)["image"]
        if (
            evidence["manifest_digest"] != info["manifest"]
            or len(evidence["layers"]) != args.layers
        ):
            raise SystemExit("collect recorded the wrong manifest digest or layer count")
        leftovers = list(scratch_tmp.iterdir())
        base = statistics.median(baselines)
        median = statistics.median(times)
        print(
            f"sha256 of the archive (baseline): median {base:.2f}s ({size / base / 1e6:.0f} MB/s)"
        )
        print(
            f"collect container --image:        median {median:.2f}s "
            f"({size / median / 1e6:.0f} MB/s), runs {', '.join(f'{t:.2f}' for t in times)}"
        )
        print(f"ratio collect / baseline:         {median / base:.2f}x")
        print(
            f"peak RSS of the child:            {max(rss) / 1e6:.1f} MB (target < 100 MB) "
            f"{'OK' if max(rss) < 100e6 else 'OVER TARGET'}"
        )
        print(
            f"bytes written by the child:       {max(writes) / 1e6:.2f} MB; "
            f"files left in its TMPDIR: {len(leftovers)} (no layer extracted to disk)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
