"""The container family: Dockerfile parsing, image evidence without a container engine.

Usage::

    from gatekeeper.container import parse_dockerfile, read_image, resolve_image_subject

    dockerfile = parse_dockerfile(Path("Dockerfile").read_bytes(), "Dockerfile")
    image = read_image("oci:build/image-layout:v1")      # or "docker-archive:image.tar"
    name, manifest_hex = resolve_image_subject("oci:build/image-layout")

The names below are imported from their modules on first use, so importing the package
(or one of its modules) does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.container.dockerfile import DockerfileSyntaxError, parse_dockerfile
    from gatekeeper.container.image import SBOM_LABEL, read_image, resolve_image_subject
    from gatekeeper.container.imageref import (
        ImageRef,
        is_allowed,
        normalize_allowed,
        parse_image_ref,
    )
    from gatekeeper.container.user import is_root_user

# public name -> the module that defines it
_EXPORTS = {
    "DockerfileSyntaxError": "dockerfile",
    "ImageRef": "imageref",
    "SBOM_LABEL": "image",
    "is_allowed": "imageref",
    "is_root_user": "user",
    "normalize_allowed": "imageref",
    "parse_dockerfile": "dockerfile",
    "parse_image_ref": "imageref",
    "read_image": "image",
    "resolve_image_subject": "image",
}

__all__ = [
    "SBOM_LABEL",
    "DockerfileSyntaxError",
    "ImageRef",
    "is_allowed",
    "is_root_user",
    "normalize_allowed",
    "parse_dockerfile",
    "parse_image_ref",
    "read_image",
    "resolve_image_subject",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
