"""会议看板: the tiles equal SQL counts for the default period (the case study's figures
for 文化路社区), a grid worker sees their grid only, every tile and chart links to the
list behind it filtered to the same period and place (and that list counts the same),
bad input gets a message and the defaults (never a 500), the statement count does not
grow with the data (ten times the demo's rows), the PDF brief and the 大屏."""
from __future__ import annotations

import datetime
import html
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, inspect as sa_inspect, select, text

from app import clock
from app.extensions import db
from models.volunteers.bulletins import Bulletin
from models.people.care import CareGroup, Visit
from models.volunteers.honours import Honoree, StarRound
from models.people.people import Household, PartyMember, Person
from models.kernel.places import Compound, Grid
from models.volunteers.points import Exchange
from models.service.demands import Demand
from models.kernel.users import AppUser
from models.volunteers.activities import Team, Volunteer, team_member
from tests import factories as f


def tiles(page: str) -> dict:
    found = re.findall(r'data-kpi="(\w+)"><span class="kpi-value">([^<]*)', page)
    return {k: v for k, v in found}


def links(page: str) -> dict:
    return {k: html.unescape(v) for v, k in re.findall(r'<a class="kpi" href="([^"]*)" data-kpi="(\w+)"', page)}


def count(model, *where, column=None) -> int:
    measure = func.count(func.distinct(column)) if column is not None else func.count()
    return db.session.scalar(select(measure).select_from(model).where(*where))


def since() -> datetime.datetime:
    return datetime.datetime.combine(clock.today() - datetime.timedelta(days=91), datetime.time.min)


def test_the_dashboard_shows_the_case_study(as_user, ctx):
    page = as_user("worker").get("/dashboard/").get_data(as_text=True)
    values = tiles(page)
    here = f.community().id
    in_period = (Demand.community_id == here, Demand.created_at >= since())
    expected = {
        "collected": (count(Demand, *in_period), 150),
        "taken": (count(Demand, *in_period, Demand.taken_at.is_not(None), Demand.status.not_in(
            ("cancelled", "duplicate"))), 112),
        "in_care": (count(CareGroup, CareGroup.community_id == here), 56),
        "sinking": (count(PartyMember, PartyMember.community_id == here, PartyMember.category == "sinking"), 148),
        "teams": (count(Team, Team.community_id == here), 5),
        "team_volunteers": (count(Volunteer, Volunteer.community_id == here,
                                  Volunteer.id.in_(select(team_member.c.volunteer_id))), 70),
        "star_rounds": (count(StarRound, StarRound.community_id == here), 6),
        "commended": (count(Honoree, Honoree.community_id == here), 54),
        "exchanged": (count(Exchange, Exchange.community_id == here, Exchange.status != "rejected",
                            column=Exchange.volunteer_id), 86),
        "bulletins": (count(Bulletin, Bulletin.community_id == here), 42),
        "compounds": (count(Compound, Compound.community_id == here), 57),
        "sanwu": (count(Compound, Compound.community_id == here, Compound.type == "sanwu"), 28),
        "households": (count(Household, Household.community_id == here), None),
        "residents": (count(Person, Person.community_id == here), None),
    }
    for key, (sql, case_study) in expected.items():
        assert int(values[key]) == sql, key
        if case_study is not None:
            assert sql == case_study, key
    assert "由 10 家单位、82 名党员接单" in page  # 112 taken by 10 units and 82 members
    assert "其中三无小区 28 个" in page
    assert "会议看板" in page and "vendor/echarts/echarts.min.js" in page
    assert page.count('class="chart-box"') == 12


def test_a_grid_worker_sees_only_the_grid(as_user, ctx):
    user = db.session.scalars(select(AppUser).where(AppUser.username == "grid1")).one()
    grid = db.session.get(Grid, user.scope_grid_id)
    page = as_user("grid1").get("/dashboard/").get_data(as_text=True)
    values = tiles(page)
    assert int(values["households"]) == count(Household, Household.grid_id == grid.id)
    assert int(values["residents"]) == count(Person, Person.grid_id == grid.id)
    assert int(values["in_care"]) == count(CareGroup, CareGroup.grid_id == grid.id)
    assert int(values["collected"]) == count(Demand, Demand.grid_id == grid.id, Demand.created_at >= since()) > 0
    assert int(values["collected"]) < 150
    by_grid = as_user("grid1").get("/demand/chart-data/by_grid").json
    assert by_grid["categories"] == [grid.name]
    coverage = as_user("grid1").get("/care-group/chart-data/coverage_by_grid").json
    assert coverage["categories"] == [grid.name]
    assert coverage["series"][0]["data"] == [count(CareGroup, CareGroup.grid_id == grid.id)]


