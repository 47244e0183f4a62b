"""The curated public surface of the container, models and integrations packages.

Each package's ``__all__`` names what it exports; the names resolve (from their modules, on
first use) and importing the package loads none of its modules.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ("gatekeeper.container", "gatekeeper.models", "gatekeeper.integrations")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves_to_its_module_object(name: str) -> None:
    package = importlib.import_module(name)
    exports: dict[str, str] = package._EXPORTS
    assert sorted(package.__all__) == sorted(exports)
    for public, module in exports.items():
        defining = importlib.import_module(f"{name}.{module}")
        assert getattr(package, public) is getattr(defining, public)
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)  # noqa: S102 - the star import is what is tested
    assert set(package.__all__) <= set(namespace)


@pytest.mark.parametrize("name", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError, match="no_such_thing"):
        package.no_such_thing  # noqa: B018 - the attribute access is what is tested


def test_importing_a_package_loads_none_of_its_modules() -> None:
    code = (
        "import sys\n"
        f"for name in {PACKAGES!r}:\n"
        "    __import__(name)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(\n"
        "    ('gatekeeper.container.', 'gatekeeper.models.', 'gatekeeper.integrations.')))\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
