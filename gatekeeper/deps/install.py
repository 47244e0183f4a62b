"""Install hooks: code of the repository that runs when it is installed or built.

Recorded (never run) on both sides of a range so that ``deps/install-script`` can see what a
change adds or alters:

- package.json lifecycle scripts that npm, pnpm and yarn run on install (``preinstall``,
  ``install``, ``postinstall``, ``prepare``), with the repository file a script runs
  (``node scripts/setup.js``);
- ``setup.py`` (pip runs it to build the package);
- ``pyproject.toml`` ``[build-system]`` (the backend pip installs and runs, and from where);
- a gemspec's native ``extensions`` (their ``extconf.rb`` runs at ``gem install``).

Of the code, only its digest and the lines that can reach the network, run processes, read
credentials or write files are kept (bounded): what the audit judges.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
from collections.abc import Iterable
from typing import Any

from gatekeeper.deps.common import find_line, redact_credentials
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import InstallHook, InstallHookKind

__all__ = [
    "LIFECYCLE_SCRIPTS",
    "build_system_hook",
    "code_lines",
    "npm_script_hooks",
    "parse_gemspec",
    "parse_setup_py",
]

# The scripts a package manager runs when the package (or the project itself) is installed.
LIFECYCLE_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")

MAX_COMMAND = 1000
MAX_CODE_LINES = 60
MAX_LINE = 300

# Lines worth keeping: the network, processes, credentials, the environment, files.
_INTEREST = re.compile(
    r"https?://|\b(?:curl|wget|urlopen|urlretrieve|http\.client|Net::HTTP|open-uri|URI\.open|"
    r"Invoke-\w+|iwr|irm)\b|\b(?:fetch|axios|got|request|requests|httpx|socket|https?)\s*[.(]|"
    r"child_process|\b(?:exec|execSync|execFile|spawn|spawnSync|fork|eval|system|popen|"
    r"subprocess|Popen|check_call|check_output|os\.system|Function)\b|`|%x[{(\[]|"
    r"\b(?:npm|npx|pnpm|yarn|pip3?|gem|bundle|bash|sh|node|python[0-9.]*|ruby|perl)\s|"
    r"\.npmrc|_authToken|\.ssh|\.aws|\.docker|\.kube|\.git-credentials|\.netrc|\.pypirc|"
    r"credential|token|secret|passw|process\.env|os\.environ|ENV\[|getenv|printenv|"
    r"base64|atob|Buffer\.from|homedir|\$HOME|~/|/etc/|\.\./|writeFile|appendFile|"
    r"\bopen\(|File\.(?:write|open)|crontab|bashrc|zshrc|\.profile|\.github/workflows|"
    r"trufflehog|\bimport\b|\brequire\b",
    re.IGNORECASE,
)


def code_lines(text: str) -> list[str]:
    """The lines of ``text`` worth judging (stripped, bounded, URL credentials redacted)."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and _INTEREST.search(line):
            out.append(redact_credentials(line[:MAX_LINE]))
            if len(out) >= MAX_CODE_LINES:
                out.append("… (more lines not kept)")
                break
    return out


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _hook(
    kind: InstallHookKind,
    file: str,
    line: int,
    name: str,
    command: str = "",
    code: tuple[str | None, list[str]] = (None, []),
) -> InstallHook:
    return InstallHook(
        kind=kind,
        file=file,
        line=line,
        name=name,
        # A cut command says so: what was cut is not known to be harmless.
        command=redact_credentials(command[:MAX_COMMAND])
        + (" … (cut)" if len(command) > MAX_COMMAND else ""),
        digest=code[0],
        code=code[1],
    )


def _inside(folder: str, target: str) -> str | None:
    """``target`` relative to ``folder`` as a repository path, or None when it leaves the
    repository (absolute, ``..`` above the root, a URL)."""
    if "://" in target or target.startswith(("/", "~", "$")):
        return None
    joined = posixpath.normpath(posixpath.join(folder, target))
    return None if joined == ".." or joined.startswith("../") else joined


