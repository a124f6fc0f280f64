"""The state document: the whole store (templates, admin accounts, extensions) as one JSON
object, every column as stored, so that dump -> restore -> dump gives the same document.

Secrets appear only in their stored forms (scrypt hashes, Digest and SIP HA1s, PIN HMACs),
which is enough for a restored store to authenticate the same admins and extensions. The
voicemail PIN digests are keyed with the server secret, which the document does not carry:
they stay valid where the server has the same secret (the same database, or the same
SWITCHVOX_SECRET_KEY).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from switchvox_server.bulk.rules import CONTROL_CHARACTER
from switchvox_server.control.errors import ControlError
from switchvox_server.store import control_tables, history, retries
from switchvox_server.store.models import AccessLevel, ExtensionType, VoicemailPinRule
from switchvox_server.store.snapshot import SECTIONS, read_sections, replace_sections

FORMAT = "switchvox-server-state/1"
# Columns whose values are one of a set, checked so a restored store holds only those.
_CHOICES: Mapping[str, frozenset[str]] = {
    "access": frozenset(level.value for level in AccessLevel),
    "extension_type": frozenset(kind.value for kind in ExtensionType),
    "voicemail_pin_rule": frozenset(rule.value for rule in VoicemailPinRule),
}


def dump(session: Session) -> dict[str, Any]:
    """The store as a state document."""
    document: dict[str, Any] = {"format": FORMAT}
    for name, rows in read_sections(session).items():
        document[name] = [
            {column: _to_json(value) for column, value in row.items()} for row in rows
        ]
    return document


def restore(session: Session, document: object) -> None:
    """Replace the store with a state document; a ControlError says what is wrong with it,
    and nothing is changed then (the caller's transaction rolls back)."""
    sections = _checked(document)
    # The import history and stored retry answers describe the store being replaced.
    history.forget_all(session)
    retries.forget_all(session)
    try:
        replace_sections(session, sections)
    except IntegrityError as error:
        raise ControlError(
            f"state: the document is not a consistent store ({error.orig})"
        ) from None


def save_reset_point(session: Session) -> None:
    """Remember the store as it is now as what `reset` goes back to."""
    control_tables.set_value(session, control_tables.RESET_POINT_KEY, json.dumps(dump(session)))


def reset_point(session: Session) -> object | None:
    stored = control_tables.values_named(session, [control_tables.RESET_POINT_KEY])
    value = stored.get(control_tables.RESET_POINT_KEY)
    return None if value is None else json.loads(value)


def _to_json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _checked(document: object) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(document, dict):
        raise ControlError("state: the document must be a JSON object")
    if document.get("format") != FORMAT:
        raise ControlError(f"state: 'format' must be {FORMAT!r}")
    unknown = sorted(set(document) - {"format", *(name for name, _ in SECTIONS)})
    if unknown:
        raise ControlError(f"state: unknown key {unknown[0]!r}")
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, table in SECTIONS:
        rows = document.get(name)
        if not isinstance(rows, list):
            raise ControlError(f"state: {name!r} must be an array")
        sections[name] = [_row(f"{name}[{n}]", table, row) for n, row in enumerate(rows)]
    return sections


def _row(where: str, table: Table, row: object) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ControlError(f"state: {where} must be an object")
    names = {column.name for column in table.columns}
    if set(row) != names:
        extra = sorted(set(row) - names)
        missing = sorted(names - set(row))
        problem = f"unknown key {extra[0]!r}" if extra else f"missing key {missing[0]!r}"
        raise ControlError(f"state: {where}: {problem}")
    return {
        column.name: _value(f"{where}.{column.name}", column, row[column.name])
        for column in table.columns
    }


def _value(where: str, column: Column[Any], value: object) -> object:
    if value is None:
        if column.nullable:
            return None
        raise ControlError(f"state: {where} must not be null")
    kind = column.type
    if isinstance(kind, Boolean):
        if isinstance(value, bool):
            return value
        raise ControlError(f"state: {where} must be true or false")
    if isinstance(kind, Integer):
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
            return value
        raise ControlError(f"state: {where} must be a positive whole number")
    if isinstance(kind, DateTime):
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise ControlError(f"state: {where} must be an ISO date and time")
    if isinstance(kind, String) and isinstance(value, str):
        if kind.length is not None and len(value) > kind.length:
            raise ControlError(f"state: {where} must be at most {kind.length} characters")
        if CONTROL_CHARACTER.search(value):
            raise ControlError(f"state: {where} must not contain control characters")
        allowed = _CHOICES.get(column.name)
        if allowed is not None and value not in allowed:
            raise ControlError(f"state: {where} must be one of {', '.join(sorted(allowed))}")
        return value
    raise ControlError(f"state: {where} must be a string")
