"""Co-building: pledge projects (milestones within the project, progress, status to the
end, overdue on a frozen clock), member pledges, funds whose balance always equals
contributions minus expenditures in exact decimals (a hypothesis state machine), the
public board and account pages (no phones, no ID numbers, residents masked), the pages
by role, scope, and the demo's projects."""
from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from app.standards import mask_name
from models.cobuilding import pledges as cobuilding
from models.cobuilding.pledges import Contribution, Expenditure, Fund, Milestone, PledgeProject
from models.kernel.orgs import Organisation
from tests import factories as f
from tests.test_volunteers import _jwt


def unit(name="孝感市物资公司") -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def project(months=3, **values) -> PledgeProject:
    today = clock.today()
    return domain.save(PledgeProject(unit=values.pop("unit", unit()), community=f.community(),
                                     title=values.pop("title", "测试共建项目"), content="内容",
                                     pledged_on=values.pop("pledged_on", today),
                                     due_on=values.pop("due_on", today + datetime.timedelta(days=30 * months)),
                                     **values))


def fund(**values) -> Fund:
    from models.kernel.places import Station

    station = db.session.scalars(select(Station).where(Station.community_id == f.community().id)).first()
    return domain.save(Fund(name=values.pop("name", "测试资金"), community=f.community(), station=station, **values))


def give(target: Fund, amount, **values) -> Contribution:
    return domain.save(Contribution(fund=target, source="partner", organisation=unit(), amount=amount,
                                    received_on=clock.today(), **values))


def spend(target: Fund, amount, **values) -> Expenditure:
    return domain.save(Expenditure(fund=target, purpose=values.pop("purpose", "购置桌椅"), amount=amount,
                                   spent_on=clock.today(), approver="袁德明", **values))


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    db.session.rollback()
    return str(error.value.errors())


