"""The decision log of a directory store: every verify appends a hash-chained entry;
`log verify` names the first edited, removed, reordered or inserted entry."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.models.decision import (
    GENESIS,
    DecisionEntry,
    entry_line,
    line_digest,
    split_lines,
)
from gatekeeper.store.filesystem import FilesystemStore
from gatekeeper.verify import verify_lines

ROOT = Path(__file__).resolve().parents[2]


def _verify(pipeline: Any, artifact: Path | str, *extra: str) -> int:
    return main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--format",
            "json",
            *extra,
            str(artifact),
        ]
    )


def _log(pipeline: Any) -> Path:
    return Path(pipeline.store) / "log" / "decisions.jsonl"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def logged(pipeline: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """A pipeline whose store log holds four decisions: pass, block, pass, block."""
    artifact = pipeline.run_all(run_id="run-1")
    other = artifact.parent / "other.bin"
    other.write_text("never attested")
    for target in (artifact, other, artifact, other):
        _verify(pipeline, target)
    capsys.readouterr()
    return pipeline


def test_every_verify_appends_a_chained_entry(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all(run_id="run-1")
    assert _verify(pipeline, artifact) == 0
    err = capsys.readouterr().err
    assert "decision 0 logged" in err and "log head sha256:" in err
    other = artifact.parent / "other.bin"
    other.write_text("never attested")
    assert _verify(pipeline, other) == 1
    lines = _lines(_log(pipeline))
    assert len(lines) == 2
    first, second = (DecisionEntry.model_validate_json(line) for line in lines)
    assert (first.seq, first.prev, first.verdict) == (0, GENESIS, "pass")
    assert (second.seq, second.prev, second.verdict) == (1, line_digest(lines[0]), "block")
    policy_digest = "sha256:" + hashlib.sha256(pipeline.policy_path.read_bytes()).hexdigest()
    assert first.policy_digest == second.policy_digest == policy_digest
    assert first.policy == "release"
    assert first.subjects[0].name == str(artifact)
    assert first.subjects[0].digest == "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert len(first.attestations) == 3  # source, build, release
    assert first.reasons == []
    assert "verify/subject-mismatch" in {r.code for r in second.reasons}
    assert second.attestations == []
    # Lines are canonical JSON: what is hashed is exactly what is stored.
    assert entry_line(first) == lines[0]


def test_log_show_piped_into_log_verify(logged: Any) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    show = [sys.executable, "-m", "gatekeeper", "log", "show", "--store", str(logged.store)]
    check = [sys.executable, "-m", "gatekeeper", "log", "verify"]  # a pipe: read, no "-"
    with subprocess.Popen(show, stdout=subprocess.PIPE, env=env, cwd=ROOT) as producer:
        result = subprocess.run(
            check,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
    assert producer.returncode == 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert "decision log OK (standard input): 4 entries, head sha256:" in result.stdout


def test_log_show_text_and_log_verify_of_the_store(
    logged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Standard input that is not a pipe or a file (a terminal, /dev/null) is not read.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "GATEKEEPER_STORE": str(logged.store)}
    plain = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "log", "verify"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=logged.root,
        check=False,
    )
    assert plain.returncode == 0
    assert "decision log OK (the store's decision log): 4 entries" in plain.stdout
    assert main(["log", "show", "--store", str(logged.store), "--format", "text"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4
    assert "pass" in out[0] and "release" in out[0]
    assert "block" in out[1] and "verify/subject-mismatch" in out[1]
    assert main(["log", "verify", "--store", str(logged.store)]) == 0
    assert "4 entries" in capsys.readouterr().out


def _check(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["log", "verify", str(path), *extra])
    return code, capsys.readouterr().out


def test_an_edited_entry_is_named(logged: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(logged)
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"verdict":"block"', b'"verdict":"pass"')
    _write(path, lines)
    code, out = _check(path, capsys)
    assert code == 1
    assert "at entry 3: entry 2 names previous entry" in out


def test_an_edited_entry_with_its_hash_recomputed_downstream_still_breaks(
    logged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(logged)
    lines = _lines(path)
    doc = json.loads(lines[1])
    doc["reasons"] = []
    doc["verdict"] = "pass"
    lines[1] = entry_line(DecisionEntry.model_validate(doc))  # canonical, so it parses clean
    _write(path, lines)
    code, out = _check(path, capsys)
    assert code == 1 and "at entry 3:" in out


def test_a_removed_entry_is_named(logged: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(logged)
    lines = _lines(path)
    del lines[1]
    _write(path, lines)
    code, out = _check(path, capsys)
    assert code == 1
    assert "at entry 2: entry has sequence number 2 at position 1: an entry was removed" in out


def test_reordered_entries_are_named(logged: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(logged)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    _write(path, lines)
    code, out = _check(path, capsys)
    assert code == 1 and "at entry 2:" in out
    assert "entries were reordered (entry 1 comes later)" in out


def test_an_inserted_entry_is_named(logged: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(logged)
    lines = _lines(path)
    forged = DecisionEntry.model_validate_json(lines[0]).model_copy(
        update={"seq": 2, "prev": line_digest(lines[1])}
    )
    lines.insert(2, entry_line(forged))
    _write(path, lines)
    code, out = _check(path, capsys)
    assert code == 1 and "at entry 4:" in out


def test_a_torn_last_line_and_garbage_are_named(
    logged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(logged)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    code, out = _check(path, capsys)
    assert code == 1 and "at entry 4: the line is cut short" in out
    path.write_bytes(data.replace(b'"seq":1', b'"seq":"one"'))
    code, out = _check(path, capsys)
    assert code == 1 and "at entry 2: not a decision-log entry" in out


def test_the_last_entry_needs_a_recorded_head(
    logged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(logged)
    lines = _lines(path)
    head = line_digest(lines[-1])
    assert _check(path, capsys, "--head", head)[0] == 0
    # Dropping (or rewriting) the newest entry leaves a valid chain: only the head shows it.
    _write(path, lines[:-1])
    assert _check(path, capsys)[0] == 0
    code, out = _check(path, capsys, "--head", head)
    assert code == 1 and "expected head" in out
    assert main(["log", "verify", str(path), "--head", "abc"]) == 2


def test_an_empty_or_missing_log_verifies_only_when_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "nothing-here")
    assert main(["log", "verify", "--store", store]) == 1
    assert "EMPTY" in capsys.readouterr().out
    assert main(["log", "verify", "--store", store, "--allow-empty"]) == 0
    assert "0 entries" in capsys.readouterr().out
    assert verify_lines([]).ok


def test_an_empty_stream_is_not_a_verified_log(tmp_path: Path) -> None:
    # `log show | log verify` where `log show` printed nothing (a wrong --store, say).
    def piped(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gatekeeper", "log", "verify", *extra],
            input="",
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    empty = piped()
    assert empty.returncode == 1, empty.stdout
    assert "decision log EMPTY (standard input)" in empty.stdout
    assert piped("--allow-empty").returncode == 0


def test_no_log_writes_nothing(pipeline: Any) -> None:
    artifact = pipeline.run_all(run_id="run-1")
    assert _verify(pipeline, artifact, "--no-log") == 0
    assert not _log(pipeline).exists()


def test_a_log_that_cannot_be_written_fails_the_verify(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all(run_id="run-1")
    (Path(pipeline.store) / "log").write_text("a file where the log directory should be")
    assert _verify(pipeline, artifact) == 3
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["verdict"] == "block"  # the report must not say pass either
    assert report["reasons"][-1]["code"] == "verify/internal-error"
    assert "the decision could not be logged" in captured.err


def test_a_damaged_tail_is_not_appended_to(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.run_all(run_id="run-1")
    assert _verify(pipeline, artifact) == 0
    path = _log(pipeline)
    path.write_bytes(path.read_bytes()[:-1])  # lose the final newline: a torn write
    assert _verify(pipeline, artifact) == 3
    assert "partial line" in capsys.readouterr().err
    assert len(split_lines(path.read_bytes())) == 1


_APPENDER = r"""
import sys
from datetime import UTC, datetime
from pathlib import Path
from gatekeeper.models.decision import LoggedSubject
from gatekeeper.store import Decision
from gatekeeper.store.filesystem import FilesystemStore
log = FilesystemStore(Path(sys.argv[1]).parent.parent).decision_log()
for i in range(int(sys.argv[2])):
    log.append(Decision(time=datetime.now(UTC), verdict="pass", policy="p", policy_digest=None,
                        subjects=[LoggedSubject(name=f"{sys.argv[3]}-{i}",
                                                digest="sha256:" + "a" * 64)],
                        reasons=[], attestations=[], store="s"))
