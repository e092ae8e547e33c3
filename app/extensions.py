"""Every Flask extension of the platform, created in one place.

``db``, ``migrate`` and ``csrf`` are shared objects bound by ``init_app``; an
``AppBuilder`` keeps per-application state (views, menu), so each app gets its own.
"""
from __future__ import annotations

import os

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

db = get_sqla_class()()
migrate = Migrate()
csrf = CSRFProtect()

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


#: statements that change data (SQLite takes the write lock at the first of them)
_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writes() -> bool:
    """Whether the transaction about to begin may write: a request other than GET, HEAD
    or OPTIONS; a GET that said so with :func:`begin_writing`; a CLI command (imports,
    seeding, jobs). Reads alone begin deferred (they never wait)."""
    from flask import g, has_app_context, has_request_context, request

    if has_app_context() and g.get("_sqlite_writes"):
        return True
    if has_request_context():
        return request.method not in ("GET", "HEAD", "OPTIONS")
    import click

    return click.get_current_context(silent=True) is not None


def begin_writing() -> None:
    """Say that what follows in this app context writes: on SQLite the next transaction
    takes the write lock when it begins, and one that has only read so far is ended first
    (a transaction that read before another writer committed cannot write: SQLite refuses
    it at once, whatever the busy timeout). For a GET that writes (an export's audit
    entry) and for background jobs. PostgreSQL: nothing changes."""
    from flask import g

    g._sqlite_writes = True
    if db.engine.dialect.name != "sqlite":
        return
    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        connection = session.connection()
        if connection.info.get("sqlite_deferred") and not connection.info.get("sqlite_wrote"):
            session.commit()  # only reads so far: the next statement begins IMMEDIATE


def _tune_sqlite(engine, settings) -> None:
    """SQLite: enforce foreign keys, and let SQLAlchemy manage transactions itself so
    that SAVEPOINTs work (pysqlite's own BEGIN handling breaks them).

    Concurrent saves wait their turn instead of failing: WAL (readers never wait), a busy
    timeout (``SQLITE_BUSY_TIMEOUT_MS``), and transactions that may write begin with
    ``BEGIN IMMEDIATE`` — they take the write lock first, so they never hold a read
    snapshot that another writer has made stale (which SQLite refuses at once, whatever
    the timeout). A deferred transaction that writes after reading, inside a request, is
    logged — or refused where ``SQLITE_READ_THEN_WRITE`` is ``"raise"`` (the tests)."""
    if engine.dialect.name != "sqlite":
        return
    import logging

    timeout = int(settings.get("SQLITE_BUSY_TIMEOUT_MS", 15000))
    strict = settings.get("SQLITE_READ_THEN_WRITE") == "raise"
    log = logging.getLogger(__name__)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        # readers never wait for a writer (imports, several workers); file databases only
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={timeout:d}")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        immediate = _writes()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info.update(sqlite_deferred=not immediate, sqlite_read=False, sqlite_wrote=False)

    @event.listens_for(engine, "before_cursor_execute")
    def _watch(connection, _cursor, statement, _parameters, _context, _executemany):
        info = connection.info
        if not info.get("sqlite_deferred") or not connection.in_transaction():
            return
        verb = statement.lstrip()[:7].upper()
        if verb.startswith(_WRITE):
            from flask import has_request_context, request

            if info.get("sqlite_read") and not info.get("sqlite_wrote") and has_request_context():
                message = (f"{request.method} {request.path} writes after reading in a deferred SQLite "
                           "transaction: call app.extensions.begin_writing() before its first read")
                if strict:
                    raise RuntimeError(message)
                log.warning(message)
            info["sqlite_wrote"] = True
        elif verb.startswith("SELECT") or verb.startswith("WITH"):
            info["sqlite_read"] = True


def init_extensions(app: Flask) -> AppBuilder:
    """Bind every extension to ``app``; must run inside its app context.

    Alembic's env.py targets FAB's ``Model.metadata`` (our tables and the ``ab_*``
    tables), not Flask-SQLAlchemy's own metadata, which stays empty.
    """
    db.init_app(app)
    _tune_sqlite(db.engine, app.config)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    appbuilder = AppBuilder(update_perms=False)
    appbuilder.init_app(app, db.session)
    return appbuilder
