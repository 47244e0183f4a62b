"""Caps on what an OCI store hands a verifier: a tag listing in total over all its pages,
envelopes per lookup, bytes read in total (real docker-registry; paging on the local fake)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.store import StoreLimitError, open_store
from gatekeeper.store.oci import OciStore
from tests.store._fake_registry import fake_registry
from tests.store._helpers import envelope, hexdigest, pipeline_in_registry, signer


def _open(uri: str) -> OciStore:
    store = open_store(uri, insecure=True)
    assert isinstance(store, OciStore)
    return store


def test_a_paged_tag_list_is_capped_in_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_registry(referrers=False, tag_page=2) as reg:
        uri = f"oci://127.0.0.1:{reg.port}/acme/app"
        store = _open(uri)
        key = signer(tmp_path)
        for run in range(4):
            store.put(*envelope(key, "build", {"app": hexdigest(f"app{run}")}, run_id=f"r{run}"))
        tags = store.client.list_tags()
        assert len(tags) > 6  # several pages of 2
        one_page = max(len(t) for t in tags) * 2 + 64
        # Every page is small; the listing as a whole is not.
        monkeypatch.setattr("gatekeeper.store._registry.MAX_LIST_BYTES", one_page * 2)
        with pytest.raises(StoreLimitError, match=r"larger than \d+ bytes in total"):
            _open(uri).client.list_tags()


def _verify(policy: Path, artifact: Path, uri: str) -> int:
    return main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            uri,
            "--insecure-registry",
            "--no-log",
            "--format",
            "json",
            str(artifact),
        ]
    )


def test_registry_caps_block_with_the_cap_named(
    oci_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    policy, artifact = pipeline_in_registry(oci_uri, tmp_path)
    capsys.readouterr()
    assert _verify(policy, artifact, oci_uri) == 0
    capsys.readouterr()
    # An artifact with no attestation is read stage by stage: the listing of the receipts
    # (a verify that passes on its subject's index lists no tags at all).
    unknown = tmp_path / "other.bin"
    unknown.write_bytes(b"never attested\n")
    cases = {
        "gatekeeper.store._registry.MAX_LIST_BYTES": (64, "tag list larger than 64 bytes", unknown),
        "gatekeeper.store.base.MAX_LOOKUP_ENVELOPES": (
            1,
            "more than the 1 one lookup reads",
            artifact,
        ),
        "gatekeeper.store.base.MAX_READ_BYTES": (100, "more than 100 bytes of envelopes", artifact),
    }
    for name, (value, needle, subject) in cases.items():
        with monkeypatch.context() as patch:
            patch.setattr(name, value)
            assert _verify(policy, subject, oci_uri) == 1, name
            reasons = json.loads(capsys.readouterr().out)["reasons"]
            assert [r["code"] for r in reasons] == ["verify/limit-exceeded"], name
            assert needle in reasons[0]["message"], name
