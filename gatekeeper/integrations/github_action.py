"""The GitHub Action's run step: ``python -m gatekeeper.integrations.github_action``.

``action.yml`` passes its inputs as environment variables (never interpolated into a shell
line); this module turns them into one gatekeeper command, runs it in-process, then:

- prints the report in the chosen ``format`` to the log and the workflow-command
  annotations (``::error file=…,line=…,title=…::``) for findings and reasons;
- appends the Markdown report to ``$GITHUB_STEP_SUMMARY``;
- writes the outputs ``verdict``, ``report`` (the JSON report, heredoc syntax) and
  ``report-file`` to ``$GITHUB_OUTPUT``;
- writes SARIF to ``sarif-file`` when asked;
- exits non-zero when the step must fail (see ``fail_step``).

Inputs (environment): GATEKEEPER_INPUT_COMMAND (check | pr-check | verify | attest),
GATEKEEPER_INPUT_POLICY, GATEKEEPER_INPUT_BASE, GATEKEEPER_INPUT_STORE,
GATEKEEPER_INPUT_FORMAT, GATEKEEPER_INPUT_SARIF_FILE, GATEKEEPER_INPUT_FAIL_ON (block | never
| a severity), GATEKEEPER_INPUT_ARGS (split like a shell would, never evaluated). An input
that is empty is not given: gatekeeper's own settings (``GATEKEEPER_STORE`` for the store)
apply as the workflow set them. The inputs have names of their own because ``action.yml``
sets every input's variable, empty or not, and a step's variable hides the workflow's.
When a ``GATEKEEPER_INPUT_*`` variable is absent altogether (the module run by hand), the
older ``GATEKEEPER_<NAME>`` spelling is read instead.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from gatekeeper._fileio import dumps_json, loads_json_strict, read_bounded
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import github, markdown

INPUT_PREFIX = "GATEKEEPER_INPUT_"
COMMANDS = ("check", "pr-check", "verify", "attest")
_REPORTING = ("check", "pr-check", "verify")
FAIL_ON = ("block", "never", *(s.value for s in Severity))
FORMATS = ("text", "json", "sarif", "junit", "markdown")
# Step outputs share a 1 MiB budget per job: a larger report goes in the file only.
MAX_REPORT_OUTPUT = 512 * 1024


@dataclass(frozen=True)
class ActionInputs:
    command: str
    policy: str | None
    base: str | None
    store: str | None
    format: str
    sarif_file: str | None
    fail_on: str
    args: list[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionInputs:
        """Raises InvalidInput on an unknown command, format or fail-on value."""

        def get(name: str) -> str | None:
            value = env.get(f"{INPUT_PREFIX}{name}")
            if value is None:
                value = env.get(f"GATEKEEPER_{name}", "")
            return value.strip() or None

        command = get("COMMAND") or "check"
        if command not in COMMANDS:
            raise InvalidInput(
                f"input command must be one of {', '.join(COMMANDS)}, not {command!r}"
            )
        fmt = get("FORMAT") or "text"
        if fmt not in FORMATS:
            raise InvalidInput(f"input format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        fail_on = (get("FAIL_ON") or "block").lower()
        if fail_on not in FAIL_ON:
            raise InvalidInput(
                f"input fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}"
            )
        try:
            # SECURITY: split like a shell, but nothing is expanded or executed.
            args = shlex.split(get("ARGS") or "")
        except ValueError as exc:
            raise InvalidInput(f"input args cannot be split: {exc}") from None
        return cls(
            command=command,
            policy=get("POLICY"),
            base=get("BASE"),
            store=get("STORE"),
            format=fmt,
            sarif_file=get("SARIF_FILE"),
            fail_on=fail_on,
            args=args,
        )


def build_argv(inputs: ActionInputs, workdir: Path) -> tuple[list[str], Path | None]:
    """The gatekeeper command line, and where its JSON report goes (None for attest)."""
    argv = [inputs.command]
    if inputs.policy:
        argv += ["--policy", inputs.policy]
    if inputs.base and inputs.command in ("check", "pr-check"):
        argv += ["--base", inputs.base]
    if inputs.store and inputs.command in ("verify", "attest"):
        argv += ["--store", inputs.store]
    if inputs.command not in _REPORTING:
        return argv + inputs.args, None
    json_path = workdir / "report.json"
    argv += ["--format", "json", "--output", str(json_path)]
    if inputs.sarif_file:
        argv += ["--format", "sarif", "--output", inputs.sarif_file]
    argv += ["--format", inputs.format]  # to the log
    # NOTE: attest's trailing `-- COMMAND` must stay last, so passthrough args go last too.
    return argv + inputs.args, json_path


def fail_step(exit_code: int, verdict: Verdict | None, fail_on: str) -> bool:
    """Whether the step fails. An error (exit 2/3) or a missing verdict always fails it.

    ``block`` (default): fail when gatekeeper blocks. A severity: also fail when a new
    finding is at or above it (stricter only; it can never turn a block into a pass).
    ``never``: report only; a policy block does not fail the step, an error still does.
    """
    if exit_code not in (ExitCode.PASS, ExitCode.BLOCKED):
        return True
    if verdict is None:
        return exit_code != ExitCode.PASS
    if fail_on == "never":
        return False
    if exit_code != ExitCode.PASS or not verdict.allowed:
        return True
    if fail_on == "block":
        return False
    threshold = Severity(fail_on)
    return any(f.blocks(threshold) for f in verdict.findings)


def _delimiter(*values: str) -> str:
    while True:
        candidate = f"ghadelimiter_{uuid.uuid4()}"
        if all(candidate not in v for v in values):
            return candidate


def write_outputs(path: str, outputs: Mapping[str, str]) -> None:
    """Append outputs to $GITHUB_OUTPUT; multi-line values use the heredoc syntax."""
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            if "\n" in value or "\r" in value:
                # SECURITY: a random delimiter that the value does not contain, so the value
                # cannot end the heredoc early and set other outputs.
                delim = _delimiter(value)
                handle.write(f"{name}<<{delim}\n{value}\n{delim}\n")
            else:
                handle.write(f"{name}={value}\n")


def _load_verdict(path: Path | None) -> Verdict | None:
    if path is None or not path.is_file():
        return None
    try:
        return Verdict.model_validate(loads_json_strict(read_bounded(path)))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"{path}: gatekeeper wrote an unreadable report: {exc}") from exc


@dataclass(frozen=True)
class _Outcome:
    """What the wrapped command left behind, for the step's outputs and exit code."""

    code: int
    verdict: Verdict | None
    report_text: str  # the JSON report as written (empty without a verdict)
    kept_report: str  # where a copy of it outlives the step ("" when there is none)
    # SECURITY: a reporting command that exits 0 without its report (e.g. `args:
    # --write-baseline FILE`) decided nothing; the step must not pass on it.
    undecided: bool


