"""Resource limits: configurable in the policy's ``limits:`` section; hitting one names the cap."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
import yaml

from gatekeeper._yaml import load_yaml, yaml_caps
from gatekeeper.cli import main
from gatekeeper.collect.base import walk_files
from gatekeeper.errors import CollectionError, InvalidInput
from gatekeeper.models.policy import Limits, LimitsPolicy
from gatekeeper.policy import default_policy, parse_policy

HEAD = "version: 1\nname: p\nexpires: 2099-01-01T00:00:00Z\n"


def test_defaults_match_the_collectors_limits() -> None:
    assert LimitsPolicy().model_dump() == Limits().__dict__
    assert default_policy().limits == LimitsPolicy()


def test_limits_parse_sizes_and_reject_typos_and_nonsense() -> None:
    policy = parse_policy(
        (
            HEAD + "limits:\n  max_file_bytes: 2MB\n  max_files: 50\n"
            "  yaml_max_aliases: 5\n  max_declared_bytes: 1GiB\n"
        ).encode(),
        "p",
    )
    assert policy.limits.max_file_bytes == 2 * 1024 * 1024
    assert policy.limits.max_files == 50
    assert policy.limits.max_declared_bytes == 1024**3
    for bad in (
        "  max_file_byte: 2MB\n",
        "  max_files: 0\n",
        "  max_file_bytes: lots\n",
        "  yaml_max_depth: 100000\n",
        "  max_files: -1\n",
    ):
        with pytest.raises(InvalidInput, match="limits"):
            parse_policy((HEAD + "limits:\n" + bad).encode(), "p")


def test_yaml_caps_apply_inside_the_block_only() -> None:
    text = "a: &a 1\nb: [*a, *a, *a]\n"
    assert load_yaml(text) == {"a": 1, "b": [1, 1, 1]}
    with yaml_caps(2, 200), pytest.raises(yaml.YAMLError, match=r"limits\.yaml_max_aliases"):
        load_yaml(text)
    with yaml_caps(100, 2), pytest.raises(yaml.YAMLError, match=r"limits\.yaml_max_depth"):
        load_yaml("a:\n  b:\n    c: 1\n")
    assert load_yaml(text) == {"a": 1, "b": [1, 1, 1]}


def test_walk_files_over_the_cap_is_an_error_naming_it(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}").write_text("x")
    assert len(list(walk_files(tmp_path, 5))) == 5
    with pytest.raises(CollectionError, match=r"limits\.max_files"):
        list(walk_files(tmp_path, 4))


def _policy(tmp_path: Path, limits: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(HEAD + "limits:\n" + limits)
    return path


def _check(repo: Path, policy: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "check",
            str(repo),
            "--policy",
            str(policy),
            "--format",
            "json",
            "--output",
            str(out),
            *extra,
        ]
    )


def test_policy_max_files_is_honoured_by_check(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    for i in range(12):
        (root / f"file{i}.txt").write_text("x\n")
    out = tmp_path / "r.json"
    assert _check(root, _policy(tmp_path, "  max_files: 100\n"), out) in (0, 1)
    assert _check(root, _policy(tmp_path, "  max_files: 5\n"), out) == 2
    assert "limits.max_files" in capsys.readouterr().err


def test_policy_max_file_bytes_is_honoured_by_check(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    (root / "Dockerfile").write_text(
        "FROM alpine@sha256:" + "0" * 64 + "\nUSER app\n# " + "x" * 5000 + "\n"
    )
    (root / "requirements.txt").write_text("requests==2.31.0\n# " + "y" * 5000 + "\n")
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n"
        "    steps: [{run: echo}]\n# " + "z" * 5000 + "\n"
    )
    out = tmp_path / "r.json"
    _check(root, _policy(tmp_path, "  max_file_bytes: 1MB\n"), out)
    roomy = {f["rule"] for f in json.loads(out.read_text())["findings"]}
    assert not roomy & {"container/parse-error", "deps/parse-error", "pipeline/parse-error"}
    assert _check(root, _policy(tmp_path, "  max_file_bytes: 4k\n"), out) == 1
    report = json.loads(out.read_text())
    tight = {(f["rule"], f["path"]): f["message"] for f in report["findings"]}
    for key in (
        ("container/parse-error", "Dockerfile"),
        ("deps/parse-error", "requirements.txt"),
        ("pipeline/parse-error", ".github/workflows/ci.yml"),
    ):
        assert "4096" in tight[key], tight[key]  # the message names the cap


def test_policy_yaml_caps_are_honoured_by_check(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a: {runs-on: x, steps: &steps [{run: echo}]}\n"
        "  b: {runs-on: x, steps: *steps}\n  c: {runs-on: x, steps: *steps}\n"
    )
    out = tmp_path / "r.json"
    _check(root, _policy(tmp_path, "  yaml_max_aliases: 10\n"), out)
    rules = {f["rule"] for f in json.loads(out.read_text())["findings"]}
    assert "pipeline/parse-error" not in rules
    assert _check(root, _policy(tmp_path, "  yaml_max_aliases: 1\n"), out) == 1
    messages = [
        f["message"]
        for f in json.loads(out.read_text())["findings"]
        if f["rule"] == "pipeline/parse-error"
    ]
    assert messages and "limits.yaml_max_aliases" in messages[0]


def test_archive_caps_reach_the_image_reader(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.container.imagebuild import write_docker_save

    archive = tmp_path / "image.tar"
    write_docker_save(archive)
    root = Path(git_repo.working_tree_dir or ".")
    out = tmp_path / "r.json"
    assert _check(
        root,
        _policy(tmp_path, "  max_archive_members: 1000\n"),
        out,
        "--only",
        "container",
        "--image",
        f"docker-archive:{archive}",
    ) in (0, 1)
    code = _check(
        root,
        _policy(tmp_path, "  max_archive_members: 2\n"),
        out,
        "--only",
        "container",
        "--image",
        f"docker-archive:{archive}",
    )
    assert code != 0
    assert "more than 2 archive members" in capsys.readouterr().err
    code = _check(
        root,
        _policy(tmp_path, "  max_declared_bytes: 10\n"),
        out,
        "--only",
        "container",
        "--image",
        f"docker-archive:{archive}",
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "10-byte limit" in err or "more than 10 bytes" in err, err


def test_attest_audit_honours_the_policy_limits(
    git_repo: git.Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatekeeper.attest.keys import write_keypair

    root = Path(git_repo.working_tree_dir or ".")
    for i in range(8):
        (root / f"file{i}.txt").write_text("x\n")
    write_keypair(tmp_path / "key")
    argv = [
        "attest",
        "--stage",
        "scan",
        "--key",
        str(tmp_path / "key"),
        "--repo",
        str(root),
        "--store",
        str(tmp_path / "store"),
        "--audit",
        "--product",
        "README.md",
    ]
    assert main([*argv, "--policy", str(_policy(tmp_path, "  max_files: 100\n"))]) == 0
    assert main([*argv, "--policy", str(_policy(tmp_path, "  max_files: 3\n"))]) == 2
    assert "limits.max_files" in capsys.readouterr().err
