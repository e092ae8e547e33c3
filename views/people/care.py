"""走访提醒: residents in care whose last visit is older than their frequency, for the
user's own scope (a grid worker sees their grid); built for a phone screen."""
from __future__ import annotations

import datetime

from flask import url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import clock
from app.registry import entity_permissions, generated_view, override
from models.people.care import Visit, overdue

_GeneratedVisit = generated_view(Visit)


@override(Visit)
class VisitView(_GeneratedVisit):
    """The generated visit pages, with “file a demand from this visit” on the show page."""

    show_template = "care/visit_show.html"

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            from sqlalchemy import select

            from app.extensions import db
            from models.service.demands import CLASSES, Demand, ServiceCategory

            from app.api import bounded_int

            sm = self.appbuilder.sm
            pk = bounded_int(kwargs.get("pk"), low=1)
            kwargs["demand_form"] = None
            visit = db.session.get(Visit, pk) if pk else None
            if visit is not None and (visit.findings or "").strip() and sm.has_access("can_write", "Demand"):
                kwargs["demand_form"] = {
                    "categories": db.session.scalars(select(ServiceCategory).where(
                        ServiceCategory.enabled.is_(True)).order_by(ServiceCategory.sort)).all(),
                    "classes": CLASSES}
            kwargs["visit_demands"] = db.session.scalars(select(Demand).where(Demand.visit_id == pk)).all() \
                if pk else []
        return super().render_template(template, **kwargs)


class OverdueView(BaseView):
    route_base = "/care"
    default_view = "overdue"
    class_permission_name = "Visit"  # whoever reads visits reads the reminders
    base_permissions = entity_permissions(Visit)
    method_permission_name = {"overdue": "read"}

    @expose("/overdue/")
    @has_access
    def overdue(self):
        today = clock.today()
        sm = self.appbuilder.sm
        may_open = sm.has_access("can_read", "Person")
        may_visit = sm.has_access("can_write", "Visit")
        rows = [{"person": person, "days": days, "last": last,
                 "late": (today - last).days - days if last else None,
                 "visit_url": url_for("VisitView.add", person=person.id) if may_visit else None,
                 "show_url": url_for("PersonView.show", pk=person.id) if may_open else None}
                for person, days, last in overdue(today=today)]
        return self.render_template("care/overdue.html", rows=rows, today=today)
