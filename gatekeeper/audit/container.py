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
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.container.imageref import ImageRef, is_allowed, normalize_allowed, parse_image_ref
from gatekeeper.container.user import is_root_user
from gatekeeper.models.container import ContainerEvidence, Dockerfile, Image, Instruction, Stage
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.secrets.classify import is_secret_file

PARSE_ERROR = Rule(
    "container/parse-error",
    Severity.HIGH,
    summary="a Dockerfile cannot be parsed",
    help="A Dockerfile that does not parse is not audited, and the build would most likely "
    "fail on it too. Fix the instruction at the line named.",
)
ROOT_USER = Rule(
    "container/root-user",
    Severity.HIGH,
    summary="the final stage has no `USER`, or its user is `root`/`0` (also from an image config)",
    help="A process running as root in the container can change everything in it and has the "
    "most to gain from a container escape. Create an unprivileged user and end the final "
    "stage with `USER <name or uid>`.",
)
UNPINNED_BASE = Rule(
    "container/unpinned-base",
    Severity.MEDIUM,
    summary="`FROM` has no `@sha256:` digest (scratch and earlier build stages excepted)",
    help="A tag can be moved to other content, so the same Dockerfile builds on whatever the "
    "registry serves that day. Pin the base image by digest "
    "(`FROM python:3.12@sha256:<digest>`) and update the digest deliberately.",
)
LATEST_TAG = Rule(
    "container/latest-tag",
    Severity.MEDIUM,
    summary="`FROM` uses `:latest` or no tag at all",
    help="`latest` moves with every release of the base image, so builds are not "
    "reproducible and a breaking or compromised release arrives unannounced. Name an exact "
    "version tag, and pin its digest.",
)
ADD_REMOTE = Rule(
    "container/add-remote",
    Severity.MEDIUM,
    summary="`ADD` fetches a URL",
    help="`ADD` downloads at build time and checks nothing about what arrives, so whoever "
    "controls the server or the network path controls the layer. Download in a `RUN` step "
    "and verify a checksum, or pin the content with `ADD --checksum=sha256:…`.",
)
SECRET_IN_BUILD = Rule(
    "container/secret-in-build",
    Severity.HIGH,
    summary="`ENV`/`ARG` holds a secret-looking literal, or a secret is copied into a layer",
    help="Instructions and layers stay in the image: anyone who can pull it can read an "
    "`ENV`/`ARG` value (`docker history`) or a copied credential file. Revoke the secret and "
    "pass credentials as build secrets (`RUN --mount=type=secret`).",
)
REMOTE_SCRIPT = Rule(
    "container/remote-script",
    Severity.MEDIUM,
    summary="`RUN curl … | sh` and its relatives",
    help="The script runs unverified inside the build: whoever controls the server, its DNS "
    "or the network path decides what goes into the image. Download it to a file, check its "
    "sha256 or signature, then run it.",
)
INSECURE_FETCH = Rule(
    "container/insecure-fetch",
    Severity.MEDIUM,
    summary="as `pipeline/insecure-fetch`, inside a `RUN`",
    help="Without TLS or signature checks anyone on the network path can substitute what the "
    "build downloads and installs into the image. Remove the switch; when a private "
    "certificate authority is the reason, add it to the image's trust store.",
)
UNTRUSTED_REGISTRY = Rule(
    "container/untrusted-registry",
    Severity.HIGH,
    summary="a base image comes from a registry outside the policy's `allowed_registries` "
    "(only when the policy lists them)",
    help="The policy lists where images may come from; a base image from elsewhere is outside "
    "the supply chain the release owners vetted. Mirror the image into an allowed registry, or "
    "add the registry to `allowed_registries` when it belongs there.",
)

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
    rules: ClassVar[RuleSet] = RuleSet(
        PARSE_ERROR,
        ROOT_USER,
        UNPINNED_BASE,
        LATEST_TAG,
        ADD_REMOTE,
        SECRET_IN_BUILD,
        REMOTE_SCRIPT,
        INSECURE_FETCH,
        UNTRUSTED_REGISTRY,
    )
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
        yield PARSE_ERROR.finding(
            f"the Dockerfile does not parse: {err.message}",
            path=path,
            line=err.line,
            key=err.message,
        )
        return
    if not dockerfile.stages:
        yield PARSE_ERROR.finding(
            "the Dockerfile has no build stage",
            path=path,
            line=1,
            key="no-stage",
        )
        return
    yield from _root_user(dockerfile.stages[-1], path, dockerfile.stages)
    for stage in dockerfile.stages:
        yield from _base_image(stage, path, allowed)
    for instruction in dockerfile.preamble:
        yield from _instruction(instruction, path)
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            yield from _instruction(instruction, path)


