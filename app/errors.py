"""Error pages in the user's language: HTML for pages, JSON for the API."""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)


def _messages():
    return {
        400: gettext("The request could not be understood. Please go back and try again."),
        401: gettext("Please sign in first."),
        403: gettext("You do not have permission to open this page. Ask the security administrator if you need it."),
        404: gettext("The page or record does not exist, or it is outside your data scope."),
        405: gettext("This operation is not allowed here."),
        413: gettext("The uploaded file is too large."),
        500: gettext("Something went wrong on the server. Nothing was changed; please try again later."),
    }


def _respond(code: int, message: str | None = None):
    message = message or _messages().get(code) or _messages()[500]
    if request.path.startswith("/api/"):
        return jsonify(message=message), code
    try:
        appbuilder = current_app.appbuilder
        return render_template("error.html", code=code, message=message, appbuilder=appbuilder,
                               base_template=appbuilder.base_template), code
    except Exception:  # the page itself failed (e.g. the database is down)
        log.exception("error page failed")
        return (f"<!DOCTYPE html><html lang='zh-CN'><meta charset='utf-8'><title>{code}</title>"
                f"<p>{message}</p></html>"), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _respond(400, gettext("The form has expired or was sent from elsewhere. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error):
        if error.code is None or error.code < 400:
            return error.get_response()
        return _respond(error.code, getattr(error, "message", None))  # (app.inputs says what was refused)

    @app.errorhandler(Exception)
    def _unexpected(error):
        if app.config.get("TESTING"):
            raise error  # tests see the real exception, not a friendly page
        log.exception("unhandled error on %s", request.path)
        try:
            db.session.rollback()
        except Exception:
            pass
        return _respond(500)
