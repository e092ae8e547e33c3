"""会议看板: the figures a leader shows at the monthly meeting, for a period and a
community / grid, within the user's data scope — each one SQL statement.

:func:`figures` returns the KPI tiles; the charts are declared charts
(:mod:`app.charts`) aggregated with the same period and place conditions.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, select

#: the longest period one dashboard shows
MAX_DAYS = 366


@dataclass
class Place:
    community_id: int | None = None
    grid_id: int | None = None

    def where(self, model) -> list:
        """Conditions narrowing ``model`` (an InCommunity entity) to the place."""
        conditions = []
        if self.community_id is not None:
            conditions.append(model.community_id == self.community_id)
        if self.grid_id is not None:
            conditions.append(model.grid_id == self.grid_id)
        return conditions


def _count(model, *conditions, column=None) -> int:
    from app import scope
    from app.extensions import db

    measure = func.count(distinct(column)) if column is not None else func.count()
    return int(db.session.scalar(scope.apply(select(measure).select_from(model).where(*conditions), model)) or 0)


def _sum(model, column, *conditions):
    from app import scope
    from app.extensions import db

    return db.session.scalar(scope.apply(select(func.coalesce(func.sum(column), 0)).where(*conditions), model)) or 0


def figures(start: datetime.date, end: datetime.date, place: Place) -> list[dict]:
    """The KPI tiles of [start, end] (inclusive days): label, value, unit, link."""
    from app import rates
    from models.care import CareGroup, Visit
    from models.cobuilding import CANCELLED, FULFILLED, Contribution, PledgeProject
    from models.people import Household, Person
    from models.points import AWARD, LedgerEntry
    from models.volunteers import REGISTERED, ServiceRecord, Volunteer

    since = datetime.datetime.combine(start, datetime.time.min)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    grid_rows = [r for r in rates.breakdown(rates.GRID, since, until)
                 if (place.community_id is None or r.community_id == place.community_id)
                 and (place.grid_id is None or r.key == place.grid_id)]
    demand = rates.total(grid_rows)
    in_care = _count(CareGroup, *place.where(CareGroup))
    visited = _count(Visit, *place.where(Visit), Visit.visited_on >= start, Visit.visited_on <= end,
                     Visit.person_id.in_(select(CareGroup.person_id)), column=Visit.person_id)
    projects = _count(PledgeProject, *place.where(PledgeProject), PledgeProject.status != CANCELLED)
    kept = _count(PledgeProject, *place.where(PledgeProject), PledgeProject.status == FULFILLED)

    def pct(value):
        return None if value is None else round(100 * value)

    return [
        {"key": "households", "label": _l("Households"), "value": _count(Household, *place.where(Household)),
         "link": "/household/list/"},
        {"key": "residents", "label": _l("Residents"), "value": _count(Person, *place.where(Person)),
         "link": "/person/list/"},
        {"key": "in_care", "label": _l("Residents in care"), "value": in_care, "link": "/care-group/list/"},
        {"key": "visited", "label": _l("Visited in the period"), "value": visited,
         "unit": f"{round(100 * visited / in_care)}%" if in_care else "", "link": "/visit/list/"},
        {"key": "collected", "label": _l("Demands collected"), "value": demand.collected, "link": "/demand/list/"},
        {"key": "taken", "label": _l("Demands taken"), "value": demand.taken, "link": "/demand/list/"},
        {"key": "resolved", "label": _l("Demands resolved"), "value": demand.resolved, "link": "/demand/list/"},
        {"key": "response_rate", "label": _l("Response rate"), "value": pct(demand.response_rate), "unit": "%",
         "link": "/service-rates/"},
        {"key": "resolution_rate", "label": _l("Resolution rate"), "value": pct(demand.resolution_rate),
         "unit": "%", "link": "/service-rates/"},
        {"key": "satisfaction_rate", "label": _l("Satisfaction rate"), "value": pct(demand.satisfaction_rate),
         "unit": "%", "link": "/service-rates/"},
        {"key": "volunteers", "label": _l("Volunteers"),
         "value": _count(Volunteer, *place.where(Volunteer), Volunteer.status == REGISTERED),
         "link": "/volunteer/list/"},
        {"key": "hours", "label": _l("Hours served"),
         "value": float(_sum(ServiceRecord, ServiceRecord.hours, *place.where(ServiceRecord),
                             ServiceRecord.served_on >= start, ServiceRecord.served_on <= end)),
         "link": "/service-record/list/"},
        {"key": "points", "label": _l("Points awarded"),
         "value": int(_sum(LedgerEntry, LedgerEntry.amount, *place.where(LedgerEntry), LedgerEntry.kind == AWARD,
                           LedgerEntry.at >= since, LedgerEntry.at < until)), "link": "/ledger-entry/list/"},
        {"key": "pledges_kept", "label": _l("Pledges kept"), "value": round(100 * kept / projects) if projects else None,
         "unit": "%", "link": "/pledge-project/list/"},
        {"key": "funds", "label": _l("Funds raised (yuan)"),
         "value": _sum(Contribution, Contribution.amount, *place.where(Contribution),
                       Contribution.received_on >= start, Contribution.received_on <= end),
         "link": "/fund/list/"},
    ]
