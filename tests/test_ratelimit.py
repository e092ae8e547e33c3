"""Rate limits on calls without signing in (public pages, rating links, Open311): per
address, a 429 with a Chinese message and Retry-After over the limit; signed-in pages
are not limited; with REDIS_URL the counts are shared by every app process
(tests/test_two_workers.py shows it with two gunicorn workers)."""
from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "PUBLIC_RATE_LIMIT", "3/minute")
    monkeypatch.setitem(app.config, "PUBLIC_POST_RATE_LIMIT", "2/minute")
    app.extensions.pop("hongse_ratelimit", None)
    yield app
    app.extensions.pop("hongse_ratelimit", None)


def test_public_pages_are_limited_per_address(limited, client):
    for n in range(3):
        assert client.get("/public/stars/").status_code == 200
    response = client.get("/public/policies/")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "请求过于频繁" in response.get_data(as_text=True)
    other = limited.test_client()
    assert other.get("/public/stars/", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_open311_submissions_have_their_own_limit(limited, client):
    for n in range(2):
        assert client.post("/open311/v2/requests.json", data={"api_key": "x"}).status_code == 403
    response = client.post("/open311/v2/requests.json", data={"api_key": "x"})
    assert response.status_code == 429 and response.json[0]["code"] == 429
    assert "请求过于频繁" in response.json[0]["description"]


def test_signed_in_pages_are_not_limited(limited, as_user):
    worker = as_user("worker")
    for n in range(6):
        assert worker.get("/demand/list/").status_code == 200


def test_with_redis_two_apps_share_the_counts(app, monkeypatch):
    """Two app instances (as two processes would) against one Redis share the limit."""
    import redis

    from tests.conftest import make_app

    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).ping()  # the machine's Redis (a missing one fails the test)
    prefix = f"hongse-test-{uuid.uuid4().hex[:8]}"
    settings = dict(RATE_LIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="4/minute", REDIS_URL=url, RATE_LIMIT_PREFIX=prefix)
    first = make_app(app.config["SQLALCHEMY_DATABASE_URI"], **settings)
    second = make_app(app.config["SQLALCHEMY_DATABASE_URI"], **settings)
    answers = []
    for n in range(6):
        client = (first if n % 2 else second).test_client()
        answers.append(client.get("/public/stars/").status_code)
    assert answers == [200, 200, 200, 200, 429, 429]
