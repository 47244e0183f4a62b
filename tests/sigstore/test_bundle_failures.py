"""Every way a bundle fails is a block with a precise code, never a traceback.

Bundles are made by the stand-in instance (tests/sigstore/standin.py: our own CA, CT log and
transparency log keys) so that each check can be broken on its own: the certificate's time,
its issuer, its SCT, the log entry's match, the log's key, and the shapes the library cannot
load.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.models.policy import IdentityKey
from gatekeeper.verify.sigstore import BundleVerifier, RootFile
from tests.sigstore.conftest import DATA, RELEASE, identity, verdict_json, verify_json, write_policy
from tests.sigstore.standin import Instance

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.tar.gz", "digest": {"sha256": hashlib.sha256(b"app").hexdigest()}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {
        "buildDefinition": {"buildType": "https://acme.example/make@v1", "externalParameters": {}},
        "runDetails": {"builder": {"id": RELEASE}},
    },
}
PAYLOAD = json.dumps(STATEMENT).encode()


def _root(instance: Instance) -> RootFile:
    data = json.dumps(instance.trusted_root()).encode()
    return RootFile("local", "root.json", Path("root.json"), hashlib.sha256(data).hexdigest(), data)


def _verifier(instance: Instance) -> BundleVerifier:
    key = IdentityKey.model_validate({**identity(RELEASE), "trusted_root": "local"})
    return BundleVerifier({"local": _root(instance)}, {"release": key})


def _check(instance: Instance, bundle: dict[str, Any] | bytes) -> tuple[str | None, str]:
    data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
    outcome = _verifier(instance).check(data)
    return outcome.code, outcome.problem or ""


def test_a_good_bundle_verifies(instance: Instance) -> None:
    outcome = _verifier(instance).check(
        json.dumps(instance.bundle(PAYLOAD, instance.github_token())).encode()
    )
    assert outcome.verified and outcome.matched == ("release",) and outcome.payload == PAYLOAD


def _as_media_type(bundle: dict[str, Any], media_type: str) -> dict[str, Any]:
    """The bundle in an older media type: v0.1 and v0.2 carry the certificate as a chain."""
    bundle["mediaType"] = media_type
    if media_type.endswith(("version=0.1", "version=0.2")):
        material = bundle["verificationMaterial"]
        material["x509CertificateChain"] = {"certificates": [material.pop("certificate")]}
    return bundle


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    ],
)
def test_every_bundle_media_type_verifies(instance: Instance, media_type: str) -> None:
    bundle = _as_media_type(instance.bundle(PAYLOAD, instance.github_token()), media_type)
    outcome = _verifier(instance).check(json.dumps(bundle).encode())
    assert outcome.verified and outcome.matched == ("release",) and outcome.payload == PAYLOAD


def test_a_v01_bundle_without_its_inclusion_promise_blocks(instance: Instance) -> None:
    # A v0.1 bundle's log entry must carry the log's promise (signed entry timestamp).
    bundle = _as_media_type(
        instance.bundle(PAYLOAD, instance.github_token()),
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    )
    del bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    code, message = _check(instance, bundle)
    assert code == "verify/log-entry-invalid"
    assert "no trusted signing time: the log entry has no inclusion promise" in message


def test_an_expired_certificate_blocks(instance: Instance) -> None:
    # Valid for ten minutes an hour ago; the log recorded the signature now.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    bundle = instance.bundle(PAYLOAD, instance.github_token(), not_before=hour_ago)
    code, message = _check(instance, bundle)
    assert code == "verify/certificate-invalid"
    assert "outside its certificate's validity" in message


def test_a_signing_time_before_the_certificate_blocks(instance: Instance) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    bundle = instance.bundle(PAYLOAD, instance.github_token(), not_before=later)
    code, message = _check(instance, bundle)
    assert code == "verify/certificate-invalid"
    assert "not yet valid" in message


def test_a_log_time_outside_the_certificate_blocks(instance: Instance) -> None:
    # The certificate is valid now, but the log says the signature was made a day earlier.
    day_ago = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    bundle = instance.bundle(PAYLOAD, instance.github_token(), integrated=day_ago)
    code, _ = _check(instance, bundle)
    assert code == "verify/certificate-invalid"


def test_a_log_entry_of_another_envelope_blocks(instance: Instance) -> None:
    other = {
        "payload": base64.b64encode(b"{}").decode(),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": "AAAA"}],
    }
    bundle = instance.bundle(PAYLOAD, instance.github_token(), log_envelope=other)
    code, message = _check(instance, bundle)
    assert code == "verify/log-entry-invalid"
    assert "does not match" in message


def test_a_log_entry_body_altered_after_logging_blocks(instance: Instance) -> None:
    bundle = instance.bundle(PAYLOAD, instance.github_token())
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    body["spec"]["payloadHash"]["value"] = "0" * 64
    entry["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()
    code, message = _check(instance, bundle)
    assert code == "verify/log-entry-invalid"
    assert "inclusion proof" in message


def test_a_log_the_root_does_not_trust_blocks(instance: Instance) -> None:
    # Same CA and CT log, another transparency log key.
    rogue = Instance(ca_key=instance.ca_key, ct_key=instance.ct_key)
    rogue.ca_cert = instance.ca_cert
    code, message = _check(instance, rogue.bundle(PAYLOAD, rogue.github_token()))
    assert code == "verify/log-entry-invalid"
    assert "log entry" in message


def test_a_certificate_without_a_trusted_sct_blocks(instance: Instance) -> None:
    rogue = Instance(ca_key=instance.ca_key, log_key=instance.log_key)
    rogue.ca_cert = instance.ca_cert
    code, message = _check(instance, rogue.bundle(PAYLOAD, rogue.github_token()))
    assert code == "verify/certificate-invalid"
    assert "SCT" in message


def test_a_certificate_of_another_ca_blocks(instance: Instance) -> None:
    rogue = Instance(ct_key=instance.ct_key, log_key=instance.log_key)
    code, message = _check(instance, rogue.bundle(PAYLOAD, rogue.github_token()))
    assert code == "verify/untrusted-key"
    assert "not issued by the trusted root's Fulcio CA" in message


def test_an_altered_signature_blocks(instance: Instance) -> None:
    bundle = instance.bundle(PAYLOAD, instance.github_token())
    good = json.loads(json.dumps(bundle))
    other = instance.bundle(b'{"other": 1}', instance.github_token())
    bundle["dsseEnvelope"]["signatures"] = other["dsseEnvelope"]["signatures"]
    code, _ = _check(instance, bundle)
    assert code == "verify/bad-signature"
    assert _check(instance, good)[0] is None


def test_a_timestamp_only_bundle_names_what_is_missing(instance: Instance) -> None:
    bundle = instance.bundle(PAYLOAD, instance.github_token())
    material = bundle["verificationMaterial"]
    material["tlogEntries"] = []
    material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": "MAA="}]}
    code, message = _check(instance, bundle)
    assert code == "verify/log-entry-invalid"
    assert "no transparency-log entry" in message and "timestamp-only" in message


def test_a_bundle_logged_as_an_intoto_entry_names_what_is_missing(instance: Instance) -> None:
    # slsa-verifier's verifiers/internal/gha/testdata/bundle/valid.intoto.sigstore (data/README.md):
    # a v0.1 bundle whose log entry is of kind intoto 0.0.2, with a promise and no proof.
    data = (DATA / "slsa-verifier-v0.1-promise-only.intoto.sigstore").read_bytes()
    code, message = _check(instance, data)
    assert code == "verify/log-entry-invalid"
    assert "log entry is of kind intoto 0.0.2" in message


def test_a_promise_only_dsse_entry_names_what_is_missing(instance: Instance) -> None:
    bundle = instance.bundle(PAYLOAD, instance.github_token())
    del bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    code, message = _check(instance, bundle)
    assert code == "verify/log-entry-invalid"
    assert "no inclusion proof" in message and "fix-bundle" in message


@pytest.mark.parametrize(
    ("bundle", "says"),
    [
        (b"{not json", "not strict JSON"),
        ({"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.9"}, "media type"),
        ({"base64Signature": "AAAA", "cert": "x", "rekorBundle": {}}, "legacy signature bundle"),
        ({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}, "no verificationMaterial"),
        (
            {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {"publicKey": {"hint": "k"}},
                "dsseEnvelope": {},
            },
            "signed with a public key",
        ),
    ],
)
def test_shapes_the_library_cannot_load_are_malformed(
    instance: Instance, bundle: Any, says: str
) -> None:
    code, message = _check(instance, bundle)
    assert code == "verify/malformed"
    assert says in message


def test_a_file_signature_bundle_is_not_an_attestation(instance: Instance) -> None:
    # sigstore-python's test/assets/bundle_v3.txt.sigstore (data/README.md)
    code, message = _check(
        instance, (DATA / "sigstore-python-message-signature.sigstore").read_bytes()
    )
    assert code == "verify/malformed"
    assert "signs a file digest (messageSignature)" in message


def test_a_certificate_that_is_not_der_is_malformed(instance: Instance) -> None:
    bundle = instance.bundle(PAYLOAD, instance.github_token())
    bundle["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(
        b"not a certificate"
    ).decode()
    code, message = _check(instance, bundle)
    assert code == "verify/malformed"
    assert "cannot be loaded" in message


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _leaves(v, (*path, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _leaves(v, (*path, i))]
    return [path]


def test_no_altered_field_raises_or_passes_with_another_payload(instance: Instance) -> None:
    """Fail closed: each field of a good bundle replaced in turn never raises, and a bundle that
    still verifies verifies the original payload for the original signer."""
    good = instance.bundle(PAYLOAD, instance.github_token())
    verifier = _verifier(instance)
    for path in _leaves(good):
        for junk in ("", "AAAA", "x" * 3, 12):
            bundle = copy.deepcopy(good)
            node = bundle
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = junk
            outcome = verifier.check(json.dumps(bundle).encode())
            if outcome.verified:
                assert outcome.payload == PAYLOAD and outcome.matched == ("release",), path
            else:
                assert outcome.code in {
                    "verify/malformed",
                    "verify/bad-signature",
                    "verify/untrusted-key",
                    "verify/certificate-invalid",
                    "verify/log-entry-invalid",
                }, (path, outcome)


def test_verify_blocks_with_the_reason_of_a_stored_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], instance: Instance
) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    (tmp_path / "expired.sigstore.json").write_text(
        json.dumps(instance.bundle(PAYLOAD, instance.github_token(), not_before=hour_ago))
    )
    (tmp_path / "root.json").write_text(json.dumps(instance.trusted_root()))
    store = tmp_path / "store"
    assert main(["import", str(tmp_path / "expired.sigstore.json"), "--store", str(store)]) == 0
    capsys.readouterr()
    policy = write_policy(
        tmp_path,
        {"release": {**identity(RELEASE), "trusted_root": "local"}},
        trusted_roots={"local": "root.json"},
    )
    digest = f"sha256:{hashlib.sha256(b'app').hexdigest()}"
    assert verify_json(str(policy), str(store), "--digest", digest) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/certificate-invalid" and reason["stage"] == "publish"
    assert reason["message"].startswith("bundle ")


def test_a_bundle_is_never_trusted_without_a_keyless_identity_in_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], instance: Instance
) -> None:
    from gatekeeper.attest.keys import generate_key

    (tmp_path / "good.sigstore.json").write_text(
        json.dumps(instance.bundle(PAYLOAD, instance.github_token()))
    )
    generate_key(str(tmp_path / "ci"), "ed25519")
    policy = write_policy(tmp_path, {"ci": "ci.pub"})
    digest = f"sha256:{hashlib.sha256(b'app').hexdigest()}"
    assert (
        verify_json(
            str(policy),
            str(tmp_path / "s"),
            "--bundle",
            str(tmp_path / "good.sigstore.json"),
            "--digest",
            digest,
        )
        == 1
    )
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/untrusted-key"
    assert "names no keyless identity" in reason["message"]


# -- the certificate's bytes: a real bundle's certificate altered in place ---------------------

GITHUB_BUNDLE = DATA / "MODULE.bazel.intoto.jsonl"  # slsa-verifier's test data (data/README.md)


def _with_certificate(der: bytes) -> bytes:
    bundle = json.loads(GITHUB_BUNDLE.read_text())
    bundle["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(der).decode()
    return json.dumps(bundle).encode()


def _github_verifier() -> BundleVerifier:
    from gatekeeper.verify.sigstore import public_good_root
    from tests.sigstore.conftest import PUBLISHER

    key = IdentityKey.model_validate(identity(PUBLISHER))
    return BundleVerifier({"public-good": public_good_root()}, {"publisher": key})


def _oid_der(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        out = [arc & 0x7F]
        arc >>= 7
        while arc:
            out.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(out))
    return bytes([6, len(body)]) + body


def _certificate() -> bytes:
    raw = json.loads(GITHUB_BUNDLE.read_text())["verificationMaterial"]["certificate"]["rawBytes"]
    return base64.b64decode(raw)


def test_a_certificate_with_a_duplicate_extension_is_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The source_digest extension's OID rewritten to source_repository's: two of one kind.
    der = _certificate()
    digest_oid, repository_oid = (
        _oid_der("1.3.6.1.4.1.57264.1.13"),
        _oid_der("1.3.6.1.4.1.57264.1.12"),
    )
    assert der.count(digest_oid) == 1
    data = _with_certificate(der.replace(digest_oid, repository_oid))
    outcome = _github_verifier().check(data)
    assert outcome.code == "verify/malformed"
    assert outcome.problem is not None and "Duplicate 1.3.6.1.4.1.57264.1.12 extension" in (
        outcome.problem
    )
    # and through the command: a block with that reason, not a crash
    (tmp_path / "dup.sigstore.json").write_bytes(data)
    from tests.sigstore.conftest import PUBLISHER

    policy = write_policy(tmp_path, {"publisher": identity(PUBLISHER)})
    args = ["verify", "--policy", str(policy), "--store", str(tmp_path / "s"), "--no-log"]
    args += ["--format", "json", "--bundle", str(tmp_path / "dup.sigstore.json")]
    assert main([*args, str(DATA / "MODULE.bazel")]) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/malformed" and "Duplicate" in reason["message"]


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_no_altered_certificate_byte_raises_or_passes() -> None:
    """Fail closed on the certificate's DER: each byte flipped in turn (every third byte of a
    real Fulcio certificate) blocks with a code and never raises."""
    der = _certificate()
    verifier = _github_verifier()
    seen = set()
    for index in range(0, len(der), 3):
        flipped = bytearray(der)
        flipped[index] ^= 0x01
        outcome = verifier.check(_with_certificate(bytes(flipped)))
        assert not outcome.verified, index
        assert outcome.code in {"verify/malformed", "verify/untrusted-key"}, (index, outcome)
        seen.add(outcome.code)
    assert seen == {"verify/malformed", "verify/untrusted-key"}
