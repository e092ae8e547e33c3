"""``make bench``: the platform at district scale on PostgreSQL.

    make bench                                  # build (or reuse) the dataset, measure, write the results
    BENCH_REBUILD=1 make bench                  # rebuild the dataset first
    BENCH_RUNS=40 BENCH_SECTIONS=pages,dashboard make bench

Builds the district dataset with COPY (bench/dataset.py), then measures in one run —
medians and 95th percentiles over BENCH_RUNS runs — the list pages against a stock
Flask-AppBuilder view and their raw SQL (bench/pages.py, bench/stock.py), the REST lists,
the dashboard, the Excel import and export (bench/excel.py) and the REST list's
throughput on gunicorn (bench/load.py); writes bench/results/<date>.md and .json
(bench/report.py). See bench/README.md.
"""
from __future__ import annotations

import logging
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def log(message: str) -> None:
    print(message, flush=True)


def _ids(app, settings) -> dict:
    """The rows the cases point at: the street of the street administrator, the worker's
    community, a generated community in the middle of the district (``C``, the lists'
    filter), one of its compounds, and the filter positions of the export's arguments."""
    from sqlalchemy import select

    from app.extensions import db
    from bench import stock
    from models.kernel.places import Community, Compound
    from models.kernel.users import AppUser

    with app.app_context():
        street = db.session.scalars(select(AppUser).where(AppUser.username == "street")).one()
        worker = db.session.scalars(select(AppUser).where(AppUser.username == "worker")).one()
        communities = db.session.scalars(select(Community.id).order_by(Community.id)).all()
        community = communities[len(communities) // 2]
        compound = db.session.scalars(select(Compound.id).where(Compound.community_id == community)
                                      .order_by(Compound.id).limit(1)).one()
        name = db.session.get(Community, community).name
    return {"street": street.scope_street_id, "worker_community": worker.scope_community_id,
            "community": community, "community_name": name, "compound": compound,
            "residence_filter": stock.filter_index(app, "PersonView", "residence_type", ("eq",)),
            "compound_filter": stock.filter_index(app, "PersonView", "compound", ("rel_o_m",)),
            "community_filter": stock.filter_index(app, "PersonView", "community", ("rel_o_m",))}


def main() -> int:
    import psycopg

    from bench import dataset, report
    from bench.settings import Settings

    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    began = time.perf_counter()
    settings = Settings()
    log(f"bench: {settings.url.split('@')[-1]}, scale {settings.scale}, {settings.runs} runs, "
        f"sections {', '.join(settings.sections)}")
    results = {"settings": {"database": settings.url.split("@")[-1], "runs": settings.runs,
                            "scale": settings.scale, "seed": settings.seed, "sections": list(settings.sections),
                            "load_seconds": settings.load_seconds, "load_concurrency": settings.load_concurrency},
               "environment": report.environment(settings), "errors": {},
               "machine": {"before": report.machine_sample()}}
    started = time.perf_counter()
    results["dataset"] = dataset.prepare(settings)
    results["dataset"]["prepare_s"] = round(time.perf_counter() - started, 1)
    log(f"dataset: {results['dataset']['counts']}")

    from tests.conftest import login, make_app

    from bench import excel, load, pages, stock

    app = make_app(settings.url, TESTING=False, IMPORT_IN_BACKGROUND=False)
    stock.install(app)
    ids = _ids(app, settings)
    results["ids"] = ids
    with app.app_context():
        from app.extensions import db

        engine = db.engine
    clients = {user: login(app.test_client(), user) for user in ("street", "worker")}
    raw = psycopg.connect(settings.conninfo, autocommit=True)
    ctx = pages.Context(settings, app, clients, engine, raw, ids)
    log(f"cases: C = {ids['community_name']} (id {ids['community']}); users street (district) and worker")

    sections = [("pages", "list pages (app, stock FAB, raw SQL)", lambda: pages.run_lists(ctx, log)),
                ("api", "REST list endpoints", lambda: pages.run_api(ctx, log)),
                ("dashboard", "dashboard", lambda: pages.run_dashboard(ctx, log)),
                ("excel", "Excel import and export (subprocesses)", lambda: excel.run(settings, ids, log)),
                ("load", "throughput on gunicorn", lambda: load.run(settings, ids, log))]
    timings = {}
    for key, title, body in sections:
        if key not in settings.sections:
            continue
        log(f"== {title}")
        started = time.perf_counter()
        try:
            results[key] = body()
        except Exception as error:  # a crash at scale is a result too: recorded, and the run goes on
            results["errors"][key] = f"{type(error).__name__}: {error}"
            log(f"  FAILED: {type(error).__name__}: {error}")
            traceback.print_exc()
        timings[key] = round(time.perf_counter() - started, 1)
    results["machine"]["after"] = report.machine_sample()
    report.explain_misses(results, raw)
    raw.close()
    timings["total"] = round(time.perf_counter() - began, 1)
    results["timings_s"] = timings
    text = report.markdown(results)
    log("")
    log(text)
    if settings.write_results:
        paths = report.write(results, text)
        log(f"written: {', '.join(os.path.relpath(p, ROOT) for p in paths)}")
    log(f"bench: done in {timings['total']:.0f} s")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
