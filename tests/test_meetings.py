"""Joint meetings: parties proposed from the compound, decisions tracked with owner and
due date (overdue on a frozen clock), follow-up once, a decision handed to the 三单 loop,
sign-off by every party or a reason to close, the minutes page, roles and scope, and
宇辉星城's meetings in the demo."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.cobuilding import meetings
from models.cobuilding.meetings import Decision, Meeting
from models.kernel.places import Compound
from models.service.demands import Demand, ServiceCategory
from tests import factories as f


def compound(name="宇辉星城") -> Compound:
    return db.session.scalars(select(Compound).where(Compound.name == name)).one()


def meeting(**values) -> Meeting:
    place = values.pop("compound", compound())
    return domain.save(Meeting(type="four_party", title=values.pop("title", "测试联动会议"), community=f.community(),
                               compound=place, held_at=values.pop("held_at", clock.now() - datetime.timedelta(hours=1)),
                               attendees="甲、乙、丙", **values))


def decide(target: Meeting, days=10, owner_type="property_company", **values) -> Decision:
    owner = next(p for p in target.parties if p.type == owner_type)
    return domain.save(Decision(meeting=target, content=values.pop("content", "加装充电桩"), owner=owner,
                                due_on=values.pop("due_on", clock.today() + datetime.timedelta(days=days)),
                                decision_class=values.pop("decision_class", "urgent"), **values))


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    db.session.rollback()
    return str(error.value.errors())


def test_the_compound_s_linkage_parties_are_proposed(ctx):
    made = meeting()
    types = [p.type for p in made.parties]
    assert types[:1] == ["residents_committee"] and {"grid_branch", "owners_committee", "property_company"} <= set(types)
    assert made.status == meetings.HELD and made.attendance == 3


def test_a_decision_is_tracked_with_its_owner_and_turns_overdue(ctx):
    made = meeting()
    decision = decide(made, days=5)
    assert decision.status == meetings.OPEN and decision.owner.type == "property_company"
    stranger = db.session.scalars(select(meetings.Organisation).where(
        meetings.Organisation.type == "owners_committee", meetings.Organisation.compound_id != made.compound_id)).first()
    assert "参会方之一" in errors_of(lambda: domain.save(Decision(meeting=made, content="x", owner=stranger,
                                                              due_on=clock.today())))
    assert "早于会议" in errors_of(lambda: decide(made, due_on=clock.today() - datetime.timedelta(days=3)))
    decision_id = decision.id
    later = datetime.datetime.combine(decision.due_on + datetime.timedelta(days=1), datetime.time(9))
    with clock.frozen(later):
        assert meetings.is_overdue(decision)
        assert meetings.sweep() >= 1
        db.session.expire_all()
        tracked = db.session.get(Decision, decision_id)
        assert tracked.status == meetings.OVERDUE
        # the tracking list shows it with its owner and due date
        listed = db.session.scalars(select(Decision).where(Decision.status == meetings.OVERDUE,
                                                           Decision.id == decision_id)).one()
        assert listed.owner.name and listed.due_on == decision.due_on
        assert "结果" in errors_of(lambda: meetings.complete_decision(tracked, result=" "))
        meetings.complete_decision(tracked, result="已安装")
        assert tracked.status == meetings.DONE and tracked.done_on == later.date()
        assert "已经跟踪" in errors_of(lambda: meetings.complete_decision(tracked, result="again"))
    tracked = db.session.get(Decision, decision_id)
    tracked.status = meetings.OPEN
    assert "按钮" in errors_of(lambda: domain.save(tracked))


def test_a_decision_becomes_a_demand(ctx):
    made = meeting()
    decision = decide(made, content="楼道堆放杂物清理")
    category = db.session.scalars(select(ServiceCategory).where(ServiceCategory.enabled.is_(True))).first()
    assert "角色" in errors_of(lambda: meetings.to_demand(decision, category, f.user("leader")))  # reads only
    demand = meetings.to_demand(decision, category, f.user("worker"))
    assert demand.number and demand.status == "pending" and demand.compound_id == made.compound_id
    assert demand.demand_class == "urgent" and decision.demand_id == demand.id
    assert "已转为需求" in errors_of(lambda: meetings.to_demand(decision, category))
    assert db.session.get(Demand, demand.id).requester_name == made.title[:50]


def test_a_meeting_closes_when_every_party_signed_or_with_a_reason(ctx):
    made = meeting()
    party = made.parties[0]
    assert "尚未签字" in errors_of(lambda: meetings.close(made))
    meetings.sign(made, party, signed_by="王主任")
    assert "已签字" in errors_of(lambda: meetings.sign(made, party, signed_by="王主任"))
    outsider = db.session.scalars(select(meetings.Organisation).where(
        meetings.Organisation.id.not_in([p.id for p in made.parties]))).first()
    assert "参会各方" in errors_of(lambda: meetings.sign(made, outsider, signed_by="某人"))
    for other in made.parties[1:-1]:
        meetings.sign(made, other, signed_by="代表")
    message = errors_of(lambda: meetings.close(made))
    assert made.parties[-1].name in message
    meetings.close(made, reason="物业代表出差，会后补签")
    assert made.status == meetings.CLOSED and made.close_reason
    assert "已结束" in errors_of(lambda: meetings.sign(made, made.parties[-1], signed_by="补签"))
    assert "不能修改" in errors_of(lambda: decide(made))
    planned = meeting(held_at=clock.now() + datetime.timedelta(days=3), title="下周的会")
    assert planned.status == meetings.PLANNED
    assert "尚未召开" in errors_of(lambda: meetings.close(planned))


def test_the_meeting_pages_by_role(as_user, ctx):
    made = meeting(title="页面联动会议")
    decision = decide(made, content="页面决议")
    worker = as_user("worker")
    page = worker.get(f"/meeting/show/{made.id}").get_data(as_text=True)
    assert "登记签字" in page and "页面决议" in page and "结束会议" in page
    leader = as_user("leader")
    assert "登记签字" not in leader.get(f"/meeting/show/{made.id}").get_data(as_text=True)
    assert leader.post(f"/meeting/close/{made.id}", data={"reason": "x"}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Meeting, made.id).status == meetings.HELD
    refused = worker.post(f"/meeting/close/{made.id}", follow_redirects=True).get_data(as_text=True)
    assert "尚未签字" in refused
    worker.post(f"/meeting/sign/{made.id}", data={"organisation": made.parties[0].id, "signed_by": "王主任"})
    minutes = worker.get(f"/meeting/minutes/{made.id}").get_data(as_text=True)
    assert "会议纪要" in minutes and "王主任" in minutes and "页面决议" in minutes and "宇辉星城" in minutes
    done = worker.post(f"/decision/follow/{decision.id}/done", data={"result": "已办"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已办结" in done
    assert as_user("worker2").get(f"/meeting/show/{made.id}").status_code == 404
    assert as_user("worker2").get(f"/meeting/minutes/{made.id}").status_code == 404


def test_the_demo_has_yuhui_s_four_party_meetings(ctx):
    rows = db.session.scalars(select(Meeting).where(Meeting.compound_id == compound().id)
                              .order_by(Meeting.held_at)).all()
    assert len(rows) >= 3 and rows[0].held_at.date() == datetime.date(2020, 11, 18)
    assert rows[0].attendees.count("、") == 9  # the 10-person group
    statuses = {d.status for m in rows for d in m.decisions}
    assert {meetings.DONE, meetings.OVERDUE} <= statuses
    assert all(m.status == meetings.CLOSED for m in rows[:-1])
