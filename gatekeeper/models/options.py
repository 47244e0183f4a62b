"""What a run of the collectors and audits is told besides the repository and the policy.

One typed model for every option ``check``, ``attest --audit`` and ``pr-check`` pass to the
collectors and audits (the OSV source, the image to audit, the SSH allowed-signers file, the
pull request's reviews). Collectors and audits read attributes (``ctx.options.osv_db``);
an unknown option is an error, never ignored.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.source import ForgeVerification, PullRequestReview


class AuditOptions(GatekeeperModel):
    """Options of one collect-and-audit run (``gatekeeper.app.AuditOptions``)."""

    # deps: where vulnerabilities come from (docs/deps.md). Neither: deps/known-vulnerability
    # is not evaluated and the evidence says so (``DepsEvidence.osv`` is None).
    osv_db: Path | None = None  # an offline OSV database: a directory or zip of OSV records
    osv_api: bool = False  # query the OSV API
    osv_api_url: str | None = None  # the OSV API base URL (implies osv_api)
    osv_offline_ok: bool = False  # an unreachable API is a note, not an error
    osv_api_retries: int = Field(default=2, ge=0, le=10)
    osv_cache: Path | None = None  # where OSV indexes and API answers are cached
    osv_skip: bool = False  # match nothing and say nothing (``sbom``, which does not audit)
    # container: an image to read and audit (``oci:DIR[:TAG]`` or ``docker-archive:FILE``).
    image: str | None = None
    # source: an SSH allowed-signers file that overrides the repository's own.
    allowed_signers: Path | None = None
    # source: the pull request's reviews, as pr-check read them from the forge. None: the
    # forge was not asked (only commit trailers can record review).
    reviews: tuple[PullRequestReview, ...] | None = None
    # source: the forge's verification of the pull request's commit signatures, as pr-check
    # read it (GitHub's commit ``verification``). None: the forge was not asked.
    forge_verifications: tuple[ForgeVerification, ...] | None = None
    # env: the environment the CI facts are read from (default: the process environment).
    environ: dict[str, str] | None = None

    def for_base_tree(self) -> AuditOptions:
        """The options for re-auditing the base tree (findings marked existing on the base).

        SECURITY: ``image`` names the image being promoted, not something on the base;
        reading it again there would mark its own findings "existing" (a silent pass).
        """
        return self.model_copy(update={"image": None})
