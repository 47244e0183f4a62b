"""Shell patterns inside ``RUN``: download-and-execute, and switched-off TLS or signature checks.

Static text analysis only; nothing is ever run. The switches are those of
``pipeline/insecure-fetch`` (``curl -k``/``--insecure``, ``--trusted-host``, ``--nogpgcheck``,
``--allow-unauthenticated``, ``strict-ssl false``, ``GIT_SSL_NO_VERIFY``) plus their close
relatives (``wget --no-check-certificate``, ``apk --allow-untrusted``, ``gpgcheck=0``...).
"""

from __future__ import annotations

import re
import shlex

_FETCHER = r"(?:curl|wget|fetch|http|https|aria2c)"
_INTERPRETER = r"(?:(?:ba|z|k|da|a|fi)?sh|python[0-9.]*|perl|ruby|node|php|pwsh|powershell)"
_SUDO = r"(?:sudo(?:\s+-[A-Za-z]+)*\s+|env(?:\s+[A-Za-z_][A-Za-z0-9_]*=\S*)*\s+)*"

_REMOTE_SCRIPT = (
    # curl ... | sh, wget -O- ... | sudo bash -s --
    re.compile(rf"\b{_FETCHER}\b[^|;&\n]*\|\s*{_SUDO}(?:/usr)?(?:/bin/)?{_INTERPRETER}\b"),
    # bash <(curl ...), source <(wget ...), . <(curl ...)
    re.compile(rf"(?:\b{_INTERPRETER}|\bsource|(?:^|\s)\.)\s+(?:-\S+\s+)*<\(\s*{_FETCHER}\b"),
    # sh -c "$(curl ...)", python -c "$(wget -qO- ...)"
    re.compile(rf"\b{_INTERPRETER}\s+(?:-\S+\s+)*-c\s+[\"']?\$\(\s*{_FETCHER}\b"),
    # eval "$(curl ...)"
    re.compile(rf"\beval\s+[\"']?\$\(\s*{_FETCHER}\b"),
    # PowerShell: iex (iwr ...), iwr ... | iex
    re.compile(r"\b(?:iex|Invoke-Expression)\b[\s(]*(?:\(?\s*)(?:iwr|irm|Invoke-WebRequest|"
               r"Invoke-RestMethod|\(?New-Object\s+(?:System\.)?Net\.WebClient)", re.IGNORECASE),
    re.compile(r"\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b[^|;\n]*\|\s*"
               r"(?:iex|Invoke-Expression)\b", re.IGNORECASE),
)

_INSECURE = (
    ("--insecure", re.compile(r"(?<![\w-])--insecure(?![\w-])")),
    ("--no-check-certificate", re.compile(r"(?<![\w-])--no-check-certificate(?![\w-])")),
    ("--trusted-host", re.compile(r"(?<![\w-])--trusted-host(?![\w-])")),
    ("--nogpgcheck", re.compile(r"(?<![\w-])--nogpgcheck(?![\w-])")),
    ("--no-gpg-checks", re.compile(r"(?<![\w-])--no-gpg-checks(?![\w-])")),
    ("--allow-unauthenticated", re.compile(r"(?<![\w-])--allow-unauthenticated(?![\w-])")),
    ("--allow-insecure-repositories",
     re.compile(r"(?<![\w-])--allow-insecure-repositories(?![\w-])")),
    ("--allow-untrusted", re.compile(r"(?<![\w-])--allow-untrusted(?![\w-])")),
    ("--no-verify-ssl", re.compile(r"(?<![\w-])--no-verify-ssl(?![\w-])")),
    ("--insecure-skip-tls-verify",
     re.compile(r"(?<![\w-])--insecure-skip-tls-verify(?:=true)?(?![\w=-])")),
    ("--tls-verify=false", re.compile(r"(?<![\w-])--tls-verify[= ]false\b")),
    ("strict-ssl false", re.compile(r"\bstrict[-_]ssl(?:\s+|\s*=\s*)false\b", re.IGNORECASE)),
    ("GIT_SSL_NO_VERIFY",
     re.compile(r"\bGIT_SSL_NO_VERIFY\s*=\s*[\"']?(?:1|true|yes|on)\b", re.IGNORECASE)),
    ("http.sslVerify false",
     re.compile(r"\bhttp\.sslverify(?:\s+|\s*=\s*)[\"']?false\b", re.IGNORECASE)),
    ("NODE_TLS_REJECT_UNAUTHORIZED=0",
     re.compile(r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0\b")),
    ("gpgcheck=0", re.compile(r"\b(?:repo_)?gpgcheck\s*=\s*0\b")),
    ("[trusted=yes]", re.compile(r"\[\s*trusted\s*=\s*yes\s*\]")),
)

# curl short options that take an argument: a ``k`` after one of these is that argument.
_CURL_ARG_OPTS = frozenset("oOHdXuAeTwxmCrbcEFKQYyzUPt")
_SEPARATORS = re.compile(r"\|\||&&|[|;&\n()]")


def remote_script(text: str) -> str | None:
    """The download-and-execute construct in ``text``, if any (the matched text)."""
    for pattern in _REMOTE_SCRIPT:
        match = pattern.search(text)
        if match:
            return " ".join(match.group(0).split())
    return None


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False, posix=True)
    except ValueError:
        return segment.split()  # NOTE: unbalanced quotes; a plain split still finds flags


def _curl_insecure(text: str) -> bool:
    for segment in _SEPARATORS.split(text):
        words = _words(segment)
        for index, word in enumerate(words):
            if word.rsplit("/", 1)[-1] != "curl":
                continue
            for arg in words[index + 1:]:
                if arg == "--":
                    break
                if arg.startswith("--") or not arg.startswith("-") or len(arg) < 2:
                    continue
                for char in arg[1:]:
                    if char == "k":
                        return True
                    if char in _CURL_ARG_OPTS:
                        break
    return False


def insecure_fetch(text: str) -> str | None:
    """The switch in ``text`` that turns off TLS or signature checks, if any."""
    for name, pattern in _INSECURE:
        if pattern.search(text):
            return name
    if _curl_insecure(text):
        return "curl -k"
    return None
