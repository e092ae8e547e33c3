"""A care visit's page in the service loop: the demands filed from the visit, and “file a
demand from this visit” (the step itself is :func:`models.service.machine.from_visit`,
reached through ``DemandView.from_visit``). The visit is the people context's; this page
is the service context's, which reads people."""
from __future__ import annotations

from sqlalchemy import select

from app.api import bounded_int
from app.extensions import db
from app.registry import generated_view, override
from models.people.care import Visit
from models.service.demands import CLASSES, Demand, ServiceCategory

_GeneratedVisit = generated_view(Visit)


@override(Visit)
class VisitView(_GeneratedVisit):
    """The generated visit pages, with “file a demand from this visit” on the show page."""

    show_template = "service/visit_show.html"

    def render_template(self, template, **kwargs):
        if template == self.show_template:
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
