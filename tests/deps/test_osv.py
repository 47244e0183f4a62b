"""OSV matching: ranges, withdrawn, aliases, severities, the indexed cache, and the API
(through a local HTTP server on 127.0.0.1 speaking the OSV API)."""

from __future__ import annotations

import json
import random
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.deps import osv as osv_mod
from gatekeeper.deps.cvss import base_score, cvss3_base_score, severity_of_score
from gatekeeper.deps.osv import database as osv_database
from gatekeeper.deps.osv import is_affected, match_packages, open_index
from gatekeeper.errors import InvalidInput
from gatekeeper.models.deps import Package
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.osv import OsvRecord


@pytest.fixture(autouse=True)
def _cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def rec(
    adv_id: str,
    ecosystem: str,
    name: str,
    *,
    ranges: list[dict[str, Any]] | None = None,
    versions: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}}
    if ranges is not None:
        affected["ranges"] = ranges
    if versions is not None:
        affected["versions"] = versions
    return {
        "schema_version": "1.6.0",
        "id": adv_id,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [affected],
        **extra,
    }


def eco_range(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


def pkg(
    ecosystem: str, name: str, version: str | None, file: str = "requirements.txt", line: int = 1
) -> Package:
    from gatekeeper.deps.common import package

    return package(ecosystem, name, version, file=file, line=line)  # type: ignore[arg-type]


def write_db(root: Path, records: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for record in records:
        (root / f"{record['id']}.json").write_text(json.dumps(record))
    return root


def affected(ecosystem: str, version: str, record: dict[str, Any]) -> bool:
    model = OsvRecord.model_validate(record)
    return is_affected(ecosystem, version, osv_mod.compact_affected(model.affected[0]), set())


# ------------------------------------------------------------------ range semantics


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0.0", False),
        ("1.2.0", True),
        ("1.9.9", True),
        ("1.10.0", True),
        ("2.0.0", False),
        ("2.0.0rc1", True),
        ("2.1", False),
    ],
)
def test_introduced_fixed_pep440(version: str, expected: bool) -> None:
    record = rec(
        "PYSEC-1", "PyPI", "django", ranges=[eco_range({"introduced": "1.2"}, {"fixed": "2.0.0"})]
    )
    assert affected("PyPI", version, record) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.0.1", True),
        ("1.4.0", True),
        ("1.4.1", False),
        ("3.0.0-beta.1", True),
        ("3.0.0", False),
    ],
)
def test_zero_last_affected_and_second_interval(version: str, expected: bool) -> None:
    record = rec(
        "GHSA-a",
        "npm",
        "x",
        ranges=[
            eco_range(
                {"introduced": "0"},
                {"last_affected": "1.4.0"},
                {"introduced": "3.0.0-alpha"},
                {"fixed": "3.0.0"},
            )
        ],
    )
    assert affected("npm", version, record) is expected


def test_limit_bounds_the_range() -> None:
    record = rec(
        "GHSA-l", "crates.io", "x", ranges=[eco_range({"introduced": "1.0.0"}, {"limit": "1.5.0"})]
    )
    assert affected("crates.io", "1.4.9", record)
    assert not affected("crates.io", "1.5.0", record)


def test_explicit_versions_list() -> None:
    record = rec("GHSA-v", "RubyGems", "rack", versions=["2.2.3", "2.2.4"])
    assert affected("RubyGems", "2.2.3", record)
    assert not affected("RubyGems", "2.2.5", record)


def test_semver_range_for_go_pseudo_versions() -> None:
    record = rec(
        "GO-2023-1",
        "Go",
        "golang.org/x/net",
        ranges=[eco_range({"introduced": "0"}, {"fixed": "0.7.0"}, kind="SEMVER")],
    )
    assert affected("Go", "v0.0.0-20230101000000-abcdef123456", record)
    assert affected("Go", "v0.6.0", record)
    assert not affected("Go", "v0.7.0", record)


def test_maven_ordering_in_ranges() -> None:
    record = rec(
        "GHSA-m",
        "Maven",
        "org.apache.logging.log4j:log4j-core",
        ranges=[eco_range({"introduced": "2.0-beta9"}, {"fixed": "2.15.0"})],
    )
    assert affected("Maven", "2.14.1", record)
    assert affected("Maven", "2.0", record)
    assert not affected("Maven", "2.0-alpha1", record)
    assert not affected("Maven", "2.15.0", record)


