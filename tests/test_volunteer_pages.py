"""The volunteers' pages by role: the activity's page (publish, sign up, check in,
complete), the volunteer's page (approval, adjustment, gift request, ledger), the
exchange's page (approve, hand over, reject, voucher); who may press what."""
from __future__ import annotations

import datetime
import re

from sqlalchemy import func, select

from app import clock, domain
from app.extensions import db
from models.volunteers import points, activities as volunteers
from models.volunteers.points import Exchange, Gift, LedgerEntry
from models.volunteers.activities import Activity, ServiceRecord, SignUp, Volunteer
from tests import factories as f
from tests.test_points import adults, award, balance_in_db, registered
from tests.test_volunteers import activity


def text_of(response) -> str:
    return response.get_data(as_text=True)


def fresh(model, pk):
    db.session.expire_all()
    return db.session.get(model, pk)


def flashes(page: str) -> list[str]:
    return [m.strip() for m in re.findall(r'class="alert alert-(?:danger|success)[^"]*">(?:.*?</button>)?(.*?)</div>',
                                          page, re.S)]


def test_the_activity_page_runs_an_activity_from_plan_to_points(ctx, as_user):
    crowd = [registered(p) for p in adults(3, offset=100)]
    event = activity(status="planned", capacity=5, hours=2, points_=10)
    worker = as_user("worker")
    page = text_of(worker.get(f"/activity/show/{event.id}"))
    assert "发布" in page and f'/activity/step/{event.id}/publish' in page
    assert worker.post(f"/activity/step/{event.id}/publish").status_code == 302
    assert fresh(Activity, event.id).status == "published"
    page = text_of(worker.get(f"/activity/show/{event.id}"))
    assert "为志愿者报名" in page and all(f'value="{v.id}"' in page for v in crowd)
    response = worker.post(f"/activity/signup/{event.id}", data={"volunteer": [str(v.id) for v in crowd]},
                           follow_redirects=True)
    assert "已报名：" in text_of(response)
    signups = db.session.scalars(select(SignUp).where(SignUp.activity_id == event.id).order_by(SignUp.id)).all()
    assert [s.volunteer_id for s in signups] == [v.id for v in crowd]
    for signup in signups[:2]:
        assert worker.post(f"/activity/checkin/{event.id}/{signup.id}").status_code == 302
    page = text_of(worker.get(f"/activity/show/{event.id}"))
    assert f'name="hours-{signups[0].id}"' in page and "完成活动" in page
    response = worker.post(f"/activity/finish/{event.id}", data={
        f"hours-{signups[0].id}": "2", f"hours-{signups[1].id}": "1.5", f"evaluation-{signups[0].id}": "excellent",
        "evaluation": "居民很满意"}, follow_redirects=True)
    assert "已完成：服务记录已写入，积分已发放。" in text_of(response)
    per_hour = points.rule_points("hour")
    assert balance_in_db(crowd[0].id) == 10 + 2 * per_hour
    assert balance_in_db(crowd[1].id) == 10 + round(1.5 * per_hour)
    assert balance_in_db(crowd[2].id) == 0
    record = db.session.scalars(select(ServiceRecord).where(ServiceRecord.activity_id == event.id,
                                                            ServiceRecord.volunteer_id == crowd[0].id)).one()
    assert record.evaluation == "excellent" and record.recorder == f.user("worker").get_full_name()
    # done is done: finishing again changes nothing and says why
    page = text_of(worker.post(f"/activity/finish/{event.id}", follow_redirects=True))
    assert "不能“完成”" in page
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.source == "activity", LedgerEntry.source_id == event.id)) == 2


def test_hours_beyond_the_span_are_refused_on_the_page(ctx, as_user):
    event = activity(hours=2)
    volunteer = registered(adults(1, offset=110)[0])
    signup = volunteers.sign_up(event, volunteer)
    volunteers.check_in(signup)
    page = text_of(as_user("worker").post(f"/activity/finish/{event.id}", data={f"hours-{signup.id}": "5"},
                                          follow_redirects=True))
    assert "最多 2.0 小时" in page
    assert fresh(Activity, event.id).status == "published" and balance_in_db(volunteer.id) == 0


