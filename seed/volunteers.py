"""The volunteers' demo: 5 teams with 70 volunteers (10 children of the 小小志愿者 with a
guardian's consent), more residents registered to serve and earn points, a year of
activities (全年活动清单) completed through the domain functions (service records and
points), and 86 volunteers who exchanged points for gifts (the case study's figures).

Every point comes from :func:`models.volunteers.activities.complete` or the exchange functions,
on a clock set to the activity's time, so the ledger is what the office would hold.
"""
from __future__ import annotations

import datetime
import random

from sqlalchemy import func, select

from app import clock, domain
from app.extensions import db

#: (name, type, members)
TEAMS = [("清洁家园志愿服务队", "clean_home", 18), ("好邻里志愿服务队", "good_neighbour", 16),
         ("小区治安志愿服务队", "security", 14), ("小小志愿者队", "little", 10), ("党员先锋队", "party_pioneer", 12)]
#: residents registered to serve (and earn points) outside the teams
UNTEAMED = 42
N_EXCHANGES = 86
GIFTS = [("毛巾", 20, 60), ("文具套装", 30, 40), ("雨伞", 60, 30), ("洗衣液", 50, 40), ("保温杯", 80, 20),
         ("大米5公斤", 120, 15), ("食用油", 150, 12), ("台灯", 200, 6)]
#: activity plans by team type: (title, activity type, hours, points)
ACTIVITIES = {
    "clean_home": [("楼道大扫除", "cleaning", 2, 10), ("卫生死角清理", "cleaning", 3, 10),
                   ("垃圾分类宣传", "publicity", 2, 10)],
    "good_neighbour": [("邻里矛盾走访", "neighbourhood", 2, 10), ("独居老人探访", "elderly", 2, 15),
                       ("便民理发", "elderly", 3, 15)],
    "security": [("夜间治安巡逻", "patrol", 2, 10), ("电动车充电安全检查", "patrol", 2, 10),
                 ("防诈骗宣传", "publicity", 2, 10)],
    "little": [("小小环卫工", "children", 2, 5), ("小小喇叭员", "children", 2, 5), ("小小消防员", "children", 2, 5)],
    "party_pioneer": [("党员先锋服务日", "neighbourhood", 3, 15), ("重阳敬老", "festival", 3, 20),
                      ("春节送温暖", "festival", 3, 20)],
}


def load(community, compounds, users, counts, today: datetime.date | None = None) -> None:
    """Load the volunteers of ``community`` unless it has some already."""
    from models.volunteers.activities import Team, Volunteer

    if db.session.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.community_id == community.id)):
        return
    rng = random.Random(20220331)
    today = today or clock.today()
    end = clock.now() if today == clock.today() else datetime.datetime.combine(today, datetime.time(18))
    start = end - datetime.timedelta(days=365)
    with clock.frozen(start):
        teams, people = _teams_and_volunteers(community, compounds, users, rng)
        gifts = _gifts(community)
    counts["team"] += len(teams)
    counts["volunteer"] += sum(len(v) for v in people.values())
    counts["gift"] += len(gifts)
    counts["activity"] += _activities(community, teams, people, compounds, users, rng, start, end)
    counts["exchange"] += _exchanges(community, gifts, users, rng, end)
    counts["certificate"] += _certificates(community, users, start, end)
    db.session.commit()
    assert isinstance(teams[0], Team)


