"""The CI platform and run identity: GitHub Actions, Jenkins, GitLab CI, or local."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import ClassVar

from gatekeeper.collect.base import CollectContext
from gatekeeper.models.statement import CIEnvironment


class _Env:
    """The CI platform's variables, read stripped; unset and blank are the same (None)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, *names: str) -> str | None:
        """The first of ``names`` that has a value, with any credential in it redacted."""
        for name in names:
            value = self.environ.get(name, "").strip()
            if value:
                # SECURITY: a Jenkins GIT_URL can carry `user:token@`; these facts are signed
                # into every attestation. (Imported here: outside CI no value is read, and
                # the detectors are not loaded.)
                from gatekeeper.secrets.redaction import redact_text

                return redact_text(value)
        return None

    def is_true(self, name: str) -> bool:
        """The variable is exactly ``true`` (as the platforms that set these flags write it)."""
        return self.environ.get(name) == "true"


def _is_github(env: _Env) -> bool:
    return env.is_true("GITHUB_ACTIONS")


def _github(env: _Env) -> CIEnvironment:
    run_id, run_url = _github_run(env)
    ref = env.get("GITHUB_REF")
    runner = (env.get(name) for name in ("RUNNER_ENVIRONMENT", "RUNNER_OS", "RUNNER_NAME"))
    return CIEnvironment(
        platform="github-actions",
        run_id=run_id,
        run_url=run_url,
        job=env.get("GITHUB_JOB"),
        workflow=env.get("GITHUB_WORKFLOW_REF", "GITHUB_WORKFLOW"),
        repository=env.get("GITHUB_REPOSITORY"),
        ref=ref,
        commit=env.get("GITHUB_SHA"),
        runner=" ".join(x for x in runner if x) or None,
        actor=env.get("GITHUB_ACTOR"),
        event=env.get("GITHUB_EVENT_NAME"),
        pull_request=ref.split("/")[2] if ref and ref.startswith("refs/pull/") else None,
        target_branch=env.get("GITHUB_BASE_REF"),
    )


def _github_run(env: _Env) -> tuple[str | None, str | None]:
    """The run id (with its attempt, when known) and the run's URL."""
    repo, run_id = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    run_url = f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None
    return (f"{run_id}-{attempt}" if run_id and attempt else run_id), run_url


def _is_jenkins(env: _Env) -> bool:
    return bool(
        env.get("JENKINS_URL", "JENKINS_HOME") or (env.get("BUILD_URL") and env.get("JOB_NAME"))
    )


def _jenkins(env: _Env) -> CIEnvironment:
    job, number = env.get("JOB_NAME"), env.get("BUILD_NUMBER")
    return CIEnvironment(
        platform="jenkins",
        run_id=f"{job}#{number}" if job and number else env.get("BUILD_TAG"),
        run_url=env.get("BUILD_URL"),
        job=job,
        workflow=env.get("JOB_NAME"),
        repository=env.get("GIT_URL"),
        ref=env.get("GIT_BRANCH", "BRANCH_NAME"),
        commit=env.get("GIT_COMMIT"),
        previous_commit=env.get("GIT_PREVIOUS_SUCCESSFUL_COMMIT", "GIT_PREVIOUS_COMMIT"),
        runner=env.get("NODE_NAME"),
        actor=env.get("BUILD_USER_ID", "CHANGE_AUTHOR"),
        event="pull_request" if env.get("CHANGE_ID") else None,
        pull_request=env.get("CHANGE_ID"),
        target_branch=env.get("CHANGE_TARGET"),
    )


def _is_gitlab(env: _Env) -> bool:
    return env.is_true("GITLAB_CI")


def _gitlab(env: _Env) -> CIEnvironment:
    return CIEnvironment(
        platform="gitlab-ci",
        run_id=env.get("CI_PIPELINE_ID"),
        run_url=env.get("CI_PIPELINE_URL"),
        job=env.get("CI_JOB_NAME"),
        workflow=env.get("CI_CONFIG_PATH"),
        repository=env.get("CI_PROJECT_PATH"),
        ref=env.get("CI_COMMIT_REF_NAME"),
        commit=env.get("CI_COMMIT_SHA"),
        previous_commit=env.get("CI_COMMIT_BEFORE_SHA"),
        runner=env.get("CI_RUNNER_DESCRIPTION", "CI_RUNNER_ID"),
        actor=env.get("GITLAB_USER_LOGIN"),
        event=env.get("CI_PIPELINE_SOURCE"),
        pull_request=env.get("CI_MERGE_REQUEST_IID"),
        target_branch=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
    )


# The CI systems gatekeeper knows, in the order they are recognised: how to tell it runs
# there, and how to read its run identity. A new CI system is one entry (and a ``platform``
# value in ``CIEnvironment``).
_CI_SYSTEMS: tuple[tuple[Callable[[_Env], bool], Callable[[_Env], CIEnvironment]], ...] = (
    (_is_github, _github),
    (_is_jenkins, _jenkins),
    (_is_gitlab, _gitlab),
)


def detect_ci(environ: Mapping[str, str] | None = None) -> CIEnvironment:
    """Read the CI platform's own variables; nothing here is trusted for verification."""
    env = _Env(os.environ if environ is None else environ)
    for runs_here, read in _CI_SYSTEMS:
        if runs_here(env):
            return read(env)
    return CIEnvironment(platform="local")


class EnvCollector:
    kind: ClassVar[str] = "env"

    def collect(self, ctx: CollectContext) -> CIEnvironment:
        return detect_ci(ctx.options.environ)
