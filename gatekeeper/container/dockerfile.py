"""A Dockerfile parser that follows BuildKit's syntax, for auditing (never for building).

Understood: parser directives (``# syntax=``, ``# escape=`` including the backtick escape,
``# check=``), line continuations (comment and empty lines inside them are dropped), heredocs
(``RUN <<EOF``, ``<<-EOF``, quoted delimiters, several on one line, ``COPY <<EOF file``), the
JSON (exec) and shell forms, instruction flags (``--platform``, ``--from``, ``--mount``...),
``ARG`` before ``FROM`` and ``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` / ``${VAR:+alt}``
substitution in ``FROM`` and ``USER``, multi-stage builds with named stages and ``ONBUILD``.

A file that BuildKit would reject is returned with ``parse_error`` set (line and reason) and
no stages: the audit turns it into ``container/parse-error``. ENV/ARG/LABEL values that look
like secrets are stored redacted (see ``gatekeeper.secrets.classify``); RUN text has known token
formats and URL passwords redacted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from gatekeeper.container.imageref import parse_image_ref
from gatekeeper.container.passwords import redact_passwords
from gatekeeper.container.shellword import Word, WordError, process_word
from gatekeeper.models.container import (
    Dockerfile,
    Heredoc,
    Instruction,
    KeyValue,
    ParseError,
    Stage,
)
from gatekeeper.models.secrets import RedactedValue
from gatekeeper.secrets.classify import classify, redact_text

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_EXEC_FORM = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_HEREDOC = frozenset({"RUN", "COPY", "ADD"})
_FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security", "device"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_MARK = re.compile(
    r"(?<!<)<<(?!<)(-?)[ \t]*(?:\"([^\"\n]+)\"|'([^'\n]+)'|([A-Za-z0-9_][A-Za-z0-9_.-]*))"
)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ARGs BuildKit defines for every build; they resolve to the build's platform at build time.
_AUTOMATIC_ARGS = frozenset(
    {
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
    }
)


class DockerfileSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


# (name, value with quotes and escapes removed, value as written); values None for ``ARG X``.
_RawPair = tuple[str, str | None, str | None]


@dataclass
class _Logical:
    line: int
    end_line: int
    text: str
    heredocs: list[Heredoc] = field(default_factory=list)
    broken: bool = False  # an unterminated heredoc (already reported)


def parse_dockerfile(data: bytes, path: str, *, max_bytes: int = 10 * 1024 * 1024) -> Dockerfile:
    """Parse a Dockerfile; a file BuildKit would reject comes back with ``parse_error`` set."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        if len(data) > max_bytes:
            raise DockerfileSyntaxError(1, f"larger than the {max_bytes}-byte limit")
        text = _decode(data)
        parser = _Parser(text)
        directives, stages, global_args, preamble = parser.parse()
    except DockerfileSyntaxError as exc:
        return Dockerfile(
            path=path, sha256=digest, parse_error=ParseError(line=exc.line, message=exc.message)
        )
    return Dockerfile(
        path=path,
        sha256=digest,
        directives=directives,
        global_args=global_args,
        preamble=preamble,
        stages=stages,
        instruction_errors=parser.errors,
    )


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DockerfileSyntaxError(line, "not valid UTF-8") from exc
    return text.removeprefix("\ufeff")


def split_words(text: str, escape: str, line: int, *, unquote: bool = True) -> list[str]:
    """Split on unquoted whitespace, honouring quotes and the escape character.

    Raises:
        DockerfileSyntaxError: an unterminated quote.
    """
    words: list[str] = []
    current: list[str] | None = None  # None between words
    quote: str | None = None
    i = 0
    while i < len(text):
        if quote is None and text[i] in " \t\r\n":
            if current is not None:
                words.append("".join(current))
                current = None
            i += 1
            continue
        current = [] if current is None else current
        i, quote = _word_char(text, i, escape, quote, unquote, current)
    if quote is not None:
        raise DockerfileSyntaxError(line, f"unterminated {quote} quote")
    if current is not None:
        words.append("".join(current))
    return words


