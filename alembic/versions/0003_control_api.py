"""The control API's tables: request journal, injected faults, run-time values.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "control_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("fault_code", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_journal")),
    )
    op.create_table(
        "control_faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("values", sa.Text(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("delay_ms", sa.Integer(), nullable=False),
        sa.Column("drop", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_faults")),
    )
    op.create_index(op.f("ix_control_faults_method"), "control_faults", ["method"], unique=False)
    op.create_table(
        "control_values",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_control_values")),
    )


def downgrade() -> None:
    op.drop_table("control_values")
    op.drop_index(op.f("ix_control_faults_method"), table_name="control_faults")
    op.drop_table("control_faults")
    op.drop_table("control_journal")
