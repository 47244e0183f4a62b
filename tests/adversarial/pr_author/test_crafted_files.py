"""Crafted file contents: alias bombs, deep nesting, huge files, huge lines, invalid UTF-8.

Every one must end in a finding, a clean error or a block: never a crash, a hang, or a read of
a whole 2 GB file into memory.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import git
import pytest
import yaml

from gatekeeper._fileio import loads_json_strict, read_bounded
from gatekeeper._yaml import YAML_MAX_ALIASES, load_yaml, load_yaml_all
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.policy import parse_policy
from tests.adversarial.crafted import (
    alias_flood,
    billion_laughs,
    deep_json,
    deep_yaml,
    max_rss_kib,
    narrow_bomb,
    sparse,
)
from tests.harness import Pipeline, codes

# -- the core loaders ---------------------------------------------------------------------


def test_alias_bomb_and_deep_yaml_are_refused_by_the_loader() -> None:
    for loader in (load_yaml, load_yaml_all):
        with pytest.raises(yaml.YAMLError, match=f"more than {YAML_MAX_ALIASES} aliases"):
            loader(alias_flood())
        with pytest.raises(yaml.YAMLError, match="expands to more than"):
            loader(billion_laughs())
        with pytest.raises(yaml.YAMLError, match="expands to more than"):
            loader(narrow_bomb("x: *Z\n"))
        with pytest.raises(yaml.YAMLError, match="recursive alias"):
            loader("a: &a [1, {b: *a}]\n")
        with pytest.raises(yaml.YAMLError, match="nesting deeper"):
            loader(deep_yaml())
        with pytest.raises(yaml.YAMLError, match="nesting deeper"):
            loader("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 300)))


def test_deep_json_is_a_value_error_not_a_recursion_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_json_strict(deep_json())
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_json_strict("[" * 100_000 + "]" * 100_000)


def test_read_bounded_never_reads_a_2gb_file_whole(tmp_path: Path) -> None:
    huge = sparse(tmp_path / "huge")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InvalidInput, match="larger than the 1024-byte limit"):
        read_bounded(huge, 1024)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB


# -- policies ------------------------------------------------------------------------------


POLICY_HEAD = "version: 1\nname: p\nexpires: 2099-01-01T00:00:00Z\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (billion_laughs(POLICY_HEAD), "alias bomb"),
        (alias_flood(POLICY_HEAD), "aliases"),
        (narrow_bomb(POLICY_HEAD + "audits: {allowed_identities: *Z}\n"), "alias bomb"),
        (narrow_bomb(POLICY_HEAD + "exceptions: *Z\n"), "alias bomb"),
        ("x: &x [*x]\n" + POLICY_HEAD, "recursive alias"),
        (POLICY_HEAD + "stages: " + deep_yaml(), "nesting deeper"),
        ((POLICY_HEAD + "name: \xff\xfe\n"), "not valid YAML"),
    ],
)
def test_hostile_policies_are_invalid_quickly(text: str, needle: str) -> None:
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    started = time.monotonic()
    with pytest.raises(InvalidInput, match=needle):
        parse_policy(data, "crafted.yaml")
    assert time.monotonic() - started < 5


def test_hostile_policy_blocks_verify_and_check(pipeline: Pipeline, tmp_path: Path) -> None:
    artifact = pipeline.run_all()
    for text in (billion_laughs(POLICY_HEAD), POLICY_HEAD + "stages: " + deep_yaml()):
        pipeline.policy_path.write_text(text)
        verdict = pipeline.verify(artifact)
        assert verdict.verdict == "block"
        assert codes(verdict) == {"verify/policy-invalid"}
        assert (
            main(
                [
                    "check",
                    str(pipeline.repo_path),
                    "--policy",
                    str(pipeline.policy_path),
                    "--format",
                    "json",
                    "--output",
                    str(tmp_path / "c.json"),
                ]
            )
            == 2
        )


def test_2gb_policy_and_key_are_refused(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    sparse(pipeline.keys / "ci.pub")
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "limit" in verdict.reasons[0].message
    sparse(pipeline.policy_path)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "larger than the 4194304-byte limit" in verdict.reasons[0].message


def test_policy_with_a_100mb_line_is_refused(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    with open(pipeline.policy_path, "wb") as handle:
        handle.write(POLICY_HEAD.encode() + b"# " + b"x" * 100_000_000 + b"\n")
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}


# -- repository content read by check -------------------------------------------------------


def _check_json(repo: Path, tmp_path: Path) -> tuple[int, dict[str, object], str]:
    out = tmp_path / "check.json"
    code, rss, err = max_rss_kib(["check", str(repo), "--format", "json", "--output", str(out)])
    assert "Traceback" not in err and "internal error" not in err, err
    assert rss < 400 * 1024, f"peak RSS {rss} KiB"
    return code, json.loads(out.read_text()), err


def _findings(report: dict[str, object]) -> dict[tuple[str, str], str]:
    return {
        (f["rule"], f["path"]): f["message"]  # type: ignore[index]
        for f in report["findings"]
    }  # type: ignore[attr-defined]


def test_check_on_2gb_files_and_100mb_lines(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    for rel in ("huge.bin", "Dockerfile", "package-lock.json", "go.sum", "config/app.env"):
        sparse(root / rel)
    line = b"A" * 100_000_000 + b"\n"
    (root / "requirements.txt").write_bytes(line)
    (root / "settings.ini").write_bytes(b"password = " + line)
    started = time.monotonic()
    code, report, _ = _check_json(root, tmp_path)
    assert code == 1
    found = _findings(report)
    assert "limit" in found[("container/parse-error", "Dockerfile")]
    assert "limit" in found[("deps/parse-error", "package-lock.json")]
    assert "limit" in found[("deps/parse-error", "requirements.txt")]
    notes = " ".join(report["notes"])  # type: ignore[arg-type]
    assert "not scanned" in notes and "settings.ini" in notes and "config/app.env" in notes
    assert time.monotonic() - started < 60


def test_check_on_a_2gb_workflow_hashes_in_constant_memory(
    git_repo: git.Repo, tmp_path: Path
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    sparse(root / ".github" / "workflows" / "huge.yml")
    code, report, _ = _check_json(root, tmp_path)
    assert code == 1
    message = _findings(report)[("pipeline/parse-error", ".github/workflows/huge.yml")]
    assert "limit" in message


def test_check_on_long_lines_under_the_file_cap(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (root / "blob.cfg").write_text("x" * 3_000_000 + f" token={token}\n" + "y" * 3_000_000 + "\n")
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "long.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo " + "z" * 3_000_000 + "\n"
    )
    started = time.monotonic()
    code, report, _ = _check_json(root, tmp_path)
    assert code in (0, 1)
    assert time.monotonic() - started < 60
    assert token not in json.dumps(report)  # never printed, whatever the line length


@pytest.mark.parametrize(
    ("rel", "content", "rule"),
    [
        (
            ".github/workflows/bomb.yml",
            billion_laughs("on: push\njobs: {}\n"),
            "pipeline/parse-error",
        ),
        (
            ".github/workflows/narrow.yml",
            narrow_bomb("on: push\njobs:\n  x:\n    runs-on: *Z\n    steps: [{run: echo}]\n"),
            "pipeline/parse-error",
        ),
        (".github/workflows/deep.yml", deep_yaml(), "pipeline/parse-error"),
        (".gitlab-ci.yml", narrow_bomb("job:\n  script: *Z\n"), "pipeline/parse-error"),
        (".gitlab-ci.yml", deep_yaml(), "pipeline/parse-error"),
        (
            "pnpm-lock.yaml",
            billion_laughs("lockfileVersion: '6.0'\npackages: *l8\n"),
            "deps/parse-error",
        ),
        (
            "pnpm-lock.yaml",
            narrow_bomb("lockfileVersion: '6.0'\npackages:\n  /x@1.0.0: *Z\n"),
            "deps/parse-error",
        ),
        ("package-lock.json", deep_json().decode(), "deps/parse-error"),
        ("Pipfile.lock", deep_json().decode(), "deps/parse-error"),
        (".github/workflows/bad.yml", b"on: push\njobs: \xff\xfe\n", "pipeline/parse-error"),
        ("package-lock.json", b'{"name": "\xff", "lockfileVersion": 3}', "deps/parse-error"),
    ],
)
def test_check_turns_hostile_configs_into_parse_errors(
    git_repo: git.Repo, tmp_path: Path, rel: str, content: str | bytes, rule: str
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "c.json"
    started = time.monotonic()
    code = main(["check", str(root), "--format", "json", "--output", str(out)])
    assert time.monotonic() - started < 30
    assert code == 1
    report = json.loads(out.read_text())
    assert (rule, rel) in _findings(report)


def test_dockerfile_with_invalid_utf8_and_a_long_line(git_repo: git.Repo, tmp_path: Path) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    (root / "Dockerfile").write_bytes(
        b"FROM alpine@sha256:"
        + b"0" * 64
        + b"\nRUN echo \xff\xfe "
        + b"q" * 2_000_000
        + b"\nUSER app\n"
    )
    out = tmp_path / "c.json"
    code = main(["check", str(root), "--format", "json", "--output", str(out)])
    assert code in (0, 1)
    assert json.loads(out.read_text())["verdict"] in ("pass", "block")


@pytest.mark.parametrize(
    ("rel", "content", "rule"),
    [
        (
            ".github/workflows/ci.yml",
            'on: push\njobs:\n  "j\\ud800": {runs-on: x, steps: [{run: echo}]}\n',
            "pipeline/parse-error",
        ),
        (".gitlab-ci.yml", 'job:\n  script: ["echo \\udfff"]\n', "pipeline/parse-error"),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '6.0'\npackages:\n  \"/x\\ud800@1.0.0\": {}\n",
            "deps/parse-error",
        ),
        (
            "package-lock.json",
            '{"name": "a\\ud800", "lockfileVersion": 3, "packages": {}}',
            "deps/parse-error",
        ),
    ],
)
def test_lone_surrogate_escapes_are_parse_errors(
    git_repo: git.Repo, tmp_path: Path, rel: str, content: str, rule: str
) -> None:
    root = Path(git_repo.working_tree_dir or ".")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(content)
    out = tmp_path / "c.json"
    assert main(["check", str(root), "--format", "json", "--output", str(out)]) == 1
    found = _findings(json.loads(out.read_text()))
    assert "lone surrogate" in found[(rule, rel)]
    with pytest.raises(yaml.YAMLError, match="lone surrogate"):
        load_yaml('a: "\\ud800"\n')


def test_policy_with_a_lone_surrogate_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="lone surrogate"):
        parse_policy((POLICY_HEAD.replace("name: p", 'name: "p\\udc00"')).encode(), "p.yaml")
