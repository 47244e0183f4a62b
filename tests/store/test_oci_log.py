"""The decision log kept in an OCI registry: one artifact per entry under a never-reused tag;
concurrent verifies may write siblings, which the next append adopts; `log verify` checks it."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.models.decision import (
    GENESIS,
    DecisionEntry,
    LoggedSubject,
    entry_line,
    line_digest,
)
from gatekeeper.store import Decision, open_store
from gatekeeper.store._registry import MANIFEST_TYPE
from gatekeeper.store._registry_log import (
    HEAL_EVERY,
    LOG_TYPE,
    TAIL_TAG,
    OciDecisionLog,
    log_tag,
)
from gatekeeper.store.oci import EMPTY_DESCRIPTOR, canonical
from gatekeeper.verify import verify_lines
from tests.store.conftest import Kinds

ROOT = Path(__file__).resolve().parents[2]


def _decision(name: str, uri: str, verdict: str = "pass") -> Decision:
    return Decision(
        time=datetime.now(UTC),
        verdict=verdict,
        policy="release",  # type: ignore[arg-type]
        policy_digest="sha256:" + "b" * 64,
        subjects=[LoggedSubject(name=name, digest="sha256:" + "a" * 64)],
        reasons=[],
        attestations=[],
        store=uri,
    )


def _log(uri: str) -> OciDecisionLog:
    log = open_store(uri, insecure=True).decision_log()
    assert isinstance(log, OciDecisionLog)
    return log


def test_appends_chain_and_verify(oci_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(oci_uri)
    first = log.append(_decision("one", oci_uri))
    second = log.append(_decision("two", oci_uri, "block"))
    assert (first.entry.seq, first.entry.prev) == (0, GENESIS)
    assert (second.entry.seq, second.entry.prev) == (1, first.digest)
    lines = _log(oci_uri).lines()
    assert [line_digest(line) for line in lines] == [first.digest, second.digest]
    assert main(["log", "verify", "--store", oci_uri, "--insecure-registry"]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert main(["log", "show", "--store", oci_uri, "--insecure-registry", "--format", "text"]) == 0
    assert "block" in capsys.readouterr().out.splitlines()[1]


def _write_entry(log: OciDecisionLog, entry: DecisionEntry, *, tail: bool = True) -> str:
    """Write an entry as an append does (``tail``: and record it in the log's tail, as this
    version does; without: as a gatekeeper from before the tail did)."""
    line = entry_line(entry)
    log.client.push_blob(b"{}")
    digest = log.client.push_blob(line)
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": LOG_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [{"mediaType": LOG_TYPE, "digest": digest, "size": len(line)}],
        }
    )
    log.client.put_manifest(log_tag(entry.seq, digest), manifest, MANIFEST_TYPE)
    if tail:
        log._register(entry.seq, digest, len(line))
    return digest


def test_concurrent_siblings_are_adopted_by_the_next_append(oci_uri: str) -> None:
    log = _log(oci_uri)
    head = log.append(_decision("zero", oci_uri))
    # Two verifies read the log at the same moment and both wrote entry 1.
    sibling_a = _write_entry(log, _decision("a", oci_uri).entry(1, head.digest))
    sibling_b = _write_entry(log, _decision("b", oci_uri).entry(1, head.digest))
    report = verify_lines(log.lines())
    assert report.ok and len(report.notes) == 1  # one sibling is off the chain, said so
    nxt = log.append(_decision("c", oci_uri))
    assert nxt.entry.seq == 2
    assert {nxt.entry.prev, *nxt.entry.merged} == {sibling_a, sibling_b}
    report = verify_lines(_log(oci_uri).lines())
    assert report.ok and report.notes == []


def test_entries_written_without_the_tail_are_adopted_when_it_is_healed(oci_uri: str) -> None:
    log = _log(oci_uri)
    head = log.append(_decision("zero", oci_uri))
    # A gatekeeper from before the tail wrote entry 1 (and knows nothing of the tail).
    older = _write_entry(log, _decision("older", oci_uri).entry(1, head.digest), tail=False)
    # The tail was healed a moment ago: the next append trusts it and misses entry 1 ...
    missed = _log(oci_uri).append(_decision("a", oci_uri))
    assert (missed.entry.seq, missed.entry.prev, missed.entry.merged) == (1, head.digest, [])
    # ... and the first append after HEAL_EVERY reads the log tags and adopts it.
    later = _log(oci_uri)
    later.now = lambda: time.time() + HEAL_EVERY + 1
    healed = later.append(_decision("b", oci_uri))
    assert healed.entry.seq == 2
    assert {healed.entry.prev, *healed.entry.merged} == {missed.digest, older}
    report = verify_lines(_log(oci_uri).lines())
    assert report.ok and report.notes == []


def test_a_log_without_a_tail_is_read_from_its_tags(oci_uri: str) -> None:
    log = _log(oci_uri)
    first = _write_entry(log, _decision("zero", oci_uri).entry(0, GENESIS), tail=False)
    assert log.client.get_manifest(TAIL_TAG) is None
    nxt = _log(oci_uri).append(_decision("one", oci_uri))
    assert (nxt.entry.seq, nxt.entry.prev) == (1, first)
    assert log.client.get_manifest(TAIL_TAG) is not None


def test_a_verify_reads_the_tail_not_the_tag_list(oci_uri: str, recorded: Kinds) -> None:
    log = _log(oci_uri)
    for i in range(3):
        log.append(_decision(str(i), oci_uri))
    reader = _log(oci_uri)
    recorded.clear()
    assert reader.marks() == {}
    reader.append(_decision("3", oci_uri))
    assert "tag list" not in recorded


def test_a_removed_entry_is_detected(oci_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(oci_uri)
    appended = [log.append(_decision(str(i), oci_uri)) for i in range(3)]
    # Deleting the middle entry's manifest removes its tag (registry delete is enabled).
    middle_tag = log_tag(1, appended[1].digest)
    manifest = log.client.get_manifest(middle_tag)
    assert manifest is not None
    response = log.client.request("DELETE", f"{log.client.base}/manifests/{manifest.digest}")
    assert response.status_code == 202
    assert main(["log", "verify", "--store", oci_uri, "--insecure-registry"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out and "not in the log: it was removed or edited" in out


def test_an_edited_entry_under_a_new_tag_is_detected(oci_uri: str) -> None:
    log = _log(oci_uri)
    first = log.append(_decision("one", oci_uri, "block"))
    log.append(_decision("two", oci_uri))
    # Replace entry 0 by an edited copy (its tag must change with its digest).
    forged = DecisionEntry.model_validate_json(_log(oci_uri).lines()[0]).model_copy(
        update={"verdict": "pass"}
    )
    _write_entry(log, forged)
    response = log.client.request(
        "DELETE",
        f"{log.client.base}/manifests/{log.client.get_manifest(log_tag(0, first.digest)).digest}",
    )  # type: ignore[union-attr]
    assert response.status_code == 202
    report = verify_lines(_log(oci_uri).lines())
    assert not report.ok
    assert "not in the log" in report.problems[0].message


_APPENDER = r"""
import sys
from datetime import UTC, datetime
from gatekeeper.models.decision import LoggedSubject
from gatekeeper.store import Decision, open_store
uri = sys.argv[1]
log = open_store(uri, insecure=True).decision_log()
for i in range(int(sys.argv[2])):
    log.append(Decision(time=datetime.now(UTC), verdict="pass", policy="p", policy_digest=None,
                        subjects=[LoggedSubject(name=f"{sys.argv[3]}-{i}",
                                                digest="sha256:" + "a" * 64)],
                        reasons=[], attestations=[], store=uri))
