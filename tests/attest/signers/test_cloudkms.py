"""gcpkms: and azurekms: go the way awskms: goes; here: their URIs, and the clear errors
for a missing SDK or missing credentials (no test reaches Google or Azure)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gatekeeper.attest.keys import KeyRef, export_public_key, load_signer
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput, SigningError

GCP = "gcpkms:projects/acme/locations/global/keyRings/release/cryptoKeys/rm/cryptoKeyVersions/1"
AZURE = "azurekms://acme-release.vault.azure.net/keys/rm/0123456789abcdef0123456789abcdef"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize(
    "uri",
    [
        "gcpkms:projects/acme/locations/global/keyRings/release/cryptoKeys/rm",  # no version
        "gcpkms:projects/acme/keyRings/release/cryptoKeys/rm/cryptoKeyVersions/1",
        "gcpkms:projects/a b/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        "gcpkms:" + GCP.removeprefix("gcpkms:") + "?x=1",
    ],
)
def test_malformed_gcp_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not a Google Cloud KMS key URI"):
        load_signer(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "azurekms:acme.vault.azure.net/keys/rm",  # not //
        "azurekms://acme.vault.example.com/keys/rm",
        "azurekms://acme.vault.azure.net/secrets/rm",
        "azurekms://acme.vault.azure.net/keys/rm/v1/extra",
    ],
)
def test_malformed_azure_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not an Azure Key Vault key URI"):
        load_signer(uri)


@pytest.mark.parametrize(
    ("uri", "blocked", "extra"),
    [
        (GCP, "google.cloud.kms", "gcp"),
        (AZURE, "azure.identity", "azure"),
        (AZURE.rsplit("/", 1)[0], "azure.keyvault.keys", "azure"),  # the latest version
    ],
)
def test_a_well_formed_uri_without_its_sdk_names_the_extra(
    uri: str, blocked: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)  # as if the package were not installed
    with pytest.raises(InvalidInput, match=rf"pip install 'gatekeeper\[{extra}\]'"):
        export_public_key(uri)


@pytest.mark.parametrize("uri", [GCP, AZURE])
def test_cli_reports_a_missing_sdk_as_a_usage_error(
    uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("google.cloud.kms", "azure.identity"):
        monkeypatch.setitem(sys.modules, module, None)
    code = main(["attest", "--stage", "s", "--repo", str(tmp_path), "--allow-empty",
                 "--store", str(tmp_path / "store"), "--key", uri])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "is not installed: pip install 'gatekeeper[" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("uri", [GCP, AZURE])
def test_a_passphrase_for_a_cloud_key_is_a_mistake(uri: str) -> None:
    with pytest.raises(InvalidInput, match="--passphrase-env does not apply"):
        load_signer(KeyRef(uri, "SOME_VAR"))


@pytest.mark.parametrize("uri", [GCP, AZURE])
def test_cloud_keys_are_made_with_the_providers_tools(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", uri]) == 2
    assert "then write the public key with gatekeeper key export" in capsys.readouterr().err


@pytest.fixture
def no_cloud_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment with no Google or Azure credentials anywhere (metadata servers are
    off the loopback, so the tests' network guard refuses them)."""
    for name in (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_USERNAME",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no gcloud, az, azd or pwsh


@pytest.mark.skipif(not _installed("google.cloud.kms"), reason="gatekeeper[gcp] not installed")
def test_gcp_without_credentials_is_a_clear_error(no_cloud_credentials: None) -> None:
    with pytest.raises(SigningError, match="no Google Cloud credentials"):
        load_signer(GCP)


@pytest.mark.skipif(not _installed("azure.identity"), reason="gatekeeper[azure] not installed")
def test_azure_without_credentials_is_a_clear_error(no_cloud_credentials: None) -> None:
    with pytest.raises(SigningError, match="no usable Azure credentials"):
        load_signer(AZURE)
