"""Sign-out (issue 16, defect 3): only a POST with the CSRF token signs out — a GET of
/logout/ (a link, or a picture planted in a page) shows a page with the button and signs
nobody out — and rich text embeds pictures only from the app's own picture store, on
save (form and API) and again on output, so a body stored before is harmless too."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from app import clock, domain
from app.extensions import db
from app.richtext import sanitize
from models.volunteers.bulletins import Bulletin, next_number
from models.cobuilding.guides import PolicyGuide
from models.cobuilding.meetings import Meeting
from tests import factories as f

PLANTED = '<p>x</p><img src="/logout/">'
LOGOUT_PICTURE = re.compile(r"<img[^>]*/logout/")


def signed_in(client) -> bool:
    return client.get("/users/userinfo/").status_code == 200


@pytest.fixture
def signed_in_with_csrf(app, as_user):
    """The worker, signed in; from then on the app checks CSRF tokens (the tests' app
    does not, by default)."""
    worker = as_user("worker")
    app.config["WTF_CSRF_ENABLED"] = True
    yield worker
    app.config["WTF_CSRF_ENABLED"] = False


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# ----------------------------------------------------------------------------- sign-out by POST

def test_a_get_of_logout_signs_nobody_out(as_user):
    worker = as_user("worker")
    page = worker.get("/logout/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "确定要退出当前账户吗" in html and 'method="post"' in html and 'name="csrf_token"' in html
    assert signed_in(worker)


def test_the_menu_signs_out_with_a_form_not_a_link(as_user):
    html = as_user("worker").get("/").get_data(as_text=True)
    assert 'href="/logout/"' not in html
    form = re.search(r'<form class="navbar-logout" method="post" action="/logout/">(.*?)</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and "退出" in form.group(1)


def test_a_post_without_the_csrf_token_is_refused(signed_in_with_csrf):
    worker = signed_in_with_csrf
    response = worker.post("/logout/")
    assert response.status_code == 400 and "过期" in response.get_data(as_text=True)
    response = worker.post("/logout/", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert signed_in(worker)


def test_a_post_with_the_token_signs_out(signed_in_with_csrf):
    worker = signed_in_with_csrf
    token = token_of(worker.get("/").get_data(as_text=True))
    response = worker.post("/logout/", data={"csrf_token": token})
    assert response.status_code == 302
    assert not signed_in(worker)


def test_the_confirm_page_signs_out(signed_in_with_csrf):
    worker = signed_in_with_csrf
    page = worker.get("/logout/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/logout/" class="logout-confirm">(.*?)</form>', page, re.S)
    assert worker.post("/logout/", data={"csrf_token": token_of(form.group(1))}).status_code == 302
    assert not signed_in(worker)


def test_a_visitor_is_sent_to_the_sign_in_page(client):
    response = client.get("/logout/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


# ----------------------------------------------------------------------------- pictures in rich text

@pytest.mark.parametrize("src", [
    "/logout/", "/logout", "/bulletin/delete/1", "/gift/picture/1", "/users/list/", "/static/favicon.svg",
    "/bulletin/attachment/1/2?next=/logout/", "/bulletin/attachment/1/2/../../../logout/",
    "/bulletin/attachment/x/2", "http://localhost/bulletin/attachment/1/2", "//localhost/gift/picture-file/1",
])
def test_a_picture_must_come_from_the_picture_store(app, src):
    with app.app_context():
        assert sanitize(f'<p>图<img src="{src}"></p>') == "<p>图</p>"
    assert sanitize(f'<p>图<img src="{src}"></p>') == "<p>图</p>"  # without an application too


@pytest.mark.parametrize("src", ["/bulletin/attachment/3/7", "/meeting/attachment/1/2", "/gift/picture-file/5"])
def test_pictures_of_the_store_are_kept(app, src):
    with app.app_context():
        assert sanitize(f'<p>图<img src="{src}" alt="图"></p>') == f'<p>图<img src="{src}" alt="图"></p>'


def _bulletin() -> Bulletin:
    community = f.community()
    return domain.save(Bulletin(community=community, number=next_number(community.id), title="测试简报",
                                issued_on=clock.today(), body="<p>正文</p>"))


def _jwt(client, username="worker") -> dict:
    response = client.post("/api/v1/security/login", json={"username": username, "password": "Hongse@2026",
                                                           "provider": "db"})
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def test_a_planted_picture_is_stripped_on_save_through_the_api(ctx, client):
    made = _bulletin()
    response = client.put(f"/api/v1/bulletin/{made.id}", json={"body": PLANTED}, headers=_jwt(client))
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert db.session.get(Bulletin, made.id).body == "<p>x</p>"
    guide = domain.save(PolicyGuide(community=f.community(), category="civil_affairs", title="测试政策",
                                    content="<p>内容</p>"))
    response = client.put(f"/api/v1/policy_guide/{guide.id}", json={"content": PLANTED},
                          headers=_jwt(client))
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert db.session.get(PolicyGuide, guide.id).content == "<p>x</p>"


def test_a_planted_picture_is_stripped_on_save_through_the_page(ctx, as_user):
    made = _bulletin()
    response = as_user("worker").post(f"/bulletin/edit/{made.id}", data={
        "number": made.number, "title": made.title, "issued_on": str(made.issued_on),
        "community": made.community_id, "body": PLANTED})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Bulletin, made.id).body == "<p>x</p>"


def test_a_body_stored_before_is_harmless_on_output(ctx, client, as_user):
    made = _bulletin()
    guide = domain.save(PolicyGuide(community=f.community(), category="civil_affairs", title="测试政策",
                                    content="<p>内容</p>", published=True))
    meeting = db.session.query(Meeting).filter(Meeting.community_id == f.community().id).first()
    # stored under the old rules: past the save path, straight into the table
    db.session.execute(update(Bulletin).where(Bulletin.id == made.id).values(body=PLANTED))
    db.session.execute(update(PolicyGuide).where(PolicyGuide.id == guide.id).values(content=PLANTED))
    db.session.execute(update(Meeting).where(Meeting.id == meeting.id).values(minutes=PLANTED))
    db.session.commit()
    worker = as_user("worker")
    for who, url in ((worker, f"/bulletin/show/{made.id}"), (worker, f"/bulletin/print/{made.id}"),
                     (worker, f"/bulletin/edit/{made.id}"), (worker, f"/policy-guide/show/{guide.id}"),
                     (worker, f"/policy-guide/edit/{guide.id}"), (client, f"/public/policy/{guide.id}"),
                     (worker, f"/meeting/show/{meeting.id}"), (worker, f"/meeting/minutes/{meeting.id}"),
                     (worker, f"/meeting/edit/{meeting.id}")):
        response = who.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert not LOGOUT_PICTURE.search(html) and "&lt;img" not in html, url
    headers = _jwt(client)
    for url, key in ((f"/api/v1/bulletin/{made.id}", "body"), (f"/api/v1/meeting/{meeting.id}", "minutes")):
        answer = client.get(url, headers=headers).json["result"]
        assert answer[key] == "<p>x</p>", url
    listed = client.get("/api/v1/bulletin/?q=(page_size:100)", headers=headers)
    assert listed.status_code == 200 and "/logout/" not in listed.get_data(as_text=True)
    answer = client.get(f"/api/v1/policy_guide/{guide.id}", headers=_jwt(client)).json["result"]
    assert answer["content"] == "<p>x</p>"
