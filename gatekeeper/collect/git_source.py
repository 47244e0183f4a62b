"""The ``source`` collector: every commit of base..head and what the range changed.

One ``git log --raw -z`` call lists every commit of the range with its identities,
trailers and raw file changes; the output is parsed as it streams, so a 5,000-commit range
costs one subprocess. One ``git cat-file --batch`` reads the commit objects: the kind of
each signature, and SSH signatures checked in-process against the allowed-signers file
(``collect/ssh_signatures.py``). The other signatures (OpenPGP, X.509, and SSH cases that
module leaves to ssh-keygen) get git's own verification in one more ``git log --no-walk``
over those commits only, against what ``collect/commit_signatures.py`` prepares (the
user's public keys plus the forges' own keys, and the allowed-signers file). One
``git diff --raw`` gives the net change, and one more ``git cat-file --batch`` reads the
changed blobs (bounded) to record sizes, binary content, symlink targets and submodule
pointers.

Without a base the collector records the head and the tree's symlinks only. On a
directory that is not a git repository it records that fact and the directory's
symlinks, so ``check`` can run it anywhere.
"""

from __future__ import annotations

import heapq
import os
import re
import secrets as _random
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

from gatekeeper._fileio import read_bounded
from gatekeeper._git import BlobReader, GitRunner
from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.collect.build_files import BuildFiles
from gatekeeper.collect.commit_signatures import (
    MAX_ALLOWED_SIGNERS_BYTES,
    SignatureSetup,
    allowed_signers_file,
    signature_format,
    signature_setup,
)
from gatekeeper.collect.forge_keys import ForgeKey, forge_key_for, forge_keys
from gatekeeper.collect.ssh_signatures import AllowedSigners, Unsupported, verify_commit
from gatekeeper.errors import CollectionError
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.source import (
    BlobInfo,
    Commit,
    FileChange,
    ForgeVerification,
    Identity,
    PullRequestReview,
    Signature,
    SignatureFormat,
    SourceEvidence,
    Trailer,
    TreeSymlink,
)

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows PE executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O universal binary"),
    (b"PK\x03\x04", "zip archive (jar, wheel, apk...)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x00asm", "WebAssembly module"),
    (b"\x89PNG", "PNG image"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"!<arch>\n", "ar archive / static library"),
    (b"\xed\xab\xee\xdb", "RPM package"),
)
_SNIFF_BYTES = 8192
# Bytes of a commit object read for its signature; a larger object (a huge message) is
# left to git's own verification.
_COMMIT_BYTES = 1 << 20

_PR_SUBJECT = (
    re.compile(r"^Merge pull request #(\d+) from "),  # GitHub merge commit
    re.compile(r"\(#(\d+)\)\s*$"),  # GitHub squash merge
)
_GITLAB_MR = re.compile(r"^See merge request [^\s!]+!(\d+)\s*$", re.MULTILINE)
_TRAILER_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$")

# Paths that configure the gate itself: its policies, CODEOWNERS, branch protection.
_GATE_PATTERNS = (
    re.compile(r"^(?:.+/)?policies/.+\.(?:ya?ml|sig)$"),
    re.compile(r"^(?:.+/)?[^/]+\.gatekeeper\.ya?ml(?:\.sig)?$"),
    re.compile(r"^(?:.+/)?\.gatekeeper(?:\.ya?ml|\.toml)?$"),
    re.compile(r"^(?:.+/)?\.gatekeeper/(?:config|policy|baseline)[^/]*$"),
    re.compile(r"^(?:\.github/|docs/|\.gitlab/)?CODEOWNERS$"),
    re.compile(r"^\.github/settings\.ya?ml$"),
    re.compile(r"^\.github/(?:rulesets|branch-protection)/.+$"),
    re.compile(r"^\.gitlab/(?:approval|protected)[^/]*$"),
)
_PATH_ONLY = BuildFiles()
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


def path_category(path: str, build_files: BuildFiles | None = None) -> str | None:
    """``"gate"`` for the gate's own configuration, ``"pipeline"`` for the build controller.

    What counts as the build controller is the catalogue's (``collect/build_files.py``);
    given the catalogue bound to the tree, a Jenkins shared library's ``src/`` counts too.
    """
    if any(p.match(path) for p in _GATE_PATTERNS):
        return "gate"
    if (build_files or _PATH_ONLY).is_build_controller(path):
        return "pipeline"
    return None


