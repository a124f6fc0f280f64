"""Progress of a bulk upload on a terminal: a file wrapper that counts what the pipeline
reads, and a bar that draws it.

The CSV reader goes through the file more than once: a whole pass to check the encoding, a
glance at the start for the delimiter and the header, then the pass that reads the records
(the slow one: every row is checked and written). The wrapper shows how far the file has
been read since it was last read from the start, and its lines; the pipeline says when the
pass over the records begins (`begin`), so the bar names that pass from its first byte.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

# A terminal redraw ten times a second looks live and costs nothing next to the upload.
REFRESH_SECONDS = 0.1
# A bar appears only once an upload has taken this long.
SHOW_AFTER_SECONDS = 0.5


@dataclass(slots=True)
class Progress:
    """Where a job stands: its phase, how far it is of `total` (bytes read of an upload,
    rows written of an export), and lines seen so far."""

    total: int
    phase: str = "checking"
    position: int = 0
    lines: int = 0
    started: float = 0.0
    rows: int | None = None
    """Rows checked so far, when the pipeline tells (then the bar counts rows, not lines)."""

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 1.0
        return min(self.position / self.total, 1.0)


Callback = Callable[[Progress, bool], None]
"""Called with the progress and whether it is the final call; throttled by the caller."""


class _Throttle:
    """Hands the progress to the callback at most once per `refresh_seconds`, and the final
    state always."""

    def __init__(
        self, callback: Callback, refresh_seconds: float, clock: Callable[[], float]
    ) -> None:
        self._callback = callback
        self._refresh = refresh_seconds
        self._clock = clock
        self._last_shown = float("-inf")

    def tell(self, progress: Progress) -> None:
        now = self._clock()
        if now - self._last_shown >= self._refresh:
            self._last_shown = now
            self._callback(progress, False)

    def finish(self, progress: Progress) -> None:
        self._callback(progress, True)


class ProgressReader(io.BufferedIOBase, BinaryIO):
    """A read-only view of a seekable binary file that reports how far it has been read.

    Lines are counted from the line breaks in the bytes read (LF, or CR in a chunk without
    any LF, so LF, CRLF and CR files all count once per line); a quoted cell that holds a
    line break counts one more. That is the "rows so far" the bar can know without parsing.
    """

    def __init__(
        self,
        source: IO[bytes],
        total: int,
        callback: Callback,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._source = source
        self._throttle = _Throttle(callback, refresh_seconds, clock)
        self._clock = clock
        self.progress = Progress(total, started=clock())

    # --- the file interface the pipeline uses

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self._count(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[: len(data)] = data
        self._count(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._source.seek(offset, whence)
        self.progress.position = position
        if position == 0:
            # Read again from the start: the lines read so far are read again too.
            self.progress.lines = 0
        return position

    def tell(self) -> int:
        return self._source.tell()

    # --- reporting

    def begin(self, phase: str) -> None:
        """A new pass starts, named `phase`: its lines, rows and time count from now."""
        progress = self.progress
        progress.phase = phase
        progress.lines = 0
        progress.rows = None
        progress.started = self._clock()

    def finish(self) -> None:
        """Show the final state, whatever the throttle says."""
        self._throttle.finish(self.progress)

    def _count(self, data: bytes) -> None:
        progress = self.progress
        progress.position += len(data)
        # LF and CRLF files count their LFs; only a file of bare CRs needs a second scan.
        progress.lines += data.count(b"\n") or data.count(b"\r")
        self._throttle.tell(progress)


class RowCounter:
    """Progress of a job that writes a known number of rows (the export), throttled as the
    reader's is."""

    def __init__(
        self,
        total: int,
        callback: Callback,
        *,
        phase: str,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress = Progress(total, phase=phase, started=clock())
        self._throttle = _Throttle(callback, refresh_seconds, clock)

    def __call__(self, rows: int) -> None:
        self.progress.position = self.progress.lines = rows
        self._throttle.tell(self.progress)

    def finish(self) -> None:
        """Show the final state, whatever the throttle says."""
        self._throttle.finish(self.progress)


class TerminalBar:
    """Draws the progress on one terminal line, redrawn in place; ends it with a newline.

    Nothing is drawn for an upload that is over within `delay` seconds: a small file
    needs no bar, and its output stays free of one.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._show_from = clock() + (SHOW_AFTER_SECONDS if delay is None else delay)
        self._width = 0
        self.drawn = False

    def __call__(self, progress: Progress, final: bool) -> None:
        now = self._clock()
        if not self.drawn and (final or now < self._show_from):
            return
        elapsed = now - progress.started
        unit, count = (
            ("lines", progress.lines) if progress.rows is None else ("rows", progress.rows)
        )
        rate = count / elapsed if elapsed > 0 else 0.0
        fraction = progress.fraction
        timing = _clock_time(elapsed)
        if not final and 0 < fraction < 1:
            # The pass has gone at an even pace so far; that is the estimate.
            timing += f", about {_clock_time(elapsed * (1 - fraction) / fraction)} left"
        line = f"{progress.phase} {fraction:4.0%}  {count:,} {unit}  {rate:,.0f} {unit}/s  {timing}"
        # Pad over the previous, longer text instead of relying on terminal escapes.
        padded = line.ljust(self._width)
        self._width = len(line)
        self._stream.write("\r" + padded + ("\n" if final else ""))
        self._stream.flush()
        self.drawn = True


def _clock_time(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"
