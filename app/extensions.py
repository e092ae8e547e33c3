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


def _tune_sqlite(engine) -> None:
    """SQLite: enforce foreign keys, and let SQLAlchemy manage transactions itself so
    that SAVEPOINTs work (pysqlite's own BEGIN handling breaks them)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        # readers never wait for a writer (imports, several workers); file databases only
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=10000")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


def init_extensions(app: Flask) -> AppBuilder:
    """Bind every extension to ``app``; must run inside its app context.

    Alembic's env.py targets FAB's ``Model.metadata`` (our tables and the ``ab_*``
    tables), not Flask-SQLAlchemy's own metadata, which stays empty.
    """
    db.init_app(app)
    _tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    appbuilder = AppBuilder(update_perms=False)
    appbuilder.init_app(app, db.session)
    return appbuilder
