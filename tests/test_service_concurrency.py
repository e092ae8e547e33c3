"""A claim from the pool is atomic: twenty liaisons press “take this order” at the same
moment, on PostgreSQL (the production database); exactly one gets it, the others are
told it was taken, and the timeline has one claim."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from app.domain import DomainError
from app.extensions import db
from tests.conftest import is_postgres

CLAIMERS = 20


@pytest.mark.usefixtures("no_isolation")
def test_twenty_claims_at_once_exactly_one_wins(app):
    if not is_postgres(app):
        pytest.skip("runs in the PostgreSQL lane: SQLite serialises writers, there is no race to lose")
    from models.service import demands, machine
    from models.kernel.orgs import Organisation, Position
    from models.kernel.places import Compound
    from models.service.demands import Demand, DemandEvent, ServiceCategory
    from models.service.notices import Notification
    from models.kernel.users import AppUser

    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("结对单位联络员")
        community_id = db.session.scalars(select(Compound.community_id).where(Compound.name.isnot(None))).first()
        units = db.session.scalars(select(Organisation).where(
            Organisation.community_id == community_id,
            Organisation.type.in_(machine.TAKING_UNIT_TYPES)).order_by(Organisation.id)).all()
        user_ids, position_ids = [], []
        for i in range(CLAIMERS):
            user = sm.add_user(f"race{i:02d}", "抢单", f"联络员{i:02d}", f"race{i:02d}@example.org", role,
                               password="Hongse@2026")
            user.scope_kind, user.scope_community_id = "self", community_id
            position = Position(organisation=units[i % len(units)], title="liaison", holder_name=f"抢单联络员{i}",
                                user=user)
            db.session.add(position)
            db.session.commit()
            user_ids.append(user.id)
            position_ids.append(position.id)
        category = db.session.scalars(select(ServiceCategory).where(ServiceCategory.code == "repair")).one()
        compound = db.session.scalars(select(Compound).where(Compound.community_id == community_id)).first()
        demand = machine.create(Demand(title="并发抢单测试", description="二十人同时抢单", category=category,
                                       source="phone", requester_name="居民", compound=compound))
        machine.act(demand, machine.DISPATCH, None, pool=True)
        demand_id = demand.id
        db.session.remove()

    barrier = threading.Barrier(CLAIMERS)
    outcomes: dict[int, str] = {}

    def claim(user_id):
        with app.app_context():
            try:
                user = db.session.get(AppUser, user_id)
                target = db.session.get(Demand, demand_id)
                barrier.wait(timeout=60)
                machine.act(target, machine.CLAIM, user)
                outcomes[user_id] = "won"
            except DomainError as error:
                outcomes[user_id] = str(list(error.errors().values())[0][0])
            except Exception as error:  # noqa: BLE001 — reported, and fails the test below
                outcomes[user_id] = f"error: {error!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in user_ids]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(outcomes) == CLAIMERS, outcomes
        winners = [uid for uid, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        losers = {outcome for uid, outcome in outcomes.items() if uid not in winners}
        assert losers == {"这一单刚刚被别人接走了。"}, losers
        with app.app_context():
            demand = db.session.get(Demand, demand_id)
            assert demand.status == demands.TAKEN and not demand.in_pool
            winner_unit = db.session.scalars(select(Position.organisation_id).where(
                Position.user_id == winners[0])).one()
            assert demand.assigned_unit_id == winner_unit
            claims = db.session.scalar(select(func.count()).select_from(DemandEvent).where(
                DemandEvent.demand_id == demand_id, DemandEvent.action == machine.CLAIM))
            assert claims == 1
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(Notification).where(Notification.demand_id == demand_id))
            db.session.execute(delete(DemandEvent).where(DemandEvent.demand_id == demand_id))
            db.session.execute(delete(Demand).where(Demand.id == demand_id))
            db.session.execute(delete(Position).where(Position.id.in_(position_ids)))
            for uid in user_ids:
                user = db.session.get(AppUser, uid)
                if user is not None:
                    db.session.delete(user)
            db.session.commit()
            db.session.remove()
