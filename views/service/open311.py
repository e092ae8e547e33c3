"""Open311 GeoReport v2: the public machine interface of the 三单 loop.

Kiosks, the 12345 hotline and other systems list the service categories, file demands
(with an ``api_key`` issued by ``flask open311 add-client``) and follow their status, in
JSON or XML, as http://wiki.open311.org/GeoReport_v2 describes:

    GET  /open311/v2/discovery.{json,xml}
    GET  /open311/v2/services.{json,xml}
    GET  /open311/v2/services/{service_code}.{json,xml}
    POST /open311/v2/requests.{json,xml}
    GET  /open311/v2/requests.{json,xml}
    GET  /open311/v2/requests/{service_request_id}.{json,xml}

No login: the GET answers are public, so they carry no personal data — the demand's
title stands for its description, its compound (and building) for its address, a
party member who takes it is only "a sinking party member", and the requester's name,
phone and room never appear. A demand is filed through :func:`models.service.machine.create`,
like any other, with the API client acting in its own community (scope and audit log).
"""
from __future__ import annotations

import datetime
import json
import logging
import math
import re
import secrets
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import click
from flask import Blueprint, Response, current_app, request, url_for
from flask.cli import AppGroup
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException

from app import clock, domain, lockout, scope
from app.errors import _messages
from app.extensions import db
from models.kernel.places import Community, Compound
from models.service.demands import (CANCELLED, DUPLICATE, MAX_DESCRIPTION, OPEN, STATUSES, ApiClient, Demand,
                                    ServiceCategory, hash_secret)
from models.service.machine import create

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
bp = Blueprint("open311", __name__, url_prefix=PREFIX)

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: when this interface last changed (discovery's changeset)
CHANGESET = datetime.datetime(2026, 11, 28, 9, 0)
#: naive datetimes in the database are local time of the community
TIMEZONE = "Asia/Shanghai"
#: GET requests: the longest span of start_date..end_date, and the most requests returned
MAX_SPAN_DAYS = 90
MAX_RESULTS = 1000
MAX_STATUS_NOTES = 200
MAX_MEDIA_URL = 500
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LISTS = ("singlevaluelist", "multivaluelist")
DATATYPE_HINTS = {"number": _l("A number"), "datetime": _l("A date and time (ISO 8601)"),
                  "singlevaluelist": _l("Choose one of the values"),
                  "multivaluelist": _l("Choose one or more of the values")}
#: XML: the element of each item of a list, by the list's element
ITEMS = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
         "errors": "error", "endpoints": "endpoint", "formats": "format"}
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_XML_INVALID = re.compile("[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
#: control characters dropped from the text a client sends (PostgreSQL refuses NUL)
_CONTROL = re.compile("[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uD800-\uDFFF]")
#: "2026-03-01T00:00:00+08:00" sent unencoded in a query string arrives with a space for "+"
_SPACED_OFFSET = re.compile(r"^(.*T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


# ----------------------------------------------------------------------------- responses

class Open311Error(Exception):
    """An error answered in the spec's format: ``[{"code": 400, "description": "…"}]``."""

    def __init__(self, code: int, *descriptions):
        super().__init__(str(descriptions[0]) if descriptions else str(code))
        self.code = code
        self.descriptions = [str(d) for d in descriptions]


def _format(fmt: str | None) -> str:
    return fmt if fmt in FORMATS else "json"


def _xml_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _xml_element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_xml_element(key, child))
    elif isinstance(value, (list, tuple)):
        for child in value:
            element.append(_xml_element(ITEMS.get(tag, "item"), child))
    else:
        element.text = _xml_text(value)
    return element


def _respond(fmt: str, data, root: str, status: int = 200) -> Response:
    """``data`` as JSON, or as XML under ``root`` (a list's items named by :data:`ITEMS`)."""
    fmt = _format(fmt)
    if fmt == "xml":
        body = ET.tostring(_xml_element(root, data), encoding="utf-8", xml_declaration=True)
    else:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return Response(body, status=status, content_type=FORMATS[fmt])


def _error_response(fmt: str | None, code: int, descriptions) -> Response:
    return _respond(_format(fmt), [{"code": code, "description": str(d)} for d in descriptions], "errors",
                    status=code)


def _http_message(code: int) -> str:
    if code == 404:
        return gettext("No such Open311 resource.")
    messages = _messages()
    return messages.get(code) or messages[500]


def _path_format() -> str:
    return "xml" if request.path.lower().endswith(".xml") else "json"


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error):
    return _error_response((request.view_args or {}).get("fmt"), error.code, error.descriptions)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error.get_response()
    fmt = (request.view_args or {}).get("fmt") or _path_format()
    # (app.inputs refuses odd input with a message of its own)
    return _error_response(fmt, error.code, [getattr(error, "message", None) or _http_message(error.code)])


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    if current_app.config.get("TESTING"):
        raise error  # tests see the real exception
    log.exception("unhandled error on %s", request.path)
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - the database is gone
        pass
    return _error_response((request.view_args or {}).get("fmt") or _path_format(), 500, [_http_message(500)])