def run(env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run the step; returns the process exit code (0 only when the step should pass)."""
    try:
        inputs = ActionInputs.from_env(env)
    except InvalidInput as exc:
        _error(stdout, str(exc), title="gatekeeper action")
        return int(ExitCode.USAGE)
    outcome = _run_command(inputs, env, stdout, stderr)
    out_path = env.get("GITHUB_OUTPUT")
    if out_path:
        write_outputs(out_path, _outputs(outcome))
    failed = outcome.undecided or fail_step(outcome.code, outcome.verdict, inputs.fail_on)
    if failed and outcome.code == ExitCode.PASS and not outcome.undecided:
        _error(
            stdout, f"a new finding is at or above fail-on: {inputs.fail_on}", title="gatekeeper"
        )
    if not failed:
        return 0
    return outcome.code if outcome.code != ExitCode.PASS else int(ExitCode.BLOCKED)


def _run_command(
    inputs: ActionInputs, env: Mapping[str, str], stdout: TextIO, stderr: TextIO
) -> _Outcome:
    """Run gatekeeper in-process; publish its verdict (log, annotations, step summary)."""
    from gatekeeper.cli import main

    tmp_root = env.get("RUNNER_TEMP") or None
    with tempfile.TemporaryDirectory(prefix="gatekeeper-action-", dir=tmp_root) as tmp:
        argv, json_path = build_argv(inputs, Path(tmp))
        stderr.write(f"gatekeeper {shlex.join(argv)}\n")
        stdout.flush()
        code = main(argv)
        sys.stdout.flush()
        verdict, readable = _read_verdict(json_path, stdout)
        code = code if readable else int(ExitCode.INTERNAL)
        report_text = json_path.read_text(encoding="utf-8") if verdict and json_path else ""
        undecided = verdict is None and inputs.command in _REPORTING
        kept_report = ""
        if verdict is not None:
            kept_report = _publish(verdict, report_text, env, stdout, tmp_root)
        elif undecided:
            _report_undecided(inputs.command, code, stdout)
    return _Outcome(code, verdict, report_text, kept_report, undecided)


def _read_verdict(path: Path | None, stdout: TextIO) -> tuple[Verdict | None, bool]:
    """The verdict in the JSON report, and False when the report is there but unreadable."""
    try:
        return _load_verdict(path), True
    except InvalidInput as exc:
        _error(stdout, str(exc), title="gatekeeper action")
        return None, False


def _publish(
    verdict: Verdict,
    report_text: str,
    env: Mapping[str, str],
    stdout: TextIO,
    tmp_root: str | None,
) -> str:
    """Annotations to the log, Markdown to the step summary; returns the kept report's path."""
    stdout.write(github.render(verdict))
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown.render(verdict) + "\n")
    return _keep_report(report_text, tmp_root)


