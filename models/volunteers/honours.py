"""有激励: stars and commendations (每月评选“小区之星”, 年度表彰).

* A **star round** (评星) is one period's selection: 每月之星 of the community or 小区之星
  of one compound. Nominees (a resident from the register, the reason, who nominated)
  are added while it is open; :func:`decide_round` records the decision in one step:
  who was elected, the round closes, and each elected nominee who is a registered
  volunteer gets the bonus points of the rule (``star_month`` / ``star_compound``).
* An **annual commendation** (年度表彰) is a year's title (最美下沉党员, 优秀志愿者, …)
  and the people commended; :func:`announce` closes it and awards the ``commendation``
  rule's points the same way.

Points move only through :func:`models.volunteers.points.post`, with keys ``star:<nominee>`` and
``commendation:<honoree>``: deciding twice, or a retried request, cannot pay twice.
Names on the public page (:mod:`views.volunteers.honours`) are masked (张*) unless the person
agreed to full display (``publish_name``).
"""
from __future__ import annotations

import datetime
import re
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, domain
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.dictionary import register_dict_type
from app.extensions import db
from models.kernel.base import InCommunity
from models.people.people import Person
from models.kernel.places import Compound
from models.volunteers import points
from models.volunteers.activities import REGISTERED

register_dict_type("star_category", _l("Star category"))

MONTHLY, OF_COMPOUND = "month", "compound"
STAR_KINDS = {MONTHLY: _l("Star of the month"), OF_COMPOUND: _l("Star of the compound")}
#: the points rule of each kind of star (models.volunteers.points.RULES)
STAR_RULES = {MONTHLY: "star_month", OF_COMPOUND: "star_compound"}
OPEN, DECIDED = "open", "decided"
ROUND_STATUSES = {OPEN: _l("Nominating"), DECIDED: _l("Decided")}
PENDING, ELECTED, NOT_ELECTED = "pending", "elected", "not_elected"
DECISIONS = {PENDING: _l("Pending"), ELECTED: _l("Elected"), NOT_ELECTED: _l("Not elected")}
#: the most stars one round may elect
MAX_STARS = 20
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class StarRound(InCommunity, Tracked, Model):
    """评星: one period's 每月之星 (of the community) or 小区之星 (of a compound)."""

    __tablename__ = "star_round"
    __table_args__ = (UniqueConstraint("community_id", "kind", "period", "compound_id", "category",
                                       name="uq_star_round_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=MONTHLY, info=field(_l("Kind"), choices=STAR_KINDS))
    period: Mapped[str] = mapped_column(String(7), index=True, info=field(
        _l("Month"), _l("The month the stars are for, e.g. 2026-05")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(
        _l("Compound"), _l("For a star of the compound: which compound")))
    category: Mapped[Optional[str]] = mapped_column(String(40), info=field(
        _l("Category"), _l("Leave empty when the round is not limited to one category"),
        dict_type="star_category"))
    stars: Mapped[int] = mapped_column(Integer, default=3, info=field(
        _l("Stars to elect"), _l("How many stars this round elects at most")))
    note: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("How the stars are chosen")))
    status: Mapped[str] = mapped_column(String(10), default=OPEN, index=True,
                                        info=field(_l("Status"), choices=ROUND_STATUSES))
    decided_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Decided on")))

    __display_loads__ = ["compound"]

    class Admin(AdminBase):
        label = _l("Star round")
        label_plural = _l("Star rounds")
        menu = "honours"
        icon = "fa-star"
        list_columns = ["period", "kind", "compound", "category", "stars", "status", "decided_on"]
        search_columns = ["period", "kind", "compound", "status"]
        show_columns = ["kind", "period", "community", "compound", "category", "stars", "note", "status",
                        "decided_on"]
        form_columns = ["kind", "period", "community", "compound", "category", "stars", "note"]
        order = ("period", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "compound.community"), ("grid", "compound.grid")]
        related = ["nominees"]
        actions = {**EXPORT, "decide": _l("Decide stars and commendations")}

    def __repr__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        kind = str(STAR_KINDS.get(self.kind, ""))
        where = f"{self.compound.name} " if self.kind == OF_COMPOUND and self.compound is not None else ""
        return f"{self.period or ''} {where}{kind}".strip()

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"period": clock.today().strftime("%Y-%m"), "kind": MONTHLY, "stars": 3}

    def validate(self, check) -> None:
        match = PERIOD.match(self.period or "")
        if not match:
            check.error("period", _l("Write the month as year-month, e.g. 2026-05."))
        elif (int(match.group(1)), int(match.group(2))) > (clock.today().year, clock.today().month) \
                or int(match.group(1)) < 2000:
            check.error("period", _l("The month must not be in the future."))
        if self.kind == OF_COMPOUND and self.compound is None:
            check.error("compound", _l("A star of the compound needs the compound."))
        if self.kind == MONTHLY and self.compound is not None:
            check.error("compound", _l("A star of the month is for the whole community: leave the compound empty."))
        if self.compound is not None and self.community is not None \
                and self.compound.community_id != self.community.id:
            check.error("compound", _l("This compound belongs to another community."))
        if self.stars is not None and not 1 <= self.stars <= MAX_STARS:
            check.error("stars", _l("Between 1 and %(n)s.", n=MAX_STARS))
        if self.id is not None and self.status == DECIDED and any(
                domain.changed(self, n) for n in ("kind", "period", "compound", "category", "stars", "community")):
            check.error(None, _l("A decided round cannot be changed."))
        if self.community is not None and self.period and self.kind:
            same = [StarRound.community_id == self.community.id, StarRound.kind == self.kind,
                    StarRound.period == self.period, StarRound.id != (self.id or 0),
                    StarRound.compound_id == self.compound.id if self.compound is not None
                    else StarRound.compound_id.is_(None),
                    StarRound.category == self.category if self.category else StarRound.category.is_(None)]
            with db.session.no_autoflush:
                twin = db.session.scalar(select(StarRound.id).where(*same))
            if twin is not None:
                check.error("period", _l("There is already such a round for this month."))