def test_who_may_run_an_activity(ctx, as_user):
    event = activity()
    volunteer = registered(adults(1, offset=120)[0])
    for username in ("leader", "grid1"):
        client = as_user(username)
        assert client.post(f"/activity/step/{event.id}/cancel").status_code == 403, username
        assert client.post(f"/activity/finish/{event.id}").status_code == 403, username
        client.post(f"/activity/signup/{event.id}", data={"volunteer": str(volunteer.id)})
    assert not db.session.scalar(select(func.count()).select_from(SignUp).where(SignUp.activity_id == event.id))
    assert as_user("worker2").get(f"/activity/show/{event.id}").status_code == 404
    assert as_user("worker2").post(f"/activity/step/{event.id}/cancel").status_code == 404
    assert as_user("worker").post(f"/activity/step/{event.id}/nonsense").status_code == 404
    assert fresh(Activity, event.id).status == "published"


def test_a_volunteer_signs_up_only_themself(ctx, as_user):
    own = db.session.scalars(select(Volunteer).where(Volunteer.user_id == f.user("volunteer").id)).one()
    other = registered(adults(1, offset=130)[0])
    event = activity()
    client = as_user("volunteer")
    page = text_of(client.get(f"/activity/show/{event.id}"))
    assert "我要报名" in page and "为志愿者报名" not in page
    client.post(f"/activity/signup/{event.id}", data={"volunteer": str(other.id)})
    signed = db.session.scalars(select(SignUp.volunteer_id).where(SignUp.activity_id == event.id)).all()
    assert signed == [own.id]
    assert "我要报名" not in text_of(client.get(f"/activity/show/{event.id}"))


def test_the_volunteer_page_approves_and_adjusts_by_role(ctx, as_user):
    waiting = domain.save(Volunteer(person=adults(1, offset=140)[0]))
    assert as_user("worker").post(f"/volunteer/status/{waiting.id}/approve").status_code == 403
    page = text_of(as_user("secretary").get(f"/volunteer/show/{waiting.id}"))
    assert f"/volunteer/status/{waiting.id}/approve" in page
    response = as_user("secretary").post(f"/volunteer/status/{waiting.id}/approve", follow_redirects=True)
    assert "志愿者现在是“已注册”" in text_of(response)
    assert fresh(Volunteer, waiting.id).status == "registered"
    # adjustments: the secretary only, with a reason, never below zero
    assert as_user("worker").post(f"/volunteer/adjust/{waiting.id}", data={"amount": "5", "note": "x"}).status_code \
        == 403
    secretary = as_user("secretary")
    page = text_of(secretary.post(f"/volunteer/adjust/{waiting.id}", data={"amount": "-5", "note": "多记"},
                                  follow_redirects=True))
    assert "积分不足" in page
    page = text_of(secretary.post(f"/volunteer/adjust/{waiting.id}", data={"amount": "8", "note": ""},
                                  follow_redirects=True))
    assert "请填写调整原因" in page
    page = text_of(secretary.post(f"/volunteer/adjust/{waiting.id}", data={"amount": "8", "note": "补记三月活动"},
                                  follow_redirects=True))
    assert "余额现为 8" in page and "补记三月活动" in page
    assert balance_in_db(waiting.id) == 8 == points.ledger_sum(waiting.id)


def test_a_gift_is_requested_approved_and_handed_over_through_the_pages(ctx, as_user):
    volunteer = registered(adults(1, offset=150)[0])
    award(volunteer, 40)
    item = domain.save(Gift(name="页面测试礼品", points=15, stock=2, community=f.community()))
    worker = as_user("worker")
    page = text_of(worker.get(f"/volunteer/show/{volunteer.id}"))
    assert "积分兑换礼品" in page and f'value="{item.id}"' in page
    response = worker.post(f"/volunteer/exchange/{volunteer.id}", data={"gift": str(item.id), "quantity": "2"},
                           follow_redirects=True)
    assert "已申请：兑换券号 DH-" in text_of(response)
    exchange = db.session.scalars(select(Exchange).where(Exchange.gift_id == item.id)).one()
    assert balance_in_db(volunteer.id) == 10 and fresh(Gift, item.id).stock == 0
    assert worker.get(f"/exchange/voucher/{exchange.id}").status_code == 404  # not approved yet
    assert as_user("leader").post(f"/exchange/decide/{exchange.id}/approve").status_code == 403
    assert worker.post(f"/exchange/decide/{exchange.id}/approve").status_code == 302
    page = text_of(worker.post(f"/exchange/decide/{exchange.id}/approve", follow_redirects=True))
    assert "不能“批准”" in page
    page = text_of(worker.get(f"/exchange/show/{exchange.id}"))
    name = f.user("worker").get_full_name()
    assert f'name="handler" class="form-control" maxlength="50" value="{name}"' in page  # who hands it over
    worker.post(f"/exchange/decide/{exchange.id}/collect", data={"handler": "  "})  # empty: the one pressing
    done = fresh(Exchange, exchange.id)
    assert done.status == "collected" and done.handler == name
    voucher = text_of(worker.get(f"/exchange/voucher/{exchange.id}"))
    assert "积分兑换券" in voucher and done.voucher in voucher and "页面测试礼品" in voucher
    # out of stock now: a second request is refused and nothing moves
    page = text_of(worker.post(f"/volunteer/exchange/{volunteer.id}", data={"gift": str(item.id)},
                               follow_redirects=True))
    assert "库存不足" in page and balance_in_db(volunteer.id) == 10


