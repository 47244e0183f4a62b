"""The one exception tree and the process exit codes.

Every public function raises only these; library errors are wrapped with ``from exc``.
Every non-zero exit code blocks promotion: the codes only help triage.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    PASS = 0  # promotion allowed
    BLOCKED = 1  # policy evaluated; something failed, is missing or is unsigned
    USAGE = 2  # bad arguments, unreadable or invalid config / policy / key file
    INTERNAL = 3  # bug or unexpected failure (still a block)


class GatekeeperError(Exception):
    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def diagnostics(self) -> str:
        return str(self)


class InvalidInput(GatekeeperError):
    """Bad arguments or an unreadable / invalid file the user handed us."""

    exit_code = ExitCode.USAGE


class CollectionError(GatekeeperError):
    """Evidence could not be collected (e.g. the base ref is missing)."""

    exit_code = ExitCode.USAGE


class SigningError(GatekeeperError):
    """A statement could not be signed."""

    exit_code = ExitCode.USAGE


class StoreError(GatekeeperError):
    """The attestation store could not be read or written."""

    exit_code = ExitCode.USAGE


class VerificationError(GatekeeperError):
    """Verification could not proceed; always a block."""

    exit_code = ExitCode.BLOCKED


class SignatureError(VerificationError):
    """A signature is missing or does not verify."""


class MalformedInput(VerificationError):
    """An envelope or statement is not well-formed."""
