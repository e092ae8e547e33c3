"""The demo: 广场街道, 文化路社区 with the case study's figures, and a second small
community (槐荫社区) so that data scope can be seen working. People's names are
synthetic. Idempotent: every row is looked up by its natural key first.

Figures reproduced (GLOSSARY.md): 7 roads, 6 grids, 57 compounds (28 三无, 4 有物业,
17 单位自建, 8 自建房), 136 buildings, 274 units, 49 red stations (one per compound of
the three station types), 大党委 of 14, 党总支 with 综合支部 (71) and 文化社区支部 (41),
6 网格党支部, 57 楼栋党小组, the five committees, 4 业委会, 27 自管委, 3 驻社区单位,
4 辖区单位, 蓓蕾幼儿园, 市妇幼保健院, the health station, 5 volunteer teams.
"""
from __future__ import annotations

import datetime
from collections import Counter

from sqlalchemy import select

from app import clock, domain
from app.extensions import db

PASSWORD = "Hongse@2026"

STREET = {"name": "广场街道", "code": "420902003", "address": "孝感市孝南区广场街道"}
COMMUNITY = {"name": "文化路社区", "code": "420902003006", "area_km2": 0.3, "households": 3430,
             "population": 12250, "address": "孝感市孝南区园林小区盐业公司旁",
             "phone": "0712-0000001"}
SECOND = {"name": "槐荫社区", "code": "420902003007", "area_km2": 0.2, "households": 1200,
          "population": 4100, "address": "孝感市孝南区槐荫大道", "phone": "0712-0000002"}
ROADS = ["城站路", "文化路", "园林路", "园林二路", "槐荫大道", "水利巷", "园北路"]
GRIDS = [f"第{n}网格" for n in "一二三四五六"]

# 57 compounds: (name, type). Named ones come from the case study; the rest are
# plausible but synthetic addresses.
_NAMED = [("建材宿舍", "sanwu"), ("种子公司宿舍", "sanwu"), ("燃料公司宿舍", "unit_built"),
          ("物资小区", "sanwu"), ("宇辉星城", "property"), ("盐业公司宿舍", "unit_built")]


def _compounds() -> list[tuple[str, str]]:
    wanted = Counter({"sanwu": 28, "property": 4, "unit_built": 17, "self_built": 8})
    result = list(_NAMED)
    for _name, kind in _NAMED:
        wanted[kind] -= 1
    n = 1
    plan = (["property"] * wanted["property"] + ["unit_built"] * wanted["unit_built"]
            + ["self_built"] * wanted["self_built"] + ["sanwu"] * wanted["sanwu"])
    suffix = {"sanwu": "院", "property": "花园", "unit_built": "宿舍", "self_built": "自建房片"}
    for kind in plan:
        road = ROADS[n % len(ROADS)]
        result.append((f"{road}{n * 2 + 1}号{suffix[kind]}", kind))
        n += 1
    return result


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "红梅", "国华", "丽娟", "文斌", "淑珍",
         "晓东", "春花", "德明", "玉兰", "俊杰", "雪梅", "振华", "美玲", "永强", "慧敏"]


def person_name(i: int) -> str:
    return SURNAMES[(i * 7) % len(SURNAMES)] + GIVEN[(i * 3) % len(GIVEN)]


ACCOUNTS = [
    {"username": "sysadmin", "role": "系统管理员", "kind": "all", "node": None},
    {"username": "secadmin", "role": "安全管理员", "kind": "all", "node": None},
    {"username": "auditor", "role": "审计管理员", "kind": "all", "node": None},
    {"username": "street", "role": "街道管理员", "kind": "all", "node": "street"},
    {"username": "secretary", "role": "社区书记/主任", "kind": "community", "node": "community"},
    {"username": "worker", "role": "社区工作者", "kind": "community", "node": "community"},
    {"username": "grid1", "role": "网格员", "kind": "grid", "node": "grid:0"},
    {"username": "partner", "role": "结对单位联络员", "kind": "self", "node": "community"},
    {"username": "volunteer", "role": "党员志愿者", "kind": "self", "node": "community"},
    {"username": "leader", "role": "领导查看", "kind": "all", "node": "street"},
    # more grid workers (AB角 of every grid) and a worker of the second community
    *[{"username": f"grid{n}", "role": "网格员", "kind": "grid", "node": f"grid:{n - 1}"}
      for n in range(2, 7)],
    {"username": "worker2", "role": "社区工作者", "kind": "community", "node": "second"},
]


class Loader:
    def __init__(self):
        self.counts: Counter = Counter()
        self.session = db.session

    def get_or_create(self, model, lookup: dict, **values):
        obj = self.session.scalars(select(model).filter_by(**lookup)).first()
        if obj is not None:
            return obj
        obj = model(**lookup, **values)
        domain.save(obj, commit=False)
        self.counts[model.__tablename__] += 1
        return obj


