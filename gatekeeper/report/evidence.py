"""Evidence as text for people: ``gatekeeper collect KIND --format text``, one screen per kind.

Models only hold data; how a kind of evidence reads in a terminal is written here, one
renderer per kind in an explicit table. A kind without a text form (``env``) is shown as JSON
by the command.

Usage::

    from gatekeeper.report.evidence import has_text_form, render_evidence

    if has_text_form(kind):
        sys.stdout.write(render_evidence(kind, evidence))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from gatekeeper.container.user import is_root_user
from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.container import ContainerEvidence, Dockerfile, Image
from gatekeeper.models.deps import DepsEvidence
from gatekeeper.models.pipeline import PipelineEvidence, PipelineFile, Workflow
from gatekeeper.models.secrets import SecretsEvidence
from gatekeeper.models.source import SourceEvidence

M = TypeVar("M", bound=GatekeeperModel)

_MAX_PACKAGES = 15  # packages listed by name for an image; the rest are counted
_MAX_SECRET_FILES = 5  # credential-looking files listed by name for an image


def _page(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"


def _notes(notes: Iterable[str]) -> list[str]:
    return [f"note: {note}" for note in notes]


# -- source -------------------------------------------------------------------------------


def render_source(evidence: SourceEvidence) -> str:
    lines = [
        f"repository: {'git' if evidence.is_git else 'plain directory (not a git repository)'}",
        f"head: {evidence.head or '-'} (tree {evidence.head_tree or '-'})",
    ]
    if evidence.base is not None:
        lines.extend(_source_range_lines(evidence))
    lines.extend(f"symlink: {link.path} -> {link.target}" for link in evidence.symlinks)
    lines.extend(_notes(evidence.notes))
    return _page(lines)


def _source_range_lines(evidence: SourceEvidence) -> list[str]:
    lines = [
        f"base: {evidence.base} = {evidence.base_commit or '-'}; "
        f"ancestor of head: {evidence.base_is_ancestor}",
        f"commits: {len(evidence.commits)}; files changed: {len(evidence.changes)}",
    ]
    lines.extend(
        f"  {commit.sha[:12]} sig={commit.signature.status} {commit.author.email} "
        f"{commit.subject[:72]}"
        for commit in evidence.commits
    )
    return lines


# -- pipeline -----------------------------------------------------------------------------


def render_pipeline(evidence: PipelineEvidence) -> str:
    lines = [f"{len(evidence.files)} pipeline file(s)"]
    lines.extend(_pipeline_file_line(item) for item in evidence.files)
    for workflow in evidence.workflows:
        lines.extend(_workflow_lines(workflow))
    lines.extend(
        f"{jf.path}: {jf.style} Jenkinsfile, {len(jf.shell_steps)} shell step(s), "
        f"{len(jf.libraries)} library load(s), {len(jf.credentials)} credential binding(s)"
        for jf in evidence.jenkinsfiles
    )
    lines.extend(
        f"{gl.path}: GitLab CI, {len(gl.jobs)} job(s), {len(gl.includes)} include(s)"
        for gl in evidence.gitlab
    )
    lines.extend(_notes(evidence.notes))
    return _page(lines)


def _pipeline_file_line(item: PipelineFile) -> str:
    status = ""
    if item.parse_error is not None:
        where = f" line {item.parse_error.line}" if item.parse_error.line else ""
        status = f"  PARSE ERROR{where}: {item.parse_error.message}"
    return f"  {item.sha256[:12]}  {item.size:>8}  {item.kind:<15} {item.path}{status}"


def _workflow_lines(workflow: Workflow) -> list[str]:
    events = ", ".join(t.event for t in workflow.triggers) or "-"
    lines = [f"{workflow.path}: {workflow.kind}, on [{events}], {len(workflow.jobs)} job(s)"]
    for job in workflow.jobs:
        steps = f"calls {job.uses}" if job.uses else f"{len(job.steps)} step(s)"
        lines.append(f"  job {job.id} (line {job.line}): {steps}")
    return lines


# -- deps ---------------------------------------------------------------------------------


def render_deps(evidence: DepsEvidence) -> str:
    """One line per package, then changes and vulnerabilities."""
    tree = evidence.tree
    lines = [f"{len(tree.packages)} package(s) in {len(tree.files)} file(s)"]
    lines.extend(
        f"  {pkg.purl if pkg.version else pkg.name} "
        f"{pkg.version or '(' + (pkg.spec or 'unpinned') + ')'} "
        f"{pkg.file}:{pkg.line} {pkg.source}{' direct' if pkg.direct else ''}"
        for pkg in tree.packages
    )
    if evidence.base_ref is not None:
        lines.extend(_deps_change_lines(evidence))
    lines.extend(f"  VULN {v.id} {v.purl} ({v.severity})" for v in evidence.vulnerabilities)
    lines.extend(f"  ERROR {p.file}:{p.line}: {p.message}" for p in tree.errors)
    lines.extend(_notes(evidence.notes))
    return _page(lines)


def _deps_change_lines(evidence: DepsEvidence) -> list[str]:
    lines = [f"changes since {evidence.base_ref}: {len(evidence.changes)}"]
    lines.extend(
        f"  {c.kind} {c.ecosystem}/{c.name} {c.base_version or '-'} -> {c.head_version or '-'}"
        for c in evidence.changes
    )
    return lines


# -- secrets ------------------------------------------------------------------------------


def render_secrets(evidence: SecretsEvidence) -> str:
    lines = [
        f"secrets: {len(evidence.hits)} hit(s) in {evidence.files_scanned} file(s), "
        f"{evidence.bytes_scanned} bytes, {evidence.commits_scanned} commit(s) ({evidence.mode})"
    ]
    lines.extend(
        f"  {hit.path}:{hit.line}: {hit.detector} {hit.redacted} "
        f"sha256:{hit.fingerprint[:16]}{f' in {hit.commit[:12]}' if hit.commit else ''}"
        for hit in evidence.hits
    )
    lines.extend(f"  skipped {s.path}: {s.reason}" for s in evidence.skipped)
    lines.extend(_notes(evidence.notes))
    return _page(lines)


# -- container ----------------------------------------------------------------------------


def render_container(evidence: ContainerEvidence) -> str:
    """What is in the image and the Dockerfiles, in one screen."""
    lines: list[str] = []
    if evidence.image is not None:
        lines.extend(_image_lines(evidence.image))
    if evidence.dockerfiles and lines:
        lines.append("")
    for dockerfile in evidence.dockerfiles:
        lines.extend(_dockerfile_lines(dockerfile))
    if not lines:
        lines.append("no Dockerfile, Containerfile or image found")
    lines.extend(_notes(evidence.notes))
    return _page(lines)


def _dockerfile_lines(dockerfile: Dockerfile) -> list[str]:
    if dockerfile.parse_error is not None:
        err = dockerfile.parse_error
        return [f"{dockerfile.path}: does not parse (line {err.line}: {err.message})"]
    lines: list[str] = []
    if dockerfile.stages:
        bases = ", ".join(s.base_image or s.base for s in dockerfile.stages if s.base_stage is None)
        final = dockerfile.stages[-1]
        lines.append(
            f"{dockerfile.path}: {len(dockerfile.stages)} stage(s); bases: {bases}; "
            f"final user: {final.user or '(none: root)'}"
        )
    elif dockerfile.instruction_errors:
        lines.append(f"{dockerfile.path}: no build stage")
    # Each instruction BuildKit would reject: left out of the audit, the rest is audited.
    lines.extend(
        f"  line {err.line}: instruction does not parse ({err.message}); not audited"
        for err in dockerfile.instruction_errors
    )
    return lines


def _image_lines(image: Image) -> list[str]:
    return [*_image_identity_lines(image), *_image_runtime_lines(image), *_image_content(image)]


def _image_identity_lines(image: Image) -> list[str]:
    lines = [f"image        {image.name or image.reference}  ({image.format})"]
    if image.index_digest:
        lines.append(f"index        {image.index_digest}")
    lines.append(f"manifest     {image.manifest_digest or '- (legacy docker-save: none)'}")
    lines.append(f"config       {image.config_digest}")
    platform = "/".join(p for p in (image.os, image.architecture, image.variant) if p)
    lines.append(f"platform     {platform or '-'}")
    lines.append(f"base image   {_base_image(image)}")
    return lines


def _base_image(image: Image) -> str:
    base = image.base_name or "- (no base annotation)"
    if image.base_digest and "@" not in base:
        base += f"@{image.base_digest}"
    return base


def _image_runtime_lines(image: Image) -> list[str]:
    user = image.user or ""
    root_mark = "   <- runs as root" if is_root_user(user) else ""
    return [
        f"user         {user or '(none: root)'}{root_mark}",
        f"entrypoint   {' '.join(image.entrypoint) if image.entrypoint else '-'}",
        f"cmd          {' '.join(image.cmd) if image.cmd else '-'}",
        f"ports        {', '.join(image.exposed_ports) or '-'}",
        _image_env_line(image),
    ]


def _image_env_line(image: Image) -> str:
    """How many variables, and the names of the secret-looking ones (values never shown)."""
    secrets = [e.name for e in image.env if e.secret] + [
        e.name for e in (*image.history_secrets, *image.command_secrets)
    ]
    redacted = f"; secret-looking (redacted): {', '.join(secrets)}" if secrets else ""
    return f"env          {len(image.env)} variable(s){redacted}"


def _image_content(image: Image) -> list[str]:
    lines = [f"layers       {len(image.layers)}, {_size(image.total_size)} in total"]
    secret_files = sorted({f for layer in image.layers for f in layer.secret_files})
    if secret_files:
        more = len(secret_files) - _MAX_SECRET_FILES
        shown = ", ".join(secret_files[:_MAX_SECRET_FILES])
        lines.append(f"credentials  {shown}" + (f" (+{more})" if more > 0 else ""))
    if not image.sbom_format:
        lines.append("packages     - (no SBOM attached)")
        return lines
    lines.append(f"packages     {len(image.packages)} (from {image.sbom_format} SBOM)")
    lines.extend(
        f"  {pkg.name} {pkg.version or ''}".rstrip() for pkg in image.packages[:_MAX_PACKAGES]
    )
    if len(image.packages) > _MAX_PACKAGES:
        lines.append(f"  ... and {len(image.packages) - _MAX_PACKAGES} more")
    return lines


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


# -- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextForm(Generic[M]):
    """The renderer of one kind, and the model it reads."""

    model: type[M]
    render: Callable[[M], str]

    def __call__(self, kind: str, evidence: GatekeeperModel) -> str:
        if not isinstance(evidence, self.model):
            raise TypeError(
                f"{kind} evidence is a {self.model.__name__}, not a {type(evidence).__name__}"
            )
        return self.render(evidence)


# kind (as ``gatekeeper collect`` names it) -> its text form. Add one line per kind.
_TEXT_FORMS: Mapping[str, _TextForm[Any]] = MappingProxyType(
    {
        "container": _TextForm(ContainerEvidence, render_container),
        "deps": _TextForm(DepsEvidence, render_deps),
        "pipeline": _TextForm(PipelineEvidence, render_pipeline),
        "secrets": _TextForm(SecretsEvidence, render_secrets),
        "source": _TextForm(SourceEvidence, render_source),
    }
)


def has_text_form(kind: str) -> bool:
    """Whether ``kind`` has a text form (``env`` has none: the command prints its JSON)."""
    return kind in _TEXT_FORMS


def render_evidence(kind: str, evidence: GatekeeperModel) -> str:
    """``evidence`` of ``kind`` as text.

    Raises:
        KeyError: ``kind`` has no text form (see ``has_text_form``).
        TypeError: ``evidence`` is not the model ``kind`` is recorded in.
    """
    return _TEXT_FORMS[kind](kind, evidence)


__all__ = [
    "has_text_form",
    "render_container",
    "render_deps",
    "render_evidence",
    "render_pipeline",
    "render_secrets",
    "render_source",
]
