"""Benchmark: gatekeeper's pipeline audits against ``zizmor --offline``.

Generates a tree of GitHub Actions workflows in a temporary directory: for every problem
kind that RULES.md covers, two workflows with that one problem planted (everything else in
them done right), plus clean workflows written the way a careful team would. Then runs

    gatekeeper check DIR --only pipeline --format json
    zizmor --offline --format json DIR            (default "regular" persona)
    zizmor --offline --persona auditor ...        (for reference)

and prints, per problem kind, how many planted workflows each tool caught, the findings at or
above medium on the clean workflows, and the median wall time of each tool.

Usage: .venv/bin/python bench/workflow_bench.py [--runs 5] [--zizmor PATH]
(zizmor is in the ``bench`` extra: ``.venv/bin/pip install zizmor``.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from _bytecode import compile_gatekeeper

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"
SHA2 = "0ad4b8fadaa221de15dcec353f45205ec38ea70b"
CHECKOUT = f"actions/checkout@{SHA} # v4.1.1"
HEADER = "permissions:\n  contents: read\n"


def wf(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# kind -> (gatekeeper rule, zizmor audit ids that count as catching it, generator)
Planted = tuple[str, tuple[str, ...], Callable[[int], str]]


def _template_injection_run(i: int) -> str:
    trigger, ctx = [("issues", "github.event.issue.title"), ("pull_request", "github.head_ref")][i]
    return wf(f"""
        on: {trigger}
        {HEADER.replace(chr(10), chr(10) + "        ")}
        jobs:
          greet:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "Thanks for: ${{{{ {ctx} }}}}"
    """)


def _template_injection_script(i: int) -> str:
    trigger, ctx = [
        ("issue_comment", "github.event.comment.body"),
        ("pull_request", "github.event.pull_request.body"),
    ][i]
    return wf(f"""
        on: {trigger}
        permissions:
          issues: write
        jobs:
          react:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/github-script@{SHA2} # v7
                with:
                  script: |
                    const text = `${{{{ {ctx} }}}}`
                    if (text.includes('/deploy')) core.info('deploy requested')
    """)


def _untrusted_checkout(i: int) -> str:
    ref = ["github.event.pull_request.head.sha", "github.event.pull_request.head.ref"][i]
    return wf(f"""
        on:
          pull_request_target:
            types: [opened, synchronize]
        permissions:
          contents: read
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  ref: ${{{{ {ref} }}}}
                  persist-credentials: false
              - run: make test
    """)


def _dangerous_trigger(i: int) -> str:
    return wf(f"""
        on:
          workflow_run:
            workflows: [{["ci", "build"][i]}]
            types: [completed]
        permissions:
          actions: read
        jobs:
          notify:
            runs-on: ubuntu-latest
            steps:
              - run: echo "run ${{{{ github.event.workflow_run.id }}}} finished"
    """)


def _unpinned_action(i: int) -> str:
    uses = ["docker/setup-buildx-action@v3", "some-vendor/deploy-action@main"][i]
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: {uses}
    """)


def _unpinned_image(i: int) -> str:
    spec = ["container: node:20-bookworm", "services:\n  cache:\n    image: redis:7"][i]
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          test:
            runs-on: ubuntu-latest
            {spec.replace(chr(10), chr(10) + "            ")}
            steps:
              - run: make test
    """)


def _write_all(i: int) -> str:
    return wf(f"""
        name: {["lint", "docs"][i]}
        on: push
        permissions: write-all
        jobs:
          run:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: make {["lint", "docs"][i]}
    """)


def _no_permissions(i: int) -> str:
    return wf(f"""
        name: {["nightly", "format"][i]}
        on:
          schedule:
            - cron: "0 {3 + i} * * *"
        jobs:
          run:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: make {["nightly", "format"][i]}
    """)


def _secrets_inherit(i: int) -> str:
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          deploy:
            uses: acme/platform/.github/workflows/{["deploy", "publish"][i]}.yml@{SHA}
            secrets: inherit
    """)


