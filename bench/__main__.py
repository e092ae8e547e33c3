"""Measure list pages, the API, the relation picker and the 三单 pages at scale.

    make bench                        # SQLite in a temp dir, 20,000 extra compounds and demands
    BENCH_ROWS=100000 make bench
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make bench

Prints, per request: median and 95th-percentile wall time over BENCH_RUNS runs, and
the SQL statements the request issued (transaction control not counted).
"""
from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time

from sqlalchemy import event, insert, select

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ROWS = int(os.environ.get("BENCH_ROWS", "20000"))
DEMANDS = int(os.environ.get("BENCH_DEMANDS", str(ROWS)))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def main() -> None:
    from tests.conftest import _reset_database, login, make_app, prepare_database

    url = os.environ.get("BENCH_DATABASE_URL") or \
        f"sqlite:///{os.path.join(tempfile.mkdtemp(prefix='hongse-bench-'), 'bench.db')}"
    _reset_database(url)
    app = make_app(url, TESTING=False)
    prepare_database(app)
    with app.app_context():
        from app.extensions import db
        from models.places import Community, Compound, Grid

        community = db.session.scalars(select(Community).where(Community.name == "文化路社区")).one()
        grids = db.session.scalars(select(Grid).where(Grid.community_id == community.id)).all()
        started = time.perf_counter()
        db.session.execute(insert(Compound), [
            {"community_id": community.id, "grid_id": grids[i % len(grids)].id,
             "name": f"压测小区{i:06d}", "type": "sanwu", "households": i % 200} for i in range(ROWS)])
        db.session.commit()
        print(f"loaded {ROWS} compounds in {time.perf_counter() - started:.1f}s on "
              f"{db.engine.dialect.name}")
        started = time.perf_counter()
        _load_demands(db, community, grids)
        print(f"loaded {DEMANDS} demands in {time.perf_counter() - started:.1f}s")
        engine = db.engine

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not CONTROL.match(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    cases = [
        ("worker", "list, first page", "/compound/list/"),
        ("worker", "list, page 500", "/compound/list/?page_CompoundView=500"),
        ("worker", "list, 100 rows", "/compound/list/?psize_CompoundView=100"),
        ("worker", "list, sorted by grid.community", "/compound/list/?_oc_CompoundView=grid.community&_od_CompoundView=desc"),
        ("worker", "list, quick search", "/compound/list/?q=压测小区0099"),
        ("grid1", "list, grid scope", "/compound/list/"),
        ("street", "API list, 100 rows", "/api/v1/compound/?q=(page_size:100)"),
        ("worker", "picker search", "/api/v1/building/related/compound?q=压测小区01"),
        ("worker", "export (all rows)", "/compound/export/"),
        ("worker", "三单 dispatch desk", "/service/dispatch/"),
        ("worker", "三单 overdue", "/service/dispatch/?tab=overdue"),
        ("partner", "三单 pool (claimable)", "/service/orders/?tab=pool"),
        ("worker", "demand list", "/demand/list/"),
        ("worker", "demand list, by status", "/demand/list/?_flt_0_status=dispatched"),
        ("secretary", "service rates, 3 months", "/service-rates/"),
        (None, "public demand list", "/public/demands/"),
        (None, "Open311 requests, 90 days", "/open311/v2/requests.json"),
    ]
    clients = {}
    print(f"\n{'request':<34}{'median ms':>10}{'p95 ms':>10}{'SQL':>6}")
    for username, name, path in cases:
        client = clients.get(username) or (login(app.test_client(), username) if username else app.test_client())
        clients[username] = client
        client.get(path)  # warm
        times = []
        runs = 3 if "export" in name else RUNS
        for _ in range(runs):
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{name:<34}{statistics.median(times):>10.1f}{p95:>10.1f}{len(statements):>6}")


def _load_demands(db, community, grids) -> None:
    """DEMANDS demands over the last year in every state, written in bulk."""
    import datetime
    import random

    from app import clock
    from models.places import Compound
    from models.service import Demand, ServiceCategory

    rng = random.Random(7)
    categories = db.session.scalars(select(ServiceCategory.id)).all()
    compounds = db.session.execute(select(Compound.id, Compound.grid_id).where(
        Compound.community_id == community.id).limit(500)).all()
    states = ["pending", "dispatched", "taken", "in_progress", "resolved", "rated", "closed", "cancelled"]
    now = clock.now()
    rows = []
    for i in range(DEMANDS):
        filed = now - datetime.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        state = rng.choice(states)
        compound_id, grid_id = rng.choice(compounds)
        dispatched = filed + datetime.timedelta(hours=2) if state != "pending" else None
        rows.append({"number": f"BM-{i:08d}", "title": f"压测需求{i}", "description": "压测", "source": "phone",
                     "category_id": rng.choice(categories), "community_id": community.id, "grid_id": grid_id,
                     "compound_id": compound_id, "requester_name": "压测居民", "status": state,
                     "demand_class": rng.choice(["urgent", "long_term"]), "priority": "normal",
                     "in_pool": state == "dispatched" and i % 2 == 0, "created_at": filed, "updated_at": filed,
                     "dispatched_at": dispatched,
                     "due_take_at": dispatched + datetime.timedelta(hours=24) if dispatched else None,
                     "taken_at": filed + datetime.timedelta(hours=5) if state not in ("pending", "dispatched",
                                                                                      "cancelled") else None,
                     "resolved_at": filed + datetime.timedelta(days=2) if state in ("resolved", "rated", "closed")
                     else None, "rating": rng.choice([3, 4, 5]) if state in ("rated", "closed") else None})
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Demand), rows[start:start + 5000])
    db.session.commit()


if __name__ == "__main__":
    main()
