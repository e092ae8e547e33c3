"""有激励: the points ledger and the gift exchange.

The ledger is append-only and as trustworthy as money:

* every posting goes through :func:`post`, in one transaction with what caused it;
* the balance on the volunteer (``Volunteer.points_balance``) moves in the same
  statement-level step as the entry is written, by a conditional UPDATE that never
  lets it fall below zero (a CHECK constraint backs it), so the balance always equals
  the sum of the ledger;
* each entry carries a unique ``key`` (``activity:12:volunteer:5``, ``exchange:7``,
  ``reverse:31``): a retried request cannot pay twice, a reversal cannot be reversed twice;
* entries are never updated or deleted: corrections are reversal or adjustment entries,
  and database triggers refuse UPDATE and DELETE on the table.
"""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
                        event, select, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock, domain, scope
from app.base import Model, Tracked, current_user_id, now
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from models.kernel.base import InCommunity
from models.volunteers.activities import REGISTERED, Volunteer, act_for

# ----------------------------------------------------------------------------- rules

RULES = {"hour": _l("Per hour served"), "star_month": _l("Star of the month"),
         "star_compound": _l("Star of the compound"), "commendation": _l("Annual commendation")}


class PointRule(Tracked, Model):
    """积分规则: what earns how many points (activities carry their own points too)."""

    __tablename__ = "point_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True, info=field(_l("Rule"), choices=RULES))
    points: Mapped[int] = mapped_column(Integer, info=field(_l("Points")))
    enabled: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(_l("Enabled")))
    note: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Note")))

    __display__ = "code"

    class Admin(AdminBase):
        label = _l("Points rule")
        label_plural = _l("Points rules")
        menu = "volunteers"
        icon = "fa-sliders"
        list_columns = ["code", "points", "enabled", "note"]
        form_columns = ["code", "points", "enabled", "note"]
        order = ("code", "asc")

    def __repr__(self) -> str:
        return str(RULES.get(self.code, self.code))

    def validate(self, check) -> None:
        if self.points is not None and not 0 <= self.points <= 1000:
            check.error("points", _l("Between 0 and 1000 points."))


def rule_points(code: str) -> int:
    """The points of an enabled rule, else 0."""
    value = db.session.scalar(select(PointRule.points).where(PointRule.code == code, PointRule.enabled.is_(True)))
    return int(value or 0)


# ----------------------------------------------------------------------------- ledger

AWARD, REDEEM, REVERSE, ADJUST = "award", "redeem", "reverse", "adjust"
KINDS = {AWARD: _l("Award"), REDEEM: _l("Redemption"), REVERSE: _l("Reversal"), ADJUST: _l("Adjustment")}
SOURCES = {"activity": _l("Activity"), "exchange": _l("Gift exchange"), "star": _l("Star"),
           "commendation": _l("Annual commendation"), "manual": _l("Manual adjustment"),
           "ledger": _l("Ledger entry")}


