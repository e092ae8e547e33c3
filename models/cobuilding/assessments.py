"""考核激励: assessment templates per kind of subject (社区工作者, 下沉党员, 志愿者, 自管委)
with their items and maximum scores, assessments per period with one score per item,
totals kept by the scores, and the ranking of a template's period."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock, domain, scope
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from models.kernel.base import InCommunity
from models.people.people import Person

SUBJECTS = {"worker": _l("Community worker"), "member": _l("Sinking party member"), "volunteer": _l("Volunteer"),
            "committee": _l("Self-management committee")}


class AssessmentTemplate(InCommunity, Tracked, Model):
    """考核办法: what is assessed for one kind of subject, item by item."""

    __tablename__ = "assessment_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    subject_type: Mapped[str] = mapped_column(String(12), info=field(_l("Who is assessed"), choices=SUBJECTS))
    note: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("How it is used")))

    class Admin(AdminBase):
        label = _l("Assessment template")
        label_plural = _l("Assessment templates")
        menu = "cobuilding"
        icon = "fa-list-ol"
        list_columns = ["name", "subject_type", "community"]
        form_columns = ["name", "subject_type", "community", "note"]
        order = ("name", "asc")
        scope = Scope(community="community_id")
        related = ["items"]

    @property
    def full_marks(self) -> int:
        return sum(i.max_score for i in self.items)


class AssessmentItem(InCommunity, Model):
    """考核项目: one item of a template and its maximum score."""

    __tablename__ = "assessment_item"
    __table_args__ = (CheckConstraint("max_score > 0", name="ck_assessment_item_max"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("assessment_template.id", ondelete="CASCADE"), index=True)
    template: Mapped[AssessmentTemplate] = relationship(
        backref=backref("items", order_by="AssessmentItem.position"), info=field(_l("Assessment template")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Item")))
    max_score: Mapped[int] = mapped_column(Integer, info=field(_l("Maximum score")))
    position: Mapped[int] = mapped_column(Integer, default=1, info=field(_l("Order")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Assessment item")
        label_plural = _l("Assessment items")
        menu = None
        list_columns = ["position", "title", "max_score"]
        form_columns = ["template", "title", "max_score", "position"]
        order = ("position", "asc")
        scope = Scope(community="community_id")
        derive = {"community": "template.community"}

    def validate(self, check) -> None:
        if self.max_score is not None and not 1 <= self.max_score <= 100:
            check.error("max_score", _l("Between 1 and 100."))
        if self.template is not None and self.id is not None and domain.changed(self, "max_score") and any(
                s.score > self.max_score for s in self.scores):
            check.error("max_score", _l("A score already given is higher than this."))


class Assessment(InCommunity, Tracked, Model):
    """考核: one subject's assessment for a period; the total follows the scores."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("template_id", "period", "subject", name="uq_assessment_subject_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("assessment_template.id"), index=True)
    template: Mapped[AssessmentTemplate] = relationship(info=field(_l("Assessment template")))
    period: Mapped[str] = mapped_column(String(20), index=True, info=field(
        _l("Period"), _l("e.g. 2026, 2026年上半年")))
    subject: Mapped[str] = mapped_column(String(60), info=field(_l("Who is assessed")))
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Optional[Person]] = relationship(info=field(_l("Resident"), _l("When the subject is a resident")))
    assessed_on: Mapped[datetime.date] = mapped_column(Date, info=field(_l("Assessed on")))
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=field(_l("Total score")))
    comment: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Comment")))

    class Admin(AdminBase):
        label = _l("Assessment")
        label_plural = _l("Assessments")
        menu = "cobuilding"
        icon = "fa-check-square-o"
        list_columns = ["period", "template", "subject", "total", "assessed_on"]
        search_columns = ["period", "template", "subject"]
        show_columns = ["template", "period", "subject", "person", "assessed_on", "total", "comment"]
        form_columns = ["template", "period", "subject", "person", "assessed_on", "comment"]
        order = ("total", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "template.community"}
        loads = ["template"]
        actions = EXPORT

    def __repr__(self) -> str:
        return f"{self.period or ''} {self.subject or ''}".strip()

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"assessed_on": clock.today(), "period": str(clock.today().year)}

    def validate(self, check) -> None:
        if self.assessed_on is not None and self.assessed_on > clock.today():
            check.error("assessed_on", _l("The date is in the future."))
        if self.id is None:
            self.total = 0  # the scores make the total
        elif domain.changed(self, "total"):
            check.error("total", _l("The total is the sum of the scores."))
        if self.id is not None and domain.changed(self, "template") and self.scores:
            check.error("template", _l("Scores are given: the template cannot change."))


class AssessmentScore(InCommunity, Model):
    """评分: the score of one item."""

    __tablename__ = "assessment_score"
    __table_args__ = (UniqueConstraint("assessment_id", "item_id", name="uq_assessment_score_item"),
                      CheckConstraint("score >= 0", name="ck_assessment_score"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    assessment: Mapped[Assessment] = relationship(backref=backref("scores", cascade="all, delete-orphan",
                                                                  passive_deletes=True))
    item_id: Mapped[int] = mapped_column(ForeignKey("assessment_item.id", ondelete="CASCADE"), index=True)
    item: Mapped[AssessmentItem] = relationship(backref="scores")
    score: Mapped[int] = mapped_column(Integer)


def record_scores(assessment: Assessment, scores: dict, user=None) -> Assessment:
    """Give the scores {item id: score} of an assessment, all or none: each a whole number
    from 0 to the item's maximum; the total is their sum."""
    domain.require_visible(assessment, user)
    items = {i.id: i for i in assessment.template.items}
    problems = {}
    values = {}
    for item_id, raw in scores.items():
        item = items.get(item_id)
        if item is None:
            raise domain.DomainError(_l("An item of another template."))
        if raw in (None, ""):
            continue
        try:
            value = int(str(raw).strip())
        except ValueError:
            problems.setdefault(f"item-{item_id}", []).append(_l("A whole number."))
            continue
        if not 0 <= value <= item.max_score:
            problems.setdefault(f"item-{item_id}", []).append(
                _l("%(item)s: from 0 to %(max)s.", item=item.title, max=item.max_score))
        values[item_id] = value
    if problems:
        raise domain.ValidationFailed(problems)
    existing = {s.item_id: s for s in assessment.scores}
    for item_id, value in values.items():
        if item_id in existing:
            existing[item_id].score = value
        else:
            db.session.add(AssessmentScore(assessment=assessment, item_id=item_id, score=value,
                                           community_id=assessment.community_id, grid_id=assessment.grid_id))
    db.session.flush()
    total = db.session.scalar(select(func.coalesce(func.sum(AssessmentScore.score), 0))
                              .where(AssessmentScore.assessment_id == assessment.id))
    from sqlalchemy import update

    db.session.execute(update(Assessment).where(Assessment.id == assessment.id).values(total=total)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(assessment)
    return assessment


def ranking(template: AssessmentTemplate, period: str) -> list[tuple[int, Assessment]]:
    """(rank, assessment) by total, highest first; equal totals share a rank (1, 2, 2, 4)."""
    rows = db.session.scalars(scope.apply(select(Assessment), Assessment).where(
        Assessment.template_id == template.id, Assessment.period == period)
        .order_by(Assessment.total.desc(), Assessment.subject)).all()
    ranked, previous, rank = [], None, 0
    for n, row in enumerate(rows, start=1):
        if row.total != previous:
            rank, previous = n, row.total
        ranked.append((rank, row))
    return ranked
