"""Benchmarks time gatekeeper as an installed copy runs: with its bytecode compiled.

An editable install (``pip install -e``) writes no ``.pyc`` at install time, and an
environment with ``PYTHONDONTWRITEBYTECODE`` set never writes them, so every process would
compile each module it imports (tens of milliseconds a process) while the peers' installed
packages load theirs. ``compile_gatekeeper`` compiles the package once, as ``pip install .``
does; call it before timing anything.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gatekeeper"


def compile_gatekeeper() -> None:
    """Write the package's bytecode (py_compile writes it whatever PYTHONDONTWRITEBYTECODE says)."""
    if not compileall.compile_dir(str(PACKAGE), quiet=1):
        raise SystemExit(f"cannot compile {PACKAGE}")
