"""Pipeline rules shared by every CI format, and the walks over pipeline evidence.

- ``pipeline/parse-error``: a pipeline file that could not be parsed (with its line).
- ``pipeline/config-drift``: a file's sha256 differs from ``approved_pipeline_digests``.
- ``pipeline/remote-script``: download-and-execute in one go (``curl … | sh``, ``iex (iwr …)``)
  in GitHub ``run:`` steps, GitLab scripts, Jenkins shell steps and build scripts.
- ``pipeline/insecure-fetch``: TLS or signature checks switched off, in the same places and in
  ``env:``/``variables:`` (``GIT_SSL_NO_VERIFY``, ``NODE_TLS_REJECT_UNAUTHORIZED=0``...).
- ``pipeline/hardcoded-credentials``: a literal password or token in a workflow's ``env``,
  ``with`` or ``container.credentials`` (and GitLab ``variables``, Jenkins ``environment``).

The walks: ``all_scripts`` and ``env_entries`` yield the shell scripts and environment entries
of every CI format (a new format adds its own generator), and ``WorkflowAudit`` visits GitHub
workflows with one hook per level (workflow, job, step) whose default descends one level, so
an audit overrides only the level it inspects.
"""

from __future__ import annotations

import functools
import hashlib
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from gatekeeper._testpaths import TEST_DATA_DIRS
from gatekeeper.audit._shellrisk import FALSEY, insecure_fetch, remote_script
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import (
    Container,
    GitlabCi,
    Jenkinsfile,
    Job,
    KeyValue,
    PipelineEvidence,
    Step,
    Workflow,
)
from gatekeeper.models.pipeline import ScriptLine as RecordedLine
from gatekeeper.secrets import (
    assess_value,
    is_credential_value,
    redact,
    secret_assignment,
    value_fingerprint,
)

# Environment variables that switch verification off, and the values that do it.
_INSECURE_ENV = {
    "GIT_SSL_NO_VERIFY": re.compile(r"^(?!(?:false|0|no|off|)$).+", re.IGNORECASE),
    "NODE_TLS_REJECT_UNAUTHORIZED": re.compile(r"^0$"),
    "PYTHONHTTPSVERIFY": re.compile(r"^0$"),
    "PIP_TRUSTED_HOST": re.compile(r"^.+$"),
    "NPM_CONFIG_STRICT_SSL": re.compile(r"^" + FALSEY + r"$", re.IGNORECASE),
    "YARN_STRICT_SSL": re.compile(r"^" + FALSEY + r"$", re.IGNORECASE),
    "CURL_INSECURE": re.compile(r"^(?:1|true|yes)$", re.IGNORECASE),
}
_COMMENTS = ("#", "REM ", "rem ", "::")
# Screens: every pattern of ``remote_script`` needs a fetcher or a PowerShell download word,
# every pattern of ``insecure_fetch`` one of these words (the tests hold both sides).
_MAYBE_REMOTE = re.compile(
    r"curl|wget|fetch|http|aria2c|iex|invoke|iwr|irm|download|webclient", re.IGNORECASE
)
_MAYBE_INSECURE = re.compile(
    r"curl|insecure|certificate|tls|trusted|gpg|unauthenticated|strict.ssl|sslverify|"
    r"ssl_no_verify|reject_unauthorized|httpsverify|verify.ssl",
    re.IGNORECASE,
)
# The screens' words, for ASCII text, where ``str.lower`` and ``in`` agree with the regexes
# (``strict.ssl`` and ``verify.ssl`` need the regex: the dot is any character but a newline).
_REMOTE_WORDS = tuple(_MAYBE_REMOTE.pattern.split("|"))
_INSECURE_WORDS = tuple(w for w in _MAYBE_INSECURE.pattern.split("|") if "." not in w)


def screens(text: str) -> tuple[bool, bool]:
    """Whether ``text`` may hold a download-and-execute, and a switched-off TLS check.

    (``_MAYBE_REMOTE.search(text)``, ``_MAYBE_INSECURE.search(text)``) as booleans, the
    first also requiring ``_may_run_download``. NOTE: for ASCII text a lower-cased copy and
    substring checks, several times faster than the case-insensitive alternations; any
    other text (``re.IGNORECASE`` also folds non-ASCII letters such as the Kelvin sign)
    goes through the regexes alone.
    """
    if not text.isascii():
        return _MAYBE_REMOTE.search(text) is not None, _MAYBE_INSECURE.search(text) is not None
    lower = text.lower()
    remote = any(word in lower for word in _REMOTE_WORDS)
    insecure = any(word in lower for word in _INSECURE_WORDS) or (
        "ssl" in lower
        and ("strict" in lower or "verify" in lower)
        and _MAYBE_INSECURE.search(text) is not None
    )
    if remote:
        remote = _may_run_download(text, lower)
    return remote, insecure


def _may_run_download(text: str, lower: str) -> bool:
    """Whether ``text`` has what every download-and-execute pattern of ``_shellrisk`` needs
    besides a fetcher: a pipe, a substitution (``$(``, ``<(``, a backtick) or PowerShell's
    ``iex``/``Invoke-Expression``. ``lower`` is ``text`` lower-cased (ASCII only)."""
    return (
        "|" in text or "(" in text or "`" in text or "iex" in lower or "invoke-expression" in lower
    )