def sensitive_paths(paths: list[str]) -> list[str]:
    """The gate and build-controller paths of a tree, sorted."""
    build_files = BuildFiles(paths)
    return sorted(p for p in paths if path_category(p, build_files))


def sniff_binary(data: bytes) -> str | None:
    """Why ``data`` (a file's first bytes) is binary, or None for text. Decided by content."""
    for magic, label in _BINARY_MAGIC:
        if data.startswith(magic):
            if magic == b"MZ" and (len(data) < 64 or b"\x00" not in data[:64]):
                # NOTE: "MZ" alone starts ordinary text (`MZ_REGION=...`); a DOS/PE header is
                # 64 bytes with zero fields. Text judged binary would never be scanned.
                continue
            return label
    if b"\x00" in data[:_SNIFF_BYTES]:
        # UTF-16 text has NULs too; a BOM says it is text.
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None
        return "NUL bytes"
    return None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _blob_id(sha: str) -> str | None:
    return None if set(sha) <= {"0"} else sha


def _raw_entry(meta: bytes, parts: list[bytes], i: int) -> tuple[FileChange, int]:
    """The entry whose metadata is ``parts[i]``, and the index of the next one."""
    fields = meta[1:].split(b" ") if meta.startswith(b":") else []
    if len(fields) != 5 or i + 1 >= len(parts):
        raise CollectionError(f"unexpected git raw diff line {meta[:80]!r}")
    old_mode, new_mode, old_sha, new_sha, status = (_decode(f) for f in fields)
    letter = status[:1]
    if letter in ("R", "C"):
        if i + 2 >= len(parts):
            raise CollectionError("truncated rename entry in git raw diff")
        old_path, path, after = _decode(parts[i + 1]), _decode(parts[i + 2]), i + 3
    else:
        old_path, path, after = None, _decode(parts[i + 1]), i + 2
    change = FileChange(
        path=path,
        old_path=old_path,
        change=letter,
        old_mode=old_mode,
        new_mode=new_mode,
        old_blob=_blob_id(old_sha),
        new_blob=_blob_id(new_sha),
    )
    return change, after


def _parse_raw_entries(raw: bytes) -> list[FileChange]:
    """Parse ``--raw -z`` entries: ``:old new oldsha newsha STATUS\\0path\\0[path2\\0]``."""
    changes: list[FileChange] = []
    parts = raw.split(b"\0")
    i = 0
    while i < len(parts):
        meta = parts[i].strip(b"\n")
        if not meta:
            i += 1
            continue
        change, i = _raw_entry(meta, parts, i)
        changes.append(change)
    return changes


def _parse_trailers(text: str) -> list[Trailer]:
    trailers = []
    for line in text.splitlines():
        match = _TRAILER_LINE.match(line.strip())
        if match:
            trailers.append(Trailer(key=match.group(1), value=match.group(2).strip()))
    return trailers


def _pull_request_number(subject: str, body: str, is_merge: bool) -> int | None:
    if is_merge:
        match = _PR_SUBJECT[0].match(subject) or _GITLAB_MR.search(body)
        if match:
            return int(match.group(1))
        return None
    match = _PR_SUBJECT[1].search(subject)
    return int(match.group(1)) if match else None


