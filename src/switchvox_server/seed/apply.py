"""Applying a seed: the store made to hold what a checked seed declares, in one transaction,
idempotently (the rules: package docstring, seed/__init__.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from tempfile import TemporaryFile
from typing import IO, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from switchvox_server.bulk.csv_reader import COLUMNS
from switchvox_server.bulk.report import Section
from switchvox_server.bulk.rules import RowPolicy, usable_template
from switchvox_server.bulk.upload import (
    BATCH_SIZE,
    DupeProcess,
    ExtensionLimit,
    UploadOptions,
    bulk_upload,
)
from switchvox_server.faults import ApiError
from switchvox_server.passwords import digest_ha1, hash_password, verify_ha1
from switchvox_server.seed.declaration import (
    DEFAULT_TEMPLATE_ID,
    DEFAULT_TEMPLATE_NAME,
    AdminSeed,
    ExtensionSeed,
    Seed,
    SeedError,
    TemplateSeed,
)
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.accounts import DEFAULT_ADMIN
from switchvox_server.store.database import Database
from switchvox_server.store.models import (
    AccessLevel,
    AdminAccount,
    Extension,
    ExtensionType,
    Template,
)
from switchvox_server.store.templates import default_settings
from switchvox_server.store.writer import SessionWriter


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
    settings (or is made again, if it was removed); then applies the seed.
    """
    with database.exclusive_sessions.begin() as session:
        session.execute(delete(Extension))
        admins = {admin.name for admin in seed.admins} | {DEFAULT_ADMIN}
        session.execute(delete(AdminAccount).where(AdminAccount.name.not_in(admins)))
        templates = {template.name for template in seed.templates}
        session.execute(
            delete(Template).where(
                Template.id != DEFAULT_TEMPLATE_ID, Template.name.not_in(templates)
            )
        )
        default = {"name": DEFAULT_TEMPLATE_NAME, **default_settings()}
        if session.scalar(select(Template.id).where(Template.id == DEFAULT_TEMPLATE_ID)):
            session.execute(
                update(Template).where(Template.id == DEFAULT_TEMPLATE_ID).values(**default)
            )
        else:  # removed since: the start of a store has it (SPEC §7)
            session.execute(insert(Template).values(id=DEFAULT_TEMPLATE_ID, **default))
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
        stored = session.scalars(select(Template).where(Template.name == declared.name)).first()
        if stored is None:
            stored = Template(name=declared.name, **declared.values())
            session.add(stored)
            session.flush()  # for its id from the table's sequence
            created += 1
        else:
            for name, value in declared.values().items():
                setattr(stored, name, value)
            updated += 1
        if declared.id is not None and declared.id != stored.id:
            raise SeedError(
                f"the template {declared.name!r} has the id {stored.id}, not {declared.id}"
                " as the seed expects (template ids come from the database)"
            )
        ids[declared.name] = stored.id
    session.flush()
    return Counts(created, updated), ids


def _apply_admins(session: Session, admins: Iterable[AdminSeed]) -> Counts:
    created = updated = 0
    for declared in admins:
        stored = session.scalars(
            select(AdminAccount).where(AdminAccount.name == declared.name)
        ).first()
        if stored is None:
            session.add(
                AdminAccount(
                    name=declared.name,
                    access=declared.access.value,
                    password_hash=hash_password(declared.password),
                    digest_ha1=digest_ha1(declared.name, declared.password),
                )
            )
            created += 1
            continue
        # Both forms are always written together; checking the cheap one saves an scrypt
        # hash per admin on every run of an unchanged seed.
        if not verify_ha1(declared.name, declared.password, stored.digest_ha1):
            stored.password_hash = hash_password(declared.password)
            stored.digest_ha1 = digest_ha1(declared.name, declared.password)
        stored.access = declared.access.value
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


def _template_by_name(session: Session, name: str) -> Mapping[str, Any]:
    template_id = session.scalars(select(Template.id).where(Template.name == name)).first()
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
