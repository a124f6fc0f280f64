"""Large uploads stored by a helper process: the same report and store as in-process, the
helper really used, and every failure of it one WriterFailed carrying its cause, with
nothing kept, no zombie left, and the next upload served."""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from switchvox_server.app import prepare_database
from switchvox_server.bulk.pipeline import (
    HELPER_PROCESS_BYTES,
    UploadParameters,
    run_bulk_upload,
)
from switchvox_server.bulk.report import Section
from switchvox_server.bulk.upload import DupeProcess
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.database import Database, open_database
from switchvox_server.store.driver import BULK_WRITE_LOCK_KEY
from switchvox_server.store.models import ExtensionType
from switchvox_server.store.writer import HelperTimeouts, ProcessWriter, WriterFailed, WriterPool
from tests import helpers
from tests.helpers import (
    canonical,
    extension_row,
    fault,
    request_xml,
    stored_count,
    stored_extensions,
    upload,
)
from tests.test_history import history_rows

ROWS = 20000
TIMEOUTS = HelperTimeouts(connect=5.0, statement=15.0)
CREATE = UploadParameters(ExtensionType.SIP, DupeProcess.SKIP, "1", report_only=False)


def large_csv(first: int, count: int = ROWS, *, title: str = "") -> str:
    """A CSV file large enough for the helper process."""
    text = helpers.large_csv(first, count, title=title)
    assert len(text.encode()) >= HELPER_PROCESS_BYTES
    return text


@pytest.fixture
def store(settings: Settings) -> Iterator[tuple[Database, bytes]]:
    """The migrated test database and its secret, as the server opens them."""
    database, secret = prepare_database(settings)
    yield database, secret
    database.dispose()


@pytest.fixture
def pool() -> Iterator[WriterPool]:
    writers = WriterPool()
    yield writers
    writers.close()


def run(
    store: tuple[Database, bytes], pool: WriterPool, csv: str, settings: Settings
) -> dict[str, int]:
    """One upload as the API runs it, with `pool`; the count of each report section."""
    database, secret = store
    report = run_bulk_upload(
        database, settings, secret, io.BytesIO(csv.encode()), CREATE, writers=pool
    )
    try:
        return {section.value: report.count(section) for section in Section}
    finally:
        report.close()


def reaped(pid: int) -> bool:
    """Whether the child `pid` is gone and reaped: neither running nor a zombie."""
    try:
        found, _ = os.waitpid(pid, os.WNOHANG)  # reaps a zombie, which still fails below
    except ChildProcessError:
        return True
    assert found in (0, pid)
    return False


def after_batches(
    monkeypatch: pytest.MonkeyPatch, count: int, action: Callable[[ProcessWriter], None]
) -> list[int]:
    """Do `action` to the helper once `count` batches have been handed to it; the list
    returned receives that helper's pid."""
    write = ProcessWriter.write
    handed: list[int] = []
    acted: list[int] = []

    def write_then_act(self: ProcessWriter, inserts: Any, rewrites: Any) -> None:
        write(self, inserts, rewrites)
        handed.append(self.pid)
        if len(handed) == count:
            acted.append(self.pid)
            action(self)

    monkeypatch.setattr(ProcessWriter, "write", write_then_act)
    return acted


@pytest.mark.slow
def test_helper_gives_the_same_report_and_store(make_client: Callable[..., TestClient]) -> None:
    """Create then update through the helper process match the in-process results exactly."""
    results = []
    for writer_process in (False, True):
        client = make_client(writer_process=writer_process)
        created = upload(client, large_csv(100000) + "100005,dup,x,d@test.com,a,1,s,\n")
        updated = upload(client, large_csv(100000, title="Boss"), dupe_process=3)
        results.append((canonical(created), canonical(updated), stored(client)))
        database = client.app.state.database  # type: ignore[attr-defined]
        with database.engine.begin() as connection:
            connection.execute(delete(queries.EXTENSIONS))
    assert results[0] == results[1]
    assert len(results[1][2]) == ROWS


def stored(client: TestClient) -> list[dict[str, Any]]:
    """Every stored extension but its generated id and creation time, by number."""
    skipped = {"account_id", "date_created"}
    return [
        {name: value for name, value in row.items() if name not in skipped}
        for row in stored_extensions(client).values()
    ]


@pytest.mark.slow
def test_large_uploads_and_only_they_go_to_the_helper(
    make_client: Callable[..., TestClient],
) -> None:
    """Through the API, an upload of 1 MiB or more is handed to a helper of the pool, and a
    small one or a report_only one is not."""
    client = make_client(writer_process=True)
    pool: WriterPool = client.app.state.writers  # type: ignore[attr-defined]
    assert (pool.started, pool.uploads) == (1, 0)  # one started ahead, at start-up
    upload(client, large_csv(100000))
    upload(client, large_csv(200000), report_only=1)
    upload(client, helpers.large_csv(300000, 10))
    assert (pool.started, pool.uploads) == (1, 1)


