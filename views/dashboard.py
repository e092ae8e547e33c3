"""会议看板: the meeting dashboard — a period (default: the last three months) and a
community / grid within the user's scope; KPI tiles and charts, each linking to the list
behind it; printable on one A4 landscape page. Bad input gets a message and the defaults."""
from __future__ import annotations

import datetime

from flask import flash, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import charts, clock, scope
from app.api import bounded_int
from app.dashboard import MAX_DAYS, Place, figures
from app.extensions import db

#: the dashboard's charts: (entity, declared chart name, the column the period applies to, or None)
CHARTS = [("Demand", "per_month", "created_at"), ("Demand", "by_category", "created_at"),
          ("Demand", "by_grid", "created_at"), ("ServiceRecord", "hours_by_month", "served_on"),
          ("PledgeProject", "by_unit", None)]  # every current project, whatever its dates


def _period():
    """(start, end) from the query, else the last three months; a message for bad input."""
    today = clock.today()
    default = (today - datetime.timedelta(days=91), today)
    raw_start, raw_end = request.args.get("start"), request.args.get("end")
    if not raw_start and not raw_end:
        return default
    try:
        start = datetime.date.fromisoformat(raw_start or "")
        end = datetime.date.fromisoformat(raw_end or "")
    except ValueError:
        flash(gettext("Give the period as two dates, from and until."), "warning")
        return default
    if end < start:
        flash(gettext("The end of the period must not be before its start."), "warning")
        return default
    if (end - start).days > MAX_DAYS:
        flash(gettext("At most %(n)s days at a time.", n=MAX_DAYS), "warning")
        return default
    return start, end


def _place():
    from models.places import Community, Grid

    communities = db.session.scalars(scope.apply(select(Community), Community).order_by(Community.id)).all()
    grids = db.session.scalars(scope.apply(select(Grid), Grid).order_by(Grid.community_id, Grid.code)).all()
    place = Place()
    community_id = bounded_int(request.args.get("community"), low=1) if request.args.get("community") else None
    grid_id = bounded_int(request.args.get("grid"), low=1) if request.args.get("grid") else None
    if community_id is not None:
        if community_id in {c.id for c in communities}:
            place.community_id = community_id
        else:
            flash(gettext("That community is outside your data scope."), "warning")
    if grid_id is not None:
        grid = next((g for g in grids if g.id == grid_id), None)
        if grid is None:
            flash(gettext("That grid is outside your data scope."), "warning")
        else:
            place.grid_id, place.community_id = grid.id, grid.community_id
    return place, communities, grids


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "Demand"  # whoever reads the demands reads the meeting figures
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        from app.registry import entities

        start, end = _period()
        place, communities, grids = _place()
        models = {m.__name__: m for m in entities()}
        drawn = []
        for entity, name, dated in CHARTS:
            model = models[entity]
            chart = charts.charts_of(model)[name]
            after = end + datetime.timedelta(days=1)
            column = getattr(model, dated) if dated else None
            if column is None:
                when = []
            elif dated == "created_at":  # a timestamp: whole days
                when = [column >= datetime.datetime.combine(start, datetime.time.min),
                        column < datetime.datetime.combine(after, datetime.time.min)]
            else:
                when = [column >= start, column < after]
            data = charts.aggregate(model, chart, where=when + place.where(model))
            drawn.append({"id": f"chart-{entity}-{name}", "data": data,
                          "link": f"/{model.__tablename__.replace('_', '-')}/chart/{name}"})
        return self.render_template("dashboard/index.html", tiles=figures(start, end, place), charts=drawn,
                                    start=start, end=end, place=place, communities=communities, grids=grids,
                                    title=gettext("Meeting dashboard"))


def install(appbuilder) -> None:
    appbuilder.add_view(DashboardView, "MeetingDashboard", label=_l("Meeting dashboard"), icon="fa-tachometer",
                        category="service")
