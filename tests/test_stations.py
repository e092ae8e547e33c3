"""Stations: the 坐班 roster (times checked, one person never in two places at once), who
is on duty today on a frozen clock, the 五个有 checklist with its completeness, the
station page, and the demo's rosters and rules for every station."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.people.people import Staff
from models.kernel.places import Station
from models.cobuilding.stations import DutySlot, StationCharter, five_haves, on_duty
from tests import factories as f


def stations(n=2):
    return db.session.scalars(select(Station).where(Station.community_id == f.community().id)
                              .order_by(Station.id).limit(n)).all()


def cadre() -> Staff:
    return db.session.scalars(select(Staff).where(Staff.community_id == f.community().id)
                              .order_by(Staff.id.desc())).first()


def slot(station, staff, weekday="6", starts="09:00", ends="10:00") -> DutySlot:
    return domain.save(DutySlot(station=station, staff=staff, weekday=weekday, starts=starts, ends=ends))


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    db.session.rollback()
    return str(error.value.errors())


def test_a_person_is_never_on_duty_in_two_places_at_once(ctx):
    first, second = stations()
    person = cadre()
    db.session.execute(DutySlot.__table__.delete().where(DutySlot.staff_id == person.id, DutySlot.weekday == "6"))
    slot(first, person, starts="09:00", ends="10:00")
    message = errors_of(lambda: slot(second, person, starts="09:30", ends="11:00"))
    assert "已在" in message and first.name in message
    assert "已在" in errors_of(lambda: slot(second, person, starts="08:00", ends="12:00"))
    slot(second, person, starts="10:00", ends="11:00")  # back to back is fine
    slot(second, person, starts="19:00", ends="20:00")  # the same day, later
    assert "09:00" in errors_of(lambda: slot(first, person, starts="9点", ends="10:00"))
    assert "晚于" in errors_of(lambda: slot(first, person, starts="15:00", ends="14:00")) or \
        "之后" in errors_of(lambda: slot(first, person, starts="15:00", ends="14:00"))
    made = slot(first, person, starts="7:30", ends="8:00")
    assert made.starts == "07:30"


def test_who_is_on_duty_today(ctx):
    station = stations(1)[0]
    person = cadre()
    db.session.execute(DutySlot.__table__.delete().where(
        (DutySlot.station_id == station.id) | ((DutySlot.staff_id == person.id) & (DutySlot.weekday == "6"))))
    slot(station, person, weekday="6", starts="09:00", ends="11:30")
    db.session.expire_all()
    station = db.session.get(Station, station.id)
    sunday = datetime.datetime(2026, 11, 29, 8)  # a Sunday
    assert [s.staff_id for s in on_duty(station, sunday)] == [person.id]
    assert on_duty(station, sunday + datetime.timedelta(days=1)) == []


def test_the_five_haves_checklist(ctx):
    station = stations(1)[0]
    end = clock.today()
    full = five_haves(station, end - datetime.timedelta(days=365), end)
    keys = {i["key"]: i["ok"] for i in full["items"]}
    assert keys["place"] and keys["rules"]
    assert full["completeness"] == sum(keys.values()) * 20
    bare = domain.save(Station(compound=_compound_without_station(), name="新驿站"))
    empty = five_haves(bare, end - datetime.timedelta(days=30), end)
    assert empty["completeness"] < 100 and not {i["key"]: i["ok"] for i in empty["items"]}["rules"]
    domain.save(StationCharter(station=bare, title="议事规则", adopted_on=end))
    db.session.expire_all()
    again = five_haves(db.session.get(Station, bare.id), end - datetime.timedelta(days=30), end)
    assert {i["key"]: i["ok"] for i in again["items"]}["rules"] and again["completeness"] == empty["completeness"] + 20


def _compound_without_station():
    from models.kernel.places import Compound

    return db.session.scalars(select(Compound).where(Compound.community_id == f.community().id,
                                                     ~Compound.stations.any()).order_by(Compound.id)).first()


def test_the_station_page(as_user, ctx):
    station = stations(1)[0]
    page = as_user("worker").get(f"/station/show/{station.id}").get_data(as_text=True)
    assert "五个有" in page and "完成度" in page and "坐班表" in page and "今日坐班" in page
    assert "有阵地" in page and "有激励" in page
    assert as_user("worker2").get(f"/station/show/{station.id}").status_code == 404


def test_the_demo_gives_every_station_a_roster_and_rules(ctx):
    community = f.community()
    total = db.session.scalar(select(func.count()).select_from(Station).where(Station.community_id == community.id))
    with_roster = db.session.scalar(select(func.count(func.distinct(DutySlot.station_id))).where(
        DutySlot.community_id == community.id))
    with_rules = db.session.scalar(select(func.count(func.distinct(StationCharter.station_id))).where(
        StationCharter.community_id == community.id))
    assert total == with_roster == with_rules == 49
