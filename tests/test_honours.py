"""Stars and commendations: the rules of a round and of its nominees, the decision in
one step that pays each elected volunteer once, the annual commendation, the pages by
role, the generic form and API that cannot set a decision, the public roll of honour
with masked names, scope, and the demo's figures (6 rounds, 54 people commended)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from app.standards import mask_name
from models.volunteers import honours
from models.volunteers.honours import Commendation, Honoree, StarNominee, StarRound
from models.volunteers.points import LedgerEntry
from models.volunteers.activities import Volunteer
from tests import factories as f
from tests.test_points import adults, balance_in_db, registered
from tests.test_volunteers import _jwt


def this_month() -> str:
    return clock.today().strftime("%Y-%m")


def new_round(kind="month", stars=2, **values) -> StarRound:
    return domain.save(StarRound(community=values.pop("community", f.community()), kind=kind,
                                 period=values.pop("period", this_month()), stars=stars,
                                 category=values.pop("category", "clean"), **values))


def nominate(star_round, person, **values) -> StarNominee:
    return domain.save(StarNominee(round=star_round, person=person, reason=values.pop("reason", "热心助人"), **values))


def stranger():
    """A resident of the other community."""
    import datetime

    from models.people.people import Person

    return domain.save(Person(name="槐荫居民", residence_type="registered", community=f.community("槐荫社区"),
                              birth_date=datetime.date(1980, 5, 1)))


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    return str(error.value.errors())


# ----------------------------------------------------------------------------- rounds

def test_a_round_names_its_month_and_kind(ctx):
    today = clock.today()
    future = f"{today.year + (today.month == 12)}-{today.month % 12 + 1:02d}"
    assert "2026-5" not in errors_of(lambda: new_round(period="2026-5")) and \
        "年-月" in errors_of(lambda: new_round(period="2026-5"))
    assert "不能晚于本月" in errors_of(lambda: new_round(period=future))
    assert "需要选择小区" in errors_of(lambda: new_round(kind="compound"))
    compound = db.session.scalars(select(honours.Compound).where(
        honours.Compound.community_id == f.community().id)).first()
    assert "不要选择小区" in errors_of(lambda: new_round(compound=compound))
    other = db.session.scalars(select(honours.Compound).where(
        honours.Compound.community_id == f.community("槐荫社区").id)).first()
    assert "其他社区" in errors_of(lambda: new_round(kind="compound", compound=other))
    made = new_round()
    assert made.status == honours.OPEN and made.title.startswith(this_month())
    assert "已有同样的评星" in errors_of(lambda: new_round())
    new_round(kind="compound", compound=compound)  # a compound's round of the same month is another round


def test_nominees_live_in_the_round_s_community_and_compound(ctx):
    from models.people.people import Person

    star_round = new_round()
    assert "其他社区" in errors_of(lambda: nominate(star_round, stranger()))
    person = adults(1, offset=300)[0]
    nominee = nominate(star_round, person, decision="elected", points=999)
    assert nominee.decision == honours.PENDING and nominee.points is None  # only decide_round() decides
    assert nominee.category == "clean" and nominee.community_id == star_round.community_id
    assert "推荐理由" in errors_of(lambda: nominate(star_round, adults(1, offset=301)[0], reason="  "))
    nominee.decision = honours.ELECTED
    assert "记录评定结果" in errors_of(lambda: domain.save(nominee))
    db.session.rollback()
    compound = person.compound
    elsewhere = db.session.scalars(select(Person).where(Person.community_id == f.community().id,
                                                        Person.compound_id != compound.id)).first()
    of_compound = new_round(kind="compound", compound=compound)
    assert "不住在这个小区" in errors_of(lambda: nominate(of_compound, elsewhere))
    nominate(of_compound, person)


# ----------------------------------------------------------------------------- the decision

def test_deciding_pays_each_elected_volunteer_once(ctx):
    from models.volunteers.points import rule_points

    star_round = new_round(stars=2)
    people = adults(3, offset=310)
    volunteer = registered(people[0])
    applied = domain.save(Volunteer(person=people[1]))  # applied, not registered: no points
    nominees = [nominate(star_round, p) for p in people]
    secretary = f.user("secretary")
    assert "最多评选 2 名" in errors_of(lambda: honours.decide_round(star_round, [n.id for n in nominees], secretary))
    assert "至少选择一名" in errors_of(lambda: honours.decide_round(star_round, [], secretary))
    assert "候选人中选择" in errors_of(lambda: honours.decide_round(star_round, [nominees[0].id, 10 ** 9], secretary))
    assert star_round.status == honours.OPEN
    before = volunteer.points_balance
    honours.decide_round(star_round, [nominees[0].id, nominees[1].id], secretary)
    assert star_round.status == honours.DECIDED and star_round.decided_on == clock.today()
    assert [n.decision for n in nominees] == [honours.ELECTED, honours.ELECTED, honours.NOT_ELECTED]
    bonus = rule_points("star_month")
    assert bonus > 0 and nominees[0].points == bonus and nominees[1].points is None and nominees[2].points is None
    assert balance_in_db(volunteer.id) == before + bonus and balance_in_db(applied.id) == 0
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.key.like("star:%"),
                                                           LedgerEntry.source_id.in_([n.id for n in nominees]))).all()
    assert [(e.volunteer_id, e.amount, e.source) for e in entries] == [(volunteer.id, bonus, "star")]
    # decided once: again is refused and pays nothing; nominees are closed
    assert "已经评定" in errors_of(lambda: honours.decide_round(star_round, [nominees[0].id], secretary))
    assert "不能再添加" in errors_of(lambda: nominate(star_round, adults(1, offset=320)[0]))
    star_round.stars = 5
    assert "不能再修改" in errors_of(lambda: domain.save(star_round))
    db.session.rollback()
    assert balance_in_db(volunteer.id) == before + bonus


def test_an_annual_commendation_is_announced_once(ctx):
    from models.volunteers.points import rule_points

    commendation = domain.save(Commendation(community=f.community(), year=clock.today().year, title="测试表彰"))
    assert "请先添加" in errors_of(lambda: honours.announce(commendation))
    people = adults(2, offset=330)
    volunteer = registered(people[0])
    before = volunteer.points_balance
    rows = [domain.save(Honoree(commendation=commendation, person=p, deeds="事迹", points=500)) for p in people]
    assert all(r.points is None for r in rows)
    assert "其他社区" in errors_of(lambda: domain.save(Honoree(commendation=commendation, person=stranger())))
    honours.announce(commendation, f.user("secretary"))
    assert commendation.status == honours.ANNOUNCED and commendation.announced_on == clock.today()
    bonus = rule_points("commendation")
    assert rows[0].points == bonus and rows[1].points is None
    assert balance_in_db(volunteer.id) == before + bonus
    assert "已经公布" in errors_of(lambda: honours.announce(commendation))
    assert "不能再更改" in errors_of(lambda: domain.save(Honoree(commendation=commendation,
                                                             person=adults(1, offset=340)[0])))
    assert balance_in_db(volunteer.id) == before + bonus
    assert "年份" in errors_of(lambda: domain.save(Commendation(community=f.community(), year=1999, title="x")))


# ----------------------------------------------------------------------------- pages and API

def test_workers_prepare_and_the_secretary_decides(as_user, ctx):
    star_round = new_round()
    nominee = nominate(star_round, adults(1, offset=350)[0])
    worker, secretary = as_user("worker"), as_user("secretary")
    page = worker.get(f"/star-round/show/{star_round.id}").get_data(as_text=True)
    assert "推荐候选人" in page and f"/star-nominee/add?round={star_round.id}" in page and "记录评定结果" not in page
    assert worker.post(f"/star-round/decide/{star_round.id}", data={"elected": nominee.id}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(StarRound, star_round.id).status == honours.OPEN
    page = secretary.get(f"/star-round/show/{star_round.id}").get_data(as_text=True)
    assert "记录评定结果" in page and 'name="elected"' in page
    response = secretary.post(f"/star-round/decide/{star_round.id}", data={"elected": str(nominee.id)},
                              follow_redirects=True)
    assert "已评定：当选 1 名" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StarNominee, nominee.id).decision == honours.ELECTED
    again = secretary.post(f"/star-round/decide/{star_round.id}", data={"elected": str(nominee.id)},
                           follow_redirects=True).get_data(as_text=True)
    assert "已经评定" in again
    form = worker.get(f"/star-nominee/add?round={star_round.id}").get_data(as_text=True)
    assert "推荐理由" in form or "先进事迹" in form


def test_the_commendation_page_announces(as_user, ctx):
    commendation = domain.save(Commendation(community=f.community(), year=clock.today().year, title="页面表彰"))
    domain.save(Honoree(commendation=commendation, person=adults(1, offset=360)[0], deeds="助人为乐"))
    worker, secretary = as_user("worker"), as_user("secretary")
    page = worker.get(f"/commendation/show/{commendation.id}").get_data(as_text=True)
    assert "添加受表彰人" in page and ">公布<" not in page
    page = secretary.get(f"/commendation/show/{commendation.id}").get_data(as_text=True)
    assert ">公布<" in page and "助人为乐" in page
    done = secretary.post(f"/commendation/announce/{commendation.id}", follow_redirects=True).get_data(as_text=True)
    assert "已公布：表彰 1 人" in done
    db.session.expire_all()
    assert db.session.get(Commendation, commendation.id).status == honours.ANNOUNCED


def test_the_api_cannot_set_a_decision_or_points(client, ctx):
    star_round = new_round()
    nominee = nominate(star_round, adults(1, offset=370)[0])
    headers = _jwt(client, "worker")
    response = client.put(f"/api/v1/star_nominee/{nominee.id}", json={"decision": "elected"}, headers=headers)
    assert response.status_code in (400, 422), response.json
    response = client.put(f"/api/v1/star_nominee/{nominee.id}", json={"points": 500}, headers=headers)
    db.session.expire_all()
    fresh = db.session.get(StarNominee, nominee.id)
    assert fresh.decision == honours.PENDING and fresh.points is None
    honours.decide_round(star_round, [nominee.id])
    late = client.post("/api/v1/star_nominee/", json={"round": star_round.id, "person": adults(1, offset=371)[0].id,
                                                       "reason": "迟到的推荐"}, headers=headers)
    assert late.status_code == 422 and "不能再添加" in str(late.json)


# ----------------------------------------------------------------------------- public roll of honour

def test_the_public_roll_shows_the_current_stars_masked_without_consent(client, ctx):
    old = new_round(period="2025-01")
    current = new_round()  # this month: newer than every seeded round
    people = adults(4, offset=380)
    agreed, not_agreed, loser, older = (nominate(current, people[0], publish_name=True),
                                        nominate(current, people[1], reason="义务维修水电"),
                                        nominate(current, people[2]), nominate(old, people[3]))
    honours.decide_round(old, [older.id])
    honours.decide_round(current, [agreed.id, not_agreed.id])
    page = client.get(f"/public/stars/{f.community().id}").get_data(as_text=True)  # no login
    assert "光荣榜" in page
    assert people[0].name in page
    assert people[1].name not in page and mask_name(people[1].name) in page and "义务维修水电" in page
    assert people[2].name not in page  # not elected: not on the roll
    assert this_month() in page
    assert people[3].name not in page and "2025-01" not in page  # the latest round replaces the older ones


def test_the_public_roll_never_shows_a_full_name_without_consent(client, ctx):
    """Over every seeded star and commendation: full names only with consent."""
    page = client.get(f"/public/stars/{f.community().id}").get_data(as_text=True)
    rows = db.session.execute(select(honours.Person.name, Honoree.publish_name).join(
        Honoree, Honoree.person_id == honours.Person.id)).all()
    rows += db.session.execute(select(honours.Person.name, StarNominee.publish_name).join(
        StarNominee, StarNominee.person_id == honours.Person.id)).all()
    assert rows
    hidden = [name for name, consent in rows if not consent]
    assert hidden and not any(re.search(re.escape(name) + r"(?![*])", page) for name in hidden
                              if name not in {n for n, c in rows if c})
    assert client.get("/public/stars/999999").status_code == 404


def test_another_community_sees_no_stars(as_user, ctx):
    star_round = new_round(period="2025-03")
    person = adults(1, offset=390)[0]
    nominate(star_round, person)
    assert person.name in as_user("worker").get(f"/star-round/show/{star_round.id}").get_data(as_text=True)
    other = as_user("worker2")
    assert other.get(f"/star-round/show/{star_round.id}").status_code == 404
    assert "2025-03" not in other.get("/star-round/list/").get_data(as_text=True)
    assert "最美下沉党员" not in other.get("/commendation/list/").get_data(as_text=True)


# ----------------------------------------------------------------------------- the demo

def test_the_demo_has_six_star_rounds_and_54_commended(ctx):
    community = f.community()
    rounds = db.session.scalars(select(StarRound).where(StarRound.community_id == community.id)).all()
    assert len(rounds) == 6 and all(r.status == honours.DECIDED for r in rounds)
    assert all(sum(n.decision == honours.ELECTED for n in r.nominees) == 3 for r in rounds)
    commended = db.session.scalar(select(func.count()).select_from(Honoree).join(Commendation).where(
        Commendation.community_id == community.id))
    assert commended == 54
    paid = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.source.in_(["star", "commendation"])))
    assert paid == db.session.scalar(select(func.count()).select_from(StarNominee).where(
        StarNominee.points.isnot(None))) + db.session.scalar(select(func.count()).select_from(Honoree).where(
        Honoree.points.isnot(None)))
