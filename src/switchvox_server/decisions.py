"""The decisions of this project where Switchvox's public material is silent.

This table, with the faults and row messages marked OURS in their own tables, is the one
place they are written down; `python -m switchvox_server.decisions` prints them as the
Markdown of docs/decisions.md, and a test keeps that file in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.faults import FAULTS, Origin


@dataclass(frozen=True, slots=True)
class Decision:
    topic: str
    decision: str


DECISIONS: tuple[Decision, ...] = (
    Decision(
        "Health endpoints",
        "`GET /healthz` answers while the process runs; `GET /readyz` also checks the"
        " database. Neither needs credentials.",
    ),
    Decision(
        "Header labels",
        "Only `ext` is required in the header. A column the header lacks behaves like an"
        " empty cell, so an update file may carry just `ext` and the columns it changes.",
    ),
    Decision(
        "Delimiters",
        "A semicolon- or tab-separated file (a spreadsheet export in another locale) is"
        " recognised from its header line; otherwise the delimiter is the comma.",
    ),
    Decision(
        "Encodings",
        "A byte order mark decides (UTF-8 or UTF-16); without one the file is UTF-8 when"
        " all of it decodes as UTF-8, and Windows-1252 otherwise.",
    ),
    Decision(
        "Blank rows",
        "Rows with no cells, or only empty or space-only cells, are skipped and not reported.",
    ),
    Decision(
        "Row numbers",
        "Messages name spreadsheet rows: the header is row 1, and blank rows count.",
    ),
    Decision(
        "Trimming",
        "Text cells are trimmed of surrounding spaces; passwords are taken as written.",
    ),
    Decision(
        "Repeated rows",
        "The first row of an extension number (or MAC address) in a file wins; a later row"
        " reports only that it repeats the first, naming its row.",
    ),
    Decision(
        "Ragged rows",
        "A row with more or fewer cells than the header fails for its cell count (or is"
        " skipped, under dupe_process 1, when its extension exists). Its cells may sit under"
        " the wrong labels and a shifted cell can be a password, so only its extension cell is"
        " read: the report shows its number with empty names and email, and no other errors.",
    ),
    Decision(
        "Replace",
        "Replace rebuilds the extension from the template and the row, with the upload's"
        " type and template, and keeps its account id and creation date.",
    ),
    Decision(
        "Update",
        "Update keeps the extension's stored type and template and changes only the"
        " fields whose cells are not empty; an update of a missing extension creates it.",
    ),
    Decision(
        "Extension licence",
        "The limits (86161, 86162) count created extensions only: an upload that creates"
        " none is never refused for them. The unregistered cap defaults to 25.",
    ),
    Decision(
        "Concurrent uploads",
        "Uploads that write run one after another: each holds the database's write lock"
        " (SQLite) or an advisory lock (PostgreSQL) for its transaction, so uploads from any"
        " number of processes never race on a number. report_only uploads read a snapshot"
        " and do not wait.",
    ),
    Decision(
        "Helper process",
        "Uploads of 1 MiB or more are stored by a helper process holding the upload's"
        " transaction and writer lock, while the server reads and checks the next rows; the"
        " helper also hashes the secrets. If the server dies, the helper's input closes and"
        " it rolls back. SWITCHVOX_WRITER_PROCESS=false keeps everything in one process.",
    ),
    Decision(
        "Helper failures",
        "A helper that fails (its database refuses a batch or the commit, its connection"
        " dies, it is killed) says why and exits; the upload fails as a database failure"
        " with that cause, nothing of it kept, and the helper is reaped and never reused."
        " The server waits for each of its answers at most SWITCHVOX_DB_STATEMENT_TIMEOUT"
        " plus 2 seconds (plus SWITCHVOX_DB_CONNECT_TIMEOUT for the first), then kills it."
        " At most two helpers wait idle per server process.",
    ),
    Decision(
        "MAC addresses",
        "Optional for both extension types; twelve hex digits with optional `:` or `-`"
        " separators, stored as twelve upper-case hex digits, unique across the system.",
    ),
    Decision(
        "Virtual extensions",
        "A virtual extension has no phone, so its row's phone password is ignored.",
    ),
    Decision(
        "Email addresses",
        "Valid means `local@domain` with a dot in the domain, no spaces, at most 254 characters.",
    ),
    Decision(
        "Voicemail PIN",
        "Each template has a PIN rule for rows that leave the PIN empty: `extension` (the"
        " default: the PIN starts as the extension number), `required`, or `none`.",
    ),
    Decision(
        "Stored secrets",
        "Admin passwords: scrypt, plus the Digest HA1, which is password-equivalent for the"
        " realm (turn Digest off with SWITCHVOX_DIGEST=false). Extension web passwords: only"
        " the Digest HA1 (username = extension number), since a slow hash per row would cost"
        " about an hour per 100,000 rows. Phone passwords: the SIP HA1 for realm `asterisk`."
        " Voicemail PINs: HMAC-SHA256 keyed with the server secret. No answer, log line or"
        " export ever contains any of them.",
    ),
    Decision(
        "Template 1",
        "A fresh database has template 1 `Default`: locale en_us, may be dialled from the"
        " IVR, status 1, no title or location, voicemail on, PIN rule `extension`.",
    ),
    Decision(
        "Form uploads",
        "A form with more than one file part answers 70674 rather than guessing which is"
        " the CSV; a form without exactly one `request` part answers 10002. A `csv_file`"
        " field sent without a file name is the CSV; a file part with an empty file name"
        ' (a browser\'s "no file chosen") is no file. A truncated body answers 70674.',
    ),
    Decision(
        "Request limits",
        "At most 16 parts, 16 headers of 8 KiB per part, and a 1 MiB request part (10002"
        " beyond). A body over SWITCHVOX_MAX_UPLOAD_MB answers 70674 once the request part"
        " has been read, and HTTP 413 before that. A client that sends nothing for 60"
        " seconds is answered 10002 and its upload dropped. A file that cannot be spooled"
        " answers 32334.",
    ),
    Decision(
        "Failed logins",
        "After 5 failed logins from one address within 5 minutes, each further failure is"
        " answered after a delay that doubles from 0.25 s up to 8 s; a success clears it.",
    ),
    Decision(
        "Access log",
        "One line per API request on the `switchvox_server.access` logger: path, method,"
        " caller kind, outcome (result, fault codes, unauthorized), row counts per section,"
        " status and duration. Never a credential or a cell of an uploaded file.",
    ),
    Decision(
        "Export and import",
        "`switchvox-server export` writes the import's header labels, UTF-8 with a byte"
        " order mark and CRLF line ends, password columns always empty. Cells starting with"
        " `=`, `+`, `-`, `@`, tab or CR are prefixed with `'` so a spreadsheet does not run"
        " them; an upload takes one such `'` off again, so export, update-import and export"
        " change nothing. `import` exits 0 when no row failed, 3 when some did, 1 on a"
        " method fault.",
    ),
    Decision(
        "Response rendering",
        "XML responses carry no declaration; characters XML cannot carry are replaced by"
        " U+FFFD. JSON: numbers by nature are numbers, an empty element is `{}`, and text"
        " beside attributes is kept under the key `content`.",
    ),
    Decision(
        "getInfo",
        "Extensions come back in the order requested (extensions, then account ids), each"
        " once. Neither parameter gives 10013; a parameter present but empty gives 10000.",
    ),
    Decision(
        "search",
        "Every bad value gives 10005. Dates are `YYYY-MM-DD HH:MM:SS` in UTC, bounds"
        " inclusive. `items_per_page` is 1 to 1000. Numbers sort numerically, `display` in"
        " byte order, and every order ends with number and account id so pages never"
        " overlap. `<extensions>` carries page_number, items_per_page, total_items and"
        " total_pages.",
    ),
    Decision(
        "Authentication",
        "An extension's number and web password authenticate too, but only for"
        " `switchvox.users.*` methods. The 401 answer has an empty body.",
    ),
)


def as_markdown() -> str:
    """The Markdown of docs/decisions.md."""
    lines = [
        "# Decisions of this project",
        "",
        "Where Switchvox's public documentation is silent, switchvox-server decides. This"
        " page is generated from the code (`python -m switchvox_server.decisions`); everything"
        " not listed here follows the documented Switchvox behaviour.",
        "",
        "| topic | decision |",
        "| --- | --- |",
        *(f"| {item.topic} | {item.decision} |" for item in DECISIONS),
        "",
        "## Fault codes of ours",
        "",
        "| code | message |",
        "| --- | --- |",
        *(
            f"| {fault.code} | `{fault.template}` |"
            for fault in FAULTS.all()
            if fault.origin is Origin.OURS
        ),
        "",
        "## Row messages of ours",
        "",
        "Three row messages are Switchvox's own; these are ours, written in the same voice.",
        "",
        "| identifier | message |",
        "| --- | --- |",
        *(
            f"| `{message.name}` | {message.template} |"
            for message in RowMessage
            if message.origin is Origin.OURS
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(as_markdown(), end="")
