"""Crafted names and links: traversal, NUL, look-alikes, normalisations, symlinks, hard links.

The rule (SECURITY.md): names are compared byte-exactly, never normalised; globs stay inside
the tree; links are recorded as links and never followed; a path through a symlinked
directory is not in the tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import unicodedata
from pathlib import Path

import git
import pytest

from gatekeeper.attest.materials import record_dirs, record_globs
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.models.statement import Artifact
from tests.adversarial.conftest import stage_envelope
from tests.conftest import commit_files
from tests.harness import Pipeline, codes

NFC = unicodedata.normalize("NFC", "café.py")
NFD = unicodedata.normalize("NFD", "café.py")
LOOKALIKE = "src/\u0430pp.py"  # Cyrillic a


def _attest_cli(pipeline: Pipeline, *args: str) -> int:
    return main(
        [
            "attest",
            "--stage",
            "source",
            "--key",
            pipeline.key("ci"),
            "--repo",
            str(pipeline.repo_path),
            "--store",
            str(pipeline.store),
            *args,
        ]
    )


def _pipeline_with_materials(pipeline: Pipeline, rename: dict[str, str]) -> Path:
    """A passing chain whose build materials are re-signed with names renamed (same digests)."""
    pipeline.attest("source", run_id="r", products=["src/**"])
    artifact = pipeline.build_artifact()
    build = pipeline.attest("build", run_id="r", materials=["src/**"], products=["dist/*"])
    pipeline.attest(
        "release", keys=["ci", "rm"], run_id="r", materials=["dist/*"], products=["dist/*"]
    )
    assert pipeline.verify(artifact).allowed
    stage_envelope(pipeline, "build").unlink()
    materials = [
        a.model_copy(update={"name": rename.get(a.name, a.name)}) for a in build.predicate.materials
    ]
    assert materials != build.predicate.materials
    pipeline.store_predicate(build.predicate.model_copy(update={"materials": materials}))
    return artifact


@pytest.mark.parametrize(
    "crafted",
    [
        "src/../src/app.py",
        "./src/app.py",
        "/src/app.py",
        "src//app.py",
        "src/app.py\x00",
        "src/app.py\x00.txt",
        LOOKALIKE,
        "SRC/app.py",
        "src/app.py ",
        "src\\app.py",
    ],
)
def test_material_names_are_compared_byte_exactly(pipeline: Pipeline, crafted: str) -> None:
    # Same digest, a name that some tool might normalise to src/app.py: the chain must break.
    artifact = _pipeline_with_materials(pipeline, {"src/app.py": crafted})
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/chain-broken"}
    assert "not produced by source" in verdict.reasons[0].message


def test_nfc_and_nfd_twins_break_the_chain(pipeline: Pipeline) -> None:
    assert NFC != NFD and NFC.encode() != NFD.encode()
    commit_files(pipeline.repo, {f"src/{NFC}": "print('genuine')\n"}, "add café")
    artifact = _pipeline_with_materials(pipeline, {f"src/{NFC}": f"src/{NFD}"})
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    message = verdict.reasons[0].message
    assert "not produced by source" in message and "produced by source but not used" in message


def test_nfd_file_swapped_in_between_stages_breaks_the_chain(pipeline: Pipeline) -> None:
    # Real files: both spellings can exist side by side on a byte-preserving filesystem.
    src = pipeline.repo_path / "src"
    (src / NFC).write_text("print('genuine')\n")
    pipeline.attest("source", run_id="r", products=["src/**"])
    (src / NFC).unlink()
    (src / NFD).write_text("print('genuine')\n")  # same content, other normalisation
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="r", materials=["src/**"], products=["dist/*"])
    pipeline.attest(
        "release", keys=["ci", "rm"], run_id="r", materials=["dist/*"], products=["dist/*"]
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}


def test_lookalike_stage_name_is_not_the_stage(pipeline: Pipeline) -> None:
    pipeline.attest("source", run_id="r", products=["src/**"])
    artifact = pipeline.build_artifact()
    build = pipeline.attest("build", run_id="r", materials=["src/**"], products=["dist/*"])
    release = pipeline.attest(
        "release", keys=["ci", "rm"], run_id="r", materials=["dist/*"], products=["dist/*"]
    )
    stage_envelope(pipeline, "build").unlink()
    # Signed as "bu\u0456ld" (a Cyrillic i) but indexed under "build": not a build attestation.
    fake = build.predicate.model_copy(update={"stage": "bu\u0456ld"})
    from gatekeeper.attest.dsse import sign_envelope
    from gatekeeper.attest.keys import load_signer
    from gatekeeper.attest.statement import build_statement, statement_bytes
    from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE

    env = sign_envelope(
        statement_bytes(build_statement(fake)),
        INTOTO_PAYLOAD_TYPE,
        [load_signer(pipeline.key("ci"))],
    )
    pipeline.store_envelope(env, "build", release.predicate.materials[0].digest["sha256"])
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/missing-stage" in codes(verdict)


def test_lookalike_glob_does_not_match_the_real_file(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidInput, match="matches no file"):
        record_globs(pipeline.repo_path, [LOOKALIKE], what="material")
    real = record_globs(pipeline.repo_path, ["src/app.py"], what="material")
    assert [a.name for a in real] == ["src/app.py"]


@pytest.fixture
def linked_tree(tmp_path: Path) -> Path:
    """A tree with links out of it, loops, a hard link, a fifo; and a secret outside it."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (outside / "deep" / "key.pem").write_text("PRIVATE\n")
    root = tmp_path / "tree"
    (root / "src").mkdir(parents=True)
    (root / "src" / "ok.txt").write_text("fine\n")
    os.symlink(outside / "secret.txt", root / "src" / "abs-link")
    os.symlink("../../outside/secret.txt", root / "src" / "rel-link")
    os.symlink(outside, root / "src" / "dir-link")
    os.symlink("..", root / "src" / "up")  # a loop: src/up/src/up/...
    os.symlink("loop-b", root / "src" / "loop-a")  # a -> b -> a
    os.symlink("loop-a", root / "src" / "loop-b")
    os.link(outside / "deep" / "key.pem", root / "src" / "hard.pem")
    os.mkfifo(root / "src" / "pipe")
    return root


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_symlinks_are_recorded_never_followed(linked_tree: Path) -> None:
    done: list[list[Artifact]] = []
    worker = threading.Thread(
        target=lambda: done.append(record_globs(linked_tree, ["src/**"], what="product")),
        daemon=True,
    )
    worker.start()
    worker.join(20)
    assert done, "attest hung (a fifo was opened or a link loop followed)"
    by_name = {a.name: a for a in done[0]}
    assert sorted(by_name) == [
        "src/abs-link",
        "src/dir-link",
        "src/hard.pem",
        "src/loop-a",
        "src/loop-b",
        "src/ok.txt",
        "src/rel-link",
        "src/up",
    ]
    outside = linked_tree.parent / "outside"
    for name, target in (
        ("src/abs-link", str(outside / "secret.txt")),
        ("src/rel-link", "../../outside/secret.txt"),
        ("src/dir-link", str(outside)),
        ("src/up", ".."),
        ("src/loop-a", "loop-b"),
    ):
        art = by_name[name]
        assert art.kind == "symlink"
        assert art.target == target
        assert art.digest["sha256"] == _sha(target)  # the link text, not what it points at
    assert by_name["src/abs-link"].digest["sha256"] != _sha("TOP SECRET\n")
    # A hard link is a regular file whose content is in the tree: it is hashed as a file.
    assert by_name["src/hard.pem"].kind == "file"
    assert by_name["src/hard.pem"].digest["sha256"] == _sha("PRIVATE\n")


