"""Roles as data: one policy table, synced by ``flask roles sync``.

The table is the domain's (models/kernel/policy.py): it registers it at start-up with
:func:`register_roles`; this module is the mechanism that reads it.

Each role gives, per entity, ``read`` or ``write`` (write includes read), named
workflow actions per entity, and optionally the user-and-role administration. A
role's live permissions are exactly :func:`expected_permissions` after a sync; roles
that are not in the table (created by admins in the UI) are left alone.
"""
from __future__ import annotations

import logging

from app.menu import CATEGORIES
from app.registry import entities, menu_name as name, view_class

R, W = "read", "write"

#: in a role's "actions": every entity that declares that action (e.g. all importable ones)
EVERY = "*"
#: revealing sensitive personal data, for roles marked "sensitive"
SENSITIVE = ("can_reveal", "SensitiveData")

#: the registered table: role name → {"entities": {entity: read|write}, "actions": {entity:
#: [action]}, "security": bool, "sensitive": bool, "work": lazy text}
_roles: dict[str, dict] = {}
#: menus of views that are not entities: menu name → (entity, category, what grants it:
#: "read", "write" or a named action on the entity)
_extra_menus: dict[str, tuple] = {}


def register_roles(roles: dict[str, dict], extra_menus: dict[str, tuple] | None = None) -> None:
    """Register the domain's role table (replacing one registered before) and the menus of
    its views that are not entities, both in the shapes described above."""
    _roles.clear()
    _roles.update(roles)
    _extra_menus.clear()
    _extra_menus.update(extra_menus or {})


def roles() -> dict[str, dict]:
    """The registered role table (empty: no policy roles)."""
    return _roles


def extra_menus() -> dict[str, tuple]:
    """The registered menus of views that are not entities."""
    return _extra_menus


#: what every signed-in role may do for itself
SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
]
#: the API documentation (Swagger UI), for roles that read any entity
API_DOCS = [("can_get", "OpenApi"), ("can_show", "SwaggerView")]
#: FAB's security views, all of whose permissions the security admin holds
SECURITY_VIEWS = ["UserDBModelView", "RoleModelView", "UserGroupModelView", "PermissionModelView",
                  "ViewMenuModelView", "PermissionViewModelView", "ResetPasswordView"]
SECURITY_MENUS = ["Security", "List Users", "List Roles", "List Groups",
                  "Base Permissions", "Views/Menus", "Permission on Views/Menus"]


def roles_with_action(entity: str, action: str) -> list[str]:
    """The policy roles that hold ``can_<action>`` on ``entity``."""
    return [name for name, spec in _roles.items()
            if action in spec["actions"].get(entity, []) or action in spec["actions"].get(EVERY, [])]


def menu_name(model) -> str:
    return name(model)


def _entity_models() -> dict:
    return {m.__name__: m for m in entities()}


def expected_permissions(role: str, sm) -> set[tuple[str, str]]:
    """The (permission, view) pairs a policy role must hold."""
    spec = _roles[role]
    models = _entity_models()
    pairs = set(SELF_SERVICE)
    for entity, level in spec["entities"].items():
        model = models[entity]
        pairs.add(("can_read", entity))
        if level == W:
            pairs.add(("can_write", entity))
        if model.Admin.menu:
            pairs.add(("menu_access", menu_name(model)))
            pairs.add(("menu_access", model.Admin.menu))
    for entity, actions in spec["actions"].items():
        for action in actions:
            targets = [entity] if entity != EVERY else [
                name for name, m in models.items() if action in m.Admin.actions and name in spec["entities"]]
            pairs.update((f"can_{action}", target) for target in targets)
    for menu, (entity, category, grant) in _extra_menus.items():
        level = spec["entities"].get(entity)
        granted = (level == W if grant == W else level is not None if grant == R
                   else grant in spec["actions"].get(entity, []))
        if granted:
            pairs.update({("menu_access", menu), ("menu_access", category)})
    if spec.get("sensitive"):
        pairs.add(SENSITIVE)
    if spec["entities"]:
        pairs.update(API_DOCS)
    if spec["security"]:
        pairs.update(("menu_access", m) for m in SECURITY_MENUS)
        pairs |= _security_pairs(sm)
    return pairs


def _security_pairs(sm) -> set[tuple[str, str]]:
    """Every permission FAB's security views define (users, roles, groups…)."""
    from flask_appbuilder.security.sqla.models import PermissionView, ViewMenu

    rows = (sm.session.query(PermissionView).join(ViewMenu)
            .filter(ViewMenu.name.in_(SECURITY_VIEWS)).all())
    return {(pv.permission.name, pv.view_menu.name) for pv in rows
            if pv.permission.name != "menu_access"}


def live_permissions(role_name: str, sm) -> set[tuple[str, str]]:
    role = sm.find_role(role_name)
    if role is None:
        return set()
    return {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}


def sync(appbuilder, *, echo=print) -> dict:
    """Create every permission of the registered views, then make each policy role
    hold exactly its permissions. Idempotent. Returns {role: (added, removed)}."""
    from flask_appbuilder.security.manager import BaseSecurityManager

    sm = appbuilder.sm
    fab_log = logging.getLogger("flask_appbuilder")
    level = fab_log.level
    fab_log.setLevel(logging.ERROR)  # FAB narrates every permission it creates or prunes
    try:
        BaseSecurityManager.create_db(sm)  # FAB's all-permissions and public roles
        appbuilder.add_permissions(update_perms=True)
        sm.security_cleanup(appbuilder.baseviews, appbuilder.menu)  # renamed or removed views
    finally:
        fab_log.setLevel(level)
    report = {}
    for name in _roles:
        role = sm.find_role(name) or sm.add_role(name)
        wanted = expected_permissions(name, sm)
        have = live_permissions(name, sm)
        pvs = []
        for permission, view in sorted(wanted):
            pv = sm.find_permission_view_menu(permission, view) \
                or sm.add_permission_view_menu(permission, view)
            pvs.append(pv)
        role.permissions = pvs
        sm.session.commit()
        report[name] = (len(wanted - have), len(have - wanted))
        echo(f"{name}: +{report[name][0]} -{report[name][1]}")
    return report


def home_sections():
    """[(category label, [(model, view class), ...]), ...] in menu order."""
    sections = []
    for key, (label, _icon) in CATEGORIES.items():
        items = [(m, view_class(m)) for m in entities() if m.Admin.menu == key]
        if items:
            sections.append((label, items))
    return sections
