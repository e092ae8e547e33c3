"""The low-code core: what the registry generates from a model declaration."""
from __future__ import annotations

import json
import re

import pytest

from tests import factories as f


def _rows(html: str) -> int:
    """Data rows of the list table (each has its checkbox or action buttons)."""
    return len(re.findall(r"<tr data-pk=", html))


# --------------------------------------------------------------------------- SQL counts

def _list_statements(client, count_queries, community_id, rows_expected):
    url = f"/compound/list/?_flt_0_community={community_id}&psize_CompoundView=100"
    client.get(url)  # warm-up (first request of a client loads nothing extra, but be fair)
    with count_queries() as counter:
        response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _rows(html) == rows_expected
    return counter


def test_list_costs_the_same_for_10_or_100_rows(app, ctx, as_user, count_queries):
    small, large = f.new_community(), f.new_community()
    for community, count in ((small, 10), (large, 100)):
        f.bulk_compounds(community, f.new_grid(community), count, prefix=f"{community.name}-")
    client = as_user("street")
    ten = _list_statements(client, count_queries, small.id, 10)
    hundred = _list_statements(client, count_queries, large.id, 100)
    assert ten.count == hundred.count, (ten.statements, hundred.statements)
    # The list shows grid and grid.community: both come with the rows (the count, the page's
    # ids, its rows with their relations, the 字典).
    assert len(hundred.data_statements()) <= 4, hundred.data_statements()
    assert hundred.count <= 8, hundred.statements


def test_list_pages_are_cut_before_their_relations_are_joined(app, ctx, as_user, count_queries):
    """The page's rows are chosen (sorted, cut) on the table alone; only those rows are
    joined to the relations the list shows (at a district's scale, joining every matching
    row before the LIMIT cost most of the page: bench/)."""
    client = as_user("street")
    url = "/person/list/?_oc_PersonView=name&_od_PersonView=asc"
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    page = [s for s in counter.data_statements() if "LIMIT" in s.upper()]
    assert len(page) == 1 and " JOIN " not in page[0].upper(), page
    rows = [s for s in counter.data_statements() if "LEFT OUTER JOIN household" in s]
    assert len(rows) == 1 and "LIMIT" not in rows[0].upper() and " IN (" in rows[0].upper(), rows


def test_every_generated_list_stays_within_9_statements(app, ctx, as_user, count_queries):
    from models.kernel import policy
    from app.registry import entities, view_class

    readers = {}
    for model in entities():
        name = model.__name__
        reader = next(r for r in ("secretary", "sysadmin", "auditor")
                      if name in policy.ROLES[{"secretary": "社区书记/主任", "sysadmin": "系统管理员",
                                                "auditor": "审计管理员"}[r]]["entities"])
        readers.setdefault(reader, []).append(model)
    for username, models in readers.items():
        client = as_user(username)
        for model in models:
            view = view_class(model)
            url = f"{view.route_base}/list/?psize_{view.__name__}=100"
            client.get(url)
            with count_queries() as counter:
                response = client.get(url)
            assert response.status_code == 200, url
            # the count, the page's ids, its rows with their relations, a collection's rows, the 字典
            assert counter.count <= 9, (url, counter.statements)
            assert len(counter.data_statements()) <= 5, (url, counter.data_statements())


