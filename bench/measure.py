"""Timing, statement counting and statistics shared by the sections."""
from __future__ import annotations

import math
import re
import statistics
import time

from sqlalchemy import event

#: transaction control is not a statement of the page (as in tests/conftest.py)
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def p95(values) -> float:
    """The 95th percentile by nearest rank (with 20 runs: the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summary(times_ms) -> dict:
    return {"median_ms": round(statistics.median(times_ms), 2), "p95_ms": round(p95(times_ms), 2),
            "min_ms": round(min(times_ms), 2), "max_ms": round(max(times_ms), 2), "runs": len(times_ms)}


class Statements:
    """Counts and times the SQL statements an engine runs (``before/after_cursor_execute``)."""

    def __init__(self, engine):
        self.engine = engine
        self.items: list[tuple[str, float, object]] = []
        self._started: list[float] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        took = (time.perf_counter() - self._started.pop()) * 1000 if self._started else 0.0
        if not CONTROL.match(statement):
            self.items.append((statement, took, parameters))

    def clear(self) -> None:
        self.items.clear()
        self._started.clear()

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def sql_ms(self) -> float:
        return sum(item[1] for item in self.items)

    def slowest(self) -> tuple[str, float, object] | None:
        return max(self.items, key=lambda item: item[1]) if self.items else None


def collapsed(items) -> list[dict]:
    """The statements of one request, the same statement text counted once (an N+1 shows
    as one statement run n times), in the order first run."""
    seen: dict = {}
    for item in items:
        key = one_line(item[0], 300)
        seen[key] = seen.get(key, 0) + 1
    return [{"sql": sql, "n": n} for sql, n in seen.items()]


def one_line(sql: str, limit: int = 240) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def time_requests(client, path: str, runs: int, statements: Statements, *, warm: int = 2, headers=None,
                  expect: int = 200, check=None) -> dict:
    """GET ``path`` ``warm`` times, then ``runs`` timed times: wall time of each request
    (test client, in process), the statements of each, and the SQL time within."""
    for _ in range(warm):
        response = client.get(path, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    times, counts, sql_times, slowest, cpu = [], [], [], [], []
    size = 0
    for _ in range(runs):
        statements.clear()
        cpu_started = time.process_time()
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        counts.append(statements.count)
        sql_times.append(statements.sql_ms)
        slowest.append(statements.slowest())
        size = len(body)
    if check is not None:
        check(body)
    top = sorted(statements.items, key=lambda item: -item[1])[:5]  # of the last run
    result = summary(times)
    worst = max((s for s in slowest if s), key=lambda s: s[1], default=None)
    result.update({
        "sql": max(counts), "sql_min": min(counts),
        "sql_ms_median": round(statistics.median(sql_times), 2),
        "cpu_ms_median": round(statistics.median(cpu), 2),
        "slowest_sql": one_line(worst[0]) if worst else None,
        "slowest_sql_ms_median": round(statistics.median([s[1] for s in slowest if s]), 2) if worst else None,
        "bytes": size,
        "statements": collapsed(statements.items),
        "top_sql": [{"ms": round(item[1], 1), "sql": one_line(item[0], 200)} for item in top],
        "_slowest": worst,  # (statement, ms, parameters): explained when a target is missed; not written
        "_top": top,
    })
    return result


def time_raw(conn, statements: list[tuple[str, dict]], runs: int, warm: int = 2) -> dict:
    """Run the raw SQL of a page (each statement executed and fetched) ``runs`` times."""
    def once():
        fetched = []
        with conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                fetched.append(cur.fetchall())
        return fetched

    for _ in range(warm):
        once()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fetched = once()
        times.append((time.perf_counter() - started) * 1000)
    result = summary(times)
    counts = [f[0][0] for (sql, _p), f in zip(statements, fetched) if sql.lstrip().lower().startswith("select count")]
    result.update({"sql": len(statements), "rows": [len(f) for f in fetched], "count": counts[0] if counts else None,
                   "statements": [one_line(sql % {k: repr(v) for k, v in params.items()}, 400)
                                  for sql, params in statements]})
    return result


def explain(conn, sql: str, params) -> dict:
    """EXPLAIN ANALYZE of one statement: its execution time and the plan's costly nodes —
    scans reading more than 5,000 rows (or run many times), sorts of more than 1,000 rows.
    A node's time includes its children's; under a Gather, rows are all processes' and the
    time is per process."""
    with conn.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0][0]
    notes = []

    def walk(node, parallel: bool):
        kind = node["Node Type"]
        loops = int(node.get("Actual Loops", 1))
        rows = int(node.get("Actual Rows", 0) * loops)
        ms = node.get("Actual Total Time", 0) * (1 if parallel else loops)
        relation = node.get("Relation Name")
        repeat = f", {loops:,} processes" if parallel and loops > 1 else (f" in {loops:,} loops" if loops > 1 else "")
        if "Scan" in kind and relation and (rows > 5000 or (loops > 100 and not parallel)
                                            or (kind == "Seq Scan" and ms > 5)):
            removed = int(node.get("Rows Removed by Filter", 0) * loops)
            notes.append(f"{kind} on {relation}: {rows:,} rows" + (f" (+{removed:,} filtered out)" if removed else "")
                         + f"{repeat}, {ms:.0f} ms")
        elif kind == "Sort":
            sorted_rows = sum(int(c.get("Actual Rows", 0) * c.get("Actual Loops", 1)) for c in node.get("Plans", []))
            if sorted_rows > 1000:
                notes.append(f"Sort ({node.get('Sort Method', '?')}) of {sorted_rows:,} rows{repeat}, {ms:.0f} ms")
        for child in node.get("Plans", []):
            walk(child, parallel or kind in ("Gather", "Gather Merge"))

    walk(plan["Plan"], False)
    return {"execution_ms": round(plan["Execution Time"], 1), "plan": notes[:6]}
