"""The joint meetings' pages: a meeting's page (parties and their signatures, agenda,
decisions with their follow-up, closing), the printable minutes, and a decision's page
(report it done, drop it, hand it to the 三单 loop).

Every button calls a function of :mod:`models.cobuilding.meetings`.
"""
from __future__ import annotations

import datetime

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import clock, scope
from app.api import bounded_int
from app.crud import attempt, WithExtras
from app.domain import DomainError
from app.extensions import db
from app.registry import generated_view, override
from app.richtext import sanitize
from models.cobuilding import meetings
from models.cobuilding.meetings import DECISION_STATUSES, MEETING_STATUSES, MEETING_TYPES, Decision, Meeting
from models.kernel.orgs import Organisation
from models.service.demands import CLASSES, ServiceCategory
from views.kernel.attachments import AttachmentsMixin
from app.crud import can as _can

_GeneratedMeeting = generated_view(Meeting)


@override(Meeting)
class MeetingView(AttachmentsMixin, WithExtras, _GeneratedMeeting):
    show_template = "meetings/meeting.html"
    method_permission_name = {**_GeneratedMeeting.method_permission_name, "sign": "convene", "close": "convene",
                              "minutes_page": "read", **AttachmentsMixin.attachment_permissions}

    def extras(self, item) -> dict:
        return {**self.attachment_extras(item), "meeting": item, "types": MEETING_TYPES, "statuses": MEETING_STATUSES,
                "decision_statuses": DECISION_STATUSES, "classes": CLASSES, "unsigned": meetings.unsigned(item),
                "is_overdue": meetings.is_overdue, "convenes": _can("can_convene", "Meeting"),
                "may_add": item.status != meetings.CLOSED and _can("can_write", "Decision")}

    @expose("/sign/<int:pk>", methods=["POST"])
    @has_access
    def sign(self, pk):
        meeting = self._visible(pk)
        party_id = bounded_int(request.form.get("organisation"), low=1)
        party = db.session.get(Organisation, party_id) if party_id else None
        with attempt() as outcome:
            if party is None:
                raise DomainError(_l("Choose the party."), field="organisation")
            meetings.sign(meeting, party, scope.acting_user(), signed_by=request.form.get("signed_by") or "")
        if outcome.ok:
            flash(gettext("Signed for %(party)s.", party=party.name), "success")
        return self._back(pk)

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        meeting = self._visible(pk)
        with attempt() as outcome:
            meetings.close(meeting, scope.acting_user(), reason=request.form.get("reason"))
        if outcome.ok:
            flash(gettext("The meeting is closed."), "success")
        return self._back(pk)

    @expose("/minutes/<int:pk>")
    @has_access
    def minutes_page(self, pk):
        """The printable minutes (会议纪要) with the decisions and the signatures."""
        meeting = self._visible(pk)
        return self.render_template("meetings/minutes.html", meeting=meeting, types=MEETING_TYPES,
                                    classes=CLASSES, statuses=DECISION_STATUSES, minutes=sanitize(meeting.minutes),
                                    signed={s.organisation_id: s for s in meeting.signoffs},
                                    title=gettext("Minutes: %(title)s", title=meeting.title))


_GeneratedDecision = generated_view(Decision)


@override(Decision)
class DecisionView(WithExtras, _GeneratedDecision):
    show_template = "meetings/decision.html"
    method_permission_name = {**_GeneratedDecision.method_permission_name, "follow": "write"}

    def extras(self, item) -> dict:
        open_ = item.status in (meetings.OPEN, meetings.OVERDUE)
        categories = db.session.scalars(select(ServiceCategory).where(ServiceCategory.enabled.is_(True))
                                        .order_by(ServiceCategory.id)).all() if open_ and item.demand_id is None else []
        return {"decision": item, "statuses": DECISION_STATUSES, "classes": CLASSES,
                "overdue": meetings.is_overdue(item), "may_follow": open_ and _can("can_write", "Decision"),
                "categories": categories, "may_file": _can("can_write", "Demand"), "today": clock.today()}

    @expose("/follow/<int:pk>/<step>", methods=["POST"])
    @has_access
    def follow(self, pk, step):
        decision = self._visible(pk)
        user = scope.acting_user()
        with attempt() as outcome:
            if step == "done":
                on = request.form.get("done_on")
                try:
                    day = datetime.date.fromisoformat(on) if on else None
                except ValueError:
                    raise DomainError(_l("A date such as 2026-05-01."), field="done_on") from None
                meetings.complete_decision(decision, user, result=request.form.get("result") or "", on=day)
            elif step == "drop":
                meetings.drop_decision(decision, user, reason=request.form.get("reason") or "")
            elif step == "demand":  # meetings.to_demand checks that the user may file demands
                category_id = bounded_int(request.form.get("category"), low=1)
                demand = meetings.to_demand(decision, db.session.get(ServiceCategory, category_id)
                                            if category_id else None, user)
                flash(gettext("Filed as demand %(number)s.", number=demand.number), "success")
                return redirect(url_for("DecisionView.show", pk=pk))
            else:
                abort(404)
        if outcome.ok:
            flash(gettext("Done: the decision is now “%(status)s”.", status=DECISION_STATUSES[decision.status]),
                  "success")
        return self._back(pk)
