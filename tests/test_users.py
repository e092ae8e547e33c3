"""The security admin binds users to a scope node and kind."""
from __future__ import annotations

from tests import factories as f


def _form(role_id, **extra):
    data = {"first_name": "新", "last_name": "王", "username": "newgrid", "active": "y",
            "email": "newgrid@demo.invalid", "roles": [str(role_id)], "password": "Hongse@2026x",
            "conf_password": "Hongse@2026x"}
    data.update(extra)
    return data


def test_security_admin_creates_a_grid_worker(app, ctx, as_user):
    sm = app.appbuilder.sm
    grid = f.grid(code="WHL-04")
    role = sm.find_role("网格员")
    client = as_user("secadmin")
    response = client.post("/users/add", data=_form(role.id, scope_kind="grid", scope_node=f"grid:{grid.id}"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    user = f.user("newgrid")
    assert (user.scope_kind, user.scope_grid_id, user.scope_community_id, user.scope_street_id) == \
        ("grid", grid.id, grid.community_id, grid.community.street_id)
    # and the new user sees exactly that grid's compounds
    from tests.conftest import login

    new = login(app.test_client(), "newgrid", "Hongse@2026x")
    # the administrator chose the password: the new user chooses their own first
    assert new.get("/api/v1/compound/").status_code == 403
    assert "/resetmypassword/form" in new.get("/compound/list/").headers["Location"]
    response = new.post("/resetmypassword/form", data={"password": "Wenhua#Road7", "conf_password": "Wenhua#Road7"})
    assert response.status_code == 302
    assert new.get("/api/v1/compound/?q=(page_size:100)").json["count"] == 9


def test_scope_kind_that_does_not_fit_the_node_is_refused(app, ctx, as_user):
    role = app.appbuilder.sm.find_role("网格员")
    client = as_user("secadmin")
    html = client.post("/users/add", data=_form(role.id, scope_kind="grid",
                                                scope_node=f"community:{f.community().id}")).get_data(as_text=True)
    assert "数据范围“本网格”需要以网格作为范围节点。" in html
    assert app.appbuilder.sm.find_user(username="newgrid") is None


def test_scope_picker_lists_nodes_for_the_security_admin_only(as_user):
    body = as_user("secadmin").get("/users/scope-nodes/?q=第一").json
    assert any(r["id"].startswith("grid:") and "第一网格" in r["text"] for r in body["result"])
    assert as_user("worker").get("/users/scope-nodes/?q=第一").status_code == 403
