"""People registers: rules of residents, households, merchants, special groups, party
members, 三长, staff, care groups and visits — each bad input a precise Chinese message."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select

from app import domain, standards
from app.extensions import db
from tests import factories as f


def _person(**values):
    from models.people.people import Person

    base = dict(name="测试居民", residence_type="registered", community=f.community())
    base.update(values)
    return Person(**base)


def _valid_id(born="19800101", seq="123", region="420902"):
    first17 = region + born + seq
    return first17 + standards.id_check_char(first17)


def _errors(item):
    with pytest.raises(domain.ValidationFailed) as error:
        domain.save(item)
    return error.value.errors()


def test_id_number_gives_birth_date_and_sex(ctx):
    person = domain.save(_person(id_number=_valid_id("19800101", "123")))
    assert person.birth_date == datetime.date(1980, 1, 1) and person.sex == "1"  # 17th digit 3: male


def test_legacy_15_digit_numbers_are_upgraded(ctx):
    person = domain.save(_person(id_number="420902800101123"))
    assert person.id_number.startswith("42090219800101123") and len(person.id_number) == 18


@pytest.mark.parametrize("number,field,fragment", [
    (_valid_id()[:-1] + ("0" if _valid_id()[-1] != "0" else "1"), "id_number", "校验"),
    ("420902199902311234", "id_number", "不是有效日期"),
    ("42090219800101", "id_number", "18"),
])
def test_bad_id_numbers(ctx, number, field, fragment):
    errors = _errors(_person(id_number=number))
    assert field in errors and fragment in errors[field][0], errors


def test_sex_and_birth_date_must_agree_with_the_id(ctx):
    errors = _errors(_person(id_number=_valid_id("19800101", "124"), sex="1",  # 4: female
                             birth_date=datetime.date(1981, 1, 1)))
    assert "sex" in errors and "birth_date" in errors


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "0712-123"])
def test_bad_phones(ctx, phone):
    errors = _errors(_person(phone=phone))
    assert "phone" in errors and "手机" in errors["phone"][0]


def test_good_phones_are_normalised(ctx):
    assert domain.save(_person(phone="+86 138 1234 5678")).phone == "13812345678"
    assert domain.save(_person(name="座机居民", phone="0712 2345678")).phone == "0712-2345678"


def test_unknown_dictionary_values(ctx):
    errors = _errors(_person(ethnicity="99", political_status="xx", residence_type="nowhere"))
    assert {"ethnicity", "political_status", "residence_type"} <= set(errors)


def test_a_household_in_another_community_is_refused_for_a_worker(as_user, ctx):
    from models.people.people import Household

    other = db.session.scalars(select(Household).where(Household.community_id != f.community().id)).first()
    if other is None:  # 槐荫社区 has a building but no households in the demo: make one
        from models.kernel.places import Building, Unit

        building = db.session.scalars(select(Building).join(Building.compound)
                                      .where(Building.community_id == f.community("槐荫社区").id)).first()
        unit = domain.save(Unit(building=building, name="1单元"))
        other = domain.save(Household(unit=unit, room="101"))
    response = as_user("worker").post("/api/v1/person/", json={
        "name": "越界居民", "residence_type": "registered", "household": other.id, "relation": "02",
        "community": f.community().id})
    assert response.status_code == 422 and "household" in response.json["message"]


def test_one_head_per_household(ctx):
    from models.people.people import Household, Person

    household = db.session.scalars(select(Household).order_by(Household.id)).first()
    errors = _errors(Person(name="第二户主", residence_type="registered", household=household, relation="02"))
    assert "relation" in errors


def test_a_member_needs_a_relation(ctx):
    from models.people.people import Household, Person

    household = db.session.scalars(select(Household).order_by(Household.id)).first()
    errors = _errors(Person(name="无关系", residence_type="registered", household=household))
    assert "relation" in errors


def test_person_takes_place_from_household(ctx):
    from models.people.people import Household, Person

    household = db.session.scalars(select(Household).order_by(Household.id)).first()
    person = domain.save(Person(name="新成员", residence_type="registered", household=household, relation="20"))
    assert (person.community_id, person.grid_id, person.compound_id) == \
        (household.community_id, household.grid_id, household.compound_id)


def test_merchant_licence_and_place(ctx):
    from models.people.people import Merchant, credit_check_char

    first17 = "91420902MA4AAAAA0"
    good = first17 + credit_check_char(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    errors = _errors(Merchant(shop_name="某店", owner_name="某人", licence_no=bad, community=f.community()))
    assert "licence_no" in errors and "road" in errors
    from models.kernel.places import Road

    road = db.session.scalars(select(Road).where(Road.name == "文化路")).first()
    merchant = domain.save(Merchant(shop_name="某店", owner_name="某人", licence_no=good.lower(), road=road))
    assert merchant.licence_no == good and merchant.community_id == road.community_id


def test_special_group_rules(ctx):
    from models.people.people import Person, SpecialGroup

    person = db.session.scalars(select(Person).order_by(Person.id)).first()
    errors = _errors(SpecialGroup(person=person, type="disabled"))
    assert "category" in errors and "level" in errors
    errors = _errors(SpecialGroup(person=person, type="subsistence", category="visual"))
    assert "category" in errors


def test_party_member_rules(ctx):
    from models.kernel.orgs import Organisation
    from models.people.people import PartyMember, Person

    person = db.session.scalars(select(Person).where(Person.party_membership == None)  # noqa: E711
                                .order_by(Person.id)).first()
    school = db.session.scalars(select(Organisation).where(Organisation.name == "蓓蕾幼儿园")).one()
    errors = _errors(PartyMember(person=person, branch=school, category="sinking"))
    assert {"branch", "employer_unit", "reported_on"} <= set(errors)


def test_one_head_per_place(ctx):
    from models.people.people import Head, Person
    from models.kernel.places import Compound

    compound = db.session.scalars(select(Compound).where(Compound.name == "建材宿舍")).one()
    person = db.session.scalars(select(Person).order_by(Person.id)).first()
    errors = _errors(Head(level="compound", person=person, compound=compound))
    assert "compound" in errors and "小区长" in errors["compound"][0]


def test_staff_grid_worker_needs_grid(ctx):
    from models.people.people import Staff

    errors = _errors(Staff(name="某网格员", post="grid_worker", community=f.community()))
    assert "grid" in errors


def test_care_group_and_visit_rules(ctx):
    from models.people.care import CareGroup, Visit
    from models.people.people import Person

    healthy = db.session.scalars(select(Person).where(~Person.special_groups.any()).order_by(Person.id)).first()
    errors = _errors(CareGroup(person=healthy))
    assert "person" in errors and "staff" in errors
    cared = db.session.scalars(select(Person).where(Person.care_group.has())).first()
    errors = _errors(Visit(person=cared, visited_on=datetime.date.today() + datetime.timedelta(days=2)))
    assert "visited_on" in errors


def test_demo_people_figures(ctx):
    from models.people.care import CareGroup, Visit
    from models.people.people import Head, Household, Merchant, PartyMember, Person, SpecialGroup, Staff

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(Person) == 12250 and count(Household) == 3430
    assert count(Person, Person.residence_type == "floating") == 546
    assert count(Merchant) == 317
    assert count(SpecialGroup) == 56 and count(CareGroup) == 56 and count(Visit) > 300
    assert count(PartyMember, PartyMember.category == "on_job") == 164
    assert count(PartyMember, PartyMember.category == "sinking") == 148
    assert count(PartyMember, PartyMember.center_household_id.is_not(None)) == 403
    assert [count(Head, Head.level == level) for level in ("compound", "building", "unit")] == [57, 136, 274]
    assert count(Staff, Staff.post == "cadre") == 8 and count(Staff, Staff.post == "grid_worker") == 6
    for number in db.session.scalars(select(Person.id_number).limit(500)):
        assert standards.normalize_id_number(number) == number