class _LogParser:
    """Streaming parser of one ``git log`` call with nonce-delimited records."""

    # sha, parents, %G?, %GK, %GF, %GP, %GS, an, ae, aI, cn, ce, cI, subject, trailers, body
    FIELDS = (
        "%H",
        "%P",
        "%G?",
        "%GK",
        "%GF",
        "%GP",
        "%GS",
        "%an",
        "%ae",
        "%aI",
        "%cn",
        "%ce",
        "%cI",
        "%s",
        "%(trailers:only=true,unfold=true)",
        "%b",
    )

    def __init__(self, *, signatures: bool = True) -> None:
        """``signatures=False``: no signature fields (git then verifies nothing; the
        caller fills ``signature``)."""
        # SECURITY: record and field markers carry a random nonce, so a commit message or an
        # author name cannot forge a record boundary.
        nonce = _random.token_hex(12)
        self.start = f"\x1eGKSTART{nonce}\x1f".encode()
        self.sep = f"\x1fGK{nonce}\x1f".encode()
        self.end = f"\x1fGKEND{nonce}\x1e".encode()
        fmt_sep = self.sep.decode().replace("\x1f", "%x1f")
        self.format = (
            self.start.decode().replace("\x1e", "%x1e").replace("\x1f", "%x1f")
            + fmt_sep.join(f if signatures or not f.startswith("%G") else "" for f in self.FIELDS)
            + self.end.decode().replace("\x1e", "%x1e").replace("\x1f", "%x1f")
        )

    def records(self, stream: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
        """Yield (header, raw-diff bytes) per commit while reading ``stream`` in chunks."""
        buffer = b""
        while True:
            chunk = stream.read(1 << 16)
            buffer += chunk
            pos = 0
            for header, raw, stop in self._complete(buffer, more=bool(chunk)):
                yield header, raw
                pos = stop
            buffer = buffer[pos:]
            if not chunk:
                if buffer.strip(b"\0\n"):
                    raise CollectionError("git log output ended inside a record")
                return

    def _complete(self, buffer: bytes, *, more: bool) -> Iterator[tuple[bytes, bytes, int]]:
        """(header, raw, end offset) of each record ``buffer`` holds whole."""
        pos = 0
        while (start := buffer.find(self.start, pos)) != -1:
            end = buffer.find(self.end, start)
            if end == -1:
                return
            nxt = buffer.find(self.start, end)
            if nxt == -1 and more:
                return  # the raw part may still be arriving
            stop = len(buffer) if nxt == -1 else nxt
            yield buffer[start + len(self.start) : end], buffer[end + len(self.end) : stop], stop
            pos = stop

    def commit(self, header: bytes, raw: bytes) -> Commit:
        fields = [_decode(f) for f in header.split(self.sep)]
        if len(fields) != len(self.FIELDS):
            raise CollectionError(f"unexpected git log record ({len(fields)} fields)")
        (
            sha,
            parents,
            status,
            key,
            fpr,
            primary,
            signer,
            an,
            ae,
            ad,
            cn,
            ce,
            cd,
            subject,
            trailer_text,
            body,
        ) = fields
        parent_list = parents.split()
        return Commit(
            sha=sha,
            parents=parent_list,
            author=Identity(name=an, email=ae, date=ad),
            committer=Identity(name=cn, email=ce, date=cd),
            subject=subject,
            signature=Signature(
                status=status if status in "GBUXYREN" and status else "E",
                key=key or None,
                fingerprint=fpr or None,
                primary_fingerprint=primary or None,
                signer=signer or None,
            ),
            trailers=_parse_trailers(trailer_text),
            pull_request=_pull_request_number(subject, body, len(parent_list) > 1),
            files=_parse_raw_entries(raw),
        )


def _side_commits(
    merge: Commit, by_sha: dict[str, Commit], generation: dict[str, int]
) -> list[str]:
    """Range commits reachable from ``merge``'s side parents but not from its first parent."""
    flags: dict[str, int] = {}
    heap: list[tuple[int, str]] = []
    side_only: set[str] = set()  # queued commits reachable from the side parents only

    def mark(sha: str, flag: int) -> None:
        if sha not in by_sha:
            return  # outside the range
        old = flags.get(sha, 0)
        new = old | flag
        if new == old:
            return
        flags[sha] = new
        if new == 2:
            side_only.add(sha)
        else:
            side_only.discard(sha)
        heapq.heappush(heap, (-generation[sha], sha))

    mark(merge.parents[0], 1)
    for parent in merge.parents[1:]:
        mark(parent, 2)
    merged: set[str] = set()
    done: set[str] = set()
    while heap and side_only:
        _, sha = heapq.heappop(heap)
        if sha in done:
            continue
        done.add(sha)
        side_only.discard(sha)
        flag = flags[sha]
        if flag == 2:
            merged.add(sha)
        for parent in by_sha[sha].parents:
            mark(parent, flag)
    return sorted(merged)


def _merged_commits(commits: list[Commit]) -> dict[str, list[str]]:
    """For each merge commit: the range commits its side parents brought in.

    Paints down from the parents in generation order (as ``git merge-base`` does), so the
    cost is the side branch plus the first-parent history back to its fork point, not
    the whole range per merge.
    """
    by_sha = {c.sha: c for c in commits}
    generation: dict[str, int] = {}
    for commit in reversed(commits):  # --topo-order lists children before parents
        generation[commit.sha] = 1 + max((generation.get(p, 0) for p in commit.parents), default=0)
    return {c.sha: _side_commits(c, by_sha, generation) for c in commits if c.is_merge}


def _reviews_option(options: AuditOptions) -> list[PullRequestReview]:
    raw = options.reviews or ()
    return sorted(raw, key=lambda r: (r.number or 0, r.head_sha or "", r.author))


def _verifications_option(options: AuditOptions, shas: set[str]) -> list[ForgeVerification]:
    """The forge's verifications of commits in the range (others say nothing about it)."""
    raw = options.forge_verifications or ()
    return sorted((v for v in raw if v.sha in shas), key=lambda v: v.sha)


def _with_forge(commit: Commit, keys: tuple[ForgeKey, ...]) -> Commit:
    """Name the forge whose bundled key a (cryptographically good) signature verifies under."""
    sig = commit.signature
    if sig.status not in ("G", "U", "X", "Y", "R"):
        return commit
    key = forge_key_for((sig.fingerprint, sig.primary_fingerprint), keys)
    if key is None or key.format != sig.format:
        return commit
    return commit.model_copy(update={"signature": sig.model_copy(update={"forge": key.forge})})


def _unchecked_notes(commits: list[Commit], setup: SignatureSetup) -> list[str]:
    """Say why signatures could not be checked when a verification program is missing."""
    unchecked = {c.signature.format for c in commits if c.signature.status == "E"}
    notes = list(setup.notes)
    if "openpgp" in unchecked and not setup.has_gpg:
        notes.append("gpg is not on PATH: OpenPGP commit signatures could not be checked")
    if "ssh" in unchecked and not setup.has_ssh_keygen:
        notes.append("ssh-keygen is not on PATH: SSH commit signatures could not be checked")
    return notes


def _in_process_signers(verifier: GitRunner, setup: SignatureSetup) -> AllowedSigners | None:
    """The allowed-signers file for the in-process SSH check; None leaves every SSH
    signature to git: a revocation file is configured (ssh-keygen reads KRLs), or the file
    has a line ``collect/ssh_signatures.py`` does not read exactly as ssh-keygen does."""
    if setup.signers_file is None:
        return None
    revocation = verifier.run("config", "--get", "gpg.ssh.revocationFile", check=False)
    if revocation.returncode == 0 and revocation.stdout.strip():
        return None
    try:
        return AllowedSigners(read_bounded(setup.signers_file, MAX_ALLOWED_SIGNERS_BYTES))
    except Unsupported:
        return None


def _git_signatures(verifier: GitRunner, shas: list[str]) -> dict[str, Signature]:
    """git's own verification (``%G?`` and the key fields) of ``shas``, in one
    ``git log --no-walk --stdin``. Raises CollectionError."""
    if not shas:
        return {}
    nonce = _random.token_hex(12)
    start, sep, end = f"GKSIG{nonce}<", f">GKSEP{nonce}<", f">GKEND{nonce}"
    fields = ("%H", "%G?", "%GK", "%GF", "%GP", "%GS")
    proc = verifier.popen(
        "log",
        "--no-walk=unsorted",
        "--stdin",
        f"--format={start}{sep.join(fields)}{end}",
        stdin=True,
    )
    out, _ = proc.communicate("".join(f"{sha}\n" for sha in shas).encode())
    code, errors = verifier.finish(proc)
    if code != 0:
        raise CollectionError(f"git log (signatures) failed: {errors[:500]}")
    found: dict[str, Signature] = {}
    for record in _decode(out).split(start)[1:]:
        values = record.partition(end)[0].split(sep)
        if len(values) != len(fields):
            raise CollectionError(f"unexpected git log signature record ({len(values)} fields)")
        sha, status, key, fpr, primary, signer = values
        found[sha] = Signature(
            status=status if status in "GBUXYREN" and status else "E",
            key=key or None,
            fingerprint=fpr or None,
            primary_fingerprint=primary or None,
            signer=signer or None,
        )
    missing = [sha for sha in shas if sha not in found]
    if missing:
        raise CollectionError(f"git log gave no signature status for {missing[0]}")
    return found


def _plain_codeowners(root: Path) -> tuple[str | None, str | None]:
    for rel in CODEOWNERS_LOCATIONS:
        path = root / rel
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                return rel, _decode(handle.read(1024 * 1024))
    return None, None


def _configured_signers(runner: GitRunner) -> str | None:
    """The repository's own ``gpg.ssh.allowedSignersFile`` (global config is never read)."""
    proc = runner.run("config", "--type=path", "--get", "gpg.ssh.allowedSignersFile", check=False)
    value = _decode(proc.stdout).strip()
    return value if proc.returncode == 0 and value else None


def _base_commit(runner: GitRunner, base_ref: str, shallow: bool) -> str:
    """The base's commit; raises CollectionError saying how to fetch it when it is missing."""
    base = runner.rev(base_ref)
    if base is not None:
        return base
    if shallow:
        raise CollectionError(
            f"base {base_ref!r} is not in this shallow clone. Fetch it first, e.g. "
            f"`git fetch --unshallow` (or `git fetch --depth=1000 origin "
            f"{base_ref.removeprefix('origin/')}`), or check out with fetch-depth: 0"
        )
    raise CollectionError(
        f"base {base_ref!r} is not a commit in this repository; fetch it "
        f"(e.g. `git fetch origin {base_ref.removeprefix('origin/')}`)"
    )


def _is_ancestor(runner: GitRunner, base: str, head: str, base_ref: str, shallow: bool) -> bool:
    """Whether ``base`` is an ancestor of ``head``; a shallow clone must be able to tell."""
    ancestor = runner.run("merge-base", "--is-ancestor", base, head, check=False)
    if ancestor.returncode not in (0, 1):
        raise CollectionError(f"git merge-base failed: {_decode(ancestor.stderr).strip()}")
    is_ancestor = ancestor.returncode == 0
    if shallow and not is_ancestor:
        raise CollectionError(
            f"this is a shallow clone and {base_ref!r} is not reachable from the head in the "
            "fetched history, so a history rewrite cannot be told apart from missing history. "
            "Fetch the history first: `git fetch --unshallow` (or `git fetch --depth=N`)"
        )
    return is_ancestor


def _net_changes(runner: GitRunner, base: str, head: str) -> list[FileChange]:
    """The range's net change (renames detected), by path."""
    diff = runner.run(
        "diff",
        "--raw",
        "-z",
        "--no-abbrev",
        "-M",
        "--no-ext-diff",
        "--no-textconv",
        base,
        head,
        "--",
    )
    return sorted(_parse_raw_entries(diff.stdout), key=lambda c: (c.path, c.change))


class GitSourceCollector:
    kind: ClassVar[str] = "source"

    def collect(self, ctx: CollectContext) -> SourceEvidence:
        """Raises CollectionError: the base or head is missing (with how to fetch it)."""
        top = ctx.work_tree_top
        if top is None:
            return self._collect_plain(ctx)
        return self._collect_git(top, ctx)

    def _collect_plain(self, ctx: CollectContext) -> SourceEvidence:
        if ctx.base is not None:
            raise CollectionError(
                f"{ctx.repo}: not a git repository, so there is no range to compare with "
                f"--base {ctx.base}"
            )
        root = Path(ctx.repo)
        owners_path, owners = _plain_codeowners(root)
        paths = list(walk_files(root, ctx.limits.max_files + 1))
        notes = [f"{root.name or root}: not a git repository; no commit range recorded"]
        if len(paths) > ctx.limits.max_files:
            paths = paths[: ctx.limits.max_files]
            notes.append(
                f"source: only the first {ctx.limits.max_files} files were examined "
                "for symlinks and build-controller paths"
            )
        symlinks = [
            TreeSymlink(path=rel, target=os.readlink(root / rel))
            for rel in paths
            if (root / rel).is_symlink()
        ]
        return SourceEvidence(
            is_git=False,
            symlinks=symlinks,
            codeowners_path=owners_path,
            codeowners=owners,
            sensitive_paths=sensitive_paths(paths),
            reviews=_reviews_option(ctx.options),
            reviews_consulted=ctx.options.reviews is not None,
            notes=notes,
        )

    def _collect_git(self, top: Path, ctx: CollectContext) -> SourceEvidence:
        runner = GitRunner(top)
        configured = _configured_signers(runner)
        if ctx.base is None:
            # A file that cannot be read is a usage error even when nothing is verified.
            allowed_signers_file(ctx.options.allowed_signers, configured, runner.workdir)
        shallow_out = runner.run("rev-parse", "--is-shallow-repository").stdout
        shallow = _decode(shallow_out).strip() == "true"
        head = runner.rev(ctx.head)
        if head is None:
            return self._without_head(runner, ctx, shallow)
        evidence = self._head_facts(runner, ctx, head, shallow)
        if ctx.base is None:
            return SourceEvidence(**evidence)
        base = _base_commit(runner, ctx.base, shallow)
        is_ancestor = _is_ancestor(runner, base, head, ctx.base, shallow)
        keys = forge_keys()
        with signature_setup(
            runner.workdir,
            runner.env,
            allowed_signers=ctx.options.allowed_signers,
            configured_signers=configured,
            keys=keys,
        ) as setup:
            verifier = GitRunner(top, setup.config, setup.env)
            commits = self._commits(runner, base, head)
            commits = self._signatures(runner, verifier, commits, setup)
        commits = [_with_forge(c, keys) for c in commits]
        evidence["notes"] = _unchecked_notes(commits, setup)
        merges = _merged_commits(commits)
        if merges:
            commits = [
                c.model_copy(update={"merged_commits": merges[c.sha]}) if c.sha in merges else c
                for c in commits
            ]
        changes = _net_changes(runner, base, head)
        return SourceEvidence(
            **evidence,
            base=ctx.base,
            base_commit=base,
            base_is_ancestor=is_ancestor,
            commits=commits,
            changes=changes,
            blobs=self._blobs(runner, changes, ctx),
            allowed_signers=setup.allowed_signers,
            forge_verifications=_verifications_option(ctx.options, {c.sha for c in commits}),
        )

    @staticmethod
    def _without_head(runner: GitRunner, ctx: CollectContext, shallow: bool) -> SourceEvidence:
        """A repository without commits has no head; anything else asked for must exist."""
        if ctx.head == "HEAD" and ctx.base is None:
            return SourceEvidence(
                is_git=True,
                head_ref=ctx.head,
                shallow=shallow,
                reviews=_reviews_option(ctx.options),
                reviews_consulted=ctx.options.reviews is not None,
                notes=["the repository has no commit yet"],
            )
        raise CollectionError(f"head {ctx.head!r} is not a commit in {runner.workdir}")

    def _head_facts(
        self, runner: GitRunner, ctx: CollectContext, head: str, shallow: bool
    ) -> dict[str, Any]:
        """What the source evidence records of the head: tree, symlinks, sensitive paths."""
        head_tree = _decode(runner.run("rev-parse", f"{head}^{{tree}}").stdout).strip()
        symlinks, sensitive, owners_path = self._tree_facts(runner, head)
        owners = None
        if owners_path is not None:
            blob = runner.run("cat-file", "blob", f"{head}:{owners_path}").stdout
            owners = _decode(blob[: 1 << 20])
        return {
            "is_git": True,
            "head": head,
            "head_ref": ctx.head,
            "head_tree": head_tree,
            "shallow": shallow,
            "symlinks": symlinks,
            "sensitive_paths": sensitive,
            "codeowners_path": owners_path,
            "codeowners": owners,
            "reviews": _reviews_option(ctx.options),
            "reviews_consulted": ctx.options.reviews is not None,
        }

    def _commits(self, runner: GitRunner, base: str, head: str) -> list[Commit]:
        """The range's commits; their ``signature`` is filled by ``_signatures``."""
        parser = _LogParser(signatures=False)
        proc = runner.popen(
            "log",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            "--topo-order",
            f"--format={parser.format}",
            f"{base}..{head}",
            "--",
        )
        commits: list[Commit] = []
        assert proc.stdout is not None  # noqa: S101
        try:
            for header, raw in parser.records(proc.stdout):
                commits.append(parser.commit(header, raw))
        finally:
            code, errors = runner.finish(proc)
        if code != 0:
            raise CollectionError(f"git log failed: {errors[:500]}")
        return commits

    def _signatures(
        self, runner: GitRunner, verifier: GitRunner, commits: list[Commit], setup: SignatureSetup
    ) -> list[Commit]:
        """Each commit's signature: its kind from its armour; SSH ones checked in-process;
        the rest by git (``_git_signatures``). A signed commit git calls unsigned (``N``) is
        marked ``E``.

        SECURITY: without a verifier (no gpg, no ssh-keygen, a signature gpg cannot parse)
        git prints ``N``; a present but unchecked signature must not look like no signature.
        """
        if not commits:
            return commits
        signers = _in_process_signers(verifier, setup)
        found: dict[str, Signature] = {}
        to_git: dict[str, SignatureFormat] = {}
        reader = BlobReader(runner)
        try:
            for commit in commits:
                size, raw = reader.read(commit.sha, _COMMIT_BYTES)
                fmt = signature_format(raw)
                if fmt is None:
                    found[commit.sha] = Signature(status="N")
                elif fmt == "ssh" and signers is not None and size == len(raw):
                    try:
                        verdict = verify_commit(commit.sha, raw, signers)
                    except Unsupported:
                        to_git[commit.sha] = fmt
                        continue
                    found[commit.sha] = Signature(
                        status=verdict.status,
                        key=verdict.fingerprint,
                        fingerprint=verdict.fingerprint,
                        signer=verdict.principal,
                        format=fmt,
                    )
                else:
                    to_git[commit.sha] = fmt
        finally:
            reader.close()
        checked = _git_signatures(verifier, list(to_git))
        for sha, fmt in to_git.items():
            sig = checked[sha]
            found[sha] = sig.model_copy(
                update={"format": fmt, "status": "E" if sig.status == "N" else sig.status}
            )
        return [c.model_copy(update={"signature": found[c.sha]}) for c in commits]

    def _tree_facts(
        self, runner: GitRunner, head: str
    ) -> tuple[list[TreeSymlink], list[str], str | None]:
        listing = runner.run("ls-tree", "-r", "-z", "--full-tree", head).stdout
        links: list[tuple[str, str]] = []
        paths: list[str] = []
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, _kind, sha = _decode(meta).split(" ")
            path = _decode(raw_path)
            paths.append(path)
            if mode == "120000":
                links.append((path, sha))
        symlinks: list[TreeSymlink] = []
        if links:
            reader = BlobReader(runner)
            try:
                for path, sha in links:
                    _, target = reader.read(sha, 4096)
                    symlinks.append(TreeSymlink(path=path, target=_decode(target)))
            finally:
                reader.close()
        present = set(paths)
        owners = next((p for p in CODEOWNERS_LOCATIONS if p in present), None)
        return sorted(symlinks, key=lambda s: s.path), sensitive_paths(paths), owners

    def _blobs(
        self, runner: GitRunner, changes: list[FileChange], ctx: CollectContext
    ) -> list[BlobInfo]:
        wanted = [c for c in changes if c.change != "D" and c.new_blob]
        if not wanted:
            return []
        infos: list[BlobInfo] = []
        reader = BlobReader(runner)
        try:
            for change in wanted:
                sha = change.new_blob or ""
                if change.new_mode == "160000":
                    infos.append(
                        BlobInfo(
                            path=change.path,
                            size=0,
                            mode=change.new_mode,
                            is_binary=False,
                            submodule_commit=sha,
                        )
                    )
                    continue
                size, head_bytes = reader.read(sha, _SNIFF_BYTES)
                if change.new_mode == "120000":
                    infos.append(
                        BlobInfo(
                            path=change.path,
                            size=size,
                            mode=change.new_mode,
                            is_binary=False,
                            symlink_target=_decode(head_bytes),
                        )
                    )
                    continue
                reason = sniff_binary(head_bytes)
                infos.append(
                    BlobInfo(
                        path=change.path,
                        size=size,
                        mode=change.new_mode,
                        is_binary=reason is not None,
                        binary_reason=reason,
                    )
                )
        finally:
            reader.close()
        return sorted(infos, key=lambda b: b.path)


def is_outside(link_path: str, target: str) -> bool:
    """Whether a symlink at ``link_path`` (repo-relative) resolves outside the repository."""
    if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", target):
        return True
    parts: list[str] = list(PurePosixPath(link_path).parent.parts)
    for part in target.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return True
            parts.pop()
        else:
            parts.append(part)
    return False
