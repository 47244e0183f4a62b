"""Cloud and HSM SDKs are imported when a key needs them, not at every start-up.

``securesystemslib.signer`` imports every signer module it ships, and each of those imports
its provider's SDK when it is installed: boto3 alone costs about 0.4 s, on every
``gatekeeper attest`` and ``verify``, for the few runs that sign with ``awskms:``. ``defer``
(called once by the command line) hides those SDKs from securesystemslib's own signer
modules *while they are first imported*, and from nothing else; ``enable`` re-imports one
such module, SDK included, the first time a key URI needs it, and puts its signer class
back into securesystemslib's package and URI-scheme registry.

A hidden SDK is never a silent downgrade: ``enable`` runs before every use of the signer
classes concerned (``gatekeeper/attest/signers``), and gatekeeper's own code imports the
SDKs directly (``require_sdk``), which ``defer`` never hides.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# securesystemslib signer module -> the SDK packages it imports at module level.
DEFERRED: dict[str, tuple[str, ...]] = {
    "securesystemslib.signer._aws_signer": ("boto3", "botocore"),
    "securesystemslib.signer._hsm_signer": ("pkcs11",),
    "securesystemslib.signer._gcp_signer": ("google.cloud.kms", "google.cloud.kms_v1"),
    "securesystemslib.signer._azure_signer": ("azure",),
}
_lock = threading.Lock()
_hidden: set[str] = set()  # signer modules imported without their SDK
_enabled: set[str] = set()


def _initializing(name: str) -> bool:
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


class _DeferSdks:
    """A meta path finder (importlib.abc is not imported: it costs more than it checks)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        for owner, sdks in DEFERRED.items():
            if owner in _enabled:
                continue
            if any(fullname == sdk or fullname.startswith(f"{sdk}.") for sdk in sdks):
                if _initializing(owner):
                    _hidden.add(owner)
                    raise ModuleNotFoundError(
                        f"{fullname} is imported when a key needs it", name=fullname
                    )
        return None


_FINDER = _DeferSdks()


def defer() -> None:
    """Hide the SDKs from securesystemslib's signer modules while they are first imported
    (no effect on modules already imported)."""
    with _lock:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)


def enable(owner: str) -> None:
    """Make securesystemslib's signer module ``owner`` (a key of DEFERRED) whole: re-import
    it with its SDK if ``defer`` hid the SDK from it."""
    with _lock:
        if owner in _enabled:
            return
        _enabled.add(owner)
        if owner not in _hidden:
            return
        package = importlib.import_module("securesystemslib.signer")
        module = importlib.reload(sys.modules[owner])
        registry = package.SIGNER_FOR_URI_SCHEME
        for name, value in vars(module).items():
            if isinstance(value, type) and getattr(package, name, None) is not None:
                setattr(package, name, value)
                scheme = getattr(value, "SCHEME", None)
                if isinstance(scheme, str) and scheme in registry:
                    registry[scheme] = value


__all__ = ["DEFERRED", "defer", "enable"]
