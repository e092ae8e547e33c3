"""Roles as data: one policy table, synced by ``flask roles sync``.

Each role gives, per entity, ``read`` or ``write`` (write includes read), named
workflow actions per entity, and optionally the user-and-role administration. A
role's live permissions are exactly :func:`expected_permissions` after a sync; roles
that are not in the table (created by admins in the UI) are left alone.

三员 separation: the system admin configures the system and 字典 but manages no
users; the security admin manages users and roles but sees no business data; the
auditor only reads the audit log.
"""
from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l

R, W = "read", "write"

PLACES = ["Street", "Community", "Road", "Grid", "Compound", "Building", "Unit", "Station"]
ORGS = ["Organisation", "Position"]
PEOPLE = ["Household", "Person", "Merchant", "PartyMember", "Head", "Staff"]
CARE = ["SpecialGroup", "CareGroup", "Visit"]
SERVICE = ["ServiceCategory", "Demand"]
VOLUNTEERS = ["Team", "Volunteer", "Activity", "SignUp", "ServiceRecord"]
POINTS = ["PointRule", "LedgerEntry", "Gift", "Exchange"]
#: stars, commendations and bulletins (有激励): prepared by workers, decided by the 书记
HONOURS = ["StarRound", "StarNominee", "Commendation", "Honoree", "Bulletin"]
WORK = VOLUNTEERS + POINTS + HONOURS
#: 共建: pledge projects and milestones, member pledges, funds and their movements
COBUILDING = ["PledgeProject", "Milestone", "MemberPledge", "PledgeRecord", "Fund", "Contribution", "Expenditure",
              "Meeting", "AgendaItem", "Decision", "ContactCard", "StationCharter", "DutySlot", "PolicyGuide",
              "WindowService", "MediationCase", "AssessmentTemplate", "AssessmentItem", "Assessment"]
#: the parties' signatures under a meeting's minutes: written on the meeting's page only
SIGNATURES = ["SignOff"]
#: read-only records of the volunteers' work (issued from the volunteer's page)
RECORDS = ["Certificate"]
BUSINESS = PLACES + ORGS + PEOPLE + CARE
SYSTEM = ["DictItem"]
AUDIT = ["AuditLog", "LoginLog"]
#: in a role's "actions": every entity that declares that action (e.g. all importable ones)
EVERY = "*"
#: menus of views that are not entities: menu name → (entity, category, what grants it:
#: "read", "write" or a named action on the entity)
EXTRA_MENUS = {"OverdueList": ("Visit", "care", R), "DispatchDesk": ("Demand", "service", "dispatch"),
               "TakerDesk": ("Demand", "service", "claim"), "DemandIntake": ("Demand", "service", W),
               "ServiceRates": ("Demand", "service", R), "Notifications": ("Demand", "service", R),
               "BulletinArchive": ("Bulletin", "honours", R), "WindowStats": ("WindowService", "cobuilding", R),
               "AssessmentRanking": ("Assessment", "cobuilding", R), "MeetingDashboard": ("Demand", "service", R)}
#: the workflow actions of the 三单 loop (see models.service.demands.TRANSITIONS)
DISPATCHING = {"Demand": ["dispatch", "rate", "export"]}
TAKING = {"Demand": ["claim"]}
#: running the volunteers' work: activities, exchanges, certificates, the approval step
RUNNING = {"Activity": ["run", "export"], "Exchange": ["approve", "export"], "Volunteer": ["certify", "export"],
           "Team": ["export"], "ServiceRecord": ["export"], "Gift": ["export"], "LedgerEntry": ["export"],
           "StarRound": ["export"], "Commendation": ["export"], "Bulletin": ["export"],
           "PledgeProject": ["track", "export"], "MemberPledge": ["export"], "Fund": ["export"],
           "Contribution": ["export"], "Expenditure": ["export"], "Meeting": ["convene", "export"],
           "Decision": ["export"], "ContactCard": ["export"], "DutySlot": ["export"], "PolicyGuide": ["export"],
           "WindowService": ["export"], "MediationCase": ["export"], "Assessment": ["export"]}
#: revealing sensitive personal data, for roles marked "sensitive"
SENSITIVE = ("can_reveal", "SensitiveData")


def _all(level, names):
    return {n: level for n in names}


def _actions(names, *actions):
    return {n: list(actions) for n in names}


