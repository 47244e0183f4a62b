"""The README's key and release commands, run as written: with two PEM keys (one encrypted)
and with the release manager's key on a SoftHSM token.

The commands are read from README.md's command block, so the README cannot drift from what
runs. ``$KEYS`` is a directory outside the repository; a wrapped build command is left out
(the test makes the artifact itself), and the policy is policies/release.yaml without its
``scan`` stage (which needs audit evidence) and with a later expiry.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import git
import pytest
import yaml

from gatekeeper.cli import main
from tests.attest.signers.conftest import USER_PIN, SoftHsm
from tests.conftest import commit_files

ROOT = Path(__file__).parents[3]


def _readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Commands") :]
    section = section[: section.find("\n## ", 3) if "\n## " in section[3:] else len(section)]
    # Every shell block of the section, in order.
    block = "\n".join(part.split("```", 1)[0] for part in section.split("```sh")[1:])
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.startswith("gatekeeper "):
            words = shlex.split(line, comments=True)
            commands.append(words[: words.index("--")] if "--" in words else words)
    return commands


def _pick(commands: list[list[str]], *prefix: str, having: str | None = None) -> list[str]:
    for words in commands:
        if words[: len(prefix)] == list(prefix) and (having is None or having in " ".join(words)):
            return words
    raise AssertionError(f"README.md shows no `{' '.join(prefix)}` command with {having!r}")


@pytest.mark.parametrize("release_manager", ["encrypted-file", "hsm"])
def test_readme_release_example_runs(
    release_manager: str,
    tmp_path: Path,
    softhsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys, repo_path = tmp_path / "keys", tmp_path / "repo"
    repo = git.Repo.init(repo_path, initial_branch="main")
    commit_files(repo, {"src/app.py": "print('release')\n"}, "initial")
    monkeypatch.chdir(repo_path)
    monkeypatch.setenv("RM_PASSPHRASE", "release manager's passphrase")
    monkeypatch.setenv("HSM_PIN", USER_PIN)
    monkeypatch.setenv("PYKCS11LIB", softhsm.module)
    monkeypatch.setenv("GATEKEEPER_RUN_ID", "readme-1")
    policy = yaml.safe_load((ROOT / "policies" / "release.yaml").read_text())
    policy["stages"] = [s for s in policy["stages"] if s["name"] != "scan"]
    policy["expires"] = "2099-01-01T00:00:00Z"
    (repo_path / "policies").mkdir()
    (repo_path / "policies" / "release.yaml").write_text(yaml.safe_dump(policy))

    commands = [[w.replace("$KEYS", str(keys)) for w in c] for c in _readme_commands()]
    rm = "hsm:" if release_manager == "hsm" else f"{keys}/rm"
    steps = [
        _pick(commands, "gatekeeper", "keygen", f"{keys}/ci"),
        _pick(commands, "gatekeeper", "keygen", having=rm),
        _pick(commands, "gatekeeper", "key", "export", f"{keys}/ci"),
        _pick(commands, "gatekeeper", "key", "export", having=rm),
        _pick(commands, "gatekeeper", "attest", "--stage", "source"),
        _pick(commands, "gatekeeper", "attest", "--stage", "build"),
        _pick(commands, "gatekeeper", "attest", "--stage", "release", having=rm),
    ]
    for words in steps:
        if words[2:4] == ["--stage", "build"]:
            (repo_path / "dist").mkdir()
            (repo_path / "dist" / "app-1.0.tar.gz").write_bytes(b"release 1.0\n")
        assert main(words[1:]) == 0, (words, capsys.readouterr().err)
    verify = _pick(commands, "gatekeeper", "verify", "--policy", "policies/release.yaml")
    assert verify[-1] == "dist/app-1.0.tar.gz"
    capsys.readouterr()
    assert main([*verify[1:-1], "--no-log", verify[-1]]) == 0, capsys.readouterr().out
    output = capsys.readouterr()
    assert "release manager's passphrase" not in output.out + output.err
    assert USER_PIN not in output.out + output.err
