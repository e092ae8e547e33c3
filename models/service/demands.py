"""三单: residents order (群众点单), the community dispatches (社区派单), partner units and
sinking party members take (单位/党员接单), residents rate the service afterwards.

One state machine (:data:`TRANSITIONS`) in one place; every change of a demand goes
through :func:`act`, which the pages, the REST action endpoints, Open311 and the CLI all
call. A transition states who may make it, what it requires, and writes an event on the
demand's timeline; a forbidden one raises a DomainError and changes nothing.
"""
from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Callable, Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, func, or_, select,
                        update)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock
from app.base import Model, Tracked, Versioned
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from models.kernel.base import InCommunity
from models.kernel.orgs import Organisation, Position
from models.people.people import PartyMember, Person
from models.kernel.places import Building, Compound

# ----------------------------------------------------------------------------- categories

TAKERS = {"any": _l("Units and party members"), "unit": _l("Units only"), "member": _l("Party members only")}


class ServiceCategory(Tracked, Model):
    """服务类别: what residents ask for, with the service times the office promises."""

    __tablename__ = "service_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, info=field(
        _l("Code"), _l("Stable code; also the Open311 service_code")))
    name: Mapped[str] = mapped_column(String(60), unique=True, info=field(_l("Name")))
    group: Mapped[Optional[str]] = mapped_column(String(60), info=field(_l("Group")))
    take_hours: Mapped[int] = mapped_column(Integer, default=24, info=field(
        _l("Hours to take"), _l("A dispatched order should be taken within this time")))
    resolve_days: Mapped[int] = mapped_column(Integer, default=7, info=field(
        _l("Days to resolve"), _l("A taken order should be resolved within this time")))
    takers: Mapped[str] = mapped_column(String(10), default="any", info=field(_l("Who may take"), choices=TAKERS))
    skill: Mapped[Optional[str]] = mapped_column(String(40), info=field(
        _l("Skill needed"), _l("Party members claiming from the pool must list this skill")))
    description: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Description")))
    keywords: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Keywords")))
    attributes: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("Extra questions (JSON)"), _l("Open311 attributes asked when a demand of this kind is filed")))
    enabled: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(_l("Enabled")))
    sort: Mapped[Optional[int]] = mapped_column(Integer, default=0, info=field(_l("Order")))

    class Admin(AdminBase):
        label = _l("Service category")
        label_plural = _l("Service categories")
        menu = "service"
        icon = "fa-tags"
        list_columns = ["code", "name", "group", "take_hours", "resolve_days", "takers", "skill", "enabled"]
        search_columns = ["code", "name", "group", "enabled"]
        form_columns = ["code", "name", "group", "take_hours", "resolve_days", "takers", "skill", "description",
                        "keywords", "attributes", "enabled", "sort"]
        order = ("sort", "asc")

    def validate(self, check) -> None:
        import json

        if self.take_hours is not None and not 1 <= self.take_hours <= 24 * 30:
            check.error("take_hours", _l("Between 1 hour and 30 days."))
        if self.resolve_days is not None and not 1 <= self.resolve_days <= 365:
            check.error("resolve_days", _l("Between 1 and 365 days."))
        if self.attributes:
            try:
                value = json.loads(self.attributes)
                assert isinstance(value, list) and all(isinstance(a, dict) and a.get("code") for a in value)
            except (ValueError, AssertionError):
                check.error("attributes", _l("A JSON list of questions, each with a code."))


# ----------------------------------------------------------------------------- demands

PENDING, DISPATCHED, TAKEN, IN_PROGRESS, RESOLVED, RATED, CLOSED, CANCELLED, DUPLICATE = (
    "pending", "dispatched", "taken", "in_progress", "resolved", "rated", "closed", "cancelled", "duplicate")
STATUSES = {PENDING: _l("To be dispatched"), DISPATCHED: _l("Dispatched"), TAKEN: _l("Taken"),
            IN_PROGRESS: _l("In progress"), RESOLVED: _l("Resolved"), RATED: _l("Rated"), CLOSED: _l("Closed"),
            CANCELLED: _l("Cancelled"), DUPLICATE: _l("Duplicate")}
OPEN = (PENDING, DISPATCHED, TAKEN, IN_PROGRESS)
FINISHED = (RESOLVED, RATED, CLOSED)
SOURCES = {"visit": _l("At the office"), "phone": _l("By phone"), "grid_visit": _l("Grid worker's visit"),
           "station": _l("At a red station"), "online": _l("Online"), "hotline": _l("12345 hotline"),
           "open311": _l("Open interface")}
