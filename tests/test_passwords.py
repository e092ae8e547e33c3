"""Passwords and sessions (等保 2.0): the policy holds wherever a password is set, a
password set by someone else is changed at the next sign-in (the demo's published ones
too, outside DEMO_MODE), a page session ends after 30 idle minutes and 8 hours after the
sign-in, and a password change ends the user's other sessions."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select

from app import clock, passwords
from app.extensions import db
from app.records import PasswordHistory
from tests import factories as f
from tests.conftest import PASSWORD, login

T0 = datetime.datetime(2026, 11, 20, 9, 0)


@pytest.mark.parametrize("password, problem", [
    ("Ab1!", "至少 8 位"), ("abcdefgh", "至少 3 种"), ("abcdefg1", "至少 3 种"), ("ABCDEFG1!", None),
    ("Worker#2026", "不能包含用户名"), ("长城长城长城Ab1", None), ("Wenhua#Road7", None)])
def test_the_rule(app, ctx, password, problem):
    found = " ".join(passwords.problems(password, "worker"))
    assert (problem in found) if problem else not found, found


def change_own(client, password):
    return client.post("/resetmypassword/form", data={"password": password, "conf_password": password},
                       follow_redirects=True)


def test_a_user_changes_their_password_under_the_rule_and_not_to_an_old_one(app, ctx, as_user):
    worker = as_user("worker")
    page = change_own(worker, "short").get_data(as_text=True)
    assert "至少 8 位" in page
    page = change_own(worker, "Worker-2026x").get_data(as_text=True)
    assert "不能包含用户名" in page
    page = change_own(worker, PASSWORD).get_data(as_text=True)  # the seed's, in the history
    assert "最近 5 次" in page
    for n in range(1, 6):
        change_own(worker, f"Wenhua#Road{n}")
        assert passwords.problems(f"Wenhua#Road{n}", user=f.user("worker"))
    assert "最近 5 次" in change_own(worker, "Wenhua#Road3").get_data(as_text=True)
    kept = db.session.scalars(select(PasswordHistory).where(PasswordHistory.user_id == f.user("worker").id)).all()
    assert len(kept) == 6 and all(k.password_hash.startswith(("scrypt", "pbkdf2")) for k in kept)
    assert not passwords.problems(PASSWORD, user=f.user("worker"))  # six changes ago: allowed again


def test_the_form_says_the_rule(as_user):
    page = as_user("worker").get("/resetmypassword/form").get_data(as_text=True)
    assert "至少 8 位，包含小写字母、大写字母、数字、其他字符中的至少 3 种" in page
    assert "不会检查" not in page


def test_an_administrators_reset_must_be_changed(app, ctx, as_user):
    worker = f.user("worker")
    admin = as_user("secadmin")
    response = admin.post(f"/resetpassword/form?pk={worker.id}",
                          data={"password": "Given#Pass1", "conf_password": "Given#Pass1"})
    assert response.status_code == 302
    assert f.user("worker").must_change_password
    client = login(app.test_client(), "worker", "Given#Pass1")
    assert "/resetmypassword/form" in client.get("/demand/list/").headers["Location"]
    assert client.get("/api/v1/demand/").status_code == 403
    assert "密码已更改" in change_own(client, "Mine#Pass22").get_data(as_text=True)
    db.session.expire_all()
    assert not f.user("worker").must_change_password
    assert client.get("/demand/list/").status_code == 200
    # a weak reset is refused too
    page = admin.post(f"/resetpassword/form?pk={worker.id}", data={"password": "12345678",
                                                                   "conf_password": "12345678"})
    assert "至少 3 种" in page.get_data(as_text=True)


def test_the_demo_accounts_change_their_published_password_outside_demo_mode(app, ctx, monkeypatch):
    client = login(app.test_client(), "worker", PASSWORD)
    assert client.get("/demand/list/").status_code == 200  # DEMO_MODE (make run, the tests)
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    assert "/resetmypassword/form" in client.get("/demand/list/").headers["Location"]


def test_a_password_too_old_must_be_changed(app, ctx, monkeypatch, as_user):
    monkeypatch.setitem(app.config, "PASSWORD_MAX_AGE_DAYS", 90)
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    worker = f.user("worker")
    worker.must_change_password = False
    worker.password_changed_at = clock.now() - datetime.timedelta(days=91)
    db.session.commit()
    client = as_user("worker")
    assert "/resetmypassword/form" in client.get("/demand/list/").headers["Location"]
    worker.password_changed_at = clock.now() - datetime.timedelta(days=89)
    db.session.commit()
    assert client.get("/demand/list/").status_code == 200


class WallClock:
    """Stands in for the sessions' wall clock (app.sessions._now)."""

    def __init__(self, monkeypatch):
        from app import sessions

        self.at = 1_800_000_000.0
        monkeypatch.setattr(sessions, "_now", lambda: self.at)

    def advance(self, minutes: float) -> None:
        self.at += minutes * 60


