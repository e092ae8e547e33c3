"""Excel import of 10,000 residents and export of 100,000, each in a fresh subprocess so
that its peak memory is its own.

Memory is the process's resident set (RSS, from /proc/self/status): the peak is VmHWM
after ``/proc/self/clear_refs`` was set to 5 just before the operation (the kernel resets
the high-water mark to the current RSS), so "peak" is the highest RSS during the import
or export, and "delta" is that peak minus the RSS just before it (the app, its code and
the warm-up already loaded).

* Export: the residents' list export (``GET /person/export/`` with the list's filter, the
  route of the list's Excel button) as the street administrator, of the district's floating
  residents (10 % of the register: about 100,000 rows), in the import layout.
* Import: the import page (``POST /person/import/``, the route the UI uses, with
  ``IMPORT_IN_BACKGROUND=False`` so the job runs inside the request and its time is the
  request's) of a 10,000-row workbook of new residents into 文化路社区 as the community
  worker; checked to have written every row, then deleted again so that reruns find the
  same data.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile

from bench.settings import IMPORT_ROWS, ROOT

IMPORT_REGION = "429004"  # 仙桃市: a region the generated register never uses
#: rows of the second, profiled pass (cProfile slows Python down about threefold)
PROFILE_IMPORT_ROWS = 2000
#: the library functions worth naming in a profile (the app's and models' own are always named)
PROFILED_LIBRARIES = {"openpyxl/worksheet/_writer.py": "openpyxl: write a row",
                      "openpyxl/reader/excel.py": "openpyxl: read the workbook",
                      "psycopg/connection.py": "waiting for PostgreSQL",
                      "sqlalchemy/orm/loading.py": "SQLAlchemy: build ORM objects"}


def _status() -> dict:
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                name, value = line.split(":")
                values[name] = int(value.split()[0]) / 1024  # MiB
    return values


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rows_in_xlsx(data: bytes) -> int:
    """Data rows of the first sheet (rows minus the header), counted in its XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        name = next(n for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
        count = 0
        with book.open(name) as fh:
            tail = b""
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                count += (tail + chunk).count(b"<row ") - tail.count(b"<row ")
                tail = chunk[-8:]
    return count - 1


def _person_rows(count: int):
    from app import standards

    rows = []
    for i in range(count):
        born = f"19{50 + i % 40:02d}{1 + i % 12:02d}{1 + i % 28:02d}"
        first17 = f"{IMPORT_REGION}{born}{i % 1000:03d}"
        rows.append({"name": f"导入居民{i:05d}", "id_number": first17 + standards.id_check_char(first17),
                     "phone": f"139{i:08d}", "ethnicity": "汉族", "political_status": "群众",
                     "residence_type": "流动人口", "compound": "建材宿舍", "employer": "某单位"})
    return rows


def _cleanup(db) -> int:
    from sqlalchemy import text

    deleted = db.session.execute(text("DELETE FROM person WHERE id_number LIKE :p"),
                                 {"p": IMPORT_REGION + "%"}).rowcount
    db.session.commit()
    return deleted


def _profile_summary(profiler, limit: int = 12) -> dict:
    """Where a profiled operation spent its time: the app's and models' functions and a
    few library ones, by cumulative time, as shares of the whole."""
    import pstats

    stats = pstats.Stats(profiler).stats
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in stats.values())
    rows = []
    for (filename, line, func), (_cc, calls, own, cumulative, _callers) in stats.items():
        label = None
        if filename.startswith(ROOT + os.sep) and "/.venv/" not in filename:
            label = f"{os.path.relpath(filename, ROOT)}:{line} {func}"
        else:
            for part, name in PROFILED_LIBRARIES.items():
                if filename.endswith(part) and func in ("write_row", "load_workbook", "wait", "chunks"):
                    label = name
        if label and cumulative < 0.97 * total and not label.startswith("bench/"):
            rows.append({"function": label, "share_pct": round(100 * cumulative / total, 1),
                         "own_pct": round(100 * own / total, 1), "calls": calls})
    rows.sort(key=lambda r: -r["share_pct"])
    return {"profiled_s": round(total, 2), "top": rows[:limit]}


