"""Service rates of the 三单 loop (models.service.rates) and their page: exact figures on a small set
of demands with known times, in a community of their own (in 2024, long before the
demo's demands), zero denominators, data scope, a constant number of statements, the
page for the roles, bad input, and the demo's figures."""
from __future__ import annotations

import datetime
import re
from types import SimpleNamespace

import pytest

from app import clock, domain, scope
from app.extensions import db
from tests import factories as f

T = datetime.datetime
START, END = T(2024, 1, 1), T(2024, 4, 1)


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


@pytest.fixture
def loop(ctx):
    """Nine demands filed in January–March 2024 in a new community (two grids and a
    compound of no grid), plus two just outside the period:

    ====  ==========  ===  ====  ============================================================
    d     filed       cat  grid  what happened
    ====  ==========  ===  ====  ============================================================
    d1    01-10 09:00  A   g1    dispatched U1 10:00, taken 16:00 (6 h), resolved +48 h, rated 5
    d2    01-15 09:00  A   g1    pool 10:00, claimed by M1 01-16 16:00 (30 h: late), resolved
                                 +12 h, rated 3
    d3    01-21 09:00  B   g2    (a Sunday) dispatched U1 10:00, taken 12:00 (2 h), started,
                                 resolved +72 h (late: 2 days), not rated
    d4    01-25 09:00  A   g2    dispatched U2, cancelled
    d5    02-05 09:00  B   —     dispatched M2 09:30, taken 11:30 (2 h), resolved +6 h, rated 4
    d6    02-10 09:00  A   g1    pending
    d7    02-12 09:00  A   g1    dispatched U2, not taken
    d8    02-20 09:00  A   g2    duplicate of d7
    d9    03-03 09:00  A   g1    dispatched U1, taken +10 h, resolved +24 h, rated 2: reopened
    ====  ==========  ===  ====  ============================================================

    A: 24 hours to take, 7 days to resolve; B: 4 hours, 2 days.
    """
    from models.kernel.orgs import Organisation
    from models.people.people import PartyMember, Person
    from models.service.demands import Demand, ServiceCategory
    from models.service.machine import (CANCEL, CLAIM, DISPATCH, MARK_DUPLICATE, RATE, RESOLVE, START as BEGIN, TAKE,
                                        act, create)

    community = f.new_community()
    g1, g2 = f.new_grid(community, code=f"R1-{f.n()}"), f.new_grid(community, code=f"R2-{f.n()}")
    c1, c2, c0 = f.new_compound(community, g1), f.new_compound(community, g2), f.new_compound(community)
    i = f.n()
    cat_a = domain.save(ServiceCategory(code=f"rate-a-{i}", name=f"测试类别甲{i}", take_hours=24, resolve_days=7,
                                        takers="any", enabled=True, sort=1))
    cat_b = domain.save(ServiceCategory(code=f"rate-b-{i}", name=f"测试类别乙{i}", take_hours=4, resolve_days=2,
                                        takers="any", enabled=True, sort=2))
    u1 = domain.save(Organisation(name=f"测试单位一{i}", type="paired_unit", community=community))
    u2 = domain.save(Organisation(name=f"测试单位二{i}", type="paired_unit", community=community))
    branch = domain.save(Organisation(name=f"测试支部{i}", type="party_branch", community=community))
    m1 = domain.save(PartyMember(person=domain.save(Person(name="党员甲", residence_type="registered", compound=c1)),
                                 branch=branch, status="full", category="retired"))
    m2 = domain.save(PartyMember(person=domain.save(Person(name="党员乙", residence_type="registered", compound=c2)),
                                 branch=branch, status="full", category="retired"))

    def file(at, category, compound, title):
        with clock.frozen(_at(at)):
            return create(Demand(title=title, description="测试", category=category, source="visit",
                                 requester_name="张三", requester_phone="13900000000", compound=compound))

    def step(demand, at, action, **data):
        with clock.frozen(_at(at)):
            act(demand, action, None, **data)

    done = {"result": "已处理", "evidence": "现场照片"}
    file("2023-12-31 23:59:59", cat_a, c1, "上一年")
    file("2024-04-01 00:00:00", cat_a, c1, "下一季度")
    d1 = file("2024-01-10 09:00", cat_a, c1, "d1")
    step(d1, "2024-01-10 10:00", DISPATCH, unit=u1)
    step(d1, "2024-01-10 16:00", TAKE)
    step(d1, "2024-01-12 16:00", RESOLVE, **done)
    step(d1, "2024-01-13 09:00", RATE, rating=5)
    d2 = file("2024-01-15 09:00", cat_a, c1, "d2")
    step(d2, "2024-01-15 10:00", DISPATCH, pool=True)
    step(d2, "2024-01-16 16:00", CLAIM, member=m1)
    step(d2, "2024-01-17 04:00", RESOLVE, **done)
    step(d2, "2024-01-18 09:00", RATE, rating=3)
    d3 = file("2024-01-21 09:00", cat_b, c2, "d3")
    step(d3, "2024-01-21 10:00", DISPATCH, unit=u1)
    step(d3, "2024-01-21 12:00", TAKE)
    step(d3, "2024-01-21 13:00", BEGIN)
    step(d3, "2024-01-24 12:00", RESOLVE, **done)
    d4 = file("2024-01-25 09:00", cat_a, c2, "d4")
    step(d4, "2024-01-25 10:00", DISPATCH, unit=u2)
    step(d4, "2024-01-25 12:00", CANCEL, note="居民已自行解决")
    d5 = file("2024-02-05 09:00", cat_b, c0, "d5")
    step(d5, "2024-02-05 09:30", DISPATCH, member=m2)
    step(d5, "2024-02-05 11:30", TAKE)
    step(d5, "2024-02-05 17:30", RESOLVE, **done)
    step(d5, "2024-02-06 09:00", RATE, rating=4)
    file("2024-02-10 09:00", cat_a, c1, "d6")
    d7 = file("2024-02-12 09:00", cat_a, c1, "d7")
    step(d7, "2024-02-12 10:00", DISPATCH, unit=u2)
    d8 = file("2024-02-20 09:00", cat_a, c2, "d8")
    step(d8, "2024-02-20 10:00", MARK_DUPLICATE, original=d7)
    d9 = file("2024-03-03 09:00", cat_a, c1, "d9")
    step(d9, "2024-03-03 10:00", DISPATCH, unit=u1)
    step(d9, "2024-03-03 20:00", TAKE)
    step(d9, "2024-03-04 20:00", RESOLVE, **done)
    step(d9, "2024-03-05 09:00", RATE, rating=2)
    assert d9.status == "pending" and d9.rating == 2  # a poor rating reopens the demand
    return SimpleNamespace(community=community, g1=g1, g2=g2, cat_a=cat_a, cat_b=cat_b, u1=u1, u2=u2, m1=m1,
                           m2=m2)


