"""Periods and time buckets: days, ISO weeks and months, in Python and in SQL.

The engine's charts group a date column by day, week or month; the domain's statistics
(the service rates, the volunteers' figures, the 办事指南 window's) do the same and count
the periods in between. They all use this module, which knows no entity:

* in SQL: :func:`truncate` (a date or date-time column → the first day of its period) and
  :func:`hours_between` (b − a in hours) — the one place where SQLite and PostgreSQL
  differ (:func:`dialect_functions`); :func:`month_of` is ``truncate(column, MONTH)``;
* in Python: :func:`period_start`, :func:`next_period`, :func:`periods` (the first days of
  the periods meeting [start, end)), :func:`count_periods`, :func:`period_label`, and
  :func:`as_date` / :func:`as_datetime` (a bucket as each database returns it → a date).

Weeks start on Monday (ISO) on both databases.
"""
from __future__ import annotations

import datetime

from flask_babel import gettext
from sqlalchemy import Date, cast, extract, func, literal_column

from app.extensions import db

MONTH, WEEK, DAY = "month", "week", "day"
UNITS = (MONTH, WEEK, DAY)
#: at most this many periods are listed (a row for every period, even an empty one)
MAX_PERIODS = 1000


# ----------------------------------------------------------------------------- SQL

def dialect_functions(dialect: str):
    """(truncate(column, unit) → the period's first day, hours(a, b) → b − a in hours)
    in the database's own SQL: the one place where SQLite and PostgreSQL differ."""
    # the unit and the formats are written into the SQL (they are ours, from UNITS), so
    # that the GROUP BY repeats the SELECT's expression exactly (bound parameters differ)
    if dialect == "postgresql":
        def truncate(column, unit):
            _check(unit)
            return cast(func.date_trunc(literal_column(f"'{unit}'"), column), Date)  # ISO weeks: Monday

        def hours(a, b):
            return extract("epoch", b - a) / literal_column("3600.0")
    elif dialect == "sqlite":
        def truncate(column, unit):
            _check(unit)
            if unit == MONTH:
                return func.strftime(literal_column("'%Y-%m-01'"), column)
            if unit == WEEK:  # the next Sunday (or the day itself), back to its Monday
                return func.date(column, literal_column("'weekday 0'"), literal_column("'-6 days'"))
            return func.date(column)

        def hours(a, b):
            return (func.julianday(b) - func.julianday(a)) * literal_column("24.0")
    else:
        raise NotImplementedError(f"time buckets on {dialect}")
    return truncate, hours


def _check(unit: str) -> None:
    if unit not in UNITS:  # (only these are ever written into the SQL)
        raise ValueError(f"unknown period unit {unit!r}")


def dialect() -> str:
    """The name of the database the session talks to ("sqlite", "postgresql")."""
    return db.session.get_bind().dialect.name


def truncate(column, unit: str):
    """The first day of ``column``'s day, week or month, in SQL (for a GROUP BY)."""
    return dialect_functions(dialect())[0](column, unit)


def hours_between(a, b):
    """``b − a`` in hours, in SQL."""
    return dialect_functions(dialect())[1](a, b)


def month_of(column):
    """The first day of ``column``'s month, in SQL (for GROUP BY month on either database)."""
    return truncate(column, MONTH)


# ----------------------------------------------------------------------------- Python

def as_datetime(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.combine(value, datetime.time())


def as_date(value) -> datetime.date:
    """A bucket (a date, a date-time or an ISO string, whichever database computed it) as a date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def period_start(day: datetime.date, unit: str) -> datetime.date:
    if unit == MONTH:
        return day.replace(day=1)
    if unit == WEEK:
        return day - datetime.timedelta(days=day.weekday())
    return day


def next_period(day: datetime.date, unit: str) -> datetime.date:
    if unit == MONTH:
        return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return day + datetime.timedelta(days=7 if unit == WEEK else 1)


def periods(start, end, unit: str = MONTH) -> list[datetime.date]:
    """The first days of the periods that meet [start, end), in order (at most
    ``MAX_PERIODS`` + 1: a longer list is not wanted)."""
    start, end = as_datetime(start), as_datetime(end)
    day, keys = period_start(start.date(), unit), []
    while as_datetime(day) < end and len(keys) <= MAX_PERIODS:
        keys.append(day)
        day = next_period(day, unit)
    return keys


def count_periods(start, end, unit: str = MONTH) -> int:
    return len(periods(start, end, unit))


def period_label(day: datetime.date, unit: str) -> str:
    if unit == MONTH:
        return f"{day.year}-{day.month:02d}"
    if unit == WEEK:
        return gettext("Week of %(date)s", date=day.isoformat())
    return day.isoformat()