def job(mode: str, url: str, args: dict) -> dict:
    """The body of the subprocess: one export or one import, measured."""
    sys.path.insert(0, ROOT)
    from tests.conftest import login, make_app

    app = make_app(url, TESTING=False, IMPORT_IN_BACKGROUND=False)
    if mode == "export":
        client = login(app.test_client(), "street")
        warm = client.get(args["warm_url"])  # loads openpyxl and the export's code
        assert warm.status_code == 200, warm.status_code
        path = args["url"]
    else:
        from app import excel, importer
        from app.extensions import db
        from models.people.people import Person

        client = login(app.test_client(), "worker")
        with app.app_context():
            _cleanup(db)
            writer = excel.XlsxWriter(importer.columns(Person), "data")
            for row in _person_rows(args["rows"]):
                writer.append([row.get(c.name) for c in importer.columns(Person)])
            workbook = writer.save()
            client.get("/person/import/")
    import gc

    gc.collect()
    reset = _reset_peak()
    before = _status()["VmRSS"]
    started = time.perf_counter()
    if mode == "export":
        response = client.get(path)
        data = response.get_data()
    else:
        response = client.post("/person/import/", data={"file": (io.BytesIO(workbook), "居民导入.xlsx")},
                               content_type="multipart/form-data")
    seconds = time.perf_counter() - started
    peak = _status()["VmHWM"]
    result = {"seconds": round(seconds, 2), "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
              "peak_delta_mb": round(peak - before, 1), "peak_reset": reset, "status": response.status_code}
    if mode == "export":
        result.update({"rows": _rows_in_xlsx(data), "file_mb": round(len(data) / 2**20, 2)})
    else:
        from sqlalchemy import select

        from app.extensions import db
        from app.jobs import ImportJob

        with app.app_context():
            last = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(1)).first()
            result.update({"rows": args["rows"], "job_status": last.status, "written": last.written,
                           "message": last.message, "file_mb": round(len(workbook) / 2**20, 2)})
            result["deleted_after"] = _cleanup(db)
    if args.get("profile"):
        result["profile"] = _profiled(app, client, mode, args)
    return result


def _profiled(app, client, mode: str, args: dict) -> dict:
    """A second, smaller pass under cProfile: where the time goes."""
    import cProfile

    profiler = cProfile.Profile()
    if mode == "export":
        profiler.enable()
        response = client.get(args["profile_url"])
        profiler.disable()
        summary = _profile_summary(profiler)
        summary.update({"what": f"export of {_rows_in_xlsx(response.get_data()):,} rows ({args['profile_url']})"})
        return summary
    from app import excel, importer
    from app.extensions import db
    from models.people.people import Person

    with app.app_context():
        writer = excel.XlsxWriter(importer.columns(Person), "data")
        for row in _person_rows(args["profile"]):
            writer.append([row.get(c.name) for c in importer.columns(Person)])
        workbook = writer.save()
    profiler.enable()
    client.post("/person/import/", data={"file": (io.BytesIO(workbook), "居民导入.xlsx")},
                content_type="multipart/form-data")
    profiler.disable()
    with app.app_context():
        deleted = _cleanup(db)
    summary = _profile_summary(profiler)
    summary.update({"what": f"import of {args['profile']:,} rows ({deleted:,} written and deleted again)"})
    return summary


def run(settings, ids: dict, log) -> dict:
    """Both measurements, each in its own Python process."""
    results = {}
    plans = {
        "export": {"url": f"/person/export/?_flt_{ids['residence_filter']}_residence_type=floating",
                   "warm_url": f"/person/export/?_flt_{ids['compound_filter']}_compound={ids['compound']}",
                   "profile": settings.profile,
                   "profile_url": f"/person/export/?_flt_{ids['community_filter']}_community={ids['community']}"},
        "import": {"rows": IMPORT_ROWS, "profile": PROFILE_IMPORT_ROWS if settings.profile else 0},
    }
    for mode in ("import", "export"):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.excel", mode, settings.url, json.dumps(plans[mode])],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"the {mode} subprocess failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["subprocess_s"] = round(time.perf_counter() - started, 1)
        result["url"] = plans[mode].get("url", "/person/import/")
        results[mode] = result
        log(f"  {mode}: {result['rows']:,} rows in {result['seconds']} s, peak RSS {result['peak_rss_mb']} MB "
            f"(+{result['peak_delta_mb']} MB)")
    return results


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    outcome = job(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    print(json.dumps(outcome, ensure_ascii=False))
