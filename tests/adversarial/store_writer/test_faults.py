"""Faults: SIGKILL mid-attest, concurrent writers, a full disk, a read-only store.

The store must stay valid (every envelope whole or absent, orphan index markers ignored), an
attestation that was reported stored must be there, and every failure must be a clear error
with a non-zero exit, after bounded retries, never a hang.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import _fileio
from gatekeeper.attest.dsse import verify_envelope_signatures
from gatekeeper.attest.keys import load_public_key
from gatekeeper.attest.statement import parse_attestation
from gatekeeper.cli import main
from gatekeeper.models.envelope import Envelope
from gatekeeper.store.filesystem import FilesystemStore
from tests.harness import Pipeline

KILLS_REQUIRED = 200


def assert_store_valid(store: Path, pub: Path) -> dict[str, int]:
    """Every envelope whole and correctly signed; debris and orphan markers only ignorable."""
    key = load_public_key(pub)
    stats = {"envelopes": 0, "temp_files": 0, "orphan_markers": 0}
    env_dir = store / "envelopes"
    ids = set()
    for path in sorted(env_dir.iterdir()) if env_dir.exists() else []:
        if path.name.startswith(".tmp-"):
            stats["temp_files"] += 1
            continue
        data = path.read_bytes()
        assert path.name == hashlib.sha256(data).hexdigest() + ".json", f"torn envelope {path}"
        envelope = Envelope.model_validate_json(data)
        payload, checks = verify_envelope_signatures(envelope, {"ci": key})
        assert checks and all(c.verified_by == ("ci",) for c in checks)
        parse_attestation(envelope.payload_type, payload, None)
        ids.add(path.name.removesuffix(".json"))
        stats["envelopes"] += 1
    index = store / "index"
    for marker in sorted(index.rglob("*")) if index.exists() else []:
        if marker.is_file() and not marker.name.startswith(".tmp-"):
            assert marker.stat().st_size == 0
            # index/stage/<stage>/<id> or index/subject/<shard>/<subject>--<id>
            if marker.name.rpartition("--")[2] not in ids:
                stats["orphan_markers"] += 1
    fs = FilesystemStore(store)
    listed = fs.all()
    assert {s.id for s in listed} == ids
    for stage_dir in sorted((index / "stage").iterdir()) if (index / "stage").exists() else []:
        for stored in fs.by_stage(stage_dir.name):
            assert stored.id in ids  # orphan markers are never returned
    for path in sorted(Path(pub).parent.parent.glob("repo/bulk/*"))[:5]:
        digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        for stored in fs.by_subject(digest):
            assert stored.id in ids
    return stats


def _run_ids(store: Path) -> set[str]:
    out = set()
    for stored in FilesystemStore(store).all():
        env = Envelope.model_validate_json(stored.data)
        import base64

        payload = json.loads(base64.b64decode(env.payload))
        out.add(payload["predicate"]["run"]["run_id"])
    return out


def _attest_argv(pipeline: Pipeline, run_id: str, stage: str) -> list[str]:
    return [
        "attest",
        "--stage",
        stage,
        "--key",
        pipeline.key("ci"),
        "--repo",
        str(pipeline.repo_path),
        "--store",
        str(pipeline.store),
        "--run-id",
        run_id,
        "--material",
        "src/**",
        "--product",
        "bulk/**",
    ]


def _fork_attest(argv: list[str]) -> int:
    """A real child process (fork of this already-imported interpreter) running attest."""
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 70
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            code = main(argv)
        finally:
            os._exit(code)
    return pid


def test_sigkill_at_random_points_never_tears_the_store(pipeline: Pipeline) -> None:
    bulk = pipeline.repo_path / "bulk"
    bulk.mkdir()
    for i in range(60):
        (bulk / f"f{i:03}.bin").write_bytes(os.urandom(2048))
    # Warm up in-process (imports, caches) and measure one attest.
    started = time.monotonic()
    assert main(_attest_argv(pipeline, "warm", "s0")) == 0
    duration = time.monotonic() - started
    window = max(0.150, 1.3 * duration)
    rng = random.Random(8)  # noqa: S311 - test timing, not crypto
    parallel = 6
    kills = completed = attempts = 0
    succeeded: list[str] = []
    active: dict[int, tuple[float, str]] = {}
    deadline = time.monotonic() + 90
    while kills < KILLS_REQUIRED and time.monotonic() < deadline:
        while len(active) < parallel:
            run_id = f"r{attempts}"
            pid = _fork_attest(_attest_argv(pipeline, run_id, f"s{attempts % 3}"))
            active[pid] = (time.monotonic() + rng.uniform(0, window), run_id)
            attempts += 1
        time.sleep(0.002)
        now = time.monotonic()
        for pid, (kill_at, run_id) in list(active.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del active[pid]
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                    kills += 1
                else:
                    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
                    completed += 1
                    succeeded.append(run_id)
            elif now >= kill_at:
                os.kill(pid, signal.SIGKILL)
    for pid in active:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
    assert kills >= KILLS_REQUIRED, f"only {kills} kills in {attempts} attempts"
    stats = assert_store_valid(pipeline.store, Path(pipeline.key("ci") + ".pub"))
    # Nothing that reported success was lost.
    assert set(succeeded) | {"warm"} <= _run_ids(pipeline.store)
    # The store is still usable: a full chain written into it verifies.
    artifact = pipeline.run_all(run_id="after-kills")
    assert pipeline.verify(artifact).allowed
    print(
        f"\nSIGKILL: {kills} kills survived, {completed} attests completed, {attempts} started, "
        f"store: {stats}"
    )


def test_sixteen_concurrent_attests_of_one_stage_and_subject(pipeline: Pipeline) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    pipeline.build_artifact()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gatekeeper",
                "attest",
                "--stage",
                "build",
                "--key",
                pipeline.key("ci"),
                "--product",
                "dist/*",
                "--store",
                str(pipeline.store),
                "--run-id",
                f"run-{i}",
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
    assert _run_ids(pipeline.store) == {f"run-{i}" for i in range(16)}
    assert len(FilesystemStore(pipeline.store).by_stage("build")) == 16
    [subject_dir] = (pipeline.store / "index" / "subject").iterdir()
    assert len(list(subject_dir.iterdir())) == 16
    assert assert_store_valid(pipeline.store, Path(pipeline.key("ci") + ".pub"))["temp_files"] == 0


# -- full disk --------------------------------------------------------------------------------


@contextlib.contextmanager
def _mounted(kind: str, target: Path) -> Iterator[bool]:
    """Mount a tiny tmpfs or a read-only bind on ``target``; False when mounting is refused."""
    target.mkdir(parents=True, exist_ok=True)
    if kind == "tmpfs":
        cmds = [["mount", "-t", "tmpfs", "-o", "size=48k,nr_inodes=64", "tmpfs", str(target)]]
    else:
        cmds = [
            ["mount", "--bind", str(target), str(target)],
            ["mount", "-o", "remount,ro,bind", str(target)],
        ]
    ok = True
    for cmd in cmds:
        mounted = subprocess.run(cmd, capture_output=True, check=False, timeout=30)
        if mounted.returncode != 0:
            ok = False
            break
    try:
        yield ok
    finally:
        subprocess.run(["umount", str(target)], capture_output=True, check=False, timeout=30)


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_full_disk_is_a_clear_error(
    pipeline: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = tmp_path / "tiny"
    with _mounted("tmpfs", store) as mounted:
        if mounted:
            (store / "filler").write_bytes(b"\0" * 40_000)
            with contextlib.suppress(OSError), open(store / "filler2", "wb") as handle:
                handle.write(b"\0" * 65536)
            result = _cli(
                [
                    "attest",
                    "--stage",
                    "source",
                    "--key",
                    pipeline.key("ci"),
                    "--store",
                    str(store),
                    "--product",
                    "src/**",
                ],
                pipeline.repo_path,
            )
            assert result.returncode == 2, result.stderr
            assert "cannot write to the store" in result.stderr
            assert "No space left on device" in result.stderr
            assert "Traceback" not in result.stderr
            envelopes = store / "envelopes"
            leftovers = list(envelopes.iterdir()) if envelopes.exists() else []
            assert leftovers == []  # no partial envelope, no temp file
    # The same path in-process with fsync failing (any filesystem, no mount needed).
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_fileio.os, "fsync", full)
    code = main(
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
            "--product",
            "src/**",
        ]
    )
    monkeypatch.setattr(_fileio.os, "fsync", real_fsync)
    assert code == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list((pipeline.store / "envelopes").iterdir()) == []


def test_read_only_store_is_a_clear_error(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all(run_id="r")
    before = sorted(p.name for p in (pipeline.store / "envelopes").iterdir())
    with _mounted("ro", pipeline.store) as mounted:
        if mounted:
            result = _cli(
                [
                    "attest",
                    "--stage",
                    "source",
                    "--key",
                    pipeline.key("ci"),
                    "--store",
                    str(pipeline.store),
                    "--product",
                    "src/**",
                    "--run-id",
                    "new",
                ],
                pipeline.repo_path,
            )
            assert result.returncode == 2, result.stderr
            assert "cannot write to the store" in result.stderr
            assert "Read-only file system" in result.stderr
            # verify can read, but a decision that cannot be logged is not a pass.
            result = _cli(
                [
                    "verify",
                    "--policy",
                    str(pipeline.policy_path),
                    "--store",
                    str(pipeline.store),
                    str(artifact),
                ],
                pipeline.repo_path,
            )
            assert result.returncode != 0
            assert "could not be logged" in result.stderr
            result = _cli(
                [
                    "verify",
                    "--no-log",
                    "--policy",
                    str(pipeline.policy_path),
                    "--store",
                    str(pipeline.store),
                    str(artifact),
                ],
                pipeline.repo_path,
            )
            assert result.returncode == 0, result.stdout + result.stderr
        else:

            def read_only(*args: Any, **kwargs: Any) -> Any:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))

            monkeypatch.setattr(_fileio.tempfile, "mkstemp", read_only)
            code = main(
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
                    "--product",
                    "src/**",
                    "--run-id",
                    "new",
                ]
            )
            assert code == 2
            assert "Read-only file system" in capsys.readouterr().err
    assert sorted(p.name for p in (pipeline.store / "envelopes").iterdir()) == before
