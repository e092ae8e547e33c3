"""Service rates of the 三单 loop (响应率, 办结率, 满意率), computed in SQL.

What is counted — one cohort
============================
Every figure of a period [start, end) is about **the demands filed in that period**
(``Demand.created_at`` in [start, end)), as they stand now. A demand filed on 28 March and
taken on 2 April counts as taken in March's row. So a row is a cohort whose figures only
grow as its demands progress, and every rate compares two counts of the same demands
(a rate is never above 100 %). Rows of recent periods are provisional: their open demands
are not (yet) taken or resolved.

* **collected** (收集): every demand filed in the period, whatever became of it — the
  figure the office reports as "征集居民诉求" (the demo: 150).
* **withdrawn**: those cancelled or marked as duplicates. They left the loop, so they
  count in *collected* only and in **no** figure below: a dispatched order that the
  resident then solved by themselves does not lower anybody's 响应率.
* **dispatched** (派单): not withdrawn, and dispatched (``dispatched_at`` set: given to a
  unit or member, or published to the pool). An order declined back to the office keeps
  its dispatch time and still counts; a reopened demand (staff, or a poor rating) lost it
  and counts again once dispatched again.
* **taken** (接单): not withdrawn, ``taken_at`` set (taken, or claimed from the pool).
  **taken on time**: and ``taken_at <= due_take_at`` (the category's hours to take,
  counted from the dispatch).
* **resolved** (办结): not withdrawn, ``resolved_at`` set (resolved, rated or closed).
  **resolved on time**: and ``resolved_at <= due_resolve_at``.
* **rated** (评价): not withdrawn, and carrying a rating. A rating of 1–2 reopens the
  demand and clears its progress but the rating stays on the demand and counts here, so
  a poor rating is never dropped from 满意率 (it does lose its taker, see below).
  **satisfied**: rating 4 (满意) or 5 (非常满意).

Rates (None when the denominator is 0, never 0 or an error):

* 响应率 ``response_rate`` = taken on time / dispatched;
* 办结率 ``resolution_rate`` = resolved / taken;
* 满意率 ``satisfaction_rate`` = satisfied / rated;
* also ``on_time_resolution_rate`` = resolved on time / resolved, ``mean_rating``;
* ``mean_take_hours``: mean hours from dispatch to take, over the taken demands;
  ``mean_resolve_hours``: from take to resolution, over the resolved ones (the last
  dispatch and take: an order that timed out back to the pool is measured from its
  dispatch to the claim that finally took it).

Dimensions: ``period`` (the filing's month, ISO week starting on Monday, or day), ``grid``
(the demand's community and grid; "no grid" rows per community), ``category`` and
``taker`` (the unit or party member the order is given to now; orders nobody holds —
waiting for dispatch, in the pool, declined, reopened — are one "no taker" row). The
rankings of units and of party members are the ``taker`` rows with at least one order
taken, by orders taken, then resolved, then mean rating.

Every breakdown is one SQL statement (GROUP BY in the database, whatever the number of
demands or groups) limited by :func:`app.scope.apply` to the acting user's data scope;
:func:`report` makes four. Only the date truncation and the hour difference differ
between SQLite and PostgreSQL: :func:`app.periods.dialect_functions`.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field, fields
from typing import Optional

from flask_babel import gettext
from sqlalchemy import and_, case, func, select

from app import scope
from app.extensions import db
# the periods of a breakdown (the engine's; MONTH, WEEK, DAY, next_period and
# count_periods are also read from here by the rates page)
from app.periods import (DAY, MAX_PERIODS, MONTH, UNITS, WEEK, as_date, as_datetime, count_periods,  # noqa: F401
                         dialect, dialect_functions, next_period, period_label, periods)
from models.kernel.orgs import Organisation
from models.kernel.places import Community, Grid
from models.people.people import PartyMember, Person
from models.service.demands import CANCELLED, DUPLICATE, Demand, Demand as D, ServiceCategory

PERIOD, GRID, CATEGORY, TAKER = "period", "grid", "category", "taker"
DIMENSIONS = (PERIOD, GRID, CATEGORY, TAKER)
#: a taker key: ("unit", organisation id) or ("member", party member id)
UNIT_TAKER, MEMBER_TAKER = "unit", "member"

_COUNTS = ("collected", "withdrawn", "dispatched", "taken", "taken_on_time", "resolved", "resolved_on_time",
           "rated", "satisfied", "rating_sum", "take_hours_n", "resolve_hours_n")
_SUMS = ("take_hours_sum", "resolve_hours_sum")


def _ratio(part, whole) -> Optional[float]:
    return part / whole if whole else None


@dataclass
class Rates:
    """The figures of one group (a month, a grid, a category, a taker) or of a total.

    ``key`` identifies the group: a ``datetime.date`` (the first day of the period), a
    grid id (None: no grid; ``community_id`` tells whose), a category id, a taker key
    ``("unit", id)`` / ``("member", id)`` (None: no taker), or None for a total."""

    key: object = None
    label: str = ""
    community_id: Optional[int] = None
    community: str = ""
    collected: int = 0
    withdrawn: int = 0
    dispatched: int = 0
    taken: int = 0
    taken_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    rating_sum: int = 0
    take_hours_sum: float = 0.0
    take_hours_n: int = 0
    resolve_hours_sum: float = 0.0
    resolve_hours_n: int = 0
    #: the position in a ranking (1, 2, …), else None
    rank: Optional[int] = field(default=None, compare=False)

    @property
    def response_rate(self) -> Optional[float]:
        """响应率: taken within the service time / dispatched."""
        return _ratio(self.taken_on_time, self.dispatched)

    @property
    def resolution_rate(self) -> Optional[float]:
        """办结率: resolved / taken."""
        return _ratio(self.resolved, self.taken)

    @property
    def satisfaction_rate(self) -> Optional[float]:
        """满意率: rated 4 or 5 / rated."""
        return _ratio(self.satisfied, self.rated)

    @property
    def on_time_resolution_rate(self) -> Optional[float]:
        return _ratio(self.resolved_on_time, self.resolved)

    @property
    def mean_rating(self) -> Optional[float]:
        return _ratio(self.rating_sum, self.rated)

    @property
    def mean_take_hours(self) -> Optional[float]:
        return _ratio(self.take_hours_sum, self.take_hours_n)

    @property
    def mean_resolve_hours(self) -> Optional[float]:
        return _ratio(self.resolve_hours_sum, self.resolve_hours_n)

    @property
    def kind(self) -> Optional[str]:
        """For a taker row: "unit" or "member"."""
        return self.key[0] if isinstance(self.key, tuple) else None

    def __add__(self, other: "Rates") -> "Rates":
        total = Rates()
        for name in _COUNTS + _SUMS:
            setattr(total, name, getattr(self, name) + getattr(other, name))
        return total

    def as_dict(self) -> dict:
        """Plain values (the counts, the rates, the means), e.g. for a chart's JSON."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.key, (datetime.date, datetime.datetime)):
            data["key"] = self.key.isoformat()
        elif isinstance(self.key, tuple):
            data["key"] = list(self.key)
        for name in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_resolution_rate",
                     "mean_rating", "mean_take_hours", "mean_resolve_hours"):
            data[name] = getattr(self, name)
        return data


