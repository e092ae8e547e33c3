"""Every step of a workflow is a conditional update on the state it starts from (issue 16,
defect 2): of two steps made from one snapshot exactly one wins; the other is told
that someone else came first (a page: a message and a redirect; the API: 409), and
nothing of it is written — no event, no field changed.

* Every pair of 三单 transitions possible from the same state, on a stale snapshot: the
  demand is loaded in two sessions, the first step commits, the second gets Conflict.
* The same pairs as a real race: two threads, each with its own session and snapshot,
  released together by a barrier; one winner, a consistent row and timeline.
* Meetings' decisions, meetings' sign-off and close, pledge projects: the same rule.
* The page and the API of the loser.
"""
from __future__ import annotations

import datetime
import itertools
import re
import threading

import pytest
from sqlalchemy import delete, func, select, update

from app import clock, domain
from app.domain import Conflict, DomainError
from app.extensions import db
from models.kernel.orgs import Organisation
from models.service import demands, machine
from models.service.demands import (CANCELLED, CLOSED, DISPATCHED, DUPLICATE, IN_PROGRESS, PENDING, RATED, RESOLVED,
                                    TAKEN, Demand, DemandEvent)
from models.service.machine import TRANSITIONS
from models.service.notices import Notification
from tests import factories as f
from tests.test_service import in_state, new_demand, unit

#: the states a step can start from: (status, published to the pool?)
STARTS = {"pending": (PENDING, False), "pool": (DISPATCHED, True), "given": (DISPATCHED, False),
          "taken": (TAKEN, False), "in_progress": (IN_PROGRESS, False), "resolved": (RESOLVED, False),
          "rated": (RATED, False), "closed": (CLOSED, False), "cancelled": (CANCELLED, False),
          "duplicate": (DUPLICATE, False)}


def steps_from(start: str) -> list[str]:
    """The steps someone may take from ``start``: a claim only from the pool; the taker's
    own steps only on an order given to his unit."""
    status, pool = STARTS[start]
    found = []
    for action, transition in TRANSITIONS.items():
        if status not in transition.sources:
            continue
        if action == machine.CLAIM and not pool:
            continue
        if pool and action in (machine.TAKE, machine.DECLINE):
            continue
        found.append(action)
    return found


#: (start, first, second): every ordered pair of steps from each state, the same step twice too
PAIRS = [(start, a, b) for start in STARTS for a, b in itertools.product(steps_from(start), repeat=2)]
#: the same, once a pair (the threaded race decides the order itself)
RACES = [(start, a, b) for start in STARTS for a, b in itertools.combinations_with_replacement(steps_from(start), 2)]


def test_the_pairs_cover_every_transition():
    assert {a for _s, a, _b in PAIRS} == set(TRANSITIONS)
    assert len(RACES) >= 50


def step_of(action: str, start: str, original_id: int):
    """(username, or None for the system; data) of ``action`` from ``start``, looked up in
    the current session. A dispatch from the pool gives the order to a unit; from a unit,
    to the pool."""
    status, pool = STARTS[start]
    data = {"dispatch": {"pool": True} if status == DISPATCHED and not pool else {"unit": unit()},
            "claim": {}, "take": {}, "decline": {"note": "本单位没有电工"}, "start": {},
            "resolve": {"result": "已更换灯泡", "evidence": "现场照片"}, "rate": {"rating": 5, "comment": "满意"},
            "close": {}, "cancel": {"note": "居民撤回"}, "reopen": {"note": "问题复发"},
            "duplicate": {"original": db.session.get(Demand, original_id)}, "timeout": {}}[action]
    who = {"claim": "partner", "take": "partner", "decline": "partner", "start": "partner", "resolve": "partner",
           "timeout": None}.get(action, "worker")
    return who, data


def run_step(demand, action, start, original_id):
    who, data = step_of(action, start, original_id)
    machine.act(demand, action, f.user(who) if who else None, **data)


def snapshot(demand) -> dict:
    names = ["status", "in_pool", "assigned_unit_id", "assigned_member_id", "taken_at", "started_at", "resolved_at",
             "rating", "closed_at", "cancel_reason", "duplicate_of_id", "dispatched_at", "version"]
    row = db.session.execute(select(*[getattr(Demand, n) for n in names]).where(Demand.id == demand.id)).one()
    return dict(zip(names, row))


def timeline(demand_id) -> list[tuple]:
    return list(db.session.execute(select(DemandEvent.action, DemandEvent.from_status, DemandEvent.to_status)
                                   .where(DemandEvent.demand_id == demand_id).order_by(DemandEvent.id)).all())


