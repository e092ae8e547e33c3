"""Sensitive data: masked in lists, show pages, the API, exports and search results;
revealed one value at a time by permitted roles, every reveal logged."""
from __future__ import annotations

import datetime
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from tests import factories as f

ID = re.compile(r"\b\d{17}[\dX]\b")
PHONE = re.compile(r"\b1[3-9]\d{9}\b")


def _stored(model, pk, *columns):
    """The values of ``columns`` as stored in the database now: a plain column SELECT, so the
    answer never comes from an object the test already holds (the identity map)."""
    row = db.session.execute(select(*(getattr(model, c) for c in columns)).where(model.id == pk)).one()
    return tuple(row)


def _adult_in_grid(code="WHL-01"):
    from models.people.people import Person
    from models.kernel.places import Grid

    return db.session.scalars(select(Person).join(Person.grid).where(
        Grid.code == code, Person.phone.is_not(None), Person.birth_date < datetime.date(1990, 1, 1))
        .order_by(Person.id)).first()


def _minor():
    from models.people.people import Person

    cutoff = datetime.date.today().replace(year=datetime.date.today().year - 10)
    return db.session.scalars(select(Person).where(Person.birth_date > cutoff).order_by(Person.id)).first()


def test_lists_show_pages_and_api_are_masked(as_user, ctx):
    person = _adult_in_grid()
    for username in ("leader", "worker"):  # without and with the right to reveal: masked alike
        client = as_user(username)
        listing = client.get(f"/person/list/?q={person.name}").get_data(as_text=True)
        show = client.get(f"/person/show/{person.id}").get_data(as_text=True)
        api_list = client.get("/api/v1/person/?q=(page_size:50)").get_data(as_text=True)
        api_one = client.get(f"/api/v1/person/{person.id}").json["result"]
        for text in (listing, show, api_list):
            assert person.id_number not in text and person.phone not in text
            assert not ID.search(text) and not PHONE.search(text)
        assert api_one["id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
        assert api_one["phone"] == person.phone[:3] + "****" + person.phone[-4:]
        assert api_one["birth_date"] == "****-**-**"


def test_exports_are_masked_unless_revealed_by_a_permitted_role(as_user, ctx):
    from app.records import AuditLog

    leader = as_user("leader").get("/person/export/")
    assert leader.status_code == 403  # may read, may not export
    worker = as_user("worker")
    masked = worker.get("/person/export/?q=王")
    sheet = load_workbook(io.BytesIO(masked.data), read_only=True).active
    values = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert values and not any(ID.search(v) or PHONE.search(v) for v in values)
    before = db.session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1))
    full = worker.get("/person/export/?q=王&reveal=1")
    sheet = load_workbook(io.BytesIO(full.data), read_only=True).active
    assert any(ID.search(str(v)) for row in sheet.iter_rows(values_only=True) for v in row if v)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.id > before, AuditLog.action == "reveal_export")).one()
    assert entry.username == "worker" and entry.entity == "Person"
    count, query = entry.summary.split(" · ", 1)
    assert int(count) > 0 and "reveal=1" in query  # how many rows, and which list
    assert as_user("street").get("/person/export/?reveal=1").status_code == 403


def test_reveal_is_logged_and_needs_the_permission(as_user, ctx):
    from app.records import AuditLog

    person = _adult_in_grid()
    url = f"/sensitive/reveal/Person/{person.id}/phone"
    assert as_user("leader").post(url).status_code == 403
    client = as_user("grid1")
    response = client.post(url, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200 and response.json["value"] == person.phone
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "reveal")
                               .order_by(AuditLog.id.desc())).first()
    assert (entry.username, entry.entity, entry.entity_id, entry.ip) == ("grid1", "Person", str(person.id), "10.1.2.3")
    assert "电话" in entry.summary or "Phone" in entry.summary
    assert client.get(url).status_code == 405  # a reveal is never a GET
    # the API twin, and nothing outside the scope or the declared columns
    api = client.post(f"/api/v1/sensitive/reveal/Person/{person.id}/id_number")
    assert api.status_code == 200 and api.json["value"] == person.id_number
    other = _adult_in_grid("WHL-02")
    assert client.post(f"/sensitive/reveal/Person/{other.id}/phone").status_code == 404
    assert client.post(f"/sensitive/reveal/Person/{person.id}/name").status_code == 404  # not sensitive (adult)
    assert client.post("/sensitive/reveal/Compound/1/name").status_code == 404


