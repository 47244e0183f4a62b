"""``gatekeeper collect container --format text``: what is in the image, in one screen."""

from __future__ import annotations

from gatekeeper.container.user import is_root_user
from gatekeeper.models.container import ContainerEvidence, Image

_MAX_PACKAGES = 15


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _image_lines(image: Image) -> list[str]:
    lines = [f"image        {image.name or image.reference}  ({image.format})"]
    if image.index_digest:
        lines.append(f"index        {image.index_digest}")
    lines.append(f"manifest     {image.manifest_digest or '- (legacy docker-save: none)'}")
    lines.append(f"config       {image.config_digest}")
    platform = "/".join(p for p in (image.os, image.architecture, image.variant) if p)
    lines.append(f"platform     {platform or '-'}")
    base = image.base_name or "- (no base annotation)"
    if image.base_digest:
        base += f"@{image.base_digest}" if "@" not in base else ""
    lines.append(f"base image   {base}")
    user = image.user or ""
    is_root = is_root_user(user)
    lines.append(f"user         {user or '(none: root)'}{'   <- runs as root' if is_root else ''}")
    lines.append(f"entrypoint   {' '.join(image.entrypoint) if image.entrypoint else '-'}")
    lines.append(f"cmd          {' '.join(image.cmd) if image.cmd else '-'}")
    lines.append(f"ports        {', '.join(image.exposed_ports) or '-'}")
    secrets = [e.name for e in image.env if e.secret] + [
        e.name for e in (*image.history_secrets, *image.command_secrets)
    ]
    lines.append(
        f"env          {len(image.env)} variable(s)"
        + (f"; secret-looking (redacted): {', '.join(secrets)}" if secrets else "")
    )
    lines.append(f"layers       {len(image.layers)}, {_size(image.total_size)} in total")
    secret_files = sorted({f for layer in image.layers for f in layer.secret_files})
    if secret_files:
        lines.append(
            f"credentials  {', '.join(secret_files[:5])}"
            + (f" (+{len(secret_files) - 5})" if len(secret_files) > 5 else "")
        )
    if image.sbom_format:
        lines.append(f"packages     {len(image.packages)} (from {image.sbom_format} SBOM)")
        lines.extend(
            f"  {pkg.name} {pkg.version or ''}".rstrip() for pkg in image.packages[:_MAX_PACKAGES]
        )
        if len(image.packages) > _MAX_PACKAGES:
            lines.append(f"  ... and {len(image.packages) - _MAX_PACKAGES} more")
    else:
        lines.append("packages     - (no SBOM attached)")
    return lines


def render_text(evidence: ContainerEvidence) -> str:
    lines: list[str] = []
    if evidence.image is not None:
        lines.extend(_image_lines(evidence.image))
    if evidence.dockerfiles:
        if lines:
            lines.append("")
        for dockerfile in evidence.dockerfiles:
            if dockerfile.parse_error is not None:
                err = dockerfile.parse_error
                lines.append(f"{dockerfile.path}: does not parse (line {err.line}: {err.message})")
                continue
            final = dockerfile.stages[-1] if dockerfile.stages else None
            if final is None:
                continue
            bases = ", ".join(
                s.base_image or s.base for s in dockerfile.stages if s.base_stage is None
            )
            lines.append(
                f"{dockerfile.path}: {len(dockerfile.stages)} stage(s); bases: {bases}; "
                f"final user: {final.user or '(none: root)'}"
            )
    if not lines:
        lines.append("no Dockerfile, Containerfile or image found")
    lines.extend(f"note: {note}" for note in evidence.notes)
    return "\n".join(lines) + "\n"
