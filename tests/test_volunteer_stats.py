"""The volunteers' figures in SQL equal the same figures counted by hand from the rows,
under scope, one statement each."""
from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from app import clock

from models.volunteers import stats as volunteer_stats
from app.extensions import db
from models.volunteers.points import Exchange, LedgerEntry
from models.volunteers.activities import Activity, ServiceRecord, Volunteer
from tests import factories as f


def year():
    end = clock.today() + datetime.timedelta(days=1)
    return end - datetime.timedelta(days=400), end


def first_of_month(day) -> datetime.date:
    day = day.date() if isinstance(day, datetime.datetime) else day
    return day.replace(day=1)


def test_hours_by_team_and_month(ctx):
    start, end = year()
    figures = volunteer_stats.hours_by_team(start, end, f.user("worker"))
    expected = defaultdict(lambda: [Decimal(0), 0])
    for record in db.session.scalars(select(ServiceRecord)):
        if start <= record.served_on < end and record.community_id == f.community().id:
            team = record.activity.team.name if record.activity and record.activity.team else "其他"
            expected[(first_of_month(record.served_on), team)][0] += record.hours
            expected[(first_of_month(record.served_on), team)][1] += 1
    assert {(r.month, r.team): [r.hours, r.records] for r in figures} == dict(expected)
    assert len(figures) >= 12 and sum(r.records for r in figures) >= 250


def test_the_leaderboard(ctx):
    start, end = year()
    leaders = volunteer_stats.leaderboard(start, end, f.user("worker"), limit=10)
    earned = defaultdict(int)
    at_start, at_end = (datetime.datetime.combine(d, datetime.time()) for d in (start, end))
    for entry in db.session.scalars(select(LedgerEntry)):
        if at_start <= entry.at < at_end and entry.kind in ("award", "reverse") \
                and entry.source in ("activity", "star", "commendation", "ledger"):
            earned[entry.volunteer_id] += entry.amount
    numbers = {v.id: v.number for v in db.session.scalars(select(Volunteer))}
    expected = sorted(((p, numbers[v], v) for v, p in earned.items() if p > 0), key=lambda t: (-t[0], t[1]))[:10]
    assert [(r.points, r.number, r.volunteer_id) for r in leaders] == expected
    assert len(leaders) == 10 and leaders[0].hours > 0 and leaders[0].name


def test_activities_and_exchanges_by_month(ctx):
    start, end = year()
    activities = volunteer_stats.activities_by_month(start, end, f.user("worker"))
    expected = defaultdict(lambda: [0, 0])
    for activity in db.session.scalars(select(Activity).where(Activity.status == "completed")):
        if start <= activity.starts_at.date() < end:
            expected[first_of_month(activity.starts_at)][0] += 1
            expected[first_of_month(activity.starts_at)][1] += sum(s.status == "checked_in" for s in activity.signups)
    assert {r.month: [r.count, r.total] for r in activities} == dict(expected)
    exchanges = volunteer_stats.exchanges_by_month(start, end, f.user("worker"))
    expected = defaultdict(lambda: [0, 0])
    for exchange in db.session.scalars(select(Exchange).where(Exchange.status != "rejected")):
        expected[first_of_month(exchange.requested_at)][0] += 1
        expected[first_of_month(exchange.requested_at)][1] += exchange.points
    assert {r.month: [r.count, r.total] for r in exchanges} == dict(expected)
    assert sum(r.count for r in exchanges) == 86


def test_figures_keep_to_the_scope(ctx):
    start, end = year()
    other = f.user("worker2")
    assert volunteer_stats.hours_by_team(start, end, other) == []
    assert volunteer_stats.leaderboard(start, end, other) == []
    assert volunteer_stats.activities_by_month(start, end, other) == []
    assert volunteer_stats.exchanges_by_month(start, end, other) == []
    assert volunteer_stats.leaderboard(start, end, f.user("street"))  # the street sees its communities


def test_each_figure_is_one_statement(ctx, count_queries):
    start, end = year()
    user = f.user("worker")
    for function in (volunteer_stats.hours_by_team, volunteer_stats.leaderboard, volunteer_stats.activities_by_month,
                     volunteer_stats.exchanges_by_month):
        with count_queries() as counted:
            function(start, end, user)
        assert counted.count == 1, (function.__name__, counted.statements)
