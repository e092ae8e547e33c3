"""Notices to users about demands, behind a notifier interface: who is told
(the dispatchers, the takers, whoever filed it), in which words, through which channel.

:class:`InAppNotifier` writes the in-app notifications (:class:`Notification`, with an
unread count in the menu bar: :func:`unread_for_navbar`, which the service views give
the engine at start-up). An SMS or WeChat channel is another class with the same ``send``
method, named in ``NOTIFIERS``; none calls the network today.
"""
from __future__ import annotations

import datetime
from typing import Optional, Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.base import Model
from app.extensions import db
from app.policy import roles_with_action
from app.scope import acting_user
from models.kernel.orgs import Position
from models.kernel.users import AppUser
from models.service.demands import Demand

MESSAGES = {
    "dispatched": _l("Demand %(number)s has been given to you: %(title)s"),
    "declined": _l("Demand %(number)s was declined and needs dispatching again: %(title)s"),
    "timeout": _l("Demand %(number)s was not started in time and is back in the pool: %(title)s"),
    "overdue": _l("Demand %(number)s is overdue: %(title)s"),
    "resolved": _l("Demand %(number)s you filed is resolved: %(title)s"),
    "reopened": _l("Demand %(number)s was rated poorly and is open again: %(title)s"),
}


class Notification(Model):
    """站内通知: what a taker, a dispatcher or a grid worker should know about a demand."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    demand_id: Mapped[Optional[int]] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    demand: Mapped[Optional[Demand]] = relationship()
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
    read_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)

    @property
    def text(self) -> str:
        """The notice in the reader's language (the stored message is the sender's)."""
        if self.kind in MESSAGES and self.demand is not None:
            return str(MESSAGES[self.kind]) % {"number": self.demand.number, "title": self.demand.title}
        return self.message


class Notifier(Protocol):
    def send(self, user, demand, kind: str, message: str) -> None: ...


class InAppNotifier:
    def send(self, user, demand, kind: str, message: str) -> None:
        db.session.add(Notification(user_id=user.id, demand=demand, kind=kind, message=message[:300],
                                    created_at=clock.now()))


#: notifier names of earlier releases, still accepted in ``NOTIFIERS``
RENAMED = {"app.notify.InAppNotifier": "models.service.notices.InAppNotifier"}


def notifiers() -> list:
    from werkzeug.utils import import_string

    names = current_app.config.get("NOTIFIERS", ["models.service.notices.InAppNotifier"])
    return [import_string(RENAMED.get(name, name))() for name in names]


def notify(users, demand, kind: str) -> None:
    """Tell each of ``users`` (once each) about ``demand``; written with the demand's change."""
    seen = set()
    message = str(MESSAGES[kind]) % {"number": demand.number, "title": demand.title}
    for user in users:
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        for channel in notifiers():
            channel.send(user, demand, kind, str(message))


def unread_count(user) -> int:
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def unread_for_navbar():
    """The signed-in user's unread count for the menu bar, or None for users without
    notifications (one query a page, and none for them)."""
    from flask import g

    user = acting_user()
    if getattr(user, "id", None) is None:
        return None
    if ("menu_access", "Notifications") not in current_app.appbuilder.sm.permissions_of(user):
        return None
    if "_unread" not in g:
        g._unread = unread_count(user)
    return g._unread


# ----------------------------------------------------------------------------- who is told

def dispatchers(demand) -> list:
    """The staff who dispatch in the demand's community (and whoever dispatched it)."""
    from flask_appbuilder.security.sqla.models import Role

    return list(db.session.scalars(select(AppUser).where(
        AppUser.scope_community_id == demand.community_id, AppUser.active.is_(True),
        AppUser.roles.any(Role.name.in_(roles_with_action("Demand", "dispatch"))))))


def intake_users(demand) -> list:
    """The user who filed the demand, if any."""
    if demand.created_by_id is None:
        return []
    user = db.session.get(AppUser, demand.created_by_id)
    return [user] if user is not None else []


def takers_of(demand) -> list:
    """The users of the unit or member the order is given to (none for the pool)."""
    users = []
    if demand.assigned_unit is not None:
        users = list(db.session.scalars(select(AppUser).join(Position, Position.user_id == AppUser.id)
                                        .where(Position.organisation_id == demand.assigned_unit.id)))
    elif demand.assigned_member is not None and demand.assigned_member.user_id:
        users = [db.session.get(AppUser, demand.assigned_member.user_id)]
    return users
