"""The points ledger as trustworthy as money: balances equal the ledger and never go
below zero, nothing is paid twice, posted entries are never changed, stock never goes
below zero; the exchange flow; and (PostgreSQL) concurrent redemptions and exchanges."""
from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import delete, func, select, text

from app import domain
from app.domain import DomainError
from app.extensions import db
from models.volunteers import points, activities as volunteers
from models.volunteers.points import Exchange, Gift, LedgerEntry
from models.volunteers.activities import Volunteer
from tests import factories as f
from tests.conftest import is_postgres


def adults(count: int, community_name: str = "文化路社区", offset: int = 0):
    """Residents of 18–60 who are not volunteers yet."""
    from models.people.people import Person

    today = datetime.date.today()
    rows = db.session.scalars(
        select(Person).where(Person.community_id == f.community(community_name).id,
                             Person.birth_date.between(today.replace(year=today.year - 60),
                                                       today.replace(year=today.year - 19)),
                             ~Person.volunteer.has())
        .order_by(Person.id).offset(offset).limit(count)).all()
    assert len(rows) == count
    return rows


def registered(person, **values) -> Volunteer:
    volunteer = domain.save(Volunteer(person=person, **values))
    return volunteers.change_status(volunteer, "approve")


def gift(stock: int = 10, cost: int = 5, community_name: str = "文化路社区", **values) -> Gift:
    return domain.save(Gift(name=values.pop("name", f"测试礼品{uuid.uuid4().int % 10**8:08d}"), points=cost, stock=stock,
                            community=f.community(community_name), **values))


def award(volunteer, amount: int, key: str | None = None):
    return points.post(volunteer, amount, points.AWARD, source="manual", source_id=None,
                       key=key or f"test:{uuid.uuid4().hex}")


def balance_in_db(volunteer_id: int) -> int:
    return db.session.scalar(select(Volunteer.points_balance).where(Volunteer.id == volunteer_id))


# ----------------------------------------------------------------------------- posting

def test_a_posting_moves_the_balance_and_records_it(ctx):
    volunteer = registered(adults(1)[0])
    entry = award(volunteer, 30)
    assert (entry.amount, entry.balance_after, entry.kind) == (30, 30, "award")
    assert volunteer.points_balance == 30 == balance_in_db(volunteer.id) == points.ledger_sum(volunteer.id)
    assert entry.community_id == volunteer.community_id


def test_the_same_key_pays_once(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 10, key="activity:999999:volunteer:1")
    with pytest.raises(DomainError) as error:
        award(volunteer, 10, key="activity:999999:volunteer:1")
    assert "已经记过" in str(error.value.errors())
    assert balance_in_db(volunteer.id) == 10 == points.ledger_sum(volunteer.id)


def test_the_database_holds_each_key_once(ctx):
    """Even a posting that skips post() cannot repeat a key: a unique index."""
    from sqlalchemy.exc import IntegrityError

    volunteer = registered(adults(1)[0])
    entry = award(volunteer, 5)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(LedgerEntry(volunteer_id=volunteer.id, community_id=volunteer.community_id, amount=5,
                                       kind="award", source="manual", key=entry.key, balance_after=10,
                                       at=datetime.datetime.now()))
            db.session.flush()


def test_a_balance_never_goes_below_zero(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 10)
    with pytest.raises(DomainError) as error:
        points.adjust(volunteer, -11, note="多扣")
    assert "积分不足" in str(error.value.errors())
    assert balance_in_db(volunteer.id) == 10 == points.ledger_sum(volunteer.id)
    points.adjust(volunteer, -10, note="更正")
    assert balance_in_db(volunteer.id) == 0 == points.ledger_sum(volunteer.id)


@pytest.mark.parametrize("amount, kind", [(0, "award"), (-5, "award"), (5, "redeem"), (1.5, "award"),
                                          (True, "award"), (5, "gift")])
def test_nonsense_postings_are_refused(ctx, amount, kind):
    volunteer = registered(adults(1)[0])
    with pytest.raises(DomainError):
        points.post(volunteer, amount, kind, source="manual", source_id=None, key=f"t:{uuid.uuid4().hex}")
    assert points.ledger_sum(volunteer.id) == 0 == balance_in_db(volunteer.id)


