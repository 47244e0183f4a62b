"""README.md and docs/*.md: every command example runs, every example parses, every option
and Action input is documented.

Each fenced block names its language. The ``sh`` blocks of a document run in order, in one
bash process, in a fresh repository made for it (``Sandbox``): each block starts at the top
of the repository, and each command must exit 0, or the code a trailing ``# exit N`` comment
names. A block that cannot run offline is marked with ``<!-- not run: REASON -->`` on the
line before it; its ``gatekeeper`` commands must still parse. The commands run with the
network closed: a Python ``sitecustomize`` refuses every address but loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gatekeeper import cli
from gatekeeper.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = {"sh", "bash", "shell"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->$")
_EXPECT = re.compile(r"\s#.*?\bexit (?P<code>\d)\b")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_]+)\1")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    language: str
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def runs(self) -> bool:
        return self.language in RUN_LANGUAGES and self.not_run is None

    @property
    def name(self) -> str:
        return str(self.doc.relative_to(ROOT)) if self.doc.is_relative_to(ROOT) else self.doc.name

    def __str__(self) -> str:
        return f"{self.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc``, with their language and ``not run`` mark."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, language = opening.groups()
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        code = "\n".join(line.removeprefix(indent) for line in lines[i + 1 : end])
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        mark = _NOT_RUN.match(lines[before].strip()) if before >= 0 else None
        found.append(Block(doc, i + 1, language, code, mark.group("reason") if mark else None))
        i = end + 1
    return found


def _logical_commands(code: str) -> Iterator[tuple[int, list[str]]]:
    """(offset of the first line, lines) of each top-level command: continuation lines and
    here-documents belong to the command that starts them."""
    lines = code.split("\n")
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        first = i
        command = [lines[i]]
        while command[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            command.append(lines[i])
        heredoc = _HEREDOC.search(" ".join(command))
        if heredoc is not None:
            while i + 1 < len(lines):
                i += 1
                command.append(lines[i])
                if lines[i].strip() == heredoc.group("word"):
                    break
        yield first, command
        i += 1


def _expected_exit(line: str) -> int:
    found = _EXPECT.search(line)
    return int(found.group("code")) if found else 0


def script(block: Block) -> str:
    """The block as bash, each command followed by the check of its exit code."""
    out = [f"__gk_block {shlex.quote(str(block))}"]
    for offset, command in _logical_commands(block.code):
        out.extend(command)
        where = f"{block.name}:{block.line + 1 + offset}"
        shown = shlex.quote(command[0].strip()[:100])
        out.append(f"__gk_check $? {_expected_exit(command[0])} {where} {shown}")
    return "\n".join(out)


_PRELUDE = r"""
set -o pipefail
__gk_failures=0
__gk_block() { cd "$GK_REPO" || exit 99; printf '\n=== %s\n' "$1"; }
__gk_check() {
  if [ "$1" != "$2" ]; then
    printf 'DOCS-FAIL %s: exit %s, expected %s: %s\n' "$3" "$1" "$2" "$4" >&2
    __gk_failures=$((__gk_failures + 1))
  fi
}
"""

_NETWORK_GUARD = '''\
"""The docs examples run offline: only loopback addresses resolve and connect."""
import ipaddress
import socket

_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def _loopback(host):
    if host in (None, "", "localhost") or isinstance(host, bytes) and host == b"localhost":
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"docs test: no network ({host})")
    return _getaddrinfo(host, *args, **kwargs)


def connect(self, address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        raise OSError(f"docs test: no network ({address[0]})")
    return _connect(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect
'''

MAKEFILE = """\
# The build the examples attest: `make dist` builds dist/, `make image` the image layout.
dist:
\tmkdir -p dist
\tprintf 'app 1.0\\n' > dist/app-1.0.tar.gz
\tcp dist/app-1.0.tar.gz dist/app.tar.gz

image:
\ttest -f build/image-layout/index.json

test:
\tpython3 -c 'import src.app'

