"""A unit's position holds only a partner unit's account (issue 16, defect 11).

A position (职务) with an account makes that account a taker of the organisation's
demands, so only an account of the 结对单位联络员 role may hold it — never a leader's
or a worker's. The rule is the model's (app.domain.save), so the page, the API and
the import all refuse; the form's picker offers only such accounts.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app import domain
from app.domain import ValidationFailed
from app.extensions import db
from models.kernel.orgs import Organisation, Position
from tests import factories as f
from tests.test_volunteers import _jwt

MESSAGE = "职务只能关联“结对单位联络员”角色的账号"


def unit(name="孝感市物资公司") -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def positions_of(user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Position).where(Position.user_id == user.id))


def test_the_model_refuses_a_leader_s_account_and_takes_a_unit_account(ctx):
    for username in ("secretary", "worker", "leader"):
        user = f.user(username)
        try:
            domain.save(Position(organisation=unit(), title="liaison", holder_name="联络员", user=user))
        except ValidationFailed as error:
            assert MESSAGE in str(error.errors()["user"]), error.errors()
            db.session.rollback()
        else:
            raise AssertionError(f"{username} was attached to a unit's position")
        assert positions_of(user) == 0
    partner = f.user("partner")
    before = positions_of(partner)
    domain.save(Position(organisation=unit(), title="liaison", holder_name="联络员", user=partner))
    assert positions_of(partner) == before + 1


def test_the_api_refuses_a_leader_s_account(ctx, client):
    headers = _jwt(client, "worker")
    body = {"organisation": unit().id, "title": "liaison", "holder_name": "联络员"}
    secretary, partner = f.user("secretary"), f.user("partner")
    response = client.post("/api/v1/position/", json={**body, "user": secretary.id}, headers=headers)
    assert response.status_code == 422 and MESSAGE in str(response.json), response.json
    assert positions_of(secretary) == 0
    # nor is an existing position handed over to such an account
    before = positions_of(partner)
    response = client.post("/api/v1/position/", json={**body, "user": partner.id}, headers=headers)
    assert response.status_code == 201, response.json
    assert positions_of(partner) == before + 1
    pk = response.json["id"]
    response = client.put(f"/api/v1/position/{pk}", json={"user": secretary.id}, headers=headers)
    assert response.status_code == 422 and MESSAGE in str(response.json), response.json
    assert positions_of(secretary) == 0


def test_the_page_refuses_a_leader_s_account_and_its_picker_offers_unit_accounts(ctx, as_user):
    worker = as_user("worker")
    secretary, partner = f.user("secretary"), f.user("partner")
    form = {"organisation": str(unit().id), "title": "liaison", "holder_name": "页面联络员"}
    page = worker.post("/position/add", data={**form, "user": str(secretary.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert MESSAGE in page
    assert positions_of(secretary) == 0
    before = positions_of(partner)
    worker.post("/position/add", data={**form, "user": str(partner.id)}, follow_redirects=True)
    assert positions_of(partner) == before + 1
    choices = worker.get("/api/v1/position/related/user").get_json()
    ids = {row["id"] for row in choices["result"]}
    assert partner.id in ids
    assert secretary.id not in ids and f.user("worker").id not in ids
