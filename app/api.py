"""REST details shared by every generated API.

* Relations are written by id only (:class:`RelatedId`): a nested object in a request
  can never create a row (marshmallow-sqlalchemy's ``Related`` would).
* Column fields only convert types; what is required, how long a text may be and
  which values are allowed is decided once, in :mod:`app.domain`, for forms and API.
* Every JSON answer of the framework speaks the user's language
  (:func:`install`): marshmallow's and FAB's English messages are translated.
"""
from __future__ import annotations

import re

from flask import current_app, jsonify
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_babel import gettext, lazy_gettext as _l
from marshmallow import ValidationError, fields

from app import passwords, sensitive, sessions
from app.clock import ZONE
from app.extensions import db
from app.richtext import sanitize

MAX_ID = 2**31 - 1


def bounded_int(raw, default=None, *, low: int = 0, high: int = MAX_ID):
    """``raw`` as an int within [low, high], else ``default`` (for ids, pages, sizes)."""
    if isinstance(raw, bool):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return default
    return value if low <= value <= high else default


class RelatedId(fields.Field):
    """A relation given by the id of an existing row (or a list of ids)."""

    def __init__(self, model, many: bool = False, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.model = model
        self.many = many

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return [] if self.many else None
        return [v.id for v in value] if self.many else value.id

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None and self.many:  # (marshmallow passes a null straight through)
            return []
        return super().deserialize(value, attr, data, **kwargs)

    def _load_one(self, raw):
        pk = bounded_int(raw, low=1) if isinstance(raw, (int, str)) else None
        if pk is None:
            raise ValidationError(gettext("Give the id (a number) of an existing record."))
        obj = db.session.get(self.model, pk)
        if obj is None:
            raise ValidationError(gettext("There is no record with id %(id)s.", id=pk))
        return obj

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None:
            return [] if self.many else None
        if self.many:
            if not isinstance(value, list):
                raise ValidationError(gettext("Give a list of ids."))
            return [self._load_one(v) for v in value]
        return self._load_one(value)


class LocalDateTime(fields.DateTime):
    """A date and time given with an offset ("…T08:30:00+00:00") is stored as the local
    (Beijing) time it names: the database holds naive local times. A time without an offset
    is read as Beijing time; answers always carry the offset ("…T08:30:00+08:00", RFC 3339
    as the OpenAPI document promises)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=ZONE)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result is not None and result.tzinfo is not None:
            result = result.astimezone(ZONE).replace(tzinfo=None)
        return result


class MaskedField(fields.Field):
    """A sensitive column: written as given, read masked (app/sensitive.py)."""

    def __init__(self, inner: fields.Field, column: str, **kwargs):
        super().__init__(allow_none=True, **kwargs)
        self.inner = inner
        self.column = column

    def _serialize(self, value, attr, obj, **kwargs):
        return sensitive.shown(obj, self.column, self.inner._serialize(value, attr, obj, **kwargs))

    def _deserialize(self, value, attr, data, **kwargs):
        return self.inner.deserialize(value, attr, data, **kwargs)


class RichText(fields.String):
    """A rich-text column (app.richtext): answered sanitized, so a row stored under older
    rules reads as clean as a new one (what is written is sanitized in the save path)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else sanitize(super()._serialize(value, attr, obj, **kwargs))


class SchemaConverter(Model2SchemaConverter):
    """FAB's converter, with relations by id, sensitive columns masked on reads, and no
    rules of its own on writes."""

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        if nested:
            field = super()._column2relation(datamodel, column, nested, parent_schema_name)
            if not field.many:  # an unset relation reads as null
                field.allow_none = True
            return field
        prop = datamodel.list_properties[column.name]
        return RelatedId(prop.mapper.class_, many=prop.uselist)

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested, parent_schema_name)
        if type(field) is fields.DateTime:
            field.__class__ = LocalDateTime
        elif isinstance(field, fields.Decimal):  # answered as a string ("12.50"): exact, not a float
            field.metadata.update(type="string", format="decimal", pattern=r"^-?\d+(\.\d+)?$")
        if not nested and not datamodel.is_relation(column.name):
            field.required = False
            field.allow_none = True
            field.validate = []
            field.validators = []
        if type(field) is fields.String and datamodel.list_columns.get(column.name) is not None \
                and datamodel.list_columns[column.name].info.get("rich"):
            field.__class__ = RichText
        if datamodel.list_columns.get(column.name) is not None \
                and datamodel.list_columns[column.name].info.get("sensitive"):
            return MaskedField(field, column.name)
        return field


# ----------------------------------------------------------------------------- messages

