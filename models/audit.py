"""操作日志: who changed what, when. Written by app.audit for every tracked entity."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.declare import Admin as AdminBase, field
from models.base import Model, now


class AuditLog(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now, index=True,
                                                  info=field(_l("Time")))
    user_id: Mapped[Optional[int]] = mapped_column(Integer, index=True, info=field(_l("User id")))
    username: Mapped[Optional[str]] = mapped_column(String(128), info=field(_l("User")))
    action: Mapped[str] = mapped_column(String(20), info=field(_l("Operation"), dict_type="audit_action"))
    entity: Mapped[str] = mapped_column(String(60), index=True, info=field(_l("Entity")))
    entity_id: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Record id")))
    summary: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Record")))
    changes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Changes")))

    __display__ = "summary"

    class Admin(AdminBase):
        label = _l("Audit log entry")
        label_plural = _l("Audit log")
        menu = "audit"
        icon = "fa-history"
        list_columns = ["at", "username", "action", "entity", "entity_id", "summary"]
        search_columns = ["username", "action", "entity", "entity_id", "at"]
        show_columns = ["at", "username", "user_id", "action", "entity", "entity_id", "summary", "changes"]
        form_columns = []
        order = ("at", "desc")
        readonly = True
