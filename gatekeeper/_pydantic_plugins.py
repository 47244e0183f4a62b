"""No pydantic plugins in a gatekeeper process.

pydantic lets any installed distribution register a plugin (entry-point group ``pydantic``)
that observes, and can change, every validation of every model: in gatekeeper that is the
validation of policies, attestations and evidence. A gate must not let a package that merely
sits in the same CI environment take part in its decisions, so the command line runs with
none. It also saves every start-up the plugin scan: pydantic imports ``importlib.metadata``
(and through it email, zipfile, csv) and reads the metadata of every installed distribution
when it builds the first model.

``disable`` gives pydantic an empty plugin registry before it looks for one. Only this
process is concerned: unlike setting ``PYDANTIC_DISABLE_PLUGINS``, nothing leaks into the
environment of a command ``attest`` runs. Once pydantic has loaded its registry (an embedding
program built a model first), ``disable`` changes nothing; there pydantic's own setting,
``PYDANTIC_DISABLE_PLUGINS=__all__``, applies.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable

# pydantic's registry module: ``pydantic.plugin._schema_validator`` imports ``get_plugins``
# from it each time it builds a validator.
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


def disable() -> None:
    """Give pydantic an empty plugin registry (no effect once pydantic has loaded its own)."""
    if LOADER in sys.modules:
        return
    registry = types.ModuleType(
        LOADER, "gatekeeper: no pydantic plugins (see gatekeeper/_pydantic_plugins.py)"
    )
    registry.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = registry


__all__ = ["LOADER", "disable"]
