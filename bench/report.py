"""The results: targets met or missed (by how much, and why), tables in Markdown, the
same numbers in JSON, and the latest summary in bench/README.md."""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess

from bench.settings import RESULTS_DIR, ROOT

LIST_MS, STOCK_RATIO, DASHBOARD_MS = 30.0, 5.0, 150.0
IMPORT_S, EXPORT_S, EXPORT_MB, THROUGHPUT = 5.0, 8.0, 300.0, 300.0
README = os.path.join(ROOT, "bench", "README.md")
START, END = "<!-- latest-results:start -->", "<!-- latest-results:end -->"


# ----------------------------------------------------------------------------- environment

def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def machine_sample(seconds: float = 3.0) -> dict:
    """How busy the machine's CPUs are (all processes) over ``seconds``, and the load average:
    whether something else was running beside the bench."""
    import time

    def read():
        with open("/proc/stat") as fh:
            values = [float(v) for v in fh.readline().split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)

    before = read()
    time.sleep(seconds)
    after = read()
    busy = (after[0] - before[0]) / max(1.0, after[1] - before[1])
    return {"cpu_busy_pct": round(100 * busy, 1), "loadavg": _read("/proc/loadavg").split()[:3]}


def environment(settings) -> dict:
    import psycopg

    cpu = re.search(r"model name\s*:\s*(.+)", _read("/proc/cpuinfo"))
    mem = re.search(r"MemTotal:\s*(\d+)", _read("/proc/meminfo"))
    versions = {}
    for name in ("flask_appbuilder", "flask", "sqlalchemy", "psycopg", "gunicorn", "openpyxl"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", None) or getattr(module, "version", "?")
        except Exception:
            versions[name] = None
    commit, dirty = None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        if commit:
            dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                        capture_output=True, text=True, timeout=10).stdout.strip())
    except Exception:
        pass
    if commit is None and os.environ.get("BENCH_COMMIT"):  # a copy of a commit (git archive), not a work tree
        commit, dirty = os.environ["BENCH_COMMIT"], False
    with psycopg.connect(settings.conninfo.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        server = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                  for name in ("server_version", "shared_buffers", "work_mem", "effective_cache_size")}
    return {"date": datetime.date.today().isoformat(),
            "started_at": datetime.datetime.now().isoformat(timespec="seconds"),
            "cpu": cpu.group(1).strip() if cpu else platform.processor(), "cores": os.cpu_count(),
            "memory_gb": round(int(mem.group(1)) / 2**20, 1) if mem else None,
            "python": platform.python_version(), "postgresql": server, "packages": versions,
            "commit": commit, "working_tree_changed": dirty}


# ----------------------------------------------------------------------------- analysis

def _why_slow(row: dict, limit: float) -> str:
    """Why the app's page takes longer than ``limit``: where its time goes."""
    app, raw = row["app"], row.get("raw")
    python_ms = app["median_ms"] - app["sql_ms_median"]
    parts = [f"{app['median_ms']:.0f} ms = {app['sql_ms_median']:.0f} ms in {app['sql']} SQL statements "
             f"+ {python_ms:.0f} ms in Python (of which {app.get('cpu_ms_median', 0):.0f} ms CPU: views, widgets, "
             f"template)"]
    explained = app.get("explain")
    if explained:
        parts.append(f"slowest statement {explained['ms']:.0f} ms, {explained['what']}"
                     + (f" — {'; '.join(explained['plan'])}" if explained["plan"] else ""))
    if raw is not None:
        parts.append(f"the same page as raw SQL (sort and LIMIT on the base table, then the joins; and the COUNT) "
                     f"takes {raw['median_ms']:.1f} ms")
        if app["sql_ms_median"] > 2 * raw["median_ms"] + 5:
            parts.append(f"so about {app['sql_ms_median'] - raw['median_ms']:.0f} ms of the app's SQL time is in "
                         f"how it asks (every matching row joined to its relations before the sort and the LIMIT), "
                         f"not in what the page needs")
        elif raw["median_ms"] > limit:
            parts.append("the database work of the page alone is over the target")
    return "; ".join(parts) + "."


