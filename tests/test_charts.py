"""Declarative charts: a chart declared on an entity gets its page (ECharts served by
the app, the figures as a table) and its JSON with no other code; one GROUP BY under the
user's scope, the statement count independent of the data; bad requests answered."""
from __future__ import annotations

from typing import Optional

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from models.service.demands import Demand
from tests import factories as f
from tests.conftest import login, make_app


def test_the_demand_charts_equal_sql_counts(as_user, ctx):
    worker = as_user("worker")
    data = worker.get("/demand/chart-data/by_status").json
    counts = dict(db.session.execute(select(Demand.status, func.count()).where(
        Demand.community_id == f.community().id).group_by(Demand.status)).all())
    assert sum(data["series"][0]["data"]) == sum(counts.values())
    assert len(data["categories"]) == len(counts)
    monthly = worker.get("/demand/chart-data/per_month").json
    assert sum(sum(s["data"]) for s in monthly["series"]) == sum(counts.values())
    assert all(len(c) == 7 for c in monthly["categories"])  # 2026-09
    page = worker.get("/demand/chart/per_month").get_data(as_text=True)
    assert "vendor/echarts/echarts.min.js" in page and "chart-table" in page and "每月需求" in page
    assert "//cdn" not in page and "googleapis" not in page


def test_a_grid_worker_sees_only_the_grid(as_user, ctx):
    from models.kernel.users import AppUser

    grid_user = db.session.scalars(select(AppUser).where(AppUser.username == "grid1")).one()
    data = as_user("grid1").get("/demand/chart-data/by_status").json
    mine = db.session.scalar(select(func.count()).select_from(Demand).where(
        Demand.grid_id == grid_user.scope_grid_id))
    assert sum(data["series"][0]["data"]) == mine
    other = as_user("worker2").get("/demand/chart-data/by_status").json["series"][0]["data"]
    assert sum(other) == db.session.scalar(select(func.count()).select_from(Demand).where(
        Demand.community_id == f.community("槐荫社区").id))


def test_unknown_charts_are_answered_not_crashed(as_user, ctx):
    worker = as_user("worker")
    response = worker.get("/demand/chart-data/no_such_chart")
    assert response.status_code == 404 and "no_such_chart" in response.json["message"]
    assert worker.get("/demand/chart/no_such_chart").status_code == 404


def test_the_statement_count_does_not_grow_with_the_data(as_user, ctx, count_queries):
    worker = as_user("worker")
    with count_queries() as before:
        worker.get("/demand/chart-data/by_category")
    demand = db.session.scalars(select(Demand).order_by(Demand.id)).first()
    from app import domain
    from models.service.demands import Demand as D

    for n in range(5):
        copy = D(title=f"图表测试{n}", description="x", category=demand.category, source="phone",
                 requester_name="测试", compound=demand.compound, demand_class="long_term")
        domain.save(copy)
    with count_queries() as after:
        worker.get("/demand/chart-data/by_category")
    assert len(after.data_statements()) == len(before.data_statements())


@pytest.fixture
def widget_model(app, no_isolation):
    from flask_appbuilder import Model

    from app.base import Tracked
    from app.charts import Chart
    from app.declare import Admin as AdminBase, Scope, field
    from models.kernel.places import Community

    class Widget(Tracked, Model):
        __tablename__ = "zz_widget"

        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50), info=field(_l("Name")))
        colour: Mapped[Optional[str]] = mapped_column(String(10), info=field(_l("Colour")))
        community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
        community: Mapped[Community] = relationship(info=field(_l("Community")))

        class Admin(AdminBase):
            label = _l("Notes")
            label_plural = _l("Notes")
            menu = "places"
            scope = Scope(community="community_id")
            charts = [Chart("by_colour", _l("Notes"), dimension="colour"),
                      Chart("per_month", _l("Notes"), dimension="created_at:month", series="colour")]

    with app.app_context():
        Widget.__table__.create(db.engine)
    try:
        yield Widget
    finally:
        Widget.Admin.registered = False
        with app.app_context():
            Widget.__table__.drop(db.engine)
            Model.metadata.remove(Widget.__table__)
            from app import policy

            policy.sync(app.appbuilder, echo=lambda *_: None)


