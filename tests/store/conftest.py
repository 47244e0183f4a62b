"""A real OCI registry for the store tests: Debian's docker-registry on 127.0.0.1.

Each test session starts its own registry on a free port with a temporary storage
directory (so tests never share state with another run); without the binary it uses
$GATEKEEPER_TEST_REGISTRY (what .ci/run starts). Tests skip, loudly, only when neither
is available and $GATEKEEPER_REQUIRE_REGISTRY is not set; in CI they must run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from gatekeeper._http import HttpClient

REGISTRY_BIN = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None
)
USER, PASSWORD = "ci-bot", "s3cret-pa55word"


def _unavailable(reason: str) -> None:
    if os.environ.get("GATEKEEPER_REQUIRE_REGISTRY"):
        pytest.fail(f"GATEKEEPER_REQUIRE_REGISTRY is set but {reason}")
    pytest.skip(f"!!! OCI REGISTRY TESTS SKIPPED: {reason} (apt-get install docker-registry) !!!")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    root: Path, htpasswd: Path | None = None, tls: tuple[Path, Path, Path] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    assert REGISTRY_BIN is not None
    port = _free_port()
    auth = ""
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: gatekeeper-test\n    path: {htpasswd}\n"
    tls_block = ""
    if tls is not None:
        tls_block = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"{auth}http:\n  addr: 127.0.0.1:{port}\n{tls_block}"
    )
    with open(root / "registry.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    address = f"127.0.0.1:{port}"
    scheme = "https" if tls is not None else "http"
    for _ in range(100):
        try:
            if requests.get(
                f"{scheme}://{address}/v2/", timeout=1, verify=str(tls[2]) if tls else True
            ).status_code in (200, 401):
                return proc, address
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a plain-HTTP registry on loopback."""
    if REGISTRY_BIN is None:
        external = os.environ.get("GATEKEEPER_TEST_REGISTRY")
        if external:
            yield external
            return
        _unavailable(
            "the docker-registry binary is not installed and GATEKEEPER_TEST_REGISTRY is not set"
        )
    proc, address = _start(tmp_path_factory.mktemp("registry"))
    try:
        yield address
    finally:
        _stop(proc)


def _htpasswd_line() -> str:
    """A bcrypt htpasswd line: python bcrypt if installed, else apache2-utils' htpasswd."""
    try:
        import bcrypt  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        tool = shutil.which("htpasswd")
        if tool is None:
            _unavailable("neither python bcrypt nor htpasswd (apache2-utils) is installed")
        out = subprocess.run(
            [tool, "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
        ).stdout
        return out.strip()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt()).decode()
    return f"{USER}:{hashed}"


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a registry that requires HTTP basic auth (USER / PASSWORD)."""
    if REGISTRY_BIN is None:
        _unavailable("the docker-registry binary is not installed (needed for the auth tests)")
    root = tmp_path_factory.mktemp("auth-registry")
    htpasswd = root / "htpasswd"
    htpasswd.write_text(_htpasswd_line() + "\n")
    proc, address = _start(root, htpasswd)
    try:
        yield address
    finally:
        _stop(proc)


@pytest.fixture
def oci_uri(registry: str) -> str:
    """A fresh repository in the session registry for each test."""
    return f"oci://{registry}/gatekeeper-test/r{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _no_registry_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test picks up the machine's docker login or registry variables."""
    for name in (
        "GATEKEEPER_REGISTRY_USERNAME",
        "GATEKEEPER_REGISTRY_PASSWORD",
        "GATEKEEPER_REGISTRY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


def _test_ca(root: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 (files: ca, cert, key)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatekeeper test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (root / "ca.pem", root / "server.pem", root / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """host:port of a registry speaking TLS with a certificate from a test CA, and that CA."""
    if REGISTRY_BIN is None:
        _unavailable("the docker-registry binary is not installed (needed for the TLS tests)")
    root = tmp_path_factory.mktemp("tls-registry")
    ca, cert, key = _test_ca(root)
    proc, address = _start(root, tls=(cert, key, ca))
    try:
        yield address, ca
    finally:
        _stop(proc)


Kinds = Counter[str]


def _kind(method: str, url: str) -> str:
    path = urlsplit(url).path
    if path.endswith("/tags/list"):
        return "tag list"
    for part in ("manifests", "blobs/uploads", "blobs", "referrers"):
        if f"/{part}/" in path or path.endswith(f"/{part}/"):
            return f"{method} {part}"
    return f"{method} {path}"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Kinds]:
    """Every registry request this process sends, counted by kind."""
    kinds: Kinds = Counter()
    send = HttpClient.request

    def recording(self: HttpClient, method: str, url: str, **kwargs: Any) -> requests.Response:
        kinds[_kind(method, url)] += 1
        return send(self, method, url, **kwargs)

    monkeypatch.setattr(HttpClient, "request", recording)
    yield kinds
