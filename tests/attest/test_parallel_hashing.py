"""Many small files are hashed by a few threads: same digests, same order, same refusals."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gatekeeper import _digest
from gatekeeper._digest import sha256_files


def _tree(root: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = root / f"d{i % 7}" / f"f{i}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(i % 5000) + str(i).encode())
        paths.append(str(path))
    return paths


def test_many_small_files_hash_in_threads_to_the_content_digests(tmp_path: Path) -> None:
    paths = _tree(tmp_path, _digest._PARALLEL_SMALL * 2 + 3)
    expected = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    # Sizes are only a hint for routing: a wrong size changes nothing hashed.
    assert sha256_files(paths, [1] * len(paths)) == expected
    assert sha256_files(paths, workers=3) == expected
    assert sha256_files(paths[:10]) == expected[:10]  # below the threshold: one thread


def test_a_file_swapped_for_a_fifo_is_refused_from_a_worker_thread(tmp_path: Path) -> None:
    paths = _tree(tmp_path, _digest._PARALLEL_SMALL + 1)
    victim = Path(paths[_digest._PARALLEL_SMALL // 2])
    victim.unlink()
    os.mkfifo(victim)
    with pytest.raises(OSError, match="no longer a regular file"):
        sha256_files(paths)
    victim.unlink()
    victim.symlink_to("/etc/hostname")
    with pytest.raises(OSError):
        sha256_files(paths)
