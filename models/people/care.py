"""天天敲门: care groups pairing a special-group resident with 网格员, 在职党员 and 下沉党员,
their visit log, and who is overdue for a visit."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, String, Table, Text, func, or_, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, scope
from app.base import Model, Tracked
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.dictionary import DictItem
from app.extensions import db
from models.kernel.base import InCommunity
from models.people.people import ACTIVE, PartyMember, Person, SpecialGroup, Staff

care_group_staff = Table(
    "care_group_staff", Model.metadata,
    Column("care_group_id", ForeignKey("care_group.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True))
care_group_member = Table(
    "care_group_member", Model.metadata,
    Column("care_group_id", ForeignKey("care_group.id", ondelete="CASCADE"), primary_key=True),
    Column("party_member_id", ForeignKey("party_member.id", ondelete="CASCADE"), primary_key=True))
visit_staff = Table(
    "visit_staff", Model.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True))
visit_member = Table(
    "visit_member", Model.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column("party_member_id", ForeignKey("party_member.id", ondelete="CASCADE"), primary_key=True))


class CareGroup(InCommunity, Tracked, Model):
    """天天敲门组: the people who look after one special-group resident."""

    __tablename__ = "care_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    person: Mapped[Person] = relationship(backref=backref("care_group", uselist=False),
                                          info=field(_l("Resident cared for")))
    staff = relationship(Staff, secondary=care_group_staff, info=field(_l("Grid workers")))
    members = relationship(PartyMember, secondary=care_group_member,
                           info=field(_l("Party members"), _l("On-the-job and sinking party members")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    __display_loads__ = ["person"]

    class Admin(AdminBase):
        label = _l("Care group")
        label_plural = _l("Care groups")
        menu = "care"
        icon = "fa-hand-holding-heart"
        list_columns = ["person", "staff", "members", "grid"]
        search_columns = ["person", "grid"]
        form_columns = ["person", "staff", "members", "notes"]
        order = ("person", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: CareGroup.members.any(PartyMember.user_id == user.id))
        derive = {"community": "person.community", "grid": "person.grid"}
        related = ["visits"]
        actions = EXPORT
        charts = [Chart("coverage_by_grid", _l("Residents in care visited, by grid"), dimension="grid",
                        statistic="models.reporting.dashboard:care_coverage")]

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else ""

    def validate(self, check) -> None:
        if self.person is not None and not any(g.status == ACTIVE for g in self.person.special_groups):
            check.error("person", _l("Only residents of a special group in care have a care group."))
        if not self.staff and not self.members:
            check.error("staff", _l("A care group needs at least one grid worker or party member."))


MODES = {"home": _l("Home visit"), "phone": _l("Phone call"), "video": _l("Video call")}
NORMAL, ATTENTION, URGENT = "normal", "attention", "urgent"
ASSESSMENTS = {NORMAL: _l("Normal"), ATTENTION: _l("Needs attention"), URGENT: _l("Urgent")}


class Visit(InCommunity, Tracked, Model):
    """走访记录: one visit (or call) to a resident in care."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Person] = relationship(
        backref="visits", info=field(_l("Resident visited"), picker_where=lambda: Person.care_group.has()))
    care_group_id: Mapped[Optional[int]] = mapped_column(ForeignKey("care_group.id"), index=True)
    care_group: Mapped[Optional[CareGroup]] = relationship(backref="visits", info=field(_l("Care group")))
    visited_on: Mapped[datetime.date] = mapped_column(Date, index=True, default=datetime.date.today,
                                                      info=field(_l("Date")))
    mode: Mapped[str] = mapped_column(String(10), default="home", info=field(_l("Mode"), choices=MODES))
    staff = relationship(Staff, secondary=visit_staff, info=field(_l("Grid workers")))
    members = relationship(PartyMember, secondary=visit_member, info=field(_l("Party members")))
    findings: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Findings")))
    assessment: Mapped[str] = mapped_column(String(10), default=NORMAL,
                                            info=field(_l("Assessment"), choices=ASSESSMENTS))

    __display__ = "visited_on"

    class Admin(AdminBase):
        label = _l("Visit")
        label_plural = _l("Visits")
        menu = "care"
        icon = "fa-door-open"
        list_columns = ["visited_on", "person", "mode", "assessment", "staff", "members", "created_by"]
        search_columns = ["person", "mode", "assessment", "visited_on", "grid"]
        form_columns = ["person", "visited_on", "mode", "staff", "members", "findings", "assessment"]
        order = ("visited_on", "desc")
        scope = Scope(community="community_id", grid="grid_id", owner="created_by_id")
        derive = {"community": "person.community", "grid": "person.grid", "care_group": "person.care_group"}
        actions = EXPORT

    @classmethod
    def form_defaults(cls, user) -> dict:
        """A new visit: today, by the signed-in staff member."""
        own = db.session.scalars(select(Staff).where(Staff.user_id == user.id)).all() \
            if getattr(user, "id", None) else []
        return {"visited_on": clock.today(), "staff": own}

    def validate(self, check) -> None:
        if self.visited_on is not None and self.visited_on > clock.today():
            check.error("visited_on", _l("A visit cannot be in the future."))
        if self.visited_on is not None and self.visited_on < datetime.date(2000, 1, 1):
            check.error("visited_on", _l("Enter the date of the visit."))
        if self.person is not None and self.person.care_group is None:
            check.error("person", _l("Only residents in care (with a care group) are visited here."))
        if not self.staff and not self.members:
            check.error("staff", _l("Who visited? Choose at least one visitor."))


# ----------------------------------------------------------------------------- overdue

def frequency_days():
    """Visit frequency per special-group type (days), from the 字典 item's number."""
    return select(DictItem.code, DictItem.number).where(DictItem.type == "special_group_type",
                                                        DictItem.number.is_not(None)).subquery()


def overdue_query(today: datetime.date | None = None):
    """(Person, due days, last visit) of residents in care whose last visit is older than
    the shortest frequency among their active special-group types — one statement."""
    today = today or clock.today()
    freq = frequency_days()
    need = (select(SpecialGroup.person_id.label("person_id"), func.min(freq.c.number).label("days"))
            .join(freq, freq.c.code == SpecialGroup.type)
            .where(SpecialGroup.status == ACTIVE,
                   or_(SpecialGroup.until.is_(None), SpecialGroup.until >= today))
            .group_by(SpecialGroup.person_id).subquery())
    last = (select(Visit.person_id.label("person_id"), func.max(Visit.visited_on).label("last"))
            .group_by(Visit.person_id).subquery())
    stmt = (select(Person, need.c.days, last.c.last)
            .join(need, need.c.person_id == Person.id)
            .outerjoin(last, last.c.person_id == Person.id))
    return stmt, need, last, today


def overdue(user=None, today: datetime.date | None = None, count_only: bool = False):
    """The overdue residents in the (acting) user's scope, most overdue first."""
    stmt, need, last, today = overdue_query(today)
    rows = db.session.execute(scope.apply(stmt, Person, user).order_by(last.c.last.asc().nulls_first(),
                                                                         Person.name)).all()
    result = [(p, days, seen) for p, days, seen in rows if seen is None or (today - seen).days > days]
    return len(result) if count_only else result
