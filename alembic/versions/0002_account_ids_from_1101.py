"""Extension account ids start at 1101, as on a real system (1101, 1106, 1122…).

A client test that reads template id 1 where it means an account id then fails instead of
passing by luck. The rule is the database's own, so every insert follows it: single rows,
the bulk upload's executemany on SQLite and its COPY on PostgreSQL alike. A store that
already holds extensions keeps their ids; the next one is the larger of 1101 and one past
the largest. Templates keep their own ids (template 1 stays 1).

SQLite hands out max(rowid) + 1 unless the table is AUTOINCREMENT, which keeps its counter
in `sqlite_sequence`: the table is rebuilt with it. PostgreSQL's serial sequence is moved on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_ACCOUNT_ID = 1101


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    last_handed_out = (
        f"(SELECT MAX({FIRST_ACCOUNT_ID - 1}, COALESCE(MAX(account_id), 0)) FROM extensions)"
    )
    if dialect == "sqlite":
        with op.batch_alter_table(
            "extensions", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'extensions'")
        op.execute(
            f"INSERT INTO sqlite_sequence (name, seq) VALUES ('extensions', {last_handed_out})"
        )
    elif dialect == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('extensions', 'account_id'),"
            f" GREATEST({FIRST_ACCOUNT_ID - 1}, COALESCE(MAX(account_id), 0))) FROM extensions"
        )


def downgrade() -> None:
    # The ids handed out stay; only SQLite's AUTOINCREMENT goes (PostgreSQL's sequence
    # simply carries on from where it is).
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "extensions", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
