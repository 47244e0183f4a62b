"""Secret detection recall and false hits on gitleaks' own rule examples, with detect-secrets.

gitleaks' rule generators (``cmd/generate/config/rules/*.go`` in a gitleaks clone) hold a
list of true-positive strings (``tps``) and false-positive strings (``fps``) for every rule,
many of them built at run time: ``utils.GenerateSampleSecrets(id, secrets.NewSecret(re))``
writes a random value matching ``re`` into some 30 assignment forms (INI, JSON, XML, YAML,
C#, Go, Java, Kotlin, PHP, Python, Makefile, logstash, ``System.setProperty``). This script
reads those Go files with a small evaluator of the expressions they use (string literals,
``+``, ``fmt.Sprintf``, ``append``, ``[]string{…}``, ``map[string]string{…}``, the pattern
helpers of ``utils``), generates the random values from the regular expressions itself
(seeded), writes each example into a file of a plausible type (``.go`` for ``x := "…"``,
``Makefile`` for ``X ?= …``, ``.xml`` for an element, ``.yaml``, ``.json``, ``.php``, …; a
``ValidateWithPaths`` example under its own path), and runs

- ``gatekeeper collect secrets`` over the corpus (one process), and
- ``detect-secrets scan --all-files`` over the same corpus (from a virtualenv of its own).

Recall counts a true-positive example as found when a tool reports anything in its file;
for gatekeeper also "found above info" (a hit whose value is not an obvious stand-in).
A false hit is a false-positive example with a gatekeeper hit that is not a stand-in
(reported at info, "an obvious placeholder"); those are listed with the rule and the
redacted value, so each can be read. "Covered" rules are the ones whose vendor or form
gatekeeper has a detector for (``COVERED`` below).

    python3 -m venv /tmp/ds && /tmp/ds/bin/pip install detect-secrets
    .venv/bin/python bench/secrets_recall.py --gitleaks PATH/TO/gitleaks \\
        --detect-secrets /tmp/ds/bin/detect-secrets [--runs 1] [--keep DIR]

Targets: recall >= 97 % on covered rules, >= 90 % on all rules, real false hits <= 2 %,
gatekeeper >= 30x faster than detect-secrets on the same corpus.
"""

# ruff: noqa: E501  (data lines)
from __future__ import annotations

import argparse
import collections
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _bytecode import compile_gatekeeper

try:  # Python 3.11+
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

RULES_DIR = "cmd/generate/config/rules"
GENERATE_GO = "cmd/generate/config/utils/generate.go"

# gitleaks rule ids whose vendor (or form) gatekeeper has a detector for; the rest count in
# "all rules" only. A rule id matches when it starts with one of these.
COVERED = (
    "1password",
    "adafruit",
    "adobe",
    "age-secret-key",
    "airtable",
    "alibaba",
    "anthropic",
    "artifactory",
    "asana",
    "atlassian",
    "authress",
    "aws",
    "azure-ad-client-secret",
    "beamer",
    "bitbucket",
    "clojars",
    "cloudflare",
    "codecov",
    "cohere",
    "confluent",
    "curl",
    "databricks",
    "datadog",
    "defined-networking",
    "digitalocean",
    "discord",
    "doppler",
    "dropbox",
    "duffel",
    "dynatrace",
    "easypost",
    "flutterwave",
    "frameio",
    "gcp-api-key",
    "github",
    "gitlab",
    "grafana",
    "harness",
    "hashicorp",
    "heroku",
    "huggingface",
    "infracost",
    "intra42",
    "jwt",
    "kubernetes-secret",
    "linear",
    "mailchimp",
    "mailgun",
    "mapbox",
    "new-relic",
    "npm",
    "nuget-config",
    "octopus",
    "openai",
    "planetscale",
    "postman",
    "prefect",
    "private-key",
    "pulumi",
    "pypi",
    "readme",
    "rubygems",
    "scalingo",
    "sendgrid",
    "sendinblue",
    "settlemint",
    "shippo",
    "shopify",
    "slack",
    "sourcegraph",
    "square",
    "stripe",
    "telegram",
    "twilio",
    "typeform",
    "vault",
    "perplexity",
    "etsy",
    "fly",
    "generic-api-key",
    "sidekiq",
    "okta",
    "gcp",
    "facebook",
    "sumologic",
    "lob",
    "maxmind",
    "nytimes",
    "travisci",
    "yandex",
    "zendesk",
    "dockerconfig",
    "notion",
    "looker",
    "freemius",
    "openshift",
    "snyk",
    "sentry",
)


