"""Verification summaries per SLSA VSA v1: gatekeeper claims only the build level it verified
and says nothing of dependencies; `vsa verify` reads other verifiers' summaries and checks
their resourceUri, verifiedLevels, verifier, policy and age.

The foreign summary is Google's BCID VSA from slsa-verifier's test data (raw r||s ECDSA
P-256, a ``gce_image_id`` subject, no policy digest): tests/vsa/data/README.md names it."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.verify import VsaCheck, check_vsa
from gatekeeper.verify.summary import VsaInput, build_vsa

DATA = Path(__file__).parent / "data"
BCID = {
    "digest": "gce_image_id:8970095005306000053",
    "resource": "gce_image://gke-node-images:gke-12615-gke1418000-cos-101-17162-463-29-c-cgpv1-pre",
    "verifier": "https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1",
}


def _bcid(
    capsys: pytest.CaptureFixture[str], *extra: str, vsa: Path | None = None
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(
        [
            "vsa",
            "verify",
            "--key",
            str(DATA / "bcid-vsa-signing-key.pub"),
            "--format",
            "json",
            *extra,
            str(vsa or DATA / "gke-gce-pre.bcid-vsa.jsonl"),
        ]
    )
    return code, json.loads(capsys.readouterr().out)


_MATCHING = (
    "--digest",
    BCID["digest"],
    "--resource-uri",
    BCID["resource"],
    "--verifier-id",
    BCID["verifier"],
    "--any-policy",
    "--max-age",
    "100000d",
)


def test_googles_vsa_verifies_with_every_check_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _bcid(
        capsys, *_MATCHING, "--verified-level", "BCID_L1", "--verified-level", "SLSA_BUILD_LEVEL_2"
    )
    assert (code, out["verdict"]) == (0, "pass"), out
    assert out["notes"] == [
        "no --policy or --policy-digest given: the summary's policy "
        "(googlefile:/google_src/files/642513192/depot/google3/production/security/bcid/software/"
        "gce_image/gke/vm_images.sw_policy.textproto sha256:None) was not checked"
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (("--verified-level", "SLSA_BUILD_LEVEL_3"), "verify/vsa-level-mismatch"),
        (("--verified-level", "BCID_L2"), "verify/vsa-level-mismatch"),
        (("--resource-uri", "gce_image://another-image"), "verify/subject-mismatch"),
        (("--digest", "gce_image_id:1"), "verify/subject-mismatch"),
        (("--verifier-id", "https://gatekeeper.dev/verifier/v1"), "verify/vsa-verifier-mismatch"),
    ],
)
def test_googles_vsa_is_refused_for_what_it_does_not_say(
    capsys: pytest.CaptureFixture[str], change: tuple[str, str], code: str
) -> None:
    args = list(_MATCHING)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    exit_code, out = _bcid(capsys, *args)
    assert exit_code == 1
    assert {r["code"] for r in out["reasons"]} == {code}


def test_a_lower_slsa_level_is_met_by_a_higher_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bcid(capsys, *_MATCHING, "--verified-level", "SLSA_BUILD_LEVEL_1")[0] == 0


def test_googles_vsa_names_no_policy_digest_so_a_required_policy_blocks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a for a in _MATCHING if a != "--any-policy"]
    code, out = _bcid(capsys, *args, "--policy-digest", "sha256:" + "0" * 64)
    assert code == 1
    assert out["reasons"][0]["code"] == "verify/vsa-policy-mismatch"
    assert "names by no sha256 digest" in out["reasons"][0]["message"]


def test_googles_vsa_of_2024_is_stale_under_the_default_max_age(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = list(_MATCHING[:-2])
    code, out = _bcid(capsys, *args)
    assert code == 1
    assert {r["code"] for r in out["reasons"]} == {"verify/stale"}


def test_an_altered_payload_or_another_key_fails_the_raw_signature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = json.loads((DATA / "gke-gce-pre.bcid-vsa.jsonl").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verifiedLevels"] = ["SLSA_BUILD_LEVEL_3"]
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    altered = tmp_path / "altered.jsonl"
    altered.write_text(json.dumps(envelope))
    code, out = _bcid(capsys, *_MATCHING, vsa=altered)
    assert (code, [r["code"] for r in out["reasons"]]) == (1, ["verify/bad-signature"])


def test_the_check_reads_the_foreign_fields_through_the_api() -> None:
    check = VsaCheck(
        path=DATA / "gke-gce-pre.bcid-vsa.jsonl",
        keys=[str(DATA / "bcid-vsa-signing-key.pub")],
        subjects=[("_", BCID["digest"])],
        any_policy=True,
        now=datetime(2024, 6, 13, tzinfo=UTC),
        resource_uri=BCID["resource"],
        verified_levels=("BCID_L1",),
    )
    assert check_vsa(check).allowed


# -- the summaries gatekeeper signs ------------------------------------------------------------


def _emit(pipeline: Any, command: list[str] | None) -> dict[str, Any]:
    from gatekeeper.attest.keys import write_keypair

    write_keypair(pipeline.keys / "gate")
    data = pipeline.policy_dict()
    data["stages"] = [{"name": "build", "signed_by": ["ci"]}]
    pipeline.write_policy(data)
    artifact = pipeline.build_artifact()
    pipeline.attest("build", products=["dist/*"], command=command or [])
    vsa = pipeline.root / "vsa.json"
    args = ["verify", "--policy", str(pipeline.policy_path), "--store", str(pipeline.store)]
    assert main([*args, "--emit-vsa", str(vsa), "--key", pipeline.key("gate"), str(artifact)]) == 0
    pipeline.vsa, pipeline.artifact = vsa, artifact
    return json.loads(base64.b64decode(json.loads(vsa.read_text())["payload"]))["predicate"]  # type: ignore[no-any-return]


def test_a_build_that_ran_a_command_is_summarised_at_build_level_1(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    predicate = _emit(pipeline, [shutil.which("true") or "true"])
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]
    assert "dependencyLevels" not in predicate
    capsys.readouterr()
    args = [
        "vsa",
        "verify",
        "--key",
        f"{pipeline.key('gate')}.pub",
        "--any-policy",
        "--artifact",
        str(pipeline.artifact),
    ]
    assert main([*args, "--verified-level", "SLSA_BUILD_LEVEL_1", str(pipeline.vsa)]) == 0


def test_an_artifact_nobody_was_seen_building_is_level_0(
    pipeline: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    predicate = _emit(pipeline, None)
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_0"]
    capsys.readouterr()
    args = [
        "vsa",
        "verify",
        "--key",
        f"{pipeline.key('gate')}.pub",
        "--any-policy",
        "--artifact",
        str(pipeline.artifact),
        "--format",
        "json",
    ]
    assert main([*args, "--verified-level", "SLSA_BUILD_LEVEL_1", str(pipeline.vsa)]) == 1
    assert json.loads(capsys.readouterr().out)["reasons"][0]["code"] == "verify/vsa-level-mismatch"


def test_a_summary_subject_keeps_the_digest_the_artifact_was_given_by() -> None:
    sha512 = hashlib.sha512(b"tarball").hexdigest()
    statement = build_vsa(
        VsaInput(
            subjects=[(f"sha512:{sha512}", f"sha512:{sha512}")],
            policy_uri="p.yaml",
            policy_digest="sha256:" + "0" * 64,
            attestations=[],
            resource_uri=f"sha512:{sha512}",
            time_verified=datetime.now(UTC),
        )
    )
    assert statement.subject[0].digest == {"sha512": sha512}
    assert statement.predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_0"]
