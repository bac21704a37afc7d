"""Database engines, declarative base, and the ways to use them: reads, and the writer's.

Domain code is synchronous (a SQLAlchemy ``Session``) and runs as one unit on the database's side
of the process, so that a request pays one hand-off, not one per statement:

* reads: ``await db.run_query(fn, *args)`` calls ``fn(session, *args)``; on SQLite in a small pool
  of threads with the standard library driver, on PostgreSQL through ``AsyncSession.run_sync``;
* writes: through the writer (``realtime/writer.py``), which batches them (group commit) on
  ``sync_write_engine`` (SQLite, a thread of its own) or ``write()`` (PostgreSQL).

The async sessions (``read()``, ``write()``) remain for the event stream's own reads, for
migrations and for tools.

SQLite allows one writer at a time. Rather than let concurrent write transactions race for the
lock (and fail with SQLITE_BUSY when a read upgrades to a write), write transactions here start
with ``BEGIN IMMEDIATE`` and are serialized in-process (the writer thread; an asyncio lock for
``write()``); reads run in WAL mode alongside them. On PostgreSQL both kinds are ordinary
transactions on one pool.

Waiting for that in-process lock is bounded like waiting for a pooled connection (the pool
timeout), and once a writer found the file locked by another process, the writers queued behind
it give up at once: otherwise each would wait SQLite's whole busy timeout in turn, and 100
queued writes would take 100 busy timeouts to answer. Both answer 503 ``database_busy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
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


T = TypeVar("T")


def writes_are_serialized(session: Session | AsyncSession) -> bool:
    """True on SQLite, where one write transaction runs at a time: row locks are pointless."""
    return session.get_bind().dialect.name == "sqlite"


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor of the
    session's connection, inside its transaction.

    SQLAlchemy's per-execution work (an execution context, parameter processing, a result
    object) measured ~14 µs a statement on SQLite against ~3 µs for the statement itself (an
    INSERT ... RETURNING, in a loop); end to end, on a message's ~300 µs of CPU, the gain was
    within the bench's noise (``bench/results/findings.md``). The few statements of the hottest
    write (a message) skip it; everything else stays on ``Session.execute``. The SQL and the
    bound values' processing (a datetime's text on SQLite) are SQLAlchemy's own, and the
    engine's ``before_`` and ``after_cursor_execute`` listeners still run (the query count,
    ``bench.write_cost``).
    Only for statements with named ``bindparam``s and no expanding (``IN``) parameters.
    """

    __slots__ = ("_by_dialect", "statement", "variants")

    def __init__(
        self, statement: ClauseElement, variants: dict[str, ClauseElement] | None = None
    ) -> None:
        self.statement = statement
        self.variants = variants or {}
        """Statements for particular dialects (by name), e.g. their own ``ON CONFLICT``."""
        self._by_dialect: dict[str, tuple[str, tuple[str, ...], tuple[Any, ...]]] = {}

    def _compiled(self, dialect: Dialect) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            statement = self.variants.get(dialect.name, self.statement)
            compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
            names = tuple(compiled.positiontup or ())
            processors = tuple(
                compiled.binds[name].type._cached_bind_processor(dialect) for name in names
            )
            found = self._by_dialect[dialect.name] = (str(compiled), names, processors)
        return found

    def first(self, session: Session, params: dict[str, Any]) -> Any:
        """Run with ``params`` (by bind name); the first row (a tuple), or None."""
        cursor = self._execute(session, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, session: Session, params: dict[str, Any]) -> list[Any]:
        """Run with ``params`` (by bind name); every row (tuples)."""
        cursor = self._execute(session, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, session: Session, params: dict[str, Any]) -> None:
        """Run with ``params`` (by bind name), for its effect."""
        self._execute(session, params).close()

    def _execute(self, session: Session, params: dict[str, Any]) -> Any:
        connection = session.connection()
        dialect = connection.dialect
        sql, names, processors = self._compiled(dialect)
        values = tuple(
            params[name] if process is None else process(params[name])
            for name, process in zip(names, processors, strict=True)
        )
        cursor = connection.connection.cursor()
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        try:
            cursor.execute(sql, values)
        except dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy would raise it (a DBAPIError: a lock timeout or a locked database
            # is then answered 503, not 500), and a lost connection is not used again.
            with contextlib.suppress(Exception):
                cursor.close()
            lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise sqlalchemy_exc.DBAPIError.instance(
                sql,
                values,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from error
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        return cursor


QUERY_THREADS = 4
"""Threads reading SQLite at once (WAL: readers never wait for the writer)."""


class QueryThreads:
    """Threads that run reads (SQLite), each answered with one ``call_soon_threadsafe``.

    ``loop.run_in_executor`` costs ~14 µs of CPU per call under load (a concurrent future, its
    wrapping asyncio future, the executor's bookkeeping); a queue and one callback, ~3 µs
    (measured with uvloop at 64 concurrent calls). Every read request, and the first request of
    each session a process has not seen, pays it.
    """

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._main, name=f"{name}_{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in one of the threads; its result or its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return await future

    def _main(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            loop, future, fn, args = work
            try:
                result = fn(*args)
            except BaseException as error:
                loop.call_soon_threadsafe(_settle, future, None, error)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
            del work, future, fn, args

    def shutdown(self) -> None:
        """Let the threads finish what they run, then end them."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the caller went away; the read ran anyway
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class WriteQueueBusy(sqlalchemy_exc.TimeoutError):
    """A SQLite write that could not start: the in-process write lock was not had within the
    pool timeout, or a write ahead of it found the database locked by another process. A
    ``sqlalchemy.exc.TimeoutError``, so the API answers it as it answers a pool timeout: 503
    ``database_busy`` with Retry-After (``tidings.errors.is_database_busy``)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: Engine, *, begin: str, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and an explicit BEGIN we control.

    The busy timeout is how long a statement waits for a lock another process holds (another
    server process, a backup, ``sqlite3`` in a shell) before failing with "database is locked",
    which the API answers with 503 and Retry-After (``tidings.errors``).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer it too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
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
            # The standard library driver, for the writer's thread and the query threads.
            sync_url = url.replace("sqlite+aiosqlite:", "sqlite:", 1)
            self.sync_engine: Engine | None = create_engine(
                sync_url, echo=echo, pool_size=QUERY_THREADS + 1, pool_timeout=pool_timeout_seconds
            )
            self.sync_write_engine: Engine | None = create_engine(sync_url, echo=echo)
            for configured, begin in (
                (self.engine.sync_engine, "BEGIN"),
                (self.write_engine.sync_engine, "BEGIN IMMEDIATE"),
                (self.sync_engine, "BEGIN"),
                (self.sync_write_engine, "BEGIN IMMEDIATE"),
            ):
                _configure_sqlite(configured, begin=begin, busy_timeout_ms=sqlite_busy_timeout_ms)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
            self._query_threads: QueryThreads | None = QueryThreads(QUERY_THREADS, "tidings-query")
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
            self.sync_engine = self.sync_write_engine = None
            self._query_threads = None
        for engine in {self.engine, self.write_engine}:
            event.listen(engine.sync_engine, "before_cursor_execute", self._count_query)
        for sync_engine in (self.sync_engine, self.sync_write_engine):
            if sync_engine is not None:
                event.listen(sync_engine, "before_cursor_execute", self._count_query)
        self._query_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    def _count_query(self, *_args: Any) -> None:
        self.query_count += 1

    async def run_query(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a transaction that is rolled back, as one hand-off: on
        SQLite in a query thread, on PostgreSQL through ``run_sync``."""
        if self._query_threads is not None:
            return await self._query_threads.run(self._query_in_thread, fn, args)
        async with self._query_sessions() as session:
            return await session.run_sync(fn, *args)

    def _query_in_thread(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self.sync_engine is not None
        with Session(self.sync_engine, expire_on_commit=False) as session:
            return fn(session, *args)

    @asynccontextmanager
    async def query_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; its transaction is rolled back at the end."""
        async with self._query_sessions() as session:
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
        if self._query_threads is not None:
            self._query_threads.shutdown()
        for sync_engine in (self.sync_engine, self.sync_write_engine):
            if sync_engine is not None:
                sync_engine.dispose()
