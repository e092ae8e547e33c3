"""The pages of the volunteers' work: a volunteer's page (approval step, balance and
ledger, an adjustment, a gift request), an activity's page (publish, sign-ups, check-in
with hours, completion), an exchange's page (approve, hand over, reject).

Every button calls the domain functions of models.volunteers.activities / models.volunteers.points; the pages
only read forms and show what those functions say.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, domain, scope, sensitive, uploads
from app.api import bounded_int
from app.crud import attempt, can as _can, WithExtras as _WithExtras
from app.domain import DomainError
from app.extensions import db
from app.registry import generated_view, override
from models.volunteers import points, activities as volunteers
from models.volunteers.points import EXCHANGE_STATUSES, Exchange, Gift, LedgerEntry
from models.volunteers.activities import (ACTIVITY_STATUSES, EVALUATIONS, SIGNUP_STATUSES, VOLUNTEER_ACTIONS,
                                          VOLUNTEER_STATUSES, Activity, Certificate, SignUp, Volunteer)

#: ledger entries shown on a volunteer's page (the whole ledger is its list)
LEDGER_ROWS = 20




def own_volunteer(user):
    """The volunteer record of a signed-in volunteer, if any."""
    if getattr(user, "id", None) is None:
        return None
    return db.session.scalars(select(Volunteer).where(Volunteer.user_id == user.id)).first()


# ----------------------------------------------------------------------------- volunteers

_GeneratedVolunteer = generated_view(Volunteer)


@override(Volunteer)
class VolunteerView(_WithExtras, _GeneratedVolunteer):
    show_template = "volunteers/volunteer.html"
    method_permission_name = {**_GeneratedVolunteer.method_permission_name, "status": "approve",
                              "adjust": "read", "exchange": "read", "certify": "certify",
                              "certificate": "certify"}

    def extras(self, item) -> dict:
        user = scope.acting_user()
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.volunteer_id == item.id)
                                     .options(joinedload(LedgerEntry.actor))
                                     .order_by(LedgerEntry.id.desc()).limit(LEDGER_ROWS)).all()
        staff = _can("can_write", "Exchange")
        own = own_volunteer(user)
        may_request = item.status == volunteers.REGISTERED and (staff or (own is not None and own.id == item.id))
        gifts = db.session.scalars(scope.apply(select(Gift), Gift).where(
            Gift.active.is_(True), Gift.stock > 0, Gift.community_id == item.community_id)
            .order_by(Gift.points)).all() if may_request else []
        return {"volunteer": item, "entries": entries, "statuses": VOLUNTEER_STATUSES,
                "status_actions": [a for a, (sources, _t, _l_) in VOLUNTEER_ACTIONS.items() if item.status in sources]
                if _can("can_approve", "Volunteer") else [],
                "action_labels": {a: spec[2] for a, spec in VOLUNTEER_ACTIONS.items()},
                "may_adjust": _can("can_adjust", "LedgerEntry"), "may_list_entries": _can("can_read", "LedgerEntry"),
                "gifts": gifts, "may_request": may_request,
                "may_certify": _can("can_certify", "Volunteer"), "today": clock.today(),
                "certificates": sorted(item.certificates, key=lambda c: c.id, reverse=True)[:5],
                "kinds": points.KINDS, "sources": points.SOURCES}

    @expose("/status/<int:pk>/<action>", methods=["POST"])
    @has_access
    def status(self, pk, action):
        volunteer = self._visible(pk)
        if action not in VOLUNTEER_ACTIONS:
            abort(404)
        with attempt() as outcome:
            volunteers.change_status(volunteer, action, scope.acting_user())
        if outcome.ok:
            flash(gettext("Done: the volunteer is now “%(status)s”.", status=VOLUNTEER_STATUSES[volunteer.status]),
                  "success")
        return self._back(pk)

    @expose("/adjust/<int:pk>", methods=["POST"])
    @has_access
    def adjust(self, pk):
        volunteer = self._visible(pk)
        if not _can("can_adjust", "LedgerEntry"):
            abort(403)
        amount = bounded_int(request.form.get("amount"), low=-100000, high=100000) \
            if request.form.get("amount") else None
        with attempt() as outcome:
            if amount is None or amount == 0:
                raise DomainError(_l("The points must be a whole number other than zero."), field="amount")
            points.adjust(volunteer, amount, scope.acting_user(), note=request.form.get("note") or "")
        if outcome.ok:
            flash(gettext("Posted: the balance is now %(n)s.", n=volunteer.points_balance), "success")
        return self._back(pk)

    @expose("/exchange/<int:pk>", methods=["POST"])
    @has_access
    def exchange(self, pk):
        """Request a gift for the volunteer: staff for anyone in scope, a volunteer for themself."""
        volunteer = self._visible(pk)
        user = scope.acting_user()  # points.request_exchange says whom the user may ask for
        gift_id = bounded_int(request.form.get("gift"), low=1) if request.form.get("gift") else None
        gift = db.session.scalars(scope.apply(select(Gift), Gift).where(Gift.id == gift_id)).first() \
            if gift_id else None
        quantity = bounded_int(request.form.get("quantity") or "1", low=1, high=20)
        with attempt() as outcome:
            if gift is None:
                raise DomainError(_l("Choose a gift."), field="gift")
            if quantity is None:
                raise DomainError(_l("Between 1 and 20."), field="quantity")
            made = points.request_exchange(volunteer, gift, quantity, user)
        if not outcome.ok:
            return self._back(pk)
        flash(gettext("Requested: voucher %(voucher)s. The points are held until the gift is handed over.",
                      voucher=made.voucher), "success")
        return self._back(pk)


    @expose("/certify/<int:pk>", methods=["POST"])
    @has_access
    def certify(self, pk):
        """Issue a 志愿服务证明 for a period; then show it for printing."""
        import datetime

        volunteer = self._visible(pk)

        def day(name):
            try:
                return datetime.date.fromisoformat(request.form.get(name) or "")
            except ValueError:
                return None

        with attempt() as outcome:
            if day("period_start") is None or day("period_end") is None:
                raise DomainError(_l("Give the period: from and until which day."), field="period_start")
            made = volunteers.issue_certificate(volunteer, day("period_start"), day("period_end"),
                                                scope.acting_user(),
                                                person_in_charge=request.form.get("person_in_charge") or "",
                                                contact=request.form.get("contact") or "",
                                                handler=request.form.get("handler"))
        if not outcome.ok:
            return self._back(pk)
        return redirect(url_for("VolunteerView.certificate", certificate_id=made.id))

    @expose("/certificate/<int:certificate_id>")
    @has_access
    def certificate(self, certificate_id):
        """The printable certificate; the ID number printed on it is a logged reveal."""
        made = db.session.scalars(scope.apply(select(Certificate), Certificate).where(
            Certificate.id == certificate_id)).first()
        if made is None:
            abort(404)
        person = made.volunteer.person
        id_number = sensitive.reveal(person, "id_number") if person.id_number else ""
        return self.render_template("volunteers/certificate.html", certificate=made, person=person,
                                    id_number=id_number, title=gettext("Certificate of volunteer service"),
                                    watermark=sensitive.watermark_text() if id_number else None)


# ----------------------------------------------------------------------------- activities

_GeneratedActivity = generated_view(Activity)


@override(Activity)
class ActivityView(_WithExtras, _GeneratedActivity):
    show_template = "volunteers/activity.html"
    method_permission_name = {**_GeneratedActivity.method_permission_name, "step": "run", "signup": "read",
                              "checkin": "run", "finish": "run"}

    def extras(self, item) -> dict:
        user = scope.acting_user()
        runs = _can("can_run", "Activity")
        signups = db.session.scalars(select(SignUp).where(SignUp.activity_id == item.id)
                                     .options(joinedload(SignUp.volunteer).joinedload(Volunteer.person))
                                     .order_by(SignUp.id)).all()
        active = [s for s in signups if s.status != volunteers.WITHDRAWN_SIGNUP]
        signed_ids = {s.volunteer_id for s in active}
        candidates = []
        if runs and item.status == volunteers.PUBLISHED:
            candidates = [v for v in db.session.scalars(scope.apply(select(Volunteer), Volunteer).where(
                Volunteer.status == volunteers.REGISTERED, Volunteer.community_id == item.community_id)
                .options(joinedload(Volunteer.person)).order_by(Volunteer.number)).all() if v.id not in signed_ids]
        own = own_volunteer(user)
        return {"activity": item, "signups": signups, "runs": runs, "candidates": candidates,
                "started": item.starts_at is not None and item.starts_at <= clock.now(),
                "statuses": ACTIVITY_STATUSES, "signup_statuses": SIGNUP_STATUSES, "evaluations": EVALUATIONS,
                "full": item.capacity is not None and len(active) >= item.capacity, "taken": len(active),
                "self_signup": own if own is not None and own.id not in signed_ids
                and own.status == volunteers.REGISTERED and item.status == volunteers.PUBLISHED else None}

    @expose("/step/<int:pk>/<step>", methods=["POST"])
    @has_access
    def step(self, pk, step):
        activity = self._visible(pk)
        function = {"publish": volunteers.publish, "cancel": volunteers.cancel}.get(step)
        if function is None:
            abort(404)
        with attempt() as outcome:
            function(activity, scope.acting_user())
        if outcome.ok:
            flash(gettext("Done: the activity is now “%(status)s”.", status=ACTIVITY_STATUSES[activity.status]),
                  "success")
        return self._back(pk)

    @expose("/signup/<int:pk>", methods=["POST"])
    @has_access
    def signup(self, pk):
        """Staff sign volunteers up (several at once); a volunteer signs themself up."""
        activity = self._visible(pk)
        user = scope.acting_user()
        if _can("can_run", "Activity"):
            ids = [bounded_int(v, low=1) for v in request.form.getlist("volunteer")]
            chosen = db.session.scalars(scope.apply(select(Volunteer), Volunteer).where(
                Volunteer.id.in_([i for i in ids if i]))).all() if any(ids) else []
            # signed up in the order chosen: when the places run out, the first chosen have them
            chosen = sorted(chosen, key=lambda v: ids.index(v.id))
        else:
            own = own_volunteer(user)
            if own is None:
                abort(403)
            chosen = [own]
        if not chosen:
            flash(gettext("Choose the volunteers to sign up."), "danger")
            return self._back(pk)
        done = []
        for volunteer in chosen:
            with attempt() as outcome:
                volunteers.sign_up(activity, volunteer, user)
            if not outcome.ok:
                break  # what follows would not fit either
            done.append(str(volunteer))
        if done:
            flash(gettext("Signed up: %(names)s.", names="、".join(done)), "success")
        return self._back(pk)

    @expose("/checkin/<int:pk>/<int:signup_id>", methods=["POST"])
    @has_access
    def checkin(self, pk, signup_id):
        activity = self._visible(pk)
        signup = db.session.scalars(select(SignUp).where(SignUp.id == signup_id,
                                                         SignUp.activity_id == activity.id)).first()
        if signup is None:
            abort(404)
        with attempt() as outcome:
            volunteers.check_in(signup, scope.acting_user(), hours=request.form.get("hours") or None)
        if outcome.ok:
            flash(gettext("Checked in: %(name)s.", name=str(signup.volunteer)), "success")
        return self._back(pk)

    @expose("/finish/<int:pk>", methods=["POST"])
    @has_access
    def finish(self, pk):
        activity = self._visible(pk)
        hours = {s.id: request.form.get(f"hours-{s.id}") for s in activity.signups}
        evaluations = {s.id: request.form.get(f"evaluation-{s.id}") for s in activity.signups
                       if request.form.get(f"evaluation-{s.id}") in EVALUATIONS}
        with attempt() as outcome:
            volunteers.complete(activity, scope.acting_user(), evaluation=(request.form.get("evaluation") or "")
                                .strip()[:2000] or None, hours=hours, evaluations=evaluations)
        if outcome.ok:
            flash(gettext("Completed: service records written and points awarded."), "success")
        return self._back(pk)


# ----------------------------------------------------------------------------- gifts

#: a gift's picture: a photo of at most this size
GIFT_PICTURE_BYTES = 5 * 1024 * 1024
_PICTURE_TYPES = {extension: kind for kind, extension in uploads.IMAGE_TYPES.items()}

_GeneratedGift = generated_view(Gift)


@override(Gift)
class GiftView(_WithExtras, _GeneratedGift):
    show_template = "volunteers/gift.html"
    method_permission_name = {**_GeneratedGift.method_permission_name, "picture": "write", "picture_file": "read"}

    def extras(self, item) -> dict:
        return {"gift": item, "may_edit": _can("can_write", "Gift"),
                "max_mb": uploads.megabytes(GIFT_PICTURE_BYTES)}

    @expose("/picture/<int:pk>", methods=["POST"])
    @has_access
    def picture(self, pk):
        """Put up (or take down) the gift's picture: a JPEG, PNG or WebP photo by content."""
        gift = self._visible(pk)
        old = gift.picture
        stored = None
        with attempt() as outcome:
            if request.form.get("remove"):
                gift.picture = None
            else:
                upload = request.files.get("picture")
                if upload is None or not upload.filename:
                    raise DomainError(_l("Choose the picture to upload."), field="picture")
                stored = uploads.store("gift", uploads.check(upload, uploads.IMAGE_TYPES, GIFT_PICTURE_BYTES,
                                                             field="picture"))
                gift.picture = stored
            domain.save(gift)
        if not outcome.ok:
            if stored:  # the refused save keeps no file
                uploads.remove("gift", stored)
            return self._back(pk)
        if old and old != gift.picture:
            uploads.remove("gift", old)
        flash(gettext("The picture is saved.") if gift.picture else gettext("The picture is removed."), "success")
        return self._back(pk)

    @expose("/picture-file/<int:pk>")
    @has_access
    def picture_file(self, pk):
        gift = self._visible(pk)
        extension = "." + (gift.picture or "").rsplit(".", 1)[-1]
        if not gift.picture or extension not in _PICTURE_TYPES:
            abort(404)
        return uploads.send("gift", gift.picture, gift.name + extension, _PICTURE_TYPES[extension])


