"""GitHub: the pull-request event, the REST API client, and ``gatekeeper pr-check``.

Usage::

    from gatekeeper.github import PrCheckConfig, run_pr_check
    result = run_pr_check(PrCheckConfig(repo=Path("."), policy=policy, environ=os.environ))

The REST client (``GitHubClient``, ``GitHubApiError``) is imported on first use: it needs
``requests``, which a pull request without a token never loads.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.github.event import PullRequestEvent, event_from_environment, load_event
from gatekeeper.github.prcheck import (
    PrCheckConfig,
    PrCheckResult,
    annotations_for,
    report_to_github,
    reviews_option,
    run_pr_check,
)

__all__ = [
    "GitHubApiError",
    "GitHubClient",
    "PrCheckConfig",
    "PrCheckResult",
    "PullRequestEvent",
    "annotations_for",
    "event_from_environment",
    "load_event",
    "report_to_github",
    "reviews_option",
    "run_pr_check",
]


def __getattr__(name: str) -> Any:
    if name in ("GitHubApiError", "GitHubClient"):
        from gatekeeper.github import api

        return getattr(api, name)
    raise AttributeError(name)
