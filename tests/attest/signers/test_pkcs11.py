"""hsm: keys on a real PKCS#11 token (SoftHSM): keygen, export, sign, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import KeyRef, export_public_key, load_public_key, load_signer
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.store import open_store
from tests.attest.signers.conftest import TOKEN, USER_PIN, HsmKey, SoftHsm
from tests.conftest import commit_files


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    commit_files(repo, {"src/app.py": "print('hi')\n"}, "initial")
    return tmp_path / "repo"


def _attest(repo: Path, *key: str) -> list[str]:
    return ["attest", "--stage", "source", "--repo", str(repo), "--store", str(repo.parent / "s"),
            "--product", "src/**", *key]  # fmt: skip


def test_keygen_on_the_token_export_and_sign(
    hsm_key: HsmKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(["key", "export", hsm_key.uri, "-o", str(tmp_path / "hsm.pub")], capsys)
    assert code == 0, text
    public = load_public_key(tmp_path / "hsm.pub")
    assert public.scheme == "ecdsa-sha2-nistp256"
    loaded = load_signer(KeyRef(hsm_key.uri, "HSM_PIN"))
    # the key id is the public key's: the token's key and the exported PEM are one key
    assert loaded.keyid == public.keyid == export_public_key(hsm_key.uri).keyid
    assert public.keyid in text
    envelope = sign_envelope(b'{"a": 1}', "application/vnd.in-toto+json", [loaded])
    _, checks = verify_envelope_signatures(envelope, {"hsm": public})
    assert checks[0].verified_by == ("hsm",)


def test_attest_with_the_token_key_and_the_default_pin_variable(
    hsm_key: HsmKey, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEKEEPER_HSM_PIN", USER_PIN)
    code, text = _run(_attest(repo, "--key", hsm_key.uri), capsys)
    assert code == 0, text
    assert USER_PIN not in text
    (stored,) = open_store(str(repo.parent / "s")).by_stage("source")
    assert len(json.loads(stored.data)["signatures"]) == 1


def test_wrong_pin_is_a_usage_error_that_never_prints_the_pin(
    hsm_key: HsmKey, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "99173264"
    monkeypatch.setenv("BAD_PIN", wrong)
    code, text = _run(_attest(repo, "--key", hsm_key.uri, "--passphrase-env", "BAD_PIN"), capsys)
    assert code == 2
    assert "wrong PIN" in text and "BAD_PIN" in text
    assert wrong not in text and USER_PIN not in text
    assert not (repo.parent / "s").exists()  # refused before anything ran or was stored


def test_missing_token_is_a_usage_error(
    hsm: SoftHsm, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ["--key", "hsm:10?label=not-plugged-in", "--passphrase-env", "HSM_PIN"]
    code, text = _run(_attest(repo, *key), capsys)
    assert code == 2
    assert "no initialised PKCS#11 token labelled 'not-plugged-in'" in text
    assert USER_PIN not in text


def test_missing_key_on_the_token_is_a_usage_error(
    hsm: SoftHsm, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ["--key", f"hsm:9999?label={TOKEN}", "--passphrase-env", "HSM_PIN"]
    code, text = _run(_attest(repo, *key), capsys)
    assert code == 2
    assert "no ECDSA private key with id 9999" in text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PYKCS11LIB": None}, "set PYKCS11LIB to the PKCS#11 module"),
        ({"PYKCS11LIB": "/nonexistent/libpkcs11.so"}, "no such PKCS#11 module"),
        ({"HSM_PIN": None}, "--passphrase-env HSM_PIN: the variable is not set"),
    ],
)
def test_missing_module_or_pin_is_a_usage_error(
    hsm_key: HsmKey,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str | None],
    message: str,
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    code, text = _run(_attest(repo, "--key", hsm_key.uri, "--passphrase-env", "HSM_PIN"), capsys)
    assert code == 2
    assert message in text


def test_no_pin_at_all_names_both_ways_to_give_one(
    hsm_key: HsmKey, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(_attest(repo, "--key", hsm_key.uri), capsys)
    assert code == 2
    assert "--passphrase-env NAME" in text and "GATEKEEPER_HSM_PIN" in text


def test_several_tokens_need_a_label(hsm: SoftHsm, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(["key", "export", "hsm:2"], capsys)
    assert code == 2
    assert "several PKCS#11 tokens" in text and "?label=TOKEN" in text


@pytest.mark.parametrize(
    "uri",
    ["hsm:two", "hsm:2?lable=x", "hsm:2?label=", "hsm:2?label=a&label=b", "hsm:-1", "hsm:2#x"],
)
def test_malformed_hsm_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match=r"not a PKCS#11 key URI|only parameter|malformed"):
        load_signer(KeyRef(uri, "HSM_PIN"))


def test_keygen_never_replaces_a_key_on_the_token(
    hsm_key: HsmKey, capsys: pytest.CaptureFixture[str]
) -> None:
    before = export_public_key(hsm_key.uri).keyid
    code, text = _run(["keygen", hsm_key.uri, "--passphrase-env", "HSM_PIN"], capsys)
    assert code == 2 and f"already holds a key with id {hsm_key.keyid}" in text
    code, text = _run(["keygen", hsm_key.uri, "--passphrase-env", "HSM_PIN", "--force"], capsys)
    assert code == 2 and "never replaces a key on a token" in text
    assert export_public_key(hsm_key.uri).keyid == before


def test_keygen_on_the_token_is_ecdsa(hsm: SoftHsm, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"hsm:7777?label={TOKEN}"
    code, text = _run(["keygen", uri, "--type", "rsa", "--passphrase-env", "HSM_PIN"], capsys)
    assert code == 2 and "--type ecdsa-p256" in text
    with pytest.raises(InvalidInput, match="cannot read public key 7777"):
        export_public_key(uri)  # nothing was made
