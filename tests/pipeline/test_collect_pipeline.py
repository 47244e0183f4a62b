"""The pipeline collector: which files, their digests, and the line-aware workflow model."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import signal
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.collect._yaml_lines import YamlLinesError, load_with_lines
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.pipeline import PipelineCollector, classify
from gatekeeper.errors import CollectionError
from gatekeeper.models.policy import Limits
from tests.pipeline.conftest import collect, write_tree

WORKFLOW = """
name: release
on:
  push:
    tags: ["v*"]
  pull_request_target:
    types: [opened]
permissions:
  contents: read
env:
  GLOBAL: "1"
jobs:
  build:
    name: Build
    runs-on: [self-hosted, linux]
    permissions: write-all
    container:
      image: node:20
      credentials:
        username: bot
        password: ${{ secrets.PW }}
    services:
      db: postgres:16
    steps:
      - id: co
        uses: actions/checkout@v4
        with:
          persist-credentials: false
      - name: test
        if: github.event_name == 'push'
        env:
          TITLE: ${{ github.event.pull_request.title }}
        run: |
          echo one
          echo two
  call:
    uses: org/repo/.github/workflows/x.yml@main
    with:
      level: 3
    secrets: inherit
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".github/workflows/ci.yml", "github-workflow"),
        (".github/workflows/ci.yaml", "github-workflow"),
        (".github/workflows/sub/ci.yml", None),
        (".github/actions/setup/action.yml", "github-action"),
        ("action.yaml", "github-action"),
        ("Jenkinsfile", "jenkinsfile"),
        ("ci/Jenkinsfile.release", "jenkinsfile"),
        ("jobs/nightly.jenkinsfile", "jenkinsfile"),
        (".gitlab-ci.yml", "gitlab-ci"),
        ("Dockerfile", "dockerfile"),
        ("docker/Dockerfile.prod", "dockerfile"),
        ("Containerfile", "dockerfile"),
        ("Makefile", "build-script"),
        ("build.sh", "build-script"),
        ("scripts/release.sh", "build-script"),
        ("ci/run-tests.sh", "build-script"),
        ("app/build.gradle.kts", "build-script"),
        ("pom.xml", "build-script"),
        ("setup.py", "build-script"),
        ("noxfile.py", "build-script"),
        ("tox.ini", "build-script"),
        ("justfile", "build-script"),
        ("Taskfile.yml", "build-script"),
        ("src/app.py", None),
        ("gatekeeper/collect/jenkinsfile.py", None),
        ("gatekeeper/collect/dockerfile.py", None),
        ("docs/Dockerfile.md", None),
        ("ci/Jenkinsfile.groovy", "jenkinsfile"),
        ("vars/deployApp.groovy", "jenkinsfile"),
        ("libs/shared/vars/buildIt.groovy", "jenkinsfile"),
        ("src/org/acme/Util.groovy", None),
        ("scripts/format.sh", None),
        ("docs/workflows.yml", None),
    ],
)
def test_classify(path: str, kind: str | None) -> None:
    assert classify(path) == kind


