"""Secret scanning benchmark: gatekeeper vs ``detect-secrets scan``.

Generates a ~50 MB corpus of config files (YAML, INI, .env, JSON, shell, Python) in a temp
dir with 100 planted fake credentials of known formats and realistic decoys (commit
hashes, UUIDs, base64 of ordinary text, lockfile integrity hashes, placeholders such as
``changeme``, ``${VAR}``, ``${{ secrets.X }}``, ``<your-api-key>``). All 100 credentials
sit in the first ~5 MB share of the files, which is what detect-secrets scans (it is slow);
gatekeeper scans the whole corpus. Prints throughput (MB/s), recall (/100) and false hits
(reported lines that are no planted credential) for both, and the throughput ratio by wall
time and by CPU time (detect-secrets runs on several cores; on a shared machine the CPU time
is the steadier comparison).

    .venv/bin/pip install detect-secrets        # the `bench` extra
    .venv/bin/python bench/secrets_bench.py [--mb 50] [--share-mb 5] [--runs 3]

Targets: gatekeeper >= 10x detect-secrets' throughput, recall >= 95/100, false hits <= 50.
"""

# ruff: noqa: E501  (seeded fake data, our own tools as subprocesses, data lines)
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
WORDS = (
    "service alpha beta gamma delta cache queue worker api gateway billing search "
    "users orders payments ledger inventory report metrics audit session profile "
    "catalog review shipping notify export import batch stream index"
).split()
SENTENCES = (
    "The quick brown fox jumps over the lazy dog",
    "Configuration for the staging environment only",
    "This value is encoded for transport not for secrecy",
    "Release notes for the next minor version of the service",
    "Default settings shared by every worker in the pool",
)


