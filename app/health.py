"""``/health``: is this app server able to serve? For the load balancer and monitoring.

Answers 200 when the database answers (and Redis, when ``REDIS_URL`` is set), else 503,
with each check's result and time. It needs no sign-in, sets no cookie and tells nothing
about the data: no counts, no addresses, no versions.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from flask_babel import gettext
from sqlalchemy import text

from app.extensions import db

blueprint = Blueprint("health", __name__)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure to reach it is "not reachable"
        current_app.logger.warning("health check failed: %s", type(error).__name__)
        return {"ok": False, "ms": round((time.perf_counter() - started) * 1000, 1),
                "message": gettext("Not reachable.")}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    finally:
        db.session.remove()


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def checks() -> dict:
    """Each dependency this server needs, checked now."""
    result = {"database": _timed(_database)}
    if current_app.config.get("REDIS_URL"):
        result["redis"] = _timed(_redis)
    return result


@blueprint.route("/health")
def health():
    result = checks()
    ok = all(check["ok"] for check in result.values())
    response = jsonify(status="ok" if ok else "error", checks=result)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
