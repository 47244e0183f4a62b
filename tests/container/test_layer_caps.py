"""Gzip image layers are inflated under caps: size per layer, in total, and ratio.

A gzip bomb (a tar member declaring gigabytes of zeros, a few MB compressed) must stop at a
cap with an error naming it, fast and in little memory, never hang or exhaust the machine.
"""

from __future__ import annotations

import gzip
import struct
import tarfile
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from gatekeeper.container.image import read_image
from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import Limits
from tests.container.imagebuild import make_layer, write_oci_layout

LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MIB = 1024 * 1024


def gzip_bomb(declared_mib: int, *, members: bool = False) -> bytes:
    """A gzip tar layer whose one member declares ``declared_mib`` MiB of zeros.

    Built without compressing gigabytes: after a full flush deflate's state is reset, so the
    compressed form of 1 MiB of zeros is the same block every time and can be repeated. The
    result is one gzip member (the CRC is left wrong: nothing reads that far), or with
    ``members`` one gzip member per MiB. 4096 MiB of content is about 4 MB either way.
    """
    info = tarfile.TarInfo("var/lib/big.img")
    info.size = declared_mib * MIB
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    if members:
        zeros = gzip.compress(b"\0" * MIB, compresslevel=9, mtime=0)
        tail = gzip.compress(b"\0" * 1024, mtime=0)  # the end-of-archive blocks
        return gzip.compress(header, mtime=0) + zeros * declared_mib + tail
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(b"\0" * MIB) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.compress(b"\0" * 1024) + deflate.flush()
    gzip_header = b"\x1f\x8b\x08\x00" + b"\x00" * 4 + b"\x02\xff"
    return gzip_header + head + block * declared_mib + end + struct.pack("<II", 0, 0)


def layout(tmp_path: Path, layers: list[bytes]) -> str:
    write_oci_layout(tmp_path / "img", layers=layers, layer_media_type=LAYER_GZIP)
    return f"oci:{tmp_path / 'img'}"


@pytest.mark.parametrize("members", [False, True], ids=["one-member", "many-members"])
def test_gzip_bomb_stops_at_the_ratio_cap_fast_and_small(tmp_path: Path, members: bool) -> None:
    bomb = gzip_bomb(4096, members=members)  # 4 GiB of zeros in ~4 MB
    assert len(bomb) < 5 * MIB
    ref = layout(tmp_path, [bomb])
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(InvalidInput, match=r"limits\.max_layer_ratio"):
        read_image(ref)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 20.0, elapsed  # a hang guard: inflating the bomb took over a minute
    assert peak < 64 * MIB, peak


def test_inflated_size_cap_per_layer(tmp_path: Path) -> None:
    ref = layout(tmp_path, [gzip_bomb(8, members=True)])
    with pytest.raises(InvalidInput, match=r"limits\.max_layer_inflated_bytes"):
        read_image(ref, Limits(max_layer_inflated_bytes=4 * MIB))


def test_inflated_size_cap_in_total(tmp_path: Path) -> None:
    ref = layout(tmp_path, [gzip_bomb(3, members=True), gzip_bomb(3, members=True)])
    limits = Limits(max_layer_inflated_bytes=4 * MIB, max_inflated_bytes=5 * MIB)
    with pytest.raises(InvalidInput, match=r"limits\.max_inflated_bytes"):
        read_image(ref, limits)


def test_an_ordinary_gzip_layer_is_listed(tmp_path: Path) -> None:
    """Near miss: a real-looking layer (text and random bytes) is read to the end."""
    files = {
        "etc/app.conf": b"key = value\n" * 50_000,
        "app/.npmrc": b"registry=https://registry.npmjs.org/\n",
        "app/blob.bin": bytes(range(256)) * 4096,
    }
    image = read_image(layout(tmp_path, [make_layer(files, compress=True)]))
    assert image.layers[0].secret_files == ["app/.npmrc"]


def test_high_ratio_below_the_warmup_is_fine(tmp_path: Path) -> None:
    """Near miss: a small layer of zeros compresses 1000-fold but stays under 32 MiB."""
    data = make_layer({"zeros": b"\0" * (16 * MIB), "id_rsa": b"x"}, compress=True)
    image = read_image(layout(tmp_path, [data]))
    assert image.layers[0].secret_files == ["id_rsa"]


def test_concatenated_gzip_members_are_read_on(tmp_path: Path) -> None:
    plain = make_layer({"a/.env": b"A=1\n", "b/id_rsa": b"k"})
    half = len(plain) // 2
    data = gzip.compress(plain[:half], mtime=0) + gzip.compress(plain[half:], mtime=0)
    image = read_image(layout(tmp_path, [data]))
    assert image.layers[0].secret_files == ["a/.env", "b/id_rsa"]


def test_corrupt_gzip_is_an_error_not_a_crash(tmp_path: Path) -> None:
    good = make_layer({"x": b"y" * 1000}, compress=True)
    bad = good[:20] + bytes(b ^ 0x5A for b in good[20:60]) + good[60:]
    with pytest.raises(InvalidInput):
        read_image(layout(tmp_path, [bad]))


def test_limits_are_policy_keys(tmp_path: Path) -> None:
    limits = Limits.model_validate(
        {"max_layer_inflated_bytes": "1GiB", "max_inflated_bytes": "4GiB", "max_layer_ratio": 50}
    )
    assert (limits.max_layer_inflated_bytes, limits.max_layer_ratio) == (1024**3, 50)
