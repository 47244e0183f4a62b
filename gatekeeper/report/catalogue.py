"""The rule catalogue (docs/rules.md), rendered from the rule records.

The audits declare their rules (``gatekeeper.audit``) and the verifier its reason codes
(``gatekeeper.verify.codes``); docs/rules.md is this module's output, never edited by hand::

    python -m gatekeeper.report.catalogue                          # print it
    python -m gatekeeper.report.catalogue --write docs/rules.md    # rewrite the file
    python -m gatekeeper.report.catalogue --check docs/rules.md    # exit 1 when it differs

Each rule gets a row in its family's table and a section with the anchor its record names
(SARIF's ``helpUri`` points there).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gatekeeper._fileio import atomic_write
from gatekeeper.audit import all_rule_records
from gatekeeper.audit.rule import Rule
from gatekeeper.verify.codes import REASON_CODES


@dataclass(frozen=True)
class _Family:
    name: str
    title: str
    intro: str = ""


_FAMILIES = (
    _Family("source", "what changed in the promoted range (git)"),
    _Family("pipeline", "the build controller (GitHub Actions, Jenkins, GitLab CI)"),
    _Family(
        "deps",
        "dependency versions (lockfiles and manifests)",
        "Ecosystems: PyPI (`requirements*.txt`, `poetry.lock`, `Pipfile.lock`, `uv.lock`,\n"
        "`pdm.lock`, `pylock.toml`, `pyproject.toml`), npm (`package-lock.json`,\n"
        "`npm-shrinkwrap.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lock`), Go (`go.mod`,\n"
        "`go.sum`), Cargo (`Cargo.lock`), RubyGems (`Gemfile.lock`), Maven (`pom.xml`,\n"
        "`gradle.lockfile`), Packagist (`composer.lock`). Versions compare by each\n"
        "ecosystem's own rules, never as strings. See [deps.md](deps.md).",
    ),
    _Family(
        "secrets",
        "credentials in configs, scripts and the change",
        "Output never contains the secret: a redacted form (first 4 characters and the\n"
        "length) and a fingerprint (sha256 of the value) only.\n\n"
        "Defaults are for a credential in ordinary code or configuration. Context lowers\n"
        "them and the message says why, but never hides a finding: test, fixture, example\n"
        "and docs paths and key material only tests use (medium), loopback hosts (low),\n"
        "reserved names such as `example.com` and obvious placeholders (info). A token\n"
        "whose format verifies (a valid checksum) stays at its default wherever it is\n"
        "([secrets.md](secrets.md#context-where-a-secret-is)).",
    ),
    _Family("container", "images and how they are built"),
    _Family(
        "verify",
        "reasons the verifier gives (its output uses `code`, not `rule`)",
        "A reason always blocks.",
    ),
)

_HEADER = """\
# gatekeeper — rule catalogue

> Generated from the rule records the audits declare (`gatekeeper/audit/*.py`) and the
> verifier's reason codes (`gatekeeper/verify/codes.py`); edit those, never this file.
> Regenerate it with `python -m gatekeeper.report.catalogue --write docs/rules.md`;
> `python -m gatekeeper.report.catalogue --check docs/rules.md` exits 1 when it is stale.

Every finding carries one of these ids, exactly as written. Ids are `family/name`,
stable forever once released (a rule that is retired keeps its id reserved).
Severities are the defaults; a policy may raise or lower any of them, or turn a
rule off. "Block" means the default policy blocks at that severity
(`block_at: high`). Each rule needs tests with at least one case that fires and
one near-miss that must not fire.

Severity scale: `critical` > `high` > `medium` > `low` > `info`.
"""


def _cell(text: str) -> str:
    # A `|` inside a table cell (even inside backticks) ends the cell unless escaped.
    return text.replace("|", "\\|")


def _table(family: _Family, rules: Sequence[Rule]) -> list[str]:
    if family.name == "verify":
        lines = ["| code | blocks when |", "|---|---|"]
        lines += [f"| [{r.id}](#{r.anchor}) | {_cell(r.summary)} |" for r in rules]
        return lines
    lines = ["| id | fires when | default |", "|---|---|---|"]
    lines += [f"| [{r.id}](#{r.anchor}) | {_cell(r.summary)} | {r.default_text} |" for r in rules]
    return lines


def _section(rule: Rule) -> list[str]:
    if rule.family == "verify":
        when = f"Blocks when {rule.summary}."
    else:
        when = f"Fires when {rule.summary}. Default: **{rule.default_text}**."
    return [f'### <a id="{rule.anchor}"></a>`{rule.id}`', "", when, "", rule.help, ""]


def _family_lines(family: _Family, rules: Sequence[Rule]) -> list[str]:
    lines = [f"## {family.name}/ — {family.title}", ""]
    if family.intro:
        lines += [family.intro, ""]
    lines += [*_table(family, rules), ""]
    for rule in rules:
        lines += _section(rule)
    return lines


def render_catalogue(records: Iterable[Rule] | None = None) -> str:
    """docs/rules.md for ``records`` (default: every audit rule and verifier reason code).

    Raises ValueError when a record belongs to no documented family.
    """
    if records is None:
        records = [*all_rule_records().values(), *REASON_CODES]
    by_family: dict[str, list[Rule]] = {f.name: [] for f in _FAMILIES}
    for rule in records:
        if rule.family not in by_family:
            raise ValueError(f"{rule.id}: family {rule.family!r} has no section in the catalogue")
        by_family[rule.family].append(rule)
    lines = [_HEADER]
    for family in _FAMILIES:
        lines += _family_lines(family, by_family[family.name])
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gatekeeper.report.catalogue")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", help="write the catalogue to FILE")
    group.add_argument("--check", metavar="FILE", help="exit 1 when FILE differs")
    args = parser.parse_args(argv)
    text = render_catalogue()
    if args.write:
        atomic_write(args.write, text.encode())
    elif args.check:
        if Path(args.check).read_text(encoding="utf-8") != text:
            print(
                f"{args.check} differs from the rule records; regenerate it with "
                f"`python -m gatekeeper.report.catalogue --write {args.check}`",
                file=sys.stderr,
            )
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["main", "render_catalogue"]
