"""What the control API does, apart from HTTP: shared by its routes, the endpoint hooks and
the `state` command. Every piece of state lives in the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchvox_server.control import runtime, state
from switchvox_server.control.injection import Injection
from switchvox_server.control.journal import JournalRecorder
from switchvox_server.methods.registry import MethodRegistry
from switchvox_server.seed.apply import reset_to_seed
from switchvox_server.seed.declaration import Seed
from switchvox_server.settings import Settings
from switchvox_server.store import control_tables, history, retries
from switchvox_server.store.database import Database

# How long a journal read waits for this process's entries still being written.
FLUSH_TIMEOUT_SECONDS = 5.0


def reset_store(database: Database, secret_key: bytes, settings: Settings) -> None:
    """The store back to its reset point (what `run_server` seeded), or to a fresh start
    (template 1 `Default` and the `admin` account); journal, faults, run-time settings, the
    import history and stored retry answers cleared."""
    with database.exclusive_sessions.begin() as session:
        point = state.reset_point(session)
        if point is not None:
            state.restore(session, point)
        # They describe the store being reset: an undo or a replay would act on another one.
        history.forget_all(session)
        retries.forget_all(session)
        control_tables.clear_journal(session)
        control_tables.remove_faults(session)
        runtime.clear(session)
    if point is None:
        reset_to_seed(database, Seed(), secret_key, settings)


def dump_store(database: Database) -> dict[str, Any]:
    with database.sessions() as session:
        return state.dump(session)


def restore_store(database: Database, document: object) -> None:
    with database.exclusive_sessions.begin() as session:
        state.restore(session, document)


def save_reset_point(database: Database) -> None:
    with database.exclusive_sessions.begin() as session:
        state.save_reset_point(session)


@dataclass(frozen=True, slots=True)
class Control:
    """The control API of one server process."""

    token: str
    database: Database
    settings: Settings
    secret_key: bytes
    methods: MethodRegistry
    """The application's methods, which injected faults may name."""
    recorder: JournalRecorder

    @classmethod
    def start(
        cls,
        token: str,
        database: Database,
        settings: Settings,
        secret: bytes,
        methods: MethodRegistry,
    ) -> Control:
        recorder = JournalRecorder(database, settings.journal_max_entries)
        return cls(token, database, settings, secret, methods, recorder)

    def close(self) -> None:
        self.recorder.close()

    def prepare_call(self, method: str) -> tuple[Settings, Injection | None]:
        """The settings in force, and the injected fault that answers this call (one of its
        times taken), if any."""
        with self.database.sessions() as session:
            settings = runtime.effective_settings(session, self.settings)
            candidates = [
                Injection.from_row(row) for row in control_tables.faults_for(session, method)
            ]
        for injection in candidates:
            if injection.remaining is None:
                return settings, injection
            with self.database.sessions.begin() as session:
                if control_tables.take_one_time(session, injection.id):
                    return settings, injection
        return settings, None

    def effective_settings(self) -> Settings:
        with self.database.sessions() as session:
            return runtime.effective_settings(session, self.settings)

    def reset(self) -> None:
        self.recorder.flush(FLUSH_TIMEOUT_SECONDS)
        reset_store(self.database, self.secret_key, self.settings)

    def journal(self, method: str | None, since: int | None, limit: int) -> list[dict[str, Any]]:
        self.recorder.flush(FLUSH_TIMEOUT_SECONDS)
        with self.database.sessions() as session:
            return control_tables.journal_entries(session, method=method, since=since, limit=limit)

    def clear_journal(self) -> None:
        self.recorder.flush(FLUSH_TIMEOUT_SECONDS)
        with self.database.sessions.begin() as session:
            control_tables.clear_journal(session)
