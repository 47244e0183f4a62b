"""The directory store is opened as untrusted checkout content: never through a link (real
symlinks and FIFOs in tmp_path), and an envelope's id is the digest of what it holds."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.errors import StoreError
from gatekeeper.store import IndexKeys, open_store
from tests.harness import Pipeline


def _attest(pipeline: Pipeline, store: Path) -> int:
    return main(
        [
            "attest",
            "--stage",
            "source",
            "--key",
            pipeline.key("ci"),
            "--repo",
            str(pipeline.repo_path),
            "--product",
            "src/**",
            "--store",
            str(store),
        ]
    )


def _verify(pipeline: Pipeline, store: Path, artifact: Path, *extra: str) -> int:
    return main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(store),
            "--format",
            "json",
            *extra,
            str(artifact),
        ]
    )


def _untouched(outside: Path) -> bool:
    return not any(outside.iterdir())


@pytest.mark.parametrize("linked", ["", "envelopes", "index", "index/stage/source"])
def test_attest_refuses_a_store_through_a_link(
    pipeline: Pipeline, tmp_path: Path, linked: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = pipeline.repo_path / ".gatekeeper"  # committed with the checkout
    if linked:
        (store / linked).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(outside, store / linked)
    else:
        os.symlink(outside, store)
    assert _attest(pipeline, store) == 2
    assert "a symlink where the store expects" in capsys.readouterr().err
    assert _untouched(outside)


def test_verify_never_appends_to_a_log_through_a_link(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA admin\n")
    (pipeline.store / "log").mkdir()
    os.symlink(victim, pipeline.store / "log" / "decisions.jsonl")
    assert _verify(pipeline, pipeline.store, artifact) == 3  # not logged: not a pass
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "block"
    assert "a symlink where the store expects a file" in out["reasons"][-1]["message"]
    assert victim.read_text() == "ssh-ed25519 AAAA admin\n"

    os.unlink(pipeline.store / "log" / "decisions.jsonl")
    os.rmdir(pipeline.store / "log")
    os.symlink(outside, pipeline.store / "log")
    assert _verify(pipeline, pipeline.store, artifact) == 3
    assert sorted(p.name for p in outside.iterdir()) == ["authorized_keys"]


def test_a_store_that_is_a_link_is_refused_by_verify(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all()
    linked = tmp_path / "linked-store"
    os.symlink(pipeline.store, linked)
    assert _verify(pipeline, linked, artifact, "--no-log") != 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "block"
    assert "never used through a link" in out["reasons"][0]["message"]


def test_a_fifo_where_a_marker_belongs_never_blocks_a_write(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    store = open_store(str(tmp_path / "store"))
    store.put(b'{"x": 1}', IndexKeys(stage="build", subjects=()))
    env_id = store.put(b'{"x": 2}', IndexKeys(stage=None, subjects=()))
    os.mkfifo(tmp_path / "store" / "index" / "stage" / "build" / env_id)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            store.put(b'{"x": 2}', IndexKeys(stage="build", subjects=()))
        except StoreError as exc:
            errors.append(exc)

    worker = threading.Thread(target=put, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "a FIFO in the index blocked the store"
    assert errors and "not a regular file" in str(errors[0])


def test_an_envelope_is_named_by_its_content_not_its_file_name(pipeline: Pipeline) -> None:
    from gatekeeper.verify import VerifyConfig, VerifyRequest, verify_artifacts

    pipeline.attest("source", run_id="old", products=["src/**"])
    artifact = pipeline.run_all(run_id="new")
    envelopes = pipeline.store / "envelopes"
    by_run: dict[str, Path] = {}
    import base64

    for path in envelopes.iterdir():
        payload = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
        if payload["predicate"]["stage"] == "source":
            by_run[payload["predicate"]["run"]["run_id"]] = path
    # The file named like the old run's source attestation now holds the new run's.
    genuine_id = by_run["new"].stem
    by_run["old"].write_bytes(by_run["new"].read_bytes())
    by_run["new"].unlink()
    outcome = verify_artifacts(
        VerifyRequest(
            VerifyConfig(
                policy_path=pipeline.policy_path,
                artifacts=[str(artifact)],
                store=str(pipeline.store),
            )
        )
    )
    assert outcome.verdict.allowed
    logged = json.loads((pipeline.store / "log" / "decisions.jsonl").read_text())
    assert genuine_id in logged["attestations"]
    assert by_run["old"].stem not in logged["attestations"]