# --- a regular expression's random sample ----------------------------------------------------

_CLASS = {
    sre_parse.CATEGORY_DIGIT: "0123456789",
    sre_parse.CATEGORY_WORD: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    sre_parse.CATEGORY_SPACE: " ",
}
_PRINTABLE = [chr(c) for c in range(33, 127)]
_POSIX = {
    "[:alnum:]": "a-zA-Z0-9",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:xdigit:]": "0-9a-fA-F",
    "[:space:]": r"\s",
    "[:punct:]": r"!-/:-@\[-`{-~",
}


def _class_chars(items: list[Any]) -> list[str]:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is sre_parse.NEGATE:
            negate = True
        elif op is sre_parse.LITERAL:
            chars.add(chr(av))
        elif op is sre_parse.RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre_parse.CATEGORY:
            chars.update(_CLASS.get(av, ""))
    if negate:
        return [c for c in _PRINTABLE if c not in chars] or ["#"]
    return sorted(chars) or ["a"]


def _emit(tree: Any, rng: random.Random, out: list[str]) -> None:
    for op, av in tree:
        if op is sre_parse.LITERAL:
            out.append(chr(av))
        elif op is sre_parse.NOT_LITERAL:
            out.append(rng.choice([c for c in _PRINTABLE if ord(c) != av]))
        elif op is sre_parse.ANY:
            out.append(rng.choice(_PRINTABLE))
        elif op is sre_parse.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op is sre_parse.BRANCH:
            _emit(rng.choice(av[1]), rng, out)
        elif op is sre_parse.SUBPATTERN:
            _emit(av[-1], rng, out)
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            lo, hi, sub = av
            hi = lo + 8 if hi is sre_parse.MAXREPEAT else hi
            for _ in range(rng.randint(lo, hi)):
                _emit(sub, rng, out)
        elif op is sre_parse.CATEGORY:
            out.append(rng.choice(_CLASS.get(av, "a")))
        # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF: nothing to write


def sample(pattern: str, rng: random.Random) -> str:
    """A random string matching ``pattern`` (Go RE2 syntax, as gitleaks writes it)."""
    for posix, plain in _POSIX.items():
        pattern = pattern.replace(posix, plain)
    pattern = pattern.replace(r"\z", r"\Z")
    out: list[str] = []
    _emit(sre_parse.parse(pattern), rng, out)
    return "".join(out)


# --- an evaluator of the Go expressions the rule files use -----------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<raw>`[^`]*`)
    |(?P<str>"(?:\\.|[^"\\\n])*")|(?P<num>\d+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>\.\.\.|:=|[-+*/%(){}\[\],:;=.!<>&|^])""",
    re.VERBOSE | re.DOTALL,
)


class Unsupported(Exception):
    pass


def tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            out.append(("op", src[pos]))
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup or ""
        if kind in ("ws", "comment"):
            continue
        out.append((kind, m.group()))
    return out


def _go_string(tok: tuple[str, str]) -> str:
    kind, text = tok
    if kind == "raw":
        return text[1:-1]
    return (
        str(json.loads(text.replace("\\x60", "`").replace("\\'", "'")))
        if "\\x" not in text
        else bytes(text[1:-1], "utf-8").decode("unicode_escape")
    )


_HELPERS = {
    "utils.Numeric": "[0-9]{%s}",
    "utils.Hex": "[a-f0-9]{%s}",
    "utils.AlphaNumeric": "[a-z0-9]{%s}",
    "utils.AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
    "utils.AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
    "utils.AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}",
}


