"""Concurrent `attest` processes writing to one store lose nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness import Pipeline


def test_sixteen_concurrent_attests_all_land(pipeline: Pipeline) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gatekeeper",
                "attest",
                "--stage",
                f"job{i}",
                "--key",
                pipeline.key("ci"),
                "--product",
                "src/**",
                "--store",
                str(pipeline.store),
            ],
            cwd=pipeline.repo_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(16)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    envelopes = list((pipeline.store / "envelopes").iterdir())
    assert len(envelopes) == 16
    for path in envelopes:
        json.loads(path.read_text())  # every envelope whole
    stages = sorted(os.listdir(pipeline.store / "index" / "stage"))
    assert stages == sorted(f"job{i}" for i in range(16))
    assert not [p for p in envelopes if p.name.startswith(".tmp-")]


def test_store_finds_envelopes_by_subject_and_stage(pipeline: Pipeline) -> None:
    from gatekeeper.store import open_store

    result = pipeline.attest("source", products=["src/**"])
    store = open_store(str(pipeline.store))
    for product in result.predicate.products:
        found = store.by_subject(f"sha256:{product.digest['sha256']}")
        assert [e.id for e in found] == [result.envelope_id]
    assert store.by_subject("sha256:" + "0" * 64) == []
    assert [e.id for e in store.by_stage("source")] == [result.envelope_id]
    assert store.by_stage("nope") == []


def test_store_finds_envelopes_with_many_subjects(pipeline: Pipeline) -> None:
    from gatekeeper.store import open_store

    many = pipeline.repo_path / "many"
    many.mkdir()
    for i in range(300):
        (many / f"f{i}").write_text(str(i))
    result = pipeline.attest("source", products=["many/*"])
    small = pipeline.attest("other", products=["src/**"])
    store = open_store(str(pipeline.store))
    assert (pipeline.store / "index" / "subject-lists" / result.envelope_id).is_file()
    for product in result.predicate.products[::37]:
        found = [e.id for e in store.by_subject(f"sha256:{product.digest['sha256']}")]
        assert found == [result.envelope_id]
    app = small.predicate.products[0].digest["sha256"]
    assert [e.id for e in store.by_subject(f"sha256:{app}")] == [small.envelope_id]
