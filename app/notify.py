"""Notices to users about demands, behind a notifier interface.

:class:`InAppNotifier` writes the in-app notifications (with an unread count in the
menu bar). An SMS or WeChat channel is another class with the same ``send`` method,
named in ``NOTIFIERS``; none calls the network today.
"""
from __future__ import annotations

from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l

from app import clock

MESSAGES = {
    "dispatched": _l("Demand %(number)s has been given to you: %(title)s"),
    "declined": _l("Demand %(number)s was declined and needs dispatching again: %(title)s"),
    "timeout": _l("Demand %(number)s was not started in time and is back in the pool: %(title)s"),
    "overdue": _l("Demand %(number)s is overdue: %(title)s"),
    "resolved": _l("Demand %(number)s you filed is resolved: %(title)s"),
    "reopened": _l("Demand %(number)s was rated poorly and is open again: %(title)s"),
}


class Notifier(Protocol):
    def send(self, user, demand, kind: str, message: str) -> None: ...


class InAppNotifier:
    def send(self, user, demand, kind: str, message: str) -> None:
        from app.extensions import db
        from models.service.demands import Notification

        db.session.add(Notification(user_id=user.id, demand=demand, kind=kind, message=message[:300],
                                    created_at=clock.now()))


def notifiers() -> list:
    from werkzeug.utils import import_string

    names = current_app.config.get("NOTIFIERS", ["app.notify.InAppNotifier"])
    return [import_string(name)() for name in names]


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

    from app.extensions import db
    from models.service.demands import Notification

    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def unread_for_navbar():
    """The signed-in user's unread count for the menu bar, or None for users without
    notifications (one query a page, and none for them)."""
    from flask import g

    from app.scope import acting_user

    user = acting_user()
    if getattr(user, "id", None) is None:
        return None
    if ("menu_access", "Notifications") not in current_app.appbuilder.sm.permissions_of(user):
        return None
    if "_unread" not in g:
        g._unread = unread_count(user)
    return g._unread
