"""共建: what partner units and party members promise, and the money raised and spent.

* **Pledge projects** (共建实事项目): a partner unit signs a project with the community
  (title, content, pledge and due dates, budget); milestones (due no later than the
  project, done with evidence) give its progress — by count, by weight, or from the
  status for a project without milestones. The status follows: 已承诺 → 推进中 → 已践诺,
  逾期 when the due date passes unfulfilled, or 已取消 with a reason.
* **Member pledges** (公开承诺践诺): a party member's pledge for a period and the records
  of keeping it.
* **Funds** (筹资): a fund of a station or a project; contributions and expenditures are
  exact decimals (2 places). The balance on the fund moves in the same transaction as
  the row, by a conditional UPDATE that never lets it fall below zero (a CHECK backs it),
  so the balance always equals contributions minus expenditures; an expenditure beyond
  the balance is refused. Amounts are never edited: a mistake is deleted (which moves
  the balance back) and entered again.
"""
from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select,
                        update)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, domain
from app.base import Model, Money, Tracked, Versioned
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from app.standards import mask_name
from models.kernel.base import InCommunity
from models.kernel.orgs import Organisation
from models.people.people import PartyMember, Person
from models.kernel.places import Compound, Station

PLEDGED, IN_PROGRESS, FULFILLED, OVERDUE, CANCELLED = "pledged", "in_progress", "fulfilled", "overdue", "cancelled"
PROJECT_STATUSES = {PLEDGED: _l("Pledged"), IN_PROGRESS: _l("In progress"), FULFILLED: _l("Fulfilled"),
                    OVERDUE: _l("Overdue"), CANCELLED: _l("Called off")}
BY_COUNT, BY_WEIGHT, BY_STATUS = "milestones", "weighted", "status"
PROGRESS_MODES = {BY_COUNT: _l("Share of milestones done"), BY_WEIGHT: _l("Milestones by weight"),
                  BY_STATUS: _l("From the status")}
#: progress of a project measured by its status
STATUS_PROGRESS = {PLEDGED: 0, IN_PROGRESS: 50, OVERDUE: 50, FULFILLED: 100, CANCELLED: 0}
#: the most money one row may carry (¥)
MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")


def money(value, field_name: str, check, *, positive: bool = True) -> Optional[Decimal]:
    """An amount of yuan as an exact decimal with at most 2 places (never a float), or an
    error on ``field_name``."""
    if value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        check.error(field_name, _l("An amount of money such as 1200.50."))
        return None
    if not amount.is_finite():
        check.error(field_name, _l("An amount of money such as 1200.50."))
        return None
    if amount != amount.quantize(CENT):
        check.error(field_name, _l("At most two decimal places (fen)."))
    elif positive and amount <= 0:
        check.error(field_name, _l("The amount must be more than zero."))
    elif amount < 0:
        check.error(field_name, _l("The amount must not be negative."))
    elif amount > MAX_AMOUNT:
        check.error(field_name, _l("The amount is too large."))
    return amount


# ----------------------------------------------------------------------------- pledge projects