def _report_undecided(command: str, code: int, stdout: TextIO) -> None:
    if code == ExitCode.PASS:
        message = (
            f"gatekeeper {command} exited 0 without a report, so nothing was decided; "
            "see the log above"
        )
    else:
        message = (
            f"gatekeeper {command} failed with exit code {code} before deciding; see the log above"
        )
    _error(stdout, message, title="gatekeeper")


def _error(stdout: TextIO, message: str, *, title: str) -> None:
    stdout.write(github.command("error", message, title=title) + "\n")


def _outputs(outcome: _Outcome) -> dict[str, str]:
    """The step's outputs: verdict, exit code, the JSON report (summarised when too big)."""
    verdict = outcome.verdict
    if verdict is not None:
        verdict_word = verdict.verdict
    else:
        passed = outcome.code == ExitCode.PASS and not outcome.undecided
        verdict_word = "pass" if passed else "block"
    report_text = outcome.report_text
    if len(report_text.encode("utf-8")) > MAX_REPORT_OUTPUT and verdict is not None:
        report_text = _report_summary(verdict, outcome.kept_report)
    return {
        "verdict": verdict_word,
        "exit-code": str(outcome.code),
        "report": report_text,
        "report-file": outcome.kept_report,
    }


def _report_summary(verdict: Verdict, kept_report: str) -> str:
    """A report too big for a step output: the verdict, counts and the first reasons."""
    return dumps_json(
        {
            "verdict": verdict.verdict,
            "command": verdict.command,
            "truncated": True,
            "report_file": kept_report,
            "findings": len(verdict.findings),
            "reasons": [
                r.model_dump(mode="json", exclude_none=True) for r in verdict.reasons[:100]
            ],
        }
    )


def _keep_report(text: str, tmp_root: str | None) -> str:
    """Copy the JSON report to a file of its own that outlives the step's temporary directory.

    A new file per step: under a fixed name a later gatekeeper step of the same job would
    overwrite the report an earlier step's ``report-file`` output still points to.
    """
    with contextlib.suppress(OSError):
        fd, path = tempfile.mkstemp(
            prefix="gatekeeper-report-", suffix=".json", dir=tmp_root or tempfile.gettempdir()
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        return path
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # inputs come from the environment, like every action step
    return run(os.environ, sys.stdout, sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
