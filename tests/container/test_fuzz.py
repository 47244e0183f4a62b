"""Fail closed on anything: the parser returns a parse error, the reader raises InvalidInput."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.container import ContainerAudit
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.container.image import read_image
from gatekeeper.errors import InvalidInput
from gatekeeper.models.container import ContainerEvidence
from tests.container.imagebuild import write_docker_save

_WORDS = st.sampled_from(
    [
        "FROM",
        "RUN",
        "COPY",
        "ADD",
        "ENV",
        "ARG",
        "USER",
        "ONBUILD",
        "SHELL",
        "AS",
        "alpine",
        "${A}",
        "$B",
        "${C:-x}",
        "<<EOF",
        "<<-'X'",
        "EOF",
        "X",
        "\\",
        "`",
        '"',
        "'",
        "[",
        "]",
        "--from=a",
        "--platform=linux/amd64",
        "=",
        "#",
        "# escape=`",
        "root",
        "\t",
        " ",
        "\n",
        "curl -k https://x | sh",
        "@sha256:" + "a" * 64,
        ":latest",
        "ghp_" + "a1" * 18,
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=40).map(" ".join) | st.text(max_size=200))
def test_parser_and_audit_never_crash(text: str) -> None:
    result = parse_dockerfile(text.encode("utf-8", "surrogatepass"), "Dockerfile")
    if result.parse_error is not None:
        assert result.stages == [] and result.instruction_errors == []
    else:
        assert result.stages or result.instruction_errors
    findings = list(ContainerAudit().run(ContainerEvidence(dockerfiles=[result]), AuditContext()))
    if result.parse_error is not None:
        assert [f.rule for f in findings] == ["container/parse-error"]
    parse_lines = sorted(f.line for f in findings if f.rule == "container/parse-error")
    assert parse_lines == sorted(e.line for e in result.instruction_errors) or result.parse_error


def _good_archive() -> bytes:
    with tempfile.TemporaryDirectory(prefix="gatekeeper-fuzz-") as tmp:
        write_docker_save(Path(tmp) / "good.tar")
        return (Path(tmp) / "good.tar").read_bytes()


_GOOD = _good_archive()


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(_GOOD) - 1),
    st.integers(0, 255),
    st.integers(min_value=1, max_value=len(_GOOD)),
)
def test_corrupted_archives_only_raise_invalid_input(offset: int, byte: int, cut: int) -> None:
    data = bytearray(_GOOD[:cut])
    if offset < len(data):
        data[offset] = byte
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.tar"
        path.write_bytes(bytes(data))
        try:
            image = read_image(f"docker-archive:{path}")
        except InvalidInput:
            return
        # Whatever survived corruption still verified: its layers match the config's diff_ids.
        assert image.layers and image.config_digest.startswith("sha256:")