class LedgerEntry(InCommunity, Model):
    """积分流水: one signed posting to a volunteer's points. Never edited or deleted."""

    __tablename__ = "ledger_entry"
    __table_args__ = (CheckConstraint("amount <> 0", name="ck_ledger_entry_amount"),
                      CheckConstraint("balance_after >= 0", name="ck_ledger_entry_balance"))

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    volunteer: Mapped[Volunteer] = relationship(info=field(_l("Volunteer")))
    amount: Mapped[int] = mapped_column(Integer, info=field(_l("Points")))
    kind: Mapped[str] = mapped_column(String(10), info=field(_l("Kind"), choices=KINDS))
    source: Mapped[str] = mapped_column(String(20), info=field(_l("Cause"), choices=SOURCES))
    source_id: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Cause record")))
    #: what makes a posting unique: a retried request finds its entry already there
    key: Mapped[str] = mapped_column(String(80), unique=True, info=field(_l("Posting key")))
    reverses_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    reverses = relationship("LedgerEntry", remote_side=[id], info=field(_l("Reverses")))
    balance_after: Mapped[int] = mapped_column(Integer, info=field(_l("Balance after")))
    note: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Note")))
    at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True, info=field(_l("Time")))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    actor = relationship("AppUser", foreign_keys=[actor_id], info=field(_l("By")))

    __display__ = "key"

    class Admin(AdminBase):
        label = _l("Points entry")
        label_plural = _l("Points ledger")
        menu = "volunteers"
        icon = "fa-book"
        list_columns = ["at", "volunteer", "kind", "amount", "balance_after", "source", "note", "actor"]
        search_columns = ["volunteer", "kind", "source", "at"]
        show_columns = ["at", "volunteer", "kind", "amount", "balance_after", "source", "source_id", "reverses",
                        "note", "actor"]
        form_columns = []
        order = ("at", "desc")
        readonly = True  # no edit, no delete: through no view and no endpoint
        kept = staticmethod(lambda row: True)
        kept_message = _l("a posted points entry is never deleted; post a reversal or an adjustment instead.")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: LedgerEntry.volunteer.has(Volunteer.user_id == user.id))
        loads = ["volunteer.person", "actor"]
        actions = {**EXPORT, "adjust": _l("Adjust points")}
        charts = [Chart("top_points", _l("Points leaderboard"), dimension="volunteer", kind="hbar", dated="at",
                        statistic="models.reporting.dashboard:top_points")]

    def __repr__(self) -> str:
        return f"{self.amount:+d}"


@event.listens_for(LedgerEntry, "before_update")
def _no_update(mapper, connection, target):
    raise RuntimeError("ledger entries are never updated")


@event.listens_for(LedgerEntry, "before_delete")
def _no_delete(mapper, connection, target):
    raise RuntimeError("ledger entries are never deleted")


# the database refuses changes to posted entries too: triggers of migration 0005


