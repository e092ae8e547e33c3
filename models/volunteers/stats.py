"""The volunteers' figures for the meeting charts, each one GROUP BY in SQL under the
user's data scope (no rows are loaded into Python to be counted): hours per team per
month, the points leaderboard, activities per month, exchanges per month.

Periods are ``[start, end)`` dates; months are keyed by their first day.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select

from app import scope
from app.extensions import db
from app.periods import as_date, month_of
from models.people.people import Person
from models.volunteers.activities import CHECKED_IN, COMPLETED, Activity, ServiceRecord, SignUp, Team, Volunteer
from models.volunteers.points import AWARD, REJECTED, REVERSE, Exchange, LedgerEntry


def _bounds(column, start: datetime.date, end: datetime.date):
    return and_(column >= start, column < end)


@dataclass(frozen=True)
class TeamHours:
    month: datetime.date
    team: str
    hours: Decimal
    records: int


def hours_by_team(start: datetime.date, end: datetime.date, user=None) -> list[TeamHours]:
    """Service hours per team per month (service outside a team's activity: 其他)."""
    from flask_babel import gettext

    month = month_of(ServiceRecord.served_on)
    stmt = (select(month.label("month"), Team.name, func.sum(ServiceRecord.hours), func.count())
            .select_from(ServiceRecord)
            .outerjoin(Activity, Activity.id == ServiceRecord.activity_id)
            .outerjoin(Team, Team.id == Activity.team_id)
            .where(_bounds(ServiceRecord.served_on, start, end))
            .group_by(month, Team.id, Team.name).order_by(month, Team.name))
    rows = db.session.execute(scope.apply(stmt, ServiceRecord, user)).all()
    return [TeamHours(as_date(m), name or gettext("Other"), Decimal(str(h or 0)).quantize(Decimal("0.1")), n)
            for m, name, h, n in rows]


@dataclass(frozen=True)
class Leader:
    volunteer_id: int
    number: str | None
    name: str
    points: int
    hours: Decimal


def leaderboard(start: datetime.date, end: datetime.date, user=None, *, limit: int = 10,
                where=()) -> list[Leader]:
    """The volunteers who earned the most points in the period (awards less their
    reversals), with their hours; ties by volunteer number. ``where``: more conditions on
    the volunteers (a place)."""
    at_start = datetime.datetime.combine(start, datetime.time())
    at_end = datetime.datetime.combine(end, datetime.time())
    earned = (select(LedgerEntry.volunteer_id.label("vid"), func.sum(LedgerEntry.amount).label("points"))
              .where(_bounds(LedgerEntry.at, at_start, at_end),
                     LedgerEntry.kind.in_((AWARD, REVERSE)), LedgerEntry.source.in_(("activity", "star",
                                                                                     "commendation", "ledger")))
              .group_by(LedgerEntry.volunteer_id).subquery())
    hours = (select(ServiceRecord.volunteer_id.label("vid"), func.sum(ServiceRecord.hours).label("hours"))
             .where(_bounds(ServiceRecord.served_on, start, end))
             .group_by(ServiceRecord.volunteer_id).subquery())
    stmt = (select(Volunteer.id, Volunteer.number, Person.name, earned.c.points, hours.c.hours)
            .join(earned, earned.c.vid == Volunteer.id)
            .join(Person, Person.id == Volunteer.person_id)
            .outerjoin(hours, hours.c.vid == Volunteer.id)
            .where(earned.c.points > 0, *where)
            .order_by(earned.c.points.desc(), Volunteer.number).limit(limit))
    rows = db.session.execute(scope.apply(stmt, Volunteer, user)).all()
    return [Leader(vid, number, name, int(points), Decimal(str(h or 0)).quantize(Decimal("0.1")))
            for vid, number, name, points, h in rows]


@dataclass(frozen=True)
class MonthCount:
    month: datetime.date
    count: int
    total: int  # participants (activities) or points (exchanges)


def activities_by_month(start: datetime.date, end: datetime.date, user=None) -> list[MonthCount]:
    """Activities completed per month, and how many volunteers served in them."""
    month = month_of(Activity.starts_at)
    served = (select(SignUp.activity_id.label("aid"), func.count().label("n"))
              .where(SignUp.status == CHECKED_IN).group_by(SignUp.activity_id).subquery())
    stmt = (select(month.label("month"), func.count(), func.coalesce(func.sum(served.c.n), 0))
            .select_from(Activity).outerjoin(served, served.c.aid == Activity.id)
            .where(Activity.status == COMPLETED,
                   _bounds(Activity.starts_at, datetime.datetime.combine(start, datetime.time()),
                           datetime.datetime.combine(end, datetime.time())))
            .group_by(month).order_by(month))
    rows = db.session.execute(scope.apply(stmt, Activity, user)).all()
    return [MonthCount(as_date(m), n, int(total)) for m, n, total in rows]


def exchanges_by_month(start: datetime.date, end: datetime.date, user=None) -> list[MonthCount]:
    """Exchanges requested per month (rejected ones not counted), and their points."""
    month = month_of(Exchange.requested_at)
    stmt = (select(month.label("month"), func.count(), func.coalesce(func.sum(Exchange.points), 0))
            .where(Exchange.status != REJECTED,
                   _bounds(Exchange.requested_at, datetime.datetime.combine(start, datetime.time()),
                           datetime.datetime.combine(end, datetime.time())))
            .group_by(month).order_by(month))
    rows = db.session.execute(scope.apply(stmt, Exchange, user)).all()
    return [MonthCount(as_date(m), n, int(total)) for m, n, total in rows]

