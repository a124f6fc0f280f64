"""The annotated CSV of an import: the uploaded file with two more columns, `result` (the
section the row ended in) and `errors` (its messages), which an admin can fix and upload
again (the upload ignores both labels as unknown columns).

Uploaded files hold passwords in clear, which the server never keeps, so the file is given
again; it must be the very file of the import (its SHA-256 is recorded).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO

from switchvox_server.bulk.csv_reader import open_csv
from switchvox_server.history.records import RowRecord

RESULT = "result"
ERRORS = "errors"
ENCODING = "utf-8-sig"  # spreadsheets read UTF-8 only with a byte order mark


def write_annotated(source: IO[bytes], records: Iterable[RowRecord], out: IO[bytes]) -> int:
    """Write `source` annotated with the outcome of each row to `out`; return the rows
    annotated. Raises CsvFormatError if `source` is not a CSV the upload can read. Columns
    already labelled `result` or `errors` (a file annotated before) are overwritten."""
    table = open_csv(source)
    labels = list(table.labels)
    lowered = [label.strip().lower() for label in labels]
    columns = []
    for name in (RESULT, ERRORS):
        if name in lowered:
            columns.append(lowered.index(name))
        else:
            labels.append(name)
            columns.append(len(labels) - 1)
    width = len(labels)
    outcomes = {row: (section, errors) for row, _, section, _, errors in records}
    text = io.TextIOWrapper(out, encoding=ENCODING, newline="")
    try:
        writer = csv.writer(text, delimiter=table.delimiter)
        writer.writerow(labels)
        annotated = 0
        for row_number, cells in table.raw_records():
            outcome = outcomes.get(row_number)
            if outcome is None:
                writer.writerow(cells)  # a blank record: no row of the report
                continue
            section, errors = outcome
            cells = cells + [""] * (width - len(cells))
            cells[columns[0]] = section
            cells[columns[1]] = " ".join(errors)
            writer.writerow(cells)
            annotated += 1
        text.flush()
    finally:
        text.detach()
    return annotated
