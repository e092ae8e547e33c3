"""Open311 GeoReport v2 (views/open311.py): every endpoint, filter and error, in JSON
and XML; every JSON answer validated against the published JSON Schemas in
tests/data/open311-georeport-v2/ (copied from
open311/schema-validation); no personal data in the public answers."""
from __future__ import annotations

import datetime
import json
import os
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from seed.service import DEMO_API_CLIENT, DEMO_API_KEY
from tests import factories as f

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_DIR = os.path.join(ROOT, "tests", "data", "open311-georeport-v2")
BASE = "/open311/v2"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ----------------------------------------------------------------------------- schemas

def _load(name):
    with open(os.path.join(SCHEMA_DIR, name), encoding="utf-8") as fh:
        return json.load(fh)


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    if not _ISO.match(value):
        raise ValueError(value)
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


_REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(_load(name), default_specification=DRAFT7))
    for name in ("services.json", "service.json", "service-definition.json", "requests.json", "request.json"))


def _nullable(definition: dict) -> dict:
    """A Swagger 2.0 definition as JSON Schema, optional fields nullable as in the
    published JSON Schemas (Swagger 2.0 cannot say null; the wiki's examples use it)."""
    required = set(definition.get("required", []))
    properties = {}
    for name, prop in definition["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in ("format", "description")}
        properties[name] = prop if name in required else {"anyOf": [prop, {"type": "null"}]}
    return {"type": "object", "required": sorted(required), "properties": properties}


_SWAGGER = _load("swagger.json")
#: POST answer: an array of the swagger's RequestResponse (no JSON Schema is published for it)
POST_SCHEMA = {"type": "array", "minItems": 1,
               "items": {**_nullable(_SWAGGER["definitions"]["RequestResponse"]), "required": ["service_request_id"]}}
#: errors as the GeoReport v2 wiki gives them: [{"code": 403, "description": "…"}]
ERRORS_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["code", "description"], "additionalProperties": False,
    "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}}}
#: discovery as the wiki gives it
DISCOVERY_SCHEMA = {"type": "object", "required": ["changeset", "contact", "key_service", "endpoints"], "properties": {
    "changeset": {"type": "string", "format": "date-time"}, "contact": {"type": "string"},
    "key_service": {"type": "string"},
    "endpoints": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["specification", "url", "changeset", "type", "formats"], "properties": {
            "specification": {"type": "string", "format": "uri"}, "url": {"type": "string", "format": "uri"},
            "changeset": {"type": "string", "format": "date-time"}, "type": {"enum": ["production", "test"]},
            "formats": {"type": "array", "items": {"enum": ["application/json", "text/xml"]}}}}}}}


def validate(data, schema):
    """Validate ``data`` against a published schema (by file name) or a schema dict."""
    if isinstance(schema, str):
        schema = _load(schema)
    errors = sorted(Draft7Validator(schema, registry=_REGISTRY, format_checker=FORMATS).iter_errors(data),
                    key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return data


def test_the_schemas_are_strict_enough():
    """The validation itself catches what matters (a guard against a vacuous schema)."""
    good = {"service_request_id": "WH-2026-000001", "status": "open", "service_code": "repair",
            "requested_datetime": "2026-03-01T09:00:00+08:00"}
    validate([good], "requests.json")
    for bad in ({**good, "status": "pending"}, {**good, "requested_datetime": "2026-03-01 09:00"},
                {**good, "service_request_id": 1}, {k: v for k, v in good.items() if k != "service_code"},
                {**good, "lat": "30.9"}):
        assert list(Draft7Validator(_load("requests.json"), registry=_REGISTRY,
                                    format_checker=FORMATS).iter_errors([bad])), bad
    assert list(Draft7Validator(POST_SCHEMA).iter_errors([{"service_request_id": 5}]))


# ----------------------------------------------------------------------------- helpers

def get_json(client, path, expect=200, **params):
    response = client.get(f"{BASE}/{path}", query_string=params)
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_TYPE
    return json.loads(response.get_data(as_text=True))


def get_xml(client, path, expect=200, **params):
    response = client.get(f"{BASE}/{path}", query_string=params)
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == XML_TYPE
    return ET.fromstring(response.data)


def post(client, fmt="json", **data):
    data.setdefault("api_key", DEMO_API_KEY)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def assert_json_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_TYPE
    body = validate(json.loads(response.get_data(as_text=True)), ERRORS_SCHEMA)
    assert all(e["code"] == code for e in body)
    return body


def assert_xml_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == XML_TYPE
    root = ET.fromstring(response.data)
    assert root.tag == "errors" and len(root) >= 1
    for error in root:
        assert error.tag == "error" and [c.tag for c in error] == ["code", "description"]
        assert error.findtext("code") == str(code) and error.findtext("description")
    return root


def xml_items(root, item):
    """[{tag: text}] of a list answer (<services><service>…)."""
    return [{child.tag: child.text for child in element} for element in root if element.tag == item]


def demand_count():
    from models.service.demands import Demand

    return db.session.scalar(select(func.count()).select_from(Demand))


def categories():
    from models.service.demands import ServiceCategory

    return {c.code: c for c in db.session.scalars(select(ServiceCategory))}


def demo_client():
    from models.service.demands import ApiClient

    return db.session.scalars(select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT)).one()


