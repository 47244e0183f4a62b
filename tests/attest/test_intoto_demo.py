"""in-toto's demo (in-toto/demo, run offline): the supply chain clone -> update-version ->
package, each step recorded by ``in-toto-run`` as a classic link or a DSSE link. For each
scenario the demo plays (and a few more), gatekeeper (with a policy saying what the layout
says: who may sign each step, and that each step's materials are the products of the one
before) gives the same verdict as ``in-toto-verify`` with the demo's layout, its ``untar``
inspection included."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from in_toto.models._signer import load_public_key_from_file
from in_toto.models.layout import Layout
from in_toto.models.metadata import Metablock
from in_toto.runlib import in_toto_run
from in_toto.verifylib import in_toto_verify
from securesystemslib.signer import CryptoSigner

from gatekeeper.cli import main

# in-toto's exclude patterns go through pathspec's deprecated "gitwildmatch" (not ours).
pytestmark = pytest.mark.filterwarnings("ignore:GitWildMatchPattern:DeprecationWarning")


class Demo:
    def __init__(self, root: Path, dsse: bool, keys: Path) -> None:
        self.root = root
        self.dsse = dsse
        self.keys = root / "keys"
        shutil.copytree(keys, self.keys)
        self.work = root / "work"
        self.work.mkdir(parents=True)

    def signer(self, who: str) -> CryptoSigner:
        return CryptoSigner(load_pem_private_key((self.keys / who).read_bytes(), None))

    def run(
        self, step: str, who: str, materials: list[str], products: list[str], *cmd: str
    ) -> None:
        """What ``in-toto-run`` does (in process: its library call), in the work directory."""
        with contextlib.chdir(self.work):
            in_toto_run(
                step,
                materials,
                products,
                list(cmd),
                use_dsse=self.dsse,
                signer=self.signer(who),
                metadata_directory=str(self.work),
            )

    def layout(self) -> Path:
        bob = load_public_key_from_file(str(self.keys / "bob.pub"))
        carl = load_public_key_from_file(str(self.keys / "carl.pub"))
        layout = Layout.read(
            {
                "_type": "layout",
                "expires": "2099-01-01T00:00:00Z",
                "keys": {bob["keyid"]: bob, carl["keyid"]: carl},
                "steps": [
                    {
                        "name": "clone",
                        "expected_materials": [],
                        "expected_products": [["CREATE", "demo-project/foo.py"], ["DISALLOW", "*"]],
                        "pubkeys": [bob["keyid"]],
                        "threshold": 1,
                    },
                    {
                        "name": "update-version",
                        "expected_materials": [
                            ["MATCH", "demo-project/*", "WITH", "PRODUCTS", "FROM", "clone"],
                            ["DISALLOW", "*"],
                        ],
                        "expected_products": [["MODIFY", "demo-project/foo.py"], ["DISALLOW", "*"]],
                        "pubkeys": [bob["keyid"]],
                        "threshold": 1,
                    },
                    {
                        "name": "package",
                        "expected_materials": [
                            [
                                "MATCH",
                                "demo-project/*",
                                "WITH",
                                "PRODUCTS",
                                "FROM",
                                "update-version",
                            ],
                            ["DISALLOW", "*"],
                        ],
                        "expected_products": [["CREATE", "demo-project.tar.gz"], ["DISALLOW", "*"]],
                        "pubkeys": [carl["keyid"]],
                        "threshold": 1,
                    },
                ],
                # the demo's inspection: unpack the delivered tarball; it must be the one carl
                # packaged, holding the file bob updated (the demo's ALLOW rules for the files
                # around it, here the work directory's)
                "inspect": [
                    {
                        "name": "untar",
                        "expected_materials": [
                            ["MATCH", "demo-project.tar.gz", "WITH", "PRODUCTS", "FROM", "package"],
                            ["ALLOW", "demo-project/*"],
                            ["ALLOW", "*.link"],
                            ["DISALLOW", "*"],
                        ],
                        "expected_products": [
                            [
                                "MATCH",
                                "demo-project/foo.py",
                                "WITH",
                                "PRODUCTS",
                                "FROM",
                                "update-version",
                            ],
                            ["ALLOW", "demo-project.tar.gz"],
                            ["ALLOW", "*.link"],
                            ["DISALLOW", "*"],
                        ],
                        "run": ["tar", "xzf", "demo-project.tar.gz"],
                    }
                ],
            }
        )
        signer = CryptoSigner(load_pem_private_key((self.keys / "alice").read_bytes(), None))
        metablock = Metablock(signed=layout)
        metablock.create_signature(signer)
        path = self.root / "root.layout"
        metablock.dump(str(path))
        return path

    def in_toto_verdict(self) -> bool:
        """What ``in-toto-verify --layout root.layout --verification-keys alice.pub`` decides
        (its library call, in process)."""
        alice = load_public_key_from_file(str(self.keys / "alice.pub"))
        layout = Metablock.load(str(self.layout()))
        try:
            # the inspection runs where in-toto-verify runs: in the work directory
            with contextlib.chdir(self.work):
                in_toto_verify(layout, {alice["keyid"]: alice}, str(self.work))
        except Exception:  # in-toto raises its own errors for every failed check
            return False
        finally:
            # the inspection's own (unsigned) link is in-toto's, not an attestation
            (self.work / "untar.link").unlink(missing_ok=True)
        return True

    def gatekeeper_verdict(self, capsys: pytest.CaptureFixture[str]) -> tuple[bool, set[str]]:
        store = self.root / "store"
        if store.exists():
            shutil.rmtree(store)
        links = sorted(str(p) for p in self.work.glob("*.link"))
        assert main(["import", *links, "--store", str(store)]) == 0
        policy = {
            "version": 1,
            "name": "demo",
            "expires": "2099-01-01T00:00:00Z",
            "keys": {"bob": "keys/bob.pub", "carl": "keys/carl.pub"},
            "stages": [
                {"name": "clone", "signed_by": ["bob"]},
                {"name": "update-version", "signed_by": ["bob"], "follows": "clone"},
                {"name": "package", "signed_by": ["carl"], "follows": "update-version"},
            ],
        }
        (self.root / "policy.yaml").write_text(yaml.safe_dump(policy))
        capsys.readouterr()
        code = main(
            [
                "verify",
                "--policy",
                str(self.root / "policy.yaml"),
                "--store",
                str(store),
                "--no-log",
                "--format",
                "json",
                str(self.work / "demo-project.tar.gz"),
            ]
        )
        out: dict[str, Any] = json.loads(capsys.readouterr().out)
        return code == 0, {r["code"] for r in out["reasons"]}


def _clone(demo: Demo) -> None:
    (demo.work / "demo-project").mkdir()
    (demo.work / "demo-project" / "foo.py").write_text('VERSION = "foo-v0"\n')
    demo.run("clone", "bob", [], ["demo-project/foo.py"], "true")


def _update(demo: Demo) -> None:
    # The step's command changes the file: materials are hashed before it runs, products after.
    bump = "open('demo-project/foo.py', 'w').write('VERSION = \"foo-v1\"\\n')"
    demo.run(
        "update-version",
        "bob",
        ["demo-project/foo.py"],
        ["demo-project/foo.py"],
        sys.executable,
        "-c",
        bump,
    )


def _package(demo: Demo, who: str = "carl") -> None:
    demo.run(
        "package",
        who,
        ["demo-project/foo.py"],
        ["demo-project.tar.gz"],
        "tar",
        "zcf",
        "demo-project.tar.gz",
        "demo-project/foo.py",
    )


@pytest.fixture(scope="module")
def demo_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RSA-3072 keys (in-toto's demo keys are RSA), made once for the module."""
    keys = tmp_path_factory.mktemp("demo-keys")
    for name in ("alice", "bob", "carl", "mallory"):
        assert main(["keygen", str(keys / name), "--type", "rsa"]) == 0
    return keys