@dataclass(frozen=True)
class ScriptLine:
    """One logical shell line (continuations joined) with its 1-based line."""

    text: str
    line: int


def _keep(out: list[ScriptLine], pending: list[str], line: int, comments: tuple[str, ...]) -> None:
    if len(pending) == 1:  # NOTE: most lines are not continued; the join would give the same
        text = pending[0].strip()
    else:
        text = " ".join(part.strip() for part in pending).strip()
    if text and not text.startswith(comments):
        out.append(ScriptLine(text, line))


def logical_lines(script: str, first_line: int, exact: bool = True) -> list[ScriptLine]:
    """Split a script into logical lines; comment lines are dropped.

    With ``exact`` false (a folded YAML scalar) every line is reported at ``first_line``.
    """
    # NOTE: several audits split the same step; the split is kept (lines are immutable).
    return list(_logical_lines(script, first_line, exact))


@functools.lru_cache(maxsize=4096)
def _logical_lines(script: str, first_line: int, exact: bool) -> tuple[ScriptLine, ...]:
    out: list[ScriptLine] = []
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(script.split("\n")):
        if not pending:
            start = first_line + offset if exact else first_line
        stripped = raw.rstrip()
        if stripped.endswith(("\\", "`")):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        _keep(out, pending, start, _COMMENTS)
        pending = []
    if pending:
        _keep(out, pending, start, ("#",))
    return tuple(out)


def insecure_env(entry: KeyValue) -> bool:
    pattern = _INSECURE_ENV.get(entry.key.upper())
    return bool(
        pattern
        and entry.value is not None
        and entry.is_literal
        and pattern.match(entry.value.strip())
    )


@dataclass(frozen=True)
class Script:
    """A shell script somewhere in the pipeline evidence."""

    path: str
    where: str  # for people, e.g. "job build, step #3"
    scope: str  # for fingerprints: no line and no step position, e.g. "job build"
    lines: list[ScriptLine]


def step_script(step: Step) -> list[ScriptLine]:
    if step.run is None:
        return []
    return logical_lines(step.run, step.run_line or step.line, exact=step.run_is_block)


def _recorded_lines(scripts: Iterable[RecordedLine]) -> list[ScriptLine]:
    return [line for s in scripts for line in logical_lines(s.text, s.line, s.is_block)]


def job_containers(job: Job) -> list[Container]:
    """The job's container (if any) and its services, in that order."""
    return ([job.container] if job.container else []) + list(job.services)


def _workflow_scripts(workflows: list[Workflow]) -> Iterator[Script]:
    for wf in workflows:
        for job in wf.jobs:
            for step in job.steps:
                if step.run is not None:
                    label = step.id or step.name or f"#{step.index}"
                    where = f"job {job.id}, step {label}"
                    yield Script(wf.path, where, f"job {job.id}", step_script(step))


def _gitlab_scripts(configs: list[GitlabCi]) -> Iterator[Script]:
    for gl in configs:
        if gl.default_scripts:
            yield Script(gl.path, "default", "default", _recorded_lines(gl.default_scripts))
        for gjob in gl.jobs:
            where = f"job {gjob.name}"
            yield Script(gl.path, where, where, _recorded_lines(gjob.scripts))


def _jenkins_scripts(jenkinsfiles: list[Jenkinsfile]) -> Iterator[Script]:
    for jf in jenkinsfiles:
        for shell in jf.shell_steps:
            lines = logical_lines(shell.text, shell.line)
            yield Script(jf.path, f"{shell.step} step", shell.step, lines)


def all_scripts(evidence: PipelineEvidence) -> Iterator[Script]:
    """Every shell script of every format, in a deterministic order."""
    yield from _workflow_scripts(evidence.workflows)
    yield from _gitlab_scripts(evidence.gitlab)
    yield from _jenkins_scripts(evidence.jenkinsfiles)
    for bs in evidence.build_scripts:
        yield Script(bs.path, "script", "script", [ScriptLine(c.text, c.line) for c in bs.commands])


EnvEntry = tuple[str, str, str, KeyValue]  # (path, where, scope, entry)


def _job_env_entries(path: str, job: Job) -> Iterator[EnvEntry]:
    for entry in job.env:
        yield path, f"job {job.id} env", f"job {job.id} env", entry
    for container in job_containers(job):
        where = f"job {job.id} {container.name or 'container'} env"
        for entry in container.env:
            yield path, where, where, entry
    for step in job.steps:
        where = f"job {job.id} step {step.id or f'#{step.index}'} env"
        for entry in step.env:
            yield path, where, f"job {job.id} step env", entry


def _workflow_env_entries(workflows: list[Workflow]) -> Iterator[EnvEntry]:
    for wf in workflows:
        for entry in wf.env:
            yield wf.path, "env", "env", entry
        for job in wf.jobs:
            yield from _job_env_entries(wf.path, job)


def _gitlab_env_entries(configs: list[GitlabCi]) -> Iterator[EnvEntry]:
    for gl in configs:
        for entry in gl.variables:
            yield gl.path, "variables", "variables", entry
        for gjob in gl.jobs:
            where = f"job {gjob.name} variables"
            for entry in gjob.variables:
                yield gl.path, where, where, entry