URGENT, LONG_TERM = "urgent", "long_term"
CLASSES = {URGENT: _l("Needed urgently"), LONG_TERM: _l("Long-term")}
PRIORITIES = {"high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
RATINGS = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Neutral"), 2: _l("Dissatisfied"),
           1: _l("Very dissatisfied")}
MAX_DESCRIPTION = 4000


def _changed(item, name: str) -> bool:
    from app.domain import _changed as changed

    return changed(item, name)


def _mine(user):
    """A 仅本人 user's demands: the ones they or their unit take, and the open pool."""
    units = select(Position.organisation_id).where(Position.user_id == user.id)
    members = select(PartyMember.id).where(PartyMember.user_id == user.id)
    return or_(Demand.assigned_unit_id.in_(units), Demand.assigned_member_id.in_(members),
               (Demand.status == DISPATCHED) & Demand.in_pool.is_(True), Demand.created_by_id == user.id)


class Demand(Versioned, InCommunity, Tracked, Model):
    """需求: one thing a resident asks for, from intake to rating."""

    __tablename__ = "demand"
    #: the period of the service rates and the dashboard, within a community or a grid
    __table_args__ = (Index("ix_demand_community_created", "community_id", "created_at"),
                      Index("ix_demand_grid_created", "grid_id", "created_at"),
                      Index("ix_demand_created", "created_at", "id"))  # (the list's default order)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[Optional[str]] = mapped_column(String(20), unique=True, info=field(_l("Serial number")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Subject")))
    description: Mapped[str] = mapped_column(Text, info=field(
        _l("Description"), _l("What is needed, where, since when (4,000 characters at most)")))
    category_id: Mapped[int] = mapped_column(ForeignKey("service_category.id"), index=True)
    category: Mapped[ServiceCategory] = relationship(info=field(_l("Category")))
    source: Mapped[str] = mapped_column(String(20), default="visit", info=field(_l("Source"), choices=SOURCES))
    requester_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    requester: Mapped[Optional[Person]] = relationship(info=field(
        _l("Requester"), _l("A registered resident; or give a name and phone below")))
    requester_name: Mapped[Optional[str]] = mapped_column(String(50), info=field(
        _l("Requester's name"), sensitive="secret"))
    requester_phone: Mapped[Optional[str]] = mapped_column(String(30), info=field(
        _l("Requester's phone"), sensitive="phone", kind="phone"))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    building_id: Mapped[Optional[int]] = mapped_column(ForeignKey("building.id"), index=True)
    building: Mapped[Optional[Building]] = relationship(info=field(_l("Building")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(
        _l("Address"), _l("Where, if not a compound or building"), sensitive="secret"))
    latitude: Mapped[Optional[float]] = mapped_column(Float, info=field(_l("Latitude")))
    longitude: Mapped[Optional[float]] = mapped_column(Float, info=field(_l("Longitude")))
    demand_class: Mapped[str] = mapped_column(String(10), default=URGENT, info=field(
        _l("Class"), _l("Urgent needs are solved first; long-term ones are planned"), choices=CLASSES))
    priority: Mapped[str] = mapped_column(String(10), default="normal", info=field(_l("Priority"),
                                                                                  choices=PRIORITIES))
    status: Mapped[str] = mapped_column(String(20), default=PENDING, index=True,
                                        info=field(_l("Status"), choices=STATUSES))
    in_pool: Mapped[Optional[bool]] = mapped_column(Boolean, default=False, info=field(_l("In the pool")))
    assigned_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organisation.id"), index=True)
    assigned_unit: Mapped[Optional[Organisation]] = relationship(info=field(_l("Taking unit")))
    assigned_member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("party_member.id"), index=True)
    assigned_member: Mapped[Optional[PartyMember]] = relationship(info=field(_l("Taking party member")))
    dispatched_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Dispatched at")))
    dispatched_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    dispatched_by = relationship("AppUser", foreign_keys=[dispatched_by_id], info=field(_l("Dispatched by")))
    taken_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Taken at")))
    started_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Started at")))
    resolved_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Resolved at")))
    rated_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Rated at")))
    closed_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Closed at")))
    due_take_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("To be taken by")))
    due_resolve_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(
        _l("To be resolved by")))
    #: when the dispatchers were told it is overdue (once per lateness)
    overdue_noticed_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)
    result: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Result")))
    evidence: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Evidence"), _l("What shows it is done")))
    rating: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Rating"), choices=RATINGS))
    rating_comment: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Rating comment")))
    cancel_reason: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Reason for cancelling")))
    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("demand.id"), index=True)
    duplicate_of = relationship("Demand", remote_side=[id], info=field(_l("Duplicate of")))
    visit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"), index=True)
    visit = relationship("Visit", info=field(_l("From the visit")))

    __display__ = "number"

    class Admin(AdminBase):
        label = _l("Demand")
        label_plural = _l("Demands")
        menu = "service"
        icon = "fa-bullhorn"
        list_columns = ["number", "title", "category", "compound", "demand_class", "status", "taker", "created_at"]
        search_columns = ["number", "title", "category", "status", "demand_class", "source", "compound", "grid",
                          "assigned_unit", "assigned_member", "created_at"]
        show_columns = ["number", "title", "description", "category", "source", "requester", "requester_name",
                        "requester_phone", "compound", "building", "address", "demand_class", "priority", "status",
                        "taker", "due_take_at", "due_resolve_at", "result", "evidence", "rating", "rating_comment",
                        "cancel_reason", "duplicate_of", "visit"]
        form_columns = ["title", "description", "category", "source", "requester", "requester_name",
                        "requester_phone", "compound", "building", "address", "demand_class", "priority"]
        labels = {"taker": _l("Taken by")}
        order = ("created_at", "desc")
        scope = Scope(community="community_id", grid="grid_id", personal=True, mine=_mine)
        derive = {"compound": "building.compound",
                  "community": ["building.community", "compound.community", "requester.community"],
                  "grid": ["building.grid", "compound.grid", "requester.grid"]}
        loads = ["assigned_unit", "assigned_member"]
        actions = {**EXPORT, "dispatch": _l("Dispatch"), "claim": _l("Take orders"), "rate": _l("Rate")}
        charts = [Chart("per_month", _l("Demands per month"), dimension="created_at:month", series="status",
                        stacked=True, dated="created_at"),
                  Chart("rates_per_month", _l("Service rates per month (per cent)"), kind="line",
                        dated="created_at", statistic="models.reporting.dashboard:service_rates"),
                  Chart("by_category", _l("Demands by category"), dimension="category", dated="created_at"),
                  Chart("by_status", _l("Demands by status"), dimension="status", kind="pie", dated="created_at"),
                  Chart("by_grid", _l("Demands by grid"), dimension="grid", series="status", stacked=True,
                        dated="created_at"),
                  Chart("top_units", _l("Units that took the most orders"), kind="hbar", dated="created_at",
                        statistic="models.reporting.dashboard:top_units"),
                  Chart("top_members", _l("Party members who took the most orders"), kind="hbar",
                        dated="created_at", statistic="models.reporting.dashboard:top_members")]

    def __repr__(self) -> str:
        return self.number or self.title or ""

    @property
    def taker(self) -> str:
        if self.assigned_unit is not None:
            return str(self.assigned_unit)
        if self.assigned_member is not None:
            return str(self.assigned_member)
        return gettext("Pool") if self.in_pool and self.status == DISPATCHED else ""

    def complete(self, check) -> None:
        """A demand given only by an address (or a map point) belongs to the filer's
        community and grid; a filer above one community must choose the compound."""
        from app.scope import acting_user

        if self.community_id is not None or self.community is not None or any(
                getattr(self, name) is not None for name in ("building", "compound", "requester")):
            return
        user = acting_user()
        if getattr(user, "scope_community_id", None) is not None:
            self.community_id, self.grid_id = user.scope_community_id, user.scope_grid_id
        elif self.address or (self.latitude is not None and self.longitude is not None):
            check.error("compound", _l("An address alone does not say which community: choose the compound."))

    def validate(self, check) -> None:
        if self.description and len(self.description) > MAX_DESCRIPTION:
            check.error("description", _l("At most %(n)d characters.", n=MAX_DESCRIPTION))
        if self.id is None and self.source == "open311" and not getattr(self, "_via_open311", False):
            check.error("source", _l("Only the open interface (Open311) files demands of this source."))
        if self.requester is None and not self.requester_name and not (
                self.source == "open311" and (self.id is not None or getattr(self, "_via_open311", False))):
            check.error("requester_name", _l("Give the requester: a registered resident, or a name and phone."))
        if self.compound is None and self.building is None and not self.address and self.requester is None \
                and (self.latitude is None or self.longitude is None):
            check.error("compound", _l("Where is it? Choose a compound or building, or give an address."))
        if self.category is not None and not self.category.enabled and self.id is None:
            check.error("category", _l("This category is no longer in use."))
        if self.id is not None and self.status not in OPEN and any(
                _changed(self, name) for name in ("title", "description", "category", "compound", "building",
                                                  "address", "requester", "requester_name", "requester_phone")):
            check.error(None, _l("A finished demand cannot be edited; reopen it first."))

    def delete_blockers(self, session) -> list[tuple[str, int]]:
        """Only a demand still waiting for dispatch, with nothing on its timeline but its
        filing, may be deleted (a mistaken entry); any other is cancelled instead."""
        steps = session.scalar(select(func.count()).select_from(DemandEvent).where(
            DemandEvent.demand_id == self.id, DemandEvent.action != "create"))
        if self.status != PENDING or steps:
            return [(gettext("steps on its timeline (cancel the demand instead)"), max(steps, 1))]
        return []

    def before_save(self, session) -> None:
        """A new demand gets its number (WH-2026-000123) and the first step of its
        timeline, whoever files it (a form, the API, Open311, a care visit)."""
        from flask import current_app

        from app.scope import acting_user

        new = self.id is None
        if new:
            session.add(self)
            session.flush()
        if not self.number:
            prefix = current_app.config.get("DEMAND_NUMBER_PREFIX", "WH")
            year = (self.created_at or clock.now()).year
            self.number = f"{prefix}-{year}-{self.id:06d}"
        if new:
            actor = getattr(self, "_filed_by", None)
            if actor is None:
                user = acting_user()
                actor = user if getattr(user, "id", None) is not None else None
            _event(self, "create", actor, None, self.status or PENDING, getattr(self, "_filing_note", None),
                   clock.now())