def test_every_tile_links_to_its_list_filtered_alike(as_user, ctx):
    worker = as_user("worker")
    grid = db.session.scalars(select(Grid).where(Grid.community_id == f.community().id).order_by(Grid.code)).first()
    start, end = clock.today() - datetime.timedelta(days=60), clock.today() - datetime.timedelta(days=10)
    page = worker.get(f"/dashboard/?start={start}&end={end}&grid={grid.id}").get_data(as_text=True)
    values, hrefs = tiles(page), links(page)
    assert set(hrefs) == set(values) and all(hrefs.values())
    for key, href in hrefs.items():
        if href.startswith("/service-rates/"):
            assert parse_qs(urlsplit(href).query) == {"start": [str(start)], "end": [str(end)]}, key
            continue
        query = parse_qs(urlsplit(href).query)
        assert [grid.id] == [int(v[0]) for k, v in query.items() if k.endswith("_grid")], key
    # the lists count what the tiles count
    for key in ("collected", "households", "residents", "in_care"):
        listed = worker.get(hrefs[key]).get_data(as_text=True)
        assert re.search(r"记录数目:</strong>\s*(\d+)", listed).group(1) == values[key], key
    collected = count(Demand, Demand.grid_id == grid.id,
                      Demand.created_at >= datetime.datetime.combine(start, datetime.time.min),
                      Demand.created_at < datetime.datetime.combine(end + datetime.timedelta(days=1),
                                                                    datetime.time.min))
    assert int(values["collected"]) == collected
    # and the charts' titles link to their lists with the same filters
    chart_links = [html.unescape(h) for h in re.findall(r'<div class="chart-cell">\s*<h4><a href="([^"]+)"', page)]
    assert len(chart_links) == 12
    assert all(f"_grid={grid.id}" in h or "/chart/" in h for h in chart_links), chart_links
    assert any("_created_at=" in h and f"{start}" in h for h in chart_links)


def test_the_date_filters_of_lists_include_both_days(as_user, ctx):
    """不早于 / 不晚于 on a date-time column take whole days (the dashboard's period)."""
    from app.charts import Slice, list_url

    day = clock.today() - datetime.timedelta(days=5)
    url = list_url(Demand, Slice(start=day, end=day), "created_at")
    listed = as_user("worker").get(url).get_data(as_text=True)
    expected = count(Demand, Demand.community_id == f.community().id,
                     Demand.created_at >= datetime.datetime.combine(day, datetime.time.min),
                     Demand.created_at < datetime.datetime.combine(day + datetime.timedelta(days=1),
                                                                   datetime.time.min))
    found = re.search(r"记录数目:</strong>\s*(\d+)", listed)
    assert (int(found.group(1)) if found else 0) == expected


def test_bad_input_gets_a_message(as_user, ctx):
    worker = as_user("worker")
    for query, message in (("start=2026-05-01&end=2026-04-01", "不能早于"), ("start=2020-01-01&end=2026-01-01", "最多"),
                           ("start=昨天&end=今天", "起止"), ("grid=999999", "不在您的数据范围"),
                           ("grid=abc", "不在您的数据范围"), ("start=2026-01-01", "起止")):
        for path in ("/dashboard/", "/demand/chart/per_month"):
            response = worker.get(f"{path}?{query}")
            assert response.status_code == 200 and message in response.get_data(as_text=True), (path, query)
        response = worker.get(f"/demand/chart-data/per_month?{query}")
        assert response.status_code == 400 and message in response.json["message"], query
    other_grid = db.session.scalars(select(Grid).where(Grid.community_id == f.community("槐荫社区").id)).first()
    assert "不在您的数据范围" in worker.get(f"/dashboard/?grid={other_grid.id}").get_data(as_text=True)
    brief = worker.get("/dashboard/brief.pdf?start=2026-05-01&end=2026-04-01")
    assert brief.status_code == 302


def test_the_json_endpoint_answers_bad_charts_and_measures(as_user, ctx):
    worker = as_user("worker")
    response = worker.get("/demand/chart-data/no_such_chart")
    assert response.status_code == 404 and "no_such_chart" in response.json["message"]
    for measure, message in (("median", "没有这个统计方式"), ("sum:no_such_column", "no_such_column"),
                             ("sum:title", "只有数值字段"), ("avg:requester_phone", "只有数值字段"),
                             ("sum:id", "只有数值字段")):
        response = worker.get(f"/demand/chart-data/by_category?measure={measure}")
        assert response.status_code == 400 and message in response.json["message"], measure
    response = worker.get("/demand/chart-data/top_units?measure=count")
    assert response.status_code == 400 and "固定" in response.json["message"]
    rated = worker.get("/demand/chart-data/by_category?measure=avg:rating")
    assert rated.status_code == 200 and all(isinstance(v, (int, float)) for v in rated.json["series"][0]["data"])
    page = worker.get("/demand/chart/by_category?measure=median")
    assert page.status_code == 200 and "没有这个统计方式" in page.get_data(as_text=True)


