"""Saves made at the same moment wait their turn and all succeed — on the embedded SQLite
default as on PostgreSQL. gunicorn serves as ``make run`` does (2 workers × 4 threads)
from the lane's database (a copy of the seeded SQLite file, or PostgreSQL); five staff
save a care visit at once, ten rounds, then forty at once. Every save answers 201 and
every visit is stored exactly once.

(SQLite: WAL, a busy timeout and ``BEGIN IMMEDIATE`` for requests that write —
app/extensions.py. Before, 37 of 50 and 98 of 120 such saves were refused.)"""
from __future__ import annotations

import json

import pytest

from tests.test_two_workers import _at_once, _call, gunicorn

STAFF = ("worker", "secretary", "worker", "secretary", "worker")
PASSWORD = "Hongse@2026"


@pytest.fixture
def served(app, no_isolation):
    """gunicorn as `make run` serves (2 workers × 4 threads, DEMO_MODE) on the lane's
    database: (base URL, database URL)."""
    with gunicorn(app, {"DEMO_MODE": "true", "RATE_LIMIT_ENABLED": "false", "REDIS_URL": ""}, threads=4) as (
            base, _log, url):
        yield base, url


def _people_in_care(database: str, count: int) -> tuple[list[int], int]:
    """Residents of the demo community who belong to a care group (the visit's picker),
    and a grid worker of that community (who visits)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    with engine.connect() as conn:
        staff = conn.execute(text("SELECT s.id FROM staff s JOIN community c ON c.id = s.community_id "
                                  "WHERE c.name LIKE '%文化路%' ORDER BY s.id LIMIT 1")).scalar()
        ids = [pk for (pk,) in conn.execute(text(
            "SELECT p.id FROM person p JOIN community c ON c.id = p.community_id JOIN care_group g ON g.person_id = p.id "
            "WHERE c.name LIKE '%文化路%' ORDER BY p.id LIMIT :n"), {"n": count})]
    engine.dispose()
    assert len(ids) == count and staff, (ids, staff)
    return ids, staff


def _visits(database: str, since: int) -> list[tuple[int, str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    with engine.connect() as conn:
        rows = [(pk, findings) for pk, findings in conn.execute(
            text("SELECT id, findings FROM visit WHERE id > :since ORDER BY id"), {"since": since})]
    engine.dispose()
    return rows


def _high_marks(database: str) -> tuple[int, int]:
    """The newest visit and sign-in log entry before the test."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    with engine.connect() as conn:
        marks = tuple(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar()
                      for table in ("visit", "login_log"))
    engine.dispose()
    return marks


def _clean_up(database: str, since: int, logins_since: int) -> None:
    """PostgreSQL lane: what this test saved is removed — its visits (and their audit
    entries) and its sign-ins (other tests read the sign-in log of the demo accounts)."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_log WHERE id > :s"), {"s": logins_since})
        ids = [str(pk) for (pk,) in conn.execute(text("SELECT id FROM visit WHERE id > :s"), {"s": since})]
        for table in ("visit_staff", "visit_member"):
            conn.execute(text(f"DELETE FROM {table} WHERE visit_id > :s"), {"s": since})
        conn.execute(text("DELETE FROM visit WHERE id > :s"), {"s": since})
        if ids:  # audit_log.entity_id is text
            conn.execute(text("DELETE FROM audit_log WHERE entity = 'Visit' AND entity_id IN :ids")
                         .bindparams(bindparam("ids", expanding=True)), {"ids": ids})
    engine.dispose()


def test_simultaneous_saves_wait_their_turn_and_all_succeed(served):
    base, database = served
    since, logins_since = _high_marks(database)
    people, staff = _people_in_care(database, 5)
    tokens: list[str] = []
    answers: list[tuple] = []
    try:
        for username in STAFF:  # five staff, each signed in on their own
            status, body = _call(f"{base}/api/v1/security/login",
                                 {"username": username, "password": PASSWORD, "provider": "db"})
            assert status == 200, body
            tokens.append(json.loads(body)["access_token"])

        def save(n: int, token: str, person: int):
            return _call(f"{base}/api/v1/visit/", {"person": person, "staff": [staff], "mode": "home",
                                                   "assessment": "normal", "findings": f"并发保存 {n}"},
                         {"Authorization": f"Bearer {token}"})

        counter = iter(range(1000))
        for _ in range(10):  # ten rounds: five staff click 保存 at the same moment
            jobs = [(next(counter), tokens[i], people[i]) for i in range(5)]
            answers += _at_once(5, lambda job=iter(jobs): save(*next(job)))
        jobs = [(next(counter), tokens[i % 5], people[i % 5]) for i in range(40)]
        answers += _at_once(40, lambda job=iter(jobs): save(*next(job)))  # and forty at once
        refused = [(status, body[:200]) for status, body in answers if status != 201]
        assert not refused, f"{len(refused)} of {len(answers)} saves refused: {refused[:3]}"
        stored = _visits(database, since)
        assert sorted(findings for _, findings in stored) == sorted(f"并发保存 {n}" for n in range(90))
    finally:
        if database.startswith("postgresql"):
            _clean_up(database, since, logins_since)