def test_a_rejection_on_the_page_gives_the_points_back(ctx, as_user):
    volunteer = registered(adults(1, offset=160)[0])
    award(volunteer, 20)
    item = domain.save(Gift(name="驳回测试礼品", points=20, stock=1, community=f.community()))
    exchange = points.request_exchange(volunteer, item)
    worker = as_user("worker")
    page = text_of(worker.post(f"/exchange/decide/{exchange.id}/reject", data={"reason": ""},
                               follow_redirects=True))
    assert "请填写驳回原因" in page and fresh(Exchange, exchange.id).status == "requested"
    worker.post(f"/exchange/decide/{exchange.id}/reject", data={"reason": "礼品破损"})
    assert fresh(Exchange, exchange.id).status == "rejected"
    assert balance_in_db(volunteer.id) == 20 == points.ledger_sum(volunteer.id) and fresh(Gift, item.id).stock == 1


def test_a_volunteer_requests_a_gift_for_themself_only(ctx, as_user):
    own = db.session.scalars(select(Volunteer).where(Volunteer.user_id == f.user("volunteer").id)).one()
    other = registered(adults(1, offset=170)[0])
    award(other, 100)
    item = domain.save(Gift(name="自助兑换礼品", points=1, stock=5, community=f.community()))
    client = as_user("volunteer")
    assert client.post(f"/volunteer/exchange/{other.id}", data={"gift": str(item.id)}).status_code in (403, 404)
    assert balance_in_db(other.id) == 100
    before = balance_in_db(own.id)
    assert before > 0, "the demo volunteer has served and holds points"
    page = text_of(client.get(f"/volunteer/show/{own.id}"))
    assert "积分兑换礼品" in page
    client.post(f"/volunteer/exchange/{own.id}", data={"gift": str(item.id)})
    assert balance_in_db(own.id) == before - 1
    # and sees the own ledger, nobody else's
    assert client.get(f"/volunteer/show/{other.id}").status_code == 404


def test_the_pages_run_the_same_statements_for_more_rows(ctx, as_user, count_queries):
    """The volunteer and activity pages do not grow with their ledger or sign-ups."""
    small, big = [registered(p) for p in adults(2, offset=180)]
    award(small, 5)
    for _ in range(15):
        award(big, 5)
    client = as_user("worker")
    small_id, big_id = small.id, big.id
    client.get(f"/volunteer/show/{small_id}")
    with count_queries() as few:
        client.get(f"/volunteer/show/{small_id}")
    with count_queries() as many:
        client.get(f"/volunteer/show/{big_id}")
    assert len(many.data_statements()) == len(few.data_statements()), (few.data_statements(), many.data_statements())
    quiet, busy = activity(capacity=None), activity(capacity=None)
    for person in adults(8, offset=190):
        volunteers.sign_up(busy, registered(person))
    volunteers.sign_up(quiet, registered(adults(1, offset=200)[0]))
    quiet_id, busy_id = quiet.id, busy.id
    client.get(f"/activity/show/{quiet_id}")
    with count_queries() as few:
        client.get(f"/activity/show/{quiet_id}")
    with count_queries() as many:
        client.get(f"/activity/show/{busy_id}")
    assert len(many.data_statements()) == len(few.data_statements()), (few.data_statements(), many.data_statements())


