"""Key generation and loading: every supported type, encrypted keys, env keys, bad input."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import git
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatekeeper.attest.keys import KeyRef, load_public_key, load_signer, write_keypair
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "rsa"])
def test_keygen_writes_private_0600_and_public(tmp_path: Path, key_type: str) -> None:
    key_path = tmp_path / "keys" / "ci"
    assert main(["keygen", str(key_path), "--type", key_type]) == 0
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    assert mode == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    public = load_public_key(f"{key_path}.pub")
    signer = load_signer(str(key_path))
    assert signer.keyid == public.keyid  # key id derived from the key, the same both ways
    assert len(public.keyid) == 64


def test_rsa_keys_are_3072_bits_pss(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k", "rsa")
    pub = serialization.load_pem_public_key((tmp_path / "k.pub").read_bytes())
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 3072
    assert load_public_key(tmp_path / "k.pub").scheme == "rsassa-pss-sha256"


def test_small_rsa_key_is_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "small.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(InvalidInput, match="at least 3072"):
        load_public_key(tmp_path / "small.pub")


def test_keygen_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", str(tmp_path / "k")]) == 0
    before = (tmp_path / "k").read_bytes()
    assert main(["keygen", str(tmp_path / "k")]) == 2
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "k").read_bytes() == before


def test_encrypted_key_needs_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYPASS", "correct horse")
    assert main(["keygen", str(tmp_path / "k"), "--passphrase-env", "KEYPASS"]) == 0
    assert b"ENCRYPTED" in (tmp_path / "k").read_bytes()
    monkeypatch.delenv("GATEKEEPER_KEY_PASSPHRASE", raising=False)
    with pytest.raises(
        InvalidInput,
        match=r"encrypted; give --passphrase-env NAME after this --key.*or set GATEKEEPER_KEY_PASSPHRASE",
    ):
        load_signer(str(tmp_path / "k"))
    monkeypatch.setenv("GATEKEEPER_KEY_PASSPHRASE", "wrong")
    with pytest.raises(InvalidInput, match="wrong passphrase"):
        load_signer(str(tmp_path / "k"))
    monkeypatch.setenv("GATEKEEPER_KEY_PASSPHRASE", "correct horse")
    assert load_signer(str(tmp_path / "k")).keyid == load_public_key(tmp_path / "k.pub").keyid


def test_key_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_keypair(tmp_path / "k")
    monkeypatch.setenv("CI_SIGNING_KEY", (tmp_path / "k").read_text())
    assert load_signer("env:CI_SIGNING_KEY").keyid == load_public_key(tmp_path / "k.pub").keyid
    with pytest.raises(InvalidInput, match="env:MISSING_VAR: the environment variable is not set"):
        load_signer("env:MISSING_VAR")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"not a key", "not a PEM private key"),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a PEM private key",
        ),
    ],
)
def test_bad_private_keys(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        load_signer(str(path))


def test_unknown_key_scheme_has_no_fallback(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown key scheme"):
        load_signer("vault:secret/key")


def test_private_key_given_as_public_is_refused(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    with pytest.raises(InvalidInput, match="is a private key"):
        load_public_key(tmp_path / "k")


def _release(tmp_path: Path, *keys: str) -> list[str]:
    (tmp_path / "dist").mkdir(exist_ok=True)
    (tmp_path / "dist" / "app.tar.gz").write_text("app\n")
    return ["attest", "--stage", "release", "--repo", str(tmp_path), "--store",
            str(tmp_path / "store"), "--material", "dist/*", "--product", "dist/*", *keys]  # fmt: skip


def test_release_example_with_an_unencrypted_and_an_encrypted_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: keys/ci unencrypted, keys/rm encrypted; each --key with its own passphrase."""
    monkeypatch.setenv("RM_PASSPHRASE", "rm secret")
    assert main(["keygen", str(tmp_path / "ci")]) == 0
    assert main(["keygen", str(tmp_path / "rm"), "--type", "ecdsa-p256",
                 "--passphrase-env", "RM_PASSPHRASE"]) == 0  # fmt: skip
    ci, rm = str(tmp_path / "ci"), str(tmp_path / "rm")
    assert (
        main(_release(tmp_path, "--key", ci, "--key", rm, "--passphrase-env", "RM_PASSPHRASE")) == 0
    )
    # the default variable is only a default: an unencrypted key ignores it
    monkeypatch.setenv("GATEKEEPER_KEY_PASSPHRASE", "rm secret")
    assert main(_release(tmp_path, "--key", ci, "--key", rm)) == 0
    assert "rm secret" not in capsys.readouterr().err


