"""attest --image signs the image digest; verify --image-digest promotes only that digest."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.errors import ExitCode
from tests.container.imagebuild import make_config, write_docker_save, write_oci_layout


def _policy(root: Path) -> Path:
    policy = root / "release.yaml"
    policy.write_text(
        "version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\n"
        "keys: {ci: keys/ci.pub}\nstages: [{name: build, signed_by: [ci]}]\n"
    )
    return policy


def test_attest_image_then_verify_by_digest(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    store = tmp_path / "store"
    digests = write_oci_layout(
        root / "build" / "image-layout", wrap_in_index=True, config=make_config(user="app")
    )
    assert main(["keygen", str(root / "keys" / "ci")]) == ExitCode.PASS
    code = main(
        [
            "attest",
            "--stage",
            "build",
            "--key",
            str(root / "keys" / "ci"),
            "--repo",
            str(root),
            "--store",
            str(store),
            "--image",
            f"oci:{root / 'build' / 'image-layout'}:v1",
            "--",
            "true",
        ]
    )
    assert code == ExitCode.PASS
    capsys.readouterr()
    policy = _policy(root)
    # The signed subject is the index buildx would push (it wraps the image manifest).
    assert (
        main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                str(store),
                "--format",
                "json",
                "--image-digest",
                digests["index"],
            ]
        )
        == ExitCode.PASS
    )
    capsys.readouterr()
    # Another image (here: the inner manifest, or anything else) is not what was signed.
    for other in (digests["manifest"], "sha256:" + "0" * 64):
        code = main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                str(store),
                "--format",
                "json",
                "--image-digest",
                other,
            ]
        )
        report = json.loads(capsys.readouterr().out)
        assert code == ExitCode.BLOCKED
        assert [r["code"] for r in report["reasons"]] == ["verify/subject-mismatch"]


def test_attest_refuses_a_legacy_archive_and_a_tampered_layout(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    assert main(["keygen", str(root / "keys" / "ci")]) == ExitCode.PASS
    write_docker_save(tmp_path / "legacy.tar")
    base = [
        "attest",
        "--stage",
        "build",
        "--key",
        str(root / "keys" / "ci"),
        "--repo",
        str(root),
        "--store",
        str(tmp_path / "store"),
    ]
    assert main([*base, "--image", f"docker-archive:{tmp_path / 'legacy.tar'}"]) == ExitCode.USAGE
    assert "no image manifest" in capsys.readouterr().err
    digests = write_oci_layout(tmp_path / "layout")
    blob = tmp_path / "layout" / "blobs" / "sha256" / digests["config"].removeprefix("sha256:")
    blob.write_bytes(blob.read_bytes().replace(b'"1000"', b'"0000"'))
    assert main([*base, "--image", f"oci:{tmp_path / 'layout'}"]) == ExitCode.USAGE
    assert "does not match its digest" in capsys.readouterr().err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.json"))