class DemandEvent(Model):
    """One step on a demand's timeline: who did what, when, with which note."""

    __tablename__ = "demand_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    demand: Mapped[Demand] = relationship(backref=backref("events", order_by="DemandEvent.id",
                                                          cascade="all, delete-orphan", passive_deletes=True))
    at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    actor_name: Mapped[Optional[str]] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[Optional[str]] = mapped_column(String(20))
    to_status: Mapped[Optional[str]] = mapped_column(String(20))
    #: who holds the order after this step (a unit's or a member's name), if anyone
    taker: Mapped[Optional[str]] = mapped_column(String(100))
    note: Mapped[Optional[str]] = mapped_column(Text)


class DemandPhoto(Model):
    """A photo of a demand: taken at intake (what is wrong) or as evidence (done)."""

    __tablename__ = "demand_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    demand: Mapped[Demand] = relationship(backref=backref("photos", order_by="DemandPhoto.id",
                                                          cascade="all, delete-orphan", passive_deletes=True))
    stage: Mapped[str] = mapped_column(String(10), default="intake")  # intake | evidence
    filename: Mapped[str] = mapped_column(String(200))
    stored_as: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))


class RatingToken(Model):
    """A one-use link by which the requester rates a resolved demand without signing in."""

    __tablename__ = "rating_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    demand: Mapped[Demand] = relationship()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    used_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)