@pytest.mark.parametrize(
    "glob",
    [
        "src/dir-link/**",
        "src/dir-link/secret.txt",
        "src/dir-link/deep/*",
        "src/up/src/ok.txt",
        "src/up/**",
    ],
)
def test_globs_through_a_symlinked_directory_match_nothing(linked_tree: Path, glob: str) -> None:
    with pytest.raises(InvalidInput, match="matches no file"):
        record_globs(linked_tree, [glob], what="product")
    assert record_globs(linked_tree, [glob], what="product", allow_empty=True) == []


@pytest.mark.parametrize("directory", ["src/dir-link", "src/dir-link/deep", "src/up/src"])
def test_directory_digest_through_a_symlink_is_refused(linked_tree: Path, directory: str) -> None:
    with pytest.raises(InvalidInput, match="not a directory under"):
        record_dirs(linked_tree, [directory], what="product")


def test_directory_digest_records_links_as_links(linked_tree: Path) -> None:
    (linked_tree / "src" / "pipe").unlink()
    [art] = record_dirs(linked_tree, ["src"], what="product")
    assert art.kind == "dir" and art.count == 8


def test_attest_cli_never_hashes_outside_files(
    linked_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["keygen", str(tmp_path / "k")])
    store = tmp_path / "store"
    rc = main(
        [
            "attest",
            "--stage",
            "s",
            "--key",
            str(tmp_path / "k"),
            "--repo",
            str(linked_tree),
            "--store",
            str(store),
            "--product",
            "src/dir-link/deep/*",
        ]
    )
    assert rc == 2
    assert "matches no file" in capsys.readouterr().err
    rc = main(
        [
            "attest",
            "--stage",
            "s",
            "--key",
            str(tmp_path / "k"),
            "--repo",
            str(linked_tree),
            "--store",
            str(store),
            "--product",
            "src/**",
        ]
    )
    assert rc == 0
    [envelope] = (store / "envelopes").iterdir()
    payload = base64.b64decode(json.loads(envelope.read_text())["payload"]).decode()
    assert _sha("TOP SECRET\n") not in payload  # the link text is hashed, not the target
    assert _sha("PRIVATE\n") in payload  # a hard link's content is in the tree (documented)


