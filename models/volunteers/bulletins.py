"""简报: the community's bulletins (印制简报宣传; the case study counts 42 issues).

A bulletin is 第 N 期 of its community (the number is unique there and proposed as the
next one), with a title, a date, a rich-text body (sanitized on every save by
:mod:`app.richtext`), and links
to the activities and star rounds it reports (attachments: :mod:`models.kernel.attachments`).
Its page prints as the paper bulletin.
"""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from models.kernel.base import InCommunity
from models.volunteers.honours import StarRound
from models.volunteers.activities import Activity

bulletin_activity = Table(
    "bulletin_activity", Model.metadata,
    Column("bulletin_id", ForeignKey("bulletin.id", ondelete="CASCADE"), primary_key=True),
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True))
bulletin_star_round = Table(
    "bulletin_star_round", Model.metadata,
    Column("bulletin_id", ForeignKey("bulletin.id", ondelete="CASCADE"), primary_key=True),
    Column("star_round_id", ForeignKey("star_round.id", ondelete="CASCADE"), primary_key=True))

class Bulletin(InCommunity, Tracked, Model):
    """简报: 第 N 期 of a community."""

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("community_id", "number", name="uq_bulletin_community_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, info=field(
        _l("Issue number"), _l("第 N 期: the next number is proposed")))
    title: Mapped[str] = mapped_column(String(100), info=field(_l("Headline")))
    issued_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Date of issue")))
    editor: Mapped[Optional[str]] = mapped_column(String(50), info=field(_l("Editor")))
    body: Mapped[str] = mapped_column(Text, info=field(_l("Body"), rich=True))
    activities = relationship(Activity, secondary=bulletin_activity, order_by=Activity.starts_at,
                              info=field(_l("Activities reported")))
    star_rounds = relationship(StarRound, secondary=bulletin_star_round, order_by=StarRound.period,
                               info=field(_l("Stars reported")))

    __display__ = "title"

    class Admin(AdminBase):
        label = _l("Bulletin")
        label_plural = _l("Bulletins")
        menu = "honours"
        icon = "fa-newspaper-o"
        list_columns = ["number", "title", "issued_on", "editor", "community"]
        search_columns = ["number", "title", "issued_on", "community"]
        show_columns = ["number", "title", "issued_on", "editor", "community", "body", "activities", "star_rounds"]
        form_columns = ["number", "title", "issued_on", "community", "editor", "body", "activities", "star_rounds"]
        order = ("number", "desc")
        scope = Scope(community="community_id")
        actions = EXPORT

    def __repr__(self) -> str:
        from flask_babel import gettext

        return gettext("No. %(n)s: %(title)s", n=self.number, title=self.title) if self.number else (self.title or "")

    @classmethod
    def form_defaults(cls, user) -> dict:
        community = getattr(user, "scope_community", None)
        return {"issued_on": clock.today(),
                "number": next_number(community.id) if community is not None else None}

    def validate(self, check) -> None:
        if self.number is not None and not 1 <= self.number <= 99999:
            check.error("number", _l("Between 1 and 99999."))
        if self.issued_on is not None and self.issued_on > clock.today() + datetime.timedelta(days=31):
            check.error("issued_on", _l("At most a month ahead."))
        if not (self.body or "").strip():
            check.error("body", _l("This field is required."))
        for activity in self.activities:
            if self.community is not None and activity.community_id != self.community.id:
                check.error("activities", _l("Choose activities of the bulletin's own community."))
                break
        for star_round in self.star_rounds:
            if self.community is not None and star_round.community_id != self.community.id:
                check.error("star_rounds", _l("Choose star rounds of the bulletin's own community."))
                break
        if self.community is not None and self.number is not None:
            with db.session.no_autoflush:
                twin = db.session.scalar(select(Bulletin.id).where(
                    Bulletin.community_id == self.community.id, Bulletin.number == self.number,
                    Bulletin.id != (self.id or 0)))
            if twin is not None:
                check.error("number", _l("Issue %(n)s of this community exists already; the next free number is "
                                         "%(next)s.", n=self.number, next=next_number(self.community.id)))


def next_number(community_id: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.max(Bulletin.number), 0))
                                 .where(Bulletin.community_id == community_id))) + 1
