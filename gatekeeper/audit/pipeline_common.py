"""Pipeline rules shared by every CI format: parse errors, drift, scripts, credentials.

- ``pipeline/parse-error``: a pipeline file that could not be parsed (with its line).
- ``pipeline/config-drift``: a file's sha256 differs from ``approved_pipeline_digests``.
- ``pipeline/remote-script``: download-and-execute in one go (``curl … | sh``, ``iex (iwr …)``)
  in GitHub ``run:`` steps, GitLab scripts, Jenkins shell steps and build scripts.
- ``pipeline/insecure-fetch``: TLS or signature checks switched off, in the same places and in
  ``env:``/``variables:`` (``GIT_SSL_NO_VERIFY``, ``NODE_TLS_REJECT_UNAUTHORIZED=0``...).
- ``pipeline/hardcoded-credentials``: a literal password or token in a workflow's ``env``,
  ``with`` or ``container.credentials`` (and GitLab ``variables``, Jenkins ``environment``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gatekeeper.audit._shellrisk import FALSEY, insecure_fetch, remote_script
from gatekeeper.audit.base import AuditContext
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import KeyValue, PipelineEvidence, Step
from gatekeeper.secrets import redact, value_fingerprint

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


@dataclass(frozen=True)
class ScriptLine:
    """One logical shell line (continuations joined) with its 1-based line."""

    text: str
    line: int


def logical_lines(script: str, first_line: int, exact: bool = True) -> list[ScriptLine]:
    """Split a script into logical lines; comment lines are dropped.

    With ``exact`` false (a folded YAML scalar) every line is reported at ``first_line``.
    """
    out: list[ScriptLine] = []
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(script.split("\n")):
        number = first_line + offset if exact else first_line
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\") or stripped.endswith("`"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        text = " ".join(part.strip() for part in pending).strip()
        pending = []
        if text and not text.startswith(("#", "REM ", "rem ", "::")):
            out.append(ScriptLine(text, start))
    if pending:
        text = " ".join(part.strip() for part in pending).strip()
        if text and not text.startswith("#"):
            out.append(ScriptLine(text, start))
    return out


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


def all_scripts(evidence: PipelineEvidence) -> Iterator[Script]:
    """Every shell script of every format, in a deterministic order."""
    for wf in evidence.workflows:
        for job in wf.jobs:
            for step in job.steps:
                if step.run is not None:
                    label = step.id or step.name or f"#{step.index}"
                    yield Script(
                        wf.path, f"job {job.id}, step {label}", f"job {job.id}", step_script(step)
                    )
    for gl in evidence.gitlab:
        if gl.default_scripts:
            yield Script(
                gl.path,
                "default",
                "default",
                [
                    line
                    for s in gl.default_scripts
                    for line in logical_lines(s.text, s.line, s.is_block)
                ],
            )
        for gjob in gl.jobs:
            yield Script(
                gl.path,
                f"job {gjob.name}",
                f"job {gjob.name}",
                [line for s in gjob.scripts for line in logical_lines(s.text, s.line, s.is_block)],
            )
    for jf in evidence.jenkinsfiles:
        for shell in jf.shell_steps:
            yield Script(
                jf.path, f"{shell.step} step", shell.step, logical_lines(shell.text, shell.line)
            )
    for bs in evidence.build_scripts:
        yield Script(bs.path, "script", "script", [ScriptLine(c.text, c.line) for c in bs.commands])


def env_entries(evidence: PipelineEvidence) -> Iterator[tuple[str, str, str, KeyValue]]:
    """(path, where, scope, entry) for every env/variables entry of every format.

    ``where`` is for people; ``scope`` is for fingerprints (no step position in it).
    """
    for wf in evidence.workflows:
        for entry in wf.env:
            yield wf.path, "env", "env", entry
        for job in wf.jobs:
            for entry in job.env:
                yield wf.path, f"job {job.id} env", f"job {job.id} env", entry
            containers = ([job.container] if job.container else []) + list(job.services)
            for container in containers:
                where = f"job {job.id} {container.name or 'container'} env"
                for entry in container.env:
                    yield wf.path, where, where, entry
            for step in job.steps:
                for entry in step.env:
                    yield (
                        wf.path,
                        f"job {job.id} step {step.id or f'#{step.index}'} env",
                        f"job {job.id} step env",
                        entry,
                    )
    for gl in evidence.gitlab:
        for entry in gl.variables:
            yield gl.path, "variables", "variables", entry
        for gjob in gl.jobs:
            where = f"job {gjob.name} variables"
            for entry in gjob.variables:
                yield gl.path, where, where, entry
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


# --- credentials ------------------------------------------------------------------------------

_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(?:password|passwd|passphrase|pass|pwd|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|auth|credentials?)"
    r"(?:$|[_.-])",
    re.IGNORECASE,
)
_NOT_A_SECRET_NAME = re.compile(
    r"[_.-](?:format|file|path|type|name|id|url|uri|var|env|length|ttl|expiry|expires|"
    r"endpoint|header|scope|scopes|method|mode|enabled|required|dir)$|^(?:no|skip|use)[_-]",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:<[^>]*>|\*+|x+|\.+|-+|(?:your|my|some|example|sample|dummy|fake|test|placeholder|"
    r"changeme|change[_-]me|redacted|none|null|todo|fixme|secret|password|passwd|token|"
    r"postgres|mysql|root|admin|guest|user|default)[\w.-]{0,6})$",
    re.IGNORECASE,
)


_HOSTNAME = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def literal_credential(key: str, value: str | None, *, any_literal: bool = False) -> bool:
    """A literal (no expression or variable) that looks like a real credential."""
    if value is None:
        return False
    text = value.strip().strip("'\"")
    if not text or "${{" in text or "$" in text:
        return False  # an expression or a variable reference: the value lives elsewhere
    if text.lower() in ("true", "false", "yes", "no", "on", "off"):
        return False
    if _PLACEHOLDER.match(text):
        return False
    if any_literal:
        return True
    if not _SECRET_NAME.search(key) or _NOT_A_SECRET_NAME.search(key):
        return False
    if len(text) < 8 or len(set(text)) < 4 or re.fullmatch(r"\d+", text):
        return False
    if text.startswith(("/", "./", "~/", "http://", "https://")) or any(c.isspace() for c in text):
        return False  # a path, a URL or a phrase
    if _HOSTNAME.match(text):
        return False  # `TOKEN_AUDIENCE: sts.amazonaws.com`
    # NOTE: generated credentials mix character classes; a plain word such as
    # `github-actions` under `AUTH_PROVIDER` is a setting, not a secret.
    has_digit = any(c.isdigit() for c in text)
    has_alpha = any(c.isalpha() for c in text)
    mixed_case = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return (has_digit and has_alpha) or (mixed_case and len(text) >= 12)


# --- audits -----------------------------------------------------------------------------------


class PipelineParseErrors:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {"pipeline/parse-error": Severity.HIGH}
    summary: ClassVar[str] = "pipeline files that cannot be parsed"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for item in evidence.files:
            if item.parse_error is None:
                continue
            yield Finding.make(
                "pipeline/parse-error",
                Severity.HIGH,
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


class PipelineConfigDrift:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {"pipeline/config-drift": Severity.HIGH}
    summary: ClassVar[str] = "pipeline files whose digest differs from the approved one"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        approved = ctx.policy.approved_pipeline_digests
        recorded = {f.path: f.sha256 for f in evidence.files}
        for path in sorted(approved):
            want = approved[path]
            have = recorded.get(path)
            if have is None and ctx.repo is not None:
                # SECURITY: an approved file the collector does not classify is still checked;
                # an approval must never be silently ignored.
                have = _hash_in_tree(Path(ctx.repo), path)
            if have == want:
                continue
            if have is None:
                message = f"{path} is approved (sha256 {want[:12]}…) but missing from the tree"
            else:
                message = (
                    f"{path} has sha256 {have[:12]}…, not the approved {want[:12]}…: "
                    "the build controller changed without a new approval"
                )
            yield Finding.make(
                "pipeline/config-drift", Severity.HIGH, message, path=path, key=f"{want}:{have}"
            )


class PipelineScripts:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {
        "pipeline/remote-script": Severity.MEDIUM,
        "pipeline/insecure-fetch": Severity.MEDIUM,
    }
    summary: ClassVar[str] = "download-and-execute and disabled TLS/signature checks in scripts"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        occurrences = Occurrences()
        for script in all_scripts(evidence):
            for line in script.lines:
                label = remote_script(line.text)
                if label is not None:
                    yield Finding.make(
                        "pipeline/remote-script",
                        Severity.MEDIUM,
                        f"{script.where}: {label} runs whatever the server sends, unverified "
                        "(download to a file, check its sha256 or signature, then run it)",
                        path=script.path,
                        line=line.line,
                        key=occurrences.key(script.path, f"rs|{script.scope}|{line.text}"),
                    )
                label = insecure_fetch(line.text)
                if label is not None:
                    yield Finding.make(
                        "pipeline/insecure-fetch",
                        Severity.MEDIUM,
                        f"{script.where}: {label}; a network attacker can substitute what is "
                        "fetched",
                        path=script.path,
                        line=line.line,
                        key=occurrences.key(script.path, f"if|{script.scope}|{line.text}"),
                    )
        for path, where, scope, entry in env_entries(evidence):
            if insecure_env(entry):
                yield Finding.make(
                    "pipeline/insecure-fetch",
                    Severity.MEDIUM,
                    f"{where}: {entry.key}={entry.value} switches TLS or signature verification "
                    "off for every command that follows",
                    path=path,
                    line=entry.line,
                    key=occurrences.key(path, f"env|{scope}|{entry.key}"),
                )


class PipelineHardcodedCredentials:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[dict[str, Severity]] = {"pipeline/hardcoded-credentials": Severity.HIGH}
    summary: ClassVar[str] = "literal passwords and tokens in pipeline definitions"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        occurrences = Occurrences()

        def finding(path: str, where: str, entry: KeyValue, scope: str | None = None) -> Finding:
            value = (entry.value or "").strip()
            fp_value = value_fingerprint(value)
            return Finding.make(
                "pipeline/hardcoded-credentials",
                Severity.HIGH,
                f"{where}: {entry.key} holds a literal credential {redact(value)} "
                f"(sha256 {fp_value[:12]}…); use a secret reference such as "
                "${{ secrets.NAME }} or the CI's credential store",
                path=path,
                line=entry.line,
                # SECURITY: the key is the value's sha256, never the value.
                key=occurrences.key(path, f"{scope or where}|{entry.key}|{fp_value}"),
            )

        for path, where, scope, entry in env_entries(evidence):
            if entry.is_literal and literal_credential(entry.key, entry.value):
                yield finding(path, where, entry, scope)
        for wf in evidence.workflows:
            for job in wf.jobs:
                for entry in job.with_:
                    if entry.is_literal and literal_credential(entry.key, entry.value):
                        yield finding(wf.path, f"job {job.id} with", entry)
                if isinstance(job.secrets, list):
                    # Everything passed as `secrets:` is a secret: any literal is one in the clear.
                    for entry in job.secrets:
                        if entry.is_literal and literal_credential(
                            entry.key, entry.value, any_literal=True
                        ):
                            yield finding(wf.path, f"job {job.id} secrets", entry)
                for container in ([job.container] if job.container else []) + list(job.services):
                    for entry in container.credentials:
                        is_password = entry.key == "password"
                        if (
                            entry.is_literal
                            and literal_credential(entry.key, entry.value, any_literal=is_password)
                            and is_password
                        ):
                            yield finding(
                                wf.path,
                                f"job {job.id} {container.name or 'container'} credentials",
                                entry,
                            )
                for step in job.steps:
                    for entry in step.with_:
                        if entry.is_literal and literal_credential(entry.key, entry.value):
                            yield finding(
                                wf.path,
                                f"job {job.id} step {step.id or f'#{step.index}'} with",
                                entry,
                                f"job {job.id} step with",
                            )


AUDITS = (PipelineParseErrors, PipelineConfigDrift, PipelineScripts, PipelineHardcodedCredentials)
