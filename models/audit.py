"""操作日志: who changed what, when. Written by app.audit for every tracked entity."""
from __future__ import annotations

import datetime
import json
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.declare import Admin as AdminBase, field
from models.base import Model, now

ACTIONS = {"insert": _l("Added"), "update": _l("Changed"), "delete": _l("Deleted")}


def _entities() -> dict:
    from app.registry import entities

    return {m.__name__: m.Admin.title(m) for m in entities()}


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

    __display__ = "summary"

    class Admin(AdminBase):
        label = _l("Audit log entry")
        label_plural = _l("Audit log")
        menu = "audit"
        icon = "fa-history"
        list_columns = ["at", "username", "action", "entity", "entity_id", "summary"]
        search_columns = ["username", "action", "entity", "entity_id", "at"]
        show_columns = ["at", "username", "user_id", "action", "entity", "entity_id", "summary",
                        "changes_text"]
        labels = {"changes_text": _l("Changes")}
        form_columns = []
        order = ("at", "desc")
        readonly = True

    @property
    def changes_text(self) -> str:
        """The changed fields by their labels: "名称:旧 → 新" (one per line)."""
        from app.domain import field_for_column
        from models.dictionary import label_of
        from app.registry import entities, label

        if not self.changes:
            return ""
        model = next((m for m in entities() if m.__name__ == self.entity), None)
        lines = []
        for key, value in json.loads(self.changes).items():
            name = str(label(model, field_for_column(model, key))) if model is not None else key
            dict_type = model.__table__.columns[key].info.get("dict_type") \
                if model is not None and key in model.__table__.columns else None
            shown = (lambda v: label_of(dict_type, v)) if dict_type else (lambda v: v)
            if isinstance(value, list) and len(value) == 2:
                old, new = ("" if v is None else shown(v) for v in value)
                lines.append(gettext("%(field)s: %(old)s → %(new)s", field=name, old=old, new=new))
            else:
                lines.append(f"{name}: {shown(value)}")
        return "\n".join(lines)