def a_compound(community_name="文化路社区"):
    from models.kernel.places import Compound

    return db.session.scalars(select(Compound).join(Compound.community).where(
        Compound.community.has(name=community_name), Compound.grid_id.isnot(None)).order_by(Compound.id)).first()


def demand(number):
    from models.service.demands import Demand

    db.session.expire_all()
    return db.session.scalars(select(Demand).where(Demand.number == number)).one()


def seeded(status):
    from models.service.demands import Demand

    return db.session.scalars(select(Demand).where(Demand.status == status).order_by(Demand.id)).first()


def local(text):
    """'2026-03-01T09:00:00+08:00' → naive local datetime."""
    value = datetime.datetime.fromisoformat(text)
    assert value.utcoffset() == datetime.timedelta(hours=8), text
    return value.replace(tzinfo=None)


def seconds(value):
    """The answers give times to the second."""
    return value.replace(microsecond=0) if value is not None else None


def all_requests(client, **params):
    """The whole answer for the default window (the cap is larger than the demo)."""
    return validate(get_json(client, "requests.json", **params), "requests.json")


# ----------------------------------------------------------------------------- discovery and services

def test_discovery_json_and_xml(client):
    body = validate(get_json(client, "discovery.json"), DISCOVERY_SCHEMA)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "test"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert body["changeset"].endswith("+08:00")
    root = get_xml(client, "discovery.xml")
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    xml_endpoint = root.find("endpoints/endpoint")
    assert xml_endpoint.findtext("url") == endpoint["url"]
    assert [f.text for f in xml_endpoint.find("formats")] == endpoint["formats"]


def test_services_list_the_enabled_categories(client, ctx):
    from seed.base import SERVICE_CATEGORIES

    body = validate(get_json(client, "services.json"), "services.json")
    assert [s["service_code"] for s in body] == [c[0] for c in SERVICE_CATEGORIES]
    repair = next(s for s in body if s["service_code"] == "repair")
    assert repair == {"service_code": "repair", "service_name": "设施维修", "description": None, "metadata": True,
                      "type": "realtime", "keywords": "路灯,水管,门禁,维修", "group": "设施维修"}
    assert all(s["metadata"] is False for s in body if s["service_code"] != "repair")
    assert {s["type"] for s in body} == {"realtime"}


def test_services_xml(client, ctx):
    root = get_xml(client, "services.xml")
    assert root.tag == "services" and {c.tag for c in root} == {"service"}
    items = xml_items(root, "service")
    body = get_json(client, "services.json")
    assert len(items) == len(body)
    repair = next(s for s in items if s["service_code"] == "repair")
    assert [c.tag for c in root[0]] == ["service_code", "service_name", "description", "metadata", "type",
                                       "keywords", "group"]
    assert repair["metadata"] == "true" and repair["type"] == "realtime" and repair["service_name"] == "设施维修"
    assert repair["description"] is None  # an empty element for null
    assert next(s for s in items if s["service_code"] == "sanitation")["metadata"] == "false"


def test_a_disabled_category_is_not_offered(client, ctx):
    cats = categories()
    cats["sanitation"].enabled = False
    cats["repair"].description = "公共设施的维修"
    db.session.commit()
    body = validate(get_json(client, "services.json"), "services.json")
    assert "sanitation" not in [s["service_code"] for s in body]
    assert next(s for s in body if s["service_code"] == "repair")["description"] == "公共设施的维修"
    assert "sanitation" not in [s["service_code"] for s in xml_items(get_xml(client, "services.xml"), "service")]
    assert_json_error(client.get(f"{BASE}/services/sanitation.json"), 404)


def test_service_definition_json(client, ctx):
    body = validate(get_json(client, "services/repair.json"), "service-definition.json")
    assert body["service_code"] == "repair"
    facility, floor = body["attributes"]
    assert facility["code"] == "facility" and facility["datatype"] == "singlevaluelist"
    assert facility["variable"] is True and facility["required"] is True and facility["order"] == 1
    assert facility["description"] == "哪类设施"
    assert facility["values"] == [{"key": "light", "name": "路灯"}, {"key": "pipe", "name": "水管"},
                                  {"key": "door", "name": "单元门/门禁"}, {"key": "other", "name": "其他"}]
    assert isinstance(facility["datatype_description"], str) and facility["datatype_description"]
    assert floor["code"] == "floor" and floor["datatype"] == "number" and floor["required"] is False
    assert floor["order"] == 2 and floor["description"] == "楼层" and "values" not in floor


def test_service_definition_xml(client, ctx):
    root = get_xml(client, "services/repair.xml")
    assert root.tag == "service_definition" and [c.tag for c in root] == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert [a.tag for a in attributes] == ["attribute", "attribute"]
    facility = attributes[0]
    assert [c.tag for c in facility] == ["variable", "code", "datatype", "required", "datatype_description", "order",
                                        "description", "values"]
    assert facility.findtext("variable") == "true" and facility.findtext("required") == "true"
    assert facility.findtext("order") == "1" and facility.findtext("datatype") == "singlevaluelist"
    values = [(v.findtext("key"), v.findtext("name")) for v in facility.find("values")]
    assert values[0] == ("light", "路灯") and len(values) == 4
    assert {v.tag for v in facility.find("values")} == {"value"}
    assert attributes[1].findtext("required") == "false" and attributes[1].find("values") is None