@pytest.mark.slow
def test_a_late_method_fault_keeps_nothing_and_keeps_the_helper(
    make_client: Callable[..., TestClient],
) -> None:
    """A file refused late (94772 after several stored batches) leaves the store untouched,
    and the same helper serves the next upload."""
    client = make_client(writer_process=True)
    pool: WriterPool = client.app.state.writers  # type: ignore[attr-defined]
    broken = large_csv(100000) + '200000,"Broken,x,y\n'
    assert fault(upload(client, broken))[0] == 94772
    assert stored(client) == []
    response = upload(client, large_csv(300000))
    assert len(response.findall(".//created/extension")) == ROWS
    assert (pool.started, pool.uploads) == (1, 2)


@pytest.mark.slow
def test_a_helper_killed_under_the_api_answers_10007(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the API, a helper that dies mid-upload is the database fault 10007, with nothing
    stored, and the next upload is served by a new helper."""
    client = make_client(writer_process=True)
    after_batches(monkeypatch, 1, lambda writer: os.kill(writer.pid, signal.SIGKILL))
    assert fault(upload(client, large_csv(100000)))[0] == 10007
    assert stored(client) == []
    monkeypatch.undo()
    assert len(upload(client, large_csv(300000)).findall(".//created/extension")) == ROWS


@pytest.mark.slow
def test_a_killed_helper_fails_the_upload_with_its_cause(
    store: tuple[Database, bytes],
    pool: WriterPool,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helper killed mid-upload: WriterFailed naming the signal, nothing stored, the
    helper reaped, and the next upload served by a new one."""
    with monkeypatch.context() as patch:
        pids = after_batches(patch, 3, lambda writer: os.kill(writer.pid, signal.SIGKILL))
        with pytest.raises(WriterFailed, match="killed by signal SIGKILL"):
            run(store, pool, large_csv(100000), settings)
    assert stored_count(store[0]) == 0
    assert reaped(pids[0])
    assert run(store, pool, large_csv(100000), settings)["created"] == ROWS
    assert pool.started == 2


@pytest.mark.slow
def test_a_helper_that_stops_answering_is_killed_at_its_deadline(
    store: tuple[Database, bytes],
    pool: WriterPool,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helper frozen mid-upload (as on a silent database) is killed once the statement
    timeout and its margin have passed: WriterFailed, nothing stored, no zombie, and the
    next upload works."""
    hurried = replace(settings, db_statement_timeout=0.5)
    deadline = HelperTimeouts.from_settings(hurried).reply
    with monkeypatch.context() as patch:
        pids = after_batches(patch, 2, lambda writer: os.kill(writer.pid, signal.SIGSTOP))
        started = time.monotonic()
        with pytest.raises(WriterFailed, match=r"took no message|did not answer"):
            run(store, pool, large_csv(100000), hurried)
        assert time.monotonic() - started < deadline + 5
    assert stored_count(store[0]) == 0
    assert reaped(pids[0])
    assert run(store, pool, large_csv(100000), settings)["created"] == ROWS


@pytest.mark.postgres
@pytest.mark.slow
def test_a_helper_whose_connection_is_cut_fails_with_the_database_cause(
    store: tuple[Database, bytes],
    pool: WriterPool,
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server ending the helper's connection mid-upload is WriterFailed quoting the
    database; nothing is stored, the helper is reaped, and the next upload works."""

    def cut(_writer: ProcessWriter) -> None:
        engine = create_engine(database_url, poolclass=NullPool)
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND classid = :high AND objid = :low AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"high": BULK_WRITE_LOCK_KEY >> 32, "low": BULK_WRITE_LOCK_KEY & 0xFFFF_FFFF},
            ).scalars()
            assert list(ended) == [True]
        engine.dispose()

    with monkeypatch.context() as patch:
        pids = after_batches(patch, 2, cut)
        # The driver's words depend on what it was doing when the server hung up.
        cause = r"(storing a batch|committing).*(terminat|server closed the connection)"
        with pytest.raises(WriterFailed, match=cause):
            run(store, pool, large_csv(100000), settings)
    assert stored_count(store[0]) == 0
    assert reaped(pids[0])
    assert run(store, pool, large_csv(100000), settings)["created"] == ROWS


def test_a_refused_batch_fails_the_commit_with_its_cause_alone(
    store: tuple[Database, bytes], pool: WriterPool
) -> None:
    """A batch the database refuses makes the commit fail with the database's reason (no
    second finish hides it); nothing is kept, and that helper is reaped, never reused."""
    database, secret = store
    good = extension_row("500")
    pids: list[int] = []

    def commit_a_refused_batch() -> None:
        with pool.transaction(database, secret, TIMEOUTS) as writer:
            pids.append(writer.pid)
            writer.write([good, {**good, "number": "501"}], [])
            writer.write([{**good, "number": "500"}], [])  # the number is taken: refused
            writer.finish(commit=True)

    with pytest.raises(WriterFailed, match=r"storing a batch failed: .*(Integrity|Unique)"):
        commit_a_refused_batch()
    failed = pids[0]
    assert stored_count(database) == 0
    assert reaped(failed)
    with pool.transaction(database, secret, TIMEOUTS) as writer:
        assert writer.pid != failed
        writer.write([good], [])
        writer.finish(commit=True)
    assert stored_count(database) == 1


