"""The database: one engine per app, a session per app context, and the three transaction kinds.

Every view runs in one of three kinds of transaction, and says which:

- **write** (the default, no decorator): the first statement begins a write transaction
  (``BEGIN IMMEDIATE`` on SQLite), and the view commits once at the end.
- ``@read_only``: a page that never writes. On SQLite its reads share a snapshot beside
  the writer; on PostgreSQL each statement runs on its own, with no transaction.
- ``@read_then_write``: reads like ``@read_only``, then writes inside ``with writing():``,
  which holds SQLite's write lock for the block alone (the tick: two UPDATEs).

A flush outside ``with writing():`` in either of the last two raises, on both engines, so
a test sees the mistake that on SQLite would fail only when another writer came first.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

F = TypeVar("F", bound=Callable[..., Any])
SNAPSHOT = "tracker_snapshot"  # a session's and a connection's flag: reads only, for now


class Database:
    """The app's engine and a session per app context, closed when the context ends.

    What flask-sqlalchemy-lite does, less its async half: it registers an async teardown
    that Flask runs through asgiref, which starts a thread for every app context (about
    1 ms a request, most of what a bare route costs; pallets-eco/flask-sqlalchemy-lite#11).
    """

    def init_app(self, app: Flask) -> None:
        """Create the engine from ``DATABASE_URL``; a relative SQLite path is in instance/."""
        url = sa.make_url(app.config["DATABASE_URL"])
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not os.path.isabs(url.database):
                os.makedirs(app.instance_path, exist_ok=True)
                url = url.set(database=os.path.join(app.instance_path, url.database))
        # A server restart leaves the pool's connections dead: test each one as it is taken
        # (a round trip), so only requests during the outage fail, not the first after it.
        engine = sa.create_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine)
        app.extensions["database"] = sessionmaker(engine)
        app.teardown_appcontext(_close_session)

    @property
    def engine(self) -> sa.Engine:
        """Return the current app's engine."""
        engine: sa.Engine = current_app.extensions["database"].kw["bind"]
        return engine

    @property
    def session(self) -> Session:
        """Return the app context's session, made on first use."""
        if "db_session" not in g:
            g.db_session = current_app.extensions["database"]()
        session: Session = g.db_session
        return session


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


db = Database()


# -- transaction kinds --------------------------------------------------------------------

def read_only(view: F) -> F:
    """Mark a view that never writes. Put it above ``login_required``, which loads the user."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # On SQLite the page's reads share a snapshot (the BEGIN is in-process); a READ
        # COMMITTED transaction on PostgreSQL never gave them one, only two round trips.
        sqlite = db.engine.dialect.name == "sqlite"
        _begin_snapshot({SNAPSHOT: True} if sqlite else {"isolation_level": "AUTOCOMMIT"})
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def read_then_write(view: F) -> F:
    """Mark a view that reads, then writes only inside ``with writing():``. Put it above
    ``login_required``."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # PostgreSQL's reads take no lock: its transaction stays the ordinary one.
        _begin_snapshot({SNAPSHOT: True} if db.engine.dialect.name == "sqlite" else {})
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _begin_snapshot(options: dict[str, Any]) -> None:
    db.session.connection(execution_options=options)
    db.session.info[SNAPSHOT] = True


@contextmanager
def writing() -> Iterator[None]:
    """Run the block as the request's write transaction and commit it at the end.

    On SQLite the block leaves the snapshot the view read in and queues for the write
    lock, which it holds until the commit. What the view loaded before the block is as of
    that snapshot: load inside the block what the write depends on.
    """
    session = db.session
    snapshot = session.info.get(SNAPSHOT, False)
    session.info[SNAPSHOT] = False
    try:
        if snapshot and session.in_transaction():
            connection = session.connection()
            if connection.get_execution_options().get(SNAPSHOT):
                connection.exec_driver_sql("COMMIT")  # the snapshot; nothing was written
                _begin_write(connection)
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[SNAPSHOT] = snapshot


@sa.event.listens_for(Session, "before_flush")
def _no_writes_in_a_snapshot(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(SNAPSHOT):
        raise RuntimeError("a write in a @read_only view, or outside `with writing():`")


def read_one(engine: sa.Engine, statement: sa.Executable, **params: Any) -> sa.Row[Any] | None:
    """Run one read-only statement on its own connection, with no transaction; return its
    first row."""
    sqlite = engine.dialect.name == "sqlite"
    # On SQLite _sqlite_begin sees the option and issues no BEGIN (the pysqlite dialect's
    # AUTOCOMMIT would hand transactions back to the driver when the pool resets it).
    options = {"autocommit_read": True} if sqlite else {"isolation_level": "AUTOCOMMIT"}
    with engine.connect().execution_options(**options) as connection:
        return connection.execute(statement, params).first()


# -- SQLite ---------------------------------------------------------------------------------

class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue for the write lock in the kernel.

    SQLite's busy handler polls a taken lock with sleeps of 1, 2, 5, 10, 15 ms..., so under
    steady writes a waiter keeps missing the moment the lock is free while others cut in:
    waits of 30 ms and more behind transactions of 1 ms. Writers here first take an flock
    on a file beside the database: the kernel wakes a waiter the moment the holder
    commits, and BEGIN IMMEDIATE then seldom waits. It is only a queue: SQLite's lock
    stays the authority, and a process that does not queue (the sqlite3 shell, a backup)
    still waits by the busy timeout.
    """

    queue: int | None = None  # the lock file's descriptor; None for an in-memory database
    queue_path = ""
    queued = False  # this connection holds the queue's flock

    def open_queue(self) -> None:
        """Open the lock file beside the database file, if there is one."""
        path = self.execute("PRAGMA database_list").fetchone()[2]
        if path:
            self.queue_path = f"{path}-queue"
            try:
                self.queue = os.open(self.queue_path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError:  # a read-only directory: writers wait by the busy timeout alone
                self.queue = None

    def enter_queue(self) -> None:
        """Wait until this connection is the writer of this process and of every other."""
        # A thread that already writes through another connection would wait for itself
        # forever: it skips the queue and fails after the busy timeout, as without one.
        if self.queue is None or _queue_holders.get(self.queue_path) == threading.get_ident():
            return
        fcntl.flock(self.queue, fcntl.LOCK_EX)  # releases the GIL while it waits
        _queue_holders[self.queue_path] = threading.get_ident()
        self.queued = True

    def leave_queue(self) -> None:
        """Let the next writer in, once this transaction is over."""
        if self.queued:
            self.queued = False
            del _queue_holders[self.queue_path]
            fcntl.flock(self.queue, fcntl.LOCK_UN)  # type: ignore[arg-type]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()
            if self.queue is not None:
                os.close(self.queue)
                self.queue = None


# Per lock file, the thread of this process whose connection holds its flock.
_queue_holders: dict[str, int] = {}


def _tune_sqlite(engine: sa.Engine) -> None:
    if engine.dialect.driver == "pysqlite":
        sa.event.listen(engine, "do_connect", _sqlite_factory)
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)


def _sqlite_factory(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    cparams["factory"] = QueuedConnection


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a writer wait
    # for the lock instead of failing with "database is locked"; SQLite leaves foreign
    # keys off unless asked. Autocommit mode hands transaction control to _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    if isinstance(dbapi_connection, QueuedConnection):
        dbapi_connection.open_queue()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is
    # locked" when another writer committed in between (the busy timeout cannot help);
    # taking the write lock up front makes it wait its turn instead.
    options = connection.get_execution_options()
    if options.get("autocommit_read"):
        return  # one SELECT at a time, each atomic on its own, beside the writer (WAL)
    if options.get(SNAPSHOT):
        connection.exec_driver_sql("BEGIN")  # a snapshot beside the writer
    else:
        _begin_write(connection)


def _begin_write(connection: sa.Connection) -> None:
    dbapi_connection = connection.connection.dbapi_connection
    if not isinstance(dbapi_connection, QueuedConnection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    dbapi_connection.enter_queue()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        dbapi_connection.leave_queue()
        raise