def test_a_session_ends_after_30_idle_minutes(app, ctx, monkeypatch):
    wall = WallClock(monkeypatch)
    client = login(app.test_client(), "worker", PASSWORD)
    wall.advance(29)
    assert client.get("/demand/list/").status_code == 200
    wall.advance(29)  # 29 minutes after the last request
    assert client.get("/demand/list/").status_code == 200
    wall.advance(31)
    response = client.get("/demand/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert client.get("/demand/list/").status_code == 302  # signed out for good
    assert "30 分钟未操作" in client.get("/login/").get_data(as_text=True)
    response = login(app.test_client(), "worker", PASSWORD).get("/api/v1/demand/")
    assert response.status_code == 200


def test_a_session_ends_eight_hours_after_the_sign_in(app, ctx, monkeypatch):
    wall = WallClock(monkeypatch)
    client = login(app.test_client(), "worker", PASSWORD)
    for n in range(16):
        wall.advance(29)
        assert client.get("/").status_code == 200, n
    wall.advance(29)  # 8 h 13 min after signing in, never idle
    assert client.get("/demand/list/").status_code == 302


def test_the_domain_clock_does_not_end_sessions(app, ctx):
    client = login(app.test_client(), "worker", PASSWORD)
    with clock.frozen(datetime.datetime(2027, 6, 1, 9, 0)):  # months ahead, as tests move it
        assert client.get("/demand/list/").status_code == 200


def test_a_password_change_ends_the_other_sessions(app, ctx):
    phone = login(app.test_client(), "worker", PASSWORD)
    desk = login(app.test_client(), "worker", PASSWORD)
    assert phone.get("/demand/list/").status_code == 200
    change_own(desk, "Wenhua#Road9")
    assert desk.get("/demand/list/").status_code == 200  # the session that changed it goes on
    response = phone.get("/demand/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert "密码已修改" in phone.get("/login/").get_data(as_text=True)


def test_the_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    response = client.post("/login/", data={"username": "worker", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_password_change_ends_the_api_tokens_given_before(app, ctx):
    def token(password):
        response = app.test_client().post("/api/v1/security/login", json={
            "username": "worker", "password": password, "provider": "db"})
        return response.json["access_token"]

    client = app.test_client()
    old = token(PASSWORD)
    assert client.get("/api/v1/demand/", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    desk = login(app.test_client(), "worker", PASSWORD)
    change_own(desk, "Wenhua#Road8")
    response = client.get("/api/v1/demand/", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401 and "请" in response.json["message"]
    new = token("Wenhua#Road8")
    assert client.get("/api/v1/demand/", headers={"Authorization": f"Bearer {new}"}).status_code == 200


# ----------------------------------------------------------------------------- the API and a forced change

def api_login(client, password, username="worker"):
    return client.post("/api/v1/security/login", json={"username": username, "password": password,
                                                       "provider": "db", "refresh": True})


def reset_by_admin(as_user, password="Given#Pass1"):
    worker = f.user("worker")
    response = as_user("secadmin").post(f"/resetpassword/form?pk={worker.id}",
                                        data={"password": password, "conf_password": password})
    assert response.status_code == 302
    db.session.expire_all()
    assert f.user("worker").must_change_password


def test_an_account_that_must_change_its_password_gets_no_api_token(app, ctx, as_user):
    from app.records import LoginLog

    reset_by_admin(as_user)
    client = app.test_client()
    response = api_login(client, "Given#Pass1")
    assert response.status_code == 403, response.json
    assert "access_token" not in response.json and "refresh_token" not in response.json
    assert "须先修改密码" in response.json["message"] and "网页" in response.json["message"]
    last = db.session.scalars(select(LoginLog).where(LoginLog.username == "worker").order_by(LoginLog.id.desc())).first()
    assert last.result == "must_change" and last.channel == "api"
    assert api_login(client, "wrong-password").status_code == 401  # a wrong password still reads as one
    # changed on the web page: the API signs in again
    change_own(login(app.test_client(), "worker", "Given#Pass1"), "Mine#Pass22")
    response = api_login(client, "Mine#Pass22")
    assert response.status_code == 200 and response.json["access_token"]


def test_a_token_given_before_a_reset_stops_working(app, ctx, as_user):
    client = app.test_client()
    tokens = api_login(client, PASSWORD).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/demand/", headers=bearer).status_code == 200
    reset_by_admin(as_user)
    response = client.get("/api/v1/demand/", headers=bearer)
    assert response.status_code in (401, 403) and "请" in response.json["message"]
    refreshed = client.post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.status_code in (401, 403) and "access_token" not in (refreshed.json or {})


def test_a_token_of_an_account_that_must_change_is_refused(app, ctx, monkeypatch):
    """Even a token of the current epoch (a password grown too old, a flag set by hand):
    the API refuses it while the account must change its password, with the reason."""
    client = app.test_client()
    tokens = api_login(client, PASSWORD).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    worker = f.user("worker")
    worker.password_changed_at = clock.now()  # no longer the demo's published password (exempt)
    worker.must_change_password = True
    db.session.commit()
    for response in (client.get("/api/v1/demand/", headers=bearer),
                     client.post("/api/v1/demand/", headers=bearer, json={}),
                     client.post("/api/v1/security/refresh",
                                 headers={"Authorization": f"Bearer {tokens['refresh_token']}"})):
        assert response.status_code == 403, response.get_json()
        assert "须先修改密码" in response.json["message"]
    worker.must_change_password = False
    db.session.commit()
    assert client.get("/api/v1/demand/", headers=bearer).status_code == 200


def test_an_api_key_of_an_account_that_must_change_is_refused(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "FAB_API_KEY_ENABLED", True)
    worker = f.user("worker")
    key = app.appbuilder.sm.create_api_key(worker, "测试密钥")["key"]
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/demand/", headers=bearer).status_code == 200
    worker = f.user("worker")
    worker.password_changed_at = clock.now()
    worker.must_change_password = True
    db.session.commit()
    response = client.get("/api/v1/demand/", headers=bearer)
    assert response.status_code == 403 and "须先修改密码" in response.json["message"]
