"""有队伍、有活动: volunteer teams, volunteers (with an approval step and admission rules),
activities of the 全年活动清单 with sign-ups and check-in, and the service records of
民政部令第67号《志愿服务记录与证明出具办法》 that completing an activity writes.

The points that service earns are posted through :mod:`models.volunteers.points` (one function,
one transaction); nothing here writes a balance.
"""
from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Integer, Numeric, String,
                        Table, Text, UniqueConstraint, func, select, update)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, domain, scope
from app.base import Model, Tracked
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.dictionary import register_dict_type
from app.domain import changed
from app.extensions import db
from app.filters import contains
from app.scope import acting_user
from models.kernel.base import InCommunity
from models.people.people import Person
from models.kernel.places import Compound, Station

register_dict_type("team_type", _l("Volunteer team type"))
register_dict_type("activity_type", _l("Activity type"))

#: the team type children may join (with a guardian and a recorded consent)
CHILDREN_TEAM = "little"

team_member = Table(
    "team_member", Model.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("volunteer_id", ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True))


class Team(InCommunity, Tracked, Model):
    """志愿服务队: 清洁家园, 好邻里, 小区治安, 小小志愿者 …"""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_team_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), info=field(_l("Name")))
    type: Mapped[str] = mapped_column(String(40), info=field(_l("Team type"), dict_type="team_type"))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(
        _l("Compound"), _l("Leave empty for a team of the whole community")))
    leader_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    leader: Mapped[Optional[Person]] = relationship(info=field(_l("Team leader")))
    founded_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Founded on")))
    description: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("What the team does")))

    class Admin(AdminBase):
        label = _l("Volunteer team")
        label_plural = _l("Volunteer teams")
        menu = "volunteers"
        icon = "fa-flag"
        list_columns = ["name", "type", "community", "compound", "leader"]
        search_columns = ["name", "type", "community", "compound"]
        form_columns = ["name", "type", "community", "compound", "leader", "founded_on", "description"]
        order = ("name", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "compound.community"), ("grid", "compound.grid")]
        related = ["members"]
        actions = EXPORT

    def validate(self, check) -> None:
        if self.compound is not None and self.community is not None \
                and self.compound.community_id != self.community.id:
            check.error("compound", _l("This compound belongs to another community."))


APPLIED, REGISTERED, SUSPENDED, WITHDRAWN = "applied", "registered", "suspended", "withdrawn"
VOLUNTEER_STATUSES = {APPLIED: _l("Applied"), REGISTERED: _l("Registered"), SUSPENDED: _l("Suspended"),
                      WITHDRAWN: _l("Withdrawn")}
AVAILABILITY = {"weekday_day": _l("Weekday daytime"), "weekday_evening": _l("Weekday evenings"),
                "weekend": _l("Weekends"), "any": _l("Any time")}
#: volunteer status actions: action → (from statuses, to status, label)
VOLUNTEER_ACTIONS = {
    "approve": ((APPLIED,), REGISTERED, _l("Approve")),
    "suspend": ((REGISTERED,), SUSPENDED, _l("Suspend")),
    "resume": ((SUSPENDED,), REGISTERED, _l("Resume")),
    "withdraw": ((APPLIED, REGISTERED, SUSPENDED), WITHDRAWN, _l("Withdraw")),
}


