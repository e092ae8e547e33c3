"""The demo's co-building (the case study's 协同单位联建力 and 众筹三方资源): the partner
units' pledge projects with milestones, party members' public pledges, and funds of
stations and projects with contributions from residents and units and expenditures.

Everything goes through the domain (``domain.save``), on a clock set to its day, so
statuses, progress and balances are what the office would hold.
"""
from __future__ import annotations

import datetime
import random
from decimal import Decimal

from sqlalchemy import func, select

from app import clock, domain
from app.extensions import db

#: (title, signatory unit, compound, content, months before today pledged, months to run,
#:  budget, milestones done: how many of the three)
PROJECTS = [
    ("种子公司宿舍车棚垃圾清运", "孝南区税务分局", "种子公司宿舍", "清运车棚内堆积多年的垃圾杂物，修补车棚顶棚，恢复停车功能。",
     14, 3, "18000.00", 3),
    ("燃料公司宿舍大门改造", "孝感市燃料公司", "燃料公司宿舍", "拆除破损铁门，新建电动伸缩门和门卫室，安装门禁。", 12, 4,
     "56000.00", 3),
    ("物资小区化粪池吸污及下水疏通", "孝感市物资公司", "物资小区", "吸污清理化粪池，疏通主下水管道，更换破损井盖。", 8, 2,
     "23500.00", 3),
    ("建材宿舍白蚁防治", "孝感市董永公园", "建材宿舍", "对建材宿舍楼道木质构件和绿化带开展白蚁普查和灭治，一年内复查两次。", 5, 8,
     "12800.00", 1),
    ("宇辉星城消防设施改造", "孝感市供电公司城区营业部", "宇辉星城",
     "四方联动会议议定：更换消防管网和消防栓，修复消防控制室，涉及金额20余万元。", 10, 6, "206000.00", 2),
    ("盐业公司宿舍路灯安装", "孝感市盐业公司", "盐业公司宿舍", "小区主干道安装太阳能路灯12盏。", 4, 1, "9600.00", 1),
]
MILESTONES = ["现场勘查与方案", "施工实施", "验收与居民评议"]
MEMBER_PLEDGES = ["每月到社区报到一次，参加志愿服务不少于4小时", "结对帮扶一户特殊群体家庭，每月走访两次",
                  "认领并办结群众“微心愿”两件", "参与小区夜间治安巡逻，每季度不少于3次"]


def _months(day: datetime.date, n: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, min(day.day, 28))


def load(community, users, counts, end: datetime.datetime) -> None:
    from models.cobuilding.pledges import PledgeProject

    if db.session.scalar(select(func.count()).select_from(PledgeProject)
                         .where(PledgeProject.community_id == community.id)):
        return
    rng = random.Random(20220331 + 9)
    today = end.date()
    projects = _projects(community, today)
    counts["pledge_project"] += len(projects)
    counts["member_pledge"] += _member_pledges(community, rng, today)
    counts["fund"] += _funds(community, projects, users, rng, today)
    counts["meeting"] += _meetings(community, users, today)
    counts["contact_card"] += _cards(community)
    counts["duty_slot"] += _stations(community)
    counts["policy_guide"] += _guides(community)
    counts["window_service"] += _window(community, rng, today)
    counts["mediation_case"] += _mediation(community, today)
    counts["assessment"] += _assessments(community, rng, today)
    db.session.commit()


