"""Database engine, declarative base and the two kinds of session: read and write.

SQLite allows one writer at a time. Rather than let concurrent write transactions race for the
lock (and fail with SQLITE_BUSY when a read upgrades to a write), write transactions here start
with ``BEGIN IMMEDIATE`` and are serialized in-process by an asyncio lock; reads run in WAL mode
alongside them. On PostgreSQL both kinds are ordinary transactions on one pool.

Waiting for that in-process lock is bounded like waiting for a pooled connection (the pool
timeout), and once a writer found the file locked by another process, the writers queued behind
it give up at once: otherwise each would wait SQLite's whole busy timeout in turn, and 100
queued writes would take 100 busy timeouts to answer. Both answer 503 ``database_busy``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from tidings.errors import is_database_busy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def writes_are_serialized(session: AsyncSession) -> bool:
    """True on SQLite, where one write transaction runs at a time: row locks are pointless."""
    return session.get_bind().dialect.name == "sqlite"


class WriteQueueBusy(sqlalchemy_exc.TimeoutError):
    """A SQLite write that could not start: the in-process write lock was not had within the
    pool timeout, or a write ahead of it found the database locked by another process. A
    ``sqlalchemy.exc.TimeoutError``, so the API answers it as it answers a pool timeout: 503
    ``database_busy`` with Retry-After (``tidings.errors.is_database_busy``)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: AsyncEngine, *, begin: str, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and an explicit BEGIN we control.

    The busy timeout is how long a statement waits for a lock another process holds (another
    server process, a backup, ``sqlite3`` in a shell) before failing with "database is locked",
    which the API answers with 503 and Retry-After (``tidings.errors``).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer it too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """Owns the engines; hands out read sessions and serialized write sessions."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_timeout_seconds: float = 5.0,
        sqlite_busy_timeout_ms: int = 5000,
        postgres_lock_timeout_ms: int = 5000,
    ) -> None:
        """``pool_timeout_seconds``: longest wait for a pooled connection before
        ``sqlalchemy.exc.TimeoutError``; ``sqlite_busy_timeout_ms``: SQLite's wait for another
        process's lock before "database is locked"; ``postgres_lock_timeout_ms``: PostgreSQL's
        ``lock_timeout``. The API answers each of these with 503 and Retry-After."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.pool_timeout_seconds = pool_timeout_seconds
        self._locked_out = 0
        """How many writes have found SQLite locked by another process (see ``write``)."""
        self.query_count = 0
        if self.is_sqlite:
            self.engine = create_async_engine(url, echo=echo, pool_timeout=pool_timeout_seconds)
            self.write_engine = create_async_engine(
                url, echo=echo, pool_timeout=pool_timeout_seconds
            )
            for engine, begin in ((self.engine, "BEGIN"), (self.write_engine, "BEGIN IMMEDIATE")):
                _configure_sqlite(engine, begin=begin, busy_timeout_ms=sqlite_busy_timeout_ms)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=20,
                max_overflow=20,
                pool_pre_ping=True,
                pool_timeout=pool_timeout_seconds,
                connect_args={
                    "server_settings": {"lock_timeout": str(int(postgres_lock_timeout_ms))}
                },
            )
            self.write_engine = self.engine
            self._write_lock = None
        for engine in {self.engine, self.write_engine}:
            event.listen(engine.sync_engine, "before_cursor_execute", self._count_query)
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    def _count_query(self, *_args: Any) -> None:
        self.query_count += 1

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; its transaction is rolled back at the end."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        if self._write_lock is None:
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        # Writes queued before a write found the file locked would each wait the busy timeout
        # in turn for the same lock: they give up at once instead (503, the client retries).
        arrived = self._locked_out
        try:
            async with asyncio.timeout(self.pool_timeout_seconds):
                await self._write_lock.acquire()
        except TimeoutError:
            raise WriteQueueBusy("waited longer than the pool timeout for the write lock") from None
        try:
            if self._locked_out != arrived:
                raise WriteQueueBusy("a write ahead of this one found the database locked")
            try:
                async with self._write_sessions() as session, session.begin():
                    yield session
            except sqlalchemy_exc.OperationalError as error:
                if is_database_busy(error):
                    self._locked_out += 1
                raise
        finally:
            self._write_lock.release()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