class Notification(Model):
    """站内通知: what a taker, a dispatcher or a grid worker should know about a demand."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    demand_id: Mapped[Optional[int]] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    demand: Mapped[Optional[Demand]] = relationship()
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
    read_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)

    @property
    def text(self) -> str:
        """The notice in the reader's language (the stored message is the sender's)."""
        from app.notify import MESSAGES

        if self.kind in MESSAGES and self.demand is not None:
            return str(MESSAGES[self.kind]) % {"number": self.demand.number, "title": self.demand.title}
        return self.message


class ApiClient(Model):
    """A system that files demands through Open311 (a kiosk, the 12345 hotline…)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    active: Mapped[Optional[bool]] = mapped_column(Boolean, default=True)
    created_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)
    last_used_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- the machine

DISPATCH, CLAIM, TAKE, DECLINE, START, RESOLVE, RATE, CLOSE, CANCEL, REOPEN, MARK_DUPLICATE, TIMEOUT = (
    "dispatch", "claim", "take", "decline", "start", "resolve", "rate", "close", "cancel", "reopen",
    "duplicate", "timeout")
ACTION_LABELS = {DISPATCH: _l("Dispatch"), CLAIM: _l("Claim from the pool"), TAKE: _l("Take the order"),
                 DECLINE: _l("Decline"), START: _l("Start"), RESOLVE: _l("Resolve"), RATE: _l("Record the rating"),
                 CLOSE: _l("Close"), CANCEL: _l("Cancel"), REOPEN: _l("Reopen"),
                 MARK_DUPLICATE: _l("Mark as duplicate"), TIMEOUT: _l("Back to the pool (not started in time)"),
                 "create": _l("Filed")}


@dataclass(frozen=True)
class Transition:
    sources: tuple
    target: str
    permission: Optional[str]  # named permission on Demand; None: the system only
    who: str  # "staff": any holder; "assignee": the unit or member it is assigned to; "claimer"
    needs: tuple = ()  # data the action must be given
    check: Optional[Callable] = None  # extra condition: (demand, user, data) -> message or None


