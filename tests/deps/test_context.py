"""First audit versus change, and the context that sets a deps/ finding's severity.

Without ``--base`` nothing is known to have changed, so deliberate configuration (a git
dependency, a replaced Go module, another registry) is info; a range that introduces or
changes it is high. Lockfiles are compared with their own earlier state (the same path, or
the file they were moved from), never with another project's lockfile. Test data is input to
the project's tests: its findings are lowered, with the reason, never hidden.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.models.finding import Finding
from tests.conftest import commit_files

CRATES = "registry+https://github.com/rust-lang/crates.io-index"
H1 = "h1:" + "A" * 43 + "="


def findings(root: Path, rule: str, base: str | None = "HEAD") -> list[Finding]:
    evidence = DepsCollector().collect(CollectContext(repo=root, base=base))
    found = run_audits({"deps": evidence}, AuditContext(repo=root, base=base))
    return [f for f in found if f.rule == rule]


def start(repo: git.Repo, files: dict[str, str]) -> Path:
    commit_files(repo, dict(files), "base")
    return Path(repo.working_tree_dir or ".")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def go_mod(replace: str | None) -> str:
    text = (
        "module github.com/acme/app\n\ngo 1.22\n\nrequire (\n"
        "\tgithub.com/rogpeppe/go-internal v1.13.1\n"
        "\tgolang.org/x/text v0.14.0\n)\n"
    )
    return text + (f"\nreplace github.com/rogpeppe/go-internal => {replace}\n" if replace else "")


def go_sum(target: str) -> str:
    return (
        f"{target} v0.0.0-20241024130215-fa3c22e38b9b {H1}\n"
        f"github.com/rogpeppe/go-internal v1.13.1 {H1}\n"
        f"golang.org/x/text v0.14.0 {H1}\n"
    )


FORK = "github.com/cli/go-internal v0.0.0-20241024130215-fa3c22e38b9b"


# ------------------------------------------------------------------ first audit vs change


def test_replaced_go_module_is_info_on_a_first_audit(tmp_path: Path) -> None:
    write(tmp_path, {"go.mod": go_mod(FORK), "go.sum": go_sum("github.com/cli/go-internal")})
    hits = findings(tmp_path, "deps/source-changed", base=None)
    assert [(f.severity.value, f.line) for f in hits] == [("info", 6)]
    message = hits[0].message
    assert "is replaced by the module github.com/cli/go-internal (a go.mod replace)" in message
    assert "no base to compare" in message and "a range that introduces or changes it is high" in (
        message
    )


def test_range_introducing_a_replace_is_high(git_repo: git.Repo) -> None:
    root = start(git_repo, {"go.mod": go_mod(None), "go.sum": go_sum("golang.org/x/text")})
    write(root, {"go.mod": go_mod(FORK), "go.sum": go_sum("github.com/cli/go-internal")})
    hits = findings(root, "deps/source-changed")
    assert [f.severity.value for f in hits] == ["high"]
    assert "now resolves from url:github.com/cli/go-internal" in hits[0].message


def test_range_keeping_or_bumping_a_replace_is_quiet_and_moving_it_is_high(
    git_repo: git.Repo,
) -> None:
    files = {"go.mod": go_mod(FORK), "go.sum": go_sum("github.com/cli/go-internal")}
    root = start(git_repo, files)
    assert findings(root, "deps/source-changed") == []  # unchanged: nothing to report
    bumped = "github.com/cli/go-internal v0.0.0-20250101000000-0123456789ab"
    write(root, {"go.mod": go_mod(bumped)})
    assert findings(root, "deps/source-changed") == []  # another commit of the same fork
    write(root, {"go.mod": go_mod("github.com/evil/go-internal v1.0.0")})
    hits = findings(root, "deps/source-changed")
    assert [f.severity.value for f in hits] == ["high"]
    assert "github.com/evil/go-internal" in hits[0].message


def test_new_git_dependency_in_a_range_is_high_and_on_a_first_audit_info(
    git_repo: git.Repo,
) -> None:
    gem = (
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.8)\n\n"
        "PLATFORMS\n  ruby\n\nDEPENDENCIES\n  rack\n"
    )
    with_git = (
        "GIT\n  remote: https://github.com/mongodb/mongoid.git\n"
        "  revision: 0123456789abcdef0123456789abcdef01234567\n  specs:\n    mongoid (9.0.0)\n\n"
        + gem
        + "  mongoid!\n"
    )
    root = start(git_repo, {"Gemfile.lock": gem})
    write(root, {"Gemfile.lock": with_git})
    hits = findings(root, "deps/source-changed")
    assert [(f.severity.value, f.message.split(",")[0]) for f in hits] == [
        ("high", "mongoid resolves from git:https://github.com/mongodb/mongoid.git")
    ]
    assert "is new since HEAD" in hits[0].message
    first = findings(root, "deps/source-changed", base=None)
    assert [f.severity.value for f in first] == ["info"]


def cargo_git(commit: str, repo: str = "https://github.com/salsa-rs/salsa.git") -> str:
    return (
        'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
        'dependencies = [\n "salsa",\n]\n\n'
        '[[package]]\nname = "salsa"\nversion = "0.23.0"\n'
        f'source = "git+{repo}?rev={commit[:7]}#{commit}"\n'
    )


def test_git_dependency_moving_to_another_commit_is_no_source_change(git_repo: git.Repo) -> None:
    root = start(git_repo, {"Cargo.lock": cargo_git("a" * 40)})
    write(root, {"Cargo.lock": cargo_git("b" * 40)})
    assert findings(root, "deps/source-changed") == []
    write(root, {"Cargo.lock": cargo_git("b" * 40, "https://github.com/fork/salsa.git")})
    assert [f.severity.value for f in findings(root, "deps/source-changed")] == ["high"]


def npm_git_lock(commit: str) -> str:
    import json

    url = f"https://codeload.github.com/webpack/tooling/tar.gz/{commit}"
    packages = {
        "": {"name": "app", "devDependencies": {"tooling": "webpack/tooling#v1"}},
        "node_modules/tooling": {"version": "1.24.0", "resolved": url, "dev": True},
    }
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2)


def test_codeload_archive_of_another_commit_is_the_same_source(git_repo: git.Repo) -> None:
    root = start(git_repo, {"package-lock.json": npm_git_lock("3922ab8c" + "0" * 32)})
    write(root, {"package-lock.json": npm_git_lock("4c13a00a" + "0" * 32)})
    assert findings(root, "deps/source-changed") == []
    evidence = DepsCollector().collect(CollectContext(repo=root))
    assert [p.source for p in evidence.tree.packages] == ["git:https://github.com/webpack/tooling"]


def cargo_registry(source: str) -> str:
    return (
        'version = 4\n\n[[package]]\nname = "salsa"\nversion = "0.23.0"\n'
        f'source = "{source}"\n'
        + (f'checksum = "{"c" * 64}"\n' if source.startswith("registry") else "")
    )


def test_back_to_the_default_registry_from_git_is_medium(git_repo: git.Repo) -> None:
    root = start(
        git_repo,
        {"Cargo.lock": cargo_registry("git+https://github.com/salsa-rs/salsa.git#" + "a" * 40)},
    )
    write(root, {"Cargo.lock": cargo_registry(CRATES)})
    hits = findings(root, "deps/source-changed")
    assert [f.severity.value for f in hits] == ["medium"]
    assert "back to the default registry from git" in hits[0].message


def test_from_a_private_registry_to_the_default_one_stays_high(git_repo: git.Repo) -> None:
    # dependency confusion: the internal name now comes from the public registry
    root = start(
        git_repo,
        {
            "requirements.txt": "--index-url https://pypi.corp.example/simple\nacme-internal==1.0.0\n"
        },
    )
    write(root, {"requirements.txt": "acme-internal==1.0.0\n"})
    hits = findings(root, "deps/source-changed")
    assert [f.severity.value for f in hits] == ["high"]


# ------------------------------------------------------------------ pairing lockfiles


def test_a_moved_lockfile_is_compared_with_where_it_was(git_repo: git.Repo) -> None:
    reqs = "".join(f"pkg{i}=={i}.0.0\n" for i in range(1, 9))
    root = start(git_repo, {"scripts/requirements/pins.txt": reqs})
    (root / "scripts/requirements/pins.txt").unlink()
    moved = reqs.replace("pkg3==3.0.0", "pkg3==2.9.0")
    write(root, {"test/requirements/pins-renamed.txt": moved})
    hits = findings(root, "deps/downgrade")
    assert [(f.path, f.message.split(" (base")[0]) for f in hits] == [
        ("test/requirements/pins-renamed.txt", "pkg3 is downgraded from 3.0.0 to 2.9.0")
    ]


def test_a_new_lockfile_is_not_compared_with_another_projects(git_repo: git.Repo) -> None:
    # the repository pins mypy 1.17 at its root; a subproject added in the range pins 1.14
    root = start(git_repo, {"requirements.txt": "mypy==1.17.0\nruff==0.9.5\n"})
    write(root, {"sub/requirements.txt": "mypy==1.14.1\nruff==0.9.2\n"})
    assert findings(root, "deps/downgrade") == []
    assert findings(root, "deps/new-dependency") == []  # the names are not new to the tree


def test_a_new_lockfile_from_a_new_source_is_one_finding_naming_its_packages(
    git_repo: git.Repo,
) -> None:
    # A Pyodide-style lock added beside the project's own: every package comes from one new
    # index. One cause, one high finding, every package named; the old lock is untouched.
    pins = "".join(f"pkg{i}=={i}.0.0\n" for i in range(1, 6))
    root = start(git_repo, {"requirements.txt": pins})
    write(
        root,
        {"pyodide/requirements.txt": "--index-url https://cdn.example.net/pyodide/simple\n" + pins},
    )
    hits = findings(root, "deps/source-changed")
    assert [(f.path, f.severity.value) for f in hits] == [("pyodide/requirements.txt", "high")]
    assert "5 packages of this new lockfile now resolve from" in hits[0].message
    assert "pkg1, pkg2, pkg3, pkg4, pkg5" in hits[0].message


@pytest.mark.parametrize(
    "lines", ["pkg1==1.0.0\npkg2==1.0.0\n", "pkg2==1.0.0\npkg1==1.0.0\n"], ids=["12", "21"]
)
def test_a_grouped_source_change_keeps_its_most_severe_member(
    git_repo: git.Repo, lines: str
) -> None:
    # pkg1 leaves git for PyPI (medium alone), pkg2 leaves a private index for PyPI
    # (dependency confusion: high); one finding for the new file, and it stays high.
    root = start(
        git_repo,
        {
            "a/requirements.txt": "pkg1 @ git+https://github.com/acme/pkg1@" + "a" * 40 + "\n",
            "b/requirements.txt": "--index-url https://pypi.corp.example/simple\npkg2==1.0.0\n",
        },
    )
    write(root, {"new/requirements.txt": lines})
    hits = findings(root, "deps/source-changed")
    assert [(f.path, f.severity.value) for f in hits] == [("new/requirements.txt", "high")]
    assert "2 packages of this new lockfile" in hits[0].message


def test_one_package_of_a_new_lockfile_from_a_new_source_keeps_its_own_message(
    git_repo: git.Repo,
) -> None:
    root = start(git_repo, {"requirements.txt": "pkg1==1.0.0\n"})
    write(
        root,
        {"sub/requirements.txt": "--index-url https://pypi.corp.example/simple\npkg1==1.0.0\n"},
    )
    hits = findings(root, "deps/source-changed")
    assert [f.severity.value for f in hits] == ["high"]
    assert hits[0].message.startswith("pkg1 now resolves from")


# ------------------------------------------------------------------ test data


def test_a_broken_fixture_lockfile_is_a_low_parse_error_that_says_why(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/fixtures/invalid_lock/poetry.lock": "[[package]\nname = \n",
            "poetry.lock": "[[package]\nname = \n",
        },
    )
    hits = {f.path: f for f in findings(tmp_path, "deps/parse-error", base=None)}
    assert hits["poetry.lock"].severity.value == "high"  # the project's own lock: still high
    fixture = hits["tests/fixtures/invalid_lock/poetry.lock"]
    assert fixture.severity.value == "low"
    assert "high lowered to low: test data under fixtures/" in fixture.message


def test_a_downgrade_in_test_data_is_medium(git_repo: git.Repo) -> None:
    root = start(git_repo, {"pkg/testdata/requirements.txt": "six==1.16.0\n"})
    write(root, {"pkg/testdata/requirements.txt": "six==1.15.0\n"})
    hits = findings(root, "deps/downgrade")
    assert [f.severity.value for f in hits] == ["medium"]
    assert "test data under testdata/" in hits[0].message
