"""The 三单 demo: 150 demands over the three months up to the seed date, 112 taken by
10 unit party organisations and 82 sinking party members (the case study's figures by
March 2022), most resolved and rated, the rest in every other state.

Every step goes through :func:`models.service.machine.act` with the clock set to the step's
time, so the timelines, due times and notices are what the office would have seen.
"""
from __future__ import annotations

import datetime
import random

from sqlalchemy import func, select, update

from app import clock
from app.extensions import db

N_DEMANDS, N_UNIT_ORDERS, N_MEMBERS = 150, 30, 82
#: the seeded states (150 in all; 112 taken: 30 by units, 82 by members)
PLAN = {"closed": 12, "rated": 70, "resolved": 14, "in_progress": 9, "taken": 7,
        "pending": 12, "dispatched_pool": 8, "dispatched": 6, "cancelled": 7, "duplicate": 5}
#: 结对单位 beyond the 3 驻社区单位 and 4 辖区单位 of the case study: 10 unit party organisations
PAIRED_UNITS = ["孝感市水务集团", "孝南区住房和城乡建设局", "孝感市实验小学"]
SKILLS = ["电工", "水管工", "医生", "法律咨询", "驾驶", "厨师", "电脑维修", "心理咨询"]
#: the demo kiosk's Open311 key (README); a real one is made with `flask open311 add-client`
DEMO_API_KEY = "demo-kiosk-wenhualu-2026"
DEMO_API_CLIENT = "红色驿站自助终端(演示)"

TEXTS = {
    "clearance": [("楼道堆放杂物", "{place}楼道内堆满旧家具和纸箱,影响通行,存在消防隐患。"),
                  ("院内废弃自行车清理", "{place}院内有十多辆废弃自行车,长期无人认领,占用空间。")],
    "sanitation": [("垃圾清运不及时", "{place}垃圾桶满溢,已有三天未清运,气味很大。"),
                   ("卫生死角清理", "{place}围墙边有卫生死角,积存垃圾和污水。")],
    "termite": [("宿舍院内白蚁", "{place}木质门框和楼梯扶手发现白蚁,希望尽快除治。")],
    "repair": [("路灯不亮", "{place}院内路灯坏了一个多星期,晚上出行不便,老人担心摔倒。"),
               ("单元门禁损坏", "{place}单元门禁锁坏了,门一直关不上。"),
               ("水管漏水", "{place}公共水管接头漏水,地面长期湿滑。")],
    "septic": [("化粪池堵塞外溢", "{place}化粪池堵塞,污水外溢到路面,急需疏通。")],
    "lighting": [("楼道灯不亮", "{place}楼道声控灯不亮,老人上下楼不安全。")],
    "parking": [("电动车乱停乱放", "{place}电动车堵在单元门口,还有人飞线充电。"),
                ("院内停车无序", "{place}院内车辆乱停,消防通道被占用。")],
    "tutoring": [("困难学生需要课业辅导", "{place}一户困难家庭的孩子读初二,数学跟不上,家长无力辅导,希望有老师帮助。")],
    "elderly": [("独居老人代买药品", "{place}一位独居老人行动不便,需要有人每周帮忙代买药品。"),
                ("老人就医陪诊", "{place}一位高龄老人下周要去医院复查,子女在外地,需要陪诊。")],
    "mediation": [("楼上漏水纠纷", "{place}楼上卫生间漏水到楼下,两家协商不成,请社区调解。"),
                  ("广场舞噪音", "{place}晚上广场舞音响声音太大,影响休息。")],
    "greening": [("树枝遮挡窗户", "{place}院内大树枝条伸到住户窗前,遮挡采光,雨天有安全隐患。")],
    "policy": [("咨询低保申请", "{place}居民想了解低保申请的条件和需要的材料。"),
               ("咨询医保缴费", "{place}居民询问城乡居民医保缴费方式和时间。")],
}
RESULTS = ["已上门处理完毕,现场恢复正常。", "已联系专业人员处理,居民表示满意。", "已协调相关单位解决,并回访确认。"]
COMMENTS = {5: ["非常感谢,处理得又快又好!", "党员同志很负责,点赞。"], 4: ["处理及时,满意。", "基本解决了问题。"],
            3: ["解决了,但等得有点久。"]}


