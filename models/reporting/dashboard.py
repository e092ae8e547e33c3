"""会议看板: the figures a leader shows at the monthly meeting, for a period and a
community / grid, within the user's data scope.

:func:`places` lists the communities and grids a period-and-place choice offers (the
engine's :func:`app.charts.read_slice` reads the choice from a request, for the
dashboard and every chart page); :func:`figures` gives the KPI tiles — the counts in one
statement, the service rates in one more; :data:`CHARTS` are the dashboard's charts,
declared with their entities (:mod:`app.charts`), some of them the domain statistics
below, each one statement under the user's scope.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from flask import url_for
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, select

from app import clock, scope
from app.charts import Slice, list_url, number, register_places
from app.extensions import db
from app.registry import entity_name
from models.cobuilding.pledges import CANCELLED, FULFILLED, Contribution, PledgeProject
from models.kernel.places import Community, Compound, Grid
from models.people.care import CareGroup, Visit
from models.people.people import SINKING, Household, PartyMember, Person
from models.service import rates
from models.service.demands import Demand
from models.volunteers import stats as volunteer_stats
from models.volunteers.activities import REGISTERED, Activity, ServiceRecord, Team, Volunteer, team_member
from models.volunteers.bulletins import Bulletin
from models.volunteers.honours import Honoree, StarRound
from models.volunteers.points import AWARD, REJECTED, Exchange, LedgerEntry

#: the dashboard's charts, in order: (entity, declared chart name)
CHARTS = [("Demand", "per_month"), ("Demand", "rates_per_month"), ("Demand", "by_category"), ("Demand", "by_grid"),
          ("Demand", "top_units"), ("Demand", "top_members"), ("CareGroup", "coverage_by_grid"),
          ("ServiceRecord", "hours_by_team"), ("LedgerEntry", "top_points"), ("PledgeProject", "by_unit"),
          ("Compound", "by_type"), ("Person", "by_grid_and_age")]


def places() -> tuple[list, list]:
    """The communities and grids within the acting user's scope, for the period-and-place
    choice of the dashboard and of every chart page (registered with the engine below)."""
    communities = db.session.scalars(scope.apply(select(Community), Community).order_by(Community.id)).all()
    grids = db.session.scalars(scope.apply(select(Grid), Grid).order_by(Grid.community_id, Grid.code)).all()
    return communities, grids


register_places(places)


# ----------------------------------------------------------------------------- tiles

def _counted(model, *conditions, column=None, total=None):
    """A scalar subquery: count (distinct ``column``) or sum ``total`` of ``model``'s rows
    in the user's scope."""
    if total is not None:
        measure = func.coalesce(func.sum(total), 0)
    else:
        measure = func.count(distinct(column)) if column is not None else func.count()
    return scope.apply(select(measure).select_from(model).where(*conditions), model).scalar_subquery()


