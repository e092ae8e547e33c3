"""Test lanes and fixtures.

* SQLite lane (default): a migrated, seeded SQLite file in a temp directory.
* PostgreSQL lane: ``--db=postgresql+psycopg://postgres@127.0.0.1:5432/test`` (the
  schema is dropped and rebuilt by the migrations).
* Browser lane: tests marked ``browser`` (see tests/browser/).

The database is migrated and seeded with the demo once per run; every test runs
inside a transaction that is rolled back afterwards (application commits become
savepoint releases), so tests see the demo data and never each other's.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

PASSWORD = "Hongse@2026"


def pytest_addoption(parser):
    parser.addoption("--db", action="store", default=None,
                     help="database URL of the lane (default: a temporary SQLite file)")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's Chromium with Playwright")


def pytest_report_header(config):
    return f"database lane: {_db_url(config).split('@')[-1]}"


_TMP = tempfile.mkdtemp(prefix="hongse-test-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
#: the migrated and seeded SQLite database, as it was before any test ran
SEEDED_COPY = os.path.join(_TMP, "seeded.db")


def _db_url(config) -> str:
    return config.getoption("--db") or f"sqlite:///{os.path.join(_TMP, 'test.db')}"


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def _reset_database(url: str) -> None:
    """An empty database: the migrations start from nothing."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if os.path.exists(path):
            os.remove(path)
        return
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def copy_sqlite(source: str, target: str) -> None:
    """A consistent copy of a SQLite database in WAL mode (a file copy would miss the
    transactions still in the -wal file: the newest seeded rows)."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class FreshContextClient(FlaskClient):
    """Each request gets its own application context (and so its own ``g`` and
    database session), as in production, even while a test holds a context."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(url: str, **overrides):
    from app import create_app
    from config import TestingConfig

    settings = dict(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False, SERVER_NAME="localhost",
                    JOBS_FOLDER=os.path.join(_TMP, "jobs"))  # parallel lanes never share a job file
    if url.startswith("postgresql"):  # room for the concurrency tests' simultaneous sessions
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 25}
    settings.update(overrides)
    application = create_app(TestingConfig, **settings)
    application.test_client_class = FreshContextClient
    return application


def prepare_database(application) -> None:
    """Migrate an empty database and load the reference data and the demo."""
    with application.app_context():
        from flask_migrate import upgrade

        from app import policy
        from app.extensions import MIGRATIONS_DIR, db
        from seed import base, demo

        upgrade(directory=MIGRATIONS_DIR)
        base.load()
        policy.sync(application.appbuilder, echo=lambda *_: None)
        demo.load()
        db.session.remove()


@pytest.fixture(scope="session")
def app(pytestconfig):
    url = _db_url(pytestconfig)
    _reset_database(url)
    application = make_app(url)
    prepare_database(application)
    if url.startswith("sqlite:///"):  # the browser lane's server starts from a copy of it
        copy_sqlite(url[len("sqlite:///"):], SEEDED_COPY)
    return application


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """Run the test in a transaction that is rolled back afterwards."""
    if request.node.get_closest_marker("browser") or "no_isolation" in request.fixturenames:
        yield
        return
    from app.extensions import db

    with app.app_context():
        engines = db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        # one transaction serves the whole test (its requests use savepoints): no other
        # writer can make its snapshot stale, so the read-then-write check leaves it alone
        connection.info["sqlite_deferred"] = False
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
            engines[None] = engine
            if outer.is_active:
                outer.rollback()
            connection.close()
            db.session.configure(join_transaction_mode="conditional_savepoint")


@pytest.fixture
def no_isolation():
    """Marker fixture: the test commits for real (and cleans up after itself)."""


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username: str, password: str = PASSWORD):
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302 and "/login" not in response.headers["Location"], \
        f"login of {username} failed"
    return client


@pytest.fixture
def as_user(app):
    """as_user("worker") → a test client signed in as that demo user."""
    def make(username: str):
        return login(app.test_client(), username)
    return make


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    #: transaction control is not a query (and differs between the test harness's
    #: savepoints, SQLite's explicit BEGIN and PostgreSQL's implicit one)
    _CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not self._CONTROL.match(statement):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def data_statements(self) -> list[str]:
        """Statements that are not about the user, the roles or the permissions, nor the
        menu bar's unread-notifications count (one a page): the page's own data."""
        auth = re.compile(r"\bab_(user|role|permission|view_menu|group|permission_view)\b|\bFROM notification\b",
                          re.I)
        return [s for s in self.statements if not auth.search(s.split("WHERE")[0])]


@pytest.fixture
def count_queries(app):
    from app.extensions import db

    @contextlib.contextmanager
    def counting():
        counter = QueryCounter()
        with app.app_context():
            engine = db._app_engines[app][None]
        target = engine.engine if hasattr(engine, "engine") else engine
        event.listen(target, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(target, "before_cursor_execute", counter)
    return counting
