"""The app factory, its settings and its extensions."""
from __future__ import annotations

import pytest

from config import Config, from_environment


def test_every_setting_can_come_from_the_environment():
    env = {"DATABASE_URL": "postgresql://u@h/db", "SECRET_KEY": "s3cret", "REDIS_URL": "redis://x:6379/1",
           "FAB_API_MAX_PAGE_SIZE": "50", "WTF_CSRF_ENABLED": "false", "APP_NAME": "某社区共治平台",
           "PERMANENT_SESSION_LIFETIME": "600"}
    settings = from_environment(Config, env)
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["SECRET_KEY"] == "s3cret" and settings["REDIS_URL"] == "redis://x:6379/1"
    assert settings["FAB_API_MAX_PAGE_SIZE"] == 50 and settings["WTF_CSRF_ENABLED"] is False
    assert settings["APP_NAME"] == "某社区共治平台"
    assert settings["PERMANENT_SESSION_LIFETIME"].total_seconds() == 600


def test_defaults_are_chinese_and_local():
    settings = from_environment(Config, {})
    assert settings["BABEL_DEFAULT_LOCALE"] == "zh"
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and "instance" in \
        settings["SQLALCHEMY_DATABASE_URI"]
    assert settings["APP_NAME"] == "文化路社区红色驿站共治平台"


def test_a_real_secret_key_is_required_outside_development():
    from app import ConfigurationError, create_app

    with pytest.raises(ConfigurationError):
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_csrf_protection_is_registered(app):
    assert "csrf" in app.extensions
    assert app.config["WTF_CSRF_CHECK_DEFAULT"] is False  # checked by our before_request hook


def test_login_page_carries_the_product_name(client):
    html = client.get("/login/").get_data(as_text=True)
    assert "文化路社区红色驿站共治平台" in html and "登录" in html


def test_home_shows_each_roles_work(as_user):
    html = as_user("grid1").get("/").get_data(as_text=True)
    assert "网格员" in html and "本网格" in html
    assert "/building/list/" in html
    assert "Welcome" not in html


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert client.get("/compound/list/").status_code in (302, 401, 403)
    assert client.get("/api/v1/compound/").status_code == 401


def test_api_login_with_jwt_and_bearer_writes_without_csrf(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        token = client.post("/api/v1/security/login", json={
            "username": "worker", "password": "Hongse@2026", "provider": "db"}).json["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = client.get("/api/v1/road/?q=(page_size:100)", headers=headers).json
        assert body["count"] == 7
        created = client.post("/api/v1/road/", headers=headers, json={"name": "测试新巷",
                                                                      "community": body["result"][0]["community"]["id"]})
        assert created.status_code == 201, created.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_pages_load_no_asset_from_another_origin(as_user):
    import re

    client = as_user("worker")
    for url in ("/", "/compound/list/", "/compound/add", "/swagger/v1"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)=["\']?(https?:)?//', html), url


def test_error_pages_are_chinese(as_user):
    client = as_user("volunteer")
    forbidden = client.get("/organisation/list/")
    assert forbidden.status_code == 403 and "没有权限" in forbidden.get_data(as_text=True)
    missing = client.get("/compound/show/999999")
    assert missing.status_code == 404 and "不存在" in missing.get_data(as_text=True)
    api = client.get("/api/v1/nothing-here/")
    assert api.status_code == 404 and "不存在" in api.json["message"]


def test_csrf_failure_page_is_chinese(app, as_user):
    client = as_user("worker")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/road/add", data={"name": "无令牌巷"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400 and "过期" in response.get_data(as_text=True)


def test_the_suite_needs_nothing_outside_the_repository(tmp_path):
    """The repository's own files, copied alone into an empty directory (no ../shared beside
    them), are enough to collect the whole test suite: what the tests read, they carry."""
    import os
    import shutil
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, check=True).stdout.decode().split("\0")
    copy = tmp_path / "checkout"
    for name in filter(None, listed):
        source = os.path.join(root, name)
        if not os.path.isfile(source):
            continue  # deleted in the work tree, not yet in the index
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    assert not (tmp_path / "shared").exists()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                           "tests"], cwd=copy, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
