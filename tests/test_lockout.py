"""Sign-in lockout (等保 2.0 登录失败处理) and the sign-in log: five failures in a row lock
a user name for ten minutes on the sign-in page and the API sign-in alike (one counter),
even the right password is refused meanwhile with a message that says so, the security
administrator unlocks, wrong API keys lock the caller's address, every attempt, lock
and unlock is in the sign-in log, which only the auditor reads and nobody changes."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.records import AuthLock, LoginLog
from tests.conftest import PASSWORD

T0 = datetime.datetime(2026, 11, 20, 9, 0)


def web_login(client, username, password):
    return client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)


def api_login(client, username, password):
    return client.post("/api/v1/security/login", json={"username": username, "password": password,
                                                       "provider": "db"})


def signed_in(client) -> bool:
    return client.get("/users/userinfo/").status_code == 200


def log_of(username) -> list[str]:
    """The sign-in log of ``username`` written during this test (tests that commit for
    real may have signed the demo accounts in before)."""
    return list(db.session.scalars(select(LoginLog.result).where(LoginLog.username == username,
                                                                 LoginLog.id > _FIRST.get("id", 0))
                                   .order_by(LoginLog.id)))


_FIRST: dict = {}


@pytest.fixture(autouse=True)
def _log_starts_here(app, ctx):
    _FIRST["id"] = db.session.scalar(select(func.coalesce(func.max(LoginLog.id), 0)))


def test_five_failures_lock_the_account_for_ten_minutes(app, client, ctx):
    with clock.frozen(T0):
        for n in range(4):
            page = web_login(client, "worker", "wrong-password").get_data(as_text=True)
            assert "用户名或密码错误" in page and not signed_in(client)
        page = web_login(client, "worker", "wrong-password").get_data(as_text=True)
        assert "账户已锁定" in page and "09:10" in page
        page = web_login(client, "worker", PASSWORD).get_data(as_text=True)  # the right one, too early
        assert "账户已锁定" in page and not signed_in(client)
        assert log_of("worker") == ["bad_password"] * 5 + ["lock", "locked"]
        clock.advance(minutes=9, seconds=59)
        web_login(client, "worker", PASSWORD)
        assert not signed_in(client)
        clock.advance(seconds=2)
        web_login(client, "worker", PASSWORD)
        assert signed_in(client)
        assert log_of("worker")[-1] == "success"
        entry = db.session.scalars(select(LoginLog).where(LoginLog.username == "worker", LoginLog.result == "lock")).one()
        assert entry.ip == "127.0.0.1" and entry.channel == "web" and entry.user_id is not None


def test_a_success_starts_the_count_again(app, client, ctx):
    with clock.frozen(T0):
        for n in range(4):
            web_login(client, "worker", "wrong-password")
        web_login(client, "worker", PASSWORD)
        assert signed_in(client)
        client.post("/logout/")
        for n in range(4):
            web_login(client, "worker", "wrong-password")
        web_login(client, "worker", PASSWORD)
        assert signed_in(client)


def test_the_api_sign_in_shares_the_counter(app, client, ctx):
    with clock.frozen(T0):
        for n in range(3):
            web_login(client, "grid1", "wrong-password")
        response = api_login(client, "grid1", "wrong-password")
        assert response.status_code == 401 and "用户名或密码错误" in response.json["message"]
        response = api_login(client, "grid1", "wrong-password")
        assert response.status_code == 401 and "账户已锁定" in response.json["message"]
        response = api_login(client, "grid1", PASSWORD)
        assert response.status_code == 401 and "账户已锁定" in response.json["message"]
        assert "access_token" not in (response.json or {})
        assert "账户已锁定" in web_login(client, "grid1", PASSWORD).get_data(as_text=True)
        channels = set(db.session.scalars(select(LoginLog.channel).where(LoginLog.username == "grid1")))
        assert channels == {"web", "api"}


def test_an_unknown_name_reads_like_a_known_one(app, client, ctx):
    with clock.frozen(T0):
        for n in range(4):
            assert "用户名或密码错误" in web_login(client, "nobody", "x").get_data(as_text=True)
        assert "账户已锁定" in web_login(client, "nobody", "x").get_data(as_text=True)
        assert db.session.get(AuthLock, "user:nobody").locked_until == T0 + datetime.timedelta(minutes=10)


def test_the_limit_and_the_time_are_settings(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    monkeypatch.setitem(app.config, "LOGIN_LOCK_MINUTES", 30)
    with clock.frozen(T0):
        web_login(client, "worker", "wrong-password")
        page = web_login(client, "worker", "wrong-password").get_data(as_text=True)
        assert "账户已锁定" in page and "09:30" in page


def test_the_security_administrator_unlocks(app, client, ctx, as_user):
    from models.kernel.users import AppUser

    with clock.frozen(T0):
        for n in range(5):
            web_login(client, "worker", "wrong-password")
        worker = db.session.scalars(select(AppUser).where(AppUser.username == "worker")).one()
        admin = as_user("secadmin")
        response = admin.post("/users/action_post", data={"action": "unlock", "rowid": [worker.id]},
                              follow_redirects=True)
        assert response.status_code == 200 and "已解锁：worker" in response.get_data(as_text=True)
        assert log_of("worker")[-1] == "unlock"
        web_login(client, "worker", PASSWORD)
        assert signed_in(client)
        # nobody else may unlock
        denied = as_user("secretary").post("/users/action_post", data={"action": "unlock", "rowid": [worker.id]})
        assert denied.status_code in (302, 403) and "/users/" not in denied.headers.get("Location", "/users/")


def test_wrong_api_keys_lock_the_address(app, client, ctx):
    from seed.service import DEMO_API_KEY

    url = "/open311/v2/requests.json"
    data = {"service_code": "repair", "attribute[facility]": "light", "attribute[floor]": "3",
            "description": "3号楼门口路灯不亮", "address_string": "园林路"}
    with clock.frozen(T0):
        for n in range(5):
            assert client.post(url, data={**data, "api_key": f"guess{n}"}).status_code == 403
        response = client.post(url, data={**data, "api_key": DEMO_API_KEY})
        assert response.status_code == 429 and "锁定" in response.get_data(as_text=True)
        results = list(db.session.scalars(select(LoginLog.result).where(LoginLog.channel == "api_key")
                                          .order_by(LoginLog.id)))
        assert results == ["bad_password"] * 5 + ["lock"]
        clock.advance(minutes=11)
        assert client.post(url, data={**data, "api_key": DEMO_API_KEY}).status_code == 200


def test_only_the_auditor_reads_the_sign_in_log_and_nobody_changes_it(app, client, ctx, as_user):
    with clock.frozen(T0):
        web_login(client, "worker", "wrong-password")
    entry = db.session.scalars(select(LoginLog).order_by(LoginLog.id.desc())).first()
    auditor = as_user("auditor")
    assert auditor.get("/login-log/list/").status_code == 200
    assert auditor.get("/api/v1/login_log/").status_code == 200
    assert "worker" in auditor.get(f"/login-log/show/{entry.id}").get_data(as_text=True)
    for username in ("sysadmin", "secadmin", "secretary", "worker", "street"):
        other = as_user(username)
        assert other.get("/login-log/list/").status_code in (302, 403), username
        assert other.get("/api/v1/login_log/").status_code in (401, 403), username
    count = db.session.scalar(select(func.count()).select_from(LoginLog))
    for method, url in (("post", "/login-log/add"), ("post", f"/login-log/edit/{entry.id}"),
                        ("post", f"/login-log/delete/{entry.id}"), ("delete", f"/api/v1/login_log/{entry.id}"),
                        ("put", f"/api/v1/login_log/{entry.id}"), ("post", "/api/v1/login_log/")):
        response = getattr(auditor, method)(url, data={"username": "x"})
        assert response.status_code in (302, 403, 404, 405), (method, url, response.status_code)
    assert db.session.scalar(select(func.count()).select_from(LoginLog)) == count
    assert db.session.get(LoginLog, entry.id).username == "worker"
