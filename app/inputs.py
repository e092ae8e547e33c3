"""The guard every request passes first: input no part of the app can store or search is
refused with a 4xx and a message, before any view, API or form sees it.

* a body larger than ``MAX_CONTENT_LENGTH``: 413 (read here, not inside a view: FAB's
  API wrapper turned the late 413 into a 500);
* a NUL byte (PostgreSQL text cannot hold one) or a lone surrogate (no encoding can
  write one) in a query argument, a form field or a JSON string, or a JSON key: 400
  naming the field; a NUL byte in the path: 404;
* a JSON body nested deeper than :data:`MAX_JSON_DEPTH` (the parser's recursion gave
  out at ~1,000 levels): 400;
* ids in URLs are ``int`` converters bounded to the database's INTEGER
  (:class:`BoundedInt`): ``/public/policy/2147483648`` matches no route, a 404.

The errors are HTTP exceptions carrying their message (``.message``): the app's error
handler (app.errors) answers them as a page or JSON, a blueprint with its own error format
(Open311) answers them in that format.
"""
from __future__ import annotations

import json

from flask import Flask, current_app, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

#: the largest id (and number) a URL may carry: the database's INTEGER
MAX_URL_INT = 2**31 - 1
#: how deeply a JSON body may nest (no API takes more than a list of ids in an object)
MAX_JSON_DEPTH = 32


class BadInput(BadRequest):
    """400 with a message for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooLarge(RequestEntityTooLarge):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoSuchPath(NotFound):
    def __init__(self, message: str | None = None):
        super().__init__(message)
        self.message = message


class BoundedInt(IntegerConverter):
    """``<int:…>`` with an upper bound: a larger number matches no route (404) instead of
    reaching the database as an out-of-range parameter (a 500 on PostgreSQL)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_URL_INT if max is None else max, signed=signed)


def bad_character(text: str) -> bool:
    """A NUL byte or a lone surrogate."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse(field: str):
    raise BadInput(gettext("“%(field)s” contains a character that is not allowed (a NUL byte or an invalid "
                           "Unicode character). Remove it and try again.", field=field[:60]))


def _check_pairs(pairs) -> None:
    for key, value in pairs:
        if bad_character(key):
            _refuse(key.encode("utf-8", "replace").decode("utf-8", "replace").replace("\x00", ""))
        if isinstance(value, str) and bad_character(value):
            _refuse(key)


def _check_json(data) -> None:
    """Depth and strings of a parsed JSON body, without recursion."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadInput(gettext("The request body is nested too deeply."))
        if isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else str(key)
                if bad_character(key):
                    _refuse(path or "JSON")
                stack.append((child, child_path, depth + 1))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                stack.append((child, f"{path}[{index}]", depth + 1))
        elif isinstance(value, str) and bad_character(value):
            _refuse(path or "JSON")


def guard():
    """Before every request (installed first)."""
    if request.routing_exception is not None:
        return None  # no such route: its 404 / 405 comes next
    if "\x00" in request.path:
        raise NoSuchPath()
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        raise TooLarge(gettext("The request is too large: at most %(mb)d MB can be sent at once.",
                               mb=limit // (1024 * 1024)))
    try:
        _check_pairs(request.args.items(multi=True))
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if request.is_json:
                raw = request.get_data(cache=True)
                try:
                    data = json.loads(raw)
                except RecursionError:
                    raise BadInput(gettext("The request body is nested too deeply.")) from None
                except ValueError:
                    data = None  # not JSON: the view answers that
                _check_json(data)
            elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                _check_pairs(request.form.items(multi=True))
    except RequestEntityTooLarge:
        raise TooLarge(gettext("The request is too large: at most %(mb)d MB can be sent at once.",
                               mb=(limit or 0) // (1024 * 1024))) from None
    return None


def install(app: Flask) -> None:
    """The guard runs before every other ``before_request`` function."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard)


def install_converters(app: Flask) -> None:
    """Before any route is added: ``<int:…>`` is bounded app-wide."""
    app.url_map.converters["int"] = BoundedInt