def test_the_show_page_offers_reveal_only_to_permitted_roles(as_user, ctx):
    person = _adult_in_grid()
    assert "reveal-value" in as_user("grid1").get(f"/person/show/{person.id}").get_data(as_text=True)
    assert "reveal-value" not in as_user("leader").get(f"/person/show/{person.id}").get_data(as_text=True)


def test_exact_id_search_for_permitted_roles_only(as_user, ctx):
    person = _adult_in_grid()
    found = as_user("worker").get(f"/person/list/?q={person.id_number}").get_data(as_text=True)
    assert found.count("<tr data-pk=") == 1 and person.name in found
    partial = as_user("worker").get(f"/person/list/?q={person.id_number[:10]}").get_data(as_text=True)
    assert "<tr data-pk=" not in partial  # no partial matching on ID numbers
    leader = as_user("leader").get(f"/person/list/?q={person.id_number}").get_data(as_text=True)
    assert "<tr data-pk=" not in leader


def test_sensitive_columns_cannot_be_searched_or_sorted(as_user, ctx):
    client = as_user("worker")
    html = client.get("/person/list/").get_data(as_text=True)
    assert "_oc_PersonView=id_number" not in html and "_oc_PersonView=phone" not in html
    assert '"id_number"' not in re.search(r"AdminFilters\((.*?)\);", html, re.S).group(1)
    assert client.get("/api/v1/person/?q=(filters:!((col:phone,opr:sw,value:'138')))").status_code == 400


def test_edit_form_never_shows_sensitive_values_and_keeps_them(as_user, ctx):
    from models.people.people import Person

    person = _adult_in_grid()
    id_number, phone = person.id_number, person.phone  # as stored before the edit
    assert id_number and phone
    client = as_user("worker")
    form = client.get(f"/person/edit/{person.id}").get_data(as_text=True)
    assert id_number not in form and phone not in form
    response = client.post(f"/person/edit/{person.id}", data={
        "name": person.name, "id_number": "", "phone": "", "residence_type": person.residence_type,
        "household": person.household_id, "relation": person.relation, "community": person.community_id,
        "employer": "新单位"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert _stored(Person, person.id, "employer", "id_number", "phone") == ("新单位", id_number, phone)


def test_a_put_through_the_api_never_writes_masked_values(as_user, ctx):
    from models.people.people import Person

    person = _adult_in_grid()
    id_number, phone = person.id_number, person.phone  # as stored before the request
    response = as_user("worker").put(f"/api/v1/person/{person.id}", json={"employer": "接口单位"})
    assert response.status_code == 200 and "*" in response.json["result"]["id_number"]
    assert _stored(Person, person.id, "employer", "id_number", "phone") == ("接口单位", id_number, phone)


def test_children_under_14_are_masked_as_a_whole(as_user, ctx):
    child = _minor()
    assert child is not None and child.is_minor
    client = as_user("worker")
    show = client.get(f"/person/show/{child.id}").get_data(as_text=True)
    assert child.name not in show and child.name[0] + "*" in show
    picker = client.get(f"/api/v1/special_group/related/person?q={child.name}").json
    mine = [r for r in picker["result"] if r["id"] == child.id]
    assert mine and mine[0]["text"] == child.name[0] + "*" * (len(child.name) - 1)


def test_special_group_details_are_secret(as_user, ctx):
    from models.people.people import SpecialGroup

    tag = db.session.scalars(select(SpecialGroup).order_by(SpecialGroup.id)).first()
    html = as_user("worker").get("/special-group/list/").get_data(as_text=True)
    assert "***" in html and "空巢老人" not in html and "低保户" not in html
    body = as_user("worker").get(f"/api/v1/special_group/{tag.id}").json["result"]
    assert body["type"] == "***"


def test_public_notice_of_three_heads(client, ctx):
    from models.people.people import Head
    from models.kernel.places import Compound

    compound = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    html = client.get(f"/public/three-heads/{compound.public_token}").get_data(as_text=True)
    heads = db.session.scalars(select(Head).where(Head.compound_id == compound.id)).all()
    assert heads and any(h.publish_name for h in heads) and any(not h.publish_name for h in heads)
    for head in heads:  # named in full, and with a phone, only with the head's consent
        if head.publish_name:
            assert head.person.name in html
        else:
            assert head.person.name[0] + "*" * (len(head.person.name) - 1) in html
        if head.person.phone:
            assert (head.person.phone in html) == bool(head.publish_phone)
            assert head.person.phone[-4:] not in html or head.publish_phone
    assert client.get("/public/three-heads/guess").status_code == 404
    assert "小区长" in html and "打印" in html