def _projects(community, today) -> list:
    from models.cobuilding.pledges import Milestone, PledgeProject
    from models.kernel.orgs import Organisation
    from models.kernel.places import Compound

    made = []
    for title, unit_name, compound_name, content, back, months, budget, done in PROJECTS:
        unit = db.session.scalars(select(Organisation).where(Organisation.name == unit_name)).one()
        compound = db.session.scalars(select(Compound).where(Compound.community_id == community.id,
                                                             Compound.name == compound_name)).one()
        pledged = _months(today, -back)
        due = _months(pledged, months)
        with clock.frozen(datetime.datetime.combine(pledged, datetime.time(10))):
            project = domain.save(PledgeProject(unit=unit, community=community, compound=compound, title=title,
                                                content=content, pledged_on=pledged, due_on=due,
                                                budget=Decimal(budget)))
            span = (due - pledged).days
            steps = [domain.save(Milestone(project=project, title=name, weight=(1, 3, 1)[i],
                                           due_on=pledged + datetime.timedelta(days=span * (i + 1) // 3)))
                     for i, name in enumerate(MILESTONES)]
        for step in steps[:done]:
            on = min(step.due_on - datetime.timedelta(days=3), today)
            with clock.frozen(datetime.datetime.combine(max(on, pledged), datetime.time(16))):
                step.done_on = max(on, pledged)
                step.evidence = "已完成，网格员现场核实，居民代表签字确认"
                domain.save(step)
        made.append(project)
    from models.cobuilding.pledges import sweep

    with clock.frozen(datetime.datetime.combine(today, datetime.time(8))):
        sweep()
    return made


def _member_pledges(community, rng, today) -> int:
    from models.cobuilding.pledges import KEPT, MemberPledge, PledgeRecord
    from models.people.people import PartyMember

    members = db.session.scalars(select(PartyMember).where(PartyMember.community_id == community.id,
                                                           PartyMember.employer_unit_id.is_not(None))
                                 .order_by(PartyMember.id).limit(24)).all()
    start = datetime.date(today.year, 1, 1)
    made = 0
    for n, member in enumerate(members):
        pledge = domain.save(MemberPledge(member=member, period_start=start, period_end=datetime.date(today.year, 12, 31),
                                          content=MEMBER_PLEDGES[n % len(MEMBER_PLEDGES)]))
        for k in range(rng.randint(0, 4)):
            on = start + datetime.timedelta(days=rng.randint(0, max((today - start).days, 1)))
            domain.save(PledgeRecord(pledge=pledge, done_on=min(on, today), what="按承诺参加社区服务，已记录"))
        if len(pledge.records) >= 3:
            pledge.status = KEPT
            domain.save(pledge)
        made += 1
    return made


def _funds(community, projects, users, rng, today) -> int:
    """A fund for 宇辉星城's station (residents' own money and units), and one per project
    with a budget paid by its unit; some money spent, every balance ≥ 0."""
    from models.cobuilding.pledges import Contribution, Expenditure, Fund
    from models.kernel.orgs import Organisation
    from models.people.people import Person
    from models.kernel.places import Station

    approver = users["secretary"].get_full_name()
    made = 0
    stations = db.session.scalars(select(Station).where(Station.community_id == community.id)
                                  .order_by(Station.id)).all()
    for station in stations[:6]:
        fund = domain.save(Fund(name=f"{station.name}建设资金", community=community, station=station,
                                purpose="红色驿站阵地布置、议事设施添置和小区环境改善（居民自筹为主，单位共筹）"))
        residents = db.session.scalars(select(Person).where(Person.compound_id == station.compound_id)
                                       .order_by(Person.id).limit(12)).all()
        for i, person in enumerate(residents):
            domain.save(Contribution(fund=fund, source="residents", person=person,
                                     amount=Decimal(rng.choice(["50.00", "100.00", "200.00", "80.50"])),
                                     received_on=today - datetime.timedelta(days=200 - i * 7),
                                     receipt_no=f"SJ{fund.id:03d}{i + 1:03d}"))
        unit = db.session.scalars(select(Organisation).where(Organisation.type == "resident_unit")
                                  .order_by(Organisation.id)).first()
        domain.save(Contribution(fund=fund, source="resident_unit", organisation=unit, amount=Decimal("2000.00"),
                                 received_on=today - datetime.timedelta(days=120), receipt_no=f"SJ{fund.id:03d}900"))
        domain.save(Expenditure(fund=fund, purpose="购置议事桌椅和党建宣传展板", amount=Decimal("1280.00"),
                                spent_on=today - datetime.timedelta(days=90), approver=approver,
                                voucher_no=f"ZC{fund.id:03d}001"))
        made += 1
    for project in projects:
        fund = domain.save(Fund(name=f"{project.title}项目资金", community=community, project=project,
                                purpose=project.content))
        domain.save(Contribution(fund=fund, source="partner", organisation=project.unit, amount=project.budget,
                                 received_on=project.pledged_on, receipt_no=f"GJ{project.id:03d}"))
        done = sum(1 for m in project.milestones if m.done_on is not None)
        if done:
            spent = (project.budget * Decimal(done) / Decimal(3)).quantize(Decimal("0.01"))
            domain.save(Expenditure(fund=fund, purpose=f"{project.title}（已完成 {done}/3 步）", amount=spent,
                                    spent_on=min(today, max(m.done_on for m in project.milestones if m.done_on)),
                                    approver=approver, voucher_no=f"ZC-GJ{project.id:03d}"))
        made += 1
    return made


#: 宇辉星城's 10-person group: grid workers, sinking party members, the owners' committee
#: and the property company's representatives
GROUP = "网格员周敏、网格员陈刚、下沉党员王建国、下沉党员李秀英、下沉党员张伟、业委会主任刘志强、业委会委员赵丽、" \
        "物业经理孙海涛、物业客服吴静、居民代表郑大勇"
#: (months ago (None: the room's opening, 2020-11), subject, agenda, decisions: (content, class, owner type, days to do, done?))
MEETINGS = [
    (None, "四方联动会议室启用暨首次联席会议", "业委会办公室改建为四方联动会议室；建立10人劝导小组",
     [("组建10人小组，对小区不文明行为进行劝导", "long_term", "residents_committee", 30, True)]),
    (10, "消防设施改造议定", "消防管网老化、消防栓损坏，物业与业委会对费用分担有争议",
     [("消防设施改造由结对单位共建，物业配合施工，业委会监督", "urgent", "property_company", 150, False),
      ("每月在四方联动会议通报改造进度", "long_term", "owners_committee", 60, True)]),
    (2, "小区停车秩序和电动车充电", "楼道电动车充电隐患；地面停车位不足",
     [("物业在3号楼旁加装电动车集中充电桩", "urgent", "property_company", 45, False),
      ("网格党支部组织党员夜间劝导楼道充电", "long_term", "grid_branch", 90, False)]),
]


def _meetings(community, users, today) -> int:
    """宇辉星城's four-party meetings (the room since 2020-11): decisions owned by the
    parties, some carried out, some open, one overdue; all signed but the latest."""
    from models.cobuilding.meetings import AgendaItem, Decision, Meeting, close, complete_decision, linkage_parties, sign
    from models.kernel.places import Compound, Station

    compound = db.session.scalars(select(Compound).where(Compound.community_id == community.id,
                                                         Compound.name == "宇辉星城")).one()
    station = db.session.scalars(select(Station).where(Station.compound_id == compound.id)).first()
    parties = linkage_parties(compound)
    secretary = users["secretary"]
    for months, title, agenda, decisions in MEETINGS:
        held = datetime.datetime(2020, 11, 18, 15) if months is None else \
            datetime.datetime.combine(_months(today, -months), datetime.time(15))
        with clock.frozen(held):
            meeting = domain.save(Meeting(type="four_party", title=f"宇辉星城{title}", community=community,
                                          station=station, compound=compound, held_at=held,
                                          place="宇辉星城四方联动会议室（原业委会办公室）", parties=parties,
                                          attendees=GROUP, minutes=f"<p>会议议定：{agenda}。</p>"))
            domain.save(AgendaItem(meeting=meeting, title=agenda))
            made = []
            for content, kind, owner_type, days, done in decisions:
                owner = next(p for p in parties if p.type == owner_type)
                made.append((domain.save(Decision(meeting=meeting, content=content, decision_class=kind, owner=owner,
                                                  due_on=held.date() + datetime.timedelta(days=days))), done))
        for decision, done in made:
            if done:
                with clock.frozen(held + datetime.timedelta(days=20)):
                    complete_decision(decision, secretary, result="已按决议落实，四方联动会议通报")
        if months is None or months > 2:
            with clock.frozen(held + datetime.timedelta(hours=2)):
                for party in parties:
                    sign(meeting, party, secretary, signed_by=f"{party.name}代表")
                close(meeting, secretary)
    from models.cobuilding.meetings import sweep

    with clock.frozen(datetime.datetime.combine(today, datetime.time(8))):
        sweep()
    return len(MEETINGS)


#: 管片民警 of the community's police station (one per two grids)
POLICE = [("李警官", "0712-2361101"), ("王警官", "0712-2361102"), ("陈警官", "0712-2361103")]


def _cards(community) -> int:
    """A 便民服务一卡明 card for every compound of the community."""
    from models.kernel.places import Compound, Station
    from models.cobuilding.stations import ContactCard

    with_station = set(db.session.scalars(select(Station.compound_id).where(Station.community_id == community.id)))
    compounds = db.session.scalars(select(Compound).where(Compound.community_id == community.id)
                                   .order_by(Compound.id)).all()
    cards = []
    for i, compound in enumerate(compounds):
        name, phone = POLICE[(compound.grid_id or i) % len(POLICE)]
        cards.append(ContactCard(compound=compound, police_name=name, police_phone=phone, power_repair="95598",
                                 water_repair="0712-2826666",
                                 duty_hours="工作日 9:00–11:30 社区工作者在红色驿站坐班；周六上午网格员值守"
                                 if compound.id in with_station else "工作日 8:30–17:30 到社区党群服务中心办理"))
    domain.save_many(cards)
    return len(cards)


CHARTERS = [("红色驿站议事规则", "议题征集、会前公示、协商表决、结果公开"),
            ("联动各方职责清单", "居委会、党组织、业委会或自管委、物业各方的职责和联系人")]


def _stations(community) -> int:
    """Every station's 阵地 area, its two rules, and a roster: each station has a cadre on
    one half-day a week (no cadre in two places at once) and its grid worker on Saturday."""
    from models.people.people import CADRE, GRID_WORKER, Staff
    from models.kernel.places import Station
    from models.cobuilding.stations import DutySlot, StationCharter

    stations = db.session.scalars(select(Station).where(Station.community_id == community.id)
                                  .order_by(Station.id)).all()
    cadres = db.session.scalars(select(Staff).where(Staff.community_id == community.id, Staff.post == CADRE)
                                .order_by(Staff.id)).all()
    workers = {s.grid_id: s for s in db.session.scalars(select(Staff).where(
        Staff.community_id == community.id, Staff.post == GRID_WORKER))}
    saturday: dict = {}
    slots = []
    for i, station in enumerate(stations):
        station.area = 20 + (i * 7) % 40
        domain.save(station)
        for title, summary in CHARTERS:
            domain.save(StationCharter(station=station, title=title, summary=summary,
                                       adopted_on=station.opened_on or datetime.date(2021, 1, 1)))
        morning = (i // (len(cadres) * 5)) == 0
        slots.append(DutySlot(station=station, staff=cadres[i % len(cadres)], weekday=str((i // len(cadres)) % 5),
                              starts="09:00" if morning else "14:30", ends="11:30" if morning else "17:00",
                              task="社区业务一站办、接待群众"))
        worker = workers.get(station.grid_id)
        if worker is not None:
            hour = 8 + saturday.get(worker.id, 0)  # one station after another on Saturday
            saturday[worker.id] = saturday.get(worker.id, 0) + 1
            if hour < 20:
                slots.append(DutySlot(station=station, staff=worker, weekday="5", starts=f"{hour:02d}:00",
                                      ends=f"{hour:02d}:50", task="网格员值守"))
    for slot in slots:
        domain.save(slot)
    return len(slots)


#: a dozen policy guides: (category, title, content, materials, where and when)
GUIDES = [
    ("civil_affairs", "城乡居民最低生活保障（低保）申请", "家庭人均收入低于当地低保标准、且家庭财产符合规定的居民，可申请低保。",
     "户口簿\n身份证\n家庭收入证明\n银行卡", "社区党群服务中心民政窗口，工作日 8:30–17:30"),
    ("civil_affairs", "特困人员救助供养", "无劳动能力、无生活来源、无法定赡养抚养扶养义务人的老年人、残疾人和未成年人可申请。",
     "户口簿\n身份证\n残疾证（如有）", "社区民政窗口"),
    ("civil_affairs", "临时救助", "因火灾、交通事故、突发重大疾病等导致基本生活暂时困难的家庭可申请临时救助。",
     "身份证\n困难情况说明\n相关证明材料", "社区民政窗口"),
    ("elderly", "80周岁以上高龄津贴", "年满80周岁的本市户籍老人，按月发放高龄津贴。", "户口簿\n身份证\n银行卡",
     "社区民政窗口，工作日上午"),
    ("disability", "残疾人证办理", "符合残疾标准的居民可申请办理第二代残疾人证，享受相关补贴。", "户口簿\n身份证\n近期二寸照片\n病历资料",
     "社区残联专干，每周二、四上午"),
    ("disability", "困难残疾人生活补贴和重度残疾人护理补贴", "低保家庭中的残疾人、一级二级重度残疾人可申请补贴。",
     "残疾人证\n户口簿\n银行卡", "社区残联专干"),
    ("medical_insurance", "城乡居民基本医疗保险参保缴费", "未参加职工医保的城乡居民，每年集中缴费期内办理参保缴费。",
     "身份证或户口簿", "社区医保窗口，或手机“楚税通”缴费"),
    ("medical_insurance", "门诊慢特病待遇申请", "患高血压、糖尿病等门诊慢特病的参保人可申请门诊待遇。", "身份证\n医保卡\n诊断证明及病历",
     "社区医保窗口"),
    ("social_security", "城乡居民基本养老保险参保", "年满16周岁、未参加职工养老保险的城乡居民可参保。", "身份证\n户口簿",
     "社区社保窗口，工作日 8:30–17:30"),
    ("family_planning", "计划生育家庭特别扶助", "独生子女伤残或死亡家庭的夫妻，符合条件的可申请特别扶助金。",
     "户口簿\n身份证\n独生子女证\n相关证明", "社区计生专干"),
    ("employment", "就业困难人员认定和灵活就业社保补贴", "就业困难人员灵活就业后可申请社会保险补贴。", "身份证\n就业创业证\n缴费凭证",
     "社区就业服务窗口"),
    ("housing", "公共租赁住房申请", "住房困难的低收入家庭和新就业无房职工可申请公共租赁住房。", "户口簿\n身份证\n收入证明\n住房情况证明",
     "社区住房保障窗口"),
]


def _guides(community) -> int:
    from models.cobuilding.guides import PolicyGuide

    domain.save_many([PolicyGuide(community=community, category=c, title=t, content=f"<p>{body}</p>",
                                  materials=materials, where_when=where, contact="文化路社区党群服务中心 0712-2345678")
                      for c, t, body, materials, where in GUIDES])
    return len(GUIDES)


def _window(community, rng, today) -> int:
    """A year of the one-stop window: about 60 matters a month, most done in one visit."""
    from models.cobuilding.guides import WindowService
    from models.people.people import CADRE, Person, Staff

    handlers = db.session.scalars(select(Staff).where(Staff.community_id == community.id, Staff.post == CADRE)
                                  .order_by(Staff.id)).all()
    people = db.session.scalars(select(Person).where(Person.community_id == community.id,
                                                     Person.birth_date < today - datetime.timedelta(days=18 * 366))
                                .order_by(Person.id).limit(500)).all()
    kinds = ["certificate", "social_security", "medical_insurance", "subsistence", "disability", "family_planning",
             "elderly", "other"]
    rows = []
    for day in range(365):
        served = today - datetime.timedelta(days=day)
        if served.weekday() >= 5:
            continue
        for _ in range(rng.randint(1, 4)):
            visits = 1 if rng.random() < 0.88 else rng.randint(2, 3)
            rows.append(WindowService(community=community, service_type=rng.choice(kinds), person=rng.choice(people),
                                      handler=rng.choice(handlers), served_on=served, visits=visits,
                                      result="已办结" if visits == 1 else "补齐材料后办结",
                                      satisfaction=rng.choice("55554443")))
    domain.save_many(rows, chunk=500)
    return len(rows)


#: 宇辉星城's five mediated disputes and two elsewhere
DISPUTES = [
    ("宇辉星城", "property", "业主与物业因物业费和公共收益公开问题发生争执", "agreed", "物业公示近三年公共收益，业主补缴物业费"),
    ("宇辉星城", "leak", "楼上卫生间漏水殃及楼下住户", "agreed", "楼上住户承担维修费用，三日内完成防水"),
    ("宇辉星城", "parking", "地下车库车位占用纠纷", "agreed", "按车位登记重新划线，违规占用者移车"),
    ("宇辉星城", "neighbour", "楼道堆放杂物引发邻里争吵", "agreed", "双方清理杂物，签订文明公约"),
    ("宇辉星城", "property", "业委会与物业就消防设施维修责任争议", "agreed", "四方联动会议议定，由共建项目实施改造"),
    ("建材宿舍", "family", "老人赡养费分担家庭纠纷", "mediating", None),
    ("种子公司宿舍", "neighbour", "楼栋公共区域种菜引发纠纷", "failed", "双方未能达成一致，告知可申请人民调解委员会调解"),
]


def _mediation(community, today) -> int:
    from models.cobuilding.mediation import MediationCase
    from models.kernel.places import Compound

    made = 0
    for i, (compound_name, kind, summary, status, agreement) in enumerate(DISPUTES):
        compound = db.session.scalars(select(Compound).where(Compound.community_id == community.id,
                                                             Compound.name == compound_name)).one()
        applied = today - datetime.timedelta(days=400 - i * 50)
        closed = applied + datetime.timedelta(days=12) if status != "mediating" else None
        with clock.frozen(datetime.datetime.combine(closed or applied, datetime.time(10))):
            domain.save(MediationCase(community=community, compound=compound, dispute_type=kind, summary=summary,
                                      parties=f"{compound_name}{i + 1}栋住户甲、住户乙", status=status,
                                      mediators="社区调委会主任、网格员、下沉党员",
                                      applied_on=applied, agreement=agreement,
                                      closed_on=closed))
        made += 1
    return made


#: 考核激励 templates: (subject type, name, [(item, maximum)])
TEMPLATES = [
    ("worker", "社区工作者年度考核", [("坐班和一站办", 30), ("网格走访", 30), ("“三单”办理", 25), ("群众评价", 15)]),
    ("member", "下沉党员年度考核", [("报到和亮身份", 20), ("认领需求和结对帮扶", 40), ("志愿服务", 25), ("公开承诺践诺", 15)]),
    ("volunteer", "志愿者年度考核", [("服务时长", 50), ("服务质量", 30), ("带动他人", 20)]),
    ("committee", "自管委年度考核", [("小区环境", 30), ("议事协商", 30), ("矛盾化解", 20), ("居民满意度", 20)]),
]


def _assessments(community, rng, today) -> int:
    """Last year's assessments: every cadre, 20 sinking party members, the 20 volunteers
    with most points and every 自管委, scored item by item."""
    from models.cobuilding.assessments import Assessment, AssessmentItem, AssessmentTemplate, record_scores
    from models.kernel.orgs import Organisation
    from models.people.people import CADRE, PartyMember, Person, Staff
    from models.volunteers.activities import REGISTERED, Volunteer

    period = str(today.year - 1)
    subjects = {
        "worker": [(s.name, None) for s in db.session.scalars(select(Staff).where(
            Staff.community_id == community.id, Staff.post == CADRE).order_by(Staff.id))],
        "member": [(p.name, p) for p in db.session.scalars(select(Person).join(
            PartyMember, PartyMember.person_id == Person.id).where(PartyMember.community_id == community.id,
                                                                   PartyMember.category == "sinking")
            .order_by(Person.id).limit(20))],
        "volunteer": [(p.name, p) for p in db.session.scalars(select(Person).join(
            Volunteer, Volunteer.person_id == Person.id).where(Volunteer.community_id == community.id,
                                                               Volunteer.status == REGISTERED,
                                                               Volunteer.guardian_id.is_(None))
            .order_by(Volunteer.points_balance.desc(), Person.id).limit(20))],
        "committee": [(o.name, None) for o in db.session.scalars(select(Organisation).where(
            Organisation.community_id == community.id, Organisation.type == "self_management")
            .order_by(Organisation.id))],
    }
    made = 0
    for kind, name, items in TEMPLATES:
        template = domain.save(AssessmentTemplate(community=community, name=name, subject_type=kind,
                                                  note="年终由社区两委会对照考核细则逐项评分"))
        rows = [domain.save(AssessmentItem(template=template, title=title, max_score=top, position=i + 1))
                for i, (title, top) in enumerate(items)]
        for subject, person in subjects[kind]:
            assessment = domain.save(Assessment(template=template, period=period, subject=subject[:60], person=person,
                                                assessed_on=datetime.date(today.year, 1, 10)
                                                if datetime.date(today.year, 1, 10) <= today else today))
            record_scores(assessment, {r.id: rng.randint(r.max_score * 6 // 10, r.max_score) for r in rows})
            made += 1
    return made
