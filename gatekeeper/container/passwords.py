"""Literal passwords a ``RUN`` writes: ``chpasswd``, ``passwd``, ``useradd -p``, ``htpasswd -b``.

A ``RUN`` line is kept in the image history, so a password written in it is readable by anyone
who can pull the image::

    echo "root:Docker!" | chpasswd               # user:password lines
    chpasswd <<< 'app:s3cr3t-pw'
    echo -e "pw\\npw" | passwd app               # passwd reads the password twice
    printf 'pw\\n' | passwd --stdin app
    useradd -m -p '$6$salt$hash...' app          # a crypt hash is crackable offline
    usermod --password=... app
    htpasswd -bc /etc/nginx/.htpasswd admin pw   # batch mode: the password is an argument
    htpasswd -nb admin pw

Not: a value read from a variable, a command substitution or a file (``"root:$PW"``,
``"$(cat /run/secrets/pw)"``, ``chpasswd < file``), locked or empty accounts (``-p '*'``,
``-p '!'``), and whatever the one secret classifier does not count as a credential
(placeholders, well-known defaults, short values: ``gatekeeper.secrets.classify``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from gatekeeper.models.secrets import RedactedValue
from gatekeeper.secrets.classify import is_credential_value, redact, value_fingerprint

# One quoted or bare shell word.
_WORD = r"""(?:'[^'\n]*'|"(?:[^"\\\n]|\\.)*"|[^\s;&|<>()'"]+)"""
_FEED = re.compile(
    r"\b(?:echo|printf)(?:[ \t]+-[a-zA-Z]+)*[ \t]+(?P<word>" + _WORD + r")[ \t]*\|[ \t]*"
    r"(?:sudo[ \t]+)?(?:/usr/s?bin/)?(?P<tool>chpasswd|passwd)\b"
)
_HERE_STRING = re.compile(
    r"\b(?:/usr/s?bin/)?(?P<tool>chpasswd|passwd)\b[^\n;&|]*?<<<[ \t]*(?P<word>" + _WORD + r")"
)
_USERADD = re.compile(
    r"\b(?P<tool>useradd|usermod|adduser)\b[^\n;&|]*?[ \t](?:-p|--password)(?:[ \t]+|=)"
    r"(?P<word>" + _WORD + r")"
)
_HTPASSWD = re.compile(r"\bhtpasswd\b(?P<rest>[^\n;&|<>]*)")
# A crypt(3) hash (``$6$salt$hash``, ``$y$...``): the classifier judges its hash part.
_CRYPT = re.compile(r"^\$(?:1|2[aby]?|5|6|y|gy|7|sha1|md5)\$(?:[^$]*\$)*(?P<hash>[^$]+)$")


@dataclass(frozen=True)
class Password:
    value: str  # the literal password (never stored or printed: redact it)
    tool: str  # chpasswd, passwd, useradd, usermod, adduser, htpasswd
    start: int  # where the word holding it is in the text
    end: int


def _literal(word: str) -> str | None:
    """The word's text when it is a literal; None when the shell would substitute into it."""
    if word.startswith("'") and word.endswith("'") and len(word) >= 2:
        return word[1:-1]
    inner = word[1:-1] if word.startswith('"') and word.endswith('"') and len(word) >= 2 else word
    if "$" in inner or "`" in inner:
        return None
    return inner.replace('\\"', '"')


def _fed_password(tool: str, text: str) -> str | None:
    """The password in what is fed to chpasswd (``user:password``) or passwd (``pw\\npw``)."""
    first = re.split(r"\\n|\n", text, maxsplit=1)[0]
    if tool == "chpasswd":
        user, sep, password = first.partition(":")
        return password if sep and user else None
    return first


def _htpasswd(match: re.Match[str]) -> Password | None:
    rest = match.group("rest")
    try:
        words = shlex.split(rest)
    except ValueError:
        return None
    flags = "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--"))
    positional = [w for w in words if not w.startswith("-")]
    if "b" not in flags:
        return None  # interactive: the password is not on the command line
    wanted = 2 if "n" in flags else 3  # [file] user password
    if len(positional) < wanted:
        return None
    raw_words = re.findall(_WORD, rest)
    raw = raw_words[-1] if raw_words else ""
    value = _literal(raw)
    if value is None or value != positional[wanted - 1]:
        return None
    start = match.start("rest") + rest.rfind(raw)
    return Password(value=value, tool="htpasswd", start=start, end=start + len(raw))


def find_passwords(text: str) -> list[Password]:
    """Literal passwords the shell text hands to an account or password-file tool."""
    found: list[Password] = []
    for pattern in (_FEED, _HERE_STRING, _USERADD):
        for match in pattern.finditer(text):
            tool = match.group("tool")
            literal = _literal(match.group("word"))
            if literal is None:
                continue
            value = literal if pattern is _USERADD else _fed_password(tool, literal)
            if value:
                found.append(Password(value, tool, match.start("word"), match.end("word")))
    for match in _HTPASSWD.finditer(text):
        password = _htpasswd(match)
        if password is not None:
            found.append(password)
    unique = {(p.start, p.end): p for p in found}
    return [p for p in unique.values() if is_credential_value(_judged_part(p.value))]


def _judged_part(value: str) -> str:
    crypt = _CRYPT.match(value)
    return crypt.group("hash") if crypt else value


def redact_passwords(text: str) -> tuple[str, RedactedValue | None]:
    """``text`` with each literal password replaced by its redacted form, and the first one."""
    passwords = sorted(find_passwords(text), key=lambda p: p.start)
    if not passwords:
        return text, None
    first = passwords[0]
    secret = RedactedValue(
        redacted=redact(first.value),
        sha256=value_fingerprint(first.value),
        reason=f"literal-password:{first.tool}",
    )
    for password in reversed(passwords):
        word = text[password.start : password.end]
        text = (
            text[: password.start]
            + word.replace(password.value, redact(password.value))
            + (text[password.end :])
        )
    return text, secret


__all__ = ["Password", "find_passwords", "redact_passwords"]
