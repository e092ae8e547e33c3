"""The timed rules of the 三单 loop (``flask demands sweep``, every few minutes): which
open demands are overdue, orders not started in time back to the pool, the dispatchers
told once of each newly overdue demand."""
from __future__ import annotations

import datetime

from flask_babel import gettext
from sqlalchemy import or_, select

from app import clock, domain
from app.extensions import db
from models.service.demands import DISPATCHED, IN_PROGRESS, PENDING, TAKEN, Demand
from models.service.machine import TIMEOUT, act
from models.service.notices import dispatchers, notify

def overdue_condition(now: datetime.datetime):
    """Open demands past their promised time: waiting for dispatch over a day,
    dispatched and not taken in time, taken and not resolved in time."""
    from flask import current_app

    hours = int(current_app.config.get("DEMAND_DISPATCH_HOURS", 24))
    return or_((Demand.status == PENDING) & (Demand.created_at < now - datetime.timedelta(hours=hours)),
               (Demand.status == DISPATCHED) & (Demand.due_take_at < now),
               Demand.status.in_((TAKEN, IN_PROGRESS)) & (Demand.due_resolve_at < now))


def sweep(now: datetime.datetime | None = None) -> dict:
    """The timed work, run every few minutes (``flask demands sweep``): orders taken but
    not started within DEMAND_START_HOURS go back to the pool; the dispatchers are told
    once about each demand that has become overdue. Returns what it did."""
    from flask import current_app

    now = now or clock.now()
    hours = int(current_app.config.get("DEMAND_START_HOURS", 24))
    late = db.session.scalars(select(Demand).where(
        Demand.status == TAKEN, Demand.started_at.is_(None),
        Demand.taken_at < now - datetime.timedelta(hours=hours)).order_by(Demand.id)).all()
    returned = 0
    for demand in late:
        try:
            act(demand, TIMEOUT, None, note=gettext("Not started within %(n)s hours", n=hours))
            returned += 1
        except domain.DomainError:  # another sweeper was first
            db.session.rollback()
    overdue = db.session.scalars(select(Demand).where(overdue_condition(now),
                                                      Demand.overdue_noticed_at.is_(None))).all()
    for demand in overdue:
        demand.overdue_noticed_at = now
        notify(dispatchers(demand), demand, "overdue")
    db.session.commit()
    return {"returned": returned, "overdue": len(overdue)}