@bp.before_app_request
def _routing_errors():
    """Unknown paths and methods under /open311/ answer in the spec's error format too
    (routing errors never reach a blueprint's error handlers)."""
    if not request.path.startswith("/open311/"):
        return None
    error = request.routing_exception
    if isinstance(error, HTTPException) and error.code is not None and error.code >= 400:
        return _error_response(_path_format(), error.code, [_http_message(error.code)])
    return None


def _text(raw) -> str:
    """A value as sent, stripped, without control characters."""
    return _CONTROL.sub("", raw or "").strip()


def _check(fmt: str) -> None:
    """The format and the jurisdiction of every call."""
    if fmt not in FORMATS:
        raise Open311Error(404, gettext("Unknown format: use .json or .xml."))
    jurisdiction = (request.values.get("jurisdiction_id") or "").strip()
    if jurisdiction and jurisdiction != current_app.config.get("OPEN311_JURISDICTION"):
        raise Open311Error(404, gettext("jurisdiction_id not found."))


# ----------------------------------------------------------------------------- time

def _zone() -> datetime.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(TIMEZONE)
    except Exception:  # no time zone database: China has kept +08:00 since 1991
        return datetime.timezone(datetime.timedelta(hours=8), TIMEZONE)


def _iso(value: datetime.datetime | None) -> str | None:
    """ISO 8601 with the local offset: 2026-03-01T09:30:00+08:00."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone())
    return value.astimezone(_zone()).isoformat(timespec="seconds")


def _parse_datetime(raw: str) -> datetime.datetime:
    """An ISO 8601 date or date and time as naive local time; ValueError if it is none."""
    text = raw.strip()
    spaced = _SPACED_OFFSET.match(text)
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        value = datetime.datetime.fromisoformat(text)
        if value.tzinfo is not None:
            value = value.astimezone(_zone()).replace(tzinfo=None)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(raw) from exc
    return value


# ----------------------------------------------------------------------------- services

def _attributes(category) -> list[dict]:
    """The category's questions (``ServiceCategory.attributes``, a JSON list), in order."""
    if not category.attributes:
        return []
    try:
        items = json.loads(category.attributes)
    except ValueError:
        log.warning("service category %s: attributes are not JSON", category.code)
        return []
    if not isinstance(items, list):
        return []
    found = [a for a in items if isinstance(a, dict) and a.get("code")]

    def order(pair):
        index, attribute = pair
        value = attribute.get("order")
        return (value if isinstance(value, int) and not isinstance(value, bool) else index + 1, index)

    return [a for _i, a in sorted(enumerate(found), key=order)]


def _attribute(attribute: dict, position: int) -> dict:
    """One question in the spec's terms."""
    datatype = attribute.get("datatype") if attribute.get("datatype") in DATATYPES else "string"
    order = attribute.get("order")
    hint = attribute.get("datatype_description") or DATATYPE_HINTS.get(datatype)
    result = {
        "variable": bool(attribute.get("variable", True)),
        "code": str(attribute["code"]),
        "datatype": datatype,
        "required": bool(attribute.get("required", False)),
        "datatype_description": str(hint) if hint is not None else None,
        "order": order if isinstance(order, int) and not isinstance(order, bool) else position,
        "description": str(attribute["description"]) if attribute.get("description") is not None else None,
    }
    if datatype in LISTS:
        result["values"] = [{"key": str(v.get("key")), "name": str(v.get("name", v.get("key")))}
                            for v in attribute.get("values") or [] if isinstance(v, dict) and "key" in v]
    return result


