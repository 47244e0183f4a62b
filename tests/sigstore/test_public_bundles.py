"""Real bundles, verified offline under the public-good root gatekeeper ships.

data/MODULE.bazel.intoto.jsonl and data/MODULE-wrong-signer.bazel.intoto.jsonl come from
slsa-framework/slsa-verifier (cli/slsa-verifier/testdata/bcr/): the same SLSA provenance
statement, made by GitHub for ``MODULE.bazel``, signed once by the publish-to-bcr workflow
and once by another repository's workflow. data/cosign-oci-attestation.sigstore.json comes
from sigstore/cosign (pkg/cosign/testdata/): an attestation signed keyless by an e-mail
identity. data/sigstore-python-staging.dsse.sigstore.json and
data/sigstore-staging.trusted_root.json come from sigstore/sigstore-python: a bundle logged in
Rekor v2 on Sigstore's staging instance, whose signing time is an RFC 3161 timestamp, and
that instance's trusted root. See data/README.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.models.policy import IdentityKey
from gatekeeper.verify.sigstore import PUBLIC_GOOD_PATH, BundleVerifier, public_good_root
from tests.sigstore.conftest import (
    DATA,
    GITHUB,
    MALICIOUS,
    PUBLISHER,
    identity,
    verdict_json,
    write_policy,
)

ARTIFACT = DATA / "MODULE.bazel"
BUNDLE = DATA / "MODULE.bazel.intoto.jsonl"
WRONG_SIGNER = DATA / "MODULE-wrong-signer.bazel.intoto.jsonl"
COSIGN = DATA / "cosign-oci-attestation.sigstore.json"
RULES_LINT = "https://github.com/aspect-build/rules_lint"


def _publisher(**claims: Any) -> dict[str, Any]:
    wanted = {"source_repository": RULES_LINT, "runner_environment": "github-hosted", **claims}
    return identity(PUBLISHER, **wanted)


def _verify(
    tmp_path: Path, policy: Path, *extra: str, bundles: tuple[Path, ...] = (BUNDLE,)
) -> int:
    args = ["verify", "--policy", str(policy), "--store", str(tmp_path / "store"), "--no-log"]
    for bundle in bundles:
        args += ["--bundle", str(bundle)]
    return main([*args, "--format", "json", *extra])


def _codes(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    return [(r["code"], r["message"]) for r in verdict_json(capsys)["reasons"]]


def test_github_provenance_verifies_offline_for_its_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(
        tmp_path, {"publisher": _publisher()}, provenance={"builder_ids": [PUBLISHER]}
    )
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 0
    assert verdict_json(capsys)["verdict"] == "pass"


def test_another_identity_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = PUBLISHER.replace("v0.0.1", "v0.0.2")
    policy = write_policy(tmp_path, {"publisher": identity(other)})
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert f"subject {PUBLISHER} is not {other}" in message


def test_another_issuer_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"publisher": identity(PUBLISHER, issuer="https://gitlab.com")})
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert f"issuer {GITHUB} is not https://gitlab.com" in message


def test_a_fulcio_claim_that_differs_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(
        tmp_path,
        {"publisher": identity(PUBLISHER, source_repository="https://github.com/acme/fork")},
    )
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert f"source_repository {RULES_LINT} is not https://github.com/acme/fork" in message


def test_a_claim_the_certificate_lacks_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"publisher": _publisher(runner_environment="self-hosted")})
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert "runner_environment github-hosted is not self-hosted" in message


@pytest.mark.parametrize(
    ("regex", "passes"),
    [
        (
            r"https://github\.com/bazel-contrib/publish-to-bcr/\.github/workflows/publish\.yaml@refs/tags/v.*",
            True,
        ),
        (r"publish\.yaml@refs/tags/v0\.0\.1", False),  # the whole subject must match
        (r"https://github\.com/bazel-contrib/.*@refs/heads/main", False),
    ],
)
def test_subject_regex_matches_the_whole_subject(tmp_path: Path, regex: str, passes: bool) -> None:
    keys = {"publisher": {"identity": {"issuer": GITHUB, "subject_regex": regex}}}
    policy = write_policy(tmp_path, keys)
    assert _verify(tmp_path, policy, str(ARTIFACT)) == (0 if passes else 1)


def test_another_digest_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"publisher": _publisher()})
    other = hashlib.sha256(b"not MODULE.bazel").hexdigest()
    assert _verify(tmp_path, policy, "--digest", f"sha256:{other}") == 1
    [(code, _message)] = _codes(capsys)
    assert code == "verify/subject-mismatch"
    # and the artifact's own digest, given as --digest, passes
    own = hashlib.sha256(ARTIFACT.read_bytes()).hexdigest().upper()
    assert _verify(tmp_path, policy, "--digest", f"sha256:{own}") == 0


def _altered(tmp_path: Path) -> Path:
    bundle = json.loads(BUNDLE.read_text())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = hashlib.sha256(b"swapped").hexdigest()
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    path = tmp_path / "altered.sigstore.json"
    path.write_text(json.dumps(bundle))
    return path


def test_an_altered_payload_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"publisher": _publisher()})
    altered = _altered(tmp_path)
    assert (
        _verify(
            tmp_path,
            policy,
            "--digest",
            f"sha256:{hashlib.sha256(b'swapped').hexdigest()}",
            bundles=(altered,),
        )
        == 1
    )
    [(code, message)] = _codes(capsys)
    assert code == "verify/bad-signature"
    assert "the envelope's signature does not verify" in message


def test_the_same_statement_signed_by_another_workflow_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Byte-for-byte the same payload as the trusted bundle.
    ours = json.loads(BUNDLE.read_text())["dsseEnvelope"]["payload"]
    theirs = json.loads(WRONG_SIGNER.read_text())["dsseEnvelope"]["payload"]
    assert ours == theirs
    policy = write_policy(
        tmp_path, {"publisher": _publisher()}, provenance={"builder_ids": [PUBLISHER]}
    )
    assert _verify(tmp_path, policy, str(ARTIFACT), bundles=(WRONG_SIGNER,)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert f"signed keyless by {MALICIOUS}" in message
    # Beside the genuine bundle the impostor changes nothing: the trusted signer passes.
    assert _verify(tmp_path, policy, str(ARTIFACT), bundles=(WRONG_SIGNER, BUNDLE)) == 0


def test_import_keeps_the_whole_bundle_and_verify_reads_it_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert main(["import", str(BUNDLE), "--store", str(store)]) == 0
    assert "Sigstore bundle, kept whole" in capsys.readouterr().out
    [stored] = list((store / "envelopes").iterdir())
    kept = json.loads(stored.read_text())
    assert kept["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert kept["verificationMaterial"]["tlogEntries"]
    assert kept["dsseEnvelope"] == json.loads(BUNDLE.read_text())["dsseEnvelope"]
    policy = write_policy(tmp_path, {"publisher": _publisher()})
    assert (
        main(["verify", "--policy", str(policy), "--store", str(store), "--no-log", str(ARTIFACT)])
        == 0
    )


def test_a_trusted_root_file_named_by_the_policy(tmp_path: Path) -> None:
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "public-good.json").write_bytes(PUBLIC_GOOD_PATH.read_bytes())
    key = {**_publisher(), "trusted_root": "sigstore"}
    policy = write_policy(
        tmp_path, {"publisher": key}, trusted_roots={"sigstore": "roots/public-good.json"}
    )
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 0


def test_a_root_that_did_not_issue_the_certificate_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], instance: Any
) -> None:
    (tmp_path / "other-root.json").write_text(json.dumps(instance.trusted_root()))
    key = {**_publisher(), "trusted_root": "private"}
    policy = write_policy(
        tmp_path, {"publisher": key}, trusted_roots={"private": "other-root.json"}
    )
    assert _verify(tmp_path, policy, str(ARTIFACT)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key"
    assert "was not issued by the trusted root's Fulcio CA" in message


def test_a_bundle_of_another_instance_has_no_trusted_time(tmp_path: Path) -> None:
    # sigstore-python's staging bundle: Rekor v2 (no inclusion promise) on another instance.
    verifier = BundleVerifier(
        {"public-good": public_good_root()},
        {
            "any": IdentityKey.model_validate(
                {"identity": {"issuer": GITHUB, "subject_regex": ".*"}}
            )
        },
    )
    outcome = verifier.check((DATA / "sigstore-python-staging.dsse.sigstore.json").read_bytes())
    assert outcome.code == "verify/log-entry-invalid"
    assert outcome.problem is not None and "no trusted signing time" in outcome.problem


# -- cosign, keyless by an e-mail identity ----------------------------------------------------

COSIGN_EMAIL = "cody@soyland.com"
GITHUB_OAUTH = "https://github.com/login/oauth"


def _cosign_verifier(subject: str, issuer: str = GITHUB_OAUTH) -> BundleVerifier:
    key = IdentityKey.model_validate({"identity": {"issuer": issuer, "subject": subject}})
    return BundleVerifier({"public-good": public_good_root()}, {"signer": key})


def test_cosign_bundle_verifies_for_its_email_identity() -> None:
    outcome = _cosign_verifier(COSIGN_EMAIL).check(COSIGN.read_bytes())
    assert outcome.verified and outcome.matched == ("signer",)
    statement = json.loads(outcome.payload or b"")
    assert statement["subject"][0]["digest"] == {
        "sha256": "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    }


@pytest.mark.parametrize(
    ("subject", "issuer", "why"),
    [
        (
            "someone@soyland.com",
            GITHUB_OAUTH,
            "subject cody@soyland.com is not someone@soyland.com",
        ),
        (
            COSIGN_EMAIL,
            "https://accounts.google.com",
            f"issuer {GITHUB_OAUTH} is not https://accounts.google.com",
        ),
    ],
)
def test_cosign_bundle_matches_no_other_identity(subject: str, issuer: str, why: str) -> None:
    verifier = _cosign_verifier(subject, issuer)
    outcome = verifier.check(COSIGN.read_bytes())
    assert outcome.verified and outcome.matched == ()
    assert outcome.signer is not None
    assert verifier.why_not(["signer"], outcome.signer) == [f"signer: {why}"]


def test_cosign_bundle_with_an_altered_payload_does_not_verify() -> None:
    bundle = json.loads(COSIGN.read_text())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = "0" * 64  # another digest
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    outcome = _cosign_verifier(COSIGN_EMAIL).check(json.dumps(bundle).encode())
    assert outcome.code == "verify/bad-signature"
    assert not outcome.verified


# -- a signing time from a timestamp authority (Rekor v2: no integrated time, no promise) ----

STAGING = DATA / "sigstore-python-staging.dsse.sigstore.json"
STAGING_SUBJECT = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/"
    "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)


def _staging(tmp_path: Path, bundle: dict[str, Any] | None = None, subject: str = BEACON) -> int:
    """verify --bundle of sigstore-python's staging bundle under the staging root, named in
    the policy (data/sigstore-staging.trusted_root.json, see data/README.md)."""
    (tmp_path / "staging.json").write_bytes(
        (DATA / "sigstore-staging.trusted_root.json").read_bytes()
    )
    path = tmp_path / "staging.sigstore.json"
    path.write_text(json.dumps(bundle) if bundle is not None else STAGING.read_text())
    key = {**identity(subject), "trusted_root": "staging"}
    policy = write_policy(tmp_path, {"beacon": key}, trusted_roots={"staging": "staging.json"})
    return _verify(tmp_path, policy, "--digest", STAGING_SUBJECT, bundles=(path,))


def test_a_signing_time_from_a_timestamp_authority_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(STAGING.read_text())
    [entry] = bundle["verificationMaterial"]["tlogEntries"]
    assert "integratedTime" not in entry and "inclusionPromise" not in entry
    assert _staging(tmp_path) == 0
    assert verdict_json(capsys)["verdict"] == "pass"


def test_without_its_timestamp_there_is_no_signing_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(STAGING.read_text())
    del bundle["verificationMaterial"]["timestampVerificationData"]
    assert _staging(tmp_path, bundle) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/log-entry-invalid"
    assert "no trusted signing time" in message


def test_an_altered_timestamp_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = json.loads(STAGING.read_text())
    stamps = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    token = bytearray(base64.b64decode(stamps[0]["signedTimestamp"]))
    token[-20] ^= 0x01  # inside the TSA's signature
    stamps[0]["signedTimestamp"] = base64.b64encode(bytes(token)).decode()
    assert _staging(tmp_path, bundle) == 1
    [(code, _message)] = _codes(capsys)
    assert code == "verify/log-entry-invalid"


def test_a_timestamped_bundle_blocks_for_another_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _staging(tmp_path, subject=BEACON.replace("@refs/heads/main", "@refs/heads/dev")) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/untrusted-key" and f"signed keyless by {BEACON}" in message


# -- npm provenance: a real bundle logged as an intoto entry ------------------------------------

# slsa-verifier's cli/slsa-verifier/testdata/npm/gha/provenance-npm-test-cli-v1-prega.tgz.json,
# kept by the import tests (tests/attest/data/published/README.md): npm's registry listing of
# sigstore@2.3.1, whose SLSA provenance is a v0.2 bundle logged as an intoto 0.0.2 entry.
NPM = Path(__file__).parents[1] / "attest" / "data" / "published"
NPM_LISTING = NPM / "npm-provenance-npm-test-cli-v1-prega.tgz.json"
SIGSTORE_JS = (
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
)


def test_npm_provenance_logged_as_intoto_blocks_with_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = hashlib.sha512((NPM / "npm-provenance-npm-test-cli-v1-prega.tgz").read_bytes())
    policy = write_policy(
        tmp_path,
        {"release": identity(SIGSTORE_JS)},
        provenance={"builder_ids": ["https://github.com/actions/runner/github-hosted"]},
    )
    digest = f"sha512:{tarball.hexdigest()}"
    assert _verify(tmp_path, policy, "--digest", digest, bundles=(NPM_LISTING,)) == 1
    [(code, message)] = _codes(capsys)
    assert code == "verify/log-entry-invalid"
    assert "log entry is of kind intoto 0.0.2" in message and "npm" in message
