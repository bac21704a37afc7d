"""Group commit: every write of a process runs on one writer, many per transaction.

An action is a plain synchronous function of a ``Transaction`` (a SQLAlchemy ``Session`` plus the
events to record). ``Writer.run(action, *args)`` queues it and awaits its outcome. The writer
takes what is queued (at most ``batch_max``, waiting at most ``batch_wait_seconds`` for more),
runs the actions in one transaction, records the events of those that succeeded (positions
taken once, at the end), commits once, and only then answers each caller with its own result or
its own error and publishes the batch. One action failing (a 404, a constraint) fails alone: the
others commit and their events go out. On PostgreSQL each action runs in a SAVEPOINT; on SQLite
without one until an action fails after it wrote, when the rest run again, each in a SAVEPOINT
(``Writer._run_optimistically``).

* SQLite: the writer is a thread of its own with its own connection and the standard library
  driver, so an action costs one hand-off between the event loop and that thread, not one per
  statement. Writes were serialized anyway (one writer per database).
* PostgreSQL: the writer is a task running the batch through ``AsyncSession.run_sync`` (asyncpg
  under SQLAlchemy's greenlet bridge): one transaction per batch instead of one per action.

Nothing is answered before its commit: a process killed mid-batch loses only writes nobody was
told had succeeded. A write that waited longer than ``queue_timeout_seconds`` to start is
answered 503 (``WriteQueueBusy``) without running; after a batch found SQLite locked by another
process, the writes queued behind it are too, instead of each waiting the busy timeout in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.orm import Session

from tidings.db import Database, WriteQueueBusy, writes_are_serialized
from tidings.errors import ApiError, is_database_busy
from tidings.realtime.events import Batch
from tidings.realtime.hub import Hub
from tidings.realtime.log import record_batches
from tidings.realtime.transaction import Transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")
Action = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class RowLocks:
    """The only rows a write locks, declared (see ``Writer.run``): ``table``'s rows ``ids``,
    by an integer primary key ``id``."""

    table: Table
    ids: tuple[int, ...]


@dataclass(slots=True, eq=False)
class _Job:
    action: Action
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    queued_at: float
    locks: RowLocks | None = None
    """The rows the action locks, if it declared them: see ``Writer.run``."""
    tx: Transaction | None = None
    result: Any = None
    error: BaseException | None = None
    batch: Batch | None = field(default=None)


def _lock_declared_rows(session: Session, jobs: list[_Job]) -> None:
    """Lock every row the jobs of a shared transaction declared, table by table (by name) and
    in id order, so two batches do not wait for each other on these rows. Each job finds its
    locks held. (A unique index can still make them wait: two processes inserting one sender's
    repeated client ids in opposite orders would deadlock, PostgreSQL would end one batch, and
    its sends would fail with 503. That takes one person's retries reaching two processes
    crossed; rerunning such a batch's jobs one by one is left to do.)"""
    by_table: dict[str, tuple[Table, set[int]]] = {}
    for job in jobs:
        if job.locks is not None:
            table, ids = by_table.setdefault(job.locks.table.name, (job.locks.table, set()))
            ids.update(job.locks.ids)
    for name in sorted(by_table):
        table, ids = by_table[name]
        session.execute(
            select(table.c.id)
            .where(table.c.id.in_(sorted(ids)))
            .order_by(table.c.id)
            .with_for_update(key_share=True)
        )


def _run_jobs(session: Session, jobs: list[_Job], *, savepoints: bool) -> list[_Job]:
    """Run the jobs in order, each in a SAVEPOINT if ``savepoints`` (one failing then undoes
    only its own writes), else the only one (a failure rolls the transaction back). Returns
    those that succeeded; the others carry their error."""
    done: list[_Job] = []
    for job in jobs:
        tx = Transaction(session)
        savepoint = session.begin_nested() if savepoints else None
        try:
            job.result = job.action(tx, *job.args)
            if savepoint is not None:
                savepoint.commit()
        except Exception as error:
            if savepoint is not None:
                savepoint.rollback()
            else:
                session.rollback()
            job.error = error
            continue
        job.tx = tx
        done.append(job)
    return done


def merge_batches(batches: list[Batch]) -> Batch | None:
    """One batch for consecutive ones (a commit's): what is published and handed on."""
    if not batches:
        return None
    if len(batches) == 1:
        return batches[0]
    return Batch(
        batches[0].first,
        batches[-1].last,
        tuple(e for b in batches for e in b.events),
        tuple(m for b in batches for m in b.memberships),
    )


class Writer:
    """Runs actions in batches, one transaction per batch; see the module docstring."""

    def __init__(
        self,
        db: Database,
        hub: Hub,
        *,
        batch_max: int = 64,
        batch_wait_seconds: float = 0.0,
        queue_timeout_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.hub = hub
        self.batch_max = batch_max
        self.batch_wait_seconds = batch_wait_seconds
        self.queue_timeout_seconds = queue_timeout_seconds
        self.batches = 0
        """Transactions committed (or tried): ``actions / batches`` is the mean batch size."""
        self.actions = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._task_queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled: asyncio.Queue[list[_Job] | None] | None = None
        self._settler: asyncio.Task[None] | None = None
        self._to_publish: asyncio.Queue[Batch | None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._stopping = False
        self._watchers: list[tuple[Callable[[Writer], bool], asyncio.Future[None]]] = []

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._settled = asyncio.Queue()
        self._settler = asyncio.create_task(self._settle_in_order(), name="tidings-writer-settle")
        self._to_publish = asyncio.Queue()
        self._publisher = asyncio.create_task(self._publish_in_order(), name="tidings-publish")
        if self.db.is_sqlite:
            self._thread = threading.Thread(
                target=self._thread_main, name="tidings-writer", daemon=True
            )
            self._thread.start()
        else:
            self._task_queue = asyncio.Queue()
            self._task = asyncio.create_task(self._task_main(), name="tidings-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop; writes asked for after this fail."""
        self._stopping = True
        if self._thread is not None:
            self._thread_queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._task is not None:
            assert self._task_queue is not None
            await self._task_queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._settler is not None:
            assert self._settled is not None
            await self._settled.put(None)
            await self._settler
            self._settler = None
        if self._publisher is not None:
            assert self._to_publish is not None
            await self._to_publish.put(None)
            await self._publisher
            self._publisher = None

    @property
    def queued(self) -> int:
        """Writes waiting for a batch (not counting the batch running)."""
        if self._task_queue is not None:
            return self._task_queue.qsize()
        return self._thread_queue.qsize()

    async def wait_until(self, predicate: Callable[[Writer], bool]) -> None:
        """Return once ``predicate(writer)`` holds, checked whenever a write is queued or a
        batch starts (for tests and tools: ``queued``, ``batches``)."""
        # Watching before checking: the writer thread may move on between the two, and a
        # batch counted before the watcher was in place would otherwise go unnoticed.
        future = asyncio.get_running_loop().create_future()
        self._watchers.append((predicate, future))
        try:
            if not predicate(self):
                await future
        finally:
            self._watchers = [w for w in self._watchers if w[1] is not future]

    def _notify(self) -> None:
        for predicate, future in self._watchers:
            if not future.done() and predicate(self):
                future.set_result(None)

    async def run(
        self,
        action: Callable[..., T],
        *args: Any,
        locks: RowLocks | None = None,
    ) -> T:
        """Run ``action(tx, *args)`` in the next batch; its result once committed (its events
        are in the hub by then).
        Raises what the action raised (its own writes undone), or the commit's error.

        PostgreSQL: writes of one transaction hold their row locks until it ends, so two
        batches could take the same rows in opposite orders and deadlock. A write that declares
        the only rows it locks (``locks``) may share a transaction with others that do, the
        writer locking all their rows first, in a fixed order; any other write runs in a
        transaction of its own. (SQLite takes no row locks: everything may share.)"""
        if self._stopping:
            raise RuntimeError("the writer is stopping")
        loop = asyncio.get_running_loop()
        job = _Job(action, args, loop.create_future(), time.monotonic(), locks)
        if self._thread is not None:
            self._thread_queue.put(job)
        elif self._task_queue is not None:
            self._task_queue.put_nowait(job)
        else:
            raise RuntimeError("the writer is not running")
        self._notify()
        await job.future
        return cast(T, job.result)

    # SQLite: a thread with its own connection.

    def _thread_main(self) -> None:
        engine = self.db.sync_write_engine
        assert engine is not None
        while True:
            first = self._thread_queue.get()
            if first is None:
                return
            jobs = [first]
            deadline = time.monotonic() + self.batch_wait_seconds
            while len(jobs) < self.batch_max:
                try:
                    remaining = deadline - time.monotonic()
                    job = (
                        self._thread_queue.get(timeout=remaining)
                        if remaining > 0
                        else self._thread_queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if job is None:
                    self._thread_queue.put(None)  # stop after this batch
                    break
                jobs.append(job)
            with Session(engine, expire_on_commit=False) as session:
                locked = self._run_batch(session, jobs)
            if locked:
                self._fail_queued()
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._hand_over, jobs)

    def _fail_queued(self) -> None:
        """SQLite is locked by another process: what is queued now gives up at once (503)."""
        failed: list[_Job] = []
        stop = False
        while True:
            try:
                job = self._thread_queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop = True
                continue
            job.error = WriteQueueBusy("a write ahead of this one found the database locked")
            failed.append(job)
        if stop:
            self._thread_queue.put(None)
        if failed:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._hand_over, failed)

    # PostgreSQL: a task, the batch through run_sync.

    async def _task_main(self) -> None:
        assert self._task_queue is not None
        work = self._task_queue
        carried: _Job | None = None
        while True:
            first = carried if carried is not None else await work.get()
            carried = None
            jobs = [first]
            # Only writes that declared their locks share a transaction (see ``run``); the
            # first other one starts the next batch.
            while first.locks is not None and len(jobs) < self.batch_max:
                if work.empty():
                    if self.batch_wait_seconds <= 0:
                        break
                    try:
                        async with asyncio.timeout(self.batch_wait_seconds):
                            job = await work.get()
                    except TimeoutError:
                        break
                else:
                    job = work.get_nowait()
                if job.locks is None:
                    carried = job
                    break
                jobs.append(job)
            try:
                async with self.db.write() as session:
                    await session.run_sync(self._run_batch, jobs, False)
            except BaseException as error:
                # The commit (or the connection) failed: nothing of the batch is written.
                for job in jobs:
                    if job.error is None:
                        job.error = error
                        job.batch = None
                if isinstance(error, asyncio.CancelledError):
                    raise
            finally:
                self._hand_over(jobs)
                for _ in jobs:
                    work.task_done()

    # Both: the batch itself, synchronous.

    def _run_batch(self, session: Session, jobs: list[_Job], own_transaction: bool = True) -> bool:
        """Run the jobs in savepoints of one transaction, record their events, commit (when
        the transaction is ours). Returns True if SQLite was found locked by another process."""
        self.batches += 1
        self.actions += len(jobs)
        assert self._loop is not None
        if self._watchers:
            self._loop.call_soon_threadsafe(self._notify)
        too_old = time.monotonic() - self.queue_timeout_seconds
        done: list[_Job] = []
        try:
            if own_transaction:
                session.begin()
                # BEGIN (IMMEDIATE, on SQLite) now, not at a job's first statement: a database
                # locked elsewhere fails the batch here, once, not each job in turn.
                session.connection()
            for job in jobs:
                if job.queued_at < too_old:
                    job.error = WriteQueueBusy("waited longer than the queue timeout to start")
            runnable = [job for job in jobs if job.error is None]
            if own_transaction and self.db.is_sqlite:
                done = self._run_optimistically(session, runnable)
            else:
                if len(runnable) > 1 and not writes_are_serialized(session):
                    _lock_declared_rows(session, runnable)
                # A batch of one needs no savepoint: if it fails, the transaction is its own.
                done = _run_jobs(session, runnable, savepoints=len(runnable) > 1)
            batches = record_batches(session, [job.tx for job in done if job.tx is not None])
            for job, batch in zip(done, batches, strict=True):
                job.batch = batch
            if own_transaction:
                session.commit()
        except Exception as error:
            # The transaction failed (to begin, or to commit): nothing of the batch is written.
            if own_transaction:
                with contextlib.suppress(Exception):
                    session.rollback()
            for job in jobs:
                if job.error is None or job in done:
                    job.error = error
                job.batch = None
            if not own_transaction:
                raise
            return isinstance(error, sqlalchemy_exc.OperationalError) and is_database_busy(error)
        return False

    @staticmethod
    def _run_optimistically(session: Session, jobs: list[_Job]) -> list[_Job]:
        """SQLite: run the jobs without savepoints (SQLAlchemy's cost ~60 µs each, more than a
        message's own statements), which is enough while they succeed, or fail before
        writing anything (a 404, a 403: an ``ApiError`` with no row changed and nothing
        pending in the session). At the first failure that left writes behind, the whole
        transaction is rolled back and the jobs not yet failed run again, each in a savepoint.
        Nobody was answered yet, and a job is a function of the transaction: running it again
        is running it once."""
        raw = session.connection().connection.driver_connection
        assert raw is not None
        done: list[_Job] = []
        for job in jobs:
            tx = Transaction(session)
            changes_before = raw.total_changes
            try:
                job.result = job.action(tx, *job.args)
                session.flush()  # its ORM changes now, so that their failure is its own
            except Exception as error:
                job.error = error
                if (
                    isinstance(error, ApiError)
                    and session.is_active  # no flush failed (and rolled back) underneath it
                    and raw.total_changes == changes_before
                    and not (session.new or session.dirty or session.deleted)
                ):
                    continue
                session.rollback()
                session.connection()  # BEGIN IMMEDIATE again
                again = [j for j in jobs if j.error is None]
                for redone in again:
                    redone.result, redone.tx = None, None
                return _run_jobs(session, again, savepoints=True)
            job.tx = tx
            done.append(job)
        return done

    # Back on the event loop: publish, then answer, in commit order.

    def _hand_over(self, jobs: list[_Job]) -> None:
        assert self._settled is not None
        self._settled.put_nowait(jobs)

    async def _settle_in_order(self) -> None:
        assert self._settled is not None
        while True:
            jobs = await self._settled.get()
            if jobs is None:
                return
            batch = merge_batches([j.batch for j in jobs if j.batch is not None and not j.error])
            if batch is not None:
                try:
                    # This process's streams first, then the answers; the other processes
                    # get it from the publisher, in commit order, without the answers waiting
                    # on Redis.
                    self.hub.hand_on_committed(batch)
                except Exception:
                    logger.exception("handing a committed batch to the streams failed")
                assert self._to_publish is not None
                self._to_publish.put_nowait(batch)
            for job in jobs:
                if job.future.done():
                    continue  # the caller went away
                if job.error is not None:
                    job.future.set_exception(job.error)
                else:
                    job.future.set_result(None)

    async def _publish_in_order(self) -> None:
        assert self._to_publish is not None
        while True:
            batch = await self._to_publish.get()
            if batch is None:
                return
            await self.hub.publish_to_others(batch)
