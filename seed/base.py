"""字典 defaults every installation needs. Existing items (and admins' edits of their
labels) are kept; only missing codes are added."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from seed.standards import DICTIONARY as STANDARD_CODES

DICTIONARY = {
    "compound_type": [
        ("sanwu", "三无小区"), ("unit_built", "单位自建小区"),
        ("property", "有物业小区"), ("self_built", "自建房小区"),
    ],
    "org_type": [
        ("street_committee", "街道党工委"), ("community_party_committee", "社区大党委"),
        ("general_branch", "党总支"), ("party_branch", "党支部"), ("grid_branch", "网格党支部"),
        ("party_group", "楼栋党小组"), ("residents_committee", "社区居委会"),
        ("consultation_committee", "居民议事协商委员会"), ("mediation_committee", "人民调解委员会"),
        ("security_committee", "治安保卫委员会"), ("health_committee", "公共卫生委员会"),
        ("environment_committee", "环境和物业管理委员会"), ("owners_committee", "业主委员会"),
        ("self_management", "自管委"), ("property_company", "物业公司"),
        ("resident_unit", "驻社区单位"), ("local_unit", "辖区单位"), ("paired_unit", "结对单位"),
        ("school", "学校"), ("hospital", "医院"), ("health_station", "社区卫生服务站"),
        ("volunteer_team", "志愿服务队"), ("service_center", "党员服务中心"),
    ],
    "position_title": [
        ("secretary", "书记"), ("deputy_secretary", "副书记"), ("member", "委员"),
        ("director", "主任"), ("deputy_director", "副主任"), ("group_leader", "组长"),
        ("captain", "队长"), ("liaison", "联络员"), ("chair", "主席"),
    ],
    "residence_type": [("registered", "户籍人口"), ("resident", "常住人口"), ("floating", "流动人口")],
    # the number is the visit frequency in days (天天敲门)
    "special_group_type": [
        ("subsistence", "低保户", 30), ("empty_nest", "空巢老人", 7), ("living_alone", "独居老人", 7),
        ("disabled", "残疾人", 14), ("lost_only_child", "失独家庭", 14), ("left_behind_child", "留守儿童", 14),
    ],
    "disability_category": [("visual", "视力残疾"), ("hearing", "听力残疾"), ("speech", "言语残疾"),
                            ("physical", "肢体残疾"), ("intellectual", "智力残疾"), ("mental", "精神残疾"),
                            ("multiple", "多重残疾")],
    "disability_level": [("1", "一级"), ("2", "二级"), ("3", "三级"), ("4", "四级")],
    "merchant_type": [("retail", "零售"), ("catering", "餐饮"), ("services", "生活服务"), ("repair", "维修"),
                      ("medical", "医药"), ("education", "教育培训"), ("other", "其他")],
    "team_type": [("clean_home", "清洁家园"), ("good_neighbour", "好邻里"), ("security", "小区治安"),
                  ("little", "小小志愿者"), ("party_pioneer", "党员先锋"), ("civility", "文明实践")],
    "activity_type": [("cleaning", "环境清洁"), ("neighbourhood", "邻里互助"), ("patrol", "治安巡逻"),
                      ("elderly", "助老助残"), ("publicity", "宣传教育"), ("culture", "文体活动"),
                      ("festival", "节日活动"), ("children", "儿童活动")],
    "policy_category": [("social_security", "社会保障"), ("family_planning", "计划生育"), ("civil_affairs", "民政"),
                        ("disability", "残联"), ("medical_insurance", "医保"), ("employment", "就业创业"),
                        ("housing", "住房保障"), ("elderly", "养老服务")],
    "window_service": [("certificate", "开具证明"), ("social_security", "社保业务"), ("medical_insurance", "医保业务"),
                       ("subsistence", "低保申请"), ("disability", "残疾人业务"), ("family_planning", "计生服务"),
                       ("elderly", "高龄津贴"), ("other", "其他")],
    "dispute_type": [("neighbour", "邻里纠纷"), ("property", "物业纠纷"), ("family", "家庭纠纷"),
                     ("parking", "停车纠纷"), ("leak", "漏水纠纷"), ("other", "其他纠纷")],
    "star_category": [("clean", "环境卫生之星"), ("helpful", "热心助人之星"), ("filial", "孝老爱亲之星"),
                      ("civility", "文明礼让之星"), ("little", "儿童之星")],
    **STANDARD_CODES,
}
#: points rules (积分规则): code → (points, note)
POINT_RULES = {"hour": (10, "每服务1小时计10分(不含路途)"), "star_month": (50, "当选每月之星奖励"),
               "star_compound": (30, "当选小区之星奖励"), "commendation": (100, "年度表彰奖励")}


#: service categories of the 三单 loop: (code, name, group, hours to take, days to resolve,
#: who may take, skill needed, keywords)
SERVICE_CATEGORIES = [
    ("clearance", "清障除杂", "环境整治", 24, 7, "any", None, "杂物 堆放 楼道 清理"),
    ("sanitation", "环境卫生", "环境整治", 24, 3, "any", None, "垃圾 保洁 卫生死角"),
    ("termite", "除白蚁", "设施维修", 48, 14, "unit", None, "白蚁 虫害 消杀"),
    ("repair", "设施维修", "设施维修", 24, 7, "any", None, "路灯 水管 门禁 维修"),
    ("septic", "化粪池疏通", "设施维修", 12, 3, "unit", None, "化粪池 下水道 堵塞"),
    ("lighting", "楼道照明", "设施维修", 24, 5, "any", None, "楼道灯 照明"),
    ("parking", "停车秩序", "平安秩序", 24, 7, "any", None, "停车 占道 电动车"),
    ("tutoring", "学业辅导", "为民服务", 72, 30, "member", "教师", "辅导 功课 学习"),
    ("elderly", "为老服务", "为民服务", 24, 3, "member", None, "代买 代办 陪诊 老人"),
    ("mediation", "邻里调解", "平安秩序", 24, 7, "any", None, "纠纷 噪音 漏水 调解"),
    ("greening", "绿化修剪", "环境整治", 48, 14, "unit", None, "树木 修剪 绿化"),
    ("policy", "政策咨询", "为民服务", 24, 3, "any", None, "低保 医保 社保 咨询"),
]
#: the extra questions (Open311 attributes) of a category
SERVICE_ATTRIBUTES = {
    "repair": [{"code": "facility", "datatype": "singlevaluelist", "required": True, "order": 1,
                "description": "哪类设施", "values": [{"key": "light", "name": "路灯"}, {"key": "pipe", "name": "水管"},
                                                     {"key": "door", "name": "单元门/门禁"},
                                                     {"key": "other", "name": "其他"}]},
               {"code": "floor", "datatype": "number", "required": False, "order": 2, "description": "楼层"}],
}


def load_categories() -> int:
    """Add the missing service categories (by code); returns how many were added."""
    import json

    from models.service.demands import ServiceCategory

    from app import domain

    existing = set(db.session.scalars(select(ServiceCategory.code)))
    items = [ServiceCategory(code=code, name=name, group=group, take_hours=hours, resolve_days=days, takers=takers,
                             skill=skill, keywords=keywords, enabled=True, sort=order,
                             attributes=json.dumps(SERVICE_ATTRIBUTES[code], ensure_ascii=False)
                             if code in SERVICE_ATTRIBUTES else None)
             for order, (code, name, group, hours, days, takers, skill, keywords)
             in enumerate(SERVICE_CATEGORIES, start=1) if code not in existing]
    domain.save_many(items)
    return len(items)


def load() -> int:
    """Add the missing dictionary items and service categories; returns how many were added."""
    from app.dictionary import DictItem, clear_cache

    from app import domain

    existing = {(t, c) for t, c in db.session.execute(select(DictItem.type, DictItem.code))}
    items = [DictItem(type=dict_type, code=entry[0], label=entry[1], sort=order, enabled=True,
                      number=entry[2] if len(entry) > 2 else None)
             for dict_type, entries in DICTIONARY.items()
             for order, entry in enumerate(entries, start=1)
             if (dict_type, entry[0]) not in existing]
    domain.save_many(items)
    clear_cache()
    return len(items) + load_categories() + load_point_rules()


def load_point_rules() -> int:
    """Add the missing points rules (by code); admins' changes are kept."""
    from models.volunteers.points import PointRule

    from app import domain

    existing = set(db.session.scalars(select(PointRule.code)))
    items = [PointRule(code=code, points=value, note=note, enabled=True)
             for code, (value, note) in POINT_RULES.items() if code not in existing]
    domain.save_many(items)
    return len(items)
