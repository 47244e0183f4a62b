"""Glue for the places gatekeeper runs: the GitHub Action's step (``github_action``).

Usage (what ``action.yml`` runs, inputs in ``GATEKEEPER_*`` variables)::

    GATEKEEPER_COMMAND=check python -m gatekeeper.integrations.github_action
"""

from __future__ import annotations
