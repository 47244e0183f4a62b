"""What the hostile-input defences cost on normal input, and how fast hostile input is refused.

Standalone (not a test): generates its inputs in a temp dir, runs, prints medians and ratios.

    .venv/bin/python bench/hostile_bench.py

1. YAML with anchors (a GitLab-CI-like file, 2,000 jobs sharing 40 anchors): ``load_yaml`` with
   the alias-expansion check against the same loader with the check switched off.
2. ``open_repo`` (safe env plus neutralised repository drivers, one extra ``git config``)
   against GitPython with only ``safe_git_env``.
3. Refusal time: billion laughs, a 3^32 narrow bomb, 10,000-deep JSON, a 2 GB sparse policy.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper import _yaml
from gatekeeper._fileio import loads_json_strict
from gatekeeper._git import open_repo, safe_git_env
from gatekeeper._yaml import load_yaml
from gatekeeper.errors import InvalidInput
from gatekeeper.policy import load_policy


def median_ms(fn: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def gitlab_like(jobs: int = 2000, anchors: int = 40) -> str:
    templates = [
        f".tpl{a}: &tpl{a}\n  image: alpine:3.{a}\n  tags: [docker, linux]\n"
        f"  before_script: [echo {a}]\n"
        for a in range(anchors)
    ]
    jobs_text = [
        f"job{j}:\n  <<: *tpl{j % anchors}\n  stage: test\n  script:\n"
        f"    - make test-{j}\n    - echo done\n"
        for j in range(jobs)
    ]
    return "".join(templates + jobs_text)


def main() -> None:
    text = gitlab_like()
    _yaml._YAML_CAPS.set((10_000, 200))  # the file uses 2,000 aliases: lift the alias cap
    with_check = median_ms(lambda: load_yaml(text), runs=7)
    real = _yaml.check_expansion
    _yaml.check_expansion = lambda root, cap=0: None  # type: ignore[assignment]
    without = median_ms(lambda: load_yaml(text), runs=7)
    _yaml.check_expansion = real
    print(
        f"load_yaml, {len(text) // 1024} KiB, 2,000 aliases: {with_check:.1f} ms with the "
        f"expansion check, {without:.1f} ms without (ratio {with_check / without:.2f})"
    )

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / "a").write_text("a\n")
        import git

        def plain() -> None:
            r = git.Repo(repo)
            r.git.update_environment(**safe_git_env())
            r.close()

        def safe() -> None:
            open_repo(repo).close()

        base = median_ms(plain)
        ours = median_ms(safe)
        print(
            f"open_repo: {ours:.1f} ms, GitPython + safe_git_env only: {base:.1f} ms "
            f"(ratio {ours / base:.2f}; one `git config --list` per open)"
        )

        bomb = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
            f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)
        )
        narrow = 'a0: &a0 ["x","x","x"]\n' + "".join(
            f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 3) + "]\n" for i in range(1, 32)
        )
        _yaml._YAML_CAPS.set((100, 200))
        deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
        policy = Path(tmp) / "policy.yaml"
        with open(policy, "wb") as handle:
            handle.truncate(2 * 1024**3)

        def refuse(fn: Callable[[], object]) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn()
                except (ValueError, InvalidInput, _yaml.yaml.YAMLError):
                    return
                raise AssertionError("accepted a hostile input")

            return run

        for label, fn in (
            ("billion laughs (81 aliases)", lambda: load_yaml(bomb)),
            ("3^32 narrow bomb (93 aliases)", lambda: load_yaml(narrow)),
            ("10,000-deep JSON", lambda: loads_json_strict(deep)),
            ("2 GB sparse policy", lambda: load_policy(policy)),
        ):
            print(f"refused {label}: {median_ms(refuse(fn)):.2f} ms")


if __name__ == "__main__":
    main()