def _teams_and_volunteers(community, compounds, users, rng):
    from models.people.people import PartyMember, Person
    from models.volunteers.activities import REGISTERED, Team, Volunteer, change_status

    today = clock.today()

    def born_between(low, high):
        return Person.birth_date.between(today.replace(year=today.year - high), today.replace(year=today.year - low))

    adults = list(db.session.scalars(select(Person.id).where(
        Person.community_id == community.id, Person.household_id.isnot(None), born_between(20, 68),
        ~Person.party_membership.has()).order_by(Person.id)))
    children = list(db.session.scalars(select(Person.id).where(
        Person.community_id == community.id, Person.household_id.isnot(None), born_between(8, 13))
        .order_by(Person.id)))
    members = list(db.session.scalars(select(PartyMember.person_id).where(
        PartyMember.community_id == community.id, PartyMember.user_id.is_(None)).order_by(PartyMember.id)))
    demo_member = db.session.scalars(select(PartyMember).where(PartyMember.user_id == users["volunteer"].id)).first()
    picked_adults = rng.sample(adults, 18 + 16 + 14 + UNTEAMED + 4)
    rng.shuffle(children)
    picked_children = [c for c in children[:200] if _guardian_of(c, born_between) is not None][:10]
    picked_members = rng.sample(members, 11)
    teams, people = [], {}
    leaders = {}
    pool = {"clean_home": picked_adults[:18], "good_neighbour": picked_adults[18:34],
            "security": picked_adults[34:48], "little": picked_children,
            "party_pioneer": ([demo_member.person_id] if demo_member else []) + picked_members}
    pool["party_pioneer"] = pool["party_pioneer"][:12]
    rest = picked_adults[48:]
    load_ids = [i for ids in pool.values() for i in ids] + rest
    found = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(load_ids)))}
    for i, (name, kind, size) in enumerate(TEAMS):
        ids = pool[kind][:size]
        compound = compounds[i * 7 % len(compounds)] if kind in ("clean_home", "security") else None
        leader = found[ids[0]] if kind != "little" else found[pool["good_neighbour"][1]]
        leaders[kind] = leader
        team = Team(name=name, type=kind, community=community, compound=compound, leader=leader,
                    founded_on=datetime.date(2021, 3, 5) + datetime.timedelta(days=i * 11),
                    description=f"{name}:{_duty(kind)}")
        domain.save(team, commit=False)
        teams.append(team)
        people[kind] = ids
    db.session.flush()
    number = 0
    volunteers = []
    skills = ["理发", "电工", "水管工", "书法", "摄影", "医护", "法律咨询", "电脑维修", "厨艺", "心理疏导"]
    for team, (name, kind, size) in zip(teams, TEAMS):
        for pid in people[kind]:
            person = found[pid]
            values = {"teams": [team], "availability": rng.choice(["weekday_evening", "weekend", "weekend", "any"]),
                      "publish_name": rng.random() < 0.4,
                      "skills": rng.choice(skills) if rng.random() < 0.4 else None}
            if kind == "little":
                guardian = _guardian_of(pid, born_between)
                values.update(guardian=guardian, guardian_consent_on=clock.today(), availability="weekend")
            if demo_member is not None and pid == demo_member.person_id:
                values["user"] = users["volunteer"]
            volunteers.append(Volunteer(person=person, **values))
    for pid in rest[:UNTEAMED]:
        volunteers.append(Volunteer(person=found[pid], availability=rng.choice(["weekend", "any"])))
    domain.save_many(volunteers, commit=False)
    db.session.flush()
    for volunteer in volunteers:
        number += 1
        volunteer.status, volunteer.approved_on = REGISTERED, clock.today()
        volunteer.number = f"WHL-ZY{number:04d}"
    domain.save_many(volunteers, commit=False)
    # still waiting for approval, and one who left
    waiting = [Volunteer(person=found[pid], availability="weekend") for pid in rest[UNTEAMED:]]
    domain.save_many(waiting, commit=False)
    db.session.commit()
    change_status(waiting[-1], "withdraw")
    by_kind = {kind: [v for v in volunteers if v.teams and v.teams[0].type == kind] for _n, kind, _s in TEAMS}
    by_kind["unteamed"] = [v for v in volunteers if not v.teams]
    return teams, by_kind


def _guardian_of(child_id, born_between):
    """The youngest adult of the child's household (a parent, usually)."""
    from models.people.people import Person

    household = select(Person.household_id).where(Person.id == child_id).scalar_subquery()
    return db.session.scalars(select(Person).where(Person.household_id == household, Person.id != child_id,
                                                   born_between(22, 70)).order_by(Person.birth_date.desc())).first()


def _duty(kind: str) -> str:
    return {"clean_home": "住户分户轮流值班,负责小区环境清扫,小区是我家,清洁靠大家",
            "good_neighbour": "楼栋长、党小组长和热心居民协调邻里琐事,邻里一家人,互助大家亲",
            "security": "下沉党员和年富力强的居民参加,治安齐携手,平安保和谐",
            "little": "儿童之家的小小志愿者,在家长陪同下参加力所能及的服务",
            "party_pioneer": "下沉党员亮身份、践承诺,带头参加志愿服务"}[kind]


def _gifts(community) -> list:
    from models.volunteers.points import Gift

    gifts = [Gift(name=name, points=cost, stock=stock, community=community, active=True,
                  description=f"积分兑换礼品:{name}") for name, cost, stock in GIFTS]
    domain.save_many(gifts, commit=False)
    db.session.commit()
    return gifts


