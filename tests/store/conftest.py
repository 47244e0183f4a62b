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
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REGISTRY_BIN = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None)
USER, PASSWORD = "ci-bot", "s3cret-pa55word"


def _unavailable(reason: str) -> None:
    if os.environ.get("GATEKEEPER_REQUIRE_REGISTRY"):
        pytest.fail(f"GATEKEEPER_REQUIRE_REGISTRY is set but {reason}")
    pytest.skip(f"!!! OCI REGISTRY TESTS SKIPPED: {reason} (apt-get install docker-registry) !!!")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(root: Path, htpasswd: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    assert REGISTRY_BIN is not None
    port = _free_port()
    auth = ""
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: gatekeeper-test\n    path: {htpasswd}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth}"
    )
    with open(root / "registry.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=log,  # noqa: S603
                                stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
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
        _unavailable("the docker-registry binary is not installed and GATEKEEPER_TEST_REGISTRY "
                     "is not set")
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
        out = subprocess.run([tool, "-Bbn", USER, PASSWORD], check=True,  # noqa: S603
                             capture_output=True, text=True).stdout
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
    for name in ("GATEKEEPER_REGISTRY_USERNAME", "GATEKEEPER_REGISTRY_PASSWORD",
                 "GATEKEEPER_REGISTRY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
