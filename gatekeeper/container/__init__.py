"""The container family: Dockerfile parsing, image evidence without a container engine.

Usage::

    from gatekeeper.container.dockerfile import parse_dockerfile
    from gatekeeper.container.image import read_image, resolve_image_subject

    dockerfile = parse_dockerfile(Path("Dockerfile").read_bytes(), "Dockerfile")
    image = read_image("oci:build/image-layout:v1")      # or "docker-archive:image.tar"
    name, manifest_hex = resolve_image_subject("oci:build/image-layout")
"""

from __future__ import annotations
