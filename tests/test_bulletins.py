"""Bulletins (简报): 第 N 期 unique per community and proposed as the next one, a body
that is sanitized however it is written (form or API), attachments checked by content
and all-or-none, links to activities and star rounds of the same community, the
printable issue (stars' names masked without consent), the archive, scope; gift
pictures; and the demo's 42 issues."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from app.standards import mask_name
from models.volunteers import honours
from models.kernel.attachments import Attachment
from models.volunteers.bulletins import Bulletin, next_number
from models.volunteers.points import Gift
from tests import factories as f
from tests.test_honours import new_round, nominate
from tests.test_points import adults
from tests.test_uploads import EXE, PDF_BYTES, office, png_bytes
from tests.test_volunteers import _jwt

EVIL = '<p onclick="steal()">好消息<script>alert(1)</script><a href="javascript:alert(2)">点此</a>' \
       '<img src="https://evil.example/x.png"><iframe src="/"></iframe></p>'


@pytest.fixture
def folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    return tmp_path


def bulletin(**values) -> Bulletin:
    community = values.pop("community", f.community())
    return domain.save(Bulletin(community=community, number=values.pop("number", next_number(community.id)),
                                title=values.pop("title", "测试简报"), issued_on=values.pop("issued_on", clock.today()),
                                body=values.pop("body", "<p>正文</p>"), **values))


def errors_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    return str(error.value.errors())


# ----------------------------------------------------------------------------- the register

def test_issue_numbers_are_unique_per_community_and_proposed(ctx):
    made = bulletin()
    assert next_number(f.community().id) == made.number + 1
    assert f"第 {made.number + 1}" in errors_of(lambda: bulletin(number=made.number)) or \
        str(made.number + 1) in errors_of(lambda: bulletin(number=made.number))
    other = bulletin(community=f.community("槐荫社区"), number=made.number)  # another community's numbering
    assert other.number == made.number
    assert "必填" in errors_of(lambda: bulletin(body="  ")) or "required" in errors_of(lambda: bulletin(body="  "))
    assert Bulletin.form_defaults(f.user("worker"))["number"] == next_number(f.community().id)


def test_the_body_is_sanitized_however_it_is_written(ctx, client):
    made = bulletin(body=EVIL)
    for bad in ("onclick", "<script", "javascript:", "evil.example", "<iframe", "alert(1)"):
        assert bad not in made.body, bad
    assert "好消息" in made.body and "点此" in made.body
    headers = _jwt(client, "worker")
    response = client.post("/api/v1/bulletin/", json={"community": f.community().id, "number": made.number + 1,
                                                      "title": "接口简报", "issued_on": str(clock.today()),
                                                      "body": EVIL}, headers=headers)
    assert response.status_code == 201, response.json
    stored = db.session.get(Bulletin, response.json["id"]).body
    assert "好消息" in stored and "<script" not in stored and "onclick" not in stored


def test_links_stay_within_the_community(ctx):
    from models.volunteers.activities import Activity

    foreign_round = new_round(community=f.community("槐荫社区"), period="2025-04")
    assert "本社区" in errors_of(lambda: bulletin(star_rounds=[foreign_round])) or \
        "own community" in errors_of(lambda: bulletin(star_rounds=[foreign_round]))
    activity = db.session.scalars(select(Activity).where(Activity.community_id == f.community().id)).first()
    made = bulletin(activities=[activity])
    assert made.activities == [activity]


# ----------------------------------------------------------------------------- pages

def test_the_printed_issue_masks_stars_without_consent(ctx, as_user):
    star_round = new_round(period="2025-06")
    people = adults(2, offset=400)
    agreed, private = nominate(star_round, people[0], publish_name=True), nominate(star_round, people[1])
    honours.decide_round(star_round, [agreed.id, private.id])
    made = bulletin(title="六月之星", body=EVIL, star_rounds=[star_round])
    page = as_user("worker").get(f"/bulletin/print/{made.id}").get_data(as_text=True)
    assert "六月之星" in page and f"第 {made.number} 期" in page
    assert people[0].name in page and people[1].name not in page and mask_name(people[1].name) in page
    assert "alert(1)" not in page and "steal()" not in page


def test_the_archive_lists_every_issue_in_scope(ctx, as_user):
    made = bulletin(title="档案测试简报")
    mine = as_user("worker").get("/bulletin/archive/").get_data(as_text=True)
    assert "档案测试简报" in mine and "简报" in mine
    assert "档案测试简报" not in as_user("worker2").get("/bulletin/archive/").get_data(as_text=True)
    assert as_user("worker2").get(f"/bulletin/show/{made.id}").status_code == 404
    assert as_user("worker2").get(f"/bulletin/print/{made.id}").status_code == 404
    assert as_user("volunteer").get("/bulletin/archive/").status_code == 200  # volunteers read the bulletins


def test_attachments_are_checked_all_or_none_and_served_in_scope(ctx, as_user, folder):
    made = bulletin()
    worker = as_user("worker")

    def rows():
        return db.session.scalars(select(Attachment).where(Attachment.owner == "Bulletin",
                                                           Attachment.owner_id == made.id)
                                  .order_by(Attachment.id)).all()

    bad = worker.post(f"/bulletin/attach/{made.id}", data={
        "files": [(io.BytesIO(PDF_BYTES), "纪要.pdf"), (io.BytesIO(EXE), "照片.jpg")]},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "照片.jpg" in bad
    assert rows() == []
    assert not list((folder / "bulletin").glob("*")) if (folder / "bulletin").exists() else True
    good = worker.post(f"/bulletin/attach/{made.id}", data={
        "files": [(io.BytesIO(PDF_BYTES), "纪要.pdf"), (io.BytesIO(office("word/")), "简报.docx"),
                  (io.BytesIO(png_bytes()), "现场.png")]},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "纪要.pdf" in good and "简报.docx" in good
    stored = rows()
    assert [r.content_type.split("/")[0] for r in stored] == ["application", "application", "image"]
    pdf = worker.get(f"/bulletin/attachment/{made.id}/{stored[0].id}")
    assert pdf.status_code == 200 and pdf.data == PDF_BYTES and "attachment" in pdf.headers["Content-Disposition"]
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert as_user("worker2").get(f"/bulletin/attachment/{made.id}/{stored[0].id}").status_code == 404
    other = bulletin()
    assert worker.get(f"/bulletin/attachment/{other.id}/{stored[0].id}").status_code == 404  # not its file
    assert as_user("leader").post(f"/bulletin/detach/{made.id}/{stored[0].id}").status_code in (302, 403)
    assert db.session.get(Attachment, stored[0].id) is not None
    path = folder / "bulletin" / stored[0].stored_as
    assert path.exists()
    first = stored[0].id
    worker.post(f"/bulletin/detach/{made.id}/{first}")
    db.session.expire_all()
    assert db.session.get(Attachment, first) is None and not path.exists()


def test_projects_and_meetings_take_attachments_too(ctx, as_user, folder):
    from models.cobuilding.pledges import PledgeProject
    from models.cobuilding.meetings import Meeting

    worker = as_user("worker")
    for entity, path in ((PledgeProject, "pledge-project"), (Meeting, "meeting")):
        item = db.session.scalars(select(entity).where(entity.community_id == f.community().id)).first()
        worker.post(f"/{path}/attach/{item.id}", data={"files": [(io.BytesIO(PDF_BYTES), "签字页.pdf")]},
                    content_type="multipart/form-data")
        row = db.session.scalars(select(Attachment).where(Attachment.owner == entity.__name__,
                                                          Attachment.owner_id == item.id)).one()
        page = worker.get(f"/{path}/show/{item.id}").get_data(as_text=True)
        assert "签字页.pdf" in page
        assert worker.get(f"/{path}/attachment/{item.id}/{row.id}").data == PDF_BYTES
        assert as_user("worker2").get(f"/{path}/attachment/{item.id}/{row.id}").status_code == 404


def test_the_editor_and_the_list_show_the_body_safely(ctx, as_user):
    made = bulletin(title="列表简报", body="<p><strong>重要</strong>通知：" + "很长的内容" * 40 + "</p>")
    worker = as_user("worker")
    form = worker.get(f"/bulletin/edit/{made.id}").get_data(as_text=True)
    assert "rich-text" in form or "contenteditable" in form
    listing = worker.get("/bulletin/list/").get_data(as_text=True)
    assert "列表简报" in listing
    show = worker.get(f"/bulletin/show/{made.id}").get_data(as_text=True)
    assert "<strong>重要</strong>" in show


def test_a_bulletin_is_added_through_the_form(ctx, as_user):
    worker = as_user("worker")
    number = next_number(f.community().id)
    form = worker.get("/bulletin/add").get_data(as_text=True)
    assert f'value="{number}"' in form
    response = worker.post("/bulletin/add", data={
        "number": number, "title": "表单简报", "issued_on": str(clock.today()), "community": f.community().id,
        "body": '<p>正文<img src="x" onerror="alert(1)"></p>'}, follow_redirects=True)
    assert response.status_code == 200
    made = db.session.scalars(select(Bulletin).where(Bulletin.title == "表单简报")).one()
    assert made.number == number and "onerror" not in made.body and "正文" in made.body


# ----------------------------------------------------------------------------- gift pictures

def test_a_gift_picture_is_checked_by_content_and_replaced(ctx, as_user, folder):
    gift = db.session.scalars(select(Gift).where(Gift.community_id == f.community().id)).first()
    worker = as_user("worker")
    refused = worker.post(f"/gift/picture/{gift.id}", data={"picture": (io.BytesIO(EXE), "gift.png")},
                          content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "gift.png" in refused
    db.session.expire_all()
    assert db.session.get(Gift, gift.id).picture is None
    worker.post(f"/gift/picture/{gift.id}", data={"picture": (io.BytesIO(png_bytes()), "毛巾.png")},
                content_type="multipart/form-data")
    db.session.expire_all()
    first = db.session.get(Gift, gift.id).picture
    assert first and first.endswith(".png") and (folder / "gift" / first).exists()
    shown = as_user("volunteer").get(f"/gift/picture-file/{gift.id}")
    assert shown.status_code == 200 and shown.data == png_bytes() and shown.mimetype == "image/png"
    worker.post(f"/gift/picture/{gift.id}", data={"picture": (io.BytesIO(png_bytes()), "新.png")},
                content_type="multipart/form-data")
    db.session.expire_all()
    second = db.session.get(Gift, gift.id).picture
    assert second != first and not (folder / "gift" / first).exists()
    assert as_user("leader").post(f"/gift/picture/{gift.id}", data={"remove": "1"}).status_code in (302, 403)
    worker.post(f"/gift/picture/{gift.id}", data={"remove": "1"})
    db.session.expire_all()
    assert db.session.get(Gift, gift.id).picture is None and not (folder / "gift" / second).exists()
    assert as_user("worker2").get(f"/gift/picture-file/{gift.id}").status_code == 404


# ----------------------------------------------------------------------------- the demo

def test_the_demo_has_42_bulletins(ctx):
    community = f.community()
    numbers = db.session.scalars(select(Bulletin.number).where(Bulletin.community_id == community.id)
                                 .order_by(Bulletin.number)).all()
    assert numbers == list(range(1, 43))
    linked = db.session.scalars(select(Bulletin).where(Bulletin.community_id == community.id,
                                                       Bulletin.activities.any())).all()
    assert linked and any(b.star_rounds for b in db.session.scalars(select(Bulletin)))