NON_UTF8 = b"src/\xff\xfe-data.bin"


def test_non_utf8_file_name_in_attest_glob_is_a_clean_error(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    os.makedirs(pipeline.repo_path / "src", exist_ok=True)
    with open(os.path.join(os.fsencode(pipeline.repo_path), NON_UTF8), "wb") as handle:
        handle.write(b"data")
    assert _attest_cli(pipeline, "--product", "src/**") == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and "src/\\xff\\xfe-data.bin" in err
    assert "Traceback" not in err
    assert not (pipeline.store / "envelopes").exists()
    # A glob that does not match the file is unaffected.
    assert _attest_cli(pipeline, "--product", "src/*.py") == 0


def test_non_utf8_symlink_target_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    os.symlink(b"\xff-target", os.path.join(os.fsencode(tmp_path), b"src/link"))
    with pytest.raises(InvalidInput, match="symlink target is not valid UTF-8"):
        record_globs(tmp_path, ["src/*"], what="product")


def test_non_utf8_file_names_in_check(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = os.fsencode(git_repo.working_tree_dir or ".")
    os.makedirs(os.path.join(root, b"cfg"), exist_ok=True)
    names = [b"cfg/\xff\xfe.yml", b"cfg/\xe9t\xe9.env", b".github/workflows/\xff.yml"]
    for name in names:
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        with open(os.path.join(root, name), "wb") as handle:
            handle.write(b"password = 'hunter2hunter2hunter2'\non: [push]\n")
    git_repo.git.add(A=True)
    git_repo.git.commit(m="odd names")
    out = tmp_path / "out.json"
    rc = main(
        [
            "check",
            str(git_repo.working_tree_dir),
            "--base",
            "HEAD~1",
            "--format",
            "json",
            "--output",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc in (0, 1), err
    assert "Traceback" not in err and "internal error" not in err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["verdict"] in ("pass", "block")
    again = tmp_path / "again.json"
    main(
        [
            "check",
            str(git_repo.working_tree_dir),
            "--base",
            "HEAD~1",
            "--format",
            "json",
            "--output",
            str(again),
        ]
    )
    assert again.read_bytes() == out.read_bytes()  # deterministic, odd names included