# ----------------------------------------------------------------------------- exchanges

_GeneratedExchange = generated_view(Exchange)


@override(Exchange)
class ExchangeView(_WithExtras, _GeneratedExchange):
    show_template = "volunteers/exchange.html"
    method_permission_name = {**_GeneratedExchange.method_permission_name, "decide": "approve",
                              "voucher": "read"}

    def extras(self, item) -> dict:
        steps = {points.REQUESTED: ["approve", "reject"], points.APPROVED: ["collect", "reject"]}
        return {"exchange": item, "statuses": EXCHANGE_STATUSES,
                "steps": steps.get(item.status, []) if _can("can_approve", "Exchange") else []}

    @expose("/decide/<int:pk>/<step>", methods=["POST"])
    @has_access
    def decide(self, pk, step):
        exchange = self._visible(pk)
        user = scope.acting_user()
        with attempt() as outcome:
            if step == "approve":
                points.approve(exchange, user)
            elif step == "collect":
                points.collect(exchange, user, handler=request.form.get("handler"))
            elif step == "reject":
                points.reject(exchange, user, reason=request.form.get("reason") or "")
            else:
                abort(404)
        if outcome.ok:
            flash(gettext("Done: the exchange is now “%(status)s”.", status=EXCHANGE_STATUSES[exchange.status]),
                  "success")
        return self._back(pk)

    @expose("/voucher/<int:pk>")
    @has_access
    def voucher(self, pk):
        """The printable voucher (兑换券)."""
        exchange = self._visible(pk)
        if exchange.status not in (points.APPROVED, points.COLLECTED):
            abort(404)
        return self.render_template("volunteers/voucher.html", exchange=exchange, statuses=EXCHANGE_STATUSES,
                                    title=gettext("Points exchange voucher"))
