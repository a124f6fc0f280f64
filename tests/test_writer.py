"""Large uploads stored by a helper process: the same report and store as in-process, and
nothing kept when anything fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from starlette.testclient import TestClient

from switchvox_server.methods.bulk_upload import HELPER_PROCESS_BYTES
from switchvox_server.store import queries
from switchvox_server.store.writer import ProcessWriter, WriterFailed, WriterPool
from tests import helpers
from tests.helpers import canonical, extension_row, fault, upload


def large_csv(first: int, count: int, *, title: str = "") -> str:
    text = helpers.large_csv(first, count, title=title)
    assert len(text.encode()) >= HELPER_PROCESS_BYTES
    return text


def test_helper_gives_the_same_report_and_store(make_client: Callable[..., TestClient]) -> None:
    """Create then update through the helper process match the in-process results exactly."""
    results = []
    for writer_process in (False, True):
        client = make_client(writer_process=writer_process)
        created = upload(client, large_csv(100000, 20000) + "100005,dup,x,d@test.com,a,1,s,\n")
        updated = upload(client, large_csv(100000, 20000, title="Boss"), dupe_process=3)
        results.append((canonical(created), canonical(updated), stored(client)))
        database = client.app.state.database  # type: ignore[attr-defined]
        with database.engine.begin() as connection:
            connection.execute(delete(queries.EXTENSIONS))
    assert results[0] == results[1]
    assert len(results[1][2]) == 20000


def stored(client: TestClient) -> list[tuple[Any, ...]]:
    """Every stored extension but its generated id and creation time, by number."""
    database = client.app.state.database  # type: ignore[attr-defined]
    skipped = {"account_id", "date_created"}
    columns = [c for c in queries.EXTENSIONS.columns if c.name not in skipped]
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(*columns).order_by("number"))]


def test_failure_after_written_batches_keeps_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    """A file refused late (94772 after several stored batches) leaves the store untouched,
    and the next upload through the same helper works."""
    client = make_client(writer_process=True)
    broken = large_csv(100000, 20000) + '200000,"Broken,x,y\n'
    assert fault(upload(client, broken))[0] == 94772
    assert stored(client) == []
    response = upload(client, large_csv(300000, 20000))
    assert len(response.findall(".//created/extension")) == 20000


def test_a_dead_idle_helper_is_replaced(make_client: Callable[..., TestClient]) -> None:
    """If the ready helper has died, the upload starts a new one and succeeds."""
    client = make_client(writer_process=True)
    pool: WriterPool = client.app.state.writers  # type: ignore[attr-defined]
    for writer in pool._idle:
        writer._process.kill()
        writer._process.wait()
    response = upload(client, large_csv(100000, 20000))
    assert len(response.findall(".//created/extension")) == 20000


def test_a_batch_the_database_refuses_rolls_everything_back(database_url: str) -> None:
    """When storing a batch fails in the helper, finishing reports it and nothing is kept;
    the helper stays usable."""
    from switchvox_server.app import prepare_database
    from switchvox_server.settings import Settings

    database, _ = prepare_database(Settings(database_url=database_url, admin_password="x"))
    good = extension_row("500")
    writer = ProcessWriter()
    try:
        writer.open(database, b"secret")
        writer.write([good, {**good, "number": "501"}], [])
        writer.write([{**good, "number": "500"}], [])  # the number is taken: refused
        with pytest.raises(WriterFailed, match="storing a batch failed"):
            writer.finish(commit=True)
        with database.sessions() as session:
            assert queries.count_extensions(session) == 0
        writer.open(database, b"secret")
        writer.write([good], [])
        writer.finish(commit=True)
        with database.sessions() as session:
            assert queries.count_extensions(session) == 1
    finally:
        writer.close()
        database.dispose()


def test_in_memory_databases_are_never_handed_to_a_helper(tmp_path: Path) -> None:
    """Another process cannot reach an in-memory SQLite database, so it gets no helper."""
    from switchvox_server.store.database import open_database, shared_between_processes

    memory, file = open_database("sqlite://"), open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert not shared_between_processes(memory)
        assert shared_between_processes(file)
    finally:
        memory.dispose()
        file.dispose()