def test_service_definition_follows_edited_attributes(client, ctx):
    """Questions come from the category's JSON: order, variable and datatype_description kept."""
    cats = categories()
    cats["policy"].attributes = json.dumps([
        {"code": "topic", "datatype": "multivaluelist", "required": False, "order": 2, "description": "哪些政策",
         "values": [{"key": "dibao", "name": "低保"}, {"key": "yibao", "name": "医保"}]},
        {"code": "note", "datatype": "text", "variable": False, "order": 1, "description": "请勿填写身份证号",
         "datatype_description": "说明"}], ensure_ascii=False)
    db.session.commit()
    body = validate(get_json(client, "services/policy.json"), "service-definition.json")
    assert [a["code"] for a in body["attributes"]] == ["note", "topic"]
    assert body["attributes"][0]["variable"] is False and body["attributes"][0]["datatype_description"] == "说明"
    assert body["attributes"][1]["datatype"] == "multivaluelist" and len(body["attributes"][1]["values"]) == 2
    assert next(s for s in get_json(client, "services.json") if s["service_code"] == "policy")["metadata"] is True


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["nothing", "sanitation"])  # unknown; one without attributes
def test_service_definition_not_found(client, fmt, code):
    response = client.get(f"{BASE}/services/{code}.{fmt}")
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 404)


# ----------------------------------------------------------------------------- jurisdiction, formats, routing

ENDPOINTS = ["discovery", "services", "services/repair", "requests", "requests/{number}"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_jurisdiction(client, ctx, app, path, fmt):
    path = path.format(number=seeded("rated").number)
    ours = app.config["OPEN311_JURISDICTION"]
    assert client.get(f"{BASE}/{path}.{fmt}", query_string={"jurisdiction_id": ours}).status_code == 200
    response = client.get(f"{BASE}/{path}.{fmt}", query_string={"jurisdiction_id": "elsewhere.city"})
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction_on_post(client, ctx, app, fmt):
    before = demand_count()
    response = post(client, fmt, service_code="policy", address_string="文化路1号", jurisdiction_id="elsewhere")
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 404)
    assert demand_count() == before
    response = post(client, fmt, service_code="policy", address_string="文化路1号",
                    jurisdiction_id=app.config["OPEN311_JURISDICTION"])
    assert response.status_code == 200 and demand_count() == before + 1


@pytest.mark.parametrize("path", ["discovery.csv", "services.html", "services/repair.yaml", "requests.txt",
                                  "requests/{number}.csv", "nothing.json", "requests/", "v3/services.json"])
def test_unknown_format_or_path_is_a_404_in_the_spec_format(client, ctx, path):
    path = path.format(number=seeded("rated").number)
    assert_json_error(client.get(f"{BASE}/{path}"), 404)
    before = demand_count()
    if path == "requests.txt":
        assert_json_error(post(client, "txt", service_code="policy", address_string="文化路1号"), 404)
        assert demand_count() == before


def test_unknown_path_in_xml(client):
    assert_xml_error(client.get(f"{BASE}/nothing.xml"), 404)
    assert_xml_error(client.get("/open311/v1/services.xml"), 404)


@pytest.mark.parametrize("method,path", [("put", "requests.json"), ("delete", "requests.json"),
                                         ("post", "services.json"), ("patch", "requests.xml")])
def test_wrong_method_is_a_405_in_the_spec_format(client, method, path):
    response = getattr(client, method)(f"{BASE}/{path}")
    (assert_xml_error if path.endswith(".xml") else assert_json_error)(response, 405)


# ----------------------------------------------------------------------------- filing a request

def _good(**extra):
    return {"service_code": "repair", "attribute[facility]": "light", "attribute[floor]": "3",
            "description": "3号楼门口路灯不亮", **extra}


def test_post_files_a_demand_in_the_clients_community(client, ctx):
    from app.records import AuditLog

    compound = a_compound()
    before = demand_count()
    at = datetime.datetime(2026, 3, 2, 9, 30)
    with clock.frozen(at):
        response = post(client, **_good(address_id=str(compound.id), first_name="小明", last_name="王",
                                        phone="13912345678", email="x@example.com",
                                        media_url="https://kiosk.example.cn/p/1.jpg"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_TYPE
    body = validate(json.loads(response.get_data(as_text=True)), POST_SCHEMA)
    assert len(body) == 1 and body[0]["account_id"] is None and body[0]["service_notice"]
    number = body[0]["service_request_id"]
    assert re.fullmatch(r"WH-2026-\d{6}", number)
    assert demand_count() == before + 1
    row = demand(number)
    client_row = demo_client()
    assert row.source == "open311" and row.status == "pending" and row.category.code == "repair"
    assert row.community_id == client_row.community_id == compound.community_id
    assert row.compound_id == compound.id and row.grid_id == compound.grid_id
    assert row.requester is None and row.requester_name == "王小明" and row.requester_phone == "13912345678"
    assert row.title.startswith("设施维修") and "路灯" in row.title
    assert row.description.startswith("3号楼门口路灯不亮")
    assert "哪类设施" in row.description and "路灯" in row.description and "楼层" in row.description
    assert "https://kiosk.example.cn/p/1.jpg" in row.description and "x@example.com" not in row.description
    assert row.created_at == at and row.created_by_id is None
    assert client_row.last_used_at == at
    event = row.events[0]
    assert event.action == "create" and event.actor_id is None and DEMO_API_CLIENT in event.note
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity == "Demand",
                                                      AuditLog.entity_id == str(row.id))).first()
    assert audit is not None and audit.username == f"open311:{DEMO_API_CLIENT}"
    # it can be followed at once
    got = validate(get_json(client, f"requests/{number}.json"), "requests.json")
    assert got[0]["status"] == "open" and got[0]["requested_datetime"] == "2026-03-02T09:30:00+08:00"
    assert got[0]["description"] == row.title and got[0]["address_id"] == str(compound.id)


