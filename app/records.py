"""The engine's own records (等保 2.0): the 操作日志 (who changed what, when: written by
:mod:`app.audit` for every tracked entity), the sign-in log and the lock counters
(:mod:`app.lockout`), and the password history (:mod:`app.passwords`).

One module, so that they are declared in one order whichever of those modules a process
imports first: the audit log and the sign-in log share the Audit menu, whose order
follows declaration order."""
from __future__ import annotations

import datetime
import json
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Model, now
from app.crud import format_value
from app.declare import Admin as AdminBase, choices_of, field
from app.dictionary import label_of
from app.domain import relation_for_column
from app.extensions import db
from app.registry import entities, label

ACTIONS = {"insert": _l("Added"), "update": _l("Changed"), "delete": _l("Deleted"),
           "reveal": _l("Revealed sensitive data"), "reveal_export": _l("Exported sensitive data"),
           "import": _l("Imported"), "export": _l("Exported"), "prune": _l("Old log entries removed")}


#: security records, audited beside the entities
SECURITY_RECORDS = {"AppUser": _l("User"), "User": _l("User"), "Role": _l("Role"), "Group": _l("Group")}
SECURITY_FIELDS = {"first_name": _l("First Name"), "last_name": _l("Last Name"), "username": _l("User Name"),
                   "email": _l("Email"), "active": _l("Is Active?"), "password": _l("Password"),
                   "roles": _l("Role"), "groups": _l("Groups"), "name": _l("Name"), "label": _l("Label"),
                   "description": _l("Description"), "permissions": _l("Permissions"), "users": _l("Users"),
                   "scope_kind": _l("Scope kind"), "scope_street_id": _l("Street"),
                   "scope_community_id": _l("Community"), "scope_grid_id": _l("Grid"), "id": _l("Record id")}


def _entities() -> dict:
    return {**{m.__name__: m.Admin.title(m) for m in entities()}, **SECURITY_RECORDS}


class AuditLog(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now, index=True,
                                                  info=field(_l("Time")))
    user_id: Mapped[Optional[int]] = mapped_column(Integer, index=True, info=field(_l("User id")))
    username: Mapped[Optional[str]] = mapped_column(
        String(128), info=field(_l("User"), format=lambda name: name or gettext("System (command line)")))
    action: Mapped[str] = mapped_column(String(20), info=field(_l("Operation"), choices=ACTIONS))
    entity: Mapped[str] = mapped_column(String(60), index=True,
                                        info=field(_l("Entity"), choices=_entities))
    entity_id: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Record id")))
    summary: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Record")))
    changes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Changes")))
    ip: Mapped[Optional[str]] = mapped_column(String(45), info=field(_l("From (IP address)")))
    request_id: Mapped[Optional[str]] = mapped_column(String(64), index=True, info=field(_l("Request id")))

    __display__ = "summary"

    class Admin(AdminBase):
        label = _l("Audit log entry")
        label_plural = _l("Audit log")
        menu = "audit"
        icon = "fa-history"
        list_columns = ["at", "username", "action", "entity", "entity_id", "summary"]
        search_columns = ["username", "action", "entity", "entity_id", "at"]
        show_columns = ["at", "username", "user_id", "ip", "request_id", "action", "entity", "entity_id",
                        "summary", "changes_text"]
        labels = {"changes_text": _l("Changes")}
        form_columns = []
        order = ("at", "desc")
        readonly = True

    @property
    def changes_text(self) -> str:
        """The changed fields by their labels, values as users read them (字典 labels,
        是/否, the names of related rows): "名称：旧 → 新", one per line."""
        if not self.changes:
            return ""
        model = next((m for m in entities() if m.__name__ == self.entity), None)
        lines = []
        for key, value in json.loads(self.changes).items():
            name, shown = _field(model, key, label)
            if isinstance(value, list) and len(value) == 2:
                old, new = (shown(v) for v in value)
                lines.append(gettext("%(field)s: %(old)s → %(new)s", field=name, old=old, new=new))
            else:
                lines.append(gettext("%(party)s: %(organisation)s", party=name, organisation=shown(value)))
        return "\n".join(lines)


def _field(model, key: str, label):
    """(label, value formatter) of a logged column."""
    if model is None:
        return str(SECURITY_FIELDS.get(key, key)), lambda v: "" if v is None else format_value(v)
    relation = relation_for_column(model, key)
    column = model.__table__.columns.get(key)
    dict_type = column.info.get("dict_type") if column is not None else None
    fixed = choices_of(column.info) if column is not None and column.info.get("choices") is not None else None

    def shown(value):
        if value is None or value == "":
            return ""
        if dict_type:
            return label_of(dict_type, value)
        if fixed is not None:
            return str(fixed.get(value, value))
        if relation is not None and isinstance(value, int):
            target = getattr(model, relation).property.mapper.class_
            row = db.session.get(target, value)
            return f"{row}(#{value})" if row is not None else f"#{value}"
        return format_value(value)

    return str(label(model, relation or key)), shown


# ----------------------------------------------------------------------------- sign-ins

LOGIN_RESULTS = {"success": _l("Signed in"), "bad_password": _l("Wrong user name or password"),
                 "inactive": _l("Account disabled"), "locked": _l("Refused: locked"),
                 "lock": _l("Locked after repeated failures"), "unlock": _l("Unlocked by the security administrator"),
                 "must_change": _l("Refused: must change the password first")}
CHANNELS = {"web": _l("Sign-in page"), "api": _l("API sign-in"), "api_key": _l("API key (Open311)")}


class LoginLog(Model):
    """登录日志: every sign-in attempt, successful or not, and every lock and unlock."""

    __tablename__ = "login_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now, index=True, info=field(_l("Time")))
    username: Mapped[Optional[str]] = mapped_column(String(100), index=True, info=field(_l("User name")))
    user_id: Mapped[Optional[int]] = mapped_column(Integer, index=True, info=field(_l("User id")))
    result: Mapped[str] = mapped_column(String(20), index=True, info=field(_l("Result"), choices=LOGIN_RESULTS))
    channel: Mapped[str] = mapped_column(String(10), info=field(_l("Channel"), choices=CHANNELS))
    ip: Mapped[Optional[str]] = mapped_column(String(45), index=True, info=field(_l("From (IP address)")))
    user_agent: Mapped[Optional[str]] = mapped_column(String(300), info=field(_l("Browser or client")))
    note: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Note")))

    class Admin(AdminBase):
        label = _l("Sign-in log entry")
        label_plural = _l("Sign-in log")
        menu = "audit"
        icon = "fa-sign-in"
        list_columns = ["at", "username", "result", "channel", "ip", "user_agent"]
        search_columns = ["username", "result", "channel", "ip", "at"]
        show_columns = ["at", "username", "user_id", "result", "channel", "ip", "user_agent", "note"]
        form_columns = []
        order = ("at", "desc")
        readonly = True


class AuthLock(Model):
    """The failures counted against a sign-in key (``user:<name>``, or ``key:<ip>`` for
    API keys) and the lock they led to. Kept in the database, so that every worker
    process of the app shares it."""

    __tablename__ = "auth_lock"

    key: Mapped[str] = mapped_column(String(150), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)
    updated_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)


class PasswordHistory(Model):
    """The hashes of a user's last passwords: a new password may not be one of them."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    changed_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now, nullable=False)