class Corpus:
    def __init__(self, root: Path, seed: int = 7) -> None:
        self.root = root
        self.rng = random.Random(seed)
        # path -> {line: credential id}; credential id -> kind
        self.planted: dict[str, dict[int, int]] = {}
        self.kinds: dict[int, str] = {}

    # --- random helpers ---------------------------------------------------------------
    def s(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hexs(self, n: int) -> str:
        return self.s(n, "0123456789abcdef")

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def password(self, n: int = 20) -> str:
        while True:
            value = self.s(n, ALNUM + "!#%^*")
            if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
                return value

    # --- decoys and filler --------------------------------------------------------------
    def decoy(self, style: str) -> str:
        r = self.rng.randrange(22)
        w = self.word()
        if style == "env":
            options = [
                f"{w.upper()}_HOST={w}.internal",
                f"{w.upper()}_PORT={self.rng.randrange(1024, 65535)}",
                f"GIT_SHA={self.hexs(40)}",
                f"SESSION_ID={uuid.UUID(int=self.rng.getrandbits(128))}",
                "API_TOKEN=changeme",
                "DB_PASSWORD=${DB_PASSWORD}",
                f"LOG_LEVEL={w}",
                "SECRET_KEY=<your-secret-key>",
                f"BUILD_ID={self.rng.randrange(10**6)}",
                f"{w.upper()}_PASSWORD_FILE=/run/secrets/{w}",
                "AUTH_TOKEN=xxxxxxxxxxxxxxxx",
                f"CHECKSUM={self.hexs(64)}",
                f"FEATURE_{w.upper()}=true",
            ]
        elif style == "ini":
            options = [
                f"host = {w}{self.rng.randrange(9)}.internal",
                f"port = {self.rng.randrange(1, 9999)}",
                "password = ${DB_PASSWORD}",
                "token = changeme",
                f"revision = {self.hexs(40)}",
                f"id = {uuid.UUID(int=self.rng.getrandbits(128))}",
                f"name = {w}-{self.word()}",
                f"banner = {base64.b64encode(self.rng.choice(SENTENCES).encode()).decode()}",
                "api_key = <your-api-key>",
                f"timeout = {self.rng.randrange(1, 120)}",
                f"password_hash = {self.hexs(64)}",
                f"url = https://{w}.example.org/v1",
            ]
        elif style == "json":
            options = [
                f'"integrity": "sha512-{base64.b64encode(self.rng.randbytes(64)).decode()}",',
                f'"resolved": "https://registry.npmjs.org/{w}/-/{w}-1.{r}.0.tgz",',
                f'"version": "1.{r}.{self.rng.randrange(30)}",',
                f'"id": "{uuid.UUID(int=self.rng.getrandbits(128))}",',
                f'"commit": "{self.hexs(40)}",',
                '"token": "${NPM_TOKEN}",',
                f'"description": "{self.rng.choice(SENTENCES)}",',
                '"password": "changeme",',
                f'"data": "{base64.b64encode(self.rng.choice(SENTENCES).encode()).decode()}",',
                f'"{w}": {{"enabled": true, "replicas": {r}}},',
            ]
        elif style == "sh":
            options = [
                f"git checkout {self.hexs(40)}",
                f"export {w.upper()}_DIR=/opt/{w}",
                'curl -fsS -H "Authorization: Bearer ${TOKEN}" https://api.example.org/v1/status',
                f"echo building {w} {self.rng.randrange(100)}",
                f"docker pull ghcr.io/acme/{w}@sha256:{self.hexs(64)}",
                'export GITHUB_TOKEN="${{ secrets.GITHUB_TOKEN }}"',
                f"cd /srv/{w} && make {self.word()}",
                f"sha256sum --check {w}.sha256",
                f"REQUEST_ID={uuid.UUID(int=self.rng.getrandbits(128))}",
            ]
        elif style == "py":
            options = [
                f"def {w}_{self.word()}(x):",
                f"    return x + {r}",
                f'CACHE_KEY = "{self.hexs(32)}"',
                f'COMMIT = "{self.hexs(40)}"',
                'PASSWORD = os.environ["PASSWORD"]',
                f'{w.upper()}_ID = "{uuid.UUID(int=self.rng.getrandbits(128))}"',
                'password = request.form["password"]',
                f"# {self.rng.choice(SENTENCES)}",
                "api_key = settings.API_KEY",
                f'TEXT = "{base64.b64encode(self.rng.choice(SENTENCES).encode()).decode()}"',
            ]
        else:  # yaml
            options = [
                f"  name: {w}-{self.word()}",
                f"  replicas: {r}",
                f"  image: ghcr.io/acme/{w}:1.{r}",
                f"  commit: {self.hexs(40)}",
                f"  checksum: sha256:{self.hexs(64)}",
                f"  id: {uuid.UUID(int=self.rng.getrandbits(128))}",
                f"  description_b64: {base64.b64encode(self.rng.choice(SENTENCES).encode()).decode()}",
                "  password: changeme",
                "  token: ${API_TOKEN}",
                '  api_key: "<your-api-key>"',
                "  secret: ${{ secrets.DEPLOY_KEY }}",
                "  password: xxxxxxxx",
                '  db_password: "{{ vault_db_password }}"',
                f"  url: https://{w}.example.org/api",
                f"  timeout: {r}s",
                "  log_level: info",
                f"  token_url: https://auth.example.org/{w}/token",
            ]
        return self.rng.choice(options)

    # --- planted credentials ------------------------------------------------------------
    def credential(self, kind: str, style: str) -> list[str]:
        eq = {"yaml": ": ", "ini": " = ", "env": "=", "json": '": "', "sh": "=", "py": " = "}[style]
        pre = {"yaml": "  ", "json": '  "'}.get(style, "")
        post = '",' if style == "json" else ""

        def assign(name: str, value: str) -> str:
            if style == "py":
                return f'{name} = "{value}"'
            return f"{pre}{name}{eq}{value}{post}"

        if kind == "aws":
            key_id = "AKIA" + self.s(16, string.ascii_uppercase + "234567")
            secret = self.s(40, ALNUM + "/+")
            while not (
                any(c.isdigit() for c in secret)
                and any(c.isupper() for c in secret)
                and any(c.islower() for c in secret)
            ):
                secret = self.s(40, ALNUM + "/+")
            return [assign("aws_access_key_id", key_id), assign("aws_secret_access_key", secret)]
        if kind == "github":
            return [assign("github_token", self.rng.choice(["ghp_", "gho_", "ghs_"]) + self.s(36))]
        if kind == "gitlab":
            return [assign("gitlab_token", "glpat-" + self.s(20, ALNUM + "-_"))]
        if kind == "slack":
            if self.rng.random() < 0.5:
                return [
                    assign(
                        "slack_token",
                        "xoxb-"
                        + self.s(12, string.digits)
                        + "-"
                        + self.s(12, string.digits)
                        + "-"
                        + self.s(24),
                    )
                ]
            return [
                assign(
                    "slack_webhook",
                    "https://hooks.slack.com/services/T"
                    + self.s(8, string.ascii_uppercase)
                    + "/B"
                    + self.s(8, string.ascii_uppercase)
                    + "/"
                    + self.s(24),
                )
            ]
        if kind == "npm":
            return [assign("npm_token", "npm_" + self.s(36))]
        if kind == "pypi":
            return [assign("pypi_token", "pypi-AgEIcHlwaS5vcmc" + self.s(120, ALNUM + "-_"))]
        if kind == "stripe":
            return [assign("stripe_key", "sk_" + "live_" + self.s(24))]
        if kind == "google":
            return [assign("maps_api_key", "AIza" + self.s(35, ALNUM + "-_"))]
        if kind == "private-key":
            body = [self.s(64, ALNUM + "+/") for _ in range(8)]
            return [
                "-----BEGIN RSA PRIVATE KEY-----",
                *body,
                self.s(24, ALNUM + "+/") + "==",
                "-----END RSA PRIVATE KEY-----",
            ]
        if kind == "url":
            return [
                assign(
                    "database_url",
                    f"postgres://app:{self.password(16).replace('%', 'x').replace('#', 'y')}"
                    f"@db{self.rng.randrange(9)}.internal:5432/app",
                )
            ]
        if kind == "docker":
            auth = base64.b64encode(f"robot:{self.password()}".encode()).decode()
            return [f'{{"auths": {{"registry.acme.io": {{"auth": "{auth}"}}}}}}']
        # high-entropy password in YAML / INI / .env
        name = self.rng.choice(
            [
                "password",
                "db_password",
                "secret_key",
                "client_secret",
                "api_key",
                "auth_token",
                "admin_password",
            ]
        )
        if style == "env":
            name = name.upper()
        return [assign(name, self.password(self.rng.randrange(16, 33)))]

    PLAN = (
        ["aws"] * 10
        + ["github"] * 10
        + ["gitlab"] * 8
        + ["slack"] * 8
        + ["npm"] * 8
        + ["pypi"] * 6
        + ["stripe"] * 6
        + ["google"] * 6
        + ["private-key"] * 8
        + ["url"] * 6
        + ["docker"] * 4
        + ["password"] * 20
    )

    def generate(self, total_mb: float, share_mb: float) -> tuple[int, int]:
        """Write the corpus; return (total bytes, share bytes). Share = files planted first."""
        styles = ("yaml", "ini", "env", "json", "sh", "py")
        ext = {
            "yaml": "config.yaml",
            "ini": "settings.ini",
            "env": ".env",
            "json": "package-lock.json",
            "sh": "deploy.sh",
            "py": "settings.py",
        }
        file_size = 24 * 1024
        n_share = max(len(self.PLAN), int(share_mb * 1024 * 1024 / file_size))
        n_total = max(n_share, int(total_mb * 1024 * 1024 / file_size))
        plan = list(self.PLAN)
        self.rng.shuffle(plan)
        slots = sorted(self.rng.sample(range(n_share), len(plan)))
        plant_at = dict(zip(slots, plan, strict=True))
        total = share = 0
        for i in range(n_total):
            style = styles[i % len(styles)]
            kind = plant_at.get(i)
            if kind == "docker":
                style = "json"
            if kind == "password" and style not in ("yaml", "ini", "env"):
                style = "yaml"  # high-entropy passwords go into YAML / INI / .env files
            name = ext[style]
            if kind and name == "package-lock.json":
                name = (
                    "settings.json"  # credentials do not live in lockfiles (both tools skip them)
                )
            rel = f"{'share' if i < n_share else 'rest'}/svc{i:05d}/{name}"
            if kind == "docker":
                rel = f"share/svc{i:05d}/.docker/config.json"
            lines: list[str] = ["{"] if style == "json" else (["app:"] if style == "yaml" else [])
            size = 0
            plant_line = self.rng.randrange(20, 200) if kind else -1
            if kind == "docker":  # a Docker config file is just its JSON
                plant_line = 0
                lines = []
            while size < file_size and not (kind == "docker" and lines):
                if len(lines) == plant_line and kind:
                    cred_id = len(self.kinds)
                    self.kinds[cred_id] = kind
                    block = self.credential(kind, style)
                    marks = self.planted.setdefault(rel, {})
                    for j, text in enumerate(block):
                        marks[len(lines) + 1 + j] = cred_id
                        del text
                    lines.extend(block)
                    size += sum(len(x) + 1 for x in block)
                    continue
                line = self.decoy(style)
                lines.append(line)
                size += len(line) + 1
            if style == "json" and kind != "docker":
                lines.append('"end": true}')
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            data = ("\n".join(lines) + "\n").encode()
            path.write_bytes(data)
            total += len(data)
            if i < n_share:
                share += len(data)
        return total, share


def score(corpus: Corpus, reported: set[tuple[str, int]]) -> tuple[int, int]:
    """(credentials found, false hits) for a set of reported (path, line) under the corpus."""
    found: set[int] = set()
    false_hits = 0
    for path, line in reported:
        cred = corpus.planted.get(path, {}).get(line)
        if cred is None:
            false_hits += 1
        else:
            found.add(cred)
    return len(found), false_hits


def per_kind(corpus: Corpus, reported: set[tuple[str, int]]) -> str:
    found_ids = {corpus.planted[p][ln] for p, ln in reported if ln in corpus.planted.get(p, {})}
    by_kind: dict[str, list[int]] = {}
    for cred, kind in corpus.kinds.items():
        by_kind.setdefault(kind, [0, 0])[0] += 1
        by_kind[kind][1] += cred in found_ids
    return ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(by_kind.items()))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_gatekeeper(root: Path) -> tuple[float, float, set[tuple[str, int]], int]:
    """(wall seconds, CPU seconds, reported (path, line), hits of obvious placeholders).

    A hit whose value is an obvious placeholder (``changeme``, ``<your-api-key>``) is
    recorded in the evidence and reported at info; it is not counted as reported here, the
    same as a line detect-secrets does not report.
    """
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "collect", "secrets", str(root)],
        capture_output=True,
        check=True,
    )
    elapsed, cpu = time.perf_counter() - start, _child_cpu() - cpu
    hits = json.loads(proc.stdout)["hits"]
    reported = {(h["path"], h["line"]) for h in hits if h.get("shape") != "placeholder"}
    return elapsed, cpu, reported, sum(h.get("shape") == "placeholder" for h in hits)