def _figures(row) -> dict:
    return {name: getattr(row, name) for name in (
        "collected", "withdrawn", "dispatched", "taken", "taken_on_time", "resolved", "resolved_on_time", "rated",
        "satisfied")}


def _scoped(username, kind, node):
    """A demo user given another scope (rolled back with the test)."""
    user = f.user(username)
    user.set_scope(kind, node)
    db.session.commit()
    return user


def test_totals_rates_and_means(loop):
    from models.service import rates

    report = rates.report(START, END, user=None)
    t = report.total
    assert _figures(t) == {"collected": 9, "withdrawn": 2, "dispatched": 5, "taken": 4, "taken_on_time": 3,
                           "resolved": 4, "resolved_on_time": 3, "rated": 4, "satisfied": 2}
    assert t.response_rate == pytest.approx(3 / 5)
    assert t.resolution_rate == pytest.approx(1.0)
    assert t.satisfaction_rate == pytest.approx(2 / 4)
    assert t.on_time_resolution_rate == pytest.approx(3 / 4)
    assert t.mean_rating == pytest.approx(14 / 4)  # 5, 3, 4 and the poor 2 that reopened d9
    assert t.mean_take_hours == pytest.approx((6 + 30 + 2 + 2) / 4)
    assert t.mean_resolve_hours == pytest.approx((48 + 12 + 72 + 6) / 4)
    assert not report.empty