class Evaluator:
    def __init__(self, toks: list[tuple[str, str]], env: dict[str, Any], ctx: Context) -> None:
        self.toks = toks
        self.pos = 0
        self.env = env
        self.ctx = ctx

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("eof", "")

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if text is not None and tok[1] != text:
            raise Unsupported(f"expected {text}, got {tok[1]}")
        self.pos += 1
        return tok

    def skip_nl(self) -> None:
        while self.peek()[0] == "nl":
            self.pos += 1

    def expr(self) -> Any:
        value = self.primary()
        while self.peek()[1] == "+":
            self.take()
            self.skip_nl()
            right = self.primary()
            if not (isinstance(value, str) and isinstance(right, str)):
                raise Unsupported("+ of non-strings")
            value = value + right
        return value

    def args(self) -> list[Any]:
        self.take("(")
        out: list[Any] = []
        self.skip_nl()
        while self.peek()[1] != ")":
            value = self.expr()
            if self.peek()[1] == "...":
                self.take()
                out.extend(value)
            else:
                out.append(value)
            self.skip_nl()
            if self.peek()[1] == ",":
                self.take()
            self.skip_nl()
        self.take(")")
        return out

    def composite(self, is_map: bool) -> Any:
        self.take("{")
        items: list[Any] = []
        mapping: dict[str, str] = {}
        self.skip_nl()
        while self.peek()[1] != "}":
            value = self.expr()
            self.skip_nl()
            if is_map:
                self.take(":")
                self.skip_nl()
                mapping[value] = self.expr()
            else:
                items.append(value)
            self.skip_nl()
            if self.peek()[1] == ",":
                self.take()
            self.skip_nl()
        self.take("}")
        return mapping if is_map else items

    def primary(self) -> Any:
        kind, text = self.take()
        if kind in ("str", "raw"):
            return _go_string((kind, text))
        if text == "[":
            self.take("]")
            self.take("string")
            return self.composite(False)
        if text == "map":
            for part in ("[", "string", "]", "string"):
                self.take(part)
            return self.composite(True)
        if kind == "ident":
            if self.peek()[1] == "(":
                return self.call(text, self.args())
            if text == "nil":
                return []
            if text in self.env:
                return self.env[text]
            raise Unsupported(f"unknown name {text}")
        raise Unsupported(f"unexpected {text}")

    def call(self, name: str, args: list[Any]) -> Any:
        if name in _HELPERS:
            return _HELPERS[name] % args[0]
        if name == "utils.Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name == "secrets.NewSecret":
            return sample(args[0], self.ctx.rng)
        if name == "utils.GenerateSampleSecrets":
            return self.ctx.samples(args[0], args[1])
        if name == "utils.GenerateSampleSecret":
            return f'{args[0]}_api_token = "{args[1]}"'
        if name == "append":
            return [*args[0], *args[1:]]
        if name == "fmt.Sprintf":
            fmt_, rest = args[0], list(args[1:])
            return re.sub(r"%[sdv]", lambda _: str(rest.pop(0)), fmt_)
        if name == "strings.Repeat":
            return args[0] * int(args[1])
        if name in ("utils.Validate", "utils.ValidateWithPaths"):
            return ("validate", args[1], args[2])
        raise Unsupported(f"call {name}")


class Context:
    def __init__(self, templates: list[tuple[str, str]], seed: int) -> None:
        self.templates = templates
        self.rng = random.Random(seed)

    def samples(self, identifier: str, secret: str) -> list[str]:
        return [
            t.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret)
            for _, t in self.templates
        ]


def sample_templates(generate_go: str) -> list[tuple[str, str]]:
    """The assignment forms of ``GenerateSampleSecrets`` (its map literal, comments skipped)."""
    body = generate_go.split("samples := map[string]string{", 1)[1].split("\n\t}\n", 1)[0]
    ev = Evaluator(tokens("{" + body + "\n}"), {}, Context([], 0))
    forms = ev.composite(True)
    return sorted(forms.items())