def test_workflow_model_has_lines_for_every_key(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/release.yml": WORKFLOW})
    evidence = collect(root)
    (wf,) = evidence.workflows
    assert [(t.event, t.line) for t in wf.triggers] == [("push", 3), ("pull_request_target", 5)]
    assert wf.triggers[0].tags == ["v*"] and wf.triggers[1].types == ["opened"]
    assert wf.permissions is not None and wf.permissions.line == 7
    assert [(s.key, s.value, s.line) for s in wf.permissions.scopes] == [("contents", "read", 8)]
    assert [(e.key, e.line) for e in wf.env] == [("GLOBAL", 10)]
    build, call = wf.jobs
    assert (build.id, build.line, build.name) == ("build", 12, "Build")
    assert build.runs_on == ["self-hosted", "linux"] and build.runs_on_line == 14
    assert build.permissions is not None and build.permissions.preset == "write-all"
    assert build.container is not None and build.container.image == "node:20"
    assert build.container.image_line == 17
    assert [(c.key, c.line) for c in build.container.credentials] == [
        ("username", 19),
        ("password", 20),
    ]
    assert [(s.name, s.image, s.line) for s in build.services] == [("db", "postgres:16", 22)]
    checkout, test = build.steps
    assert (checkout.id, checkout.uses, checkout.uses_line, checkout.line) == (
        "co",
        "actions/checkout@v4",
        25,
        24,
    )
    assert [(w.key, w.value, w.line) for w in checkout.with_] == [
        ("persist-credentials", "false", 27)
    ]
    assert test.if_ == "github.event_name == 'push'"
    assert test.key_lines == {"env": 30, "if": 29, "name": 28, "run": 32}
    assert build.key_lines["name"] == 13 and build.key_lines["steps"] == 23
    assert [(e.key, e.line) for e in test.env] == [("TITLE", 31)]
    assert test.run == "echo one\necho two\n" and test.run_line == 33 and test.run_is_block
    assert test.run_line_at(test.run.index("two")) == 34
    assert (call.uses, call.uses_line, call.secrets, call.secrets_line) == (
        "org/repo/.github/workflows/x.yml@main",
        36,
        "inherit",
        39,
    )
    assert [(w.key, w.value) for w in call.with_] == [("level", "3")]
    dumped = evidence.model_dump(mode="json", by_alias=True)
    assert "with" in dumped["workflows"][0]["jobs"][0]["steps"][0]


def test_on_stays_a_trigger_key_not_true() -> None:
    doc = load_with_lines("on: push\nyes: 1\nflag: on\n")
    assert list(doc) == ["on", "yes", "flag"]
    assert doc["flag"] is True  # values keep YAML's meaning; keys keep their text
    assert doc.line_of("yes") == 2


def test_yaml_errors_carry_lines() -> None:
    with pytest.raises(YamlLinesError) as err:
        load_with_lines("a: 1\nb: [1, 2\nc: 3\n")
    assert err.value.line is not None and err.value.line >= 2
    deep = "a: " + "[" * 300 + "]" * 300 + "\n"
    with pytest.raises(YamlLinesError):
        load_with_lines(deep)


def test_every_file_has_digest_and_size_and_output_is_sorted(tmp_path: Path) -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        "Dockerfile": "FROM alpine\n",
        "Makefile": "all:\n\tcc -o app app.c\n",
        "Jenkinsfile": "node { sh 'make' }\n",
        "src/main.c": "int main(){}\n",
    }
    root = write_tree(tmp_path, files)
    evidence = collect(root)
    assert [f.path for f in evidence.files] == sorted(p for p in files if p != "src/main.c")
    for item in evidence.files:
        data = (root / item.path).read_bytes()
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert item.size == len(data)
    again = collect(root)
    assert again.model_dump_json() == evidence.model_dump_json()


def test_digest_is_of_the_bytes_parsed_even_if_the_file_is_swapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pipeline file replaced between a hashing read and a parsing read must not pair the
    # approved digest with other content: the collector reads each file once.
    approved = "name: approved\non: push\njobs: {}\n"
    root = write_tree(tmp_path / "r", {".github/workflows/ci.yml": approved})
    target = root / ".github/workflows/ci.yml"
    real_io_open, real_os_open = io.open, os.open
    opened: list[str] = []

    def swap_after(file: object) -> None:
        if isinstance(file, (str, os.PathLike)) and Path(file) == target:
            opened.append(str(file))
            swapped = target.with_name("swap.tmp")
            swapped.write_bytes(b"name: swapped\non: push\njobs: {}\n")
            os.replace(swapped, target)  # a new inode: the open handle keeps the old bytes

    def swapping_open(file: object, *args: object, **kwargs: object) -> object:
        handle = real_io_open(file, *args, **kwargs)  # type: ignore[call-overload]
        swap_after(file)
        return handle

    def swapping_os_open(file: object, *args: object, **kwargs: object) -> int:
        fd = real_os_open(file, *args, **kwargs)  # type: ignore[arg-type]
        swap_after(file)
        return fd

    monkeypatch.setattr(io, "open", swapping_open)
    monkeypatch.setattr(builtins, "open", swapping_open)
    monkeypatch.setattr(os, "open", swapping_os_open)
    evidence = collect(root)
    monkeypatch.undo()
    (item,) = evidence.files
    (workflow,) = evidence.workflows
    assert len(opened) == 1
    assert workflow.name == "approved"
    assert item.sha256 == hashlib.sha256(approved.encode()).hexdigest()


def test_a_fifo_named_like_a_pipeline_file_is_an_error_not_a_hang(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "r", {".github/workflows/ci.yml": "on: push\njobs: {}\n"})
    os.mkfifo(root / "Makefile")

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("the collector blocked on a fifo")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        with pytest.raises(CollectionError, match=r"Makefile.*not a regular file"):
            collect(root)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_symlinked_workflow_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text("on: push\njobs: {}\n")
    root = tmp_path / "repo"
    (root / ".github/workflows").mkdir(parents=True)
    os.symlink(outside, root / ".github/workflows/ci.yml")
    evidence = collect(root)
    (item,) = evidence.files
    assert item.parse_error is not None and "symbolic link" in item.parse_error.message
    assert evidence.workflows == []


