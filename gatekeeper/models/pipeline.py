"""Pipeline evidence: the build controller as recorded from the tree.

Every pipeline file (GitHub Actions workflows and composite actions, Jenkinsfiles, GitLab
CI configuration, Dockerfiles and common build scripts) is listed with its sha256 and size.
Workflows, Jenkinsfiles and GitLab CI files are also parsed into models whose every key
carries its 1-based line. A file that cannot be parsed is recorded with ``parse_error``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

FileKind = Literal[
    "github-workflow", "github-action", "jenkinsfile", "gitlab-ci", "dockerfile", "build-script"
]


class ParseError(GatekeeperModel):
    message: str
    line: int | None = Field(default=None, ge=1)


class PipelineFile(GatekeeperModel):
    path: str
    kind: FileKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    parse_error: ParseError | None = None


class KeyValue(GatekeeperModel):
    """One entry of ``env:``, ``with:``, ``credentials:``...; ``value`` as written (or None)."""

    key: str
    value: str | None = None
    line: int = Field(ge=1)
    is_literal: bool = True  # False when the YAML value is a mapping or sequence
    value_line: int | None = Field(default=None, ge=1)  # first line of the value text
    value_is_block: bool = False  # a `|` block: each newline of the value is one more line

    def line_at(self, offset: int) -> int:
        """The line of character ``offset`` of the value."""
        start = self.value_line or self.line
        if self.value_is_block and self.value is not None:
            return start + self.value.count("\n", 0, max(0, offset))
        return start


class Trigger(GatekeeperModel):
    """An ``on:`` event; ``types``/``branches`` filters as written."""

    event: str
    line: int = Field(ge=1)
    types: list[str] = Field(default_factory=empty_list)
    branches: list[str] = Field(default_factory=empty_list)
    tags: list[str] = Field(default_factory=empty_list)
    workflows: list[str] = Field(default_factory=empty_list)  # `workflow_run: workflows:`


class Input(GatekeeperModel):
    """A declared input: of ``workflow_call``/``workflow_dispatch``, or of an action."""

    name: str
    line: int = Field(ge=1)
    source: Literal["workflow_call", "workflow_dispatch", "action"]
    type: str | None = None  # string, boolean, number, choice, environment
    default: str | None = None


class Permissions(GatekeeperModel):
    """``permissions:`` as written: ``write-all``/``read-all``/``{}`` or scope -> level."""

    line: int = Field(ge=1)
    preset: str | None = None  # "write-all", "read-all", or None for a mapping
    scopes: list[KeyValue] = Field(default_factory=empty_list)


class Container(GatekeeperModel):
    """A job ``container:`` or one of its ``services:``."""

    name: str | None = None  # the service id; None for the job container
    image: str | None = None
    line: int = Field(ge=1)
    image_line: int = Field(ge=1)
    credentials: list[KeyValue] = Field(default_factory=empty_list)
    env: list[KeyValue] = Field(default_factory=empty_list)


class Step(GatekeeperModel):
    index: int = Field(ge=0)
    line: int = Field(ge=1)
    id: str | None = None
    name: str | None = None
    if_: str | None = Field(default=None, alias="if")
    uses: str | None = None
    uses_line: int | None = Field(default=None, ge=1)
    run: str | None = None
    run_line: int | None = Field(default=None, ge=1)  # line of the first script line
    run_is_block: bool = False  # `run: |`: each newline of the script is one more line
    shell: str | None = None
    with_: list[KeyValue] = Field(default_factory=empty_list, alias="with")
    env: list[KeyValue] = Field(default_factory=empty_list)
    key_lines: dict[str, int] = Field(default_factory=dict)  # every key of the step
    working_directory: str | None = None
    # The comment after `uses:` on its line (the version of a sha pin: `# v4.1.1`).
    uses_comment: str | None = None
    # Steps of a `parallel:` block share the block's position in the list (None: sequential).
    parallel_group: int | None = Field(default=None, ge=0)
    background: bool = False
    # `wait`, `wait-all` and `cancel` steps control background steps and run nothing.
    control: Literal["wait", "wait-all", "cancel"] | None = None

    def run_line_at(self, offset: int) -> int:
        """The line of character ``offset`` of the ``run:`` script."""
        start = self.run_line or self.line
        if self.run_is_block and self.run is not None:
            return start + self.run.count("\n", 0, max(0, offset))
        return start


class Job(GatekeeperModel):
    id: str
    line: int = Field(ge=1)
    name: str | None = None
    if_: str | None = Field(default=None, alias="if")
    runs_on: list[str] = Field(default_factory=empty_list)  # labels as written (`group:NAME` too)
    runs_on_line: int | None = Field(default=None, ge=1)
    # The label sets the job really runs on: one per matrix combination (after `include` and
    # `exclude`), `${{ matrix.* }}` substituted; expressions that cannot be resolved stay text.
    runner_sets: list[list[str]] = Field(default_factory=empty_list)
    needs: list[str] = Field(default_factory=empty_list)
    outputs: list[KeyValue] = Field(default_factory=empty_list)
    # `strategy.matrix` expanded as GitHub expands it (None: no matrix). A matrix given by an
    # expression (`${{ fromJSON(...) }}`) cannot be expanded: ``matrix_expression`` holds it.
    matrix: list[dict[str, Any]] | None = None
    matrix_expression: str | None = None
    matrix_line: int | None = Field(default=None, ge=1)
    permissions: Permissions | None = None
    env: list[KeyValue] = Field(default_factory=empty_list)
    container: Container | None = None
    services: list[Container] = Field(default_factory=empty_list)
    steps: list[Step] = Field(default_factory=empty_list)
    # A reusable workflow call (`jobs.<id>.uses`).
    uses: str | None = None
    uses_line: int | None = Field(default=None, ge=1)
    with_: list[KeyValue] = Field(default_factory=empty_list, alias="with")
    secrets: Literal["inherit"] | list[KeyValue] | None = None
    secrets_line: int | None = Field(default=None, ge=1)
    environment: str | None = None
    key_lines: dict[str, int] = Field(default_factory=dict)  # every key of the job


class Workflow(GatekeeperModel):
    """A GitHub Actions workflow (``kind == "workflow"``) or composite action (``"action"``)."""

    path: str
    kind: Literal["workflow", "action"] = "workflow"
    name: str | None = None
    run_name: str | None = None
    inputs: list[Input] = Field(default_factory=empty_list)
    # `workflow_call` outputs, or a composite action's `outputs` (``value`` expressions).
    outputs: list[KeyValue] = Field(default_factory=empty_list)
    triggers: list[Trigger] = Field(default_factory=empty_list)
    triggers_line: int | None = Field(default=None, ge=1)
    permissions: Permissions | None = None
    env: list[KeyValue] = Field(default_factory=empty_list)
    jobs: list[Job] = Field(default_factory=empty_list)
    # For composite and docker actions: `runs.using` and `runs.image`.
    runs_using: str | None = None
    runs_image: str | None = None
    runs_image_line: int | None = Field(default=None, ge=1)
    key_lines: dict[str, int] = Field(default_factory=dict)  # top-level keys


class Interpolation(GatekeeperModel):
    """A Groovy ``${expr}`` or ``$name`` inside a double-quoted string."""

    expr: str
    line: int = Field(ge=1)


class ShellStep(GatekeeperModel):
    """A Jenkins ``sh``/``bat``/``powershell``/``pwsh`` step with a literal script."""

    step: str
    line: int = Field(ge=1)
    quote: Literal["'", '"', "'''", '"""', "/", "none"]
    text: str  # the script as written between the quotes
    interpolations: list[Interpolation] = Field(default_factory=empty_list)


