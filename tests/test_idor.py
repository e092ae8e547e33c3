"""Scope (IDOR), generated for every scoped entity: a user of another community (worker2,
槐荫社区, who writes the same entities as the worker of 文化路社区) cannot show, edit or
delete a 文化路社区 row through the pages or the API, nor find it in a list, an export or
a chart; the row is unchanged afterwards."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests import factories as f


def _scoped_entities():
    from app import scope
    from app.registry import entities

    found = []
    for model in entities():
        spec = scope.spec_of(model)
        if spec is not None and spec.community and spec.community != "id":
            found.append(model)
    return found


def _entity_ids():
    import models  # noqa: F401

    return [m.__name__ for m in _scoped_entities()]


@pytest.fixture(scope="module")
def scoped(app):
    with app.app_context():
        return {m.__name__: m for m in _scoped_entities()}


def test_the_scoped_entities_are_many(app, scoped):
    assert len(scoped) >= 40, sorted(scoped)


@pytest.mark.parametrize("entity", _entity_ids())
def test_another_community_cannot_reach_the_row(app, ctx, as_user, scoped, entity):
    from app.registry import resource_name, view_class
    from app.scope import spec_of

    model = scoped.get(entity)
    assert model is not None, f"{entity} is not a community-scoped entity"
    column = getattr(model, spec_of(model).community)
    here, there = f.community().id, f.community("槐荫社区").id
    row = db.session.scalars(select(model).where(column == here).order_by(model.id)).first()
    if row is None:  # (a few kinds of rows the demo has only elsewhere or not at all)
        row = _make_one(model, column, here)
    before = {c.key: getattr(row, c.key) for c in model.__table__.columns}
    other = as_user("worker2")
    route, api = view_class(model).route_base, f"/api/v1/{resource_name(model)}/"
    answers = {
        "show": other.get(f"{route}/show/{row.id}").status_code,
        "edit page": other.get(f"{route}/edit/{row.id}").status_code,
        "edit": other.post(f"{route}/edit/{row.id}", data={"name": "x", "title": "x"}).status_code,
        "delete": other.post(f"{route}/delete/{row.id}").status_code,
        "api get": other.get(f"{api}{row.id}").status_code,
        "api put": other.put(f"{api}{row.id}", json={"name": "x"}).status_code,
        "api delete": other.delete(f"{api}{row.id}").status_code,
    }
    wrong = {k: v for k, v in answers.items() if v not in (403, 404, 405)}
    assert not wrong, wrong
    db.session.expire_all()
    again = db.session.get(model, row.id)
    assert again is not None and {c.key: getattr(again, c.key) for c in model.__table__.columns} == before
    # lists and exports hold only the other community's rows
    listed = other.get(f"{api}?q=(page_size:100)")
    if listed.status_code == 200:
        theirs = db.session.scalar(select(func.count()).select_from(model).where(column == there))
        assert listed.json["count"] <= theirs
        assert row.id not in listed.json["ids"]
    exported = other.get(f"{route}/export/")
    if exported.status_code == 200:
        from app.records import AuditLog

        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export", AuditLog.entity == entity)
                                   .order_by(AuditLog.id.desc())).first()
        theirs = db.session.scalar(select(func.count()).select_from(model).where(column == there))
        assert json.loads(entry.changes)["rows"] <= theirs


def _make_one(model, column, community_id):
    """A row of 文化路社区 made from one of another community (the demo has none here)."""
    other = db.session.scalars(select(model).order_by(model.id)).first()
    assert other is not None, f"the demo has no {model.__name__} at all"
    values = {c.key: getattr(other, c.key) for c in model.__table__.columns if not c.primary_key}
    values[column.key] = community_id
    db.session.execute(model.__table__.insert().values(**values))
    return db.session.scalars(select(model).where(column == community_id).order_by(model.id)).first()


def test_charts_hold_only_the_users_rows(app, ctx, as_user):
    from models.service.demands import Demand

    other = as_user("worker2")
    there = f.community("槐荫社区").id
    data = other.get("/demand/chart-data/by_status?start=2025-12-01&end=2026-11-28").json
    total = sum(sum(s["data"]) for s in data["series"])
    theirs = db.session.scalar(select(func.count()).select_from(Demand).where(Demand.community_id == there))
    assert total <= theirs
    grids = other.get("/demand/chart-data/by_grid").json["categories"]
    assert not any(name.startswith("第") and name.endswith("网格") and "槐荫" not in name for name in grids) \
        or not grids
