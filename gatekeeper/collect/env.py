"""The CI platform and run identity: GitHub Actions, Jenkins, GitLab CI, or local."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from gatekeeper.collect.base import CollectContext
from gatekeeper.models.statement import CIEnvironment


def detect_ci(environ: Mapping[str, str] | None = None) -> CIEnvironment:
    """Read the CI platform's own variables; nothing here is trusted for verification."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    if env.get("GITHUB_ACTIONS") == "true":
        server = get("GITHUB_SERVER_URL") or "https://github.com"
        repo = get("GITHUB_REPOSITORY")
        run_id = get("GITHUB_RUN_ID")
        attempt = get("GITHUB_RUN_ATTEMPT")
        pr = None
        ref = get("GITHUB_REF") or ""
        if ref.startswith("refs/pull/"):
            pr = ref.split("/")[2]
        return CIEnvironment(
            platform="github-actions",
            run_id=f"{run_id}-{attempt}" if run_id and attempt else run_id,
            run_url=f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None,
            job=get("GITHUB_JOB"),
            workflow=get("GITHUB_WORKFLOW_REF") or get("GITHUB_WORKFLOW"),
            repository=repo,
            ref=get("GITHUB_REF"),
            commit=get("GITHUB_SHA"),
            runner=" ".join(
                x for x in (get("RUNNER_ENVIRONMENT"), get("RUNNER_OS"), get("RUNNER_NAME")) if x
            )
            or None,
            actor=get("GITHUB_ACTOR"),
            event=get("GITHUB_EVENT_NAME"),
            pull_request=pr,
            target_branch=get("GITHUB_BASE_REF"),
        )
    if get("JENKINS_URL") or get("JENKINS_HOME") or (get("BUILD_URL") and get("JOB_NAME")):
        job = get("JOB_NAME")
        number = get("BUILD_NUMBER")
        return CIEnvironment(
            platform="jenkins",
            run_id=f"{job}#{number}" if job and number else get("BUILD_TAG"),
            run_url=get("BUILD_URL"),
            job=job,
            workflow=get("JOB_NAME"),
            repository=get("GIT_URL"),
            ref=get("GIT_BRANCH") or get("BRANCH_NAME"),
            commit=get("GIT_COMMIT"),
            previous_commit=get("GIT_PREVIOUS_SUCCESSFUL_COMMIT") or get("GIT_PREVIOUS_COMMIT"),
            runner=get("NODE_NAME"),
            actor=get("BUILD_USER_ID") or get("CHANGE_AUTHOR"),
            event="pull_request" if get("CHANGE_ID") else None,
            pull_request=get("CHANGE_ID"),
            target_branch=get("CHANGE_TARGET"),
        )
    if env.get("GITLAB_CI") == "true":
        return CIEnvironment(
            platform="gitlab-ci",
            run_id=get("CI_PIPELINE_ID"),
            run_url=get("CI_PIPELINE_URL"),
            job=get("CI_JOB_NAME"),
            workflow=get("CI_CONFIG_PATH"),
            repository=get("CI_PROJECT_PATH"),
            ref=get("CI_COMMIT_REF_NAME"),
            commit=get("CI_COMMIT_SHA"),
            previous_commit=get("CI_COMMIT_BEFORE_SHA"),
            runner=get("CI_RUNNER_DESCRIPTION") or get("CI_RUNNER_ID"),
            actor=get("GITLAB_USER_LOGIN"),
            event=get("CI_PIPELINE_SOURCE"),
            pull_request=get("CI_MERGE_REQUEST_IID"),
            target_branch=get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        )
    return CIEnvironment(platform="local")


class EnvCollector:
    kind: ClassVar[str] = "env"

    def collect(self, ctx: CollectContext) -> CIEnvironment:
        return detect_ci(ctx.options.environ)