def _multiply(tables: list[str], times: int) -> None:
    """Copy every row of ``tables`` ``times - 1`` more times (new ids; unique values made
    unique again), inside the test's transaction (rolled back afterwards)."""
    from app.base import Model

    for name in tables:
        table = Model.metadata.tables[name]
        groups = [list(c.columns) for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"]
        groups += [[c] for c in table.columns if c.unique and not c.primary_key]
        groups += [list(i.columns) for i in table.indexes if i.unique]
        changed = {}  # column name → how it is made unique again: "null" or "suffix"
        for group in groups:
            if any(c.name in changed for c in group):
                continue
            nullable = [c for c in group if c.nullable]
            text_ = [c for c in group if c.type.python_type is str]
            if nullable:
                changed[nullable[0].name] = "null"
            elif text_:
                changed[text_[0].name] = "suffix"
            elif any(c.type.python_type is int and not c.foreign_keys for c in group):
                changed[next(c for c in group if c.type.python_type is int and not c.foreign_keys).name] = "shift"
            else:
                raise AssertionError(f"{name}: {[c.name for c in group]} cannot be copied")
        columns = [c for c in table.columns if not c.primary_key]
        for n in range(2, times + 1):
            how = {"null": lambda c: "NULL", "suffix": lambda c: f"{c.name} || '~{n}'",
                   "shift": lambda c: f"{c.name} + {n * 1_000_000}"}
            values = [how[changed[c.name]](c) if c.name in changed else c.name for c in columns]
            names = ", ".join(c.name for c in columns)
            db.session.execute(text(f"INSERT INTO {name} ({names}) SELECT {', '.join(values)} FROM {name} "
                                    f"WHERE {table.primary_key.columns.values()[0].name} IN "
                                    f"(SELECT {table.primary_key.columns.values()[0].name} FROM {name} "
                                    f"ORDER BY 1 LIMIT :limit)"), {"limit": _originals[name]})


_originals: dict = {}


def test_the_statement_count_does_not_grow_with_the_data(as_user, ctx, count_queries):
    worker, grid_worker = as_user("worker"), as_user("grid1")
    worker.get("/dashboard/")
    with count_queries() as before:
        page = worker.get("/dashboard/").get_data(as_text=True)
    with count_queries() as before_grid:
        grid_worker.get("/dashboard/")
    tables = ["demand", "person", "visit", "service_record", "contribution", "exchange",
              "pledge_project", "compound", "bulletin", "star_round", "team"]
    for name in tables:
        _originals[name] = db.session.scalar(text(f"SELECT count(*) FROM {name}"))
    _multiply(tables, 10)
    for name in tables:
        assert db.session.scalar(text(f"SELECT count(*) FROM {name}")) == 10 * _originals[name], name
    db.session.commit()  # (a savepoint: the test's transaction is rolled back)
    with count_queries() as after:
        bigger = worker.get("/dashboard/").get_data(as_text=True)
    with count_queries() as after_grid:
        grid_worker.get("/dashboard/")
    assert int(tiles(bigger)["collected"]) == 10 * int(tiles(page)["collected"])
    assert int(tiles(bigger)["compounds"]) == 10 * int(tiles(page)["compounds"])
    assert len(after.data_statements()) == len(before.data_statements())
    assert len(after_grid.data_statements()) == len(before_grid.data_statements())
    assert len(before.data_statements()) <= 40, before.data_statements()


def test_the_pdf_brief(as_user, ctx, tmp_path):
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (Debian's poppler-utils) is needed: .ci/run installs it"
    response = as_user("worker").get("/dashboard/brief.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    path = tmp_path / "brief.pdf"
    path.write_bytes(response.data)
    from pypdf import PdfReader

    assert 1 <= len(PdfReader(str(path)).pages) <= 2
    words = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "文化路社区会议简报" in words
    page = as_user("worker").get("/dashboard/").get_data(as_text=True)
    values = tiles(page)
    for key in ("collected", "taken", "resolved", "in_care", "households", "residents", "sinking", "teams",
                "team_volunteers", "star_rounds", "commended", "exchanged", "bulletins", "compounds", "sanwu"):
        assert re.search(rf"(?<!\d){values[key]}(?!\d)", words), key
    for figure in ("150", "112", "56", "148", "70", "54", "86", "42", "57", "28"):
        assert figure in words
    start = clock.today() - datetime.timedelta(days=91)
    assert f"{start} 至 {clock.today()}" in words
    assert "接单单位排行" in words and "各类型小区" in words


def test_the_pdf_brief_of_a_grid_worker_is_their_grid(as_user, ctx, tmp_path):
    user = db.session.scalars(select(AppUser).where(AppUser.username == "grid1")).one()
    grid = db.session.get(Grid, user.scope_grid_id)
    response = as_user("grid1").get("/dashboard/brief.pdf")
    path = tmp_path / "brief.pdf"
    path.write_bytes(response.data)
    words = subprocess.run([shutil.which("pdftotext") or "pdftotext", str(path), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert grid.name in words


def test_the_big_screen(as_user, ctx):
    page = as_user("worker").get("/dashboard/screen").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "screen.css" in page and "大屏" in page
    assert page.count('class="chart-box"') == 12 and 'data-kpi="collected"' in page
    assert "hongseChart(" in page and "{dark: true}" in page
    assert 'class="navbar' not in page  # the screen is the figures alone


@pytest.mark.parametrize("username", ["street", "leader", "secretary", "grid1", "partner", "volunteer"])
def test_the_dashboard_shows_each_role_what_it_may_see(as_user, ctx, username):
    """The street and the leaders read the demands but not the care groups (personal data
    of vulnerable residents): they see the care figures, not the lists behind them.
    Users who see only their own records see the figures of what they may read."""
    from models.kernel.policy import ROLES

    user = db.session.scalars(select(AppUser).where(AppUser.username == username)).one()
    role = ROLES[user.roles[0].name]
    reads = {e for e, level in role["entities"].items() if level in ("read", "write")}
    client = as_user(username)
    may_open = "Demand" in reads
    for path in ("/dashboard/", "/dashboard/screen", "/demand/chart/per_month"):
        assert client.get(path).status_code == (200 if may_open else 403), (username, path)
    if not may_open:
        return
    page = client.get("/dashboard/").get_data(as_text=True)
    care = "CareGroup" in reads
    personal = user.scope_kind == "self"
    assert ('data-kpi="in_care"' in page) == (care or not personal)
    assert ("chart-CareGroup-coverage_by_grid" in page) == (care or not personal)
    assert ('href="/care-group/list/' in page) == care
    assert client.get("/care-group/chart/coverage_by_grid").status_code == (200 if care else 403)


def test_domain_statistics_plug_in_as_charts(as_user, ctx):
    """The service rates, the volunteers' leaderboard and the takers' ranking are charts
    too (page, JSON and table) with the figures of their domain functions."""
    from models.service import rates
    from models.volunteers import stats as volunteer_stats
    from app.scope import acting_as
    from models.kernel.users import AppUser

    worker = as_user("worker")
    data = worker.get("/demand/chart-data/rates_per_month").json
    user = db.session.scalars(select(AppUser).where(AppUser.username == "worker")).one()
    start = clock.today() - datetime.timedelta(days=91)
    end = clock.today() + datetime.timedelta(days=1)
    months = rates.breakdown(rates.MONTH, start, end, user)
    assert data["categories"] == [m.label for m in months]
    assert data["series"][0]["data"] == [None if m.response_rate is None else round(100 * m.response_rate, 1)
                                         for m in months]
    with acting_as(user):
        leaders = volunteer_stats.leaderboard(start, end, user)
        ranking = rates.ranking(start, end, user)
    points = worker.get("/ledger-entry/chart-data/top_points").json
    assert points["series"][0]["data"] == [r.points for r in leaders]
    units = worker.get("/demand/chart-data/top_units").json
    assert units["categories"] == [r.label for r in ranking.units[:10]] and len(ranking.units) == 10
    page = worker.get("/ledger-entry/chart/top_points").get_data(as_text=True)
    assert "积分排行榜" in page and f"<td>{leaders[0].points}</td>" in page


def test_without_its_font_the_brief_says_what_to_do(app, as_user, ctx, monkeypatch, tmp_path):
    from views.reporting import brief

    monkeypatch.setattr(brief, "FONT_NAME", "NoSuchFont")
    monkeypatch.setitem(app.config, "BRIEF_FONT", str(tmp_path / "missing.ttf"))
    worker = as_user("worker")
    response = worker.get("/dashboard/brief.pdf")
    assert response.status_code == 302
    assert "中文字体尚未安装" in worker.get(response.headers["Location"]).get_data(as_text=True)


def test_the_pdf_brief_of_an_empty_period(as_user, ctx):
    response = as_user("worker").get("/dashboard/brief.pdf?start=2024-01-01&end=2024-03-31")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
