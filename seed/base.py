"""字典 defaults every installation needs. Existing items (and admins' edits of their
labels) are kept; only missing codes are added."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db

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
}


def load() -> int:
    """Add the missing dictionary items; returns how many were added."""
    from models.dictionary import DictItem, clear_cache

    from app import domain

    existing = {(t, c) for t, c in db.session.execute(select(DictItem.type, DictItem.code))}
    items = [DictItem(type=dict_type, code=code, label=label, sort=order, enabled=True)
             for dict_type, entries in DICTIONARY.items()
             for order, (code, label) in enumerate(entries, start=1)
             if (dict_type, code) not in existing]
    domain.save_many(items)
    clear_cache()
    return len(items)