def test_two_keys_with_different_passphrases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI_PASS", "first passphrase")
    monkeypatch.setenv("RM_PASS", "second passphrase")
    monkeypatch.delenv("GATEKEEPER_KEY_PASSPHRASE", raising=False)
    for name, env in (("ci", "CI_PASS"), ("rm", "RM_PASS")):
        assert main(["keygen", str(tmp_path / name), "--passphrase-env", env]) == 0
    ci, rm = str(tmp_path / "ci"), str(tmp_path / "rm")
    paired = [
        "--key",
        ci,
        "--passphrase-env",
        "CI_PASS",
        "--key",
        rm,
        "--passphrase-env",
        "RM_PASS",
    ]
    assert main(_release(tmp_path, *paired)) == 0
    capsys.readouterr()
    swapped = [
        "--key",
        ci,
        "--passphrase-env",
        "RM_PASS",
        "--key",
        rm,
        "--passphrase-env",
        "CI_PASS",
    ]
    assert main(_release(tmp_path, *swapped)) == 2
    err = capsys.readouterr().err
    assert f"{ci}: wrong passphrase (from RM_PASS)" in err
    assert "passphrase" in err and "first passphrase" not in err and "second passphrase" not in err


def test_a_passphrase_for_an_unencrypted_key_is_a_mistake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_keypair(tmp_path / "k")
    monkeypatch.setenv("SOME_PASS", "x")
    with pytest.raises(
        InvalidInput, match="--passphrase-env SOME_PASS is given but the key is not"
    ):
        load_signer(KeyRef(str(tmp_path / "k"), "SOME_PASS"))
    with pytest.raises(InvalidInput, match="--passphrase-env UNSET_PASS: the variable is not set"):
        load_signer(KeyRef(str(tmp_path / "k"), "UNSET_PASS"))


def test_policy_sign_takes_a_passphrase_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_PASS", "policy secret")
    assert main(["keygen", str(tmp_path / "policy"), "--passphrase-env", "POLICY_PASS"]) == 0
    policy = Path(__file__).parents[2] / "policies" / "release.yaml"
    target = tmp_path / "release.yaml"
    target.write_bytes(policy.read_bytes())
    # A signed policy binds the key files it names, so they must exist to sign it.
    for name in ("ci", "rm"):
        assert main(["keygen", str(tmp_path / "keys" / name)]) == 0
    key = ["--key", str(tmp_path / "policy"), "--passphrase-env", "POLICY_PASS"]
    assert main(["policy", "sign", *key, str(target)]) == 0
    assert (tmp_path / "release.yaml.sig").exists()


def _git_repo(path: Path) -> git.Repo:
    repo = git.Repo.init(path, initial_branch="main")
    return repo


def test_keygen_warns_inside_a_work_tree_that_does_not_ignore_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git_repo(tmp_path / "repo")
    key = tmp_path / "repo" / "keys" / "ci"
    assert main(["keygen", str(key)]) == 0  # the key is written; the warning says why to move it
    err = capsys.readouterr().err
    assert f"warning: {key} is inside the git work tree {tmp_path / 'repo'}" in err
    assert "Keep signing keys outside the repository" in err


def test_keygen_is_quiet_outside_a_work_tree_or_when_git_ignores_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", str(tmp_path / "outside" / "ci")]) == 0
    assert capsys.readouterr().err == ""
    _git_repo(tmp_path / "repo")
    (tmp_path / "repo" / ".gitignore").write_text("keys/\n")
    assert main(["keygen", str(tmp_path / "repo" / "keys" / "ci")]) == 0
    assert capsys.readouterr().err == ""


def test_key_export_writes_the_public_key_of_a_pem_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PASS", "p")
    assert main(["keygen", str(tmp_path / "k"), "--passphrase-env", "PASS"]) == 0
    capsys.readouterr()
    assert main(["key", "export", str(tmp_path / "k"), "--passphrase-env", "PASS"]) == 0
    out = capsys.readouterr().out
    assert out.encode() == (tmp_path / "k.pub").read_bytes()
    monkeypatch.setenv("CI_KEY", (tmp_path / "k").read_text())
    out_file = tmp_path / "from-env.pub"
    assert (
        main(["key", "export", "env:CI_KEY", "--passphrase-env", "PASS", "-o", str(out_file)]) == 0
    )
    assert out_file.read_bytes() == (tmp_path / "k.pub").read_bytes()