def _self_hosted_pr(i: int) -> str:
    runs_on = ["[self-hosted, linux, x64]", "self-hosted"][i]
    trigger = ["pull_request", "pull_request:\n    branches: [main]"][i]
    return wf(f"""
        on:
          {trigger.replace(chr(10), chr(10) + "          ")}
        permissions:
          contents: read
        jobs:
          build:
            runs-on: {runs_on}
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: make
    """)


def _insecure_commands(i: int) -> str:
    scope = ["env:\n  ACTIONS_ALLOW_UNSECURE_COMMANDS: true\n", ""][i]
    step_env = ["", "\n        env:\n          ACTIONS_ALLOW_UNSECURE_COMMANDS: 'true'"][i]
    return wf(f"""
        on: push
        permissions:
          contents: read
        {scope.replace(chr(10), chr(10) + "        ")}
        jobs:
          legacy:
            runs-on: ubuntu-latest
            steps:
              - run: echo "::add-path::/opt/tool/bin"{step_env}
    """)


def _github_env(i: int) -> str:
    trigger, ctx = [
        ("pull_request_target", "github.event.pull_request.head.ref"),
        ("workflow_run", "github.event.workflow_run.head_branch"),
    ][i]
    return wf(f"""
        on:
          {trigger}:
            {"types: [opened]" if i == 0 else "workflows: [ci]"}
        permissions:
          contents: read
        jobs:
          label:
            runs-on: ubuntu-latest
            steps:
              - env:
                  BRANCH: ${{{{ {ctx} }}}}
                run: echo "BRANCH=$BRANCH" >> "$GITHUB_ENV"
    """)


def _persisted_credentials(i: int) -> str:
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          site:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
              - run: make site
              - uses: actions/upload-artifact@{SHA2} # v4
                with:
                  name: {["site", "bundle"][i]}
                  path: .
    """)


def _hardcoded_credentials(i: int) -> str:
    if i == 0:
        return wf(f"""
            on: push
            permissions:
              contents: read
            jobs:
              build:
                runs-on: ubuntu-latest
                container:
                  image: registry.example.com/build@sha256:{"3" * 64}
                  credentials:
                    username: ci-bot
                    password: Hx9-qZ2v-Lm4w-Tt7p
                steps:
                  - run: make
        """)
    return wf("""
        on: push
        permissions:
          contents: read
        jobs:
          deploy:
            runs-on: ubuntu-latest
            env:
              DEPLOY_API_TOKEN: 9f8Kq2LmVx7Rt4Zp1Wn6
            steps:
              - run: ./deploy.sh
    """)


def _cache_poisoning(i: int) -> str:
    trigger = ["release:\n    types: [published]", "push:\n    tags: ['v*']"][i]
    cache = [
        f"actions/setup-node@{SHA2} # v4\n  with:\n    node-version: 20\n    cache: npm",
        f"actions/cache@{SHA2} # v4\n  with:\n    path: ~/.npm\n"
        "    key: npm-${{ hashFiles('package-lock.json') }}",
    ][i]
    return wf(f"""
        on:
          {trigger.replace(chr(10), chr(10) + "          ")}
        permissions:
          contents: read
          id-token: write
        jobs:
          publish:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: {cache.replace(chr(10), chr(10) + "              ")}
              - run: npm ci && npm publish --provenance
    """)


def _remote_script(i: int) -> str:
    run = [
        "curl -fsSL https://get.example.com/install.sh | sudo bash",
        "iex ((New-Object System.Net.WebClient).DownloadString('https://x.example/i.ps1'))",
    ][i]
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          tools:
            runs-on: {["ubuntu-latest", "windows-latest"][i]}
            steps:
              - run: {run}
    """)


def _insecure_fetch(i: int) -> str:
    run = [
        "curl -k -o tool.tgz https://artifacts.internal/tool.tgz",
        "pip install --trusted-host pypi.internal -r requirements.txt",
    ][i]
    return wf(f"""
        on: push
        permissions:
          contents: read
        jobs:
          fetch:
            runs-on: ubuntu-latest
            steps:
              - run: {run}
    """)