def env_entries(evidence: PipelineEvidence) -> Iterator[EnvEntry]:
    """(path, where, scope, entry) for every env/variables entry of every format.

    ``where`` is for people; ``scope`` is for fingerprints (no step position in it).
    """
    yield from _workflow_env_entries(evidence.workflows)
    yield from _gitlab_env_entries(evidence.gitlab)
    for jf in evidence.jenkinsfiles:
        for entry in jf.env_assignments:
            yield jf.path, "environment", "environment", entry


class Occurrences:
    """Stable fingerprint keys: the same text twice in one file gets ``#2``, never a line."""

    def __init__(self) -> None:
        self._seen: Counter[tuple[str, str]] = Counter()

    def key(self, path: str, text: str) -> str:
        self._seen[(path, text)] += 1
        count = self._seen[(path, text)]
        return text if count == 1 else f"{text}#{count}"


# Directories that hold test fixtures: an action.yml there that no workflow of the
# repository uses is test data (zizmor keeps deliberately vulnerable actions in them).
_FIXTURE_DIRS = TEST_DATA_DIRS | {"test", "tests", "testing", "__tests__", "snapshots"}
_LOCAL_USES = re.compile(r"^(?:\./|\$/)(.*?)/?$")


def _local_targets(evidence: PipelineEvidence) -> set[str]:
    """Directories (and workflow files) that local ``uses:`` of the repository name."""
    targets: set[str] = set()
    for wf in evidence.workflows:
        for job in wf.jobs:
            for uses in (job.uses, *(step.uses for step in job.steps)):
                match = _LOCAL_USES.match((uses or "").strip())
                if match:
                    targets.add(match.group(1).split("@", 1)[0])
    return targets


T = TypeVar("T")


def per_evidence(compute: Callable[[PipelineEvidence], T]) -> Callable[[PipelineEvidence], T]:
    """``compute`` run once per evidence object and shared by every audit of the run.

    The cache holds the evidence itself (the last two), so an id is never reused while
    cached; the value returned is shared, so callers must not change it.
    """
    cache: list[tuple[PipelineEvidence, T]] = []

    @functools.wraps(compute)
    def cached(evidence: PipelineEvidence) -> T:
        for seen, value in cache:
            if seen is evidence:
                return value
        value = compute(evidence)
        cache.insert(0, (evidence, value))
        del cache[2:]
        return value

    return cached


@per_evidence
def fixture_actions(evidence: PipelineEvidence) -> dict[str, str]:
    """``action.yml`` files in test-fixture directories that no local ``uses:`` names: path ->
    the fixture directory."""
    used = _local_targets(evidence)
    out: dict[str, str] = {}
    for item in evidence.files:
        if item.kind != "github-action":
            continue
        parts = item.path.split("/")
        directory = "/".join(parts[:-1])
        fixture = next((p for p in parts[:-1] if p.lower() in _FIXTURE_DIRS), None)
        if fixture is not None and directory not in used:
            out[item.path] = "/".join(parts[: parts.index(fixture) + 1]) + "/"
    return out


def demote_fixtures(evidence: PipelineEvidence, findings: Iterable[Finding]) -> Iterator[Finding]:
    """Findings in test-fixture actions, at low, saying why: a fixture deliberately shows the
    problem, and nothing in this repository runs it; the finding is kept, never hidden."""
    fixtures = fixture_actions(evidence) if evidence.files else {}
    for finding in findings:
        where = fixtures.get(finding.path or "")
        if where is None or finding.severity == Severity.INFO:
            yield finding
            continue
        yield finding.model_copy(
            update={
                "severity": Severity.LOW,
                "message": f"{finding.message} (a test fixture under `{where}` that no "
                "workflow of this repository uses)",
            }
        )


class WorkflowAudit:
    """Base of the audits over GitHub workflows and actions: a walk with a hook per level.

    ``audit_workflow`` runs once per workflow (with a fresh ``Occurrences``), ``audit_job``
    once per job and ``audit_step`` once per step; each default descends one level, so an
    audit overrides the level it inspects (and calls ``super()`` to keep descending).
    ``workflows_only`` skips composite and docker actions (``kind: action``). An audit that
    needs the whole evidence overrides ``findings``; ``run`` lowers what it finds in test
    fixtures (``demote_fixtures``).
    """

    evidence_kind: ClassVar[str] = "pipeline"
    workflows_only: ClassVar[bool] = False

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from demote_fixtures(evidence, self.findings(evidence, ctx))

    def findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for wf in evidence.workflows:
            if self.workflows_only and wf.kind != "workflow":
                continue
            yield from self.audit_workflow(wf, Occurrences())

    def audit_workflow(self, wf: Workflow, occurrences: Occurrences) -> Iterator[Finding]:
        for job in wf.jobs:
            yield from self.audit_job(wf, job, occurrences)

    def audit_job(self, wf: Workflow, job: Job, occurrences: Occurrences) -> Iterator[Finding]:
        for step in job.steps:
            yield from self.audit_step(wf, job, step, occurrences)

    def audit_step(
        self, wf: Workflow, job: Job, step: Step, occurrences: Occurrences
    ) -> Iterator[Finding]:
        return iter(())


