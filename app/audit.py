"""Writes an AuditLog row for every insert, update and delete of a tracked entity and
of the security records (accounts, roles, groups), in the same transaction as the
change itself. Password hashes are never written: a changed password shows as masked."""
from __future__ import annotations

import datetime
import json

from sqlalchemy import event, inspect as sa_inspect
from sqlalchemy.orm import Session

from app import clock
from app.base import Tracked, current_user_id
from app.extensions import begin_writing, db
from app.records import AuditLog, LoginLog
from app.scope import _acting
from app.sensitive import mask

_SKIP = {"created_at", "updated_at", "created_by_id", "updated_by_id", "created_on", "changed_on",
         "created_by_fk", "changed_by_fk", "last_login", "login_count", "fail_login_count"}
_MASKED = {"password"}
#: collections whose membership changes are audited (roles of a user, permissions of a role…)
_COLLECTIONS = {"roles", "groups", "permissions", "users"}


def _audited(obj) -> bool:
    from flask_appbuilder.security.sqla.models import Group, Role, User

    return isinstance(obj, (Tracked, User, Role, Group))


def _plain(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _changes(obj, action: str) -> str | None:
    state = sa_inspect(obj)
    result = {}
    for attr in state.mapper.column_attrs:
        if attr.key in _SKIP:
            continue
        hist = state.attrs[attr.key].history
        if action in ("insert", "delete"):  # what the row holds (a deleted row: what it held)
            # (a deleted row's values as loaded: nothing is read from a row that is gone)
            value = getattr(obj, attr.key) if action == "insert" else state.dict.get(attr.key)
            if value is not None:
                result[attr.key] = _plain(value)
        elif action == "update" and hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                result[attr.key] = [_plain(old), _plain(new)]
        if attr.key in _MASKED and attr.key in result:
            result[attr.key] = "******" if action != "update" else ["******", "******"]
        kind = attr.columns[0].info.get("sensitive")
        if kind == "minor_name" and not getattr(obj, "is_minor", False):
            kind = None
        if kind is not None and attr.key in result:
            # the log keeps sensitive values masked, as every list shows them

            value = result[attr.key]
            result[attr.key] = [mask(kind, v) for v in value] if isinstance(value, list) else mask(kind, value)
    for rel in state.mapper.relationships:
        if rel.key not in _COLLECTIONS or not rel.uselist:
            continue
        hist = state.attrs[rel.key].history
        if hist.added or hist.deleted:
            result[rel.key] = ["、".join(sorted(str(o) for o in hist.deleted)),
                               "、".join(sorted(str(o) for o in hist.added))]
    return json.dumps(result, ensure_ascii=False) if result else None


def _username():
    from flask import g, has_request_context

    if _acting.get() is not None:
        return _acting.get().username
    if has_request_context():
        user = getattr(g, "user", None)
        try:
            return user.username if user is not None and user.is_authenticated else None
        except Exception:
            return None
    return None  # the command line (seed, roles sync): shown as "system"


@event.listens_for(Session, "after_flush")
def _record(session, flush_context):
    """Runs after the flush (ids are known) while new/dirty/deleted and attribute
    history still show what the flush wrote; the log rows go out in the next flush of
    the same commit."""
    rows = []
    for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not _audited(obj):
                continue
            changes = _changes(obj, action)
            if action == "update" and changes is None:
                continue
            rows.append((action, obj, changes))
    if not rows:
        return
    user_id, username = current_user_id(), _username()
    ip, request_id = where_from()
    for action, obj, changes in rows:
        session.add(AuditLog(user_id=user_id, username=username, action=action,
                             entity=type(obj).__name__,
                             entity_id=str(getattr(obj, "id", "") or "") or None,
                             summary=str(obj)[:200], changes=changes, ip=ip, request_id=request_id))


def where_from() -> tuple[str | None, str | None]:
    """(IP address, request id) of the request being served; (None, None) elsewhere."""
    from flask import g, has_request_context, request

    if not has_request_context():
        return None, None
    return request.remote_addr, g.get("request_id")


def log_export(model, count: int, filters: str, *, revealed: bool = False) -> None:
    """导出日志: who exported which list, with which filters, how many rows."""
    from flask import g

    begin_writing()  # a GET that writes (SQLite: after its reads, take the write lock)
    ip, request_id = where_from()
    user = g.get("user")
    db.session.add(AuditLog(
        user_id=current_user_id(), username=getattr(user, "username", None), action="export",
        entity=model.__name__, summary=f"{count} · {filters}"[:200],
        changes=json.dumps({"rows": count, "filters": filters, "unmasked": revealed}, ensure_ascii=False),
        ip=ip, request_id=request_id))
    db.session.commit()


#: the shortest time the logs are kept (等保 2.0: at least six months)
MIN_RETENTION_DAYS = 180


def prune(days: int) -> dict:
    """Remove audit and sign-in log entries older than ``days`` (never fewer than 180);
    the removal itself is logged. Returns {log: rows removed}."""
    from sqlalchemy import delete

    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"logs are kept at least {MIN_RETENTION_DAYS} days (asked: {days})")
    before = clock.now() - datetime.timedelta(days=days)
    removed = {"audit_log": db.session.execute(delete(AuditLog).where(AuditLog.at < before)).rowcount,
               "login_log": db.session.execute(delete(LoginLog).where(LoginLog.at < before)).rowcount}
    db.session.add(AuditLog(action="prune", entity="AuditLog", username=None,
                            summary=f"< {before:%Y-%m-%d}: {removed['audit_log']} + {removed['login_log']}",
                            changes=json.dumps({"before": before.isoformat(), **removed})))
    db.session.commit()
    return removed
