"""The role matrix (等保 2.0 访问控制): for every role, every registered entity's pages and
API endpoints, and the pages that are not entities, answer as the single policy table
(models/kernel/policy.py) says — allowed or denied — with no mismatch; and the three
administrators (三员) stay apart.

Read: the list page and the API list answer 200, or are refused (403, or a redirect to
the sign-in page for pages). Write: the add page answers 200, and an API update of a row
that does not exist answers 404 (the permission held, then nothing found) rather than
403 (refused before looking)."""
from __future__ import annotations

import pytest

from models.kernel import policy

#: a demo account of every policy role
ROLE_USERS = {"系统管理员": "sysadmin", "安全管理员": "secadmin", "审计管理员": "auditor", "街道管理员": "street",
              "社区书记/主任": "secretary", "社区工作者": "worker", "网格员": "grid1",
              "结对单位联络员": "partner", "党员志愿者": "volunteer", "领导查看": "leader"}
#: pages that are not entities: menu name (policy.EXTRA_MENUS says what grants it) → address
PAGES = {"OverdueList": "/care/overdue/", "DispatchDesk": "/service/dispatch/", "TakerDesk": "/service/orders/",
         "DemandIntake": "/service/intake/", "ServiceRates": "/service-rates/",
         "Notifications": "/service/notifications/", "BulletinArchive": "/bulletin/archive/",
         "WindowStats": "/window-stats/", "AssessmentRanking": "/assessment/ranking/",
         "MeetingDashboard": "/dashboard/"}


def test_every_page_of_the_policy_is_walked():
    assert set(PAGES) == set(policy.EXTRA_MENUS)


def test_every_role_has_a_demo_account():
    assert set(ROLE_USERS) == set(policy.ROLES)


def _refused(response, page: bool) -> bool:
    if response.status_code == 403:
        return True
    return page and response.status_code == 302 and "/login/" in response.headers.get("Location", "")


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_the_role_matrix(app, ctx, as_user, role):
    from app.registry import entities, entity_name, resource_name, view_class

    client = as_user(ROLE_USERS[role])
    spec = policy.ROLES[role]
    mismatches = []
    for model in entities():
        name = entity_name(model)
        level = spec["entities"].get(name)
        route, api = view_class(model).route_base, f"/api/v1/{resource_name(model)}/"
        checks = [(f"{route}/list/", level is not None, True), (api, level is not None, False)]
        for url, allowed, page in checks:
            response = client.get(url)
            if allowed and response.status_code != 200 or not allowed and not _refused(response, page):
                mismatches.append((url, "read", allowed, response.status_code))
        writes = level == policy.W and not model.Admin.readonly
        if not model.Admin.readonly:
            response = client.get(f"{route}/add")
            if writes and response.status_code != 200 or not writes and not _refused(response, True):
                mismatches.append((f"{route}/add", "write", writes, response.status_code))
        if model.Admin.api:
            response = client.put(f"{api}999999999", json={})
            expected = 404 if writes else 403
            if response.status_code != expected and not (writes and response.status_code == 422):
                mismatches.append((f"{api}999999999", "write", writes, response.status_code))
    for menu, url in PAGES.items():
        entity, _category, grant = policy.EXTRA_MENUS[menu]
        level = spec["entities"].get(entity)
        allowed = (level is not None if grant == policy.R else level == policy.W if grant == policy.W
                   else grant in spec["actions"].get(entity, []))
        response = client.get(url)
        if allowed and response.status_code != 200 or not allowed and not _refused(response, True):
            mismatches.append((url, "page", allowed, response.status_code))
    assert not mismatches, mismatches


def test_the_three_administrators_stay_apart(app, ctx, as_user):
    from app.registry import entities, resource_name

    auditor, secadmin, sysadmin = as_user("auditor"), as_user("secadmin"), as_user("sysadmin")
    # the auditor reads the logs and changes nothing: no data, no users, no roles
    assert auditor.get("/audit-log/list/").status_code == 200
    for url in ("/users/list/", "/users/add", "/roles/list/", "/roles/add", "/groups/add"):
        assert _refused(auditor.get(url), True), url
    # the security administrator manages accounts and roles and reads no business data
    assert secadmin.get("/users/list/").status_code == 200 and secadmin.get("/roles/list/").status_code == 200
    for model in entities():
        assert _refused(secadmin.get(f"/api/v1/{resource_name(model)}/"), False), model.__name__
    # the system administrator configures places and dictionaries and manages no users
    assert sysadmin.get("/dict-item/list/").status_code == 200
    for url in ("/users/list/", "/users/add", "/roles/list/", "/audit-log/list/", "/login-log/list/"):
        assert _refused(sysadmin.get(url), True), url
