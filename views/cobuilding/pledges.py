"""The co-building pages: a pledge project's page (progress, milestones, start / fulfil /
cancel), a fund's page (balance, contributions, expenditures), and the public pages (no
login): a partner unit's pledge board and a fund's account.

Public pages show no resident's phone or ID number; a resident who gave money is 张*.
"""
from __future__ import annotations

import datetime

from flask import abort, flash, render_template, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import clock, scope
from app.crud import attempt, WithExtras
from app.domain import DomainError
from app.extensions import db
from app.registry import generated_view, override
from models.cobuilding import pledges as cobuilding
from models.cobuilding.pledges import (MEMBER_PLEDGE_STATUSES, PROGRESS_MODES, PROJECT_STATUSES, SOURCES,
                                       Contribution, Expenditure, Fund, MemberPledge, PledgeProject)
from models.kernel.orgs import Organisation
from models.people.people import PartyMember
from views.kernel.attachments import AttachmentsMixin
from app.crud import can as _can

_GeneratedProject = generated_view(PledgeProject)


@override(PledgeProject)
class PledgeProjectView(AttachmentsMixin, WithExtras, _GeneratedProject):
    show_template = "cobuilding/project.html"
    method_permission_name = {**_GeneratedProject.method_permission_name, "step": "track",
                              **AttachmentsMixin.attachment_permissions}

    def extras(self, item) -> dict:
        steps = {cobuilding.PLEDGED: ["start", "fulfil", "cancel"], cobuilding.IN_PROGRESS: ["fulfil", "cancel"],
                 cobuilding.OVERDUE: ["start", "fulfil", "cancel"]}
        allowed = steps.get(item.status, []) if _can("can_track", "PledgeProject") else []
        if item.progress_mode != cobuilding.BY_STATUS:
            allowed = [s for s in allowed if s != "start"]
        return {**self.attachment_extras(item),
                "project": item, "statuses": PROJECT_STATUSES, "modes": PROGRESS_MODES, "steps": allowed,
                "overdue": cobuilding.is_overdue(item), "today": clock.today(),
                "may_add": item.status not in (cobuilding.FULFILLED, cobuilding.CANCELLED)
                and _can("can_write", "Milestone")}

    @expose("/step/<int:pk>/<step>", methods=["POST"])
    @has_access
    def step(self, pk, step):
        project = self._visible(pk)
        user = scope.acting_user()
        with attempt() as outcome:
            if step == "start":
                cobuilding.start(project, user)
            elif step == "fulfil":
                cobuilding.fulfil(project, user, on=_day(request.form.get("fulfilled_on")))
            elif step == "cancel":
                cobuilding.cancel(project, user, reason=request.form.get("reason") or "")
            else:
                abort(404)
        if outcome.ok:
            flash(gettext("Done: the project is now “%(status)s”.", status=PROJECT_STATUSES[project.status]),
                  "success")
        return self._back(pk)


def _day(raw):
    try:
        return datetime.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise DomainError(gettext("A date such as 2026-05-01."), field="fulfilled_on") from None


_GeneratedFund = generated_view(Fund)


@override(Fund)
class FundView(WithExtras, _GeneratedFund):
    show_template = "cobuilding/fund.html"

    def extras(self, item) -> dict:
        return {"fund": item, "sources": SOURCES, "account": account(item),
                "may_add": _can("can_write", "Contribution")}


def account(fund: Fund, public: bool = False) -> dict:
    """The fund's account: contributions and expenditures (newest first) and the totals.
    A resident who gave is 张* when ``public``."""
    contributions = db.session.scalars(select(Contribution).where(Contribution.fund_id == fund.id)
                                       .options(joinedload(Contribution.person), joinedload(Contribution.organisation))
                                       .order_by(Contribution.received_on.desc(), Contribution.id.desc())).all()
    expenditures = db.session.scalars(select(Expenditure).where(Expenditure.fund_id == fund.id)
                                      .order_by(Expenditure.spent_on.desc(), Expenditure.id.desc())).all()
    received = sum((c.amount for c in contributions), cobuilding.CENT * 0)
    spent = sum((e.amount for e in expenditures), cobuilding.CENT * 0)
    return {"contributions": [{"on": c.received_on, "source": SOURCES.get(c.source, c.source),
                               "who": c.contributor(public), "amount": c.amount, "receipt": c.receipt_no or "",
                               "id": c.id} for c in contributions],
            "expenditures": expenditures, "received": received, "spent": spent}


# ----------------------------------------------------------------------------- public pages

class PublicCobuildingView(BaseView):
    """公开: a partner unit's pledge board and a fund's account, no login."""

    route_base = "/public"
    default_view = "pledges"

    @expose("/pledges/")
    @expose("/pledges/<int:unit_id>")
    def pledges(self, unit_id=None):
        """Every unit with public pledges; with a unit: its projects (progress, overdue)
        and its members' pledges, and the fulfilment rate."""
        today = clock.today()
        pledging = select(PledgeProject.unit_id).where(PledgeProject.public.is_(True)).union(
            select(PartyMember.employer_unit_id).join(MemberPledge, MemberPledge.member_id == PartyMember.id)
            .where(MemberPledge.public.is_(True), PartyMember.employer_unit_id.is_not(None)))
        units = db.session.scalars(select(Organisation).where(Organisation.id.in_(pledging))
                                   .order_by(Organisation.name)).all()
        unit = next((u for u in units if u.id == unit_id), None) if unit_id else None
        if unit_id and unit is None:
            abort(404)
        projects, members = [], []
        if unit is not None:
            projects = db.session.scalars(select(PledgeProject).where(
                PledgeProject.unit_id == unit.id, PledgeProject.public.is_(True))
                .options(selectinload(PledgeProject.milestones), joinedload(PledgeProject.compound))
                .order_by(PledgeProject.due_on)).unique().all()
            members = db.session.scalars(select(MemberPledge).join(PartyMember).where(
                PartyMember.employer_unit_id == unit.id, MemberPledge.public.is_(True))
                .options(joinedload(MemberPledge.member).joinedload(PartyMember.person),
                         selectinload(MemberPledge.records))
                .order_by(MemberPledge.period_start.desc())).unique().all()
        counted = [p for p in projects if p.status != cobuilding.CANCELLED]
        kept = [p for p in counted if p.status == cobuilding.FULFILLED]
        rate = round(100 * len(kept) / len(counted)) if counted else None
        return render_template("public/pledges.html", units=units, unit=unit, projects=projects,
                               members=members, rate=rate, statuses=PROJECT_STATUSES,
                               member_statuses=MEMBER_PLEDGE_STATUSES, is_overdue=cobuilding.is_overdue,
                               today=today, app_name=self.appbuilder.app_name)

    @expose("/fund/<int:fund_id>")
    def fund(self, fund_id):
        fund = db.session.scalars(select(Fund).where(Fund.id == fund_id, Fund.public.is_(True))).first()
        if fund is None:
            abort(404)
        return render_template("public/fund.html", fund=fund, account=account(fund, public=True),
                               now=clock.now(), app_name=self.appbuilder.app_name)
