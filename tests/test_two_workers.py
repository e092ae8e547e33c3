"""Two app processes share the lockout and the rate limits: gunicorn with two workers
against one database (the lane's: a copy of the seeded SQLite file, or PostgreSQL) and
the machine's Redis. The access log names the worker (pid) that served each request:
both serve, and the counts hold across them."""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, data=None, headers=None):
    """One request on its own connection (so the two workers take turns)."""
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Connection": "close", **(headers or {}),
                                                              **({"Content-Type": "application/json"}
                                                                 if body else {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


@contextlib.contextmanager
def gunicorn(app, settings: dict, threads: int = 1):
    """gunicorn with two workers (and ``threads`` each) serving the lane's database — a copy
    of the seeded SQLite file, or PostgreSQL — with ``settings`` in its environment, once
    both workers answer: (base URL, access log, database URL)."""
    from tests.conftest import SEEDED_COPY, copy_sqlite

    folder = tempfile.mkdtemp(prefix="hongse-two-")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        path = os.path.join(folder, "two.db")
        copy_sqlite(SEEDED_COPY, path)
        url = f"sqlite:///{path}"
    port = _free_port()
    log = os.path.join(folder, "access.log")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex, "APP_ENV": "production", **settings}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", str(threads), "--bind",
         f"127.0.0.1:{port}", "--access-logfile", log, "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "run:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # until both workers have booted and answered
            _at_once(4, lambda: _call(f"{base}/favicon.ico"))
            if os.path.exists(log) and len(set(_served_by(log, "/favicon.ico"))) == 2:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("gunicorn's two workers did not both start")
        yield base, log, url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def two_workers(app, no_isolation):
    import redis

    redis_url = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(redis_url).ping()  # the machine's Redis (a missing one fails the test)
    with gunicorn(app, {"REDIS_URL": redis_url, "RATE_LIMIT_PREFIX": f"two-{uuid.uuid4().hex[:8]}",
                        "PUBLIC_RATE_LIMIT": "6/minute", "LOGIN_MAX_FAILURES": "4"}) as served:
        yield served


def _served_by(log: str, path: str) -> list[str]:
    time.sleep(0.3)  # the access log is written after the response
    with open(log, encoding="utf-8") as fh:
        return [line.split()[0] for line in fh if f" {path} " in line]


def _at_once(n, call):
    """``n`` calls started together (so that both workers are busy), in order of start."""
    import threading

    results, gate = [None] * n, threading.Barrier(n)

    def run(i):
        gate.wait()
        try:
            results[i] = call()
        except OSError as error:  # (the server not listening yet, while it starts)
            results[i] = (None, str(error))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_lockout_and_rate_limits_are_shared_by_two_workers(two_workers):
    from sqlalchemy import create_engine, text

    base, log, database = two_workers
    # rate limit: 6 a minute for this address, whichever worker answers
    answers = [status for status, _ in _at_once(10, lambda: _call(f"{base}/public/stars/"))]
    assert sorted(answers) == [200] * 6 + [429] * 4, answers
    pids = _served_by(log, "/public/stars/")
    assert len(pids) == 10 and len(set(pids)) == 2, pids  # both workers served
    # lockout: 4 failures of one name lock it, whichever worker counted them
    name = f"twoproc-{uuid.uuid4().hex[:6]}"
    messages = [json.loads(m).get("message", "") for _, m in _at_once(8, lambda: _call(f"{base}/api/v1/security/login",
                                                         {"username": name, "password": "wrong",
                                                          "provider": "db"}))]
    wrong, locked = (sum(word in m for m in messages) for word in ("用户名或密码错误", "账户已锁定"))
    # the 4th failure locks; an attempt the other worker had already begun may still be
    # answered "wrong" (its check came before the lock): at most one per other worker
    assert wrong + locked == 8 and 3 <= wrong <= 4 and locked >= 4, messages
    pids = _served_by(log, "/api/v1/security/login")
    assert len(set(pids)) == 2, pids
    # and afterwards, one at a time, still locked on both
    for _ in range(4):
        answer = _call(f"{base}/api/v1/security/login", {"username": name, "password": "wrong", "provider": "db"})
        assert "账户已锁定" in json.loads(answer[1])["message"]
    engine = create_engine(database)
    with engine.connect() as conn:
        results = [r for (r,) in conn.execute(text("SELECT result FROM login_log WHERE username = :n"), {"n": name})]
    engine.dispose()
    # (the failure that locks is a bad password too, answered "locked")
    assert results.count("lock") == 1 and results.count("bad_password") == wrong + 1, results
