"""便民服务一卡明: every compound has a card; it shows the grid workers A and B with their
office phones, the police officer, the repair hotlines, the property / 自管委 contacts and
the station with its duty hours; the printable card carries a QR code drawn locally that
points to the public page; no resident's phone or ID number is on any card."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import domain
from app.domain import DomainError
from app.extensions import db
from models.kernel.places import Compound
from models.cobuilding.stations import ContactCard, card_contents
from tests import factories as f


def yuhui() -> Compound:
    return db.session.scalars(select(Compound).where(Compound.name == "宇辉星城")).one()


def test_every_compound_has_a_card(ctx):
    community = f.community()
    compounds = db.session.scalar(select(func.count()).select_from(Compound).where(
        Compound.community_id == community.id))
    cards = db.session.scalar(select(func.count()).select_from(ContactCard).where(
        ContactCard.community_id == community.id))
    assert compounds == cards == 57


def test_the_card_comes_from_the_registers(ctx):
    contents = card_contents(yuhui())
    assert [w["label"] for w in contents["workers"]] and all(w["phone"] for w in contents["workers"])
    assert {m["name"] for m in contents["managers"]} >= {"宇辉星城物业服务中心"}
    assert contents["station"] is not None and contents["card"].power_repair == "95598"


def test_phones_on_a_card_are_checked(ctx):
    card = yuhui().contact_card
    card.police_phone = "不知道"
    with pytest.raises(DomainError) as error:
        domain.save(card)
    db.session.rollback()
    assert "95598" in str(error.value.errors())
    card = yuhui().contact_card
    card.police_phone, card.water_repair = "0712 2361101", "12345"
    domain.save(card)
    assert card.police_phone == "0712-2361101" and card.water_repair == "12345"


def test_the_printable_and_public_card(as_user, client, ctx):
    compound = yuhui()
    card = compound.contact_card
    page = as_user("worker").get(f"/contact-card/print/{card.id}").get_data(as_text=True)
    assert "宇辉星城" in page and "<svg" in page and "95598" in page
    public = client.get(f"/public/card/{compound.public_token}")  # no login
    assert public.status_code == 200 and "宇辉星城" in public.get_data(as_text=True)
    assert client.get("/public/card/not-a-token").status_code == 404
    assert as_user("worker2").get(f"/contact-card/print/{card.id}").status_code == 404


def test_the_qr_code_encodes_the_public_page(app, as_user, ctx):
    """The printed QR code is exactly segno's drawing of the public page's address."""
    from app import qr
    from views.cobuilding.stations import public_url

    compound = yuhui()
    with app.test_request_context():
        url = public_url(compound)
        expected = str(qr.svg(url))
    assert url.endswith(f"/public/card/{compound.public_token}")
    page = as_user("worker").get(f"/contact-card/print/{compound.contact_card.id}").get_data(as_text=True)
    assert expected in page
    other = yuhui_other = db.session.scalars(select(Compound).where(Compound.id != compound.id)).first()
    with app.test_request_context():
        assert str(qr.svg(public_url(yuhui_other))) not in page and other is not None


def test_no_card_shows_a_resident_s_phone_or_id_number(client, ctx):
    from models.people.people import Person

    values = [v for row in db.session.execute(select(Person.phone, Person.id_number)).all() for v in row
              if v and len(v) >= 7]
    assert values
    tokens = db.session.scalars(select(Compound.public_token).where(Compound.community_id == f.community().id))
    text = "\n".join(client.get(f"/public/card/{t}").get_data(as_text=True) for t in tokens)
    assert "便民服务" in text
    leaked = [v for v in values if v in text]
    assert not leaked, leaked[:3]
