"""The red stations' everyday order: the 便民服务一卡明 contact card of each compound.

A card holds what the registers do not: the 管片民警, 供电急修 and 水务抢修 numbers and the
station's duty hours. The grid workers (A and B, with their office phones), the
property company or 自管委 contact and the station's address come from the registers
when the card is shown, so the card never goes stale when a worker changes.
"""
from __future__ import annotations

import datetime
import re
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from app.standards import StandardError, normalize_phone, normalize_text
from models.kernel.base import InCommunity
from models.kernel.orgs import Organisation
from models.kernel.places import Compound, Station
from models.people.people import Person, Staff
from models.volunteers.activities import COMPLETED, Activity, Team, Volunteer
from models.volunteers.honours import ELECTED, StarNominee, StarRound
from models.volunteers.points import Exchange


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


# ----------------------------------------------------------------------------- 五个有 and 坐班

class StationCharter(InCommunity, Tracked, Model):
    """有制度: a rule or duty statement adopted at a station (议事规则, 各方职责 …)."""

    __tablename__ = "station_charter"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), index=True)
    station = relationship("Station", backref=backref("charters", order_by="StationCharter.id"),
                           info=field(_l("Red station")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Rule")))
    adopted_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Adopted on")))
    summary: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("What it says")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Station rule")
        label_plural = _l("Station rules")
        menu = None
        list_columns = ["title", "adopted_on", "summary"]
        form_columns = ["station", "title", "adopted_on", "summary"]
        order = ("adopted_on", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "station.community", "grid": "station.grid"}

    def validate(self, check) -> None:
        if self.adopted_on is not None and self.adopted_on > clock.today():
            check.error("adopted_on", _l("The date is in the future."))


WEEKDAYS = {"0": _l("Monday"), "1": _l("Tuesday"), "2": _l("Wednesday"), "3": _l("Thursday"),
            "4": _l("Friday"), "5": _l("Saturday"), "6": _l("Sunday")}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class DutySlot(InCommunity, Tracked, Model):
    """坐班: who is at the station on which weekday, from when to when."""

    __tablename__ = "duty_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), index=True)
    station = relationship("Station", backref=backref("duty_slots", order_by="(DutySlot.weekday, DutySlot.starts)"),
                           info=field(_l("Red station")))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    staff = relationship("Staff", info=field(_l("Staff member")))
    weekday: Mapped[str] = mapped_column(String(1), info=field(_l("Weekday"), choices=WEEKDAYS))
    starts: Mapped[str] = mapped_column(String(5), info=field(_l("Start time"), _l("e.g. 09:00")))
    ends: Mapped[str] = mapped_column(String(5), info=field(_l("End time"), _l("e.g. 11:30")))
    task: Mapped[Optional[str]] = mapped_column(String(100), info=field(
        _l("What is handled"), _l("e.g. 社区业务一站办, 接待群众")))

    class Admin(AdminBase):
        label = _l("Duty slot")
        label_plural = _l("Duty roster")
        menu = "cobuilding"
        icon = "fa-calendar-check-o"
        list_columns = ["station", "weekday", "starts", "ends", "staff", "task"]
        search_columns = ["station", "staff", "weekday"]
        form_columns = ["station", "staff", "weekday", "starts", "ends", "task"]
        order = ("weekday", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "station.community", "grid": "station.grid"}
        loads = ["station", "staff"]
        actions = EXPORT

    def __repr__(self) -> str:
        return f"{WEEKDAYS.get(self.weekday, '')} {self.starts}–{self.ends}"

    def validate(self, check) -> None:
        for name in ("starts", "ends"):
            value = (getattr(self, name) or "").strip().replace("：", ":")
            if len(value) == 4 and value[1] == ":":
                value = "0" + value
            setattr(self, name, value)
            if not _TIME.match(value):
                check.error(name, _l("A time such as 09:00."))
        if _TIME.match(self.starts or "") and _TIME.match(self.ends or "") and self.ends <= self.starts:
            check.error("ends", _l("The end must be after the start."))
            return
        if self.staff is None or self.weekday is None or not _TIME.match(self.starts or "") \
                or not _TIME.match(self.ends or ""):
            return
        with db.session.no_autoflush:
            clash = db.session.scalars(select(DutySlot).where(
                DutySlot.staff_id == self.staff.id, DutySlot.weekday == self.weekday,
                DutySlot.id != (self.id or 0), DutySlot.starts < self.ends, DutySlot.ends > self.starts)).first()
        if clash is not None:
            check.error("starts", _l("%(name)s is on duty at %(station)s then (%(slot)s).", name=self.staff.name,
                                     station=clash.station.name, slot=str(clash)))


def on_duty(station, when: datetime.datetime | None = None) -> list:
    """The station's duty slots of today (the weekday of ``when``)."""
    when = when or clock.now()
    return [slot for slot in station.duty_slots if slot.weekday == str(when.weekday())]


FIVE_HAVES = (("place", _l("A place (阵地)")), ("rules", _l("Rules (制度)")), ("team", _l("A team (队伍)")),
              ("activities", _l("Activities (活动)")), ("incentives", _l("Incentives (激励)")))


def five_haves(station, start: datetime.date, end: datetime.date) -> dict:
    """The 五个有 checklist of a station in [start, end]: each item with what was found,
    and the completeness (the share of the five that hold)."""
    from sqlalchemy import func

    compound = station.compound
    upto = datetime.datetime.combine(end, datetime.time.max)
    since = datetime.datetime.combine(start, datetime.time.min)
    teams = db.session.scalar(select(func.count()).select_from(Team).where(Team.compound_id == compound.id))
    activities = db.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.station_id == station.id, Activity.status == COMPLETED, Activity.starts_at >= since,
        Activity.starts_at <= upto))
    stars = db.session.scalar(select(func.count()).select_from(StarNominee).join(StarRound).join(
        Person, StarNominee.person_id == Person.id).where(
        Person.compound_id == compound.id, StarNominee.decision == ELECTED,
        StarRound.decided_on >= start, StarRound.decided_on <= end))
    exchanges = db.session.scalar(select(func.count()).select_from(Exchange).join(Volunteer).join(
        Person, Volunteer.person_id == Person.id).where(
        Person.compound_id == compound.id, Exchange.requested_at >= since, Exchange.requested_at <= upto,
        Exchange.status != "rejected"))
    found = {
        "place": (bool(station.room and (compound.address or station.room) and station.area),
                  "；".join(x for x in (station.room, compound.address,
                                         f"{station.area} m²" if station.area else "") if x)),
        "rules": (bool(station.charters), "、".join(c.title for c in station.charters)),
        "team": (bool(teams), str(teams)),
        "activities": (bool(activities), str(activities)),
        "incentives": (bool(stars or exchanges), f"{stars} / {exchanges}"),
    }
    items = [{"key": key, "label": label, "ok": found[key][0], "detail": found[key][1]} for key, label in FIVE_HAVES]
    return {"items": items, "completeness": sum(1 for i in items if i["ok"]) * 100 // len(items),
            "start": start, "end": end}
