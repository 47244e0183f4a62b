"""What git checks commit signatures against, for one run, and what a signature's armour says.

git verifies every signature itself (``%G?``): gpg for OpenPGP, gpgsm for X.509, ssh-keygen
for SSH. ``signature_setup`` prepares, in a temporary directory removed afterwards:

- **OpenPGP**: a fresh GnuPG home holding the public keys of the user's own keyring and the
  forge keys gatekeeper bundles (``collect/forge_keys.py``). One ``git log`` then verifies
  GitHub's web-flow signatures on a machine that never imported the key, at no extra cost
  per commit, and the user's keyring is only read (``gpg --export``), never changed.
- **SSH**: the allowed-signers file in effect: ``--allowed-signers``, else the repository's
  ``gpg.ssh.allowedSignersFile``; either must be a readable file (a path that names nothing
  is a usage error, never "no signer is allowed"). With neither, an empty file: git then
  still checks each SSH signature against the key the signature carries, so a commit
  altered after signing is bad (``B``) and an intact one is ``U`` with its key's
  fingerprint, whether or not anyone listed the key.
  SSH signatures are checked in-process against the same file first
  (``collect/ssh_signatures.py``, no process per commit); what that module does not judge
  goes to git and ssh-keygen as above.

SECURITY: the repository's own configuration cannot point verification elsewhere: the
programs are pinned on git's command line (``collect/git_source.py``) and so is the
allowed-signers file; the GnuPG home is ours. ssh-keygen runs through a wrapper written
here that reads the signed payload whole first: git (2.39 at least) writes the payload to
ssh-keygen's stdin with SIGPIPE at its default, so an ssh-keygen that exits early on a
malformed signature killed the whole ``git log``, and one crafted commit could stop every
audit of a range holding it.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gatekeeper._fileio import read_bounded
from gatekeeper.collect.forge_keys import ForgeKey, openpgp_material
from gatekeeper.errors import InvalidInput
from gatekeeper.models.source import AllowedSigners, SignatureFormat

MAX_ALLOWED_SIGNERS_BYTES = 4 * 1024 * 1024
_TOOL_TIMEOUT = 300

# The first line of a signature names its kind (git's own table, gpg-interface.c).
_ARMOUR: tuple[tuple[bytes, SignatureFormat], ...] = (
    (b"-----BEGIN PGP SIGNATURE-----", "openpgp"),
    (b"-----BEGIN PGP MESSAGE-----", "openpgp"),
    (b"-----BEGIN SIGNED MESSAGE-----", "x509"),
    (b"-----BEGIN SSH SIGNATURE-----", "ssh"),
)
_SIGNATURE_HEADERS = (b"gpgsig ", b"gpgsig-sha256 ")


@dataclass
class SignatureSetup:
    """git ``-c`` options and environment for verifying, and what could not be set up."""

    config: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    allowed_signers: AllowedSigners | None = None
    # The allowed-signers file in effect (an empty one when none is named), for the
    # in-process SSH check (``collect/ssh_signatures.py``); None outside ``signature_setup``.
    signers_file: Path | None = None
    has_gpg: bool = True
    has_ssh_keygen: bool = True
    notes: list[str] = field(default_factory=list)


def signature_format(commit_object: bytes) -> SignatureFormat | None:
    """The kind of the signature in a raw commit object's header, or None when unsigned.

    A signature of a kind git does not know is reported as OpenPGP, which gpg then fails
    to read; git itself refuses such a commit when asked for its signature status.
    """
    header = commit_object.split(b"\n\n", 1)[0]
    for line in header.split(b"\n"):
        for prefix in _SIGNATURE_HEADERS:
            if line.startswith(prefix):
                armour = line[len(prefix) :].strip()
                return next((fmt for begin, fmt in _ARMOUR if armour.startswith(begin)), "openpgp")
    return None


def allowed_signers_file(
    option: Path | None, configured: str | None, workdir: str
) -> tuple[Path, AllowedSigners] | None:
    """The allowed-signers file to use and its record; None when none is named.

    Raises:
        InvalidInput: the file named cannot be read (a typo must never allow every signer).
    """
    if option is not None:
        path, source, what = Path(option), "option", "--allowed-signers"
    elif configured:
        path = Path(configured).expanduser()
        if not path.is_absolute():
            path = Path(workdir) / path  # ssh-keygen runs in the work tree
        source, what = "repository", "gpg.ssh.allowedSignersFile (repository config)"
    else:
        return None
    path = path.resolve()
    if not path.is_file():
        state = "does not exist" if not path.exists() else "is not a regular file"
        raise InvalidInput(
            f"{what} {path}: {state}; an allowed-signers file that cannot be read would "
            "leave no SSH signer known"
        )
    data = read_bounded(path, MAX_ALLOWED_SIGNERS_BYTES)
    kind: Literal["option", "repository"] = "option" if source == "option" else "repository"
    return path, AllowedSigners(source=kind, sha256=hashlib.sha256(data).hexdigest())


def _ssh_keygen_wrapper(tmp: Path, ssh_keygen: str, *, no_signers: bool) -> Path:
    """A program for ``gpg.ssh.program`` that reads the payload whole, then runs ssh-keygen.

    git runs one verification at a time, so one payload file in this private directory
    serves them all. ``find-principals`` reads no payload and runs directly; against the
    empty allowed-signers file it can only find nobody, so it is answered without running
    ssh-keygen (git then checks the signature against the key it carries).
    """
    wrapper = tmp / "ssh-keygen"
    program = shlex.quote(ssh_keygen)
    payload = shlex.quote(str(tmp / "payload"))
    principals = "exit 1" if no_signers else f'exec {program} "$@"'
    wrapper.write_text(
        "#!/bin/sh\n"
        "# Written by gatekeeper for one run (see gatekeeper/collect/commit_signatures.py).\n"
        f'case "$2" in find-principals) {principals};; esac\n'
        f"cat > {payload} || exit 1\n"
        f'exec {program} "$@" < {payload}\n'
    )
    wrapper.chmod(0o700)
    return wrapper


def _gpg_run(
    gpg: str, args: list[str], env: Mapping[str, str], data: bytes | None = None
) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(  # noqa: S603 - a fixed gpg argv, no shell
            [gpg, "--batch", "--no-tty", *args],
            input=data,
            env=dict(env),
            capture_output=True,
            timeout=_TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _user_public_keys(gpg: str, env: Mapping[str, str]) -> bytes:
    """The public keys of the user's keyring (empty when there is none: nothing is created)."""
    home = env.get("GNUPGHOME")
    if not home:
        try:
            home = str(Path.home() / ".gnupg")
        except RuntimeError:
            return b""
    if not Path(home).is_dir():
        return b""
    proc = _gpg_run(gpg, ["--export"], env)
    return proc.stdout if proc is not None and proc.returncode == 0 else b""


