"""The interface every OSV source implements, and the errors it raises.

A source answers "which advisories affect this package version?": ``query`` for one
package, ``query_all`` for many (the default asks one at a time; a source that can batch,
as the offline index and the API both can, overrides it). Sources are context managers:
closing releases the index, the memo or the HTTP session.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from gatekeeper.errors import CollectionError, ExitCode, GatekeeperError, InvalidInput
from gatekeeper.models.deps import Package, Vulnerability

__all__ = ["Matches", "OsvApiError", "OsvDatabaseError", "OsvError", "OsvSource"]


class OsvError(GatekeeperError):
    """An OSV source cannot answer (a usage or configuration problem: exit 2)."""

    exit_code = ExitCode.USAGE


class OsvDatabaseError(OsvError, InvalidInput):
    """The offline database is missing, empty, corrupt or holds a malformed record."""


class OsvApiError(OsvError, CollectionError):
    """The OSV API is unreachable or answers with an error or a malformed body."""


class Matches(NamedTuple):
    """What a source found: vulnerabilities (aliases merged) and notes about what it could
    not evaluate."""

    vulnerabilities: list[Vulnerability]
    notes: list[str]


class OsvSource(ABC):
    """Where advisories come from. Packages asked about have one exact version."""

    description: str  # recorded in the evidence: "db:<digest>" or "api:<url>"

    @abstractmethod
    def query(self, package: Package) -> Matches:
        """The advisories affecting one package version.

        Raises:
            OsvError: the source cannot answer.
        """

    def query_all(self, packages: Sequence[Package]) -> Matches:
        """The advisories affecting each package; override to batch.

        Raises:
            OsvError: the source cannot answer.
        """
        vulnerabilities: list[Vulnerability] = []
        notes: set[str] = set()
        for package in packages:
            found = self.query(package)
            vulnerabilities.extend(found.vulnerabilities)
            notes.update(found.notes)
        return Matches(vulnerabilities, sorted(notes))

    def close(self) -> None:  # noqa: B027 - nothing to release unless a source holds something
        """Release what the source holds (index, memo, session)."""

    def __enter__(self) -> OsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