def _word_char(
    text: str, i: int, escape: str, quote: str | None, unquote: bool, current: list[str]
) -> tuple[int, str | None]:
    """Add ``text[i]`` to the word being read: (the next index, the quote now open)."""
    char = text[i]
    if char == escape and quote != "'" and i + 1 < len(text):
        current.append(_escaped(escape, text[i + 1], quote, unquote))
        return i + 2, quote
    if char in "'\"" and (quote is None or quote == char):
        if not unquote:
            current.append(char)
        return i + 1, None if quote == char else char
    current.append(char)
    return i + 1, quote


def _escaped(escape: str, char: str, quote: str | None, unquote: bool) -> str:
    """The escape character and the ``char`` after it, as the word keeps them."""
    # Inside double quotes the escape only escapes a few characters.
    if not unquote or (quote == '"' and char not in ('"', escape, "$")):
        return escape + char
    return char


def expand(
    text: str, variables: dict[str, str | None], escape: str = "\\"
) -> tuple[str, list[str]]:
    """Process ``text`` as BuildKit processes a word (quotes, escapes, ``$VAR`` and the
    ``${VAR...}`` forms of ``gatekeeper.container.shellword``).

    Returns the result and the names it depends on that have no value (declared without a
    default or not declared at all); those expand to the empty string, as in BuildKit.

    Raises:
        WordError: a bad substitution or an unterminated quote.
    """
    word = process_word(text, variables, escape)
    return word.value, word.unset


def _word(text: str, variables: dict[str, str | None], escape: str, line: int) -> Word:
    try:
        return process_word(text, variables, escape)
    except WordError as exc:
        raise DockerfileSyntaxError(line, str(exc)) from exc


def _split_keyword(text: str) -> tuple[str, str]:
    """The first word and the rest (stripped); words are separated by spaces or tabs."""
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _heredoc_marks(text: str, escape: str) -> list[re.Match[str]]:
    """``<<WORD`` markers outside quotes (``echo "<<EOF"`` and ``<<<`` are not heredocs)."""
    marks: list[re.Match[str]] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char == escape and quote != "'":
            i += 2
            continue
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif text.startswith("<<", i):
            i = _heredoc_mark(text, i, marks)
            continue
        i += 1
    return marks


def _heredoc_mark(text: str, i: int, marks: list[re.Match[str]]) -> int:
    """At ``<<``: record the marker if it is one; returns the index after it (or the ``<``s)."""
    match = _HEREDOC_MARK.match(text, i)
    if match and not (i > 0 and text[i - 1] == "<"):
        marks.append(match)
        return match.end()
    while i < len(text) and text[i] == "<":
        i += 1
    return i


def _heredoc_keyword(text: str) -> str:
    """The instruction a logical line runs (the trigger's, for ``ONBUILD``), upper case."""
    keyword, rest = _split_keyword(text)
    keyword = keyword.upper()
    if keyword == "ONBUILD":
        keyword = _split_keyword(rest)[0].upper()
    return keyword


def _flags(keyword: str, rest: str, line: int) -> tuple[list[str], str]:
    """The leading ``--flag[=value]`` words an instruction allows, and the arguments after."""
    allowed = _FLAGS.get(keyword)
    flags: list[str] = []
    if allowed is None:
        return flags, rest
    while rest.startswith("--"):
        flag, rest = _split_keyword(rest)
        if flag[2:].partition("=")[0] not in allowed:
            raise DockerfileSyntaxError(
                line, f"unknown flag {flag.partition('=')[0]!r} for {keyword}"
            )
        flags.append(flag)
    return flags, rest


def _exec_form(keyword: str, rest: str, line: int) -> list[str] | None:
    """The JSON (exec) form's words, redacted; None for the shell form."""
    words = _json_words(rest) if keyword in _EXEC_FORM and rest.startswith("[") else None
    if keyword == "SHELL" and words is None:
        raise DockerfileSyntaxError(line, "SHELL requires the JSON form")
    return words


def _json_words(rest: str) -> list[str] | None:
    try:
        parsed = json.loads(rest)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
        return [redact_text(x) for x in parsed]
    return None


def _stage_name(words: list[str], line: int, names: dict[str, int]) -> str | None:
    """The ``AS name`` of ``FROM image [AS name]`` (lower case), checked; None without one."""
    if len(words) == 1:
        return None
    if len(words) != 3 or words[1].lower() != "as":
        raise DockerfileSyntaxError(line, "FROM takes an image and optionally AS name")
    name = words[2].lower()
    if not _STAGE_NAME.match(name):
        raise DockerfileSyntaxError(line, f"invalid stage name {name!r}")
    if name in names:
        raise DockerfileSyntaxError(line, f"duplicate stage name {name!r}")
    return name


