"""字典: admin-editable lists of codes used by forms, filters and imports.

The 字典 is an engine service: a column declares ``field(..., dict_type="compound_type")``
and its values are the enabled codes of that type. The domain declares its types with
:func:`register_dict_type` (the 字典 form offers them in the order they were registered)."""
from __future__ import annotations

from typing import Optional

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, field

#: Every dictionary type the product uses: code → lazy label, in the order registered.
DICT_TYPES: dict = {}


def register_dict_type(code: str, label) -> None:
    """Declare a 字典 type (``label``: a lazy msgid); a type registered twice keeps its first label."""
    DICT_TYPES.setdefault(code, label)


class DictItem(Tracked, Model):
    __tablename__ = "dict_item"
    __table_args__ = (
        UniqueConstraint("type", "code", name="uq_dict_item_type_code"),
        UniqueConstraint("type", "label", name="uq_dict_item_type_label"),
    )
    __display__ = "label"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(
        String(40), index=True, info=field(_l("Dictionary"), dict_type="__types__"))
    code: Mapped[str] = mapped_column(
        String(40), info=field(_l("Code"), _l("Stable value stored in records and used by imports")))
    label: Mapped[str] = mapped_column(String(100), info=field(_l("Label")))
    sort: Mapped[Optional[int]] = mapped_column(Integer, default=0, info=field(_l("Order")))
    enabled: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(_l("Enabled")))
    number: Mapped[Optional[int]] = mapped_column(
        Integer, info=field(_l("Number"), _l("A setting of the item, e.g. a special group's visit frequency in days")))
    notes: Mapped[Optional[str]] = mapped_column(String(500), info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Dictionary item")
        label_plural = _l("Dictionaries")
        menu = "system"
        icon = "fa-book"
        list_columns = ["type", "code", "label", "sort", "enabled", "number"]
        search_columns = ["type", "code", "label", "enabled"]
        form_columns = ["type", "code", "label", "sort", "enabled", "number", "notes"]
        order = ("type", "asc")
        actions = EXPORT

    def validate(self, check) -> None:
        from sqlalchemy.orm.attributes import get_history

        if self.code and not self.code.replace("_", "").replace("-", "").isalnum():
            check.error("code", _l("Use letters, digits, '-' or '_' only."))
        if self.id is not None:
            for name in ("type", "code"):
                old = get_history(self, name).deleted
                if old and self.usage(check.session, *(self._original(name, old[0]))):
                    check.error(name, _l("Records use this code; it cannot be changed. "
                                         "Add a new item and disable this one instead."))

    def _original(self, name, old):
        return (old, self.code) if name == "type" else (self.type, old)

    @staticmethod
    def usage(session, dict_type: str, code: str) -> list[tuple[str, int]]:
        """(entity label, count) of the records holding ``code`` of ``dict_type``."""
        from sqlalchemy import func, select

        from app.registry import entities

        result = []
        for model in entities():
            for column in model.__table__.columns:
                if column.info.get("dict_type") == dict_type:
                    with session.no_autoflush:
                        count = session.scalar(select(func.count()).select_from(model).where(column == code))
                    if count:
                        result.append((str(model.Admin.title(model)), count))
        return result

    def delete_blockers(self, session) -> list[tuple[str, int]]:
        """An item still in use cannot be deleted (disable it instead)."""
        return self.usage(session, self.type, self.code)


def _cache() -> dict:
    """Per-request cache of the dictionary: {type: [(code, label, enabled), ...]}."""
    if not has_app_context():
        return {}
    cached = g.get("_dict_cache")
    if cached is None:
        from app.extensions import db

        cached = {}
        rows = db.session.execute(
            select(DictItem.type, DictItem.code, DictItem.label, DictItem.enabled)
            .order_by(DictItem.type, DictItem.sort, DictItem.id)).all()
        for type_, code, label, enabled in rows:
            cached.setdefault(type_, []).append((code, label, enabled is not False))
        g._dict_cache = cached
    return cached


def clear_cache() -> None:
    if has_app_context():
        g.pop("_dict_cache", None)


def choices(dict_type: str, include_disabled: bool = False) -> list[tuple[str, str]]:
    """(code, label) pairs of a type in its order; disabled ones only when asked."""
    if dict_type == "__types__":
        return [(code, str(label)) for code, label in DICT_TYPES.items()]
    return [(code, label) for code, label, enabled in _cache().get(dict_type, [])
            if enabled or include_disabled]


def label_of(dict_type: str, code: Optional[str]) -> str:
    """The label of a code; an unknown code is shown as it is."""
    if code is None:
        return ""
    for c, label in choices(dict_type, include_disabled=True):
        if c == code:
            return label
    return code


def code_of(dict_type: str, label_or_code: str) -> Optional[str]:
    """The code of a label (or of a code), for importers; None when unknown."""
    value = (label_or_code or "").strip()
    for code, label in choices(dict_type, include_disabled=False):
        if value in (code, label):
            return code
    return None