def test_an_adjustment_needs_a_reason(ctx):
    volunteer = registered(adults(1)[0])
    with pytest.raises(DomainError) as error:
        points.adjust(volunteer, 5, note="  ")
    assert "note" in error.value.errors()


def test_a_correction_is_a_reversal_once(ctx):
    volunteer = registered(adults(1)[0])
    entry = award(volunteer, 20)
    reversal = points.reverse(entry)
    assert (reversal.amount, reversal.kind, reversal.reverses_id, reversal.balance_after) == (-20, "reverse",
                                                                                              entry.id, 0)
    with pytest.raises(DomainError):
        points.reverse(entry)
    with pytest.raises(DomainError):
        points.reverse(reversal)
    assert points.ledger_sum(volunteer.id) == 0 == balance_in_db(volunteer.id)


def test_posted_entries_cannot_be_changed_or_deleted_through_the_orm(ctx):
    volunteer = registered(adults(1)[0])
    entry = award(volunteer, 7)
    entry.amount = 700
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    entry = db.session.get(LedgerEntry, entry.id)
    db.session.delete(entry)
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id).amount == 7


@pytest.mark.parametrize("statement", ["UPDATE ledger_entry SET amount = 700 WHERE id = :id",
                                       "DELETE FROM ledger_entry WHERE id = :id"])
def test_the_database_refuses_changes_to_posted_entries(ctx, statement):
    volunteer = registered(adults(1)[0])
    entry = award(volunteer, 7)
    with pytest.raises(Exception) as error:
        with db.session.begin_nested():
            db.session.execute(text(statement), {"id": entry.id})
    assert "append-only" in str(error.value)
    assert db.session.scalar(select(LedgerEntry.amount).where(LedgerEntry.id == entry.id)) == 7


# ----------------------------------------------------------------------------- exchanges

def test_an_exchange_takes_stock_and_points_and_a_rejection_gives_them_back(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 50)
    item = gift(stock=3, cost=15)
    exchange = points.request_exchange(volunteer, item, 2)
    assert exchange.status == "requested" and exchange.points == 30
    assert exchange.voucher == f"DH-{exchange.requested_at.year}-{exchange.id:06d}"
    assert balance_in_db(volunteer.id) == 20 == points.ledger_sum(volunteer.id)
    assert db.session.scalar(select(Gift.stock).where(Gift.id == item.id)) == 1
    points.reject(exchange, reason="礼品已下架")
    assert exchange.status == "rejected" and exchange.reason == "礼品已下架"
    assert balance_in_db(volunteer.id) == 50 == points.ledger_sum(volunteer.id)
    assert db.session.scalar(select(Gift.stock).where(Gift.id == item.id)) == 3
    kinds = db.session.scalars(select(LedgerEntry.kind).where(LedgerEntry.volunteer_id == volunteer.id)
                               .order_by(LedgerEntry.id)).all()
    assert kinds == ["award", "redeem", "reverse"]


def test_approve_then_hand_over(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 10)
    exchange = points.request_exchange(volunteer, gift(cost=10))
    points.approve(exchange)
    with pytest.raises(DomainError) as error:
        points.approve(exchange)
    assert "已批准" in str(error.value.errors())
    with pytest.raises(DomainError):
        points.collect(exchange, handler="  ")
    points.collect(exchange, handler="李主任")
    assert exchange.status == "collected" and exchange.collected_on is not None and exchange.handler == "李主任"
    with pytest.raises(DomainError):
        points.reject(exchange, reason="晚了")
    assert balance_in_db(volunteer.id) == 0 == points.ledger_sum(volunteer.id)


@pytest.mark.parametrize("case", ["short_balance", "short_stock", "inactive", "not_registered", "quantity",
                                  "other_community"])