def figures(slice_: Slice) -> dict:
    """The dashboard's tiles: {"period": [...], "totals": [...]} — each tile a dict of
    key, label, value, unit (optional), note (optional) and link (the list behind it,
    filtered). Two statements, whatever the data."""
    where = slice_.place
    counts = {
        "households": _counted(Household, *where(Household)),
        "residents": _counted(Person, *where(Person)),
        "in_care": _counted(CareGroup, *where(CareGroup)),
        "visited": _counted(Visit, *where(Visit), *slice_.period(Visit.visited_on),
                            Visit.person_id.in_(select(CareGroup.person_id)), column=Visit.person_id),
        "volunteers": _counted(Volunteer, *where(Volunteer), Volunteer.status == REGISTERED),
        "hours": _counted(ServiceRecord, *where(ServiceRecord), *slice_.period(ServiceRecord.served_on),
                          total=ServiceRecord.hours),
        "points": _counted(LedgerEntry, *where(LedgerEntry), LedgerEntry.kind == AWARD,
                           *slice_.period(LedgerEntry.at), total=LedgerEntry.amount),
        "projects": _counted(PledgeProject, *where(PledgeProject), PledgeProject.status != CANCELLED),
        "kept": _counted(PledgeProject, *where(PledgeProject), PledgeProject.status == FULFILLED),
        "funds": _counted(Contribution, *where(Contribution), *slice_.period(Contribution.received_on),
                          total=Contribution.amount),
        # to date (the case study's figures)
        "compounds": _counted(Compound, *where(Compound)),
        "sanwu": _counted(Compound, *where(Compound), Compound.type == "sanwu"),
        "sinking": _counted(PartyMember, *where(PartyMember), PartyMember.category == SINKING),
        "teams": _counted(Team, *where(Team)),
        "team_volunteers": _counted(Volunteer, *where(Volunteer),
                                    Volunteer.id.in_(select(team_member.c.volunteer_id)), column=Volunteer.id),
        "star_rounds": _counted(StarRound, *where(StarRound)),
        "commended": _counted(Honoree, *where(Honoree)),
        "exchanged": _counted(Exchange, *where(Exchange), Exchange.status != REJECTED, column=Exchange.volunteer_id),
        "bulletins": _counted(Bulletin, *where(Bulletin)),
    }
    row = db.session.execute(select(*[q.label(k) for k, q in counts.items()])).one()
    n = {k: row._mapping[k] or 0 for k in counts}
    takers = rates.breakdown(rates.TAKER, slice_.since, slice_.until, where=slice_.place(Demand))
    demand = rates.total(takers)
    ranking = rates.rank(takers)
    rates_link = url_for("ServiceRatesView.index", start=slice_.start.isoformat(), end=slice_.end.isoformat())

    def pct(value):
        return None if value is None else round(100 * value)

    def share(part, whole):
        return round(100 * part / whole) if whole else None

    def tile(key, label, value, link, unit="", note="", of=None):
        """``of``: the entity behind the tile (whose read permission shows it)."""
        return {"key": key, "label": label, "value": value, "unit": unit, "note": note, "link": link,
                "entity": entity_name(of)}

    period = [
        tile("households", _l("Households"), n["households"], list_url(Household, slice_), of=Household),
        tile("residents", _l("Residents"), n["residents"], list_url(Person, slice_), of=Person),
        tile("in_care", _l("Residents in care"), n["in_care"], list_url(CareGroup, slice_), of=CareGroup),
        tile("visited", _l("Visited in the period"), n["visited"], list_url(Visit, slice_, "visited_on"),
             note=gettext("%(p)s per cent of those in care", p=share(n["visited"], n["in_care"]))
             if n["in_care"] else "", of=Visit),
        tile("collected", _l("Demands collected"), demand.collected, list_url(Demand, slice_, "created_at"), of=Demand),
        tile("taken", _l("Demands taken"), demand.taken, rates_link,
             note=gettext("by %(units)s units and %(members)s party members", units=len(ranking.units),
                          members=len(ranking.members)), of=Demand),
        tile("resolved", _l("Demands resolved"), demand.resolved, list_url(Demand, slice_, "created_at"), of=Demand),
        tile("response_rate", _l("Response rate"), pct(demand.response_rate), rates_link, "%", of=Demand),
        tile("resolution_rate", _l("Resolution rate"), pct(demand.resolution_rate), rates_link, "%", of=Demand),
        tile("satisfaction_rate", _l("Satisfaction rate"), pct(demand.satisfaction_rate), rates_link, "%", of=Demand),
        tile("volunteers", _l("Volunteers"), n["volunteers"], list_url(Volunteer, slice_, status=REGISTERED), of=Volunteer),
        tile("hours", _l("Hours served"), float(n["hours"]), list_url(ServiceRecord, slice_, "served_on"), of=ServiceRecord),
        tile("points", _l("Points awarded"), int(n["points"]), list_url(LedgerEntry, slice_, "at", kind=AWARD), of=LedgerEntry),
        tile("pledges_kept", _l("Pledges kept"), share(n["kept"], n["projects"]),
             list_url(PledgeProject, slice_, status=FULFILLED), "%",
             note=gettext("%(kept)s of %(all)s projects", kept=n["kept"], all=n["projects"]), of=PledgeProject),
        tile("funds", _l("Funds raised (yuan)"), _yuan(n["funds"]), list_url(Contribution, slice_, "received_on"), of=Contribution),
    ]
    totals = [
        tile("compounds", _l("Compounds"), n["compounds"], list_url(Compound, slice_),
             note=gettext("%(n)s of them three-without", n=n["sanwu"]), of=Compound),
        tile("sanwu", _l("Three-without compounds"), n["sanwu"], list_url(Compound, slice_, type="sanwu"), of=Compound),
        tile("sinking", _l("Sinking party members"), n["sinking"], list_url(PartyMember, slice_, category=SINKING), of=PartyMember),
        tile("teams", _l("Volunteer teams"), n["teams"], list_url(Team, slice_), of=Team),
        tile("team_volunteers", _l("Volunteers in teams"), n["team_volunteers"], list_url(Volunteer, slice_), of=Volunteer),
        tile("star_rounds", _l("Star rounds"), n["star_rounds"], list_url(StarRound, slice_), of=StarRound),
        tile("commended", _l("People commended"), n["commended"], list_url(Honoree, slice_), of=Honoree),
        tile("exchanged", _l("Volunteers who exchanged points"), n["exchanged"], list_url(Exchange, slice_), of=Exchange),
        tile("bulletins", _l("Bulletins"), n["bulletins"], list_url(Bulletin, slice_), of=Bulletin),
    ]
    return {"period": period, "totals": totals}


def _yuan(value):
    """A sum of Money (a Decimal of yuan) for a tile."""
    return float(value) if isinstance(value, Decimal) else value


# ----------------------------------------------------------------------------- statistics
# Domain statistics drawn as charts (Chart(statistic=...)): one statement each, scoped.

def top_units(slice_: Slice) -> dict:
    """The units that took the most orders of the demands filed in the period (top 10)."""
    return _top_takers(slice_, units=True)


def top_members(slice_: Slice) -> dict:
    """The party members who took the most orders (top 10)."""
    return _top_takers(slice_, units=False)


