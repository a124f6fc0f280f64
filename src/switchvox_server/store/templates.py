"""Extension templates: list, read, add, change and remove. Functions take a Session and
never commit."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast

from sqlalchemy import ColumnDefault, String, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from switchvox_server.store.models import Extension, Template
from switchvox_server.store.rows import TemplateRow

TEMPLATES = cast(Table, Template.__table__)
EXTENSIONS = cast(Table, Extension.__table__)
# The settings of a template, in the order they are shown: every column but id and name.
SETTINGS = tuple(column.name for column in TEMPLATES.columns if column.name not in {"id", "name"})
# The most characters each text column holds (PostgreSQL refuses more; SQLite would not).
TEXT_LIMITS: Mapping[str, int] = {
    column.name: column.type.length
    for column in TEMPLATES.columns
    if isinstance(column.type, String) and column.type.length is not None
}


def default_settings() -> dict[str, Any]:
    """What a template that declares nothing holds: the model's column defaults."""
    return {
        column.name: column.default.arg
        for column in TEMPLATES.columns
        if isinstance(column.default, ColumnDefault)
    }


def list_templates(session: Session) -> list[TemplateRow]:
    """Every template with all its columns, by id."""
    rows = session.execute(select(TEMPLATES).order_by(TEMPLATES.c.id))
    return [cast(TemplateRow, dict(row._mapping)) for row in rows]


def template_id_by_name(session: Session, name: str) -> int | None:
    found: int | None = session.execute(
        select(TEMPLATES.c.id).where(TEMPLATES.c.name == name)
    ).scalar_one_or_none()
    return found


def add_template(session: Session, name: str, settings: Mapping[str, Any]) -> int:
    """Insert a template and return its id, taken from the table's own key sequence.

    `settings` are columns of SETTINGS; those left out take the defaults. A name already
    taken raises IntegrityError (now or when the caller commits).
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"not template settings: {', '.join(sorted(unknown))}")
    values = default_settings() | dict(settings) | {"name": name}
    new_id: int = session.execute(
        insert(TEMPLATES).values(values).returning(TEMPLATES.c.id)
    ).scalar_one()
    return new_id


def put_template(session: Session, name: str, settings: Mapping[str, Any]) -> tuple[int, bool]:
    """Make the template `name` hold `settings`, creating it if need be: its id, and
    whether it was created."""
    template_id = template_id_by_name(session, name)
    if template_id is None:
        return add_template(session, name, settings), True
    update_template(session, template_id, settings)
    return template_id, False


def template_in_use(session: Session, template_id: int) -> int:
    """How many extensions were made from the template."""
    query = (
        select(func.count()).select_from(EXTENSIONS).where(EXTENSIONS.c.template_id == template_id)
    )
    return int(session.execute(query).scalar_one())


def update_template(session: Session, template_id: int, values: Mapping[str, Any]) -> None:
    """Change the given columns (name or SETTINGS) of a template."""
    unknown = set(values) - {*SETTINGS, "name"}
    if unknown:
        raise ValueError(f"not template settings: {', '.join(sorted(unknown))}")
    session.execute(update(TEMPLATES).where(TEMPLATES.c.id == template_id).values(dict(values)))


def remove_template(session: Session, template_id: int) -> None:
    session.execute(delete(TEMPLATES).where(TEMPLATES.c.id == template_id))


def restore_template(
    session: Session, template_id: int, name: str, settings: Mapping[str, Any]
) -> None:
    """Give the template `template_id` this name and these settings, making it again under
    that id if it was removed (a reset brings back the template every store starts with)."""
    if session.execute(select(TEMPLATES.c.id).where(TEMPLATES.c.id == template_id)).first():
        update_template(session, template_id, {"name": name, **settings})
    else:
        session.execute(insert(TEMPLATES).values(id=template_id, name=name, **settings))


def remove_templates_except(session: Session, keep_id: int, names: Collection[str]) -> None:
    """Remove every template but the one with `keep_id` and those named in `names`."""
    session.execute(
        delete(TEMPLATES).where(TEMPLATES.c.id != keep_id, TEMPLATES.c.name.not_in(names))
    )
