"""Extensions, templates, admin accounts and server secrets; template 1 is Default.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("digest_ha1", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_admin_accounts_name")),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("lang_locale", sa.String(length=16), nullable=False),
        sa.Column("can_dial_from_ivr", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("voicemail_enabled", sa.Boolean(), nullable=False),
        sa.Column("voicemail_pin_rule", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_templates_name")),
    )
    op.create_table(
        "extensions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("extension_type", sa.String(length=16), nullable=False),
        sa.Column("first_name", sa.String(length=32), nullable=False),
        sa.Column("last_name", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("web_password_ha1", sa.String(length=32), nullable=False),
        sa.Column("voicemail_pin_digest", sa.String(length=64), nullable=True),
        sa.Column("phone_password_ha1", sa.String(length=32), nullable=True),
        sa.Column("mac_address", sa.String(length=12), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lang_locale", sa.String(length=16), nullable=False),
        sa.Column("can_dial_from_ivr", sa.Boolean(), nullable=False),
        sa.Column("voicemail_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "date_created",
            sa.DateTime(),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_extensions_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_extensions")),
        sa.UniqueConstraint("mac_address", name=op.f("uq_extensions_mac_address")),
        sa.UniqueConstraint("number", name=op.f("uq_extensions_number")),
    )
    # The official bulk-upload example uses template 1: as the first row it gets id 1
    # from the table's own sequence, which an explicit id would leave behind on PostgreSQL.
    templates = sa.table(
        "templates",
        sa.column("name"),
        sa.column("lang_locale"),
        sa.column("can_dial_from_ivr"),
        sa.column("status"),
        sa.column("title"),
        sa.column("location"),
        sa.column("voicemail_enabled"),
        sa.column("voicemail_pin_rule"),
    )
    op.bulk_insert(
        templates,
        [
            {
                "name": "Default",
                "lang_locale": "en_us",
                "can_dial_from_ivr": True,
                "status": "1",
                "title": "",
                "location": "",
                "voicemail_enabled": True,
                "voicemail_pin_rule": "extension",
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("extensions")
    op.drop_table("templates")
    op.drop_table("server_secrets")
    op.drop_table("admin_accounts")
