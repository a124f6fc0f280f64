"""A server killed in the middle of an upload (one upload is one transaction):
nothing of the upload is stored, and a new server on the same database serves at once.

When to kill: not after a guessed delay, which would be too early on a slow machine and too
late on a fast one, but once the upload's own uncommitted rows have reached the disk (SQLite
appends them to the WAL file when its page cache spills; PostgreSQL extends the table's
files), while the writer lock is held and no response has come back. That is the state a
crash must undo, reached the same way on every machine.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.helpers import stored_extensions
from tests.servers import (
    csv_bytes,
    post_upload,
    report_of,
    server_process,
    wait_for,
    write_csv,
    writer_lock_held,
)

SEEDED = range(101, 106)
LARGE = range(200_000, 350_000)
# Uncommitted data on disk beyond what was there before the upload: a third or so of what
# the whole upload writes (some 45 MB), so the kill comes well into it, many batches in.
WRITTEN_BYTES = 16 * 1024 * 1024
UPLOAD_TIMEOUT_SECONDS = 120.0


def bytes_on_disk(database_url: str) -> Callable[[], int]:
    """A probe of how much the extensions table occupies on disk, committed or not."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        wal = Path(f"{url.database}-wal")
        return lambda: wal.stat().st_size if wal.exists() else 0

    def relation_size() -> int:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                query = text("SELECT pg_total_relation_size('extensions')")
                return int(connection.execute(query).scalar_one())
        finally:
            engine.dispose()

    return relation_size


@pytest.mark.slow
def test_killed_upload_leaves_nothing_and_the_store_recovers(
    database_url: str, tmp_path: Path
) -> None:
    """SIGKILL during a large upload stores none of its rows, keeps the earlier ones, and a
    restarted server serves and uploads on the same database."""
    source = write_csv(tmp_path / "large.csv", LARGE)
    with server_process(database_url) as server, httpx2.Client(timeout=30) as client:
        assert report_of(post_upload(client, server.url, csv_bytes(SEEDED)))["created"] == [
            str(number) for number in SEEDED
        ]
        before = stored_extensions(database_url)
        size = bytes_on_disk(database_url)
        baseline = size()

        outcome: list[httpx2.Response | Exception] = []

        def upload() -> None:
            with source.open("rb") as file, httpx2.Client(timeout=UPLOAD_TIMEOUT_SECONDS) as own:
                try:
                    outcome.append(post_upload(own, server.url, file))
                except httpx2.TransportError as error:
                    outcome.append(error)

        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        wait_for(
            lambda: (
                not thread.is_alive()
                or (size() - baseline >= WRITTEN_BYTES and writer_lock_held(database_url))
            ),
            timeout=UPLOAD_TIMEOUT_SECONDS,
            what="the upload has written uncommitted rows to disk",
        )
        assert thread.is_alive(), "the upload finished before it could be killed; make it larger"
        server.kill()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert len(outcome) == 1
        assert isinstance(outcome[0], httpx2.TransportError), outcome[0]

    with server_process(database_url) as restarted, httpx2.Client(timeout=30) as client:
        assert stored_extensions(database_url) == before
        assert client.get(f"{restarted.url}/healthz").status_code == 200
        again = report_of(post_upload(client, restarted.url, csv_bytes([*SEEDED, 150])))
        assert again["skipped"] == [str(number) for number in SEEDED]
        assert again["created"] == ["150"]
    assert len(stored_extensions(database_url)) == len(before) + 1
    if make_url(database_url).get_backend_name() == "sqlite":
        with closing(sqlite3.connect(make_url(database_url).database or "")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
