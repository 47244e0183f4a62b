"""Cloud and HSM SDKs are imported when a key needs them (gatekeeper/_sdk_imports.py).

Each case runs in a fresh interpreter: what it checks is the state of ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gatekeeper.attest.keys import write_keypair


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_deferred_aws_signer_is_made_whole_when_a_key_needs_it() -> None:
    pytest.importorskip("boto3")
    proc = _python(
        """
        import sys
        from gatekeeper._sdk_imports import defer, enable
        defer()
        import securesystemslib.signer as signer
        owner = "securesystemslib.signer._aws_signer"
        assert "boto3" not in sys.modules, "boto3 imported at start-up"
        assert sys.modules[owner].AWS_IMPORT_ERROR
        # Importing boto3 directly (gatekeeper's require_sdk) is never hidden.
        import boto3
        enable(owner)
        module = sys.modules[owner]
        assert module.AWS_IMPORT_ERROR is None
        assert signer.AWSSigner is module.AWSSigner
        assert signer.SIGNER_FOR_URI_SCHEME["awskms"] is module.AWSSigner
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_without_defer_nothing_is_hidden() -> None:
    pytest.importorskip("boto3")
    proc = _python(
        """
        import sys
        import securesystemslib.signer
        from gatekeeper._sdk_imports import enable
        enable("securesystemslib.signer._aws_signer")  # nothing to do
        assert sys.modules["securesystemslib.signer._aws_signer"].AWS_IMPORT_ERROR is None
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr


def test_attest_and_verify_processes_import_no_cloud_sdk(tmp_path: Path) -> None:
    write_keypair(tmp_path / "ci")
    (tmp_path / "a.txt").write_text("a\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: t\nexpires: 2099-01-01T00:00:00Z\nmax_age: 7d\n"
        "keys:\n  ci: ci.pub\nstages:\n  - name: build\n    signed_by: [ci]\n"
    )
    for argv in (
        ["attest", "--stage", "build", "--key", "ci", "--product", "a.txt", "--store", "s"],
        ["verify", "--policy", "policy.yaml", "--store", "s", "--no-log", "a.txt"],
    ):
        proc = _python(
            f"""
            import sys
            sys.argv = ["gatekeeper", *{argv!r}]
            from gatekeeper.cli import main
            code = main()
            loaded = sorted(m for m in ("boto3", "botocore", "pkcs11") if m in sys.modules)
            print(code, loaded)
            """,
            cwd=tmp_path,
        )
        assert proc.stdout.strip().splitlines()[-1] == "0 []", proc.stderr
