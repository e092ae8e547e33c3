"""Declare a model, write nothing else, get everything (the low-code promise).

The first test runs the engine alone: a model that is not in models/ (tests/throwaway/
gadgets.py), in a fresh interpreter whose DOMAIN setting names only it, so that no module
of models/, views/ or seed/ is imported. The others add an entity beside the product's
domain (scoped to its communities)."""
from __future__ import annotations

from typing import Optional

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tests.conftest import login, make_app


def test_the_engine_alone_serves_a_model_declared_outside_the_domain(tmp_path):
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, os.path.join(root, "tests", "throwaway", "run.py"),
                           "sqlite:///" + str(tmp_path / "engine.db")], cwd=root, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": root, "APP_ENV": "testing"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    seen = json.loads(lines[0][len("RESULT "):])
    assert seen["domain_modules"] == []                        # nothing of models/, views/, seed/
    assert seen["user_model"] == "flask_appbuilder.security.sqla.models.User"
    assert {"can_read Gadget", "can_write Gadget", "can_export Gadget", "menu_access GadgetList",
            "menu_access gadgets"} <= set(seen["role_permissions"])          # permissions from the role table
    assert seen["login"][0] == 302
    assert "/zz-gadget/list/" in seen["home"] and "备注" in seen["home"]    # menu entry, zh label
    assert "新增备注" in seen["form"]
    assert seen["added"] == 302
    assert "第一条" in seen["list"] and "备注列表" in seen["list"]
    assert "139****1111" in seen["list"] and "13900001111" not in seen["list"]      # masked
    assert "13900001111" not in seen["show"] and "第一条" in seen["show"]
    api = seen["api"]
    assert api["count"] == 1 and api["result"][0]["phone"] == "139****1111"
    assert api["label_columns"]["kind"] == "类型" and api["label_columns"]["amount"] == "数量"
    assert seen["api_bad"] == 422                              # required name
    assert seen["chart"]["categories"] == ["修改"] and seen["chart"]["series"][0]["data"] == [1]
    assert seen["export"] == [200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    assert ["Gadget", "insert"] in seen["audit"] and ["Gadget", "export"] in seen["audit"]


@pytest.fixture
def gadget_model(app, no_isolation):
    from flask_appbuilder import Model

    from app.base import Tracked
    from app.declare import Admin as AdminBase, Scope, field
    from app.extensions import db
    from models.kernel.places import Community

    class Gadget(Tracked, Model):
        __tablename__ = "zz_gadget"

        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50), info=field(_l("Name")))
        community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
        community: Mapped[Community] = relationship(info=field(_l("Community")))
        phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))

        class Admin(AdminBase):
            label = _l("Notes")
            label_plural = _l("Notes")
            menu = "places"
            list_columns = ["name", "community", "community.street", "phone"]
            scope = Scope(community="community_id")

    with app.app_context():
        Gadget.__table__.create(db.engine)
    try:
        yield Gadget
    finally:
        Gadget.Admin.registered = False
        with app.app_context():
            sm = app.appbuilder.sm
            user = sm.find_user(username="gadget_tester")
            if user is not None:
                db.session.delete(user)
            role = sm.find_role("临时测试角色")
            if role is not None:
                db.session.delete(role)
            db.session.commit()
            Gadget.__table__.drop(db.engine)
            Model.metadata.remove(Gadget.__table__)
            from app import policy

            policy.sync(app.appbuilder, echo=lambda *_: None)  # drops the Gadget permissions


def test_a_declared_model_gets_list_form_api_menu_permissions_and_zh_labels(app, gadget_model):
    from app import policy
    from app.extensions import db
    from models.kernel.places import Community

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = make_app(url)
    with other.app_context():
        sm = other.appbuilder.sm
        policy.sync(other.appbuilder, echo=lambda *_: None)
        assert sm.find_permission_view_menu("can_read", "Gadget") is not None
        assert sm.find_permission_view_menu("can_write", "Gadget") is not None
        assert sm.find_permission_view_menu("menu_access", "GadgetList") is not None
        role = sm.add_role("临时测试角色", [sm.find_permission_view_menu(p, v) for p, v in (
            ("can_read", "Gadget"), ("can_write", "Gadget"), ("menu_access", "GadgetList"),
            ("menu_access", "places"))])
        user = sm.add_user("gadget_tester", "测试", "王", "gadget@demo.invalid", [role], password="Hongse@2026")
        community = db.session.scalars(select(Community).where(Community.name == "文化路社区")).one()
        user.set_scope("community", community)
        db.session.commit()
        community_id = community.id

    client = login(other.test_client(), "gadget_tester")
    home = client.get("/").get_data(as_text=True)
    assert "/zz-gadget/list/" in home and "备注" in home           # menu entry, zh label
    page = client.get("/zz-gadget/list/").get_data(as_text=True)
    assert "备注列表" in page and "没有找到记录" in page           # zh title, empty state
    form = client.get("/zz-gadget/add").get_data(as_text=True)
    assert "新增备注" in form and "ajax-select" in form
    response = client.post("/zz-gadget/add", data={"name": "第一条", "community": community_id,
                                                   "phone": "0712-1"})
    assert response.status_code == 302
    listed = client.get("/zz-gadget/list/").get_data(as_text=True)
    assert "第一条" in listed and "广场街道" in listed
    assert "名称" in listed and "街道" in listed and "电话" in listed  # zh column labels
    api = client.get("/api/v1/zz_gadget/").json
    assert api["count"] == 1 and api["result"][0]["community"]["name"] == "文化路社区"
    assert client.post("/api/v1/zz_gadget/", json={"name": "", "community": community_id}).status_code == 422
    with other.app_context():
        db.session.execute(delete(gadget_model))
        db.session.commit()
