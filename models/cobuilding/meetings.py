"""联动会议: the meetings where the parties of a compound decide together (四方联动 of the
residents' committee, the grid party branch, the owners' committee and the property
company; 三方联动; 居民议事; 联席会议) — and what they decided, tracked to the end.

* A meeting has its parties (organisations; proposed from the compound's linkage
  parties), the people present, agenda items (which may cite demands), decisions, the
  minutes and attachments.
* Every **decision** is a tracked item: its owner (the party that must act), its class
  (急需解决 / 长期解决) and due date, status 待办 → 已办结 (or 逾期 when the due date passes,
  on the office's clock). A decision that the 三单 loop should carry becomes a demand in
  one step (:func:`to_demand`), and the decision follows it.
* **Sign-off**: each participating party signs the minutes (who, when). A meeting is
  closed only when every party has signed, or with the reason why not (:func:`close`).
"""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import (Column, Date, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint, select,
                        update)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, domain
from app.base import Model, Tracked, Versioned
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from models.kernel.base import InCommunity
from models.kernel.orgs import Organisation
from models.kernel.places import Compound, Station, compound_linkage
from models.service import machine
from models.service.demands import CLASSES, LONG_TERM, Demand

MEETING_TYPES = {"four_party": _l("Four-party meeting"), "three_party": _l("Three-party meeting"),
                 "residents": _l("Residents' deliberation"), "joint": _l("Joint conference")}
PLANNED, HELD, CLOSED = "planned", "held", "closed"
MEETING_STATUSES = {PLANNED: _l("Planned"), HELD: _l("Held"), CLOSED: _l("Closed")}

meeting_party = Table(
    "meeting_party", Model.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True))
agenda_demand = Table(
    "agenda_demand", Model.metadata,
    Column("agenda_item_id", ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True),
    Column("demand_id", ForeignKey("demand.id", ondelete="CASCADE"), primary_key=True))