def test_a_refused_exchange_changes_nothing(ctx, case):
    person = adults(1)[0]
    volunteer = registered(person) if case != "not_registered" else domain.save(Volunteer(person=person))
    if case != "not_registered":
        award(volunteer, 10)
    item = {"short_balance": lambda: gift(cost=11), "short_stock": lambda: gift(stock=0, cost=1),
            "inactive": lambda: gift(cost=1, active=False), "not_registered": lambda: gift(cost=1),
            "quantity": lambda: gift(cost=1), "other_community": lambda: gift(cost=1, community_name="槐荫社区")}[case]()
    before = (db.session.scalar(select(func.count()).select_from(Exchange)),
              db.session.scalar(select(func.count()).select_from(LedgerEntry)), item.stock)
    with pytest.raises(DomainError):
        points.request_exchange(volunteer, item, 0 if case == "quantity" else 1)
    after = (db.session.scalar(select(func.count()).select_from(Exchange)),
             db.session.scalar(select(func.count()).select_from(LedgerEntry)),
             db.session.scalar(select(Gift.stock).where(Gift.id == item.id)))
    assert before == after
    assert balance_in_db(volunteer.id) == points.ledger_sum(volunteer.id)


def test_a_rejection_needs_a_reason(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 10)
    exchange = points.request_exchange(volunteer, gift(cost=10))
    with pytest.raises(DomainError) as error:
        points.reject(exchange, reason="")
    assert "reason" in error.value.errors() and exchange.status == "requested"


def test_an_exchange_cannot_be_edited_into_another(ctx):
    volunteer = registered(adults(1)[0])
    award(volunteer, 10)
    exchange = points.request_exchange(volunteer, gift(cost=5))
    exchange.quantity = 2
    with pytest.raises(DomainError):
        domain.save(exchange)


# ----------------------------------------------------------------------------- property test

class LedgerMachine(RuleBasedStateMachine):
    """Random awards, exchanges, approvals, rejections, hand-overs and reversals; after
    every step each balance equals its ledger sum and is ≥ 0, and no stock is < 0."""

    def __init__(self):
        super().__init__()
        people = adults(3, offset=LedgerMachine.offset)
        LedgerMachine.offset += 3
        self.volunteers = [registered(p) for p in people]
        self.gifts = [gift(stock=s, cost=c) for s, c in ((2, 3), (5, 1), (1, 20))]
        self.initial = {g.id: g.stock for g in self.gifts}
        self.exchanges: list[int] = []
        self.awards: list[int] = []

    offset = 0

    @rule(who=st.integers(0, 2), amount=st.integers(1, 40))
    def give(self, who, amount):
        self.awards.append(award(self.volunteers[who], amount).id)

    @rule(who=st.integers(0, 2), which=st.integers(0, 2), quantity=st.integers(1, 3))
    def request(self, who, which, quantity):
        try:
            self.exchanges.append(points.request_exchange(self.volunteers[who], self.gifts[which], quantity).id)
        except DomainError:
            pass

    @precondition(lambda self: self.exchanges)
    @rule(pick=st.integers(0, 10_000), step=st.sampled_from(["approve", "reject", "collect"]))
    def decide(self, pick, step):
        exchange = db.session.get(Exchange, self.exchanges[pick % len(self.exchanges)])
        try:
            if step == "approve":
                points.approve(exchange)
            elif step == "reject":
                points.reject(exchange, reason="测试")
            else:
                points.collect(exchange, handler="测试")
        except DomainError:
            pass

    @precondition(lambda self: self.awards)
    @rule(pick=st.integers(0, 10_000))
    def correct(self, pick):
        try:
            points.reverse(db.session.get(LedgerEntry, self.awards[pick % len(self.awards)]))
        except DomainError:
            pass

    @rule(who=st.integers(0, 2), amount=st.integers(-50, 50).filter(bool))
    def adjust(self, who, amount):
        try:
            points.adjust(self.volunteers[who], amount, note="随机调整")
        except DomainError:
            pass

    @invariant()
    def balances_are_the_ledger(self):
        for volunteer in self.volunteers:
            stored = balance_in_db(volunteer.id)
            assert stored == points.ledger_sum(volunteer.id) and stored >= 0
            assert volunteer.points_balance == stored  # what a page would show

    @invariant()
    def stock_is_never_negative_and_adds_up(self):
        for item in self.gifts:
            stock = db.session.scalar(select(Gift.stock).where(Gift.id == item.id))
            held = db.session.scalar(select(func.coalesce(func.sum(Exchange.quantity), 0)).where(
                Exchange.gift_id == item.id, Exchange.status != "rejected"))
            assert stock >= 0 and stock + held == self.initial[item.id]