def _root_user(final: Stage, path: str, stages: list[Stage]) -> Iterator[Finding]:
    where = f"final stage{f' {final.name!r}' if final.name else ''}"
    origin = final
    while origin.base_stage is not None and 0 <= origin.base_stage < len(stages):
        origin = stages[origin.base_stage]
    if final.user is None and not origin.is_scratch:
        # The user comes from the base image's config, which a Dockerfile does not show.
        yield ROOT_USER.finding(
            f"the {where} sets no USER, so the user is inherited from `{origin.base}`, "
            "unknown here (many images run as root; audit the built image with --image)",
            severity=Severity.LOW,
            path=path,
            line=final.line,
            key="final-stage",
        )
    elif final.user is None:
        yield ROOT_USER.finding(
            f"the {where} sets no USER: the container runs as root",
            path=path,
            line=final.line,
            key="final-stage",
        )
    elif final.user_unresolved:
        names = ", ".join(final.user_unresolved)
        yield ROOT_USER.finding(
            f"the {where}'s USER depends on {names}, which has no default: the "
            f"user cannot be established (an empty user is root)",
            path=path,
            line=final.user_line or final.line,
            key="final-stage",
        )
    elif is_root_user(final.user):
        yield ROOT_USER.finding(
            f"the {where} runs as root (USER {final.user or '(empty)'})",
            path=path,
            line=final.user_line or final.line,
            key="final-stage",
        )


def _unresolved_base(stage: Stage, path: str, allowed: list[str]) -> Iterator[Finding]:
    """A ``FROM`` whose image depends on a build argument without a default."""
    names = ", ".join(stage.unresolved)
    if not _PINNED_TEXT.search(stage.base):
        yield UNPINNED_BASE.finding(
            f"FROM {stage.base}: the base image depends on {names}, which has "
            f"no default, so it is not pinned to a digest",
            path=path,
            line=stage.line,
            key=f"unresolved:{stage.base}",
        )
    if allowed and not _literal_prefix_allowed(stage.base, allowed):
        yield UNTRUSTED_REGISTRY.finding(
            f"FROM {stage.base}: the registry cannot be established ({names} "
            f"has no default), so it is not known to be allowed",
            path=path,
            line=stage.line,
            key=f"unresolved:{stage.base}",
        )


def _unpinned_base(image: str, ref: ImageRef, path: str, line: int) -> Iterator[Finding]:
    if ref.digest is not None:
        return
    yield UNPINNED_BASE.finding(
        f"FROM {image} is not pinned to a digest (@sha256:...): the tag can "
        f"be moved to other content",
        path=path,
        line=line,
        key=image,
    )
    if ref.tag is None or ref.tag == "latest":
        what = "uses the latest tag" if ref.tag else "has no tag (so it means latest)"
        yield LATEST_TAG.finding(f"FROM {image} {what}", path=path, line=line, key=image)


