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
        "Import history",
        "Every upload that writes is recorded in the database, in the upload's own"
        " transaction: id, time, account, address, file size and SHA-256, options, counts per"
        " section, and per row its row, line, section and messages (compressed, one database"
        " row per import). A report_only upload is recorded too, as an `evaluation`, after it"
        " ran. SWITCHVOX_HISTORY=false records nothing. The file itself is never kept: it"
        " holds passwords in clear.",
    ),
    Decision(
        "Undo",
        "An import's earlier states (the stored rows of the extensions it replaced or"
        " updated, and which it created) are kept until it is undone, and no longer. An"
        " extension is put back only if no later change touched it since (each number keeps"
        " the last recorded import that wrote it; undoing that import gives the number back"
        " its earlier version); otherwise the undo is refused with fault 10031 naming them,"
        " or, with force, puts back the others. An undo is an import of its own; undoing it"
        " redoes. Changes made outside the history (the control API's state) are not seen.",
    ),
    Decision(
        "History API",
        "`switchvox_server.imports.list`, `.show` and `.annotated` for every admin;"
        " `switchvox_server.imports.undo` (`import_id`, `force`) for full admins only.",
    ),
    Decision(
        "Annotated CSV",
        "The uploaded file with `result` and `errors` columns added (overwritten when the"
        " file has them already), UTF-8 with a byte order mark, in the file's delimiter."
        " Since the file is not kept, it is made from the file given again, which must have"
        " the SHA-256 the import recorded (fault 10033 otherwise).",
    ),
    Decision(
        "Plans",
        "A report_only answer carries `Switchvox-Plan: p1.<digest>.<HMAC>` (under 96"
        " characters): a SHA-256 of the file, the options, the template, the row rules'"
        " settings and the stored state of every extension (and MAC owner) the file names,"
        " signed with the server secret. The `plan` parameter applies only if all of it is"
        " unchanged (10034, nothing written); a token this server did not make is 10035."
        " Plans do not expire.",
    ),
    Decision(
        "Safe retries",
        "A writing request with an `Idempotency-Key` header (1 to 255 printable ASCII"
        " characters) is applied once: its key is stored in the database when it starts; a"
        " repeat by the same caller to the same path with the same method, parameters and"
        " file content gets the first answer byte for byte (rendered whole, not streamed);"
        " another request under the key is 10036; a repeat while the first runs waits up to"
        " 30 s, then 10037. A fault releases the key. Keys are kept 24 hours.",
    ),
    Decision(
        "Template changes",
        "`templates add`, `edit` and `remove` are recorded in the history (kind `template`,"
        " the settings before and after) and cannot be undone; a template extensions were"
        " made from cannot be removed.",
    ),
    Decision(
        "File diagnostics",
        "Fault 94772 keeps its documented message; which of its causes it is (binary data,"
        " bad encoding, no header line, no `ext` label, duplicate labels, an unreadable"
        " record), and on which line, goes to the access log (`cause=`) and the command"
        " line's stderr. Ignored header labels and labels new extensions need are logged as"
        " `csv_notes=`, kept in the history and shown by the command line. A first line"
        " `sep=X` (Excel) names the delimiter and is not a row.",
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