# --- credentials ------------------------------------------------------------------------------


def literal_credential(key: str, value: str | None, *, any_literal: bool = False) -> bool:
    """A literal (no expression or variable) that the secret classifier judges a credential.

    ``any_literal``: the field holds a credential by definition (a ``secrets:`` input, a
    registry password), so any literal credential value counts, whatever its name.
    """
    if value is None:
        return False
    if any_literal:
        return is_credential_value(value)
    return secret_assignment(key, value)


# --- audits -----------------------------------------------------------------------------------

PARSE_ERROR = Rule(
    "pipeline/parse-error",
    Severity.HIGH,
    summary="a pipeline file cannot be parsed (the finding names the line)",
    help="A file that does not parse is not audited, so nothing in it can be vouched for; the "
    "CI system would most likely reject it too. Fix the syntax at the line named (invalid "
    "YAML, an unterminated Groovy string, a GitLab local include that does not exist). A file "
    "over the size limit or a symbolic link is never parsed: make it a regular file of "
    "reasonable size.",
)
CONFIG_DRIFT = Rule(
    "pipeline/config-drift",
    Severity.HIGH,
    summary="a pipeline file's digest differs from the digest approved in the policy",
    help="The policy pins the build controller to reviewed content; another digest means the "
    "pipeline changed without a new approval, or an approved file is gone. Review the change, "
    "then record the new digest in `approved_pipeline_digests` (`gatekeeper collect pipeline` "
    "prints each file's sha256).",
)
REMOTE_SCRIPT = Rule(
    "pipeline/remote-script",
    Severity.MEDIUM,
    summary="a step or stage downloads and executes a script in one go (`curl … | sh`, "
    "`wget -O- … | bash`, `iex (iwr …)`)",
    help="The script runs unverified with the job's secrets and token: whoever controls the "
    "server, its DNS or the network path decides what runs. Download it to a file, check its "
    "sha256 or signature, then run it.",
)
INSECURE_FETCH = Rule(
    "pipeline/insecure-fetch",
    Severity.MEDIUM,
    summary="TLS or signature checks are switched off (`curl -k`, `--insecure`, "
    "`--trusted-host`, `--nogpgcheck`, `--allow-unauthenticated`, `strict-ssl false`, "
    "`GIT_SSL_NO_VERIFY`)",
    help="Without TLS or signature checks anyone on the network path can substitute what the "
    "build downloads and installs. Remove the switch; when a private certificate authority is "
    "the reason, trust it explicitly (a CA file, `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`).",
)
HARDCODED_CREDENTIALS = Rule(
    "pipeline/hardcoded-credentials",
    Severity.HIGH,
    summary="a literal password or token in a workflow (`container.credentials`, `env`, "
    "`with`) rather than a `${{ secrets.* }}` reference (also GitLab `variables` and Jenkins "
    "`environment`)",
    help="A credential written in a pipeline file is readable by everyone who can read the "
    "repository and stays in its history. Revoke it, keep the new value in the CI's secret "
    "store and reference it (`${{ secrets.NAME }}`, a masked GitLab variable, Jenkins "
    "`credentials()`).",
)


class PipelineParseErrors:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(PARSE_ERROR)
    summary: ClassVar[str] = "pipeline files that cannot be parsed"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from demote_fixtures(evidence, self._errors(evidence))

    @staticmethod
    def _errors(evidence: PipelineEvidence) -> Iterator[Finding]:
        for item in evidence.files:
            if item.parse_error is None:
                continue
            yield PARSE_ERROR.finding(
                f"{item.kind} {item.path} cannot be parsed: {item.parse_error.message} "
                "(an unparsed pipeline file is not audited)",
                # NOTE: a file that is not read at all (symlink, oversized) is reported at line 1.
                path=item.path,
                line=item.parse_error.line or 1,
                key="parse-error",
            )


def _hash_in_tree(repo: Path, rel: str) -> str | None:
    """sha256 of a regular file inside ``repo`` (no symlinks followed), or None when absent."""
    path = repo / rel
    if ".." in Path(rel).parts or path.is_symlink() or not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _hashes_in_index(repo: Path, paths: list[str]) -> dict[str, str | None]:
    """sha256 of each regular file staged at ``paths`` (None when none is), one index read."""
    from gatekeeper._git import StagedIndex

    index = StagedIndex(repo)
    try:
        out: dict[str, str | None] = {}
        for rel in paths:
            entry = index.entries.get(rel)
            if entry is None or not stat.S_ISREG(entry[0]):
                out[rel] = None
                continue
            digest = hashlib.sha256()
            index.read(rel, 0, digest)
            out[rel] = digest.hexdigest()
        return out
    finally:
        index.close()


def _unclassified_hashes(ctx: AuditContext, paths: list[str]) -> dict[str, str | None]:
    """The digests of approved files the collector did not record, read by the audit from
    where the evidence came from: the index under ``--staged``, else the tree."""
    if ctx.repo is None or not paths:
        return {}
    if ctx.staged:
        return _hashes_in_index(Path(ctx.repo), paths)
    return {rel: _hash_in_tree(Path(ctx.repo), rel) for rel in paths}


