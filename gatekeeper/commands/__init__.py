"""Subcommand handlers: each parses its arguments into a typed config, calls the service
(``gatekeeper.app``, ``gatekeeper.attest``, ``gatekeeper.verify``, ``gatekeeper.github``),
renders, and returns an exit code. No counting, filtering or policy logic lives here.

Handlers are named by ``"module:function"`` strings in ``gatekeeper.cli`` and imported only
when their command runs, so this package imports none of its modules itself: ``__all__``
names the modules (``from gatekeeper.commands import *`` loads them all).
"""

from __future__ import annotations

__all__ = [
    "args",
    "attest",
    "check",
    "keys",
    "log",
    "output",
    "pr_check",
    "sbom",
    "verify",
    "vsa",
]