def _base_image(stage: Stage, path: str, allowed: list[str]) -> Iterator[Finding]:
    if stage.base_stage is not None or stage.is_scratch:
        return  # built on an earlier stage, or on nothing
    if stage.base_image is None:
        yield from _unresolved_base(stage, path, allowed)
        return
    ref = parse_image_ref(stage.base_image)  # validated by the parser
    image = stage.base_image
    yield from _unpinned_base(image, ref, path, stage.line)
    if allowed and not is_allowed(ref, allowed):
        yield UNTRUSTED_REGISTRY.finding(
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


def _embedded_secrets(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """Secret-looking literals in the instruction itself and in its heredocs."""
    keyword = instruction.keyword
    if instruction.secret is not None:
        yield SECRET_IN_BUILD.finding(
            f"{trigger}{keyword} embeds a secret-looking literal ({instruction.secret.redacted}, "
            f"{instruction.secret.reason}): instructions are recorded in the image history; "
            f"use a build secret (RUN --mount=type=secret)",
            path=path,
            line=instruction.line,
            key=instruction.secret.sha256,
        )
    for doc in instruction.heredocs:
        if doc.secret is not None:
            yield SECRET_IN_BUILD.finding(
                f"{trigger}{keyword} heredoc <<{doc.delimiter} holds a secret-looking literal "
                f"({doc.secret.redacted}, {doc.secret.reason}): it ends up in a layer; use a "
                f"build secret (RUN --mount=type=secret)",
                path=path,
                line=instruction.line,
                key=doc.secret.sha256,
            )


def _pair_secrets(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """``ENV``/``ARG``/``LABEL`` values that look like secrets."""
    for pair in instruction.pairs:
        if pair.secret is not None:
            yield SECRET_IN_BUILD.finding(
                f"{trigger}{instruction.keyword} {pair.key} holds a secret-looking literal "
                f"({pair.secret.redacted}, {pair.secret.reason}): it stays in the image "
                f"history; use a build secret (RUN --mount=type=secret)",
                path=path,
                line=instruction.line,
                key=pair.secret.sha256,
            )


def _copied_sources(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """``ADD`` of a URL, and ``COPY``/``ADD`` of a credential file."""
    keyword = instruction.keyword
    for source in _sources(instruction):
        if keyword == "ADD" and _REMOTE_SOURCE.match(source):
            yield ADD_REMOTE.finding(
                f"{trigger}ADD fetches {source} at build time; download it in a RUN step "
                f"with a checksum check, or pin it with ADD --checksum",
                path=path,
                line=instruction.line,
                key=f"add:{source}",
            )
        elif is_secret_file(source):
            yield SECRET_IN_BUILD.finding(
                f"{trigger}{keyword} copies the credential file {source} into a layer; "
                f"use a build secret (RUN --mount=type=secret)",
                path=path,
                line=instruction.line,
                key=f"copy:{source}",
            )


def _run_commands(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """Download-and-execute and disabled TLS or signature checks in a ``RUN``."""
    parts = [instruction.args]
    if instruction.exec_form is not None:
        parts.append(" ".join(instruction.exec_form))
    parts.extend(doc.body for doc in instruction.heredocs)
    text = "\n".join(parts)
    construct = remote_script(text)
    if construct is not None:
        yield REMOTE_SCRIPT.finding(
            f"{trigger}RUN downloads and executes a script in one go ({construct}); "
            f"download, verify a checksum or signature, then run it",
            path=path,
            line=instruction.line,
            key=f"remote:{construct}",
        )
    switch = insecure_fetch(text)
    if switch is not None:
        yield INSECURE_FETCH.finding(
            f"{trigger}RUN switches off TLS or signature checks ({switch})",
            path=path,
            line=instruction.line,
            key=f"{switch}:{_short_hash(text)}",
        )


# Checks by instruction keyword, after the secrets every instruction is checked for.
_BY_KEYWORD = {
    "ENV": _pair_secrets,
    "ARG": _pair_secrets,
    "LABEL": _pair_secrets,
    "COPY": _copied_sources,
    "ADD": _copied_sources,
    "RUN": _run_commands,
}


def _instruction(instruction: Instruction, path: str) -> Iterator[Finding]:
    trigger = "ONBUILD " if instruction.onbuild else ""
    yield from _embedded_secrets(instruction, path, trigger)
    check = _BY_KEYWORD.get(instruction.keyword)
    if check is not None:
        yield from check(instruction, path, trigger)


# -- images --------------------------------------------------------------------------------


def _image_secrets(image: Image, name: str) -> Iterator[Finding]:
    entries = [("environment", e) for e in image.env]
    entries += [("history", e) for e in image.history_secrets]
    entries += [("label", e) for e in image.label_secrets]
    entries += [("command", e) for e in image.command_secrets]
    for where, env in entries:
        if env.secret is None:
            continue
        yield SECRET_IN_BUILD.finding(
            f"image {name}: {where} entry {env.name} holds a secret-looking value "
            f"({env.secret.redacted}, {env.secret.reason})",
            path=image.reference,
            key=env.secret.sha256,
        )
    for layer in image.layers:
        for file in layer.secret_files:
            yield SECRET_IN_BUILD.finding(
                f"image {name}: layer {layer.digest} contains the credential file {file}",
                path=image.reference,
                key=f"layer-file:{file}",
            )


def _image_base(image: Image, name: str, base: str, allowed: list[str]) -> Iterator[Finding]:
    """The image's recorded base image, against the policy's ``allowed_registries``."""
    try:
        ref = parse_image_ref(base)
    except ValueError:
        yield UNTRUSTED_REGISTRY.finding(
            f"image {name}: base image annotation {base!r} is not "
            f"an image reference, so its registry is not known to be allowed",
            path=image.reference,
            key=f"base:{base}",
        )
        return
    if not is_allowed(ref, allowed):
        yield UNTRUSTED_REGISTRY.finding(
            f"image {name}: base image {base} is from "
            f"{ref.full_name}, outside the policy's allowed_registries",
            path=image.reference,
            key=f"base:{ref.full_name}",
        )


def _audit_image(image: Image, allowed: list[str]) -> Iterator[Finding]:
    name = image.name or image.reference
    user = image.user or ""
    if is_root_user(user):
        shown = f"User {user!r}" if user else "no User"
        yield ROOT_USER.finding(
            f"image {name} runs as root (its config has {shown})",
            path=image.reference,
            key="image-user",
        )
    yield from _image_secrets(image, name)
    if allowed and image.base_name:
        yield from _image_base(image, name, image.base_name, allowed)


AUDITS = (ContainerAudit,)
