"""HTTP basic auth against a real registry configured with an htpasswd file (bcrypt, made by
python bcrypt if installed, else apache2-utils' htpasswd): credentials from the environment
or the Docker config file, never from the command line, never in a message."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.store import open_store
from gatekeeper.store._registry import load_credentials
from tests.store._helpers import envelope, hexdigest, signer
from tests.store.conftest import PASSWORD, USER


def _uri(address: str) -> str:
    return f"oci://{address}/private/r{uuid.uuid4().hex[:10]}"


def test_without_credentials_the_registry_refuses_and_says_how(auth_registry: str) -> None:
    with pytest.raises(StoreError, match="requires authentication"):
        open_store(_uri(auth_registry), insecure=True).by_stage("build")


def test_basic_auth_from_the_environment(
    auth_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKEEPER_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("GATEKEEPER_REGISTRY_PASSWORD", PASSWORD)
    uri = _uri(auth_registry)
    data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
    env_id = open_store(uri, insecure=True).put(data, keys)
    assert [e.id for e in open_store(uri, insecure=True).by_stage("build")] == [env_id]


def test_wrong_password_is_refused_and_never_printed(
    auth_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKEEPER_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("GATEKEEPER_REGISTRY_PASSWORD", "not-the-password-42")
    with pytest.raises(StoreError) as err:
        open_store(_uri(auth_registry), insecure=True).by_stage("build")
    assert "refused the credentials" in str(err.value)
    assert "not-the-password-42" not in str(err.value)
    assert "not-the-password-42" not in repr(load_credentials(auth_registry))


def test_basic_auth_from_the_docker_config(
    auth_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config_dir / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "other.example": {"auth": base64.b64encode(b"x:y").decode()},
                    f"http://{auth_registry}": {"auth": auth},
                }
            }
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    uri = _uri(auth_registry)
    data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
    open_store(uri, insecure=True).put(data, keys)
    assert len(open_store(uri, insecure=True).by_stage("build")) == 1


def test_docker_config_for_another_host_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"auths": {"registry.example:5000": {"auth": base64.b64encode(b"a:b").decode()}}}
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert load_credentials("registry.example:5000") is not None
    assert load_credentials("registry.example") is None  # another port is another registry
    assert load_credentials("evil.example:5000") is None


def test_broken_credentials_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        load_credentials("r.example")
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.example": {"auth": "%%%"}}}))
    with pytest.raises(InvalidInput, match="not base64"):
        load_credentials("r.example")
    monkeypatch.setenv("GATEKEEPER_REGISTRY_USERNAME", "only-a-user")
    with pytest.raises(InvalidInput, match="must be set together"):
        load_credentials("r.example")
    monkeypatch.setenv("GATEKEEPER_REGISTRY_PASSWORD", "pw")
    monkeypatch.setenv("GATEKEEPER_REGISTRY_TOKEN", "tok")
    with pytest.raises(InvalidInput, match="not both"):
        load_credentials("r.example")
