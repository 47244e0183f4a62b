"""A `git fast-import` stream for the benches that generate histories (range, large repo)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class FastImport:
    """Commits written as a fast-import stream, then loaded into a repository in one go."""

    def __init__(self, authors: list[tuple[str, str]]) -> None:
        self.authors = authors
        self.out: list[bytes] = []

    def data(self, text: str) -> None:
        raw = text.encode()
        self.out.append(f"data {len(raw)}\n".encode() + raw + b"\n")

    def commit(
        self,
        mark: int,
        parent: int | None,
        files: list[tuple[str, str]],
        when: int,
        msg: str,
        merge: int | None = None,
        ref: str = "refs/heads/main",
    ) -> None:
        """One commit (its author chosen by ``mark``) writing ``files`` as (path, text)."""
        name, email = self.authors[mark % len(self.authors)]
        self.out.append(f"commit {ref}\nmark :{mark}\n".encode())
        self.out.append(f"author {name} <{email}> {when} +0000\n".encode())
        self.out.append(f"committer {name} <{email}> {when} +0000\n".encode())
        self.data(msg)
        if parent is not None:
            self.out.append(f"from :{parent}\n".encode())
        if merge is not None:
            self.out.append(f"merge :{merge}\n".encode())
        for path, text in files:
            self.out.append(f"M 100644 inline {path}\n".encode())
            self.data(text)

    def load(self, root: Path) -> None:
        """Import the stream into the repository at ``root`` and check out main."""
        self.out.append(b"done\n")
        subprocess.run(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=root,
            input=b"".join(self.out),
            check=True,
        )
        subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)
