"""The demo's stars and commendations (the case study: 每月之星 6 期, 年度表彰 54 人).

Rounds are nominated and decided through :func:`models.volunteers.honours.decide_round`, the
commendation announced through :func:`models.volunteers.honours.announce`, each on a clock set to
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
    "clean": ["坚持每天清扫楼道，带动邻居参与清洁家园", "主动清理卫生死角二十余处", "垃圾分类宣传入户，小区分类准确率明显提高"],
    "helpful": ["长期照顾独居老人，帮忙买菜送药", "调解邻里漏水纠纷，促成双方和解", "义务为居民维修水电十余次"],
    "filial": ["悉心照料瘫痪在床的婆婆十年如一日", "带动楼栋开展敬老助老活动"],
    "civility": ["劝导车辆有序停放，小区通行更顺畅", "夜间巡逻发现并排除电动车充电隐患"],
}
#: 年度表彰: (title, how many, who: "volunteer" | "member" | "child" | "resident")
COMMENDATIONS = [("最美下沉党员", 12, "member"), ("优秀志愿者", 20, "volunteer"), ("最美家庭", 8, "resident"),
                 ("最美儿童之星", 6, "child"), ("优秀楼栋长", 8, "resident")]
DEEDS = {"member": "下沉报到以来认领群众需求，参与“天天敲门”结对帮扶", "volunteer": "全年参加志愿服务活动，服务时长名列前茅",
         "child": "积极参加小小志愿者活动，争当“小小环卫工”", "resident": "热心小区事务，带头参与红色驿站议事"}
N_ROUNDS = 6
N_BULLETINS = 42
#: bulletin topics: (title, the paragraphs of the body)
TOPICS = [
    ("红色驿站议事会商议小区停车难题", ["本月，{compound}红色驿站召开居民议事会，网格员、自管委成员和居民代表二十余人参加。",
                                "大家围绕车辆乱停乱放问题各抒己见，最终形成划线停车、错时停车的方案，由自管委负责落实。"]),
    ("“三单”服务解民忧", ["社区坚持居民点单、社区派单、党员和结对单位接单，本期共受理群众需求{n}件。",
                      "结对单位和下沉党员主动认领，做到件件有回音、事事有着落。"]),
    ("志愿服务在身边", ["{team}本月开展“{activity}”活动，志愿者们分工协作，服务居民。",
                    "活动结束后，志愿者按服务时长获得积分，可到红色驿站兑换礼品。"]),
    ("“天天敲门”暖人心", ["网格员、在职党员和下沉党员组成“天天敲门”组，走访独居老人、残疾人等特殊群体。",
                      "对走访中发现的困难，及时转为服务需求，由社区派单解决。"]),
    ("小小志愿者在行动", ["社区儿童之家组织小小志愿者开展“小小环卫工”“小小喇叭员”活动。",
                      "孩子们在家长陪同下捡拾垃圾、宣传垃圾分类，用行动为小区添彩。"]),
]


def load(community, users, counts, end: datetime.datetime) -> None:
    """Load the stars and commendations of ``community`` unless it has some already."""
    from models.volunteers.honours import StarRound

    if db.session.scalar(select(func.count()).select_from(StarRound).where(StarRound.community_id == community.id)):
        return
    rng = random.Random(20220331 + 6)
    counts["star_round"] += _rounds(community, users, rng, end)
    counts["honoree"] += _commendations(community, users, rng, end)
    counts["bulletin"] += _bulletins(community, users, rng, end)
    db.session.commit()


def _month(day: datetime.date, back: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 - back
    return index // 12, index % 12 + 1


def _rounds(community, users, rng, end) -> int:
    """6 monthly rounds, 6 nominees each (mostly volunteers), 3 stars elected."""
    from models.volunteers.honours import MONTHLY, StarNominee, StarRound, decide_round
    from models.people.people import Person
    from models.volunteers.activities import REGISTERED, Volunteer

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
                                   note="网格员、楼栋长推荐，社区两委会评议")
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
    from models.volunteers.honours import Commendation, Honoree, announce
    from models.people.people import PartyMember, Person
    from models.volunteers.activities import REGISTERED, Volunteer

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
                                        note=f"{year}年度表彰，经社区两委会研究决定")
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


def _bulletins(community, users, rng, end) -> int:
    """42 issues (第1期 … 第42期) over three and a half years; the recent ones report
    the activities of their month and the star rounds decided before them."""
    from models.volunteers.bulletins import Bulletin
    from models.volunteers.honours import DECIDED, StarRound
    from models.kernel.places import Compound
    from models.volunteers.activities import COMPLETED, Activity

    compounds = db.session.scalars(select(Compound.name).where(Compound.community_id == community.id)
                                   .order_by(Compound.id)).all()
    activities = db.session.scalars(select(Activity).where(Activity.community_id == community.id,
                                                           Activity.status == COMPLETED)
                                    .order_by(Activity.starts_at)).all()
    rounds = db.session.scalars(select(StarRound).where(StarRound.community_id == community.id,
                                                        StarRound.status == DECIDED)
                                .order_by(StarRound.period)).all()
    first = end.date() - datetime.timedelta(days=42 * 30)
    editor = users["worker"].get_full_name()
    made = []
    for n in range(1, N_BULLETINS + 1):
        day = first + datetime.timedelta(days=30 * n - rng.randint(0, 10))
        title, paragraphs = TOPICS[n % len(TOPICS)]
        month = [a for a in activities if abs((a.starts_at.date() - day).days) <= 30][:3]
        done = [a for a in month if a.starts_at.date() <= day]
        activity = done[0] if done else None
        text = [p.format(compound=rng.choice(compounds), n=rng.randint(8, 30),
                         team=activity.team.name if activity is not None and activity.team else "志愿服务队",
                         activity=activity.title if activity is not None else "楼道大扫除") for p in paragraphs]
        body = "".join(f"<p>{p}</p>" for p in text)
        if n % 3 == 0:
            body = f"<h3>工作动态</h3>{body}<ul><li>走访特殊群体{rng.randint(20, 56)}户</li>" \
                   f"<li>开展志愿服务活动{rng.randint(2, 6)}场</li></ul>"
        stars = [r for r in rounds if r.decided_on is not None and r.decided_on <= day
                 and (day - r.decided_on).days <= 31]
        made.append(Bulletin(community=community, number=n, title=f"{title}", issued_on=day, editor=editor,
                             body=body, activities=done, star_rounds=stars))
    with clock.frozen(datetime.datetime.combine(end.date(), datetime.time(9))):
        domain.save_many(made)
    return len(made)
