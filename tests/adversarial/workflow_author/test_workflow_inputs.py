"""What the author of a CI job controls: the arguments and environment of gatekeeper's steps.

Arguments that would make ``attest`` read outside the tree are refused; the CI's environment
variables are recorded as context and never accepted as proof (the commit comes from git).
"""

from __future__ import annotations

import base64
import json

import pytest

from gatekeeper.attest.materials import record_dirs
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from tests.harness import Pipeline


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


@pytest.mark.parametrize(
    "glob",
    [
        "../keys/ci",
        "../../etc/passwd",
        "/etc/passwd",
        "src/../../x",
        "src/\x00app.py",
        "./../keys/*",
        "",
    ],
)
def test_globs_that_leave_the_tree_are_refused(
    pipeline: Pipeline, glob: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _attest_cli(pipeline, "--material", glob) == 2
    assert "stay inside it" in capsys.readouterr().err
    assert not (pipeline.store / "envelopes").exists()
    with pytest.raises(InvalidInput):
        record_dirs(pipeline.repo_path, [glob or "/"], what="material")


def test_the_ci_environment_is_context_never_proof(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job that sets GITHUB_SHA (or GIT_COMMIT) to another commit does not change what the
    attestation says was built: the commit is read from git; the variables are context."""
    real = pipeline.repo.head.commit.hexsha
    forged = "f" * 40
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SHA", forged)
    monkeypatch.setenv("GIT_COMMIT", forged)
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    assert _attest_cli(pipeline, "--product", "src/**") == 0
    [envelope] = sorted((pipeline.store / "envelopes").glob("*.json"))
    statement = json.loads(base64.b64decode(json.loads(envelope.read_bytes())["payload"]))
    run = statement["predicate"]["run"]
    assert run["source_commit"] == real
    assert run["ci"]["commit"] == forged  # recorded as what the CI said, nothing more
