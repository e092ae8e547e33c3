"""民生政策一窗通 (public search, printable guide, only published ones, sanitized body),
社区业务一站办 (visits, the 最多跑一次 flag, monthly figures in SQL against a hand count),
and 矛盾调解 (numbered, closing rules, parties masked everywhere)."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.cobuilding.guides import PolicyGuide, WindowService, window_stats
from models.cobuilding.mediation import MediationCase
from models.people.people import Staff
from tests import factories as f


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    db.session.rollback()
    return str(error.value.errors())


def test_the_public_policy_page_searches_published_guides(client, ctx):
    hidden = domain.save(PolicyGuide(community=f.community(), category="civil_affairs", title="内部草稿政策",
                                     content="<p>尚未发布</p>", published=False))
    page = client.get("/public/policies/").get_data(as_text=True)  # no login
    assert "最低生活保障" in page and "内部草稿政策" not in page
    found = client.get("/public/policies/?q=残疾").get_data(as_text=True)
    assert "残疾人证办理" in found and "最低生活保障" not in found
    by_category = client.get("/public/policies/?category=medical_insurance").get_data(as_text=True)
    assert "医疗保险" in by_category and "公共租赁住房" not in by_category
    nothing = client.get("/public/policies/?q=不存在的政策").get_data(as_text=True)
    assert "没有找到" in nothing
    guide = db.session.scalars(select(PolicyGuide).where(PolicyGuide.title.like("%残疾人证%"))).first()
    one = client.get(f"/public/policy/{guide.id}").get_data(as_text=True)
    assert "所需材料" in one and "户口簿" in one
    assert client.get(f"/public/policy/{hidden.id}").status_code == 404


def test_a_guide_s_body_is_sanitized(ctx):
    made = domain.save(PolicyGuide(community=f.community(), category="civil_affairs", title="测试",
                                   content='<p onclick="x()">内容<script>alert(1)</script></p>'))
    assert "onclick" not in made.content and "<script" not in made.content and "内容" in made.content


def test_the_window_log_flags_more_than_one_visit_and_counts_months(ctx, as_user):
    handler = db.session.scalars(select(Staff).where(Staff.community_id == f.community().id)).first()
    assert "1 到 20" in errors_of(lambda: domain.save(WindowService(
        community=f.community(), service_type="certificate", handler=handler, served_on=clock.today(), visits=0,
        result="x")))
    again = domain.save(WindowService(community=f.community(), service_type="certificate", handler=handler,
                                      served_on=clock.today(), visits=2, result="补齐材料后办结", satisfaction="3"))
    assert again.more_than_once
    rows = db.session.scalars(select(WindowService).where(WindowService.community_id == f.community().id)).all()
    month = clock.today().replace(day=1)
    mine = [r for r in rows if r.served_on >= month]
    stats = {r["month"]: r for r in window_stats()}
    assert stats[month]["handled"] == len(mine)
    assert stats[month]["one_visit"] == sum(1 for r in mine if r.visits == 1)
    rated = [int(r.satisfaction) for r in mine if r.satisfaction]
    assert stats[month]["satisfaction"] == round(sum(rated) / len(rated), 2)
    page = as_user("worker").get("/window-stats/").get_data(as_text=True)
    assert "一次办结率" in page and month.strftime("%Y-%m") in page


def test_a_mediation_case_is_numbered_and_closed_with_an_agreement(ctx):
    made = domain.save(MediationCase(community=f.community(), dispute_type="leak", parties="张三、李四",
                                     summary="漏水", mediators="调委会", applied_on=clock.today()))
    assert made.number.startswith(f"TJ-{clock.today().year}-")
    made.status = "agreed"
    assert "结案日期" in errors_of(lambda: domain.save(made))
    made = db.session.get(MediationCase, made.id)
    made.status, made.closed_on = "agreed", clock.today()
    assert "协议" in errors_of(lambda: domain.save(made))
    made = db.session.get(MediationCase, made.id)
    made.status, made.closed_on, made.agreement = "agreed", clock.today() - datetime.timedelta(days=400), "赔偿"
    assert "早于受理" in errors_of(lambda: domain.save(made))


def test_the_parties_are_masked_on_every_page(ctx, as_user):
    case = db.session.scalars(select(MediationCase).where(MediationCase.community_id == f.community().id)).first()
    for user in ("worker", "leader", "secretary"):
        client = as_user(user)
        for path in ("/mediation-case/list/", f"/mediation-case/show/{case.id}"):
            page = client.get(path).get_data(as_text=True)
            assert case.parties not in page, (user, path)
    api = as_user("leader").get(f"/api/v1/mediation_case/{case.id}")
    assert case.parties not in api.get_data(as_text=True)


def test_the_demo_has_guides_a_window_log_and_disputes(ctx):
    community = f.community()
    assert len(db.session.scalars(select(PolicyGuide).where(PolicyGuide.community_id == community.id)).all()) >= 12
    yuhui = db.session.scalars(select(MediationCase).join(MediationCase.compound).where(
        MediationCase.community_id == community.id, MediationCase.compound.has(name="宇辉星城"))).all()
    assert len(yuhui) == 5 and all(c.status == "agreed" for c in yuhui)
    assert sum(r["handled"] for r in window_stats()) > 500