def total(rows) -> Rates:
    """The sum of disjoint rows (the rows of one breakdown): counts add up, and so do
    the sums behind the means, so the total's rates and means are exact."""
    result = Rates()
    for row in rows:
        result = result + row
    result.label = gettext("Total")
    return result


@dataclass
class Ranking:
    units: list = field(default_factory=list)
    members: list = field(default_factory=list)


@dataclass
class Report:
    """Everything the rates page and the meeting charts show for one period."""

    start: datetime.datetime
    end: datetime.datetime
    unit: str
    periods: list
    grids: list
    categories: list
    takers: list
    ranking: Ranking
    total: Rates

    @property
    def empty(self) -> bool:
        return self.total.collected == 0


# ----------------------------------------------------------------------------- SQL

def _measures(hours):
    """The aggregate columns of a breakdown, named as the fields of :class:`Rates`."""
    live = D.status.notin_((CANCELLED, DUPLICATE))
    taken = and_(live, D.taken_at.isnot(None))
    resolved = and_(live, D.resolved_at.isnot(None))
    rated = and_(live, D.rating.isnot(None))
    timed_take = and_(taken, D.dispatched_at.isnot(None))
    timed_resolve = and_(resolved, D.taken_at.isnot(None))

    def count(condition):
        return func.count(case((condition, 1)))

    return [
        func.count(D.id).label("collected"),
        count(D.status.in_((CANCELLED, DUPLICATE))).label("withdrawn"),
        count(and_(live, D.dispatched_at.isnot(None))).label("dispatched"),
        count(taken).label("taken"),
        count(and_(taken, D.due_take_at.isnot(None), D.taken_at <= D.due_take_at)).label("taken_on_time"),
        count(resolved).label("resolved"),
        count(and_(resolved, D.due_resolve_at.isnot(None), D.resolved_at <= D.due_resolve_at))
        .label("resolved_on_time"),
        count(rated).label("rated"),
        count(and_(rated, D.rating >= 4)).label("satisfied"),
        func.coalesce(func.sum(case((rated, D.rating))), 0).label("rating_sum"),
        func.sum(case((timed_take, hours(D.dispatched_at, D.taken_at)))).label("take_hours_sum"),
        count(timed_take).label("take_hours_n"),
        func.sum(case((timed_resolve, hours(D.taken_at, D.resolved_at)))).label("resolve_hours_sum"),
        count(timed_resolve).label("resolve_hours_n"),
    ]


