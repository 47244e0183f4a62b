"""Interoperability with the in-toto reference implementation and in-toto-attestation."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as ItStatement

from gatekeeper.cli import main
from tests.harness import Pipeline

IN_TOTO_RUN = shutil.which("in-toto-run") or str(Path(sys.executable).parent / "in-toto-run")


def _policy(tmp: Path, stage: str = "build", max_age: bool = False) -> Path:
    policy = tmp / "policy.yaml"
    lines = [
        "version: 1",
        "name: interop",
        "expires: 2099-01-01T00:00:00Z",
        "keys:",
        "  ci: keys/ci.pub",
        "stages:",
        f"  - name: {stage}",
        "    signed_by: [ci]",
    ]
    if max_age:
        lines.insert(3, "max_age: 1d")
    policy.write_text("\n".join(lines) + "\n")
    return policy


@pytest.fixture
def intoto_link(tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    work.mkdir()
    assert main(["keygen", str(tmp_path / "keys" / "ci")]) == 0
    (work / "app.tar.gz").write_bytes(b"release bits\n")
    subprocess.run(
        [
            IN_TOTO_RUN,
            "-n",
            "build",
            "--use-dsse",
            "--signing-key",
            str(tmp_path / "keys" / "ci"),
            "-p",
            "app.tar.gz",
            "--",
            "true",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    links = list(work.glob("build.*.link"))
    assert len(links) == 1
    return work, links[0]


def test_intoto_dsse_link_imports_and_verifies(
    tmp_path: Path, intoto_link: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work, link = intoto_link
    store = tmp_path / "store"
    assert main(["import", str(link), "--store", str(store)]) == 0
    assert "in-toto-link for stage build" in capsys.readouterr().out
    policy = _policy(tmp_path)
    assert (
        main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                str(store),
                "--format",
                "json",
                str(work / "app.tar.gz"),
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"

    (work / "app.tar.gz").write_bytes(b"release bits, altered\n")
    assert (
        main(
            [
                "verify",
                "--policy",
                str(policy),
                "--store",
                str(store),
                "--format",
                "json",
                str(work / "app.tar.gz"),
            ]
        )
        == 1
    )
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "block"
    assert [r["code"] for r in out["reasons"]] == ["verify/subject-mismatch"]


def test_intoto_link_without_time_is_stale_under_max_age(
    tmp_path: Path, intoto_link: tuple[Path, Path]
) -> None:
    work, link = intoto_link
    store = tmp_path / "store"
    assert main(["import", str(link), "--store", str(store)]) == 0
    assert (
        main(
            [
                "verify",
                "--policy",
                str(_policy(tmp_path, max_age=True)),
                "--store",
                str(store),
                "--format",
                "json",
                str(work / "app.tar.gz"),
            ]
        )
        == 1
    )


def test_intoto_link_under_untrusted_key_blocks(
    tmp_path: Path, intoto_link: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work, link = intoto_link
    store = tmp_path / "store"
    assert main(["import", str(link), "--store", str(store)]) == 0
    assert (
        main(["keygen", str(tmp_path / "keys" / "ci"), "--force"]) == 0
    )  # the policy now trusts another key
    capsys.readouterr()
    assert (
        main(
            [
                "verify",
                "--policy",
                str(_policy(tmp_path)),
                "--store",
                str(store),
                "--format",
                "json",
                str(work / "app.tar.gz"),
            ]
        )
        == 1
    )
    assert json.loads(capsys.readouterr().out)["reasons"][0]["code"] == "verify/untrusted-key"


def test_import_rejects_malformed_and_stores_nothing(
    tmp_path: Path, intoto_link: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, link = intoto_link
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"payload": "e30=", "payloadType": "text/plain", "signatures": [{"sig": "AA=="}]}
        )
    )
    store = tmp_path / "store"
    assert main(["import", str(link), str(bad), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "payload type" in err
    assert not (store / "envelopes").exists()


def test_import_jsonl_bundle(tmp_path: Path, pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    bundle = tmp_path / "attestations.intoto.jsonl"
    bundle.write_text(
        "".join(
            json.dumps(json.loads(p.read_text())) + "\n"
            for p in sorted((pipeline.store / "envelopes").iterdir())
        )
    )
    store = tmp_path / "other-store"
    assert main(["import", str(bundle), "--store", str(store)]) == 0
    assert len(list((store / "envelopes").iterdir())) == 2


def test_our_statements_validate_with_in_toto_attestation(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    pipeline.attest("lint")  # no products: the subject is the source commit
    for path in (pipeline.store / "envelopes").iterdir():
        envelope = json.loads(path.read_text())
        payload = base64.b64decode(envelope["payload"])
        proto = json_format.Parse(payload, statement_pb2.Statement())
        ItStatement.copy_from_pb(proto).validate()
