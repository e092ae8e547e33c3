"""The demo's stars and commendations (the case study: 每月之星 6 期, 年度表彰 54 人).

Rounds are nominated and decided through :func:`models.honours.decide_round`, the
commendation announced through :func:`models.honours.announce`, each on a clock set to
its day, so the bonus points in the ledger are what the office would hold.
"""
from __future__ import annotations

import datetime
import random

from sqlalchemy import func, select

from app import clock, domain
from app.extensions import db

#: the 6 rounds of 每月之星: (category, reasons to choose from)
REASONS = {
    "clean": ["坚持每天清扫楼道,带动邻居参与清洁家园", "主动清理卫生死角二十余处", "垃圾分类宣传入户,小区分类准确率明显提高"],
    "helpful": ["长期照顾独居老人,帮忙买菜送药", "调解邻里漏水纠纷,促成双方和解", "义务为居民维修水电十余次"],
    "filial": ["悉心照料瘫痪在床的婆婆十年如一日", "带动楼栋开展敬老助老活动"],
    "civility": ["劝导车辆有序停放,小区通行更顺畅", "夜间巡逻发现并排除电动车充电隐患"],
}
#: 年度表彰: (title, how many, who: "volunteer" | "member" | "child" | "resident")
COMMENDATIONS = [("最美下沉党员", 12, "member"), ("优秀志愿者", 20, "volunteer"), ("最美家庭", 8, "resident"),
                 ("最美儿童之星", 6, "child"), ("优秀楼栋长", 8, "resident")]
DEEDS = {"member": "下沉报到以来认领群众需求,参与“天天敲门”结对帮扶", "volunteer": "全年参加志愿服务活动,服务时长名列前茅",
         "child": "积极参加小小志愿者活动,争当“小小环卫工”", "resident": "热心小区事务,带头参与红色驿站议事"}
N_ROUNDS = 6


def load(community, users, counts, end: datetime.datetime) -> None:
    """Load the stars and commendations of ``community`` unless it has some already."""
    from models.honours import StarRound

    if db.session.scalar(select(func.count()).select_from(StarRound).where(StarRound.community_id == community.id)):
        return
    rng = random.Random(20220331 + 6)
    counts["star_round"] += _rounds(community, users, rng, end)
    counts["honoree"] += _commendations(community, users, rng, end)
    db.session.commit()


def _month(day: datetime.date, back: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 - back
    return index // 12, index % 12 + 1


def _rounds(community, users, rng, end) -> int:
    """6 monthly rounds, 6 nominees each (mostly volunteers), 3 stars elected."""
    from models.honours import MONTHLY, StarNominee, StarRound, decide_round
    from models.people import Person
    from models.volunteers import REGISTERED, Volunteer

    volunteers = db.session.scalars(select(Person).join(Volunteer, Volunteer.person_id == Person.id).where(
        Volunteer.community_id == community.id, Volunteer.status == REGISTERED, Person.compound_id.is_not(None),
        Volunteer.guardian_id.is_(None)).order_by(Person.id)).all()
    residents = db.session.scalars(select(Person).where(
        Person.community_id == community.id, Person.compound_id.is_not(None), Person.birth_date.is_not(None),
        Person.birth_date < end.date() - datetime.timedelta(days=30 * 365)).order_by(Person.id).limit(400)).all()
    secretary = users["secretary"]
    categories = list(REASONS)
    for back in range(N_ROUNDS, 0, -1):
        year, month = _month(end.date(), back)
        opened = datetime.datetime(year, month, 20, 9)
        with clock.frozen(opened):
            star_round = StarRound(community=community, kind=MONTHLY, period=f"{year}-{month:02d}", stars=3,
                                   note="网格员、楼栋长推荐,社区两委会评议")
            domain.save(star_round)
            chosen = rng.sample(volunteers, 5) + rng.sample(residents, 1)
            nominees = []
            for person in chosen:
                category = rng.choice(categories)
                nominees.append(StarNominee(round=star_round, person=person, category=category,
                                            reason=rng.choice(REASONS[category]), nominated_by="网格员推荐",
                                            publish_name=rng.random() < 0.5))
            domain.save_many(nominees)
        with clock.frozen(opened + datetime.timedelta(days=8)):
            decide_round(star_round, [n.id for n in nominees[:3]], secretary)
    return N_ROUNDS


def _commendations(community, users, rng, end) -> int:
    """Last year's 年度表彰: 54 people under five titles, announced in January."""
    from models.honours import Commendation, Honoree, announce
    from models.people import PartyMember, Person
    from models.volunteers import REGISTERED, Volunteer

    year = end.year - 1
    announced = datetime.datetime(end.year, 1, 12, 10)
    if announced > end:
        announced = end - datetime.timedelta(days=1)
    pools = {
        "member": db.session.scalars(select(Person).join(PartyMember, PartyMember.person_id == Person.id)
                                     .where(PartyMember.community_id == community.id).order_by(Person.id)).all(),
        "volunteer": db.session.scalars(select(Person).join(Volunteer, Volunteer.person_id == Person.id).where(
            Volunteer.community_id == community.id, Volunteer.status == REGISTERED,
            Volunteer.guardian_id.is_(None)).order_by(Volunteer.points_balance.desc(), Person.id)).all(),
        "child": db.session.scalars(select(Person).join(Volunteer, Volunteer.person_id == Person.id).where(
            Volunteer.community_id == community.id, Volunteer.guardian_id.is_not(None)).order_by(Person.id)).all(),
        "resident": db.session.scalars(select(Person).where(
            Person.community_id == community.id, Person.compound_id.is_not(None), Person.birth_date.is_not(None),
            Person.birth_date < end.date() - datetime.timedelta(days=35 * 365)).order_by(Person.id)
            .limit(600)).all(),
    }
    taken, total = set(), 0
    with clock.frozen(announced - datetime.timedelta(days=5)):
        made = []
        for title, n, who in COMMENDATIONS:
            commendation = Commendation(community=community, year=year, title=title,
                                        note=f"{year}年度表彰,经社区两委会研究决定")
            domain.save(commendation)
            pool = [p for p in pools[who] if p.id not in taken]
            people = pool[:n] if who == "volunteer" else rng.sample(pool, n)
            taken.update(p.id for p in people)
            domain.save_many([Honoree(commendation=commendation, person=p, deeds=DEEDS[who],
                                      publish_name=who != "child" and rng.random() < 0.6) for p in people])
            made.append(commendation)
            total += n
    with clock.frozen(announced):
        for commendation in made:
            announce(commendation, users["secretary"])
    return total
