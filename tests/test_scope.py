"""Data scope: one filter for list, show, edit, delete, API, pickers and exports."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import scope
from app.extensions import db
from tests import factories as f


def _compound_of_grid(code: str):
    from models.kernel.places import Compound, Grid

    return db.session.scalars(select(Compound).join(Compound.grid).where(Grid.code == code)
                              .order_by(Compound.id)).first()


@pytest.fixture
def grid_b_compound(ctx):
    """A compound of grid B (第二网格), which grid1 (第一网格) must never see."""
    return _compound_of_grid("WHL-02")


def test_grid_worker_cannot_reach_another_grids_row_in_the_ui(as_user, grid_b_compound):
    client = as_user("grid1")
    pk = grid_b_compound.id
    assert client.get(f"/compound/show/{pk}").status_code == 404
    # grid1 only reads compounds; writing is refused before the row is even looked up
    assert client.get(f"/compound/edit/{pk}").status_code in (403, 404)
    assert client.post(f"/compound/delete/{pk}").status_code in (403, 404)
    listing = client.get("/compound/list/?psize_CompoundView=100").get_data(as_text=True)
    assert grid_b_compound.name not in listing
    own = _compound_of_grid("WHL-01")
    assert own.name in listing


def test_grid_worker_cannot_reach_another_grids_row_through_the_api(as_user, grid_b_compound):
    client = as_user("grid1")
    pk = grid_b_compound.id
    assert client.get(f"/api/v1/compound/{pk}").status_code == 404
    names = [r["name"] for r in client.get("/api/v1/compound/?q=(page_size:100)").json["result"]]
    assert grid_b_compound.name not in names and names


def test_grid_worker_writes_only_in_their_grid(as_user, ctx):
    """grid1 may edit buildings; those of grid B answer 404 to UI and API alike."""
    from models.kernel.places import Building, Grid

    other = db.session.scalars(select(Building).join(Building.grid).where(Grid.code == "WHL-02")).first()
    own = db.session.scalars(select(Building).join(Building.grid).where(Grid.code == "WHL-01")).first()
    client = as_user("grid1")
    assert client.get(f"/building/edit/{other.id}").status_code == 404
    assert client.post(f"/building/edit/{other.id}", data={"name": "x"}).status_code == 404
    assert client.post(f"/building/delete/{other.id}").status_code == 404
    assert client.get(f"/api/v1/building/{other.id}").status_code == 404
    assert client.put(f"/api/v1/building/{other.id}", json={"floors": 9}).status_code == 404
    assert client.delete(f"/api/v1/building/{other.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Building, other.id).floors != 9
    assert client.get(f"/building/edit/{own.id}").status_code == 200
    assert client.put(f"/api/v1/building/{own.id}", json={"floors": 7}).status_code == 200


def test_pickers_offer_only_rows_in_scope(as_user, ctx):
    client = as_user("grid1")
    texts = [r["text"] for r in client.get("/api/v1/building/related/compound?q=").json["result"]]
    assert texts
    result = client.get("/api/v1/building/related/compound?q=&page=0").json
    assert result["count"] == 10  # the compounds of 第一网格 (57 spread over 6 grids)
    b_name = _compound_of_grid("WHL-02").name
    assert b_name not in [r["text"] for r in client.get(f"/api/v1/building/related/compound?q={b_name}").json["result"]]


def test_out_of_scope_parent_is_refused(as_user, ctx):
    """A grid worker cannot put a building into a compound of another grid."""
    client = as_user("grid1")
    other = _compound_of_grid("WHL-02")
    response = client.post("/api/v1/building/", json={"compound": other.id, "name": "99栋"})
    assert response.status_code == 422
    assert "compound" in response.json["message"]
    html = client.post("/building/add", data={"compound": other.id, "name": "99栋"}).get_data(as_text=True)
    assert "所选小区不在您的数据范围内" in html
    assert "所选网格" not in html  # derived from the compound: reported once, on the compound
    from models.kernel.places import Building

    assert db.session.scalars(select(Building).where(Building.name == "99栋")).first() is None


def test_community_worker_sees_only_their_community(as_user, ctx):
    client = as_user("worker2")  # 槐荫社区
    names = [r["name"] for r in client.get("/api/v1/compound/?q=(page_size:100)").json["result"]]
    assert sorted(names) == ["槐荫新村", "槐荫花园"]
    whl = _compound_of_grid("WHL-01")
    assert client.get(f"/compound/show/{whl.id}").status_code == 404


def test_street_admin_reads_the_whole_street(as_user, ctx):
    client = as_user("street")
    body = client.get("/api/v1/compound/?q=(page_size:100)").json
    assert body["count"] == 59  # 57 of 文化路社区 + 2 of 槐荫社区


def test_export_is_scoped(as_user, ctx):
    client = as_user("worker2")
    response = client.get("/compound/export/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "名称"
    assert sorted(r[0] for r in rows[1:]) == ["槐荫新村", "槐荫花园"]


def test_criterion_kinds(ctx):
    from models.kernel.places import Compound, Grid

    grid1 = f.user("grid1")
    street = f.user("street")
    volunteer = f.user("volunteer")
    nobody = scope.NOBODY

    def count(model, user):
        return len(db.session.scalars(scope.apply(select(model), model, user)).all())

    assert count(Compound, street) == 59
    assert count(Compound, grid1) == 10
    assert count(Grid, grid1) == 1
    assert count(Compound, volunteer) == 57  # no owner on compounds: the community
    assert count(Compound, nobody) == 0
    assert scope.criterion(Compound, None) is None  # CLI and seed: not scoped


def test_scope_kind_must_fit_the_node(ctx):
    from app.domain import DomainError

    user = f.user("partner")
    with pytest.raises(DomainError):
        user.set_scope(scope.GRID, f.community())
    with pytest.raises(DomainError):
        user.set_scope(scope.COMMUNITY, f.street())
    user.set_scope(scope.GRID, f.grid())
    assert user.scope_community_id == f.community().id and user.scope_street_id == f.street().id
