"""Undo, and removing extensions by number: both put a set of extensions into given states
(a stored row, or absent) in one transaction, with set operations, and are recorded as
imports of their own whose changes let them be undone in turn (undoing an undo redoes).

An extension can be put back only while it is as the import left it: `extension_versions`
names the last recorded import that wrote each number, and any other name there means a
later change touched it (a conflict). Forced, an undo puts back the others and keeps those.
An extension these changes remove gets the version NO_VERSION, as any absent extension has,
so that an upload that creates one never needs to look its version up.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.history.recorder import ImportKind, ImportSource, created_changes, now
from switchvox_server.history.records import (
    NO_VERSION,
    BlobWriter,
    Change,
    RowRecord,
    read_blob,
    restored_state,
    storable_state,
)
from switchvox_server.store import history as store
from switchvox_server.store import queries
from switchvox_server.store.database import Database

# Conflicting extensions a fault names; the rest are counted.
LISTED_CONFLICTS = 20

# What to do to one extension: put it into a state (None: absent) at a version (None: the
# version of the import doing it, or NO_VERSION for an absent one).
Target = tuple[str, dict[str, Any] | None, int | None]

REMOVED = "removed"
RESTORED = "restored"
KEPT = "kept"
NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """The import an undo or a removal was recorded as, and what it did."""

    import_id: int
    counts: Mapping[str, int]
    kept: tuple[str, ...] = ()
    """Extensions a forced undo left alone because a later change touched them."""
    missing: tuple[str, ...] = ()
    """Extensions a removal did not find."""


def undo(database: Database, import_id: int, source: ImportSource, *, force: bool) -> ChangeOutcome:
    """Put every extension `import_id` wrote back as it was; raise ApiError if it cannot be
    undone, or if later changes touched some of them and `force` is false."""
    with database.exclusive_sessions.begin() as session:
        target = store.import_by_id(session, import_id)
        if target is None:
            raise ApiError(FAULTS.INVALID_IMPORT, import_id)
        _check_undoable(target)
        changes: list[Change] = list(read_blob(target["changes"]))
        changes += created_changes(target["kind"], read_blob(target["rows"]), import_id)
        versions = store.versions_of(session, [change[0] for change in changes])
        kept = tuple(
            number for number, _, _, after in changes if versions.get(number, NO_VERSION) != after
        )
        if kept and not force:
            raise ApiError(FAULTS.UNDO_CONFLICT, import_id, _listed(kept))
        kept_set = set(kept)
        targets: list[Target] = [
            (number, state, before)
            for number, state, before, _ in changes
            if number not in kept_set
        ]
        extra: list[RowRecord] = [
            (0, 0, KEPT, number, (f"Changed since by import {versions.get(number, '?')}.",))
            for number in kept
        ]
        outcome = _apply(
            session,
            targets,
            extra,
            source,
            kind=ImportKind.UNDO,
            options={"undo": import_id, "force": force},
            undoes=import_id,
        )
    return ChangeOutcome(outcome.import_id, outcome.counts, kept)


def remove(database: Database, numbers: Sequence[str], source: ImportSource) -> ChangeOutcome:
    """Remove the extensions of `numbers` that exist, recorded as an import of its own."""
    wanted = list(dict.fromkeys(numbers))
    with database.exclusive_sessions.begin() as session:
        found = store.stored_extensions(session, wanted)
        missing = [number for number in wanted if number not in found]
        extra: list[RowRecord] = [(0, 0, NOT_FOUND, number, ()) for number in missing]
        targets: list[Target] = [(number, None, None) for number in wanted if number in found]
        outcome = _apply(
            session, targets, extra, source, kind=ImportKind.REMOVE, options={}, current=found
        )
    return ChangeOutcome(outcome.import_id, outcome.counts, missing=tuple(missing))


def _check_undoable(target: Mapping[str, Any]) -> None:
    import_id = target["id"]
    if target["undone_by"] is not None:
        raise ApiError(FAULTS.NOT_UNDOABLE, import_id, f"import {target['undone_by']} undid it")
    if target["kind"] == ImportKind.EVALUATION or target["changes"] is None:
        raise ApiError(FAULTS.NOT_UNDOABLE, import_id, "it wrote nothing")


def _check_macs_free(
    session: Session,
    import_id: int,
    restored: Sequence[Mapping[str, Any]],
    removed: Collection[str],
) -> None:
    """Refuse the undo when a MAC address it would put back now belongs to an extension it
    does not itself remove or restore: MAC addresses are unique across the system."""
    wanted = {state["mac_address"]: state["number"] for state in restored if state["mac_address"]}
    touched = {*removed, *(state["number"] for state in restored)}
    for mac, owner in queries.owners_of_macs(session, wanted).items():
        if owner not in touched:
            raise ApiError(
                FAULTS.NOT_UNDOABLE,
                import_id,
                f"extension {owner} now has the MAC address {mac} it would put back",
            )


def _listed(numbers: Sequence[str]) -> str:
    shown = ", ".join(numbers[:LISTED_CONFLICTS])
    more = len(numbers) - LISTED_CONFLICTS
    return shown if more <= 0 else f"{shown} and {more} more"


def _apply(
    session: Session,
    targets: Sequence[Target],
    extra: list[RowRecord],
    source: ImportSource,
    *,
    kind: str,
    options: Mapping[str, object],
    undoes: int | None = None,
    current: Mapping[str, Mapping[str, Any]] | None = None,
) -> ChangeOutcome:
    """Put each extension of `targets` into its state and version, and record it."""
    numbers = [number for number, _, _ in targets]
    if current is None:
        current = store.stored_extensions(session, numbers)
    removals = [number for number, state, _ in targets if state is None and number in current]
    rewrites = [
        restored_state(state) | {"restored_account_id": current[number]["account_id"]}
        for number, state, _ in targets
        if state is not None and number in current
    ]
    inserts = [
        restored_state(state)
        for number, state, _ in targets
        if state is not None and number not in current
    ]
    if undoes is not None:
        _check_macs_free(session, undoes, [*rewrites, *inserts], set(removals))
    store.put_back_extensions(session, removals, rewrites, inserts)

    import_id = store.next_import_id(session)
    records: list[RowRecord] = [
        (0, 0, REMOVED if state is None else RESTORED, number, ()) for number, state, _ in targets
    ]
    records += extra
    versions_before = store.versions_of(session, numbers)
    versions_after = [
        (number, NO_VERSION if state is None else import_id if version is None else version)
        for number, state, version in targets
    ]
    befores: list[Change] = [
        (
            number,
            storable_state(current[number]) if number in current else None,
            versions_before.get(number, NO_VERSION),
            after,
        )
        for number, after in versions_after
    ]
    rows, changes = BlobWriter(), BlobWriter()
    rows.add(records)
    changes.add(befores)
    counts: dict[str, int] = {}
    for _, _, section, _, _ in records:
        counts[section] = counts.get(section, 0) + 1
    store.set_versions(session, versions_after)
    _record(session, import_id, kind, source, options, counts, rows.finish(), changes.finish())
    if undoes is not None:
        store.mark_undone(session, undoes, import_id)
    return ChangeOutcome(import_id, counts)


def record_change(
    session: Session, source: ImportSource, kind: str, options: Mapping[str, object]
) -> int:
    """Record a change that touches no extension (a template's), in the caller's
    transaction, which must hold the writer lock; return its id. It cannot be undone."""
    import_id = store.next_import_id(session)
    empty = BlobWriter().finish()
    _record(session, import_id, kind, source, options, {}, empty, None)
    return import_id


def _record(
    session: Session,
    import_id: int,
    kind: str,
    source: ImportSource,
    options: Mapping[str, object],
    counts: Mapping[str, int],
    rows: bytes,
    changes: bytes | None,
) -> None:
    undoes = options.get("undo")
    store.insert_import(
        session,
        {
            "id": import_id,
            "kind": kind,
            "created_at": now(),
            "caller": source.caller[:64],
            "address": source.address[:64],
            "file_name": "",
            "file_size": 0,
            "file_sha256": "",
            "options": json.dumps(dict(options)),
            "counts": json.dumps(dict(counts)),
            "notes": "[]",
            "undoes": undoes if isinstance(undoes, int) else None,
            "undone_by": None,
            "rows": rows,
            "changes": changes,
        },
    )