def test_post_xml(client, ctx):
    before = demand_count()
    response = post(client, "xml", **_good(address_string="槐荫大道12号"))
    assert response.status_code == 200 and response.headers["Content-Type"] == XML_TYPE
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    request = root[0]
    assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
    assert request.find("account_id").text is None and request.findtext("service_notice")
    row = demand(request.findtext("service_request_id"))
    assert row.address == "槐荫大道12号" and demand_count() == before + 1


def test_post_with_coordinates_only(client, ctx):
    response = post(client, service_code="policy", lat="30.9241", long="113.9169", description="咨询医保")
    body = validate(json.loads(response.get_data(as_text=True)), POST_SCHEMA)
    row = demand(body[0]["service_request_id"])
    assert (row.latitude, row.longitude) == (30.9241, 113.9169) and row.compound_id is None
    assert row.community_id == demo_client().community_id and row.grid_id is None
    assert row.title == "政策咨询" and row.description == "咨询医保"
    got = validate(get_json(client, f"requests/{row.number}.json"), "requests.json")[0]
    assert (got["lat"], got["long"]) == (30.9241, 113.9169) and got["address"] is None
    root = get_xml(client, f"requests/{row.number}.xml")
    assert root[0].findtext("lat") == "30.9241" and root[0].findtext("long") == "113.9169"


def test_post_without_description_uses_the_answers(client, ctx):
    response = post(client, service_code="repair", **{"attribute[facility]": "pipe"}, address_string="园林路")
    row = demand(validate(response.get_json(), POST_SCHEMA)[0]["service_request_id"])
    assert "水管" in row.description and "水管" in row.title
    response = post(client, service_code="policy", address_string="园林路")
    assert demand(response.get_json()[0]["service_request_id"]).description == "政策咨询"


def test_post_multivaluelist_answers(client, ctx):
    cats = categories()
    cats["policy"].attributes = json.dumps([
        {"code": "topic", "datatype": "multivaluelist", "required": True, "description": "哪些政策",
         "values": [{"key": "dibao", "name": "低保"}, {"key": "yibao", "name": "医保"}]},
        {"code": "when", "datatype": "datetime", "description": "方便的时间"}], ensure_ascii=False)
    db.session.commit()
    response = post(client, service_code="policy", address_string="园林路", **{
        "attribute[topic][]": ["dibao", "yibao"], "attribute[when]": "2026-03-05T09:00:00+08:00"})
    row = demand(validate(response.get_json(), POST_SCHEMA)[0]["service_request_id"])
    assert "低保" in row.description and "医保" in row.description and "2026-03-05" in row.description
    before = demand_count()
    assert_json_error(post(client, service_code="policy", address_string="园林路",
                           **{"attribute[topic][]": ["dibao", "gone"]}), 400)
    assert_json_error(post(client, service_code="policy", address_string="园林路",
                           **{"attribute[topic]": "dibao", "attribute[when]": "next tuesday"}), 400)
    assert demand_count() == before


