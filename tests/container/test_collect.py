"""The container collector and the command line, end to end on real repositories and images."""

from __future__ import annotations

import json
import os
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.collect import CollectContext, collector_for
from gatekeeper.collect.container import is_dockerfile_name
from gatekeeper.errors import ExitCode
from gatekeeper.models.container import ContainerEvidence
from tests.conftest import commit_files
from tests.container.imagebuild import make_config, make_layer, write_oci_layout

PIN = "@sha256:" + "c" * 64
GOOD = f"FROM alpine:3.20{PIN}\nUSER 10001\n"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Dockerfile", True),
        ("Containerfile", True),
        ("docker/dockerfile", True),
        ("api.Dockerfile", True),
        ("Dockerfile.prod", True),
        ("build/Containerfile.dev", True),
        ("web.containerfile", True),
        ("Dockerfile.dockerignore", False),
        ("Dockerfile.j2", False),
        ("Dockerfile.md", False),
        ("docs/dockerfile-guide.md", False),
        ("MyDockerfile", False),
        ("Dockerfiles/x.txt", False),
    ],
)
def test_dockerfile_names(path: str, expected: bool) -> None:
    assert is_dockerfile_name(path) is expected


def test_collector_finds_dockerfiles_anywhere_and_skips_links(tmp_path: Path) -> None:
    (tmp_path / "svc" / "api").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text(GOOD)
    (tmp_path / "svc" / "api" / "Containerfile").write_text(GOOD)
    (tmp_path / "svc" / "worker.Dockerfile").write_text("FROM alpine\nRUN <<EOF\n")
    (tmp_path / "Dockerfile.dockerignore").write_text("*.pyc\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "Dockerfile").write_text("FROM x\n")
    os.symlink("/etc/passwd", tmp_path / "Dockerfile.link")
    evidence = collector_for("container").collect(CollectContext(repo=tmp_path))
    assert isinstance(evidence, ContainerEvidence)
    assert [d.path for d in evidence.dockerfiles] == [
        "Dockerfile",
        "svc/api/Containerfile",
        "svc/worker.Dockerfile",
    ]
    assert evidence.dockerfiles[2].instruction_errors[0].line == 2
    assert evidence.notes == ["container: Dockerfile.link is a symlink; not followed"]
    assert evidence.image is None


def test_collect_container_json_is_deterministic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(GOOD)
    write_oci_layout(tmp_path / "img")
    outputs = []
    for _ in range(2):
        assert (
            main(["collect", "container", str(tmp_path), "--image", f"oci:{tmp_path / 'img'}"])
            == ExitCode.PASS
        )
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    doc = json.loads(outputs[0])
    assert doc["image"]["user"] == "1000"
    assert doc["dockerfiles"][0]["sha256"]


def test_collect_container_text_answers_what_is_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [{"name": "openssl", "version": "3.0.13"}],
    }
    layers = [make_layer({"bin/app": b"x" * 3000}), make_layer({"etc/app.conf": b"y" * 2000})]
    write_oci_layout(
        tmp_path / "img",
        layers=layers,
        sbom=sbom,
        wrap_in_index=True,
        config=make_config(user="", ports=["8080/tcp"], entrypoint=["/bin/app"]),
        manifest_annotations={"org.opencontainers.image.base.name": "docker.io/library/debian:12"},
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(
        [
            "collect",
            "container",
            str(empty),
            "--image",
            f"oci:{tmp_path / 'img'}:v1",
            "--format",
            "text",
        ]
    )
    out = capsys.readouterr().out
    assert code == ExitCode.PASS
    assert "base image   docker.io/library/debian:12" in out
    assert "user         (none: root)   <- runs as root" in out
    assert "ports        8080/tcp" in out
    assert "entrypoint   /bin/app" in out
    assert f"layers       2, {(len(layers[0]) + len(layers[1])) / 1000:.1f} kB in total" in out
    assert "packages     1 (from cyclonedx SBOM)" in out and "openssl 3.0.13" in out
    assert len(out.splitlines()) <= 25  # one screen


def test_check_blocks_on_dockerfile_findings_and_passes_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\nUSER root\nRUN pip install flask\n")
    assert (
        main(["check", str(tmp_path), "--only", "container", "--format", "json"])
        == ExitCode.BLOCKED
    )
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "block"
    assert {f["rule"] for f in report["findings"]} == {
        "container/root-user",
        "container/unpinned-base",
    }
    (tmp_path / "Dockerfile").write_text(GOOD)
    assert (
        main(["check", str(tmp_path), "--only", "container", "--format", "json"]) == ExitCode.PASS
    )


def test_check_with_a_root_image_and_no_dockerfile_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_oci_layout(tmp_path / "img", config=make_config(user=None))
    repo = tmp_path / "repo"
    repo.mkdir()
    code = main(
        [
            "check",
            str(repo),
            "--only",
            "container",
            "--image",
            f"oci:{tmp_path / 'img'}",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.BLOCKED
    assert [f["rule"] for f in report["findings"]] == ["container/root-user"]


def test_check_with_a_bad_image_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.tar").write_bytes(b"\0" * 10)
    code = main(
        [
            "check",
            str(tmp_path),
            "--only",
            "container",
            "--image",
            f"docker-archive:{tmp_path / 'evil.tar'}",
        ]
    )
    assert code == ExitCode.USAGE
    assert "not a readable tar archive" in capsys.readouterr().err


def test_check_base_marks_existing_but_never_the_image(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"Dockerfile": "FROM alpine:3\nUSER app\n"}, "base")
    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {"Dockerfile": "FROM alpine:3\nUSER app\nADD https://x.example/a /a\n"})
    write_oci_layout(tmp_path / "img", config=make_config(user="root"))
    code = main(
        [
            "check",
            str(root),
            "--only",
            "container",
            "--base",
            base,
            "--image",
            f"oci:{tmp_path / 'img'}",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    status = {f["rule"]: f.get("status") for f in report["findings"]}
    assert status == {
        "container/unpinned-base": "existing",
        "container/add-remote": None,
        "container/root-user": None,
    }
    assert code == ExitCode.BLOCKED  # the root image blocks even with --base


def test_policy_allowed_registries_from_a_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM quay.io/x/y:1{PIN}\nUSER 1\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: t\nexpires: 2099-01-01T00:00:00Z\n"
        "audits:\n  allowed_registries: [ghcr.io/acme]\n"
    )
    code = main(
        ["check", str(tmp_path), "--only", "container", "--policy", str(policy), "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.BLOCKED
    assert [f["rule"] for f in report["findings"]] == ["container/untrusted-registry"]


def test_source_code_named_after_a_dockerfile_is_not_one() -> None:
    from gatekeeper.collect.container import is_dockerfile_name
    from gatekeeper.collect.pipeline import classify

    for name in ("gatekeeper/container/dockerfile.py", "docs/Dockerfile.md", "x/dockerfile.go"):
        assert not is_dockerfile_name(name)
        assert classify(name) is None
    for name in ("Dockerfile", "build/Dockerfile.prod", "app.Dockerfile", "Containerfile"):
        assert is_dockerfile_name(name)
        assert classify(name) == "dockerfile"


def test_collect_container_text_lists_each_instruction_that_does_not_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:12\nRUN apt-get update\nFROBNICATE now\nUSER app\n"
    )
    code = main(["collect", "container", str(tmp_path), "--format", "text"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Dockerfile: 1 stage(s); bases: debian:12; final user: app" in out
    assert "  line 3: instruction does not parse (" in out
    assert "not audited" in out


def test_collect_container_text_shows_no_instruction_errors_on_a_clean_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nUSER app\n")
    assert main(["collect", "container", str(tmp_path), "--format", "text"]) == 0
    assert "does not parse" not in capsys.readouterr().out
