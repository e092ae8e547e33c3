"""Rate limits on what anyone may call without signing in: the public pages (``/public/``),
the residents' rating links and the Open311 API (``/open311/``). Per caller address, in
fixed windows; ``PUBLIC_RATE_LIMIT`` for reads (default 120 a minute) and
``PUBLIC_POST_RATE_LIMIT`` for submissions (default 20 a minute). The counts live in
Redis when ``REDIS_URL`` is set — shared by every worker process and server — and in
the process's memory otherwise. Over the limit: 429 with a Chinese message and
Retry-After.
"""
from __future__ import annotations

import time

from flask import current_app, jsonify, request
from flask_babel import gettext
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

_PREFIXES = ("/public/", "/open311/")


def _limiter(app):
    state = app.extensions.get("hongse_ratelimit")
    if state is None:
        url = app.config.get("REDIS_URL") or "memory://"
        storage = storage_from_string(url, key_prefix=app.config.get("RATE_LIMIT_PREFIX", "hongse-rl"))
        state = app.extensions["hongse_ratelimit"] = FixedWindowRateLimiter(storage)
    return state


def check():
    """Before every request: a public call over its limit is answered 429."""
    if not request.path.startswith(_PREFIXES) or not current_app.config.get("RATE_LIMIT_ENABLED", True):
        return None
    post = request.method not in ("GET", "HEAD", "OPTIONS")
    item = parse(current_app.config.get("PUBLIC_POST_RATE_LIMIT" if post else "PUBLIC_RATE_LIMIT")
                 or ("20/minute" if post else "120/minute"))
    limiter = _limiter(current_app)
    who = request.remote_addr or "unknown"
    if limiter.hit(item, "post" if post else "get", who):
        return None
    reset_at, _remaining = limiter.get_window_stats(item, "post" if post else "get", who)
    wait = max(1, int(reset_at - time.time()))
    message = gettext("Too many requests from this address. Please try again in %(n)s seconds.", n=wait)
    if request.path.startswith("/open311/"):
        response = jsonify([{"code": 429, "description": message}])
    elif request.accept_mimetypes.best == "application/json":
        response = jsonify(message=message)
    else:
        from flask import make_response

        from markupsafe import escape

        response = make_response(f"<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>429</title>"
                                 f"<p>{escape(message)}</p></html>")
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response