POST_ERRORS = {
    "no api_key": (403, dict(_good(address_string="园林路"), api_key="")),
    "wrong api_key": (403, dict(_good(address_string="园林路"), api_key="guess")),
    "no service_code": (400, dict(_good(address_string="园林路"), service_code="")),
    "unknown service_code": (400, dict(_good(address_string="园林路"), service_code="nothing")),
    "no location": (400, _good()),
    "lat without long": (400, _good(lat="30.9")),
    "long without lat": (400, _good(long="113.9")),
    "lat not a number": (400, _good(lat="北纬30度", long="113.9")),
    "lat nan": (400, _good(lat="nan", long="113.9")),
    "long infinite": (400, _good(lat="30.9", long="1e999")),
    "lat out of range": (400, _good(lat="91", long="113.9")),
    "long out of range": (400, _good(lat="30.9", long="-180.5")),
    "address_id not a number": (400, _good(address_id="A-12")),
    "address_id unknown": (400, _good(address_id="999999")),
    "address_id huge": (400, _good(address_id="9" * 40)),
    "description too long": (400, _good(address_string="园林路", description="很" * 4001)),
    "description too long with the answers": (400, _good(address_string="园林路", description="很" * 3995)),
    "required attribute missing": (400, {"service_code": "repair", "address_string": "园林路"}),
    "required attribute blank": (400, _good(address_string="园林路", **{"attribute[facility]": " "})),
    "not a value of the list": (400, _good(address_string="园林路", **{"attribute[facility]": "roof"})),
    "two values for a single value list": (400, _good(address_string="园林路",
                                                       **{"attribute[facility]": ["light", "pipe"]})),
    "number attribute not a number": (400, _good(address_string="园林路", **{"attribute[floor]": "三楼"})),
    "unknown attribute": (400, _good(address_string="园林路", **{"attribute[colour]": "red"})),
    "attribute for a service without any": (400, {"service_code": "policy", "address_string": "园林路",
                                                  "attribute[facility]": "light"}),
    "bad phone": (400, _good(address_string="园林路", phone="12345")),
    "name too long": (400, _good(address_string="园林路", first_name="名" * 60)),
    "address_string too long": (400, _good(address_string="路" * 201)),
    "media_url not a url": (400, _good(address_string="园林路", media_url="photo.jpg")),
    "media_url javascript": (400, _good(address_string="园林路", media_url="javascript:alert(1)")),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", list(POST_ERRORS))
def test_post_errors_write_nothing(client, ctx, case, fmt):
    code, data = POST_ERRORS[case]
    before = demand_count()
    with clock.frozen(datetime.datetime(2026, 3, 2, 10)):
        response = post(client, fmt, **data)
    if fmt == "json":
        errors = assert_json_error(response, code)
        descriptions = [e["description"] for e in errors]
    else:
        descriptions = [e.findtext("description") for e in assert_xml_error(response, code)]
    assert demand_count() == before
    assert demo_client().last_used_at != datetime.datetime(2026, 3, 2, 10)
    if case == "bad phone":  # a domain rule's message, in Chinese, naming the field
        assert any("电话" in d or "手机" in d for d in descriptions), descriptions
    if case.startswith("description too long"):
        assert any("4000" in d for d in descriptions), descriptions


def test_post_reports_every_attribute_problem(client, ctx):
    response = post(client, service_code="repair", address_string="园林路",
                    **{"attribute[floor]": "x", "attribute[colour]": "red"})
    errors = assert_json_error(response, 400)
    assert len(errors) == 3  # unknown colour, facility missing, floor not a number
    assert any("colour" in e["description"] for e in errors) and any("facility" in e["description"] for e in errors)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_revoked_or_disabled_refused(client, ctx, fmt):
    before = demand_count()
    categories()["repair"].enabled = False
    db.session.commit()
    response = post(client, fmt, **_good(address_string="园林路"))
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 400)
    demo_client().active = False
    db.session.commit()
    response = post(client, fmt, service_code="policy", address_string="园林路")
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 403)
    assert demand_count() == before


def test_post_address_id_of_another_community_is_refused(client, ctx):
    other = f.new_community()
    compound = f.new_compound(other)
    before = demand_count()
    assert_json_error(post(client, **_good(address_id=str(compound.id))), 400)
    assert_xml_error(post(client, "xml", **_good(address_id=str(compound.id))), 400)
    assert demand_count() == before


def test_post_accepts_api_key_in_the_query_string_too(client, ctx):
    response = client.post(f"{BASE}/requests.json?api_key={DEMO_API_KEY}",
                           data={"service_code": "policy", "address_string": "园林路"})
    assert response.status_code == 200
    validate(response.get_json(), POST_SCHEMA)


# ----------------------------------------------------------------------------- following requests

def _personal_data():
    """Every requester's name and phone, the free-text addresses and descriptions, the
    takers' names, and the rooms of the requesters, as seeded."""
    from models.service.demands import Demand

    secrets = set()
    for row in db.session.scalars(select(Demand)):
        for value in (row.requester_name, row.requester_phone, row.address):
            if value:
                secrets.add(value)
        if row.requester is not None:
            secrets.add(row.requester.name)
            if row.requester.phone:
                secrets.add(row.requester.phone)
            if row.requester.household is not None:
                secrets.add(f"{row.requester.household.room}室")
        if row.assigned_member is not None:
            secrets.add(str(row.assigned_member))
            if getattr(row.assigned_member, "person", None) is not None:
                secrets.add(row.assigned_member.person.name)
        if row.description != row.title:
            secrets.add(row.description)
    return secrets


def test_requests_carry_no_personal_data(client, ctx):
    post(client, **_good(address_string="槐荫大道12号3单元502室", first_name="小明", last_name="王",
                         phone="13912345678"))
    secrets = _personal_data()
    assert "13912345678" in secrets and "王小明" in secrets and len(secrets) > 150
    body = all_requests(client)
    assert len(body) >= 150
    text = json.dumps(body, ensure_ascii=False)
    xml_text = client.get(f"{BASE}/requests.xml").get_data(as_text=True)
    leaks = [s for s in secrets if s in text or s in xml_text]
    assert not leaks, leaks[:5]
    for item in body:
        one = client.get(f"{BASE}/requests/{item['service_request_id']}.json").get_data(as_text=True)
        assert not [s for s in secrets if s in one]
    # the fields are the spec's, no more
    allowed = set(_load("request.json")["properties"])
    assert all(set(item) <= allowed for item in body)


