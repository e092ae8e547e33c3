"""The production setup: the health endpoint, JSON logs with the request id, and the
deployment's own gunicorn settings (deploy/gunicorn.conf.py) serving with two workers
against PostgreSQL and Redis."""
from __future__ import annotations

import http.cookiejar
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.conftest import is_postgres
from tests.test_two_workers import _at_once, _free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS = "redis://127.0.0.1:6379/14"


# ----------------------------------------------------------------------------- in process

def test_health_needs_no_sign_in_and_sets_no_cookie(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["checks"]["database"]["ok"] is True
    assert "redis" not in response.json["checks"]  # (no REDIS_URL in the tests)
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_health_checks_redis_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.json["checks"]["redis"]["ok"] is True
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{port}/0")
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json["status"] == "error"
    assert answer.json["checks"]["redis"] == {"ok": False, "ms": answer.json["checks"]["redis"]["ms"],
                                              "message": "无法连接。"}
    assert answer.json["checks"]["database"]["ok"] is True


def test_health_reports_an_unreachable_database(app, client, monkeypatch):
    from sqlalchemy import create_engine

    from app.extensions import db

    with app.app_context():
        engines = db._app_engines[app]
        unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                    connect_args={"connect_timeout": 2})
        monkeypatch.setitem(engines, None, unreachable)
        db.session.remove()
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json["checks"]["database"]["ok"] is False
    assert "nobody" not in answer.get_data(as_text=True)  # nothing about the connection leaks


def test_json_log_lines_carry_the_request_id(app):
    """(The access lines of a production server are checked with gunicorn, below.)"""
    from app import logs

    stream = io.StringIO()
    out = logs.handler("json")
    out.setStream(stream)
    logging.getLogger().addHandler(out)
    try:
        app.logger.warning("a warning outside a request")
        with app.test_request_context("/x", headers={"X-Request-ID": "req-12345678"}):
            app.preprocess_request()
            app.logger.warning("inside %s", "a request")
    finally:
        logging.getLogger().removeHandler(out)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["message"], e["request_id"]) for e in lines] == [
        ("a warning outside a request", "-"), ("inside a request", "req-12345678")]
    assert all(e["level"] == "WARNING" and e["pid"] == os.getpid() and "+" in e["time"] for e in lines)


# ----------------------------------------------------------------------------- gunicorn

def _open(opener, url, data=None, headers=None):
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data else None,
                                     headers={"Connection": "close", **(headers or {})})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace"), \
                response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace"), url


@pytest.fixture
def production_server(app, no_isolation):
    """gunicorn as deploy/hongse.service starts it (deploy/gunicorn.conf.py), two workers,
    PostgreSQL (the lane's database) and Redis."""
    import redis

    if not is_postgres(app):
        pytest.skip("the production setup runs on PostgreSQL: tested in the PostgreSQL lane")
    redis.Redis.from_url(REDIS).ping()  # the machine's Redis (a missing one fails the test)
    port = _free_port()
    errors = os.path.join(tempfile.mkdtemp(prefix="hongse-prod-"), "stderr.log")
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": uuid.uuid4().hex,
           "APP_ENV": "production", "DEMO_MODE": "true", "REDIS_URL": REDIS, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", "RATE_LIMIT_PREFIX": f"prod-{uuid.uuid4().hex[:8]}"}
    env.pop("LOG_FORMAT", None)
    with open(errors, "w") as err:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "run:app"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # until both workers answer
            _at_once(4, lambda: _open(urllib.request.build_opener(), f"{base}/health"))
            if len({e["pid"] for e in _log(errors) if e.get("path") == "/health" and e.get("status") == 200}) == 2:
                break
            assert server.poll() is None, open(errors).read()[-3000:]
            time.sleep(0.5)
        else:
            raise AssertionError("gunicorn's two workers did not both answer: " + open(errors).read()[-3000:])
        yield base, errors
    finally:
        server.terminate()
        server.wait(timeout=30)


def _log(path: str) -> list[dict]:
    time.sleep(0.2)  # (the access line is written after the response)
    with open(path, encoding="utf-8") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON (else this fails)


def test_gunicorn_two_workers_postgres_redis_health_login_list(production_server):
    base, errors = production_server
    anonymous = urllib.request.build_opener()
    status, headers, body, _ = _open(anonymous, f"{base}/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok"
    assert health["checks"]["database"]["ok"] and health["checks"]["redis"]["ok"]

    # sign in through the page, as a person does (CSRF on, production settings)
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, _, page, _ = _open(browser, f"{base}/login/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    status, _, page, landed = _open(browser, f"{base}/login/", {"csrf_token": token, "username": "worker",
                                                                  "password": "Hongse@2026"})
    assert status == 200 and not landed.endswith("/login/"), landed
    assert "退出" in page or "注销" in page
    mine = "deploy-check-0001"
    status, headers, page, _ = _open(browser, f"{base}/person/list/", headers={"X-Request-ID": mine})
    assert status == 200 and headers["X-Request-ID"] == mine
    assert "居民" in page and "<table" in page

    entries = _log(errors)
    access = [e for e in entries if e.get("logger") == "hongse.access"]
    assert {e["path"] for e in access} >= {"/health", "/login/", "/person/list/"}
    listed = [e for e in access if e["path"] == "/person/list/"]
    assert [(e["request_id"], e["status"], e["method"]) for e in listed] == [(mine, 200, "GET")]
    assert listed[0]["user_id"] is not None and listed[0]["ms"] >= 0
    assert all(re.fullmatch(r"[0-9a-f]{32}|deploy-check-0001", e["request_id"]) for e in access)
    assert len({e["pid"] for e in access}) == 2  # both workers served
    booted = [e for e in entries if e.get("logger") == "gunicorn.error"]
    assert any("Booting worker" in e["message"] for e in booted)  # gunicorn's own lines are JSON too
    assert "Hongse@2026" not in open(errors, encoding="utf-8").read()