PLANTED: dict[str, Planted] = {
    "template-injection (run)": (
        "pipeline/template-injection",
        ("template-injection",),
        _template_injection_run,
    ),
    "template-injection (github-script)": (
        "pipeline/template-injection",
        ("template-injection",),
        _template_injection_script,
    ),
    "untrusted-checkout": (
        "pipeline/untrusted-checkout",
        ("dangerous-triggers",),
        _untrusted_checkout,
    ),
    "dangerous-trigger (workflow_run)": (
        "pipeline/dangerous-trigger",
        ("dangerous-triggers",),
        _dangerous_trigger,
    ),
    "unpinned-action": ("pipeline/unpinned-action", ("unpinned-uses",), _unpinned_action),
    "unpinned-image": ("pipeline/unpinned-image", ("unpinned-images",), _unpinned_image),
    "permissions: write-all (workflow)": (
        "pipeline/excessive-permissions",
        ("excessive-permissions",),
        _write_all,
    ),
    "no permissions anywhere": (
        "pipeline/excessive-permissions",
        ("excessive-permissions",),
        _no_permissions,
    ),
    "secrets: inherit": ("pipeline/secrets-inherit", ("secrets-inherit",), _secrets_inherit),
    "self-hosted runner on PRs": (
        "pipeline/self-hosted-runner",
        ("self-hosted-runner",),
        _self_hosted_pr,
    ),
    "insecure-commands": ("pipeline/insecure-commands", ("insecure-commands",), _insecure_commands),
    "GITHUB_ENV injection": ("pipeline/github-env-injection", ("github-env",), _github_env),
    "persisted credentials + artifact": (
        "pipeline/persisted-credentials",
        ("artipacked",),
        _persisted_credentials,
    ),
    "hardcoded credentials": (
        "pipeline/hardcoded-credentials",
        ("hardcoded-container-credentials",),
        _hardcoded_credentials,
    ),
    "cache-poisoning in a publisher": (
        "pipeline/cache-poisoning",
        ("cache-poisoning",),
        _cache_poisoning,
    ),
    "remote script (curl | sh, iex)": ("pipeline/remote-script", (), _remote_script),
    "insecure fetch (curl -k, --trusted-host)": ("pipeline/insecure-fetch", (), _insecure_fetch),
}

CLEAN = [
    wf(f"""
        name: ci
        on:
          pull_request:
          push:
            branches: [main]
        permissions:
          contents: read
        jobs:
          test:
            strategy:
              matrix:
                python: ["3.11", "3.12"]
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: actions/setup-python@{SHA2} # v5
                with:
                  python-version: ${{{{ matrix.python }}}}
              - run: |
                  python -m pip install -r requirements.txt
                  python -m pytest -q
    """),
    wf("""
        name: triage
        on:
          issues:
            types: [opened]
        permissions:
          issues: write
        jobs:
          label:
            runs-on: ubuntu-latest
            steps:
              - env:
                  TITLE: ${{ github.event.issue.title }}
                run: |
                  case "$TITLE" in
                    *crash*) echo "label=bug" >> "$GITHUB_OUTPUT" ;;
                  esac
    """),
    wf(f"""
        name: release
        on:
          push:
            tags: ["v*"]
        permissions:
          contents: read
        jobs:
          pypi:
            runs-on: ubuntu-latest
            environment: pypi
            permissions:
              id-token: write
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: actions/setup-python@{SHA2} # v5
                with:
                  python-version: "3.12"
              - run: python -m pip install build==1.2.1 && python -m build
              - uses: pypa/gh-action-pypi-publish@{SHA} # v1.9.0
    """),
    wf(f"""
        name: container
        on:
          push:
            branches: [main]
        permissions:
          contents: read
          packages: write
        jobs:
          image:
            runs-on: ubuntu-latest
            container:
              image: ghcr.io/acme/builder@sha256:{"a" * 64}
              credentials:
                username: ${{{{ github.actor }}}}
                password: ${{{{ secrets.GITHUB_TOKEN }}}}
            services:
              db:
                image: postgres@sha256:{"b" * 64}
                env:
                  POSTGRES_PASSWORD: postgres
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: make image
    """),
    wf(f"""
        name: deploy
        on:
          workflow_dispatch:
            inputs:
              target:
                type: choice
                options: [staging, production]
        permissions:
          contents: read
        jobs:
          deploy:
            uses: acme/platform/.github/workflows/deploy.yml@{SHA}
            with:
              target: ${{{{ inputs.target }}}}
            secrets:
              deploy-key: ${{{{ secrets.DEPLOY_KEY }}}}
    """),
    wf(f"""
        name: docs
        on:
          push:
            branches: [main]
        permissions:
          contents: read
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: make html
              - uses: actions/upload-pages-artifact@{SHA2} # v3
                with:
                  path: _build/html
          deploy:
            needs: build
            # the deploying job alone gets the Pages and OIDC scopes (the build job that runs
            # `make html` needs neither)
            permissions:
              pages: write
              id-token: write
            runs-on: ubuntu-latest
            steps:
              - uses: actions/deploy-pages@{SHA} # v4
    """),
    wf(f"""
        name: scheduled
        on:
          schedule:
            - cron: "17 4 * * 1"
        permissions: {{}}
        jobs:
          audit:
            runs-on: ubuntu-latest
            permissions:
              contents: read
              security-events: write
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: |
                  curl -fsSLo tool.tgz https://github.com/acme/tool/releases/download/v1/tool.tgz
                  echo "{"c" * 64}  tool.tgz" | sha256sum -c
                  tar xzf tool.tgz && ./tool scan
    """),
    wf(f"""
        name: lint
        on: [pull_request]
        permissions:
          contents: read
        jobs:
          lint:
            runs-on: ubuntu-latest
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: actions/setup-node@{SHA2} # v4
                with:
                  node-version: 20
                  cache: npm
              - run: npm ci && npm run lint
    """),
]