class Volunteer(InCommunity, Tracked, Model):
    """志愿者: a resident from the register who serves; also the points account."""

    __tablename__ = "volunteer"
    __table_args__ = (CheckConstraint("points_balance >= 0", name="ck_volunteer_balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    person: Mapped[Person] = relationship(foreign_keys=[person_id], backref=backref("volunteer", uselist=False),
                                          info=field(_l("Resident")))
    number: Mapped[Optional[str]] = mapped_column(String(30), unique=True, info=field(
        _l("Volunteer number"), _l("Given when the volunteer is approved, if left empty")))
    skills: Mapped[Optional[str]] = mapped_column(String(100), info=field(
        _l("Skills"), _l("Separated by commas (e.g. 理发, 电工, 书法)")))
    availability: Mapped[Optional[str]] = mapped_column(String(20), info=field(
        _l("Availability"), choices=AVAILABILITY))
    status: Mapped[str] = mapped_column(String(12), default=APPLIED, index=True,
                                        info=field(_l("Status"), choices=VOLUNTEER_STATUSES))
    applied_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Applied on")))
    approved_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Approved on")))
    guardian_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    guardian: Mapped[Optional[Person]] = relationship(foreign_keys=[guardian_id], info=field(
        _l("Guardian"), _l("For a child volunteer (小小志愿者)")))
    guardian_consent_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(
        _l("Guardian's consent recorded on"), _l("The date the guardian's written consent was received")))
    publish_name: Mapped[Optional[bool]] = mapped_column(Boolean, default=False, info=field(
        _l("Full name on public pages"), _l("Only with the volunteer's (or guardian's) consent; else 张*")))
    points_balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                                info=field(_l("Points balance")))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), unique=True)
    user = relationship("AppUser", foreign_keys=[user_id],
                        info=field(_l("User account"), _l("When the volunteer signs in to sign up or exchange")))
    teams = relationship(Team, secondary=team_member, backref=backref("members", order_by="Volunteer.id"),
                         info=field(_l("Teams")))

    __display_loads__ = ["person"]

    class Admin(AdminBase):
        label = _l("Volunteer")
        label_plural = _l("Volunteers")
        menu = "volunteers"
        icon = "fa-hands-helping"
        list_columns = ["number", "person", "teams", "status", "points_balance", "grid"]
        search_columns = ["number", "person", "status", "teams", "grid"]
        show_columns = ["number", "person", "teams", "skills", "availability", "status", "applied_on",
                        "approved_on", "guardian", "guardian_consent_on", "publish_name", "points_balance", "user"]
        form_columns = ["person", "number", "teams", "skills", "availability", "guardian", "guardian_consent_on",
                        "publish_name", "user"]
        order = ("number", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: Volunteer.user_id == user.id)
        derive = {"community": "person.community", "grid": "person.grid"}
        loads = ["teams"]
        actions = {**EXPORT, "approve": _l("Approve volunteers"), "certify": _l("Issue certificates")}

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else (self.number or "")

    @classmethod
    def picker_filter(cls, text: str):
        return cls.person.has(contains(Person.name, text)) | contains(cls.number, text)

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"availability": "weekend"}

    def validate(self, check) -> None:
        from flask import current_app

        if self.id is None and self.applied_on is None:
            self.applied_on = clock.today()
        if self.id is None:
            self.status = APPLIED  # registration is by approval only
            self.points_balance = 0
        if self.person is None:
            return
        minimum = int(current_app.config.get("VOLUNTEER_MIN_AGE", 18))
        age = self.person.age
        if age is None:
            check.error("person", _l("The resident's birth date is needed (admission depends on age)."))
            return
        child = age < minimum
        if child:
            if age < int(current_app.config.get("VOLUNTEER_CHILD_MIN_AGE", 6)):
                check.error("person", _l("Children join from the age of %(n)s.",
                                         n=current_app.config.get("VOLUNTEER_CHILD_MIN_AGE", 6)))
            if self.guardian is None:
                check.error("guardian", _l("A volunteer under %(n)s needs a guardian.", n=minimum))
            elif self.guardian.id == self.person.id or (self.guardian.age or 0) < 18:
                check.error("guardian", _l("The guardian must be an adult other than the child."))
            if self.guardian_consent_on is None:
                check.error("guardian_consent_on", _l("Record the date of the guardian's consent."))
            if any(team.type != CHILDREN_TEAM for team in self.teams):
                check.error("teams", _l("Children join the little volunteers (小小志愿者) only."))
        elif any(team.type == CHILDREN_TEAM for team in self.teams):
            check.error("teams", _l("The little volunteers (小小志愿者) are for children under %(n)s.", n=minimum))
        if self.guardian_consent_on is not None and self.guardian_consent_on > clock.today():
            check.error("guardian_consent_on", _l("The date is in the future."))
        for team in self.teams:
            if self.person.community_id is not None and team.community_id not in (None, self.person.community_id):
                check.error("teams", _l("Choose teams of the volunteer's own community."))
                break

    def before_save(self, session) -> None:
        if self.id is not None and self.status == REGISTERED and not self.number:
            self.number = volunteer_number(self)


