"""Run by tests/test_throwaway.py in a fresh interpreter: build the engine with the throwaway
domain only, use it as a signed-in user would, and print what happened as JSON."""
from __future__ import annotations

import json
import sys


def main(url: str) -> dict:
    from app import create_app, policy
    from app.base import Model
    from app.extensions import db
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False, SERVER_NAME="localhost",
                     DOMAIN=["tests.throwaway.gadgets"], FAB_INDEX_VIEW=None)
    seen: dict = {}
    with app.app_context():
        Model.metadata.create_all(db.engine)
        policy.sync(app.appbuilder, echo=lambda *_: None)
        sm = app.appbuilder.sm
        seen["user_model"] = sm.user_model.__module__ + "." + sm.user_model.__name__
        role = sm.find_role("临时测试角色")
        seen["role_permissions"] = sorted(f"{p.permission.name} {p.view_menu.name}" for p in role.permissions)
        sm.add_user("gadget_tester", "测试", "王", "gadget@demo.invalid", [role], password="Hongse@2026")
        db.session.commit()
    client = app.test_client()
    signed_in = client.post("/login/", data={"username": "gadget_tester", "password": "Hongse@2026"})
    seen["login"] = [signed_in.status_code, signed_in.headers.get("Location", "")]
    seen["home"] = client.get("/").get_data(as_text=True)
    seen["form"] = client.get("/zz-gadget/add").get_data(as_text=True)
    added = client.post("/zz-gadget/add", data={"name": "第一条", "kind": "b", "phone": "13900001111", "amount": "7"})
    seen["added"] = added.status_code
    seen["list"] = client.get("/zz-gadget/list/").get_data(as_text=True)
    seen["api"] = client.get("/api/v1/zz_gadget/").json
    seen["api_bad"] = client.post("/api/v1/zz_gadget/", json={"name": ""}).status_code
    seen["chart"] = client.get("/zz-gadget/chart-data/by_kind").json
    seen["show"] = client.get(f"/zz-gadget/show/{seen['api']['ids'][0]}").get_data(as_text=True) \
        if seen["api"] and seen["api"].get("ids") else ""
    export = client.get("/zz-gadget/export/")
    seen["export"] = [export.status_code, export.headers.get("Content-Type", "")]
    with app.app_context():
        from sqlalchemy import select

        from app.records import AuditLog

        seen["audit"] = [(row.entity, row.action) for row in db.session.scalars(select(AuditLog))]
    seen["domain_modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("models", "views", "seed"))
    return seen


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(sys.argv[1]), ensure_ascii=False, default=str))
