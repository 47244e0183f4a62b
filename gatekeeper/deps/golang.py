"""Go: ``go.mod`` (require, replace, exclude; ``// indirect``) and ``go.sum`` hashes.

go.mod pins exact versions (minimal version selection); go.sum holds the ``h1:`` hashes the
go command verifies. A required module with no go.sum line is a lock mismatch (``go build``
refuses it), so go.mod requirements are also recorded as declarations.

``replace old v => new v2`` applies to ``old`` at ``v`` only; ``replace old => new v2`` to
every version of ``old`` that has no replacement of its own (as the go command does).

A module whose ``go`` directive is 1.16 or older lists only its direct requirements (and
some indirect ones): the rest of the build list is only in go.sum. Those modules (a go.sum
line with the zip's hash, the highest version of each) are recorded from go.sum as
indirect dependencies; from go 1.17 on go.mod lists every module the build needs.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gatekeeper.deps.common import package
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Declared

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\S+')


def _tokens(line: str) -> tuple[list[str], str]:
    code, _, comment = line.partition("//")
    return [t.strip('"`') for t in _TOKEN.findall(code)], comment.strip()


def parse_go_sum(text: str, path: str) -> dict[tuple[str, str], list[str]]:
    """(module, version) -> ``h1:`` hashes of the module zip (``/go.mod`` lines excluded).

    Raises:
        LockfileError: a line is not ``module version hash``.
    """
    out: dict[tuple[str, str], list[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        if len(parts) != 3 or not parts[2].startswith("h1:"):
            raise LockfileError(f"{path}: not 'module version h1:hash': {raw[:80]!r}", number)
        module, version, digest = parts
        out.setdefault((module, version.removesuffix("/go.mod")), [])
        if not version.endswith("/go.mod"):
            out[(module, version)].append(digest)
    return out


# Directives that name no dependency (``exclude`` only narrows what MVS may pick).
_OTHER_DIRECTIVES = frozenset(
    {"module", "go", "toolchain", "exclude", "retract", "godebug", "tool", "ignore"}
)


class _GoMod:
    """The ``require`` and ``replace`` directives of a go.mod, single-line or in blocks."""

    def __init__(self) -> None:
        self.requires: list[tuple[int, str, str, bool]] = []  # line, module, version, indirect
        # (module, version or None for every version) -> (target, target version)
        self.replaces: dict[tuple[str, str | None], tuple[str, str | None]] = {}
        self.block: str | None = None
        self.go: str | None = None  # the go directive's version

    def read(self, number: int, raw: str) -> None:
        tokens, comment = _tokens(raw)
        if not tokens:
            return
        if self.block is not None:
            if tokens == [")"]:
                self.block = None
                return
            directive, args = self.block, tokens
        else:
            directive, args = tokens[0], tokens[1:]
            if args == ["("]:
                self.block = directive
                return
        self._directive(directive, args, comment, number, raw)

    def _directive(
        self, directive: str, args: list[str], comment: str, number: int, raw: str
    ) -> None:
        if directive == "require":
            if len(args) != 2:
                raise LockfileError(f"require needs 'module version': {raw.strip()!r}", number)
            self.requires.append((number, args[0], args[1], "indirect" in comment.split(";")[0]))
        elif directive == "replace":
            self._replace(args, number, raw)
        elif directive == "go" and args:
            self.go = args[0]
        elif directive not in _OTHER_DIRECTIVES:
            raise LockfileError(f"unknown go.mod directive {directive!r}", number)

    def _replace(self, args: list[str], number: int, raw: str) -> None:
        if "=>" not in args:
            raise LockfileError(f"replace without '=>': {raw.strip()!r}", number)
        arrow = args.index("=>")
        left, right = args[:arrow], args[arrow + 1 :]
        if not left or len(left) > 2 or not right or len(right) > 2:
            raise LockfileError(f"malformed replace: {raw.strip()!r}", number)
        key = (left[0], left[1] if len(left) == 2 else None)
        self.replaces[key] = (right[0], right[1] if len(right) == 2 else None)


def _read_go_sum(
    path: str, source: FileSource, result: ParseResult
) -> dict[tuple[str, str], list[str]]:
    """The go.sum beside a go.mod (empty when there is none; its problems are its own)."""
    sum_path = posixpath.join(posixpath.dirname(path), "go.sum")
    sum_data = source.read(sum_path)
    if sum_data is None:
        return {}
    sums: dict[tuple[str, str], list[str]] = {}
    try:
        sums = parse_go_sum(sum_data.decode("utf-8"), sum_path)
    except UnicodeDecodeError as exc:
        raise LockfileError(f"{sum_path} is not UTF-8") from exc
    except LockfileError as exc:
        result.error(sum_path, exc.line, str(exc).removeprefix(f"{sum_path}: "))
    result.files.append(sum_path)
    return sums


def _resolved(
    module: str, version: str, replaces: dict[tuple[str, str | None], tuple[str, str | None]]
) -> tuple[str | None, tuple[str, str]]:
    """(source, the (module, version) whose go.sum hash applies) after ``replace``: the
    replacement of this version, else the one of every version, else none."""
    found = replaces.get((module, version)) or replaces.get((module, None))
    if found is None:
        return None, (module, version)
    target, target_version = found
    if target.startswith((".", "/")):
        return f"path:{target}", (module, version)
    return (f"url:{target}" if target != module else None), (target, target_version or version)


def _lists_every_module(go: str | None) -> bool:
    """Whether a go.mod of this ``go`` version lists every module of the build (1.17+)."""
    match = re.match(r"^1\.(\d+)", go or "")
    return match is not None and int(match.group(1)) >= 17


def _sum_lines(path: str, source: FileSource) -> dict[tuple[str, str], int]:
    """(module, version) -> line of its zip hash in the go.sum beside ``path``."""
    sum_path = posixpath.join(posixpath.dirname(path), "go.sum")
    data = source.read(sum_path)
    out: dict[tuple[str, str], int] = {}
    for number, raw in enumerate((data or b"").decode("utf-8", "replace").splitlines(), 1):
        parts = raw.split()
        if len(parts) == 3 and not parts[1].endswith("/go.mod"):
            out.setdefault((parts[0], parts[1]), number)
    return out


def _sum_only(
    path: str,
    source: FileSource,
    sums: dict[tuple[str, str], list[str]],
    required: set[str],
    result: ParseResult,
) -> None:
    """The modules of a go <= 1.16 build list that only go.sum names: the highest version
    of each module with a zip hash that go.mod does not require."""
    from gatekeeper.deps.versions import UnparseableVersion, version_key

    best: dict[str, tuple[Any, str]] = {}
    for (module, version), hashes in sums.items():
        if module in required or not hashes:
            continue
        try:
            key = version_key("Go", version)
        except UnparseableVersion:
            continue
        if module not in best or key > best[module][0]:
            best[module] = (key, version)
    if not best:
        return
    sum_path = posixpath.join(posixpath.dirname(path), "go.sum")
    lines = _sum_lines(path, source)
    for module, (_, version) in sorted(best.items()):
        result.packages.append(
            package(
                "Go",
                module,
                version,
                file=sum_path,
                line=lines.get((module, version), 1),
                hashes=sums[(module, version)],
                hash_supported=False,
            )
        )


def parse_go_mod(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    mod = _GoMod()
    for number, raw in enumerate(text.splitlines(), start=1):
        with result.entry(path, number):
            mod.read(number, raw)
    if mod.block is not None:
        raise LockfileError(f"unterminated {mod.block} ( block", len(text.splitlines()))
    sums = _read_go_sum(path, source, result)
    for number, module, version, indirect in mod.requires:
        src, hash_key = _resolved(module, version, mod.replaces)
        result.declared.append(
            Declared(
                ecosystem="Go",
                name=module,
                spec=version,
                file=path,
                line=number,
                syntax="go",
            )
        )
        with result.entry(path, number):
            result.packages.append(
                package(
                    "Go",
                    module,
                    hash_key[1],
                    file=path,
                    line=number,
                    source=src,
                    hashes=sums.get(hash_key, []),
                    direct=not indirect,
                    # NOTE: a direct requirement without a go.sum hash is deps/lock-mismatch.
                    hash_supported=False,
                )
            )
    if not _lists_every_module(mod.go):
        covered = {m for _, m, _, _ in mod.requires} | {t for t, _ in mod.replaces.values()}
        _sum_only(path, source, sums, covered, result)
    result.files.append(path)
