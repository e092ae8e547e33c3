"""The people of the demo (synthetic): 12,250 residents in 3,430 households over the
57 compounds of 文化路社区 (546 of them floating), 317 merchants, 424 party members
(综合支部 71 + 文化社区支部 41 resident members, 164 在职, 148 下沉) of whom 403 lead a
党员中心户, 三长 57 / 136 / 274, 8 cadres and 6 grid workers, and 56 special-group
residents in 天天敲门 care groups with four months of visits.

Every row goes through app.domain.save_many (the rules every writer uses), in batches.
ID numbers are valid (GB 11643 check characters); names, phones and codes are made up.
"""
from __future__ import annotations

import datetime
import random

from sqlalchemy import func, select

from app import clock, domain, standards
from app.extensions import db

RESIDENTS, HOUSEHOLDS, FLOATING, MERCHANTS = 12250, 3430, 546, 317
SPECIAL = {"empty_nest": 20, "subsistence": 12, "disabled": 9, "living_alone": 8, "lost_only_child": 7}
N_ON_JOB, N_SINKING, RESIDENT_MEMBERS = 164, 148, (71, 41)
CENTER_HOUSEHOLDS = 403
TODAY = clock.today()

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴")
GIVEN_1 = "建国秀英桂兰志强海燕红梅国华丽娟文斌淑珍晓东春花德明玉兰俊杰雪梅振华美玲永强慧敏子涵雨轩欣怡梓萱浩然宇航思远佳怡"
GIVEN_2 = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华兰红玲鹏辉莉萍斌宇浩凯健"


