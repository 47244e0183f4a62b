"""What install-time code does, judged from its text: the ``deps/install-script`` severity.

High when the code fetches or runs remote code (the shared download-and-execute analysis of
``_shellrisk``, a download next to something that executes, an install of a package from a
URL), reads credentials (tokens, ``.npmrc``, SSH and cloud keys, the whole environment) or
writes outside the package (the home directory, ``/etc``, shell start-up files, other
repositories' workflows). Low when an npm script only builds a native addon. Static text
analysis only; nothing is ever run.
"""

from __future__ import annotations

import re

from gatekeeper.audit._shellrisk import remote_script

__all__ = ["install_risk", "is_native_build", "is_standard_build"]

# A download: a fetching tool or call, not a URL alone (setup.py metadata names URLs).
_FETCH = re.compile(
    r"\b(?:curl|wget|Invoke-WebRequest|iwr|irm|urlopen|urlretrieve|fetch\s*\(|axios\b|"
    r"got\s*\(|needle\b|https?\.(?:get|request)\s*\(|requests\.(?:get|post)\s*\(|httpx\.|"
    r"Net::HTTP|URI\.open|open-uri|DownloadFile|DownloadString)",
    re.IGNORECASE,
)
# Something that executes: a process, an interpreter on a string, eval.
_EXECUTE = re.compile(
    r"child_process|\b(?:execSync|execFileSync|spawnSync|execFile|spawn)\s*\(|\bexec\s*\(|"
    r"\beval\s*\(|new\s+Function\s*\(|\bsubprocess\.|\bos\.(?:system|popen|exec\w*)\s*\(|"
    r"\bsystem\s*\(|%x[{(\[]|\b(?:bash|sh|zsh|node|python[0-9.]*|ruby|perl)\s+-[ce]\b|"
    r"\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\bchmod\s+\+x\b",
    re.IGNORECASE,
)
# An install of something the lockfile does not pin: from a URL or a git repository (a
# package manager's install command, or a PEP 508 direct reference among build requirements).
_REMOTE_INSTALL = re.compile(
    r"\b(?:npm|pnpm|yarn|pip3?|gem|cargo)\s+(?:i|add|install)\b[^\n;&|]*"
    r"(?:https?://|git\+|github:|git@)|[\w.-]+\s+@\s+(?:https?://|git\+)",
    re.IGNORECASE,
)
_CREDENTIALS = re.compile(
    r"\.npmrc|_authToken|\bNPM_TOKEN\b|\bNODE_AUTH_TOKEN\b|\bGITHUB_TOKEN\b|\bGH_TOKEN\b|"
    r"\bGITLAB_TOKEN\b|\bAWS_(?:SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN)\b|"
    r"\.aws/credentials|\.ssh/|\bid_(?:rsa|ed25519|ecdsa)\b|\.docker/config\.json|"
    r"\.git-credentials|\.netrc\b|\.pypirc|\.kube/config|application_default_credentials|"
    r"\bgcloud\b.*\b(?:auth|token)\b|\btrufflehog\b|\bprintenv\b|"
    r"JSON\.stringify\(\s*process\.env\s*\)|Object\.(?:keys|entries)\(\s*process\.env\s*\)|"
    r"dict\(\s*os\.environ\s*\)|os\.environ\.copy\(\)|/proc/(?:self|\d+)/environ|"
    r"(?:^|[;&|]\s*)env\s*\|",
    re.IGNORECASE,
)
_OUTSIDE_TARGET = (
    r"(?:~/|\$HOME\b|\$\{HOME\}|homedir\(\)|os\.homedir|expanduser\(|/etc/|/usr/(?:local/)?"
    r"(?:bin|lib)/|/Library/|\.\./\.\./|\.bashrc|\.zshrc|\.bash_profile|\.profile\b|"
    r"LaunchAgents|\.config/autostart|\.github/workflows)"
)
_OUTSIDE = re.compile(
    r"(?:>>?|\btee\b(?:\s+-a)?|writeFile(?:Sync)?\s*\(|appendFile(?:Sync)?\s*\(|copyFile"
    r"(?:Sync)?\s*\(|\bcp\b|\bmv\b|\binstall\s+-|\bopen\s*\([^)]*['\"][wa]b?['\"]|"
    r"File\.(?:write|open)|mkdir(?:Sync)?\s*\()[^\n]{0,120}?"
    + _OUTSIDE_TARGET
    + r"|\bcrontab\b|\bsystemctl\s+(?:enable|start)\b|\blaunchctl\s+load\b",
    re.IGNORECASE,
)

