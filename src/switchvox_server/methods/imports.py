"""The import history's API methods, in a namespace of this project's own (docs/history.md):
`switchvox_server.imports.list`, `.show` and `.annotated` for every admin, `.undo` for full
admins only."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

from switchvox_server.bulk.csv_reader import CsvFormatError
from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.history import views
from switchvox_server.history.annotate import write_annotated
from switchvox_server.history.changes import undo
from switchvox_server.history.recorder import FileDigest, ImportSource
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.tree import AttributeValue, Element

NAMESPACE = "switchvox_server.imports"
LIST = f"{NAMESPACE}.list"
SHOW = f"{NAMESPACE}.show"
UNDO = f"{NAMESPACE}.undo"
ANNOTATED = f"{NAMESPACE}.annotated"
# An id is a positive whole number of at most this many digits (a 64-bit integer).
_MAX_ID_DIGITS = 18


def list_method(request: ApiRequest, context: MethodContext) -> Element:
    limit = _number(request, "items", views.DEFAULT_LIST_LIMIT, views.MAX_LIST_LIMIT)
    imports = views.list_imports(context.database, limit)
    return Element("imports", children=[_import_element(item) for item in imports])


def show_method(request: ApiRequest, context: MethodContext) -> Element:
    stored = _stored_import(request, context)
    rows = [_row_element(views.row_view(record)) for record in views.row_records(stored)]
    return _import_element(views.summary(stored), [Element("rows", children=rows)])


def undo_method(request: ApiRequest, context: MethodContext) -> Element:
    import_id = _import_id(request)
    force = _number(request, "force", 0, 1) == 1
    source = ImportSource(context.caller, context.address)
    outcome = undo(context.database, import_id, source, force=force)
    context.log_fields["import_id"] = outcome.import_id
    return Element(
        "undo",
        {"import_id": outcome.import_id, "undoes": import_id},
        [
            Element("counts", dict(outcome.counts)),
            Element("kept", children=[Element("extension", {"number": n}) for n in outcome.kept]),
        ],
    )


def annotated_method(request: ApiRequest, context: MethodContext) -> Element:
    stored = _stored_import(request, context)
    upload = request.upload
    if upload is None or request.upload_problem is not None:
        raise ApiError(FAULTS.UPLOAD_PROBLEM)
    if FileDigest.of(upload).sha256 != stored["file_sha256"]:
        raise ApiError(FAULTS.FILE_MISMATCH, stored["id"])
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as out:
        try:
            rows = write_annotated(upload, views.row_records(stored), out)
        except CsvFormatError as error:
            raise ApiError(FAULTS.CSV_FORMAT, detail=str(error)) from None
        out.seek(0)
        text = out.read().decode("utf-8-sig")
    return Element("annotated_csv", {"import_id": stored["id"], "rows": rows}, text=text)


def _stored_import(request: ApiRequest, context: MethodContext) -> dict[str, Any]:
    import_id = _import_id(request)
    stored = views.load_import(context.database, import_id)
    if stored is None:
        raise ApiError(FAULTS.INVALID_IMPORT, import_id)
    return stored


def _import_id(request: ApiRequest) -> int:
    raw = (request.scalar("import_id") or "").strip()
    if not raw:
        raise ApiError(FAULTS.MISSING_PARAMETER, "import_id")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_ID_DIGITS):
        raise ApiError(FAULTS.INVALID_IMPORT, raw)
    return int(raw)


def _number(request: ApiRequest, name: str, default: int, maximum: int) -> int:
    raw = (request.scalar(name) or "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= _MAX_ID_DIGITS and int(raw) <= maximum:
        return int(raw)
    raise ApiError(FAULTS.INVALID_PARAMETER_VALUE, name, raw)


def _import_element(item: Mapping[str, Any], more: list[Element] | None = None) -> Element:
    options: Mapping[str, Any] = item["options"]
    attributes: dict[str, AttributeValue] = {
        "id": item["id"],
        "kind": item["kind"],
        "created_at": item["created_at"],
        "caller": item["caller"],
        "address": item["address"],
        "file_name": item["file_name"],
        "file_size": item["file_size"],
        "sha256": item["sha256"],
    }
    attributes.update({name: _attribute(value) for name, value in options.items()})
    for name in ("undoes", "undone_by"):
        if item[name] is not None:
            attributes[name] = item[name]
    notes = [Element("note", {"text": note}) for note in item["notes"]]
    children = [Element("counts", dict(item["counts"])), Element("notes", children=notes)]
    return Element("import", attributes, children + (more or []))


def _row_element(row: Mapping[str, Any]) -> Element:
    return Element(
        "row",
        {
            "row": row["row"],
            "line": row["line"],
            "section": row["section"],
            "extension": row["extension"],
        },
        [Element("error", {"text": text}) for text in row["errors"]],
    )


def _attribute(value: object) -> AttributeValue:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (
    Method(LIST, Access.ADMIN_READ, list_method),
    Method(SHOW, Access.ADMIN_READ, show_method),
    Method(UNDO, Access.ADMIN_WRITE, undo_method),
    Method(ANNOTATED, Access.ADMIN_READ, annotated_method),
)