def test_git_ranges_are_ignored_with_a_note() -> None:
    record = rec(
        "OSV-g",
        "PyPI",
        "x",
        ranges=[{"type": "GIT", "repo": "https://g/x", "events": [{"introduced": "0"}]}],
    )
    notes: set[str] = set()
    model = OsvRecord.model_validate(record)
    assert not is_affected("PyPI", "1.0", osv_mod.compact_affected(model.affected[0]), notes)
    assert any("GIT ranges" in n for n in notes)


# ------------------------------------------------------------------ severities


def test_cvss3_known_scores() -> None:
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == 6.1
    assert cvss3_base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N") == 0.0
    assert severity_of_score(9.8) == "critical" and severity_of_score(6.1) == "medium"
    with pytest.raises(ValueError, match="metric"):
        cvss3_base_score("CVSS:3.1/AV:N/AC:L")


def test_cvss3_agrees_with_reference_library() -> None:
    cvss = pytest.importorskip("cvss")
    rng = random.Random(7)  # noqa: S311 - reproducible test vectors, not cryptography
    for _ in range(300):
        vector = "CVSS:3.1/" + "/".join(
            f"{m}:{rng.choice(vals)}"
            for m, vals in (
                ("AV", "NALP"),
                ("AC", "LH"),
                ("PR", "NLH"),
                ("UI", "NR"),
                ("S", "UC"),
                ("C", "HLN"),
                ("I", "HLN"),
                ("A", "HLN"),
            )
        )
        assert cvss3_base_score(vector) == float(cvss.CVSS3(vector).base_score), vector


def test_cvss4_score() -> None:
    pytest.importorskip("cvss")
    assert base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") == 9.3


def test_severity_sources() -> None:
    with_cvss = OsvRecord.model_validate(
        rec(
            "A",
            "PyPI",
            "x",
            severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
        )
    )
    assert osv_mod.advisory_of(with_cvss).severity == "medium"
    ghsa = OsvRecord.model_validate(
        rec("B", "PyPI", "x", database_specific={"severity": "MODERATE"})
    )
    assert osv_mod.advisory_of(ghsa).severity == "medium"
    bare = OsvRecord.model_validate(rec("C", "PyPI", "x"))
    assert osv_mod.advisory_of(bare).severity == "high"


# ------------------------------------------------------------------ the offline database


def _db(tmp_path: Path) -> Path:
    return write_db(
        tmp_path / "osv",
        [
            rec(
                "GHSA-1111-2222-3333",
                "PyPI",
                "Django",
                aliases=["CVE-2024-0001"],
                summary="SQL injection",
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.2.1"})],
                severity=[{"type": "CVSS_V3", "score": CRITICAL_VECTOR}],
            ),
            rec(
                "PYSEC-2024-1",
                "PyPI",
                "django",
                aliases=["CVE-2024-0001"],
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.2.1"})],
            ),
            rec(
                "PYSEC-2024-9",
                "PyPI",
                "django",
                withdrawn="2024-02-01T00:00:00Z",
                ranges=[eco_range({"introduced": "0"})],
            ),
            rec(
                "GHSA-npm",
                "npm",
                "lodash",
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.17.21"})],
            ),
        ],
    )


def test_aliases_merged_withdrawn_ignored(tmp_path: Path) -> None:
    vulns, source, notes = match_packages(
        [pkg("PyPI", "django", "4.2.0"), pkg("PyPI", "django", "4.2.1", line=2)],
        AuditOptions(osv_db=str(_db(tmp_path))),
    )
    assert len(vulns) == 1
    vuln = vulns[0]
    assert vuln.id == "GHSA-1111-2222-3333"
    assert vuln.aliases == ["CVE-2024-0001", "PYSEC-2024-1"]
    assert (vuln.severity, vuln.score, vuln.fixed) == ("critical", 9.8, ["4.2.1"])
    assert source is not None and source.startswith("db:dir-")
    assert notes == []


