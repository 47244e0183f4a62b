"""A progress line on stderr for long work (hashing a big tree, scanning history).

Shown only when stderr is a terminal, only once the work has run for ``delay`` seconds
(short runs print nothing), redrawn at most every ``interval`` seconds, and erased when the
work ends. Never writes to stdout, so reports and JSON stay clean; CI logs (not a TTY) never
see it. ``TERM=dumb`` or ``GATEKEEPER_NO_PROGRESS=1`` turn it off.

Usage::

    with Progress("hashing", total=len(paths)) as progress:
        for path in paths:
            hash_one(path)
            progress.advance()
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
_WIDTH = 24


def enabled(stream: TextIO) -> bool:
    if os.environ.get("GATEKEEPER_NO_PROGRESS") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """Thread-safe: ``advance`` may be called from worker threads."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        delay: float = 0.5,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.active = enabled(self.stream)
        self._started = clock()
        self._last_draw: float | None = None
        self._drawn = False
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if not self.active:
                return
            now = self.clock()
            if now - self._started < self.delay:
                return
            if self._last_draw is not None and now - self._last_draw < self.interval:
                return
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            line = f"{self.label} [{bar}] {self.done}/{self.total} {fraction:4.0%}"
        else:
            line = f"{self.label}: {self.done}"
        self.stream.write(f"\r\033[2K{line}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        with self._lock:
            if self._drawn:
                self.stream.write("\r\033[2K")
                self.stream.flush()
                self._drawn = False
            self.active = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(
    items: Iterable[T], label: str, total: int | None = None, **kwargs: object
) -> Iterator[T]:
    """Yield ``items``, advancing a progress line (see ``Progress``) for each."""
    with Progress(label, total, **kwargs) as progress:  # type: ignore[arg-type]
        for item in items:
            yield item
            progress.advance()


def in_chunks(
    work: Callable[[list[str], list[int]], list[str]],
    items: list[str],
    sizes: list[int],
    label: str,
    *,
    chunk: int = 4096,
    stream: TextIO | None = None,
) -> list[str]:
    """``work(items, sizes)``, run chunk by chunk with a progress line when it is worth one.

    Only on a terminal and for more than ``chunk`` items; otherwise one plain call, so CI
    and small runs behave (and perform) exactly as without it. Results keep their order.
    """
    out_stream = stream if stream is not None else sys.stderr
    if len(items) <= chunk or not enabled(out_stream):
        return work(items, sizes)
    results: list[str] = []
    with Progress(label, len(items), stream=out_stream) as progress:
        for start in range(0, len(items), chunk):
            part = work(items[start : start + chunk], sizes[start : start + chunk])
            results.extend(part)
            progress.advance(len(part))
    return results


__all__ = ["Progress", "enabled", "in_chunks", "track"]
