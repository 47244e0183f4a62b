"""SSH commit signatures: the source collector checking them in-process vs through ssh-keygen.

Builds a repository of N commits signed with an Ed25519 key by ``ssh-keygen -Y sign`` (as
``git commit -S`` does), an allowed-signers file listing the key, then times the source
collector over the range (medians of --repeat runs, in this process):

- in-process: SSHSIG checked by ``gatekeeper/collect/ssh_signatures.py``;
- ssh-keygen: the same collector with the in-process check switched off, so every commit
  goes to git, which runs ssh-keygen twice per commit (the behaviour before);
- git alone: ``git log --format=%G?`` over the range, the floor of the old path.

Both collector runs must record the same statuses; the script checks it.

    python bench/ssh_signatures_bench.py [--commits 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.collect import git_source, ssh_signatures
from gatekeeper.collect.base import CollectContext
from gatekeeper.models.options import AuditOptions

ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
}


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, env=ENV, input=data, capture_output=True, check=True
    ).stdout


def build(root: Path, commits: int) -> tuple[Path, Path, str]:
    """(repository, allowed-signers file, base commit)."""
    key = root / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signers = root / "allowed_signers"
    signers.write_text(f"dev@example.invalid {Path(f'{key}.pub').read_text()}")
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("0\n")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").decode().strip()
    signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    for i in range(commits):
        (repo / "f").write_text(f"change {i}\n")
        git(repo, "add", "f")
        git(repo, *signing, "commit", "-q", "-S", "-m", f"change {i}")
    return repo, signers, base


def collect(repo: Path, signers: Path, base: str) -> list[str]:
    ctx = CollectContext(repo=repo, base=base, options=AuditOptions(allowed_signers=signers))
    evidence = git_source.GitSourceCollector().collect(ctx)
    return [c.signature.status for c in evidence.commits]


def timed(fn: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-ssh-bench-") as tmp:
        started = time.perf_counter()
        repo, signers, base = build(Path(tmp), args.commits)
        print(f"built {args.commits} SSH-signed commits in {time.perf_counter() - started:.1f} s")
        fast, statuses = timed(lambda: collect(repo, signers, base), args.repeat)

        original = ssh_signatures.AllowedSigners.__init__

        def unsupported(self: object, data: bytes) -> None:
            raise ssh_signatures.Unsupported("switched off for the comparison")

        ssh_signatures.AllowedSigners.__init__ = unsupported  # type: ignore[method-assign]
        try:
            slow, old_statuses = timed(lambda: collect(repo, signers, base), args.repeat)
        finally:
            ssh_signatures.AllowedSigners.__init__ = original  # type: ignore[method-assign]
        floor, _ = timed(
            lambda: git(
                repo,
                "-c",
                f"gpg.ssh.allowedSignersFile={signers}",
                "log",
                "--format=%G?",
                f"{base}..HEAD",
            ),
            args.repeat,
        )
    if statuses != old_statuses:
        print("MISMATCH between the in-process check and ssh-keygen", file=sys.stderr)
        return 1
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}  # type: ignore[arg-type]
    print(f"statuses (both paths): {counts}")
    print(f"collect source, in-process : {fast * 1000:8.0f} ms")
    print(f"collect source, ssh-keygen : {slow * 1000:8.0f} ms  ({slow / fast:.1f}x slower)")
    print(f"git log %G? alone          : {floor * 1000:8.0f} ms")
    print(f"per commit: {fast / args.commits * 1e3:.2f} ms vs {slow / args.commits * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