def _what(statement: str) -> str:
    text = statement.lstrip().upper()
    if text.startswith("SELECT COUNT(*)") or text.startswith("SELECT COUNT(") and "FROM (SELECT" in text:
        return "the list's COUNT"
    if text.startswith("SELECT COUNT("):
        return "a COUNT"
    return "a SELECT"


def _label(statement: str) -> str:
    """A short name of a statement: what it reads (its FROM tables) and its grouping."""
    text = " ".join(statement.split())
    tables = re.findall(r"\bFROM (\w+)", text)
    seen = list(dict.fromkeys(t for t in tables if t not in ("community",)))
    group = " GROUP BY" if " GROUP BY " in text.upper() else ""
    kind = "COUNT" if re.match(r"(?i)select (\(select )?count", text) else "SELECT"
    return f"{kind} from {', '.join(seen[:4]) or '?'}{group}"


def explain_misses(results: dict, conn) -> None:
    """EXPLAIN ANALYZE the slowest statement of each page over its target (the three
    slowest of a dashboard over its target); then drop the raw statement objects (they
    are not written)."""
    from bench.measure import explain

    def explained(statement):
        try:
            found = explain(conn, statement[0], statement[2])
        except Exception as error:  # an unexplainable statement is no reason to lose the run
            found = {"plan": [f"(EXPLAIN failed: {type(error).__name__})"], "execution_ms": None}
        found.update({"what": _what(statement[0]), "label": _label(statement[0]), "ms": round(statement[1], 1)})
        return found

    def visit(measured: dict, over: bool, top: int = 0):
        slowest = measured.pop("_slowest", None)
        tops = measured.pop("_top", None) or []
        if over and top and tops:
            measured["explain_top"] = [explained(s) for s in tops[:top]]
        elif over and slowest:
            measured["explain"] = explained(slowest)

    for row in results.get("pages") or []:
        visit(row["app"], row["app"]["median_ms"] > LIST_MS)
        if "stock" in row:
            visit(row["stock"], False)
    for row in results.get("api") or []:
        visit(row, row["median_ms"] > LIST_MS)
    for row in results.get("dashboard") or []:
        visit(row, row["median_ms"] > DASHBOARD_MS, top=3)


def _profile_text(measured: dict, n: int = 6) -> str:
    profile = measured.get("profile")
    if not profile or not profile.get("top"):
        return ""
    return (f"; a profiled {profile['what']} spent its time in: "
            + ", ".join(f"{r['function']} {r['share_pct']:.0f} %" for r in profile["top"][:n])
            + " (cumulative shares, nested)")


def _by(value: float, target: float, higher_is_better: bool, unit: str) -> str:
    if higher_is_better:
        return f"{target - value:,.1f}{unit} short ({value / target:.0%} of the target)"
    return f"+{value - target:,.1f}{unit} ({value / target:.1f}× the target)"