def test_request_fields_follow_the_demand(client, ctx):
    from models.service.demands import OPEN

    body = all_requests(client)
    numbers = {item["service_request_id"]: item for item in body}
    for status in ("pending", "dispatched", "taken", "in_progress", "resolved", "rated", "closed", "cancelled",
                   "duplicate"):
        row = seeded(status)
        assert row is not None, status
        item = numbers[row.number]
        assert item["status"] == ("open" if status in OPEN else "closed")
        assert item["service_code"] == row.category.code and item["service_name"] == row.category.name
        assert item["description"] == row.title
        assert local(item["requested_datetime"]) == seconds(row.created_at)
        assert local(item["updated_datetime"]) == seconds(row.updated_at)
        due = row.due_resolve_at or row.due_take_at
        assert (local(item["expected_datetime"]) if item["expected_datetime"] else None) == seconds(due)
        place = " ".join(p.name for p in (row.compound, row.building) if p is not None)
        assert item["address"] == place and item["address_id"] == str(row.compound_id)
        if status == "cancelled":
            assert item["status_notes"] == row.cancel_reason
        elif status == "duplicate":
            assert row.duplicate_of.number in item["status_notes"]
        elif status in ("resolved", "rated", "closed"):
            assert item["status_notes"] == row.result
        else:
            assert item["status_notes"]  # the finer status, e.g. 待派单
        assert (item["service_notice"] is not None) == (status in OPEN)
        if row.assigned_unit is not None:
            assert item["agency_responsible"] == row.assigned_unit.name
        elif row.assigned_member is not None:
            assert item["agency_responsible"] == "下沉党员"
        else:
            assert item["agency_responsible"] is None


def test_agency_responsible(client, ctx):
    from models.service.demands import Demand

    by_unit = db.session.scalars(select(Demand).where(Demand.assigned_unit_id.isnot(None))).first()
    by_member = db.session.scalars(select(Demand).where(Demand.assigned_member_id.isnot(None))).first()
    unit_item = validate(get_json(client, f"requests/{by_unit.number}.json"), "requests.json")[0]
    member_item = validate(get_json(client, f"requests/{by_member.number}.json"), "requests.json")[0]
    assert unit_item["agency_responsible"] == by_unit.assigned_unit.name
    assert member_item["agency_responsible"] == "下沉党员"
    root = get_xml(client, f"requests/{by_member.number}.xml")
    assert root[0].findtext("agency_responsible") == "下沉党员"


def test_long_status_notes_are_cut(client, ctx):
    row = seeded("resolved")
    row.result = "处理" * 300
    db.session.commit()
    item = validate(get_json(client, f"requests/{row.number}.json"), "requests.json")[0]
    assert len(item["status_notes"]) == 200 and item["status_notes"].endswith("…")


def test_single_request_json_and_xml(client, ctx):
    row = seeded("rated")
    body = validate(get_json(client, f"requests/{row.number}.json"), "requests.json")
    assert len(body) == 1 and body[0]["service_request_id"] == row.number and body[0]["status"] == "closed"
    root = get_xml(client, f"requests/{row.number}.xml")
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    item = root[0]
    assert [c.tag for c in item] == list(body[0])
    assert item.findtext("service_request_id") == row.number and item.findtext("status") == "closed"
    assert item.findtext("requested_datetime") == body[0]["requested_datetime"]
    assert item.findtext("agency_responsible") == body[0]["agency_responsible"]
    assert item.find("lat").text is None and item.find("media_url").text is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_single_request_not_found(client, fmt):
    for number in ("WH-2026-999999", "nothing", "%E4%B8%AD"):
        response = client.get(f"{BASE}/requests/{number}.{fmt}")
        (assert_json_error if fmt == "json" else assert_xml_error)(response, 404)


def test_list_json_equals_xml(client, ctx):
    body = all_requests(client, status="open")
    root = get_xml(client, "requests.xml", status="open")
    assert root.tag == "service_requests" and {c.tag for c in root} <= {"request"}
    items = xml_items(root, "request")
    assert [i["service_request_id"] for i in items] == [b["service_request_id"] for b in body]
    for x, j in zip(items, body):
        assert x["status"] == j["status"] == "open"
        assert x["description"] == j["description"] and x["address"] == j["address"]
        assert x["expected_datetime"] == j["expected_datetime"]


def test_list_default_is_the_last_90_days_newest_first(client, ctx):
    from models.service.demands import Demand

    body = all_requests(client)
    now = clock.now()
    expected = db.session.scalar(select(func.count()).select_from(Demand).where(
        Demand.created_at >= now - datetime.timedelta(days=90)))
    assert len(body) == expected >= 150
    times = [local(item["requested_datetime"]) for item in body]
    assert times == sorted(times, reverse=True)
    # a demand older than 90 days is left out by default
    old = seeded("closed")
    old.created_at = now - datetime.timedelta(days=91)
    db.session.commit()
    assert old.number not in {i["service_request_id"] for i in all_requests(client)}


def test_list_status_filter(client, ctx):
    from models.service.demands import OPEN, Demand

    everything = all_requests(client)
    opened = all_requests(client, status="open")
    closed = all_requests(client, status="closed")
    both = all_requests(client, status="open,closed")
    assert {i["status"] for i in opened} == {"open"} and {i["status"] for i in closed} == {"closed"}
    assert len(opened) + len(closed) == len(everything) == len(both)
    assert len(opened) == db.session.scalar(select(func.count()).select_from(Demand).where(Demand.status.in_(OPEN)))
    xml_closed = xml_items(get_xml(client, "requests.xml", status="closed"), "request")
    assert len(xml_closed) == len(closed) and {i["status"] for i in xml_closed} == {"closed"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("status", ["pending", "open,pending", "OPEN;closed"])
def test_list_bad_status(client, fmt, status):
    response = client.get(f"{BASE}/requests.{fmt}", query_string={"status": status})
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 400)


