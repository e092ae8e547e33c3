"""Rows that moved points, stock or money are never deleted (issue 16, defect 1).

Each such row — an exchange, a points entry, a service record of a completed activity,
an elected star nominee or a person commended who got bonus points, a fund's
contribution or expenditure — is refused by the REST API, the page's delete and the
domain function every other path (CLI, bulk) goes through, with a Chinese message;
afterwards the row is still there and the balances and the stock are what they were.
The list page offers no delete link for such rows (and still does for other rows).
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.volunteers import honours, points, activities as volunteers
from models.cobuilding.pledges import Contribution, Expenditure, Fund
from models.volunteers.honours import Commendation, Honoree
from models.volunteers.points import Exchange, Gift, LedgerEntry
from models.volunteers.activities import ServiceRecord, Volunteer
from tests import factories as f
from tests.test_cobuilding import fund, give, spend
from tests.test_honours import new_round, nominate
from tests.test_points import adults, award, gift, registered
from tests.test_volunteers import _jwt, activity


def _state(row) -> dict:
    """What the row moved, read from the database (not the identity map)."""
    db.session.expire_all()
    state = {"exists": db.session.scalar(select(func.count()).select_from(type(row))
                                         .where(type(row).id == row.id)) == 1,
             "entries": db.session.scalar(select(func.count()).select_from(LedgerEntry))}
    volunteer_id = getattr(row, "volunteer_id", None)
    if volunteer_id is None and getattr(row, "person_id", None) is not None:
        volunteer_id = db.session.scalar(select(Volunteer.id).where(Volunteer.person_id == row.person_id))
    if volunteer_id is not None:
        state["balance"] = db.session.scalar(select(Volunteer.points_balance).where(Volunteer.id == volunteer_id))
    if getattr(row, "gift_id", None) is not None:
        state["stock"] = db.session.scalar(select(Gift.stock).where(Gift.id == row.gift_id))
    if getattr(row, "fund_id", None) is not None:
        state["fund"] = Decimal(db.session.scalar(select(Fund.balance).where(Fund.id == row.fund_id)))
    return state


# ----------------------------------------------------------------------------- the rows

def requested_exchange(offset):
    volunteer = registered(adults(1, offset=offset)[0])
    award(volunteer, 20)
    return points.request_exchange(volunteer, gift(stock=5, cost=2), 1)


def collected_exchange(offset):
    exchange = requested_exchange(offset)
    points.approve(exchange, f.user("worker"))
    return points.collect(exchange, f.user("worker"), handler="袁德明")


def rejected_exchange(offset):
    exchange = requested_exchange(offset)
    return points.reject(exchange, f.user("worker"), reason="库存登记有误")


def ledger_entry(offset):
    return award(registered(adults(1, offset=offset)[0]), 15)


def activity_service_record(offset):
    volunteer = registered(adults(1, offset=offset)[0])
    event = activity(capacity=2, hours=2, points_=10)
    volunteers.sign_up(event, volunteer)
    volunteers.check_in_volunteer(event, volunteer)
    volunteers.complete(event)
    return db.session.scalars(select(ServiceRecord).where(ServiceRecord.activity_id == event.id)).one()


def elected_star(offset):
    person = adults(1, offset=offset)[0]
    registered(person)
    star_round = new_round(stars=1)
    nominee = nominate(star_round, person)
    honours.decide_round(star_round, [nominee.id], f.user("secretary"))
    assert nominee.points
    return nominee


def commended_volunteer(offset):
    person = adults(1, offset=offset)[0]
    registered(person)
    commendation = domain.save(Commendation(community=f.community(), year=clock.today().year, title="测试保留表彰"))
    honoree = domain.save(Honoree(commendation=commendation, person=person, deeds="事迹"))
    honours.announce(commendation, f.user("secretary"))
    assert honoree.points
    return honoree


def contribution(offset):
    return give(fund(name=f"保留测试{offset}"), Decimal("80.00"))


def expenditure(offset):
    target = fund(name=f"保留测试{offset}")
    give(target, Decimal("80.00"))
    return spend(target, Decimal("30.00"))


#: (name, builder, page route, API resource, who deletes)
KEPT = [
    ("requested exchange", requested_exchange, "exchange", "exchange", "worker"),
    ("collected exchange", collected_exchange, "exchange", "exchange", "worker"),
    ("rejected exchange", rejected_exchange, "exchange", "exchange", "worker"),
    ("service record", activity_service_record, "service-record", "service_record", "worker"),
    ("elected star", elected_star, "star-nominee", "star_nominee", "worker"),
    ("person commended", commended_volunteer, "honoree", "honoree", "worker"),
    ("contribution", contribution, "contribution", "contribution", "worker"),
    ("expenditure", expenditure, "expenditure", "expenditure", "worker"),
]


@pytest.mark.parametrize("name,build,route,resource,username", KEPT, ids=[k[0] for k in KEPT])
def test_the_api_refuses_to_delete_a_row_that_moved_points_or_stock(name, build, route, resource, username,
                                                                   ctx, client):
    row = build(400 + [k[0] for k in KEPT].index(name) * 3)
    before = _state(row)
    assert before["exists"]
    response = client.delete(f"/api/v1/{resource}/{row.id}", headers=_jwt(client, username))
    assert response.status_code in (403, 422), (response.status_code, response.json)
    assert "不能删除" in str(response.json), response.json
    assert _state(row) == before


@pytest.mark.parametrize("name,build,route,resource,username", KEPT, ids=[k[0] for k in KEPT])
def test_the_page_refuses_to_delete_it_and_offers_no_delete_link(name, build, route, resource, username,
                                                                ctx, as_user):
    row = build(430 + [k[0] for k in KEPT].index(name) * 3)
    before = _state(row)
    web = as_user(username)
    listing = web.get(f"/{route}/list/?psize_{_view(route)}=100").get_data(as_text=True)
    assert f'data-pk="{row.id}"' in listing  # the row is listed ...
    assert f"/{route}/delete/{row.id}" not in listing  # ... without a delete link
    page = web.post(f"/{route}/delete/{row.id}", follow_redirects=True).get_data(as_text=True)
    assert "不能删除" in page
    assert _state(row) == before


@pytest.mark.parametrize("name,build,route,resource,username", KEPT, ids=[k[0] for k in KEPT])
def test_the_domain_function_refuses_it_for_every_other_path(name, build, route, resource, username, ctx):
    """The CLI, imports and bulk deletions go through app.domain.delete."""
    from app.interface import Interface

    row = build(460 + [k[0] for k in KEPT].index(name) * 3)
    before = _state(row)
    with pytest.raises(DomainError) as error:
        domain.delete(row)
    assert "不能删除" in str(error.value.errors())
    db.session.rollback()
    with pytest.raises(DomainError):
        Interface(type(row)).delete_all([db.session.get(type(row), row.id)])
    db.session.rollback()
    assert _state(row) == before


def test_a_points_entry_is_refused_everywhere_with_a_message(ctx, client):
    entry = ledger_entry(490)
    before = _state(entry)
    response = client.delete(f"/api/v1/ledger_entry/{entry.id}", headers=_jwt(client, "secretary"))
    assert response.status_code in (403, 404, 405)
    with pytest.raises(DomainError) as error:
        domain.delete(db.session.get(LedgerEntry, entry.id))
    assert "积分流水永不删除" in str(error.value.errors())
    db.session.rollback()
    assert _state(entry) == before


def test_rows_that_moved_nothing_can_still_be_deleted(ctx, as_user, client):
    """A service record entered by hand (no activity, no points) keeps its delete link."""
    volunteer = registered(adults(1, offset=495)[0])
    record = domain.save(ServiceRecord(volunteer=volunteer, served_on=clock.today(), place="站点", content="值守",
                                       hours=Decimal("1.0"), recorder="袁德明", organisation="文化路社区"))
    pk = record.id
    web = as_user("worker")
    listing = web.get(f"/service-record/list/?psize_{_view('service-record')}=100").get_data(as_text=True)
    assert f"/service-record/delete/{pk}" in listing
    response = client.delete(f"/api/v1/service_record/{pk}", headers=_jwt(client, "worker"))
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert db.session.get(ServiceRecord, pk) is None


def _view(route: str) -> str:
    from flask import current_app

    for view in current_app.appbuilder.baseviews:
        if getattr(view, "route_base", None) == f"/{route}":
            return type(view).__name__
    raise AssertionError(route)


def test_the_exchange_of_the_issue_keeps_its_points_and_stock(ctx, client):
    """The issue's steps: POST an exchange as 社区工作者, then DELETE it."""
    volunteer = registered(adults(1, offset=498)[0])
    award(volunteer, 10)
    offered = gift(stock=3, cost=2)
    headers = _jwt(client, "worker")
    response = client.post("/api/v1/exchange/", json={"volunteer": volunteer.id, "gift": offered.id, "quantity": 1},
                           headers=headers)
    assert response.status_code == 201, response.json
    pk = response.json["id"]
    response = client.delete(f"/api/v1/exchange/{pk}", headers=headers)
    assert response.status_code in (403, 422) and re.search("驳回", str(response.json)), response.json
    db.session.expire_all()
    assert db.session.get(Exchange, pk) is not None
    assert db.session.scalar(select(Volunteer.points_balance).where(Volunteer.id == volunteer.id)) == 8
    assert db.session.scalar(select(Gift.stock).where(Gift.id == offered.id)) == 2
    assert db.session.scalar(select(LedgerEntry.amount).where(LedgerEntry.key == f"exchange:{pk}")) == -2


def test_the_fund_rows_stay_in_the_account(ctx):
    target = fund(name="保留测试账目")
    gave = give(target, Decimal("50.00"))
    spent = spend(target, Decimal("20.00"))
    for row in (gave, spent):
        with pytest.raises(DomainError) as error:
            domain.delete(row)
        assert "冲正" in str(error.value.errors())
        db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Fund, target.id).balance == Decimal("30.00")
    assert db.session.get(Contribution, gave.id) is not None and db.session.get(Expenditure, spent.id) is not None
