"""The container/ audits: Dockerfiles and image configuration (RULES.md, container/ family).

Reads ``ContainerEvidence``. Only the final stage of a Dockerfile decides
``container/root-user``; ``scratch`` and earlier build stages are excepted from the base-image
rules. An image given with ``--image`` is audited on its own (path = the reference as given),
so an image that runs as root is reported even when the tree has no Dockerfile.

Context lowers severity and says why, never hides: a Dockerfile under a test path (the same
path model as the secrets rules: ``tests/``, ``testdata/``, ``e2e/``, ``test-*.Dockerfile``)
builds an image for the project's tests, not one it ships, so its ``container/root-user`` is
at most medium and its ``container/parse-error`` (often a deliberately broken fixture) low.
Every other rule keeps its severity there (a secret in a build goes through the secrets
context model, which keeps a token whose format verifies at its default).
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
from gatekeeper.container.user import is_root_user, nonroot_base
from gatekeeper.models.container import (
    ContainerEvidence,
    Dockerfile,
    Image,
    Instruction,
    Stage,
)
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.secrets import RedactedValue
from gatekeeper.secrets.classify import is_secret_file
from gatekeeper.secrets.context import assess, assess_secret, path_context

PARSE_ERROR = Rule(
    "container/parse-error",
    Severity.HIGH,
    summary="a Dockerfile cannot be parsed",
    help="BuildKit rejects the instruction at the line named, so the build fails on it; that "
    "instruction is not audited (the rest of the file is). Fix it. A file that cannot be read "
    "at all (size, encoding, parser directives) is one finding and nothing else is audited. "
    "Low for a Dockerfile under a test path (`tests/`, `testdata/`, `e2e/`): test input, "
    "often broken on purpose.",
)
ROOT_USER = Rule(
    "container/root-user",
    Severity.HIGH,
    summary="the final stage has no `USER`, or its user is `root`/`0` (also from an image config)",
    help="A process running as root in the container can change everything in it and has the "
    "most to gain from a container escape. Create an unprivileged user and end the final "
    "stage with `USER <name or uid>`. Medium when the entrypoint drops root itself (gosu, "
    "su-exec, setpriv, `su -c`, `chroot --userspec`, runuser) or the user comes from a build "
    "argument without a default; low when it comes from a variable the base image sets "
    "(`USER $APP_UID`) or the base image is published to run as non-root (distroless "
    "`:nonroot`, .NET chiseled): the user is unknown here, so audit the image. Low for a "
    "Dockerfile that is one `FROM` and nothing else (a version pin: it adds nothing to the "
    "base image). At most "
    "medium for a Dockerfile under a test path (`tests/`, `testdata/`, `e2e/`, "
    "`test-*.Dockerfile`): an image built for the project's tests, not one it ships.",
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
    summary="`ENV`/`ARG` holds a secret-looking literal, a `RUN` writes a literal password, or "
    "a secret is copied into a layer",
    help="Instructions and layers stay in the image: anyone who can pull it can read an "
    "`ENV`/`ARG` value or a `RUN` line (`docker history`: `echo 'root:…' | chpasswd`, "
    "`useradd -p`, `htpasswd -b`) or a copied credential file. Revoke the secret and pass "
    "credentials as build secrets (`RUN --mount=type=secret`).",
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
    "certificate authority is the reason, add it to the image's trust store. A repository "
    "the same `RUN` builds from local packages (`dpkg-scanpackages` + `[trusted=yes] file:`, "
    "`apk index` + `abuild-sign`) involves no network and does not fire.",
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
            for finding in _audit_dockerfile(dockerfile, allowed):
                yield _in_context(finding)
        if evidence.image is not None:
            yield from _audit_image(evidence.image, allowed)


# -- Dockerfiles ---------------------------------------------------------------------------

# What a test path lowers, to what, and why (the rules not named keep their severity).
_TEST_PATH_CAPS: dict[str, tuple[Severity, str]] = {
    "container/root-user": (
        Severity.MEDIUM,
        "an image built for the project's tests, not one it ships",
    ),
    "container/parse-error": (
        Severity.LOW,
        "a Dockerfile the project's tests use as input, often broken on purpose",
    ),
}


def _in_context(finding: Finding) -> Finding:
    """The finding at the severity its Dockerfile's place allows, saying why when lowered."""
    cap = _TEST_PATH_CAPS.get(finding.rule)
    if cap is None or finding.path is None or finding.severity.rank <= cap[0].rank:
        return finding
    place = path_context(finding.path)
    if place is None or place.kind != "test":
        return finding
    severity, why = cap
    return finding.model_copy(
        update={
            "severity": severity,
            "message": f"{finding.message} ({finding.severity.value} lowered to "
            f"{severity.value}: {place.why}: {why})",
        }
    )


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
    for err in dockerfile.instruction_errors:
        # One instruction BuildKit would reject; every other instruction is still audited.
        yield PARSE_ERROR.finding(
            f"the instruction at line {err.line} does not parse: {err.message} (the rest of "
            f"the Dockerfile is audited without it)",
            path=path,
            line=err.line,
            key=err.message,
        )
    if not dockerfile.stages:
        if not dockerfile.instruction_errors:
            yield PARSE_ERROR.finding(
                "the Dockerfile has no build stage",
                path=path,
                line=1,
                key="no-stage",
            )
        return
    yield from _root_user(dockerfile.stages, path)
    for stage in dockerfile.stages:
        yield from _base_image(stage, path, allowed)
    for instruction in dockerfile.preamble:
        yield from _instruction(instruction, path)
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            yield from _instruction(instruction, path)


