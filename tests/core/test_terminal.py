"""gatekeeper on a real terminal and in a pipe.

On a terminal (a tmux pane when tmux is installed, and a pseudo-terminal from Python's pty
module in any case) the text report is coloured and a progress line is drawn on standard
error, then erased; in a pipe the same run prints plain text with no escape sequence and no
progress line, as a CI log must show it.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from tests.conftest import commit_files

WORKFLOW = (
    "on: issues\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
    "      - run: echo ${{ github.event.issue.title }}\n"
)
COMMAND = [sys.executable, "-m", "gatekeeper", "check", "--only", "pipeline", "--only", "secrets"]
RED = b"\x1b[31m"  # a high finding
PROGRESS = b"\r\x1b[2Kgatekeeper [1/3] collecting pipeline"


@pytest.fixture
def repo(git_repo: git.Repo) -> Iterator[Path]:
    commit_files(git_repo, {".github/workflows/ci.yml": WORKFLOW}, "workflow")
    yield Path(str(git_repo.working_tree_dir))
    git_repo.close()


def _environment(term: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEKEEPER_", "GITHUB_")) and k not in ("NO_COLOR", "FORCE_COLOR")
    }
    env["TERM"] = term
    return env


def _check_terminal_output(raw: bytes) -> None:
    assert RED in raw, raw[-2000:]
    assert PROGRESS in raw, raw[-2000:]
    assert b"gatekeeper [3/3] auditing" in raw
    assert b"BLOCK" in raw and b"pipeline/template-injection" in raw
    # The progress line is erased before the report is printed.
    assert raw.rindex(b"\r\x1b[2K") < raw.index(b"pipeline/template-injection")


def test_a_pipe_gets_plain_text_and_no_progress(repo: Path) -> None:
    result = subprocess.run(
        COMMAND, cwd=repo, env=_environment("xterm-256color"), capture_output=True, check=False
    )
    assert result.returncode == 1
    assert b"\x1b" not in result.stdout + result.stderr
    assert b"\r" not in result.stdout + result.stderr
    assert result.stderr == b""
    assert b"x high     pipeline/template-injection" in result.stdout


def test_a_pseudo_terminal_gets_colour_and_progress(repo: Path) -> None:
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            COMMAND,
            cwd=repo,
            env=_environment("xterm-256color"),
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == 1
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    _check_terminal_output(b"".join(chunks))


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_tmux_pane_gets_colour_and_progress(repo: Path, tmp_path: Path) -> None:
    socket = f"gk-test-{uuid.uuid4().hex[:8]}"
    raw_log = tmp_path / "pane.raw"
    go = tmp_path / "go"
    script = tmp_path / "run.sh"
    # The command waits for `go`, so that the pane is piped to a file before it prints.
    exit_file = tmp_path / "exit"
    # NOTE: the shell writes the exit code itself: tmux 3.3 may mark a pane dead without
    # ever learning its process's exit status.
    script.write_text(
        f"while [ ! -e {go} ]; do sleep 0.05; done\ncd {repo} && {' '.join(COMMAND)}\n"
        f"echo $? > {exit_file}.tmp && mv {exit_file}.tmp {exit_file}\n"
    )
    env = _environment("xterm-256color")
    subprocess.run(
        [
            "tmux",
            "-L",
            socket,
            "-f",
            os.devnull,
            "new-session",
            "-d",
            "-s",
            "gk",
            "-x",
            "160",
            "-y",
            "50",
            f"sh {script}",
        ],
        env=env,
        check=True,
        timeout=30,
    )
    try:
        _tmux(socket, "set-option", "-t", "gk", "remain-on-exit", "on")
        _tmux(socket, "pipe-pane", "-t", "gk", "-o", f"cat >> {raw_log}")
        go.touch()
        deadline = time.monotonic() + 120
        while not exit_file.exists():
            assert time.monotonic() < deadline, "gatekeeper did not finish in the tmux pane"
            time.sleep(0.1)
        status = exit_file.read_text().strip()
        # The shell exits next; a dead pane has read everything its terminal printed.
        while _tmux(socket, "display-message", "-p", "-t", "gk", "#{pane_dead}").strip() != "1":
            assert time.monotonic() < deadline, "the shell did not exit in the tmux pane"
            time.sleep(0.05)
        screen = _tmux(socket, "capture-pane", "-p", "-t", "gk")
        coloured = _tmux(socket, "capture-pane", "-p", "-e", "-t", "gk")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, timeout=30)
    assert status == "1", (status, screen)  # blocked
    _check_terminal_output(raw_log.read_bytes())
    # What stays on the screen: the coloured report, no leftover progress line.
    assert "BLOCK: 1 finding(s) at or above high" in screen
    assert "collecting" not in screen and "gatekeeper [" not in screen
    assert "\x1b[31m" in coloured