def _needs_target(demand, user, data):
    if not data.get("pool") and data.get("unit") is None and data.get("member") is None:
        return _l("Choose a unit or a party member, or publish the order to the pool.")
    if data.get("unit") is not None and data.get("member") is not None:
        return _l("Give the order to a unit or to a party member, not both.")
    takers = demand.category.takers if demand.category is not None else "any"
    if data.get("unit") is not None and takers == "member":
        return _l("Orders of this category are taken by party members only.")
    if data.get("member") is not None and takers == "unit":
        return _l("Orders of this category are taken by units only.")
    return None


def _needs_evidence(demand, user, data):
    if not (data.get("evidence") or "").strip():
        return _l("Give the evidence that it is done (what was done, photos).")
    return None


def _rating_value(demand, user, data):
    if data.get("rating") not in RATINGS:
        return _l("Choose a rating from 1 to 5.")
    return None


def _not_itself(demand, user, data):
    original = data.get("original")
    if original is None:
        return _l("Choose the demand it repeats.")
    if original.id == demand.id or original.duplicate_of_id == demand.id:
        return _l("A demand cannot repeat itself.")
    return None


TRANSITIONS: dict[str, Transition] = {
    DISPATCH: Transition((PENDING, DISPATCHED), DISPATCHED, "dispatch", "staff", (), _needs_target),
    CLAIM: Transition((DISPATCHED,), TAKEN, "claim", "claimer"),
    TAKE: Transition((DISPATCHED,), TAKEN, "claim", "assignee"),
    DECLINE: Transition((DISPATCHED, TAKEN), PENDING, "claim", "assignee", ("note",)),
    START: Transition((TAKEN,), IN_PROGRESS, "claim", "assignee"),
    RESOLVE: Transition((TAKEN, IN_PROGRESS), RESOLVED, "claim", "assignee", ("result",), _needs_evidence),
    RATE: Transition((RESOLVED,), RATED, "rate", "staff", (), _rating_value),
    CLOSE: Transition((RATED, RESOLVED), CLOSED, "dispatch", "staff"),
    CANCEL: Transition(OPEN, CANCELLED, "dispatch", "staff", ("note",)),
    REOPEN: Transition((RESOLVED, RATED, CLOSED, CANCELLED, DUPLICATE), PENDING, "dispatch", "staff", ("note",)),
    MARK_DUPLICATE: Transition((PENDING, DISPATCHED), DUPLICATE, "dispatch", "staff", (), _not_itself),
    TIMEOUT: Transition((TAKEN,), DISPATCHED, None, "system"),
}


class TransitionError(Exception):
    pass


def _units_of(user) -> list[int]:
    from app.extensions import db

    return list(db.session.scalars(select(Position.organisation_id).where(Position.user_id == user.id)))


def _member_of(user):
    from app.extensions import db

    return db.session.scalars(select(PartyMember).where(PartyMember.user_id == user.id)).first()


def is_assignee(demand, user) -> bool:
    if user is None:
        return False
    if demand.assigned_unit_id is not None and demand.assigned_unit_id in _units_of(user):
        return True
    member = _member_of(user)
    return member is not None and demand.assigned_member_id == member.id


TAKING_UNIT_TYPES = ("paired_unit", "resident_unit", "local_unit")


def claim_as(demand, user):
    """(unit, member) the user would take the demand as, or a message why not."""
    category = demand.category
    units = _units_of(user)
    if units and category.takers in ("any", "unit"):
        from app.extensions import db

        unit = db.session.scalars(select(Organisation).where(Organisation.id.in_(units),
                                                             Organisation.type.in_(TAKING_UNIT_TYPES))).first()
        if unit is not None:
            return unit, None
    member = _member_of(user)
    if member is not None and category.takers in ("any", "member"):
        skills = {s.strip() for s in (member.skills or "").replace("，", ",").split(",") if s.strip()}
        if category.skill and category.skill not in skills:
            return _l("This category needs the skill “%(skill)s”.", skill=category.skill)
        if demand.grid_id is not None and member.grid_id not in (None, demand.grid_id):
            return _l("Party members take orders of their own grid.")
        return None, member
    return _l("Only partner units and party members registered for this category can take it.")


def permitted(action: str, demand, user) -> Optional[object]:
    """Why ``user`` may not make ``action`` on ``demand`` now (state, role, assignee,
    eligibility), or None. What the action must be given is :func:`missing`'s."""
    from flask import current_app

    transition = TRANSITIONS[action]
    if demand.status not in transition.sources:
        return _l("A demand that is “%(status)s” cannot be “%(action)s”.",
                  status=STATUSES[demand.status], action=ACTION_LABELS[action])
    if transition.who == "system":
        return None if user is None else _l("Only the system does this.")
    if user is None:
        return None  # the command line acts for the office
    held = current_app.appbuilder.sm.permissions_of(user)
    # staff who dispatch may record the start and the result a taker reports by phone
    on_behalf = (action in (START, RESOLVE) and ("can_dispatch", "Demand") in held
                 and not is_assignee(demand, user))
    if not user.is_active or (transition.permission and not on_behalf
                              and (f"can_{transition.permission}", "Demand") not in held):
        return _l("Your role may not do this.")
    if transition.who == "assignee" and not on_behalf and not is_assignee(demand, user):
        return _l("Only the unit or party member the order is given to may do this.")
    if transition.who == "claimer":
        if not demand.in_pool:
            return _l("This order is given to someone; it is not in the pool.")
        taker = claim_as(demand, user)
        if not isinstance(taker, tuple):
            return taker
    return None