def load(people: bool = True, today: datetime.date | None = None) -> dict:
    from models.kernel.places import Building, Community, Compound, Grid, Road, Station, Street, Unit

    ld = Loader()
    street = ld.get_or_create(Street, {"name": STREET["name"]},
                              **{k: v for k, v in STREET.items() if k != "name"})
    community = ld.get_or_create(Community, {"street": street, "name": COMMUNITY["name"]},
                                 **{k: v for k, v in COMMUNITY.items() if k != "name"})
    second = ld.get_or_create(Community, {"street": street, "name": SECOND["name"]},
                              **{k: v for k, v in SECOND.items() if k != "name"})
    roads = {name: ld.get_or_create(Road, {"community": community, "name": name}) for name in ROADS}
    ld.get_or_create(Road, {"community": second, "name": "槐荫大道"})

    grids = [ld.get_or_create(Grid, {"community": community, "code": f"WHL-{i + 1:02d}"}, name=name)
             for i, name in enumerate(GRIDS)]
    second_grids = [ld.get_or_create(Grid, {"community": second, "code": f"HY-{i + 1:02d}"},
                                     name=f"第{'一二'[i]}网格") for i in range(2)]

    users = _users(ld, street, community, second, grids)
    for i, grid in enumerate(grids):
        if grid.primary_worker is None:
            grid.primary_worker = users[f"grid{i + 1}"]
            grid.backup_worker = users[f"grid{(i + 1) % 6 + 1}"]
            domain.save(grid, commit=False)

    # compounds, buildings (136), units (274), stations (49)
    compounds = []
    plan = _compounds()
    total_buildings, total_units = 136, 274
    for i, (name, kind) in enumerate(plan):
        grid = grids[i % len(grids)]
        road = roads[ROADS[i % len(ROADS)]]
        compound = ld.get_or_create(
            Compound, {"community": community, "name": name}, grid=grid, type=kind,
            build_year=1982 + (i * 7) % 30, address=f"{road.name}{i * 2 + 1}号",
            households=40 + (i * 13) % 90, roads=[road],
            owner_unit=name.replace("宿舍", "") if kind == "unit_built" else None)
        compounds.append(compound)
    # 136 buildings: 2 per compound (114) + 22 compounds with a third
    for i, compound in enumerate(compounds):
        count = 3 if i < total_buildings - 2 * len(compounds) else 2
        for b in range(count):
            ld.get_or_create(Building, {"compound": compound, "name": f"{b + 1}栋"},
                             floors=6 if compound.type != "self_built" else 3,
                             households=12 + (i + b) % 12)
    db.session.flush()
    buildings = db.session.scalars(select(Building).where(Building.community_id == community.id)
                                   .order_by(Building.id)).all()
    # 274 units: 2 per building (272) + a third unit in the first 2 buildings
    for i, building in enumerate(buildings):
        count = 3 if i < total_units - 2 * len(buildings) else 2
        for u in range(count):
            ld.get_or_create(Unit, {"building": building, "name": f"{u + 1}单元"}, households=6)
    for i, compound in enumerate(compounds):
        if compound.type in ("sanwu", "unit_built", "property"):
            ld.get_or_create(Station, {"compound": compound}, name=f"{compound.name}红色驿站",
                             room=f"{compound.name}1栋一楼活动室",
                             opened_on=datetime.date(2020, 11, 1) + datetime.timedelta(days=i * 9))

    # a little of the second community, so that scope shows
    hy = ld.get_or_create(Compound, {"community": second, "name": "槐荫新村"}, grid=second_grids[0],
                          type="sanwu", build_year=1990, households=60)
    ld.get_or_create(Building, {"compound": hy, "name": "1栋"}, floors=6, households=24)
    ld.get_or_create(Compound, {"community": second, "name": "槐荫花园"}, grid=second_grids[1],
                     type="property", build_year=2005, households=200)

    _organisations(ld, street, community, second, grids, compounds)
    if people:
        from seed import people as people_seed

        people_seed.load(community, grids, compounds, users, ld.counts)
        db.session.commit()
        from seed import service as service_seed

        service_seed.load(community, grids, compounds, users, ld.counts, today=today)
        from seed import volunteers as volunteers_seed

        volunteers_seed.load(community, compounds, users, ld.counts, today=today)
        from seed import honours as honours_seed

        end = clock.now() if today in (None, clock.today()) else datetime.datetime.combine(today, datetime.time(18))
        honours_seed.load(community, users, ld.counts, end)
        from seed import cobuilding as cobuilding_seed

        cobuilding_seed.load(community, users, ld.counts, end)
    db.session.commit()
    return dict(sorted(ld.counts.items()))


