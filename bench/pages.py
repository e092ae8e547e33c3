"""List pages (app, stock FAB anchor, raw SQL limit), the REST lists and the dashboard,
measured in process through the Flask test client."""
from __future__ import annotations

from urllib.parse import quote

import prison

from bench import stock
from bench.measure import Statements, time_raw, time_requests

#: the three main lists: the app's view and route, the stock anchor's, the REST resource,
#: the filter (column, FAB arg names of an equality filter) and the sort
PAGES = {
    "residents": {"entity": "Person", "view": "PersonView", "route": "/person", "stock": "StockPersonView",
                  "stock_route": "/stock/person", "resource": "person", "filter": "community",
                  "filter_ops": ("rel_o_m",), "sort": ("name", "asc"), "default_sort": ("name", "asc")},
    "demands": {"entity": "Demand", "view": "DemandView", "route": "/demand", "stock": "StockDemandView",
                "stock_route": "/stock/demand", "resource": "demand", "filter": "status",
                "filter_ops": ("eq",), "sort": ("created_at", "desc"), "default_sort": ("created_at", "desc")},
    "ledger": {"entity": "LedgerEntry", "view": "LedgerEntryView", "route": "/ledger-entry",
               "stock": "StockLedgerEntryView", "stock_route": "/stock/ledger-entry", "resource": "ledger_entry",
               "filter": "community", "filter_ops": ("rel_o_m",), "sort": ("at", "desc"),
               "default_sort": ("at", "desc")},
}
SIZES = (20, 100)

# ----------------------------------------------------------------------------- raw SQL

SCOPE = "{t}.community_id IN (SELECT community.id FROM community WHERE community.street_id = %(street)s)"


def raw_sql(page: str, where: list[str], order: str) -> tuple[str, str]:
    """(page rows, count) of ``page``: the minimal SQL of the page — the page's rows cut
    from the base table alone (filter, sort, LIMIT), then joined to the relations the rows
    show (a household by its compound, building, unit and room; a demand's category,
    compound and taker; a ledger entry's volunteer and actor) — and one COUNT."""
    if page == "residents":
        rows = ("SELECT p.id, p.name, p.sex, p.birth_date, p.id_number, p.phone, p.residence_type, h.room, "
                "u.name, b.name, c.name, g.name "
                "FROM (SELECT * FROM person p WHERE {where} ORDER BY {order} LIMIT %(n)s) p "
                "LEFT JOIN household h ON h.id = p.household_id LEFT JOIN unit u ON u.id = h.unit_id "
                "LEFT JOIN building b ON b.id = u.building_id LEFT JOIN compound c ON c.id = u.compound_id "
                "LEFT JOIN grid g ON g.id = p.grid_id ORDER BY {order}")
        count = "SELECT count(*) FROM person p WHERE {where}"
        alias = "p"
    elif page == "demands":
        rows = ("SELECT d.id, d.number, d.title, sc.name, co.name, d.demand_class, d.status, o.name, mp.name, "
                "d.in_pool, d.created_at "
                "FROM (SELECT * FROM demand d WHERE {where} ORDER BY {order} LIMIT %(n)s) d "
                "JOIN service_category sc ON sc.id = d.category_id LEFT JOIN compound co ON co.id = d.compound_id "
                "LEFT JOIN organisation o ON o.id = d.assigned_unit_id "
                "LEFT JOIN party_member pm ON pm.id = d.assigned_member_id "
                "LEFT JOIN person mp ON mp.id = pm.person_id ORDER BY {order}")
        count = "SELECT count(*) FROM demand d WHERE {where}"
        alias = "d"
    else:
        rows = ("SELECT l.id, l.at, vp.name, l.kind, l.amount, l.balance_after, l.source, l.note, "
                "u.first_name, u.last_name "
                "FROM (SELECT * FROM ledger_entry l WHERE {where} ORDER BY {order} LIMIT %(n)s) l "
                "JOIN volunteer v ON v.id = l.volunteer_id JOIN person vp ON vp.id = v.person_id "
                "LEFT JOIN ab_user u ON u.id = l.actor_id ORDER BY {order}")
        count = "SELECT count(*) FROM ledger_entry l WHERE {where}"
        alias = "l"
    where = " AND ".join(w.format(t=alias) for w in where)
    order = order.format(t=alias)
    return rows.format(where=where, order=order), count.format(where=where)


def raw_case(page: str, *, value=None, sort=None, n=20, community=None):
    """The statements (with parameters) of the raw limit of a list case."""
    spec = PAGES[page]
    where = [SCOPE]
    params = {"street": None, "n": n}
    if value is not None:
        where.append("{t}.%s = %%(value)s" % ("community_id" if spec["filter"] == "community" else spec["filter"]))
        params["value"] = value
    if community is not None:
        where = ["{t}.community_id = %(community)s"]
        params["community"] = community
    column, direction = sort or spec["default_sort"]
    order = f"{{t}}.{column} {direction.upper()}, {{t}}.id {direction.upper()}"
    rows, count = raw_sql(page, where, order)
    return [(rows, params), (count, {k: v for k, v in params.items() if k != "n"})]


# ----------------------------------------------------------------------------- URLs

def list_url(app, route: str, view: str, *, column=None, ops=(), value=None, sort=None, n=20) -> str:
    args = []
    if column is not None:
        args.append(f"_flt_{stock.filter_index(app, view, column, ops)}_{column}={value}")
    if sort is not None:
        args += [f"_oc_{view}={sort[0]}", f"_od_{view}={sort[1]}"]
    args.append(f"psize_{view}={n}")
    return f"{route}/list/?" + "&".join(args)