def rule_examples(src: str, ctx: Context) -> list[tuple[str, list[Any], list[Any]]]:
    """(rule id, true positives, false positives) of every rule function in a Go file."""
    out = []
    for fn in re.finditer(
        r"\nfunc [A-Za-z0-9_]+\(\) \*config\.Rule \{\n(.*?)\n\}\n", src, re.DOTALL
    ):
        body = fn.group(1)
        rid = re.search(r'RuleID:\s*"([^"]+)"', body)
        if rid is None:
            continue
        env: dict[str, Any] = {"tps": [], "fps": [], "r": None}
        result = None
        toks = tokens(body)
        # statements: split at newlines outside brackets (and not after a binary `+` or `,`)
        stmts: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for tok in toks:
            if tok[1] in "([{" and tok[0] == "op":
                depth += 1
            elif tok[1] in ")]}" and tok[0] == "op":
                depth -= 1
            if tok[0] == "nl" and depth == 0 and not stmts[-1]:
                continue
            if tok[0] == "nl" and depth == 0 and stmts[-1][-1][1] not in ("+", ","):
                stmts.append([])
            else:
                stmts[-1].append(tok)
        # `var ( a = …; b = … )` blocks: one statement per line inside
        flat: list[list[tuple[str, str]]] = []
        for stmt in stmts:
            if len(stmt) > 2 and stmt[0][1] == "var" and stmt[1][1] == "(":
                inner: list[list[tuple[str, str]]] = [[]]
                level = 0
                for tok in stmt[2:-1]:
                    if tok[0] == "op" and tok[1] in "([{":
                        level += 1
                    elif tok[0] == "op" and tok[1] in ")]}":
                        level -= 1
                    if (
                        tok[0] == "nl"
                        and level == 0
                        and inner[-1]
                        and inner[-1][-1][1] not in ("+", ",")
                    ):
                        inner.append([])
                    elif tok[0] != "nl" or level > 0:
                        inner[-1].append(tok)
                flat.extend(i for i in inner if i)
            else:
                flat.append(stmt)
        for stmt in flat:
            try:
                if len(stmt) > 2 and stmt[0][0] == "ident" and stmt[1][1] in (":=", "="):
                    env[stmt[0][1]] = Evaluator(stmt[2:], env, ctx).expr()
                elif stmt and stmt[0][1] == "var" and len(stmt) > 3 and stmt[2][1] == "=":
                    env[stmt[1][1]] = Evaluator(stmt[3:], env, ctx).expr()
                elif stmt and stmt[0][1] == "return":
                    value = Evaluator(stmt[1:], env, ctx).expr()
                    if isinstance(value, tuple):
                        result = value
            except (Unsupported, IndexError, KeyError, TypeError, ValueError, re.error) as exc:
                env.setdefault("_errors", []).append(str(exc))
        if result is not None:
            out.append((rid.group(1), result[1], result[2]))
    return out


# --- files of a plausible type ---------------------------------------------------------------


def file_name(example: str) -> str:
    """A file name whose type fits how the example is written."""
    s = example.strip()
    if re.match(r"^[\w.-]+\s*(?:\?=|::?=|:::=)\s*\"", s) and re.match(r"^[A-Z0-9_]+\s", s):
        return "Makefile"
    if s.startswith("<") or re.search(r"</[\w.:-]+>\s*$", s):
        return "config.xml"
    if s.startswith("{") or s.startswith("["):
        return "config.json"
    if re.match(r"^\$\w+\s*\.?=", s):
        return "config.php"
    if s.startswith(("string ", "var ")) and s.endswith(";"):
        return "Config.cs"
    if s.startswith(("String ", "System.", "private ", "public ", "final ")):
        return "Config.java"
    if re.match(r"^(?:var|val) \w+ = \"", s):
        return "config.kt"
    if (
        re.match(r"^var \w+ string =", s)
        or re.match(r"^[\w.]+\s*:=", s)
        or s.startswith(("const ", "func ", "package "))
    ):
        return "config.go"
    if s.startswith('"') and "=>" in s:
        return "logstash.conf"
    if re.match(r"^[\w.-]+\s*=\s*['\"]", s):
        return "settings.py"
    if re.match(r"^(?:export\s+)?[A-Z][A-Z0-9_]*=", s):
        return "env.sh"
    if s.startswith(("curl ", "wget ", "#!/", "export ")) or "\ncurl " in s:
        return "run.sh"
    if re.match(r"^[\w.-]+\s*=", s):
        return "config.ini"
    if re.match(r"^[\w.\"'-]+\s*:", s) or s.startswith("- "):
        return "config.yaml"
    return "notes.txt"


def write_corpus(
    root: Path, rules: list[tuple[str, list[Any], list[Any]]]
) -> dict[str, tuple[str, str, str]]:
    """path -> (kind tp/fp, rule id, example): one file per example."""
    index: dict[str, tuple[str, str, str]] = {}
    for n, (rid, tps, fps) in enumerate(rules):
        for kind, examples in (("tp", tps), ("fp", fps)):
            items = (
                list(examples.items())
                if isinstance(examples, dict)
                else [(None, e) for e in examples]
            )
            for i, (path, example) in enumerate(items):
                if not isinstance(example, str):
                    continue
                folder = f"r{n:03d}-{rid}/{kind}{i:03d}"
                rel = f"{folder}/{path.lstrip('/') if path else file_name(example)}"
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(example + "\n", encoding="utf-8")
                index[rel] = (kind, rid, example)
    return index


