"""Fixtures for source tests: a repository, throwaway SSH keys and real GnuPG keys.

Signatures are made for real (``git commit -S`` with gpg or ssh-keygen) on the "signer's
machine" and verified by the collector on the "verifying machine": each test's GNUPGHOME is
its own empty keyring unless the test imports public keys into it, so nothing depends on
the keyring of whoever runs the suite.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import pytest


@pytest.fixture
def repo(git_repo: git.Repo) -> git.Repo:
    return git_repo


@pytest.fixture(autouse=True)
def verifying_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The verifying machine's GnuPG home: empty (no public key known) until a test imports."""
    home = tmp_path / "verifier-gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    return home


@pytest.fixture
def ssh_keys(tmp_path: Path) -> dict[str, Path]:
    keys = {}
    for name in ("trusted", "other"):
        key = tmp_path / f"key-{name}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
        )
        keys[name] = key
    return keys


def _gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    env = {**os.environ, "GNUPGHOME": str(home)}
    proc = subprocess.run(
        ["gpg", "--batch", "--quiet", "--no-tty", *args],
        input=data,
        env=env,
        capture_output=True,
        check=True,
    )
    return proc.stdout


@dataclass
class GpgKeys:
    """Keys on the signer's machine (``home`` holds the secret keys), by name."""

    home: Path
    fingerprints: dict[str, str]
    fake_time_gpg: Path  # a gpg that signs as of 2020-06-01 (for the expired key)

    def public(self, *names: str) -> bytes:
        return _gpg(self.home, "--armor", "--export", *(self.fingerprints[n] for n in names))

    def import_into(self, home: Path, *names: str) -> None:
        """Give the verifying machine at ``home`` the public keys of ``names``."""
        # NOTE: gpg 2.2 starts an agent to import even public keys unless told not to.
        _gpg(home, "--no-autostart", "--import", data=self.public(*names))

    def revoke_in(self, home: Path, name: str) -> None:
        """Import the key's revocation certificate (made at key generation) into ``home``."""
        cert = self.home / "openpgp-revocs.d" / f"{self.fingerprints[name]}.rev"
        text = cert.read_text().replace(":-----BEGIN", "-----BEGIN")
        _gpg(home, "--no-autostart", "--import", data=text.encode())


@pytest.fixture(scope="module")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKeys]:
    """``dev`` and ``other`` (valid), ``old`` (valid 2020-01-01 to 2021-01-01, expired now)."""
    root = tmp_path_factory.mktemp("signer")
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    uids = {
        "dev": "Dev One <dev@example.invalid>",
        "other": "Other Signer <other@example.invalid>",
    }
    for uid in uids.values():
        _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    _gpg(
        home,
        "--faked-system-time",
        "20200101T000000",
        "--passphrase",
        "",
        "--quick-gen-key",
        "Old Key <old@example.invalid>",
        "ed25519",
        "sign",
        "1y",
    )
    uids["old"] = "old@example.invalid"
    fingerprints = {}
    for name, uid in uids.items():
        listing = _gpg(home, "--with-colons", "--list-keys", uid).decode()
        fingerprints[name] = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
        )
    fake = root / "gpg-2020"
    fake.write_text('#!/bin/sh\nexec gpg --faked-system-time 20200601T000000 "$@"\n')
    fake.chmod(0o755)
    yield GpgKeys(home=home, fingerprints=fingerprints, fake_time_gpg=fake)
    subprocess.run(
        ["gpgconf", "--kill", "gpg-agent"],
        env={**os.environ, "GNUPGHOME": str(home)},
        check=False,
        capture_output=True,
    )
