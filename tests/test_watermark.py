"""Pages that show revealed personal data carry a faint watermark with the user's name and
the time: the printed certificate (its ID number is revealed) and any page after a
reveal (the answer carries the watermark, which the page lays over itself)."""
from __future__ import annotations

import re

from sqlalchemy import select

from app import clock
from app.extensions import db


def test_a_reveal_answers_with_the_watermark(as_user, ctx):
    from models.people.people import Person

    person = db.session.scalars(select(Person).where(Person.id_number.is_not(None)).order_by(Person.id)).first()
    response = as_user("secretary").post(f"/sensitive/reveal/Person/{person.id}/id_number")
    assert response.status_code == 200, response.json
    mark = response.json["watermark"]
    assert "secretary" in mark and clock.now().strftime("%Y-%m-%d") in mark


def test_the_certificate_carries_it(as_user, ctx):
    from models.volunteers.activities import Certificate

    made = db.session.scalars(select(Certificate).order_by(Certificate.id)).first()
    page = as_user("worker").get(f"/volunteer/certificate/{made.id}").get_data(as_text=True)
    marks = re.findall(r'<div class="watermark" aria-hidden="true">(.*?)</div>', page, re.S)
    assert marks and marks[0].count("<span>") == 60
    assert "worker" in marks[0] and clock.now().strftime("%Y-%m-%d") in marks[0]


def test_pages_without_revealed_data_have_none(as_user):
    assert 'class="watermark"' not in as_user("worker").get("/person/list/").get_data(as_text=True)


def test_an_unmasked_export_carries_it_in_the_sheet(as_user, ctx):
    import io

    import openpyxl

    response = as_user("secretary").get("/person/export/?reveal=1")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert "secretary" in sheet.oddHeader.center.text and "含未遮盖的个人信息" in sheet.oddFooter.center.text
    masked = as_user("secretary").get("/person/export/")
    assert not openpyxl.load_workbook(io.BytesIO(masked.data)).active.oddHeader.center.text