def balance_in_db(fund_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(Fund, fund_id).balance


# ----------------------------------------------------------------------------- pledge projects

def test_milestones_fall_within_the_project_and_progress_follows_them(ctx):
    made = project(months=3)
    assert made.status == cobuilding.PLEDGED and made.progress == 0
    late = made.due_on + datetime.timedelta(days=1)
    assert "不能晚于项目" in errors_of(lambda: domain.save(Milestone(project=made, title="晚了", due_on=late)))
    steps = [domain.save(Milestone(project=made, title=f"第{i}步", weight=w,
                                   due_on=made.pledged_on + datetime.timedelta(days=10 * i)))
             for i, w in ((1, 1), (2, 3))]
    steps[0].done_on = clock.today()
    assert "证据" in errors_of(lambda: domain.save(steps[0]))
    steps[0].done_on, steps[0].evidence = clock.today(), "已清运"
    domain.save(steps[0])
    assert made.status == cobuilding.IN_PROGRESS and made.progress == 50
    made.progress_mode = cobuilding.BY_WEIGHT
    domain.save(made)
    assert made.progress == 25
    assert "尚未完成" in errors_of(lambda: cobuilding.fulfil(made))
    steps[1].done_on, steps[1].evidence = clock.today(), "已验收"
    domain.save(steps[1])
    assert made.status == cobuilding.FULFILLED and made.progress == 100 and made.fulfilled_on == clock.today()
    made.budget = Decimal("1.00")
    assert "不能再修改" in errors_of(lambda: domain.save(made))


def test_bad_input_is_refused_with_nothing_changed(ctx):
    made = project()
    made.progress = 150
    assert "0 到 100" in errors_of(lambda: domain.save(made))
    assert "不能早于" in errors_of(lambda: project(pledged_on=clock.today(),
                                                  due_on=clock.today() - datetime.timedelta(days=1)))
    assert "两位小数" in errors_of(lambda: project(budget=Decimal("100.005")))
    assert "不能为负" in errors_of(lambda: project(budget=Decimal("-1")))


def test_a_project_turns_overdue_on_a_frozen_clock(ctx):
    made = project(months=1)
    made_id = made.id
    later = datetime.datetime.combine(made.due_on + datetime.timedelta(days=1), datetime.time(9))
    assert not cobuilding.is_overdue(made)
    with clock.frozen(later):
        assert cobuilding.is_overdue(made)
        assert cobuilding.sweep() >= 1
        db.session.expire_all()
        again = db.session.get(PledgeProject, made_id)
        assert again.status == cobuilding.OVERDUE
        assert cobuilding.sweep() == 0 or db.session.get(PledgeProject, made_id).status == cobuilding.OVERDUE
        assert "原因" in errors_of(lambda: cobuilding.cancel(again, reason=" "))
        cobuilding.cancel(again, reason="单位改制，另行安排")
        assert again.status == cobuilding.CANCELLED and not cobuilding.is_overdue(again)


def test_a_project_measured_by_its_status(ctx):
    made = project(progress_mode=cobuilding.BY_STATUS)
    cobuilding.start(made)
    assert made.status == cobuilding.IN_PROGRESS and made.progress == 50
    assert "晚于今天" in errors_of(lambda: cobuilding.fulfil(made, on=clock.today() + datetime.timedelta(days=1)))
    cobuilding.fulfil(made)
    assert made.status == cobuilding.FULFILLED and made.progress == 100
    assert "不能" in errors_of(lambda: cobuilding.start(made))


# ----------------------------------------------------------------------------- funds

def test_amounts_are_exact_decimals(ctx):
    target = fund()
    for amount in ("0.10", "0.20", "0.30", "1234567.89"):
        give(target, Decimal(amount))
    assert balance_in_db(target.id) == Decimal("1234568.49")
    row = db.session.scalars(select(Contribution).where(Contribution.fund_id == target.id)
                             .order_by(Contribution.id)).first()
    assert isinstance(row.amount, Decimal) and row.amount == Decimal("0.10")
    total = db.session.scalar(select(func.sum(Contribution.amount)).where(Contribution.fund_id == target.id))
    assert Decimal(total) == Decimal("1234568.49")
    spend(target, Decimal("0.60"))
    assert balance_in_db(target.id) == Decimal("1234567.89")
    assert "两位小数" in errors_of(lambda: give(target, Decimal("1.005")))
    assert "大于零" in errors_of(lambda: give(target, Decimal("-5")))
    assert "大于零" in errors_of(lambda: give(target, Decimal("0")))
    assert "金额" in errors_of(lambda: give(target, "十元"))


def test_an_expenditure_beyond_the_balance_is_refused(ctx):
    target = fund()
    give(target, Decimal("100.00"))
    message = errors_of(lambda: spend(target, Decimal("100.01")))
    assert "余额" in message and "100.00" in message
    assert balance_in_db(target.id) == Decimal("100.00")
    assert not db.session.scalars(select(Expenditure).where(Expenditure.fund_id == target.id)).all()
    spent = spend(target, Decimal("100.00"))
    assert balance_in_db(target.id) == Decimal("0.00")
    # the account's entries are never deleted (tests/test_kept_records.py): the balance stays
    gift = db.session.scalars(select(Contribution).where(Contribution.fund_id == target.id)).one()
    assert "冲正" in errors_of(lambda: domain.delete(gift))
    assert "冲正" in errors_of(lambda: domain.delete(db.session.get(Expenditure, spent.id)))
    assert balance_in_db(target.id) == Decimal("0.00")


def test_amounts_and_balances_are_not_edited(ctx, client):
    target = fund()
    row = give(target, Decimal("10.00"))
    row.amount = Decimal("99.00")
    assert "不能修改" in errors_of(lambda: domain.save(row)) or "删除" in errors_of(lambda: domain.save(row))
    target = db.session.get(Fund, target.id)
    target.balance = Decimal("5000.00")
    assert "余额" in errors_of(lambda: domain.save(target))
    headers = _jwt(client, "worker")
    response = client.put(f"/api/v1/fund/{target.id}", json={"balance": "5000.00"}, headers=headers)
    assert balance_in_db(target.id) == Decimal("10.00"), response.json
    response = client.post("/api/v1/expenditure/", json={"fund": target.id, "purpose": "超支", "amount": "10.01",
                                                         "spent_on": str(clock.today()), "approver": "袁德明"},
                           headers=headers)
    assert response.status_code == 422 and "余额" in str(response.json)
    assert balance_in_db(target.id) == Decimal("10.00")


class FundMachine(RuleBasedStateMachine):
    """Random contributions, expenditures (some beyond the balance) and attempted deletions
    (always refused): the balance always equals contributions minus expenditures, exactly,
    and is ≥ 0."""

    def __init__(self):
        super().__init__()
        self.fund = fund(name=f"性质测试{id(self)}")
        self.rows: list[tuple[str, int]] = []

    @rule(cents=st.integers(min_value=1, max_value=10_000_00))
    def contribute(self, cents):
        self.rows.append(("in", give(self.fund, Decimal(cents) / 100).id))

    @rule(cents=st.integers(min_value=1, max_value=10_000_00))
    def spend(self, cents):
        try:
            self.rows.append(("out", spend(self.fund, Decimal(cents) / 100).id))
        except DomainError:
            db.session.rollback()

    @rule(index=st.integers(min_value=0, max_value=50))
    def delete(self, index):
        if not self.rows:
            return
        kind, pk = self.rows[index % len(self.rows)]
        row = db.session.get(Contribution if kind == "in" else Expenditure, pk)
        with pytest.raises(DomainError):
            domain.delete(row)
        db.session.rollback()

    @invariant()
    def balance_is_the_account(self):
        received = db.session.scalar(select(func.coalesce(func.sum(Contribution.amount), 0))
                                     .where(Contribution.fund_id == self.fund.id))
        spent = db.session.scalar(select(func.coalesce(func.sum(Expenditure.amount), 0))
                                  .where(Expenditure.fund_id == self.fund.id))
        rows_in = [db.session.get(Contribution, pk).amount for kind, pk in self.rows if kind == "in"]
        rows_out = [db.session.get(Expenditure, pk).amount for kind, pk in self.rows if kind == "out"]
        expected = sum(rows_in, Decimal(0)) - sum(rows_out, Decimal(0))
        balance = balance_in_db(self.fund.id)
        assert balance == expected >= 0
        assert Decimal(received) - Decimal(spent) == expected  # sums in SQL, exact on both databases


def test_fund_balances_equal_the_account_after_random_sequences(ctx):
    run_state_machine_as_test(FundMachine, settings=settings(max_examples=15, stateful_step_count=12, deadline=None,
                                                             suppress_health_check=list(HealthCheck)))


# ----------------------------------------------------------------------------- public pages

def _personal_values() -> list[str]:
    """Every seeded resident's phone and ID number."""
    from models.people.people import Person

    rows = db.session.execute(select(Person.phone, Person.id_number)).all()
    return [v for row in rows for v in row if v and len(v) >= 7]


def test_public_boards_and_accounts_show_no_phones_or_id_numbers(client, ctx):
    values = _personal_values()
    assert values
    pages = [client.get("/public/pledges/").get_data(as_text=True)]
    units = db.session.scalars(select(PledgeProject.unit_id).where(PledgeProject.public.is_(True)).distinct()).all()
    assert units
    pages += [client.get(f"/public/pledges/{u}").get_data(as_text=True) for u in units]
    funds = db.session.scalars(select(Fund).where(Fund.public.is_(True))).all()
    assert funds
    pages += [client.get(f"/public/fund/{x.id}").get_data(as_text=True) for x in funds]
    text = "\n".join(pages)
    assert "公开" in text or "共建" in text
    leaked = [v for v in values if v in text]
    assert not leaked, leaked[:3]
    accounts = "\n".join(pages[1 + len(units):])
    givers = db.session.scalars(select(Contribution).where(Contribution.person_id.is_not(None))).all()
    assert givers
    for row in givers:  # residents who gave are 张* on the accounts
        assert mask_name(row.person.name) in accounts
        assert not re.search(re.escape(row.person.name) + r"(?![*])", accounts)
    assert client.get("/public/fund/999999").status_code == 404
    private = fund(public=False)
    assert client.get(f"/public/fund/{private.id}").status_code == 404


def test_the_board_shows_the_unit_s_members_pledges(client, ctx):
    from models.cobuilding.pledges import MemberPledge
    from models.people.people import PartyMember

    with_projects = select(PledgeProject.unit_id)
    pledge = db.session.scalars(select(MemberPledge).join(PartyMember).where(  # a unit without a project too
        PartyMember.employer_unit_id.is_not(None), PartyMember.employer_unit_id.not_in(with_projects),
        MemberPledge.public.is_(True))).first()
    assert pledge is not None
    page = client.get(f"/public/pledges/{pledge.member.employer_unit_id}").get_data(as_text=True)
    assert "党员公开承诺" in page and pledge.content in page and pledge.member.person.name in page


def test_the_pledge_board_shows_progress_overdue_and_the_rate(client, ctx):
    made = project(months=1, title="看板测试项目", unit=unit("孝感市盐业公司"))
    page = client.get(f"/public/pledges/{made.unit_id}").get_data(as_text=True)
    assert "看板测试项目" in page and "践诺率" in page
    later = datetime.datetime.combine(made.due_on + datetime.timedelta(days=2), datetime.time(9))
    with clock.frozen(later):
        page = client.get(f"/public/pledges/{made.unit_id}").get_data(as_text=True)
    assert re.search(r'class="overdue">\s*<td class="title"[^>]*>看板测试项目', page)


# ----------------------------------------------------------------------------- pages and scope

def test_project_and_fund_pages_by_role(as_user, ctx):
    made = project()
    target = fund()
    give(target, Decimal("88.80"))
    worker = as_user("worker")
    page = worker.get(f"/pledge-project/show/{made.id}").get_data(as_text=True)
    assert "添加里程碑" in page and "取消项目" in page
    leader = as_user("leader").get(f"/pledge-project/show/{made.id}").get_data(as_text=True)
    assert "取消项目" not in leader
    assert as_user("leader").post(f"/pledge-project/step/{made.id}/cancel",
                                  data={"reason": "x"}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(PledgeProject, made.id).status == cobuilding.PLEDGED
    done = worker.post(f"/pledge-project/step/{made.id}/cancel", data={"reason": "不再需要"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已取消" in done
    fund_page = worker.get(f"/fund/show/{target.id}").get_data(as_text=True)
    assert "88.80" in fund_page and "登记捐款" in fund_page
    other = as_user("worker2")
    assert other.get(f"/pledge-project/show/{made.id}").status_code == 404
    assert other.get(f"/fund/show/{target.id}").status_code == 404


# ----------------------------------------------------------------------------- the demo

def test_the_demo_has_the_case_studys_projects_and_funds(ctx):
    titles = set(db.session.scalars(select(PledgeProject.title).where(PledgeProject.community_id == f.community().id)))
    for needed in ("种子公司宿舍车棚垃圾清运", "燃料公司宿舍大门改造", "物资小区化粪池吸污及下水疏通", "建材宿舍白蚁防治",
                   "宇辉星城消防设施改造"):
        assert needed in titles
    fire = db.session.scalars(select(PledgeProject).where(PledgeProject.title == "宇辉星城消防设施改造")).one()
    assert fire.budget >= Decimal("200000")
    for row in db.session.scalars(select(Fund)):
        received = sum((c.amount for c in row.contributions), Decimal(0))
        spent = sum((e.amount for e in row.expenditures), Decimal(0))
        assert row.balance == received - spent >= 0
    sources = set(db.session.scalars(select(Contribution.source).distinct()))
    assert {"residents", "partner", "resident_unit"} <= sources
