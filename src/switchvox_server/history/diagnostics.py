"""What a header says about an upload beyond the fault table: labels that name no column,
and labels new extensions of the upload's type need but the header lacks. Such notes go to
the server log, the command line and the history; the API answer stays the documented one."""

from __future__ import annotations

from collections.abc import Mapping

from switchvox_server.bulk.csv_reader import HEADER_ALIASES, CsvTable
from switchvox_server.store.models import ExtensionType

# The columns whose cells a new extension of each type must have (docs/csv.md row rules).
NEW_EXTENSION_LABELS: Mapping[ExtensionType, tuple[str, ...]] = {
    ExtensionType.SIP: ("fname", "lname", "email", "password", "phone_password"),
    ExtensionType.VIRTUAL: ("fname", "lname", "email", "password"),
}


def header_notes(table: CsvTable, extension_type: ExtensionType) -> list[str]:
    """One sentence per thing worth knowing about the header, none when all is well."""
    notes: list[str] = []
    if table.ignored_labels:
        ignored = ", ".join(repr(label) for label in table.ignored_labels)
        notes.append(
            f"Ignored header labels (no such column): {ignored}. The accepted labels are"
            f" {', '.join(HEADER_ALIASES)}."
        )
    missing = [
        label for label in NEW_EXTENSION_LABELS[extension_type] if label not in table.columns
    ]
    if missing:
        notes.append(
            f"The header has no {', '.join(missing)} label: rows that create a"
            f" {extension_type.value} extension need {'it' if len(missing) == 1 else 'them'}."
        )
    return notes
