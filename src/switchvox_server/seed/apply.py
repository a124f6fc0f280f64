"""Applying a seed: the store made to hold what a checked seed declares, in one transaction,
idempotently (the rules: package docstring, seed/__init__.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from tempfile import TemporaryFile
from typing import IO

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
from switchvox_server.store.accounts import (
    DEFAULT_ADMIN,
    put_admin,
    remove_admins_except,
    remove_all_extensions,
)
from switchvox_server.store.database import Database
from switchvox_server.store.models import (
    AccessLevel,
    ExtensionType,
)
from switchvox_server.store.rows import TemplateRow
from switchvox_server.store.templates import (
    default_settings,
    put_template,
    remove_templates_except,
    restore_template,
    template_id_by_name,
)
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
        remove_all_extensions(session)
        remove_admins_except(session, {admin.name for admin in seed.admins} | {DEFAULT_ADMIN})
        remove_templates_except(
            session, DEFAULT_TEMPLATE_ID, {template.name for template in seed.templates}
        )
        restore_template(session, DEFAULT_TEMPLATE_ID, DEFAULT_TEMPLATE_NAME, default_settings())
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