"""


def test_concurrent_appenders_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "store" / "log" / "decisions.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, str(path), "15", f"p{n}"], cwd=ROOT)
        for n in range(8)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    lines = FilesystemStore(path.parent.parent).decision_log().lines()
    assert len(lines) == 120
    report = verify_lines(lines)
    assert report.ok, report.problems
    names = {DecisionEntry.model_validate_json(line).subjects[0].name for line in lines}
    assert len(names) == 120


def test_concurrent_verify_commands_lose_no_entry(pipeline: Any) -> None:
    artifact = pipeline.run_all(run_id="run-1")
    cmd = [
        sys.executable,
        "-m",
        "gatekeeper",
        "verify",
        "--policy",
        str(pipeline.policy_path),
        "--store",
        str(pipeline.store),
        "--format",
        "json",
        str(artifact),
    ]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    lines = _lines(_log(pipeline))
    assert len(lines) == 4
    assert verify_lines(lines).ok


def test_log_show_text_cannot_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The log is read back from the store: a policy or subject name in it must not print
    # escape sequences or extra lines.
    from datetime import UTC, datetime

    from gatekeeper.models.decision import LoggedSubject
    from gatekeeper.store import Decision

    store = tmp_path / "store"
    FilesystemStore(store).decision_log().append(
        Decision(
            time=datetime(2026, 1, 1, tzinfo=UTC),
            verdict="block",
            policy="release\x1b[2J\n     1  pass",
            policy_digest=None,
            subjects=[LoggedSubject(name="app\rX", digest="sha256:" + "a" * 64)],
            reasons=[],
            attestations=[],
            store=str(store),
        )
    )
    assert main(["log", "show", "--store", str(store), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert len(out.splitlines()) == 1 and "release [2J      1  pass  app X" in out