class PipelineConfigDrift:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(CONFIG_DRIFT)
    summary: ClassVar[str] = "pipeline files whose digest differs from the approved one"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        approved = ctx.policy.approved_pipeline_digests
        recorded: dict[str, str | None] = {f.path: f.sha256 for f in evidence.files}
        # SECURITY: an approved file the collector does not classify is still checked; an
        # approval must never be silently ignored.
        recorded |= _unclassified_hashes(ctx, sorted(set(approved) - set(recorded)))
        for path in sorted(approved):
            want = approved[path]
            have = recorded.get(path)
            if have == want:
                continue
            if have is None:
                message = f"{path} is approved (sha256 {want[:12]}…) but missing from the tree"
            else:
                message = (
                    f"{path} has sha256 {have[:12]}…, not the approved {want[:12]}…: "
                    "the build controller changed without a new approval"
                )
            yield CONFIG_DRIFT.finding(message, path=path, key=f"{want}:{have}")


class PipelineScripts:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(REMOTE_SCRIPT, INSECURE_FETCH)
    summary: ClassVar[str] = "download-and-execute and disabled TLS/signature checks in scripts"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from demote_fixtures(evidence, self._findings(evidence, ctx))

    def _findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        occurrences = Occurrences()
        for script in all_scripts(evidence):
            for line in script.lines:
                yield from self._line(script, line, occurrences)
        for path, where, scope, entry in env_entries(evidence):
            if insecure_env(entry):
                yield INSECURE_FETCH.finding(
                    f"{where}: {entry.key}={entry.value} switches TLS or signature verification "
                    "off for every command that follows",
                    path=path,
                    line=entry.line,
                    key=occurrences.key(path, f"env|{scope}|{entry.key}"),
                )

    @staticmethod
    def _line(script: Script, line: ScriptLine, occurrences: Occurrences) -> Iterator[Finding]:
        # NOTE: most lines name no fetcher and no TLS switch; the keyword screens below are a
        # superset of what the patterns of _shellrisk can match, so they only save time.
        remote, insecure = screens(line.text)
        if remote:
            yield from PipelineScripts._remote(script, line, occurrences)
        if insecure:
            yield from PipelineScripts._insecure(script, line, occurrences)

    @staticmethod
    def _remote(script: Script, line: ScriptLine, occurrences: Occurrences) -> Iterator[Finding]:
        label = remote_script(line.text)
        if label is not None:
            yield REMOTE_SCRIPT.finding(
                f"{script.where}: {label} runs whatever the server sends, unverified "
                "(download to a file, check its sha256 or signature, then run it)",
                path=script.path,
                line=line.line,
                key=occurrences.key(script.path, f"rs|{script.scope}|{line.text}"),
            )

    @staticmethod
    def _insecure(script: Script, line: ScriptLine, occurrences: Occurrences) -> Iterator[Finding]:
        label = insecure_fetch(line.text)
        if label is not None:
            yield INSECURE_FETCH.finding(
                f"{script.where}: {label}; a network attacker can substitute what is fetched",
                path=script.path,
                line=line.line,
                key=occurrences.key(script.path, f"if|{script.scope}|{line.text}"),
            )


# A credential site: (where, entry, fingerprint scope or None for ``where``).
_Site = tuple[str, KeyValue, str | None]


def _literal(entries: Iterable[KeyValue], any_literal: bool = False) -> Iterator[KeyValue]:
    for entry in entries:
        if entry.is_literal and literal_credential(entry.key, entry.value, any_literal=any_literal):
            yield entry


def _container_passwords(job: Job) -> Iterator[_Site]:
    for container in job_containers(job):
        where = f"job {job.id} {container.name or 'container'} credentials"
        # A registry password is a secret whatever it looks like; a username is not.
        passwords = [e for e in container.credentials if e.key == "password"]
        for entry in _literal(passwords, any_literal=True):
            yield where, entry, None


def _job_credential_sites(job: Job) -> Iterator[_Site]:
    """Literal credentials of one job: ``with``, ``secrets``, container credentials, steps."""
    for entry in _literal(job.with_):
        yield f"job {job.id} with", entry, None
    if isinstance(job.secrets, list):
        # Everything passed as `secrets:` is a secret: any literal is one in the clear.
        for entry in _literal(job.secrets, any_literal=True):
            yield f"job {job.id} secrets", entry, None
    yield from _container_passwords(job)
    for step in job.steps:
        where = f"job {job.id} step {step.id or f'#{step.index}'} with"
        for entry in _literal(step.with_):
            yield where, entry, f"job {job.id} step with"


class PipelineHardcodedCredentials:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(HARDCODED_CREDENTIALS)
    summary: ClassVar[str] = "literal passwords and tokens in pipeline definitions"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from demote_fixtures(evidence, self._findings(evidence, ctx))

    def _findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        occurrences = Occurrences()
        throwaway = _service_values(evidence)
        for path, where, scope, entry in env_entries(evidence):
            if entry.is_literal and literal_credential(entry.key, entry.value):
                service = throwaway.get((path, where.split(" ", 2)[1] if " " in where else ""), {})
                yield _credential_finding(
                    path, where, entry, scope, occurrences, service.get((entry.value or "").strip())
                )
        for wf in evidence.workflows:
            for job in wf.jobs:
                service = throwaway.get((wf.path, job.id), {})
                for where, entry, site_scope in _job_credential_sites(job):
                    yield _credential_finding(
                        wf.path,
                        where,
                        entry,
                        site_scope,
                        occurrences,
                        service.get((entry.value or "").strip()),
                    )