def volunteer_number(volunteer) -> str:
    """志愿者编号: community code (or id) + the volunteer's id, e.g. WHL-V000123."""
    from flask import current_app

    prefix = current_app.config.get("VOLUNTEER_NUMBER_PREFIX", "ZY")
    return f"{prefix}-{volunteer.id:06d}"


def change_status(volunteer: Volunteer, action: str, user=None) -> Volunteer:
    """Approve, suspend, resume or withdraw a volunteer (the approval step); raises
    DomainError with the reason when the status does not allow it."""
    spec = VOLUNTEER_ACTIONS.get(action)
    if spec is None:
        raise domain.DomainError(_l("Unknown action."))
    if user is not None and not scope.visible(volunteer, user):
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    sources, target, label = spec
    if volunteer.status not in sources:
        raise domain.DomainError(_l("A volunteer who is “%(status)s” cannot be “%(action)s”.",
                                    status=VOLUNTEER_STATUSES[volunteer.status], action=label))
    volunteer.status = target
    if action == "approve":
        volunteer.approved_on = clock.today()  # the number is given by before_save
    domain.save(volunteer, commit=False)
    db.session.commit()
    return volunteer


# ----------------------------------------------------------------------------- activities

PLANNED, PUBLISHED, COMPLETED, CANCELLED = "planned", "published", "completed", "cancelled"
ACTIVITY_STATUSES = {PLANNED: _l("Planned"), PUBLISHED: _l("Published"), COMPLETED: _l("Completed"),
                     CANCELLED: _l("Cancelled")}
EVALUATIONS = {"excellent": _l("Excellent"), "good": _l("Good"), "fair": _l("Satisfactory"),
               "poor": _l("Unsatisfactory")}


class Activity(InCommunity, Tracked, Model):
    """全年活动清单: a planned volunteer activity."""

    __tablename__ = "activity"
    __table_args__ = (CheckConstraint("capacity IS NULL OR capacity > 0", name="ck_activity_capacity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Name of the activity")))
    type: Mapped[str] = mapped_column(String(40), info=field(_l("Activity type"), dict_type="activity_type"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"), index=True)
    team: Mapped[Optional[Team]] = relationship(backref="activities", info=field(_l("Team")))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("station.id"), index=True)
    station: Mapped[Optional[Station]] = relationship(info=field(_l("Station")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    place: Mapped[Optional[str]] = mapped_column(String(200), info=field(
        _l("Place"), _l("Where exactly (if not the station)")))
    starts_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True, info=field(_l("Starts at")))
    ends_at: Mapped[datetime.datetime] = mapped_column(DateTime, info=field(_l("Ends at")))
    capacity: Mapped[Optional[int]] = mapped_column(Integer, info=field(
        _l("Capacity"), _l("How many volunteers at most; empty: no limit")))
    points: Mapped[int] = mapped_column(Integer, default=0, info=field(
        _l("Points for taking part"), _l("Each volunteer who served gets these, plus the points per hour")))
    description: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Description")))
    status: Mapped[str] = mapped_column(String(12), default=PLANNED, index=True,
                                        info=field(_l("Status"), choices=ACTIVITY_STATUSES))
    evaluation: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("Evaluation"), _l("How the activity went (written when it is completed)")))
    completed_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Completed at")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Activity")
        label_plural = _l("Activities")
        menu = "volunteers"
        icon = "fa-calendar"
        list_columns = ["starts_at", "title", "type", "team", "status", "capacity"]
        search_columns = ["title", "type", "team", "status", "starts_at", "compound"]
        show_columns = ["title", "type", "team", "station", "compound", "place", "starts_at", "ends_at", "capacity",
                        "points", "description", "status", "evaluation", "completed_at"]
        form_columns = ["title", "type", "team", "community", "station", "compound", "place", "starts_at",
                        "ends_at", "capacity", "points", "description"]
        order = ("starts_at", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "team.community"), ("community", "station.community"),
                ("community", "compound.community"), ("grid", "compound.grid")]
        related = ["signups"]
        actions = {**EXPORT, "run": _l("Run activities")}

    def validate(self, check) -> None:
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            check.error("ends_at", _l("The end must be after the start."))
        if self.starts_at is not None and self.ends_at is not None \
                and self.ends_at - self.starts_at > datetime.timedelta(days=3):
            check.error("ends_at", _l("An activity lasts at most three days; plan longer work as several."))
        if self.points is not None and not 0 <= self.points <= 1000:
            check.error("points", _l("Between 0 and 1000 points."))
        if self.station is None and self.compound is None and not (self.place or "").strip():
            check.error("place", _l("Where is it? Choose the station or compound, or write the place."))
        if self.id is not None and self.status in (COMPLETED, CANCELLED) and any(
                domain.changed(self, name) for name in ("starts_at", "ends_at", "points", "capacity", "team")):
            check.error(None, _l("A completed or cancelled activity cannot be changed."))

    @property
    def span_hours(self) -> Decimal:
        if self.starts_at is None or self.ends_at is None:
            return Decimal(0)
        return (Decimal((self.ends_at - self.starts_at).total_seconds()) / 3600).quantize(Decimal("0.1"))