_MARSHMALLOW = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field may not be empty."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "Number too large.": _l("The number is out of range."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid date.": _l("Enter a date such as 2024-03-01."),
    "Not a valid datetime.": _l("Enter a date and time such as 2024-03-01T08:30:00."),
    "Not a valid list.": _l("Give a list."),
    "Unknown field.": _l("This field does not exist here."),
    "Invalid input type.": _l("The request body must be a JSON object."),
    "Invalid value.": _l("Invalid value."),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def translate(messages):
    """marshmallow's English messages (any nesting) in the user's language."""
    if isinstance(messages, dict):
        return {k: translate(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate(m) for m in messages]
    text = str(messages)
    if _CJK.search(text):
        return text
    known = _MARSHMALLOW.get(text)
    return str(known) if known is not None else gettext("Invalid value.")


def _response(code: int, message):
    response = jsonify(message=message)
    response.status_code = code
    return response


def _unauthorized() -> str:
    """Why a request is not signed in: a refused sign-in says why."""
    from flask import g, request

    if g.get("login_refusal"):
        return g.login_refusal
    if request.path == "/api/v1/security/login":
        return gettext("Wrong user name or password. Please try again.")
    return gettext("Please sign in first.")


def _refused():
    """A request without a usable sign-in: 401, or 403 for an account that must change
    its password first (its sign-in, token or key is right, but refused until then)."""
    from flask import g

    if g.get("must_change_password_first"):
        return _response(403, passwords.api_refusal())
    return _response(401, _unauthorized())


def check_rison() -> None:
    """Before every API request: a ``q`` argument that is not rison (or holds a number the
    parser cannot read) is a 400 with a message, not a server error (FAB catches only the
    parser's own exception)."""
    from flask import request

    if not request.path.startswith("/api/") or "q" not in request.args or "/related/" in request.path:
        return None  # (a relation picker's q is the text typed, not rison)
    import prison

    try:
        prison.loads(request.args["q"])
    except Exception:
        return _response(400, gettext("The request parameters are not valid."))
    return None


_STANDARD_ANSWERS = ("400", "401", "403", "500")


def document(spec: dict) -> dict:
    """Make the OpenAPI document say what the API answers (FAB's generated one does not):
    every protected operation may answer 400, 401, 403 and 500, one on a record also 404, a
    write also 422 whose message is the fields' messages; list answers' ``ids`` are
    integers; ``_info`` lists its columns."""
    responses = spec.get("components", {}).get("responses", {})
    if "422" in responses:
        responses["422"]["content"]["application/json"]["schema"]["properties"]["message"] = {
            "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = operation["responses"]
            needed = list(_STANDARD_ANSWERS)
            if "{" in path:
                needed.append("404")
            if method in ("post", "put"):
                needed.append("422")
            for code in needed:
                if code in responses:
                    answers.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            ok = answers.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
            properties = ok.get("properties", {})
            if properties.get("ids", {}).get("type") == "array":
                properties["ids"]["items"] = {"type": "integer"}
            for name in ("add_columns", "edit_columns"):
                if path.endswith("/_info") and name in properties:
                    properties[name] = {"type": "array", "items": {"type": "object"}}
    return spec


def _install_document() -> None:
    from apispec import APISpec
    from flask_appbuilder.api.manager import OpenApi

    class Spec(APISpec):
        def to_dict(self):
            return document(super().to_dict())

    create = OpenApi._create_api_spec

    def _create(version):
        spec = create(version)
        spec.__class__ = Spec
        return spec

    OpenApi._create_api_spec = staticmethod(_create)


def install() -> None:
    """Every framework API (ours, FAB's security and OpenAPI ones) answers in the
    user's language; the English originals are not shown."""
    from flask_appbuilder.api import BaseApi

    BaseApi.response_400 = lambda self, message=None: _response(
        400, gettext("The request parameters are not valid.") if not message or not _CJK.search(str(message))
        else str(message))
    BaseApi.response_401 = lambda self: _refused()
    BaseApi.response_403 = lambda self: _response(403, gettext(
        "You do not have permission to open this page. Ask the security administrator if you need it."))
    BaseApi.response_404 = lambda self: _response(404, gettext(
        "The page or record does not exist, or it is outside your data scope."))
    BaseApi.response_422 = lambda self, message=None: _response(422, translate(message or {}))
    BaseApi.response_500 = lambda self, message=None: _response(500, gettext(
        "Something went wrong on the server. Nothing was changed; please try again later."))
    _install_document()


def _token_claims(identity) -> dict:
    """Every sign-in token carries the account's session epoch: a password change ends
    the tokens given before it, as it ends the page sessions (app.sessions)."""
    users = current_app.appbuilder.sm.user_model
    user = db.session.get(users, bounded_int(identity, low=1)) if identity is not None else None
    return {"epoch": sessions.epoch(user) if user is not None else 0}


def install_jwt_messages(jwt_manager) -> None:
    jwt_manager.additional_claims_loader(_token_claims)
    jwt_manager.unauthorized_loader(lambda reason: _response(401, gettext("Please sign in first.")))
    jwt_manager.invalid_token_loader(lambda reason: _response(401, gettext("The sign-in token is not valid. Please sign in again.")))
    jwt_manager.expired_token_loader(lambda header, data: _response(401, gettext("The sign-in has expired. Please sign in again.")))
    jwt_manager.revoked_token_loader(lambda header, data: _response(401, gettext("The sign-in has expired. Please sign in again.")))
    jwt_manager.user_lookup_error_loader(lambda header, data: _refused())