def _external_base(stages: list[Stage]) -> Stage:
    """The stage whose FROM names an image, following ``FROM <earlier stage>`` links."""
    stage = stages[-1]
    while stage.base_stage is not None:
        stage = stages[stage.base_stage]
    return stage


def _only_from(stages: list[Stage]) -> bool:
    """A Dockerfile that is one ``FROM`` of an image and nothing else: it adds nothing to that
    image; projects keep one so Dependabot or a CI script can read and bump a version."""
    if len(stages) != 1 or stages[0].is_scratch:
        return False
    return all(i.keyword == "FROM" for i in stages[0].instructions)


def _root_user(stages: list[Stage], path: str) -> Iterator[Finding]:
    final = stages[-1]
    where = f"final stage{f' {final.name!r}' if final.name else ''}"
    line = final.user_line or final.line
    if _only_from(stages):
        yield ROOT_USER.finding(
            f"the Dockerfile is only `FROM {final.base}`: it adds nothing to that image (often "
            f"a version pin that Dependabot or CI reads), so it runs as that image's user, "
            f"root unless that image sets another; audit the image (--image) where it is run",
            severity=Severity.LOW,
            path=path,
            line=line,
            key="final-stage",
        )
        return
    if final.user_unresolved:
        yield from _unknown_user(final, where, path, line)
        return
    origin = _external_base(stages)
    if final.user is None and (origin.is_scratch or origin.unresolved):
        yield from _root_by_default(final, origin, where, path, line)
        return
    base = origin.base_image
    inherited = nonroot_base(base) if final.user is None and base else None
    if inherited is not None:
        yield ROOT_USER.finding(
            f"unknown user: the {where} sets no USER, so it runs as its base image's user; "
            f"{base}: {inherited}. Audit the image (--image) to confirm",
            severity=Severity.LOW,
            path=path,
            line=line,
            key="final-stage",
        )
        return
    if final.user is None:
        why = f"the {where} sets no USER: the container runs as root"
    elif is_root_user(final.user):
        why = f"the {where} runs as root (USER {final.user or '(empty)'})"
    else:
        return
    if final.entrypoint_drop is not None:
        # The entrypoint starts as root and hands the service to another user: only the
        # entrypoint's own work (and whatever `docker exec` starts) runs as root.
        yield ROOT_USER.finding(
            f"{why}, but {final.entrypoint_drop}; only the entrypoint itself runs as root",
            severity=Severity.MEDIUM,
            path=path,
            line=line,
            key="final-stage",
        )
        return
    yield ROOT_USER.finding(why, path=path, line=line, key="final-stage")


def _runs_something(stage: Stage) -> bool:
    return any(i.keyword in ("ENTRYPOINT", "CMD") and not i.onbuild for i in stage.instructions)


def _root_by_default(
    final: Stage, origin: Stage, where: str, path: str, line: int
) -> Iterator[Finding]:
    """No USER on ``scratch`` or on a base that a build argument without a default names."""
    if origin.is_scratch:
        if _runs_something(final):
            yield ROOT_USER.finding(
                f"the {where} sets no USER: the container runs as root",
                path=path,
                line=line,
                key="final-stage",
            )
            return
        yield ROOT_USER.finding(
            f"the {where} is FROM scratch with no USER, ENTRYPOINT or CMD: files exported by "
            f"the build rather than a service; whatever is run from it runs as root",
            severity=Severity.LOW,
            path=path,
            line=line,
            key="final-stage",
        )
        return
    names = ", ".join(origin.unresolved)
    yield ROOT_USER.finding(
        f"the {where} sets no USER and its base image comes from {names}, which has no "
        f"default: it runs as that image's user, root unless that image sets another",
        severity=Severity.MEDIUM,
        path=path,
        line=line,
        key="final-stage",
    )