def _platform(flags: list[str]) -> str | None:
    platform = None
    for flag in flags:
        if flag.startswith("--platform="):
            platform = flag.partition("=")[2]
    return platform


@dataclass
class _Build:
    """The stages read so far, and what the instructions before the first FROM declared."""

    global_args: list[KeyValue] = field(default_factory=list)
    preamble: list[Instruction] = field(default_factory=list)
    global_values: dict[str, str | None] = field(
        default_factory=lambda: dict.fromkeys(_AUTOMATIC_ARGS)
    )
    builders: list[_StageBuilder] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = [line.removesuffix("\r") for line in text.split("\n")]
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        # Instructions BuildKit would reject: each is reported, the rest is still read.
        self.errors: list[ParseError] = []

    def _error(self, exc: DockerfileSyntaxError) -> None:
        self.errors.append(ParseError(line=exc.line, message=exc.message))

    # -- physical lines to logical instructions ------------------------------------------

    def _read_directives(self) -> int:
        index = 0
        while index < len(self.lines):
            match = _DIRECTIVE.match(self.lines[index])
            if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
                break
            name = match.group(1).lower()
            if name in self.directives:
                raise DockerfileSyntaxError(index + 1, f"parser directive {name!r} given twice")
            self.directives[name] = match.group(2)
            index += 1
        escape = self.directives.get("escape", "\\")
        if escape not in ("\\", "`"):
            raise DockerfileSyntaxError(1, f"invalid escape directive {escape!r} (must be \\ or `)")
        self.escape = escape
        return index

    def _is_skippable(self, line: str) -> bool:
        stripped = line.strip()
        return not stripped or stripped.startswith("#")

    def _logical_lines(self, start: int) -> list[_Logical]:
        out: list[_Logical] = []
        index = start
        count = len(self.lines)
        while index < count:
            if self._is_skippable(self.lines[index]):
                index += 1
                continue
            first = index
            parts: list[str] = []
            current = self.lines[index]
            while True:
                stripped = current.rstrip(" \t")
                if stripped.endswith(self.escape):
                    parts.append(stripped[:-1])
                    index += 1
                    while index < count and self._is_skippable(self.lines[index]):
                        index += 1
                    if index >= count:
                        break
                    current = self.lines[index]
                    continue
                parts.append(current)
                index += 1
                break
            logical = _Logical(line=first + 1, end_line=index, text="".join(parts))
            index = self._read_heredocs(logical, index)
            out.append(logical)
        return out

    def _read_heredocs(self, logical: _Logical, index: int) -> int:
        if _heredoc_keyword(logical.text) not in _HEREDOC:
            return index
        for match in _heredoc_marks(logical.text, self.escape):
            strip_tabs = match.group(1) == "-"
            delimiter = match.group(2) or match.group(3) or match.group(4)
            try:
                text, index = self._heredoc_body(logical.line, index, delimiter, strip_tabs)
            except DockerfileSyntaxError as exc:
                # BuildKit reads the rest of the file as the body; so is nothing after it.
                self._error(exc)
                logical.broken = True
                return len(self.lines)
            body, password = redact_passwords(redact_text(text))
            logical.heredocs.append(
                Heredoc(
                    delimiter=delimiter,
                    line=logical.line,
                    strip_tabs=strip_tabs,
                    body=body,
                    secret=classify(None, text) or password,
                )
            )
            logical.end_line = index
        return index

    def _heredoc_body(
        self, line: int, index: int, delimiter: str, strip_tabs: bool
    ) -> tuple[str, int]:
        """The heredoc's text from ``index`` to its delimiter line, and the index after it."""
        body: list[str] = []
        while index < len(self.lines):
            raw = self.lines[index]
            index += 1
            candidate = raw.lstrip("\t") if strip_tabs else raw
            if candidate == delimiter:
                return ("\n".join(body) + "\n" if body else ""), index
            body.append(candidate)
        raise DockerfileSyntaxError(line, f"heredoc <<{delimiter} is not terminated")

    # -- instructions --------------------------------------------------------------------

    def _instruction(
        self, logical: _Logical, text: str, *, onbuild: bool = False
    ) -> tuple[Instruction, list[str | None]]:
        """The instruction, and the unredacted ENV/ARG values (kept in memory only)."""
        keyword, rest = _keyword(text, logical.line)
        if keyword == "ONBUILD":
            return self._onbuild(logical, rest, nested=onbuild)
        flags, rest = _flags(keyword, rest, logical.line)
        heredocs = logical.heredocs if keyword in _HEREDOC else []
        if not rest and not heredocs:
            raise DockerfileSyntaxError(logical.line, f"{keyword} requires arguments")
        exec_form = _exec_form(keyword, rest, logical.line)
        raw = self._pairs(keyword, rest, logical.line)
        pairs = [_pair(key, value) for key, value, _ in raw]
        args = " ".join(_show_pair(p) for p in pairs) if raw else redact_text(rest)
        secret = None if raw else classify(None, rest)
        if keyword == "RUN":
            # A literal password handed to chpasswd, passwd, useradd -p or htpasswd -b.
            args, password = redact_passwords(args)
            if exec_form is not None:
                exec_form, password = _redact_exec_passwords(exec_form, password)
            secret = secret or password
        instruction = Instruction(
            line=logical.line,
            end_line=max(logical.end_line, logical.line),
            keyword=keyword,
            onbuild=onbuild,
            flags=flags,
            args=args,
            exec_form=exec_form,
            heredocs=heredocs,
            pairs=pairs,
            secret=secret,
        )
        return instruction, [raw_value for _, _, raw_value in raw]

    def _onbuild(
        self, logical: _Logical, rest: str, *, nested: bool
    ) -> tuple[Instruction, list[str | None]]:
        if nested:
            raise DockerfileSyntaxError(logical.line, "ONBUILD ONBUILD is not allowed")
        if not rest:
            raise DockerfileSyntaxError(logical.line, "ONBUILD requires an instruction")
        inner, values = self._instruction(logical, rest, onbuild=True)
        if inner.keyword in ("FROM", "MAINTAINER"):
            raise DockerfileSyntaxError(
                logical.line, f"{inner.keyword} is not allowed as an ONBUILD trigger"
            )
        return inner, values

    def _pairs(self, keyword: str, rest: str, line: int) -> list[_RawPair]:
        """ENV and LABEL ``NAME=value`` pairs, ARG names with their defaults; [] otherwise.

        Each is (name, the value with quotes and escapes removed, the value as written);
        the value as written is what BuildKit processes as a word (``'$X'`` stays literal).
        """
        if keyword in ("ENV", "LABEL"):
            return self._name_values(keyword, rest, line)
        if keyword == "ARG":
            return self._args(rest, line)
        return []

    def _name_values(self, keyword: str, rest: str, line: int) -> list[_RawPair]:
        words = split_words(rest, self.escape, line, unquote=False)
        if not words:
            raise DockerfileSyntaxError(line, f"{keyword} requires arguments")
        if "=" not in words[0]:
            # Legacy form: ``ENV NAME value with spaces``.
            if len(words) < 2:
                raise DockerfileSyntaxError(line, f"{keyword} {words[0]} needs a value")
            value = " ".join(split_words(rest, self.escape, line)[1:])
            return [(words[0], value, rest.split(None, 1)[1].strip())]
        pairs: list[_RawPair] = []
        for word in words:
            key, eq, _ = word.partition("=")
            if not eq:
                raise DockerfileSyntaxError(line, f"{keyword}: {word!r} is not NAME=value")
            unquoted_key = split_words(key, self.escape, line)
            if not unquoted_key or not unquoted_key[0]:
                raise DockerfileSyntaxError(line, f"{keyword}: empty name in {word!r}")
            raw_value = word[len(key) + 1 :]
            value_words = split_words(raw_value, self.escape, line)
            pairs.append((unquoted_key[0], "".join(value_words), raw_value))
        return pairs

    def _args(self, rest: str, line: int) -> list[_RawPair]:
        pairs: list[_RawPair] = []
        for word in split_words(rest, self.escape, line, unquote=False):
            key, eq, raw_value = word.partition("=")
            if not _VAR_NAME.fullmatch(key):
                raise DockerfileSyntaxError(line, f"ARG: invalid name {key!r}")
            if eq:
                value_words = split_words(raw_value, self.escape, line)
                pairs.append((key, "".join(value_words), raw_value))
            else:
                pairs.append((key, None, None))
        return pairs

    # -- stages --------------------------------------------------------------------------

    def parse(
        self,
    ) -> tuple[dict[str, str], list[Stage], list[KeyValue], list[Instruction]]:
        """Read every instruction; one BuildKit would reject is recorded in ``errors``.

        Raises:
            DockerfileSyntaxError: the file as a whole cannot be read (directives, no
                instructions, no build stage).
        """
        logicals = self._logical_lines(self._read_directives())
        if not logicals:
            raise DockerfileSyntaxError(1, "the file has no instructions")
        build = _Build()
        for logical in logicals:
            try:
                self._dispatch(logical, build)
            except DockerfileSyntaxError as exc:
                self._error(exc)
                if _split_keyword(logical.text)[0].upper() == "FROM":
                    # A FROM that does not parse still starts a stage: what follows belongs to
                    # it, not to the stage before (its base is unknown and not audited).
                    build.builders.append(self._broken_stage(logical, build))
        if not build.builders and not self.errors:
            raise DockerfileSyntaxError(logicals[-1].line, "no FROM: the file has no build stage")
        stages = [b.build() for b in build.builders]
        return self.directives, stages, build.global_args, build.preamble

    def _dispatch(self, logical: _Logical, build: _Build) -> None:
        if logical.broken:
            return  # an unterminated heredoc, already reported
        instruction, values = self._instruction(logical, logical.text)
        if instruction.keyword == "FROM" and not instruction.onbuild:
            build.builders.append(self._from(instruction, build))
        elif build.builders:
            build.builders[-1].add(instruction, values, build.global_values, self.escape)
        else:
            self._preamble(instruction, values, build)

    def _preamble(self, instruction: Instruction, values: list[str | None], build: _Build) -> None:
        """An instruction before the first FROM: only ARG may come there (global ARGs)."""
        if instruction.keyword != "ARG" or instruction.onbuild:
            raise DockerfileSyntaxError(
                instruction.line,
                f"{instruction.keyword} before the first FROM (only ARG may come first)",
            )
        build.preamble.append(instruction)
        for pair, real in zip(instruction.pairs, values, strict=True):
            build.global_args.append(pair)
            value = None
            if real is not None:
                value = _word(real, build.global_values, self.escape, instruction.line).value
            build.global_values[pair.key] = value

    def _broken_stage(self, logical: _Logical, build: _Build) -> _StageBuilder:
        return _StageBuilder(
            index=len(build.builders),
            name=None,
            line=logical.line,
            base=_split_keyword(logical.text)[1] or "(none)",
            base_image=None,
            unresolved=[],
            platform=None,
            base_stage=None,
            is_scratch=False,
            parent=None,
        )

    def _from(self, instruction: Instruction, build: _Build) -> _StageBuilder:
        """A new stage; a problem with its name or base is recorded, and the stage kept."""
        words = instruction.args.split()
        line = instruction.line
        try:
            name = _stage_name(words, line, build.names)
        except DockerfileSyntaxError as exc:
            self._error(exc)
            name = None
        base = words[0]
        try:
            word = _word(base, build.global_values, self.escape, line)
            resolved, unresolved = word.value, word.unset
        except DockerfileSyntaxError as exc:
            self._error(exc)
            resolved, unresolved = "", []
            broken = True
        else:
            broken = False
        base_stage = build.names.get(resolved.lower()) if not unresolved and not broken else None
        is_scratch = resolved.lower() == "scratch" and not unresolved and not broken
        base_image: str | None = resolved if not unresolved and not broken else None
        if base_image is not None and base_stage is None and not is_scratch:
            try:
                parse_image_ref(base_image)
            except ValueError as exc:
                self._error(DockerfileSyntaxError(line, str(exc)))
                base_image = None
        builder = _StageBuilder(
            index=len(build.builders),
            name=name,
            line=line,
            base=base,
            base_image=base_image,
            unresolved=unresolved,
            platform=_platform(instruction.flags),
            base_stage=base_stage,
            is_scratch=is_scratch,
            parent=build.builders[base_stage] if base_stage is not None else None,
        )
        builder.instructions.append(instruction)
        if name is not None:
            build.names[name] = builder.index
        return builder