def test_index_is_built_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _cache_home: Path
) -> None:
    db = _db(tmp_path)
    index, built = open_index(db, _cache_home / "gatekeeper" / "osv")
    index.close()
    assert built

    def no_reading(_path: Path) -> Iterator[tuple[str, bytes]]:
        raise AssertionError("the warm run must not re-read the records")

    monkeypatch.setattr(osv_database, "_records", no_reading)
    index, built = open_index(db, _cache_home / "gatekeeper" / "osv")
    assert not built and index.lookup("npm", "lodash")
    index.close()
    monkeypatch.undo()
    # a changed database is a new digest: re-indexed
    (db / "GHSA-new.json").write_text(json.dumps(rec("GHSA-new", "npm", "ms", versions=["1.0.0"])))
    index, built = open_index(db, _cache_home / "gatekeeper" / "osv")
    assert built and index.lookup("npm", "ms")
    index.close()


def test_damaged_cache_is_rebuilt(tmp_path: Path, _cache_home: Path) -> None:
    db = _db(tmp_path)
    index, _ = open_index(db, _cache_home)
    index.close()
    index.path.write_bytes(b"garbage, not sqlite")
    index, built = open_index(db, _cache_home)
    assert built and index.lookup("npm", "lodash")
    index.close()


def test_zip_database(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "GHSA-npm.json",
            json.dumps(
                rec(
                    "GHSA-npm",
                    "npm",
                    "lodash",
                    ranges=[eco_range({"introduced": "0"}, {"fixed": "4.17.21"})],
                )
            ),
        )
    vulns, source, _ = match_packages(
        [pkg("npm", "lodash", "4.17.20", "package-lock.json")], AuditOptions(osv_db=str(archive))
    )
    assert [v.id for v in vulns] == ["GHSA-npm"] and source and source.startswith("db:zip-")


@pytest.mark.parametrize("kind", ["missing", "not-zip", "bad-json", "bad-record", "empty"])
def test_bad_database_is_invalid_input_naming_the_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "osv"
    if kind == "not-zip":
        target = tmp_path / "osv.zip"
        target.write_bytes(b"PK\x03\x04 this is not really a zip")
    elif kind == "bad-json":
        write_db(target, []).joinpath("BROKEN-1.json").write_text("{not json")
    elif kind == "bad-record":
        write_db(target, []).joinpath("BROKEN-2.json").write_text(
            json.dumps({"id": "X", "affected": [{"ranges": [{"type": "SEMVER", "events": [{}]}]}]})
        )
    elif kind == "empty":
        target.mkdir()
    with pytest.raises(InvalidInput) as info:
        match_packages([pkg("PyPI", "x", "1.0")], AuditOptions(osv_db=str(target)))
    assert str(target) in str(info.value)
    if kind.startswith("bad"):
        assert "BROKEN" in str(info.value)