def loaded(model, pk, *relations):
    """The row as a page loaded it a moment ago, in a transaction that then ended (the
    test's sessions share one connection: the loser must not hold a savepoint under the
    winner's step). Attach it again with :func:`again`, without reloading it."""
    row = db.session.get(model, pk)
    for name in relations:
        getattr(row, name)
    db.session.expunge_all()
    db.session.rollback()
    return row


def again(row):
    return db.session.merge(row, load=False)


def loses_on_a_stale_snapshot(app, model, pk, first, second, *relations) -> Conflict:
    """``first`` (a step on ``model`` row ``pk``) commits in one session while ``second``
    acts on the row as loaded before it: ``second`` must get a Conflict, which is returned.
    Afterwards the test's session reads the rows again."""
    with app.app_context():
        stale = loaded(model, pk, *relations)
        with app.app_context():
            first(db.session.get(model, pk))
        stale = again(stale)
        with pytest.raises(Conflict) as lost:
            second(stale)
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    return lost.value


def consistent(row: dict, start_status: str, winner: str, events_before: list, events_after: list, first: dict):
    """The row and the timeline are the winner's alone (``first``: the row before)."""
    assert row["status"] == TRANSITIONS[winner].target
    assert events_after[:-1] == events_before, "the loser wrote no event"
    assert events_after[-1] == (winner, start_status, row["status"]), "the event names the true from-state"
    assert row["version"] == first["version"] + 1
    if winner != machine.REOPEN:
        assert (row["duplicate_of_id"] != first["duplicate_of_id"]) == (winner == machine.MARK_DUPLICATE)
        assert (row["cancel_reason"] != first["cancel_reason"]) == (winner == machine.CANCEL)
    if row["status"] == TAKEN:
        assert row["taken_at"] is not None and not row["in_pool"]
    if row["status"] in (PENDING, CANCELLED, DUPLICATE) and winner != machine.CANCEL:
        assert row["assigned_unit_id"] is None or winner in (machine.MARK_DUPLICATE,)
    if row["in_pool"]:
        assert row["assigned_unit_id"] is None and row["assigned_member_id"] is None


# ----------------------------------------------------------------------------- a stale snapshot, deterministic

@pytest.mark.parametrize("start,first,second", PAIRS, ids=[f"{s}-{a}-then-{b}" for s, a, b in PAIRS])
def test_a_step_on_a_stale_snapshot_gets_a_conflict_and_writes_nothing(app, ctx, start, first, second):
    status, pool = STARTS[start]
    demand = in_state(status, pool=pool)
    original_id = new_demand().id
    demand_id = demand.id
    first_row = snapshot(demand)
    with app.app_context():  # the loser's session: the page loaded before the other's step
        stale = loaded(Demand, demand_id)
        assert stale.status == status
        with app.app_context():  # the winner's session
            run_step(db.session.get(Demand, demand_id), first, start, original_id)
        stale = again(stale)
        before, events_before = snapshot(stale), timeline(demand_id)
        with pytest.raises(Conflict) as lost:
            run_step(stale, second, start, original_id)
        message = str(lost.value.message)
        assert "刚刚" in message and ("请刷新后再试" in message or "接走" in message), message
        assert snapshot(stale) == before, "the loser changed nothing"
        assert timeline(demand_id) == events_before
    consistent(snapshot(demand), status, first, events_before[:-1], events_before, first_row)


def test_the_loser_is_told_what_happened(app, ctx):
    demand = in_state(DISPATCHED)
    with app.app_context():
        stale = loaded(Demand, demand.id)
        with app.app_context():
            machine.act(db.session.get(Demand, demand.id), machine.CANCEL, f.user("worker"), note="居民撤回")
        stale = again(stale)
        with pytest.raises(Conflict) as lost:
            machine.act(stale, machine.DISPATCH, f.user("worker"), pool=True)
    assert str(lost.value.message) == "该需求刚刚已被他人“取消”，现为“已撤销”，请刷新后再试。"


def test_a_fresh_snapshot_goes_on(app, ctx):
    """Not a lock-out: once reloaded, the next step is made (and the version moves on)."""
    demand = in_state(DISPATCHED)
    version = demand.version
    machine.act(demand, machine.TAKE, f.user("partner"))
    machine.act(demand, machine.START, f.user("partner"))
    assert demand.status == IN_PROGRESS and snapshot(demand)["version"] == version + 2


# ----------------------------------------------------------------------------- a real race, two threads

