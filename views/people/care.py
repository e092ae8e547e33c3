"""走访提醒: residents in care whose last visit is older than their frequency, for the
user's own scope (a grid worker sees their grid); built for a phone screen. (A visit's own
page, with “file a demand from this visit”, is the service context's: views.service.visits.)"""
from __future__ import annotations

from flask import url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import clock
from app.registry import entity_permissions
from models.people.care import Visit, overdue


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