def test_list_service_code_filter(client, ctx):
    body = all_requests(client, service_code="repair")
    assert body and {i["service_code"] for i in body} == {"repair"}
    two = all_requests(client, service_code="repair,policy")
    assert {i["service_code"] for i in two} == {"repair", "policy"}
    assert len(two) == len(body) + len(all_requests(client, service_code="policy"))
    assert all_requests(client, service_code="nothing") == []
    assert get_xml(client, "requests.xml", service_code="nothing").tag == "service_requests"
    combined = all_requests(client, service_code="repair", status="closed")
    assert combined and {(i["service_code"], i["status"]) for i in combined} == {("repair", "closed")}
    xml = xml_items(get_xml(client, "requests.xml", service_code="repair"), "request")
    assert [i["service_request_id"] for i in xml] == [i["service_request_id"] for i in body]


def test_list_service_request_id_overrides_other_filters(client, ctx):
    rows = [seeded("closed"), seeded("pending"), seeded("cancelled")]
    ids = ",".join(r.number for r in rows) + ",WH-2026-999999"
    body = all_requests(client, service_request_id=ids, status="open", service_code="nothing",
                        start_date="2000-01-01", end_date="not a date")
    assert {i["service_request_id"] for i in body} == {r.number for r in rows}
    root = get_xml(client, "requests.xml", service_request_id=ids, status="open")
    assert {i["service_request_id"] for i in xml_items(root, "request")} == {r.number for r in rows}
    assert all_requests(client, service_request_id=" , ") == all_requests(client)  # blank: not given


def test_list_date_filters(client, ctx):
    """A demand filed at 09:30 local time (01:30 UTC) is found by its instant in any offset."""
    with clock.frozen(datetime.datetime(2026, 3, 2, 9, 30)):
        number = post(client, service_code="policy", address_string="园林路").get_json()[0]["service_request_id"]

    def numbers(**params):
        return {i["service_request_id"] for i in all_requests(client, **params)}

    assert number in numbers(start_date="2026-03-02T01:30:00Z", end_date="2026-03-02T02:00:00Z")
    assert number not in numbers(start_date="2026-03-02T01:30:01Z", end_date="2026-03-03T00:00:00Z")
    assert number in numbers(start_date="2026-03-02T09:30:00+08:00", end_date="2026-03-02T09:30:00+08:00")
    assert number not in numbers(start_date="2026-03-02T09:30:00+07:00", end_date="2026-03-03T00:00:00+07:00")
    assert number in numbers(start_date="2026-03-01", end_date="2026-03-03")
    assert number in numbers(start_date="2026-03-02T09:00:00", end_date="2026-03-02T10:00:00")  # local time
    # an unencoded "+" arrives as a space
    response = client.get(f"{BASE}/requests.json?start_date=2026-03-02T09:00:00+08:00"
                          f"&end_date=2026-03-02T10:00:00+08:00")
    assert number in {i["service_request_id"] for i in validate(response.get_json(), "requests.json")}
    # one end given: a 90-day window from it
    assert number in numbers(start_date="2026-01-01T00:00:00+08:00")
    assert number not in numbers(start_date="2025-11-01T00:00:00+08:00")  # ends 2026-01-30
    assert number in numbers(end_date="2026-05-30T00:00:00+08:00")
    assert number not in numbers(end_date="2026-06-01T00:00:00+08:00")
    # the seeded demands of the last 90 days are not in March 2026 unless the seed ran then
    xml = xml_items(get_xml(client, "requests.xml", start_date="2026-03-02T01:00:00Z",
                            end_date="2026-03-02T02:00:00Z"), "request")
    assert number in {i["service_request_id"] for i in xml}
    assert next(i for i in xml if i["service_request_id"] == number)["requested_datetime"] \
        == "2026-03-02T09:30:00+08:00"


def test_list_90_days_exactly_is_allowed(client):
    all_requests(client, start_date="2026-01-01T00:00:00+08:00", end_date="2026-04-01T00:00:00+08:00")


BAD_DATES = {
    "not a date": dict(start_date="yesterday"),
    "bad month": dict(start_date="2026-13-01T00:00:00Z"),
    "bad end": dict(end_date="2026-02-30"),
    "beyond the calendar": dict(start_date="99999-01-01"),
    "end before start": dict(start_date="2026-03-02T00:00:00Z", end_date="2026-03-01T00:00:00Z"),
    "span over 90 days": dict(start_date="2026-01-01T00:00:00+08:00", end_date="2026-04-01T00:00:01+08:00"),
    "span far over 90 days": dict(start_date="2000-01-01", end_date="2026-01-01"),
    "offset overflow": dict(start_date="0001-01-01T00:00:00+14:00"),
    "window before the calendar": dict(end_date="0001-01-02"),
    "window after the calendar": dict(start_date="9999-12-30"),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", list(BAD_DATES))
def test_list_bad_dates(client, case, fmt):
    response = client.get(f"{BASE}/requests.{fmt}", query_string=BAD_DATES[case])
    (assert_json_error if fmt == "json" else assert_xml_error)(response, 400)


def test_list_is_capped(client, ctx, monkeypatch):
    from views.service import open311

    everything = all_requests(client)
    monkeypatch.setattr(open311, "MAX_RESULTS", 7)
    body = all_requests(client)
    assert [i["service_request_id"] for i in body] == [i["service_request_id"] for i in everything[:7]]
    assert len(xml_items(get_xml(client, "requests.xml"), "request")) == 7


def test_list_costs_the_same_few_queries(client, ctx, count_queries):
    with count_queries() as small:
        client.get(f"{BASE}/requests.json", query_string={"service_code": "policy"})
    with count_queries() as large:
        client.get(f"{BASE}/requests.json")
    assert large.count == small.count <= 3, large.statements


# ----------------------------------------------------------------------------- never a 500

@pytest.mark.parametrize("query", [
    "service_request_id=%27%3B+DROP+TABLE+demand%3B+--", "service_request_id=WH%00", "service_code=%00",
    "service_code=repair%00", "status=,", "start_date=2026-03-01T00:00:00%2B99:00", "start_date=%ED%A0%80",
    "end_date=2026-03-01T25:00", "jurisdiction_id=", "start_date=+", "start_date=%00", "status=open%00",
])
def test_odd_queries_never_fail(client, query):
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}?{query}")
        assert response.status_code in (200, 400), response.status_code
        if fmt == "json":
            validate(response.get_json(), "requests.json" if response.status_code == 200 else ERRORS_SCHEMA)
        else:
            ET.fromstring(response.data)