# --- the tools -------------------------------------------------------------------------------


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds, stdout): on a shared machine the CPU time is the fair
    comparison; both are printed."""
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start, _child_cpu() - cpu, proc.stdout


def run_gatekeeper(root: Path) -> tuple[tuple[float, float], dict[str, list[dict[str, Any]]]]:
    wall, cpu, out = _timed([sys.executable, "-m", "gatekeeper", "collect", "secrets", str(root)])
    found: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for hit in json.loads(out)["hits"]:
        found[hit["path"]].append(hit)
    return (wall, cpu), found


def run_detect_secrets(exe: str, root: Path) -> tuple[tuple[float, float], set[str]]:
    wall, cpu, out = _timed([exe, "scan", "--all-files", "."], cwd=root)
    return (wall, cpu), set(json.loads(out)["results"])


# Rules of covered vendors whose examples are no secret by gatekeeper's reading: identifiers
# (a client or access *id* is public by design), public tokens, key files found by name.
NOT_COVERED = {
    "asana-client-id": "an OAuth client id (16 digits) is public",
    "discord-client-id": "an OAuth client id (18 digits) is public",
    "sumologic-access-id": "an access id names the key, like an AWS key id without its secret",
    "mapbox-api-token": "`pk.` tokens are Mapbox's public tokens, made to ship in web pages",
    "pkcs12-file": "a rule on file names (`*.p12`), not on content",
}


# Hits on gitleaks' negatives that we read, one by one, as credentials: the negative is a
# negative of gitleaks' vendor rule only, and the example still holds a random literal under
# a token's name or a complete credential format. Printed with the reason; not counted as
# real false hits.
READ_AS_CREDENTIAL = {
    (
        "settlemint-personal-access-token",
        "generic-assignment",
    ): '`nonMatchingToken := "<16 random>"`: a random literal in a token variable',
    (
        "settlemint-application-access-token",
        "generic-assignment",
    ): '`nonMatchingToken := "<16 random>"`: a random literal in a token variable',
    (
        "settlemint-service-access-token",
        "generic-assignment",
    ): '`nonMatchingToken := "<16 random>"`: a random literal in a token variable',
    (
        "stripe-access-token",
        "generic-assignment",
    ): '`nonMatchingToken := "task_test_<30 random>"`: a random literal in a token variable',
    (
        "cisco-meraki-api-key",
        "generic-assignment",
    ): "40 and 67 random hex characters under `meraki-api-key` / `meraki_token`",
    (
        "mailchimp-api-key",
        "vendor-token",
    ): "a complete Mailchimp key (32 hex + `-us18`) passed as `token:` in a code sample",
    ("curl-auth-header", "jwt"): "a signed JWT (HS256) sent in an Authorization header",
    (
        "telegram-bot-api-token",
        "generic-assignment",
    ): '`telegram_api_token = "<digits>:A<34 random>"`: a random literal in a token variable (gitleaks\' negative only for its bot-id length)',
    (
        "freemius-secret-key",
        "generic-assignment",
    ): '`"secret_key" => "sk_<29 random>"`: a random literal under secret_key (gitleaks\' negative for the file type)',
    (
        "nuget-config-password",
        "config-file-credentials",
    ): "`ClearTextPassword` set to `33f!!lloppa` / `hal+9ooo_da!sY`: a password in NuGet.config (gitleaks' negative for its entropy threshold)",
}


def covered(rid: str) -> bool:
    return rid.startswith(COVERED) and rid not in NOT_COVERED


def main() -> int:
    compile_gatekeeper()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--gitleaks", required=True, help="a gitleaks clone (a work tree or a bare repository)"
    )
    parser.add_argument(
        "--detect-secrets", default="", help="the detect-secrets executable (skipped when empty)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", default="", help="write the corpus here and keep it")
    parser.add_argument("--misses", type=int, default=0, help="list this many missed rules")
    args = parser.parse_args()

    repo = Path(args.gitleaks)

    def read(path: str) -> str:
        if (repo / path).exists():
            return (repo / path).read_text(encoding="utf-8")
        return subprocess.run(
            ["git", "-C", str(repo), "show", f"HEAD:{path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    names = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "--name-only", "HEAD", RULES_DIR + "/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ctx = Context(sample_templates(read(GENERATE_GO)), args.seed)
    rules = [
        r for name in sorted(names) if name.endswith(".go") for r in rule_examples(read(name), ctx)
    ]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gk-recall-"))
    if root.exists() and args.keep:
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        index = write_corpus(root, rules)
        tps = sum(k == "tp" for k, _, _ in index.values())
        fps = len(index) - tps
        print(
            f"{len(rules)} rules, {tps} true-positive and {fps} false-positive examples, {len(index)} files"
        )
        gk_times, found = [], {}
        for _ in range(args.runs):
            elapsed, found = run_gatekeeper(root)
            gk_times.append(elapsed)
        gk_wall = statistics.median(t[0] for t in gk_times)
        gk_cpu = statistics.median(t[1] for t in gk_times)

        def tally(hit_of: Any) -> dict[str, list[int]]:
            per_rule: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
            for path, (kind, rid, _) in index.items():
                if kind == "tp":
                    per_rule[rid][0] += 1
                    per_rule[rid][1] += bool(hit_of(path))
            return per_rule

        def recall(per_rule: dict[str, list[int]], keep: Any) -> str:
            total = sum(v[0] for r, v in per_rule.items() if keep(r))
            hit = sum(v[1] for r, v in per_rule.items() if keep(r))
            return f"{hit}/{total} = {100 * hit / max(total, 1):.1f} %"

        any_hit = tally(lambda p: found.get(p))
        real_hit = tally(lambda p: [h for h in found.get(p, []) if h.get("shape") != "placeholder"])
        n_cov = sum(1 for r in any_hit if covered(r))
        print(f"gatekeeper     {gk_wall:6.2f} s wall, {gk_cpu:6.2f} s CPU (median of {args.runs})")
        print(
            f"  recall, covered rules ({n_cov} of {len(any_hit)}): {recall(any_hit, covered)}; above info {recall(real_hit, covered)}"
        )
        print(
            f"  recall, all rules: {recall(any_hit, lambda r: True)}; above info {recall(real_hit, lambda r: True)}"
        )
        false_hits = [
            (p, h)
            for p, (k, _, _) in index.items()
            if k == "fp"
            for h in found.get(p, [])
            if h.get("shape") != "placeholder"
        ]
        hit_files = {p for p, _ in false_hits}
        real = {p for p, h in false_hits if (index[p][1], h["detector"]) not in READ_AS_CREDENTIAL}
        share = 100 * len(hit_files) / max(fps, 1)
        print(f"  hits on negatives (not stand-ins): {len(hit_files)}/{fps} = {share:.1f} %")
        share = 100 * len(real) / max(fps, 1)
        print(f"  real false hits on negatives: {len(real)}/{fps} = {share:.1f} %")
        for path, hit in sorted(false_hits):
            reading = READ_AS_CREDENTIAL.get((index[path][1], hit["detector"]), "REAL FALSE HIT")
            print(f"    {index[path][1]}: {hit['detector']} {hit['redacted']}: {reading}")
        if args.misses:
            misses = sorted(
                ((v[0] - v[1], r) for r, v in any_hit.items() if v[1] < v[0]), reverse=True
            )
            for missed, rid in misses[: args.misses]:
                forms = [
                    Path(p).name
                    for p, (k, r, _) in index.items()
                    if k == "tp" and r == rid and not found.get(p)
                ]
                print(
                    f"    missed {missed:3d}/{any_hit[rid][0]:3d} {rid} {'covered' if covered(rid) else ''} {collections.Counter(forms).most_common(4)}"
                )
        if args.detect_secrets:
            ds_times, ds_found = [], set()
            for _ in range(args.runs):
                elapsed, ds_found = run_detect_secrets(args.detect_secrets, root)
                ds_times.append(elapsed)
            ds_wall = statistics.median(t[0] for t in ds_times)
            ds_cpu = statistics.median(t[1] for t in ds_times)
            ds_hit = tally(lambda p: p in ds_found)
            ds_false = sum(1 for p, (k, _, _) in index.items() if k == "fp" and p in ds_found)
            print(f"detect-secrets {ds_wall:6.2f} s wall, {ds_cpu:6.2f} s CPU")
            print(
                f"  recall, covered rules: {recall(ds_hit, covered)}; all rules: {recall(ds_hit, lambda r: True)}"
            )
            print(f"  hits on negatives: {ds_false}/{fps}")
            print(
                f"gatekeeper faster by {ds_cpu / gk_cpu:.1f}x (CPU), {ds_wall / gk_wall:.1f}x (wall)"
            )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
