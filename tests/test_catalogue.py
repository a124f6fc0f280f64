"""The method registry is built from the method modules' tables, and from all of them."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from switchvox_server import methods
from switchvox_server.app import create_app
from switchvox_server.methods.catalogue import build_registry
from switchvox_server.methods.registry import Method, MethodRegistry
from switchvox_server.principals import Principal
from switchvox_server.settings import Settings


def _method_tables() -> list[tuple[str, tuple[Method, ...]]]:
    tables = []
    for module in pkgutil.iter_modules(methods.__path__, f"{methods.__name__}."):
        table = getattr(importlib.import_module(module.name), "METHODS", None)
        if table is not None:
            tables.append((module.name, table))
    return tables


def test_every_method_table_is_in_the_registry() -> None:
    """Each method a methods/ module lists in its METHODS table is the one the registry
    resolves, so a new module cannot be left out of the catalogue."""
    tables = _method_tables()
    assert len(tables) >= 6
    registry = build_registry()
    for _, table in tables:
        for method in table:
            caller = next(p for p in Principal if method.access.admits(p))
            assert registry.resolve(method.name, caller) is method


def test_each_application_builds_a_registry_of_its_own(settings: Settings) -> None:
    """Two applications hold two registries of the same methods, so changing one leaves
    the other as it was."""
    first, second = create_app(settings).state.methods, create_app(settings).state.methods
    assert isinstance(first, MethodRegistry)
    assert first is not second
    assert all(method.name in second for _, table in _method_tables() for method in table)


def test_a_name_listed_twice_is_refused() -> None:
    """Building a registry in which two methods share a name fails at once."""
    [(_, table), *_] = _method_tables()
    with pytest.raises(ValueError, match="registered twice"):
        MethodRegistry((*table, table[0]))