def _top_takers(slice_: Slice, units: bool) -> dict:
    ranking = rates.rank(rates.breakdown(rates.TAKER, slice_.since, slice_.until, where=slice_.place(Demand)))
    rows = (ranking.units if units else ranking.members)[:10]
    return {"categories": [r.label for r in rows],
            "series": [{"name": gettext("Taken"), "data": [r.taken for r in rows]},
                       {"name": gettext("Resolved"), "data": [r.resolved for r in rows]}]}


def service_rates(slice_: Slice) -> dict:
    """响应率, 办结率 and 满意率 of the demands filed in each month of the period (per cent)."""
    months = rates.breakdown(rates.MONTH, slice_.since, slice_.until, where=slice_.place(Demand))

    def pct(value):
        return None if value is None else round(100 * value, 1)

    return {"categories": [m.label for m in months],
            "series": [{"name": gettext("Response rate"), "data": [pct(m.response_rate) for m in months]},
                       {"name": gettext("Resolution rate"), "data": [pct(m.resolution_rate) for m in months]},
                       {"name": gettext("Satisfaction rate"), "data": [pct(m.satisfaction_rate) for m in months]}]}


def care_coverage(slice_: Slice) -> dict:
    """Per grid: the residents in care, and how many of them were visited in the period."""
    visit_on = [Visit.person_id == CareGroup.person_id, *slice_.period(Visit.visited_on)]
    stmt = (select(Grid.name, func.count(distinct(CareGroup.id)), func.count(distinct(Visit.person_id)))
            .select_from(CareGroup)
            .outerjoin(Grid, Grid.id == CareGroup.grid_id)
            .outerjoin(Visit, and_(*visit_on))
            .where(*slice_.place(CareGroup))
            .group_by(CareGroup.grid_id, Grid.code, Grid.name).order_by(Grid.code))
    rows = db.session.execute(scope.apply(stmt, CareGroup)).all()
    return {"categories": [name or gettext("No grid") for name, _n, _v in rows],
            "series": [{"name": gettext("Residents in care"), "data": [n for _g, n, _v in rows]},
                       {"name": gettext("Visited in the period"), "data": [v for _g, _n, v in rows]}]}


def team_hours(slice_: Slice) -> dict:
    """Service hours of the period per team (service outside a team's activity: 其他)."""
    stmt = (select(Team.name, func.sum(ServiceRecord.hours))
            .select_from(ServiceRecord)
            .outerjoin(Activity, Activity.id == ServiceRecord.activity_id)
            .outerjoin(Team, Team.id == Activity.team_id)
            .where(*slice_.period(ServiceRecord.served_on), *slice_.place(ServiceRecord))
            .group_by(Team.id, Team.name).order_by(func.sum(ServiceRecord.hours).desc()))
    rows = db.session.execute(scope.apply(stmt, ServiceRecord)).all()
    return {"categories": [name or gettext("Other") for name, _h in rows],
            "series": [{"name": gettext("Hours"), "data": [number(h) for _n, h in rows]}]}


def top_points(slice_: Slice) -> dict:
    """The points leaderboard of the period: the ten volunteers who earned the most."""
    leaders = volunteer_stats.leaderboard(slice_.start, slice_.end + datetime.timedelta(days=1),
                                          where=slice_.place(Volunteer))
    return {"categories": [f"{r.name}" for r in leaders],
            "series": [{"name": gettext("Points"), "data": [r.points for r in leaders]}]}


#: age bands: (label, youngest age, oldest age or None)
AGE_BANDS = ((_l("Under 18"), 0, 17), (_l("18 to 59"), 18, 59), (_l("60 to 79"), 60, 79), (_l("80 and over"), 80, None))


def _born_after(today: datetime.date, years: int) -> datetime.date:
    """The birth dates of people younger than ``years`` on ``today`` are after this day."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def population_by_age(slice_: Slice) -> dict:
    """Residents per grid in age bands (as of today; birth date unknown: 未知)."""
    today = clock.today()
    bands = []
    for _label, youngest, oldest in AGE_BANDS:
        conditions = [Person.birth_date <= _born_after(today, youngest)]
        if oldest is not None:
            conditions.append(Person.birth_date > _born_after(today, oldest + 1))
        bands.append(func.sum(case((and_(*conditions), 1), else_=0)))
    unknown = func.sum(case((Person.birth_date.is_(None), 1), else_=0))
    stmt = (select(Grid.name, *bands, unknown).select_from(Person)
            .outerjoin(Grid, Grid.id == Person.grid_id).where(*slice_.place(Person))
            .group_by(Person.grid_id, Grid.code, Grid.name).order_by(Grid.code))
    rows = db.session.execute(scope.apply(stmt, Person)).all()
    labels = [str(label) for label, _y, _o in AGE_BANDS] + [gettext("Unknown")]
    series = [{"name": label, "data": [int(row[i + 1] or 0) for row in rows]} for i, label in enumerate(labels)]
    if not any(any(s["data"]) for s in series[-1:]):
        series = series[:-1]
    return {"categories": [row[0] or gettext("No grid") for row in rows], "series": series}

