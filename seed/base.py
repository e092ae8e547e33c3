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
    **STANDARD_CODES,
}


def load() -> int:
    """Add the missing dictionary items; returns how many were added."""
    from models.dictionary import DictItem, clear_cache

    from app import domain

    existing = {(t, c) for t, c in db.session.execute(select(DictItem.type, DictItem.code))}
    items = [DictItem(type=dict_type, code=entry[0], label=entry[1], sort=order, enabled=True,
                      number=entry[2] if len(entry) > 2 else None)
             for dict_type, entries in DICTIONARY.items()
             for order, entry in enumerate(entries, start=1)
             if (dict_type, entry[0]) not in existing]
    domain.save_many(items)
    clear_cache()
    return len(items)