def test_a_chart_declared_on_a_throwaway_model(app, widget_model):
    from app import policy
    from models.kernel.places import Community

    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.app_context():
        policy.sync(other.appbuilder, echo=lambda *_: None)
        community = db.session.scalars(select(Community).where(Community.name == "文化路社区")).one()
        # a plain INSERT: the throwaway rows leave no audit-log entries behind (the entity
        # is gone after the test, and the audit list would show its bare class name)
        db.session.execute(widget_model.__table__.insert(), [
            {"name": f"w{i}", "colour": c, "community_id": community.id, "created_at": clock.now()}
            for i, c in enumerate(["红", "红", "蓝"])])
        db.session.commit()
    try:
        with other.app_context():
            sm = other.appbuilder.sm
            role = sm.add_role("临时图表角色", [sm.find_permission_view_menu("can_read", "Widget")])
            user = sm.add_user("widget_tester", "测试", "图表", "widget@demo.invalid", [role], password="Hongse@2026")
            user.set_scope("community", community)
            db.session.commit()
        client = login(other.test_client(), "widget_tester")
        data = client.get("/zz-widget/chart-data/by_colour").json
        assert data["categories"] == ["红", "蓝"] and data["series"][0]["data"] == [2, 1]
        page = client.get("/zz-widget/chart/by_colour").get_data(as_text=True)
        assert "chart-table" in page and "<th>红</th>" in page
        monthly = client.get("/zz-widget/chart-data/per_month").json
        assert {s["name"] for s in monthly["series"]} == {"红", "蓝"}
    finally:
        with other.app_context():
            db.session.execute(delete(widget_model))
            sm = other.appbuilder.sm
            user = sm.find_user(username="widget_tester")
            if user is not None:
                db.session.delete(user)
            role = sm.find_role("临时图表角色")
            if role is not None:
                db.session.delete(role)
            db.session.commit()


def test_periods_in_python():
    import datetime

    from app.periods import MONTH, WEEK, DAY, count_periods, next_period, period_start, periods

    d = datetime.date
    assert periods(d(2026, 1, 15), d(2026, 4, 1), MONTH) == [d(2026, 1, 1), d(2026, 2, 1), d(2026, 3, 1)]
    assert period_start(d(2026, 3, 18), WEEK) == d(2026, 3, 16)  # a Wednesday → its Monday
    assert next_period(d(2025, 12, 1), MONTH) == d(2026, 1, 1)
    assert count_periods(d(2026, 3, 1), d(2026, 3, 8), DAY) == 7


def test_time_buckets_in_sql(ctx):
    """The same buckets on either database (ISO weeks start on Monday), and hours between."""
    import datetime

    from sqlalchemy import DateTime, literal

    from app.periods import as_date, hours_between, truncate

    moment = literal(datetime.datetime(2026, 3, 18, 10, 30), DateTime)
    later = literal(datetime.datetime(2026, 3, 18, 13, 0), DateTime)
    day, week, month, hours = db.session.execute(select(
        truncate(moment, "day"), truncate(moment, "week"), truncate(moment, "month"),
        hours_between(moment, later))).one()
    assert [as_date(v) for v in (day, week, month)] == [
        datetime.date(2026, 3, 18), datetime.date(2026, 3, 16), datetime.date(2026, 3, 1)]
    assert round(float(hours), 2) == 2.5
    with pytest.raises(ValueError):
        truncate(moment, "year")


def test_the_engine_reads_the_period_and_place_with_the_places_the_domain_registers(ctx, monkeypatch):
    """app.charts.read_slice: bad input is a message and the default; a place is chosen
    among those the registered hook lists (none registered: no place can be chosen)."""
    import datetime
    from types import SimpleNamespace

    from app import charts

    today = datetime.date(2026, 3, 31)
    monkeypatch.setattr(charts, "_places", None)
    choice = charts.read_slice({"grid": "1", "start": "2026-03-01", "end": "2026-02-01"}, today)
    assert (choice.slice.start, choice.slice.end) == charts.default_period(today)
    assert choice.slice.grid_id is None and len(choice.problems) == 2
    community = SimpleNamespace(id=7, name="甲")
    grid = SimpleNamespace(id=3, name="一", community_id=7)
    charts.register_places(lambda: ([community], [grid]))
    choice = charts.read_slice({"grid": "3", "start": "2026-03-01", "end": "2026-03-31"}, today)
    assert not choice.problems and (choice.slice.grid_id, choice.slice.community_id) == (3, 7)
    assert charts.slice_args(choice.slice) == {"start": "2026-03-01", "end": "2026-03-31", "community": 7, "grid": 3}
