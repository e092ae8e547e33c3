"""Scope of the people registers: a 网格员 sees only their grid's residents, visits and
overdue list — in the UI, the API and exports."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from tests import factories as f


def _grid(code):
    from models.kernel.places import Grid

    return db.session.scalars(select(Grid).where(Grid.code == code)).one()


def test_grid_worker_sees_only_their_grids_residents(as_user, ctx):
    from models.people.people import Person

    grid = _grid("WHL-01")
    expected = db.session.scalar(select(func.count()).select_from(Person).where(Person.grid_id == grid.id))
    client = as_user("grid1")
    assert client.get("/api/v1/person/?q=(page_size:1)").json["count"] == expected
    other = db.session.scalars(select(Person).where(Person.grid_id == _grid("WHL-02").id)).first()
    assert client.get(f"/person/show/{other.id}").status_code == 404
    assert client.get(f"/api/v1/person/{other.id}").status_code == 404
    listing = client.get(f"/person/list/?q={other.name}").get_data(as_text=True)
    assert f'data-pk="{other.id}"' not in listing


def test_grid_worker_sees_only_their_grids_visits_and_overdue(as_user, ctx):
    from models.people.care import Visit, overdue

    grid = _grid("WHL-01")
    client = as_user("grid1")
    body = client.get("/api/v1/visit/?q=(page_size:100)").json
    mine = db.session.scalar(select(func.count()).select_from(Visit).where(Visit.grid_id == grid.id))
    assert body["count"] == mine and mine > 0
    page = client.get("/care/overdue/").get_data(as_text=True)
    everyone = overdue(user=None)
    assert everyone
    for person, _days, _last in everyone:
        shown = f"/person/show/{person.id}\"" in page
        assert shown == (person.grid_id == grid.id), person
    assert overdue(user=f.user("grid1"), count_only=True) == sum(1 for p, *_ in everyone if p.grid_id == grid.id)


def test_grid_worker_exports_only_their_grid(as_user, ctx):
    from models.people.people import Person

    grid = _grid("WHL-01")
    data = as_user("grid1").get("/person/export/")
    assert data.status_code == 403  # 网格员 may not export the register
    data = as_user("worker").get(f"/person/export/?_flt_0_grid={grid.id}").data
    rows = list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True))
    expected = db.session.scalar(select(func.count()).select_from(Person).where(Person.grid_id == grid.id))
    assert len(rows) - 1 == expected


def test_community_worker_sees_no_resident_of_another_community(as_user, ctx):
    assert as_user("worker2").get("/api/v1/person/?q=(page_size:1)").json["count"] == 0
    assert as_user("worker2").get("/api/v1/visit/?q=(page_size:1)").json["count"] == 0


def test_volunteer_sees_and_visits_only_the_residents_they_care_for(as_user, ctx):
    """党员志愿者 (仅本人): the residents of the care groups they belong to, their own visits."""
    from models.people.care import CareGroup
    from models.people.people import PartyMember, Person

    me = db.session.scalars(select(PartyMember).where(PartyMember.user.has(username="volunteer"))).one()
    mine = db.session.scalars(select(Person).where(Person.care_group.has(CareGroup.members.contains(me)))).all()
    others = db.session.scalars(select(Person).where(Person.care_group.has(~CareGroup.members.contains(me)))).all()
    assert len(mine) == 3 and others
    client = as_user("volunteer")
    assert client.get("/api/v1/visit/?q=(page_size:1)").json["count"] == 0  # none recorded by them yet
    picker = client.get("/api/v1/visit/related/person?q=").json
    assert sorted(r["id"] for r in picker["result"]) == sorted(p.id for p in mine)
    ok = client.post("/api/v1/visit/", json={"person": mine[0].id, "members": [me.id],
                                             "findings": "一切正常", "mode": "phone"})
    assert ok.status_code == 201, ok.json
    refused = client.post("/api/v1/visit/", json={"person": others[0].id, "members": [me.id], "mode": "phone"})
    assert refused.status_code == 422 and "person" in refused.json["message"]
    assert client.get("/api/v1/visit/?q=(page_size:1)").json["count"] == 1
    page = client.get("/care/overdue/").get_data(as_text=True)
    assert not any(f">{p.name}<" in page for p in others if p.name not in {m.name for m in mine})
    assert "/person/show/" not in page  # volunteers do not open the register


def test_partner_liaison_sees_only_the_members_of_their_unit(as_user, ctx):
    from models.kernel.orgs import Organisation
    from models.people.people import PartyMember

    unit = db.session.scalars(select(Organisation).where(Organisation.name == "孝感市盐业公司")).one()
    expected = db.session.scalar(select(func.count()).select_from(PartyMember)
                                 .where(PartyMember.employer_unit_id == unit.id))
    body = as_user("partner").get("/api/v1/party_member/?q=(page_size:100)").json
    assert body["count"] == expected and expected > 0
    assert as_user("partner").get("/api/v1/person/?q=(page_size:1)").status_code in (401, 403)