# npm scripts that only build a native addon (or set up git hooks) from the package's own
# sources: install-time code, but the package's, not fetched.
_NATIVE_BUILD = re.compile(
    r"^(?:node-gyp\s+rebuild|node-gyp-build(?:-optional-packages)?|"
    r"prebuild-install(?:\s+-r\s+napi)?(?:\s+\|\|\s+node-gyp\s+rebuild)?|"
    r"node-pre-gyp\s+install\s+--fallback-to-build|cmake-js\s+compile|husky(?:\s+install)?)$"
)


def is_native_build(command: str) -> bool:
    """Whether an npm script only builds a native addon (``node-gyp rebuild``) or installs
    git hooks (``husky``)."""
    return bool(_NATIVE_BUILD.match(" ".join(command.split())))


# pyproject.toml build backends and build requirements that are the Python packaging
# tools themselves (PEP 503 names): installed from the package index and run from there,
# not code of the repository or of an unknown package.
_STANDARD_BACKENDS = frozenset(
    {
        "(setuptools legacy)",
        "setuptools.build_meta",
        "setuptools.build_meta:__legacy__",
        "hatchling.build",
        "flit_core.buildapi",
        "poetry.core.masonry.api",
        "pdm.backend",
        "maturin",
        "mesonpy",
        "scikit_build_core.build",
        "uv_build",
    }
)
_STANDARD_BUILD_REQUIRES = frozenset(
    {
        "setuptools",
        "wheel",
        "setuptools-scm",
        "setuptools-rust",
        "hatchling",
        "hatch-vcs",
        "hatch-fancy-pypi-readme",
        "flit-core",
        "poetry-core",
        "pdm-backend",
        "maturin",
        "meson-python",
        "meson",
        "ninja",
        "cmake",
        "scikit-build-core",
        "uv-build",
        "cython",
        "numpy",
        "pybind11",
        "nanobind",
        "cffi",
        "packaging",
    }
)
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*")
_SPECIFIER = re.compile(r"^(?:(?:~=|==|!=|<=|>=|<|>)\s*[0-9][0-9A-Za-z.*+!-]*\s*,?\s*)*$")


def is_standard_build(command: str) -> bool:
    """Whether a ``[build-system]`` (as recorded: ``build-backend = X; requires = a, b``)
    names a well-known backend, no in-tree ``backend-path``, and only well-known build
    tools from the package index with plain version specifiers (no URL, no marker)."""
    pieces = command.split("; ")
    if not all(" = " in piece for piece in pieces):
        return False  # a marker, or something else than the two settings
    parts = dict(piece.split(" = ", 1) for piece in pieces)
    if set(parts) - {"build-backend", "requires"} or "build-backend" not in parts:
        return False
    if parts["build-backend"] not in _STANDARD_BACKENDS:
        return False
    for requirement in filter(None, parts.get("requires", "").split(", ")):
        found = _REQUIREMENT_NAME.match(requirement)
        if found is None:
            return False
        name = re.sub(r"[-_.]+", "-", found.group(1)).lower()
        if name not in _STANDARD_BUILD_REQUIRES or not _SPECIFIER.match(requirement[found.end() :]):
            return False
    return True


def _quote(match: re.Match[str]) -> str:
    text = " ".join(match.group(0).split())
    return f"`{text[:80]}{'…' if len(text) > 80 else ''}`"


def install_risk(lines: list[str]) -> str | None:
    """Why install-time code is high risk, or None: what it fetches or runs, the
    credentials it reads, where outside the package it writes."""
    text = "\n".join(lines)
    label = remote_script(text)
    if label:
        return f"it fetches and runs remote code ({label})"
    fetch, execute = _FETCH.search(text), _EXECUTE.search(text)
    if fetch and execute:
        return f"it downloads ({_quote(fetch)}) and executes ({_quote(execute)})"
    found = _REMOTE_INSTALL.search(text)
    if found:
        return f"it installs code from outside the lockfile ({_quote(found)})"
    found = _CREDENTIALS.search(text)
    if found:
        return f"it reads credentials ({_quote(found)})"
    found = _OUTSIDE.search(text)
    if found:
        return f"it writes outside the package ({_quote(found)})"
    return None