@pytest.mark.parametrize("path", ["requests/WH%00.json", "requests/%ED%A0%80.xml", "services/%00.json",
                                  "services/repair%00.xml"])
def test_odd_paths_never_fail(client, path):
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == 404
    (assert_xml_error if path.endswith(".xml") else assert_json_error)(response, 404)


def test_odd_posts_never_fail(client, ctx):
    """Whatever a client sends, the answer is 200 or a spec error, and an error writes nothing."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    text = st.text(max_size=30)
    compound = str(a_compound().id)

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(code=st.sampled_from(["repair", "policy", "", "x"]),
           lat=st.one_of(st.just(""), st.floats().map(str), text),
           lon=st.one_of(st.just(""), st.floats().map(str), text),
           address_id=st.one_of(st.just(""), st.just(compound), text),
           address=st.one_of(st.just(""), text),
           facility=st.one_of(st.sampled_from(["light", "door"]), text),
           floor=st.one_of(st.just(""), st.integers().map(str), text),
           phone=st.one_of(st.just(""), st.just("13912345678"), text),
           media=st.one_of(st.just(""), st.just("http://x.cn/1.jpg"), text),
           description=st.one_of(st.just(""), st.text(max_size=300)),
           name=st.one_of(st.just(""), text))
    def run(code, lat, lon, address_id, address, facility, floor, phone, media, description, name):
        before = demand_count()
        data = dict(service_code=code, lat=lat, long=lon, address_id=address_id, address_string=address,
                    phone=phone, media_url=media, description=description, first_name=name)
        if code == "repair":
            data.update({"attribute[facility]": facility, "attribute[floor]": floor})
        for fmt in ("json", "xml"):
            response = post(client, fmt, **data)
            assert response.status_code in (200, 400), response.get_data(as_text=True)
            if response.status_code == 400:
                assert demand_count() == before
                if fmt == "json":
                    validate(response.get_json(), ERRORS_SCHEMA)
                else:
                    assert_xml_error(response, 400)
            else:
                if fmt == "json":
                    validate(response.get_json(), POST_SCHEMA)
                before += 1
                assert demand_count() == before

    run()


def test_control_characters_do_not_break_the_xml(client, ctx):
    row = seeded("resolved")
    row.result = "已处理\x01\x0b完毕"
    db.session.commit()
    root = get_xml(client, f"requests/{row.number}.xml")
    assert root[0].findtext("status_notes") == "已处理完毕"


# ----------------------------------------------------------------------------- command line

def test_cli_add_client_and_revoke(app, client, ctx):
    from models.service.demands import ApiClient, hash_secret

    runner = app.test_cli_runner()
    result = runner.invoke(args=["open311", "add-client", "12345热线", "--community", "文化路社区"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert len(key) >= 40
    row = db.session.scalars(select(ApiClient).where(ApiClient.name == "12345热线")).one()
    assert row.key_hash == hash_secret(key) and key not in (row.key_hash, row.name) and row.active
    assert row.community_id == f.community().id
    response = post(client, api_key=key, service_code="policy", address_string="园林路")
    assert response.status_code == 200
    number = response.get_json()[0]["service_request_id"]
    assert demand(number).community_id == row.community_id
    # a second client of the same name, an unknown community
    again = runner.invoke(args=["open311", "add-client", "12345热线", "--community", "文化路社区"])
    assert again.exit_code != 0 and key not in again.output
    nowhere = runner.invoke(args=["open311", "add-client", "别处", "--community", "没有这个社区"])
    assert nowhere.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(ApiClient).where(ApiClient.name == "别处")) == 0
    # revoked: the key stops working
    result = runner.invoke(args=["open311", "revoke", "12345热线"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert row.active is False
    before = demand_count()
    assert_json_error(post(client, api_key=key, service_code="policy", address_string="园林路"), 403)
    assert demand_count() == before
    assert runner.invoke(args=["open311", "revoke", "nobody"]).exit_code != 0


def test_cli_keys_differ(app, ctx):
    runner = app.test_cli_runner()
    keys = [runner.invoke(args=["open311", "add-client", name, "--community", "文化路社区"]).output.splitlines()[-1]
            for name in ("终端A", "终端B")]
    assert keys[0] != keys[1]
