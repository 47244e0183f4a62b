"""Network services that fail: an OCI registry, the OSV API or the GitHub API that refuses
connections or accepts them and never answers.

Every failure must end in a clear error and a non-zero exit after bounded retries, never a
hang and never a pass.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gatekeeper._http import HttpClient
from gatekeeper.cli import main
from tests.harness import Pipeline


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _silent_server() -> Iterator[tuple[int, list[int]]]:
    """Accepts connections and never answers; yields (port, accepted-connection counter)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            accepted.append(1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1]), accepted
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def fast_http(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every HttpClient built from here on: 0.5 s timeouts, and sleeps recorded, not slept."""
    defaults = dict(HttpClient.__init__.__kwdefaults__ or {})
    defaults["timeout"] = (0.5, 0.5)
    monkeypatch.setattr(HttpClient.__init__, "__kwdefaults__", defaults)
    slept: list[float] = []
    real_init = HttpClient.__init__

    def init(self: HttpClient, **kwargs: Any) -> None:
        real_init(self, **kwargs)
        self.sleep = slept.append

    monkeypatch.setattr(HttpClient, "__init__", init)
    init.__kwdefaults__ = defaults  # type: ignore[attr-defined]
    return slept


def test_http_client_dead_port_fails_after_bounded_retries(fast_http: list[float]) -> None:
    port = _dead_port()
    client = HttpClient(retries=3, backoff=0.5)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        client.get = None  # type: ignore[attr-defined]
        client.request("GET", f"http://127.0.0.1:{port}/")
    assert fast_http == [0.5, 1.0, 2.0]  # three retries, bounded backoff
    assert time.monotonic() - started < 5


def test_http_client_silent_server_times_out(fast_http: list[float]) -> None:
    with _silent_server() as (port, accepted):
        client = HttpClient(retries=2, backoff=0.1)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            client.request("GET", f"http://127.0.0.1:{port}/v1/query")
        elapsed = time.monotonic() - started
    assert len(accepted) == 3  # one try and two retries, each cut by the read timeout
    assert elapsed < 3 * 0.5 + 2
    assert fast_http == [0.1, 0.2]


def test_default_http_timeouts_are_finite() -> None:
    client = HttpClient()
    connect, read = client.timeout
    assert 0 < connect <= 30 and 0 < read <= 60
    worst = (client.retries + 1) * (connect + read) + sum(
        client.backoff * 2**i for i in range(client.retries)
    )
    assert worst < 300  # the longest any single request can take with the defaults


@pytest.mark.parametrize("server", ["dead", "silent"])
def test_osv_api_unreachable_blocks(
    git_repo: Any,
    tmp_path: Path,
    fast_http: list[float],
    server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import commit_files

    commit_files(git_repo, {"requirements.txt": "requests==2.31.0\n"}, "deps")
    out = tmp_path / "r.json"
    with _silent_server() as (silent_port, _):
        port = _dead_port() if server == "dead" else silent_port
        started = time.monotonic()
        code = main(
            [
                "check",
                str(git_repo.working_tree_dir),
                "--only",
                "deps",
                "--osv-api",
                "--osv-api-url",
                f"http://127.0.0.1:{port}",
                "--format",
                "json",
                "--output",
                str(out),
            ]
        )
        assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err
    text = (out.read_text() if out.exists() else "") + err
    assert "querybatch: unreachable" in text or "timed out" in text.lower(), text


@pytest.mark.parametrize("server", ["dead", "silent"])
def test_oci_store_unreachable_blocks(
    pipeline: Pipeline, fast_http: list[float], server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.build_artifact()
    with _silent_server() as (silent_port, _):
        port = _dead_port() if server == "dead" else silent_port
        started = time.monotonic()
        code = main(
            [
                "verify",
                "--no-log",
                "--insecure-registry",
                "--policy",
                str(pipeline.policy_path),
                "--store",
                f"oci://127.0.0.1:{port}/attest",
                "--format",
                "json",
                str(artifact),
            ]
        )
        assert time.monotonic() - started < 30
        out = capsys.readouterr()
        assert code != 0
        assert '"verdict": "block"' in out.out or "error" in out.err
        code = main(
            [
                "attest",
                "--stage",
                "source",
                "--key",
                pipeline.key("ci"),
                "--repo",
                str(pipeline.repo_path),
                "--insecure-registry",
                "--store",
                f"oci://127.0.0.1:{port}/attest",
                "--product",
                "src/**",
            ]
        )
        assert code != 0
        assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("server", ["dead", "silent"])
def test_github_api_unreachable_blocks(
    git_repo: Any,
    tmp_path: Path,
    fast_http: list[float],
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import commit_files

    base = git_repo.head.commit.hexsha
    commit_files(git_repo, {"app.py": "print(1)\n"}, "change")
    with _silent_server() as (silent_port, _):
        port = _dead_port() if server == "dead" else silent_port
        monkeypatch.setenv("GITHUB_TOKEN", "ghs_" + "x" * 36)
        monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
        started = time.monotonic()
        code = main(
            [
                "pr-check",
                str(git_repo.working_tree_dir),
                "--base",
                base,
                "--github-repository",
                "acme/app",
                "--pr",
                "7",
                "--format",
                "json",
                "--output",
                str(tmp_path / "pr.json"),
            ]
        )
        assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err
