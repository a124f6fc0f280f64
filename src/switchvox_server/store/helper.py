"""The helper process that stores large uploads (see `store.writer`).

It reads pickled messages on standard input and answers on standard output: `open` (take
a connection and the writer lock), `write` (a batch), `execute` (another statement of the
upload, its history record), `finish` (commit or roll back), for
one upload after another until its input closes. It imports neither SQLAlchemy nor the
server, so it costs little memory: the parent compiles the statements.
"""

from __future__ import annotations

import pickle
import sys
from typing import IO, Any

from switchvox_server.store.bulk_writes import BulkStatements, execute_rows, write_rows
from switchvox_server.store.driver import ConnectionSpec, begin_exclusive


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    def answer(kind: str, failure: str | None = None) -> None:
        pickle.dump((kind, failure), outbox, protocol=pickle.HIGHEST_PROTOCOL)
        outbox.flush()

    while True:
        try:
            _, spec, statements, secret_key = pickle.load(inbox)
        except EOFError:
            return
        connection = _open(spec)
        try:
            answer("ready")
            outcome = _store(connection, statements, secret_key, inbox)
            if outcome is None:
                connection.rollback()  # the parent is gone
                return
            commit, failure = outcome
            if commit and failure is None:
                connection.commit()
            else:
                connection.rollback()
            answer("finished", failure)
        finally:
            connection.close()


def _open(spec: ConnectionSpec) -> Any:
    connection = spec.connect()
    begin_exclusive(connection, spec.dialect)
    return connection


def _store(
    connection: Any, statements: BulkStatements, secret_key: bytes, inbox: IO[bytes]
) -> tuple[bool, str | None] | None:
    """Apply batches until told to finish: (commit?, failure), or None if the input closed."""
    failure: str | None = None
    while True:
        try:
            message = pickle.load(inbox)
        except EOFError:
            return None
        if message[0] == "finish":
            return bool(message[1]), failure
        if failure is None:
            try:
                if message[0] == "execute":
                    execute_rows(connection, message[1], message[2])
                else:
                    write_rows(connection, statements, message[1], message[2], secret_key)
            except Exception as error:  # reported at finish; the transaction rolls back
                failure = f"storing a batch failed: {type(error).__name__}: {error}"


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