def load(community, grids, compounds, users, counts, today: datetime.date | None = None) -> None:
    """Load the demands of ``community`` unless there are some already."""
    from models.service.demands import Demand
    from models.service.notices import Notification

    if db.session.scalar(select(func.count()).select_from(Demand).where(Demand.community_id == community.id)):
        return
    rng = random.Random(20220331)
    today = today or clock.today()
    end = clock.now() if today == clock.today() else datetime.datetime.combine(today, datetime.time(18))
    units = _units(community, users)
    members = _members(community, users, rng)
    _api_client(community)
    demands = _plan(rng, end)
    _play(demands, community, grids, compounds, users, units, members, rng)
    counts["demand"] += len(demands)
    # the notices of the past were read at the time; those of the last three days wait
    db.session.execute(update(Notification).where(Notification.created_at < end - datetime.timedelta(days=3))
                       .values(read_at=Notification.created_at))
    db.session.commit()


def _units(community, users) -> list:
    """The 10 unit party organisations that take orders, each with a liaison."""
    from app import domain
    from models.kernel.orgs import Organisation, Position

    found = list(db.session.scalars(select(Organisation).where(
        Organisation.community_id == community.id,
        Organisation.type.in_(["resident_unit", "local_unit"])).order_by(Organisation.id)))
    for n, name in enumerate(PAIRED_UNITS):
        unit = db.session.scalars(select(Organisation).where(Organisation.name == name)).first()
        if unit is None:
            unit = Organisation(name=name, type="paired_unit", community=community, contact=f"联络员{n + 1}",
                                phone=f"0712-28{n:05d}")
            domain.save(unit, commit=False)
        found.append(unit)
    for n, unit in enumerate(found):
        has = db.session.scalar(select(func.count()).select_from(Position).where(
            Position.organisation_id == unit.id, Position.title == "liaison"))
        if not has:
            domain.save(Position(organisation=unit, title="liaison", holder_name=f"{unit.name[:4]}联络员",
                                 phone=f"1397120{n:04d}"), commit=False)
    db.session.flush()
    return found


def _members(community, users, rng) -> list:
    """82 sinking party members who take orders; the demo volunteer is one of them."""
    from app import domain
    from models.people.people import SINKING, PartyMember

    sinking = list(db.session.scalars(select(PartyMember).where(
        PartyMember.community_id == community.id, PartyMember.category == SINKING).order_by(PartyMember.id)))
    volunteer = next(m for m in sinking if m.user_id == users["volunteer"].id)
    chosen = [volunteer] + rng.sample([m for m in sinking if m is not volunteer], N_MEMBERS - 1)
    for n, member in enumerate(chosen):
        skills = rng.sample(SKILLS, rng.randint(1, 2))
        if n % 8 == 0:
            skills = ["教师"] + skills[:1]
        member.skills = ",".join(skills)
    volunteer.skills = "教师,电工"
    domain.save_many(chosen, commit=False)
    return chosen


def _api_client(community) -> None:
    from models.service.demands import ApiClient, hash_secret

    if db.session.scalars(select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT)).first() is None:
        db.session.add(ApiClient(name=DEMO_API_CLIENT, key_hash=hash_secret(DEMO_API_KEY), community_id=community.id,
                                 active=True, created_at=clock.now()))
        db.session.flush()


def _plan(rng, end) -> list[dict]:
    """When each demand was filed and how far it went, oldest first; open ones recent."""
    days_back = {"closed": (88, 30), "rated": (85, 6), "cancelled": (80, 5), "duplicate": (80, 5),
                 "resolved": (12, 3), "in_progress": (9, 1), "taken": (0.7, 0.25),
                 "dispatched_pool": (4, 0.2), "dispatched": (3, 0.3), "pending": (2.5, 0.05)}
    plan = []
    for state, n in PLAN.items():
        low, high = days_back[state][1], days_back[state][0]
        for _ in range(n):
            back = rng.uniform(low, high)
            filed = end - datetime.timedelta(days=back)
            if back > 1:  # filed in office hours
                filed = filed.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=0, microsecond=0)
            plan.append({"state": state, "filed": min(filed, end - datetime.timedelta(minutes=30))})
    plan.sort(key=lambda d: d["filed"])
    return plan