class Names:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def person(self, surname: str | None = None) -> str:
        s = surname or self.rng.choice(SURNAMES)
        if self.rng.random() < 0.55:
            i = self.rng.randrange(0, len(GIVEN_1) // 2) * 2
            return s + GIVEN_1[i:i + 2]
        return s + self.rng.choice(GIVEN_2)


class Ids:
    """Unique, valid ID numbers for given birth dates and sexes."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def make(self, born: datetime.date, sex: str, region: str = "420902") -> str:
        while True:
            seq = self.rng.randrange(0, 100)
            digit = self.rng.choice("13579" if sex == "1" else "02468")
            first17 = f"{region}{born:%Y%m%d}{seq:02d}{digit}"
            number = first17 + standards.id_check_char(first17)
            if number not in self.used:
                self.used.add(number)
                return number


def _phone(rng: random.Random, used: set) -> str:
    while True:
        phone = f"1{rng.choice('3589')}{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}"
        if phone not in used:
            used.add(phone)
            return phone


def _born(rng, age_low, age_high) -> datetime.date:
    age = rng.randint(age_low, age_high)
    born = datetime.date(TODAY.year - age, 1, 1) + datetime.timedelta(days=rng.randrange(0, 360))
    return min(born, TODAY - datetime.timedelta(days=30))


def load(community, grids, compounds, users, counts) -> None:
    """Load the people of ``community`` unless they are there already."""
    from models.people.people import Person

    if db.session.scalar(select(func.count()).select_from(Person).where(Person.community_id == community.id)):
        return
    rng = random.Random(20220331)
    names, ids, phones = Names(rng), Ids(rng), set()
    households = _households(community, rng)
    counts["household"] += len(households)
    persons = _residents(households, rng, names, ids, phones)
    counts["person"] += len(persons)
    _save(persons)
    _merchants(community, compounds, rng, names, phones, counts)
    staff = _staff(community, grids, users, names, rng, counts)
    members = _party_members(community, persons, households, rng, counts)
    _heads(compounds, persons, rng, counts)
    _care(community, persons, staff, members, rng, counts, users)
    _liaison(community, users["partner"], rng)
    db.session.flush()


def _save(items, chunk: int = 2000) -> None:
    for start in range(0, len(items), chunk):
        domain.save_many(items[start:start + chunk], commit=False)


def _households(community, rng):
    from models.people.people import Household
    from models.kernel.places import Unit

    units = db.session.scalars(select(Unit).where(Unit.community_id == community.id).order_by(Unit.id)).all()
    per_unit, extra = divmod(HOUSEHOLDS, len(units))
    result = []
    for i, unit in enumerate(units):
        rooms = [f"{floor}0{door}" for floor in range(1, 8) for door in (1, 2)]
        for room in rooms[:per_unit + (1 if i < extra else 0)]:
            result.append(Household(unit=unit, room=room))
    _save(result)
    return result


def _residents(households, rng, names, ids, phones):
    """3.57 people a household on average: a head, often a spouse, children, parents."""
    from models.people.people import Person

    sizes = [1] * len(households)
    for _ in range(RESIDENTS - len(households)):
        sizes[rng.randrange(len(households))] += 1
    floating = set(rng.sample(range(len(households)), 180))  # rented flats: 546 floating people
    persons = []
    left_floating = FLOATING
    for index, (household, size) in enumerate(zip(households, sizes)):
        surname = rng.choice(SURNAMES)
        kind = "floating" if index in floating and left_floating > 0 else \
            ("resident" if rng.random() < 0.17 else "registered")
        head_sex = rng.choice("12")
        head_born = _born(rng, 28, 86)
        members = [("02", head_sex, head_born, surname)]
        if size > 1:
            members.append(("10", "2" if head_sex == "1" else "1",
                            _born(rng, max(22, TODAY.year - head_born.year - 5), TODAY.year - head_born.year + 3),
                            rng.choice(SURNAMES)))
        head_age = TODAY.year - head_born.year
        for _ in range(size - len(members)):
            if head_age > 60 and rng.random() < 0.4:
                relation, sex = rng.choice([("30", "2"), ("20", "1")])
                born = _born(rng, max(18, head_age - 40), max(20, head_age - 22))
            elif head_age < 55 and rng.random() < 0.35:
                relation, sex = rng.choice([("51", "1"), ("52", "2")])
                born = _born(rng, head_age + 20, min(95, head_age + 35))
            else:
                relation, sex = rng.choice([("20", "1"), ("30", "2")])
                born = _born(rng, max(0, head_age - 45), max(1, head_age - 20))
            members.append((relation, sex, born, surname))
        for relation, sex, born, family in members:
            region = "420902" if kind != "floating" else rng.choice(["421002", "420984", "421126", "420117"])
            is_floating = kind == "floating" and left_floating > 0
            if is_floating:
                left_floating -= 1
            adult = (TODAY - born).days > 18 * 365
            persons.append(Person(
                name=names.person(family), id_number=ids.make(born, sex, region), phone=_phone(rng, phones)
                if adult else None, ethnicity="01" if rng.random() < 0.97 else rng.choice(["03", "04", "08", "11"]),
                political_status="13" if rng.random() < 0.85 else rng.choice(["03", "12"]),
                residence_type="floating" if is_floating else ("resident" if kind == "resident" else "registered"),
                household=household, relation=relation,
                employer=rng.choice([None, None, "孝感市盐业公司", "孝南区文化馆", "个体经营", "退休"]) if adult else None))
    return persons


def _merchants(community, compounds, rng, names, phones, counts):
    from models.people.people import Merchant, credit_check_char
    from models.kernel.places import Road

    roads = db.session.scalars(select(Road).where(Road.community_id == community.id)).all()
    kinds = ["retail", "catering", "services", "repair", "medical", "education", "other"]
    shops = ["便利店", "早餐店", "理发店", "五金店", "药房", "水果店", "干洗店", "面馆", "超市", "文具店",
             "修车铺", "花店", "烟酒店", "培训中心", "眼镜店"]
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    merchants = []
    for i in range(MERCHANTS):
        road = roads[i % len(roads)]
        first17 = "92420902" + "".join(rng.choice(chars) for _ in range(9))
        merchants.append(Merchant(
            shop_name=f"{road.name}{rng.choice(shops)}{i + 1}号", owner_name=names.person(),
            phone=_phone(rng, phones), business_type=rng.choice(kinds),
            licence_no=first17 + credit_check_char(first17), road=road,
            compound=compounds[i % len(compounds)] if i % 3 == 0 else None,
            address=f"{road.name}{i * 3 + 1}号门面"))
    _save(merchants)
    counts["merchant"] += len(merchants)


def _staff(community, grids, users, names, rng, counts):
    from models.people.people import CADRE, GRID_WORKER, Staff

    staff = [Staff(name=users[f"grid{i + 1}"].get_full_name(), post=GRID_WORKER, title="member",
                   community=community, grid=grid, user=users[f"grid{i + 1}"], phone=f"0712-28{i:05d}")
             for i, grid in enumerate(grids)]
    titles = ["secretary", "director", "deputy_secretary", "deputy_director", "member", "member", "member", "member"]
    linked = {0: users["secretary"], 4: users["worker"]}
    for i, title in enumerate(titles):
        user = linked.get(i)
        staff.append(Staff(name=user.get_full_name() if user else names.person(), post=CADRE, title=title,
                           community=community, user=user, phone=f"0712-27{i:05d}"))
    _save(staff)
    counts["staff"] += len(staff)
    return staff


def _party_members(community, persons, households, rng, counts):
    from models.kernel.orgs import Organisation
    from models.people.people import ON_JOB, RETIRED, SINKING, PartyMember

    def org(name):
        return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()

    branches = [org("综合支部"), org("文化社区支部")]
    units = db.session.scalars(select(Organisation).where(
        Organisation.community_id == community.id,
        Organisation.type.in_(["resident_unit", "local_unit"]))).all()
    adults = [p for p in persons if (TODAY - p.birth_date).days > 20 * 365]
    by_household: dict = {}
    for person in adults:
        by_household.setdefault(person.household.id, []).append(person)
    total = sum(RESIDENT_MEMBERS) + N_ON_JOB + N_SINKING
    leaders = [rng.choice(by_household[h]) for h in rng.sample(sorted(by_household), CENTER_HOUSEHOLDS)]
    taken = {id(p) for p in leaders}
    chosen = leaders + rng.sample([p for p in adults if id(p) not in taken], total - len(leaders))
    rng.shuffle(chosen)
    members, center = [], 0
    plan = ([(branches[0], RETIRED)] * RESIDENT_MEMBERS[0] + [(branches[1], RETIRED)] * RESIDENT_MEMBERS[1]
            + [(branches[i % 2], ON_JOB) for i in range(N_ON_JOB)]
            + [(branches[i % 2], SINKING) for i in range(N_SINKING)])
    used_households = set()
    for person, (branch, category) in zip(chosen, plan):
        household = person.household
        leads = center < CENTER_HOUSEHOLDS and household.id not in used_households
        if leads:
            used_households.add(household.id)
            center += 1
        person.political_status = "01"
        members.append(PartyMember(
            person=person, branch=branch, status="full" if rng.random() < 0.95 else "probationary",
            joined_on=person.birth_date.replace(year=person.birth_date.year + rng.randint(19, 35)),
            category=category, employer_unit=rng.choice(units) if category != RETIRED else None,
            reported_on=datetime.date(2021, 3, 1) + datetime.timedelta(days=rng.randrange(0, 400))
            if category == SINKING else None,
            center_household=household if leads else None,
            commitment=rng.choice(["带头参与小区环境整治", "每月参加一次志愿服务", "帮扶一户困难家庭",
                                   "义务调解邻里矛盾", "为老人代买代办"])))
    _save(members)
    counts["party_member"] += len(members)
    return members


def _heads(compounds, persons, rng, counts):
    from models.people.people import Head
    from models.kernel.places import Building, Unit

    by_compound: dict = {}
    for person in persons:
        by_compound.setdefault(person.household.compound_id, []).append(person)
    heads = []
    for compound in compounds:
        people = [p for p in by_compound.get(compound.id, []) if (TODAY - p.birth_date).days > 25 * 365]
        pick = iter(rng.sample(people, min(len(people), 60)))
        # heads are posted publicly by name (上墙公示), with consent; phones with the compound head's
        heads.append(Head(level="compound", person=next(pick), compound=compound, publish_name=True,
                          publish_phone=True, since=datetime.date(2021, 6, 1)))
        buildings = db.session.scalars(select(Building).where(Building.compound_id == compound.id)
                                       .order_by(Building.id)).all()
        for b, building in enumerate(buildings):
            heads.append(Head(level="building", person=next(pick), compound=compound, building=building,
                              since=datetime.date(2021, 6, 1), publish_name=True, publish_phone=rng.random() < 0.5))
            units = db.session.scalars(select(Unit).where(Unit.building_id == building.id).order_by(Unit.id)).all()
            for u, unit in enumerate(units):
                # one unit head of every compound has not agreed to be named: posted as 张*
                heads.append(Head(level="unit", person=next(pick), compound=compound, building=building,
                                  unit=unit, since=datetime.date(2021, 6, 1), publish_name=(b, u) != (0, 0)))
    _save(heads)
    counts["head"] += len(heads)


def _liaison(community, user, rng):
    """The demo 结对单位联络员 liaises for 孝感市盐业公司 (a 驻社区单位)."""
    from models.kernel.orgs import Organisation, Position

    unit = db.session.scalars(select(Organisation).where(Organisation.name == "孝感市盐业公司")).one()
    domain.save(Position(organisation=unit, title="liaison", holder_name=user.get_full_name(), user=user),
                commit=False)


def _care(community, persons, staff, members, rng, counts, users):
    from models.people.care import CareGroup, Visit
    from models.people.people import SpecialGroup

    elderly = [p for p in persons if (TODAY - p.birth_date).days > 65 * 365 and p.party_membership is None]
    chosen = rng.sample(elderly, sum(SPECIAL.values()))
    groups, tags = [], []
    on_job = [m for m in members if m.category == "on_job"]
    sinking = [m for m in members if m.category == "sinking"]
    grid_staff = {s.grid_id: s for s in staff if s.grid_id}
    index = 0
    for kind, count in SPECIAL.items():
        for _ in range(count):
            person = chosen[index]
            index += 1
            tags.append(SpecialGroup(
                person=person, type=kind, since=datetime.date(2020, 1, 1) + datetime.timedelta(days=index * 11),
                category=rng.choice(["physical", "visual", "hearing"]) if kind == "disabled" else None,
                level=rng.choice(["2", "3", "4"]) if kind == "disabled" else None,
                details={"subsistence": "享受城市低保", "empty_nest": "子女在外地工作"}.get(kind)))
    _save(tags)
    counts["special_group"] += len(tags)
    for tag in tags:
        person = tag.person
        groups.append(CareGroup(person=person, staff=[grid_staff[person.household.grid_id]],
                                members=[rng.choice(on_job), rng.choice(sinking)]))
    # the demo volunteer signs in as one sinking member, who cares for a few residents
    volunteer = sinking[0]
    volunteer.user = users["volunteer"]
    for group in groups[:3]:
        if volunteer not in group.members:
            group.members.append(volunteer)
    _save(groups)
    domain.save(volunteer, commit=False)
    counts["care_group"] += len(groups)
    visits = []
    modes = ["home", "home", "home", "phone", "video"]
    for n, group in enumerate(groups):
        every = 7 if group.person.special_groups[0].type in ("empty_nest", "living_alone") else 14
        # most are visited on time; every seventh resident's visits stopped a while ago (overdue)
        stop = 40 if n % 7 == 0 else rng.randrange(0, every)
        day = TODAY - datetime.timedelta(days=120)
        while day <= TODAY - datetime.timedelta(days=stop):
            visitor = rng.random()
            visits.append(Visit(
                person=group.person, care_group=group, visited_on=day, mode=rng.choice(modes),
                staff=group.staff if visitor < 0.6 else [], members=group.members[:1] if visitor >= 0.6 else [],
                findings=rng.choice(["身体状况良好", "血压偏高，已提醒按时服药", "家中水管漏水，已联系维修",
                                     "情绪低落，多陪伴聊天", "独自在家，一切正常"]),
                assessment=rng.choices(["normal", "attention", "urgent"], [85, 13, 2])[0]))
            day += datetime.timedelta(days=max(1, every - rng.randrange(0, 3)))
    _save(visits)
    counts["visit"] += len(visits)
