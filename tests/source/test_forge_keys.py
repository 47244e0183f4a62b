"""The bundled forge keys: what they are, and that GitHub's real signatures verify under them.

The two commit objects in tests/source/data/ are published commits of the cli/cli repository
(https://github.com/cli/cli), kept byte for byte as git stores them:

- 44ee17760709bedf1cad7e452e61751489b81a33, "Merge pull request #9813", which GitHub made
  and signed with its current web-flow key (B5690EEEBB952194) on 2024-10-24;
- 57f6787c154d56d3c5461afed619e36b8a8394ec, a squash merge GitHub signed on 2024-01-15 with
  its previous web-flow key (4AEE18F83AFDEB23), which expired at the rotation of 2024-01-16.

Only the commit objects are stored: their trees and parents are not needed to verify them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from gatekeeper._git import GitRunner
from gatekeeper.collect import forge_keys as forge_registry
from gatekeeper.collect.commit_signatures import signature_setup
from gatekeeper.collect.forge_keys import FORGE_KEYS, forge_key_for

DATA = Path(__file__).parent / "data"
CURRENT = "44ee17760709bedf1cad7e452e61751489b81a33"
RETIRED = "57f6787c154d56d3c5461afed619e36b8a8394ec"


def _fingerprints_of(path: Path, fmt: str) -> list[str]:
    if fmt == "ssh":
        key = path.read_text().split(" ", 2)[2]  # principal, options, then the key
        out = subprocess.run(
            ["ssh-keygen", "-lf", "-"], input=key, capture_output=True, text=True, check=True
        ).stdout
        return [out.split()[1]]
    out = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--show-keys", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr")]


@pytest.mark.parametrize("key", FORGE_KEYS, ids=lambda k: k.path.name)
def test_each_bundled_key_has_the_fingerprint_it_is_registered_under(key: object) -> None:
    assert isinstance(key, forge_registry.ForgeKey)
    assert _fingerprints_of(key.path, key.format) == [key.fingerprint]


def test_forges_and_key_ids_are_the_documented_ones() -> None:
    github = [k for k in FORGE_KEYS if k.forge == "github"]
    assert {k.fingerprint[-16:] for k in github} == {"B5690EEEBB952194", "4AEE18F83AFDEB23"}
    assert [k.retired for k in github if k.fingerprint.endswith("4AEE18F83AFDEB23")] == [
        "2024-01-16"
    ]
    assert [k.forge for k in FORGE_KEYS if k.format == "ssh"] == ["gitlab"]
    # A key id alone never names a forge key: the full fingerprint must match.
    assert forge_key_for(["B5690EEEBB952194"], FORGE_KEYS) is None


def _verify_stored(tmp_path: Path, sha: str) -> tuple[str, str]:
    """(%G?, %GP) of a stored GitHub commit object, as the collector's setup verifies it."""
    repo = git.Repo.init(tmp_path / "objects")
    data = (DATA / f"cli-cli-{sha[:12]}.commit").read_bytes()
    stored = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.working_tree_dir,
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert stored.strip() == sha  # byte for byte what GitHub signed
    runner = GitRunner(str(repo.working_tree_dir))
    with signature_setup(
        runner.workdir,
        runner.env,
        allowed_signers=None,
        configured_signers=None,
        keys=forge_registry.forge_keys(),
    ) as setup:
        out = GitRunner(str(repo.working_tree_dir), setup.config, setup.env).run(
            "log", "--no-walk", "--format=%G?%x00%GP", sha
        )
    status, primary = out.stdout.decode().strip().split("\0")
    return status, primary


def test_githubs_web_flow_signature_verifies_offline_under_the_bundled_key(
    tmp_path: Path,
) -> None:
    status, primary = _verify_stored(tmp_path, CURRENT)
    assert status in ("G", "U")  # verifies; the throwaway keyring assigns no owner trust
    assert primary == "968479A1AFF927E37D1A566BB5690EEEBB952194"


def test_githubs_retired_key_verifies_as_expired(tmp_path: Path) -> None:
    status, primary = _verify_stored(tmp_path, RETIRED)
    assert (status, primary) == ("Y", "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23")


def test_without_the_bundled_keys_githubs_signature_is_unverifiable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forge_registry, "FORGE_KEYS", ())
    status, primary = _verify_stored(tmp_path, CURRENT)
    assert (status, primary) == ("E", "")


def test_trusted_forge_merges_names_only_known_forges() -> None:
    from pydantic import ValidationError

    from gatekeeper.models.policy import AuditsPolicy

    assert AuditsPolicy.model_validate({"trusted_forge_merges": ["github"]}).trusted_forge_merges
    with pytest.raises(ValidationError, match="trusted_forge_merges"):
        AuditsPolicy.model_validate({"trusted_forge_merges": ["githb"]})  # a typo never trusts