def missing(action: str, demand, user, data) -> Optional[object]:
    """What ``data`` lacks for ``action`` (a note, the result, a rating…), or None."""
    transition = TRANSITIONS[action]
    for name in transition.needs:
        if not (str(data.get(name) or "")).strip():
            return {"note": _l("Write a note (why)."), "result": _l("Write the result.")}[name]
    if transition.check is not None:
        return transition.check(demand, user, data)
    return None


def act(demand: Demand, action: str, user=None, *, actor=None, **data) -> Demand:
    """Make ``action`` happen to ``demand`` as ``user`` (None: the system / command line),
    or raise DomainError with the reason; writes the event and the notices, and commits.

    ``actor`` names who did it on the timeline when ``user`` is None (the seed, the
    command line, the requester's rating link); it is never checked. With no user the
    office itself acts: unscoped even inside an anonymous web request."""
    from app import scope

    if user is None:
        with scope.as_system():
            return _act(demand, action, None, actor, data)
    return _act(demand, action, user, actor, data)


def _act(demand: Demand, action: str, user, actor, data: dict) -> Demand:
    from app import domain, scope
    from app.extensions import db

    transition = TRANSITIONS.get(action)
    if transition is None:
        raise domain.DomainError(_l("Unknown action."))
    if user is not None and not scope.visible(demand, user):
        if _moved_on(demand):  # out of view because another step came first (a pool order taken)
            raise domain.Conflict(conflict_message(demand, action))
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    problem = permitted(action, demand, user) or missing(action, demand, user, data)
    if problem is not None:
        raise domain.DomainError(problem)
    if action == CLAIM and user is None and data.get("unit") is None and data.get("member") is None:
        # the command line (user None) claims on behalf of the unit or member it names
        raise domain.DomainError(_l("Choose a unit or a party member, or publish the order to the pool."))
    before = demand.status
    # first of all, one conditional UPDATE on the state the step starts from: of two steps
    # at once (or one made on a page loaded before another's), exactly one goes on
    try:
        domain.claim(demand, before, _l("Someone else has just changed this demand."))
    except domain.Conflict:
        raise domain.Conflict(conflict_message(demand, action)) from None
    now = clock.now()
    notices = []
    if action == CLAIM:
        unit, member = claim_as(demand, user) if user is not None else (data.get("unit"), data.get("member"))
        demand.in_pool, demand.taken_at = False, now
        demand.assigned_unit, demand.assigned_member = unit, member
    elif action == DISPATCH:
        demand.in_pool = bool(data.get("pool")) and data.get("unit") is None and data.get("member") is None
        demand.assigned_unit = data.get("unit")
        demand.assigned_member = data.get("member")
        demand.dispatched_at, demand.dispatched_by_id = now, getattr(user or actor, "id", None)
        demand.due_take_at = now + datetime.timedelta(hours=demand.category.take_hours)
        demand.taken_at = demand.started_at = None
        notices += _notify_takers(demand)
    elif action == TAKE:
        demand.taken_at = now
    elif action == DECLINE:
        demand.assigned_unit = demand.assigned_member = None
        demand.in_pool, demand.taken_at, demand.started_at = False, None, None
        notices.append(("declined", _dispatchers(demand)))
    elif action == START:
        demand.started_at = now
    elif action == RESOLVE:
        demand.result, demand.evidence, demand.resolved_at = data["result"], data.get("evidence"), now
        notices.append(("resolved", _intake_users(demand)))
    elif action == RATE:
        demand.rating, demand.rating_comment, demand.rated_at = data["rating"], data.get("comment"), now
    elif action == CLOSE:
        demand.closed_at = now
    elif action == CANCEL:
        demand.cancel_reason = data["note"]
    elif action == REOPEN:
        _clear_progress(demand)
    elif action == MARK_DUPLICATE:
        demand.duplicate_of = data["original"]
    elif action == TIMEOUT:
        demand.assigned_unit = demand.assigned_member = None
        demand.in_pool, demand.taken_at = True, None
        notices.append(("timeout", _dispatchers(demand)))
    demand.status = transition.target
    if action == TAKE or action == CLAIM:
        demand.due_resolve_at = now + datetime.timedelta(days=demand.category.resolve_days)
    if action in (DISPATCH, TAKE, CLAIM, REOPEN, TIMEOUT, DECLINE):
        demand.overdue_noticed_at = None  # a new deadline: late again is news again
    domain.save(demand, commit=False)
    _event(demand, action, user or actor, before, demand.status, data.get("note") or data.get("comment"), now)
    if action == RATE and data["rating"] <= 2:  # a poor rating reopens the demand
        _clear_progress(demand)
        demand.status = PENDING
        _event(demand, REOPEN, None, RATED, PENDING, None, now)
        notices.append(("reopened", _dispatchers(demand)))
    from app.notify import notify

    for kind, users in notices:
        notify(users, demand, kind)
    db.session.commit()
    return demand