def post(volunteer: Volunteer, amount: int, kind: str, *, source: str, source_id: int | None, key: str,
         note: str | None = None, user=None, reverses: LedgerEntry | None = None,
         commit: bool = True) -> LedgerEntry:
    """The one way points move. Moves the balance by ``amount`` unless it would fall
    below zero, and writes the entry with the balance after it; a ``key`` already
    posted raises DomainError (nothing is paid twice). With ``commit=False`` the caller's
    transaction carries it (and rolls it back on error)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise domain.DomainError(_l("The points must be a whole number other than zero."), field="amount")
    if kind not in KINDS or source not in SOURCES:
        raise domain.DomainError(_l("Unknown kind of posting."))
    if kind in (AWARD,) and amount < 0 or kind == REDEEM and amount > 0:
        raise domain.DomainError(_l("An award adds points and a redemption takes them."))
    with db.session.no_autoflush:
        if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == key)) is not None:
            if commit:
                db.session.rollback()
            raise domain.DomainError(_l("This has been posted already."))
    db.session.flush()
    balance = db.session.execute(
        update(Volunteer).where(Volunteer.id == volunteer.id, Volunteer.points_balance + amount >= 0)
        .values(points_balance=Volunteer.points_balance + amount)
        .returning(Volunteer.points_balance)
        .execution_options(synchronize_session=False)).scalar()
    if balance is None:
        if commit:
            db.session.rollback()
        raise domain.DomainError(_l("Not enough points: the balance is %(n)s.",
                                    n=db.session.scalar(select(Volunteer.points_balance)
                                                        .where(Volunteer.id == volunteer.id))))
    entry = LedgerEntry(volunteer_id=volunteer.id, community_id=volunteer.community_id, grid_id=volunteer.grid_id,
                        amount=amount, kind=kind, source=source, source_id=source_id, key=key[:80],
                        reverses_id=getattr(reverses, "id", None), balance_after=balance,
                        note=(note or "")[:200] or None, at=clock.now(),
                        actor_id=getattr(user, "id", None) or current_user_id())
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:  # the same key posted at the same moment by another request
        db.session.rollback()
        raise domain.DomainError(_l("This has been posted already.")) from None
    # the identity map's copy of the balance follows the database
    from sqlalchemy.orm.attributes import set_committed_value

    set_committed_value(volunteer, "points_balance", balance)
    if commit:
        db.session.commit()
    return entry


def reverse(entry: LedgerEntry, user=None, *, note: str | None = None, commit: bool = True) -> LedgerEntry:
    """A correction: the opposite amount, linked to the entry (once)."""
    if entry.kind == REVERSE:
        raise domain.DomainError(_l("A reversal cannot be reversed; post an adjustment instead."))
    return post(entry.volunteer, -entry.amount, REVERSE, source="ledger", source_id=entry.id,
                key=f"reverse:{entry.id}", note=note or gettext("Reverses entry %(id)s", id=entry.id),
                user=user, reverses=entry, commit=commit)


def adjust(volunteer: Volunteer, amount: int, user=None, *, note: str) -> LedgerEntry:
    """A manual adjustment by staff, with the reason."""
    import uuid

    if not (note or "").strip():
        raise domain.DomainError(_l("Write the reason for the adjustment."), field="note")
    if user is not None and not scope.visible(volunteer, user):
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    return post(volunteer, amount, ADJUST, source="manual", source_id=None, key=f"adjust:{uuid.uuid4().hex}",
                note=note.strip(), user=user)


def ledger_sum(volunteer_id: int) -> int:
    from sqlalchemy import func

    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                                 .where(LedgerEntry.volunteer_id == volunteer_id)))


# ----------------------------------------------------------------------------- gifts

class Gift(InCommunity, Tracked, Model):
    """礼品: what points can be exchanged for."""

    __tablename__ = "gift"
    __table_args__ = (CheckConstraint("stock >= 0", name="ck_gift_stock_not_negative"),
                      CheckConstraint("points > 0", name="ck_gift_points_positive"),
                      UniqueConstraint("community_id", "name", name="uq_gift_community_name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), info=field(_l("Name")))
    points: Mapped[int] = mapped_column(Integer, info=field(_l("Points")))
    stock: Mapped[int] = mapped_column(Integer, default=0, info=field(_l("In stock")))
    picture: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Picture")))
    description: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Description")))
    active: Mapped[Optional[bool]] = mapped_column(Boolean, default=True, info=field(
        _l("Offered"), _l("Only offered gifts can be requested")))

    class Admin(AdminBase):
        label = _l("Gift")
        label_plural = _l("Gifts")
        menu = "volunteers"
        icon = "fa-gift"
        list_columns = ["name", "points", "stock", "active", "community"]
        search_columns = ["name", "active", "community"]
        form_columns = ["name", "community", "points", "stock", "description", "active"]
        order = ("points", "asc")
        scope = Scope(community="community_id")
        actions = EXPORT

    def validate(self, check) -> None:
        if self.points is not None and not 1 <= self.points <= 100000:
            check.error("points", _l("Between 1 and 100000 points."))
        if self.stock is not None and not 0 <= self.stock <= 100000:
            check.error("stock", _l("Between 0 and 100000."))


REQUESTED, APPROVED, COLLECTED, REJECTED = "requested", "approved", "collected", "rejected"
EXCHANGE_STATUSES = {REQUESTED: _l("Requested"), APPROVED: _l("Approved"), COLLECTED: _l("Collected"),
                     REJECTED: _l("Rejected")}


class Exchange(InCommunity, Tracked, Model):
    """积分兑换: a volunteer's request for a gift. The points and the stock are taken when
    it is requested (so nobody can promise the same points or the last gift twice) and
    come back by a reversal if it is rejected."""

    __tablename__ = "exchange"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_exchange_quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher: Mapped[Optional[str]] = mapped_column(String(30), unique=True, info=field(_l("Voucher number")))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    volunteer: Mapped[Volunteer] = relationship(backref="exchanges", info=field(_l("Volunteer")))
    gift_id: Mapped[int] = mapped_column(ForeignKey("gift.id"), index=True)
    gift: Mapped[Gift] = relationship(info=field(_l("Gift")))
    quantity: Mapped[int] = mapped_column(Integer, default=1, info=field(_l("Quantity")))
    points: Mapped[int] = mapped_column(Integer, default=0, info=field(_l("Points")))
    status: Mapped[str] = mapped_column(String(12), default=REQUESTED, index=True,
                                        info=field(_l("Status"), choices=EXCHANGE_STATUSES))
    requested_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True, default=now,
                                                            info=field(_l("Requested at")))
    decided_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime, info=field(_l("Decided at")))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    decided_by = relationship("AppUser", foreign_keys=[decided_by_id], info=field(_l("Decided by")))
    collected_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Collected on")))
    handler: Mapped[Optional[str]] = mapped_column(String(50), info=field(_l("Handed over by")))
    reason: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Reason for rejecting")))

    __display__ = "voucher"

    class Admin(AdminBase):
        label = _l("Exchange")
        label_plural = _l("Exchanges")
        menu = "volunteers"
        icon = "fa-exchange"
        list_columns = ["voucher", "requested_at", "volunteer", "gift", "quantity", "points", "status"]
        search_columns = ["voucher", "volunteer", "gift", "status", "requested_at"]
        show_columns = ["voucher", "volunteer", "gift", "quantity", "points", "status", "requested_at",
                        "decided_at", "decided_by", "collected_on", "handler", "reason"]
        form_columns = ["volunteer", "gift", "quantity"]
        order = ("requested_at", "desc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: Exchange.volunteer.has(Volunteer.user_id == user.id))
        derive = {"community": "volunteer.community", "grid": "volunteer.grid"}
        loads = ["volunteer.person", "gift"]
        actions = {**EXPORT, "approve": _l("Approve exchanges")}
        # the points and the stock are taken when an exchange is requested: from then on it
        # stays (rejecting gives both back by a reversal; a collected gift is final and is
        # corrected by an adjustment of the points)
        kept = staticmethod(lambda row: row.id is not None)
        kept_message = _l("the exchange has taken points and stock. Reject it to give them back, or correct a "
                          "handed-over gift with a points adjustment.")

    def validate(self, check) -> None:
        if self.id is not None and any(domain.changed(self, n) for n in ("volunteer", "gift", "quantity")):
            check.error(None, _l("An exchange cannot be changed; reject it and request again."))
            return
        if self.quantity is not None and not 1 <= self.quantity <= 20:
            check.error("quantity", _l("Between 1 and 20."))
        if self.id is None:
            self.status = REQUESTED  # the points are set when they are taken
            volunteer, gift = self.volunteer, self.gift
            if volunteer is not None and volunteer.status != REGISTERED:
                check.error("volunteer", _l("Only registered volunteers can exchange points."))
            if gift is not None and not gift.active:
                check.error("gift", _l("This gift is not offered now."))
            if gift is not None and volunteer is not None and gift.community_id != volunteer.community_id:
                check.error("gift", _l("The gift belongs to another community."))

    def before_save(self, session) -> None:
        """A new request takes the stock (atomically) and the points (:func:`post`) in
        the transaction that saves it, whichever way it is filed (page, API, function)."""
        if self.id is not None:
            return
        quantity = self.quantity or 1
        taken = session.execute(update(Gift).where(Gift.id == self.gift.id, Gift.stock >= quantity)
                                .values(stock=Gift.stock - quantity)
                                .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise domain.DomainError(_l("Not enough in stock."), field="gift")
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(self.gift, "stock", session.scalar(select(Gift.stock).where(Gift.id == self.gift.id)))
        self.quantity, self.points = quantity, self.gift.points * quantity
        self.requested_at = self.requested_at or clock.now()
        session.add(self)
        session.flush()
        self.voucher = voucher_number(self)
        try:
            post(self.volunteer, -self.points, REDEEM, source="exchange", source_id=self.id,
                 key=f"exchange:{self.id}", note=gettext("%(gift)s × %(n)s", gift=self.gift.name, n=quantity),
                 commit=False)
        except domain.DomainError as error:
            raise domain.DomainError(error.message, field="volunteer") from None


def request_exchange(volunteer: Volunteer, gift: Gift, quantity: int = 1, user=None) -> Exchange:
    """Request a gift: the stock is taken atomically and the points redeemed by
    :func:`post` in one transaction (:meth:`Exchange.before_save`); refused, with nothing
    changed, when the stock or the balance is short."""
    if user is not None and not (scope.visible(volunteer, user) and scope.visible(gift, user)):
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    act_for(volunteer, user, ("can_write", "Exchange"))  # staff for anyone, a volunteer for themself
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise domain.DomainError(_l("Between 1 and 20."), field="quantity")
    exchange = Exchange(volunteer=volunteer, gift=gift, quantity=quantity)
    domain.save(exchange, commit=False)
    db.session.commit()
    return exchange


def voucher_number(exchange) -> str:
    return f"DH-{(exchange.requested_at or clock.now()).year}-{exchange.id:06d}"


def _decide(exchange: Exchange, sources, target, user, label):
    """The status moves from one of ``sources`` to ``target`` in one conditional UPDATE:
    of two approvals at once, one wins and the other is told."""
    if user is not None and not scope.visible(exchange, user):
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    if exchange.status not in sources:
        raise domain.DomainError(_l("An exchange that is “%(status)s” cannot be “%(action)s”.",
                                    status=EXCHANGE_STATUSES[exchange.status], action=label))
    try:
        domain.move_status(exchange, sources, target, _l("Someone else has just decided this exchange."))
    except domain.DomainError:
        db.session.rollback()
        raise


def approve(exchange: Exchange, user=None) -> Exchange:
    _decide(exchange, (REQUESTED,), APPROVED, user, _l("Approve"))
    exchange.decided_at, exchange.decided_by_id = clock.now(), getattr(user, "id", None)
    db.session.commit()
    return exchange


def collect(exchange: Exchange, user=None, *, handler: str | None = None,
            on: datetime.date | None = None) -> Exchange:
    handler = (handler or "").strip() or (user.get_full_name() if getattr(user, "id", None) else "")
    if not handler:
        raise domain.DomainError(_l("Who handed the gift over?"), field="handler")
    on = on or clock.today()
    if on > clock.today():
        raise domain.DomainError(_l("The date is in the future."), field="collected_on")
    _decide(exchange, (APPROVED,), COLLECTED, user, _l("Hand over"))
    exchange.collected_on, exchange.handler = on, handler[:50]
    db.session.commit()
    return exchange


def reject(exchange: Exchange, user=None, *, reason: str) -> Exchange:
    """Rejected: the reason is kept, the points come back by a reversal and the stock is
    put back, in one transaction."""
    if not (reason or "").strip():
        raise domain.DomainError(_l("Write the reason for rejecting."), field="reason")
    try:
        _decide(exchange, (REQUESTED, APPROVED), REJECTED, user, _l("Reject"))
        exchange.decided_at, exchange.decided_by_id = clock.now(), getattr(user, "id", None)
        exchange.reason = reason.strip()[:200]
        redeemed = db.session.scalars(select(LedgerEntry).where(LedgerEntry.key == f"exchange:{exchange.id}")).one()
        reverse(redeemed, user, note=gettext("Exchange %(voucher)s rejected", voucher=exchange.voucher),
                commit=False)
        db.session.execute(update(Gift).where(Gift.id == exchange.gift_id)
                           .values(stock=Gift.stock + exchange.quantity).execution_options(synchronize_session=False))
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return exchange