def _play(plan, community, grids, compounds, users, units, members, rng) -> None:
    from models.people.people import Person
    from models.service.demands import Demand, ServiceCategory
    from models.service.machine import (CANCEL, CLAIM, CLOSE, DISPATCH, MARK_DUPLICATE, RATE, RESOLVE, START, TAKE, act,
                                        create)

    categories = {c.code: c for c in db.session.scalars(select(ServiceCategory))}
    unit_codes = [c for c, cat in categories.items() if cat.takers in ("any", "unit")]
    member_codes = [c for c, cat in categories.items() if cat.takers in ("any", "member") and not cat.skill]
    adults = list(db.session.scalars(select(Person.id).where(
        Person.community_id == community.id, Person.household_id.isnot(None),
        Person.birth_date < clock.today() - datetime.timedelta(days=25 * 365)).order_by(Person.id)))
    chosen = rng.sample(adults, len(plan))  # ids only: thousands of loaded rows would slow every commit
    found = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(chosen)))}
    requesters = [found[i] for i in chosen]
    worker, secretary = users["worker"], users["secretary"]
    grid_users = {grid.id: users[f"grid{i + 1}"] for i, grid in enumerate(grids)}
    taken_states = ("closed", "rated", "resolved", "in_progress", "taken")
    # who takes each taken demand: 30 unit orders (the partner's unit among them), 82 member orders
    unit_slots = [units[i % len(units)] for i in range(N_UNIT_ORDERS)]
    member_slots = list(members)
    rng.shuffle(unit_slots)
    rng.shuffle(member_slots)
    taken = [d for d in plan if d["state"] in taken_states]
    order = list(range(len(taken)))
    rng.shuffle(order)
    for k, index in enumerate(order):
        d = taken[index]
        d["taker"] = unit_slots.pop() if k < N_UNIT_ORDERS else member_slots.pop()
    # the demo volunteer and the demo partner each hold an order still in hand
    volunteer = members[0]
    partner_unit = next(u for u in units if u.name == "孝感市盐业公司")
    in_hand = [d for d in taken if d["state"] in ("in_progress", "taken")]
    _swap(taken, in_hand[0], volunteer)
    _swap(taken, in_hand[-1], partner_unit)
    originals = []
    for n, d in enumerate(plan):
        person = requesters[n]
        taker = d.get("taker")
        if taker is None:
            code = rng.choice(list(categories))
        elif taker in units:
            code = rng.choice(unit_codes)
        elif "教师" in (taker.skills or "") and rng.random() < 0.5:
            code = "tutoring"
        else:
            code = rng.choice(member_codes)
        category = categories[code]
        title, text = rng.choice(TEXTS[code])
        household = person.household
        source = rng.choice(["visit", "phone", "grid_visit", "grid_visit", "station", "online", "hotline"])
        named_only = source in ("phone", "hotline") and rng.random() < 0.4
        place = f"{household.compound.name}{household.building.name}" if household.building else household.compound.name
        demand = Demand(title=title, description=text.format(place=place), category=category, source=source,
                        requester=None if named_only else person,
                        requester_name=person.name if named_only else None,
                        requester_phone=person.phone if named_only else None,
                        compound=household.compound, building=household.building,
                        demand_class="long_term" if code in ("tutoring", "greening", "parking") or rng.random() < 0.1
                        else "urgent",
                        priority="high" if code in ("septic", "repair") and rng.random() < 0.5 else "normal")
        intake = grid_users.get(household.compound.grid_id) if source == "grid_visit" else worker
        at = d["filed"]
        with clock.frozen(at):
            demand.created_by_id = getattr(intake, "id", None)
            create(demand, actor=intake)
        state = d["state"]
        if state == "pending":
            continue
        if state == "cancelled":
            with clock.frozen(at + datetime.timedelta(hours=rng.uniform(1, 20))):
                act(demand, CANCEL, actor=worker, note=rng.choice(["居民已自行解决", "不属于社区服务范围,已告知居民拨打12345"]))
            continue
        if state == "duplicate":
            with clock.frozen(at + datetime.timedelta(hours=rng.uniform(0.5, 6))):
                original = rng.choice(originals) if originals else None
                if original is not None:
                    act(demand, MARK_DUPLICATE, actor=worker, original=original, note="同一问题已有需求在办理")
                else:
                    act(demand, CANCEL, actor=worker, note="重复提交")
            continue
        originals.append(demand)
        at += datetime.timedelta(hours=rng.uniform(0.5, 8))
        with clock.frozen(at):
            if state == "dispatched_pool" or (taker is not None and rng.random() < 0.5):
                act(demand, DISPATCH, actor=secretary if rng.random() < 0.3 else worker, pool=True)
            elif state == "dispatched":
                target = rng.choice(units) if category.takers != "member" else rng.choice(members)
                act(demand, DISPATCH, actor=worker, **_target(target, units))
            else:
                act(demand, DISPATCH, actor=worker, **_target(taker, units))
        if state.startswith("dispatched"):
            continue
        # taken within the promised hours, mostly
        hours = category.take_hours * (rng.uniform(0.05, 0.9) if rng.random() < 0.88 else rng.uniform(1.1, 2))
        if state == "taken":
            hours = min(hours, max(0.2, (clock.now() - at).total_seconds() / 3600 - 0.5))
        at += datetime.timedelta(hours=hours)
        with clock.frozen(at):
            if demand.in_pool:  # claimed from the pool by the unit or member
                act(demand, CLAIM, actor=_user_of(taker, users, units), **_target(taker, units))
            else:
                act(demand, TAKE, actor=_user_of(taker, users, units))
        if state == "taken":
            continue
        at += datetime.timedelta(hours=rng.uniform(0.5, 16))
        with clock.frozen(at):
            act(demand, START, actor=_user_of(taker, users, units))
        if state == "in_progress":
            continue
        days = category.resolve_days * (rng.uniform(0.05, 0.8) if rng.random() < 0.9 else rng.uniform(1.05, 1.6))
        at = max(at + datetime.timedelta(hours=1), at + datetime.timedelta(days=days))
        at = min(at, clock.now() - datetime.timedelta(hours=2))
        with clock.frozen(at):
            act(demand, RESOLVE, actor=_user_of(taker, users, units), result=rng.choice(RESULTS),
                evidence="现场照片已存档;居民签字确认")
        if state == "resolved":
            continue
        at += datetime.timedelta(hours=rng.uniform(4, 60))
        rating = rng.choices([5, 4, 3], weights=[70, 24, 6])[0]
        with clock.frozen(min(at, clock.now() - datetime.timedelta(hours=1))):
            act(demand, RATE, actor=worker, rating=rating, comment=rng.choice(COMMENTS[rating]))
        if state == "closed":
            with clock.frozen(min(at + datetime.timedelta(days=2), clock.now() - datetime.timedelta(minutes=30))):
                act(demand, CLOSE, actor=worker)


def _target(taker, units) -> dict:
    return {"unit": taker} if taker in units else {"member": taker}


def _user_of(taker, users, units):
    if taker in units:
        return users["partner"] if taker.name == "孝感市盐业公司" else None
    return users["volunteer"] if taker.user_id == users["volunteer"].id else None


def _swap(taken, target, who) -> None:
    """Give ``target`` to ``who``, swapping with the demand ``who`` held."""
    holder = next((d for d in taken if d.get("taker") is who), None)
    if holder is None or holder is target:
        target["taker"] = who
        return
    holder["taker"], target["taker"] = target["taker"], who