def run_detect_secrets(root: Path) -> tuple[float, float, set[tuple[str, int]]]:
    exe = shutil.which("detect-secrets", path=str(Path(sys.executable).parent)) or "detect-secrets"
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run(
        [exe, "scan", "--all-files", "."], cwd=root, capture_output=True, check=True
    )
    elapsed, cpu = time.perf_counter() - start, _child_cpu() - cpu
    results = json.loads(proc.stdout)["results"]
    found = {(path, r["line_number"]) for path, items in results.items() for r in items}
    return elapsed, cpu, found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size for gatekeeper")
    parser.add_argument(
        "--share-mb", type=float, default=5.0, help="share scanned by detect-secrets"
    )
    parser.add_argument("--runs", type=int, default=3, help="gatekeeper runs (median)")
    parser.add_argument("--ds-runs", type=int, default=1, help="detect-secrets runs (median)")
    parser.add_argument("--skip-detect-secrets", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-secrets-bench-") as tmp:
        root = Path(tmp) / "corpus"
        corpus = Corpus(root)
        t0 = time.perf_counter()
        total, share = corpus.generate(args.mb, args.share_mb)
        print(
            f"corpus: {total / 1e6:.1f} MB in {sum(1 for _ in root.rglob('*') if _.is_file())} files "
            f"({time.perf_counter() - t0:.1f}s to generate); share: {share / 1e6:.1f} MB; "
            f"planted credentials: {len(corpus.kinds)}"
        )
        digest = hashlib.sha256(json.dumps(sorted(corpus.kinds.items())).encode()).hexdigest()[:12]
        print(f"plan digest: {digest}")

        times, cpus, reported, placeholders = [], [], set(), 0
        for _ in range(args.runs):
            elapsed, cpu, reported, placeholders = run_gatekeeper(root)
            times.append(elapsed)
            cpus.append(cpu)
        gk_time, gk_cpu = statistics.median(times), statistics.median(cpus)
        gk_found, gk_false = score(corpus, reported)
        gk_rate = total / 1e6 / gk_time
        print(
            f"gatekeeper     : {total / 1e6:6.1f} MB  median {gk_time:7.2f}s  "
            f"{gk_rate:7.2f} MB/s  recall {gk_found}/100  false hits {gk_false}  "
            f"(CPU {gk_cpu:.2f}s, {total / 1e6 / gk_cpu:.2f} MB/s)"
        )
        print("  per kind (found/planted): " + per_kind(corpus, reported))
        print(f"  placeholder decoys recorded at info (not counted): {placeholders}")
        if args.skip_detect_secrets:
            return 0
        share_root = root / "share"
        ds_times, ds_cpus, ds_reported = [], [], set()
        for _ in range(args.ds_runs):
            elapsed, cpu, ds_reported = run_detect_secrets(share_root)
            ds_times.append(elapsed)
            ds_cpus.append(cpu)
        ds_time, ds_cpu = statistics.median(ds_times), statistics.median(ds_cpus)
        ds_found, ds_false = score(corpus, {(f"share/{p}", ln) for p, ln in ds_reported})
        ds_rate = share / 1e6 / ds_time
        print(
            f"detect-secrets : {share / 1e6:6.1f} MB  median {ds_time:7.2f}s  "
            f"{ds_rate:7.2f} MB/s  recall {ds_found}/100  false hits {ds_false}  "
            f"(CPU {ds_cpu:.2f}s, {share / 1e6 / ds_cpu:.2f} MB/s)"
        )
        print(
            "  per kind (found/planted): "
            + per_kind(corpus, {(f"share/{p}", ln) for p, ln in ds_reported})
        )
        ratio = gk_rate / ds_rate
        cpu_ratio = (total / gk_cpu) / (share / ds_cpu)
        print(
            f"throughput ratio gatekeeper/detect-secrets: {ratio:.1f}x (target >= 10x); "
            f"by CPU time {cpu_ratio:.1f}x (the fairer figure on a shared machine)"
        )
        ok = ratio >= 10 and gk_found >= 95 and gk_false <= 50
        print(f"targets: {'MET' if ok else 'NOT MET'} (recall >= 95/100, false hits <= 50)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
