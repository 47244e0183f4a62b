"""Does the final stage's entrypoint drop root before it runs the service?

Official images often leave ``USER`` unset and start an entrypoint script as root that
prepares the data directory and then runs the server as another user
(``exec gosu postgres "$@"``). The entrypoint is the final stage's last ``ENTRYPOINT``
(inherited through ``FROM <stage>``). It drops root when its own command line does
(``ENTRYPOINT ["su-exec", "app", "/app"]``), or when it runs a script that the Dockerfile copies
from the build context and that script does (read, never run, through ``read_context``).
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable

from gatekeeper.container.user import privilege_drop
from gatekeeper.models.container import Dockerfile, Instruction, Stage

# (a path relative to the Dockerfile's directory) -> the file's text, or None.
ReadContext = Callable[[str], "str | None"]


def _entrypoint(dockerfile: Dockerfile, stage: Stage) -> Instruction | None:
    current: Stage | None = stage
    while current is not None:
        for instruction in reversed(current.instructions):
            if instruction.keyword == "ENTRYPOINT" and not instruction.onbuild:
                return instruction
        parent = current.base_stage
        current = dockerfile.stages[parent] if parent is not None else None
    return None


def _words(instruction: Instruction) -> list[str]:
    if instruction.exec_form is not None:
        return list(instruction.exec_form)
    try:
        return shlex.split(instruction.args)
    except ValueError:
        return instruction.args.split()


def _copied_from_context(dockerfile: Dockerfile, name: str) -> list[str]:
    """Build-context sources of ``COPY``/``ADD`` whose file name is ``name``."""
    found: list[str] = []
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            if instruction.keyword not in ("COPY", "ADD") or instruction.onbuild:
                continue
            if any(flag.startswith("--from=") for flag in instruction.flags):
                continue
            words = _words(instruction)[:-1]
            found.extend(w for w in words if posixpath.basename(w.rstrip("/")) == name)
    return found


def entrypoint_drop(dockerfile: Dockerfile, read_context: ReadContext) -> str | None:
    """What drops root in the final stage's entrypoint, as a reason; None when nothing does."""
    if not dockerfile.stages:
        return None
    instruction = _entrypoint(dockerfile, dockerfile.stages[-1])
    if instruction is None:
        return None
    words = _words(instruction)
    # Each argv suffix on its own line: `tini -- gosu app x` drops as well as `gosu app x`.
    inline = privilege_drop("\n".join(" ".join(words[i:]) for i in range(len(words))))
    if inline is not None:
        return f"its ENTRYPOINT (line {instruction.line}) runs the service through {inline}"
    for word in words:
        name = posixpath.basename(word)
        if not name or name.startswith("-"):
            continue
        for source in _copied_from_context(dockerfile, name):
            text = read_context(source)
            tool = privilege_drop(text) if text is not None else None
            if tool is not None:
                return (
                    f"its ENTRYPOINT (line {instruction.line}) runs {source}, which switches "
                    f"to another user with {tool}"
                )
    return None


__all__ = ["ReadContext", "entrypoint_drop"]