def _activities(community, teams, people, compounds, users, rng, start, end) -> int:
    """Three activities a month over the year; the past ones completed with their
    sign-ups, check-ins, service records and points; two ahead published, one planned."""
    from models.kernel.places import Station
    from models.volunteers.activities import CHECKED_IN, Activity, SignUp, complete

    stations = list(db.session.scalars(select(Station).where(Station.community_id == community.id)
                                       .order_by(Station.id)))
    by_type = {team.type: team for team in teams}
    kinds = [kind for _n, kind, _s in TEAMS]
    recorder = users["worker"]
    made = 0
    day = start.date() + datetime.timedelta(days=3)
    k = 0
    while True:
        kind = kinds[k % len(kinds)]
        title, type_, hours, bonus = ACTIVITIES[kind][(k // len(kinds)) % 3]
        begins = datetime.datetime.combine(day, datetime.time(9 if k % 2 == 0 else 15))
        if begins > end + datetime.timedelta(days=20):
            break
        team = by_type[kind]
        station = stations[k % len(stations)]
        activity = Activity(title=title, type=type_, team=team, community=community, station=station,
                            starts_at=begins, ends_at=begins + datetime.timedelta(hours=hours), points=bonus,
                            capacity=12, description=f"{team.name}{title},地点:{station.name}。")
        with clock.frozen(begins - datetime.timedelta(days=7)):
            domain.save(activity, commit=False)
            activity.status = "published"
            if begins > end + datetime.timedelta(days=12):
                activity.status = "planned"  # the newest is still being planned
            domain.save(activity, commit=False)
            db.session.commit()
        made += 1
        if begins + datetime.timedelta(hours=hours) < end:
            crowd = people[kind] + (people["unteamed"] if kind != "little" else [])
            chosen = rng.sample(crowd, min(len(crowd), rng.randint(8, 12)))
            demo = next((v for v in people[kind] if v.user_id is not None), None)
            if demo is not None and demo not in chosen:  # the demo volunteer serves with the pioneers
                chosen[-1] = demo
            with clock.frozen(begins - datetime.timedelta(days=3)):
                signups = [SignUp(activity=activity, volunteer=v) for v in chosen]
                domain.save_many(signups, commit=False)
            with clock.frozen(begins + datetime.timedelta(minutes=10)):
                for signup in signups:
                    if rng.random() < 0.9:
                        signup.status, signup.checked_in_at = CHECKED_IN, clock.now()
                domain.save_many(signups, commit=False)
                db.session.commit()
            with clock.frozen(begins + datetime.timedelta(hours=hours, minutes=30)):
                if any(s.status == CHECKED_IN for s in signups):
                    complete(activity, recorder, evaluation="活动按计划完成,居民反映良好。",
                             evaluations={s.id: rng.choice(["excellent", "good", "good", "fair"])
                                          for s in signups})
        day += datetime.timedelta(days=10 + (k % 3))
        k += 1
    return made


def _exchanges(community, gifts, users, rng, end) -> int:
    """86 volunteers exchanged points: most collected, some approved or waiting, a few rejected."""
    from models.volunteers.points import approve, collect, reject, request_exchange
    from models.volunteers.activities import REGISTERED, Volunteer

    rich = list(db.session.scalars(select(Volunteer).where(
        Volunteer.community_id == community.id, Volunteer.status == REGISTERED,
        Volunteer.points_balance >= min(g.points for g in gifts)).order_by(Volunteer.id)))
    # 86 exchanged; three more asked for a gift that had run out and were turned down
    chosen = rng.sample(rich, min(N_EXCHANGES + 3, len(rich)))
    worker = users["worker"]
    for n, volunteer in enumerate(chosen):
        affordable = [g for g in gifts if g.points <= volunteer.points_balance and g.stock > 0]
        gift = rng.choice(affordable)
        when = end - datetime.timedelta(days=int(300 * (len(chosen) - n) / len(chosen)) + 1, hours=rng.randint(0, 5))
        with clock.frozen(when):
            exchange = request_exchange(volunteer, gift, 1)
        if n >= len(chosen) - 4:
            continue  # the newest wait for approval
        with clock.frozen(when + datetime.timedelta(hours=2)):
            if n % 29 == 5:
                reject(exchange, worker, reason="该礼品本月已发完,请改选其他礼品")
                continue
            approve(exchange, worker)
        if n >= len(chosen) - 8:
            continue  # approved, not collected yet
        with clock.frozen(when + datetime.timedelta(days=1)):
            collect(exchange, worker, handler=worker.get_full_name())
    return len(chosen)


def _certificates(community, users, start, end) -> int:
    """志愿服务证明 issued to the five volunteers who served longest (for their records)."""
    from models.volunteers.activities import ServiceRecord, Volunteer, issue_certificate

    top = db.session.execute(select(ServiceRecord.volunteer_id, func.sum(ServiceRecord.hours))
                             .where(ServiceRecord.community_id == community.id)
                             .group_by(ServiceRecord.volunteer_id)
                             .order_by(func.sum(ServiceRecord.hours).desc(), ServiceRecord.volunteer_id)
                             .limit(5)).all()
    with clock.frozen(end - datetime.timedelta(days=2)):
        for volunteer_id, _hours in top:
            issue_certificate(db.session.get(Volunteer, volunteer_id), start.date(), clock.today(), users["worker"],
                              person_in_charge=users["secretary"].get_full_name(), contact="0712-2345678")
    return len(top)

