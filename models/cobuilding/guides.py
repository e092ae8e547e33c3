"""四个一 of the community office: 民生政策一窗通 (policy guides residents can look up) and
社区业务一站办 (the log of business done for residents at the window or the station, with
the 最多跑一次 flag when a matter took more than one visit, and monthly figures)."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock, scope
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.dictionary import register_dict_type
from app.extensions import db
from app.periods import as_date, month_of
from models.kernel.base import InCommunity
from models.people.people import Person, Staff

register_dict_type("policy_category", _l("Policy category"))
register_dict_type("window_service", _l("Window service type"))


class PolicyGuide(InCommunity, Tracked, Model):
    """民生政策一窗通: one policy explained for residents — what, what to bring, where, whom to ask."""

    __tablename__ = "policy_guide"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), index=True, info=field(
        _l("Policy category"), dict_type="policy_category"))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Headline")))
    content: Mapped[str] = mapped_column(Text, info=field(_l("What the policy gives, and to whom"), rich=True))
    materials: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("Materials to bring"), _l("One per line")))
    where_when: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Where and when")))
    contact: Mapped[Optional[str]] = mapped_column(String(100), info=field(
        _l("Whom to ask"), _l("An office and its phone, not a person's own number")))
    published: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(
        _l("Published"), _l("Shown on the public policy page")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Policy guide")
        label_plural = _l("Policy guides")
        menu = "cobuilding"
        icon = "fa-book"
        list_columns = ["category", "title", "where_when", "published"]
        search_columns = ["title", "category", "published"]
        form_columns = ["category", "title", "community", "content", "materials", "where_when", "contact",
                        "published"]
        order = ("category", "asc")
        scope = Scope(community="community_id")
        actions = EXPORT

    def validate(self, check) -> None:
        if not (self.content or "").strip():
            check.error("content", _l("This field is required."))


SATISFACTION = {"5": _l("Very satisfied"), "4": _l("Satisfied"), "3": _l("Acceptable"),
                "2": _l("Dissatisfied"), "1": _l("Very dissatisfied")}


class WindowService(InCommunity, Tracked, Model):
    """社区业务一站办: one matter handled for a resident."""

    __tablename__ = "window_service"
    __table_args__ = (CheckConstraint("visits >= 1", name="ck_window_service_visits"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_type: Mapped[str] = mapped_column(String(40), index=True, info=field(
        _l("Service"), dict_type="window_service"))
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Optional[Person]] = relationship(info=field(_l("Resident")))
    handler_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    handler: Mapped[Staff] = relationship(info=field(_l("Handled by")))
    served_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Date")))
    visits: Mapped[int] = mapped_column(Integer, default=1, info=field(
        _l("Visits this matter took"), _l("最多跑一次: more than one is flagged")))
    result: Mapped[str] = mapped_column(String(200), info=field(_l("Result")))
    satisfaction: Mapped[Optional[str]] = mapped_column(String(1), info=field(
        _l("Resident's satisfaction"), choices=SATISFACTION))

    class Admin(AdminBase):
        label = _l("One-stop service")
        label_plural = _l("One-stop service log")
        menu = "cobuilding"
        icon = "fa-inbox"
        list_columns = ["served_on", "service_type", "person", "handler", "visits", "more_than_once",
                        "satisfaction"]
        search_columns = ["service_type", "served_on", "handler", "person"]
        show_columns = ["served_on", "service_type", "person", "handler", "visits", "more_than_once", "result",
                        "satisfaction"]
        form_columns = ["service_type", "person", "handler", "served_on", "visits", "result", "satisfaction"]
        order = ("served_on", "desc")
        scope = Scope(community="community_id", grid="grid_id", personal=True)
        fill = [("community", "handler.community"), ("grid", "person.grid")]
        labels = {"more_than_once": _l("More than one visit")}
        loads = ["person", "handler"]
        actions = EXPORT

    @property
    def more_than_once(self) -> str:
        from flask_babel import gettext

        return gettext("Yes") if (self.visits or 1) > 1 else ""

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"served_on": clock.today(), "visits": 1}

    def validate(self, check) -> None:
        if self.visits is not None and not 1 <= self.visits <= 20:
            check.error("visits", _l("Between 1 and 20."))
        if self.served_on is not None and self.served_on > clock.today():
            check.error("served_on", _l("The date is in the future."))
        if self.person is not None and self.community is not None and self.person.community_id != self.community.id:
            check.error("person", _l("The resident lives in another community."))


def window_stats(months: int = 12) -> list[dict]:
    """Per month: matters handled, done in one visit (最多跑一次) and its share, and the
    average satisfaction — one GROUP BY in SQL, in the user's scope."""
    from sqlalchemy import case, cast

    since = clock.today().replace(day=1)
    for _ in range(months - 1):
        since = (since - datetime.timedelta(days=1)).replace(day=1)
    month = month_of(WindowService.served_on)
    one_visit = func.sum(case((WindowService.visits == 1, 1), else_=0))
    rated = func.avg(cast(WindowService.satisfaction, Integer))
    stmt = scope.apply(select(month, func.count(), one_visit, rated).where(WindowService.served_on >= since)
                       .group_by(month).order_by(month), WindowService)
    rows = db.session.execute(stmt).all()
    return [{"month": as_date(m), "handled": n, "one_visit": int(once or 0),
             "one_visit_share": round(100 * int(once or 0) / n) if n else 0,
             "satisfaction": round(float(avg), 2) if avg is not None else None} for m, n, once, avg in rows]