def generate(root: Path) -> tuple[dict[str, tuple[str, str, tuple[str, ...]]], list[str]]:
    """Write the workflows; return planted file -> (kind, rule, zizmor ids) and clean files."""
    wf_dir = root / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    planted: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for n, (kind, (rule, zizmor_ids, make)) in enumerate(PLANTED.items()):
        for i in range(2):
            rel = f".github/workflows/p{n:02d}-{i}.yml"
            (root / rel).write_text(make(i))
            planted[rel] = (kind, rule, zizmor_ids)
    clean = []
    for i, text in enumerate(CLEAN):
        rel = f".github/workflows/clean-{i}.yml"
        (root / rel).write_text(text)
        clean.append(rel)
    return planted, clean


def _timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    # NOTE: as an installed package runs: with its bytecode cache (a warm-up run writes it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 10, 11, 12, 13, 14):
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def run_gatekeeper(root: Path) -> tuple[float, list[tuple[str, str, str]]]:
    cmd = [
        sys.executable,
        "-m",
        "gatekeeper",
        "check",
        str(root),
        "--only",
        "pipeline",
        "--format",
        "json",
    ]
    elapsed, out = _timed(cmd, Path(__file__).resolve().parent.parent)
    report = json.loads(out)
    return elapsed, [(f["path"], f["rule"], f["severity"]) for f in report["findings"]]


