"""Attestation stores, chosen by URI, each with its decision log.

Usage::

    from gatekeeper.store import open_store
    store = open_store(".gatekeeper")          # a directory
    store = open_store("oci://host:5000/repo") # an OCI registry
    store.decision_log().lines()

An unknown scheme is an error; there is never a fallback.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import InvalidInput

if TYPE_CHECKING:
    from gatekeeper.store.base import (
        DSSE_MEDIA_TYPE,
        MAX_LOOKUP_ENVELOPES,
        MAX_READ_BYTES,
        UNBOUND,
        Appended,
        Decision,
        DecisionLog,
        IndexKeys,
        RunKey,
        Store,
        StoredEnvelope,
        StoreLimitError,
    )

DEFAULT_STORE = ".gatekeeper"
STORE_ENV = "GATEKEEPER_STORE"

# scheme -> "module:factory(uri, **options)"; a directory needs no scheme (or file://).
_SCHEMES: dict[str, str] = {
    "oci": "gatekeeper.store.oci:open_oci_store",
}

__all__ = [
    "DEFAULT_STORE",
    "DSSE_MEDIA_TYPE",
    "MAX_LOOKUP_ENVELOPES",
    "MAX_READ_BYTES",
    "STORE_ENV",
    "UNBOUND",
    "Appended",
    "Decision",
    "DecisionLog",
    "IndexKeys",
    "RunKey",
    "Store",
    "StoreLimitError",
    "StoredEnvelope",
    "open_store",
    "resolve_store_uri",
]


def __getattr__(name: str) -> Any:
    """The store's types (``gatekeeper.store.base``), loaded on first use: a collector that
    only needs to know where the store is (``resolve_store_uri``) does not pay for them.
    Called only for names this module does not define: every other name of ``__all__``."""
    if name in __all__:
        from gatekeeper.store import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_store_uri(uri: str | None) -> str:
    return uri or os.environ.get(STORE_ENV) or DEFAULT_STORE


def open_store(uri: str | None, **options: Any) -> Store:
    """Raises InvalidInput for an unknown scheme or a store that cannot be opened."""
    from gatekeeper.store.filesystem import FilesystemStore

    resolved = resolve_store_uri(uri)
    match = re.match(r"^([a-z][a-z0-9+.-]*)://", resolved)
    if match is None:
        return FilesystemStore(resolved)
    scheme = match.group(1)
    if scheme == "file":
        return FilesystemStore(resolved[len("file://") :])
    target = _SCHEMES.get(scheme)
    if target is None:
        raise InvalidInput(
            f"{resolved}: unknown store scheme {scheme!r} (a directory or oci://HOST/REPO)"
        )
    module_name, _, factory = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"{resolved}: the {scheme} store is not available in this build"
        ) from exc
    store: Store = getattr(module, factory)(resolved, **options)
    return store
