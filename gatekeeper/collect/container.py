"""The ``container`` collector: every Dockerfile/Containerfile in the tree, and an image.

Files named ``Dockerfile``, ``Containerfile``, ``*.Dockerfile``, ``*.Containerfile``,
``Dockerfile.*`` and ``Containerfile.*`` (any case) are parsed, except templates and
companions (``*.dockerignore``, ``*.j2``, ``*.tmpl``, ``*.template``, ``*.in``, ``*.md``...).
The image named by ``ctx.options.image`` (``--image``) is read from disk.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.collect.build_files import is_dockerfile_name
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.container.entrypoint import entrypoint_drop
from gatekeeper.container.image import read_image
from gatekeeper.errors import CollectionError
from gatekeeper.models.container import ContainerEvidence, Dockerfile

# A line that is a template directive, where an instruction would be.
_TEMPLATE_LINE = re.compile(rb"^[ \t]*\{\{", re.MULTILINE)
_FROM_LINE = re.compile(rb"^[ \t]*from[ \t]", re.MULTILINE | re.IGNORECASE)
_EMPTY_OR_NO_FROM = ("the file has no instructions", "no FROM")


class ContainerCollector:
    kind: ClassVar[str] = "container"

    def collect(self, ctx: CollectContext) -> ContainerEvidence:
        """Raises CollectionError when the tree is unreadable; InvalidInput for a bad image."""
        if not ctx.repo.is_dir():
            raise CollectionError(f"{ctx.repo}: no such directory")
        dockerfiles: list[Dockerfile] = []
        notes: list[str] = []
        for rel in walk_files(ctx.repo, ctx.limits.max_files):
            if not is_dockerfile_name(rel):
                continue
            path = ctx.repo / rel
            if path.is_symlink():
                # SECURITY: never follow links out of the tree; the target is audited where it is.
                notes.append(f"container: {rel} is a symlink; not followed")
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read(ctx.limits.max_file_bytes + 1)
            except OSError as exc:
                raise CollectionError(f"{rel}: cannot read: {exc.strerror or exc}") from exc
            dockerfile = parse_dockerfile(data, rel, max_bytes=ctx.limits.max_file_bytes)
            if _is_template(dockerfile, data):
                # A generator's template (`{{ ... }}` lines where instructions go, as in
                # docker-library's jq templates): no builder accepts it as it is, and the files
                # generated from it are audited.
                notes.append(f"container: {rel} is a template ({{{{ … }}}} lines); not audited")
                continue
            if _is_fragment(dockerfile, data):
                # No FROM anywhere: a fragment a generator pastes into Dockerfiles (or an empty
                # file). Nothing can build it, so nothing in it reaches an image.
                notes.append(f"container: {rel} has no FROM (a fragment?); not audited")
                continue
            dockerfiles.append(_with_entrypoint(dockerfile, ctx.repo, ctx.limits.max_file_bytes))
        image = None
        if ctx.options.image:
            image = read_image(ctx.options.image, ctx.limits)
        dockerfiles.sort(key=lambda d: d.path)
        return ContainerEvidence(dockerfiles=dockerfiles, image=image, notes=sorted(notes))


# An entrypoint script larger than this is not read for a privilege drop.
_MAX_SCRIPT_BYTES = 1024 * 1024


def _context_reader(repo: Path, dockerfile: str, max_bytes: int) -> Callable[[str], str | None]:
    """Read a build-context file named in the Dockerfile, relative to the Dockerfile's
    directory (where official images keep their entrypoint scripts) or the repository root.

    SECURITY: only regular files inside the repository, never through a symlink, and at most
    ``max_bytes``; the text is only searched, never run.
    """
    root = repo.resolve()

    def read(source: str) -> str | None:
        for base in (posixpath.dirname(dockerfile), ""):
            rel = posixpath.normpath(posixpath.join(base, source.lstrip("/")))
            if rel.startswith("..") or rel == ".":
                continue
            path = root / rel
            try:
                if _through_symlink(root, rel):
                    continue
                if not path.is_file():
                    continue
                with open(path, "rb") as handle:
                    data = handle.read(max_bytes + 1)
            except OSError:
                continue
            if len(data) > max_bytes:
                continue
            return data.decode("utf-8", errors="replace")
        return None

    return read


def _is_template(dockerfile: Dockerfile, data: bytes) -> bool:
    """A file BuildKit rejects because a line where an instruction goes is ``{{ ... }}``."""
    if not dockerfile.instruction_errors:
        return False
    lines = data.split(b"\n")
    return any(
        _TEMPLATE_LINE.match(lines[e.line - 1]) is not None
        for e in dockerfile.instruction_errors
        if e.line <= len(lines)
    )


def _is_fragment(dockerfile: Dockerfile, data: bytes) -> bool:
    """Read whole, but no FROM line anywhere (a file over the size cap, not UTF-8 or with a
    bad directive is a parse error, never a fragment)."""
    if dockerfile.stages or _FROM_LINE.search(data) is not None:
        return False
    error = dockerfile.parse_error
    return error is None or error.message.startswith(_EMPTY_OR_NO_FROM)


def _through_symlink(root: Path, rel: str) -> bool:
    current = root
    for part in rel.split("/"):
        current = current / part
        if current.is_symlink():
            return True
    return False


def _with_entrypoint(dockerfile: Dockerfile, repo: Path, max_bytes: int) -> Dockerfile:
    """Record on the final stage whether its entrypoint drops root (see ``entrypoint_drop``)."""
    if not dockerfile.stages:
        return dockerfile
    reader = _context_reader(repo, dockerfile.path, min(max_bytes, _MAX_SCRIPT_BYTES))
    drop = entrypoint_drop(dockerfile, reader)
    if drop is None:
        return dockerfile
    final = dockerfile.stages[-1].model_copy(update={"entrypoint_drop": drop})
    return dockerfile.model_copy(update={"stages": [*dockerfile.stages[:-1], final]})


__all__ = ["ContainerCollector", "is_dockerfile_name"]
