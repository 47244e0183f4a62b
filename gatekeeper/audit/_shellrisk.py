"""Risky shell text: download-and-execute, and switched-off TLS or signature checks.

One definition for ``pipeline/remote-script`` / ``container/remote-script`` and
``pipeline/insecure-fetch`` / ``container/insecure-fetch`` (RULES.md: the container rules are
the pipeline rules inside a ``RUN``). Static text analysis only; nothing is ever run.
"""

from __future__ import annotations

import re
import shlex


class _Lazy:
    """A pattern compiled on its first search: half of all runs (no line naming a fetcher
    or a TLS switch) never need these, and compiling them costs every process ~3 ms."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self._get().search(text)

    def split(self, text: str) -> list[str]:
        return self._get().split(text)


_SHELLS = r"(?:bash|sh|zsh|ksh|dash|ash|fish|python[0-9.]*|perl|ruby|node|pwsh|powershell)"
_SUDO = r"(?:sudo(?:\s+-[A-Za-z-]+)*\s+)?(?:env\s+(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)?"
_REMOTE_SCRIPT = (
    (
        "a download piped into a shell",
        _Lazy(
            r"\b(?:curl|wget)\b[^|\n]*\|\s*"
            + _SUDO
            + r"(?:/usr/(?:local/)?bin/|/bin/)?"
            + _SHELLS
            + r"(?![\w.-])",
        ),
    ),
    (
        "a download executed through process or command substitution",
        _Lazy(
            r"(?:\b(?:bash|sh|zsh|ksh|dash|source|eval|python[0-9.]*|perl|ruby)\b|(?:^|[\s;&|(])\.)"
            r"\s+(?:-\w+\s+)*[\"']?(?:<\(|\$\(|`)\s*(?:sudo\s+)?(?:curl|wget)\b",
        ),
    ),
    (
        "a download passed to Invoke-Expression",
        _Lazy(
            r"\b(?:iex|invoke-expression)\b[\s(]*(?:iwr|irm|invoke-webrequest|invoke-restmethod|"
            r"curl|wget|new-object\s+(?:system\.)?net\.webclient)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "a download piped into Invoke-Expression",
        _Lazy(
            r"\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|curl|wget|downloadstring)\b[^|\n]*"
            r"\|\s*(?:iex|invoke-expression)\b",
            re.IGNORECASE,
        ),
    ),
)

FALSEY = r"(?:false|0|no|off)"
_INSECURE_FETCH = (
    (
        "`curl -k`/`--insecure` skips TLS verification",
        # NOTE: within the one curl command: `curl … && make -k` is not curl's -k.
        _Lazy(r"\bcurl\b(?:(?!&&|\|\|)[^|;\n])*?\s(?:--insecure\b|-[a-zA-Z]*k[a-zA-Z]*(?=\s|$))"),
    ),
    ("`--insecure` skips TLS verification", _Lazy(r"(?<![\w-])--insecure(?![\w-])")),
    (
        "`wget --no-check-certificate` skips TLS verification",
        _Lazy(r"--no-check-certificate\b"),
    ),
    (
        "TLS verification is disabled",
        _Lazy(
            r"--insecure-skip-tls-verify(?:=true)?(?![\w=-])|--(?:skip-)?tls-verify[= ]false\b|"
            r"--skip-tls-verify\b|-SkipCertificateCheck\b",
            re.IGNORECASE,
        ),
    ),
    (
        "`--trusted-host` lets pip fetch over unverified connections",
        _Lazy(r"--trusted-host\b"),
    ),
    (
        "package signature checks are disabled (`--nogpgcheck`)",
        _Lazy(r"--nogpgcheck\b|--no-gpg-checks?\b|\bgpgcheck\s*=\s*0\b"),
    ),
    (
        "apt accepts unauthenticated packages",
        _Lazy(
            r"--allow-unauthenticated\b|--allow-insecure-repositories\b|"
            r"AllowUnauthenticated\s*=?\s*(?:\"|')?true|AllowInsecureRepositories\s*=?\s*(?:\"|')?true",
            re.IGNORECASE,
        ),
    ),
    (
        "`strict-ssl false` disables TLS verification for the package manager",
        _Lazy(r"strict[-_]ssl[\"']?\s*[= ]\s*[\"']?" + FALSEY + r"\b", re.IGNORECASE),
    ),
    (
        "`GIT_SSL_NO_VERIFY` disables TLS verification for git",
        _Lazy(r"\bGIT_SSL_NO_VERIFY\s*=\s*[\"']?(?!(?:false|0|no|off)?[\"']?(?:\s|$))\S"),
    ),
    (
        "git's `http.sslVerify` is switched off",
        _Lazy(r"http\.sslverify\s*[= ]\s*[\"']?" + FALSEY + r"\b", re.IGNORECASE),
    ),
    (
        "`NODE_TLS_REJECT_UNAUTHORIZED=0` disables TLS verification for Node.js",
        _Lazy(r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0\b"),
    ),
    (
        "`PYTHONHTTPSVERIFY=0` disables TLS verification for Python",
        _Lazy(r"\bPYTHONHTTPSVERIFY\s*=\s*[\"']?0\b"),
    ),
)

# More constructs and switches (fetchers such as httpie and aria2c, apk/apt trust switches).
_FETCHER = r"(?:curl|wget|fetch|http|https|aria2c)"
_INTERPRETER = r"(?:(?:ba|z|k|da|a|fi)?sh|python[0-9.]*|perl|ruby|node|php|pwsh|powershell)"
_SUDO_MORE = r"(?:sudo(?:\s+-[A-Za-z]+)*\s+|env(?:\s+[A-Za-z_][A-Za-z0-9_]*=\S*)*\s+)*"

_REMOTE_SCRIPT_MORE = (
    # curl ... | sh, wget -O- ... | sudo bash -s --
    _Lazy(rf"\b{_FETCHER}\b[^|;&\n]*\|\s*{_SUDO_MORE}(?:/usr)?(?:/bin/)?{_INTERPRETER}\b"),
    # bash <(curl ...), source <(wget ...), . <(curl ...)
    _Lazy(rf"(?:\b{_INTERPRETER}|\bsource|(?:^|\s)\.)\s+(?:-\S+\s+)*<\(\s*{_FETCHER}\b"),
    # sh -c "$(curl ...)", python -c "$(wget -qO- ...)"
    _Lazy(rf"\b{_INTERPRETER}\s+(?:-\S+\s+)*-c\s+[\"']?\$\(\s*{_FETCHER}\b"),
    # eval "$(curl ...)"
    _Lazy(rf"\beval\s+[\"']?\$\(\s*{_FETCHER}\b"),
    # PowerShell: iex (iwr ...), iwr ... | iex
    _Lazy(
        r"\b(?:iex|Invoke-Expression)\b[\s(]*(?:\(?\s*)(?:iwr|irm|Invoke-WebRequest|"
        r"Invoke-RestMethod|\(?New-Object\s+(?:System\.)?Net\.WebClient)",
        re.IGNORECASE,
    ),
    _Lazy(
        r"\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b[^|;\n]*\|\s*"
        r"(?:iex|Invoke-Expression)\b",
        re.IGNORECASE,
    ),
)

_INSECURE_MORE = (
    ("--insecure", _Lazy(r"(?<![\w-])--insecure(?![\w-])")),
    ("--no-check-certificate", _Lazy(r"(?<![\w-])--no-check-certificate(?![\w-])")),
    ("--trusted-host", _Lazy(r"(?<![\w-])--trusted-host(?![\w-])")),
    ("--nogpgcheck", _Lazy(r"(?<![\w-])--nogpgcheck(?![\w-])")),
    ("--no-gpg-checks", _Lazy(r"(?<![\w-])--no-gpg-checks(?![\w-])")),
    ("--allow-unauthenticated", _Lazy(r"(?<![\w-])--allow-unauthenticated(?![\w-])")),
    (
        "--allow-insecure-repositories",
        _Lazy(r"(?<![\w-])--allow-insecure-repositories(?![\w-])"),
    ),
    ("--allow-untrusted", _Lazy(r"(?<![\w-])--allow-untrusted(?![\w-])")),
    ("--no-verify-ssl", _Lazy(r"(?<![\w-])--no-verify-ssl(?![\w-])")),
    (
        "--insecure-skip-tls-verify",
        _Lazy(r"(?<![\w-])--insecure-skip-tls-verify(?:=true)?(?![\w=-])"),
    ),
    ("--tls-verify=false", _Lazy(r"(?<![\w-])--tls-verify[= ]false\b")),
    ("strict-ssl false", _Lazy(r"\bstrict[-_]ssl(?:\s+|\s*=\s*)false\b", re.IGNORECASE)),
    (
        "GIT_SSL_NO_VERIFY",
        _Lazy(r"\bGIT_SSL_NO_VERIFY\s*=\s*[\"']?(?:1|true|yes|on)\b", re.IGNORECASE),
    ),
    (
        "http.sslVerify false",
        _Lazy(r"\bhttp\.sslverify(?:\s+|\s*=\s*)[\"']?false\b", re.IGNORECASE),
    ),
    (
        "NODE_TLS_REJECT_UNAUTHORIZED=0",
        _Lazy(r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0\b"),
    ),
    ("gpgcheck=0", _Lazy(r"\b(?:repo_)?gpgcheck\s*=\s*0\b")),
    ("[trusted=yes]", _Lazy(r"\[\s*trusted\s*=\s*yes\s*\]")),
)

_K_OPTION = _Lazy(r"(?:^|[\s\"'])-[A-Za-z]*k")
# curl short options that take an argument: a ``k`` after one of these is that argument.
_CURL_ARG_OPTS = frozenset("oOHdXuAeTwxmCrbcEFKQYyzUPt")
_SEPARATORS = _Lazy(r"\|\||&&|[|;&\n()]")


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False, posix=True)
    except ValueError:
        return segment.split()  # NOTE: unbalanced quotes; a plain split still finds flags


def _curl_insecure(text: str) -> bool:
    """Whether a ``curl`` command in ``text`` has ``-k`` among its short options."""
    for segment in _SEPARATORS.split(text):
        words = _words(segment)
        for index, word in enumerate(words):
            if word.rsplit("/", 1)[-1] == "curl" and _has_k(words[index + 1 :]):
                return True
    return False


def _has_k(args: list[str]) -> bool:
    """``-k`` in curl's arguments, alone or grouped (``-sk``), up to ``--``."""
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--") or not arg.startswith("-") or len(arg) < 2:
            continue
        for char in arg[1:]:
            if char == "k":
                return True
            if char in _CURL_ARG_OPTS:
                break  # the rest of the group is that option's argument
    return False


def remote_script(text: str) -> str | None:
    """What kind of download-and-execute ``text`` does, or None."""
    for label, pattern in _REMOTE_SCRIPT:
        if pattern.search(text):
            return label
    for pattern in _REMOTE_SCRIPT_MORE:
        match = pattern.search(text)
        if match:
            return f"a download executed in one go (`{' '.join(match.group(0).split())}`)"
    return None


def insecure_fetch(text: str) -> str | None:
    """Which verification ``text`` switches off, or None."""
    for label, pattern in _INSECURE_FETCH:
        match = pattern.search(text)
        if match:
            return f"{label} (`{' '.join(match.group(0).split())[-60:]}`)"
    for name, pattern in _INSECURE_MORE:
        if pattern.search(text):
            return f"`{name}` switches off TLS or signature verification"
    # NOTE: the word-by-word reading is slow; only a short-option group with a `k` can match.
    if _K_OPTION.search(text) and _curl_insecure(text):
        return "`curl -k`/`--insecure` skips TLS verification"
    return None
