"""``attest --keyless`` against a stand-in Sigstore instance on 127.0.0.1.

sigstore-python's own signing client does the work: it fetches the CI's ambient OIDC token
(GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL, served by the stand-in), has the stand-in's CA
certify an ephemeral key (with an embedded SCT) and logs the DSSE envelope in the stand-in's
transparency log. The bundle is stored whole and verified like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from tests.sigstore.conftest import RELEASE, identity, verdict_json, verify_json, write_policy
from tests.sigstore.standin import Instance, serve


@pytest.fixture
def served(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Instance, list[str], str]]:
    token = instance.github_token()
    with serve(instance, token) as (url, requests):
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{url}/token")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
        yield instance, requests, token


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.tar.gz").write_bytes(b"app")
    return tmp_path


def _attest(work: Path, instance: Instance, *extra: str) -> int:
    (work / "trust.json").write_text(json.dumps(instance.trust_config()))
    return main(
        [
            "attest",
            "--stage",
            "build",
            "--keyless",
            "--trust-config",
            str(work / "trust.json"),
            "--repo",
            str(work),
            "--product",
            "dist/*",
            "--store",
            str(work / "store"),
            *extra,
        ]
    )


def _policy(work: Path, instance: Instance, key: dict[str, Any]) -> Path:
    (work / "root.json").write_text(json.dumps(instance.trusted_root()))
    data = {"release": {**key, "trusted_root": "local"}}
    path = write_policy(work, data, stage="build", trusted_roots={"local": "root.json"})
    text = path.read_text().replace("    provenance: {}\n", "")
    path.write_text(text)
    return path


def _verify(work: Path, policy: Path) -> int:
    return verify_json(str(policy), str(work / "store"), str(work / "dist" / "app.tar.gz"))


def test_attest_keyless_stores_a_bundle_that_verifies(
    work: Path, served: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    instance, requests, token = served
    assert _attest(work, instance) == 0
    assert requests == [
        "GET /token",
        "GET /token",
        "POST /api/v2/signingCert",
        "POST /api/v1/log/entries",
    ]
    [stored] = list((work / "store" / "envelopes").iterdir())
    bundle = json.loads(stored.read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    assert token not in capsys.readouterr().err  # the token is a secret
    key = identity(RELEASE, source_ref="refs/tags/v1.2.0", runner_environment="github-hosted")
    assert _verify(work, _policy(work, instance, key)) == 0


def test_a_keyless_attestation_blocks_for_another_workflow(
    work: Path, served: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    instance, _requests, _token = served
    assert _attest(work, instance) == 0
    other = RELEASE.replace("release.yml", "nightly.yml")
    capsys.readouterr()
    assert _verify(work, _policy(work, instance, identity(other))) == 1
    [reason] = verdict_json(capsys)["reasons"]
    assert reason["code"] == "verify/untrusted-key"
    assert f"subject {RELEASE} is not {other}" in reason["message"]


def test_no_ambient_credential_is_an_error_before_the_command_runs(
    work: Path,
    instance: Instance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = work / "ran"
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for name in ("GITLAB_CI", "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    code = _attest(work, instance, "--", "touch", str(marker))
    assert code == 2
    assert "no ambient OIDC credential" in capsys.readouterr().err
    assert not marker.exists()
    assert not (work / "store" / "envelopes").exists()


def test_a_token_the_ca_refuses_stores_nothing(
    work: Path,
    instance: Instance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forged = Instance().github_token()  # signed by another issuer key
    with serve(instance, forged) as (url, _requests):
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{url}/token")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
        assert _attest(work, instance) == 2
    err = capsys.readouterr().err
    assert "the certificate authority or the transparency log refused" in err
    assert "401" in err and forged not in err
    assert not (work / "store" / "envelopes").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--key", "keys/ci"], "give --key KEY (repeatable) or --keyless, not both"),
    ],
)
def test_keyless_and_a_key_are_exclusive(
    work: Path, served: Any, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    instance, _requests, _token = served
    assert _attest(work, instance, *args) == 2
    assert says in capsys.readouterr().err


def test_trust_config_without_keyless_is_a_usage_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatekeeper.attest.keys import generate_key

    generate_key(str(work / "ci"), "ed25519")
    (work / "trust.json").write_text("{}")
    code = main(
        [
            "attest",
            "--stage",
            "build",
            "--key",
            str(work / "ci"),
            "--trust-config",
            str(work / "trust.json"),
            "--repo",
            str(work),
            "--product",
            "dist/*",
            "--store",
            str(work / "store"),
        ]
    )
    assert code == 2
    assert "--trust-config names the Sigstore instance of --keyless" in capsys.readouterr().err


def test_neither_key_nor_keyless_is_a_usage_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "attest",
                "--stage",
                "build",
                "--repo",
                str(work),
                "--product",
                "dist/*",
                "--store",
                str(work / "store"),
            ]
        )
        == 2
    )
    assert "--keyless" in capsys.readouterr().err


def test_a_trust_config_that_is_not_one(
    work: Path, served: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _instance, _requests, _token = served
    (work / "trust.json").write_text('{"mediaType": "nope"}')
    code = main(
        [
            "attest",
            "--stage",
            "build",
            "--keyless",
            "--trust-config",
            str(work / "trust.json"),
            "--repo",
            str(work),
            "--product",
            "dist/*",
            "--store",
            str(work / "store"),
        ]
    )
    assert code == 2
    assert "not a Sigstore client trust configuration" in capsys.readouterr().err
