"""The home page: the product's name and, for each role of the user, its work."""
from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import lazy_gettext as _l

from app import clock, policy, scope
from app.extensions import db
from models.kernel.policy import ROLES
from models.people.care import overdue
from models.service import demands, sweep
from models.service.demands import Demand
from views.service.demands import claimable, taker_condition


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))
        sm = self.appbuilder.sm
        roles = [r.name for r in user.roles]
        work = [ROLES[name]["work"] for name in roles if name in ROLES]
        sections = []
        for category, items in policy.home_sections():
            entries = []
            for model, view in items:
                name = model.__name__
                if sm.has_access("can_read", name):
                    entries.append({
                        "label": model.Admin.plural(model),
                        "icon": model.Admin.icon,
                        "list_url": url_for(f"{view.__name__}.list"),
                        "add_url": url_for(f"{view.__name__}.add")
                        if sm.has_access("can_write", name) and getattr(model.Admin, "form_columns", None) != [] else None,
                    })
            if entries:
                sections.append({"category": category, "entries": entries})
        overdue_count = None
        if sm.has_access("can_read", "Visit"):
            overdue_count = overdue(count_only=True)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    roles=roles, work=work, sections=sections, user=user,
                                    overdue_count=overdue_count, service=_service_cards(sm, user))


def _service_cards(sm, user) -> list[dict]:
    """The 三单 work waiting for the user: what to dispatch and what is late (dispatchers),
    their open orders and what they may claim (takers)."""
    from sqlalchemy import func, select

    cards = []
    if sm.has_access("can_dispatch", "Demand"):
        counted = scope.apply(select(func.count().filter(Demand.status == demands.PENDING),
                                     func.count().filter(sweep.overdue_condition(clock.now())))
                              .select_from(Demand), Demand)
        pending, late = db.session.execute(counted).one()
        cards += [{"url": url_for("DispatchDeskView.desk", tab="pending"), "count": pending, "icon": "fa-random",
                   "label": _l("demands to dispatch"), "alert": False},
                  {"url": url_for("DispatchDeskView.desk", tab="overdue"), "count": late, "icon": "fa-clock-o",
                   "label": _l("demands overdue"), "alert": bool(late)}]
    if sm.has_access("can_claim", "Demand"):
        base = scope.apply(select(Demand), Demand)
        mine = db.session.scalar(select(func.count()).select_from(base.where(
            taker_condition(user), Demand.status.in_((demands.DISPATCHED, demands.TAKEN,
                                                      demands.IN_PROGRESS))).subquery()))
        pool = db.session.scalar(select(func.count()).select_from(claimable(user, base).subquery()))
        cards += [{"url": url_for("TakerDeskView.desk", tab="orders"), "count": mine, "icon": "fa-tasks",
                   "label": _l("orders in your hands"), "alert": False},
                  {"url": url_for("TakerDeskView.desk", tab="pool"), "count": pool, "icon": "fa-hand-paper-o",
                   "label": _l("orders in the pool you can take"), "alert": False}]
    return cards