@pytest.fixture(params=["metablock", "dsse"])
def demo(tmp_path: Path, request: pytest.FixtureRequest, demo_keys: Path) -> Demo:
    return Demo(tmp_path, dsse=request.param == "dsse", keys=demo_keys)


def _same_verdict(demo: Demo, capsys: pytest.CaptureFixture[str]) -> tuple[bool, set[str]]:
    ours, codes = demo.gatekeeper_verdict(capsys)
    assert ours == demo.in_toto_verdict(), codes
    return ours, codes


def test_the_honest_supply_chain_passes_both(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    _clone(demo)
    _update(demo)
    _package(demo)
    assert _same_verdict(demo, capsys) == (True, set())


def test_in_ci_the_links_hold_to_no_commit_they_do_not_record(
    demo: Demo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # in-toto links record no commit: verify in a CI run (GITHUB_SHA set) judges them as
    # in-toto-verify does, not by a commit they never claimed.
    monkeypatch.setenv("GITHUB_SHA", "9" * 40)
    _clone(demo)
    _update(demo)
    _package(demo)
    assert _same_verdict(demo, capsys) == (True, set())


def test_a_change_between_update_and_package_blocks_both(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo's attack: the code is changed after bob's update, before carl packages it.
    _clone(demo)
    _update(demo)
    (demo.work / "demo-project" / "foo.py").write_text("something evil\n")
    _package(demo)
    assert _same_verdict(demo, capsys) == (False, {"verify/chain-broken"})


def test_a_package_signed_by_someone_else_blocks_both(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    _clone(demo)
    _update(demo)
    _package(demo, who="mallory")
    verdict, codes = _same_verdict(demo, capsys)
    assert not verdict and codes <= {"verify/untrusted-key", "verify/missing-stage"}


def test_a_tarball_replaced_after_packaging_blocks_both(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    # gatekeeper checks the delivered file as the artifact; in-toto, by the demo's inspection
    # that unpacks it (its materials must be carl's product).
    _clone(demo)
    _update(demo)
    _package(demo)
    with tarfile.open(demo.work / "demo-project.tar.gz", "w:gz") as tar:
        tar.add(demo.work / "demo-project" / "foo.py", arcname="demo-project/evil.py")
    assert _same_verdict(demo, capsys) == (False, {"verify/subject-mismatch"})


def test_a_skipped_step_blocks_both(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    # the update never ran (or its link is withheld): package follows a stage that is not there
    _clone(demo)
    _package(demo)
    verdict, codes = _same_verdict(demo, capsys)
    assert not verdict and "verify/missing-stage" in codes
