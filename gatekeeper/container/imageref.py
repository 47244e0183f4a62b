"""Image references (``[registry/]repository[:tag][@sha256:digest]``), as docker reads them.

A bare name is on Docker Hub: ``python`` is ``docker.io/library/python``. The first path
component is a registry only when it has a ``.`` or a ``:`` or is ``localhost``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::\d+)?$|"
    r"^\[[0-9a-fA-F:]+\](?::\d+)?$"
)
DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def full_name(self) -> str:
        """``registry/repository`` with Docker Hub spelt ``docker.io``."""
        return f"{self.registry}/{self.repository}"


def normalize_registry(host: str) -> str:
    return DOCKER_HUB if host.lower() in _HUB_ALIASES else host.lower()


def parse_image_ref(text: str) -> ImageRef:
    """Parse a reference the way the docker CLI does.

    Raises:
        ValueError: not a valid reference.
    """
    ref = text.strip()
    if not ref or any(c.isspace() for c in ref):
        raise ValueError(f"invalid image reference {text!r}")
    name, at, digest = ref.partition("@")
    if at and not _DIGEST.match(digest):
        raise ValueError(f"invalid digest in image reference {text!r}")
    name, tag = _split_tag(name, text)
    registry, path = _split_registry(name, text)
    return ImageRef(
        registry=registry,
        repository=_repository(registry, path, text),
        tag=tag,
        digest=digest if at else None,
    )


def _split_tag(name: str, text: str) -> tuple[str, str | None]:
    """``name[:tag]`` as (name, tag); a colon before the last ``/`` is a registry port."""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon <= slash:
        return name, None
    tag = name[colon + 1 :]
    if not _TAG.match(tag):
        raise ValueError(f"invalid tag in image reference {text!r}")
    return name[:colon], tag


def _split_registry(name: str, text: str) -> tuple[str, list[str]]:
    """The registry (Docker Hub unless the first component names a host) and the path."""
    parts = name.split("/")
    first = parts[0]
    if len(parts) == 1 or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB, parts
    if not _HOST.match(first):
        raise ValueError(f"invalid registry in image reference {text!r}")
    return normalize_registry(first), parts[1:]


def _repository(registry: str, path: list[str], text: str) -> str:
    """The repository path, checked; a one-component Docker Hub name is under ``library/``."""
    if not path or not all(_COMPONENT.match(p) for p in path):
        raise ValueError(f"invalid repository name in image reference {text!r}")
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    return "/".join(path)


def normalize_allowed(entry: str) -> str:
    """A policy ``allowed_registries`` entry in the same spelling as ``ImageRef.full_name``."""
    entry = entry.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        entry = entry.removeprefix(scheme)
    head, _, rest = entry.partition("/")
    head = normalize_registry(head)
    return f"{head}/{rest}" if rest else head


def is_allowed(ref: ImageRef, allowed: list[str]) -> bool:
    """Whether ``ref`` comes from a registry (or registry namespace) listed in ``allowed``."""
    full = ref.full_name
    for entry in allowed:
        prefix = normalize_allowed(entry)
        if prefix and (full == prefix or full.startswith(prefix + "/")):
            return True
    return False