def targets(results: dict) -> list[dict]:
    rows = []

    def add(area, target, measured, met, by="", why=""):
        rows.append({"area": area, "target": target, "measured": measured, "met": met, "by": "" if met else by,
                     "why": "" if met else why})

    for row in results.get("pages") or []:
        if not row["main"]:
            continue
        name = f"{row['page']} list, {row['case']}"
        app, stock, raw = row["app"], row.get("stock"), row["raw"]
        if stock:
            ratio = row["stock_over_app"]
            why = (f"stock {stock['median_ms']:.1f} ms ({stock['sql']} statements) against the app's "
                   f"{app['median_ms']:.1f} ms ({app['sql']}); ")
            bound = stock["median_ms"] / raw["median_ms"]
            if bound < STOCK_RATIO:
                why += (f"both pay the page's database work (raw SQL {raw['median_ms']:.1f} ms), so no "
                        f"implementation could beat the stock view by more than {bound:.1f}× here")
            else:
                why += (f"the stock view pays {stock['median_ms'] - raw['median_ms']:.0f} ms above the raw SQL, "
                        f"the app {app['median_ms'] - raw['median_ms']:.0f} ms: the app's own overhead "
                        f"(SQL {app['sql_ms_median']:.0f} ms, Python {app['median_ms'] - app['sql_ms_median']:.0f} ms) "
                        f"is what keeps the ratio down")
            add("list pages", f"{name}: ≥ 5× faster than stock FAB", f"{ratio:.1f}×", ratio >= STOCK_RATIO,
                _by(ratio, STOCK_RATIO, True, "×"), why + ".")
        add("list pages", f"{name}: ≤ 30 ms in process", f"{app['median_ms']:.1f} ms",
            app["median_ms"] <= LIST_MS, _by(app["median_ms"], LIST_MS, False, " ms"), _why_slow(row, LIST_MS))
    for row in results.get("dashboard") or []:
        measured = row["median_ms"]
        why = f"{measured:.0f} ms = {row['sql_ms_median']:.0f} ms in {row['sql']} SQL statements + " \
              f"{measured - row['sql_ms_median']:.0f} ms of Python and template"
        for found in row.get("explain_top") or []:
            why += (f"; {found['label']} {found['ms']:.0f} ms"
                    + (f" ({', '.join(found['plan'][:3])})" if found["plan"] else ""))
        add("dashboard", f"dashboard, {row['case']}: ≤ 150 ms", f"{measured:.0f} ms", measured <= DASHBOARD_MS,
            _by(measured, DASHBOARD_MS, False, " ms"), why + ".")
    excel = results.get("excel") or {}
    if "import" in excel:
        imp = excel["import"]
        ok = imp["seconds"] <= IMPORT_S and imp.get("job_status") == "done"
        add("Excel", f"import of {imp['rows']:,} residents: ≤ 5 s", f"{imp['seconds']:.1f} s "
            f"(job {imp.get('job_status')}, {imp.get('written')} written)", ok,
            _by(imp["seconds"], IMPORT_S, False, " s"),
            f"{imp['rows'] / imp['seconds']:,.0f} rows/s; the import reads the workbook, checks every row (types, "
            f"字典 values, ID numbers, lookups, uniqueness against the register) before writing any, then writes "
            f"through the domain layer in one transaction" + _profile_text(imp) + ".")
    if "export" in excel:
        exp = excel["export"]
        add("Excel", f"export of {exp['rows']:,} residents: ≤ 8 s", f"{exp['seconds']:.1f} s",
            exp["seconds"] <= EXPORT_S, _by(exp["seconds"], EXPORT_S, False, " s"),
            f"{exp['rows'] / exp['seconds']:,.0f} rows/s: every row is loaded as ORM objects with its household, "
            f"unit, building and compound, masked value by value, and written cell by cell by openpyxl"
            + _profile_text(exp) + ".")
        add("Excel", "export: under 300 MB (peak RSS of the process)",
            f"{exp['peak_rss_mb']:.0f} MB (+{exp['peak_delta_mb']:.0f} MB)", exp["peak_rss_mb"] < EXPORT_MB,
            _by(exp["peak_rss_mb"], EXPORT_MB, False, " MB"),
            "peak resident memory of the process while exporting.")
    api = {(r["page"], r["size"]): r for r in results.get("api") or []}
    for row in results.get("load") or []:
        inproc = api.get((row["endpoint"], 20))
        seen = (f" In process (one core, no HTTP) the same request takes {inproc['median_ms']:.0f} ms, "
                f"{inproc['sql_ms_median']:.0f} ms of it in SQL." if inproc else "")
        busy = row["machine_cpu_busy_pct"]
        split = row.get("worker_cpu_s") or []
        if busy >= 85:
            why = (f"CPU-bound: the 2 cores were {busy:.0f} % busy, gunicorn and PostgreSQL together "
                   f"{row['server_cpu_pct_of_two_cores']:.0f} % of them (the load generator "
                   f"{row['generator_cpu_pct_of_one_core']:.0f} % of one core; the rest: other processes)")
        else:
            why = (f"not CPU-bound: the 2 cores were only {busy:.0f} % busy"
                   + (f"; the two workers used {split[0]} s and {split[-1]} s of CPU — with keep-alive a gthread "
                      f"worker keeps the connections it accepted, and {row['concurrency']} connections shared "
                      f"unevenly leave one worker short of work" if len(split) == 2 and split[-1] < 0.7 * split[0]
                      else "; requests waited for something else than the CPU"))
        add("throughput", f"REST list ({row['endpoint']}) on {row['server']}: ≥ 300 requests/s",
            f"{row['requests_per_s']:.0f} req/s", row["requests_per_s"] >= THROUGHPUT and row["errors"] == 0,
            _by(row["requests_per_s"], THROUGHPUT, True, " req/s"),
            why + f"; each request cost the server {row['server_cpu_ms_per_request']:.1f} ms of CPU (gunicorn's "
            f"Python and PostgreSQL, parallel query workers included), so 2 cores serve at most "
            f"{2000 / max(0.1, row['server_cpu_ms_per_request']):.0f} requests/s." + seen)
    return rows