def test_a_helper_that_cannot_connect_says_why(tmp_path: Path, pool: WriterPool) -> None:
    """A database the helper cannot open is WriterFailed with the driver's reason."""
    database = open_database(f"sqlite:///{tmp_path / 'missing' / 'switchvox.db'}")
    writer = pool.take()
    try:
        with pytest.raises(WriterFailed, match=r"connecting to the database failed: .*unable"):
            writer.open(database, b"secret", TIMEOUTS)
    finally:
        pool.give_back(writer)
        database.dispose()
    assert writer.broken
    assert pool.idle == 0
    assert reaped(writer.pid)


def test_the_idle_pool_is_bounded(pool: WriterPool) -> None:
    """Helpers given back beyond the pool's bound exit and are reaped; the rest wait until
    the pool closes, and one given back after that exits too."""
    writers = [pool.take() for _ in range(5)]
    for writer in writers[:4]:
        pool.give_back(writer)
    assert pool.idle == 2
    assert [reaped(writer.pid) for writer in writers] == [False, False, True, True, False]
    pool.close()
    pool.give_back(writers[4])
    assert all(reaped(writer.pid) for writer in writers)


@pytest.mark.slow
def test_a_dead_idle_helper_is_reaped_and_replaced(
    make_client: Callable[..., TestClient],
) -> None:
    """If the ready helper has died, it is reaped, and the upload starts a new one."""
    client = make_client(writer_process=True)
    pool: WriterPool = client.app.state.writers  # type: ignore[attr-defined]
    dead = pool.take()
    pool.give_back(dead)
    os.kill(dead.pid, signal.SIGKILL)
    time.sleep(0.1)
    response = upload(client, large_csv(100000))
    assert len(response.findall(".//created/extension")) == ROWS
    assert reaped(dead.pid)
    assert (pool.started, pool.uploads) == (2, 1)


def test_in_memory_databases_are_never_handed_to_a_helper(tmp_path: Path) -> None:
    """Another process cannot reach an in-memory SQLite database, so it gets no helper."""
    from switchvox_server.store.database import shared_between_processes

    memory, file = open_database("sqlite://"), open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert not shared_between_processes(memory)
        assert shared_between_processes(file)
    finally:
        memory.dispose()
        file.dispose()


@pytest.mark.slow
def test_history_through_the_helper_commits_with_the_upload(
    make_client: Callable[..., TestClient], database_url: str
) -> None:
    """Through the helper, the history row and the versions are written in the upload's
    transaction: a late fault keeps neither; a stored upload is recorded and undone whole."""
    client = make_client(writer_process=True)
    broken = large_csv(100000, 18000) + '200000,"Broken,x,y\n'
    assert fault(upload(client, broken))[0] == 94772
    assert history_rows(database_url) == 0
    upload(client, large_csv(100000, 18000))
    replaced = upload(client, large_csv(100000, 18000, title="Boss"), dupe_process=2)
    assert len(replaced.findall(".//replaced/extension")) == 18000
    assert history_rows(database_url) == 2
    assert {row["title"] for row in stored(client)} == {"Boss"}
    undo = request_xml("switchvox_server.imports.undo", import_id=2)
    assert b"<undo " in client.post("/xml", content=undo).content
    assert {row["title"] for row in stored(client)} == {""}
    undo_create = request_xml("switchvox_server.imports.undo", import_id=1)
    assert b"<undo " in client.post("/xml", content=undo_create).content
    assert stored(client) == []


def test_the_helpers_deadlines_follow_the_database_timeouts() -> None:
    """The timeouts come from the environment (defaults 5 s and 15 s), reject what is not a
    positive number of seconds, and give the helper's deadlines."""
    from switchvox_server.faults import ConfigurationError

    assert HelperTimeouts.from_settings(Settings.from_environ({})) == TIMEOUTS
    environ = {"SWITCHVOX_DB_CONNECT_TIMEOUT": "1.5", "SWITCHVOX_DB_STATEMENT_TIMEOUT": "3"}
    timeouts = HelperTimeouts.from_settings(Settings.from_environ(environ))
    assert (timeouts.ready, timeouts.reply) == (1.5 + 3 + 2, 3 + 2)
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(ConfigurationError, match="SWITCHVOX_DB_STATEMENT_TIMEOUT"):
            Settings.from_environ({"SWITCHVOX_DB_STATEMENT_TIMEOUT": bad})


def test_ctrl_c_on_the_terminal_leaves_the_helper_to_the_server(
    store: tuple[Database, bytes], pool: WriterPool
) -> None:
    """SIGINT, which a terminal's Ctrl-C sends to the whole process group, does not end a
    helper: it still finishes the upload it holds."""
    database, secret = store
    with pool.transaction(database, secret, TIMEOUTS) as writer:
        os.kill(writer.pid, signal.SIGINT)
        writer.write([extension_row("500")], [])
        time.sleep(0.2)
        writer.finish(commit=True)
    assert stored_count(database) == 1
    assert pool.idle == 1
