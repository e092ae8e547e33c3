"""Bad input: a field-level Chinese message, and nothing written."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app import domain
from app.extensions import db
from tests import factories as f


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _field_error(html: str, text: str) -> bool:
    """``text`` is shown under a form field (FAB renders field errors as an alert in
    the field's cell, after the input)."""
    return re.search(r'</(?:select|input|textarea)>\s*<span class="help-block">[^<]*</span>\s*'
                     r'<div class="alert alert-danger">\s*' + re.escape(text), html) is not None


def test_missing_required_fields_in_the_form(as_user, ctx):
    from models.kernel.places import Compound

    before = _count(Compound)
    html = as_user("worker").post("/compound/add", data={"name": "", "type": ""}).get_data(as_text=True)
    assert _field_error(html, "该字段是必填字段。")
    assert "未保存任何内容" in html
    assert _count(Compound) == before


def test_form_keeps_what_was_typed_after_an_error(as_user, ctx):
    client = as_user("worker")
    html = client.post("/compound/add", data={"name": "园林路1号院", "type": "sanwu",
                                              "community": f.community().id,
                                              "address": "我输入的地址"}).get_data(as_text=True)
    # 园林路1号院 exists? if not, the form is saved; make sure we hit a duplicate
    if "已存在" not in html and "已有" not in html:
        html = client.post("/compound/add", data={"name": "园林路1号院", "type": "sanwu",
                                                  "community": f.community().id,
                                                  "address": "我输入的地址"}).get_data(as_text=True)
    assert "已有" in html  # 社区 already has a 名称 …
    assert "我输入的地址" in html


@pytest.mark.parametrize("model_name,values,field", [
    ("Compound", {"name": "建材宿舍", "type": "sanwu"}, "name"),          # same name in the community
    ("Grid", {"code": "WHL-01", "name": "另一个网格"}, "code"),            # same grid code
    ("Road", {"name": "文化路"}, "name"),
])
def test_duplicates_within_a_parent(ctx, model_name, values, field):
    import models.kernel.places as places

    model = getattr(places, model_name)
    before = _count(model)
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(model(community=f.community(), **values))
    assert field in error.value.errors()
    message = error.value.errors()[field][0]
    assert re.search(r"[\u4e00-\u9fff]", message), message
    assert _count(model) == before


def test_same_name_in_another_community_is_fine(ctx):
    from models.kernel.places import Compound

    other = f.community("槐荫社区")
    domain.save(Compound(community=other, name="建材宿舍", type="sanwu"))


def test_unique_code_across_the_table(ctx):
    from models.kernel.places import Community

    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Community(street=f.street(), name="新社区", code="420902003006"))
    assert "code" in error.value.errors()


def test_bad_codes_and_numbers(ctx):
    from models.kernel.places import Community, Compound

    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Community(street=f.street(), name="坏编码社区", code="12345"))
    assert "code" in error.value.errors()
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Community(street=f.street(), name="坏编码社区", code="111111111111"))
    assert "必须以所属街道的代码420902003开头" in error.value.errors()["code"][0]
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Compound(community=f.community(), name="未来小区", type="sanwu", build_year=2999,
                             households=-1))
    assert {"build_year", "households"} <= set(error.value.errors())


def test_dictionary_codes_are_checked(ctx):
    from models.kernel.places import Compound

    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Compound(community=f.community(), name="某小区", type="villa"))
    assert "type" in error.value.errors()


def test_grid_of_another_community_is_refused(ctx):
    other_grid = f.grid("槐荫社区")
    from models.kernel.places import Compound

    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Compound(community=f.community(), grid=other_grid, name="跨社区小区", type="sanwu"))
    assert "grid" in error.value.errors()


def test_building_in_a_compound_of_another_community(as_user, ctx):
    """worker (文化路社区) posting a building into a 槐荫社区 compound: refused."""
    from models.kernel.places import Building, Compound

    hy = db.session.scalars(select(Compound).where(Compound.name == "槐荫新村")).one()
    before = _count(Building)
    client = as_user("worker")
    response = client.post("/api/v1/building/", json={"compound": hy.id, "name": "8栋"})
    assert response.status_code == 422
    assert "compound" in response.json["message"]
    html = client.post("/building/add", data={"compound": hy.id, "name": "8栋"}).get_data(as_text=True)
    assert _field_error(html, "所选小区不在您的数据范围内")
    assert _count(Building) == before


def test_derived_community_follows_the_compound(ctx):
    from models.kernel.places import Building, Compound

    compound = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    building = domain.save(Building(compound=compound, name="新建9栋"))
    assert building.community_id == compound.community_id and building.grid_id == compound.grid_id


def test_cycle_in_the_organisation_tree(as_user, ctx):
    from models.kernel.orgs import Organisation

    big = db.session.scalars(select(Organisation).where(Organisation.name == "文化路社区大党委")).one()
    branch = db.session.scalars(select(Organisation).where(Organisation.name == "综合支部")).one()
    big.parent = branch
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(big)
    assert "parent" in error.value.errors()
    db.session.rollback()
    # through the API: 404-free, 422 with the field
    client = as_user("secretary")
    response = client.put(f"/api/v1/organisation/{big.id}", json={"parent": branch.id})
    assert response.status_code == 422 and "parent" in response.json["message"]
    db.session.expire_all()
    assert db.session.get(Organisation, big.id).parent.name == "广场街道党工委"


def test_organisation_itself_as_parent(ctx):
    from models.kernel.orgs import Organisation

    org = db.session.scalars(select(Organisation).where(Organisation.name == "综合支部")).one()
    org.parent = org
    with pytest.raises(domain.ValidationFailed):
        domain.save(org)


def test_moving_a_subtree_updates_paths(ctx):
    from models.kernel.orgs import Organisation

    zongzhi = db.session.scalars(select(Organisation).where(Organisation.name == "文化社区党总支")).one()
    branch = db.session.scalars(select(Organisation).where(Organisation.name == "综合支部")).one()
    target = db.session.scalars(select(Organisation).where(Organisation.name == "第一网格党支部")).one()
    zongzhi.parent = target
    domain.save(zongzhi)
    db.session.expire_all()
    assert db.session.get(Organisation, branch.id).path.startswith(target.path)
    assert db.session.get(Organisation, branch.id).path == f"{target.path}{zongzhi.id}/{branch.id}/"


def test_delete_with_children_is_refused_with_a_reason(as_user, ctx):
    from models.kernel.places import Compound

    compound = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    client = as_user("worker")
    response = client.delete(f"/api/v1/compound/{compound.id}")
    assert response.status_code == 422
    text = str(response.json["message"])
    assert "楼栋" in text
    page = client.post(f"/compound/delete/{compound.id}", follow_redirects=True).get_data(as_text=True)
    assert "无法删除" in page
    assert db.session.get(Compound, compound.id) is not None


def test_get_never_deletes(app, as_user, ctx):
    """CSRF: a GET to a delete URL changes nothing, a POST without token is refused."""
    from models.kernel.places import Road

    road = domain.save(Road(community=f.community(), name="临时测试巷"))
    client = as_user("worker")
    client.get(f"/road/delete/{road.id}")
    assert db.session.get(Road, road.id) is not None
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/road/delete/{road.id}")
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert db.session.get(Road, road.id) is not None


def test_top_level_organisation_names_are_unique_within_their_community(ctx):
    from models.kernel.orgs import Organisation

    second = f.community("槐荫社区")
    domain.save(Organisation(name="蓓蕾幼儿园", type="school", community=second))  # its own kindergarten
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Organisation(name="蓓蕾幼儿园", type="school", community=f.community()))
    assert "name" in error.value.errors()
