"""Real stand-ins for where keys live: a SoftHSM token and moto's KMS as an HTTP server.

SoftHSM (Debian's softhsm2; .ci/run installs it) is a real PKCS#11 module. Its tokens are
made once per test session in a temporary directory (SOFTHSM2_CONF points at a config
there): the module reads its configuration once per process, so every token the tests use
exists before the first test loads it, and each test makes its keys under a fresh key id.

moto runs in its server mode as a separate process on a free loopback port
(``_moto_kms.py``); boto3 reaches it through the standard AWS_ENDPOINT_URL_KMS setting,
with fake credentials.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from gatekeeper.cli import main

SO_PIN = "27182818"
USER_PIN = "40711358"  # distinctive, so a test can assert it is never printed
TOKEN = "release"  # noqa: S105 - a token label
OTHER_TOKEN = "gk-other"  # noqa: S105 - a token label
_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class SoftHsm:
    module: str
    conf: Path


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    util = shutil.which("softhsm2-util")
    module = next((m for m in _MODULES if Path(m).is_file()), None)
    if util is None or module is None:
        pytest.fail("SoftHSM is not installed: apt-get install softhsm2 (.ci/run does)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN, OTHER_TOKEN):
        subprocess.run(
            [
                util,
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                USER_PIN,
            ],
            check=True,
            capture_output=True,
        )
    yield SoftHsm(module=module, conf=conf)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


_key_ids = itertools.count(10)


@dataclass(frozen=True)
class HsmKey:
    uri: str
    keyid: int


@pytest.fixture
def hsm(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    """The module and the PIN in the environment, as a CI job would set them."""
    monkeypatch.setenv("PYKCS11LIB", softhsm.module)
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm.conf))
    monkeypatch.setenv("HSM_PIN", USER_PIN)
    monkeypatch.delenv("GATEKEEPER_HSM_PIN", raising=False)
    return softhsm


@pytest.fixture
def hsm_key(hsm: SoftHsm, capsys: pytest.CaptureFixture[str]) -> HsmKey:
    """A fresh ECDSA P-256 key pair made on the token by `gatekeeper keygen`."""
    keyid = next(_key_ids)
    uri = f"hsm:{keyid}?label={TOKEN}"
    assert main(["keygen", uri, "--passphrase-env", "HSM_PIN"]) == 0
    capsys.readouterr()
    return HsmKey(uri=uri, keyid=keyid)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_moto_kms.py"))],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline() or b"0")
        if not port:
            pytest.fail(f"moto's server did not start: {log.read_text()[-2000:]}")
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def aws_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """boto3 pointed at an endpoint by the standard settings, with fake credentials."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def kms(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 KMS client on moto's server (the tests make their keys with it)."""
    aws_environment(monkeypatch, moto_endpoint)
    return boto3.client("kms")


def kms_key(client: Any, spec: str = "ECC_NIST_P256", **extra: Any) -> str:
    meta = client.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY", **extra)["KeyMetadata"]
    return str(meta["KeyId"])
