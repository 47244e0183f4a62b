"""Code paths docker-registry 2.8 lacks, against a tiny local registry (_fake_registry.py):
the OCI 1.1 referrers API, bearer-token auth, retries, corrupted blobs, paginated tag lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.errors import StoreError
from gatekeeper.store import open_store
from gatekeeper.store._registry import TOKEN_ENV
from gatekeeper.store._registry_log import TAIL_TAG
from gatekeeper.store.oci import ENVELOPE_TYPE, OciStore, anchor_manifest
from gatekeeper.store.oci import digest_of as oci_digest
from tests.store._fake_registry import TOKEN, fake_registry
from tests.store._helpers import envelope, hexdigest, signer


def _open(port: int, repo: str = "acme/app") -> OciStore:
    store = open_store(f"oci://127.0.0.1:{port}/{repo}", insecure=True)
    assert isinstance(store, OciStore)
    store.client.http.sleep = lambda _s: None
    store.sleep = lambda _s: None
    return store


def test_referrers_api_is_used_when_the_registry_has_it(tmp_path: Path) -> None:
    with fake_registry(referrers=True) as reg:
        store = _open(reg.port)
        assert store.supports_referrers() is True
        app = hexdigest("app")
        data, keys = envelope(signer(tmp_path), "build", {"app": app})
        env_id = store.put(data, keys)
        # No fallback tags: the registry keeps the relation (it answered OCI-Subject). The
        # one tag is the decision log's (empty) tail, which readers find without a listing.
        assert set(reg.tags) == {TAIL_TAG}
        anchor = oci_digest(anchor_manifest("subject", f"sha256:{app}"))
        assert len(reg.subjects[anchor]) == 1
        referrer = json.loads(reg.manifests[reg.subjects[anchor][0]][0])
        assert referrer["artifactType"] == ENVELOPE_TYPE
        assert referrer["subject"]["digest"] == anchor

        reader = _open(reg.port)
        assert [e.id for e in reader.by_subject(f"sha256:{app}")] == [env_id]
        assert [e.id for e in reader.by_stage("build")] == [env_id]
        assert [e.id for e in reader.all()] == [env_id]
        assert reader.by_stage("scan") == []
        lookups = [path for method, path, _ in reg.requests if "/referrers/" in path]
        assert all("artifactType=application%2Fvnd.dsse.envelope.v1%2Bjson" in p for p in lookups)
        # A quick lookup asks the referrers API (and the index tag) only: no tag list.
        before = len(reg.requests)
        assert [e.id for e in reader.by_subject(f"sha256:{app}", complete=False)] == [env_id]
        quick = [path for _, path, _ in reg.requests[before:]]
        assert quick and all("/referrers/" in p or "/manifests/sha256-" in p for p in quick)


def test_referrers_of_other_artifact_types_are_not_candidates(tmp_path: Path) -> None:
    with fake_registry(referrers=True) as reg:
        store = _open(reg.port)
        app = hexdigest("app")
        data, keys = envelope(signer(tmp_path), "build", {"app": app})
        store.put(data, keys)
        # A signature artifact from another tool refers to the same anchor.
        anchor_bytes = anchor_manifest("subject", f"sha256:{app}")
        foreign = json.dumps(
            {
                "schemaVersion": 2,
                "artifactType": "application/vnd.dev.cosign",
                "subject": {"digest": oci_digest(anchor_bytes)},
            }
        ).encode()
        store.client.put_manifest(
            oci_digest(foreign), foreign, "application/vnd.oci.image.manifest.v1+json"
        )
        assert len(_open(reg.port).by_subject(f"sha256:{app}")) == 1


def test_fallback_when_the_registry_has_no_referrers_api(tmp_path: Path) -> None:
    with fake_registry(referrers=False, tag_page=3) as reg:
        store = _open(reg.port)
        assert store.supports_referrers() is False
        app = hexdigest("app")
        ids = set()
        for run in range(3):
            data, keys = envelope(signer(tmp_path), "build", {"app": app}, run_id=f"r{run}")
            ids.add(store.put(data, keys))
        assert any(tag.startswith("gkr-") for tag in reg.tags)  # receipts
        # tags/list is paginated by 3 here: every page is followed.
        assert len(reg.tags) > 3
        assert {e.id for e in _open(reg.port).by_subject(f"sha256:{app}")} == ids
        assert {e.id for e in _open(reg.port).by_stage("build")} == ids


@pytest.mark.parametrize("referrers", [True, False])
def test_a_blob_that_does_not_match_its_digest_is_refused(
    tmp_path: Path, referrers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_registry(referrers=referrers) as reg:
        store = _open(reg.port)
        for run in range(4):  # several envelopes: the lookup fetches them in parallel
            data, keys = envelope(
                signer(tmp_path), "build", {"app": hexdigest("app")}, run_id=f"r{run}"
            )
            store.put(data, keys)
        assert len(_open(reg.port).by_stage("build")) == 4
        reg.corrupt_blobs.add(oci_digest(data))
        from gatekeeper.store import oci

        monkeypatch.setattr(oci, "_CONTENT", oci._ContentCache(1 << 20))  # as a fresh process
        with pytest.raises(StoreError, match="does not match its digest"):
            _open(reg.port, "acme/app").by_stage("build")


def test_busy_registry_is_retried_with_retry_after(tmp_path: Path) -> None:
    with fake_registry(referrers=True) as reg:
        store = _open(reg.port)
        data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
        reg.fail_next = {"PUT": 2, "GET": 2, "HEAD": 1}
        store.put(data, keys)
        assert len(_open(reg.port).by_stage("build")) == 1
        assert reg.fail_next == {"PUT": 0, "GET": 0, "HEAD": 0}


def test_a_registry_that_stays_down_is_an_error_not_an_empty_answer(tmp_path: Path) -> None:
    with fake_registry(referrers=True) as reg:
        reg.fail_next = {"GET": 100}
        with pytest.raises(StoreError, match="HTTP 503"):
            _open(reg.port).by_stage("build")


def test_bearer_token_flow_with_credentials_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_registry(referrers=True, bearer=("deployer", "pw-123456")) as reg:
        monkeypatch.setenv("GATEKEEPER_REGISTRY_USERNAME", "deployer")
        monkeypatch.setenv("GATEKEEPER_REGISTRY_PASSWORD", "pw-123456")
        store = _open(reg.port)
        data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
        store.put(data, keys)
        assert len(store.by_stage("build")) == 1
        # The token was asked for with the challenge's service and scope, once.
        assert len(reg.token_requests) == 1
        query = reg.token_requests[0]["query"]
        assert query["service"] == ["fake-registry"]
        assert query["scope"] == ["repository:acme/app:pull,push"]
        # Every registry request after the first challenge carried the token.
        authorised = [
            h.get("Authorization") for _m, p, h in reg.requests if p.startswith("/v2/acme")
        ]
        assert authorised[-1] == f"Bearer {TOKEN}"


def test_bearer_flow_with_wrong_password_fails_without_leaking_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_registry(referrers=True, bearer=("deployer", "pw-123456")) as reg:
        monkeypatch.setenv("GATEKEEPER_REGISTRY_USERNAME", "deployer")
        monkeypatch.setenv("GATEKEEPER_REGISTRY_PASSWORD", "wrong-password-value")
        with pytest.raises(StoreError) as err:
            _open(reg.port).by_stage("build")
        assert "refused the credentials" in str(err.value)
        assert "wrong-password-value" not in str(err.value)


def test_anonymous_access_to_a_protected_registry_names_the_variables(tmp_path: Path) -> None:
    with fake_registry(referrers=True, bearer=("deployer", "pw-123456")) as reg:
        with pytest.raises(StoreError, match="GATEKEEPER_REGISTRY_USERNAME"):
            _open(reg.port).by_stage("build")


def test_a_static_registry_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_registry(referrers=True, bearer=("deployer", "pw-123456")) as reg:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        assert _open(reg.port).by_stage("build") == []
        assert reg.token_requests == []  # the token was used as is
        monkeypatch.setenv(TOKEN_ENV, "expired-token")
        with pytest.raises(StoreError, match=f"refused the credentials from {TOKEN_ENV}"):
            _open(reg.port).by_stage("build")


def test_token_endpoint_over_plain_http_is_refused_without_insecure_mode() -> None:
    from gatekeeper.store._registry import Credentials, RegistryClient, RegistryRef

    client = RegistryClient(
        RegistryRef("registry.example", "acme/app"),
        credentials=Credentials(
            username="u",
            password="p",  # noqa: S106
            source="test",
        ),
    )
    with pytest.raises(StoreError, match="not HTTPS"):
        client._fetch_token({"realm": "http://auth.example/token", "service": "x"})


def test_a_manifest_refused_for_a_blob_being_relinked_is_written_again(tmp_path: Path) -> None:
    with fake_registry(referrers=False) as reg:
        store = _open(reg.port)
        data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
        reg.blob_unknown_next = 2  # the race docker-registry 2.8 shows under concurrent uploads
        env_id = store.put(data, keys)
        assert [e.id for e in _open(reg.port).by_subject(keys.subjects[0])] == [env_id]
        # Any other refusal is an error at once, and so is this one when it persists.
        reg.blob_unknown_next = 10
        other, other_keys = envelope(signer(tmp_path), "test", {"lib": hexdigest("lib")})
        with pytest.raises(StoreError, match="HTTP 400: DIGEST_INVALID"):
            store.put(other, other_keys)
