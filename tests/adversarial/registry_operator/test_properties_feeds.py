"""What a registry or an advisory feed serves, fuzzed: OSV records and image archives.

Any record or archive ends in a model or the reader's documented clean error, and the same
input gives the same output (hypothesis; seeds are small real files).
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.container.image import read_image
from gatekeeper.deps.osv import advisory_of, compact_affected, is_affected, parse_record
from gatekeeper.errors import InvalidInput
from tests.adversarial.mutation import inputs, same_result

OSV = json.dumps(
    {
        "schema_version": "1.6.0",
        "id": "GHSA-xxxx-yyyy-zzzz",
        "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2024-0001"],
        "summary": "bad",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}
                ],
                "versions": ["2.31.0"],
            },
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [
                    {
                        "type": "SEMVER",
                        "events": [{"introduced": "4.0.0"}, {"last_affected": "4.17.20"}],
                    }
                ],
            },
        ],
    }
)


# -- OSV records --------------------------------------------------------------------------------


@given(inputs(OSV) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_osv_records(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    same_result(lambda: parse_record("osv/x.json", raw), (InvalidInput,))
    try:
        record = parse_record("osv/x.json", raw)
    except InvalidInput:
        return
    advisory_of(record)
    for affected in record.affected:
        compact = compact_affected(affected)
        for version in ("0", "2.31.0", "4.17.21", "1.0.0-rc.1", "v1", "", "🙂"):
            for ecosystem in ("PyPI", "npm", "Go", "crates.io", "RubyGems", "Maven", "x"):
                notes: set[str] = set()
                assert is_affected(ecosystem, version, compact, notes) in (True, False)


# -- image archives ---------------------------------------------------------------------------

_MEMBER = st.fixed_dictionaries(
    {
        "name": st.sampled_from(
            [
                "manifest.json",
                "index.json",
                "oci-layout",
                "blobs/sha256/aa",
                "../evil",
                "/abs",
                "a/../../b",
                "config.json",
                "l/layer.tar",
                "",
            ]
        ),
        "type": st.sampled_from(
            [
                tarfile.REGTYPE,
                tarfile.SYMTYPE,
                tarfile.LNKTYPE,
                tarfile.DIRTYPE,
                tarfile.FIFOTYPE,
                tarfile.CHRTYPE,
            ]
        ),
        "data": st.binary(max_size=60)
        | st.sampled_from(
            [
                b'[{"Config": "config.json", "RepoTags": ["a:1"], "Layers": ["l/layer.tar"]}]',
                b'{"imageLayoutVersion": "1.0.0"}',
                b'{"schemaVersion": 2, "manifests": []}',
                b'{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}',
            ]
        ),
        "link": st.sampled_from(["/etc/passwd", "../x", "manifest.json", "l"]),
    }
)


def _tar(members: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"] or "x")
            info.type = m["type"]
            if m["type"] == tarfile.REGTYPE:
                info.size = len(m["data"])
                tar.addfile(info, io.BytesIO(m["data"]))
            else:
                info.linkname = m["link"]
                tar.addfile(info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from tests.container.imagebuild import write_docker_save

    path = tmp_path_factory.mktemp("img") / "image.tar"
    write_docker_save(path)
    data = path.read_bytes()
    assert read_image(f"docker-archive:{path}") is not None
    return data


@given(data=st.data())
def test_image_archives(
    real_archive: bytes, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if data.draw(st.booleans(), label="mutate the real archive"):
        raw = bytearray(real_archive)
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(raw) - 1))
            raw[pos] = data.draw(st.integers(0, 255))
        if data.draw(st.booleans(), label="truncate"):
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        blob = bytes(raw)
    else:
        blob = _tar(data.draw(st.lists(_MEMBER, max_size=6), label="members"))
    path = tmp_path_factory.mktemp("arch") / "image.tar"
    path.write_bytes(blob)
    same_result(lambda: read_image(f"docker-archive:{path}"), (InvalidInput,))
