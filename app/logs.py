"""Logs for operations: one JSON object per line, each carrying the request id.

With ``LOG_FORMAT = "json"`` (the default when ``APP_ENV`` is production) every record of
the app — and of gunicorn, with ``deploy/gunicorn.conf.py`` — is written to standard error
as one JSON line: time (ISO 8601 with offset), level, logger, message and, inside a
request, its ``request_id`` (the one answered in ``X-Request-ID`` and written to the
操作日志). With ``ACCESS_LOG`` the app writes one line per request (method, path, status,
time, user id, client address), so the access log carries the request id too.
Query strings are not logged: they can hold what a user searched for.
"""
from __future__ import annotations

import datetime
import json
import logging
import sys
import time

from flask import Flask, g, has_request_context, request

ACCESS = logging.getLogger("hongse.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or "-",
            "pid": record.process,
        }
        for key, value in vars(record).items():  # the extra= fields
            if key not in self._STANDARD and key not in entry:
                entry[key] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def handler(fmt: str) -> logging.Handler:
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    out.addFilter(RequestIdFilter())
    return out


def configure(app: Flask) -> None:
    """Log format and the access log, from the settings (see config.py)."""
    fmt = app.config.get("LOG_FORMAT") or ("json" if app.config.get("APP_ENV") == "production" else "")
    if fmt:
        root = logging.getLogger()
        for old in [h for h in root.handlers if getattr(h, "_hongse", False)]:
            root.removeHandler(old)
        if not (fmt == "json" and any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)):
            new = handler(fmt)  # (unless gunicorn's settings already write JSON lines)
            new._hongse = True
            root.addHandler(new)
        root.setLevel(app.config.get("LOG_LEVEL") or "INFO")
        app.logger.handlers.clear()  # (Flask's default handler would write each record twice)
        app.logger.propagate = True
    access = app.config.get("ACCESS_LOG")
    if access is None or access == "":
        access = app.config.get("APP_ENV") == "production"
    if str(access).lower() in ("1", "true", "yes", "on"):
        _install_access_log(app)


def _install_access_log(app: Flask) -> None:
    @app.before_request
    def _started():
        g.started_at = time.perf_counter()

    @app.after_request
    def _access(response):
        started = g.get("started_at")
        from flask_login import current_user

        user = current_user.get_id() if current_user and current_user.is_authenticated else None
        ACCESS.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": user, "remote_addr": request.remote_addr, "bytes": response.calculate_content_length()})
        return response