def _moved_on(demand) -> bool:
    """Whether the demand has changed since ``demand`` was loaded."""
    from app.extensions import db

    return db.session.scalar(select(Demand.version).where(Demand.id == demand.id)) != demand.version


def conflict_message(demand, action: str):
    """What the loser of a race is told (after the rollback): what the demand has just
    become, and by which step, e.g. 该需求刚刚已被他人“派单”，现为“已派单”，请刷新后再试。"""
    from app.extensions import db

    status = db.session.scalar(select(Demand.status).where(Demand.id == demand.id))
    last = db.session.scalars(select(DemandEvent.action).where(DemandEvent.demand_id == demand.id)
                              .order_by(DemandEvent.id.desc()).limit(1)).first()
    if status is None:
        return _l("This demand has just been deleted.")
    if action == CLAIM and last == CLAIM:
        return _l("Someone else has just taken this order.")
    return _l("This demand has just been “%(action)s” by someone else and is now “%(status)s”. "
              "Please refresh and try again.", action=ACTION_LABELS.get(last, last or ""),
              status=STATUSES.get(status, status))


def _clear_progress(demand) -> None:
    demand.assigned_unit = demand.assigned_member = None
    demand.in_pool = False
    for name in ("dispatched_at", "taken_at", "started_at", "resolved_at", "rated_at", "closed_at",
                 "due_take_at", "due_resolve_at"):
        setattr(demand, name, None)


class _Requester:
    """The requester, rating through the link (no account)."""

    id = None

    def get_full_name(self) -> str:
        return "@requester"


REQUESTER = _Requester()


def _event(demand, action, user, before, after, note, now) -> None:
    from app.extensions import db

    taker = demand.assigned_unit or demand.assigned_member
    db.session.add(DemandEvent(demand=demand, at=now, actor_id=getattr(user, "id", None),
                               actor_name=user.get_full_name() if user is not None else None,
                               action=action, from_status=before, to_status=after, note=note,
                               taker=str(taker)[:100] if taker is not None else None))


def _dispatchers(demand) -> list:
    """The staff who dispatch in the demand's community (and whoever dispatched it)."""
    from flask_appbuilder.security.sqla.models import Role

    from app.extensions import db
    from app.policy import roles_with_action
    from models.kernel.users import AppUser

    return list(db.session.scalars(select(AppUser).where(
        AppUser.scope_community_id == demand.community_id, AppUser.active.is_(True),
        AppUser.roles.any(Role.name.in_(roles_with_action("Demand", "dispatch"))))))


def _intake_users(demand) -> list:
    from app.extensions import db
    from models.kernel.users import AppUser

    if demand.created_by_id is None:
        return []
    user = db.session.get(AppUser, demand.created_by_id)
    return [user] if user is not None else []


def _notify_takers(demand) -> list:
    """The users of the unit or member the order is given to (or none for the pool)."""
    from app.extensions import db
    from models.kernel.users import AppUser

    users = []
    if demand.assigned_unit is not None:
        users = list(db.session.scalars(select(AppUser).join(Position, Position.user_id == AppUser.id)
                                        .where(Position.organisation_id == demand.assigned_unit.id)))
    elif demand.assigned_member is not None and demand.assigned_member.user_id:
        users = [db.session.get(AppUser, demand.assigned_member.user_id)]
    return [("dispatched", users)]


def create(demand: Demand, user=None, note: str | None = None, *, actor=None, commit: bool = True) -> Demand:
    """File a new demand (intake form, API, Open311, a care visit): validated, numbered,
    with its first event (by ``user`` or ``actor``, else whoever is acting)."""
    from app import domain
    from app.extensions import db

    demand.status = PENDING
    if demand.created_by_id is None and getattr(user, "id", None) is not None:
        demand.created_by_id = user.id  # filed on someone's behalf outside a request (CLI, jobs)
    demand._filed_by = user or actor
    demand._filing_note = note
    domain.save(demand, commit=False)
    if commit:
        db.session.commit()
    return demand