.PHONY: dist image test
"""


class Sandbox:
    """A fresh repository as the examples expect one, and the environment they run in.

    ``app/``: a git repository (``main``) with 25 commits, the tag ``v1.2.0`` early on and
    ``origin/main`` two commits behind ``HEAD``; source in ``src/``, a ``Makefile`` (``make
    dist``, ``make image``, ``make test``), a pinned ``requirements.txt``, the project's
    example ``policies/release.yaml`` and a plain ``policies/ci.yaml``, an offline OSV
    database (``osv/``, ``osv.zip``), an OCI image layout (``build/image-layout``, tag
    ``v1.4.2``) and a ``docker save`` archive (``image.tar``) of a non-root image, an empty
    ``.github/allowed_signers``, and a pull-request event (``event.json``, base
    ``origin/main``, head ``HEAD``) in ``GITHUB_EVENT_PATH``. ``HOME`` is the sandbox's own;
    ``$KEYS`` (``~/.config/gatekeeper``) is where private keys go; ``.ci/allowed_signers`` is
    empty too, and ``path/to/repo`` another repository (which git ignores).

    ``with_pipeline``: also the keys (``ci``, ``rm`` encrypted with ``$RM_PASSPHRASE``,
    ``gate``, ``policy``), their public halves in ``policies/keys/``, ``dist/`` built and the
    release pipeline attested (source, build, scan, release) and verified (one entry in the
    decision log) in ``.gatekeeper/``; a copy of
    ``ci`` and ``rm`` in ``keys/`` (which git ignores), for the documents that name them.
    """

    def __init__(self, root: Path, *, with_pipeline: bool) -> None:
        self.root = root
        self.repo = root / "app"
        self.home = root / "home"
        self.home.mkdir(parents=True)
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Dev One\n\temail = dev@example.invalid\n"
            "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
        )
        guard = root / "netguard"
        guard.mkdir()
        (guard / "sitecustomize.py").write_text(_NETWORK_GUARD)
        self.env = self._environment(guard)
        self._repository()
        if with_pipeline:
            self._pipeline()

    def _environment(self, guard: Path) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "GATEKEEPER_TEST_REGISTRY")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            HOME=str(self.home),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=str(guard),
            GIT_CONFIG_GLOBAL=str(self.home / ".gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            GK_REPO=str(self.repo),
            KEYS=str(self.home / ".config" / "gatekeeper"),
            RM_PASSPHRASE="correct horse battery staple",  # noqa: S106 - a test key's
            GITHUB_EVENT_NAME="pull_request",
            GITHUB_EVENT_PATH=str(self.repo / "event.json"),
            PIPELINE_ID="4711",
            TERM="dumb",
        )
        return env

    def run(self, *argv: str) -> str:
        result = subprocess.run(
            argv, cwd=self.repo, env=self.env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
        return result.stdout

    def _files(self) -> None:
        from tests.attest._osv import write_osv_db
        from tests.container.imagebuild import make_config, write_docker_save, write_oci_layout

        files = {
            "README.md": "# app\n",
            "src/__init__.py": "",
            "src/app.py": "def main() -> int:\n    return 0\n",
            "Makefile": MAKEFILE,
            "requirements.txt": "requests==2.31.0\n",
            "policies/ci.yaml": "version: 1\nname: ci\nexpires: 2099-01-01T00:00:00Z\n",
            "policies/signed.yaml": "version: 1\nname: signed\nexpires: 2099-01-01T00:00:00Z\n"
            "audits: {require_signed_commits: true}\n",
            "policies/release.yaml": (ROOT / "policies" / "release.yaml").read_text(),
            ".github/allowed_signers": "",
            ".ci/allowed_signers": "",
            ".gitignore": "dist/\n.gatekeeper/\nreports/\n*.sarif\nkeys/\npath/\n",
        }
        for rel, text in files.items():
            path = self.repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        # `path/to/repo`: another repository, for the examples that name one.
        other = self.repo / "path" / "to" / "repo"
        other.mkdir(parents=True)
        (other / "requirements.txt").write_text("requests==2.31.0\n")
        self.run("git", "-C", str(other), "init", "-q")
        write_osv_db(self.repo / "osv")
        self.run("sh", "-c", "cd osv && python3 -m zipfile -c ../osv.zip *.json")
        self.run("cp", "osv.zip", "PyPI-all.zip")
        config = make_config(user="10001", entrypoint=["/app/run"])
        write_oci_layout(self.repo / "build" / "image-layout", config=config, tag="v1.4.2")
        write_docker_save(self.repo / "image.tar", config=make_config(user="10001"))

    def _repository(self) -> None:
        self.repo.mkdir()
        self.run("git", "init", "-q", "-b", "main")
        self._files()
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", "app")
        for n in range(1, 25):
            (self.repo / "CHANGELOG.md").write_text(f"change {n}\n")
            self.run("git", "add", "CHANGELOG.md")
            self.run("git", "commit", "-q", "-m", f"change {n}")
            if n == 2:
                self.run("git", "tag", "v1.2.0")
            if n == 22:
                self.run("git", "update-ref", "refs/remotes/origin/main", "HEAD")
        base = self.run("git", "rev-parse", "origin/main").strip()
        head = self.run("git", "rev-parse", "HEAD").strip()
        self.env["GITHUB_SHA"] = head
        event = {
            "number": 42,
            "pull_request": {
                "number": 42,
                "user": {"login": "dev1"},
                "base": {"sha": base, "ref": "main", "repo": {"full_name": "acme/app"}},
                "head": {"sha": head, "ref": "feature", "repo": {"full_name": "acme/app"}},
            },
            "repository": {"full_name": "acme/app"},
        }
        (self.repo / "event.json").write_text(json.dumps(event))
        self.run("git", "update-index", "--refresh")

    def _pipeline(self) -> None:
        keys = self.env["KEYS"]
        gk = (sys.executable, "-m", "gatekeeper")
        self.run(*gk, "keygen", f"{keys}/ci")
        self.run(
            *gk, "keygen", f"{keys}/rm", "--type", "ecdsa-p256", "--passphrase-env", "RM_PASSPHRASE"
        )
        self.run(*gk, "keygen", f"{keys}/gate")
        self.run(*gk, "keygen", f"{keys}/policy")
        self.run(*gk, "key", "export", f"{keys}/ci", "-o", "policies/keys/ci.pub")
        self.run(
            *gk,
            "key",
            "export",
            f"{keys}/rm",
            "--passphrase-env",
            "RM_PASSPHRASE",
            "-o",
            "policies/keys/rm.pub",
        )
        # Docs that name `keys/ci` and `keys/rm` find them in the repository (git ignores
        # keys/); the others they make themselves.
        (self.repo / "keys").mkdir()
        for name in ("ci", "rm"):
            for suffix in ("", ".pub"):
                source = Path(keys, name + suffix)
                (self.repo / "keys" / source.name).write_bytes(source.read_bytes())
                (self.repo / "keys" / source.name).chmod(source.stat().st_mode & 0o777)
        self.env["CI_SIGNING_KEY"] = Path(keys, "ci").read_text()
        self.env["GATEKEEPER_CI_KEY"] = self.env["CI_SIGNING_KEY"]
        self.run(*gk, "attest", "--stage", "source", "--key", f"{keys}/ci", "--product", "src/**")
        self.run(
            *gk,
            "attest",
            "--stage",
            "build",
            "--key",
            f"{keys}/ci",
            "--material",
            "src/**",
            "--product",
            "dist/*",
            "--",
            "make",
            "dist",
        )
        self.run(
            *gk,
            "attest",
            "--stage",
            "scan",
            "--key",
            f"{keys}/ci",
            "--audit",
            "--osv-db",
            "osv/",
            "--product",
            "dist/*",
        )
        self.run(
            *gk,
            "attest",
            "--stage",
            "release",
            "--key",
            f"{keys}/ci",
            "--key",
            f"{keys}/rm",
            "--passphrase-env",
            "RM_PASSPHRASE",
            "--material",
            "dist/*",
            "--product",
            "dist/*",
        )
        # Logged: the decision log's examples need an entry.
        self.run(*gk, "verify", "--policy", "policies/release.yaml", "dist/app-1.0.tar.gz")


# Documents whose examples start from nothing (they make their own keys and attestations);
# the others run where the release pipeline has already run.
FROM_SCRATCH = {"README.md", "attestations.md", "configuration.md"}


def run_doc(doc: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    sandbox = Sandbox(tmp_path, with_pipeline=doc.name not in FROM_SCRATCH)
    if "$GITHUB_SHA" not in doc.read_text(encoding="utf-8"):
        # As on a workstation: no CI commit for `verify` to compare the attested one with.
        del sandbox.env["GITHUB_SHA"]
    body = "\n".join(script(b) for b in blocks(doc) if b.runs)
    text = f"{_PRELUDE}\n{body}\nexit $__gk_failures\n"
    (tmp_path / "docs.sh").write_text(text)
    return subprocess.run(
        ["bash", str(tmp_path / "docs.sh")],
        cwd=sandbox.repo,
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


RUNNABLE = [doc for doc in DOCS if any(b.runs for b in blocks(doc))]


@pytest.mark.parametrize("doc", RUNNABLE, ids=lambda p: p.name)
def test_every_command_example_runs(doc: Path, tmp_path: Path) -> None:
    result = run_doc(doc, tmp_path)
    failures = [line for line in result.stderr.splitlines() if line.startswith("DOCS-FAIL")]
    detail = textwrap.indent((result.stdout + result.stderr)[-12000:], "  ")
    assert result.returncode == 0 and not failures, "\n".join(failures) + "\n" + detail


def test_every_block_names_its_language_and_every_skip_its_reason() -> None:
    unnamed = [str(b) for doc in DOCS for b in blocks(doc) if not b.language]
    assert not unnamed, f"fenced blocks without a language (sh, text, yaml, ...): {unnamed}"
    marked = [b for doc in DOCS for b in blocks(doc) if b.not_run is not None]
    assert all(len(b.not_run or "") >= 10 for b in marked), [str(b) for b in marked]
    assert all(b.language in RUN_LANGUAGES for b in marked), "only sh blocks are ever run"


def test_the_readme_starts_with_install_and_check_then_the_tests() -> None:
    first, second = [b for b in blocks(ROOT / "README.md") if b.language == "sh"][:2]
    assert "pip install" in first.code and "gatekeeper check" in first.code
    assert "'.[test]'" in second.code and "pytest" in second.code


def test_the_sandbox_is_offline(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, with_pipeline=False)
    probe = "import socket\ntry:\n    socket.getaddrinfo('example.com', 443)\nexcept OSError:\n    print('offline')\n"
    assert sandbox.run(sys.executable, "-c", probe).strip() == "offline"


def test_a_failing_example_is_reported(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```sh\ngatekeeper check --format json > /dev/null\n"
        "gatekeeper check --block-at critical   # exit 2: looser than the policy\n"
        "gatekeeper verify --policy policies/ci.yaml missing.tar.gz\n```\n"
    )
    sandbox = Sandbox(tmp_path / "s", with_pipeline=False)
    body = "\n".join(script(b) for b in blocks(doc)).replace(str(tmp_path), "")
    result = subprocess.run(
        ["bash", "-c", f"{_PRELUDE}\n{body.replace('__gk_block', 'true')}\nexit $__gk_failures"],
        cwd=sandbox.repo,
        env=sandbox.env,
        capture_output=True,
        text=True,
        check=False,
    )
    failures = [line for line in result.stderr.splitlines() if line.startswith("DOCS-FAIL")]
    assert len(failures) == 1 and "exit 2, expected 0" in failures[0], result.stderr


_SUBSTITUTION = re.compile(r"\$\([^()]*\)")
_SEPARATORS = {"|", "||", "&&", ";", "&"}


def _words(text: str) -> list[str]:
    """Shell words and operators of ``text``; a command substitution is one word."""
    while _SUBSTITUTION.search(text):
        text = _SUBSTITUTION.sub("SUBSTITUTED", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _gatekeeper_commands(block: Block) -> Iterator[list[str]]:
    """The arguments of every ``gatekeeper`` command in ``block`` (pipelines and lists split,
    redirections and ``VAR=value`` prefixes left out)."""
    for _, command in _logical_commands(block.code):
        text = " ".join(line.rstrip().removesuffix("\\") for line in command)
        words: list[str] = []
        tokens = iter([*_words(text.split("<<")[0]), ";"])
        for token in tokens:
            if token in _SEPARATORS:
                while words and "=" in words[0] and not words[0].startswith("-"):
                    words = words[1:]  # VAR=value gatekeeper ...
                if words and words[0] == "gatekeeper":
                    yield words[1:]
                words = []
            elif token[:1] in "<>":
                next(tokens, None)  # the redirection's file
            else:
                words.append(token)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_gatekeeper_example_parses(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for block in blocks(doc):
        if block.language not in RUN_LANGUAGES:
            continue
        for argv in _gatekeeper_commands(block):
            if argv in (["--version"], ["--help"]) or "--help" in argv:
                continue
            # Extension commands (pr-check) are loaded for the command line being parsed.
            monkeypatch.setattr(cli._EXTENSIONS, "wanted", argv)
            try:
                args = cli._parse(build_parser(), argv)  # collect takes REPO after options
            except SystemExit as exc:
                pytest.fail(f"{block}: gatekeeper {' '.join(argv)}: exit {exc.code}")
            assert getattr(args, "handler", None), f"{block}: gatekeeper {' '.join(argv)}"


def _ci_commands() -> str:
    return " ".join(
        " ".join(argv)
        for b in blocks(ROOT / "docs" / "ci.md")
        if b.language in RUN_LANGUAGES
        for argv in _gatekeeper_commands(b)
    )


def test_every_format_has_an_example() -> None:
    commands = _ci_commands()
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        assert f"--format {fmt}" in commands, fmt
    assert "--output" in commands


def test_action_inputs_and_outputs_documented() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    docs = (ROOT / "docs" / "ci.md").read_text()
    for name in list(action["inputs"]) + list(action["outputs"]):
        assert f"| `{name}` |" in docs, name


def _subparser(command: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(cli._EXTENSIONS, "wanted", [command])
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")  # type: ignore[union-attr]
    return sub.choices[command]  # type: ignore[attr-defined]


def test_pr_check_options_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = (ROOT / "docs" / "ci.md").read_text()
    for action in _subparser("pr-check", monkeypatch)._actions:  # type: ignore[attr-defined]
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert flag in docs, flag


def test_every_command_and_option_is_shown_in_the_readme_or_a_doc_it_links(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readme = (ROOT / "README.md").read_text()
    linked = {ROOT / m for m in re.findall(r"\]\((docs/[a-z-]+\.md)", readme)}
    shown = readme + "".join(p.read_text() for p in linked)
    examples = [
        argv
        for doc in [ROOT / "README.md", *linked]
        for b in blocks(doc)
        if b.language in RUN_LANGUAGES
        for argv in _gatekeeper_commands(b)
    ]
    used_commands = {" ".join(argv[:n]) for argv in examples for n in (1, 2)}
    used_words = {word.split("=")[0] for argv in examples for word in argv}
    monkeypatch.setattr(cli._EXTENSIONS, "wanted", ["--help"])
    missing = []
    stack: list[tuple[str, argparse.ArgumentParser]] = [("", build_parser())]
    while stack:
        name, parser = stack.pop()
        if name and name not in used_commands:
            missing.append(f"gatekeeper {name}: no example")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(
                    (f"{name} {word}".strip(), child) for word, child in action.choices.items()
                )
                continue
            for flag in action.option_strings:
                if not flag.startswith("--") or flag in ("--help", "--version"):
                    continue
                if flag not in shown:
                    missing.append(f"gatekeeper {name} {flag}: not documented")
                elif flag not in used_words:
                    missing.append(f"gatekeeper {name} {flag}: no example")
    assert not missing, "\n".join(sorted(set(missing)))