def _users(ld, street, community, second, grids) -> dict:
    sm = _sm()
    users = {}
    nodes = {"street": street, "community": community, "second": second}
    for i, row in enumerate(ACCOUNTS):
        user = sm.find_user(username=row["username"])
        node = nodes.get(row["node"]) if row["node"] and not row["node"].startswith("grid:") else (
            grids[int(row["node"].split(":")[1])] if row["node"] else None)
        if user is None:
            role = sm.find_role(row["role"])
            name = person_name(100 + i)
            user = sm.add_user(row["username"], name[1:], name[0], f"{row['username']}@demo.invalid",
                               [role], password=PASSWORD)
            # the password is published: outside DEMO_MODE it must be changed first
            from app import passwords

            passwords.remember(user, user.password, seeded=True)
            user.must_change_password = True
            ld.counts["ab_user"] += 1
        if user.scope_node is None and row["node"] or user.scope_kind != row["kind"]:
            user.set_scope(row["kind"], node)
        users[row["username"]] = user
    db.session.flush()
    return users


def _sm():
    from flask import current_app

    return current_app.appbuilder.sm


def _organisations(ld, street, community, second, grids, compounds):
    from models.kernel.orgs import Organisation, Position

    def org(name, type_, parent=None, **values):
        return ld.get_or_create(Organisation, {"parent": parent, "name": name}, type=type_, **values)

    gw = org("广场街道党工委", "street_committee", street=street)
    big = org("文化路社区大党委", "community_party_committee", gw, community=community, members=14)
    zongzhi = org("文化社区党总支", "general_branch", big, community=community, members=112)
    org("综合支部", "party_branch", zongzhi, community=community, members=71)
    org("文化社区支部", "party_branch", zongzhi, community=community, members=41)
    org("文化路社区居民委员会", "residents_committee", big, community=community)
    org("文化路社区党员服务中心", "service_center", big, community=community)
    for name, code in [("居民议事协商委员会", "consultation_committee"),
                       ("人民调解委员会", "mediation_committee"),
                       ("治安保卫委员会", "security_committee"),
                       ("公共卫生委员会", "health_committee"),
                       ("环境和物业管理委员会", "environment_committee")]:
        org(f"文化路社区{name}", code, big, community=community)
    branches = [org(f"{grid.name}党支部", "grid_branch", big, community=community, grid=grid)
                for grid in grids]
    sanwu_seen = 0
    for i, compound in enumerate(compounds):
        branch = branches[grids.index(compound.grid)]
        org(f"{compound.name}党小组", "party_group", branch, community=community, compound=compound,
            contact=person_name(i), members=3 + i % 6)
        if compound.type == "property":
            org(f"{compound.name}业主委员会", "owners_committee", big, community=community,
                compound=compound, contact=person_name(200 + i))
            org(f"{compound.name}物业服务中心", "property_company", None, community=community,
                compound=compound, contact=person_name(300 + i))
        elif compound.type == "sanwu" and sanwu_seen < 27:
            sanwu_seen += 1
            org(f"{compound.name}自管委", "self_management", big, community=community,
                compound=compound, contact=person_name(400 + i))
    for n, name in enumerate(["孝感市盐业公司", "孝感市物资公司", "孝感市燃料公司"]):
        org(name, "resident_unit", None, community=community, contact=person_name(500 + n))
    for n, name in enumerate(["孝感市董永公园", "孝南区文化馆", "孝南区税务分局", "孝感市供电公司城区营业部"]):
        org(name, "local_unit", None, community=community, contact=person_name(510 + n))
    org("蓓蕾幼儿园", "school", None, community=community)
    org("孝感市妇幼保健院", "hospital", None, community=community)
    org("文化路社区卫生服务站", "health_station", None, community=community)
    for n, name in enumerate(["清洁家园志愿服务队", "好邻里志愿服务队", "小区治安志愿服务队",
                              "文明劝导志愿服务队", "小小志愿者服务队"]):
        org(name, "volunteer_team", big, community=community, members=14, contact=person_name(520 + n))
    # the second community, briefly
    big2 = org("槐荫社区大党委", "community_party_committee", gw, community=second, members=9)
    org("槐荫社区居民委员会", "residents_committee", big2, community=second)

    # 大党委: 14 members
    titles = ["secretary", "deputy_secretary", "deputy_secretary"] + ["member"] * 11
    for i, title in enumerate(titles):
        name = person_name(600 + i)
        existing = db.session.scalars(select(Position).where(Position.organisation_id == big.id,
                                                             Position.holder_name == name)).first()
        if existing is None:
            domain.save(Position(organisation=big, title=title, holder_name=name,
                                 phone=f"1390712{i:04d}", since=datetime.date(2021, 3, 1)), commit=False)
            ld.counts["position"] += 1