SIGNED, CHECKED_IN, ABSENT, WITHDRAWN_SIGNUP = "signed", "checked_in", "absent", "withdrawn"
SIGNUP_STATUSES = {SIGNED: _l("Signed up"), CHECKED_IN: _l("Checked in"), ABSENT: _l("Absent"),
                   WITHDRAWN_SIGNUP: _l("Withdrawn")}


class SignUp(InCommunity, Tracked, Model):
    """报名: a volunteer signed up for an activity; check-in and the hours served."""

    __tablename__ = "signup"
    __table_args__ = (UniqueConstraint("activity_id", "volunteer_id", name="uq_signup_activity_volunteer"),
                      CheckConstraint("hours IS NULL OR hours >= 0", name="ck_signup_hours"))

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    activity: Mapped[Activity] = relationship(backref=backref("signups", order_by="SignUp.id"),
                                              info=field(_l("Activity")))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    volunteer: Mapped[Volunteer] = relationship(backref="signups", info=field(_l("Volunteer")))
    status: Mapped[str] = mapped_column(String(12), default=SIGNED, info=field(_l("Status"),
                                                                             choices=SIGNUP_STATUSES))
    checked_in_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Checked in at")))
    hours: Mapped[Optional[Decimal]] = mapped_column(Numeric(4, 1), info=field(
        _l("Hours served"), _l("Time at the activity, travel excluded")))
    evaluation: Mapped[Optional[str]] = mapped_column(String(12), info=field(_l("Evaluation"),
                                                                              choices=EVALUATIONS))

    __display_loads__ = ["volunteer"]

    class Admin(AdminBase):
        label = _l("Sign-up")
        label_plural = _l("Sign-ups")
        menu = None
        list_columns = ["activity", "volunteer", "status", "hours", "evaluation"]
        search_columns = ["activity", "volunteer", "status"]
        form_columns = ["activity", "volunteer"]
        order = ("id", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "activity.community", "grid": "activity.grid"}
        loads = ["volunteer.person"]

    def __repr__(self) -> str:
        return str(self.volunteer) if self.volunteer is not None else ""

    def validate(self, check) -> None:
        """A sign-up made any way (page, generic form, API) keeps the rules of :func:`sign_up`."""
        if self.id is not None or self.activity is None or self.volunteer is None:
            return
        problem = signup_problem(self.activity, self.volunteer)
        if problem is not None:
            check.error("volunteer", problem)


