"""Dependency evidence: every resolved package of every lockfile, the base, the diff, OSV matches.

Evidence records; it never decides. Audits in ``gatekeeper/audit/deps.py`` read it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

Ecosystem = Literal["PyPI", "npm", "Go", "crates.io", "RubyGems", "Maven", "Packagist"]


class Package(GatekeeperModel):
    """One resolved (or, in a file meant to pin, unresolved) package entry."""

    ecosystem: Ecosystem
    name: str  # as the ecosystem normalises it (PEP 503 for PyPI, group:artifact for Maven)
    version: str | None = None  # None: the entry names no single version
    spec: str | None = None  # the requirement as written when it is not one exact version
    purl: str
    # "alg:hex" for file digests (sha1, sha256, sha384, sha512), "h1:base64" for Go,
    # sorted; empty when the entry has none.
    hashes: list[str] = Field(default_factory=empty_list)
    # "registry:URL", "git:URL", "url:URL" or "path:PATH".
    source: str
    file: str
    line: int = Field(ge=1)
    direct: bool = False
    pinning: bool = True  # the file is meant to pin exact versions (a lock or requirements file)
    hash_supported: bool = False  # the format can carry an integrity hash for this entry
    depends_on: list[str] = Field(default_factory=empty_list)  # names, as the lock lists them
    # "name@version": the version each dependency of this entry resolves to, where the
    # lockfile records it (npm install paths, Cargo "name version", yarn descriptors, pnpm
    # and uv); empty where it does not. Names are split at the last "@".
    uses: list[str] = Field(default_factory=empty_list)
    # File name -> its hashes ("alg:hex"), where the lockfile names the files it hashes
    # (poetry.lock, uv.lock, pdm.lock, pylock.toml): a file of the same name under another
    # hash is a re-hash even while other files keep theirs. Empty where it names none.
    file_hashes: dict[str, list[str]] = Field(default_factory=dict)
    # The lockfile records that the package runs code when it is installed (npm's
    # ``hasInstallScript``, pnpm's ``requiresBuild``).
    install_script: bool = False
    # The lockfile records no location for the artifact (a package-lock entry without
    # ``resolved``, as npm writes some): npm fetches name@version from the registry its
    # configuration names, so the source is the configuration's, not the entry's.
    registry_implied: bool = False


class Project(GatekeeperModel):
    """One of the repository's own projects as a lockfile records it (the root, a workspace
    member, a pnpm importer, a Cargo or uv workspace crate): not a package, but a dependent,
    with the version each of its dependencies resolves to."""

    file: str
    name: str  # as the lockfile names it: "." for the root, a member's path or crate name
    line: int = Field(ge=1)
    uses: list[str] = Field(default_factory=empty_list)  # "name@version"


class Declared(GatekeeperModel):
    """A dependency as a manifest declares it (``role="manifest"``) or as a lockfile records
    the manifest it was made from (``role="lock"``: package-lock's root, pnpm importers)."""

    ecosystem: Ecosystem
    name: str
    spec: str
    file: str
    line: int = Field(ge=1)
    role: Literal["manifest", "lock"] = "manifest"
    # PEP 508 for pyproject [project]; "poetry" for [tool.poetry]; "npm" for package.json.
    syntax: Literal["pep508", "poetry", "npm", "go", "none"] = "none"


InstallHookKind = Literal["npm-script", "setup-py", "build-system", "gem-extension"]


class InstallHook(GatekeeperModel):
    """Code of the repository that runs when it, or a package built from it, is installed:
    a package.json lifecycle script, a ``setup.py``, a ``pyproject.toml`` ``[build-system]``,
    a gemspec's native ``extensions``. Recorded on both sides of a range, so that a change
    can be seen; never run."""

    kind: InstallHookKind
    file: str
    line: int = Field(ge=1)
    # npm: the script's name ("postinstall"); setup-py: "setup.py"; build-system:
    # "build-system"; gem-extension: the gemspec's file name.
    name: str
    # What runs, as written: the npm script, the build backend and its requirements, the
    # gemspec's extensions (bounded, credentials in URLs redacted); "" for setup.py.
    command: str = ""
    # sha256 of the code it runs, where that is a file of the repository (setup.py, the
    # script file an npm script runs with node/sh/python, a gem's extconf.rb).
    digest: str | None = None
    # The lines of that code that reach the network, run processes, read credentials or
    # write files (bounded; credentials in URLs redacted): what the audit judges.
    code: list[str] = Field(default_factory=empty_list)


class ParseProblem(GatekeeperModel):
    file: str
    line: int = Field(ge=1)
    message: str


class DepsSnapshot(GatekeeperModel):
    """Everything read from one tree (the working tree, or the base commit's tree)."""

    files: list[str] = Field(default_factory=empty_list)  # every manifest / lockfile read
    packages: list[Package] = Field(default_factory=empty_list)
    declared: list[Declared] = Field(default_factory=empty_list)
    projects: list[Project] = Field(default_factory=empty_list)
    errors: list[ParseProblem] = Field(default_factory=empty_list)
    notes: list[str] = Field(default_factory=empty_list)
    install_hooks: list[InstallHook] = Field(default_factory=empty_list)
    # Lockfiles of formats gatekeeper does not read: "path: what it is" (its packages are
    # not audited, and the audit says so).
    unsupported: list[str] = Field(default_factory=empty_list)
    # The registry settings of package-manager configuration in the repository (``.npmrc``
    # ``registry`` and ``@scope:registry``): "path:line: key=value", URL credentials
    # redacted. Where an entry's registry is implied, this is where it comes from.
    registry_config: list[str] = Field(default_factory=empty_list)


# How versions were compared: "single" (one version of the name on each side), "dependents"
# (what each dependent gets, as the lockfile records it) or "highest" (several versions and
# no record of who gets which: the highest is compared).
CompareBasis = Literal["single", "dependents", "highest"]
ChangeKind = Literal["added", "removed", "upgraded", "downgraded", "hash-changed", "source-changed"]


class DepChange(GatekeeperModel):
    kind: ChangeKind
    ecosystem: Ecosystem
    name: str
    purl: str
    file: str
    line: int | None = Field(default=None, ge=1)
    base_version: str | None = None
    head_version: str | None = None
    base_value: str | None = None  # hashes or source on the base (hash-/source-changed)
    head_value: str | None = None
    # hash-changed where the lockfile names its files: the file that changed its hash.
    artifact: str | None = None
    basis: CompareBasis | None = None  # how the versions were compared (upgraded/downgraded)
    # basis "dependents": who now gets a lower version ("name@version", or "project:NAME"
    # for one of the repository's own projects).
    dependents: list[str] = Field(default_factory=empty_list)
    # hash-changed with no hash left: the entry also lost the URL it was fetched from (npm
    # writes package-lock entries so), its base came from the default registry, and the
    # repository's configuration names no other registry. npm then fetches the same version
    # from the same registry, whose published versions cannot be replaced, without checking
    # a digest: weaker verification, not another artifact.
    registry_implied: bool = False


class Vulnerability(GatekeeperModel):
    """One OSV advisory matched to one package entry (aliases merged)."""

    id: str
    aliases: list[str] = Field(default_factory=empty_list)
    summary: str = ""
    ecosystem: Ecosystem
    name: str
    version: str
    purl: str
    file: str
    line: int = Field(ge=1)
    severity: Literal["info", "low", "medium", "high", "critical"]
    score: float | None = None
    vector: str | None = None
    fixed: list[str] = Field(default_factory=empty_list)


class DepsEvidence(GatekeeperModel):
    schema_version: Literal[1] = 1
    tree: DepsSnapshot
    base_ref: str | None = None
    base: DepsSnapshot | None = None
    changes: list[DepChange] = Field(default_factory=empty_list)
    osv: str | None = None  # "db:<sha256>" or "api:<url>" when vulnerabilities were matched
    vulnerabilities: list[Vulnerability] = Field(default_factory=empty_list)
    notes: list[str] = Field(default_factory=empty_list)
