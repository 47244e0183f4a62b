"""Glue for the places gatekeeper runs: the GitHub Action's step (``github_action``).

Usage (what ``action.yml`` runs, inputs in ``GATEKEEPER_INPUT_*`` variables)::

    GATEKEEPER_INPUT_COMMAND=check python -I -m gatekeeper.integrations.github_action

The names below are imported from their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.integrations.github_action import (
        ActionInputs,
        build_argv,
        fail_step,
        run,
        write_outputs,
    )

# public name -> the module that defines it
_EXPORTS = {
    "ActionInputs": "github_action",
    "build_argv": "github_action",
    "fail_step": "github_action",
    "run": "github_action",
    "write_outputs": "github_action",
}

__all__ = [
    "ActionInputs",
    "build_argv",
    "fail_step",
    "run",
    "write_outputs",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
