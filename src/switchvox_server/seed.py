"""Seed files: the templates, admin accounts and extensions a store should hold, declared in
TOML or JSON and applied idempotently in one transaction.

```toml
[[templates]]
name = "Sales"            # the key: created, or updated to exactly what is declared
title = "Sales"           # omitted settings take the template defaults

[[admins]]
name = "ci"
password = "secret"
access = "read_only"      # full | read_only

[[extensions]]
ext = "201"               # the bulk upload CSV's column names, with the CSV's meaning
fname = "Ada"
lname = "Lovelace"
email = "ada@example.com"
password = "web-pass"
phone_password = "sip-pass-201"
type = "sip"              # sip | virtual; default sip
template = "Sales"        # a template name; default "Default"
```

Extensions are loaded through the bulk upload pipeline, the code the API runs, so a seed can
hold nothing an upload would refuse. They go in with dupe_process 2 (replace): an existing
extension is rebuilt from its template and the declared row as if new, so after any number of
runs it is exactly what the seed says, and it keeps its account id. Update (3) would keep
stored values wherever the seed leaves a cell empty, so the result would depend on history.

Templates take their ids from the table's own key sequence: an explicit id inserted on
PostgreSQL would leave the sequence behind and break the next template created. A declared
`id` is therefore only a check that fails the seed when the template has another id.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryFile
from typing import IO, Any, NoReturn, TypeVar

from sqlalchemy.orm import Session

from switchvox_server.bulk.csv_reader import COLUMNS
from switchvox_server.bulk.report import Section
from switchvox_server.bulk.rules import CONTROL_CHARACTER, RowPolicy, usable_template
from switchvox_server.bulk.upload import (
    BATCH_SIZE,
    DupeProcess,
    ExtensionLimit,
    UploadOptions,
    bulk_upload,
)
from switchvox_server.faults import ApiError, SwitchvoxServerError
from switchvox_server.settings import Settings
from switchvox_server.store import fields, queries
from switchvox_server.store.accounts import (
    DEFAULT_ADMIN,
    admin_name_problem,
    put_admin,
    remove_admins_except,
    remove_all_extensions,
)
from switchvox_server.store.database import Database
from switchvox_server.store.models import AccessLevel, ExtensionType, VoicemailPinRule
from switchvox_server.store.rows import TemplateRow
from switchvox_server.store.templates import (
    default_settings,
    put_template,
    remove_templates_except,
    template_id_by_name,
    update_template,
)
from switchvox_server.store.writer import SessionWriter

DEFAULT_TEMPLATE_ID = 1
DEFAULT_TEMPLATE_NAME = "Default"
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


@dataclass(frozen=True, slots=True)
class Counts:
    """How many records of one kind were created, and how many existed and were set."""

    created: int = 0
    updated: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated"


@dataclass(frozen=True, slots=True)
class SeedSummary:
    templates: Counts
    admins: Counts
    extensions: Counts
    template_ids: Mapping[str, int]
    """The id of each seeded template, by name."""

    def __str__(self) -> str:
        return f"templates: {self.templates}; admins: {self.admins}; extensions: {self.extensions}"


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


# --- applying --------------------------------------------------------------------------


def apply_seed(
    database: Database, seed: Seed, secret_key: bytes, settings: Settings
) -> SeedSummary:
    """Make the store hold what `seed` declares, in one transaction: all of it or nothing.

    Records the seed does not mention are left alone. `secret_key` is the server's, which
    voicemail PIN digests depend on; `settings` give the row rules and extension limits.
    """
    with database.exclusive_sessions.begin() as session:
        return _apply(session, seed, secret_key, settings)


def reset_to_seed(
    database: Database, seed: Seed, secret_key: bytes, settings: Settings
) -> SeedSummary:
    """Empty the store down to `seed`, in one transaction, for tests between test cases.

    Deletes every extension, every admin the seed does not declare except `admin` (whose
    password becomes `settings.admin_password` when that is set), every template the seed
    does not declare except template 1, which gets back its name `Default` and the default
    settings; then applies the seed.
    """
    with database.exclusive_sessions.begin() as session:
        remove_all_extensions(session)
        remove_admins_except(session, {admin.name for admin in seed.admins} | {DEFAULT_ADMIN})
        templates = {template.name for template in seed.templates}
        remove_templates_except(session, DEFAULT_TEMPLATE_ID, templates)
        update_template(
            session, DEFAULT_TEMPLATE_ID, {"name": DEFAULT_TEMPLATE_NAME, **default_settings()}
        )
        if settings.admin_password is not None:
            default_admin = AdminSeed(DEFAULT_ADMIN, settings.admin_password, AccessLevel.FULL)
            _apply_admins(session, [default_admin])
        return _apply(session, seed, secret_key, settings)


def _apply(session: Session, seed: Seed, secret_key: bytes, settings: Settings) -> SeedSummary:
    templates, template_ids = _apply_templates(session, seed.templates)
    admins = _apply_admins(session, seed.admins)
    # The same policy and limits as the upload method: a seed must not get round them.
    policy = RowPolicy.from_settings(settings)
    limit = ExtensionLimit.from_settings(settings)
    writer = SessionWriter(session, secret_key)
    extensions = _apply_extensions(session, seed.extensions, policy, limit, writer)
    return SeedSummary(templates, admins, extensions, template_ids)


def _apply_templates(
    session: Session, templates: Sequence[TemplateSeed]
) -> tuple[Counts, dict[str, int]]:
    created = updated = 0
    ids: dict[str, int] = {}
    for declared in templates:
        template_id, was_created = put_template(session, declared.name, declared.values())
        if was_created:
            created += 1
        else:
            updated += 1
        if declared.id is not None and declared.id != template_id:
            raise SeedError(
                f"the template {declared.name!r} has the id {template_id}, not {declared.id}"
                " as the seed expects (template ids come from the database)"
            )
        ids[declared.name] = template_id
    return Counts(created, updated), ids


def _apply_admins(session: Session, admins: Iterable[AdminSeed]) -> Counts:
    created = updated = 0
    for declared in admins:
        if put_admin(session, declared.name, declared.password, declared.access):
            created += 1
        else:
            updated += 1
    session.flush()
    return Counts(created, updated)


def _apply_extensions(
    session: Session,
    extensions: Sequence[ExtensionSeed],
    policy: RowPolicy,
    limit: ExtensionLimit | None,
    writer: SessionWriter,
) -> Counts:
    # One upload per (type, template), as a user of the API would have to make them.
    groups: dict[tuple[ExtensionType, str], list[ExtensionSeed]] = {}
    for extension in extensions:
        groups.setdefault((extension.extension_type, extension.template), []).append(extension)
    created = updated = 0
    failures: list[str] = []
    for (extension_type, template_name), rows in groups.items():
        template = _template_by_name(session, template_name)
        options = UploadOptions(extension_type, DupeProcess.REPLACE, template)
        # Uploads of at most one batch: should the pipeline ever look up a batch while it
        # writes the previous one (which needs two sessions), the seed's single session,
        # which must see the transaction's own earlier changes, stays safe to share.
        for start in range(0, len(rows), BATCH_SIZE):
            with _csv_file(rows[start : start + BATCH_SIZE]) as source:
                try:
                    report = bulk_upload(session, source, options, policy, limit, writer)
                except ApiError as error:
                    raise SeedError(
                        f"the {extension_type.display}s with the template {template_name!r}"
                        f" cannot be loaded: {error.errors[0].message}"
                    ) from None
            try:
                failures += [
                    f"extension {number}: {' '.join(errors)}"
                    for number, _first, _last, _email, errors in report.sections[
                        Section.CREATE_FAILED
                    ].rows()
                ]
                created += report.count(Section.CREATED)
                updated += report.count(Section.REPLACED)
            finally:
                report.close()
    if failures:
        raise SeedError("the seed's extensions are not valid:\n  " + "\n  ".join(failures))
    return Counts(created, updated)


def _template_by_name(session: Session, name: str) -> TemplateRow:
    template_id = template_id_by_name(session, name)
    template = None if template_id is None else queries.template_by_id(session, template_id)
    if template is None:
        raise SeedError(f"there is no template named {name!r} for the seed's extensions")
    if not usable_template(template):
        raise SeedError(f"the template {name!r} cannot make extensions")
    return template


def _csv_file(rows: Iterable[ExtensionSeed]) -> IO[bytes]:
    """The rows as a bulk upload CSV file with every column, read from the start."""
    source = TemporaryFile()  # noqa: SIM115  # handed to and closed by the caller
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows([row.cells[column] for column in COLUMNS] for row in rows)
    text.flush()
    text.detach()
    source.seek(0)
    return source
