"""Regression tests for holes found in review: nested writes, scope of written rows,
account pickers, reserved roles, huge numbers, JSON bodies, 字典 in use, audit."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests import factories as f

CJK = re.compile(r"[\u4e00-\u9fff]")


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _all_chinese(messages) -> bool:
    if isinstance(messages, dict):
        return all(_all_chinese(v) for v in messages.values())
    if isinstance(messages, list):
        return all(_all_chinese(v) for v in messages)
    return bool(CJK.search(str(messages)))


# --------------------------------------------------------------------------- nested writes

def test_a_nested_object_never_creates_a_row(as_user, ctx):
    from models.kernel.places import Community
    from models.kernel.users import AppUser

    communities, users = _count(Community), _count(AppUser)
    client = as_user("worker")
    response = client.post("/api/v1/compound/", json={
        "name": "伪造", "type": "sanwu", "community": {"street_id": 1, "name": "伪造社区", "code": "bad"}})
    assert response.status_code == 422 and "community" in response.json["message"]
    from models.kernel.orgs import Organisation

    big = db.session.scalars(select(Organisation).where(Organisation.name == "文化路社区大党委")).one()
    response = client.post("/api/v1/position/", json={
        "organisation": big.id, "title": "member", "holder_name": "某人",
        "user": {"username": "intruder", "password": "x", "active": True}})
    assert response.status_code == 422 and "user" in response.json["message"]
    assert _count(Community) == communities and _count(AppUser) == users


def test_relations_are_ids_of_existing_rows(as_user, ctx):
    client = as_user("worker")
    for value in ("abc", 0, -1, 10**20, 999_999, 1.5, True):
        response = client.post("/api/v1/road/", json={"name": "某巷", "community": value})
        assert response.status_code == 422, value
        assert _all_chinese(response.json["message"]), response.json


# --------------------------------------------------------------------------- written rows stay in scope

def test_a_user_cannot_write_a_row_outside_their_scope(as_user, ctx):
    from models.kernel.orgs import Organisation

    before = _count(Organisation)
    client = as_user("worker")
    # no community: a street-level organisation the worker could never see again
    response = client.post("/api/v1/organisation/", json={"name": "无社区组织", "type": "volunteer_team"})
    assert response.status_code == 422, response.json
    assert _all_chinese(response.json["message"])
    html = client.post("/organisation/add", data={"name": "无社区组织", "type": "volunteer_team"}) \
        .get_data(as_text=True)
    assert "不在您的数据范围内" in html
    assert _count(Organisation) == before
    # within the scope it works, the community being filled from the form default
    ok = client.post("/api/v1/organisation/", json={"name": "新志愿队", "type": "volunteer_team",
                                                    "community": f.community().id})
    assert ok.status_code == 201, ok.json


def test_a_writer_of_another_community_gets_404_on_edit_and_delete(as_user, ctx):
    from models.kernel.places import Compound

    target = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    client = as_user("worker2")  # writes compounds, but in 槐荫社区
    assert client.get(f"/compound/edit/{target.id}").status_code == 404
    assert client.post(f"/compound/edit/{target.id}", data={"name": "被改名", "type": "sanwu"}).status_code == 404
    assert client.post(f"/compound/delete/{target.id}").status_code == 404
    assert client.put(f"/api/v1/compound/{target.id}", json={"name": "被改名"}).status_code == 404
    assert client.delete(f"/api/v1/compound/{target.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Compound, target.id).name == "建材宿舍"


# --------------------------------------------------------------------------- pickers of accounts

def test_account_pickers_are_scoped_and_find_chinese_names(as_user, ctx):
    client = as_user("worker")
    result = client.get("/api/v1/grid/related/primary_worker?q=").json["result"]
    names = [r["text"] for r in result]
    usernames = {f.user(u).get_full_name() for u in ("sysadmin", "secadmin", "auditor", "worker2", "street")}
    assert names and not usernames & set(names)
    grid1 = f.user("grid1").get_full_name()
    found = client.get(f"/api/v1/grid/related/primary_worker?q={grid1}").json["result"]
    assert [r["text"] for r in found] == [grid1]


def test_info_endpoint_is_scoped(as_user, ctx):
    body = as_user("grid1").get("/api/v1/building/_info?q=(keys:!(add_columns))").json
    compound = next(c for c in body["add_columns"] if c["name"] == "compound")
    assert compound["count"] == 10  # the compounds of 第一网格, not all 59
    assert compound["label"] == "小区" and "Project-Id" not in json.dumps(body)


def test_buildings_and_units_name_their_compound(as_user, ctx):
    client = as_user("grid1")
    texts = [r["text"] for r in client.get("/api/v1/unit/related/building?q=建材").json["result"]]
    assert texts and all(t.startswith("建材宿舍 ") for t in texts)


# --------------------------------------------------------------------------- roles

def test_reserved_roles_are_never_given(app, as_user, ctx):
    client = as_user("secadmin")
    form = client.get("/users/add").get_data(as_text=True)
    assert app.config["AUTH_ROLE_ADMIN"] not in form and app.config["AUTH_ROLE_PUBLIC"] not in form
    admin_role = app.appbuilder.sm.find_role(app.config["AUTH_ROLE_ADMIN"])
    client.post("/users/add", data={
        "first_name": "超", "last_name": "管", "username": "sneaky", "active": "y",
        "email": "sneaky@demo.invalid", "roles": [str(admin_role.id)], "password": "Hongse@2026x",
        "conf_password": "Hongse@2026x", "scope_kind": "all", "scope_node": ""})
    assert app.appbuilder.sm.find_user(username="sneaky") is None


def test_security_admin_cannot_change_own_roles(app, as_user, ctx):
    me = f.user("secadmin")
    business = app.appbuilder.sm.find_role("社区书记/主任")
    as_user("secadmin").post(f"/users/edit/{me.id}", data={
        "first_name": me.first_name, "last_name": me.last_name, "username": me.username, "active": "y",
        "email": me.email, "roles": [str(r.id) for r in me.roles] + [str(business.id)],
        "scope_kind": "all", "scope_node": ""})
    db.session.expire_all()
    assert [r.name for r in f.user("secadmin").roles] == ["安全管理员"]


def test_security_admin_resets_passwords(as_user, ctx):
    worker = f.user("worker")
    assert as_user("secadmin").get(f"/resetpassword/form?pk={worker.id}").status_code == 200


# --------------------------------------------------------------------------- bad input, no 500

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("url", [
    f"/compound/show/{HUGE}", f"/compound/edit/{HUGE}", f"/compound/list/?_flt_0_community={HUGE}",
    f"/compound/list/?page_CompoundView={HUGE}", f"/organisation/tree/?root={HUGE}",
    f"/organisation/list/?_flt_1_parent={HUGE}", f"/api/v1/compound/{HUGE}",
    f"/api/v1/compound/related/grid?ids={HUGE}", f"/api/v1/compound/related/grid?page={HUGE}",
    "/compound/download/x", "/api/v1/compound/?q=(page:abc)", "/api/v1/compound/?q=not-rison",
    # found by fuzzing the OpenAPI document: a number rison cannot parse, an absurd page
    "/api/v1/building/1?q=-2.6715634942233772e%2B16", "/api/v1/staff/?q=-1.5422156260256793e%2B285",
    "/api/v1/dict_item/?q=(page_size:9006,page:41323109928658695880704)",
])
def test_odd_urls_never_answer_500(as_user, url):
    response = as_user("secretary").get(url)
    assert response.status_code in (200, 400, 404, 405), (url, response.status_code)
    if url.startswith("/api/") and response.status_code >= 400:
        assert CJK.search(response.json["message"]), response.json


def test_numbers_out_of_range_are_field_errors(as_user, ctx):
    client = as_user("worker")
    response = client.post("/api/v1/compound/", json={"name": "大数小区", "type": "sanwu",
                                                      "community": f.community().id, "households": 10**20})
    assert response.status_code == 422 and "households" in response.json["message"]
    html = client.post("/compound/add", data={"name": "大数小区", "type": "sanwu", "community": f.community().id,
                                              "households": str(10**20)}).get_data(as_text=True)
    assert "数值超出允许范围" in html or "请输入" in html or "整数" in html


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "not json", "{"])
def test_api_bodies_must_be_json_objects(as_user, body):
    client = as_user("worker")
    for method, url in (("post", "/api/v1/road/"), ("put", "/api/v1/road/1")):
        response = getattr(client, method)(url, data=body, content_type="application/json")
        assert response.status_code in (400, 404), (method, body, response.status_code)
        assert CJK.search(response.json["message"])


def test_api_validation_messages_are_all_chinese(as_user, ctx):
    client = as_user("worker")
    response = client.post("/api/v1/compound/", json={
        "name": "x" * 500, "type": 5, "build_year": "nineteen", "households": "many",
        "community": f.community().id, "nonsense": 1})
    assert response.status_code == 422
    assert _all_chinese(response.json["message"]), response.json


def test_api_reads_and_titles_are_chinese(as_user):
    body = as_user("worker").get("/api/v1/compound/_info").json
    assert body["add_title"] == "新增小区" and body["edit_title"] == "编辑小区"
    listing = as_user("worker").get("/api/v1/compound/?q=(page_size:1)").json
    assert listing["list_title"] == "小区列表"
    assert listing["label_columns"]["grid.id"] == "网格（编号）"


def test_one_station_per_compound_is_a_field_error(ctx):
    from app import domain
    from models.kernel.places import Compound, Station

    compound = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(Station(compound=compound, name="第二个驿站"))
    assert error.value.errors() == {"compound": ["该小区已有红色驿站。"]}


# --------------------------------------------------------------------------- 字典 in use

def test_dictionary_items_in_use_cannot_be_deleted_or_recoded(as_user, ctx):
    from app.dictionary import DictItem

    sanwu = db.session.scalars(select(DictItem).where(DictItem.type == "compound_type",
                                                      DictItem.code == "sanwu")).one()
    client = as_user("sysadmin")
    page = client.post(f"/dict-item/delete/{sanwu.id}", follow_redirects=True).get_data(as_text=True)
    assert "无法删除" in page and "小区" in page
    response = client.put(f"/api/v1/dict_item/{sanwu.id}", json={"code": "sanwu2"})
    assert response.status_code == 422 and "code" in response.json["message"]
    relabel = client.put(f"/api/v1/dict_item/{sanwu.id}", json={"label": "三无小区（老旧）"})
    assert relabel.status_code == 200  # labels may change; codes in use may not
    db.session.expire_all()
    assert db.session.get(DictItem, sanwu.id).code == "sanwu"


# --------------------------------------------------------------------------- audit

def test_security_changes_are_audited_without_passwords(app, as_user, ctx):
    from app.records import AuditLog

    worker = f.user("worker")
    business = app.appbuilder.sm.find_role("领导查看")
    as_user("secadmin").post(f"/users/edit/{worker.id}", data={
        "first_name": worker.first_name, "last_name": worker.last_name, "username": "worker",
        "active": "y", "email": worker.email, "roles": [str(r.id) for r in worker.roles] + [str(business.id)],
        "scope_kind": "community", "scope_node": f"community:{f.community().id}"})
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity == "AppUser")
                               .order_by(AuditLog.id.desc())).first()
    assert entry is not None and entry.username == "secadmin"
    assert "领导查看" in entry.changes_text and "pbkdf2" not in (entry.changes or "") \
        and "scrypt" not in (entry.changes or "")


def test_audit_shows_values_as_users_read_them(as_user, ctx):
    from app import domain
    from app.dictionary import DictItem
    from app.records import AuditLog

    item = db.session.scalars(select(DictItem).where(DictItem.code == "member")).one()
    item.enabled = False
    domain.save(item)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity == "DictItem")
                               .order_by(AuditLog.id.desc())).first()
    assert "是否启用：是 → 否" in entry.changes_text



def test_a_null_list_of_relations_is_an_empty_list(as_user, ctx):
    """Found by fuzzing the write operations: ``"members": null`` was a server error."""
    response = as_user("secretary").post("/api/v1/care_group/", json={"members": None, "notes": "", "person": None,
                                                                     "staff": None})
    assert response.status_code == 422 and "person" in response.json["message"]



def test_a_time_with_an_offset_is_stored_as_local_time(as_user, ctx):
    """Found by fuzzing the write operations: an offset-aware time was a server error."""
    from models.cobuilding.meetings import Meeting

    meeting = db.session.scalars(select(Meeting).where(Meeting.status != "closed").order_by(Meeting.id)).first()
    response = as_user("secretary").put(f"/api/v1/meeting/{meeting.id}", json={"held_at": "2026-11-02T01:30:00+00:00"})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert str(db.session.get(Meeting, meeting.id).held_at) == "2026-11-02 09:30:00"


# --------------------------------------------------------------------------- odd input (issue 16, defect 5)

def _chinese_4xx(response, *codes):
    assert response.status_code in codes, response.status_code
    text = response.json["message"] if response.is_json else response.get_data(as_text=True)
    assert CJK.search(str(text)), text
    return text


@pytest.mark.parametrize("body", [
    '{"name": "\\ud800", "community": 1}', '{"name": "a\\u0000b", "community": 1}',
    '{"name": "x", "\\udfff": 1}', '{"name": "x", "tags": [{"a": ["\\ud83d"]}]}'])
def test_bad_characters_in_json_are_refused(as_user, body):
    client = as_user("worker")
    for method, url in (("post", "/api/v1/road/"), ("put", "/api/v1/person/1")):
        response = getattr(client, method)(url, data=body, content_type="application/json")
        _chinese_4xx(response, 400)


def test_bad_characters_in_forms_and_searches_are_refused(app, as_user):
    client = as_user("secretary")
    _chinese_4xx(client.post("/road/add", data={"name": "a\x00b"}), 400)
    _chinese_4xx(client.get("/api/v1/person/?q=(filters:!((col:name,opr:sw,value:'\x00')))"), 400)
    _chinese_4xx(client.get("/person/list/?_flt_0_name=%00"), 400)
    _chinese_4xx(client.get("/person/list/?q=%00"), 400)
    _chinese_4xx(client.get("/api/v1/person/related/household?q=%00"), 400)
    _chinese_4xx(app.test_client().get("/public/policies/?q=%00"), 400)


@pytest.mark.parametrize("body", ["[" * 1200 + "]" * 1200, '{"a":' * 1200 + "1" + "}" * 1200,
                                  '{"name": ' + "[" * 40 + "]" * 40 + "}"])
def test_deeply_nested_json_is_refused(as_user, body):
    response = as_user("worker").post("/api/v1/road/", data=body, content_type="application/json")
    _chinese_4xx(response, 400)


def test_a_body_over_the_limit_is_413_with_a_message(app, as_user):
    big = b"x" * (25 * 1024 * 1024)
    client = as_user("worker")
    text = _chinese_4xx(client.post("/api/v1/road/", data=big, content_type="application/json"), 413)
    assert "20" in text
    _chinese_4xx(client.post("/road/add", data=big, content_type="application/x-www-form-urlencoded"), 413)
    _chinese_4xx(app.test_client().post("/api/v1/security/login", data=big, content_type="application/json"), 413)


@pytest.mark.parametrize("url", ["/public/policy/2147483648", "/public/fund/2147483648",
                                 "/volunteer/certificate/2147483648", "/demand/photo/2147483648",
                                 "/public/policy/99999999999999999999999", "/compound/import/job/2147483648"])
def test_ids_beyond_the_database_are_404(app, as_user, url):
    client = app.test_client() if url.startswith("/public/") else as_user("secretary")
    _chinese_4xx(client.get(url), 404)


def test_unknown_actions_are_404(as_user):
    client = as_user("secretary")
    _chinese_4xx(client.post("/person/action_post", data={"action": "nope", "rowid": "1"}), 404)
    _chinese_4xx(client.get("/person/action/nope/1"), 404)