def api_url(resource: str, *, column=None, op=None, value=None, sort=None, n=20) -> str:
    q = {"page_size": n}
    if column is not None:
        q["filters"] = [{"col": column, "opr": op, "value": value}]
    if sort is not None:
        q["order_column"], q["order_direction"] = sort
    return f"/api/v1/{resource}/?q=" + quote(prison.dumps(q))


# ----------------------------------------------------------------------------- running

class Context:
    """The app with the stock views, signed-in clients, the statement counter, a raw
    connection, and the ids the cases use."""

    def __init__(self, settings, app, clients: dict, engine, raw_conn, ids: dict):
        self.settings, self.app, self.clients, self.engine, self.raw, self.ids = \
            settings, app, clients, engine, raw_conn, ids
        self.statements = Statements(engine)


def list_cases(ctx) -> list[dict]:
    """Every list case: the main ones (filter + sort, 20 and 100 rows: app, stock, raw) and
    the ones without a filter (the whole district: app, stock, raw; one community: app)."""
    cases = []
    for page, spec in PAGES.items():
        value = ctx.ids["community"] if spec["filter"] == "community" else "dispatched"
        for n in SIZES:
            cases.append({
                "page": page, "case": f"filter {spec['filter']}={'C' if spec['filter'] == 'community' else value}, "
                                      f"sort {spec['sort'][0]} {spec['sort'][1]}, {n} rows",
                "main": True, "size": n, "user": "street",
                "app": list_url(ctx.app, spec["route"], spec["view"], column=spec["filter"], ops=spec["filter_ops"],
                                value=value, sort=spec["sort"], n=n),
                "stock": list_url(ctx.app, spec["stock_route"], spec["stock"], column=spec["filter"],
                                  ops=spec["filter_ops"], value=value, sort=spec["sort"], n=n),
                "raw": raw_case(page, value=value, sort=spec["sort"], n=n)})
        cases.append({
            "page": page, "case": f"no filter (whole district), default sort {' '.join(spec['default_sort'])}, 20 rows",
            "main": False, "size": 20, "user": "street",
            "app": list_url(ctx.app, spec["route"], spec["view"], n=20),
            "stock": list_url(ctx.app, spec["stock_route"], spec["stock"], sort=spec["default_sort"], n=20),
            "raw": raw_case(page, n=20)})
        cases.append({
            "page": page, "case": "worker of 文化路社区 (scope: one community), default sort, 20 rows",
            "main": False, "size": 20, "user": "worker",
            "app": list_url(ctx.app, spec["route"], spec["view"], n=20), "stock": None,
            "raw": raw_case(page, n=20, community=ctx.ids["worker_community"])})
    return cases


def _raw_params(statements, street):
    return [(sql, {k: (street if k == "street" else v) for k, v in params.items()}) for sql, params in statements]


def run_lists(ctx, log) -> list[dict]:
    results = []
    runs = ctx.settings.runs
    with ctx.statements:
        for case in list_cases(ctx):
            client = ctx.clients[case["user"]]
            row = {k: case[k] for k in ("page", "case", "main", "size", "user")}
            row["app"] = time_requests(client, case["app"], runs, ctx.statements)
            row["app"]["url"] = case["app"]
            if case["stock"]:
                row["stock"] = time_requests(client, case["stock"], runs, ctx.statements)
                row["stock"]["url"] = case["stock"]
            row["raw"] = time_raw(ctx.raw, _raw_params(case["raw"], ctx.ids["street"]), runs)
            row["matching_rows"] = row["raw"].get("count")
            if "stock" in row:
                row["stock_over_app"] = round(row["stock"]["median_ms"] / row["app"]["median_ms"], 2)
            row["app_over_raw"] = round(row["app"]["median_ms"] / row["raw"]["median_ms"], 2)
            log(f"  {case['page']:<9} {case['case']:<70} app {row['app']['median_ms']:7.1f} ms "
                f"({row['app']['sql']} SQL)"
                + (f"  stock {row['stock']['median_ms']:7.1f} ms ({row['stock']['sql']} SQL)" if "stock" in row else "")
                + f"  raw {row['raw']['median_ms']:6.1f} ms")
            results.append(row)
    return results


def run_api(ctx, log) -> list[dict]:
    results = []
    with ctx.statements:
        for page, spec in PAGES.items():
            value = ctx.ids["community"] if spec["filter"] == "community" else "dispatched"
            for n in SIZES:
                url = api_url(spec["resource"], column=spec["filter"], op=spec["filter_ops"][0], value=value,
                              sort=spec["sort"], n=n)
                row = {"page": page, "case": f"filter {spec['filter']}, sort {spec['sort'][0]}, {n} rows",
                       "size": n, "url": url, "user": "street"}
                row.update(time_requests(ctx.clients["street"], url, ctx.settings.runs, ctx.statements))
                log(f"  API {spec['resource']:<13} {row['case']:<40} {row['median_ms']:7.1f} ms ({row['sql']} SQL)")
                results.append(row)
    return results


def run_dashboard(ctx, log) -> list[dict]:
    results = []
    with ctx.statements:
        for user, what in (("street", "street (100 communities), last 3 months"),
                           ("worker", "worker (文化路社区), last 3 months")):
            row = {"user": user, "case": what, "url": "/dashboard/"}
            row.update(time_requests(ctx.clients[user], "/dashboard/", ctx.settings.runs, ctx.statements))
            log(f"  dashboard {what:<45} {row['median_ms']:7.1f} ms ({row['sql']} SQL)")
            results.append(row)
    return results