class PledgeProject(Versioned, InCommunity, Tracked, Model):
    """共建实事项目: what a partner unit promised to do for the community, tracked to the end."""

    __tablename__ = "pledge_project"
    __table_args__ = (CheckConstraint("progress >= 0 AND progress <= 100", name="ck_pledge_project_progress"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    unit: Mapped[Organisation] = relationship(info=field(_l("Signatory unit"), _l("The partner unit that pledged")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Project")))
    content: Mapped[str] = mapped_column(Text, info=field(_l("What is promised")))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("station.id"), index=True)
    station: Mapped[Optional[Station]] = relationship(info=field(_l("Station")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    pledged_on: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Pledged on")))
    due_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Due on")))
    budget: Mapped[Optional[Decimal]] = mapped_column(Money(), info=field(_l("Budget (yuan)")))
    progress_mode: Mapped[str] = mapped_column(String(12), default=BY_COUNT, info=field(
        _l("Progress measured"), choices=PROGRESS_MODES))
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=field(_l("Progress (per cent)")))
    status: Mapped[str] = mapped_column(String(12), default=PLEDGED, index=True,
                                        info=field(_l("Status"), choices=PROJECT_STATUSES))
    fulfilled_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Fulfilled on")))
    cancel_reason: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Reason for cancelling")))
    public: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(
        _l("Shown on the public board")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Pledge project")
        label_plural = _l("Pledge projects")
        menu = "cobuilding"
        icon = "fa-handshake-o"
        list_columns = ["title", "unit", "due_on", "progress", "status", "compound"]
        search_columns = ["title", "unit", "status", "due_on", "compound"]
        show_columns = ["title", "unit", "content", "community", "station", "compound", "pledged_on", "due_on",
                        "budget", "progress_mode", "progress", "status", "fulfilled_on", "cancel_reason", "public"]
        form_columns = ["unit", "title", "content", "community", "station", "compound", "pledged_on", "due_on",
                        "budget", "progress_mode", "public"]
        order = ("due_on", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "station.community"), ("community", "compound.community"),
                ("grid", "compound.grid"), ("compound", "station.compound")]
        related = ["milestones"]
        actions = {**EXPORT, "track": _l("Track pledges")}
        charts = [Chart("by_unit", _l("Pledge projects by unit"), dimension="unit", series="status", stacked=True)]

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"pledged_on": clock.today(), "progress_mode": BY_COUNT}

    def validate(self, check) -> None:
        if self.pledged_on is not None and self.due_on is not None and self.due_on < self.pledged_on:
            check.error("due_on", _l("The due date must not be before the pledge."))
        if self.budget is not None:
            self.budget = money(self.budget, "budget", check, positive=False)
        if self.unit is not None and self.community is not None \
                and self.unit.community_id not in (None, self.community.id):
            check.error("unit", _l("Choose a unit of this community (or of the whole street)."))
        if self.progress is not None and not 0 <= self.progress <= 100:
            check.error("progress", _l("Progress is between 0 and 100."))
        if self.id is not None and self.status in (FULFILLED, CANCELLED) and any(
                domain.changed(self, n) for n in ("unit", "due_on", "budget", "progress_mode")):
            check.error(None, _l("A fulfilled or cancelled project cannot be changed."))
        if self.due_on is not None and self.id is not None and any(
                m.due_on is not None and m.due_on > self.due_on for m in self.milestones):
            check.error("due_on", _l("A milestone is due after this date: move it first."))

    def before_save(self, session) -> None:
        refresh(self)


class Milestone(InCommunity, Tracked, Model):
    """里程碑: a step of a pledge project, done with evidence."""

    __tablename__ = "milestone"
    __table_args__ = (CheckConstraint("weight > 0", name="ck_milestone_weight"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pledge_project.id", ondelete="CASCADE"), index=True)
    project: Mapped[PledgeProject] = relationship(
        backref=backref("milestones", order_by="Milestone.due_on", cascade="all, delete-orphan",
                        passive_deletes=True), info=field(_l("Pledge project")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Milestone")))
    due_on: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Due on")))
    weight: Mapped[int] = mapped_column(Integer, default=1, info=field(
        _l("Weight"), _l("How much of the project this step is (for progress by weight)")))
    done_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Done on")))
    evidence: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("Evidence"), _l("What was done: the result, photos kept, who checked it")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Milestone")
        label_plural = _l("Milestones")
        menu = None
        list_columns = ["title", "due_on", "weight", "done_on", "evidence"]
        search_columns = ["project", "title", "due_on"]
        form_columns = ["project", "title", "due_on", "weight", "done_on", "evidence"]
        order = ("due_on", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "project.community", "grid": "project.grid"}

    def validate(self, check) -> None:
        project = self.project
        if project is not None and self.due_on is not None and project.due_on is not None \
                and self.due_on > project.due_on:
            check.error("due_on", _l("A milestone cannot be due after its project (%(date)s).", date=project.due_on))
        if self.weight is not None and not 1 <= self.weight <= 100:
            check.error("weight", _l("Between 1 and 100."))
        if self.done_on is not None:
            if self.done_on > clock.today():
                check.error("done_on", _l("The date is in the future."))
            if not (self.evidence or "").strip():
                check.error("evidence", _l("Write the evidence that the step is done."))
        if project is not None and project.status == CANCELLED:
            check.error(None, _l("The project is cancelled."))

    def before_save(self, session) -> None:
        if self.project is not None:
            if self.project.id is not None:  # the step moves the project's status: after a cancel, not on
                _claim_project(self.project, any_version=True)
            refresh(self.project)


def project_progress(project: PledgeProject) -> int:
    """0–100: the share of milestones done (by count or by weight), or the status's."""
    steps = list(project.milestones)
    if project.progress_mode == BY_STATUS or not steps:
        if project.progress_mode != BY_STATUS and not steps:
            return 100 if project.fulfilled_on is not None else 0
        return STATUS_PROGRESS.get(project.status, 0)
    if project.progress_mode == BY_WEIGHT:
        total = sum(m.weight or 1 for m in steps)
        done = sum(m.weight or 1 for m in steps if m.done_on is not None)
    else:
        total, done = len(steps), sum(1 for m in steps if m.done_on is not None)
    return int(done * 100 // total)


def refresh(project: PledgeProject, today: datetime.date | None = None) -> PledgeProject:
    """Progress and status from the milestones and the clock (cancelled stays cancelled)."""
    today = today or clock.today()
    if project.status == CANCELLED:
        return project
    steps = list(project.milestones)
    if steps and project.progress_mode != BY_STATUS and all(m.done_on is not None for m in steps):
        project.fulfilled_on = project.fulfilled_on or max(m.done_on for m in steps)
    if project.fulfilled_on is not None:
        project.status = FULFILLED
    elif project.due_on is not None and project.due_on < today:
        project.status = OVERDUE
    elif project.status == IN_PROGRESS or any(m.done_on is not None for m in steps):
        project.status = IN_PROGRESS
    else:
        project.status = PLEDGED
    project.progress = project_progress(project)
    return project


def is_overdue(project: PledgeProject, today: datetime.date | None = None) -> bool:
    today = today or clock.today()
    return project.status not in (FULFILLED, CANCELLED) and project.due_on is not None and project.due_on < today


def start(project: PledgeProject, user=None) -> PledgeProject:
    """推进中: the unit has begun (for a project measured by its status)."""
    return _step(project, (PLEDGED, OVERDUE), user, lambda p: setattr(p, "status", IN_PROGRESS),
                 _l("Begin work"))


def fulfil(project: PledgeProject, user=None, *, on: datetime.date | None = None) -> PledgeProject:
    """已践诺: the promise is kept (every milestone done, or recorded for the whole)."""
    on = on or clock.today()
    if on > clock.today():
        raise domain.DomainError(_l("The date is in the future."), field="fulfilled_on")
    if project.progress_mode != BY_STATUS and any(m.done_on is None for m in project.milestones):
        raise domain.DomainError(_l("Some milestones are not done yet."))
    return _step(project, (PLEDGED, IN_PROGRESS, OVERDUE), user, lambda p: setattr(p, "fulfilled_on", on),
                 _l("Fulfil"))


def cancel(project: PledgeProject, user=None, *, reason: str) -> PledgeProject:
    if not (reason or "").strip():
        raise domain.DomainError(_l("Write the reason for cancelling."), field="cancel_reason")

    def apply(p):
        p.status, p.cancel_reason = CANCELLED, reason.strip()[:200]

    return _step(project, (PLEDGED, IN_PROGRESS, OVERDUE), user, apply, _l("Cancel"))


def _claim_project(project, any_version: bool = False) -> None:
    """domain.claim on the project as it was loaded (its status before this change)."""
    from sqlalchemy import inspect as sa_inspect

    loaded = sa_inspect(project).committed_state.get("status", project.status)
    try:
        domain.claim(project, loaded, _l("Someone else has just changed this project."), any_version=any_version)
    except domain.Conflict:
        now = db.session.scalar(select(PledgeProject.status).where(PledgeProject.id == project.id))
        raise domain.Conflict(_l("This project has just been changed by someone else and is now “%(status)s”. "
                                 "Please refresh and try again.", status=PROJECT_STATUSES.get(now, now))) from None


def _step(project, sources, user, apply, label):
    domain.require_visible(project, user)
    if project.status not in sources:
        raise domain.DomainError(_l("A project that is “%(status)s” cannot be “%(action)s”.",
                                    status=PROJECT_STATUSES[project.status], action=label))
    _claim_project(project)  # first, one conditional UPDATE on the state the step starts from
    apply(project)
    domain.save(project, commit=False)
    db.session.commit()
    return project


def sweep(today: datetime.date | None = None) -> int:
    """Mark the projects whose due date has passed unfulfilled as 逾期 (for cron: `flask
    cobuilding sweep`); returns how many changed."""
    today = today or clock.today()
    changed = db.session.execute(update(PledgeProject).where(
        PledgeProject.status.in_((PLEDGED, IN_PROGRESS)), PledgeProject.due_on < today)
        .values(status=OVERDUE, version=PledgeProject.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed


# ----------------------------------------------------------------------------- member pledges

KEPT, PROMISED = "kept", "promised"
MEMBER_PLEDGE_STATUSES = {PROMISED: _l("Promised"), KEPT: _l("Kept")}


class MemberPledge(InCommunity, Tracked, Model):
    """公开承诺: what a party member promised for a period (e.g. the year)."""

    __tablename__ = "member_pledge"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id"), index=True)
    member: Mapped[PartyMember] = relationship(info=field(_l("Party member")))
    period_start: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Period starts")))
    period_end: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Period ends")))
    content: Mapped[str] = mapped_column(Text, info=field(_l("What is promised")))
    status: Mapped[str] = mapped_column(String(10), default=PROMISED, info=field(
        _l("Status"), choices=MEMBER_PLEDGE_STATUSES))
    public: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(
        _l("Shown on the public board")))

    __display_loads__ = ["member"]

    class Admin(AdminBase):
        label = _l("Member pledge")
        label_plural = _l("Member pledges")
        menu = "cobuilding"
        icon = "fa-flag-checkered"
        list_columns = ["member", "period_start", "period_end", "content", "status"]
        search_columns = ["member", "status", "period_start"]
        form_columns = ["member", "period_start", "period_end", "content", "status", "public"]
        order = ("period_start", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "member.community", "grid": "member.grid"}
        related = ["records"]
        actions = EXPORT

    def __repr__(self) -> str:
        return f"{self.member} {self.period_start or ''}–{self.period_end or ''}"

    def validate(self, check) -> None:
        if self.period_start is not None and self.period_end is not None and self.period_end < self.period_start:
            check.error("period_end", _l("The end of the period must not be before its start."))
        if not (self.content or "").strip():
            check.error("content", _l("This field is required."))


class PledgeRecord(InCommunity, Tracked, Model):
    """践诺记录: something done to keep a member's pledge."""

    __tablename__ = "pledge_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("member_pledge.id", ondelete="CASCADE"), index=True)
    pledge: Mapped[MemberPledge] = relationship(backref=backref("records", order_by="PledgeRecord.done_on"),
                                                info=field(_l("Member pledge")))
    done_on: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Date")))
    what: Mapped[str] = mapped_column(Text, info=field(_l("What was done")))

    __display__ = "done_on"

    class Admin(AdminBase):
        label = _l("Fulfilment record")
        label_plural = _l("Fulfilment records")
        menu = None
        list_columns = ["done_on", "what"]
        form_columns = ["pledge", "done_on", "what"]
        order = ("done_on", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "pledge.community", "grid": "pledge.grid"}

    def validate(self, check) -> None:
        if self.done_on is not None and self.done_on > clock.today():
            check.error("done_on", _l("The date is in the future."))
        if not (self.what or "").strip():
            check.error("what", _l("This field is required."))


# ----------------------------------------------------------------------------- funds

SOURCES = {"residents": _l("Residents' own funds"), "partner": _l("Partner unit"),
           "resident_unit": _l("Unit based in the community"), "other": _l("Other community organisation")}


class Fund(InCommunity, Tracked, Model):
    """筹资: the money of a station or a pledge project, with a public account."""

    __tablename__ = "fund"
    __table_args__ = (CheckConstraint("balance >= 0", name="ck_fund_balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("station.id"), index=True)
    station: Mapped[Optional[Station]] = relationship(info=field(_l("Station")))
    project_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pledge_project.id"), index=True)
    project: Mapped[Optional[PledgeProject]] = relationship(info=field(_l("Pledge project")))
    purpose: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("What the money is for")))
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default="0",
                                             info=field(_l("Balance (yuan)")))
    public: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(
        _l("Public account"), _l("Residents can see the account without signing in")))

    class Admin(AdminBase):
        label = _l("Fund")
        label_plural = _l("Funds")
        menu = "cobuilding"
        icon = "fa-money"
        list_columns = ["name", "station", "project", "balance", "public"]
        search_columns = ["name", "station", "project"]
        show_columns = ["name", "community", "station", "project", "purpose", "balance", "public"]
        form_columns = ["name", "community", "station", "project", "purpose", "public"]
        order = ("name", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "station.community"), ("community", "project.community")]
        related = ["contributions", "expenditures"]
        actions = EXPORT

    def validate(self, check) -> None:
        if self.station is None and self.project is None:
            check.error("station", _l("A fund belongs to a station or a pledge project."))
        for name in ("station", "project"):
            parent = getattr(self, name)
            if parent is not None and self.community is not None and parent.community_id != self.community.id:
                check.error(name, _l("Choose one of this community."))
        if self.id is None:
            self.balance = Decimal("0.00")  # moved only by contributions and expenditures
        elif domain.changed(self, "balance"):
            check.error("balance", _l("The balance moves only with contributions and expenditures."))


def _move(session, fund_id: int, amount: Decimal) -> Decimal:
    """Move the fund's balance by ``amount`` unless it would fall below zero; the new
    balance, or DomainError. One conditional UPDATE: two payments at once cannot both
    spend the last yuan."""
    balance = session.execute(update(Fund).where(Fund.id == fund_id, Fund.balance + amount >= 0)
                              .values(balance=Fund.balance + amount).returning(Fund.balance)
                              .execution_options(synchronize_session=False)).scalar()
    if balance is None:
        current = session.scalar(select(Fund.balance).where(Fund.id == fund_id))
        raise domain.DomainError(_l("Not enough money in the fund: the balance is ¥%(n)s.", n=current),
                                 field="amount")
    fund = session.get(Fund, fund_id)
    if fund is not None:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(fund, "balance", Decimal(balance).quantize(CENT))
    return balance


class _Movement:
    """A contribution or an expenditure: an exact amount, fixed once written."""

    sign = 1

    def _check_amount(self, check) -> None:
        self.amount = money(self.amount, "amount", check)
        if self.id is not None and any(domain.changed(self, n) for n in ("amount", "fund")):
            check.error("amount", _l("An amount is not changed once entered: correct it with a new entry."))

    def before_save(self, session) -> None:
        if self.id is None:
            session.flush()  # the fund row exists before its balance moves
            _move(session, self.fund.id, self.sign * Decimal(self.amount))


#: a fund's account is public and only grows: its entries are never deleted
FUND_ENTRY_KEPT = _l("an entry of a fund's public account is never deleted. Correct a wrong contribution with an "
                     "expenditure noted as its reversal, a wrong expenditure with a contribution noted as its "
                     "reversal.")


class Contribution(_Movement, InCommunity, Tracked, Model):
    """筹款: money given to a fund (居民自筹, 结对单位, 驻在单位, 社区其他组织)."""

    __tablename__ = "contribution"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_contribution_amount"),
                      UniqueConstraint("fund_id", "receipt_no", name="uq_contribution_receipt"))
    sign = 1

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    fund: Mapped[Fund] = relationship(backref=backref("contributions", order_by="Contribution.received_on"),
                                      info=field(_l("Fund")))
    source: Mapped[str] = mapped_column(String(20), info=field(_l("Source"), choices=SOURCES))
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Optional[Person]] = relationship(info=field(
        _l("Resident"), _l("For money from a resident (shown as 张* on public pages)")))
    organisation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Optional[Organisation]] = relationship(info=field(_l("Organisation")))
    amount: Mapped[Decimal] = mapped_column(Money(), info=field(_l("Amount (yuan)")))
    received_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Received on")))
    receipt_no: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Receipt number")))
    note: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Note")))

    class Admin(AdminBase):
        label = _l("Contribution")
        label_plural = _l("Contributions")
        menu = None
        list_columns = ["received_on", "source", "person", "organisation", "amount", "receipt_no"]
        search_columns = ["fund", "source", "received_on", "receipt_no"]
        form_columns = ["fund", "source", "person", "organisation", "amount", "received_on", "receipt_no", "note"]
        order = ("received_on", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "fund.community", "grid": "fund.grid"}
        actions = EXPORT
        kept = staticmethod(lambda row: row.id is not None)
        kept_message = FUND_ENTRY_KEPT

    def __repr__(self) -> str:
        return f"¥{self.amount}"

    def validate(self, check) -> None:
        self._check_amount(check)
        if self.received_on is not None and self.received_on > clock.today():
            check.error("received_on", _l("The date is in the future."))
        if self.source == "residents" and self.person is None:
            check.error("person", _l("Choose the resident who gave it."))
        if self.source in ("partner", "resident_unit", "other") and self.organisation is None:
            check.error("organisation", _l("Choose the organisation that gave it."))
        if self.source == "residents" and self.organisation is not None:
            self.organisation = None

    def contributor(self, public: bool = False) -> str:
        """Who gave it; a resident is 张* on public pages."""
        if self.person is not None:
            return mask_name(self.person.name) if public else self.person.name
        return self.organisation.name if self.organisation is not None else ""


class Expenditure(_Movement, InCommunity, Tracked, Model):
    """支出: money spent from a fund, approved, with its voucher."""

    __tablename__ = "expenditure"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_expenditure_amount"),)
    sign = -1

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    fund: Mapped[Fund] = relationship(backref=backref("expenditures", order_by="Expenditure.spent_on"),
                                      info=field(_l("Fund")))
    purpose: Mapped[str] = mapped_column(String(200), info=field(_l("Purpose")))
    amount: Mapped[Decimal] = mapped_column(Money(), info=field(_l("Amount (yuan)")))
    spent_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Spent on")))
    approver: Mapped[str] = mapped_column(String(50), info=field(_l("Approved by")))
    voucher_no: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Voucher number")))

    class Admin(AdminBase):
        label = _l("Expenditure")
        label_plural = _l("Expenditures")
        menu = None
        list_columns = ["spent_on", "purpose", "amount", "approver", "voucher_no"]
        search_columns = ["fund", "purpose", "spent_on"]
        form_columns = ["fund", "purpose", "amount", "spent_on", "approver", "voucher_no"]
        order = ("spent_on", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "fund.community", "grid": "fund.grid"}
        actions = EXPORT
        kept = staticmethod(lambda row: row.id is not None)
        kept_message = FUND_ENTRY_KEPT

    def __repr__(self) -> str:
        return f"¥{self.amount}"

    def validate(self, check) -> None:
        self._check_amount(check)
        if self.spent_on is not None and self.spent_on > clock.today():
            check.error("spent_on", _l("The date is in the future."))
        if not (self.approver or "").strip():
            check.error("approver", _l("This field is required."))