def _in_process_times(root: Path, runs: int) -> list[float]:
    """Collect + audit without process start and imports (what a long-lived gate pays)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from gatekeeper.audit import AuditContext, run_audits
    from gatekeeper.collect.base import CollectContext
    from gatekeeper.collect.pipeline import PipelineCollector

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        evidence = PipelineCollector().collect(CollectContext(repo=root))
        run_audits({"pipeline": evidence}, AuditContext(repo=root))
        times.append(time.perf_counter() - start)
    return times


def run_zizmor(zizmor: str, root: Path, persona: str) -> tuple[float, list[tuple[str, str, str]]]:
    cmd = [zizmor, "--offline", "--no-progress", "--format", "json", "--persona", persona, "."]
    elapsed, out = _timed(cmd, root)
    results = []
    for finding in json.loads(out or "[]"):
        for loc in finding["locations"]:
            key = loc["symbolic"]["key"].get("Local", {})
            path = key.get("given_path") or key.get("verbatim_path") or ""
            results.append(
                (
                    os.path.normpath(path),
                    finding["ident"],
                    finding["determinations"]["severity"].lower(),
                )
            )
            break
    return elapsed, results


_RANK = {
    "informational": 0,
    "info": 0,
    "unknown": 0,
    "low": 1,
    "medium": 2,
    "high": 3,
    "critical": 4,
}


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--zizmor", default=shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    )
    args = parser.parse_args()
    if not Path(args.zizmor).exists():
        sys.exit("zizmor not found: .venv/bin/pip install zizmor")
    with tempfile.TemporaryDirectory(prefix="workflow-bench-") as tmp:
        root = Path(tmp)
        planted, clean = generate(root)
        gk_times, zz_times = [], []
        gk: list[tuple[str, str, str]] = []
        zz: list[tuple[str, str, str]] = []
        for _ in range(args.runs):
            t, gk = run_gatekeeper(root)
            gk_times.append(t)
            t, zz = run_zizmor(args.zizmor, root, "regular")
            zz_times.append(t)
        _, zz_auditor = run_zizmor(args.zizmor, root, "auditor")
        in_process = _in_process_times(root, args.runs)

    broken = sorted({p for p, rule, _ in gk if rule == "pipeline/parse-error"})
    if broken:
        sys.exit(f"generator bug: workflows that do not parse: {broken}")

    def caught(results: list[tuple[str, str, str]], path: str, ids: tuple[str, ...]) -> bool:
        return any(p == path and rule in ids for p, rule, _ in results)

    total = len(planted) + len(clean)
    print(
        f"{total} workflows: {len(planted)} with one planted problem each "
        f"({len(PLANTED)} kinds x 2), {len(clean)} clean\n"
    )
    header = f"{'problem kind':44} {'gatekeeper':>10} {'zizmor':>8} {'zizmor auditor':>15}"
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0]
    for kind, (rule, zizmor_ids, _) in PLANTED.items():
        files = [p for p, (k, _, _) in planted.items() if k == kind]
        g = sum(caught(gk, p, (rule,)) for p in files)
        z = sum(caught(zz, p, zizmor_ids) for p in files) if zizmor_ids else 0
        za = sum(caught(zz_auditor, p, zizmor_ids) for p in files) if zizmor_ids else 0
        totals = [totals[0] + g, totals[1] + z, totals[2] + za]
        zcol = f"{z}/{len(files)}" if zizmor_ids else "n/a"
        zacol = f"{za}/{len(files)}" if zizmor_ids else "n/a"
        print(f"{kind:44} {g}/{len(files):<8} {zcol:>8} {zacol:>15}")
    n = len(planted)
    print(f"{'total caught':44} {totals[0]}/{n:<8} {totals[1]:>4}/{n} {totals[2]:>11}/{n}")
    print(
        "(zizmor n/a: no zizmor audit for that kind; untrusted-checkout counts zizmor's "
        "dangerous-triggers)\n"
    )

    def noisy(results: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        return [r for r in results if r[0] in clean and _RANK.get(r[2], 0) >= 2]

    print(
        f"findings >= medium on the {len(clean)} clean workflows: "
        f"gatekeeper {len(noisy(gk))}, zizmor {len(noisy(zz))}, "
        f"zizmor auditor {len(noisy(zz_auditor))}"
    )
    for label, results in (("gatekeeper", gk), ("zizmor", zz), ("zizmor auditor", zz_auditor)):
        for path, rule, severity in sorted(noisy(results)):
            print(f"  {label}: {path} {rule} ({severity})")
    gk_med, zz_med = statistics.median(gk_times), statistics.median(zz_times)
    print(
        f"\nwall time, median of {args.runs} (whole tree, process start included): "
        f"gatekeeper {gk_med * 1000:.0f} ms, zizmor {zz_med * 1000:.0f} ms "
        f"(ratio gatekeeper/zizmor {gk_med / zz_med:.1f}x)"
    )
    print(
        f"gatekeeper collect + audit in process (no interpreter start or imports): "
        f"{statistics.median(in_process) * 1000:.0f} ms"
    )
    missed = n - totals[0]
    ok = missed == 0 and not noisy(gk)
    print(
        "target (every planted problem caught, nothing >= medium on clean): "
        + ("MET" if ok else f"NOT MET ({missed} missed, {len(noisy(gk))} noisy)")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
