"""The progress line: on a TTY only, only for long work, erased at the end, stderr only."""

from __future__ import annotations

import io
import threading

import pytest

from gatekeeper.attest._progress import Progress, enabled, in_chunks, track


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_not_a_tty_prints_nothing() -> None:
    stream = io.StringIO()
    clock = Clock()
    with Progress("hashing", 10, stream=stream, clock=clock) as progress:
        clock.now = 5.0
        for _ in range(10):
            progress.advance()
    assert stream.getvalue() == ""
    assert progress.done == 10


def test_short_work_prints_nothing_on_a_tty() -> None:
    stream = FakeTTY()
    clock = Clock()
    with Progress("hashing", 3, stream=stream, clock=clock, delay=0.5) as progress:
        clock.now = 0.2
        progress.advance(3)
    assert stream.getvalue() == ""


def test_long_work_draws_and_erases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKEEPER_NO_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTTY()
    clock = Clock()
    with Progress("hashing", 4, stream=stream, clock=clock, delay=0.5, interval=0.1) as p:
        clock.now = 1.0
        p.advance()
        clock.now = 1.05
        p.advance()  # within the interval: not redrawn
        clock.now = 1.2
        p.advance(2)
    out = stream.getvalue()
    assert out.count("hashing [") == 2
    assert "1/4  25%" in out and "4/4 100%" in out
    assert out.endswith("\r\033[2K")  # erased: the next line starts clean


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKEEPER_NO_PROGRESS", "1")
    assert not enabled(FakeTTY())
    monkeypatch.delenv("GATEKEEPER_NO_PROGRESS")
    monkeypatch.setenv("TERM", "dumb")
    assert not enabled(FakeTTY())


def test_thread_safe_count_and_track(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    progress = Progress("x", 4000, stream=FakeTTY(), delay=0.0, interval=0.0)
    threads = [
        threading.Thread(target=lambda: [progress.advance() for _ in range(1000)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    progress.close()
    assert progress.done == 4000
    stream = FakeTTY()
    assert list(track(range(5), "items", 5, stream=stream, delay=0.0)) == [0, 1, 2, 3, 4]
    assert stream.getvalue().endswith("\r\033[2K")


def test_in_chunks_keeps_order_and_only_chunks_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    calls: list[int] = []

    def work(items: list[str], sizes: list[int]) -> list[str]:
        calls.append(len(items))
        return [f"{i}:{s}" for i, s in zip(items, sizes, strict=True)]

    items = [str(i) for i in range(10)]
    sizes = list(range(10))
    expected = [f"{i}:{i}" for i in range(10)]
    assert in_chunks(work, items, sizes, "h", chunk=3, stream=io.StringIO()) == expected
    assert calls == [10]  # not a terminal: one call
    calls.clear()
    tty = FakeTTY()
    assert in_chunks(work, items, sizes, "h", chunk=3, stream=tty) == expected
    assert calls == [3, 3, 3, 1]
    assert tty.getvalue() in ("", "\r\033[2K") or tty.getvalue().endswith("\r\033[2K")
