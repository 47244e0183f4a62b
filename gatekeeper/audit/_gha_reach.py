"""Can an outsider's event reach a job or a step? Conditions read against the event.

For one event, two descriptions of the run (``World``) are built from what GitHub documents
about its payload:

- *outsider*: an outsider causes the event (opens the pull request from a fork, comments,
  opens the issue). Their login equals no literal except a bot's (``github.actor`` is the
  last actor and can be made a bot: that is the spoofable-bot finding), their association is
  ``NONE``/``FIRST_TIME_CONTRIBUTOR``/``FIRST_TIMER``/``CONTRIBUTOR``, their fork is a fork
  whose name is not the repository's, and no maintainer has labelled anything yet.
- *maintainer*: a maintainer causes the event on the outsider's item (labels the pull
  request, comments ``/ok-to-test``, approves the run). What the maintainer does is unknown;
  what the outsider wrote is still theirs.

A condition that is false for the outsider but not for the maintainer is a *gate*: the job
runs the outsider's input only after a maintainer acts. False for both: *closed*.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

from gatekeeper.audit._gha_expr import (
    UNKNOWN,
    Base,
    Expr,
    NotAny,
    OneOf,
    Prefixed,
    Value,
    World,
    condition_tree,
    evaluate,
)

Reach = Literal["open", "gated", "closed"]
Actor = Literal["outsider", "maintainer"]

_BOT = r".*\[bot\]"
_OUTSIDER_ASSOCIATIONS = OneOf(
    frozenset({"none", "first_time_contributor", "first_timer", "contributor"})
)
_PR_EVENTS = OneOf(
    frozenset(
        {
            "pull_request",
            "pull_request_target",
            "pull_request_review",
            "pull_request_review_comment",
            "issue_comment",
            "issues",
        }
    )
)
_MERGE_REF_EVENTS = frozenset(
    {"pull_request", "pull_request_review", "pull_request_review_comment"}
)
_ACTOR_LOGINS = frozenset(
    {
        "github.actor",
        "github.triggering_actor",
        "github.event.sender.login",
        "github.event.comment.user.login",
        "github.event.review.user.login",
    }
)
_AUTHOR_LOGINS = frozenset(
    {
        "github.event.pull_request.user.login",
        "github.event.issue.user.login",
        "github.event.discussion.user.login",
        "github.event.pull_request.head.user.login",
        "github.event.pull_request.head.repo.owner.login",
        "github.event.pull_request.head.repo.full_name",
        "github.event.workflow_run.head_repository.full_name",
        "github.event.workflow_run.head_repository.owner.login",
        "github.event.workflow_run.actor.login",
    }
)
_FORKS = frozenset(
    {"github.event.pull_request.head.repo.fork", "github.event.workflow_run.head_repository.fork"}
)
_BASE = {
    "github.repository": Base("repository"),
    "github.event.repository.full_name": Base("repository"),
    "github.event.pull_request.base.repo.full_name": Base("repository"),
    "github.event.workflow_run.repository.full_name": Base("repository"),
    "github.repository_owner": Base("owner"),
    "github.event.repository.owner.login": Base("owner"),
}
_LABELS = frozenset(
    {
        "github.event.label.name",
        "github.event.pull_request.labels.*.name",
        "github.event.issue.labels.*.name",
    }
)


def _lookup(event: str, actor: Actor, path: tuple[str, ...]) -> Value:
    dotted = ".".join(path)
    if dotted == "github.event_name":
        return event
    if dotted in _ACTOR_LOGINS:
        return NotAny(_BOT) if actor == "outsider" else UNKNOWN
    if dotted in _AUTHOR_LOGINS:
        return NotAny()
    if dotted.endswith(".user.type") and path[2] in ("pull_request", "issue", "discussion"):
        return "User"
    if dotted.endswith(".author_association"):
        if path[2] in ("comment", "review", "answer") and actor == "maintainer":
            return UNKNOWN
        return _OUTSIDER_ASSOCIATIONS
    if dotted in _FORKS:
        return True
    if dotted in _BASE:
        return _BASE[dotted]
    if dotted in _LABELS:
        # SECURITY: an outsider cannot label; a label names a maintainer's decision.
        if actor == "maintainer":
            return UNKNOWN
        return [] if "*" in path else NotAny()
    if dotted == "github.event.workflow_run.event":
        return _PR_EVENTS
    if dotted == "github.ref" and event in _MERGE_REF_EVENTS:
        return Prefixed("refs/pull/")
    return UNKNOWN


@functools.lru_cache(maxsize=256)
def _world(event: str, actor: Actor) -> World:
    return World(lambda path: _lookup(event, actor, path))


@functools.lru_cache(maxsize=8192)
def _tree(condition: str) -> Expr | None:
    return condition_tree(condition)


def _holds(conditions: Iterable[str], world: World) -> bool:
    for condition in conditions:
        tree = _tree(condition)
        if tree is not None and evaluate(tree, world) is False:
            return False
    return True


def reach(conditions: tuple[str, ...], event: str) -> Reach:
    """Whether the ``if:`` conditions (job, step, callers) let ``event`` through."""
    if _holds(conditions, _world(event, "outsider")):
        return "open"
    if _holds(conditions, _world(event, "maintainer")):
        return "gated"
    return "closed"


def holds_for(conditions: tuple[str, ...], event: str, actor: Actor) -> bool | None:
    """Whether every condition can be true for ``event`` caused by ``actor``."""
    return _holds(conditions, _world(event, actor))


__all__ = ["Reach", "holds_for", "reach"]
