"""A throwaway domain of one entity, declared the way a context of models/ declares its own,
registered through the engine's hooks only (menu category, role table)."""
from __future__ import annotations

from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app import menu, policy
from app.base import Model, Tracked
from app.charts import Chart
from app.declare import EXPORT, Admin as AdminBase, field

menu.register_category("gadgets", _l("Notes"), "fa-sticky-note")

KINDS = {"a": _l("Added"), "b": _l("Changed")}


class Gadget(Tracked, Model):
    __tablename__ = "zz_gadget"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), info=field(_l("Name")))
    kind: Mapped[str] = mapped_column(String(1), default="a", info=field(_l("Kind"), choices=KINDS))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone"), sensitive="phone", kind="phone"))
    amount: Mapped[int] = mapped_column(Integer, default=0, info=field(_l("Quantity")))

    class Admin(AdminBase):
        label = _l("Notes")
        label_plural = _l("Notes")
        menu = "gadgets"
        list_columns = ["name", "kind", "phone", "amount"]
        search_columns = ["name"]
        actions = EXPORT
        charts = [Chart("by_kind", _l("Kind"), dimension="kind", kind="bar")]


policy.register_roles({"临时测试角色": {"entities": {"Gadget": policy.W}, "actions": {"Gadget": ["export"]},
                                        "security": False, "sensitive": False, "work": _l("Notes")}})
