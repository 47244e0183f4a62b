"""The ``container`` collector: every Dockerfile/Containerfile in the tree, and an image.

Files named ``Dockerfile``, ``Containerfile``, ``*.Dockerfile``, ``*.Containerfile``,
``Dockerfile.*`` and ``Containerfile.*`` (any case) are parsed, except templates and
companions (``*.dockerignore``, ``*.j2``, ``*.tmpl``, ``*.template``, ``*.in``, ``*.md``...).
The image named by ``ctx.options.image`` (``--image``) is read from disk.
"""

from __future__ import annotations

from typing import ClassVar

from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.collect.build_files import is_dockerfile_name
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.container.image import read_image
from gatekeeper.errors import CollectionError
from gatekeeper.models.container import ContainerEvidence, Dockerfile


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
            dockerfiles.append(parse_dockerfile(data, rel, max_bytes=ctx.limits.max_file_bytes))
        image = None
        if ctx.options.image:
            image = read_image(ctx.options.image, ctx.limits)
        dockerfiles.sort(key=lambda d: d.path)
        return ContainerEvidence(dockerfiles=dockerfiles, image=image, notes=sorted(notes))


__all__ = ["ContainerCollector", "is_dockerfile_name"]