def _rates(row, key, label, **extra) -> Rates:
    values = row._mapping
    rates = Rates(key=key, label=label, **extra)
    for name in _COUNTS:
        setattr(rates, name, int(values[name] or 0))
    for name in _SUMS:
        setattr(rates, name, float(values[name] or 0))
    return rates


def breakdown(by: str, start, end, user=None, *, unit: str = MONTH, where=()) -> list[Rates]:
    """The figures of the demands filed in [start, end), one :class:`Rates` per group of
    ``by`` (``period``, ``grid``, ``category`` or ``taker``; ``month``, ``week`` and ``day``
    are short for ``period`` by that unit), in one statement, within the data scope of
    ``user`` (default: the acting user; none outside a request: the CLI, not scoped).

    Periods come in order, every period of [start, end) included (empty ones as zero
    rows, for a chart's axis); grids by community and code; categories in their order;
    takers by orders taken. ``where``: more conditions on the demands (a place)."""
    if by in UNITS:
        by, unit = PERIOD, by
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    if unit not in UNITS:  # (also: only these are ever written into the SQL)
        raise ValueError(f"unknown period unit {unit!r}")
    start, end = as_datetime(start), as_datetime(end)
    truncate, hours = dialect_functions(dialect())
    measures = _measures(hours)

    if by == PERIOD:
        bucket = truncate(Demand.created_at, unit).label("bucket")
        stmt = select(bucket, *measures).group_by(bucket)
    elif by == GRID:
        stmt = (select(Demand.community_id, Community.name.label("community_name"), Demand.grid_id,
                       Grid.code, Grid.name, *measures)
                .join(Community, Community.id == Demand.community_id)
                .outerjoin(Grid, Grid.id == Demand.grid_id)
                .group_by(Demand.community_id, Community.name, Demand.grid_id, Grid.code, Grid.name))
    elif by == CATEGORY:
        stmt = (select(Demand.category_id, ServiceCategory.name, ServiceCategory.sort, *measures)
                .join(ServiceCategory, ServiceCategory.id == Demand.category_id)
                .group_by(Demand.category_id, ServiceCategory.name, ServiceCategory.sort))
    else:
        stmt = (select(Demand.assigned_unit_id, Organisation.name.label("unit_name"), Demand.assigned_member_id,
                       Person.name.label("member_name"), *measures)
                .outerjoin(Organisation, Organisation.id == Demand.assigned_unit_id)
                .outerjoin(PartyMember, PartyMember.id == Demand.assigned_member_id)
                .outerjoin(Person, Person.id == PartyMember.person_id)
                .group_by(Demand.assigned_unit_id, Organisation.name, Demand.assigned_member_id, Person.name))
    stmt = stmt.where(Demand.created_at >= start, Demand.created_at < end, *where)
    rows = db.session.execute(scope.apply(stmt, Demand, user)).all()

    if by == PERIOD:
        found = {as_date(r.bucket): _rates(r, as_date(r.bucket), period_label(as_date(r.bucket), unit))
                 for r in rows}
        keys = periods(start, end, unit)
        if len(keys) > MAX_PERIODS:  # too many to fill in: the periods that have demands
            keys = sorted(found)
        return [found.get(k) or Rates(key=k, label=period_label(k, unit)) for k in keys]
    if by == GRID:
        result = [_rates(r, r.grid_id, r.name if r.grid_id is not None else gettext("No grid"),
                         community_id=r.community_id, community=r.community_name) for r in rows]
        order = {r.grid_id: (r.grid_id is None, r.code or "", r.name or "") for r in rows}
        return sorted(result, key=lambda g: (g.community, g.community_id, order[g.key]))
    if by == CATEGORY:
        order = {r.category_id: (r.sort or 0, r.name) for r in rows}
        return sorted((_rates(r, r.category_id, r.name) for r in rows), key=lambda c: order[c.key])
    result = []
    for r in rows:
        if r.assigned_unit_id is not None:
            result.append(_rates(r, (UNIT_TAKER, r.assigned_unit_id), r.unit_name))
        elif r.assigned_member_id is not None:
            result.append(_rates(r, (MEMBER_TAKER, r.assigned_member_id), r.member_name))
        else:
            result.append(_rates(r, None, gettext("No taker yet")))
    return sorted(result, key=_ranking_order)