# ----------------------------------------------------------------------------- Markdown

def _ms(measured: dict | None) -> str:
    if not measured:
        return "—"
    return f"{measured['median_ms']:.1f} / {measured['p95_ms']:.1f}"


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _list_rows(rows: list[dict]) -> list[list]:
    result = []
    for row in rows:
        stock = row.get("stock")
        result.append([row["page"], row["case"], row["user"], f"{row['matching_rows']:,}" if row.get("matching_rows")
                       is not None else "—", _ms(row["app"]), row["app"]["sql"], _ms(stock),
                       stock["sql"] if stock else "—", _ms(row["raw"]), row["raw"]["sql"],
                       f"{row['stock_over_app']:.1f}×" if stock else "—", f"{row['app_over_raw']:.1f}×"])
    return result


LIST_HEADERS = ["Page", "Case", "User", "Matching rows", "App ms (median / p95)", "App SQL",
                "Stock FAB ms", "Stock SQL", "Raw SQL ms", "Raw stmts", "Stock/App", "App/Raw"]


def targets_table(results: dict) -> str:
    rows = [[t["area"], t["target"], t["measured"], "met" if t["met"] else "**missed**", t["by"] or ""]
            for t in targets(results)]
    return _table(["Area", "Target", "Measured", "Met?", "Missed by"], rows)


