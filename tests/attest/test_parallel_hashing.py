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


def test_a_large_file_is_routed_by_its_open_descriptor_not_by_a_size_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk that does not stat passes no sizes: a file found large when opened goes to the
    large-file pool; a hint that calls a small file large changes nothing hashed either."""
    paths = _tree(tmp_path, _digest._PARALLEL_SMALL + 5)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(_digest._LARGE + 17))
    paths.insert(7, str(big))
    expected = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    pooled: list[str] = []
    real = _digest._sha256_large

    def large(found: list[str], workers: int | None) -> list[str]:
        pooled.extend(found)
        return real(found, workers)

    monkeypatch.setattr(_digest, "_sha256_large", large)
    assert sha256_files(paths) == expected
    assert pooled == [str(big)]
    pooled.clear()
    assert sha256_files(paths, [0] * len(paths)) == expected
    assert pooled == [str(big)]
    pooled.clear()
    wrong = [_digest._LARGE] * len(paths)  # every file said to be large
    assert sha256_files(paths, wrong) == expected
    assert pooled == paths
    assert sha256_files(paths[7:9]) == expected[7:9]  # one thread, one large file


def test_a_file_that_grew_large_after_a_small_hint_is_hashed_whole(tmp_path: Path) -> None:
    path = tmp_path / "grown.bin"
    path.write_bytes(b"a" * (_digest._LARGE * 2 + 3))
    assert sha256_files([str(path)], [1]) == [hashlib.sha256(path.read_bytes()).hexdigest()]


def test_empty_and_odd_sized_files_are_read_to_their_end(tmp_path: Path) -> None:
    sizes = [0, 1, 63, 64, 65, 4095, 4096, 4097, _digest._CHUNK - 1, _digest._CHUNK + 1]
    paths = []
    for size in sizes:
        path = tmp_path / f"s{size}"
        path.write_bytes(os.urandom(size))
        paths.append(str(path))
    expected = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    assert sha256_files(paths) == expected
    assert sha256_files(paths * 40) == expected * 40  # in threads too
