"""Lookups by subject and by run read what names the key, not the whole store: in a
directory (real files in tmp_path) and in a registry (the local docker-registry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.store import IndexKeys, RunKey, open_store
from gatekeeper.store.oci import OciStore
from tests.store._helpers import envelope, hexdigest, signer
from tests.store.conftest import Kinds

RUN = RunKey("run-1", "a" * 40)
OTHER = RunKey("run-2", "a" * 40)


def _put(store_uri: str, tmp_path: Path, stage: str, name: str, run: RunKey) -> str:
    data, keys = envelope(signer(tmp_path), stage, {name: hexdigest(name)}, run_id=str(run.run_id))
    store = open_store(store_uri, insecure=True) if store_uri.startswith("oci://") else None
    return (store or open_store(store_uri)).put(
        data, IndexKeys(stage=keys.stage, subjects=keys.subjects, run=run)
    )


def test_run_key_names_run_commit_and_stage() -> None:
    keys = {
        RUN.index_key("build"),
        RUN.index_key("source"),
        OTHER.index_key("build"),
        RunKey("run-1", "b" * 40).index_key("build"),
        RunKey(None, None).index_key("build"),
    }
    assert len(keys) == 5
    assert RUN.index_key("build") == RunKey("run-1", "a" * 40).index_key("build")


def test_directory_by_run_finds_only_that_run_and_stage(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    mine = _put(uri, tmp_path, "build", "app", RUN)
    _put(uri, tmp_path, "build", "app2", OTHER)
    _put(uri, tmp_path, "source", "src", RUN)
    store = open_store(uri)
    assert [e.id for e in store.by_run(RUN, "build")] == [mine]
    assert store.by_run(RunKey("run-3", None), "build") == []


def test_directory_quick_subject_lookup_skips_only_subject_lists(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    # An envelope with more than 256 subjects is listed in a file, not one marker each.
    many = {f"f{i}": hexdigest(f"f{i}") for i in range(300)}
    data, keys = envelope(signer(tmp_path), "source", many)
    wide = open_store(uri).put(data, keys)
    narrow = _put(uri, tmp_path, "build", "f1", RUN)
    store = open_store(uri)
    digest = f"sha256:{hexdigest('f1')}"
    assert {e.id for e in store.by_subject(digest)} == {wide, narrow}
    assert [e.id for e in store.by_subject(digest, complete=False)] == [narrow]


def test_directory_envelopes_stored_without_a_run_are_not_in_the_run_index(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "store")
    data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
    env_id = open_store(uri).put(data, keys)  # keys.run is None: an older writer
    store = open_store(uri)
    assert store.by_run(RUN, "build") == []
    assert [e.id for e in store.by_stage("build")] == [env_id]


def test_registry_by_run_and_quick_subject_lookup_list_no_tags(
    oci_uri: str, tmp_path: Path, recorded: Kinds
) -> None:
    mine = _put(oci_uri, tmp_path, "build", "app", RUN)
    _put(oci_uri, tmp_path, "build", "app2", OTHER)
    reader = open_store(oci_uri, insecure=True)
    assert isinstance(reader, OciStore)
    recorded.clear()
    assert [e.id for e in reader.by_run(RUN, "build", complete=False)] == [mine]
    digest = f"sha256:{hexdigest('app')}"
    assert [e.id for e in reader.by_subject(digest, complete=False)] == [mine]
    assert "tag list" not in recorded
    # A complete lookup also reads the receipts (and so lists tags): same answer.
    assert [e.id for e in reader.by_subject(digest)] == [mine]
    assert recorded["tag list"]


@pytest.mark.parametrize("complete", [True, False])
def test_registry_by_run_of_an_unknown_run_is_empty(
    oci_uri: str, tmp_path: Path, complete: bool
) -> None:
    _put(oci_uri, tmp_path, "build", "app", RUN)
    reader = open_store(oci_uri, insecure=True)
    assert reader.by_run(OTHER, "build", complete=complete) == []
