"""Regression tests for holes found in review of the people registers: masked exports
for roles that may export but not reveal, edit forms that failed, children's names in
forms and in the log, imports updating by an empty key, places that follow a move."""
from __future__ import annotations

import datetime
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from app import domain, importer, scope
from app.extensions import db
from tests import factories as f

ID = re.compile(r"\d{17}[\dX]")


def _sheet_values(data):
    return [str(v) for row in load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
            .iter_rows(values_only=True) for v in row if v is not None]


def test_a_role_that_exports_but_may_not_reveal_gets_masked_files(as_user, ctx):
    client = as_user("street")  # reads and exports the people registers, no right to reveal
    persons = _sheet_values(client.get("/person/export/?q=王").data)
    assert persons and not any(ID.search(v) for v in persons)
    assert client.get("/person/export/?reveal=1").status_code == 403
    assert client.get("/special-group/list/").status_code == 403  # care records: carers only


def test_special_group_exports_never_label_masked_values(as_user, ctx):
    values = _sheet_values(as_user("worker").get("/special-group/export/").data)
    assert "***" in values
    assert not {"残疾人", "空巢老人", "低保户", "听力残疾", "三级"} & set(values)


def test_a_failed_edit_never_shows_the_kept_value(as_user, ctx):
    from models.people.people import Person

    person = db.session.scalars(select(Person).where(Person.phone.is_not(None), Person.household_id.is_not(None))
                                .order_by(Person.id)).first()
    html = as_user("worker").post(f"/person/edit/{person.id}", data={
        "name": person.name, "id_number": "", "phone": "12", "residence_type": person.residence_type,
        "household": person.household_id, "relation": person.relation}).get_data(as_text=True)
    assert "未保存任何内容" in html
    assert person.id_number not in html and person.phone not in html


def _child():
    from models.people.people import Person

    cutoff = datetime.date.today().replace(year=datetime.date.today().year - 10)
    return db.session.scalars(select(Person).where(Person.birth_date > cutoff).order_by(Person.id)).first()


def test_a_childs_name_is_masked_in_the_edit_form_and_the_log(as_user, ctx):
    from app.records import AuditLog
    from models.people.people import Person

    child = _child()
    form = as_user("worker").get(f"/person/edit/{child.id}").get_data(as_text=True)
    assert f'value="{child.name}"' not in form
    baby = domain.save(Person(name="欧阳小宝", residence_type="registered", community=f.community(),
                              birth_date=datetime.date.today() - datetime.timedelta(days=700)))
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity == "Person",
                                                      AuditLog.entity_id == str(baby.id))).one()
    assert "欧阳小宝" not in (entry.changes or "") and "欧阳" in (entry.changes or "")


def test_update_mode_never_matches_rows_by_an_empty_key(ctx):
    from models.people.people import Person
    from tests.test_import import _workbook

    rows = [{"name": f"无证居民{i}", "residence_type": "流动人口", "compound": "建材宿舍"} for i in range(2)]
    before = db.session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))
    result = importer.run(Person, _workbook(Person, rows), update=True)
    assert result.ok and result.written == 2 and result.updated == 0
    assert db.session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) > before


def test_a_row_without_a_place_gets_a_field_error(ctx):
    from models.people.people import Person
    from tests.test_import import _workbook

    result = importer.run(Person, _workbook(Person, [{"name": "无处可住", "residence_type": "流动人口"}]))
    assert not result.ok and list(result.at(2)) == ["household"]
    assert "小区" in result.at(2)["household"][0]


def test_children_follow_a_residents_move(as_user, ctx):
    """A resident in care moved to another grid: tags, care group and visits go along."""
    from models.people.care import CareGroup, Visit
    from models.people.people import Person, SpecialGroup
    from models.kernel.places import Compound, Grid

    person = db.session.scalars(select(Person).where(Person.care_group.has()).order_by(Person.id)).first()
    target = db.session.scalars(select(Compound).where(Compound.grid_id != person.grid_id,
                                                       Compound.community_id == person.community_id)).first()
    person.household, person.relation, person.compound = None, None, target
    domain.save(person)
    db.session.expire_all()
    grid = db.session.get(Grid, target.grid_id)
    assert db.session.get(Person, person.id).grid_id == grid.id
    for model in (SpecialGroup, CareGroup, Visit):
        rows = db.session.scalars(select(model).where(model.person_id == person.id)).all()
        assert rows and all(r.grid_id == grid.id for r in rows), model
    new_worker = f"grid{grid.code[-1]}"
    assert as_user(new_worker).get(f"/api/v1/special_group/?q=(page_size:100)").json["count"] >= 1
    tag = db.session.scalars(select(SpecialGroup).where(SpecialGroup.person_id == person.id)).first()
    assert as_user(new_worker).get(f"/api/v1/special_group/{tag.id}").status_code == 200


def test_a_clash_outside_the_scope_tells_nothing_about_it(as_user, ctx):
    from models.people.people import Person

    someone = db.session.scalars(select(Person).where(Person.id_number.is_not(None)).order_by(Person.id)).first()
    response = as_user("worker2").post("/api/v1/person/", json={
        "name": "别人", "residence_type": "registered", "id_number": someone.id_number,
        "community": f.community("槐荫社区").id})
    assert response.status_code == 422
    message = response.json["message"]["id_number"][0]
    assert someone.id_number not in message and "其他范围" in message


def test_visits_only_for_residents_in_care_and_real_dates(as_user, ctx):
    from models.people.people import Person

    healthy = db.session.scalars(select(Person).where(~Person.care_group.has(), Person.grid.has(code="WHL-01"))
                                 .order_by(Person.id)).first()
    cared = db.session.scalars(select(Person).where(Person.care_group.has(), Person.grid.has(code="WHL-01"))).first()
    client = as_user("grid1")
    staff = client.get("/api/v1/visit/related/staff?q=").json["result"][0]["id"]
    assert client.post("/api/v1/visit/", json={"person": healthy.id, "staff": [staff]}).status_code == 422
    old = client.post("/api/v1/visit/", json={"person": cared.id, "staff": [staff], "visited_on": "1900-01-01"})
    assert old.status_code == 422 and "visited_on" in old.json["message"]


def test_huge_ids_on_job_and_reveal_routes(as_user):
    huge = "99999999999999999999"
    client = as_user("worker")
    assert client.get(f"/person/import/job/{huge}").status_code == 404
    assert client.get(f"/person/import/job/{huge}/status").status_code == 404
    assert client.post(f"/sensitive/reveal/Person/{huge}/phone").status_code == 404
    assert client.post(f"/api/v1/sensitive/reveal/Person/{huge}/phone").status_code == 404


def test_special_groups_round_trip_by_id_number(as_user, ctx):
    """Special groups name their resident by ID number in an export, so the file imports
    again even where names are shared."""
    from models.people.people import SpecialGroup

    data = as_user("worker").get("/special-group/export/?reveal=1").data
    db.session.query(SpecialGroup).delete()
    with scope.acting_as(f.user("worker")):
        result = importer.run(SpecialGroup, data)
    assert result.ok, (dict(list(result.errors.items())[:3]), result.file_errors)
    assert result.written == 56