class CredentialBinding(GatekeeperModel):
    """Variables that hold a credential: `withCredentials` bindings or ``X = credentials('id')``."""

    variables: list[str]
    credentials_id: str | None = None
    line: int = Field(ge=1)
    source: Literal["withCredentials", "credentials"]


class LibraryRef(GatekeeperModel):
    """A shared library load: ``@Library('name@ref')`` or ``library 'name@ref'``."""

    spec: str
    name: str
    version: str | None = None
    line: int = Field(ge=1)
    form: Literal["annotation", "step"]


class Jenkinsfile(GatekeeperModel):
    path: str
    style: Literal["declarative", "scripted"]
    shell_steps: list[ShellStep] = Field(default_factory=empty_list)
    credentials: list[CredentialBinding] = Field(default_factory=empty_list)
    libraries: list[LibraryRef] = Field(default_factory=empty_list)
    # Declared `parameters { }`: key = name, value = the parameter step (string, booleanParam...).
    parameters: list[KeyValue] = Field(default_factory=empty_list)
    env_assignments: list[KeyValue] = Field(default_factory=empty_list)  # `environment { X = ... }`


class GitlabInclude(GatekeeperModel):
    kind: Literal["local", "remote", "project", "template", "component"]
    target: str
    ref: str | None = None
    line: int = Field(ge=1)
    project: str | None = None


class ScriptLine(GatekeeperModel):
    text: str
    line: int = Field(ge=1)
    is_block: bool = False  # a `|` block: each newline of the text is one more line


class GitlabJob(GatekeeperModel):
    name: str
    line: int = Field(ge=1)
    image: str | None = None
    image_line: int | None = Field(default=None, ge=1)
    # before_script, script, after_script
    scripts: list[ScriptLine] = Field(default_factory=empty_list)
    variables: list[KeyValue] = Field(default_factory=empty_list)


class GitlabCi(GatekeeperModel):
    path: str
    included_from: str | None = None  # the file whose local include brought this one in
    includes: list[GitlabInclude] = Field(default_factory=empty_list)
    jobs: list[GitlabJob] = Field(default_factory=empty_list)
    variables: list[KeyValue] = Field(default_factory=empty_list)
    default_scripts: list[ScriptLine] = Field(default_factory=empty_list)
    default_image: str | None = None  # top-level `image:` or `default: image:`
    default_image_line: int | None = Field(default=None, ge=1)


class BuildScript(GatekeeperModel):
    """A build script's network and TLS-related command lines (continuations joined)."""

    path: str
    commands: list[ScriptLine] = Field(default_factory=empty_list)


class PipelineEvidence(GatekeeperModel):
    schema_version: Literal[1] = 1
    files: list[PipelineFile] = Field(default_factory=empty_list)
    workflows: list[Workflow] = Field(default_factory=empty_list)
    jenkinsfiles: list[Jenkinsfile] = Field(default_factory=empty_list)
    gitlab: list[GitlabCi] = Field(default_factory=empty_list)
    build_scripts: list[BuildScript] = Field(default_factory=empty_list)
    notes: list[str] = Field(default_factory=empty_list)
