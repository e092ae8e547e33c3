"""会议看板: the meeting dashboard — a period (default: the last three months) and a
community / grid within the user's scope; KPI tiles and charts, each linking to the list
behind it, filtered; printable on one A4 landscape page; a PDF brief made on the server;
a 大屏 view (dark, full screen, refreshing itself) for the meeting-room screen.
Bad input gets a message and the defaults, never an error page."""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import charts, clock, scope
from app.crud import can
from app.registry import entities, entity_name, view_class
from models.reporting import dashboard
from views.reporting import brief

#: the 大屏 reloads its figures every this many seconds
SCREEN_REFRESH_SECONDS = 300


def _sees(entity: str) -> tuple[bool, bool]:
    """(whether the user sees the figures of ``entity``, whether they may open its list).

    Figures are counts within the user's data scope: whoever opens the dashboard sees
    them all — the street reads the care figures without reading who is in care —
    except users who see only their own records (a unit's contact, a volunteer), who
    see the figures of what they may read."""
    readable = can("can_read", entity)
    user = scope.acting_user()
    personal = (getattr(user, "scope_kind", None) or scope.SELF) == scope.SELF
    return readable or not personal, readable


def _drawn(slice_) -> list[dict]:
    """The dashboard's charts the user sees, with their data and links."""
    models = {m.__name__: m for m in entities()}
    drawn = []
    for entity, name in dashboard.CHARTS:
        model = models[entity]
        shown, readable = _sees(entity_name(model))
        if not shown:
            continue
        chart = charts.charts_of(model)[name]
        drawn.append({"id": f"chart-{entity}-{name}", "data": charts.aggregate(model, chart, slice_),
                      "link": charts.list_url(model, slice_, chart.dated, **chart.filters) if readable else None,
                      "page": url_for(f"{view_class(model).__name__}.chart", name=name,
                                      **charts.slice_args(slice_)) if readable else None})
    return drawn


def _tiles(slice_) -> dict:
    """The dashboard's tiles the user sees (linked to their lists where the user may read them)."""
    figures = dashboard.figures(slice_)
    shown = {}
    for part in ("period", "totals"):
        shown[part] = []
        for t in figures[part]:
            visible, readable = _sees(t["entity"])
            if visible:
                shown[part].append({**t, "link": t["link"] if readable else None})
    return shown


def _place_name(choice) -> str:
    """文化路社区 / 第一网格, or the whole scope's communities."""
    community = next((c for c in choice.communities if c.id == choice.slice.community_id), None)
    grid = next((g for g in choice.grids if g.id == choice.slice.grid_id), None)
    if grid is not None:
        return f"{community.name if community else ''} {grid.name}".strip()
    if community is not None:
        return community.name
    return "、".join(c.name for c in choice.communities) or gettext("All communities")


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "Demand"  # whoever reads the demands reads the meeting figures
    method_permission_name = {"index": "read", "screen": "read", "brief": "read"}

    def _choice(self, flash_problems=True):
        choice = charts.read_slice(request.args, clock.today())
        if flash_problems:
            for problem in choice.problems:
                flash(problem, "warning")
        return choice

    @expose("/")
    @has_access
    def index(self):
        choice = self._choice()
        return self.render_template("dashboard/index.html", tiles=_tiles(choice.slice),
                                    charts=_drawn(choice.slice), choice=choice, place_name=_place_name(choice),
                                    args=charts.slice_args(choice.slice), now=clock.now(),
                                    title=gettext("Meeting dashboard"))

    @expose("/screen")
    @has_access
    def screen(self):
        """大屏: the same figures, dark and large, for a 1920×1080 screen across the room;
        the page reloads itself (the period's end moves with the day when none is given)."""
        choice = self._choice(flash_problems=False)
        return self.render_template("dashboard/screen.html", tiles=_tiles(choice.slice),
                                    charts=_drawn(choice.slice), choice=choice, place_name=_place_name(choice),
                                    refresh=SCREEN_REFRESH_SECONDS, now=clock.now(),
                                    title=gettext("Meeting dashboard"))

    @expose("/brief.pdf")
    @has_access
    def brief(self):
        """The one-page brief as a PDF, made on the server (title, period, place, figures,
        charts, when it was made) with the CJK font the setup command installed."""
        choice = self._choice(flash_problems=False)
        if choice.problems:
            flash(" ".join(choice.problems), "warning")
            return redirect(url_for("DashboardView.index"))
        try:
            pdf = brief.render(place=_place_name(choice), slice_=choice.slice,
                               tiles=_tiles(choice.slice), drawn=_drawn(choice.slice))
        except brief.FontMissing as error:
            flash(str(error), "danger")
            return redirect(url_for("DashboardView.index", **charts.slice_args(choice.slice)))
        name = f"brief-{choice.slice.start}-{choice.slice.end}.pdf"
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"',
                                 "X-Content-Type-Options": "nosniff"})


def install(appbuilder) -> None:
    appbuilder.add_view(DashboardView, "MeetingDashboard", label=_l("Meeting dashboard"), icon="fa-tachometer",
                        category="service")