def _service_values(evidence: PipelineEvidence) -> dict[tuple[str, str], dict[str, str]]:
    """(path, job id) -> literal env values of the job's service containers -> the service.

    A service container (MinIO, Postgres, Redis...) lives for one job and is reachable only
    from it: the credentials it is started with, and the same values the job uses to reach
    it, are throwaway, not secrets of the project.
    """
    out: dict[tuple[str, str], dict[str, str]] = {}
    for wf in evidence.workflows:
        for job in wf.jobs:
            values = {
                (entry.value or "").strip(): service.name or "service"
                for service in job.services
                for entry in service.env
                if entry.is_literal and entry.value
            }
            if values:
                out[(wf.path, job.id)] = values
    return out


def _credential_finding(
    path: str,
    where: str,
    entry: KeyValue,
    scope: str | None,
    occurrences: Occurrences,
    service: str | None = None,
) -> Finding:
    value = (entry.value or "").strip()
    fp_value = value_fingerprint(value)
    if service is not None:
        return HARDCODED_CREDENTIALS.finding(
            f"{where}: {entry.key} holds {redact(value)} (sha256 {fp_value[:12]}…), the "
            f"throwaway credential of the job's own `{service}` service container, which "
            "lives only for this job; keep real credentials in secrets",
            severity=Severity.LOW,
            path=path,
            line=entry.line,
            key=occurrences.key(path, f"{scope or where}|{entry.key}|{fp_value}"),
        )
    # The secrets family's context model: a workflow that is a test fixture is medium.
    verdict = assess_value(HARDCODED_CREDENTIALS.severity, path=path, value=value)
    return HARDCODED_CREDENTIALS.finding(
        f"{where}: {entry.key} holds a literal credential {redact(value)} "
        f"(sha256 {fp_value[:12]}…); use a secret reference such as "
        "${{ secrets.NAME }} or the CI's credential store" + verdict.note(),
        severity=verdict.severity,
        path=path,
        line=entry.line,
        # SECURITY: the key is the value's sha256, never the value.
        key=occurrences.key(path, f"{scope or where}|{entry.key}|{fp_value}"),
    )


# --- secret exfiltration ---------------------------------------------------------------------

SECRET_EXFILTRATION = Rule(
    "pipeline/secret-exfiltration",
    Severity.HIGH,
    summary="a step sends a secret, a token or the runner's environment to a host outside an "
    "allowlist (curl/wget/nc/HTTP clients with `secrets.*`, `GITHUB_TOKEN`, `env`, `printenv`, "
    "`/proc/*/environ`, `toJSON(secrets)`), or prints a secret in a form the log masking "
    "cannot catch (base64, reversed, split)",
    help="This is how the GhostAction campaign (2025) stole thousands of secrets: a pushed "
    "workflow posted them to an outside host with curl. A secret belongs in the call to the "
    "service it is for; anything else, and any dump of the environment, is a leak. Log "
    "masking only hides the exact value, so an encoded or split secret is printed in the "
    "clear. Remove the step; if the host is the secret's own service, add it to "
    "`audits.allowed_hosts`.",
)

# Variables the runner or the CI sets to tokens, whatever the pipeline says.
_KNOWN_SECRET_VARS = frozenset(
    {
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "CI_JOB_TOKEN",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V2",
        "CI_REGISTRY_PASSWORD",
        "CI_DEPLOY_PASSWORD",
    }
)
_SECRETISH_NAME = re.compile(
    r"(?:TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?)(?:_|$)",
    re.IGNORECASE,
)
_SECRET_EXPR = re.compile(
    r"\bsecrets\s*(?:\.\s*[A-Za-z_][\w-]*|\[)|\bgithub\s*\.\s*token\b|toJSON\s*\(\s*secrets\s*\)",
    re.IGNORECASE,
)
_ENV_DUMP = re.compile(
    r"^(?:env|printenv|export\s+-p|set|declare\s+-x|Get-ChildItem\s+env:|gci\s+env:|dir\s+env:|"
    r"ls\s+env:)\s*$|/proc/(?:self|\d+|\*|\$\$)/environ",
    re.IGNORECASE,
)
_ENV_DUMP_IN = re.compile(
    r"\$\(\s*(?:env|printenv|set)\s*\)|/proc/(?:self|\d+|\*|\$\$)/environ|toJSON\(\s*(?:secrets|env)\s*\)",
    re.IGNORECASE,
)
_TEMPLATE_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_MAYBE_DUMP = re.compile(r"\b(?:env|printenv|set|environ|export|declare|gci|dir|ls)\b", re.I)
_GITHUB_HOSTS = ("github.com", "*.github.com", "*.githubusercontent.com", "ghcr.io")
_GITLAB_HOSTS = ("gitlab.com", "*.gitlab.com")
_GENERIC_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "api",
        "auth",
        "access",
        "private",
        "credentials",
        "credential",
        "the",
        "pat",
        "env",
        "app",
        "id",
        "www",
        "com",
        "org",
        "net",
        "io",
        "dev",
        "upload",
        "uploads",
        "registry",
        "hooks",
        "cloud",
    }
)


