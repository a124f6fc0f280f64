"""The decisions of this project where Switchvox's public material is silent.

This table, with the faults and row messages marked OURS in their own tables, is the one
place they are written down; `python -m switchvox_server.decisions` prints them as the
Markdown of docs/decisions.md, and a test keeps that file in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.bulk.pipeline import TEMPLATE_ID_MAX, TEMPLATE_ID_MAX_DIGITS
from switchvox_server.faults import ECHO_LIMIT, FAULTS, Origin
from switchvox_server.http.multipart import MAX_REQUEST_PART_BYTES
from switchvox_server.protocol.limits import MAX_ATTRIBUTES, MAX_DEPTH, MAX_NODES


@dataclass(frozen=True, slots=True)
class Decision:
    topic: str
    decision: str


DECISIONS: tuple[Decision, ...] = (
    Decision(
        "Health endpoints",
        "`GET /healthz` answers while the process runs and never touches the database;"
        " `GET /readyz` also checks that the database answers, and says 503 when it has not"
        " within 2 s. One check runs at a time, shared by the probes that arrive meanwhile."
        " Neither needs credentials.",
    ),
    Decision(
        "Database failures",
        "Fault 10007 answers a failure of the database: a PEP 249 OperationalError or"
        " InterfaceError (unreachable, cut, timed out, locked too long, disk full), a"
        " connection SQLAlchemy found broken, or no free connection in the pool in time. Other"
        " database errors, and any other exception, are defects of the server: fault 10008,"
        " with the traceback logged. Both answer HTTP 200; a transaction still open is rolled"
        " back.",
    ),
    Decision(
        "Database timeouts",
        "PostgreSQL (psycopg): `statement_timeout` and `lock_timeout` are"
        " SWITCHVOX_DB_STATEMENT_TIMEOUT, and the server stops waiting for any answer 1 s"
        " after it and throws that connection away; a pooled connection answers a ping within"
        " SWITCHVOX_DB_CONNECT_TIMEOUT before each use. SQLite: the busy timeout is"
        " SWITCHVOX_DB_STATEMENT_TIMEOUT. Waiting for a free pooled connection is bounded by"
        " SWITCHVOX_DB_CONNECT_TIMEOUT.",
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
        " and do not wait. An upload that waits for the lock longer than"
        " SWITCHVOX_DB_STATEMENT_TIMEOUT answers 10007.",
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
        "Account ids",
        "A new store gives its first extension account id 1101, then 1102 and on, as real"
        " systems' four-digit ids look, so a client cannot mistake an account id for template"
        " id 1. Ids are never reused; a store upgraded from 0.1.0 keeps its ids and carries on"
        " from 1101 or past its largest. Templates number on their own from 1.",
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
        "Envelope limits",
        f"A raw or URL-encoded body is held to {MAX_REQUEST_PART_BYTES >> 20} MiB, like the"
        " `request` part of a form: the server stops reading past it and answers 10002. An"
        f" envelope may hold at most {MAX_NODES:,} elements (XML) or values (JSON), nest"
        f" {MAX_DEPTH} levels deep and carry {MAX_ATTRIBUTES} attributes on one element;"
        " beyond, 10002. Parsing runs in a worker thread, never on the event loop.",
    ),
    Decision(
        "Repeated parameters",
        "A scalar given more than once (attribute and element, two elements, a list of"
        " several items) is 10006 when the method reads it; a list of one item counts as"
        " its item, an empty one as not given. A key twice in one JSON object is 10006 in"
        ' `parameters` and its list wrappers, 10002 elsewhere. `"parameters": []` means'
        " no parameters. A list of one may be an attribute of its wrapper"
        ' (`<extensions extension="302"/>`); a wrapper with text beside its items is 10002.',
    ),
    Decision(
        "Echoed values",
        f"A fault message echoes at most the first {ECHO_LIMIT} characters of a value,"
        " followed by `…`.",
    ),
    Decision(
        "Numeric parameters",
        "Numeric parameters are read as ASCII digits of a bounded length before any"
        " conversion or query: `dupe_process` and `report_only` one digit, and"
        f" `template_account_id` up to {TEMPLATE_ID_MAX_DIGITS} digits and at most"
        f" {TEMPLATE_ID_MAX} (the largest id the store can hold). Anything else is the"
        " parameter's documented fault.",
    ),
    Decision(
        "Failed logins",
        "Failures count per client address and per account name, forgotten after 5 minutes"
        " without one. Past 5, each failure is answered after a delay doubling from 0.25 s"
        " up to 30 s (the longer of the address's and the name's); meanwhile the address is"
        " held back: its parallel attempts answer 401 unchecked. A name's count holds no one"
        " back. A success clears only its own account's counts. Kept per process, for at most"
        " 10,000 addresses and 10,000 names.",
    ),
    Decision(
        "Checking credentials",
        "A wrong password costs the same lookups and one HA1 comparison whatever it names;"
        " only a Basic password matching an admin's HA1 pays the scrypt hash, 2 at a time"
        " with 14 more waiting (beyond: 401 at once), once per password. Credentials not seen"
        " to succeed before are checked 4 at a time; those that did skip that queue. An"
        " Authorization value over 8 KiB, a Digest nc that is not 1 to 8 hex digits, or a"
        " name no account can have (a control character, over 64 characters) is refused"
        " without a lookup.",
    ),
    Decision(
        "Client address",
        "The connection's peer; when the peer is one of SWITCHVOX_TRUSTED_PROXIES, the"
        " right-most X-Forwarded-For address that is not a trusted proxy.",
    ),
    Decision(
        "Connections",
        "A connection must complete each request head within SWITCHVOX_HEADER_TIMEOUT"
        " (10 s, at most 60) of opening or of the previous answer, or it is closed. At most"
        " SWITCHVOX_MAX_CONNECTIONS (500) at once: at the limit requests answer HTTP 503,"
        " beyond it a connection is closed at once. Shutdown waits"
        " SWITCHVOX_SHUTDOWN_TIMEOUT (30 s) for requests in flight.",
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
        "Command-line failures",
        "Every failure a user can act on ends a command with one line"
        " `switchvox-server: <message>` on standard error and no traceback: status 2 for an"
        " unusable environment variable, DATABASE_URL included (a driver that is not installed"
        " is named with the extra that installs it), 130 when interrupted, 1 otherwise. When"
        " the reader of standard output goes away (`export | head`), the command stops"
        " quietly with status 1.",
    ),
    Decision(
        "Export to a file",
        "`export --output FILE` writes a new file or replaces a regular one, never anything"
        " else: a symbolic link (wherever it points), a FIFO, a device or a directory at FILE"
        " is refused and left alone. The export is written beside FILE, synced to disk, and"
        " renamed over it, so a failed export leaves the old file as it was.",
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
        "The documented codes of the paged-search family where they apply; 10020 when the"
        " max extension is not greater than the min; 10005 for a malformed extension bound,"
        " an unknown type code, or a count of 0 or past its maximum. Dates are"
        " `YYYY-MM-DD HH:MM:SS` in UTC, bounds inclusive, up to 9999-12-31 23:59:59."
        " `items_per_page` is 1 to 100000 and streams; `page_number` 1 to 999999999. Numbers"
        " sort numerically, `display` in byte order, and every order ends with number and"
        " account id so pages never overlap. Type codes this server does not store find"
        " nothing.",
    ),
    Decision(
        "GET and HEAD",
        "`GET /xml` and `GET /json` authenticate like POST, then answer HTTP 200 with fault"
        " 10001; an authenticated HEAD answers 200 with no body. Any other path is a 404"
        " with a one-line plain-text hint naming /xml and /json.",
    ),
    Decision(
        "getMyInfo",
        "Only an extension's own credentials may call `switchvox.users.getMyInfo`; an admin"
        " gets 27168. The attributes are those of the method page's example.",
    ),
    Decision(
        "settings.getInfo",
        "Flags are 0 or 1; `extension_length_constraint` is SWITCHVOX_EXTENSION_MAX_LENGTH;"
        " the strong-password flags follow the profile and SWITCHVOX_STRONG_PHONE_PASSWORDS;"
        " `beep_after_assisted_transfer` and `force_weak_user_password_change` are 0.",
    ),
    Decision(
        "switchvox.call",
        "A stand-in: it places no call. Every problem is reported at once (10011, 10014,"
        " 10005), then an account id no extension has is 10021. A number to dial is 1 to 64"
        " of 0-9, `*`, `#`, with an optional leading `+`; a variable is `name=value` and"
        " comes back as `<variable>name=value</variable>`; numbers come back as given.",
    ),
    Decision(
        "Multipart delimiters",
        "A part that runs straight into `--BOUNDARY` without the CRLF before it ends there,"
        " nothing of it lost (CGI.pm-style); python-multipart reads the body after a small"
        " stream repair puts the CRLF back.",
    ),
    Decision(
        "Control API",
        "Under `/_switchvox/`, only when SWITCHVOX_CONTROL_TOKEN is set (404 otherwise),"
        " bearer token compared in constant time (401). Journal, injected faults, run-time"
        " settings and the reset point live in the database. The journal keeps the newest"
        " SWITCHVOX_JOURNAL_MAX_ENTRIES (10,000) entries, written after the answer by a"
        " thread of their own; parameters named as a password, PIN or secret become `***`;"
        " a file is kept only as name, size, SHA-256 and rows. An injected fault answers"
        " after authentication and the access check; its placeholders are filled from the"
        " call or the settings, or from the injection's `values`. A dropped connection is"
        " closed under uvicorn without a byte of answer. State documents carry every stored"
        " column; PIN digests need the same server secret. Small control bodies are capped"
        " at 64 KiB, state and seed documents at SWITCHVOX_MAX_UPLOAD_MB.",
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