def test_cli_check_with_osv_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("six==1.16.0\nDjango==4.2.0\n")
    code = main(
        ["check", str(repo), "--only", "deps", "--osv-db", str(_db(tmp_path)), "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["verdict"] == "block"
    vulns = [f for f in report["findings"] if f["rule"] == "deps/known-vulnerability"]
    assert len(vulns) == 1 and vulns[0]["line"] == 2 and vulns[0]["severity"] == "critical"
    assert "CVE-2024-0001" in vulns[0]["message"] and "PYSEC-2024-1" in vulns[0]["message"]


def test_cli_missing_db_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    code = main(["check", str(tmp_path), "--only", "deps", "--osv-db", str(tmp_path / "nope")])
    assert code == 2 and str(tmp_path / "nope") in capsys.readouterr().err


# ------------------------------------------------------------------ the API


class _OsvApi:
    """An OSV API on 127.0.0.1: /v1/querybatch (with one page token) and /v1/vulns/{id}."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = {r["id"]: r for r in records}
        self.batches: list[int] = []
        self.fetched: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/v1/querybatch":
                    self._send(404, {})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.batches.append(len(body["queries"]))
                results = []
                for query in body["queries"]:
                    hits = [r for r in api.records.values() if api.matches(r, query)]
                    # serve the hits one page at a time to exercise next_page_token
                    page = int(query.get("page_token") or 0)
                    result: dict[str, Any] = {}
                    if hits[page : page + 1]:
                        result["vulns"] = [
                            {"id": hits[page]["id"], "modified": hits[page]["modified"]}
                        ]
                    if page + 1 < len(hits):
                        result["next_page_token"] = str(page + 1)
                    results.append(result)
                self._send(200, {"results": results})

            def do_GET(self) -> None:
                adv_id = self.path.removeprefix("/v1/vulns/")
                api.fetched.append(adv_id)
                if adv_id in api.records:
                    self._send(200, api.records[adv_id])
                else:
                    self._send(404, {"code": 5, "message": "Bug not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def matches(record: dict[str, Any], query: dict[str, Any]) -> bool:
        package = query["package"]
        for aff in record["affected"]:
            if (
                aff["package"]["ecosystem"] == package["ecosystem"]
                and aff["package"]["name"] == package["name"]
            ):
                model = OsvRecord.model_validate(record)
                return is_affected(
                    package["ecosystem"],
                    query["version"],
                    osv_mod.compact_affected(model.affected[0]),
                )
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def osv_api() -> Iterator[_OsvApi]:
    api = _OsvApi(
        [
            rec(
                "GHSA-aaaa",
                "PyPI",
                "django",
                aliases=["CVE-2024-1"],
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.2.1"})],
                database_specific={"severity": "LOW"},
            ),
            rec(
                "PYSEC-bbbb",
                "PyPI",
                "django",
                aliases=["CVE-2024-1"],
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.2.1"})],
            ),
            rec(
                "GHSA-cccc",
                "npm",
                "lodash",
                ranges=[eco_range({"introduced": "0"}, {"fixed": "4.17.21"})],
            ),
        ]
    )
    yield api
    api.close()


def test_api_batches_pages_merges_and_caches(osv_api: _OsvApi) -> None:
    packages = [pkg("PyPI", "django", "4.2.0"), pkg("npm", "lodash", "4.17.20", "yarn.lock")]
    packages += [pkg("PyPI", f"filler-{i}", "1.0.0", line=i + 3) for i in range(1200)]
    vulns, source, _notes = match_packages(packages, AuditOptions(osv_api_url=osv_api.url))
    assert source == f"api:{osv_api.url}"
    assert {(v.name, v.id) for v in vulns} == {("django", "GHSA-aaaa"), ("lodash", "GHSA-cccc")}
    django = next(v for v in vulns if v.name == "django")
    assert django.aliases == ["CVE-2024-1", "PYSEC-bbbb"] and django.fixed == ["4.2.1"]
    # 1202 queries: a batch of 1000 (plus one follow-up page for django's second hit), then 202
    assert osv_api.batches == [1000, 1, 202]
    assert sorted(osv_api.fetched) == ["GHSA-aaaa", "GHSA-cccc", "PYSEC-bbbb"]
    osv_api.fetched.clear()
    match_packages(packages[:2], AuditOptions(osv_api_url=osv_api.url))
    assert osv_api.fetched == []  # records come from the cache (same id and modified)


def test_api_unreachable_is_an_error_unless_offline_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()  # nothing listens there any more
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    code = main(["check", str(tmp_path), "--only", "deps", "--osv-api", "--osv-api-url", dead])
    assert code == 2 and "unreachable" in capsys.readouterr().err
    code = main(
        [
            "check",
            str(tmp_path),
            "--only",
            "deps",
            "--osv-api",
            "--osv-api-url",
            dead,
            "--osv-offline-ok",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any(n.startswith("OSV API not consulted") for n in report["notes"])


def test_api_error_status_is_an_error(osv_api: _OsvApi) -> None:
    from gatekeeper.errors import CollectionError

    with pytest.raises(CollectionError, match="HTTP 404"):
        match_packages([pkg("PyPI", "x", "1.0")], AuditOptions(osv_api_url=osv_api.url + "/wrong"))


def test_warm_run_answers_from_the_match_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _cache_home: Path
) -> None:
    db = _db(tmp_path)
    packages = [pkg("PyPI", "django", "4.2.0"), pkg("npm", "lodash", "4.17.20", "yarn.lock")]
    first, _, _ = match_packages(packages, AuditOptions(osv_db=str(db)))

    def no_matching(*_args: Any, **_kwargs: Any) -> bool:
        raise AssertionError("a warm run on the same versions must not re-evaluate ranges")

    monkeypatch.setattr(osv_database, "is_affected", no_matching)
    second, _, _ = match_packages(packages, AuditOptions(osv_db=str(db)))
    assert second == first and len(first) == 2
    # a version not seen before is matched afresh (and would reach is_affected)
    with pytest.raises(AssertionError, match="re-evaluate"):
        match_packages([pkg("PyPI", "django", "4.1.0")], AuditOptions(osv_db=str(db)))


def test_damaged_memo_is_replaced(tmp_path: Path, _cache_home: Path) -> None:
    db = _db(tmp_path)
    packages = [pkg("PyPI", "django", "4.2.0")]
    first, _, _ = match_packages(packages, AuditOptions(osv_db=str(db)))
    memos = list((_cache_home / "gatekeeper" / "osv").glob("matches-*.sqlite"))
    assert len(memos) == 1
    memos[0].write_bytes(b"not a database at all" * 100)
    again, _, _ = match_packages(packages, AuditOptions(osv_db=str(db)))
    assert again == first


def test_unversioned_entries_are_named_in_the_notes(tmp_path: Path) -> None:
    _, _, notes = match_packages(
        [pkg("PyPI", "flask", None), pkg("PyPI", "six", "1.16.0")],
        AuditOptions(osv_db=str(_db(tmp_path))),
    )
    assert notes == [
        "OSV: 1 entry without one exact version could not be matched (see deps/unpinned)"
    ]


# ------------------------------------------------------------------ the source interface


def test_both_sources_answer_one_package_as_they_answer_many(
    tmp_path: Path, osv_api: _OsvApi, _cache_home: Path
) -> None:
    from gatekeeper.deps.osv import OsvDatabase
    from gatekeeper.deps.osv.api import OsvApi

    packages = [pkg("PyPI", "django", "4.2.0"), pkg("npm", "lodash", "4.17.20", "yarn.lock")]
    with (
        OsvDatabase(_db(tmp_path), _cache_home) as database,
        OsvApi(osv_api.url, _cache_home) as api,
    ):
        for source in (database, api):
            one_by_one = [v for p in packages for v in source.query(p).vulnerabilities]
            assert one_by_one == source.query_all(packages).vulnerabilities
            assert [v.id for v in one_by_one] == (
                ["GHSA-1111-2222-3333", "GHSA-npm"]
                if source is database
                else ["GHSA-aaaa", "GHSA-cccc"]
            )
    assert database.description.startswith("db:dir-") and api.description == f"api:{osv_api.url}"


def test_a_source_that_only_answers_one_query_gets_the_bulk_method_for_free() -> None:
    from gatekeeper.deps.osv import Matches, OsvSource

    class Static(OsvSource):
        description = "static:test"

        def query(self, package: Package) -> Matches:
            return Matches([], [f"asked about {package.name}"])

    with Static() as source:
        found = source.query_all([pkg("PyPI", "six", "1.16.0"), pkg("PyPI", "attrs", "23.1.0")])
    assert found == Matches([], ["asked about attrs", "asked about six"])


def test_source_errors_share_one_base_and_keep_their_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper.deps.osv import OsvApiError, OsvDatabaseError, OsvError
    from gatekeeper.errors import CollectionError, ExitCode

    monkeypatch.setattr(time, "sleep", lambda _s: None)

    with pytest.raises(OsvDatabaseError) as db_error:
        match_packages([pkg("PyPI", "x", "1.0")], AuditOptions(osv_db=tmp_path / "missing"))
    with pytest.raises(OsvApiError) as api_error:
        match_packages([pkg("PyPI", "x", "1.0")], AuditOptions(osv_api_url="http://127.0.0.1:9"))
    for exc in (db_error.value, api_error.value):
        assert isinstance(exc, OsvError) and exc.exit_code == ExitCode.USAGE
    assert isinstance(db_error.value, InvalidInput) and isinstance(api_error.value, CollectionError)
