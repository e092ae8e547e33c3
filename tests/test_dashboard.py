"""会议看板: tiles equal SQL counts for the default period (the case study's figures for
文化路社区), a grid worker sees their grid only, bad input gets a message and the
defaults (never a 500), and the statement count does not grow with the data."""
from __future__ import annotations

import datetime
import re

from sqlalchemy import func, select

from app import clock, domain
from app.extensions import db
from models.care import CareGroup
from models.people import Household
from models.service import Demand
from tests import factories as f


def tiles(page: str) -> dict:
    found = re.findall(r'data-kpi="(\w+)"><span class="kpi-value">([^<]*)', page)
    return {k: v for k, v in found}


def test_the_dashboard_shows_the_case_study(as_user, ctx):
    page = as_user("worker").get("/dashboard/").get_data(as_text=True)
    values = tiles(page)
    community = f.community()
    since = datetime.datetime.combine(clock.today() - datetime.timedelta(days=91), datetime.time.min)
    collected = db.session.scalar(select(func.count()).select_from(Demand).where(
        Demand.community_id == community.id, Demand.created_at >= since))
    assert int(values["collected"]) == collected == 150
    assert int(values["in_care"]) == db.session.scalar(select(func.count()).select_from(CareGroup).where(
        CareGroup.community_id == community.id)) == 56
    assert int(values["households"]) == db.session.scalar(select(func.count()).select_from(Household).where(
        Household.community_id == community.id))
    assert "会议看板" in page and "vendor/echarts/echarts.min.js" in page and page.count('class="chart-box"') == 5


def test_a_grid_worker_sees_only_the_grid(as_user, ctx):
    from models.users import AppUser

    user = db.session.scalars(select(AppUser).where(AppUser.username == "grid1")).one()
    values = tiles(as_user("grid1").get("/dashboard/").get_data(as_text=True))
    assert int(values["households"]) == db.session.scalar(select(func.count()).select_from(Household).where(
        Household.grid_id == user.scope_grid_id))


def test_bad_input_gets_a_message(as_user, ctx):
    worker = as_user("worker")
    for query, message in (("start=2026-05-01&end=2026-04-01", "不能早于"), ("start=2020-01-01&end=2026-01-01", "最多"),
                           ("start=昨天&end=今天", "起止"), ("grid=999999", "不在您的数据范围")):
        response = worker.get(f"/dashboard/?{query}")
        assert response.status_code == 200 and message in response.get_data(as_text=True), query
    from models.places import Grid

    other_grid = db.session.scalars(select(Grid).where(Grid.community_id == f.community("槐荫社区").id)).first()
    assert "不在您的数据范围" in worker.get(f"/dashboard/?grid={other_grid.id}").get_data(as_text=True)


def test_the_statement_count_does_not_grow_with_the_data(as_user, ctx, count_queries):
    worker = as_user("worker")
    worker.get("/dashboard/")
    with count_queries() as before:
        worker.get("/dashboard/")
    demand = db.session.scalars(select(Demand).order_by(Demand.id)).first()
    for n in range(10):
        domain.save(Demand(title=f"看板测试{n}", description="x", category=demand.category, source="phone",
                           requester_name="测试", compound=demand.compound, demand_class="long_term"))
    with count_queries() as after:
        worker.get("/dashboard/")
    assert len(after.data_statements()) == len(before.data_statements())