def _keyword(text: str, line: int) -> tuple[str, str]:
    """The instruction's keyword (upper case, known) and its arguments."""
    keyword_raw, rest = _split_keyword(text)
    if not keyword_raw:
        raise DockerfileSyntaxError(line, "empty instruction")
    keyword = keyword_raw.upper()
    if keyword not in INSTRUCTIONS:
        raise DockerfileSyntaxError(line, f"unknown instruction {keyword_raw!r}")
    return keyword, rest.strip()


def _redact_exec_passwords(
    words: list[str], found: RedactedValue | None
) -> tuple[list[str], RedactedValue | None]:
    """The exec form's words with literal passwords redacted (``["sh", "-c", "..."]``)."""
    out = []
    for word in words:
        redacted, password = redact_passwords(word)
        out.append(redacted)
        found = found or password
    return out, found


def _pair(key: str, value: str | None) -> KeyValue:
    if value is None:
        return KeyValue(key=key)
    secret = classify(key, value)
    if secret is not None:
        return KeyValue(key=key, value=secret.redacted, secret=secret)
    return KeyValue(key=key, value=value)


def _show_pair(pair: KeyValue) -> str:
    if pair.value is None:
        return pair.key
    return f"{pair.key}={json.dumps(pair.value, ensure_ascii=False)}"


