"""The role table of the office: which role may read or write what, and do which workflow
actions. The engine's mechanism (app.policy) syncs it into FAB's roles with ``flask roles
sync``; it is registered with the engine below (app.policy.register_roles).

Each role gives, per entity, ``read`` or ``write`` (write includes read), named workflow
actions per entity (``EVERY``: every entity that declares the action), optionally the
user-and-role administration ("security") and the reveal of sensitive data ("sensitive").

三员 separation: the system admin configures the system and 字典 but manages no users;
the security admin manages users and roles but sees no business data; the auditor only
reads the audit log.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app import policy
from app.policy import EVERY, R, W  # noqa: F401  (the table's words, read by callers too)

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


policy.register_roles(ROLES, EXTRA_MENUS)
