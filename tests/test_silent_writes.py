"""A write either does what it says or is refused naming the field (issue 16, defect 7):
``PUT /api/v1/person/1 {"compound": 2}`` as a grid worker answered 200 and kept the
household's compound. Derived fields given a different value, read-only fields and
relations outside the caller's scope are refused with 422 and a Chinese message."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db

CJK = re.compile(r"[\u4e00-\u9fff]")


def _stored(model, pk: int, column: str):
    """The value in the database (not the identity map's object)."""
    db.session.expire_all()
    table = model.__table__
    return db.session.execute(select(table.c[column]).where(table.c.id == pk)).scalar()


def _other_grid_compound(grid_id: int):
    from models.kernel.places import Compound

    return db.session.scalars(select(Compound).where(Compound.grid_id != grid_id).order_by(Compound.id)).first()


def test_a_derived_field_given_another_value_is_refused_by_name(as_user, ctx):
    from models.people.people import Person

    person = db.session.get(Person, 1)
    compound, community, grid = person.compound_id, person.community_id, person.grid_id
    assert person.household_id is not None
    other = _other_grid_compound(grid)
    client = as_user("grid1")
    response = client.put("/api/v1/person/1", json={"compound": other.id})
    assert response.status_code == 422, response.json
    message = response.json["message"]
    assert list(message) == ["compound"] and CJK.search(message["compound"][0]) and "户" in message["compound"][0]
    response = client.put("/api/v1/person/1", json={"community": 2, "notes": "改了备注"})
    assert response.status_code == 422 and "community" in response.json["message"], response.json
    assert _stored(Person, 1, "compound_id") == compound and _stored(Person, 1, "community_id") == community
    assert _stored(Person, 1, "notes") != "改了备注"  # nothing of a refused write is kept


def test_the_same_derived_value_is_accepted(as_user, ctx):
    from models.people.people import Person

    person = db.session.get(Person, 1)
    response = as_user("grid1").put("/api/v1/person/1", json={"compound": person.compound_id, "notes": "核实"})
    assert response.status_code == 200, response.json
    assert _stored(Person, 1, "notes") == "核实"


def test_a_chosen_place_outside_the_scope_is_refused_on_that_field(as_user, ctx):
    """A resident without a household takes the compound given: it is the caller's choice,
    checked for scope like any other relation (it was skipped as "derived")."""
    from models.people.people import Person
    from tests import factories as f

    grid = f.user("grid1").scope_grid_id
    other = _other_grid_compound(grid)
    client = as_user("grid1")
    response = client.post("/api/v1/person/", json={"name": "流动人员甲", "residence_type": "floating",
                                                     "compound": other.id})
    assert response.status_code == 422, response.json
    assert "compound" in response.json["message"] and CJK.search(response.json["message"]["compound"][0])
    assert db.session.scalar(select(Person.id).where(Person.name == "流动人员甲")) is None


def test_read_only_fields_are_refused_by_name(as_user, ctx):
    from models.people.people import Person

    stamp = _stored(Person, 1, "created_at")
    client = as_user("grid1")
    for body in ({"created_at": "2020-01-01T00:00:00"}, {"id": 99999}, {"grid": 2}):
        response = client.put("/api/v1/person/1", json=body)
        assert response.status_code == 422, (body, response.json)
        (field, messages), = response.json["message"].items()
        assert field == next(iter(body)) and "只读" in messages[0], response.json
    assert _stored(Person, 1, "created_at") == stamp
    response = as_user("worker").post("/api/v1/road/", json={"name": "某巷", "id": 5})
    assert response.status_code == 422 and "只读" in response.json["message"]["id"][0]
    # a field the record does not have at all is still "does not exist"
    response = client.put("/api/v1/person/1", json={"nonsense": 1})
    assert response.status_code == 422 and "只读" not in response.json["message"]["nonsense"][0]


def test_a_masked_value_sent_back_is_refused(as_user, ctx):
    """Reading a resident and sending the answer back must not write the masks."""
    from models.people.people import Person

    client = as_user("grid1")
    shown = client.get("/api/v1/person/1").json["result"]
    assert "*" in shown["phone"] and "*" in shown["id_number"]
    phone, number = _stored(Person, 1, "phone"), _stored(Person, 1, "id_number")
    response = client.put("/api/v1/person/1", json={"phone": shown["phone"], "id_number": shown["id_number"]})
    assert response.status_code == 422, response.json
    assert set(response.json["message"]) == {"phone", "id_number"}
    assert all("遮蔽" in m[0] for m in response.json["message"].values()), response.json
    assert (_stored(Person, 1, "phone"), _stored(Person, 1, "id_number")) == (phone, number)