def _gnupg_home(
    tmp: Path, gpg: str, env: Mapping[str, str], keys: Sequence[ForgeKey], notes: list[str]
) -> Path:
    home = tmp / "gnupg"
    home.mkdir(mode=0o700)
    # NOTE: verifying needs no agent; without this gpg (2.2 even to import a public key)
    # would leave one running per run. gpgsm (X.509) also never asks dirmngr for CRLs:
    # verifying a commit reaches no network.
    (home / "gpg.conf").write_text("no-autostart\n")
    (home / "gpgsm.conf").write_text("no-autostart\ndisable-dirmngr\n")
    clean = {k: v for k, v in env.items() if k != "GNUPGHOME"}
    importing = ["--homedir", str(home), "--quiet", "--import"]
    forge = openpgp_material(keys)
    if forge:
        proc = _gpg_run(gpg, importing, clean, forge)
        if proc is None or proc.returncode != 0:
            notes.append(
                "gpg could not import the bundled forge keys: commits signed by GitHub's "
                "web-flow key are unverified here"
            )
    user = _user_public_keys(gpg, env)
    if user:
        proc = _gpg_run(gpg, importing, clean, user)
        if proc is None or proc.returncode != 0:
            notes.append("gpg could not import every public key of the user's keyring")
    return home


@contextmanager
def signature_setup(
    workdir: str,
    env: Mapping[str, str],
    *,
    allowed_signers: Path | None,
    configured_signers: str | None,
    keys: Sequence[ForgeKey],
) -> Iterator[SignatureSetup]:
    """Prepare verification for one ``git log``; everything is removed on exit.

    ``configured_signers`` is the repository's ``gpg.ssh.allowedSignersFile``, if any.

    Raises:
        InvalidInput: the allowed-signers file named cannot be read, or there is one but no
            ssh-keygen to check signatures with.
    """
    signers = allowed_signers_file(allowed_signers, configured_signers, workdir)
    path = env.get("PATH")
    ssh_keygen = shutil.which("ssh-keygen", path=path)
    gpg = shutil.which("gpg", path=path)
    if signers is not None and ssh_keygen is None:
        raise InvalidInput(
            "an allowed-signers file is given but ssh-keygen (OpenSSH 8.2 or later) is not "
            "on PATH, so no SSH signature could be checked against it"
        )
    setup = SignatureSetup(has_gpg=gpg is not None, has_ssh_keygen=ssh_keygen is not None)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-signatures-") as tmp:
        if signers is not None:
            signers_file, setup.allowed_signers = signers
        else:
            signers_file = Path(tmp) / "allowed_signers"
            signers_file.write_bytes(b"")
        setup.signers_file = signers_file
        if ssh_keygen is not None:
            # SECURITY: always set, so the repository's config cannot name another file.
            wrapper = _ssh_keygen_wrapper(Path(tmp), ssh_keygen, no_signers=signers is None)
            setup.config += (
                "-c",
                f"gpg.ssh.allowedSignersFile={signers_file}",
                "-c",
                f"gpg.ssh.program={wrapper}",
            )
        if gpg is not None:
            home = _gnupg_home(Path(tmp), gpg, env, keys, setup.notes)
            setup.env["GNUPGHOME"] = str(home)
        yield setup


__all__ = ["SignatureSetup", "allowed_signers_file", "signature_format", "signature_setup"]