def test_by_month_with_zero_denominators(loop):
    from models.service import rates

    months = rates.breakdown("period", START, END, user=None)
    assert [m.key for m in months] == [datetime.date(2024, 1, 1), datetime.date(2024, 2, 1),
                                       datetime.date(2024, 3, 1)]
    assert [m.label for m in months] == ["2024-01", "2024-02", "2024-03"]
    jan, feb, mar = months
    assert _figures(jan) == {"collected": 4, "withdrawn": 1, "dispatched": 3, "taken": 3, "taken_on_time": 2,
                             "resolved": 3, "resolved_on_time": 2, "rated": 2, "satisfied": 1}
    assert jan.response_rate == pytest.approx(2 / 3) and jan.resolution_rate == 1.0
    assert jan.satisfaction_rate == 0.5
    assert jan.mean_take_hours == pytest.approx(38 / 3) and jan.mean_resolve_hours == pytest.approx(44)
    assert _figures(feb) == {"collected": 4, "withdrawn": 1, "dispatched": 2, "taken": 1, "taken_on_time": 1,
                             "resolved": 1, "resolved_on_time": 1, "rated": 1, "satisfied": 1}
    assert (feb.response_rate, feb.resolution_rate, feb.satisfaction_rate) == (0.5, 1.0, 1.0)
    assert feb.mean_take_hours == pytest.approx(2) and feb.mean_resolve_hours == pytest.approx(6)
    # March: d9 was reopened by its poor rating; nothing dispatched or taken, one rating (2)
    assert _figures(mar) == {"collected": 1, "withdrawn": 0, "dispatched": 0, "taken": 0, "taken_on_time": 0,
                             "resolved": 0, "resolved_on_time": 0, "rated": 1, "satisfied": 0}
    assert mar.response_rate is None and mar.resolution_rate is None and mar.on_time_resolution_rate is None
    assert mar.mean_take_hours is None and mar.mean_resolve_hours is None
    assert mar.satisfaction_rate == 0.0
    # the rows add up to the total
    assert _figures(rates.total(months)) == _figures(rates.report(START, END, user=None).total)


def test_empty_months_are_rows_of_zeros_and_none(loop):
    from models.service import rates

    rows = rates.breakdown("month", T(2023, 6, 1), T(2023, 12, 1), user=None)
    assert [r.label for r in rows] == ["2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11"]
    assert all(r.collected == 0 and r.response_rate is None and r.resolution_rate is None
               and r.satisfaction_rate is None and r.mean_take_hours is None for r in rows)
    empty = rates.report(T(2023, 6, 1), T(2023, 12, 1), user=None)
    assert empty.empty and empty.total.response_rate is None and empty.grids == [] and empty.ranking.units == []


def test_by_week_and_by_day(loop):
    from models.service import rates

    weeks = rates.breakdown("period", T(2024, 1, 1), T(2024, 2, 1), user=None, unit="week")
    # weeks start on Monday; d3 was filed on Sunday 21 January: the week of the 15th
    assert [(w.key.isoformat(), w.collected) for w in weeks] == [
        ("2024-01-01", 0), ("2024-01-08", 1), ("2024-01-15", 2), ("2024-01-22", 1), ("2024-01-29", 0)]
    days = rates.breakdown("day", T(2024, 1, 20), T(2024, 1, 22), user=None)
    assert [(d.key, d.collected, d.taken_on_time) for d in days] == [
        (datetime.date(2024, 1, 20), 0, 0), (datetime.date(2024, 1, 21), 1, 1)]