def test_oversized_file_is_hashed_not_parsed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/big.yml": "on: push\njobs: {}\n" + "#" * 5000})
    ctx = CollectContext(repo=root, limits=Limits(max_file_bytes=1000))
    evidence = PipelineCollector().collect(ctx)
    (item,) = evidence.files
    assert item.size > 1000 and item.parse_error is not None
    assert "limit" in item.parse_error.message


def test_invalid_utf8_is_a_parse_error_with_line(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_bytes(b"on: push\njobs:\n  a: \xff\xfe\n")
    (item,) = collect(root).files
    assert item.parse_error is not None and item.parse_error.line == 3


def test_missing_directory_is_a_collection_error(tmp_path: Path) -> None:
    with pytest.raises(CollectionError):
        PipelineCollector().collect(CollectContext(repo=tmp_path / "nope"))


def test_composite_and_docker_actions(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "action.yml": "name: a\nruns:\n  using: docker\n  image: docker://alpine:3\n",
            ".github/actions/x/action.yml": (
                "name: x\nruns:\n  using: composite\n  steps:\n    - run: make\n      shell: bash\n"
            ),
        },
    )
    by_path = {w.path: w for w in collect(root).workflows}
    assert by_path["action.yml"].runs_image == "docker://alpine:3"
    assert by_path["action.yml"].runs_image_line == 4
    composite = by_path[".github/actions/x/action.yml"]
    assert composite.runs_using == "composite"
    assert [s.run for s in composite.jobs[0].steps] == ["make"]


def test_jenkinsfile_and_gitlab_models(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Jenkinsfile": "@Library('lib@1.0') _\nnode {\n  withCredentials([string("
            "credentialsId: 'c', variable: 'T')]) {\n    sh \"echo ${T}\"\n  }\n}\n",
            ".gitlab-ci.yml": "include:\n  - project: g/p\n    file: a.yml\nbuild:\n  image: alpine\n"
            "  script:\n    - make\n",
        },
    )
    evidence = collect(root)
    (jf,) = evidence.jenkinsfiles
    assert jf.style == "scripted"
    assert [(lib.name, lib.version, lib.line) for lib in jf.libraries] == [("lib", "1.0", 1)]
    assert [(c.variables, c.line) for c in jf.credentials] == [(["T"], 3)]
    assert [
        (s.step, s.quote, s.line, [i.expr for i in s.interpolations]) for s in jf.shell_steps
    ] == [("sh", '"', 4, ["T"])]
    (gl,) = evidence.gitlab
    assert [(i.kind, i.project, i.ref, i.line) for i in gl.includes] == [
        ("project", "g/p", None, 2)
    ]
    assert [(j.name, j.image, [s.text for s in j.scripts]) for j in gl.jobs] == [
        ("build", "alpine", ["make"])
    ]


def test_cli_collect_pipeline_json_and_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path, {".github/workflows/release.yml": WORKFLOW})
    assert main(["collect", "pipeline", str(root)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"][0]["path"] == ".github/workflows/release.yml"
    assert data["workflows"][0]["triggers"][1]["event"] == "pull_request_target"
    assert main(["collect", "pipeline", str(root), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "on [push, pull_request_target]" in text


def test_definitions_over_the_parse_cap_are_parse_errors(tmp_path: Path) -> None:
    from gatekeeper.collect.pipeline import MAX_DEFINITION_BYTES

    big = "on: push\njobs: {}\n" + "#" * MAX_DEFINITION_BYTES
    root = write_tree(tmp_path, {".github/workflows/big.yml": big, "build.sh": "#" * 3_000_000})
    files = {f.path: f for f in collect(root).files}
    error = files[".github/workflows/big.yml"].parse_error
    assert error is not None and "limit" in error.message
    assert files["build.sh"].parse_error is None  # only hashed; scripts are not definitions
    assert files["build.sh"].size == 3_000_000


def test_recursive_alias_is_a_parse_error_with_line(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/r.yml": "on: push\njobs: &j\n  a: *j\n"})
    (item,) = collect(root).files
    assert item.parse_error is not None
    assert "recursive" in item.parse_error.message and item.parse_error.line == 3