def _keywords(text: str | None) -> str | None:
    words = [w for w in re.split(r"[\s,，、;；]+", text or "") if w]
    return ",".join(words) or None


def _service(category) -> dict:
    return {"service_code": category.code, "service_name": category.name, "description": category.description,
            "metadata": bool(_attributes(category)), "type": "realtime", "keywords": _keywords(category.keywords),
            "group": category.group}


def _enabled_categories():
    return db.session.scalars(select(ServiceCategory).where(ServiceCategory.enabled.is_(True))
                              .order_by(ServiceCategory.sort, ServiceCategory.code)).all()


def _enabled_category(code: str | None):
    if not code or _CONTROL.search(code):
        return None
    return db.session.scalars(select(ServiceCategory).where(ServiceCategory.code == code,
                                                            ServiceCategory.enabled.is_(True))).first()


@bp.route("/discovery.<fmt>")
def discovery(fmt):
    _check(fmt)
    url = url_for("open311.discovery", fmt=fmt, _external=True).rsplit("/", 1)[0]
    changeset = _iso(CHANGESET)
    data = {
        "changeset": changeset,
        "contact": gettext("Ask the community office for help and for an API key."),
        "key_service": gettext("API keys are issued by the community office."),
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": changeset,
                       "type": "production" if current_app.config.get("APP_ENV") == "production" else "test",
                       "formats": [FORMATS["json"].split(";")[0], FORMATS["xml"].split(";")[0]]}],
    }
    return _respond(fmt, data, "discovery")


@bp.route("/services.<fmt>")
def services(fmt):
    _check(fmt)
    return _respond(fmt, [_service(c) for c in _enabled_categories()], "services")


@bp.route("/services/<code>.<fmt>")
def service_definition(code, fmt):
    _check(fmt)
    category = _enabled_category(code)
    if category is None:
        raise Open311Error(404, gettext("Unknown service_code."))
    attributes = _attributes(category)
    if not attributes:
        raise Open311Error(404, gettext("This service has no attributes: file it without any."))
    data = {"service_code": category.code,
            "attributes": [_attribute(a, n) for n, a in enumerate(attributes, start=1)]}
    return _respond(fmt, data, "service_definition")


# ----------------------------------------------------------------------------- filing

class _ClientActor:
    """The API client acting in its community: what scope checks and the audit log see."""

    id = None
    scope_kind = scope.COMMUNITY
    scope_grid_id = None
    is_authenticated = False

    def __init__(self, client, street_id):
        self.username = f"open311:{client.name}"[:128]
        self.scope_community_id = client.community_id
        self.scope_street_id = street_id


def _client():
    """The active API client whose key is given, or a 403."""
    refusal = lockout.check_address()
    if refusal is not None:  # too many wrong keys from this address: even a right one waits
        raise Open311Error(429, refusal)
    key = request.values.get("api_key") or ""
    client = None
    if key.strip():
        client = db.session.scalars(select(ApiClient).where(ApiClient.key_hash == hash_secret(key))).first()
    if client is None or not client.active:
        lockout.key_failed()
        raise Open311Error(403, gettext("api_key was not provided or is not valid."))
    lockout.key_succeeded()
    return client