def _ranking_order(row: Rates):
    return (row.key is None, -row.taken, -row.resolved,
            -(row.mean_rating if row.mean_rating is not None else -1), row.label or "")


def rank(takers: list[Rates]) -> Ranking:
    """The units and the party members who took orders, each by orders taken, then
    resolved, then mean rating (unrated last), then name. ``rank`` counts from 1; rows
    equal on the three figures share their rank (1, 2, 2, 4)."""
    ranking = Ranking()
    for row in sorted(takers, key=_ranking_order):
        if row.key is None or not row.taken:
            continue
        group = ranking.units if row.kind == UNIT_TAKER else ranking.members
        tied = group and _ranking_order(group[-1])[1:4] == _ranking_order(row)[1:4]
        row.rank = group[-1].rank if tied else len(group) + 1
        group.append(row)
    return ranking


def ranking(start, end, user=None) -> Ranking:
    """The two rankings of the orders of demands filed in [start, end): one statement."""
    return rank(breakdown(TAKER, start, end, user))


def report(start, end, user=None, *, unit: str = MONTH) -> Report:
    """The rates by period, grid, category and taker, the rankings and the total of
    [start, end) in the (acting) user's scope: four statements, whatever the data."""
    periods_ = breakdown(PERIOD, start, end, user, unit=unit)
    takers = breakdown(TAKER, start, end, user)
    return Report(start=as_datetime(start), end=as_datetime(end), unit=unit, periods=periods_,
                  grids=breakdown(GRID, start, end, user), categories=breakdown(CATEGORY, start, end, user),
                  takers=takers, ranking=rank(takers), total=total(periods_))
