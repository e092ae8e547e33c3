"""The 三单 state machine: every state × every action, who may act, what an action
needs, the timeline, and the timed rules (claim timeout, overdue) on a frozen clock."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain import DomainError
from app.extensions import db
from models.service import demands, machine, sweep, ratings
from models.service.demands import (CANCELLED, CLOSED, DISPATCHED, DUPLICATE, IN_PROGRESS, PENDING, RATED, RESOLVED,
                                    TAKEN, Demand, DemandEvent)
from models.service.machine import TRANSITIONS
from models.service.notices import Notification
from tests import factories as f

T0 = datetime.datetime(2026, 3, 2, 9, 0)


def category(code="repair"):
    from models.service.demands import ServiceCategory

    return db.session.scalars(select(ServiceCategory).where(ServiceCategory.code == code)).one()


def unit(name="孝感市盐业公司"):
    from models.kernel.orgs import Organisation

    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def volunteer_member():
    from models.people.people import PartyMember

    return db.session.scalars(select(PartyMember).where(PartyMember.user_id == f.user("volunteer").id)).one()


def compound_in(grid_code="WHL-01"):
    from models.kernel.places import Compound

    return db.session.scalars(select(Compound).where(Compound.grid.has(code=grid_code)).order_by(Compound.id)).first()


def new_demand(code="repair", grid_code=None, **values) -> Demand:
    if grid_code is None:  # the volunteer's own grid, so that the volunteer may claim
        grid_code = volunteer_member().grid.code
    values.setdefault("compound", compound_in(grid_code))
    demand = Demand(title="楼道灯不亮", description="三楼楼道灯坏了一周", category=category(code),
                    source="phone", requester_name="测试居民", requester_phone="13900001111", **values)
    return machine.create(demand, f.user("worker"))


#: how to bring a new demand to each state, as the system
PATHS = {
    PENDING: [],
    DISPATCHED: [("dispatch", {"unit": "partner"})],
    TAKEN: [("dispatch", {"unit": "partner"}), ("take", {})],
    IN_PROGRESS: [("dispatch", {"unit": "partner"}), ("take", {}), ("start", {})],
    RESOLVED: [("dispatch", {"unit": "partner"}), ("take", {}), ("start", {}),
               ("resolve", {"result": "修好了", "evidence": "照片"})],
    RATED: [("dispatch", {"unit": "partner"}), ("take", {}), ("resolve", {"result": "修好了", "evidence": "照片"}),
            ("rate", {"rating": 5})],
    CLOSED: [("dispatch", {"unit": "partner"}), ("take", {}), ("resolve", {"result": "修好了", "evidence": "照片"}),
             ("rate", {"rating": 4}), ("close", {})],
    CANCELLED: [("cancel", {"note": "居民已自行解决"})],
    DUPLICATE: [("duplicate", {"original": "other"})],
}


def in_state(state, pool=False) -> Demand:
    demand = new_demand()
    for action, data in PATHS[state]:
        data = dict(data)
        if data.get("unit") == "partner":
            data = {"pool": True} if pool else {"unit": unit()}
        if action == "take" and pool:  # from the pool an order is claimed
            action, data = "claim", {"unit": unit()}
        if data.get("original") == "other":
            data["original"] = new_demand()
        machine.act(demand, action, None, **data)
    assert demand.status == state
    return demand


#: the user who would make each action, and complete data for it
def actor_and_data(action):
    worker, partner = f.user("worker"), f.user("partner")
    return {
        "dispatch": (worker, {"unit": unit()}),
        "claim": (partner, {}),
        "take": (partner, {}),
        "decline": (partner, {"note": "本单位没有电工"}),
        "start": (partner, {}),
        "resolve": (partner, {"result": "已更换灯泡", "evidence": "现场照片"}),
        "rate": (worker, {"rating": 5, "comment": "满意"}),
        "close": (worker, {}),
        "cancel": (worker, {"note": "居民撤回"}),
        "reopen": (worker, {"note": "居民反映问题复发"}),
        "duplicate": (worker, {"original": new_demand()}),
        "timeout": (None, {}),
    }[action]


def events_of(demand) -> int:
    return db.session.scalar(select(func.count()).select_from(DemandEvent).where(DemandEvent.demand_id == demand.id))


@pytest.mark.parametrize("state", list(PATHS))
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_state_and_action(ctx, state, action):
    """The table: an action is taken exactly in the states it lists; otherwise a clear
    Chinese error and nothing changes."""
    transition = TRANSITIONS[action]
    # claims come from the pool; the other actions work on an order given to the partner's unit
    demand = in_state(state, pool=(action == "claim"))
    user, data = actor_and_data(action)
    before_events, before_status = events_of(demand), demand.status
    if state in transition.sources:
        machine.act(demand, action, user, **data)
        assert demand.status == transition.target
        last = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)
                                  .order_by(DemandEvent.id.desc())).first()
        assert (last.action, last.from_status, last.to_status) == (action, state, transition.target)
        assert last.actor_id == (user.id if user is not None else None)
        assert events_of(demand) == before_events + 1
    else:
        with pytest.raises(DomainError) as error:
            machine.act(demand, action, user, **data)
        db.session.rollback()
        message = str(list(error.value.errors().values())[0][0])
        assert any(word in message for word in ("不能", "只有", "系统", "范围")), message
        db.session.expire_all()
        assert db.session.get(Demand, demand.id).status == before_status
        assert events_of(demand) == before_events


def test_the_table_is_complete():
    """Every action names its sources and target among the states, and each state but the
    ends can be left."""
    states = set(demands.STATUSES)
    for action, transition in TRANSITIONS.items():
        assert set(transition.sources) <= states and transition.target in states, action
    left = {s for t in TRANSITIONS.values() for s in t.sources}
    assert left == states  # reopen leaves even the ends


def test_a_poor_rating_reopens_the_demand(ctx):
    demand = in_state(RESOLVED)
    machine.act(demand, "rate", f.user("worker"), rating=2, comment="没修好")
    assert demand.status == PENDING and demand.rating == 2 and demand.assigned_unit is None
    steps = [e.action for e in db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)
                                                  .order_by(DemandEvent.id))]
    assert steps[-2:] == ["rate", "reopen"]
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.demand_id == demand.id, Notification.kind == "reopened"))


@pytest.mark.parametrize("state, action, data, message", [
    (PENDING, "dispatch", {}, "请选择"),
    (PENDING, "cancel", {}, "原因"),
    (CANCELLED, "reopen", {"note": "  "}, "原因"),
    (PENDING, "duplicate", {}, "重复"),
])
def test_an_action_without_what_it_needs_changes_nothing(ctx, state, action, data, message):
    demand = in_state(state)
    steps = events_of(demand)
    with pytest.raises(DomainError) as error:
        machine.act(demand, action, f.user("worker"), **data)
    assert message in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    assert db.session.get(Demand, demand.id).status == state and events_of(demand) == steps


def test_resolving_needs_the_result_and_evidence(ctx):
    demand = in_state(IN_PROGRESS)
    partner = f.user("partner")
    for data in ({}, {"result": "修好了"}, {"evidence": "照片"}):
        with pytest.raises(DomainError):
            machine.act(demand, "resolve", partner, **data)
        db.session.rollback()
    assert db.session.get(Demand, demand.id).status == IN_PROGRESS


def test_rating_twice_is_refused(ctx):
    demand = in_state(RESOLVED)
    machine.act(demand, "rate", f.user("worker"), rating=5)
    with pytest.raises(DomainError):
        machine.act(demand, "rate", f.user("worker"), rating=4)
    db.session.rollback()
    assert db.session.get(Demand, demand.id).rating == 5


def test_roles_may_only_make_their_own_steps(ctx):
    demand = new_demand()
    for username in ("grid1", "leader", "partner", "volunteer", "street"):
        with pytest.raises(DomainError) as error:
            machine.act(demand, "dispatch", f.user(username), pool=True)
        db.session.rollback()
        assert "角色" in str(list(error.value.errors().values())[0][0]) or \
            "范围" in str(list(error.value.errors().values())[0][0]), username
    machine.act(demand, "dispatch", f.user("secretary"), unit=unit())
    # only the unit the order is given to takes it
    with pytest.raises(DomainError) as error:  # another taker does not even see it
        machine.act(demand, "take", f.user("volunteer"))
    db.session.rollback()
    assert "范围" in str(list(error.value.errors().values())[0][0])
    machine.act(demand, "take", f.user("partner"))
    assert demand.status == TAKEN and demand.assigned_unit == unit()


def test_another_communitys_staff_cannot_touch_the_demand(ctx):
    demand = new_demand()
    with pytest.raises(DomainError) as error:
        machine.act(demand, "dispatch", f.user("worker2"), pool=True)
    assert "范围" in str(list(error.value.errors().values())[0][0])


def test_claims_respect_category_skills_and_grid(ctx):
    volunteer = f.user("volunteer")
    member = volunteer_member()
    # a category only units take
    termite = new_demand("termite")
    machine.act(termite, "dispatch", None, pool=True)
    with pytest.raises(DomainError) as error:
        machine.act(termite, "claim", volunteer)
    assert "单位" in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    # a skill the member lacks
    member.skills = "电工"
    db.session.commit()
    tutoring = new_demand("tutoring")
    machine.act(tutoring, "dispatch", None, pool=True)
    with pytest.raises(DomainError) as error:
        machine.act(tutoring, "claim", volunteer)
    assert "教师" in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    # another grid's order
    other_grid = next(code for code in ("WHL-01", "WHL-02") if code != member.grid.code)
    elsewhere = new_demand("repair", grid_code=other_grid)
    machine.act(elsewhere, "dispatch", None, pool=True)
    with pytest.raises(DomainError) as error:
        machine.act(elsewhere, "claim", volunteer)
    assert "网格" in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    # and one of their own grid and skills: taken
    mine = new_demand("repair")
    machine.act(mine, "dispatch", None, pool=True)
    machine.act(mine, "claim", volunteer)
    assert mine.status == TAKEN and mine.assigned_member == member and not mine.in_pool


def test_an_order_given_to_someone_cannot_be_claimed(ctx):
    demand = new_demand()
    machine.act(demand, "dispatch", None, unit=unit("孝感市物资公司"))
    with pytest.raises(DomainError) as error:  # no longer in the pool: out of the partner's sight
        machine.act(demand, "claim", f.user("partner"))
    assert "范围" in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    # an order given to the volunteer is theirs to take, not to claim
    mine = new_demand()
    machine.act(mine, "dispatch", None, member=volunteer_member())
    with pytest.raises(DomainError) as error:
        machine.act(mine, "claim", f.user("volunteer"))
    assert "接单大厅" in str(list(error.value.errors().values())[0][0])
    db.session.rollback()
    machine.act(mine, "take", f.user("volunteer"))
    assert mine.status == TAKEN


def test_a_category_for_units_cannot_be_given_to_a_member(ctx):
    demand = new_demand("termite")
    with pytest.raises(DomainError):
        machine.act(demand, "dispatch", f.user("worker"), member=volunteer_member())


def test_a_declined_order_goes_back_to_the_dispatchers(ctx):
    demand = in_state(DISPATCHED)
    machine.act(demand, "decline", f.user("partner"), note="本周人手不足")
    assert demand.status == PENDING and demand.assigned_unit is None
    told = db.session.scalars(select(Notification).where(Notification.demand_id == demand.id,
                                                         Notification.kind == "declined")).all()
    assert {n.user_id for n in told} >= {f.user("worker").id, f.user("secretary").id}


def test_the_taker_is_told_of_a_dispatch_and_the_grid_worker_of_the_resolution(ctx):
    grid_worker = f.user("grid1")
    demand = Demand(title="化粪池外溢", description="急", category=category("septic"), source="grid_visit",
                    requester_name="居民", compound=compound_in("WHL-01"))
    machine.create(demand, grid_worker)
    machine.act(demand, "dispatch", f.user("worker"), unit=unit())
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == f.user("partner").id, Notification.demand_id == demand.id,
        Notification.kind == "dispatched")) == 1
    machine.act(demand, "take", f.user("partner"))
    machine.act(demand, "resolve", f.user("partner"), result="已疏通", evidence="照片")
    notice = db.session.scalars(select(Notification).where(Notification.user_id == grid_worker.id,
                                                           Notification.demand_id == demand.id)).one()
    assert notice.kind == "resolved" and demand.number in notice.text


def test_a_long_description_is_refused(ctx):
    before = db.session.scalar(select(func.count()).select_from(Demand))
    demand = Demand(title="太长", description="字" * 4001, category=category(), source="phone",
                    requester_name="居民", compound=compound_in())
    with pytest.raises(DomainError) as error:
        machine.create(demand, f.user("worker"))
    assert "4000" in str(error.value.errors()) or "4,000" in str(error.value.errors())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Demand)) == before


def test_numbers_and_due_times(app, ctx):
    with clock.frozen(T0):
        demand = new_demand()
        assert demand.number == f"WH-2026-{demand.id:06d}"
        machine.act(demand, "dispatch", None, unit=unit())
        assert demand.due_take_at == T0 + datetime.timedelta(hours=category().take_hours)
        clock.advance(hours=3)
        machine.act(demand, "take", None)
        assert demand.due_resolve_at == T0 + datetime.timedelta(hours=3, days=category().resolve_days)


# ----------------------------------------------------------------------------- the clock

def test_an_order_not_started_in_time_returns_to_the_pool(app, ctx):
    with clock.frozen(T0):
        demand = new_demand()
        machine.act(demand, "dispatch", None, pool=True)
        machine.act(demand, "claim", f.user("partner"))
        clock.advance(hours=app.config["DEMAND_START_HOURS"] - 1)
        assert sweep.sweep()["returned"] == 0 and demand.status == TAKEN
        clock.advance(hours=2)
        assert sweep.sweep()["returned"] == 1
        db.session.refresh(demand)
        assert demand.status == DISPATCHED and demand.in_pool and demand.assigned_unit is None
        last = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)
                                  .order_by(DemandEvent.id.desc())).first()
        assert last.action == "timeout" and last.actor_id is None
        # a started order is left alone
        other = new_demand()
        machine.act(other, "dispatch", None, pool=True)
        machine.act(other, "claim", f.user("partner"))
        machine.act(other, "start", f.user("partner"))
        clock.advance(hours=48)
        sweep.sweep()
        db.session.refresh(other)
        assert other.status == IN_PROGRESS


def test_overdue_demands_are_listed_and_the_dispatchers_told_once(app, ctx, as_user):
    with clock.frozen(T0):
        demand = new_demand()
        machine.act(demand, "dispatch", None, unit=unit())
        hours = category().take_hours
        clock.advance(hours=hours - 1)
        assert not db.session.scalar(select(func.count()).select_from(Demand).where(
            Demand.id == demand.id, sweep.overdue_condition(clock.now())))
        clock.advance(hours=2)
        assert db.session.scalar(select(func.count()).select_from(Demand).where(
            Demand.id == demand.id, sweep.overdue_condition(clock.now())))
        sweep.sweep()
        sweep.sweep()
        told = db.session.scalars(select(Notification).where(Notification.demand_id == demand.id,
                                                             Notification.kind == "overdue")).all()
        assert told and len(told) == len({n.user_id for n in told})
        assert f.user("worker").id in {n.user_id for n in told}
        page = as_user("worker").get("/service/dispatch/?tab=overdue").get_data(as_text=True)
        assert demand.number in page


def test_a_demand_from_a_care_visit_in_one_step(ctx):
    from models.people.care import Visit

    visit = db.session.scalars(select(Visit).where(Visit.findings.isnot(None)).order_by(Visit.id)).first()
    if visit is None:
        visit = db.session.scalars(select(Visit).order_by(Visit.id)).first()
        visit.findings = "老人家里水管漏水"
        db.session.commit()
    demand = machine.from_visit(visit, category(), f.user("grid1"))
    assert demand.status == PENDING and demand.visit == visit and demand.requester == visit.person
    assert demand.source == "grid_visit" and demand.community_id == visit.person.community_id
    first = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)).one()
    assert first.action == "create" and first.actor_id == f.user("grid1").id


def test_a_visit_without_findings_makes_no_demand(ctx):
    from models.people.care import Visit

    visit = db.session.scalars(select(Visit).order_by(Visit.id)).first()
    visit.findings = None
    before = db.session.scalar(select(func.count()).select_from(Demand))
    with pytest.raises(DomainError):
        machine.from_visit(visit, category(), f.user("grid1"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Demand)) == before


# ----------------------------------------------------------------------------- rating links

def test_a_rating_link_is_used_once_and_expires(app, ctx):
    with clock.frozen(T0):
        demand = in_state(RESOLVED)
        token = ratings.rating_link(demand)
        with pytest.raises(DomainError):
            ratings.rate_by_token("forged-" + token, 5)
        db.session.rollback()
        ratings.rate_by_token(token, 4, "谢谢")
        assert demand.status == RATED and demand.rating == 4
        with pytest.raises(DomainError):
            ratings.rate_by_token(token, 5)
        db.session.rollback()
        assert db.session.get(Demand, demand.id).rating == 4
        other = in_state(RESOLVED)
        late = ratings.rating_link(other)
        clock.advance(days=app.config["RATING_LINK_DAYS"], seconds=1)
        with pytest.raises(DomainError):
            ratings.rate_by_token(late, 5)
        db.session.rollback()
        assert db.session.get(Demand, other.id).status == RESOLVED


def test_a_refused_rating_does_not_spend_the_link(ctx):
    demand = in_state(RESOLVED)
    token = ratings.rating_link(demand)
    with pytest.raises(DomainError):
        ratings.rate_by_token(token, 9)
    db.session.rollback()
    ratings.rate_by_token(token, 5)
    assert db.session.get(Demand, demand.id).status == RATED


# ----------------------------------------------------------------------------- filing: what a demand must say

def _bare(**values) -> Demand:
    values.setdefault("source", "phone")
    values.setdefault("requester_name", "居民")
    return Demand(title="路灯不亮", description="后院路灯", category=category(), **values)


def test_an_address_alone_belongs_to_the_filers_community_and_grid(ctx):
    from app import scope

    grid_worker = f.user("grid1")
    with scope.acting_as(grid_worker):
        demand = machine.create(_bare(address="文化路88号后院"), grid_worker)
    assert (demand.community_id, demand.grid_id) == (grid_worker.scope_community_id, grid_worker.scope_grid_id)
    assert demand.address == "文化路88号后院" and demand.status == PENDING


def test_an_address_alone_is_refused_to_a_filer_above_one_community(ctx):
    from app import scope

    before = db.session.scalar(select(func.count()).select_from(Demand))
    with scope.acting_as(f.user("street")), pytest.raises(DomainError) as error:
        machine.create(_bare(address="文化路88号后院"), f.user("street"))
    db.session.rollback()
    assert "请选择小区" in str(error.value.errors().get("compound"))
    assert db.session.scalar(select(func.count()).select_from(Demand)) == before


@pytest.mark.parametrize("values, field", [
    ({"source": "open311", "requester_name": None}, "source"),  # only the Open311 path may skip the requester
    ({"source": "open311"}, "source"),
    ({"source": "fax"}, "source"),
    ({"demand_class": "whenever"}, "demand_class"),
    ({"priority": "asap"}, "priority"),
])
def test_fixed_values_are_checked_wherever_a_demand_is_filed(ctx, values, field):
    before = db.session.scalar(select(func.count()).select_from(Demand))
    with pytest.raises(DomainError) as error:
        machine.create(_bare(compound=compound_in(), **values), f.user("worker"))
    db.session.rollback()
    assert field in error.value.errors()
    assert db.session.scalar(select(func.count()).select_from(Demand)) == before