def _read_code(
    folder: str, targets: Iterable[str], tree: FileSource, result: ParseResult, what: str
) -> tuple[str | None, list[str]]:
    """Digest and lines of interest of the repository files ``targets`` (relative to
    ``folder``); files that do not exist are left out."""
    digest = hashlib.sha256()
    lines: list[str] = []
    found = False
    for target in sorted(set(targets)):
        rel = _inside(folder, target)
        if rel is None:
            continue
        try:
            data = tree.read(rel)
        except LockfileError as exc:
            result.notes.append(f"{rel}: {what} not read: {exc}")
            continue
        if data is None:
            continue
        found = True
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        lines.extend(code_lines(data.decode("utf-8", "replace")))
    return ("sha256:" + digest.hexdigest() if found else None), lines[: MAX_CODE_LINES + 1]


# ------------------------------------------------------------------ package.json

# A file a script runs: ``node scripts/x.js``, ``sh ./install.sh``, ``./setup``, …
_SCRIPT_FILE = re.compile(r"^(?:\./)?[\w.@/-]+\.(?:c?js|mjs|ts|cts|mts|sh|bash|py|rb|pl|ps1)$")


def _script_files(command: str) -> list[str]:
    try:
        words = shlex.split(command, posix=True)
    except ValueError:
        words = command.split()
    return [w for w in words if _SCRIPT_FILE.match(w) and not w.startswith("-")]


def npm_script_hooks(
    path: str, text: str, data: dict[str, Any], tree: FileSource, result: ParseResult
) -> None:
    """The lifecycle scripts of a package.json, with the repository files they run."""
    scripts = data.get("scripts")
    if not isinstance(scripts, dict):
        return
    folder = posixpath.dirname(path)
    for name in LIFECYCLE_SCRIPTS:
        command = scripts.get(name)
        if not isinstance(command, str):
            continue
        code = _read_code(folder, _script_files(command), tree, result, f"the {name} script's file")
        line = find_line(text, [f'"{name}"'])
        result.hooks.append(_hook("npm-script", path, line, name, command, code))


# ------------------------------------------------------------------ Python


def parse_setup_py(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    """A setup.py: run by pip to build the package (read, never run)."""
    code = (_digest(text.encode("utf-8")), code_lines(text))
    result.hooks.append(_hook("setup-py", path, 1, "setup.py", "", code))
    result.files.append(path)


def build_system_hook(path: str, text: str, data: dict[str, Any], result: ParseResult) -> None:
    """pyproject.toml's ``[build-system]``: the backend pip installs and runs."""
    table = data.get("build-system")
    if not isinstance(table, dict):
        return
    requires = table.get("requires")
    parts = [f"build-backend = {table.get('build-backend', '(setuptools legacy)')}"]
    if isinstance(requires, list):
        parts.append("requires = " + ", ".join(str(r) for r in requires))
    backend_path = table.get("backend-path")
    if isinstance(backend_path, list):
        parts.append("backend-path = " + ", ".join(str(p) for p in backend_path))
    line = find_line(text, ["[build-system]"])
    result.hooks.append(_hook("build-system", path, line, "build-system", "; ".join(parts)))


# ------------------------------------------------------------------ gemspec

_EXTENSIONS = re.compile(r"\.extensions\s*(?:=|<<|\+=|\.push\(|\.concat\()\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'")
_WORDS = re.compile(r"%w[\[({<]([^\])}>]*)[\])}>]")


def _extension_files(expression: str) -> list[str]:
    words = [w for m in _WORDS.finditer(expression) for w in m.group(1).split()]
    words += [a or b for a, b in _QUOTED.findall(_WORDS.sub("", expression))]
    return words


def parse_gemspec(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    """A gemspec's native ``extensions``: their ``extconf.rb`` runs at ``gem install``."""
    found = [(m.start(), m.group(1)) for m in _EXTENSIONS.finditer(text)]
    if found:
        files = sorted({f for _, expression in found for f in _extension_files(expression)})
        command = ", ".join(files) or "; ".join(e.strip() for _, e in found)
        code = _read_code(
            posixpath.dirname(path), files, tree, result, "a native extension's build script"
        )
        line = text.count("\n", 0, found[0][0]) + 1
        name = posixpath.basename(path)
        result.hooks.append(_hook("gem-extension", path, line, name, command, code))
    result.files.append(path)
