"""三单: residents order (群众点单), the community dispatches (社区派单), partner units and
sinking party members take (单位/党员接单), residents rate the service afterwards.

The tables of the service loop: categories, demands with their timeline and photos,
rating links and the Open311 clients. How a demand moves is :mod:`models.service.machine`;
who is told is :mod:`models.service.notices`; the timed rules are
:mod:`models.service.sweep`; the requester's rating link is :mod:`models.service.ratings`.
"""
from __future__ import annotations

import datetime
import hashlib
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock
from app.base import Model, Tracked, Versioned
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.domain import changed
from app.extensions import db
from app.scope import acting_user
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
                changed(self, name) for name in ("title", "description", "category", "compound", "building",
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
            record_event(self, "create", actor, None, self.status or PENDING, getattr(self, "_filing_note", None),
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


def record_event(demand, action, user, before, after, note, now) -> None:
    """One step on ``demand``'s timeline (by ``user``, None: the system), with who holds it now."""
    taker = demand.assigned_unit or demand.assigned_member
    db.session.add(DemandEvent(demand=demand, at=now, actor_id=getattr(user, "id", None),
                               actor_name=user.get_full_name() if user is not None else None,
                               action=action, from_status=before, to_status=after, note=note,
                               taker=str(taker)[:100] if taker is not None else None))