def test_by_grid_and_by_category(loop):
    from models.service import rates

    grids = rates.breakdown("grid", START, END, user=None)
    assert [(g.key, g.collected) for g in grids] == [(loop.g1.id, 5), (loop.g2.id, 3), (None, 1)]
    g1, g2, nogrid = grids
    assert nogrid.label and g1.label == loop.g1.name and g1.community == loop.community.name
    assert _figures(g1) == {"collected": 5, "withdrawn": 0, "dispatched": 3, "taken": 2, "taken_on_time": 1,
                            "resolved": 2, "resolved_on_time": 2, "rated": 3, "satisfied": 1}
    assert g1.response_rate == pytest.approx(1 / 3)
    assert _figures(g2) == {"collected": 3, "withdrawn": 2, "dispatched": 1, "taken": 1, "taken_on_time": 1,
                            "resolved": 1, "resolved_on_time": 0, "rated": 0, "satisfied": 0}
    assert g2.satisfaction_rate is None and g2.mean_rating is None and g2.mean_resolve_hours == pytest.approx(72)
    assert (nogrid.taken, nogrid.satisfaction_rate) == (1, 1.0)

    categories = rates.breakdown("category", START, END, user=None)
    assert [(c.key, c.label, c.collected) for c in categories] == [
        (loop.cat_a.id, loop.cat_a.name, 7), (loop.cat_b.id, loop.cat_b.name, 2)]
    a, b = categories
    assert (a.dispatched, a.taken, a.taken_on_time, a.resolved, a.rated, a.satisfied) == (3, 2, 1, 2, 3, 1)
    assert (b.dispatched, b.taken, b.taken_on_time, b.resolved, b.resolved_on_time) == (2, 2, 2, 2, 1)
    assert b.response_rate == 1.0 and b.on_time_resolution_rate == 0.5
    assert b.mean_take_hours == pytest.approx(2) and b.mean_resolve_hours == pytest.approx(39)


def test_takers_and_rankings(loop):
    from models.service import rates

    takers = {t.key: t for t in rates.breakdown("taker", START, END, user=None)}
    u1, u2 = takers[("unit", loop.u1.id)], takers[("unit", loop.u2.id)]
    m1, m2 = takers[("member", loop.m1.id)], takers[("member", loop.m2.id)]
    assert (u1.taken, u1.resolved, u1.rated, u1.mean_rating) == (2, 2, 1, 5.0)  # d9 lost its taker
    assert (u2.collected, u2.withdrawn, u2.dispatched, u2.taken, u2.response_rate) == (2, 1, 1, 0, 0.0)
    assert takers[None].collected == 3  # d6 pending, d8 duplicate, d9 reopened
    assert (m1.taken, m1.taken_on_time, m1.mean_rating) == (1, 0, 3.0)
    assert (m2.taken, m2.taken_on_time, m2.mean_rating) == (1, 1, 4.0)

    ranking = rates.ranking(START, END, user=None)
    assert [(r.rank, r.key, r.label, r.taken) for r in ranking.units] == [
        (1, ("unit", loop.u1.id), loop.u1.name, 2)]  # U2 took nothing: not ranked
    # the same orders taken and resolved: the better mean rating first
    assert [(r.rank, r.key, r.label) for r in ranking.members] == [
        (1, ("member", loop.m2.id), "党员乙"), (2, ("member", loop.m1.id), "党员甲")]
    assert ranking.members[0].as_dict()["key"] == ["member", loop.m2.id]


def test_ties_share_their_rank(ctx):
    from models.service.rates import Rates, rank

    def member(i, name, taken, resolved, ratings):
        return Rates(key=("member", i), label=name, taken=taken, resolved=resolved, rated=len(ratings),
                     rating_sum=sum(ratings))

    ranking = rank([member(1, "丙", 2, 1, [5]), member(2, "甲", 2, 2, [4, 5]), member(3, "乙", 2, 2, [5, 4]),
                    member(4, "丁", 2, 2, []), member(5, "戊", 0, 0, []), Rates(key=None, taken=3)])
    assert [(r.rank, r.label) for r in ranking.members] == [(1, "乙"), (1, "甲"), (3, "丁"), (4, "丙")]  # by code point
    assert ranking.units == []


def test_plain_values_for_the_charts(loop):
    from models.service import rates

    jan = rates.breakdown("month", START, END, user=None)[0].as_dict()
    assert jan["key"] == "2024-01-01" and jan["collected"] == 4 and jan["response_rate"] == pytest.approx(2 / 3)
    assert rates.breakdown("month", START, END, user=None)[2].as_dict()["response_rate"] is None