@pytest.mark.usefixtures("no_isolation")
def test_two_steps_at_once_exactly_one_wins(app):
    """Each pair of steps from one state, made at the same moment by two threads with
    their own sessions (on PostgreSQL the loser waits for the row, then finds it moved
    on; on SQLite the loser's snapshot is stale): one winner, the other a Conflict,
    the row and the timeline the winner's alone."""
    made: list[int] = []
    failures = []
    try:
        with app.app_context():
            cases = []
            for start, first, second in RACES:
                status, pool = STARTS[start]
                demand = in_state(status, pool=pool)
                original = new_demand()
                made += [demand.id, original.id]
                cases.append((start, first, second, demand.id, original.id, timeline(demand.id),
                              snapshot(demand)))
            db.session.remove()
        for start, first, second, demand_id, original_id, events_before, first_row in cases:
            outcomes = _race(app, start, [first, second], demand_id, original_id)
            winners = [a for a, outcome in outcomes if outcome == "won"]
            losers = [outcome for _a, outcome in outcomes if outcome != "won"]
            if len(winners) != 1 or not all(o.startswith("conflict:") for o in losers):
                failures.append((start, first, second, outcomes))
                continue
            with app.app_context():
                row = snapshot(db.session.get(Demand, demand_id))
                consistent(row, STARTS[start][0], winners[0], events_before, timeline(demand_id), first_row)
                db.session.remove()
        assert failures == []
    finally:
        _clean_up(app, made)


