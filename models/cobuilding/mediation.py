"""矛盾调解: the disputes the community mediates (宇辉星城's five among them). The parties'
names are personal data: masked for everyone and revealed one at a time, logged, by the
roles that may (:mod:`app.sensitive`, kind ``secret``)."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.dictionary import register_dict_type
from models.kernel.base import InCommunity
from models.kernel.places import Compound

register_dict_type("dispute_type", _l("Dispute type"))

ACCEPTED, MEDIATING, AGREED, FAILED = "accepted", "mediating", "agreed", "failed"
MEDIATION_STATUSES = {ACCEPTED: _l("Accepted"), MEDIATING: _l("Being mediated"), AGREED: _l("Agreement reached"),
                      FAILED: _l("No agreement")}


class MediationCase(InCommunity, Tracked, Model):
    """矛盾调解: a dispute, its mediators and the agreement."""

    __tablename__ = "mediation_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[Optional[str]] = mapped_column(String(30), unique=True, info=field(_l("Case number")))
    dispute_type: Mapped[str] = mapped_column(String(40), info=field(_l("Dispute type"), dict_type="dispute_type"))
    parties: Mapped[str] = mapped_column(Text, info=field(
        _l("Parties"), _l("Who is in dispute (names, rooms)"), sensitive="secret"))
    summary: Mapped[str] = mapped_column(Text, info=field(_l("What the dispute is about")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    mediators: Mapped[str] = mapped_column(String(200), info=field(_l("Mediators")))
    applied_on: Mapped[datetime.date] = mapped_column(Date, index=True, info=field(_l("Accepted on")))
    closed_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Closed on")))
    status: Mapped[str] = mapped_column(String(10), default=ACCEPTED, index=True,
                                        info=field(_l("Status"), choices=MEDIATION_STATUSES))
    agreement: Mapped[Optional[str]] = mapped_column(Text, info=field(
        _l("Agreement"), _l("What the parties agreed (or why no agreement was reached)")))

    __display__ = "number"

    class Admin(AdminBase):
        label = _l("Mediation case")
        label_plural = _l("Mediation cases")
        menu = "cobuilding"
        icon = "fa-balance-scale"
        list_columns = ["number", "dispute_type", "compound", "parties", "status", "applied_on", "closed_on"]
        search_columns = ["number", "dispute_type", "compound", "status", "applied_on"]
        show_columns = ["number", "dispute_type", "parties", "summary", "compound", "mediators", "applied_on",
                        "closed_on", "status", "agreement"]
        form_columns = ["dispute_type", "parties", "summary", "community", "compound", "mediators", "applied_on",
                        "status", "closed_on", "agreement"]
        order = ("applied_on", "desc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "compound.community"), ("grid", "compound.grid")]
        actions = EXPORT

    @classmethod
    def form_defaults(cls, user) -> dict:
        return {"applied_on": clock.today(), "status": ACCEPTED}

    def validate(self, check) -> None:
        if self.applied_on is not None and self.applied_on > clock.today():
            check.error("applied_on", _l("The date is in the future."))
        if self.status in (AGREED, FAILED):
            if self.closed_on is None:
                check.error("closed_on", _l("Give the date the case was closed."))
            if not (self.agreement or "").strip():
                check.error("agreement", _l("Write the agreement, or why none was reached."))
        elif self.closed_on is not None:
            check.error("closed_on", _l("An open case has no closing date."))
        if self.closed_on is not None and self.applied_on is not None and self.closed_on < self.applied_on:
            check.error("closed_on", _l("The case cannot close before it was accepted."))
        if self.closed_on is not None and self.closed_on > clock.today():
            check.error("closed_on", _l("The date is in the future."))

    def before_save(self, session) -> None:
        if not self.number:
            session.add(self)
            session.flush()
            self.number = f"TJ-{(self.applied_on or clock.today()).year}-{self.id:04d}"