class StarNominee(InCommunity, Tracked, Model):
    """候选人: a resident nominated in a star round, with the reason and the decision."""

    __tablename__ = "star_nominee"
    __table_args__ = (UniqueConstraint("round_id", "person_id", name="uq_star_nominee_round_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("star_round.id", ondelete="CASCADE"), index=True)
    round: Mapped[StarRound] = relationship(backref=backref("nominees", order_by="StarNominee.id"),
                                            info=field(_l("Star round")))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Person] = relationship(info=field(_l("Resident")))
    category: Mapped[Optional[str]] = mapped_column(String(40), info=field(
        _l("Category"), dict_type="star_category"))
    reason: Mapped[str] = mapped_column(Text, info=field(_l("Reason for the nomination"),
                                                                 _l("What the resident did: the deeds")))
    nominated_by: Mapped[Optional[str]] = mapped_column(String(60), info=field(
        _l("Nominated by"), _l("A grid worker, a 三长, a team, or residents")))
    decision: Mapped[str] = mapped_column(String(12), default=PENDING, index=True,
                                          info=field(_l("Decision"), choices=DECISIONS))
    publish_name: Mapped[Optional[bool]] = mapped_column(Boolean, default=False, info=field(
        _l("Full name on public pages"), _l("Only with the person's (or guardian's) consent; else 张*")))
    points: Mapped[Optional[int]] = mapped_column(Integer, info=field(
        _l("Bonus points"), _l("Awarded to a registered volunteer when elected")))

    __display_loads__ = ["person"]

    class Admin(AdminBase):
        label = _l("Star nominee")
        label_plural = _l("Star nominees")
        menu = None
        list_columns = ["person", "category", "reason", "nominated_by", "decision", "points"]
        search_columns = ["round", "person", "decision"]
        show_columns = ["round", "person", "category", "reason", "nominated_by", "decision", "publish_name",
                        "points"]
        form_columns = ["round", "person", "category", "reason", "nominated_by", "publish_name"]
        order = ("id", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "round.community", "grid": "person.grid"}
        loads = ["person"]
        kept = staticmethod(lambda row: row.points is not None)
        kept_message = _l("bonus points were awarded for this decision. Correct the points with an adjustment.")

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else ""

    def validate(self, check) -> None:
        if self.round is not None and self.round.status != OPEN and (
                self.id is None or any(domain.changed(self, n) for n in ("round", "person", "category", "reason"))):
            check.error(None, _l("The round is decided: nominees can no longer be added or changed."))
        if self.id is None:
            self.decision, self.points = PENDING, None  # decided by decide_round() only
        elif any(domain.changed(self, n) for n in ("decision", "points")):
            check.error("decision", _l("The decision is recorded with the round's “Decide” button."))
        if not (self.reason or "").strip():
            check.error("reason", _l("Write why the resident is nominated."))
        if self.person is not None and self.round is not None:
            if self.person.community_id != self.round.community_id:
                check.error("person", _l("The resident lives in another community."))
            elif self.round.kind == OF_COMPOUND and self.person.compound_id != self.round.compound_id:
                check.error("person", _l("The resident does not live in this compound."))
        if self.round is not None and self.round.category and not self.category:
            self.category = self.round.category


def _volunteer_of(person: Person):
    """The registered volunteer record of ``person`` (who can receive points), or None."""
    volunteer = getattr(person, "volunteer", None)
    return volunteer if volunteer is not None and volunteer.status == REGISTERED else None


def decide_round(star_round: StarRound, elected_ids, user=None, *, note: str | None = None) -> StarRound:
    """Record the round's decision: the nominees in ``elected_ids`` are elected, the rest
    not; the round closes; each elected registered volunteer gets the rule's bonus
    points (key ``star:<nominee id>``). One transaction; refused with nothing changed
    when the round is already decided (by another user a moment ago, too)."""
    domain.require_visible(star_round, user)
    if star_round.status != OPEN:
        raise domain.DomainError(_l("This round has been decided already."))
    nominees = list(star_round.nominees)
    if not nominees:
        raise domain.DomainError(_l("Nominate residents first."))
    elected_ids = {int(i) for i in elected_ids}
    unknown = elected_ids - {n.id for n in nominees}
    if unknown:
        raise domain.DomainError(_l("Choose the stars among the round's nominees."))
    if not elected_ids:
        raise domain.DomainError(_l("Choose at least one star."), field="elected")
    if len(elected_ids) > star_round.stars:
        raise domain.DomainError(_l("This round elects at most %(n)s stars.", n=star_round.stars), field="elected")
    try:
        # one decision wins: the status moves in one conditional UPDATE
        domain.move_status(star_round, (OPEN,), DECIDED, _l("This round has been decided already."),
                           decided_on=clock.today())
        if note:
            star_round.note = note.strip()[:2000]
        amount = points.rule_points(STAR_RULES[star_round.kind])
        for nominee in nominees:
            elected = nominee.id in elected_ids
            nominee.decision = ELECTED if elected else NOT_ELECTED
            volunteer = _volunteer_of(nominee.person) if elected else None
            if volunteer is not None and amount > 0:
                points.post(volunteer, amount, points.AWARD, source="star", source_id=nominee.id,
                            key=f"star:{nominee.id}", note=star_round.title, user=user, commit=False)
                nominee.points = amount
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return star_round


def current_stars(community_id: int) -> list[tuple[StarRound, list[StarNominee]]]:
    """The latest decided round of each kind (and compound) of a community, with its
    stars: what the public page shows. Two statements."""
    from sqlalchemy import func
    from sqlalchemy.orm import joinedload

    latest = select(StarRound.kind, StarRound.compound_id, func.max(StarRound.period).label("period")) \
        .where(StarRound.community_id == community_id, StarRound.status == DECIDED) \
        .group_by(StarRound.kind, StarRound.compound_id).subquery()
    rounds = db.session.scalars(
        select(StarRound).join(latest, (StarRound.kind == latest.c.kind) & (StarRound.period == latest.c.period)
                               & ((StarRound.compound_id == latest.c.compound_id)
                                  | (StarRound.compound_id.is_(None) & latest.c.compound_id.is_(None))))
        .where(StarRound.community_id == community_id, StarRound.status == DECIDED)
        .options(joinedload(StarRound.compound))
        .order_by(StarRound.kind.desc(), StarRound.period.desc(), StarRound.id)).unique().all()
    if not rounds:
        return []
    stars = db.session.scalars(select(StarNominee).where(
        StarNominee.round_id.in_([r.id for r in rounds]), StarNominee.decision == ELECTED)
        .options(joinedload(StarNominee.person).joinedload(Person.compound))
        .order_by(StarNominee.id)).unique().all()
    by_round = {r.id: [] for r in rounds}
    for star in stars:
        by_round[star.round_id].append(star)
    return [(r, by_round[r.id]) for r in rounds]


# ----------------------------------------------------------------------------- annual commendations

DRAFT, ANNOUNCED = "draft", "announced"
COMMENDATION_STATUSES = {DRAFT: _l("Being prepared"), ANNOUNCED: _l("Announced")}


class Commendation(InCommunity, Tracked, Model):
    """年度表彰: a year's title (最美下沉党员, 优秀志愿者, 最美家庭 …) and the people commended."""

    __tablename__ = "commendation"
    __table_args__ = (UniqueConstraint("community_id", "year", "title", name="uq_commendation_year_title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True, info=field(_l("Year")))
    title: Mapped[str] = mapped_column(String(60), info=field(
        _l("Title of the commendation"), _l("e.g. 最美下沉党员, 优秀志愿者, 最美家庭")))
    note: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("How they were chosen")))
    status: Mapped[str] = mapped_column(String(10), default=DRAFT, index=True,
                                        info=field(_l("Status"), choices=COMMENDATION_STATUSES))
    announced_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Announced on")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Annual commendation")
        label_plural = _l("Annual commendations")
        menu = "honours"
        icon = "fa-trophy"
        list_columns = ["year", "title", "community", "status", "announced_on"]
        search_columns = ["year", "title", "status"]
        show_columns = ["year", "title", "community", "note", "status", "announced_on"]
        form_columns = ["year", "title", "community", "note"]
        order = ("year", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        related = ["honorees"]
        actions = {**EXPORT, "decide": _l("Decide stars and commendations")}

    def __repr__(self) -> str:
        return f"{self.year or ''} {self.title or ''}".strip()

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"year": clock.today().year}

    def validate(self, check) -> None:
        if self.year is not None and not 2000 <= self.year <= clock.today().year:
            check.error("year", _l("A year from 2000 to this year."))
        if not (self.title or "").strip():
            check.error("title", _l("This field is required."))
        if self.id is not None and self.status == ANNOUNCED and any(
                domain.changed(self, n) for n in ("year", "title", "community")):
            check.error(None, _l("An announced commendation cannot be changed."))