def test_a_date_and_time_field_keeps_its_time_and_says_what_is_wrong(ctx, as_user):
    """DateTime columns are native datetime-local inputs (FAB's datepicker dropped the time)."""
    worker = as_user("worker")
    form = text_of(worker.get("/activity/add"))
    assert re.search(r'<input[^>]*id="starts_at"[^>]*type="datetime-local"', form)
    data = {"title": "时间字段测试", "type": "cleaning", "community": str(f.community().id), "place": "党群服务中心",
            "starts_at": "2026-03-01T09:00", "ends_at": "明天上午", "points": "5"}
    page = text_of(worker.post("/activity/add", data=data))
    assert "请填写日期和时间，例如 2026-03-01 09:00。" in page and 'value="2026-03-01T09:00"' in page
    assert not db.session.scalar(select(func.count()).select_from(Activity).where(Activity.title == "时间字段测试"))
    data["ends_at"] = "2026-03-01 11:30"  # typed text is understood too
    assert worker.post("/activity/add", data=data).status_code == 302
    made = db.session.scalars(select(Activity).where(Activity.title == "时间字段测试")).one()
    assert (made.starts_at, made.ends_at) == (datetime.datetime(2026, 3, 1, 9), datetime.datetime(2026, 3, 1, 11, 30))
    assert 'value="2026-03-01T09:00"' in text_of(worker.get(f"/activity/edit/{made.id}"))


def test_a_certificate_of_service_is_issued_printed_and_logged(ctx, as_user):
    from app.records import AuditLog
    from models.volunteers.activities import Certificate

    volunteer = db.session.scalars(select(Volunteer).join(ServiceRecord).where(
        Volunteer.community_id == f.community().id).order_by(Volunteer.id)).first()
    start, end = clock.today() - datetime.timedelta(days=400), clock.today()
    hours = db.session.scalar(select(func.sum(ServiceRecord.hours)).where(ServiceRecord.volunteer_id == volunteer.id))
    form = {"period_start": start.isoformat(), "period_end": end.isoformat(), "person_in_charge": "李书记",
            "contact": "0712-2345678"}
    assert as_user("leader").post(f"/volunteer/certify/{volunteer.id}", data=form).status_code == 403
    worker = as_user("worker")
    assert "开具服务证明" in text_of(worker.get(f"/volunteer/show/{volunteer.id}"))
    reveals = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "reveal"))
    response = worker.post(f"/volunteer/certify/{volunteer.id}", data=form)
    assert response.status_code == 302 and "/volunteer/certificate/" in response.headers["Location"]
    made = db.session.scalars(select(Certificate).where(Certificate.volunteer_id == volunteer.id)).one()
    assert made.hours == hours and made.number == f"ZM-{made.issued_on.year}-{made.id:06d}"
    assert made.handler == f.user("worker").get_full_name() and made.organisation == "文化路社区"
    page = text_of(worker.get(response.headers["Location"]))
    person = volunteer.person
    for value in ("志愿服务证明", made.number, person.name, volunteer.number, "居民身份证", person.id_number,
                  str(hours), "李书记", "0712-2345678"):
        assert value in page, value
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "reveal")) \
        == reveals + 1  # the ID number on the certificate
    assert as_user("leader").get(response.headers["Location"]).status_code == 403
    assert as_user("worker2").get(response.headers["Location"]).status_code == 404
    # the certificate is kept and read-only
    assert as_user("secretary").get(f"/certificate/show/{made.id}").status_code == 200
    assert as_user("secretary").get(f"/certificate/edit/{made.id}").status_code in (302, 403, 404, 405)


def test_a_certificate_needs_a_period_with_service(ctx, as_user):
    volunteer = registered(adults(1, offset=210)[0])
    worker = as_user("worker")
    today = clock.today()
    for form, message in (
            ({"period_start": today.isoformat(), "period_end": today.isoformat()}, "没有服务记录"),
            ({"period_start": today.isoformat(), "period_end": (today - datetime.timedelta(days=3)).isoformat()},
             "截止日期不能早于起始日期"),
            ({"period_start": "", "period_end": today.isoformat()}, "请填写服务期间")):
        page = text_of(worker.post(f"/volunteer/certify/{volunteer.id}", data={
            **form, "person_in_charge": "李书记", "contact": "0712-2345678"}, follow_redirects=True))
        assert message in page, message
    from models.volunteers.activities import Certificate

    assert not db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.volunteer_id == volunteer.id))


def test_the_ledger_link_is_offered_only_to_who_may_read_the_ledger(ctx, as_user):
    """(Found by the browser crawl: the grid worker was offered a link answered 403.)"""
    grid_worker = as_user("grid1")
    pk = grid_worker.get("/api/v1/volunteer/?q=(page_size:1)").json["result"][0]["id"]  # one in the grid
    link = f"/ledger-entry/list/?_flt_0_volunteer={pk}"
    assert link in as_user("worker").get(f"/volunteer/show/{pk}").get_data(as_text=True)
    page = grid_worker.get(f"/volunteer/show/{pk}")
    assert page.status_code == 200 and link not in page.get_data(as_text=True)
    assert grid_worker.get(link).status_code == 403