@dataclass
class _StageBuilder:
    index: int
    name: str | None
    line: int
    base: str
    base_image: str | None
    unresolved: list[str]
    platform: str | None
    base_stage: int | None
    is_scratch: bool
    parent: _StageBuilder | None
    instructions: list[Instruction] = field(default_factory=list)
    args: dict[str, str | None] = field(default_factory=dict)
    env: dict[str, str | None] = field(default_factory=dict)
    user: str | None = None
    user_line: int | None = None
    user_unresolved: list[str] = field(default_factory=list)
    user_unset_args: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.parent is not None:
            # A stage built FROM an earlier stage inherits its ENV and USER (not its ARGs).
            self.env = dict(self.parent.env)
            self.user = self.parent.user
            self.user_line = self.parent.user_line
            self.user_unresolved = list(self.parent.user_unresolved)
            self.user_unset_args = list(self.parent.user_unset_args)

    def _scope(self) -> dict[str, str | None]:
        return {**dict.fromkeys(_AUTOMATIC_ARGS), **self.args, **self.env}

    def add(
        self,
        instruction: Instruction,
        real_values: list[str | None],
        global_values: dict[str, str | None],
        escape: str,
    ) -> None:
        self.instructions.append(instruction)
        if instruction.onbuild:
            return  # triggers run in downstream builds, not in this one
        line = instruction.line
        if instruction.keyword == "ARG":
            for pair, real in zip(instruction.pairs, real_values, strict=True):
                if real is None:
                    # ``ARG NAME`` inside a stage brings in the global default, if any.
                    self.args[pair.key] = global_values.get(pair.key)
                else:
                    self.args[pair.key] = _word(real, self._scope(), escape, line).value
        elif instruction.keyword == "ENV":
            for pair, real in zip(instruction.pairs, real_values, strict=True):
                self.env[pair.key] = _word(real or "", self._scope(), escape, line).value
        elif instruction.keyword == "USER":
            word = _word(instruction.args.strip(), self._scope(), escape, line)
            self.user = word.value
            self.user_line = line
            self.user_unresolved = word.unset
            # Declared as a build argument without a value (else: not declared here at all,
            # so it can only come from the base image's environment).
            self.user_unset_args = [n for n in word.unset if n in self.args]

    def build(self) -> Stage:
        return Stage(
            index=self.index,
            name=self.name,
            line=self.line,
            base=self.base,
            base_image=self.base_image,
            unresolved=self.unresolved,
            platform=self.platform,
            base_stage=self.base_stage,
            is_scratch=self.is_scratch,
            user=self.user,
            user_line=self.user_line,
            user_unresolved=self.user_unresolved,
            user_unset_args=self.user_unset_args,
            instructions=self.instructions,
        )