def test_api_list_costs_the_same_for_10_or_100_rows(app, ctx, as_user, count_queries):
    small, large = f.new_community(), f.new_community()
    for community, count in ((small, 10), (large, 100)):
        f.bulk_compounds(community, f.new_grid(community), count, prefix=f"{community.name}-")
    client = as_user("street")
    counts = []
    for community, expected in ((small, 10), (large, 100)):
        q = f"(filters:!((col:community,opr:rel_o_m,value:{community.id})),page_size:100)"
        with count_queries() as counter:
            response = client.get(f"/api/v1/compound/?q={q}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(response.json["result"]) == expected
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 8


# --------------------------------------------------------------------------- sorting

def _page_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', html)]


@pytest.mark.parametrize("column", ["grid", "grid.community", "type", "name", "build_year"])
def test_sort_by_any_list_column(app, ctx, as_user, column):
    """The page's order is the database's order for that column (the related row's
    name for a relation), ties broken by id — on SQLite and PostgreSQL alike."""
    from sqlalchemy import asc, desc, select
    from sqlalchemy.orm import aliased

    from app.extensions import db
    from models.kernel.places import Community, Compound, Grid

    client = as_user("worker")
    whl = f.community()
    for direction in ("asc", "desc"):
        html = client.get(f"/compound/list/?_oc_CompoundView={column}&_od_CompoundView={direction}"
                          "&psize_CompoundView=100").get_data(as_text=True)
        order = desc if direction == "desc" else asc
        grid, community = aliased(Grid), aliased(Community)
        key = {"grid": grid.name, "grid.community": community.name, "type": Compound.type,
               "name": Compound.name, "build_year": Compound.build_year}[column]
        stmt = (select(Compound.id).outerjoin(grid, Compound.grid).outerjoin(community, grid.community)
                .where(Compound.community_id == whl.id).order_by(order(key), order(Compound.id)))
        assert _page_ids(html) == list(db.session.scalars(stmt)), (column, direction)


def test_unknown_sort_column_and_bad_numbers_are_ignored(app, ctx, as_user):
    client = as_user("worker")
    for query in ("_oc_CompoundView=nope&_od_CompoundView=asc", "_oc_CompoundView=roads&_od_CompoundView=asc",
                  "page_CompoundView=abc", "psize_CompoundView=-5", "page_CompoundView=99999"):
        assert client.get(f"/compound/list/?{query}").status_code == 200, query
    assert client.get("/compound/show/abc").status_code == 404
    assert client.get("/api/v1/compound/abc").status_code in (404, 405)


# --------------------------------------------------------------------------- page size

def test_page_size_is_capped_at_100(app, ctx, as_user):
    community = f.new_community()
    f.bulk_compounds(community, f.new_grid(community), 130)
    client = as_user("street")
    html = client.get(f"/compound/list/?_flt_0_community={community.id}&psize_CompoundView=1000") \
        .get_data(as_text=True)
    assert _rows(html) == 100
    q = f"(filters:!((col:community,opr:rel_o_m,value:{community.id})),page_size:1000)"
    response = client.get(f"/api/v1/compound/?q={q}")
    assert response.status_code == 200
    assert len(response.json["result"]) == 100
    assert response.json["count"] == 130


# --------------------------------------------------------------------------- pickers

def test_relation_pickers_never_render_a_whole_table(app, ctx, as_user):
    community = f.community()
    f.bulk_grids(community, 10_000, prefix="万格")
    client = as_user("worker")
    for url in ("/compound/add", "/compound/list/", "/building/add", "/organisation/add"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "万格09999" not in html and "万格00000" not in html, url
        assert html.count("<option") < 200, url
        assert len(html) < 200_000, (url, len(html))
        assert "ajax-select" in html, url
    # the server answers the picker: searched, scoped, 20 at a time
    response = client.get("/api/v1/compound/related/grid?q=万格0999")
    assert response.status_code == 200
    body = response.json
    assert body["count"] == 10  # 万格09990 … 万格09999
    assert len(body["result"]) == 10
    assert all("万格0999" in r["text"] for r in body["result"])
    page = client.get("/api/v1/compound/related/grid?q=万格&page=3").json
    assert page["count"] == 10_000 and len(page["result"]) == 20
    resolved = client.get(f"/api/v1/compound/related/grid?ids={body['result'][0]['id']}").json
    assert resolved["result"][0]["text"] == body["result"][0]["text"]


def test_picker_endpoint_only_for_declared_relations(app, ctx, as_user):
    client = as_user("worker")
    assert client.get("/api/v1/compound/related/nothing").status_code == 404
    assert client.get("/api/v1/compound/related/created_by").status_code == 404


# --------------------------------------------------------------------------- API

def test_api_nests_relations_and_documents_itself(app, ctx, as_user):
    client = as_user("worker")
    body = client.get("/api/v1/compound/?q=(page_size:5)").json
    item = body["result"][0]
    assert set(item["grid"]) == {"id", "name"}
    assert "grid_id" not in item and "community_id" not in item
    spec = client.get("/api/v1/_openapi").json
    assert "/api/v1/compound/" in spec["paths"]
    assert "/api/v1/compound/related/{column_name}" in spec["paths"]
    swagger = client.get("/swagger/v1")
    assert swagger.status_code == 200
    html = swagger.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_api_create_update_delete_with_relations_by_id(app, ctx, as_user):
    grid = f.grid()
    client = as_user("worker")
    created = client.post("/api/v1/compound/", json={
        "name": "接口新建小区", "type": "sanwu", "community": grid.community_id, "grid": grid.id})
    assert created.status_code == 201, created.get_data(as_text=True)
    pk = created.json["id"]
    got = client.get(f"/api/v1/compound/{pk}").json["result"]
    assert got["grid"]["name"] == grid.name and got["community"]["name"] == "文化路社区"
    changed = client.put(f"/api/v1/compound/{pk}", json={"build_year": 1995})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert client.get(f"/api/v1/compound/{pk}").json["result"]["build_year"] == 1995
    assert client.delete(f"/api/v1/compound/{pk}").status_code == 200
    assert client.get(f"/api/v1/compound/{pk}").status_code == 404


def test_api_errors_are_field_level_and_chinese(app, ctx, as_user):
    client = as_user("worker")
    response = client.post("/api/v1/compound/", json={"name": "", "type": "nope", "community": f.community().id})
    assert response.status_code == 422
    message = response.json["message"]
    assert "name" in message and "type" in message
    assert re.search(r"[\u4e00-\u9fff]", json.dumps(message, ensure_ascii=False))


# --------------------------------------------------------------------------- titles, labels, menu

def test_generated_pages_are_chinese(app, ctx, as_user):
    client = as_user("worker")
    html = client.get("/compound/list/").get_data(as_text=True)
    assert "小区列表" in html
    for label in ("名称", "小区类型", "网格", "社区", "建成年份"):
        assert label in html, label
    add = client.get("/compound/add").get_data(as_text=True)
    assert "新增小区" in add
    assert "List Compound" not in html and "Add Compound" not in add


def test_custom_view_extends_the_generated_one(app, ctx, as_user, count_queries):
    from app.registry import generated_view, view_class
    from models.kernel.orgs import Organisation
    from views.kernel.organisations import OrganisationView

    assert view_class(Organisation) is OrganisationView
    assert issubclass(OrganisationView, generated_view(Organisation))
    client = as_user("grid1")
    # scope: a grid worker sees community-wide organisations and those of their grid only
    tree = client.get("/organisation/tree/").get_data(as_text=True)
    assert "第一网格党支部" in tree and "第二网格党支部" not in tree
    assert "组织列表" in client.get("/organisation/list/").get_data(as_text=True)
    with count_queries() as counter:
        assert client.get("/organisation/list/?psize_OrganisationView=100").status_code == 200
    assert counter.count <= 8
