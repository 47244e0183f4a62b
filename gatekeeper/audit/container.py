"""The container/ audits: Dockerfiles and image configuration (RULES.md, container/ family).

Reads ``ContainerEvidence``. Only the final stage of a Dockerfile decides
``container/root-user``; ``scratch`` and earlier build stages are excepted from the base-image
rules. An image given with ``--image`` is audited on its own (path = the reference as given),
so an image that runs as root is reported even when the tree has no Dockerfile.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit._shellrisk import insecure_fetch, remote_script
from gatekeeper.audit.base import AuditContext
from gatekeeper.container.imageref import is_allowed, normalize_allowed, parse_image_ref
from gatekeeper.container.secret import is_secret_file
from gatekeeper.container.user import is_root_user
from gatekeeper.models.container import ContainerEvidence, Dockerfile, Image, Instruction, Stage
from gatekeeper.models.finding import Finding, Severity

PARSE_ERROR = "container/parse-error"
ROOT_USER = "container/root-user"
UNPINNED_BASE = "container/unpinned-base"
LATEST_TAG = "container/latest-tag"
ADD_REMOTE = "container/add-remote"
SECRET_IN_BUILD = "container/secret-in-build"  # noqa: S105 - a rule id
REMOTE_SCRIPT = "container/remote-script"
INSECURE_FETCH = "container/insecure-fetch"
UNTRUSTED_REGISTRY = "container/untrusted-registry"

_REMOTE_SOURCE = re.compile(r"^(?:https?|ftp)://|^git@[^:]+:|^git://|^ssh://", re.IGNORECASE)


_PINNED_TEXT = re.compile(r"@sha256:[0-9a-f]{64}$")


def _literal_prefix_allowed(base: str, allowed: list[str]) -> bool:
    """Whether the text before the first variable already names an allowed registry/namespace
    (``ghcr.io/acme/app-${VARIANT}``), so the variable cannot move the image elsewhere."""
    prefix = base.split("$", 1)[0]
    for entry in allowed:
        wanted = normalize_allowed(entry)
        if wanted and prefix.startswith(wanted + "/"):
            return True
    return False


def _short_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


class ContainerAudit:
    evidence_kind: ClassVar[str] = "container"
    rules: ClassVar[dict[str, Severity]] = {
        PARSE_ERROR: Severity.HIGH,
        ROOT_USER: Severity.HIGH,
        UNPINNED_BASE: Severity.MEDIUM,
        LATEST_TAG: Severity.MEDIUM,
        ADD_REMOTE: Severity.MEDIUM,
        SECRET_IN_BUILD: Severity.HIGH,
        REMOTE_SCRIPT: Severity.MEDIUM,
        INSECURE_FETCH: Severity.MEDIUM,
        UNTRUSTED_REGISTRY: Severity.HIGH,
    }
    summary: ClassVar[str] = "Dockerfiles and images: root user, base pinning, secrets, fetches"

    def run(self, evidence: ContainerEvidence, ctx: AuditContext) -> Iterator[Finding]:
        allowed = list(ctx.policy.allowed_registries)
        for dockerfile in evidence.dockerfiles:
            yield from _audit_dockerfile(dockerfile, allowed)
        if evidence.image is not None:
            yield from _audit_image(evidence.image, allowed)


# -- Dockerfiles ---------------------------------------------------------------------------


def _audit_dockerfile(dockerfile: Dockerfile, allowed: list[str]) -> Iterator[Finding]:
    path = dockerfile.path
    if dockerfile.parse_error is not None:
        err = dockerfile.parse_error
        yield Finding.make(
            PARSE_ERROR,
            Severity.HIGH,
            f"the Dockerfile does not parse: {err.message}",
            path=path,
            line=err.line,
            key=err.message,
        )
        return
    if not dockerfile.stages:
        yield Finding.make(
            PARSE_ERROR,
            Severity.HIGH,
            "the Dockerfile has no build stage",
            path=path,
            line=1,
            key="no-stage",
        )
        return
    yield from _root_user(dockerfile.stages[-1], path)
    for stage in dockerfile.stages:
        yield from _base_image(stage, path, allowed)
    for instruction in dockerfile.preamble:
        yield from _instruction(instruction, path)
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            yield from _instruction(instruction, path)


def _root_user(final: Stage, path: str) -> Iterator[Finding]:
    where = f"final stage{f' {final.name!r}' if final.name else ''}"
    if final.user is None:
        yield Finding.make(
            ROOT_USER,
            Severity.HIGH,
            f"the {where} sets no USER: the container runs as root",
            path=path,
            line=final.line,
            key="final-stage",
        )
    elif final.user_unresolved:
        names = ", ".join(final.user_unresolved)
        yield Finding.make(
            ROOT_USER,
            Severity.HIGH,
            f"the {where}'s USER depends on {names}, which has no default: the "
            f"user cannot be established (an empty user is root)",
            path=path,
            line=final.user_line or final.line,
            key="final-stage",
        )
    elif is_root_user(final.user):
        yield Finding.make(
            ROOT_USER,
            Severity.HIGH,
            f"the {where} runs as root (USER {final.user or '(empty)'})",
            path=path,
            line=final.user_line or final.line,
            key="final-stage",
        )


def _base_image(stage: Stage, path: str, allowed: list[str]) -> Iterator[Finding]:
    if stage.base_stage is not None or stage.is_scratch:
        return  # built on an earlier stage, or on nothing
    if stage.base_image is None:
        names = ", ".join(stage.unresolved)
        if not _PINNED_TEXT.search(stage.base):
            yield Finding.make(
                UNPINNED_BASE,
                Severity.MEDIUM,
                f"FROM {stage.base}: the base image depends on {names}, which has "
                f"no default, so it is not pinned to a digest",
                path=path,
                line=stage.line,
                key=f"unresolved:{stage.base}",
            )
        if allowed and not _literal_prefix_allowed(stage.base, allowed):
            yield Finding.make(
                UNTRUSTED_REGISTRY,
                Severity.HIGH,
                f"FROM {stage.base}: the registry cannot be established ({names} "
                f"has no default), so it is not known to be allowed",
                path=path,
                line=stage.line,
                key=f"unresolved:{stage.base}",
            )
        return
    ref = parse_image_ref(stage.base_image)  # validated by the parser
    image = stage.base_image
    if ref.digest is None:
        yield Finding.make(
            UNPINNED_BASE,
            Severity.MEDIUM,
            f"FROM {image} is not pinned to a digest (@sha256:...): the tag can "
            f"be moved to other content",
            path=path,
            line=stage.line,
            key=image,
        )
        if ref.tag is None or ref.tag == "latest":
            what = "uses the latest tag" if ref.tag else "has no tag (so it means latest)"
            yield Finding.make(
                LATEST_TAG,
                Severity.MEDIUM,
                f"FROM {image} {what}",
                path=path,
                line=stage.line,
                key=image,
            )
    if allowed and not is_allowed(ref, allowed):
        yield Finding.make(
            UNTRUSTED_REGISTRY,
            Severity.HIGH,
            f"FROM {image}: {ref.full_name} is outside the policy's allowed_registries",
            path=path,
            line=stage.line,
            key=ref.full_name,
        )


def _sources(instruction: Instruction) -> list[str]:
    """COPY/ADD sources: every argument but the destination."""
    if instruction.exec_form is not None:
        words = instruction.exec_form
    else:
        try:
            words = shlex.split(instruction.args)
        except ValueError:
            words = instruction.args.split()
    words = [w for w in words if not w.startswith("<<")]
    return words[:-1] if len(words) > 1 else []


def _instruction(instruction: Instruction, path: str) -> Iterator[Finding]:
    keyword = instruction.keyword
    line = instruction.line
    trigger = "ONBUILD " if instruction.onbuild else ""
    if instruction.secret is not None:
        yield Finding.make(
            SECRET_IN_BUILD,
            Severity.HIGH,
            f"{trigger}{keyword} embeds a secret-looking literal ({instruction.secret.redacted}, "
            f"{instruction.secret.reason}): instructions are recorded in the image history; "
            f"use a build secret (RUN --mount=type=secret)",
            path=path,
            line=line,
            key=instruction.secret.sha256,
        )
    for doc in instruction.heredocs:
        if doc.secret is not None:
            yield Finding.make(
                SECRET_IN_BUILD,
                Severity.HIGH,
                f"{trigger}{keyword} heredoc <<{doc.delimiter} holds a secret-looking literal "
                f"({doc.secret.redacted}, {doc.secret.reason}): it ends up in a layer; use a "
                f"build secret (RUN --mount=type=secret)",
                path=path,
                line=line,
                key=doc.secret.sha256,
            )
    if keyword in ("ENV", "ARG", "LABEL"):
        for pair in instruction.pairs:
            if pair.secret is not None:
                yield Finding.make(
                    SECRET_IN_BUILD,
                    Severity.HIGH,
                    f"{trigger}{keyword} {pair.key} holds a secret-looking literal "
                    f"({pair.secret.redacted}, {pair.secret.reason}): it stays in the image "
                    f"history; use a build secret (RUN --mount=type=secret)",
                    path=path,
                    line=line,
                    key=pair.secret.sha256,
                )
    elif keyword in ("COPY", "ADD"):
        for source in _sources(instruction):
            if keyword == "ADD" and _REMOTE_SOURCE.match(source):
                yield Finding.make(
                    ADD_REMOTE,
                    Severity.MEDIUM,
                    f"{trigger}ADD fetches {source} at build time; download it in a RUN step "
                    f"with a checksum check, or pin it with ADD --checksum",
                    path=path,
                    line=line,
                    key=f"add:{source}",
                )
            elif is_secret_file(source):
                yield Finding.make(
                    SECRET_IN_BUILD,
                    Severity.HIGH,
                    f"{trigger}{keyword} copies the credential file {source} into a layer; "
                    f"use a build secret (RUN --mount=type=secret)",
                    path=path,
                    line=line,
                    key=f"copy:{source}",
                )
    elif keyword == "RUN":
        parts = [instruction.args]
        if instruction.exec_form is not None:
            parts.append(" ".join(instruction.exec_form))
        parts.extend(doc.body for doc in instruction.heredocs)
        text = "\n".join(parts)
        construct = remote_script(text)
        if construct is not None:
            yield Finding.make(
                REMOTE_SCRIPT,
                Severity.MEDIUM,
                f"{trigger}RUN downloads and executes a script in one go ({construct}); "
                f"download, verify a checksum or signature, then run it",
                path=path,
                line=line,
                key=f"remote:{construct}",
            )
        switch = insecure_fetch(text)
        if switch is not None:
            yield Finding.make(
                INSECURE_FETCH,
                Severity.MEDIUM,
                f"{trigger}RUN switches off TLS or signature checks ({switch})",
                path=path,
                line=line,
                key=f"{switch}:{_short_hash(text)}",
            )


# -- images --------------------------------------------------------------------------------


def _audit_image(image: Image, allowed: list[str]) -> Iterator[Finding]:
    path = image.reference
    name = image.name or image.reference
    user = image.user or ""
    if is_root_user(user):
        shown = f"User {user!r}" if user else "no User"
        yield Finding.make(
            ROOT_USER,
            Severity.HIGH,
            f"image {name} runs as root (its config has {shown})",
            path=path,
            key="image-user",
        )
    entries = [("environment", e) for e in image.env]
    entries += [("history", e) for e in image.history_secrets]
    entries += [("label", e) for e in image.label_secrets]
    entries += [("command", e) for e in image.command_secrets]
    for where, env in entries:
        if env.secret is None:
            continue
        yield Finding.make(
            SECRET_IN_BUILD,
            Severity.HIGH,
            f"image {name}: {where} entry {env.name} holds a secret-looking value "
            f"({env.secret.redacted}, {env.secret.reason})",
            path=path,
            key=env.secret.sha256,
        )
    for layer in image.layers:
        for file in layer.secret_files:
            yield Finding.make(
                SECRET_IN_BUILD,
                Severity.HIGH,
                f"image {name}: layer {layer.digest} contains the credential file {file}",
                path=path,
                key=f"layer-file:{file}",
            )
    if allowed and image.base_name:
        try:
            ref = parse_image_ref(image.base_name)
        except ValueError:
            yield Finding.make(
                UNTRUSTED_REGISTRY,
                Severity.HIGH,
                f"image {name}: base image annotation {image.base_name!r} is not "
                f"an image reference, so its registry is not known to be allowed",
                path=path,
                key=f"base:{image.base_name}",
            )
            return
        if not is_allowed(ref, allowed):
            yield Finding.make(
                UNTRUSTED_REGISTRY,
                Severity.HIGH,
                f"image {name}: base image {image.base_name} is from "
                f"{ref.full_name}, outside the policy's allowed_registries",
                path=path,
                key=f"base:{ref.full_name}",
            )


AUDITS = (ContainerAudit,)
