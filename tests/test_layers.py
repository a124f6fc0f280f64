"""The layers hold: no module imports a layer above its own.

transport (http/) -> protocol (protocol/) -> methods (methods/) -> bulk pipeline (bulk/) ->
store (store/). The protocol's value types (requests, parameters) are what methods read, so
methods may import protocol/; nothing lower may import anything higher.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import switchvox_server

PACKAGE = Path(switchvox_server.__file__).parent

# Each layer, and the layers it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "store": frozenset({"bulk", "methods", "protocol", "http"}),
    "bulk": frozenset({"methods", "protocol", "http"}),
    "protocol": frozenset({"methods", "http"}),
    "methods": frozenset({"http"}),
}

# (importing module, imported module) pairs allowed in spite of FORBIDDEN, each with its reason.
ALLOWED: dict[tuple[str, str], str] = {}


def _imports(path: Path) -> set[str]:
    """Every switchvox_server module `path` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("switchvox_server.")}


def _module_name(path: Path) -> str:
    return ".".join(("switchvox_server", *path.relative_to(PACKAGE).with_suffix("").parts))


def _upward_imports(layer: str) -> list[str]:
    upward = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        importer = _module_name(path)
        for imported in sorted(_imports(path)):
            target = imported.split(".")[1]
            if target in FORBIDDEN[layer] and (importer, imported) not in ALLOWED:
                upward.append(f"{importer} imports {imported}")
    return upward


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    """No module of a layer imports a module of a layer above it, except the listed ones."""
    assert _upward_imports(layer) == []


def test_the_import_scan_sees_imports_at_every_depth() -> None:
    """The scan finds the imports that are known to be there, top-level and inside functions,
    so an empty list of upward imports means none, not a scan that saw nothing."""
    assert "switchvox_server.store.database" in _imports(PACKAGE / "methods" / "registry.py")
    assert "switchvox_server.store.models" in _imports(PACKAGE / "bulk" / "report.py")
    assert all((PACKAGE / layer).is_dir() for layer in FORBIDDEN)


def test_every_allowed_exception_is_still_needed() -> None:
    """An exception listed in ALLOWED names an import that still exists, so the list shrinks
    as the code is fixed instead of hiding new upward imports under old names."""
    for importer, imported in ALLOWED:
        path = PACKAGE.joinpath(*importer.split(".")[1:]).with_suffix(".py")
        assert imported in _imports(path), f"{importer} no longer imports {imported}"
