"""A file is binary only when its content cannot hold text: no token hides behind `BZh`, a
stray NUL or UTF-16, in the tree, the staged change or the range."""

from __future__ import annotations

import codecs
import random
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.secrets import SecretsCollector
from gatekeeper.models.secrets import SecretsEvidence
from gatekeeper.secrets.text import decode
from tests.conftest import commit_files
from tests.secrets import tokens as t

TOKEN = t.github(71)
PASSWORD = t.password(72)
TEXT = f"# deploy settings\nGH_TOKEN={TOKEN}\nDB_PASSWORD={PASSWORD}\n"


def _noise(n: int) -> bytes:
    return random.Random(7).randbytes(n)  # noqa: S311 - test data, not cryptography


# name -> (file content, the token's line when the file is read as text, else None: a file
# that cannot hold text is searched for credential formats only)
VARIANTS: dict[str, tuple[bytes, int | None]] = {
    "bzip2-magic": (b"BZh91AY&SY " + TEXT.encode(), 2),
    "one-nul": (TEXT.replace("# deploy", "#\x00deploy").encode(), 2),
    "nuls-in-a-long-text": (b"x = 1\x00\n" * 3 + TEXT.encode() + b"y = 2\n" * 400, 5),
    "utf-16-le-bom": (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), 2),
    "utf-16-be-bom": (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), 2),
    "utf-32-bom": (TEXT.encode("utf-32"), 2),
    "utf-8-bom": (codecs.BOM_UTF8 + TEXT.encode(), 2),
    "utf-16-le-no-bom": (TEXT.encode("utf-16-le"), 2),
    "utf-16-be-no-bom": (TEXT.encode("utf-16-be"), 2),
    "binary-with-a-token": (_noise(3000) + TEXT.encode() + _noise(3000), None),
}


def _expected(line: int | None) -> list[str]:
    return ["github-token"] if line is None else ["github-token", "generic-assignment"]


def _detectors(evidence: SecretsEvidence, source: str) -> list[str]:
    return [h.detector for h in evidence.hits if h.source == source]


def _collect(root: Path, **kw: object) -> SecretsEvidence:
    return SecretsCollector().collect(CollectContext(repo=root, **kw))  # type: ignore[arg-type]


# --- decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"BZh91AY&SY plain text\n", "utf-8"),
        (b"MZ_REGION=eu\n", "utf-8"),
        (b"a\x00b\n" + b"text\n" * 10, "utf-8"),
        ("h\u00e9llo".encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "hi there".encode("utf-16-be"), "utf-16-be"),
        ("hi".encode("utf-32"), "utf-32-le"),
        (codecs.BOM_UTF32_BE + "hi".encode("utf-32-be"), "utf-32-be"),
        ("a wide text".encode("utf-32-le"), "utf-32-le"),
        (b"", "utf-8"),
        (_noise(4096), "binary"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + _noise(512), "binary"),
        (bytes(64), "binary"),
    ],
)
def test_decode_by_content(data: bytes, encoding: str) -> None:
    assert decode(data).encoding == encoding


def test_decoded_text_keeps_lines_and_drops_the_bom() -> None:
    decoded = decode(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))
    assert decoded.text == TEXT


# --- the tree, the staged change and the range ---------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_tree_scan(tmp_path: Path, name: str) -> None:
    data, line = VARIANTS[name]
    (tmp_path / "app.env.txt").write_bytes(data)
    evidence = _collect(tmp_path)
    assert _detectors(evidence, "tree") == _expected(line)
    if line is not None:
        assert [h.line for h in evidence.hits] == [line, line + 1]
    assert evidence.binary_files == (line is None)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_staged_scan(git_repo: git.Repo, name: str) -> None:
    data, line = VARIANTS[name]
    root = Path(git_repo.working_tree_dir or ".")
    (root / "app.env.txt").write_bytes(data)
    git_repo.index.add(["app.env.txt"])
    assert _detectors(_collect(root, staged=True), "staged") == _expected(line)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_range_scan_finds_it_in_the_commit_that_added_it(git_repo: git.Repo, name: str) -> None:
    data, line = VARIANTS[name]
    root = Path(git_repo.working_tree_dir or ".")
    base = git_repo.head.commit.hexsha
    (root / "app.env.txt").write_bytes(data)
    git_repo.index.add(["app.env.txt"])
    added = git_repo.index.commit("add settings")
    commit_files(git_repo, {"other.txt": "x\n"}, "more")
    git_repo.index.remove(["app.env.txt"], working_tree=True)
    git_repo.index.commit("remove them again")
    evidence = _collect(root, base=base)
    assert _detectors(evidence, "tree") == []
    assert _detectors(evidence, "history") == _expected(line)
    assert {h.commit for h in evidence.hits} == {added.hexsha}


@pytest.mark.parametrize("name", ["bzip2-magic", "one-nul", "utf-16-le-bom"])
@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(lambda root, repo: [str(root)], id="tree"),
        pytest.param(lambda root, repo: ["--staged", str(root)], id="staged"),
        pytest.param(lambda root, repo: ["--base", "HEAD~1", str(root)], id="range"),
    ],
)
def test_check_blocks(
    git_repo: git.Repo, name: str, mode: Callable[[Path, git.Repo], list[str]]
) -> None:
    """The reported bypass: `check` exited 0 on each of these files."""
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"README.txt": "hello\n"}, "second")
    (root / "app.env.txt").write_bytes(VARIANTS[name][0])
    git_repo.index.add(["app.env.txt"])
    if "--base" in mode(root, git_repo):
        git_repo.index.commit("add settings")
    assert main(["check", "--only", "secrets", *mode(root, git_repo)]) == 1
