"""The CycloneDX SBOM and the deps commands end to end (``main([...])``)."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.cli import main
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.deps.sbom import sbom_from_evidence
from gatekeeper.models.options import AuditOptions
from tests.conftest import commit_files

SHA_A = "a" * 64

CARGO_LOCK = f'''version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "serde_derive",
]

[[package]]
name = "serde"
version = "1.0.190"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{SHA_A}"
dependencies = [
 "serde_derive",
]

[[package]]
name = "serde_derive"
version = "1.0.190"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{"b" * 64}"
'''


def _tree(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.lock").write_text(CARGO_LOCK)
    (root / "requirements.txt").write_text(f"six==1.16.0 --hash=sha256:{SHA_A}\nflask>=2\n")
    (root / "go.mod").write_text("module x\n\nrequire github.com/pkg/errors v0.9.1\n")
    return root


def test_sbom_structure_and_determinism(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    evidence = DepsCollector().collect(
        CollectContext(repo=root, options=AuditOptions(osv_skip=True))
    )
    bom = sbom_from_evidence(evidence)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert bom["serialNumber"].startswith("urn:uuid:")
    purls = [c["purl"] for c in bom["components"]]
    assert (
        purls
        == sorted(purls)
        == [
            "pkg:cargo/serde@1.0.190",
            "pkg:cargo/serde_derive@1.0.190",
            "pkg:golang/github.com/pkg/errors@v0.9.1",
            "pkg:pypi/six@1.16.0",
        ]
    )
    serde = bom["components"][0]
    assert serde["bom-ref"] == serde["purl"] and serde["version"] == "1.0.190"
    assert serde["hashes"] == [{"alg": "SHA-256", "content": SHA_A}]
    assert {
        "ref": "pkg:cargo/serde@1.0.190",
        "dependsOn": ["pkg:cargo/serde_derive@1.0.190"],
    } in bom["dependencies"]
    go = bom["components"][2]
    assert go["name"] == "github.com/pkg/errors" and "group" not in go
    # flask is unpinned: not resolved, so not in the SBOM
    assert not any("flask" in p for p in purls)
    again = sbom_from_evidence(
        DepsCollector().collect(CollectContext(repo=root, options=AuditOptions(osv_skip=True)))
    )
    assert json.dumps(again, sort_keys=True) == json.dumps(bom, sort_keys=True)
    # a different tree, a different serial number
    (root / "requirements.txt").write_text("six==1.15.0\n")
    other = sbom_from_evidence(DepsCollector().collect(CollectContext(repo=root)))
    assert other["serialNumber"] != bom["serialNumber"]


@pytest.mark.parametrize("spec", ["1.5", "1.6"])
def test_sbom_validates_against_the_cyclonedx_schema(
    tmp_path: Path, spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The schemas ship in cyclonedx-python-lib (in the test extra: never skipped).
    import cyclonedx.schema as schema
    import cyclonedx.validation.json as validation

    root = _tree(tmp_path / "repo")
    assert main(["sbom", str(root), "--spec-version", spec]) == 0
    text = capsys.readouterr().out
    version = {"1.5": schema.SchemaVersion.V1_5, "1.6": schema.SchemaVersion.V1_6}[spec]
    assert validation.JsonStrictValidator(version).validate_str(text) is None


def test_sbom_cli_output_file_and_byte_identical(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["sbom", str(root), "--format", "cyclonedx", "--output", str(out1)]) == 0
    assert main(["sbom", str(root), "--output", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert json.loads(out1.read_text())["components"]


def test_sbom_with_unparseable_lockfile_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "repo")
    (root / "Gemfile.lock").write_text("NONSENSE\n")
    assert main(["sbom", str(root)]) == 1
    captured = capsys.readouterr()
    assert "Gemfile.lock:1" in captured.err and json.loads(captured.out)["components"]


def test_collect_deps_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "plain-dir")  # not a git repository
    assert main(["collect", "deps", str(root)]) == 0
    data = json.loads(capsys.readouterr().out)
    six = next(p for p in data["tree"]["packages"] if p["name"] == "six")
    assert six == {
        **six,
        "purl": "pkg:pypi/six@1.16.0",
        "file": "requirements.txt",
        "line": 1,
        "hashes": [f"sha256:{SHA_A}"],
        "source": "registry:https://pypi.org/simple",
    }
    assert data["base"] is None and data["changes"] == []
    assert main(["collect", "deps", str(root), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "pkg:cargo/serde@1.0.190 1.0.190 Cargo.lock:11" in text


def test_check_base_marks_existing_and_blocks_on_new(
    git_repo: git.Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = {
        "name": "a",
        "lockfileVersion": 3,
        "packages": {
            "node_modules/ms": {
                "version": "2.1.3",
                "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
            }
        },
    }
    commit_files(
        git_repo,
        {"package-lock.json": json.dumps(lock, indent=2), "requirements.txt": "flask>=2\n"},
    )
    root = Path(git_repo.working_tree_dir or ".")
    base = git_repo.head.commit.hexsha
    lock["packages"]["node_modules/ms"]["version"] = "2.1.2"  # type: ignore[index]
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    code = main(["check", str(root), "--base", base, "--only", "deps", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert code == 1
    assert by_rule["deps/downgrade"].get("status") is None  # new in this change: blocks
    assert by_rule["deps/unpinned"]["status"] == "existing"  # already on the base


def test_check_deps_clean_tree_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    assert main(["check", str(tmp_path), "--only", "deps", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "pass" and report["findings"] == []
    assert any("OSV not consulted" in n for n in report["notes"])


def test_credentials_in_dependency_urls_never_reach_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A private index or a git dependency with a password in the URL: the source and spec
    # land in evidence, in deps/source-changed and deps/lock-mismatch messages and in the
    # SBOM; only the redacted form may.
    password = "Sup3rS3c" + "retT0ken99"  # assembled: the repository's own check stays clean
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text(
        f"-i https://alice:{password}@pypi.example.com/simple\n"
        "requests==2.31.0\n"
        f"tool @ git+https://bob:{password}@git.example.com/tool.git@{'c' * 40}\n"
    )
    (root / "package.json").write_text(
        json.dumps(
            {"name": "app", "dependencies": {"lib": f"git+https://{token}@github.com/acme/lib.git"}}
        )
    )
    (root / "package-lock.json").write_text(
        json.dumps(
            {
                "name": "app",
                "lockfileVersion": 3,
                "packages": {
                    "": {"name": "app", "dependencies": {"lib": "git+https://x@example.com/o.git"}}
                },
            }
        )
    )
    main(["collect", "deps", str(root)])
    main(["check", str(root), "--format", "json"])
    main(["sbom", str(root)])
    out = "".join(capsys.readouterr())
    assert "alice:Sup3" in out and "(18 chars)@pypi.example.com" in out  # still says where
    assert password not in out and token not in out
