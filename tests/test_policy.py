"""Roles as data: the live permissions are exactly the policy table."""
from __future__ import annotations

import pytest

from app import policy
from models.kernel import policy as table


def test_live_permissions_equal_the_policy_table(app, ctx):
    sm = app.appbuilder.sm
    for role in table.ROLES:
        assert policy.live_permissions(role, sm) == policy.expected_permissions(role, sm), role


def test_sync_is_idempotent(app, ctx):
    report = policy.sync(app.appbuilder, echo=lambda *_: None)
    assert all(added == 0 and removed == 0 for added, removed in report.values()), report


def test_sync_repairs_a_tampered_role(app, ctx):
    sm = app.appbuilder.sm
    role = sm.find_role("网格员")
    role.permissions.append(sm.find_permission_view_menu("can_write", "Compound"))
    sm.session.commit()
    report = policy.sync(app.appbuilder, echo=lambda *_: None)
    assert report["网格员"] == (0, 1)
    assert policy.live_permissions("网格员", sm) == policy.expected_permissions("网格员", sm)


def test_admins_can_still_create_their_own_roles(app, ctx):
    sm = app.appbuilder.sm
    custom = sm.add_role("我的自定义角色", [sm.find_permission_view_menu("can_read", "Compound")])
    policy.sync(app.appbuilder, echo=lambda *_: None)
    assert {(p.permission.name, p.view_menu.name) for p in sm.find_role("我的自定义角色").permissions} \
        == {("can_read", "Compound")}
    assert custom is not None


def test_no_demo_user_holds_the_framework_admin_role(app, ctx):
    from models.kernel.users import AppUser
    from app.extensions import db

    for user in db.session.query(AppUser).all():
        assert app.config["AUTH_ROLE_ADMIN"] not in [r.name for r in user.roles], user.username


@pytest.mark.parametrize("username,url,allowed", [
    ("sysadmin", "/dict-item/list/", True),
    ("sysadmin", "/users/list/", False),          # manages no users
    ("sysadmin", "/compound/list/", False),       # no business data
    ("secadmin", "/users/list/", True),
    ("secadmin", "/roles/list/", True),
    ("secadmin", "/compound/list/", False),       # manages users, sees no business data
    ("secadmin", "/audit-log/list/", False),
    ("auditor", "/audit-log/list/", True),
    ("auditor", "/users/list/", False),
    ("auditor", "/compound/list/", False),
    ("street", "/compound/list/", True),
    ("leader", "/compound/list/", True),
    ("leader", "/compound/add", False),           # read-only
    ("grid1", "/building/add", True),
    ("grid1", "/compound/add", False),
    ("volunteer", "/organisation/list/", False),
])
def test_three_admins_and_roles(as_user, username, url, allowed):
    status = as_user(username).get(url).status_code
    assert (status == 200) is allowed, (username, url, status)


def test_menu_shows_only_what_the_role_may_read(as_user):
    html = as_user("volunteer").get("/").get_data(as_text=True)
    assert "/compound/list/" in html and "/station/list/" in html
    assert "/organisation/list/" not in html and "/users/list/" not in html


def test_named_action_permission(as_user):
    assert as_user("worker").get("/compound/export/").status_code == 200
    assert as_user("leader").get("/compound/export/").status_code == 403  # reads, may not export


def test_the_policy_table_keeps_the_three_admins_apart():
    """三员 and read-only roles, checked on the table itself (the live permissions
    are checked against the table above)."""
    business = set(table.BUSINESS)
    roles = table.ROLES
    # the system admin configures places and 字典, manages no users
    assert not roles["系统管理员"]["security"]
    assert set(roles["系统管理员"]["entities"]) <= {"DictItem", "Street", "Community", "Road", "Grid",
                                                 "ServiceCategory", "PointRule"}
    assert "Demand" not in roles["系统管理员"]["entities"]
    # the security admin manages users and roles and sees no business data
    assert roles["安全管理员"]["security"] and not roles["安全管理员"]["entities"]
    # the auditor only reads the log
    assert roles["审计管理员"]["entities"] == {"AuditLog": table.R, "LoginLog": table.R} \
        and not roles["审计管理员"]["security"]
    # nobody else touches users or the log
    for name, spec in roles.items():
        if name not in ("安全管理员",):
            assert not spec["security"], name
        if name != "审计管理员":
            assert "AuditLog" not in spec["entities"], name
    # the street reads everything of the street but the care records (who is in a special
    # group is for the carers: minimum necessary); leaders only read, the same
    care = set(table.CARE)
    assert business - care <= set(roles["街道管理员"]["entities"])
    assert not care & set(roles["街道管理员"]["entities"])
    assert all(level == table.R for level in roles["街道管理员"]["entities"].values())
    assert set(roles["领导查看"]["entities"]) == (business - care) | set(table.SERVICE) | set(table.WORK) \
        | set(table.RECORDS) | set(table.COBUILDING) | set(table.SIGNATURES)
    assert all(level == table.R for level in roles["领导查看"]["entities"].values())
    assert not any(roles["领导查看"]["actions"].values())


def test_the_service_loop_roles():
    """Who dispatches, who takes, who files: the 三单 part of the table."""
    assert set(policy.roles_with_action("Demand", "dispatch")) == {"社区书记/主任", "社区工作者"}
    assert set(policy.roles_with_action("Demand", "rate")) == {"社区书记/主任", "社区工作者"}
    assert set(policy.roles_with_action("Demand", "claim")) == {"结对单位联络员", "党员志愿者"}
    roles = table.ROLES
    assert roles["网格员"]["entities"]["Demand"] == table.W  # files demands
    assert "dispatch" not in roles["网格员"]["actions"].get("Demand", [])
    for name in ("街道管理员", "领导查看", "结对单位联络员", "党员志愿者"):
        assert roles[name]["entities"]["Demand"] == table.R, name