@dataclass(frozen=True)
class _Secret:
    """A value that holds a secret (or the whole environment)."""

    name: str  # what it is, for people: `secrets.NPM_TOKEN`, `$GITHUB_TOKEN`, the environment
    dump: bool = False
    github: bool = False  # a GitHub token: GitHub's own hosts may receive it


def _host_allowed(host: str, allowed: Iterable[str]) -> bool:
    import fnmatch

    return any(
        fnmatch.fnmatchcase(host, pattern.lower()) or host == pattern.lower().lstrip("*.")
        for pattern in allowed
    )


def _words_of(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 3} - _GENERIC_WORDS


def _related(secret: _Secret, host: str) -> bool:
    """The host belongs to the service the secret is named for (CODECOV_TOKEN, codecov.io)."""
    labels = {h for h in host.split(".") if len(h) >= 3} - _GENERIC_WORDS
    return any(w in h or h in w for w in _words_of(secret.name) for h in labels)


class _ExfilScanner:
    """One script: which variables hold secrets, then what each command does with them."""

    def __init__(self, secrets: dict[str, _Secret], allowed: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.allowed = allowed

    def scan(self, lines: list[ScriptLine]) -> Iterator[tuple[int, Severity, str, str]]:
        from gatekeeper.audit._shellflow import (
            Flow,
            ShellLine,
            commands,
            in_header_only,
            send_of,
            unmasked_print,
        )

        flow: Flow[_Secret] = Flow(labels={k: frozenset({v}) for k, v in self.secrets.items()})
        for command in commands([ShellLine(line.text, line.line) for line in lines]):
            dump = _Secret("the runner's environment", dump=True)
            if _ENV_DUMP_IN.search(command.text):
                for name in re.findall(r"^([A-Za-z_]\w*)=", command.text):
                    flow.labels[name] = frozenset({dump})
            flow.step(command)
            held = set(flow.of_text(command.text))
            piped = command.stdin_text
            if piped and (
                _ENV_DUMP.search(piped.strip().split("\n")[-1].strip())
                or _ENV_DUMP_IN.search(piped)
            ):
                held.add(dump)
            held |= set(flow.of_text(piped))
            if _ENV_DUMP_IN.search(command.text):
                held.add(dump)
            send = send_of(command)
            if send is not None and held:
                found = self._judge_send(send.host, held, command, in_header_only)
                if found is not None:
                    yield (command.line, *found, command.text)
                continue
            names = {n for n, labels in flow.labels.items() if labels}
            how = unmasked_print(command, names)
            if how is not None:
                yield (
                    command.line,
                    Severity.HIGH,
                    f"prints a secret {how}: log masking hides only the exact value",
                    command.text,
                )

    def _judge_send(
        self, host: str | None, held: set[_Secret], command: Any, in_header_only: Any
    ) -> tuple[Severity, str] | None:
        if host is None:
            return None  # NOTE: a host from a variable (often a secret URL itself) is not judged
        if _host_allowed(host, self.allowed):
            return None
        dumps = [s for s in held if s.dump]
        if dumps:
            return Severity.HIGH, f"sends {dumps[0].name} to {host}"
        outside = [
            s
            for s in held
            if not (s.github and _host_allowed(host, _GITHUB_HOSTS))
            and not _host_allowed(host, _GITLAB_HOSTS if s.name.startswith("$CI_") else ())
            and not _related(s, host)
        ]
        if not outside:
            return None
        names = {n for n, s in self.secrets.items() if s in outside}
        first = sorted(outside, key=lambda s: s.name)[0]
        if in_header_only(command, names):
            return Severity.MEDIUM, (
                f"sends {first.name} in a header to {host}, which is not named in "
                "`audits.allowed_hosts` and not the secret's own service"
            )
        return Severity.HIGH, (
            f"sends {first.name} in the request to {host}, a host that is neither allowed "
            "(`audits.allowed_hosts`) nor the secret's own service"
        )


def _github_secrets(entries: Iterable[KeyValue]) -> dict[str, _Secret]:
    out = _entry_secrets(entries)
    _add_known_secrets(out)
    return out


def _entry_secrets(entries: Iterable[KeyValue]) -> dict[str, _Secret]:
    """The entries whose value holds a secret expression (a later entry wins)."""
    out: dict[str, _Secret] = {}
    for entry in entries:
        value = entry.value or ""
        match = _SECRET_EXPR.search(value)
        if match is None:
            continue
        text = " ".join(match.group(0).split())
        github = "github" in text.lower() or "GITHUB_TOKEN" in text.upper()
        dump = "tojson" in text.lower().replace(" ", "")
        out[entry.key] = _Secret(f"`{text}` (as ${entry.key})", dump=dump, github=github)
    return out


def _add_known_secrets(out: dict[str, _Secret]) -> None:
    for name in _KNOWN_SECRET_VARS:
        out.setdefault(name, _Secret(f"${name}", github=name.startswith("ACTIONS_")))


_ExfilScript = tuple[str, dict[str, _Secret], list[ScriptLine], str]


def _github_exfil_scripts(wf: Workflow) -> Iterator[_ExfilScript]:
    for job in wf.jobs:
        inherited: dict[str, _Secret] | None = None  # the workflow's and the job's env
        for step in job.steps:
            if step.run is None:
                continue
            if inherited is None:
                inherited = _entry_secrets([*wf.env, *job.env])
            found = _github_exfil_script(job, step, inherited)
            if found is not None:
                yield found


def _github_exfil_script(
    job: Job, step: Step, inherited: dict[str, _Secret]
) -> _ExfilScript | None:
    """The step's script if it may hold a secret or dump the environment, else None."""
    # As _github_secrets over the three levels: the step's entries win.
    secrets = {**inherited, **_entry_secrets(step.env)}
    _add_known_secrets(secrets)
    text, placeholders = _placeholders(step.run or "")
    secrets.update(placeholders)
    if not (placeholders or _has_secret_names(text, secrets) or _MAYBE_DUMP.search(text)):
        return None
    lines = logical_lines(text, step.run_line or step.line, step.run_is_block)
    label = step.id or step.name or f"#{step.index}"
    return f"job {job.id}, step {label}", secrets, lines, f"job {job.id}"


def _placeholders(script: str) -> tuple[str, dict[str, _Secret]]:
    """The script with each secret expression replaced by a variable of its own."""
    found: dict[str, _Secret] = {}

    def swap(match: re.Match[str]) -> str:
        inner = match.group(1)
        secret = _SECRET_EXPR.search(inner)
        if secret is None:
            return match.group(0)
        name = f"__gk_s{len(found)}"
        text = " ".join(secret.group(0).split())
        found[name] = _Secret(
            f"`${{{{ {inner.strip()} }}}}`",
            dump="tojson" in text.lower().replace(" ", ""),
            github="github" in text.lower() or "GITHUB_TOKEN" in text.upper(),
        )
        return "${" + name + "}"

    if "${{" not in script:
        return script, found
    return _TEMPLATE_EXPR.sub(swap, script), found


def _has_secret_names(text: str, secrets: dict[str, _Secret]) -> bool:
    return any(name in text for name in secrets)


def _gitlab_secrets() -> dict[str, _Secret]:
    return {n: _Secret(f"${n}") for n in _KNOWN_SECRET_VARS if n.startswith("CI_")}


def _referenced_secretish(lines: list[ScriptLine], literal: set[str]) -> dict[str, _Secret]:
    from gatekeeper.audit._shellflow import var_refs

    out: dict[str, _Secret] = {}
    for line in lines:
        for name in var_refs(line.text):
            if name not in literal and _SECRETISH_NAME.search(name):
                out[name] = _Secret(f"${name}")
    return out


class PipelineSecretExfiltration:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(SECRET_EXFILTRATION)
    summary: ClassVar[str] = "secrets sent to outside hosts or printed past log masking"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from demote_fixtures(evidence, self._findings(evidence, ctx))

    def _findings(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        allowed = tuple(ctx.policy.allowed_hosts)
        occurrences = Occurrences()
        for wf in evidence.workflows:
            # SECURITY: the CI's own platform is where its tokens are meant to go.
            platform = (*allowed, *_GITHUB_HOSTS)
            for where, secrets, lines, scope in _github_exfil_scripts(wf):
                yield from self._emit(wf.path, where, scope, secrets, lines, platform, occurrences)
        for config in evidence.gitlab:
            for gjob in config.jobs:
                literal = {v.key for v in [*config.variables, *gjob.variables] if v.is_literal}
                lines = _recorded_lines(gjob.scripts)
                secrets = {**_referenced_secretish(lines, literal), **_gitlab_secrets()}
                where = f"job {gjob.name}"
                platform = (*allowed, *_GITLAB_HOSTS)
                yield from self._emit(
                    config.path, where, where, secrets, lines, platform, occurrences
                )
        for jf in evidence.jenkinsfiles:
            bound = {
                v: _Secret(f"${v} (credentials {b.credentials_id or ''})".replace(" ()", ""))
                for b in jf.credentials
                for v in b.variables
            }
            for binding in jf.credentials:
                if binding.source == "credentials":
                    for v in binding.variables:
                        bound.setdefault(f"{v}_PSW", _Secret(f"${v}_PSW"))
            for shell in jf.shell_steps:
                lines = logical_lines(shell.text, shell.line)
                yield from self._emit(
                    jf.path, f"{shell.step} step", shell.step, bound, lines, allowed, occurrences
                )

    @staticmethod
    def _emit(
        path: str,
        where: str,
        scope: str,
        secrets: dict[str, _Secret],
        lines: list[ScriptLine],
        allowed: tuple[str, ...],
        occurrences: Occurrences,
    ) -> Iterator[Finding]:
        for line, severity, what, text in _ExfilScanner(secrets, allowed).scan(lines):
            shown = re.sub(r"\$\{__gk_s\d+\}", "${{ secrets.… }}", text)[:160]
            yield SECRET_EXFILTRATION.finding(
                f"{where}: `{shown}` {what}",
                severity=severity,
                path=path,
                line=line,
                key=occurrences.key(path, f"se|{scope}|{text}"),
            )


AUDITS = (
    PipelineParseErrors,
    PipelineConfigDrift,
    PipelineScripts,
    PipelineHardcodedCredentials,
    PipelineSecretExfiltration,
)
