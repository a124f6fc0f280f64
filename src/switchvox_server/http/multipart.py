"""A streaming multipart/form-data reader for API uploads.

The `request` part is kept in memory (it is small and capped); a file part is spooled to
a temporary file as it arrives, whatever its field name, file name or content type (the
official example sends the CSV as `image/jpeg`; one client names the field `file` and
sends it first). Limits on parts and headers are enforced while parsing.

The Ruby client writes an LF-terminated file straight into the next delimiter, without the
CRLF that RFC 7578 puts before it (`…301\n--BOUNDARY--`). python-multipart only knows a
delimiter by that CRLF, and would run the part on to the end of the body. It is kept (it is
fast, bounded and well tested) and fed through `DelimiterRepair`, which puts the CRLF back
where a client left it out, as CGI.pm-style readers read such bodies: the part ends where
`--BOUNDARY` begins and loses nothing, its own final LF included.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from switchvox_server.faults import FAULTS, Fault, IntakeError

REQUEST_FIELD = "request"
# A client that sends the CSV as a plain field (no file name) still means it as the file.
FILE_FIELD = "csv_file"
MAX_PARTS = 16
MAX_HEADERS_PER_PART = 16
MAX_HEADER_BYTES = 8 * 1024
MAX_REQUEST_PART_BYTES = 1024 * 1024
# Uploads stay in memory up to this size, then move to a temporary file.
SPOOL_MEMORY_BYTES = 1024 * 1024


class DelimiterRepair:
    """Rewrites a multipart stream chunk by chunk so that every `--BOUNDARY` after the first
    byte of the body is preceded by CRLF; a delimiter that already is passes unchanged."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"--" + boundary
        self._held = b""  # the end of the last chunk, which may begin a delimiter
        self._last = b""  # the last two bytes passed on
        self._passed_any = False

    def feed(self, chunk: bytes) -> bytes:
        data = self._held + chunk
        out = bytearray()
        start = 0
        while (found := data.find(self._delimiter, start)) >= 0:
            self._pass(out, data[start:found])
            if self._passed_any and self._last != b"\r\n":
                self._pass(out, b"\r\n")
            self._pass(out, self._delimiter)
            start = found + len(self._delimiter)
        cut = max(start, len(data) - (len(self._delimiter) - 1))
        self._pass(out, data[start:cut])
        self._held = data[cut:]
        return bytes(out)

    def finish(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _pass(self, out: bytearray, piece: bytes) -> None:
        if piece:
            out += piece
            self._last = (self._last + piece)[-2:]
            self._passed_any = True


@dataclass(slots=True)
class _Part:
    name: str = ""
    is_file: bool = False
    filename: str | None = None
    sink: IO[bytes] | None = None
    size: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class MultipartReader:
    """Feed it the body chunk by chunk; it collects the request part and the file parts."""

    def __init__(self, boundary: bytes) -> None:
        self.requests: list[bytes] = []
        self.files: list[IO[bytes]] = []
        self.file_names: list[str | None] = []  # as the client gave them, beside `files`
        # A file part that could not be spooled (disk full, no temp dir): fault 32334.
        self.spool_failed = False
        self.complete = False
        self._parts = 0
        self._part = _Part()
        self._field = bytearray()
        self._value = bytearray()
        self._repair = DelimiterRepair(boundary)
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            max_header_count=MAX_HEADERS_PER_PART,
            max_header_size=MAX_HEADER_BYTES,
        )

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(self._repair.feed(chunk))
        except MultipartParseError as error:
            raise IntakeError(f"malformed multipart body: {error}") from None

    def finish(self, *, whole: bool = True) -> None:
        """The body is over; `whole` is False when the rest of it was not read. A part left
        unfinished is dropped: a truncated file is never imported."""
        try:
            if whole:
                self._parser.write(self._repair.finish())
                self._parser.finalize()
        except MultipartParseError as error:
            raise IntakeError(f"malformed multipart body: {error}") from None
        finally:
            if self._part.sink is not None:
                self._part.sink.close()
                self._part.sink = None

    def upload_problem(self) -> Fault | None:
        """The fault the upload deserves, if its file cannot be used as it is."""
        if self.spool_failed:
            return FAULTS.TEMPORARY_FILE
        if not self.complete or len(self.files) > 1:
            # Truncated, or several files: guessing which one is the CSV could import the
            # wrong file.
            return FAULTS.UPLOAD_PROBLEM
        return None

    def close(self) -> None:
        """Remove every spooled file, including one still being written."""
        for upload in self.files:
            upload.close()
        if self._part.sink is not None:
            self._part.sink.close()

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise IntakeError(f"more than {MAX_PARTS} parts")
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._part.headers.append((bytes(self._field).lower(), bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        part = self._part
        disposition = dict(part.headers).get(b"content-disposition")
        if disposition is None:
            raise IntakeError("a part has no Content-Disposition header")
        _, options = parse_options_header(disposition)
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        # An empty file name is a browser's "no file chosen"; a plain `csv_file` field is a
        # client sending the CSV without one.
        part.is_file = bool(filename) or (filename is None and part.name == FILE_FIELD)
        part.filename = None if filename is None else filename.decode("utf-8", "replace")
        if part.name == REQUEST_FIELD:
            part.sink = io.BytesIO()
        elif part.is_file:
            try:
                # Closed by close(), or by whoever takes it from `files`.
                part.sink = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                    max_size=SPOOL_MEMORY_BYTES
                )
            except OSError:
                self.spool_failed = True
        # Any other plain field is read past and dropped.

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        part.size += end - start
        if part.name == REQUEST_FIELD and part.size > MAX_REQUEST_PART_BYTES:
            raise IntakeError("the request part is too large")
        if part.sink is None:
            return
        try:
            part.sink.write(data[start:end])
        except OSError:
            part.sink.close()
            part.sink = None
            self.spool_failed = True

    def _on_part_end(self) -> None:
        part, self._part = self._part, _Part()
        if part.sink is None:
            return
        if isinstance(part.sink, io.BytesIO):
            self.requests.append(part.sink.getvalue())
        else:
            part.sink.seek(0)
            self.files.append(part.sink)
            self.file_names.append(part.filename)

    def _on_end(self) -> None:
        self.complete = True


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type, or IntakeError."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise IntakeError("the multipart body has no usable boundary")
    return boundary