class ServiceRecord(InCommunity, Tracked, Model):
    """志愿服务记录 (民政部令第67号): who, when, where, what, how long, how well, recorded by whom.

    Written when an activity is completed (one per volunteer who served), or by hand for
    service outside an activity."""

    __tablename__ = "service_record"
    __table_args__ = (UniqueConstraint("activity_id", "volunteer_id", name="uq_service_record_activity_volunteer"),
                      CheckConstraint("hours > 0", name="ck_service_record_hours"))

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    volunteer: Mapped[Volunteer] = relationship(backref="service_records", info=field(_l("Volunteer")))
    activity_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity.id"), index=True)
    activity: Mapped[Optional[Activity]] = relationship(info=field(_l("Activity")))
    served_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Date")))
    place: Mapped[str] = mapped_column(String(200), info=field(_l("Place")))
    content: Mapped[str] = mapped_column(String(200), info=field(_l("Service content")))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), info=field(_l("Hours"), _l("Travel excluded")))
    evaluation: Mapped[Optional[str]] = mapped_column(String(12), info=field(_l("Evaluation"),
                                                                              choices=EVALUATIONS))
    recorder: Mapped[str] = mapped_column(String(50), info=field(_l("Recorded by")))
    organisation: Mapped[str] = mapped_column(String(100), info=field(
        _l("Recording organisation"), _l("The community or team that records the service")))

    __display__ = "served_on"

    class Admin(AdminBase):
        label = _l("Service record")
        label_plural = _l("Service records")
        menu = "volunteers"
        icon = "fa-clipboard-check"
        list_columns = ["served_on", "volunteer", "content", "place", "hours", "evaluation", "recorder"]
        search_columns = ["volunteer", "served_on", "content"]
        form_columns = ["volunteer", "served_on", "place", "content", "hours", "evaluation"]
        order = ("served_on", "desc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: ServiceRecord.volunteer.has(Volunteer.user_id == user.id))
        derive = {"community": "volunteer.community", "grid": "volunteer.grid"}
        loads = ["volunteer.person"]
        actions = EXPORT
        # written when an activity was completed, with the points awarded for it
        kept = staticmethod(lambda row: row.activity_id is not None)
        kept_message = _l("the service record was written when the activity was completed and the points were "
                          "awarded for it. Correct the points with an adjustment.")
        charts = [Chart("hours_by_month", _l("Volunteer hours per month"), dimension="served_on:month",
                        measure="sum:hours", kind="line", dated="served_on"),
                  Chart("hours_by_team", _l("Volunteer hours by team"), dated="served_on",
                        statistic="models.reporting.dashboard:team_hours")]

    def validate(self, check) -> None:
        if self.served_on is not None and self.served_on > clock.today():
            check.error("served_on", _l("Service cannot be recorded ahead of time."))
        if self.hours is not None and not Decimal("0") < Decimal(self.hours) <= Decimal("24"):
            check.error("hours", _l("Between 0.1 and 24 hours a day."))
        if self.volunteer is not None and self.volunteer.status != REGISTERED and self.id is None:
            check.error("volunteer", _l("Only registered volunteers have service records."))
        if not self.recorder:
            self.recorder = recorder_name(acting_user())
        if not self.organisation and self.volunteer is not None and self.volunteer.person is not None:
            self.organisation = str(self.volunteer.person.community)


def recorder_name(user) -> str:
    """Who recorded a service (记录人): the user's full name, or 系统 for the office's jobs."""
    return user.get_full_name()[:50] if getattr(user, "id", None) else gettext("System")


# ----------------------------------------------------------------------------- activity steps

def publish(activity: Activity, user=None) -> Activity:
    return _step(activity, (PLANNED,), PUBLISHED, _l("Publish"), user)


def cancel(activity: Activity, user=None) -> Activity:
    return _step(activity, (PLANNED, PUBLISHED), CANCELLED, _l("Cancel"), user)


def _step(activity, sources, target, label, user):
    domain.require_visible(activity, user)
    if activity.status not in sources:
        raise domain.DomainError(_l("An activity that is “%(status)s” cannot be “%(action)s”.",
                                    status=ACTIVITY_STATUSES[activity.status], action=label))
    activity.status = target
    domain.save(activity, commit=False)
    db.session.commit()
    return activity



def act_for(volunteer, user, permission: tuple[str, str]) -> None:
    """Staff holding ``permission`` act for any volunteer in their scope; anyone else
    only for their own volunteer record (a volunteer signing themself up, asking for a
    gift for themself). Raises DomainError otherwise."""
    from flask import current_app

    if user is None:
        return  # the command line and the seed act for the office
    domain.require_visible(volunteer, user)
    if permission in current_app.appbuilder.sm.permissions_of(user):
        return
    if volunteer.user_id is None or volunteer.user_id != getattr(user, "id", None):
        raise domain.DomainError(_l("You may do this only for yourself."))


def sign_up(activity: Activity, volunteer: Volunteer, user=None) -> SignUp:
    """Sign ``volunteer`` up (by staff who run activities, or the volunteer themself):
    published activities, registered volunteers, within capacity — the capacity is
    checked under a lock on the activity row."""
    domain.require_visible(activity, user)
    act_for(volunteer, user, ("can_run", "Activity"))
    _lock(Activity, activity.id)  # the capacity is counted by one writer at a time
    problem = signup_problem(activity, volunteer)
    if problem is not None:
        db.session.rollback()
        raise domain.DomainError(problem)
    existing = db.session.scalars(select(SignUp).where(SignUp.activity_id == activity.id,
                                                       SignUp.volunteer_id == volunteer.id)).first()
    signup = existing or SignUp(activity=activity, volunteer=volunteer)
    signup.status = SIGNED
    domain.save(signup, commit=False)
    db.session.commit()
    return signup


def signup_problem(activity: Activity, volunteer: Volunteer):
    """Why ``volunteer`` may not sign up for ``activity`` now, or None: published
    activities, registered volunteers of its community, once, within the capacity."""
    if activity.status != PUBLISHED:
        return _l("Sign-ups are open only while the activity is published.")
    if volunteer.status != REGISTERED:
        return _l("Only registered volunteers can sign up.")
    if volunteer.community_id != activity.community_id:
        return _l("The volunteer belongs to another community.")
    with db.session.no_autoflush:
        existing = db.session.scalar(select(SignUp.status).where(SignUp.activity_id == activity.id,
                                                                 SignUp.volunteer_id == volunteer.id))
        if existing is not None and existing != WITHDRAWN_SIGNUP:
            return _l("%(name)s has already signed up.", name=str(volunteer))
        taken = db.session.scalar(select(func.count()).select_from(SignUp).where(
            SignUp.activity_id == activity.id, SignUp.status != WITHDRAWN_SIGNUP))
    if activity.capacity is not None and taken >= activity.capacity:
        return _l("The activity is full (%(n)s places).", n=activity.capacity)
    return None


def _lock(model, pk) -> None:
    """Serialise writers of one row (PostgreSQL: row lock; SQLite: the write lock)."""
    db.session.execute(update(model).where(model.id == pk).values(id=model.id))


def check_in(signup: SignUp, user=None, *, hours=None) -> SignUp:
    domain.require_visible(signup.activity, user)
    if signup.activity.status not in (PUBLISHED,):
        raise domain.DomainError(_l("Check-in is open only while the activity is published."))
    if signup.status == WITHDRAWN_SIGNUP:
        raise domain.DomainError(_l("%(name)s is not signed up.", name=str(signup.volunteer)))
    signup.status, signup.checked_in_at = CHECKED_IN, clock.now()
    if hours is not None:
        signup.hours = _hours(hours, signup.activity)
    domain.save(signup, commit=False)
    db.session.commit()
    return signup


def check_in_volunteer(activity: Activity, volunteer: Volunteer, user=None, *, hours=None) -> SignUp:
    """Check in by volunteer: refused for someone who has not signed up."""
    signup = db.session.scalars(select(SignUp).where(SignUp.activity_id == activity.id,
                                                     SignUp.volunteer_id == volunteer.id)).first()
    if signup is None or signup.status == WITHDRAWN_SIGNUP:
        raise domain.DomainError(_l("%(name)s is not signed up.", name=str(volunteer)))
    return check_in(signup, user, hours=hours)


def _hours(value, activity: Activity) -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except Exception:
        raise domain.DomainError(_l("Hours are a number such as 1.5."), field="hours") from None
    if hours <= 0:
        raise domain.DomainError(_l("Hours must be more than zero."), field="hours")
    if hours > activity.span_hours:
        raise domain.DomainError(_l("At most %(n)s hours: the activity lasts no longer.", n=activity.span_hours),
                                 field="hours")
    return hours


def complete(activity: Activity, user=None, *, evaluation: str | None = None,
             hours: dict | None = None, evaluations: dict | None = None) -> Activity:
    """Complete the activity: every checked-in volunteer gets a service record and the
    points (activity points + hours × the hourly rule), each at most once; the absent
    are marked. ``hours`` / ``evaluations``: {signup id: value}; hours default to the
    activity's span. All in one transaction."""
    from models.volunteers import points  # deferred: points' ledger is built on this module's Volunteer (a cycle)

    domain.require_visible(activity, user)
    if activity.status != PUBLISHED:
        raise domain.DomainError(_l("An activity that is “%(status)s” cannot be “%(action)s”.",
                                    status=ACTIVITY_STATUSES[activity.status], action=_l("Complete")))
    if activity.starts_at > clock.now():
        raise domain.DomainError(_l("The activity has not started yet."))
    hours, evaluations = hours or {}, evaluations or {}
    served = [s for s in activity.signups if s.status == CHECKED_IN]
    if not served:
        raise domain.DomainError(_l("Nobody has been checked in: check in the volunteers who came first."))
    try:
        for signup in served:
            if signup.id in hours and hours[signup.id] not in (None, ""):
                signup.hours = _hours(hours[signup.id], activity)
            elif signup.hours is None:
                signup.hours = activity.span_hours
            if evaluations.get(signup.id):
                signup.evaluation = evaluations[signup.id]
        for signup in activity.signups:
            if signup.status == SIGNED:
                signup.status = ABSENT
        activity.status, activity.completed_at = COMPLETED, clock.now()
        if evaluation:
            activity.evaluation = evaluation
        domain.save_many([activity, *activity.signups], commit=False)
        where = activity.place or (str(activity.station) if activity.station else str(activity.compound or ""))
        recorder = recorder_name(user or acting_user())
        records = [ServiceRecord(volunteer=s.volunteer, activity=activity, served_on=activity.starts_at.date(),
                                 place=where[:200], content=activity.title[:200], hours=s.hours,
                                 evaluation=s.evaluation, recorder=recorder[:50],
                                 organisation=str(activity.team or activity.community)[:100]) for s in served]
        domain.save_many(records, commit=False)
        per_hour = points.rule_points("hour")
        for signup, record in zip(served, records):
            amount = activity.points + int((Decimal(signup.hours) * per_hour).quantize(Decimal(1), ROUND_HALF_UP))
            if amount > 0:
                points.post(signup.volunteer, amount, points.AWARD, source="activity", source_id=activity.id,
                            key=f"activity:{activity.id}:volunteer:{signup.volunteer_id}",
                            note=gettext("%(title)s, %(hours)s hours", title=activity.title, hours=signup.hours),
                            user=user, commit=False)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return activity


# ----------------------------------------------------------------------------- certificates

class Certificate(InCommunity, Tracked, Model):
    """志愿服务证明 (民政部令第67号): the volunteer's hours and service in a period, issued
    by the recording organisation. Issuing one is a permission (``can_certify`` on
    Volunteer); each is kept, and printing it logs the reveal of the ID number."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[Optional[str]] = mapped_column(String(30), unique=True, info=field(_l("Certificate number")))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    volunteer: Mapped[Volunteer] = relationship(backref="certificates", info=field(_l("Volunteer")))
    period_start: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Service from")))
    period_end: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Service until")))
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), info=field(_l("Hours")))
    content: Mapped[str] = mapped_column(Text, info=field(_l("Service content")))
    organisation: Mapped[str] = mapped_column(String(100), info=field(_l("Issuing organisation")))
    person_in_charge: Mapped[str] = mapped_column(String(50), info=field(_l("Person in charge")))
    handler: Mapped[str] = mapped_column(String(50), info=field(_l("Handled by")))
    contact: Mapped[str] = mapped_column(String(50), info=field(_l("Contact")))
    issued_on: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Issued on")))

    __display__ = "number"

    class Admin(AdminBase):
        label = _l("Volunteer certificate")
        label_plural = _l("Volunteer certificates")
        menu = "volunteers"
        icon = "fa-certificate"
        list_columns = ["number", "volunteer", "period_start", "period_end", "hours", "issued_on", "handler"]
        search_columns = ["number", "volunteer", "issued_on"]
        show_columns = ["number", "volunteer", "period_start", "period_end", "hours", "content", "organisation",
                        "person_in_charge", "handler", "contact", "issued_on"]
        form_columns = []
        order = ("issued_on", "desc")
        readonly = True  # issued from the volunteer's page; never edited
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: Certificate.volunteer.has(Volunteer.user_id == user.id))
        loads = ["volunteer.person"]


def issue_certificate(volunteer: Volunteer, start: datetime.date, end: datetime.date, user=None, *,
                      person_in_charge: str, contact: str, handler: str | None = None,
                      organisation: str | None = None) -> Certificate:
    """A certificate of the service records in [start, end]: hours summed and contents
    listed in SQL; refused without a registered volunteer, a sensible period or any
    service in it."""
    domain.require_visible(volunteer, user)
    problems = {}
    if start is None or end is None or end < start:
        problems["period_end"] = [_l("The end of the period must not be before its start.")]
    elif end > clock.today():
        problems["period_end"] = [_l("The date is in the future.")]
    for name, value in (("person_in_charge", person_in_charge), ("contact", contact)):
        if not (value or "").strip():
            problems[name] = [_l("This field is required.")]
    if problems:
        raise domain.ValidationFailed(problems)
    in_period = (ServiceRecord.volunteer_id == volunteer.id, ServiceRecord.served_on >= start,
                 ServiceRecord.served_on <= end)
    hours = db.session.scalar(select(func.sum(ServiceRecord.hours)).where(*in_period))
    if not hours:
        raise domain.DomainError(_l("No service is recorded for this volunteer in the period."), field="period_start")
    contents = db.session.execute(select(ServiceRecord.content, func.count()).where(*in_period)
                                  .group_by(ServiceRecord.content).order_by(func.count().desc(),
                                                                            ServiceRecord.content)).all()
    content = "；".join(gettext("%(what)s (%(n)s times)", what=c, n=n) for c, n in contents)
    recorder = user.get_full_name() if getattr(user, "id", None) else ""
    certificate = Certificate(
        volunteer=volunteer, community_id=volunteer.community_id, grid_id=volunteer.grid_id, period_start=start,
        period_end=end, hours=Decimal(str(hours)).quantize(Decimal("0.1")), content=content[:4000],
        organisation=(organisation or str(volunteer.person.community))[:100],
        person_in_charge=person_in_charge.strip()[:50], handler=((handler or "").strip() or recorder)[:50] or "-",
        contact=contact.strip()[:50], issued_on=clock.today())
    db.session.add(certificate)
    db.session.flush()
    certificate.number = f"ZM-{certificate.issued_on.year}-{certificate.id:06d}"
    db.session.commit()
    return certificate
