"""Evidence as text (``collect KIND --format text``): one renderer per kind, models hold data."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gatekeeper.models
from gatekeeper.models.container import (
    ContainerEvidence,
    Dockerfile,
    Image,
    ImageEnv,
    Layer,
    Package,
    ParseError,
    RedactedValue,
    Stage,
)
from gatekeeper.models.deps import DepChange, DepsEvidence, DepsSnapshot, ParseProblem
from gatekeeper.models.deps import Package as DepPackage
from gatekeeper.models.pipeline import (
    GitlabCi,
    Jenkinsfile,
    Job,
    PipelineEvidence,
    PipelineFile,
    Step,
    Trigger,
    Workflow,
)
from gatekeeper.models.pipeline import ParseError as PipelineParseError
from gatekeeper.models.secrets import SecretHit, SecretsEvidence, SkippedFile
from gatekeeper.models.source import Commit, Identity, Signature, SourceEvidence, TreeSymlink
from gatekeeper.models.statement import CIEnvironment
from gatekeeper.report.evidence import has_text_form, render_evidence

SHA = "a" * 64
SECRET = RedactedValue(redacted="ghp_…(40)", sha256=SHA, reason="github-token")


def _image(**update: object) -> Image:
    image = Image(
        reference="oci:build/layout:v1",
        format="oci-layout",
        name="example.org/app:v1",
        manifest_digest=f"sha256:{'1' * 64}",
        index_digest=f"sha256:{'2' * 64}",
        config_digest=f"sha256:{'3' * 64}",
        os="linux",
        architecture="arm64",
        variant="v8",
        entrypoint=["/bin/app", "--serve"],
        exposed_ports=["443/tcp", "8080/tcp"],
        env=[ImageEnv(name="PATH", value="/bin"), ImageEnv(name="TOKEN", value="x", secret=SECRET)],
        history_secrets=[ImageEnv(name="history[2]:NPM_TOKEN", value="x", secret=SECRET)],
        layers=[
            Layer(digest=f"sha256:{'4' * 64}", size=1_500, secret_files=["a/.npmrc", "b/id_rsa"]),
            Layer(
                digest=f"sha256:{'5' * 64}",
                size=2_500_000,
                secret_files=["c/.env", "d/.netrc", "e/.pypirc", "a/.npmrc", "f/key.pem"],
            ),
        ],
        total_size=2_501_500,
        base_name="docker.io/library/debian:12",
        base_digest=f"sha256:{'6' * 64}",
        sbom_format="cyclonedx",
        packages=[Package(name=f"pkg{i:02}", version="1.0" if i % 2 else None) for i in range(17)],
    )
    return image.model_copy(update=update)


def test_an_image_in_one_screen() -> None:
    text = render_evidence("container", ContainerEvidence(image=_image(), notes=["one note"]))
    assert text == (
        "image        example.org/app:v1  (oci-layout)\n"
        f"index        sha256:{'2' * 64}\n"
        f"manifest     sha256:{'1' * 64}\n"
        f"config       sha256:{'3' * 64}\n"
        "platform     linux/arm64/v8\n"
        f"base image   docker.io/library/debian:12@sha256:{'6' * 64}\n"
        "user         (none: root)   <- runs as root\n"
        "entrypoint   /bin/app --serve\n"
        "cmd          -\n"
        "ports        443/tcp, 8080/tcp\n"
        "env          2 variable(s); secret-looking (redacted): TOKEN, history[2]:NPM_TOKEN\n"
        "layers       2, 2.5 MB in total\n"
        "credentials  a/.npmrc, b/id_rsa, c/.env, d/.netrc, e/.pypirc (+1)\n"
        "packages     17 (from cyclonedx SBOM)\n"
        + "".join(f"  pkg{i:02}{' 1.0' if i % 2 else ''}\n" for i in range(15))
        + "  ... and 2 more\n"
        "note: one note\n"
    )


def test_a_legacy_image_without_sbom_or_annotations() -> None:
    image = _image(
        name=None,
        index_digest=None,
        manifest_digest=None,
        os=None,
        architecture=None,
        variant=None,
        user="app:app",
        entrypoint=None,
        cmd=["run"],
        exposed_ports=[],
        env=[],
        history_secrets=[],
        layers=[Layer(digest=f"sha256:{'4' * 64}", size=999)],
        total_size=999,
        base_name="debian@sha256:" + "7" * 64,
        sbom_format=None,
        packages=[],
    )
    lines = render_evidence("container", ContainerEvidence(image=image)).splitlines()
    assert lines == [
        "image        oci:build/layout:v1  (oci-layout)",
        "manifest     - (legacy docker-save: none)",
        f"config       sha256:{'3' * 64}",
        "platform     -",
        f"base image   debian@sha256:{'7' * 64}",  # already pinned: no second digest
        "user         app:app",
        "entrypoint   -",
        "cmd          run",
        "ports        -",
        "env          0 variable(s)",
        "layers       1, 999 B in total",
        "packages     - (no SBOM attached)",
    ]


def test_dockerfiles_follow_the_image_after_a_blank_line() -> None:
    stage = Stage(index=0, line=1, base="python:${V}", base_image=None)
    built = Stage(index=1, line=3, base="build", base_stage=0, user="app")
    evidence = ContainerEvidence(
        image=_image(),
        dockerfiles=[
            Dockerfile(path="Dockerfile", sha256=SHA, stages=[stage, built]),
            Dockerfile(path="empty/Dockerfile", sha256=SHA),
            Dockerfile(
                path="bad/Dockerfile",
                sha256=SHA,
                parse_error=ParseError(line=4, message="unknown instruction 'FORM'"),
            ),
        ],
    )
    lines = render_evidence("container", evidence).splitlines()
    at = lines.index("")
    assert lines[at + 1 :] == [
        "Dockerfile: 2 stage(s); bases: python:${V}; final user: app",
        "bad/Dockerfile: does not parse (line 4: unknown instruction 'FORM')",
    ]


def test_no_container_evidence_says_so() -> None:
    text = render_evidence("container", ContainerEvidence(notes=["n"]))
    assert text == "no Dockerfile, Containerfile or image found\nnote: n\n"


def test_pipeline_files_workflows_and_controllers() -> None:
    evidence = PipelineEvidence(
        files=[
            PipelineFile(
                path=".github/workflows/ci.yml", kind="github-workflow", sha256=SHA, size=12
            ),
            PipelineFile(
                path="Jenkinsfile",
                kind="jenkinsfile",
                sha256="b" * 64,
                size=3,
                parse_error=PipelineParseError(message="unterminated string", line=2),
            ),
            PipelineFile(
                path=".gitlab-ci.yml",
                kind="gitlab-ci",
                sha256="c" * 64,
                size=4,
                parse_error=PipelineParseError(message="not YAML"),
            ),
        ],
        workflows=[
            Workflow(
                path=".github/workflows/ci.yml",
                kind="workflow",
                triggers=[Trigger(event="push", line=1), Trigger(event="pull_request", line=2)],
                jobs=[
                    Job(id="build", line=4, steps=[Step(index=0, line=5, run="make")]),
                    Job(id="call", line=8, uses="org/repo/.github/workflows/x.yml@v1"),
                ],
            ),
            Workflow(path="action.yml", kind="action"),
        ],
        jenkinsfiles=[Jenkinsfile(path="Jenkinsfile", style="declarative")],
        gitlab=[GitlabCi(path=".gitlab-ci.yml")],
        notes=["n"],
    )
    assert render_evidence("pipeline", evidence) == (
        "3 pipeline file(s)\n"
        "  aaaaaaaaaaaa        12  github-workflow .github/workflows/ci.yml\n"
        "  bbbbbbbbbbbb         3  jenkinsfile     Jenkinsfile  PARSE ERROR line 2: "
        "unterminated string\n"
        "  cccccccccccc         4  gitlab-ci       .gitlab-ci.yml  PARSE ERROR: not YAML\n"
        ".github/workflows/ci.yml: workflow, on [push, pull_request], 2 job(s)\n"
        "  job build (line 4): 1 step(s)\n"
        "  job call (line 8): calls org/repo/.github/workflows/x.yml@v1\n"
        "action.yml: action, on [-], 0 job(s)\n"
        "Jenkinsfile: declarative Jenkinsfile, 0 shell step(s), 0 library load(s), "
        "0 credential binding(s)\n"
        ".gitlab-ci.yml: GitLab CI, 0 job(s), 0 include(s)\n"
        "note: n\n"
    )


def _dep(name: str, version: str | None, **extra: object) -> DepPackage:
    return DepPackage(
        ecosystem="PyPI",
        name=name,
        version=version,
        purl=f"pkg:pypi/{name}" + (f"@{version}" if version else ""),
        source="registry:https://pypi.org/simple",
        file="requirements.txt",
        line=1,
        **extra,  # type: ignore[arg-type]
    )


def test_deps_packages_changes_vulnerabilities_and_errors() -> None:
    tree = DepsSnapshot(
        files=["requirements.txt"],
        packages=[_dep("requests", "2.31.0", direct=True), _dep("urllib3", None, spec=">=2")],
        errors=[ParseProblem(file="poetry.lock", line=3, message="not TOML")],
    )
    changes = [
        DepChange(
            kind="added", ecosystem="PyPI", name="urllib3", purl="pkg:pypi/urllib3", file="r"
        ),
        DepChange(
            kind="downgraded",
            ecosystem="PyPI",
            name="requests",
            purl="pkg:pypi/requests@2.31.0",
            file="r",
            base_version="2.32.0",
            head_version="2.31.0",
        ),
    ]
    text = render_evidence("deps", DepsEvidence(tree=tree, base_ref="main", changes=changes))
    assert text.splitlines() == [
        "2 package(s) in 1 file(s)",
        "  pkg:pypi/requests@2.31.0 2.31.0 requirements.txt:1 "
        "registry:https://pypi.org/simple direct",
        "  urllib3 (>=2) requirements.txt:1 registry:https://pypi.org/simple",
        "changes since main: 2",
        "  added PyPI/urllib3 - -> -",
        "  downgraded PyPI/requests 2.32.0 -> 2.31.0",
        "  ERROR poetry.lock:3: not TOML",
    ]
    assert "changes since" not in render_evidence("deps", DepsEvidence(tree=tree))


def test_secrets_hits_never_show_a_value() -> None:
    hit = SecretHit(
        detector="github-token",
        path="config/settings.py",
        line=2,
        redacted="ghp_…(40)",
        fingerprint=SHA,
        source="history",
        commit="c" * 40,
    )
    evidence = SecretsEvidence(
        mode="tree",
        files_scanned=3,
        bytes_scanned=120,
        commits_scanned=1,
        hits=[hit, hit.model_copy(update={"commit": None, "source": "tree"})],
        skipped=[SkippedFile(path="big.bin", reason="binary")],
    )
    assert render_evidence("secrets", evidence).splitlines() == [
        "secrets: 2 hit(s) in 3 file(s), 120 bytes, 1 commit(s) (tree)",
        f"  config/settings.py:2: github-token ghp_…(40) sha256:{'a' * 16} in {'c' * 12}",
        f"  config/settings.py:2: github-token ghp_…(40) sha256:{'a' * 16}",
        "  skipped big.bin: binary",
    ]


def test_source_range_and_symlinks() -> None:
    who = Identity(name="Dev", email="dev@example.invalid", date="2026-01-01T00:00:00Z")
    commit = Commit(
        sha="d" * 40,
        author=who,
        committer=who,
        subject="x" * 80,
        signature=Signature(status="N"),
    )
    evidence = SourceEvidence(
        is_git=True,
        head="e" * 40,
        head_tree="f" * 40,
        base="main",
        base_commit="0" * 40,
        base_is_ancestor=True,
        commits=[commit],
        symlinks=[TreeSymlink(path="link", target="../out")],
    )
    assert render_evidence("source", evidence).splitlines() == [
        "repository: git",
        f"head: {'e' * 40} (tree {'f' * 40})",
        f"base: main = {'0' * 40}; ancestor of head: True",
        "commits: 1; files changed: 0",
        f"  {'d' * 12} sig=N dev@example.invalid {'x' * 72}",
        "symlink: link -> ../out",
    ]
    plain = render_evidence("source", SourceEvidence(is_git=False))
    assert plain == "repository: plain directory (not a git repository)\nhead: - (tree -)\n"


def test_kinds_without_a_text_form_and_mismatched_models() -> None:
    assert [k for k in ("source", "pipeline", "deps", "secrets", "container") if has_text_form(k)]
    assert not has_text_form("env")
    with pytest.raises(KeyError):
        render_evidence("env", CIEnvironment(platform="local"))
    with pytest.raises(TypeError, match="container evidence is a ContainerEvidence"):
        render_evidence("container", SecretsEvidence(mode="tree"))


def test_models_hold_data_only() -> None:
    """Models import no collector, container code or renderer (no cycle back into models)."""
    root = Path(gatekeeper.models.__file__).parent
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(
                    ("gatekeeper.container", "gatekeeper.collect", "gatekeeper.report")
                ), f"{path.name} imports {node.module}"
        assert "def render_text" not in path.read_text(encoding="utf-8"), path.name
