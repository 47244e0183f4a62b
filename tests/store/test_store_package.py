"""``gatekeeper.store`` names the store's types without loading them until one is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gatekeeper.store as store
from gatekeeper.store import base


def test_every_exported_name_resolves_to_its_definition() -> None:
    for name in store.__all__:
        value = getattr(store, name)
        if hasattr(base, name):
            assert value is getattr(base, name), name
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        _ = store.Missing  # type: ignore[attr-defined]


def test_knowing_where_the_store_is_does_not_load_the_store() -> None:
    probe = (
        "import sys\n"
        "from gatekeeper.store import resolve_store_uri\n"
        "assert resolve_store_uri(None)\n"
        "print('gatekeeper.store.base' in sys.modules)\n"
        "from gatekeeper.store import Store\n"
        "print('gatekeeper.store.base' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