"""


def test_concurrent_appenders_lose_nothing_and_the_log_verifies(oci_uri: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, oci_uri, "3", f"p{n}"], cwd=ROOT)
        for n in range(5)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 5
    lines = _log(oci_uri).lines()
    assert len(lines) == 15
    names = {DecisionEntry.model_validate_json(line).subjects[0].name for line in lines}
    assert len(names) == 15
    report = verify_lines(lines)
    assert report.ok, report.problems
    # One more append adopts whatever is still off the chain: the log is one DAG again.
    _log(oci_uri).append(_decision("last", oci_uri))
    final = verify_lines(_log(oci_uri).lines())
    assert final.ok and final.notes == []


def test_verify_appends_to_the_registry_log(
    tmp_path: Path,
    oci_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["keygen", "ci"]) == 0
    Path("policy.yaml").write_text(
        "version: 1\nname: release\nexpires: 2099-01-01T00:00:00Z\nkeys:\n  ci: ci.pub\n"
        "stages:\n  - name: build\n    signed_by: [ci]\n"
    )
    Path("app.bin").write_bytes(b"binary")
    assert (
        main(
            [
                "attest",
                "--stage",
                "build",
                "--key",
                "ci",
                "--product",
                "app.bin",
                "--store",
                oci_uri,
                "--insecure-registry",
            ]
        )
        == 0
    )
    for _ in range(2):
        assert (
            main(
                [
                    "verify",
                    "--policy",
                    "policy.yaml",
                    "--store",
                    oci_uri,
                    "--insecure-registry",
                    "--format",
                    "json",
                    "app.bin",
                ]
            )
            == 0
        )
    assert "log head sha256:" in capsys.readouterr().err
    lines = _log(oci_uri).lines()
    assert [DecisionEntry.model_validate_json(line).verdict for line in lines] == ["pass", "pass"]
    assert verify_lines(lines).ok


def test_policy_serials_are_remembered_across_siblings(oci_uri: str) -> None:
    from dataclasses import replace

    from gatekeeper.models.decision import PolicyMark

    def mark(serial: int) -> tuple[str, PolicyMark]:
        return ("release", PolicyMark(serial=serial, digest="sha256:" + f"{serial:x}" * 64))

    log = _log(oci_uri)
    log.append(replace(_decision("one", oci_uri), policy_mark=mark(3)))
    head = log.append(_decision("two", oci_uri))  # a decision under no serial carries it on
    assert head.entry.policies is not None and head.entry.policies["release"].serial == 3
    # Two verifies wrote sequence number 2 at once, one of them under serial 7.
    sibling = DecisionEntry(
        seq=2,
        prev=head.digest,
        time=datetime.now(UTC),
        verdict="pass",
        store=oci_uri,
        policies={"release": mark(7)[1]},
    )
    _write_entry(log, sibling)
    log.append(_decision("three", oci_uri))
    assert _log(oci_uri).marks()["release"].serial == 7
    assert verify_lines(_log(oci_uri).lines()).ok
