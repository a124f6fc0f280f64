"""The bulk creation report: five sections of rows, kept on disk as the upload runs so that
memory does not grow with the file, and read back as an element tree while it is sent.

Everything is written before the upload commits (`BulkReport.seal`): sending the report
only reads, so a committed upload always gets its whole report, and temporary space
running out is fault 32334 while nothing has been written yet.
"""

from __future__ import annotations

import logging
import marshal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from tempfile import SpooledTemporaryFile
from typing import IO

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.store.models import ExtensionType
from switchvox_server.tree import Element, LazyChildren, number_or_text

logger = logging.getLogger(__name__)

# Rows stay in memory up to this size per section, then the section moves to a temp file.
SPOOL_MEMORY_BYTES = 1024 * 1024
SPOOL_BLOCK_ROWS = 1000
_SIZE_BYTES = 4


class Section(Enum):
    """The report's sections, in the order they are rendered."""

    CREATE_FAILED = "create_failed"
    CREATED = "created"
    REPLACED = "replaced"
    UPDATED = "updated"
    SKIPPED = "skipped"


ReportRow = tuple[str, str, str, str, tuple[str, ...]]


class SectionSpool:
    """The rows of one section in file order: (extension, first, last, email, errors).

    Rows are written in blocks: one marshal call per block rather than per row keeps the
    spool's cost small next to the upload itself.
    """

    def __init__(self) -> None:
        # Owned by the spool and closed by close(), once the report has been sent.
        self._file: IO[bytes] = SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_MEMORY_BYTES
        )
        self._block: list[ReportRow] = []
        self._blocks = 0
        self.count = 0

    def append(self, row: ReportRow) -> None:
        self._block.append(row)
        self.count += 1
        if len(self._block) >= SPOOL_BLOCK_ROWS:
            self._write_block()

    def seal(self) -> None:
        """Hand everything written so far to the file system; the last, partial block
        stays in memory, so that reading the rows back never writes."""
        with _spool_writing():
            self._file.flush()

    def rows(self) -> Iterator[ReportRow]:
        self._file.seek(0)
        for _ in range(self._blocks):
            # marshal.load on a file reads a few bytes per object; one read per block is
            # many times cheaper.
            size = int.from_bytes(self._file.read(_SIZE_BYTES), "big")
            yield from marshal.loads(self._file.read(size))
        yield from self._block

    def close(self) -> None:
        self._file.close()

    def _write_block(self) -> None:
        data = marshal.dumps(self._block)
        with _spool_writing():
            self._file.write(len(data).to_bytes(_SIZE_BYTES, "big"))
            self._file.write(data)
        self._blocks += 1
        self._block = []


@contextmanager
def _spool_writing() -> Iterator[None]:
    """Temporary space that runs out (or a temp dir that cannot be written) is fault
    32334; the upload has written nothing yet, and the cause goes to the log."""
    try:
        yield
    except OSError as error:
        logger.warning("the upload's report could not be spooled: %s", error)
        raise ApiError(FAULTS.TEMPORARY_FILE) from error


class BulkReport:
    """The report of one upload: seal it before the upload commits, close it once it has
    been rendered."""

    def __init__(self, dupe_process: int, extension_type: ExtensionType) -> None:
        self.dupe_process = dupe_process
        self.extension_type = extension_type
        self.sections = {section: SectionSpool() for section in Section}

    def add(
        self,
        section: Section,
        extension: str,
        first_name: str,
        last_name: str,
        email: str,
        errors: tuple[str, ...] = (),
    ) -> None:
        self.sections[section].append((extension, first_name, last_name, email, errors))

    def count(self, section: Section) -> int:
        return self.sections[section].count

    @property
    def written(self) -> int:
        """How many rows the upload stores: created, replaced and updated."""
        return sum(
            self.count(section) for section in (Section.CREATED, Section.REPLACED, Section.UPDATED)
        )

    @property
    def total(self) -> int:
        return sum(spool.count for spool in self.sections.values())

    def to_element(self) -> Element:
        """The `<bulk_creation_report>` element; its rows are read lazily while rendering."""
        return Element(
            "bulk_creation_report",
            {"dupe_process": self.dupe_process, "extension_type": self.extension_type.display},
            [
                Element(
                    section.value,
                    children=LazyChildren("extension", spool.count, _row_elements(spool)),
                )
                for section, spool in self.sections.items()
            ],
        )

    def seal(self) -> None:
        """Make the report complete before the upload commits; ApiError 32334 if the
        temporary space cannot take it."""
        for spool in self.sections.values():
            spool.seal()

    def close(self) -> None:
        for spool in self.sections.values():
            spool.close()


def _row_elements(spool: SectionSpool) -> Callable[[], Iterator[Element]]:
    def produce() -> Iterator[Element]:
        for extension, first_name, last_name, email, errors in spool.rows():
            yield Element(
                "extension",
                {
                    "extension": number_or_text(extension),
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": email,
                },
                [Element("error", {"text": text}) for text in errors],
            )

    return produce
