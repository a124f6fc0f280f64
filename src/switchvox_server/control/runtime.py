"""Run-time settings: the few settings a test may change on a running server, kept in the
database as overrides of the environment's, so that every process on one database applies
the same ones."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import String, Table
from sqlalchemy.orm import Session

from switchvox_server.control.errors import ControlError
from switchvox_server.profiles import Profile
from switchvox_server.settings import Settings
from switchvox_server.store import control_tables
from switchvox_server.store.models import Extension

# The longest extension number the store holds.
_NUMBER_WIDTH: int = cast(String, cast(Table, Extension.__table__).c.number.type).length or 32
_COUNT_LIMIT = 10**9
_PREFIX = "setting."


@dataclass(frozen=True, slots=True)
class RuntimeSetting:
    """One setting the control API may change, with the values it accepts."""

    name: str
    kind: type[int] | type[bool] | type[str]
    nullable: bool = False
    minimum: int = 0
    maximum: int = _COUNT_LIMIT
    choices: tuple[str, ...] = ()

    def check(self, value: object) -> object:
        """The value if acceptable; otherwise a ControlError naming the setting."""
        if value is None and self.nullable:
            return None
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise ControlError(f"settings: {self.name!r} must be true or false")
        if self.kind is int:
            whole = isinstance(value, int) and not isinstance(value, bool)
            if whole and self.minimum <= cast(int, value) <= self.maximum:
                return value
            unlimited = " or null" if self.nullable else ""
            raise ControlError(
                f"settings: {self.name!r} must be a whole number from {self.minimum} to"
                f" {self.maximum}{unlimited}"
            )
        if isinstance(value, str) and value in self.choices:
            return value
        raise ControlError(f"settings: {self.name!r} must be one of {', '.join(self.choices)}")


RUNTIME_SETTINGS: tuple[RuntimeSetting, ...] = (
    RuntimeSetting("max_extensions", int, nullable=True),
    RuntimeSetting("registered", bool),
    RuntimeSetting("unregistered_limit", int),
    RuntimeSetting("extension_min_length", int, minimum=1, maximum=_NUMBER_WIDTH),
    RuntimeSetting("extension_max_length", int, minimum=1, maximum=_NUMBER_WIDTH),
    RuntimeSetting("strong_phone_passwords", bool),
    RuntimeSetting("profile", str, choices=tuple(Profile)),
)
_BY_NAME = {setting.name: setting for setting in RUNTIME_SETTINGS}


def overrides(session: Session) -> dict[str, Any]:
    """The stored overrides, by setting name."""
    stored = control_tables.values_named(session, [_PREFIX + name for name in _BY_NAME])
    return {name.removeprefix(_PREFIX): json.loads(value) for name, value in stored.items()}


def overlay(base: Settings, changes: Mapping[str, Any]) -> Settings:
    """`base` with the overrides applied: the settings the methods run with."""
    known = dict(changes)
    if "profile" in known:
        known["profile"] = Profile(known["profile"])
    return dataclasses.replace(base, **known) if known else base


def effective_settings(session: Session, base: Settings) -> Settings:
    return overlay(base, overrides(session))


def current(session: Session, base: Settings) -> dict[str, Any]:
    """Every run-time setting with the value in force."""
    stored = overrides(session)
    return {
        setting.name: stored.get(setting.name, getattr(base, setting.name))
        for setting in RUNTIME_SETTINGS
    }


def change(session: Session, base: Settings, patch: object) -> dict[str, Any]:
    """Apply a PATCH document (setting name -> value); the settings now in force."""
    if not isinstance(patch, dict) or not patch:
        raise ControlError("settings: the body must be an object naming at least one setting")
    unknown = sorted(set(patch) - set(_BY_NAME))
    if unknown:
        raise ControlError(
            f"settings: unknown setting {unknown[0]!r} (known: {', '.join(_BY_NAME)})"
        )
    checked = {name: _BY_NAME[name].check(value) for name, value in patch.items()}
    merged = current(session, base) | checked
    if merged["extension_min_length"] > merged["extension_max_length"]:
        raise ControlError("settings: extension_min_length must not exceed extension_max_length")
    for name, value in checked.items():
        control_tables.set_value(session, _PREFIX + name, json.dumps(value))
    return merged


def clear(session: Session) -> None:
    """Back to the environment's settings."""
    for name in _BY_NAME:
        control_tables.remove_value(session, _PREFIX + name)