def test_scope_grid_worker_and_another_community(loop):
    from models.service import rates

    grid_worker = _scoped("grid1", scope.GRID, loop.g1)
    report = rates.report(START, END, user=grid_worker)
    # their grid's demands and those of the community in no grid (d5)
    assert report.total.collected == 6
    assert [(g.key, g.collected) for g in report.grids] == [(loop.g1.id, 5), (None, 1)]
    assert {t.key for t in report.takers} == {("unit", loop.u1.id), ("unit", loop.u2.id), ("member", loop.m1.id),
                                              ("member", loop.m2.id), None}
    assert [r.key for r in report.ranking.units] == [("unit", loop.u1.id)]

    for other in (f.user("worker2"), f.user("secretary")):  # the second community; 文化路社区
        report = rates.report(START, END, user=other)
        assert report.empty and report.total.collected == 0 and report.total.response_rate is None
        assert report.grids == [] and report.categories == [] and report.ranking.members == []
        assert all(p.collected == 0 for p in report.periods)
    whole = _scoped("worker", scope.COMMUNITY, loop.community)
    assert rates.report(START, END, user=whole).total.collected == 9


def test_acting_user_is_the_default_scope(loop):
    from models.service import rates

    with scope.acting_as(f.user("worker2")):
        assert rates.report(START, END).total.collected == 0
    assert rates.report(START, END).total.collected == 9  # no user (the CLI): not scoped


def test_statements_are_few_and_constant(loop, count_queries):
    from models.service import rates

    user = _scoped("worker", scope.COMMUNITY, loop.community)
    (user.scope_kind, user.scope_street_id, user.scope_community_id, user.scope_grid_id, user.id)  # loaded
    counts = []
    for start, end in ((START, END), (T(2024, 1, 1), T(2024, 1, 2)), (T(2023, 1, 1), T(2025, 1, 1))):
        with count_queries() as counter:
            rates.report(start, end, user=user)
        counts.append(counter.count)
    demo_user = f.user("secretary")
    (demo_user.scope_kind, demo_user.scope_community_id, demo_user.scope_grid_id, demo_user.id)
    with count_queries() as counter:  # the demo: 150 demands, 92 takers
        demo = rates.report(clock.now() - datetime.timedelta(days=400), clock.now() + datetime.timedelta(days=1),
                            user=demo_user, unit="week")
    counts.append(counter.count)
    assert demo.total.collected >= 150
    assert counts == [4, 4, 4, 4]
    assert all("GROUP BY" in s.upper() for s in counter.statements)


def test_unknown_dimension_or_unit(ctx):
    from models.service import rates

    with pytest.raises(ValueError):
        rates.breakdown("colour", START, END)
    with pytest.raises(ValueError):
        rates.breakdown("period", START, END, unit="year; drop table demand")


def test_demo_seed(ctx):
    """The case study: 150 demands collected, 112 taken by 10 unit party organisations
    and 82 sinking party members."""
    from models.service import rates

    report = rates.report(clock.now() - datetime.timedelta(days=400), clock.now() + datetime.timedelta(days=1),
                          user=f.user("secretary"))
    assert report.total.collected == 150
    assert report.total.taken == 112
    assert len(report.ranking.units) == 10 and len(report.ranking.members) == 82
    assert sum(r.taken for r in report.ranking.units) == 30
    assert sum(r.taken for r in report.ranking.members) == 82
    assert report.total.withdrawn == 12
    assert 0 < report.total.response_rate < 1 and 0 < report.total.satisfaction_rate <= 1
    assert report.total.rated == 82 and report.total.resolved == 96


# ----------------------------------------------------------------------------- the page

URL = "/service-rates/"


@pytest.mark.parametrize("username", ["secretary", "leader"])
def test_page_renders(as_user, username):
    response = as_user(username).get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for section in ("rates-periods", "rates-grids", "rates-categories", "rates-units", "rates-members"):
        assert f'id="{section}"' in page
    assert re.search(r"\d+\.\d%", page)  # percentages
    assert 'data-print' in page and 'onclick' not in page
    assert "https://" not in page.split("</head>")[0]  # no remote assets