def markdown(results: dict) -> str:
    env = results["environment"]
    data = results["dataset"]
    counts = data["counts"]
    out = [f"# Bench results — {env['date']}", ""]
    out.append(f"`make bench` at district scale on PostgreSQL {env['postgresql']['server_version'].split()[0]} "
               f"(shared_buffers {env['postgresql']['shared_buffers']}, work_mem {env['postgresql']['work_mem']}), "
               f"{env['cpu']}, {env['cores']} cores, {env['memory_gb']} GB RAM; Python {env['python']}, "
               f"Flask-AppBuilder {env['packages'].get('flask_appbuilder')}, SQLAlchemy "
               f"{env['packages'].get('sqlalchemy')}; commit {env['commit']}"
               f"{' (with uncommitted changes)' if env.get('working_tree_changed') else ''}. "
               f"{results['settings']['runs']} runs a case (after 2 warm-up runs); times are medians / 95th "
               f"percentiles in ms. Total run time: {results.get('timings_s', {}).get('total', 0) / 60:.1f} min.")
    machine = results.get("machine") or {}
    if machine:
        before, after = machine.get("before") or {}, machine.get("after") or {}
        out.append("")
        out.append(f"Machine before the run: CPUs {before.get('cpu_busy_pct')} % busy over 3 s (load average "
                   f"{' '.join(before.get('loadavg', []))}); after: {after.get('cpu_busy_pct')} % (load average "
                   f"{' '.join(after.get('loadavg', []))})."
                   + (" **Other processes were using the CPUs while the bench ran: its times are inflated by "
                      "them.**" if max(before.get("cpu_busy_pct") or 0, after.get("cpu_busy_pct") or 0) > 15 else ""))
    out.append("")
    timing = data.get("timings") or {}
    how = ("reused from an earlier run" if data["reused"] else "built in this run") + \
          (f"; building took {timing.get('total_s', '?')} s: demo seed {timing.get('seed_s', '?')} s, COPY "
           f"{timing.get('copy_s', '?')} s, VACUUM ANALYZE {timing.get('vacuum_analyze_s', '?')} s" if timing else "")
    out.append(f"**Dataset** ({how}): " + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + ".")
    out.append("")
    out += ["## Targets", "", targets_table(results), ""]

    if results.get("pages"):
        ids = results["ids"]
        out += ["## 1. List pages (in process, Flask test client)", "",
                f"`C` = {ids['community_name']} (community id {ids['community']}, one of the 100). **App**: the "
                f"platform's generated page; **Stock FAB**: a plain `ModelView` + `SQLAInterface` of the same model "
                f"and list columns (bench/stock.py); **Raw SQL**: the page's data alone, as minimal SQL run with "
                f"psycopg (the limit) — one SELECT that cuts the page from the base table (filter, sort, LIMIT) and "
                f"then joins the shown relations, and one COUNT. Ratios are of medians. "
                f"*SQL* counts statements (transaction control excluded) of one request.", ""]
        out += [_table(LIST_HEADERS, _list_rows([r for r in results["pages"] if r["main"]])), ""]
        out += ["Other cases (no filter: the whole district as the street administrator; and the community "
                "worker's own community):", ""]
        out += [_table(LIST_HEADERS, _list_rows([r for r in results["pages"] if not r["main"]])), ""]
    if results.get("api"):
        out += ["## 2. REST list endpoints (in process, signed in as street)", ""]
        out += [_table(["Resource", "Case", "ms (median / p95)", "SQL", "SQL ms (median)", "Bytes"],
                       [[r["page"], r["case"], _ms(r), r["sql"], f"{r['sql_ms_median']:.1f}", f"{r['bytes']:,}"]
                        for r in results["api"]]), ""]
    if results.get("dashboard"):
        out += ["## 3. Dashboard (`/dashboard/`, default period: the last 3 months)", ""]
        out += [_table(["User", "ms (median / p95)", "SQL", "SQL ms (median)", "Slowest statement ms"],
                       [[r["case"], _ms(r), r["sql"], f"{r['sql_ms_median']:.1f}",
                         f"{r['slowest_sql_ms_median']:.1f}"] for r in results["dashboard"]]), ""]
        for r in results["dashboard"]:
            if r.get("explain_top"):
                out += [f"Slowest statements of the dashboard for {r['case']} (one request; EXPLAIN ANALYZE):", ""]
                out += [_table(["Statement", "ms", "Plan (costly nodes; a node's time includes its children's)"],
                               [[f['label'], f"{f['ms']:.0f}", "; ".join(f["plan"])] for f in r["explain_top"]]), ""]
    excel = results.get("excel") or {}
    if excel:
        out += ["## 4. Excel import and export (each in a fresh process)", "",
                "Memory is resident memory (RSS) of that process: *peak* is its high-water mark during the "
                "operation (reset just before it), *Δ* the peak minus the RSS just before.", ""]
        rows = []
        if "import" in excel:
            r = excel["import"]
            rows.append([f"import `POST /person/import/` (worker, in the request)", f"{r['rows']:,}",
                         f"{r['seconds']:.1f}", f"{r['peak_rss_mb']:.0f}", f"{r['peak_delta_mb']:.0f}",
                         f"{r['file_mb']:.2f}", f"{r.get('job_status')}, {r.get('written')} written"])
        if "export" in excel:
            r = excel["export"]
            rows.append([f"export `GET /person/export/` floating residents (street)", f"{r['rows']:,}",
                         f"{r['seconds']:.1f}", f"{r['peak_rss_mb']:.0f}", f"{r['peak_delta_mb']:.0f}",
                         f"{r['file_mb']:.2f}", f"HTTP {r['status']}"])
        out += [_table(["Operation", "Rows", "Seconds", "Peak RSS MB", "Δ MB", "File MB", "Outcome"], rows), ""]
        for mode in ("import", "export"):
            profile = (excel.get(mode) or {}).get("profile")
            if profile and profile.get("top"):
                out += [f"Where the time goes — a second, profiled {profile['what']} (cProfile, "
                        f"{profile['profiled_s']} s under the profiler; shares of that time, cumulative, so nested "
                        f"functions overlap):", ""]
                out += [_table(["Function", "Cumulative share", "Own share", "Calls"],
                               [[f"`{r['function']}`", f"{r['share_pct']:.1f} %", f"{r['own_pct']:.1f} %",
                                 f"{r['calls']:,}"] for r in profile["top"]]), ""]
    if results.get("load"):
        first = results["load"][0]
        out += ["## 5. Throughput of the REST list on gunicorn (loopback)", "",
                "Endpoints: " + "; ".join(f"{name} `GET {path}`" for name, path in
                                          dict.fromkeys((r["endpoint"], r["path"]) for r in results["load"])) +
                f", as {first['user']}, {first['concurrency']} connections for "
                f"{first['seconds']:.0f} s after a 3 s warm-up; the asyncio load generator runs on the same 2 "
                f"cores as gunicorn and PostgreSQL.", ""]
        out += [_table(["Server", "Endpoint", "req/s", "Latency median / p95 ms", "Requests", "Errors",
                        "Machine CPU busy", "gunicorn + PostgreSQL CPU", "Server CPU ms / request",
                        "Worker CPU s", "Generator CPU (of one core)"],
                       [[r["server"], r["endpoint"], f"{r['requests_per_s']:.0f}", f"{r['median_ms']} / {r['p95_ms']}",
                         f"{r['requests']:,}", r["errors"], f"{r['machine_cpu_busy_pct']:.0f} %",
                         f"{r['server_cpu_pct_of_two_cores']:.0f} %", f"{r['server_cpu_ms_per_request']:.1f}",
                         " / ".join(str(x) for x in r.get("worker_cpu_s") or []),
                         f"{r['generator_cpu_pct_of_one_core']:.0f} %"] for r in results["load"]]), ""]
    missed = [t for t in targets(results) if not t["met"]]
    if missed:
        out += ["## Why targets were missed", ""]
        out += [f"- **{t['target']}** — measured {t['measured']}, missed by {t['by']}. {t['why']}" for t in missed]
        out.append("")
    if results.get("errors"):
        out += ["## Errors", ""] + [f"- {k}: `{v}`" for k, v in results["errors"].items()] + [""]
    timings = results.get("timings_s") or {}
    out.append("Section times (s): " + ", ".join(f"{k} {v}" for k, v in timings.items())
               + f"; dataset {data.get('prepare_s')}.")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- files

def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write(results: dict, text: str) -> list[str]:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stem = os.path.join(RESULTS_DIR, results["environment"]["date"])
    data = _clean({**results, "targets": targets(results)})
    with open(stem + ".json", "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1, default=str)
        fh.write("\n")
    with open(stem + ".md", "w", encoding="utf-8") as fh:
        fh.write(text)
    paths = [stem + ".md", stem + ".json"]
    if _update_readme(results):
        paths.append(README)
    return paths


def _update_readme(results: dict) -> bool:
    """The latest targets table in bench/README.md, between its markers."""
    try:
        with open(README, encoding="utf-8") as fh:
            readme = fh.read()
    except OSError:
        return False
    if START not in readme or END not in readme:
        return False
    date = results["environment"]["date"]
    block = (f"{START}\nLatest run: [{date}](results/{date}.md) — total "
             f"{results.get('timings_s', {}).get('total', 0) / 60:.1f} min.\n\n{targets_table(results)}\n{END}")
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    with open(README, "w", encoding="utf-8") as fh:
        fh.write(head + block + tail)
    return True
