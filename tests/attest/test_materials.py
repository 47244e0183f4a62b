"""Recording materials and products: globs, symlinks, directory digests, bad globs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gatekeeper._digest import tree_digest
from gatekeeper.attest.materials import record_dirs, record_globs
from gatekeeper.errors import InvalidInput


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a\n")
    (root / "src" / "pkg" / "b.py").write_text("b\n")
    (root / "README.md").write_text("r\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("never recorded\n")
    return root


def test_globs_are_relative_to_root_and_recursive(tree: Path) -> None:
    names = [a.name for a in record_globs(tree, ["src/**"], what="product")]
    assert names == ["src/a.py", "src/pkg/b.py"]
    assert [a.name for a in record_globs(tree, ["src/*"], what="product")] == ["src/a.py"]
    assert [a.name for a in record_globs(tree, ["README.md"], what="product")] == ["README.md"]
    assert ".git/config" not in [a.name for a in record_globs(tree, ["**"], what="product")]


def test_digests_are_sha256_of_content(tree: Path) -> None:
    (a,) = record_globs(tree, ["src/a.py"], what="product")
    assert a.digest == {"sha256": hashlib.sha256(b"a\n").hexdigest()}


def test_symlinks_are_recorded_never_followed(tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret"
    secret.write_text("outside the tree\n")
    os.symlink(secret, tree / "src" / "escape")
    os.symlink("a.py", tree / "src" / "inside")
    arts = {a.name: a for a in record_globs(tree, ["src/*"], what="product")}
    assert arts["src/escape"].kind == "symlink"
    assert arts["src/escape"].target == str(secret)
    assert arts["src/escape"].digest["sha256"] == hashlib.sha256(str(secret).encode()).hexdigest()
    assert arts["src/inside"].kind == "symlink"


def test_symlinked_directory_is_not_walked(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("x")
    os.symlink(outside, tree / "src" / "linkdir")
    names = [a.name for a in record_globs(tree, ["src/**"], what="product")]
    assert "src/linkdir" in names and "src/linkdir/x" not in names


def test_glob_matching_nothing_is_an_error(tree: Path) -> None:
    with pytest.raises(InvalidInput, match="'dist/\\*' matches no file"):
        record_globs(tree, ["dist/*"], what="product")
    assert record_globs(tree, ["dist/*"], what="product", allow_empty=True) == []


@pytest.mark.parametrize("pattern", ["../etc/passwd", "/etc/passwd", "src/../../x"])
def test_globs_cannot_leave_the_tree(tree: Path, pattern: str) -> None:
    with pytest.raises(InvalidInput, match="stay inside"):
        record_globs(tree, [pattern], what="material")


def test_directory_digest(tree: Path) -> None:
    (art,) = record_dirs(tree, ["src"], what="product")
    assert art.kind == "dir" and art.name == "src/" and art.count == 2
    expected = tree_digest(
        [
            ("a.py", "file", hashlib.sha256(b"a\n").hexdigest()),
            ("pkg/b.py", "file", hashlib.sha256(b"b\n").hexdigest()),
        ]
    )
    assert art.digest == {"sha256-tree-v2": expected}
    (tree / "src" / "pkg" / "b.py").write_text("changed\n")
    assert record_dirs(tree, ["src"], what="product")[0].digest != art.digest
    with pytest.raises(InvalidInput, match="not a directory"):
        record_dirs(tree, ["nope"], what="product")


def test_overlapping_globs_each_count_their_matches(tree: Path) -> None:
    names = [a.name for a in record_globs(tree, ["src/*", "src/a.py", "src/*.py"], what="product")]
    assert names == ["src/a.py"]


def test_tree_digest_encoding_is_length_prefixed() -> None:
    # The bytes docs/attestations.md describes, recomputed by hand.
    a, b = hashlib.sha256(b"a\n").digest(), hashlib.sha256(b"b\n").digest()
    encoded = b"gatekeeper-tree-v2\n" + b"f4:a.py" + a + b"l8:pkg/b.py" + b
    assert tree_digest([("pkg/b.py", "symlink", b.hex()), ("a.py", "file", a.hex())]) == (
        hashlib.sha256(encoded).hexdigest()
    )


def test_tree_digest_tells_a_link_from_a_file_with_its_target_as_content() -> None:
    target = hashlib.sha256(b"../secret").hexdigest()
    assert tree_digest([("x", "file", target)]) != tree_digest([("x", "symlink", target)])


def test_a_name_imitating_another_entry_does_not_collide() -> None:
    # Version 1 hashed "<hex>  <name>\n" lines: the name "a\n<hex>  b" forged a second line.
    h = hashlib.sha256(b"x").hexdigest()
    one = tree_digest([("a", "file", h), ("b", "file", h)])
    forged = tree_digest([(f"a\n{h}  b", "file", h)])
    assert one != forged


@pytest.mark.parametrize("size", [10, 5 * 1024 * 1024], ids=["small", "4MiB-or-more"])
@pytest.mark.parametrize("swap", ["symlink", "fifo"])
def test_a_file_swapped_after_the_walk_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, swap: str
) -> None:
    """Files of 4 MiB or more are hashed in a thread pool; they too are opened without
    following a link or waiting on a FIFO put in their place after the walk listed them."""
    import os
    import threading

    import gatekeeper.attest.materials as materials
    from gatekeeper import _digest

    root = tmp_path / "repo"
    (root / "dist").mkdir(parents=True)
    target = root / "dist" / "app.bin"
    target.write_bytes(b"x" * size)
    secret = tmp_path / "outside-secret"
    secret.write_bytes(b"s" * size)

    def swapped(paths: list[str], sizes: list[int] | None = None) -> list[str]:
        target.unlink()  # the walk is done; the race is won
        if swap == "symlink":
            os.symlink(secret, target)
        else:
            os.mkfifo(target)
        return _digest.sha256_files(paths, sizes)

    monkeypatch.setattr(materials, "sha256_files", swapped)
    result: list[object] = []

    def record() -> None:
        try:
            result.append(record_globs(root, ["dist/*"], what="product"))
        except InvalidInput as exc:
            result.append(exc)

    worker = threading.Thread(target=record, daemon=True)
    worker.start()
    worker.join(20)
    assert result, "attest blocked on a FIFO swapped in after the walk"
    assert isinstance(result[0], InvalidInput)
    assert "changed while it was being recorded" in str(result[0])


def test_file_kinds_come_from_the_listing_as_lstat_would_say(tree: Path, tmp_path: Path) -> None:
    """Regular files and links are told apart by the directory listing, not one lstat per
    file: the same artifacts as an lstat of each, and sockets and FIFOs are never opened."""
    import socket
    import stat

    src = tree / "src"
    os.symlink("a.py", src / "to-file")
    os.symlink("pkg", src / "to-dir")
    os.symlink("missing", src / "dangling")
    os.mkfifo(src / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(src / "s"))
    except OSError:  # a path too long for a socket name: the FIFO stands for both
        pass
    expected = {}
    for path in sorted(src.rglob("*")):
        mode = os.lstat(path).st_mode
        rel = path.relative_to(tree).as_posix()
        if stat.S_ISLNK(mode):
            expected[rel] = ("symlink", hashlib.sha256(os.readlink(path).encode()).hexdigest())
        elif stat.S_ISREG(mode):
            expected[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    try:
        found = record_globs(tree, ["src/**"], what="product")
    finally:
        sock.close()
    assert {a.name: (a.kind, a.digest["sha256"]) for a in found} == expected
    assert "src/fifo" not in expected and "src/to-dir/b.py" not in expected


def test_a_file_gone_after_the_walk_is_refused_with_its_reason(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gatekeeper.attest.materials as materials
    from gatekeeper import _digest

    def vanished(paths: list[str], sizes: list[int] | None = None) -> list[str]:
        (tree / "src" / "a.py").unlink()
        return _digest.sha256_files(paths, sizes)

    monkeypatch.setattr(materials, "sha256_files", vanished)
    with pytest.raises(InvalidInput, match="changed while it was being recorded"):
        record_globs(tree, ["src/**"], what="product")
