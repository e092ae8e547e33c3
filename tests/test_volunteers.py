"""Volunteers, activities and service records: admission rules and the approval step,
sign-up within capacity, check-in, hours within the activity's span, completion that
writes the service records and pays each volunteer once; the ledger through views and
endpoints (no way to change it); scope; and the demo seed's figures."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.volunteers import points, activities as volunteers
from models.volunteers.points import Exchange, Gift, LedgerEntry
from models.volunteers.activities import Activity, ServiceRecord, SignUp, Team, Volunteer
from tests import factories as f
from tests.test_points import adults, award, balance_in_db, gift, registered


def people_aged(low: int, high: int, count: int, **where):
    from models.people.people import Person

    today = clock.today()
    return db.session.scalars(select(Person).where(
        Person.community_id == f.community().id, Person.household_id.isnot(None),
        Person.birth_date.between(today.replace(year=today.year - high - 1) + datetime.timedelta(days=1),
                                  today.replace(year=today.year - low)),
        ~Person.volunteer.has()).order_by(Person.id).limit(count)).all()


def team(kind: str) -> Team:
    return db.session.scalars(select(Team).where(Team.type == kind, Team.community_id == f.community().id)).first()


def activity(capacity=3, hours=2, points_=10, status="published", **values) -> Activity:
    from models.kernel.places import Station

    station = db.session.scalars(select(Station).where(Station.community_id == f.community().id)).first()
    starts = values.pop("starts_at", clock.now() - datetime.timedelta(hours=hours + 1))
    item = domain.save(Activity(title=values.pop("title", "测试活动"), type="cleaning", team=team("clean_home"),
                                station=station, starts_at=starts, ends_at=starts + datetime.timedelta(hours=hours),
                                capacity=capacity, points=points_, **values))
    if status == "published":
        volunteers.publish(item)
    return item


# ----------------------------------------------------------------------------- admission

def test_a_new_volunteer_applies_and_is_approved(ctx):
    person = adults(1)[0]
    volunteer = domain.save(Volunteer(person=person, status="registered", points_balance=500))
    assert volunteer.status == "applied" and volunteer.points_balance == 0 and volunteer.number is None
    assert volunteer.applied_on == clock.today() and volunteer.community_id == person.community_id
    volunteers.change_status(volunteer, "approve")
    assert volunteer.status == "registered" and volunteer.number and volunteer.approved_on == clock.today()
    with pytest.raises(DomainError) as error:
        volunteers.change_status(volunteer, "approve")
    assert "已注册" in str(error.value.errors())
    volunteers.change_status(volunteer, "suspend")
    volunteers.change_status(volunteer, "resume")
    volunteers.change_status(volunteer, "withdraw")
    with pytest.raises(DomainError):
        volunteers.change_status(volunteer, "resume")


def test_a_child_joins_the_little_volunteers_with_a_guardian_and_consent(ctx):
    child = people_aged(8, 12, 1)[0]
    guardian = adults(1)[0]
    little, clean = team("little"), team("clean_home")
    cases = [({}, "guardian"), ({"guardian": guardian}, "guardian_consent_on"),
             ({"guardian": child, "guardian_consent_on": clock.today()}, "guardian"),
             ({"guardian": guardian, "guardian_consent_on": clock.today(), "teams": [clean]}, "teams")]
    for values, field in cases:
        values.setdefault("teams", [little])
        with pytest.raises(DomainError) as error:
            domain.save(Volunteer(person=child, **values))
        db.session.rollback()
        assert field in error.value.errors(), (values, error.value.errors())
    ok = domain.save(Volunteer(person=child, guardian=guardian, guardian_consent_on=clock.today(), teams=[little]))
    assert ok.status == "applied"


def test_adults_do_not_join_the_little_volunteers_and_small_children_do_not_join(ctx):
    with pytest.raises(DomainError) as error:
        domain.save(Volunteer(person=adults(1)[0], teams=[team("little")]))
    db.session.rollback()
    assert "teams" in error.value.errors()
    toddler = people_aged(2, 4, 1)[0]
    with pytest.raises(DomainError) as error:
        domain.save(Volunteer(person=toddler, guardian=adults(1)[0], guardian_consent_on=clock.today(),
                              teams=[team("little")]))
    assert "person" in error.value.errors()


# ----------------------------------------------------------------------------- activities

def test_sign_up_within_capacity_check_in_complete_and_pay_once(ctx):
    crowd = [registered(p) for p in adults(4, offset=10)]
    event = activity(capacity=3, hours=2, points_=10)
    for volunteer in crowd[:3]:
        volunteers.sign_up(event, volunteer)
    with pytest.raises(DomainError) as error:
        volunteers.sign_up(event, crowd[3])
    assert "名额已满" in str(error.value.errors())
    with pytest.raises(DomainError):
        volunteers.sign_up(event, crowd[0])  # twice
    with pytest.raises(DomainError) as error:
        volunteers.check_in_volunteer(event, crowd[3])
    assert "没有报名" in str(error.value.errors())
    volunteers.check_in_volunteer(event, crowd[0])
    with pytest.raises(DomainError) as error:
        volunteers.check_in_volunteer(event, crowd[1], hours="2.5")  # the activity lasts 2 hours
    assert "hours" in error.value.errors()
    volunteers.check_in_volunteer(event, crowd[1], hours="1.5")
    per_hour = points.rule_points("hour")
    volunteers.complete(event, evaluation="顺利")
    assert event.status == "completed"
    statuses = {s.volunteer_id: s.status for s in event.signups}
    assert statuses == {crowd[0].id: "checked_in", crowd[1].id: "checked_in", crowd[2].id: "absent"}
    records = db.session.scalars(select(ServiceRecord).where(ServiceRecord.activity_id == event.id)
                                 .order_by(ServiceRecord.volunteer_id)).all()
    assert [(r.volunteer_id, r.hours) for r in records] == [(crowd[0].id, Decimal("2.0")), (crowd[1].id,
                                                                                           Decimal("1.5"))]
    assert all(r.place and r.content == "测试活动" and r.recorder and r.organisation for r in records)
    assert balance_in_db(crowd[0].id) == 10 + 2 * per_hour == points.ledger_sum(crowd[0].id)
    assert balance_in_db(crowd[1].id) == 10 + round(Decimal("1.5") * per_hour) == points.ledger_sum(crowd[1].id)
    assert balance_in_db(crowd[2].id) == 0
    # completing again pays nobody twice
    with pytest.raises(DomainError):
        volunteers.complete(event)
    event.status = "published"  # even forced back, the ledger's key holds
    with pytest.raises(DomainError):
        volunteers.complete(event)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.source == "activity", LedgerEntry.source_id == event.id)) == 2


def test_sign_ups_only_while_published_and_for_registered_volunteers(ctx):
    planned = activity(status="planned")
    volunteer = registered(adults(1, offset=20)[0])
    with pytest.raises(DomainError):
        volunteers.sign_up(planned, volunteer)
    event = activity()
    waiting = domain.save(Volunteer(person=adults(1, offset=21)[0]))
    with pytest.raises(DomainError) as error:
        volunteers.sign_up(event, waiting)
    assert "已注册" in str(error.value.errors())


def test_an_activity_needs_a_sensible_time_and_place(ctx):
    start = clock.now()
    for values, field in (({"ends_at": start - datetime.timedelta(hours=1)}, "ends_at"),
                          ({"ends_at": start + datetime.timedelta(days=5)}, "ends_at"),
                          ({"station": None, "place": " "}, "place"), ({"points": 5000}, "points")):
        data = {"title": "x", "type": "cleaning", "community": f.community(), "starts_at": start,
                "ends_at": start + datetime.timedelta(hours=2), "place": "驿站", **values}
        with pytest.raises(DomainError) as error:
            domain.save(Activity(**data))
        db.session.rollback()
        assert field in error.value.errors(), values


def test_completing_needs_someone_checked_in_and_a_started_activity(ctx):
    event = activity()
    volunteers.sign_up(event, registered(adults(1, offset=30)[0]))
    with pytest.raises(DomainError) as error:
        volunteers.complete(event)
    assert "签到" in str(error.value.errors())
    later = activity(starts_at=clock.now() + datetime.timedelta(days=2))
    with pytest.raises(DomainError) as error:
        volunteers.complete(later)
    assert "尚未开始" in str(error.value.errors())


# ----------------------------------------------------------------------------- the ledger through the web

def _jwt(client, username) -> dict:
    response = client.post("/api/v1/security/login", json={"username": username, "password": "Hongse@2026",
                                                           "provider": "db"})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def test_no_view_or_endpoint_changes_a_posted_entry(app, client, ctx, as_user):
    entry = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()
    before = (entry.amount, entry.balance_after, entry.kind, db.session.scalar(select(func.count()).select_from(
        LedgerEntry)))
    for username in ("secretary", "worker", "sysadmin", "auditor"):
        web = as_user(username)
        assert web.get(f"/ledger-entry/edit/{entry.id}").status_code in (302, 403, 404, 405), username
        assert web.post(f"/ledger-entry/edit/{entry.id}", data={"amount": "9999"}).status_code in (
            302, 403, 404, 405), username
        assert web.post(f"/ledger-entry/delete/{entry.id}").status_code in (302, 403, 404, 405), username
        assert web.post("/ledger-entry/add", data={"amount": "9999"}).status_code in (302, 403, 404, 405), username
    headers = _jwt(client, "secretary")
    assert client.put(f"/api/v1/ledger_entry/{entry.id}", json={"amount": 9999}, headers=headers).status_code in (
        403, 404, 405)
    assert client.delete(f"/api/v1/ledger_entry/{entry.id}", headers=headers).status_code in (403, 404, 405)
    assert client.post("/api/v1/ledger_entry/", json={"amount": 9999, "volunteer": entry.volunteer_id,
                                                      "kind": "award", "source": "manual", "key": "x"},
                       headers=headers).status_code in (403, 404, 405)
    # and the volunteer's balance is not a field anyone writes
    volunteer = db.session.get(Volunteer, entry.volunteer_id)
    balance = volunteer.points_balance
    response = client.put(f"/api/v1/volunteer/{volunteer.id}", json={"points_balance": balance + 1000},
                          headers=headers)
    assert response.status_code in (400, 422), response.json
    db.session.expire_all()
    after = db.session.get(LedgerEntry, entry.id)
    assert (after.amount, after.balance_after, after.kind,
            db.session.scalar(select(func.count()).select_from(LedgerEntry))) == before
    assert db.session.get(Volunteer, volunteer.id).points_balance == balance == points.ledger_sum(volunteer.id)
    # the secretary reads it (list and API)
    assert as_user("secretary").get(f"/ledger-entry/show/{entry.id}").status_code == 200
    assert client.get(f"/api/v1/ledger_entry/{entry.id}", headers=headers).status_code == 200


def test_an_exchange_filed_through_the_api_takes_points_and_stock(client, ctx):
    volunteer = registered(adults(1, offset=40)[0])
    award(volunteer, 30)
    item = domain.save(Gift(name="接口测试礼品", points=10, stock=2, community=f.community()))
    headers = _jwt(client, "worker")
    response = client.post("/api/v1/exchange/", json={"volunteer": volunteer.id, "gift": item.id, "quantity": 2},
                           headers=headers)
    assert response.status_code == 201, response.json
    db.session.expire_all()
    assert balance_in_db(volunteer.id) == 10 == points.ledger_sum(volunteer.id)
    assert db.session.get(Gift, item.id).stock == 0
    again = client.post("/api/v1/exchange/", json={"volunteer": volunteer.id, "gift": item.id, "quantity": 1},
                        headers=headers)
    assert again.status_code == 422 and "库存不足" in str(again.json)
    assert db.session.scalar(select(func.count()).select_from(Exchange).where(Exchange.gift_id == item.id)) == 1


# ----------------------------------------------------------------------------- scope

@pytest.mark.parametrize("path", ["/volunteer/list/", "/ledger-entry/list/", "/activity/list/", "/team/list/",
                                  "/exchange/list/", "/service-record/list/"])
def test_another_community_sees_none_of_it(as_user, ctx, path):
    volunteer = db.session.scalars(select(Volunteer).where(Volunteer.number.isnot(None))
                                   .order_by(Volunteer.id)).first()
    mine = as_user("worker").get(path)
    other = as_user("worker2").get(path)
    assert mine.status_code == 200 and other.status_code == 200
    name = volunteer.person.name
    if path in ("/volunteer/list/", "/exchange/list/"):
        assert volunteer.number in mine.get_data(as_text=True) or path == "/exchange/list/"
    assert name not in other.get_data(as_text=True)
    assert "清洁家园志愿服务队" not in other.get_data(as_text=True)
    assert as_user("worker2").get(f"/volunteer/show/{volunteer.id}").status_code == 404


def test_a_volunteer_sees_only_their_own_points(as_user, ctx):
    from models.kernel.users import AppUser

    user = db.session.scalars(select(AppUser).where(AppUser.username == "volunteer")).one()
    own = db.session.scalars(select(Volunteer).where(Volunteer.user_id == user.id)).one()
    page = as_user("volunteer").get("/ledger-entry/list/").get_data(as_text=True)
    others = db.session.scalars(select(Volunteer).where(Volunteer.id != own.id, Volunteer.points_balance > 0)
                                .limit(5)).all()
    assert all(v.person.name not in page for v in others)


# ----------------------------------------------------------------------------- the demo

def test_the_demo_has_the_case_studys_volunteers(ctx):
    community = f.community()
    teams = db.session.scalars(select(Team).where(Team.community_id == community.id)).all()
    assert len(teams) == 5
    assert sum(len(t.members) for t in teams) == 70
    children = [v for t in teams if t.type == "little" for v in t.members]
    assert children and all(v.guardian is not None and v.guardian_consent_on for v in children)
    exchanged = db.session.scalar(select(func.count(func.distinct(Exchange.volunteer_id))).where(
        Exchange.community_id == community.id, Exchange.status != "rejected"))
    assert exchanged == 86
    statuses = set(db.session.scalars(select(Exchange.status).distinct()))
    assert statuses == {"requested", "approved", "collected", "rejected"}
    for volunteer in db.session.scalars(select(Volunteer).where(Volunteer.community_id == community.id)):
        assert volunteer.points_balance == points.ledger_sum(volunteer.id) >= 0
    completed = db.session.scalar(select(func.count()).select_from(Activity).where(Activity.status == "completed"))
    assert completed >= 30
    assert db.session.scalar(select(func.count()).select_from(Activity).where(Activity.status == "published",
                                                                              Activity.starts_at > clock.now()))


def test_a_sign_up_through_the_api_keeps_the_same_rules(client, ctx):
    """The generic endpoint and form cannot skip what sign_up() checks."""
    headers = _jwt(client, "worker")
    crowd = [registered(p) for p in adults(2, offset=220)]
    full = activity(capacity=1)
    volunteers.sign_up(full, crowd[0])
    planned = activity(status="planned")
    waiting = domain.save(Volunteer(person=adults(1, offset=222)[0]))
    for target, volunteer, message in ((full, crowd[1], "名额已满"), (planned, crowd[1], "已发布"),
                                       (activity(), waiting, "已注册"), (full, crowd[0], "已经报名")):
        response = client.post("/api/v1/signup/", json={"activity": target.id, "volunteer": volunteer.id},
                               headers=headers)
        assert response.status_code == 422 and message in str(response.json), (message, response.json)
    assert db.session.scalar(select(func.count()).select_from(SignUp).where(SignUp.activity_id == full.id)) == 1
    ok = activity()
    response = client.post("/api/v1/signup/", json={"activity": ok.id, "volunteer": crowd[1].id}, headers=headers)
    assert response.status_code == 201, response.json


def test_a_volunteer_signs_up_and_asks_for_gifts_only_for_themself(ctx):
    """Whom a user may act for is the domain's rule (not only the page's): staff who run
    activities / write exchanges act for anyone in scope, a volunteer for themself."""
    user = f.user("volunteer")
    own = db.session.scalars(select(Volunteer).where(Volunteer.user_id == user.id)).one()
    other = registered(adults(1, offset=230)[0])
    target = activity(capacity=5)
    with pytest.raises(DomainError):
        volunteers.sign_up(target, other, user)
    assert not db.session.scalars(select(SignUp).where(SignUp.activity_id == target.id)).all()
    volunteers.sign_up(target, own, user)
    volunteers.sign_up(target, other, f.user("worker"))
    present = gift(stock=5, cost=1)
    award(other, 10)
    award(own, 10)
    with pytest.raises(DomainError):
        points.request_exchange(other, present, 1, user)
    assert balance_in_db(other.id) == 10
    points.request_exchange(own, present, 1, user)
    points.request_exchange(other, present, 1, f.user("worker"))
    assert balance_in_db(other.id) == 9 and balance_in_db(own.id) == own.points_balance
