"""Browser lane: Debian's Chromium driven by Playwright against a live server.

The server runs the real app (its own migrated and seeded SQLite file) in a thread.
No browser is ever downloaded: Playwright launches /usr/bin/chromium (``apt-get
install chromium``); without it these tests fail rather than skip.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps"]


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the live server's application (its database is the browser lane's own)
SERVER: dict = {}


@pytest.fixture(scope="session")
def live_server(app):
    from tests.conftest import SEEDED_COPY, copy_sqlite, make_app, prepare_database

    folder = tempfile.mkdtemp(prefix="hongse-browser-")
    path = os.path.join(folder, "browser.db")
    if os.path.exists(SEEDED_COPY):  # the SQLite lane seeded one already: same migrations, same seed
        copy_sqlite(SEEDED_COPY, path)
    # static files cached for an hour, as nginx serves them in production (deploy/nginx.conf):
    # a page does not ask again for its thirty scripts and styles
    server_app = make_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=True, SERVER_NAME=None,
                          SEND_FILE_MAX_AGE_DEFAULT=3600)
    if not os.path.exists(SEEDED_COPY):
        prepare_database(server_app)
    app = server_app
    SERVER["app"] = server_app
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def live_app(live_server):
    """The live server's application, to compute in SQL what its pages should show."""
    return SERVER["app"]


@pytest.fixture(scope="session")
def browser():
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium); "
        "the browser lane does not download browsers")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