class Honoree(InCommunity, Tracked, Model):
    """受表彰人: a person commended, with the deeds."""

    __tablename__ = "honoree"
    __table_args__ = (UniqueConstraint("commendation_id", "person_id", name="uq_honoree_commendation_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commendation_id: Mapped[int] = mapped_column(ForeignKey("commendation.id", ondelete="CASCADE"), index=True)
    commendation: Mapped[Commendation] = relationship(
        backref=backref("honorees", order_by="Honoree.id"), info=field(_l("Annual commendation")))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Person] = relationship(info=field(_l("Resident")))
    deeds: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Deeds")))
    publish_name: Mapped[Optional[bool]] = mapped_column(Boolean, default=False, info=field(
        _l("Full name on public pages"), _l("Only with the person's (or guardian's) consent; else 张*")))
    points: Mapped[Optional[int]] = mapped_column(Integer, info=field(
        _l("Bonus points"), _l("Awarded to a registered volunteer when the commendation is announced")))

    __display_loads__ = ["person"]

    class Admin(AdminBase):
        label = _l("Person commended")
        label_plural = _l("People commended")
        menu = None
        list_columns = ["person", "deeds", "publish_name", "points"]
        search_columns = ["commendation", "person"]
        show_columns = ["commendation", "person", "deeds", "publish_name", "points"]
        form_columns = ["commendation", "person", "deeds", "publish_name"]
        order = ("id", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "commendation.community", "grid": "person.grid"}
        loads = ["person"]
        kept = staticmethod(lambda row: row.points is not None)
        kept_message = _l("bonus points were awarded for this decision. Correct the points with an adjustment.")

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else ""

    def validate(self, check) -> None:
        if self.commendation is not None and self.commendation.status != DRAFT and (
                self.id is None or any(domain.changed(self, n) for n in ("commendation", "person"))):
            check.error(None, _l("The commendation is announced: the people commended can no longer change."))
        if self.id is None:
            self.points = None  # awarded by announce() only
        elif domain.changed(self, "points"):
            check.error("points", _l("Bonus points are awarded when the commendation is announced."))
        if self.person is not None and self.commendation is not None \
                and self.person.community_id != self.commendation.community_id:
            check.error("person", _l("The resident lives in another community."))


def announce(commendation: Commendation, user=None) -> Commendation:
    """Announce the commendation: it closes, and each person commended who is a
    registered volunteer gets the ``commendation`` rule's points (key
    ``commendation:<honoree id>``). One transaction, once."""
    domain.require_visible(commendation, user)
    if commendation.status != DRAFT:
        raise domain.DomainError(_l("This commendation has been announced already."))
    honorees = list(commendation.honorees)
    if not honorees:
        raise domain.DomainError(_l("Add the people commended first."))
    try:
        domain.move_status(commendation, (DRAFT,), ANNOUNCED, _l("This commendation has been announced already."),
                           announced_on=clock.today())
        amount = points.rule_points("commendation")
        note = gettext("%(year)s %(title)s", year=commendation.year, title=commendation.title)
        for honoree in honorees:
            volunteer = _volunteer_of(honoree.person)
            if volunteer is not None and amount > 0:
                points.post(volunteer, amount, points.AWARD, source="commendation", source_id=honoree.id,
                            key=f"commendation:{honoree.id}", note=note, user=user, commit=False)
                honoree.points = amount
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return commendation