def _race(app, start, actions, demand_id, original_id) -> list[tuple[str, str]]:
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def go(index, action):
        with app.app_context():
            try:
                demand = db.session.get(Demand, demand_id)
                assert demand.status == STARTS[start][0]
                who, data = step_of(action, start, original_id)
                user = f.user(who) if who else None
                barrier.wait(timeout=30)
                machine.act(demand, action, user, **data)
                outcomes[index] = (action, "won")
            except Conflict as error:
                outcomes[index] = (action, f"conflict: {error.message}")
            except Exception as error:  # noqa: BLE001 — reported, and fails the test
                outcomes[index] = (action, f"error: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def _clean_up(app, ids):
    with app.app_context():
        if ids:
            db.session.execute(update(Demand).where(Demand.id.in_(ids)).values(duplicate_of_id=None))
            db.session.execute(delete(Notification).where(Notification.demand_id.in_(ids)))
            db.session.execute(delete(DemandEvent).where(DemandEvent.demand_id.in_(ids)))
            db.session.execute(delete(Demand).where(Demand.id.in_(ids)))
            db.session.commit()
        db.session.remove()


# ----------------------------------------------------------------------------- the loser's page and API
# These commit for real (each request has its own transaction, as in production) and
# clean up after themselves.

@pytest.fixture
def committed(app):
    """A context whose demands (listed in the list it yields) are deleted afterwards."""
    made: list[int] = []
    with app.app_context():
        yield made
        db.session.remove()
    _clean_up(app, made)


@pytest.fixture
def someone_first(monkeypatch, app):
    """someone_first(step) → the next action request meets ``step`` (made in another
    session and committed) after it loaded the demand and before it writes.

    PostgreSQL only: on SQLite a request that writes holds the write lock from its first
    statement (BEGIN IMMEDIATE), so no other session can commit between its read and its
    write — the interleaving cannot happen there (the stale-snapshot tests above hold the
    loser's rule on both databases)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite serialises writing requests: no step can come between a request's read and write")

    def arrange(step):
        real = machine.missing
        done = []

        def missing(action, demand, user, data):
            if not done:
                done.append(True)
                with app.app_context():
                    step(db.session.get(Demand, demand.id))
                    db.session.remove()
            return real(action, demand, user, data)

        monkeypatch.setattr(machine, "missing", missing)
    return arrange


def cancel_by_worker(demand):
    from app import scope

    worker = f.user("worker")
    with scope.acting_as(worker):  # (inside the loser's request: the worker is the one acting here)
        machine.act(demand, machine.CANCEL, worker, note="居民撤回")


def claim_by_another_unit(demand):
    other = db.session.scalars(select(Organisation).where(
        Organisation.type.in_(machine.TAKING_UNIT_TYPES), Organisation.id != unit().id,
        Organisation.community_id == demand.community_id).order_by(Organisation.id)).first()
    machine.act(demand, machine.CLAIM, None, unit=other)


def demand_in(made, status, pool=False):
    demand = in_state(status, pool=pool)
    made.append(demand.id)
    return demand.id


@pytest.mark.usefixtures("no_isolation")
def test_the_page_of_the_loser_says_so_and_shows_the_demand(committed, as_user, someone_first):
    demand_id = demand_in(committed, DISPATCHED)
    events = timeline(demand_id)
    someone_first(cancel_by_worker)
    response = as_user("partner").post(f"/demand/act/{demand_id}/take", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.request.path == f"/demand/show/{demand_id}"
    assert "alert" in page and "刚刚" in page, re.findall(r'class="alert[^"]*"[^<]*<[^<]*<?[^<]*', page)
    assert "该需求刚刚已被他人“取消”，现为“已撤销”，请刷新后再试。" in page
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    assert db.session.get(Demand, demand_id).status == CANCELLED
    assert timeline(demand_id) == events + [("cancel", DISPATCHED, CANCELLED)]


@pytest.mark.usefixtures("no_isolation")
def test_a_claim_that_lost_the_race_goes_back_to_the_pool_not_a_404(committed, as_user, someone_first):
    demand_id = demand_in(committed, DISPATCHED, pool=True)
    someone_first(claim_by_another_unit)
    response = as_user("partner").post(f"/demand/act/{demand_id}/claim", follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/service/orders/"
    assert "这一单刚刚被别人接走了。" in response.get_data(as_text=True)
    # and a claim that arrives after the other's was committed: the same, not a 404
    response = as_user("partner").post(f"/demand/act/{demand_id}/claim", follow_redirects=True)
    assert response.status_code == 200 and "这一单刚刚被别人接走了。" in response.get_data(as_text=True)
    assert as_user("partner").post(f"/api/v1/demand/{demand_id}/claim", json={}).status_code == 409
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    assert [a for a, _f, _t in timeline(demand_id)].count("claim") == 1


@pytest.mark.usefixtures("no_isolation")
def test_the_api_answers_409_with_the_message(committed, as_user, someone_first):
    demand_id = demand_in(committed, DISPATCHED)
    events = timeline(demand_id)
    someone_first(cancel_by_worker)
    response = as_user("partner").post(f"/api/v1/demand/{demand_id}/take", json={})
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["message"] == {"_": ["该需求刚刚已被他人“取消”，现为“已撤销”，请刷新后再试。"]}
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    assert timeline(demand_id) == events + [("cancel", DISPATCHED, CANCELLED)]


@pytest.mark.usefixtures("no_isolation")
def test_a_claim_by_api_that_lost_the_pool_race(committed, as_user, someone_first):
    demand_id = demand_in(committed, DISPATCHED, pool=True)
    someone_first(claim_by_another_unit)
    response = as_user("partner").post(f"/api/v1/demand/{demand_id}/claim", json={})
    assert response.status_code == 409 and response.get_json()["message"] == {"_": ["这一单刚刚被别人接走了。"]}


def test_a_stranger_still_gets_a_404(ctx, as_user):
    """Not a way to probe other communities: only a claim lost within one's own pool is told."""
    demand = in_state(DISPATCHED, pool=True)
    claim_by_another_unit(demand)
    assert as_user("worker2").post(f"/api/v1/demand/{demand.id}/claim", json={}).status_code == 404


# ----------------------------------------------------------------------------- meetings' decisions and sign-off

def _meeting():
    from models.cobuilding.meetings import Meeting
    from models.kernel.places import Compound

    place = db.session.scalars(select(Compound).where(Compound.name == "宇辉星城")).one()
    return domain.save(Meeting(type="four_party", title="并发测试会议", community=f.community(), compound=place,
                               held_at=clock.now() - datetime.timedelta(hours=1), attendees="甲、乙"))


def _decision(meeting):
    from models.cobuilding.meetings import Decision

    owner = next(p for p in meeting.parties if p.type == "property_company")
    return domain.save(Decision(meeting=meeting, content="加装充电桩", owner=owner, decision_class="urgent",
                                due_on=clock.today() + datetime.timedelta(days=10)))


def _category():
    return db.session.scalars(select(demands.ServiceCategory).where(demands.ServiceCategory.code == "repair")).one()


DECISION_STEPS = {
    "done": lambda d: __import__("models.cobuilding.meetings").cobuilding.meetings.complete_decision(d, f.user("worker"), result="已装好"),
    "drop": lambda d: __import__("models.cobuilding.meetings").cobuilding.meetings.drop_decision(d, f.user("worker"), reason="另议"),
    "demand": lambda d: __import__("models.cobuilding.meetings").cobuilding.meetings.to_demand(d, _category(), f.user("worker")),
}


@pytest.mark.parametrize("first,second", list(itertools.product(DECISION_STEPS, repeat=2)))
def test_decision_steps_on_a_stale_snapshot(app, ctx, first, second):
    from models.cobuilding.meetings import Decision

    decision_id = _decision(_meeting()).id
    demands = db.session.scalar(select(func.count()).select_from(Demand))
    lost = loses_on_a_stale_snapshot(app, Decision, decision_id, DECISION_STEPS[first], DECISION_STEPS[second])
    assert "刚刚" in str(lost.message)
    row = db.session.get(Decision, decision_id)
    assert db.session.scalar(select(func.count()).select_from(Demand)) == demands + (first == "demand")
    assert (row.demand_id is not None) == (first == "demand")
    assert row.status == {"done": "done", "drop": "dropped", "demand": "open"}[first]


def test_a_close_decided_before_a_signature_loses(app, ctx):
    from models.cobuilding import meetings

    meeting = _meeting()
    party = meeting.parties[0]
    with app.app_context():
        stale = loaded(meetings.Meeting, meeting.id, "signoffs", "parties")
        with app.app_context():
            fresh = db.session.get(meetings.Meeting, meeting.id)
            meetings.sign(fresh, db.session.get(meetings.Organisation, party.id), f.user("worker"), signed_by="张三")
        stale = again(stale)
        with pytest.raises(Conflict):
            meetings.close(stale, f.user("worker"), reason="其余各方未到")
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    assert db.session.get(meetings.Meeting, meeting.id).status == meetings.HELD


def test_the_same_party_signing_twice_at_once_is_a_conflict_not_a_500(app, ctx):
    from models.cobuilding import meetings

    meeting = _meeting()
    party_id = meeting.parties[0].id
    with app.app_context():
        stale = loaded(meetings.Meeting, meeting.id, "signoffs", "parties")
        assert stale.signoffs == []
        with app.app_context():
            meetings.sign(db.session.get(meetings.Meeting, meeting.id), db.session.get(meetings.Organisation, party_id),
                          f.user("worker"), signed_by="张三")
        stale = again(stale)
        with pytest.raises(Conflict):
            meetings.sign(stale, db.session.get(meetings.Organisation, party_id), f.user("worker"), signed_by="李四")


# ----------------------------------------------------------------------------- pledge projects

def _project(mode="status"):
    from models.cobuilding.pledges import PledgeProject
    from models.kernel.orgs import Organisation

    today = clock.today()
    unit_ = db.session.scalars(select(Organisation).where(Organisation.name == "孝感市物资公司")).one()
    return domain.save(PledgeProject(unit=unit_, community=f.community(), title="并发测试项目", content="内容",
                                     pledged_on=today, due_on=today + datetime.timedelta(days=90),
                                     progress_mode=mode))


PROJECT_STEPS = {
    "start": lambda p: __import__("models.cobuilding.pledges").cobuilding.pledges.start(p, f.user("worker")),
    "fulfil": lambda p: __import__("models.cobuilding.pledges").cobuilding.pledges.fulfil(p, f.user("worker")),
    "cancel": lambda p: __import__("models.cobuilding.pledges").cobuilding.pledges.cancel(p, f.user("worker"), reason="单位撤回"),
}


@pytest.mark.parametrize("first,second", list(itertools.product(PROJECT_STEPS, repeat=2)))
def test_project_steps_on_a_stale_snapshot(app, ctx, first, second):
    from models.cobuilding.pledges import PledgeProject

    project_id = _project().id
    lost = loses_on_a_stale_snapshot(app, PledgeProject, project_id, PROJECT_STEPS[first], PROJECT_STEPS[second],
                                     "milestones")
    assert "该项目刚刚已被他人处理" in str(lost.message)
    row = db.session.get(PledgeProject, project_id)
    assert row.status == {"start": "in_progress", "fulfil": "fulfilled", "cancel": "cancelled"}[first]
    assert (row.cancel_reason is not None) == (first == "cancel")
    assert (row.fulfilled_on is not None) == (first == "fulfil")


def test_a_milestone_done_after_a_cancel_on_the_old_page_is_refused(app, ctx):
    from models.cobuilding import pledges as cobuilding

    project = _project(mode="milestones")
    step = domain.save(cobuilding.Milestone(project=project, title="第一步", due_on=project.due_on))
    with app.app_context():
        stale = loaded(cobuilding.Milestone, step.id, "project")
        assert stale.project.status == cobuilding.PLEDGED
        with app.app_context():
            cobuilding.cancel(db.session.get(cobuilding.PledgeProject, project.id), f.user("worker"), reason="撤回")
        stale = again(stale)
        stale.done_on, stale.evidence = clock.today(), "照片"
        with pytest.raises(DomainError):
            domain.save(stale)
    db.session.expire_all()  # read again: the test's sessions share one connection (savepoints)
    assert db.session.get(cobuilding.Milestone, step.id).done_on is None
    assert db.session.get(cobuilding.PledgeProject, project.id).status == cobuilding.CANCELLED