def from_visit(visit, category, user=None, *, title: str | None = None, demand_class: str | None = None,
               note: str | None = None) -> Demand:
    """A care visit's finding becomes a demand in one step: the resident, the place and
    the finding are the visit's."""
    from app import domain

    if not (visit.findings or "").strip():
        raise domain.DomainError(_l("The visit found nothing to act on: write its findings first."))
    if category is None:
        raise domain.DomainError(_l("Choose the category of the demand."))
    person = visit.person
    household = person.household
    demand = Demand(title=(title or visit.findings.strip().splitlines()[0])[:100],
                    description=visit.findings, category=category, source="grid_visit",
                    requester=person, compound=person.compound,
                    building=household.building if household is not None else None, visit=visit,
                    demand_class=demand_class or (URGENT if visit.assessment == "urgent" else LONG_TERM))
    return create(demand, user, note=note or gettext("From the care visit of %(date)s",
                                                     date=visit.visited_on.isoformat()))


def overdue_condition(now: datetime.datetime):
    """Open demands past their promised time: waiting for dispatch over a day,
    dispatched and not taken in time, taken and not resolved in time."""
    from flask import current_app

    hours = int(current_app.config.get("DEMAND_DISPATCH_HOURS", 24))
    return or_((Demand.status == PENDING) & (Demand.created_at < now - datetime.timedelta(hours=hours)),
               (Demand.status == DISPATCHED) & (Demand.due_take_at < now),
               Demand.status.in_((TAKEN, IN_PROGRESS)) & (Demand.due_resolve_at < now))


def sweep(now: datetime.datetime | None = None) -> dict:
    """The timed work, run every few minutes (``flask demands sweep``): orders taken but
    not started within DEMAND_START_HOURS go back to the pool; the dispatchers are told
    once about each demand that has become overdue. Returns what it did."""
    from flask import current_app

    from app import domain
    from app.extensions import db
    from app.notify import notify

    now = now or clock.now()
    hours = int(current_app.config.get("DEMAND_START_HOURS", 24))
    late = db.session.scalars(select(Demand).where(
        Demand.status == TAKEN, Demand.started_at.is_(None),
        Demand.taken_at < now - datetime.timedelta(hours=hours)).order_by(Demand.id)).all()
    returned = 0
    for demand in late:
        try:
            act(demand, TIMEOUT, None, note=gettext("Not started within %(n)s hours", n=hours))
            returned += 1
        except domain.DomainError:  # another sweeper was first
            db.session.rollback()
    overdue = db.session.scalars(select(Demand).where(overdue_condition(now),
                                                      Demand.overdue_noticed_at.is_(None))).all()
    for demand in overdue:
        demand.overdue_noticed_at = now
        notify(_dispatchers(demand), demand, "overdue")
    db.session.commit()
    return {"returned": returned, "overdue": len(overdue)}


# ----------------------------------------------------------------------------- rating links

def rating_link(demand, days: int | None = None) -> str:
    """A new one-use token for the requester to rate ``demand`` (returned once)."""
    from flask import current_app

    from app.extensions import db

    days = days or int(current_app.config.get("RATING_LINK_DAYS", 7))
    token = secrets.token_urlsafe(24)
    db.session.add(RatingToken(demand=demand, token_hash=hash_secret(token),
                               expires_at=clock.now() + datetime.timedelta(days=days)))
    db.session.commit()
    return token


def rating_token(token: str):
    """The unused, unexpired rating link of ``token``, or None."""
    from app.extensions import db

    if not token or len(token) > 100:
        return None
    row = db.session.scalars(select(RatingToken).where(RatingToken.token_hash == hash_secret(token))).first()
    if row is None or row.used_at is not None or row.expires_at < clock.now():
        return None
    return row


def rate_by_token(token: str, rating: int, comment: str | None = None) -> Demand:
    """The requester rates through the link: once, before it expires; the token is
    spent only by a rating that is taken."""
    from app import domain
    from app.extensions import db

    row = rating_token(token)
    if row is None:
        raise domain.DomainError(_l("This rating link is not valid (used or expired)."))
    if missing(RATE, row.demand, None, {"rating": rating}) is not None:
        raise domain.DomainError(missing(RATE, row.demand, None, {"rating": rating}))
    # spent atomically: of two submissions at once, one rates
    spent = db.session.execute(update(RatingToken).where(RatingToken.id == row.id, RatingToken.used_at.is_(None))
                               .values(used_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        db.session.rollback()
        raise domain.DomainError(_l("This rating link is not valid (used or expired)."))
    return act(row.demand, RATE, None, actor=REQUESTER, rating=rating, comment=comment)