def _number(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def _answers(category, form) -> list[tuple[dict, list[str]]]:
    """The validated ``attribute[code]`` answers: [(question, [values])], in order."""
    given: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        values = [_text(v) for v in form.getlist(key) if _text(v)]
        given.setdefault(match.group(1), []).extend(values)
    questions = {str(a["code"]): a for a in _attributes(category)}
    problems = [gettext("Unknown attribute %(code)s.", code=code) for code in given if code not in questions]
    answers = []
    for code, question in questions.items():
        values = given.get(code) or []
        variable = bool(question.get("variable", True))
        datatype = question.get("datatype") if question.get("datatype") in DATATYPES else "string"
        label = str(question.get("description") or code)
        if not values:
            if variable and question.get("required"):
                problems.append(gettext("The attribute %(code)s (%(question)s) is required.",
                                        code=code, question=label))
            continue
        if datatype != "multivaluelist" and len(values) > 1:
            problems.append(gettext("The attribute %(code)s takes one value.", code=code))
            continue
        if datatype in LISTS:
            keys = {str(v.get("key")) for v in question.get("values") or [] if isinstance(v, dict)}
            wrong = [v for v in values if v not in keys]
            problems += [gettext("“%(value)s” is not a value of the attribute %(code)s.", value=v, code=code)
                         for v in wrong]
            if wrong:
                continue
        elif datatype == "number":
            try:
                _number(values[0])
            except ValueError:
                problems.append(gettext("The attribute %(code)s must be a number.", code=code))
                continue
        elif datatype == "datetime":
            try:
                _parse_datetime(values[0])
            except ValueError:
                problems.append(gettext("The attribute %(code)s must be a date and time (ISO 8601).", code=code))
                continue
        answers.append((question, values))
    if problems:
        raise Open311Error(400, *problems)
    return answers


def _shown(question: dict, values: list[str]) -> str:
    names = {str(v.get("key")): str(v.get("name", v.get("key"))) for v in question.get("values") or []
             if isinstance(v, dict)}
    return "、".join(names.get(v, v) for v in values)


def _location(form, community_id):
    """(latitude, longitude, address, compound) from lat/long, address_string, address_id."""
    lat, lon = _text(form.get("lat")), _text(form.get("long"))
    address = _text(form.get("address_string")) or None
    address_id = _text(form.get("address_id"))
    if not (lat or lon or address or address_id):
        raise Open311Error(400, gettext("Give the location: lat and long, address_string or address_id."))
    latitude = longitude = compound = None
    if lat or lon:
        if not (lat and lon):
            raise Open311Error(400, gettext("Give both lat and long."))
        try:
            latitude, longitude = _number(lat), _number(lon)
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise ValueError(lat)
        except ValueError:
            raise Open311Error(400, gettext("lat and long must be WGS-84 coordinates (numbers; latitude -90 to 90, "
                                            "longitude -180 to 180).")) from None
    if address_id:
        compound_id = int(address_id) if re.fullmatch(r"[0-9]{1,9}", address_id) else None
        compound = db.session.get(Compound, compound_id) if compound_id is not None else None
        if compound is None or compound.community_id != community_id:
            raise Open311Error(400, gettext("Unknown address_id: give the id of a compound of your community."))
    return latitude, longitude, address, compound


def _media_url(form) -> str | None:
    url = _text(form.get("media_url"))
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_MEDIA_URL \
            or any(c.isspace() for c in url):
        raise Open311Error(400, gettext("media_url must be an http or https address."))
    return url


def _requester_name(form) -> str | None:
    first = _text(form.get("first_name"))
    last = _text(form.get("last_name"))
    if first and last and all(re.search(r"[\u3400-\u9fff]", n) for n in (first, last)):
        return last + first  # a Chinese name: family name first, no space
    return " ".join(n for n in (first, last) if n) or None


def _notice(category) -> str:
    return gettext("The community office will dispatch it; it should be taken within %(hours)d hours of "
                   "dispatch and resolved within %(days)d days after that.",
                   hours=category.take_hours or 0, days=category.resolve_days or 0)


def _field_errors(error: domain.DomainError) -> list[str]:
    messages = []
    for field, texts in error.errors().items():
        for text in texts:
            if field == domain.NON_FIELD:
                messages.append(text)
            else:
                messages.append(gettext("%(field)s: %(message)s", field=domain.label_of(Demand, field),
                                        message=text))
    return messages or [str(error.message)]


@bp.route("/requests.<fmt>", methods=["POST"])
def create_request(fmt):
    _check(fmt)
    client = _client()
    form = request.form
    code = _text(form.get("service_code"))
    if not code:
        raise Open311Error(400, gettext("service_code is required."))
    category = _enabled_category(code)
    if category is None:
        raise Open311Error(400, gettext("Unknown service_code."))
    answers = _answers(category, form)
    latitude, longitude, address, compound = _location(form, client.community_id)
    media_url = _media_url(form)
    text = _CONTROL.sub("", form.get("description") or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise Open311Error(400, *_field_errors(domain.ValidationFailed(
            {"description": [_l("At most %(n)d characters.", n=MAX_DESCRIPTION)]})))
    lines = [gettext("%(question)s: %(answer)s", question=str(q.get("description") or q["code"]),
                     answer=_shown(q, values)) for q, values in answers]
    if media_url:
        lines.append(gettext("Photo or video: %(url)s", url=media_url))
    description = "\n\n".join(part for part in (text, "\n".join(lines)) if part) or category.name
    chosen = [_shown(q, values) for q, values in answers if q.get("datatype") in LISTS]
    title = gettext("%(category)s: %(answers)s", category=category.name, answers="、".join(chosen)) \
        if chosen else category.name
    if address is None and compound is None:  # coordinates only: the model asks for a place
        address = gettext("Coordinates %(lat)s, %(long)s", lat=latitude, long=longitude)
    demand = Demand(title=title[:100], description=description, category=category, source="open311",
                    requester_name=_requester_name(form), requester_phone=_text(form.get("phone")) or None,
                    compound=compound, address=address, latitude=latitude, longitude=longitude,
                    community_id=client.community_id)
    demand._via_open311 = True  # the one path that files without a requester
    street_id = db.session.scalar(select(Community.street_id).where(Community.id == client.community_id))
    try:
        with scope.acting_as(_ClientActor(client, street_id)):
            client.last_used_at = clock.now()
            create(demand, None, note=gettext("Filed through Open311 by %(client)s", client=client.name),
                   actor=None)
    except domain.DomainError as error:
        db.session.rollback()
        raise Open311Error(400, *_field_errors(error)) from None
    data = [{"service_request_id": demand.number, "service_notice": _notice(category), "account_id": None}]
    return _respond(fmt, data, "service_requests")


# ----------------------------------------------------------------------------- status

def _status_notes(demand) -> str | None:
    if demand.status in OPEN:
        note = str(STATUSES[demand.status])
    elif demand.status == CANCELLED:
        note = demand.cancel_reason
    elif demand.status == DUPLICATE:
        original = demand.duplicate_of
        note = gettext("Duplicate of %(number)s", number=original.number) if original is not None \
            else str(STATUSES[DUPLICATE])
    else:
        note = demand.result
    if note and len(note) > MAX_STATUS_NOTES:
        note = note[:MAX_STATUS_NOTES - 1] + "…"
    return note or None


def _agency(demand) -> str | None:
    if demand.assigned_unit is not None:
        return demand.assigned_unit.name
    if demand.assigned_member_id is not None:
        return gettext("Sinking party member")  # never a person's name
    return None


def _place(demand) -> str | None:
    """The compound and building: never the free-text address, never a room."""
    parts = [p.name for p in (demand.compound, demand.building) if p is not None]
    return " ".join(parts) or None


def _request(demand) -> dict:
    is_open = demand.status in OPEN
    category = demand.category
    return {
        "service_request_id": demand.number or str(demand.id),
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(demand),
        "service_name": category.name,
        "service_code": category.code,
        "description": demand.title,
        "agency_responsible": _agency(demand),
        "service_notice": _notice(category) if is_open else None,
        "requested_datetime": _iso(demand.created_at),
        "updated_datetime": _iso(demand.updated_at or demand.created_at),
        "expected_datetime": _iso(demand.due_resolve_at or demand.due_take_at),
        "address": _place(demand),
        "address_id": str(demand.compound_id) if demand.compound_id is not None else None,
        "zipcode": None,
        "lat": demand.latitude,
        "long": demand.longitude,
        "media_url": None,
    }


def _demands():
    return (select(Demand)
            .options(joinedload(Demand.category), joinedload(Demand.compound), joinedload(Demand.building),
                     joinedload(Demand.assigned_unit), joinedload(Demand.duplicate_of))
            .order_by(Demand.created_at.desc(), Demand.id.desc()))


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _matchable(values: list[str]) -> list[str]:
    """Values that can be looked up (one with a control character matches nothing)."""
    return [v for v in values if not _CONTROL.search(v)]


@bp.route("/requests.<fmt>")
def list_requests(fmt):
    _check(fmt)
    args = request.args
    ids = _split(args.get("service_request_id"))
    stmt = _demands()
    if ids:  # overrides every other filter
        stmt = stmt.where(Demand.number.in_(_matchable(ids)[:MAX_RESULTS]))
    else:
        try:
            start = _parse_datetime(args["start_date"]) if (args.get("start_date") or "").strip() else None
            end = _parse_datetime(args["end_date"]) if (args.get("end_date") or "").strip() else None
        except ValueError:
            raise Open311Error(400, gettext("start_date and end_date must be ISO 8601 dates and times, "
                                            "e.g. 2026-03-01T00:00:00+08:00.")) from None
        span = datetime.timedelta(days=MAX_SPAN_DAYS)
        if start is None and end is None:
            end = clock.now()
        try:
            start = end - span if start is None else start
            end = start + span if end is None else end
        except OverflowError:  # one end given, at the end of the calendar
            raise Open311Error(400, gettext("start_date and end_date must be ISO 8601 dates and times, "
                                            "e.g. 2026-03-01T00:00:00+08:00.")) from None
        if end < start:
            raise Open311Error(400, gettext("end_date is before start_date."))
        if end - start > span:
            raise Open311Error(400, gettext("start_date and end_date may not span more than %(days)d days.",
                                            days=MAX_SPAN_DAYS))
        stmt = stmt.where(Demand.created_at >= start, Demand.created_at <= end)
        statuses = _split(args.get("status"))
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, gettext("status must be open or closed (comma separated)."))
        if set(statuses) == {"open"}:
            stmt = stmt.where(Demand.status.in_(OPEN))
        elif set(statuses) == {"closed"}:
            stmt = stmt.where(Demand.status.notin_(OPEN))
        codes = _split(args.get("service_code"))
        if codes:
            stmt = stmt.where(Demand.category_id.in_(select(ServiceCategory.id)
                                                     .where(ServiceCategory.code.in_(_matchable(codes)))))
    demands = db.session.scalars(stmt.limit(MAX_RESULTS)).unique().all()
    return _respond(fmt, [_request(d) for d in demands], "service_requests")


@bp.route("/requests/<number>.<fmt>")
def get_request(number, fmt):
    _check(fmt)
    demand = None
    if not _CONTROL.search(number):
        demand = db.session.scalars(_demands().where(Demand.number == number)).unique().first()
    if demand is None:
        raise Open311Error(404, gettext("Unknown service_request_id."))
    return _respond(fmt, [_request(demand)], "service_requests")


# ----------------------------------------------------------------------------- command line

def _commands() -> AppGroup:
    group = AppGroup("open311", help="Open311 API clients: add one (its key is shown once), revoke one.")

    @group.command("add-client")
    @click.argument("name")
    @click.option("--community", required=True, help="The community (name or code) the client files demands in.")
    def add_client(name, community):
        """Add an API client NAME; prints its new key once (only its hash is stored)."""
        from sqlalchemy import or_

        name = name.strip()
        found = db.session.scalars(select(Community).where(or_(Community.name == community,
                                                               Community.code == community))).all()
        if len(found) != 1:
            raise click.ClickException(gettext("No community “%(community)s”.", community=community))
        if db.session.scalars(select(ApiClient).where(ApiClient.name == name)).first() is not None:
            raise click.ClickException(gettext("An API client named “%(name)s” already exists.", name=name))
        key = secrets.token_urlsafe(32)
        try:
            domain.save(ApiClient(name=name, key_hash=hash_secret(key), community_id=found[0].id, active=True,
                                  created_at=clock.now()))
        except domain.DomainError as error:
            raise click.ClickException("; ".join(m for ms in error.errors().values() for m in ms)) from None
        click.echo(gettext("API client “%(name)s” added in %(community)s. Its key (shown only this once):",
                           name=name, community=found[0].name))
        click.echo(key)

    @group.command("revoke")
    @click.argument("name")
    def revoke(name):
        """Revoke the API client NAME: its key stops working at once."""
        client = db.session.scalars(select(ApiClient).where(ApiClient.name == name.strip())).first()
        if client is None:
            raise click.ClickException(gettext("No API client named “%(name)s”.", name=name))
        client.active = False
        db.session.commit()
        click.echo(gettext("API client “%(name)s” revoked.", name=client.name))

    return group


def install(appbuilder) -> None:
    """Register the Open311 endpoints (no login) and the ``flask open311`` commands.

    Called in the app context of create_app (FAB 5 has no ``appbuilder.get_app``; its
    ``appbuilder.app`` is deprecated for ``current_app``)."""
    app = current_app
    if "open311" not in app.blueprints:
        app.register_blueprint(bp)
    if "open311" not in app.cli.commands:
        app.cli.add_command(_commands())
