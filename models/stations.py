"""The red stations' everyday order: the 便民服务一卡明 contact card of each compound.

A card holds what the registers do not: the 管片民警, 供电急修 and 水务抢修 numbers and the
station's duty hours. The grid workers (A and B, with their office phones), the
property company or 自管委 contact and the station's address come from the registers
when the card is shown, so the card never goes stale when a worker changes.
"""
from __future__ import annotations

import re
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.standards import StandardError, normalize_phone, normalize_text
from models.base import InCommunity, Model, Tracked
from models.places import Compound


#: service hotlines (110, 95598, 12345) have 3 to 6 digits and no area code
_HOTLINE = re.compile(r"\d{3,6}")


class ContactCard(InCommunity, Tracked, Model):
    """便民服务一卡明: a compound's card of whom to call."""

    __tablename__ = "contact_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id", ondelete="CASCADE"), unique=True)
    compound: Mapped[Compound] = relationship(backref=backref("contact_card", uselist=False),
                                              info=field(_l("Compound")))
    police_name: Mapped[Optional[str]] = mapped_column(String(50), info=field(_l("Community police officer")))
    police_phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Police officer's phone")))
    power_repair: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Power emergency repair")))
    water_repair: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Water emergency repair")))
    duty_hours: Mapped[Optional[str]] = mapped_column(String(200), info=field(
        _l("Duty hours at the station"), _l("e.g. 工作日 9:00–11:30 社区工作者坐班")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Other numbers")))

    __display_loads__ = ["compound"]

    class Admin(AdminBase):
        label = _l("Contact card")
        label_plural = _l("Contact cards")
        menu = "cobuilding"
        icon = "fa-id-card-o"
        list_columns = ["compound", "police_name", "power_repair", "water_repair", "duty_hours"]
        search_columns = ["compound", "police_name"]
        form_columns = ["compound", "police_name", "police_phone", "power_repair", "water_repair", "duty_hours",
                        "notes"]
        order = ("compound", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "compound.community", "grid": "compound.grid"}
        actions = EXPORT

    def __repr__(self) -> str:
        return str(self.compound) if self.compound is not None else ""

    def validate(self, check) -> None:
        for name in ("police_phone", "power_repair", "water_repair"):
            value = normalize_text(getattr(self, name))
            if not value:
                continue
            if _HOTLINE.fullmatch(value):  # 95598, 110, 12345: service numbers as they are
                setattr(self, name, value)
                continue
            try:
                setattr(self, name, normalize_phone(value, allow_local=True))
            except StandardError:
                check.error(name, _l("A phone number such as 0712-2345678, 13812345678 or a hotline such as "
                                     "95598."))


def card_contents(compound: Compound) -> dict:
    """Everything the card shows, from the card and the registers: no resident's number
    (grid workers' office phones, organisations' phones only)."""
    from app.extensions import db
    from models.orgs import Organisation
    from models.people import Staff
    from models.places import Station

    card = compound.contact_card
    grid = compound.grid
    workers = []
    for label, user in ((_l("Grid worker A"), getattr(grid, "primary_worker", None)),
                        (_l("Grid worker B"), getattr(grid, "backup_worker", None))):
        if user is None:
            continue
        staff = db.session.scalars(select(Staff).where(Staff.user_id == user.id)).first()
        workers.append({"label": label, "name": user.get_full_name(), "phone": staff.phone if staff else ""})
    managers = db.session.scalars(select(Organisation).where(
        Organisation.compound_id == compound.id,
        Organisation.type.in_(("property_company", "self_management", "owners_committee")))
        .order_by(Organisation.type)).all()
    station = db.session.scalars(select(Station).where(Station.compound_id == compound.id)
                                 .order_by(Station.id)).first()
    return {"compound": compound, "card": card, "workers": workers,
            "managers": [{"name": o.name, "contact": o.contact or "", "phone": o.phone or ""} for o in managers],
            "station": station, "grid": grid}
