"""Every deps/ rule: a case that fires and near-misses that must not, on real files and repos."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import git
import pytest

from gatekeeper.audit import AuditContext, all_rules, run_audits
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.models.finding import Finding
from tests.conftest import commit_files

SHA_A = "a" * 64
SHA_B = "b" * 64
SYS_GO_MOD = "golang.org/x/sys v0.1.0/go.mod h1:oPkhp1MJrh7nUepCBck5+mAzfO9JrbApNNgaTdGDITg=\n"
ERRORS_ZIP = "github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"


def findings(root: Path, base: str | None = None, rule: str | None = None) -> list[Finding]:
    evidence = DepsCollector().collect(CollectContext(repo=root, base=base))
    out = run_audits({"deps": evidence}, AuditContext(repo=root, base=base))
    return [f for f in out if rule is None or f.rule == rule]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def npm_lock(
    entries: dict[str, tuple[str, str | None, str | None]], root_deps: dict[str, str] | None = None
) -> str:
    packages: dict[str, object] = {"": {"name": "app", "dependencies": root_deps or {}}}
    for name, (version, resolved, integrity) in entries.items():
        entry: dict[str, str] = {"version": version}
        if resolved is not None:
            entry["resolved"] = resolved
        if integrity is not None:
            entry["integrity"] = integrity
        packages[f"node_modules/{name}"] = entry
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2) + "\n"


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def reg(name: str, version: str) -> str:
    return f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"


def test_every_rule_is_registered_with_catalogue_severity() -> None:
    rules = all_rules()
    expected = {
        "deps/parse-error": "high",
        "deps/known-vulnerability": "high",
        "deps/downgrade": "high",
        "deps/hash-changed": "critical",
        "deps/source-changed": "high",
        "deps/unpinned": "medium",
        "deps/missing-hash": "low",
        "deps/lock-mismatch": "medium",
        "deps/new-dependency": "info",
        "deps/typosquat": "medium",
    }
    assert {k: rules[k].value for k in expected} == expected


# ------------------------------------------------------------------ parse-error


def test_parse_error_fires_with_file_and_line_and_the_rest_goes_on(tmp_path: Path) -> None:
    write(tmp_path, {"Cargo.lock": "[[package]]\nname = \n", "requirements.txt": "six==1.16.0\n"})
    errs = findings(tmp_path, rule="deps/parse-error")
    assert [(f.path, f.line, f.severity.value) for f in errs] == [("Cargo.lock", 2, "high")]
    # the other file was still read
    evidence = DepsCollector().collect(CollectContext(repo=tmp_path))
    assert [p.name for p in evidence.tree.packages] == ["six"]


def test_parse_error_near_miss_valid_files(tmp_path: Path) -> None:
    write(tmp_path, {"Cargo.lock": "version = 3\n", "requirements.txt": "six==1.16.0\n"})
    assert findings(tmp_path, rule="deps/parse-error") == []


# ------------------------------------------------------------------ unpinned / missing-hash


def test_unpinned_fires_for_ranges_in_pinning_files(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "flask>=2.0\nclick\nsix==1.16.0\nlxml==5.*\n"})
    hits = findings(tmp_path, rule="deps/unpinned")
    assert [(f.line, f.message.split()[0]) for f in hits] == [
        (1, "flask"),
        (2, "click"),
        (4, "lxml"),
    ]


def test_unpinned_near_miss_manifests_and_exact_pins(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "six==1.16.0\nrequests===2.31.0\n",
            # a manifest declares ranges by design: it is not meant to pin
            "pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndependencies = ["flask>=2"]\n',
            "package.json": '{"dependencies": {"express": "^4.0.0"}}\n',
        },
    )
    assert findings(tmp_path, rule="deps/unpinned") == []


def test_missing_hash_fires_in_lockfiles_that_carry_hashes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package-lock.json": npm_lock(
                {
                    "left-pad": ("1.3.0", reg("left-pad", "1.3.0"), None),
                    "ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"ms")),
                }
            ),
            "requirements.txt": f"six==1.16.0 --hash=sha256:{SHA_A}\nidna==3.4\n",
        },
    )
    hits = findings(tmp_path, rule="deps/missing-hash")
    assert sorted((f.path, f.message.split()[0]) for f in hits) == [
        ("package-lock.json", "left-pad"),
        ("requirements.txt", "idna"),
    ]
    assert all(f.severity.value == "low" for f in hits)


def test_missing_hash_near_miss_formats_without_hashes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            # no --hash anywhere: pip is not in hash-checking mode
            "requirements.txt": "six==1.16.0\n",
            # git sources carry no checksum in Cargo.lock
            "Cargo.lock": 'version = 3\n\n[[package]]\nname = "x"\nversion = "1.0.0"\n'
            'source = "git+https://github.com/a/x#0123456789abcdef"\n',
            "pom.xml": "<project><dependencies><dependency><groupId>g</groupId>"
            "<artifactId>a</artifactId><version>1.0</version></dependency>"
            "</dependencies></project>\n",
        },
    )
    assert findings(tmp_path, rule="deps/missing-hash") == []


# ------------------------------------------------------------------ lock-mismatch


def test_lock_mismatch_npm_missing_changed_and_stale(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps(
                {"dependencies": {"lodash": "^4.17.21", "ms": "^2.1.0", "axios": "^1.0.0"}},
                indent=2,
            ),
            "package-lock.json": npm_lock(
                {
                    "lodash": ("4.17.20", reg("lodash", "4.17.20"), sri(b"l")),
                    "ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"m")),
                    "debug": ("4.3.4", reg("debug", "4.3.4"), sri(b"d")),
                },
                root_deps={"lodash": "^4.17.0", "ms": "^2.1.0", "debug": "^4.0.0"},
            ),
        },
    )
    hits = findings(tmp_path, rule="deps/lock-mismatch")
    messages = sorted(f.message for f in hits)
    assert len(hits) == 3
    assert any("axios@^1.0.0 is declared in package.json but missing" in m for m in messages)
    assert any("asks for lodash@^4.17.21" in m and "^4.17.0" in m for m in messages)
    assert any("still records debug" in m for m in messages)


def test_lock_mismatch_near_miss_in_sync_and_no_lock(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/package.json": json.dumps({"dependencies": {"ms": "^2.1.0"}}),
            "a/package-lock.json": npm_lock(
                {"ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"m"))}, root_deps={"ms": "^2.1.0"}
            ),
            "b/package.json": json.dumps({"dependencies": {"ms": "^2.1.0"}}),  # no lockfile at all
        },
    )
    assert findings(tmp_path, rule="deps/lock-mismatch") == []


def test_lock_mismatch_pyproject_against_uv_lock(tmp_path: Path) -> None:
    lock = (
        'version = 1\n\n[[package]]\nname = "idna"\nversion = "3.4"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'sdist = {{ url = "https://x/idna.tar.gz", hash = "sha256:{SHA_A}" }}\n'
    )
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
            'dependencies = ["idna>=3.6", "rich"]\n',
            "uv.lock": lock,
        },
    )
    hits = findings(tmp_path, rule="deps/lock-mismatch")
    assert sorted(f.message for f in hits) == [
        "pyproject.toml asks for idna>=3.6 but uv.lock pins 3.4",
        "rich is declared in pyproject.toml but missing from uv.lock",
    ]
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
            'dependencies = ["IDNA>=3.0,<4"]\n'
        },
    )
    assert findings(tmp_path, rule="deps/lock-mismatch") == []


def test_lock_mismatch_go_direct_requirement_without_sum(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": "module x\n\ngo 1.21\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n"
            "\tgolang.org/x/sys v0.1.0 // indirect\n)\n",
            "go.sum": SYS_GO_MOD,
        },
    )
    hits = findings(tmp_path, rule="deps/lock-mismatch")
    assert [(f.line, "github.com/pkg/errors" in f.message) for f in hits] == [(6, True)]
    # near miss: the hash is there; the indirect module with only a /go.mod line is fine
    write(tmp_path, {"go.sum": ERRORS_ZIP + SYS_GO_MOD})
    assert findings(tmp_path, rule="deps/lock-mismatch") == []


# ------------------------------------------------------------------ typosquat


def test_typosquat_fires_on_one_edit(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "reqeusts==2.31.0\npython-dateutils==2.8.2\n",
            "package-lock.json": npm_lock(
                {"cross_env": ("7.0.3", reg("cross_env", "7.0.3"), sri(b"c"))}
            ),
        },
    )
    hits = findings(tmp_path, rule="deps/typosquat")
    assert sorted(f.message.split()[0] for f in hits) == [
        "cross_env",
        "python-dateutils",
        "reqeusts",
    ]
    assert all(f.severity.value == "medium" for f in hits)


def test_typosquat_near_misses(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            # the popular packages themselves, a PEP 503 spelling of one, and legitimate neighbours
            "requirements.txt": "requests==2.31.0\npython_dateutil==2.8.2\nattr==0.3.2\n"
            "requests-toolbelt==1.0.0\n",
            "package-lock.json": npm_lock(
                {
                    "preact": ("10.0.0", reg("preact", "10.0.0"), sri(b"p")),
                    "lodash": ("4.17.21", reg("lodash", "4.17.21"), sri(b"l")),
                }
            ),
        },
    )
    assert findings(tmp_path, rule="deps/typosquat") == []


# ------------------------------------------------------------------ against a base (git)


def _lock_repo(git_repo: git.Repo, lock: str) -> Path:
    commit_files(git_repo, {"package-lock.json": lock}, "deps")
    return Path(git_repo.working_tree_dir or ".")


def test_downgrade_fires_and_upgrade_does_not(git_repo: git.Repo) -> None:
    root = _lock_repo(
        git_repo,
        npm_lock(
            {
                "lodash": ("4.17.21", reg("lodash", "4.17.21"), sri(b"4.17.21")),
                "ms": ("2.1.2", reg("ms", "2.1.2"), sri(b"2.1.2")),
            }
        ),
    )
    (root / "package-lock.json").write_text(
        npm_lock(
            {
                "lodash": ("4.17.9", reg("lodash", "4.17.9"), sri(b"4.17.9")),  # 4.17.9 < 4.17.21
                "ms": ("2.1.10", reg("ms", "2.1.10"), sri(b"2.1.10")),  # 2.1.10 > 2.1.2
            }
        )
    )
    hits = findings(root, base="HEAD", rule="deps/downgrade")
    assert [(f.message, f.severity.value) for f in hits] == [
        ("lodash is downgraded from 4.17.21 to 4.17.9 (base HEAD)", "high")
    ]


def test_downgrade_pep440_prerelease(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"requirements.txt": "django==4.2.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    (root / "requirements.txt").write_text("django==4.2.0rc1\n")
    assert len(findings(root, base="HEAD", rule="deps/downgrade")) == 1
    (root / "requirements.txt").write_text("django==4.2.0.post1\n")
    assert findings(root, base="HEAD", rule="deps/downgrade") == []


def test_hash_changed_fires_for_same_version_new_digest(git_repo: git.Repo) -> None:
    root = _lock_repo(git_repo, npm_lock({"ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"genuine"))}))
    (root / "package-lock.json").write_text(
        npm_lock({"ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"tampered"))})
    )
    hits = findings(root, base="HEAD", rule="deps/hash-changed")
    assert len(hits) == 1 and hits[0].severity.value == "critical"
    assert hits[0].path == "package-lock.json" and hits[0].line is not None


def test_hash_changed_near_misses(git_repo: git.Repo) -> None:
    commit_files(
        git_repo,
        {
            "requirements.txt": (
                f"six==1.16.0 --hash=sha256:{SHA_A}\nidna==3.4 --hash=sha256:{SHA_A}\n"
            )
        },
    )
    root = Path(git_repo.working_tree_dir or ".")
    # six: a hash added (new wheel) keeps the old one; idna: new version, new hash
    (root / "requirements.txt").write_text(
        f"six==1.16.0 --hash=sha256:{SHA_A} --hash=sha256:{SHA_B}\n"
        f"idna==3.6 --hash=sha256:{SHA_B}\n"
    )
    assert findings(root, base="HEAD", rule="deps/hash-changed") == []


def test_source_changed_fires_on_registry_switch_and_new_git_dep(git_repo: git.Repo) -> None:
    root = _lock_repo(git_repo, npm_lock({"ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"m"))}))
    (root / "package-lock.json").write_text(
        npm_lock(
            {
                "ms": ("2.1.3", "https://npm.evil.example/ms/-/ms-2.1.3.tgz", sri(b"m")),
                "tool": ("1.0.0", "git+https://github.com/acme/tool.git#0123456789abcdef", None),
            }
        )
    )
    hits = findings(root, base="HEAD", rule="deps/source-changed")
    assert sorted(f.message.split()[0] for f in hits) == ["ms", "tool"]
    assert any("https://npm.evil.example" in f.message for f in hits)


def test_source_changed_near_miss_same_registry_new_version(git_repo: git.Repo) -> None:
    root = _lock_repo(git_repo, npm_lock({"ms": ("2.1.2", reg("ms", "2.1.2"), sri(b"a"))}))
    (root / "package-lock.json").write_text(
        npm_lock(
            {
                "ms": (
                    "2.1.3",
                    "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz",
                    sri(b"b"),
                ),  # alias
            }
        )
    )
    assert findings(root, base="HEAD", rule="deps/source-changed") == []


def test_new_dependency_fires_once_and_moved_lockfile_is_not_new(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"requirements.txt": "six==1.16.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    (root / "requirements.txt").unlink()
    write(root, {"requirements/base.txt": "six==1.16.0\nidna==3.4\n"})
    hits = findings(root, base="HEAD", rule="deps/new-dependency")
    assert [(f.path, f.line, f.severity.value) for f in hits] == [
        ("requirements/base.txt", 2, "info")
    ]


def test_new_dependency_near_miss_without_change(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"requirements.txt": "six==1.16.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    assert findings(root, base="HEAD", rule="deps/new-dependency") == []
    assert findings(root, base=None, rule="deps/new-dependency") == []  # no base, no "new"


def test_typosquat_only_for_new_dependencies_against_a_base(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"requirements.txt": "reqeusts==1.0.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    # already on the base: not new, so not re-flagged as the change's typosquat
    assert findings(root, base="HEAD", rule="deps/typosquat") == []
    (root / "requirements.txt").write_text("reqeusts==1.0.0\nnunpy==1.0.0\n")
    assert [f.message.split()[0] for f in findings(root, base="HEAD", rule="deps/typosquat")] == [
        "nunpy"
    ]


def test_base_must_exist(git_repo: git.Repo) -> None:
    from gatekeeper.errors import CollectionError

    root = Path(git_repo.working_tree_dir or ".")
    with pytest.raises(CollectionError):
        DepsCollector().collect(CollectContext(repo=root, base="no-such-ref"))


def test_base_is_read_from_objects_not_worktree(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"sub/requirements.txt": "six==1.16.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    (root / "sub/requirements.txt").write_text("six==1.15.0\n")
    evidence = DepsCollector().collect(CollectContext(repo=root / "sub", base="HEAD"))
    assert evidence.base is not None
    assert [p.version for p in evidence.base.packages] == ["1.16.0"]
    assert [c.kind for c in evidence.changes] == ["downgraded"]


def test_fingerprints_survive_line_moves(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "flask>=2\n"})
    first = findings(tmp_path, rule="deps/unpinned")
    write(tmp_path, {"requirements.txt": "# comment\n\nsix==1.16.0\nflask>=2\n"})
    second = findings(tmp_path, rule="deps/unpinned")
    assert first[0].line != second[0].line and first[0].fingerprint == second[0].fingerprint


def test_unpinned_vcs_requirement_unless_pinned_to_a_commit(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": (
                "git+https://github.com/acme/a.git@main#egg=a\n"
                "git+https://github.com/acme/b.git@0123456789abcdef0123456789abcdef01234567#egg=b\n"
            )
        },
    )
    hits = findings(tmp_path, rule="deps/unpinned")
    assert [(f.line, f.message.split()[0]) for f in hits] == [(1, "a")]


def test_source_changed_when_an_extra_index_appears(git_repo: git.Repo) -> None:
    # --extra-index-url lets pip pick the higher version from either index: dependency
    # confusion. Adding one changes where every package of the file may come from.
    commit_files(git_repo, {"requirements.txt": "internal-lib==1.0.0\n"})
    root = Path(git_repo.working_tree_dir or ".")
    (root / "requirements.txt").write_text(
        "--extra-index-url https://pypi.internal.example/simple\ninternal-lib==1.0.0\n"
    )
    hits = findings(root, base="HEAD", rule="deps/source-changed")
    assert len(hits) == 1 and "extra:https://pypi.internal.example/simple" in hits[0].message


def test_collect_with_base_outside_git_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatekeeper.cli import main

    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    assert main(["collect", "deps", str(tmp_path), "--base", "HEAD"]) == 2
    assert "not a git repository" in capsys.readouterr().err


def test_pipfile_lock_remote_archive_is_recorded_and_fires_source_changed(tmp_path: Path) -> None:
    # Pipenv's ``file = "https://..."`` fetches an archive from a URL; it used to be skipped
    # as if it were the project's own directory, so no rule could see it.
    url = "https://evil.example.com/requests-2.31.0.tar.gz"
    write(
        tmp_path,
        {
            "Pipfile.lock": json.dumps(
                {
                    "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},
                    "default": {
                        "requests": {"file": url, "hashes": [f"sha256:{'b' * 64}"]},
                        "mine": {"path": ".", "editable": True},
                        "local": {"file": "file:///tmp/local.tar.gz"},
                    },
                    "develop": {},
                },
                indent=4,
            )
        },
    )
    found = findings(tmp_path, rule="deps/source-changed")
    assert [(f.path, f.line) for f in found] == [("Pipfile.lock", 11)]
    assert f"url:{url}" in found[0].message
    assert findings(tmp_path, rule="deps/parse-error") == []


def test_gemfile_plugin_source_gem_is_recorded_and_fires_source_changed(tmp_path: Path) -> None:
    # A gem from a Bundler source plugin (here S3) was filed as a local PATH gem and skipped.
    write(
        tmp_path,
        {
            "Gemfile.lock": (
                "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.8)\n\n"
                "PATH\n  remote: engines/mine\n  specs:\n    mine (0.1.0)\n\n"
                "PLUGIN SOURCE\n  remote: s3://bucket-of-gems\n  type: aws-s3\n  specs:\n"
                "    sneaky (1.0.0)\n\n"
                "PLATFORMS\n  ruby\n\nDEPENDENCIES\n  mine!\n  rack\n  sneaky!\n"
            )
        },
    )
    found = findings(tmp_path, rule="deps/source-changed")
    assert [(f.path, f.line, f.message.split()[0]) for f in found] == [
        ("Gemfile.lock", 15, "sneaky")
    ]
    assert "url:s3://bucket-of-gems" in found[0].message
    assert findings(tmp_path, rule="deps/parse-error") == []


def test_hash_changed_fires_when_the_hashes_are_stripped(git_repo: git.Repo) -> None:
    # Stripping every --hash also turns pip's hash checking off (so not even
    # deps/missing-hash fires); an npm entry losing its integrity is the same downgrade.
    commit_files(
        git_repo,
        {
            "requirements.txt": f"six==1.16.0 --hash=sha256:{SHA_A}\nidna==3.4 --hash=sha256:{SHA_A}\n",
            "package-lock.json": npm_lock({"ms": ("2.1.3", reg("ms", "2.1.3"), sri(b"genuine"))}),
        },
    )
    root = Path(git_repo.working_tree_dir or ".")
    (root / "requirements.txt").write_text("six==1.16.0\nidna==3.6\n")
    (root / "package-lock.json").write_text(npm_lock({"ms": ("2.1.3", reg("ms", "2.1.3"), None)}))
    hits = findings(root, base="HEAD", rule="deps/hash-changed")
    assert sorted((f.path, f.message.split()[0]) for f in hits) == [
        ("package-lock.json", "ms"),
        ("requirements.txt", "six"),
    ]  # idna: a new version
    assert all(
        f.severity.value == "critical" and "lost the integrity hash" in f.message for f in hits
    )