def test_the_ledger_under_random_operations(ctx):
    LedgerMachine.offset = 0
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=15, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


# ----------------------------------------------------------------------------- concurrency (PostgreSQL)

def _threads(app, count, work):
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                work(i)
                result = "ok"
            except DomainError as error:
                result = str(list(error.errors().values())[0][0])
            except Exception as error:  # noqa: BLE001 — reported, and fails the test
                result = f"error: {error!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def _cleanup(volunteer_ids, gift_ids):
    """Test data of a committed test; the ledger's guard is lifted for this session only."""
    db.session.execute(text("SET session_replication_role = replica"))
    db.session.execute(delete(LedgerEntry).where(LedgerEntry.volunteer_id.in_(volunteer_ids)))
    db.session.execute(delete(Exchange).where(Exchange.gift_id.in_(gift_ids)))
    db.session.execute(delete(Gift).where(Gift.id.in_(gift_ids)))
    db.session.execute(delete(Volunteer).where(Volunteer.id.in_(volunteer_ids)))
    db.session.execute(text("SET session_replication_role = DEFAULT"))
    db.session.commit()


@pytest.mark.usefixtures("no_isolation")
def test_fifty_redemptions_of_a_one_point_gift_against_ten_points(app):
    if not is_postgres(app):
        pytest.skip("runs in the PostgreSQL lane: SQLite serialises writers, there is no race to lose")
    with app.app_context():
        volunteer = registered(adults(1, offset=50)[0])
        award(volunteer, 10)
        item = gift(stock=100, cost=1)
        volunteer_id, gift_id = volunteer.id, item.id
        db.session.remove()
    try:
        outcomes = _threads(app, 50, lambda i: points.request_exchange(
            db.session.get(Volunteer, volunteer_id), db.session.get(Gift, gift_id)))
        assert outcomes.count("ok") == 10, outcomes
        assert set(outcomes) - {"ok"} == {"积分不足：余额为 0。"} or all(
            o == "ok" or o.startswith("积分不足") for o in outcomes), outcomes
        with app.app_context():
            assert balance_in_db(volunteer_id) == 0 == points.ledger_sum(volunteer_id)
            assert db.session.scalar(select(Gift.stock).where(Gift.id == gift_id)) == 90
            assert db.session.scalar(select(func.count()).select_from(Exchange).where(Exchange.gift_id == gift_id)) == 10
            db.session.remove()
    finally:
        with app.app_context():
            _cleanup([volunteer_id], [gift_id])
            db.session.remove()


@pytest.mark.usefixtures("no_isolation")
def test_twenty_exchanges_for_a_gift_with_three_in_stock(app):
    if not is_postgres(app):
        pytest.skip("runs in the PostgreSQL lane: SQLite serialises writers, there is no race to lose")
    with app.app_context():
        people = adults(20, offset=60)
        ids = []
        for person in people:
            volunteer = registered(person)
            award(volunteer, 10)
            ids.append(volunteer.id)
        item = gift(stock=3, cost=5)
        gift_id = item.id
        db.session.remove()
    try:
        outcomes = _threads(app, 20, lambda i: points.request_exchange(
            db.session.get(Volunteer, ids[i]), db.session.get(Gift, gift_id)))
        assert outcomes.count("ok") == 3, outcomes
        assert set(outcomes) - {"ok"} == {"库存不足。"}, outcomes
        with app.app_context():
            assert db.session.scalar(select(Gift.stock).where(Gift.id == gift_id)) == 0
            for volunteer_id in ids:
                assert balance_in_db(volunteer_id) == points.ledger_sum(volunteer_id) in (5, 10)
            assert sum(balance_in_db(v) for v in ids) == 20 * 10 - 3 * 5
            db.session.remove()
    finally:
        with app.app_context():
            _cleanup(ids, [gift_id])
            db.session.remove()
