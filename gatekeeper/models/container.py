"""Container evidence: parsed Dockerfiles and the configuration of an image.

Recorded by ``gatekeeper.collect.container`` and read by ``gatekeeper.audit.container``.
Secret-looking values (ENV/ARG literals, image env) are never stored: only a redacted form
(first 4 characters and the length) and the sha256 of the value.
"""

from __future__ import annotations

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list
from gatekeeper.models.secrets import RedactedValue


class KeyValue(GatekeeperModel):
    """One ENV, ARG or LABEL pair. ``value`` is None for ``ARG NAME`` without a default."""

    key: str
    value: str | None = None
    secret: RedactedValue | None = None  # set (and value redacted) when it looks like a secret


class Heredoc(GatekeeperModel):
    delimiter: str
    line: int = Field(ge=1)  # line of the instruction that opens it
    body: str  # known token formats and URL passwords redacted
    strip_tabs: bool = False  # ``<<-``
    secret: RedactedValue | None = None  # a known token format found in the body


class Instruction(GatekeeperModel):
    line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    keyword: str  # upper case: FROM, RUN, COPY, ...
    onbuild: bool = False  # the instruction is an ONBUILD trigger
    flags: list[str] = Field(default_factory=empty_list)  # ``--from=build``, ``--mount=...``
    args: str = ""  # arguments after the flags, continuations joined (secrets redacted)
    exec_form: list[str] | None = None  # the JSON (exec) form, when used
    heredocs: list[Heredoc] = Field(default_factory=empty_list)
    pairs: list[KeyValue] = Field(default_factory=empty_list)  # ENV, ARG and LABEL
    # A known token format or URL password in the instruction's own text (RUN, ADD...).
    secret: RedactedValue | None = None


class Stage(GatekeeperModel):
    index: int = Field(ge=0)
    name: str | None = None
    line: int = Field(ge=1)
    base: str  # the FROM argument as written
    base_image: str | None = None  # after ARG substitution; None when it cannot be resolved
    unresolved: list[str] = Field(default_factory=empty_list)  # variables with no value
    platform: str | None = None
    base_stage: int | None = None  # index of the earlier stage it builds FROM
    is_scratch: bool = False
    user: str | None = None  # effective USER at the end of the stage (inherited from base_stage)
    user_line: int | None = None
    # Variables the USER depends on that have no value here; those declared by an ``ARG``
    # without a default are also in ``user_unset_args`` (empty unless the build passes them);
    # the others are not declared in the Dockerfile (the base image's environment sets them).
    user_unresolved: list[str] = Field(default_factory=empty_list)
    user_unset_args: list[str] = Field(default_factory=empty_list)
    # The final stage's entrypoint switches to another user (gosu, su-exec, setpriv, ...):
    # what does it and where (set by the collector, which reads the entrypoint script).
    entrypoint_drop: str | None = None
    instructions: list[Instruction] = Field(default_factory=empty_list)


class ParseError(GatekeeperModel):
    line: int = Field(ge=1)
    message: str


class Dockerfile(GatekeeperModel):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    directives: dict[str, str] = Field(default_factory=dict)
    global_args: list[KeyValue] = Field(default_factory=empty_list)
    # The ARGs before the first FROM
    preamble: list[Instruction] = Field(default_factory=empty_list)
    stages: list[Stage] = Field(default_factory=empty_list)
    # The file cannot be read at all (size, encoding, directives, no build stage): no stages.
    parse_error: ParseError | None = None
    # Instructions BuildKit would reject; the rest of the file is read and audited.
    instruction_errors: list[ParseError] = Field(default_factory=empty_list)


class Layer(GatekeeperModel):
    digest: str  # sha256:...
    size: int = Field(ge=0)
    media_type: str | None = None
    # Files in the layer whose names say "credential" (id_rsa, .npmrc, .env, ...).
    secret_files: list[str] = Field(default_factory=empty_list)


class Package(GatekeeperModel):
    name: str
    version: str | None = None
    purl: str | None = None


class ImageEnv(GatekeeperModel):
    name: str
    value: str  # redacted when ``secret`` is set
    secret: RedactedValue | None = None


class Image(GatekeeperModel):
    reference: str  # as given: oci:DIR[:TAG] or docker-archive:FILE
    format: str  # "oci-layout", "oci-archive" or "docker-archive"
    name: str | None = None  # the tag / ref name, when the layout names one
    manifest_digest: str | None = None  # sha256:...; None for a legacy docker-save archive
    index_digest: str | None = None  # a multi-platform index the manifest was chosen from
    config_digest: str
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None
    user: str | None = None
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    working_dir: str | None = None
    exposed_ports: list[str] = Field(default_factory=empty_list)
    env: list[ImageEnv] = Field(default_factory=empty_list)
    # Secret-looking build arguments or tokens left in the config's history (``|1 TOKEN=...``).
    history_secrets: list[ImageEnv] = Field(default_factory=empty_list)
    # Secret-looking arguments of the config's Entrypoint and Cmd (``Cmd[2]``), kept redacted.
    command_secrets: list[ImageEnv] = Field(default_factory=empty_list)
    labels: dict[str, str] = Field(default_factory=dict)  # secret-looking values redacted
    label_secrets: list[ImageEnv] = Field(default_factory=empty_list)
    layers: list[Layer] = Field(default_factory=empty_list)
    total_size: int = Field(default=0, ge=0)
    base_name: str | None = None
    base_digest: str | None = None
    sbom_format: str | None = None  # "cyclonedx" or "spdx" when an SBOM was found
    sbom_source: str | None = None
    packages: list[Package] = Field(default_factory=empty_list)


class ContainerEvidence(GatekeeperModel):
    schema_version: int = 1
    dockerfiles: list[Dockerfile] = Field(default_factory=empty_list)
    image: Image | None = None
    notes: list[str] = Field(default_factory=empty_list)
