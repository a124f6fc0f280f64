"""`templates list|show|add|edit|remove`: the defaults new extensions take. Changes are
recorded in the import history."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import IntegrityError

from switchvox_server.cli.common import CommandError, prepared_database, record_id, say
from switchvox_server.faults import FAULTS
from switchvox_server.settings import Settings
from switchvox_server.store import fields
from switchvox_server.store.models import VoicemailPinRule
from switchvox_server.store.rows import TemplateRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from switchvox_server.cli.common import Commands

# Option names of the template settings, for messages.
_OPTIONS = {
    "title": "--title",
    "location": "--location",
    "lang_locale": "--lang-locale",
    "status": "--status",
    "can_dial_from_ivr": "--no-dial-from-ivr",
    "voicemail_enabled": "--no-voicemail",
    "voicemail_pin_rule": "--voicemail-pin-rule",
}
# Why uploads would refuse a template for one setting, for messages.
_LIMITS = {
    **{
        name: f"it must be at most {field.longest} characters, without control characters"
        for name, field in (("title", fields.TITLE), ("location", fields.LOCATION))
    },
    "lang_locale": "it must not be empty",
    "status": "it must not be empty",
}
_UNUSABLE = FAULTS.UNUSABLE_TEMPLATE.code


def add_parser(commands: Commands) -> None:
    templates = commands.add_parser("templates", help="manage extension templates")
    actions = templates.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show every template with its defaults")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="show one template's defaults")
    show.add_argument("id", type=record_id, metavar="ID")
    show.set_defaults(run=_show)
    add = actions.add_parser("add", help="create a template and print its id")
    add.add_argument("name", metavar="NAME", help="a name no other template has")
    _setting_options(add)
    add.set_defaults(run=_add)
    edit = actions.add_parser(
        "edit", help="change a template's name or settings (extensions made keep theirs)"
    )
    edit.add_argument("id", type=record_id, metavar="ID")
    edit.add_argument("--name", help="a new name no other template has")
    _setting_options(edit)
    edit.set_defaults(run=_edit)
    remove = actions.add_parser("remove", help="remove a template no extension was made from")
    remove.add_argument("id", type=record_id, metavar="ID")
    remove.set_defaults(run=_remove)


def _setting_options(add: argparse.ArgumentParser) -> None:
    add.add_argument("--title", help="the title new extensions take (default: empty)")
    add.add_argument("--location", help="the location new extensions take (default: empty)")
    add.add_argument("--lang-locale", metavar="X", help="the language (default: en_us)")
    add.add_argument("--status", metavar="S", help="the status (default: 1)")
    add.add_argument(
        "--no-dial-from-ivr",
        dest="can_dial_from_ivr",
        action="store_const",
        const=False,
        help="new extensions cannot be dialled from the IVR",
    )
    add.add_argument(
        "--no-voicemail",
        dest="voicemail_enabled",
        action="store_const",
        const=False,
        help="new extensions have no voicemail",
    )
    add.add_argument(
        "--voicemail-pin-rule",
        choices=[rule.value for rule in VoicemailPinRule],
        help="the PIN of a row without one: the extension number (default), required in"
        " the row, or none",
    )


def _list(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.store.templates import SETTINGS, list_templates

    with prepared_database(settings) as (database, _), database.sessions.begin() as session:
        templates = list_templates(session)
    say("\t".join(("id", "name", *SETTINGS)))
    for template in templates:
        columns: Mapping[str, object] = template  # read by the column names of SETTINGS
        cells = [template["id"], template["name"], *(columns[name] for name in SETTINGS)]
        say("\t".join(_text(cell) for cell in cells))
    return 0


def _show(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.bulk.rules import usable_template
    from switchvox_server.store.templates import SETTINGS

    template_id: int = arguments.id
    with prepared_database(settings) as (database, _), database.sessions.begin() as session:
        template = _existing_template(session, template_id)
    columns: Mapping[str, object] = template  # read by the column names of SETTINGS
    for name in ("id", "name", *SETTINGS):
        say(f"{name}: {_text(columns[name])}")
    if not usable_template(template):
        say(f"usable: no (uploads with this template answer fault {_UNUSABLE})")
    return 0


def _add(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.cli.imports import command_line_source
    from switchvox_server.history.changes import record_change
    from switchvox_server.history.recorder import ImportKind
    from switchvox_server.store.templates import add_template, template_id_by_name

    name: str = arguments.name
    _check_name(name)
    values = _settings(arguments)
    try:
        with (
            prepared_database(settings) as (database, _),
            database.exclusive_sessions.begin() as session,
        ):
            if template_id_by_name(session, name) is not None:
                raise CommandError(f"a template named {name!r} already exists")
            new_id = add_template(session, name, values)
            record = {"action": "add", "template_id": new_id, "name": name, "settings": values}
            record_change(session, command_line_source(), ImportKind.TEMPLATE, record)
    except IntegrityError:
        # Another process added the same name between our check and our commit.
        raise CommandError(f"a template named {name!r} already exists") from None
    say(str(new_id))  # only the id, for scripts: id=$(switchvox-server templates add ...)
    return 0


def _edit(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.cli.imports import command_line_source
    from switchvox_server.history.changes import record_change
    from switchvox_server.history.recorder import ImportKind
    from switchvox_server.store.templates import template_id_by_name, update_template

    template_id: int = arguments.id
    try:
        with (
            prepared_database(settings) as (database, _),
            database.exclusive_sessions.begin() as session,
        ):
            template = _existing_template(session, template_id)
            values = _settings(arguments, template)
            if arguments.name is not None:
                _check_name(arguments.name)
                holder = template_id_by_name(session, arguments.name)
                if holder not in (None, template_id):
                    raise CommandError(f"a template named {arguments.name!r} already exists")
                values["name"] = arguments.name
            if not values:
                raise CommandError("nothing to change: give --name or a setting")
            update_template(session, template_id, values)
            stored: Mapping[str, object] = template
            before = {name: stored[name] for name in values}
            record = {"action": "edit", "template_id": template_id, "before": before}
            import_id = record_change(
                session, command_line_source(), ImportKind.TEMPLATE, record | {"after": values}
            )
    except IntegrityError:
        raise CommandError(f"a template named {arguments.name!r} already exists") from None
    print(f"Changed template {template_id} (recorded as import {import_id}).")
    return 0


def _remove(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.cli.imports import command_line_source
    from switchvox_server.history.changes import record_change
    from switchvox_server.history.recorder import ImportKind
    from switchvox_server.store.templates import remove_template, template_in_use

    template_id: int = arguments.id
    with (
        prepared_database(settings) as (database, _),
        database.exclusive_sessions.begin() as session,
    ):
        template = _existing_template(session, template_id)
        users = template_in_use(session, template_id)
        if users:
            raise CommandError(
                f"template {template_id} is in use by {users} extension"
                f"{'' if users == 1 else 's'}: it cannot be removed"
            )
        remove_template(session, template_id)
        record = {"action": "remove", "template_id": template_id, "before": template}
        import_id = record_change(session, command_line_source(), ImportKind.TEMPLATE, record)
    print(f"Removed template {template_id} (recorded as import {import_id}).")
    return 0


def _settings(
    arguments: argparse.Namespace, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The settings given on the command line, checked as an upload would check them
    (against the template's `current` settings when it is changed)."""
    from switchvox_server.bulk.rules import CONTROL_CHARACTER, usable_template
    from switchvox_server.store.templates import TEXT_LIMITS, default_settings

    given = {name: value for name in _OPTIONS if (value := getattr(arguments, name)) is not None}
    defaults = dict(current) if current is not None else default_settings()
    defaults |= {"id": 0, "name": arguments.name or ""}
    if not usable_template(cast(TemplateRow, defaults | given)):
        # The defaults are usable, so trying each setting alone names the one at fault.
        for name, value in given.items():
            if not usable_template(cast(TemplateRow, defaults | {name: value})):
                raise CommandError(
                    f"{_OPTIONS[name]}: uploads would refuse such a template with fault"
                    f" {_UNUSABLE} ({_LIMITS.get(name, 'the value is unusable')})"
                )
        raise CommandError(f"uploads would refuse this template with fault {_UNUSABLE}")
    for name, value in given.items():
        if not isinstance(value, str):
            continue
        # Column sizes, checked here so that PostgreSQL never refuses a long value.
        limit = TEXT_LIMITS[name]
        if len(value) > limit:
            raise CommandError(f"{_OPTIONS[name]} must be at most {limit} characters")
        if CONTROL_CHARACTER.search(value):
            raise CommandError(f"{_OPTIONS[name]} must not contain control characters")
    return given


def _existing_template(session: Session, template_id: int) -> TemplateRow:
    from switchvox_server.store.queries import template_by_id

    template = template_by_id(session, template_id)
    if template is None:
        raise CommandError(f"no template with the id {template_id}")
    return template


def _check_name(name: str) -> None:
    from switchvox_server.bulk.rules import CONTROL_CHARACTER
    from switchvox_server.store.templates import TEXT_LIMITS

    limit = TEXT_LIMITS["name"]
    if not name.strip():
        raise CommandError("a template name must not be empty")
    if len(name) > limit:
        raise CommandError(f"a template name must be at most {limit} characters")
    if name != name.strip() or CONTROL_CHARACTER.search(name):
        raise CommandError(
            "a template name must not contain control characters or start or end with spaces"
        )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