class Meeting(Versioned, InCommunity, Tracked, Model):
    """联动会议: who met, where and when, what they discussed and decided."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(12), default="four_party", info=field(
        _l("Kind of meeting"), choices=MEETING_TYPES))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Subject")))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("station.id"), index=True)
    station: Mapped[Optional[Station]] = relationship(info=field(_l("Station")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    held_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True, info=field(_l("Held at")))
    place: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Place")))
    parties = relationship(Organisation, secondary=meeting_party, order_by=Organisation.id, info=field(
        _l("Participating parties"), _l("Leave empty to take the compound's linkage parties")))
    attendees: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("People present"), _l("Names, separated by commas")))
    attendance: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Attendance")))
    minutes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Minutes"), rich=True))
    status: Mapped[str] = mapped_column(String(10), default=PLANNED, index=True,
                                        info=field(_l("Status"), choices=MEETING_STATUSES))
    closed_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Closed at")))
    close_reason: Mapped[Optional[str]] = mapped_column(String(200), info=field(
        _l("Why closed without every signature")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Joint meeting")
        label_plural = _l("Joint meetings")
        menu = "cobuilding"
        icon = "fa-users"
        list_columns = ["held_at", "title", "type", "compound", "attendance", "status"]
        search_columns = ["title", "type", "compound", "held_at", "status"]
        show_columns = ["type", "title", "community", "station", "compound", "held_at", "place", "parties",
                        "attendees", "attendance", "minutes", "status", "closed_at", "close_reason"]
        form_columns = ["type", "title", "community", "station", "compound", "held_at", "place", "parties",
                        "attendees", "attendance", "minutes"]
        order = ("held_at", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("compound", "station.compound"), ("community", "station.community"),
                ("community", "compound.community"), ("grid", "compound.grid")]
        related = ["agenda", "decisions", "signoffs"]
        actions = {**EXPORT, "convene": _l("Convene meetings")}

    def validate(self, check) -> None:
        if self.attendance is not None and not 0 <= self.attendance <= 10000:
            check.error("attendance", _l("Between 0 and 10000."))
        if self.held_at is not None and self.held_at > clock.now() + datetime.timedelta(days=366):
            check.error("held_at", _l("At most a year ahead."))
        if self.compound is not None and self.community is not None \
                and self.compound.community_id != self.community.id:
            check.error("compound", _l("This compound belongs to another community."))
        for party in self.parties:
            if self.community is not None and party.community_id not in (None, self.community.id):
                check.error("parties", _l("Choose parties of this community."))
                break
        if self.id is not None and self.status == CLOSED and any(
                domain.changed(self, n) for n in ("held_at", "type", "compound", "minutes", "attendance")):
            check.error(None, _l("A closed meeting cannot be changed."))
        if not self.parties and self.compound is not None:
            self.parties = linkage_parties(self.compound)

    def before_save(self, session) -> None:
        if self.status in (None, PLANNED) and self.held_at is not None and self.held_at <= clock.now():
            self.status = HELD
        if self.attendance is None and self.attendees:
            self.attendance = len([n for n in self.attendees.replace("，", ",").replace("、", ",").split(",")
                                   if n.strip()])


def linkage_parties(compound: Compound) -> list:
    """The organisations of the compound's linkage parties (as its station shows them:
    :func:`models.kernel.places.compound_linkage`), those registered."""
    return [org for _label, org in compound_linkage(compound) if isinstance(org, Organisation)]


class AgendaItem(InCommunity, Tracked, Model):
    """议题: a question the meeting discussed; it may cite the residents' demands."""

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    meeting: Mapped[Meeting] = relationship(backref=backref("agenda", order_by="AgendaItem.id"),
                                            info=field(_l("Joint meeting")))
    title: Mapped[str] = mapped_column(String(200), info=field(_l("Agenda item")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Discussion")))
    demands = relationship(Demand, secondary=agenda_demand, info=field(_l("Demands concerned")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Agenda item")
        label_plural = _l("Agenda items")
        menu = None
        list_columns = ["title", "notes", "demands"]
        form_columns = ["meeting", "title", "notes", "demands"]
        order = ("id", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "meeting.community", "grid": "meeting.grid"}


OPEN, DONE, OVERDUE, DROPPED = "open", "done", "overdue", "dropped"
DECISION_STATUSES = {OPEN: _l("To do"), DONE: _l("Carried out"), OVERDUE: _l("Overdue"), DROPPED: _l("Dropped")}


class Decision(Versioned, InCommunity, Tracked, Model):
    """决议: what the meeting decided, who must do it, by when — tracked to the end."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    meeting: Mapped[Meeting] = relationship(backref=backref("decisions", order_by="Decision.id"),
                                            info=field(_l("Joint meeting")))
    content: Mapped[str] = mapped_column(Text, info=field(_l("Resolution")))
    decision_class: Mapped[str] = mapped_column(String(12), default=LONG_TERM, info=field(
        _l("Class"), choices=CLASSES))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner: Mapped[Organisation] = relationship(info=field(_l("Owning party"), _l("The party that must carry it out")))
    due_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Due on")))
    status: Mapped[str] = mapped_column(String(10), default=OPEN, index=True,
                                        info=field(_l("Status"), choices=DECISION_STATUSES))
    done_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Done on")))
    result: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Result")))
    demand_id: Mapped[Optional[int]] = mapped_column(ForeignKey("demand.id", ondelete="SET NULL"), index=True)
    demand: Mapped[Optional[Demand]] = relationship(info=field(_l("Demand"), _l("When the 三单 loop carries it")))

    __display__ = "content"

    class Admin(AdminBase):
        label = _l("Meeting decision")
        label_plural = _l("Meeting decisions")
        menu = "cobuilding"
        icon = "fa-tasks"
        list_columns = ["due_on", "content", "owner", "decision_class", "status", "meeting", "demand"]
        search_columns = ["status", "owner", "decision_class", "due_on", "meeting"]
        show_columns = ["meeting", "content", "decision_class", "owner", "due_on", "status", "done_on", "result",
                        "demand"]
        form_columns = ["meeting", "content", "decision_class", "owner", "due_on"]
        order = ("due_on", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "meeting.community", "grid": "meeting.grid"}
        loads = ["owner", "meeting", "demand"]
        actions = EXPORT

    def __repr__(self) -> str:
        text = (self.content or "").strip().splitlines()[0] if self.content else ""
        return text[:40] + ("…" if len(text) > 40 else "")

    def validate(self, check) -> None:
        meeting = self.meeting
        if meeting is not None and self.owner is not None and meeting.parties \
                and self.owner.id not in {p.id for p in meeting.parties}:
            check.error("owner", _l("The owner must be one of the meeting's parties."))
        if meeting is not None and self.due_on is not None and meeting.held_at is not None \
                and self.due_on < meeting.held_at.date():
            check.error("due_on", _l("The due date must not be before the meeting."))
        if meeting is not None and meeting.status == CLOSED and (
                self.id is None or any(domain.changed(self, n) for n in ("content", "owner", "due_on", "meeting"))):
            check.error(None, _l("A closed meeting's decisions are not changed; follow them up instead."))
        if self.id is None:
            self.status, self.done_on = OPEN, None
        elif domain.changed(self, "status") or domain.changed(self, "done_on"):
            check.error("status", _l("Record the follow-up with the decision's buttons."))

    def before_save(self, session) -> None:
        if self.status == OPEN and self.due_on is not None and self.due_on < clock.today():
            self.status = OVERDUE


def is_overdue(decision: Decision, today: datetime.date | None = None) -> bool:
    today = today or clock.today()
    return decision.status in (OPEN, OVERDUE) and decision.due_on is not None and decision.due_on < today


def complete_decision(decision: Decision, user=None, *, result: str, on: datetime.date | None = None) -> Decision:
    """已办结: the owner reports the result."""
    if not (result or "").strip():
        raise domain.DomainError(_l("Write the result."), field="result")
    on = on or clock.today()
    if on > clock.today():
        raise domain.DomainError(_l("The date is in the future."), field="done_on")
    return _follow(decision, user, DONE, result=result.strip()[:2000], done_on=on)


def drop_decision(decision: Decision, user=None, *, reason: str) -> Decision:
    """不再办理, with the reason (e.g. a later meeting replaced it)."""
    if not (reason or "").strip():
        raise domain.DomainError(_l("Write the reason."), field="result")
    return _follow(decision, user, DROPPED, result=reason.strip()[:2000])


def _follow(decision, user, target, **values):
    """The status moves in one conditional UPDATE (two reports at once: one wins)."""
    domain.require_visible(decision, user)
    if decision.status not in (OPEN, OVERDUE):
        raise domain.DomainError(_l("A decision that is “%(status)s” is followed up already.",
                                    status=DECISION_STATUSES[decision.status]))
    _claim_decision(decision)
    try:
        domain.move_status(decision, (decision.status,), target, _l("Someone else has just followed this up."),
                           **values)
    except domain.DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    db.session.refresh(decision)
    return decision


def _claim_decision(decision) -> None:
    """Each follow-up step first claims the decision as it was loaded (domain.claim)."""
    try:
        domain.claim(decision, decision.status, _l("Someone else has just followed this up."))
    except domain.Conflict:
        now = db.session.scalar(select(Decision.status).where(Decision.id == decision.id))
        raise domain.Conflict(_l("This decision has just been followed up by someone else and is now "
                                 "“%(status)s”. Please refresh and try again.",
                                 status=DECISION_STATUSES.get(now, now))) from None


def to_demand(decision: Decision, category, user=None) -> Demand:
    """The decision becomes a 三单 demand (dispatched like any other): the meeting is the
    requester, the compound the place, the decision's class the demand's."""
    domain.require_visible(decision, user)
    if user is not None and ("can_write", "Demand") not in _permissions(user):
        raise domain.DomainError(_l("Your role may not do this."))
    if decision.demand_id is not None:
        raise domain.DomainError(_l("This decision is carried by demand %(number)s already.",
                                    number=decision.demand.number))
    if decision.status not in (OPEN, OVERDUE):
        raise domain.DomainError(_l("Only an open decision becomes a demand."))
    if category is None:
        raise domain.DomainError(_l("Choose the category of the demand."), field="category")
    meeting = decision.meeting
    title, content, decision_class = str(decision)[:100], decision.content, decision.decision_class
    _claim_decision(decision)  # of two hand-overs at once, one files the demand
    demand = Demand(title=title, description=content, category=category, source="station",
                    requester_name=meeting.title[:50], compound=meeting.compound, community=meeting.community,
                    demand_class=decision_class)
    machine.create(demand, user, note=gettext("Decided at the meeting “%(title)s” of %(date)s",
                                             title=meeting.title, date=meeting.held_at.strftime("%Y-%m-%d")),
                   commit=False)
    decision.demand = demand
    domain.save(decision)  # the demand, its link and the claim in one transaction
    return demand


def _permissions(user):
    from flask import current_app

    return current_app.appbuilder.sm.permissions_of(user)


def sweep(today: datetime.date | None = None) -> int:
    """Open decisions past their due date become 逾期 (cron: `flask cobuilding sweep`)."""
    today = today or clock.today()
    changed = db.session.execute(update(Decision).where(Decision.status == OPEN, Decision.due_on < today)
                                 .values(status=OVERDUE, version=Decision.version + 1)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed


class SignOff(InCommunity, Model):
    """签字: a participating party signs the minutes."""

    __tablename__ = "meeting_signoff"
    __table_args__ = (UniqueConstraint("meeting_id", "organisation_id", name="uq_meeting_signoff_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    meeting: Mapped[Meeting] = relationship(backref=backref("signoffs", order_by="SignOff.id"),
                                            info=field(_l("Joint meeting")))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship(info=field(_l("Party")))
    signed_by: Mapped[str] = mapped_column(String(50), info=field(_l("Signed by")))
    signed_at: Mapped[datetime.datetime] = mapped_column(DateTime, info=field(_l("Signed at")))

    class Admin(AdminBase):
        label = _l("Sign-off")
        label_plural = _l("Sign-offs")
        menu = None
        readonly = True  # signed on the meeting's page
        list_columns = ["organisation", "signed_by", "signed_at"]
        order = ("signed_at", "asc")
        scope = Scope(community="community_id", grid="grid_id")


def sign(meeting: Meeting, party: Organisation, user=None, *, signed_by: str) -> SignOff:
    domain.require_visible(meeting, user)
    if meeting.status == CLOSED:
        raise domain.DomainError(_l("The meeting is closed."))
    if meeting.status == PLANNED:
        raise domain.DomainError(_l("The meeting has not been held yet."))
    if party.id not in {p.id for p in meeting.parties}:
        raise domain.DomainError(_l("Only the meeting's parties sign its minutes."), field="organisation")
    if not (signed_by or "").strip():
        raise domain.DomainError(_l("Who signs for the party?"), field="signed_by")
    if any(s.organisation_id == party.id for s in meeting.signoffs):
        raise domain.DomainError(_l("%(party)s has signed already.", party=party.name))
    # parties sign side by side (any version), but a close decided on the old signatures loses
    _claim_meeting(meeting, any_version=True)
    if db.session.scalar(select(SignOff.id).where(SignOff.meeting_id == meeting.id,
                                                  SignOff.organisation_id == party.id)) is not None:
        db.session.rollback()  # the same party, signed a moment ago by someone else
        raise domain.Conflict(_l("%(party)s has signed already.", party=party.name))
    made = SignOff(meeting=meeting, organisation=party, signed_by=signed_by.strip()[:50], signed_at=clock.now(),
                   community_id=meeting.community_id, grid_id=meeting.grid_id)
    db.session.add(made)
    db.session.commit()
    return made


def _claim_meeting(meeting, any_version: bool = False) -> None:
    try:
        domain.claim(meeting, meeting.status, _l("Someone else has just changed this meeting."),
                     any_version=any_version)
    except domain.Conflict:
        now = db.session.scalar(select(Meeting.status).where(Meeting.id == meeting.id))
        raise domain.Conflict(_l("This meeting has just been changed by someone else and is now “%(status)s”. "
                                 "Please refresh and try again.", status=MEETING_STATUSES.get(now, now))) from None


def unsigned(meeting: Meeting) -> list:
    signed = {s.organisation_id for s in meeting.signoffs}
    return [p for p in meeting.parties if p.id not in signed]


def close(meeting: Meeting, user=None, *, reason: str | None = None) -> Meeting:
    """Closed when every party has signed, or with the reason why not."""
    domain.require_visible(meeting, user)
    if meeting.status == CLOSED:
        raise domain.DomainError(_l("The meeting is closed."))
    if meeting.status == PLANNED:
        raise domain.DomainError(_l("The meeting has not been held yet."))
    missing = unsigned(meeting)
    if missing and not (reason or "").strip():
        raise domain.DomainError(_l("Not signed yet by: %(parties)s. Collect the signatures or write why the "
                                    "meeting closes without them.",
                                    parties="、".join(p.name for p in missing)), field="reason")
    _claim_meeting(meeting)
    meeting.status, meeting.closed_at = CLOSED, clock.now()
    meeting.close_reason = ((reason or "").strip()[:200] or None) if missing else None
    db.session.commit()
    return meeting