#: role name → {"entities": {entity: read|write}, "actions": {entity: [action]},
#:              "security": bool, "sensitive": bool, "work": lazy text}
ROLES: dict[str, dict] = {
    "系统管理员": {
        "entities": {**_all(W, SYSTEM), **_all(W, ["Street", "Community", "Road", "Grid", "ServiceCategory",
                                                    "PointRule"])},
        "actions": {"DictItem": ["export"]},
        "security": False, "sensitive": False,
        "work": _l("Configure the places tree (streets, communities, grids) and the dictionaries."),
    },
    "安全管理员": {
        "entities": {},
        "actions": {},
        "security": True, "sensitive": False,
        "work": _l("Manage user accounts, roles and their data scopes."),
    },
    "审计管理员": {
        "entities": _all(R, AUDIT),
        "actions": {},
        "security": False, "sensitive": False,
        "work": _l("Read the audit log of every change and of every look at sensitive data."),
    },
    "街道管理员": {
        # who is in a special group and what visits found is for the carers only (PIPL):
        # the street reads the figures in the meeting charts
        "entities": {**_all(R, [e for e in BUSINESS if e not in CARE] + SERVICE + WORK + RECORDS + COBUILDING
                                     + SIGNATURES),
                     **_all(R, SYSTEM)},
        "actions": _actions(["Community", "Grid", "Compound", "Organisation", "Position", "Demand"] + PEOPLE
                            + ["Team", "Volunteer", "Activity", "ServiceRecord", "LedgerEntry", "Exchange"],
                            "export"),
        "security": False, "sensitive": False,
        "work": _l("Oversee every community of the street."),
    },
    "社区书记/主任": {
        "entities": {**_all(W, BUSINESS + SERVICE + [e for e in WORK if e != "LedgerEntry"] + COBUILDING),
                     **_all(R, ["Street", "Community", "LedgerEntry"] + RECORDS + SIGNATURES), **_all(R, SYSTEM)},
        "actions": {**_actions(["Community", "Grid", "Compound", "Organisation", "Position"] + PEOPLE + CARE,
                               "export"), EVERY: ["import"], **DISPATCHING, **RUNNING,
                    "Volunteer": ["approve", "certify", "export"], "LedgerEntry": ["adjust", "export"],
                    "StarRound": ["decide", "export"], "Commendation": ["decide", "export"]},
        "security": False, "sensitive": True,
        "work": _l("Lead the community: places, organisations, people, care and all work of the community."),
    },
    "社区工作者": {
        "entities": {**_all(W, ["Road", "Compound", "Building", "Unit", "Station", "Demand"] + ORGS + PEOPLE
                                 + CARE + ["Team", "Volunteer", "Activity", "SignUp", "ServiceRecord", "Gift",
                                           "Exchange"] + HONOURS + COBUILDING),
                     **_all(R, ["Street", "Community", "Grid", "ServiceCategory", "PointRule", "LedgerEntry"]
                            + RECORDS + SIGNATURES),
                     **_all(R, SYSTEM)},
        "actions": {**_actions(["Compound", "Organisation", "Position"] + PEOPLE + CARE, "export"),
                    EVERY: ["import"], **DISPATCHING, **RUNNING},
        "security": False, "sensitive": True,
        "work": _l("Keep the registers of compounds, stations, organisations, residents and care; dispatch "
                   "the residents' demands and record their ratings."),
    },
    "网格员": {
        "entities": {**_all(W, ["Building", "Unit", "Household", "Person", "SpecialGroup", "Visit", "Demand",
                                "StarNominee"]),
                     **_all(R, ["Community", "Grid", "Compound", "Station", "Road", "Merchant", "PartyMember",
                                "Head", "Staff", "CareGroup", "ServiceCategory", "Team", "Volunteer", "Activity",
                                "Gift", "StarRound", "Commendation", "Honoree", "Bulletin"] + ORGS)},
        "actions": {},
        "security": False, "sensitive": True,
        "work": _l("Keep your grid's buildings, households and residents up to date, visit the residents in care, "
                   "and file the residents' demands."),
    },
    "结对单位联络员": {
        "entities": _all(R, ["Community", "Compound", "Station", "Organisation", "PartyMember"] + SERVICE
                         + ["PledgeProject", "Milestone"]),
        "actions": TAKING,
        "security": False, "sensitive": False,
        "work": _l("Take the residents' demands given to your unit or published to the pool, and report them done."),
    },
    "党员志愿者": {
        "entities": {**_all(R, ["Community", "Compound", "Station"] + SERVICE
                            + ["Team", "Volunteer", "Activity", "ServiceRecord", "LedgerEntry", "Gift", "Exchange",
                               "Bulletin"]
                            + RECORDS),
                     **_all(W, ["Visit"])},
        "actions": TAKING,
        "security": False, "sensitive": False,
        "work": _l("Log your visits to the residents you care for, and take the residents' demands."),
    },
    "领导查看": {
        "entities": _all(R, [e for e in BUSINESS if e not in CARE] + SERVICE + WORK + RECORDS + COBUILDING
                                     + SIGNATURES),
        "actions": {},
        "security": False, "sensitive": False,
        "work": _l("Read everything in your scope for meetings; nothing can be changed."),
    },
}

#: the role of a partner unit's own account. A position (职务) in an organisation makes
#: its account a taker of the organisation's demands, so it holds only such an account
#: (models.kernel.orgs.Position), which may hold besides only the other taker role
UNIT_ROLE = "结对单位联络员"
UNIT_ACCOUNT_ROLES = (UNIT_ROLE, "党员志愿者")

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
    return [name for name, spec in ROLES.items()
            if action in spec["actions"].get(entity, []) or action in spec["actions"].get(EVERY, [])]


def menu_name(model) -> str:
    from app.registry import menu_name as name

    return name(model)


def _entity_models() -> dict:
    from app.registry import entities

    return {m.__name__: m for m in entities()}


def expected_permissions(role: str, sm) -> set[tuple[str, str]]:
    """The (permission, view) pairs a policy role must hold."""
    spec = ROLES[role]
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
    for menu, (entity, category, grant) in EXTRA_MENUS.items():
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
    for name in ROLES:
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
    from app.menu import CATEGORIES
    from app.registry import entities, view_class

    sections = []
    for key, (label, _icon) in CATEGORIES.items():
        items = [(m, view_class(m)) for m in entities() if m.Admin.menu == key]
        if items:
            sections.append((label, items))
    return sections
