"""Idempotency keys (docs/history.md): one row per key, inserted when its first request
starts, so that every server process on the database sees it, and completed with the answer
that request got. Functions take a Session and never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import LargeBinary, String, Table, Text, delete, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from switchvox_server.store.models import Base


class IdempotencyKey(Base):
    """A request made with an Idempotency-Key: what it was, and the answer it got."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    done: Mapped[bool]
    content_type: Mapped[str] = mapped_column(String(128))
    headers: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


KEYS = cast(Table, IdempotencyKey.__table__)


def forget_all(session: Session) -> None:
    """Drop every stored answer: for a store replaced wholesale, where a replay would claim
    writes the store no longer holds."""
    session.execute(delete(IdempotencyKey))


def claim(session: Session, key: str, request_digest: str, now: datetime) -> None:
    """Insert the key as running; IntegrityError (at once or at commit) if it exists."""
    session.execute(
        insert(KEYS).values(
            key=key,
            request_digest=request_digest,
            created_at=now,
            done=False,
            content_type="",
            headers="{}",
            body=None,
        )
    )


def find(session: Session, key: str) -> dict[str, Any] | None:
    row = session.execute(select(KEYS).where(KEYS.c.key == key)).first()
    return None if row is None else dict(row._mapping)


def complete(session: Session, key: str, content_type: str, headers: str, body: bytes) -> None:
    session.execute(
        update(KEYS)
        .where(KEYS.c.key == key)
        .values(done=True, content_type=content_type, headers=headers, body=body)
    )


def release(session: Session, key: str) -> None:
    session.execute(delete(KEYS).where(KEYS.c.key == key))


def expire(session: Session, before: datetime) -> None:
    """Forget the keys of requests started before `before`."""
    session.execute(delete(KEYS).where(KEYS.c.created_at < before))
