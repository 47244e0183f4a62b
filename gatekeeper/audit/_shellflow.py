"""Where values go inside a shell script: variables, command output, environment files, hosts.

A static reading of POSIX shell (and the PowerShell/cmd forms of environment references)
good enough to follow a value through the constructs CI scripts use: assignments
(``X=...``, ``export``/``local``/``declare``), command substitution (``X=$(echo "$Y" | sed
...)``), ``read`` (``read -r X <<< "$Y"``), ``for X in $Y``, heredocs, pipes into ``tee``,
and redirections into files. Values carry *labels* (any hashable: where attacker text came
from, or which secret a value holds); a command that reads a labelled variable passes its
labels to what it writes.

Uses:

- GitHub Actions taint (``_gha_flow``): which labelled values reach ``$GITHUB_ENV``,
  ``$GITHUB_PATH`` and ``$GITHUB_OUTPUT`` (and under which name);
- secret exfiltration (``pipeline_common``, every CI format): which commands send a labelled
  value (a secret) over the network, to which host, and which print it in a form log masking
  does not catch.

Nothing is executed. Unknown constructs keep labels conservatively inside one command and
drop nothing that was written to a file the runner reads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

L = TypeVar("L", bound=Hashable)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_VAR_REF = re.compile(
    r"\$\{#?(" + _NAME + r")[^}]*\}|\$(" + _NAME + r")|\$env:(" + _NAME + r")|%(" + _NAME + r")%",
    re.IGNORECASE,
)
_ASSIGN = re.compile(r"^(" + _NAME + r")(\+?=)(.*)$", re.DOTALL)
_DECLARERS = ("export", "local", "declare", "readonly", "typeset")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)(" + _NAME + r")\2")
_HERESTRING = re.compile(r"<<<\s*(.*)$", re.DOTALL)
_ENV_FILE = re.compile(
    r"^[\"']?(?:\$\{?GITHUB_(ENV|PATH|OUTPUT|STEP_SUMMARY)\}?|\$env:GITHUB_(ENV|PATH|OUTPUT|STEP_SUMMARY)"
    r"|%GITHUB_(ENV|PATH|OUTPUT|STEP_SUMMARY)%)[\"']?$",
    re.IGNORECASE,
)
_PS_WRITERS = re.compile(
    r"\b(?:Out-File|Add-Content|Set-Content)\b.*?(?:\$env:GITHUB_(ENV|PATH|OUTPUT))\b",
    re.IGNORECASE,
)
_ARITHMETIC = re.compile(r"^\$\(\(.*\)\)$", re.DOTALL)
# Precompiled: these run once per command or per word (NOTE: a literal each pattern needs is
# checked first where most text has none: `>` for a redirection, `<<` for a heredoc).
_UNESCAPE_DOUBLE = re.compile(r'\\(["\\$`])')
_REDIRECT = re.compile(r"(?<![<&\d])(>>|>\||>)\s*(\"[^\"]*\"|'[^']*'|[^\s;&|]+)")
_KEYWORD = re.compile(r"^(?:then|do|else|elif|if|while|until|!|\{|\()\s+")
_PS_ASSIGN = re.compile(r"^\$(?:env:)?(" + _NAME + r")\s*=\s*(.+)$", re.DOTALL)
_ASSIGN_WORD = re.compile(_NAME + "=.*")
_DEV_TCP = re.compile(r">\s*/dev/(?:tcp|udp)/")


@dataclass(frozen=True)
class ShellLine:
    """One logical line of a script (continuations joined) and its 1-based line."""

    text: str
    line: int


@dataclass(frozen=True)
class Command:
    """A simple command: its text, words, the heredoc or here-string it reads, its
    redirections, and the commands piped into it (their output is its input)."""

    text: str
    line: int
    words: tuple[str, ...]
    stdin_text: str  # heredoc body, here-string, or the text of the commands piped in
    redirects: tuple[tuple[str, str], ...]  # (operator, target)
    piped: bool  # output goes into another command (not to the log)


# --- splitting ---------------------------------------------------------------------------------


_SPECIAL = re.compile(r"""\\.|['"`]|\$\(|\$\{|[)}]|\|\||&&|[;|&]""", re.DOTALL)


def _scan_split(text: str, separators: tuple[str, ...]) -> list[tuple[str, str]]:
    """Split ``text`` at separators outside quotes, ``$(...)``, backticks and ``${...}``.

    Returns (part, separator-after) pairs. Only the characters that matter are visited.
    """
    parts: list[tuple[str, str]] = []
    depth = 0
    quote = ""
    start = 0
    for match in _SPECIAL.finditer(text):
        piece = match.group(0)
        if piece[0] == "\\":
            if quote == "'" and piece[1:] == "'":
                quote = ""  # NOTE: a backslash is literal inside '...'
            continue
        if quote:
            if piece == quote:
                quote = ""
            elif quote == '"' and piece == "$(":
                depth += 1
            elif quote == '"' and piece == ")" and depth:
                depth -= 1
            continue
        if piece in ("'", '"', "`"):
            quote = piece
        elif piece in ("$(", "${"):
            depth += 1
        elif piece in (")", "}"):
            depth = max(0, depth - 1)
        elif not depth and piece in separators:
            i = match.start()
            if piece == "&" and text[i - 1 : i] in "<>":
                continue
            if piece == "|" and text[i - 1 : i] == ">":
                continue
            parts.append((text[start:i], piece))
            start = match.end()
    parts.append((text[start:], ""))
    return parts


_WORD_PART = re.compile(
    r"""(?P<space>\s+)|'(?P<single>[^']*)'|"(?P<double>(?:\\.|[^"\\])*)"|"""
    r"""(?P<sub>\$\((?:[^()'"]|'[^']*'|"[^"]*"|\((?:[^()]|\([^()]*\))*\))*\))|\\(?P<escaped>.)|"""
    r"""(?P<plain>[^\s'"\\$]+|\$|.)""",
    re.DOTALL,
)


def words(text: str) -> tuple[str, ...]:
    """Shell words of a simple command, quotes removed but ``$(...)`` kept whole."""
    if "'" not in text and '"' not in text and "\\" not in text and "$" not in text:
        # NOTE: nothing to unquote or keep whole: the words are the runs between spaces
        # (str.split's whitespace is exactly the pattern's \s).
        return tuple(text.split())
    out: list[str] = []
    current: list[str] = []
    started = False
    for match in _WORD_PART.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            if started:
                out.append("".join(current))
                current, started = [], False
            continue
        started = True
        if kind == "double":
            double = match.group("double")
            current.append(_UNESCAPE_DOUBLE.sub(r"\1", double) if "\\" in double else double)
        else:
            current.append(match.group(kind or "plain"))
    if started:
        out.append("".join(current))
    return tuple(out)


def _redirects(command: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The command without its output redirections, and the redirections."""
    found: list[tuple[str, str]] = []

    def take(match: re.Match[str]) -> str:
        found.append((match.group(1), match.group(2)))
        return " "

    if ">" not in command:
        return command, ()
    stripped = _REDIRECT.sub(take, command)
    return stripped, tuple(found)


def commands(lines: Iterable[ShellLine]) -> list[Command]:
    """The simple commands of a script, with heredoc bodies attached to their command."""
    return list(_commands(tuple(lines)))


@functools.lru_cache(maxsize=4096)
def _commands(pending: tuple[ShellLine, ...]) -> tuple[Command, ...]:
    out: list[Command] = []
    index = 0
    while index < len(pending):
        current = pending[index]
        index += 1
        heredoc_body = ""
        heredoc = _HEREDOC.search(current.text)
        if heredoc and _unquoted(current.text, heredoc.start()):
            body: list[str] = []
            while index < len(pending) and pending[index].text.strip() != heredoc.group(3):
                body.append(pending[index].text)
                index += 1
            index += 1  # the terminator
            # NOTE: a quoted terminator (<<'EOF') expands nothing in the body.
            heredoc_body = "" if heredoc.group(2) else "\n".join(body)
        out.extend(_line_commands(current, heredoc_body))
    return tuple(out)


def _unquoted(text: str, offset: int) -> bool:
    quote = ""
    for char in text[:offset]:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
    return not quote


def _line_commands(line: ShellLine, heredoc_body: str) -> Iterator[Command]:
    for text, items, stdin, redirects, piped in _split_line(line.text, heredoc_body):
        yield Command(text, line.line, items, stdin, redirects, piped)


# (text, words, stdin text, redirections, piped) of one simple command
_Parts = tuple[str, tuple[str, ...], str, tuple[tuple[str, str], ...], bool]


@functools.lru_cache(maxsize=8192)
def _split_line(line: str, heredoc_body: str) -> tuple[_Parts, ...]:
    """The simple commands of one logical line (cached: the taint flow and the exfiltration
    audit split the same lines, and a called action is split once per call)."""
    out: list[_Parts] = []
    piped_in = ""
    for part, sep in _scan_split(line, (";", "&&", "||", "|", "&")):
        text = part.strip()
        if not text:
            continue
        text = _KEYWORD.sub("", text)
        stripped, redirects = _redirects(text)
        stdin = piped_in
        herestring = _HERESTRING.search(stripped) if "<<<" in stripped else None
        if herestring:
            stdin = herestring.group(1)
            stripped = stripped[: herestring.start()]
        elif heredoc_body and "<<" in text:
            stdin = heredoc_body
        items = words(_HEREDOC.sub(" ", stripped) if "<<" in stripped else stripped)
        out.append((text, items, stdin, redirects, sep == "|"))
        piped_in = (piped_in + "\n" + text) if sep == "|" else ""
    return tuple(out)


# --- references --------------------------------------------------------------------------------


_PLACEHOLDER = re.compile(r"\$\{(__gk_[a-z]\d+)\}")


def var_refs(text: str) -> set[str]:
    """Variables ``text`` expands (``$X``, ``${X...}``, ``$env:X``, ``%X%``); not in '...'.

    Placeholders the audits put where a CI template expression was (``${__gk_e0}``) count
    inside single quotes too: the CI expands the expression before the shell runs.
    """
    names: set[str] = set(_PLACEHOLDER.findall(text)) if "__gk_" in text else set()
    if "$" not in text and "%" not in text:
        return names  # every reference starts with `$` or `%`
    for segment in _expanding_segments(text):
        for match in _VAR_REF.finditer(segment):
            name = next(g for g in match.groups() if g)
            names.add(name)
    return names


def _expanding_segments(text: str) -> Iterator[str]:
    """The parts of ``text`` the shell expands: everything but single-quoted strings that
    are not inside double quotes or ``$(...)``."""
    if "'" not in text:
        yield text  # no single-quoted string: the shell expands it all
        return
    out: list[str] = []
    quote = ""
    for char in text:
        if quote == "'":
            if char == "'":
                quote = ""
            continue
        if quote == '"':
            if char == '"':
                quote = ""
            out.append(char)
            continue
        if char == "'":
            quote = "'"
            continue
        if char == '"':
            quote = '"'
        out.append(char)
    yield "".join(out)


# --- the flow ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvWrite(Generic[L]):
    """A write to a GitHub environment file: ``target`` ENV, PATH or OUTPUT, the name set
    (None when it cannot be read), and the labels of the value written."""

    target: str
    name: str | None
    labels: frozenset[L]
    line: int
    text: str


_SUBSTITUTION = re.compile(r"\$\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)|`([^`]*)`")


@dataclass
class Flow(Generic[L]):
    """Labels of shell variables, as a script runs top to bottom.

    ``source`` labels what a command substitution reads besides variables (a file, the
    event payload, an API answer): it is called with the text inside ``$(...)``.
    """

    labels: dict[str, frozenset[L]] = field(default_factory=dict)
    writes: list[EnvWrite[L]] = field(default_factory=list)
    source: Callable[[str], frozenset[L]] | None = None

    def of_text(self, text: str) -> frozenset[L]:
        """Labels of what ``text`` expands to."""
        if _ARITHMETIC.match(text.strip()):
            return frozenset()
        out: set[L] = set()
        for name in var_refs(text):
            out |= self.labels.get(name, frozenset())
        if self.source is not None and ("$(" in text or "`" in text):
            for match in _SUBSTITUTION.finditer(text):
                out |= self.source(match.group(1) or match.group(2) or "")
        return frozenset(out)

    def run(self, cmds: Iterable[Command]) -> None:
        for command in cmds:
            self.step(command)

    def step(self, command: Command) -> None:
        self._assignments(command)
        self._read(command)
        self._env_file(command)

    def _assignments(self, command: Command) -> None:
        items = list(command.words)
        if items and items[0] in _DECLARERS:
            items = [w for w in items[1:] if not w.startswith("-")]
        elif items and items[0] == "for" and len(items) >= 3 and items[2] == "in":
            self.labels[items[1]] = self.of_text(" ".join(items[3:]))
            return
        for item in items:
            match = _ASSIGN.match(item)
            if not match:
                break
            name, op, value = match.groups()
            labels = self.of_text(value)
            if op == "+=":
                labels |= self.labels.get(name, frozenset())
            self.labels[name] = labels
        # PowerShell: $X = ...  /  $env:X = ...
        ps = _PS_ASSIGN.match(command.text) if command.text.startswith("$") else None
        if ps:
            self.labels[ps.group(1)] = self.of_text(ps.group(2))

    def _read(self, command: Command) -> None:
        items = command.words
        if not items or items[0] != "read":
            return
        names = [w for w in items[1:] if re.fullmatch(_NAME, w)]
        labels = self.of_text(command.stdin_text)
        for name in names:
            self.labels[name] = labels

    def _env_file(self, command: Command) -> None:
        target = self._env_target(command)
        if target is None:
            return
        if target == "STEP_SUMMARY":
            return
        content = self._written(command)
        labels = self.of_text(content)
        self.writes.append(
            EnvWrite(target, _written_name(content), labels, command.line, command.text)
        )

    @staticmethod
    def _env_target(command: Command) -> str | None:
        for _op, target in command.redirects:
            match = _ENV_FILE.match(target.strip())
            if match:
                return next(g for g in match.groups() if g).upper()
        items = command.words
        if items and items[0] == "tee":
            for arg in items[1:]:
                match = _ENV_FILE.match(arg)
                if match:
                    return next(g for g in match.groups() if g).upper()
        # `$env:GITHUB_…` has a `$` and a `:` (no case folding gives either).
        ps = (
            _PS_WRITERS.search(command.text)
            if "$" in command.text and ":" in command.text
            else None
        )
        if ps:
            return ps.group(1).upper()
        return None

    @staticmethod
    def _written(command: Command) -> str:
        """What a command writes: its input (``tee``, ``cat``), its arguments, or both."""
        if command.words and command.words[0] in ("tee", "cat"):
            return command.stdin_text
        stripped, _ = _redirects(command.text)
        parts = [stripped, command.stdin_text]
        return "\n".join(p for p in parts if p)


_WRITTEN_NAME = re.compile(
    r"(?:^|\n|\b(?:echo|printf|Write-Output|Add-Content|Out-File|Set-Content)\b(?:\s+-\w+)*)"
    r"\s*[\"']?(" + _NAME + r")(?:=|<<)",
    re.IGNORECASE,
)


def _written_name(content: str) -> str | None:
    """The variable/output name set by ``NAME=value`` or ``NAME<<DELIM`` in ``content``."""
    match = _WRITTEN_NAME.search(content)
    return match.group(1) if match else None


# --- the network -------------------------------------------------------------------------------

_SENDERS = frozenset(
    {"curl", "wget", "nc", "ncat", "netcat", "socat", "http", "https", "xh", "httpie"}
)
_PS_SENDERS = re.compile(r"^(?:invoke-webrequest|invoke-restmethod|iwr|irm)$", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|ftp|wss?)://([^/\s\"'`:?#]+)", re.IGNORECASE)
_SCRIPT_SENDERS = re.compile(
    r"\b(?:requests\.(?:post|put|get)|urllib\.request|fetch\(|axios\.|http\.request|"
    r"Net::HTTP|HTTParty\.post)",
)


@dataclass(frozen=True)
class Send:
    """A command that contacts a host: the tool, the host (None: from a variable), and
    whether the labelled value sits in a header (an API call) or elsewhere (body, URL)."""

    tool: str
    host: str | None
    line: int
    text: str


def _tool(command: Command) -> str | None:
    items = [w for w in command.words if not ("=" in w and _ASSIGN_WORD.fullmatch(w))]
    while items and items[0] in ("sudo", "env", "command", "exec", "time", "nohup"):
        items = items[1:]
    if not items:
        return None
    name = items[0].rsplit("/", 1)[-1].lower()
    if name in _SENDERS or _PS_SENDERS.match(name):
        return name
    if name in ("python", "python3", "node", "ruby", "perl") and _SCRIPT_SENDERS.search(
        command.text
    ):
        return name
    if name in ("bash", "sh") and re.search(r"/dev/tcp/|/dev/udp/", command.text):
        return "bash /dev/tcp"
    if "/dev/" in command.text and _DEV_TCP.search(command.text):
        return "/dev/tcp"
    return None


def send_of(command: Command) -> Send | None:
    """The network send ``command`` makes, or None when it makes none."""
    tool = _tool(command)
    if tool is None:
        return None
    host = None
    match = _URL.search(command.text)
    if match:
        host = match.group(1).lower()
    elif tool in ("nc", "ncat", "netcat") and len(command.words) >= 3:
        host = command.words[-2].lower() if not command.words[-2].startswith("-") else None
    elif "dev/tcp/" in command.text:
        tcp = re.search(r"/dev/(?:tcp|udp)/([^/\s]+)/", command.text)
        host = tcp.group(1).lower() if tcp else None
    if host is not None and "$" in host:
        host = None
    return Send(tool, host, command.line, command.text)


def in_header_only(command: Command, names: set[str]) -> bool:
    """True when every reference to ``names`` in ``command`` is inside a header argument
    (``-H``/``--header``/``-Headers``/``--user``/``-u``): an authenticated call, not data."""
    items = list(command.words)
    seen = False
    for index, word in enumerate(items):
        refs = var_refs(word) & names
        if not refs and "__gk_" not in word:
            continue
        seen = True
        previous = items[index - 1] if index else ""
        if previous in ("-H", "--header", "-u", "--user", "-Headers", "--oauth2-bearer"):
            continue
        if re.match(r"^(?:-H|--header=|--user=)", word):
            continue
        if re.match(r"^(?:Authorization|X-[A-Za-z-]+|PRIVATE-TOKEN|JOB-TOKEN)\s*:", word, re.I):
            continue
        return False
    return seen


# --- masking ------------------------------------------------------------------------------------

_SLICED = re.compile(r"\$\{(" + _NAME + r"):-?\d+(?::-?\d+)?\}|\$\{(" + _NAME + r")//?")
_ENCODERS = re.compile(
    r"^(?:base64|base32|basenc|xxd|od|hexdump|rev|gzip|openssl)$|^(?:sed|tr|awk|cut|fold)$"
)


def unmasked_print(command: Command, names: set[str]) -> str | None:
    """How ``command`` prints a value of ``names`` in a form log masking cannot catch:
    encoded, reversed or split (None when it does not, or its output goes to a file or
    into another command)."""
    if command.piped or any(op in (">", ">>", ">|") for op, _ in command.redirects):
        return None
    items = command.words
    if not items:
        return None
    tool = items[0].rsplit("/", 1)[-1]
    if _ENCODERS.match(tool) and (var_refs(command.stdin_text) & names):
        if tool in ("base64", "base32", "basenc", "openssl") and any(
            a in ("-d", "--decode", "-D", "enc", "-A") for a in items[1:]
        ):
            return None
        return f"piped through `{tool}`"
    text = " ".join(items[1:]) if tool in ("echo", "printf") else ""
    sliced = _SLICED.search(text) if "${" in text else None
    if sliced and (sliced.group(1) or sliced.group(2)) in names:
        return "printed in pieces (`${X:offset:length}`)"
    return None


__all__ = [
    "Command",
    "EnvWrite",
    "Flow",
    "Send",
    "ShellLine",
    "commands",
    "in_header_only",
    "send_of",
    "unmasked_print",
    "var_refs",
    "words",
]