def _panel_words(page: str) -> set[str]:
    """English words in the visible text of the page's panel (the navbar is not ours)."""
    import html

    panel = page[page.index('<div class="panel panel-primary'):]
    panel = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", panel)
    shown = " ".join(re.findall(r'\s(?:placeholder|title|alt|aria-label)="([^"]*)"', panel))
    text = html.unescape(re.sub(r"(?s)<[^>]+>", " ", panel) + " " + shown)
    return set(re.findall(r"[A-Za-z]{2,}", text))


@pytest.mark.parametrize("query", [{}, {"start": "2001-01-01", "end": "2001-01-31"}, {"start": "2024-13-01"},
                                   {"unit": "year"}, {"start": "2020-01-01", "end": "2024-12-31", "unit": "day"},
                                   {"start": "1999-12-31"}, {"start": "2024-03-01", "end": "2024-03-31",
                                                             "unit": "week"}])
def test_page_is_chinese(as_user, query):
    page = as_user("secretary").get(URL, query_string=query).get_data(as_text=True)
    assert not _panel_words(page), _panel_words(page)


def test_page_menu(as_user):
    page = as_user("secretary").get("/").get_data(as_text=True)
    assert URL in page


def test_page_shows_the_loop(loop, as_user):
    _scoped("secretary", scope.COMMUNITY, loop.community)
    page = as_user("secretary").get(URL, query_string={"start": "2024-01", "end": "2024-03"}).get_data(as_text=True)
    assert "2024-01-01" in page and "2024-03-31" in page
    assert "60.0%" in page and "100.0%" in page and "50.0%" in page  # response, resolution, satisfaction
    assert "10.0" in page and "34.5" in page  # mean hours
    assert loop.u1.name in page and "党员乙" in page
    assert page.index("党员乙") < page.index("党员甲")
    weekly = as_user("secretary").get(URL, query_string={"start": "2024-01-01", "end": "2024-01-31",
                                                          "unit": "week"})
    assert weekly.status_code == 200 and "2024-01-15" in weekly.get_data(as_text=True)


def test_page_empty_state(as_user):
    response = as_user("secretary").get(URL, query_string={"start": "2001-01-01", "end": "2001-03-31"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "empty-state" in page and 'id="rates-periods"' not in page


def test_page_forbidden_for_the_system_admin(as_user):
    response = as_user("sysadmin").get(URL)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/service-rates" not in response.headers["Location"]


@pytest.mark.parametrize("query, message", [
    ({"start": "2024-13-01"}, "请输入日期，例如 2024-03-01。"),
    ({"start": "yesterday"}, "请输入日期，例如 2024-03-01。"),
    ({"end": "2024-02-30"}, "请输入日期，例如 2024-03-01。"),
    ({"start": "2024-03-01", "end": "2024-02-01"}, "结束日期早于开始日期。"),
    ({"start": "0001-01-01"}, None),
    ({"start": "2024-01-01", "end": "9999-12-31"}, None),
    ({"unit": "year"}, None),
    ({"start": "2020-01-01", "end": "2024-12-31", "unit": "day"}, None),
])
def test_bad_input_is_explained(as_user, query, message):
    response = as_user("secretary").get(URL, query_string=query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(r'class="alert alert-danger rates-error"[^>]*>(.*?)</div>', page, re.S)
    assert error, page
    if message is not None:
        assert message in error.group(1)
    assert 'id="rates-periods"' not in page


def test_default_period_and_month_input(app):
    from views.service.rates import default_period, parse_day

    assert default_period(datetime.date(2026, 1, 15)) == (datetime.date(2025, 11, 1), datetime.date(2026, 1, 31))
    assert default_period(datetime.date(2024, 3, 31)) == (datetime.date(2024, 1, 1), datetime.date(2024, 3, 31))
    assert parse_day("2024-02", end=False) == datetime.date(2024, 2, 1)
    assert parse_day("2024-02", end=True) == datetime.date(2024, 2, 29)
    assert parse_day(" 2024-2-5 ", end=True) == datetime.date(2024, 2, 5)


def test_page_defaults_to_the_last_three_months(as_user):
    with clock.frozen(T(2024, 3, 10, 9)):
        page = as_user("secretary").get(URL).get_data(as_text=True)
    assert 'value="2024-01-01"' in page and 'value="2024-03-31"' in page
