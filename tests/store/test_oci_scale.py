"""What a push and a verify cost in requests, whatever the size of the repository, on a real
docker-registry 2.8 (which ignores ``n``/``last``: any tag listing is the whole list, growing
with every attestation). Requests are counted by kind at the HTTP layer; and the index
healing that replaced the periodic listing is exercised with the race it must survive."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.models.decision import GENESIS
from gatekeeper.store import IndexKeys, RunKey, _registry, open_store
from gatekeeper.store._registry import INDEX_TYPE, digest_of
from gatekeeper.store._registry_log import HEAL_EVERY, TAIL_TAG
from gatekeeper.store.oci import OciStore, anchor_manifest, index_tag
from tests.store._helpers import envelope, hexdigest, pipeline_in_registry, signer
from tests.store.conftest import Kinds


def _open(uri: str) -> OciStore:
    store = open_store(uri, insecure=True)
    assert isinstance(store, OciStore)
    return store


def _keys(subject: str, stage: str, run: str) -> IndexKeys:
    return IndexKeys(stage=stage, subjects=(f"sha256:{subject}",), run=RunKey(run, "a" * 40))


def test_a_push_costs_the_same_requests_at_any_size_and_lists_no_tags(
    oci_uri: str, tmp_path: Path, recorded: Kinds
) -> None:
    key = signer(tmp_path)
    writer = _open(oci_uri)
    writer.sleep = lambda _s: None  # the recheck's wait: time, not requests
    costs = []
    for n in range(12):
        data, _ = envelope(key, "build", {"app": hexdigest(f"app{n}")}, run_id=f"r{n}")
        recorded.clear()
        writer.put(data, _keys(hexdigest(f"app{n}"), "build", f"r{n}"))
        costs.append(dict(recorded))
    # The first push of a store also checks the decision log's tail (and writes it, with
    # the only listing: of a repository holding nothing yet); every later push is alike.
    assert costs[0]["tag list"] >= 1
    assert all("tag list" not in cost for cost in costs[1:])
    assert costs[1] == costs[-1], (costs[1], costs[-1])
    # A new writer process pushing into the grown repository lists nothing either.
    recorded.clear()
    data, _ = envelope(key, "build", {"app": hexdigest("late")}, run_id="late")
    _open(oci_uri).put(data, _keys(hexdigest("late"), "build", "late"))
    assert "tag list" not in recorded


def test_a_verify_lists_no_tags(
    oci_uri: str, tmp_path: Path, recorded: Kinds, capsys: pytest.CaptureFixture[str]
) -> None:
    policy, _ = pipeline_in_registry(oci_uri, tmp_path, runs=("r1", "r2", "r3"))
    argv = ["verify", "--policy", str(policy), "--store", oci_uri, "--insecure-registry"]
    capsys.readouterr()
    recorded.clear()
    # No decision logged yet: the tail written by the first attest says so.
    assert main([*argv, "--no-log", str(tmp_path / "app.bin")]) == 0
    assert "tag list" not in recorded, recorded
    recorded.clear()
    assert main([*argv, str(tmp_path / "app.bin")]) == 0  # and one that logs its decision
    assert "tag list" not in recorded, recorded


def test_a_registry_that_ignores_paging_is_listed_once(
    oci_uri: str, tmp_path: Path, recorded: Kinds, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, keys = envelope(signer(tmp_path), "build", {"app": hexdigest("app")})
    env_id = _open(oci_uri).put(data, keys)
    monkeypatch.setattr(_registry, "_PAGING", {})  # a new process
    recorded.clear()
    # A complete lookup reads the receipts: the paged attempt's answer (docker-registry 2.8
    # answers every tag) is the listing; no second request for the same list.
    assert [e.id for e in _open(oci_uri).by_stage("build")] == [env_id]
    assert recorded["tag list"] == 1
    # And the process remembers that this registry does not page: no attempt any more.
    assert _registry._PAGING == {_open(oci_uri).client.origin: False}
    recorded.clear()
    assert [e.id for e in _open(oci_uri).by_subject(keys.subjects[0])] == [env_id]
    assert recorded["tag list"] == 1


def _index(store: OciStore, subject: str) -> set[str]:
    anchor = digest_of(anchor_manifest("subject", f"sha256:{subject}"))
    got = store.client.get_manifest(index_tag(anchor))
    assert got is not None
    return {e["annotations"]["dev.gatekeeper.envelope"] for e in json.loads(got.data)["manifests"]}


def test_an_entry_overwritten_before_the_recheck_is_written_again(
    oci_uri: str, tmp_path: Path, recorded: Kinds
) -> None:
    key = signer(tmp_path)
    app = hexdigest("app")
    first, _ = envelope(key, "build", {"app": app}, run_id="r1")
    _open(oci_uri).put(first, _keys(app, "build", "r1"))
    writer = _open(oci_uri)
    tag = index_tag(digest_of(anchor_manifest("subject", f"sha256:{app}")))
    before = writer.client.get_manifest(tag)
    assert before is not None
    overwritten: list[float] = []

    def late_writer(seconds: float) -> None:
        # A writer that read the index before our write puts it back just after we read
        # our entry back: the entry is gone until the recheck.
        if not overwritten and seconds > 0:
            writer.client.put_manifest(tag, before.data, INDEX_TYPE)
            overwritten.append(seconds)

    writer.sleep = late_writer
    second, _ = envelope(key, "test", {"app": app}, run_id="r1")
    recorded.clear()
    writer.put(second, _keys(app, "test", "r1"))
    assert overwritten
    assert _index(writer, app) == {digest_of(first), digest_of(second)}
    assert "tag list" not in recorded  # the writer's own write was not slow: no healing


@pytest.mark.parametrize("slow", [True, False])
def test_a_slow_write_heals_the_entries_it_may_have_removed(
    oci_uri: str,
    tmp_path: Path,
    recorded: Kinds,
    monkeypatch: pytest.MonkeyPatch,
    slow: bool,
) -> None:
    key = signer(tmp_path)
    app = hexdigest("app")
    tag = index_tag(digest_of(anchor_manifest("subject", f"sha256:{app}")))
    late = _open(oci_uri)
    late.put(*envelope(key, "build", {"other": hexdigest("other")}, run_id="r0"))
    late.sleep = lambda _s: None
    # This writer read the index (none yet) long ago; meanwhile another writer added its
    # entry and checked it twice; then this writer's write lands.
    stale = [True]
    read = late.client.get_manifest

    def stale_first_read(reference: str) -> Any:
        if reference == tag and stale:
            stale.clear()
            return None
        return read(reference)

    first, _ = envelope(key, "build", {"app": app}, run_id="r1")
    _open(oci_uri).put(first, _keys(app, "build", "r1"))
    monkeypatch.setattr(late.client, "get_manifest", stale_first_read)
    monkeypatch.setattr("gatekeeper.store.oci.SLOW_WRITE", -1.0 if slow else 3600.0)
    second, _ = envelope(key, "test", {"app": app}, run_id="r1")
    recorded.clear()
    late.put(second, _keys(app, "test", "r1"))
    if slow:
        # The write took longer than a recheck waits: the writer heals from the receipts.
        assert _index(late, app) == {digest_of(first), digest_of(second)}
        assert recorded["tag list"] >= 1
    else:
        # (What the healing is for: without it the other writer's entry stays lost.)
        assert _index(late, app) == {digest_of(second)}
        assert "tag list" not in recorded


def test_a_push_writes_the_missing_tail_of_an_older_log(
    oci_uri: str, tmp_path: Path, recorded: Kinds
) -> None:
    from tests.store.test_oci_log import _decision, _log, _write_entry

    # A log written by a gatekeeper from before the tail: entries, no tail.
    older = _write_entry(_log(oci_uri), _decision("older", oci_uri).entry(0, GENESIS), tail=False)
    store = _open(oci_uri)
    assert store.client.get_manifest(TAIL_TAG) is None
    store.put(*envelope(signer(tmp_path), "build", {"app": hexdigest("app")}))
    tail = store.client.get_manifest(TAIL_TAG)
    assert tail is not None
    notes = [e["annotations"] for e in json.loads(tail.data)["manifests"]]
    assert [n["dev.gatekeeper.log.line"] for n in notes] == [older]
    # A verify's rollback check reads the entry from the tail, without a listing, and the
    # next decision is chained after it.
    recorded.clear()
    assert _log(oci_uri).marks() == {}
    assert "tag list" not in recorded
    appended = _log(oci_uri).append(_decision("next", oci_uri))
    assert (appended.entry.seq, appended.entry.prev) == (1, older)


def test_a_read_does_not_heal_the_tail_periodically(oci_uri: str, recorded: Kinds) -> None:
    from tests.store.test_oci_log import _decision, _log

    _log(oci_uri).append(_decision("zero", oci_uri))
    reader = _log(oci_uri)
    reader.now = lambda: time.time() + HEAL_EVERY + 1
    recorded.clear()
    reader.marks()
    assert "tag list" not in recorded  # a read cannot write a heal back: it would list always
    recorded.clear()
    reader.append(_decision("one", oci_uri))
    assert recorded["tag list"] == 1  # an append heals, and writes that back