def _unknown_user(final: Stage, where: str, path: str, line: int) -> Iterator[Finding]:
    """A USER whose value this Dockerfile does not give: a build argument without a default
    (root unless the build passes it) or a variable of the base image (unknown here)."""
    if final.user_unset_args:
        names = ", ".join(final.user_unset_args)
        yield ROOT_USER.finding(
            f"the {where}'s USER comes from the build argument {names}, which has no "
            f"default: the container runs as root unless the build passes --build-arg",
            severity=Severity.MEDIUM,
            path=path,
            line=line,
            key="final-stage",
        )
        return
    names = ", ".join(final.user_unresolved)
    yield ROOT_USER.finding(
        f"unknown user: the {where}'s USER comes from {names}, which this Dockerfile does not "
        f"set (the base image's environment does), so the user cannot be checked here; audit "
        f"the image (--image) to see it",
        severity=Severity.LOW,
        path=path,
        line=line,
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
        if stage.unresolved:
            yield from _unresolved_base(stage, path, allowed)
        return  # else a FROM that does not parse: its parse-error finding says so
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


def _in_build(
    message: str,
    *,
    path: str,
    line: int | None,
    key: str,
    secret: RedactedValue | None = None,
) -> Finding:
    """A ``container/secret-in-build`` finding at the severity the secrets context model
    gives it (a Dockerfile under a test or example path is at most medium)."""
    default = SECRET_IN_BUILD.severity
    verdict = (
        assess(default, path=path)
        if secret is None
        else assess_secret(default, path=path, secret=secret)
    )
    return SECRET_IN_BUILD.finding(
        message + verdict.note(), severity=verdict.severity, path=path, line=line, key=key
    )


def _embedded_secrets(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """Secret-looking literals in the instruction itself and in its heredocs."""
    keyword = instruction.keyword
    if instruction.secret is not None:
        yield _in_build(
            f"{trigger}{keyword} embeds a secret-looking literal ({instruction.secret.redacted}, "
            f"{instruction.secret.reason}): instructions are recorded in the image history; "
            f"use a build secret (RUN --mount=type=secret)",
            path=path,
            line=instruction.line,
            key=instruction.secret.sha256,
            secret=instruction.secret,
        )
    for doc in instruction.heredocs:
        if doc.secret is not None:
            yield _in_build(
                f"{trigger}{keyword} heredoc <<{doc.delimiter} holds a secret-looking literal "
                f"({doc.secret.redacted}, {doc.secret.reason}): it ends up in a layer; use a "
                f"build secret (RUN --mount=type=secret)",
                path=path,
                line=instruction.line,
                key=doc.secret.sha256,
                secret=doc.secret,
            )


def _pair_secrets(instruction: Instruction, path: str, trigger: str) -> Iterator[Finding]:
    """``ENV``/``ARG``/``LABEL`` values that look like secrets."""
    for pair in instruction.pairs:
        if pair.secret is not None:
            yield _in_build(
                f"{trigger}{instruction.keyword} {pair.key} holds a secret-looking literal "
                f"({pair.secret.redacted}, {pair.secret.reason}): it stays in the image "
                f"history; use a build secret (RUN --mount=type=secret)",
                path=path,
                line=instruction.line,
                key=pair.secret.sha256,
                secret=pair.secret,
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
            yield _in_build(
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
    switch = insecure_fetch(_without_local_repositories(text))
    if switch is not None:
        yield INSECURE_FETCH.finding(
            f"{trigger}RUN switches off TLS or signature checks ({switch})",
            path=path,
            line=instruction.line,
            key=f"{switch}:{_short_hash(text)}",
        )


# A package index built in the same RUN: `dpkg-scanpackages`/`apt-ftparchive` (Debian) or
# `apk index` + `abuild-sign` (Alpine). Packages built and indexed in the build need no network
# signature check, so `[trusted=yes]` on a `file:` source and `apk index --allow-untrusted`
# over the local packages are not insecure fetches.
_DEB_LOCAL_INDEX = re.compile(r"\b(?:dpkg-scanpackages|apt-ftparchive)\b")
_DEB_TRUSTED_FILE = re.compile(r"\[\s*trusted\s*=\s*yes\s*\]\s*file:")
_APK_LOCAL_INDEX = re.compile(r"\babuild-sign\b")
_APK_INDEX_UNTRUSTED = re.compile(r"\bapk[ \t]+index\b[^\n;&|]*?--allow-untrusted\b")


def _without_local_repositories(text: str) -> str:
    """``text`` minus the signature switches that only apply to a repository it builds."""
    if _DEB_LOCAL_INDEX.search(text):
        text = _DEB_TRUSTED_FILE.sub("file:", text)
    if _APK_LOCAL_INDEX.search(text):
        text = _APK_INDEX_UNTRUSTED.sub(lambda m: m.group(0).replace("--allow-untrusted", ""), text)
    return text


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
