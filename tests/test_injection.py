"""Injection (等保 2.0 入侵防范): script payloads written into every free-text field of every
entity (through the API, as a user would through a form) come out escaped on the list,
show, chart and public pages; Excel exports never hold a formula; SQL-like text in
searches and filters is only text."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import String, Text, select

from app.extensions import db

PAYLOADS = ['<script>alert("x1")</script>', '<img src=x onerror=alert("x2")>', 'javascript:alert("x3")']
#: what must never appear in a page as markup
RAW = ('<script>alert("x1")', '<img src=x onerror', 'href="javascript:alert')


def _text_columns(model, api) -> list[str]:
    """The free-text columns the API lets a user write."""
    from app.registry import is_sensitive

    editable = set(getattr(api, "edit_columns", None) or [])
    columns = []
    for column in model.__table__.columns:
        if column.key not in editable or column.foreign_keys or column.primary_key:
            continue
        if not isinstance(column.type, (String, Text)) or is_sensitive(model, column.key):
            continue
        info = column.info or {}
        if info.get("choices") is not None or info.get("dict_type") or info.get("format"):
            continue
        columns.append(column.key)
    return columns


def _entities():
    import models  # noqa: F401
    from app.registry import entities

    return [m.__name__ for m in entities()]


@pytest.mark.parametrize("entity", _entities())
def test_script_in_free_text_is_escaped_everywhere(app, ctx, as_user, entity):
    from app.charts import charts_of
    from app.registry import entities, generated_api, resource_name, view_class
    from tests.test_i18n import _writer

    model = next(m for m in entities() if m.__name__ == entity)
    api = generated_api(model)
    columns = _text_columns(model, api)
    if not columns or model.Admin.readonly:
        return  # nothing a user types (every such entity is covered by the others)
    client = as_user(_writer(model))
    listed = client.get(f"/api/v1/{resource_name(model)}/?q=(page_size:1)")
    if listed.status_code != 200 or not listed.json["ids"]:
        return
    pk = listed.json["ids"][0]
    written = []
    for i, column in enumerate(columns):
        payload = PAYLOADS[i % len(PAYLOADS)]
        column_type = model.__table__.columns[column].type
        length = getattr(column_type, "length", None)
        if length and length < len(payload):
            payload = payload[:length]
        response = client.put(f"/api/v1/{resource_name(model)}/{pk}", json={column: payload})
        if response.status_code == 200:
            written.append(column)
    route = view_class(model).route_base
    pages = [f"{route}/list/", f"{route}/show/{pk}"] + [f"{route}/chart/{name}" for name in charts_of(model)]
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        for raw in RAW:
            assert raw not in page, (entity, written, url, raw)


def test_public_and_print_pages_escape_what_staff_typed(app, ctx, as_user, client):
    from models.volunteers.honours import StarNominee
    from models.kernel.places import Compound

    secretary = as_user("secretary")
    nominee = db.session.scalars(select(StarNominee).order_by(StarNominee.id)).first()
    nominee.reason = PAYLOADS[0] + PAYLOADS[1]
    compound = db.session.scalars(select(Compound).order_by(Compound.id)).first()
    compound.address = PAYLOADS[1]
    db.session.commit()
    for url in ("/public/stars/", "/public/pledges/", "/public/policies/"):
        page = client.get(url).get_data(as_text=True)
        for raw in RAW:
            assert raw not in page, (url, raw)
    from models.cobuilding.stations import ContactCard

    card = db.session.scalars(select(ContactCard).where(ContactCard.compound_id == compound.id)).first()
    if card is not None:
        page = secretary.get(f"/contact-card/print/{card.id}").get_data(as_text=True)
        assert all(raw not in page for raw in RAW)


def test_excel_exports_hold_no_formula(app, ctx, as_user):
    import openpyxl

    from models.kernel.places import Compound

    compound = db.session.scalars(select(Compound).order_by(Compound.name)).first()
    compound.name = "=HYPERLINK(\"http://evil.example\",\"点我\")"
    db.session.commit()
    response = as_user("secretary").get("/compound/export/")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    shown = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert shown and all(c.data_type == "s" and not str(c.value).startswith("=") for c in shown)


@pytest.mark.parametrize("text", ["' OR 1=1 --", "%", "_", "\\", "'; DROP TABLE compound; --", "\" OR \"\"=\""])
def test_sql_like_text_in_searches_is_only_text(app, ctx, as_user, text):
    from urllib.parse import quote

    from models.kernel.places import Compound

    worker = as_user("worker")
    before = db.session.scalar(select(db.func.count()).select_from(Compound))
    for url in (f"/compound/list/?q={quote(text)}", f"/compound/list/?_flt_0_name={quote(text)}",
                f"/demand/list/?q={quote(text)}", f"/person/list/?_flt_0_name={quote(text)}"):
        response = worker.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "记录数目" not in page or "记录数目:</strong> 0" in page, url  # nothing holds these
    api = worker.get("/api/v1/compound/?q=(filters:!((col:name,opr:ct,value:'" + quote(text.replace("'", "!'")) + "')))")
    assert api.status_code in (200, 400), api.status_code
    assert db.session.scalar(select(db.func.count()).select_from(Compound)) == before


def test_percent_and_underscore_are_searched_as_themselves(app, ctx, as_user):
    from models.kernel.places import Compound

    compound = db.session.scalars(select(Compound).where(Compound.community_id == select(Compound.community_id)
                                                          .order_by(Compound.id).limit(1).scalar_subquery())
                                  .order_by(Compound.id)).first()
    compound.name = "满意度100%_小区"
    db.session.commit()
    worker = as_user("worker")
    for text in ("%", "0%_", "_"):
        page = worker.get(f"/compound/list/?q={text.replace('%', '%25')}").get_data(as_text=True)
        assert "记录数目:</strong> 1" in page and "满意度100%_小区" in page, text
