"""What a seed file declares: its templates, admin accounts and extensions, read from TOML
or JSON and checked, entry by entry, before anything is written (the format: package
docstring, seed/__init__.py). Writing them is seed/apply.py's job.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from switchvox_server.bulk.csv_reader import COLUMNS
from switchvox_server.bulk.rules import CONTROL_CHARACTER
from switchvox_server.faults import SwitchvoxServerError
from switchvox_server.store import fields
from switchvox_server.store.accounts import admin_name_problem
from switchvox_server.store.models import (
    AccessLevel,
    ExtensionType,
    VoicemailPinRule,
)
from switchvox_server.store.templates import default_settings

DEFAULT_TEMPLATE_ID = 1
DEFAULT_TEMPLATE_NAME = "Default"
# Text limits are the column sizes (store/fields.py), checked here so PostgreSQL never refuses
# a long value.
# Columns a TOML or JSON number may stand for; any other column must be a string.
_NUMERIC_COLUMNS = frozenset({"ext", "voicemail_password"})

_Choice = TypeVar("_Choice", AccessLevel, ExtensionType, VoicemailPinRule)


class SeedError(SwitchvoxServerError):
    """A seed file that cannot be read or applied; the message says where and why."""


@dataclass(frozen=True, slots=True)
class TemplateSeed:
    """A template; settings left None take the template defaults."""

    name: str
    id: int | None = None
    lang_locale: str | None = None
    can_dial_from_ivr: bool | None = None
    status: str | None = None
    title: str | None = None
    location: str | None = None
    voicemail_enabled: bool | None = None
    voicemail_pin_rule: VoicemailPinRule | None = None

    def values(self) -> dict[str, Any]:
        """Every setting of the template: the declared ones over the defaults."""
        declared = {
            "lang_locale": self.lang_locale,
            "can_dial_from_ivr": self.can_dial_from_ivr,
            "status": self.status,
            "title": self.title,
            "location": self.location,
            "voicemail_enabled": self.voicemail_enabled,
            "voicemail_pin_rule": None
            if self.voicemail_pin_rule is None
            else self.voicemail_pin_rule.value,
        }
        return default_settings() | {k: v for k, v in declared.items() if v is not None}


@dataclass(frozen=True, slots=True)
class AdminSeed:
    name: str
    password: str
    access: AccessLevel


@dataclass(frozen=True, slots=True)
class ExtensionSeed:
    """One extension: its bulk upload CSV cells (column -> text), its type and template."""

    cells: Mapping[str, str]
    extension_type: ExtensionType = ExtensionType.SIP
    template: str = DEFAULT_TEMPLATE_NAME

    @property
    def number(self) -> str:
        return self.cells["ext"].strip()


@dataclass(frozen=True, slots=True)
class Seed:
    templates: tuple[TemplateSeed, ...] = ()
    admins: tuple[AdminSeed, ...] = ()
    extensions: tuple[ExtensionSeed, ...] = ()


# --- reading ---------------------------------------------------------------------------


def load_seed(path: Path) -> Seed:
    """Read a `.toml` or `.json` seed file; any mistake is a SeedError naming the place."""
    suffix = path.suffix.lower()
    if suffix not in {".toml", ".json"}:
        raise SeedError(f"{path}: a seed file must end in .toml or .json")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SeedError(f"cannot read the seed file {path}: {error.strerror}") from None
    try:
        data: object = tomllib.loads(raw.decode("utf-8")) if suffix == ".toml" else json.loads(raw)
    except UnicodeDecodeError:
        raise SeedError(f"{path}: a seed file must be UTF-8") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise SeedError(f"{path}: not valid {suffix[1:].upper()}: {error}") from None
    return parse_seed(data, source=str(path))


def parse_seed(data: object, *, source: str = "seed") -> Seed:
    """Build a Seed from parsed TOML or JSON (or any mapping of the same shape)."""
    top = _Entry(data, source)
    seed = Seed(
        templates=tuple(_template(entry) for entry in top.entries("templates")),
        admins=tuple(_admin(entry) for entry in top.entries("admins")),
        extensions=tuple(_extension(entry) for entry in top.entries("extensions")),
    )
    top.finish()
    _refuse_repeats(source, "template", [template.name for template in seed.templates])
    _refuse_repeats(source, "admin", [admin.name for admin in seed.admins])
    _refuse_repeats(source, "extension", [extension.number for extension in seed.extensions])
    return seed


def _template(entry: _Entry) -> TemplateSeed:
    template = TemplateSeed(
        name=entry.name(),
        id=entry.integer("id"),
        lang_locale=entry.text("lang_locale", limit=fields.LANG_LOCALE.longest),
        can_dial_from_ivr=entry.flag("can_dial_from_ivr"),
        status=entry.text("status", limit=fields.STATUS.longest),
        title=entry.text("title", limit=fields.TITLE.longest),
        location=entry.text("location", limit=fields.LOCATION.longest),
        voicemail_enabled=entry.flag("voicemail_enabled"),
        voicemail_pin_rule=entry.choice("voicemail_pin_rule", VoicemailPinRule),
    )
    entry.finish()
    return template


def _admin(entry: _Entry) -> AdminSeed:
    name = entry.name()
    if (problem := admin_name_problem(name)) is not None:
        entry.fail(problem)
    password = entry.required_text("password")
    if not password:
        entry.fail("'password' must not be empty")
    access = entry.choice("access", AccessLevel)
    if access is None:
        entry.fail("'access' is required")
    entry.finish()
    return AdminSeed(name, password, access)


def _extension(entry: _Entry) -> ExtensionSeed:
    cells = {column: entry.text(column, numeric=column in _NUMERIC_COLUMNS) for column in COLUMNS}
    if cells["ext"] is None:
        entry.fail("'ext' is required")
    if not cells["ext"].strip():
        entry.fail("'ext' must not be empty")
    extension_type = entry.choice("type", ExtensionType)
    template = entry.text("template", limit=fields.TEMPLATE_NAME.longest)
    entry.finish()
    return ExtensionSeed(
        cells={column: cell or "" for column, cell in cells.items()},
        extension_type=extension_type or ExtensionType.SIP,
        template=DEFAULT_TEMPLATE_NAME if template is None else template,
    )


def _refuse_repeats(source: str, kind: str, keys: Iterable[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise SeedError(f"{source}: the {kind} {key!r} is declared twice")
        seen.add(key)


_TYPE_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def _kind_of(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Entry:
    """One table of the seed, read key by key; the keys never asked for are the unknown ones."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise SeedError(f"{where}: must be a table, not {_kind_of(data)}")
        self.data: Mapping[object, object] = data
        self.where = where
        self.known: list[str] = []

    def fail(self, problem: str) -> NoReturn:
        raise SeedError(f"{self.where}: {problem}")

    def _get(self, key: str) -> object:
        self.known.append(key)
        return self.data.get(key)

    def entries(self, key: str) -> list[_Entry]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{key!r} must be an array of tables, not {_kind_of(value)}")
        return [_Entry(item, f"{self.where}: {key} entry {n}") for n, item in enumerate(value, 1)]

    def required_text(self, key: str, *, limit: int | None = None) -> str:
        value = self.text(key, limit=limit)
        if value is None:
            self.fail(f"{key!r} is required")
        return value

    def text(self, key: str, *, limit: int | None = None, numeric: bool = False) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if numeric and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            wanted = "a string or a whole number" if numeric else "a string"
            self.fail(f"{key!r} must be {wanted}, not {_kind_of(value)}")
        if limit is not None:
            if len(value) > limit:
                self.fail(f"{key!r} must be at most {limit} characters")
            if CONTROL_CHARACTER.search(value):
                self.fail(f"{key!r} must not contain control characters")
        return value

    def name(self) -> str:
        # Template and admin names have the same limit; admin_name_problem checks it again.
        name = self.required_text("name", limit=fields.TEMPLATE_NAME.longest)
        if not name.strip() or name != name.strip():
            self.fail("'name' must not be empty nor start or end with spaces")
        self.where = f"{self.where} ({name!r})"
        return name

    def flag(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(f"{key!r} must be true or false, not {_kind_of(value)}")
        return value

    def integer(self, key: str) -> int | None:
        value = self._get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            self.fail(f"{key!r} must be a whole number, not {_kind_of(value)}")
        return value

    def choice(self, key: str, choices: type[_Choice]) -> _Choice | None:
        raw = self.text(key)
        if raw is None:
            return None
        try:
            return choices(raw.strip().lower())
        except ValueError:
            allowed = " or ".join(repr(choice.value) for choice in choices)
            self.fail(f"{key!r} must be {allowed}, not {raw!r}")

    def finish(self) -> None:
        unknown = [str(key) for key in self.data if key not in self.known]
        if unknown:
            self.fail(f"unknown key {unknown[0]!r} (known keys: {', '.join(self.known)})")
