"""The pages of stars and commendations: a star round's page (nominees, the decision),
an annual commendation's page (the people commended, the announcement), and the
public 光荣榜 (no login) of the current stars and the latest commendations.

The buttons call :func:`models.volunteers.honours.decide_round` and :func:`models.volunteers.honours.announce`;
names on the public page are masked (张*) unless the person agreed to full display.
"""
from __future__ import annotations

from flask import flash, render_template, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import clock, scope
from app.api import bounded_int
from app.crud import attempt, public_choice, WithExtras
from app.extensions import db
from app.registry import generated_view, override
from app.standards import mask_name
from models.kernel.places import Community
from models.volunteers import honours
from models.volunteers.honours import (COMMENDATION_STATUSES, DECISIONS, ROUND_STATUSES, STAR_KINDS, Commendation, Honoree,
                            StarNominee, StarRound)
from models.people.people import Person
from app.crud import can as _can


def public_name(person, consent) -> str:
    """A name for a public page: in full only with consent, else 张*."""
    return person.name if consent else mask_name(person.name)


_GeneratedRound = generated_view(StarRound)


@override(StarRound)
class StarRoundView(WithExtras, _GeneratedRound):
    show_template = "honours/star_round.html"
    method_permission_name = {**_GeneratedRound.method_permission_name, "decide": "decide"}

    def extras(self, item) -> dict:
        nominees = db.session.scalars(select(StarNominee).where(StarNominee.round_id == item.id)
                                      .options(joinedload(StarNominee.person).joinedload(Person.compound))
                                      .order_by(StarNominee.id)).all()
        return {"round": item, "nominees": nominees, "statuses": ROUND_STATUSES, "decisions": DECISIONS,
                "kinds": STAR_KINDS, "may_decide": item.status == honours.OPEN and _can("can_decide", "StarRound"),
                "may_nominate": item.status == honours.OPEN and _can("can_write", "StarNominee")}

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        star_round = self._visible(pk)
        elected = [i for i in (bounded_int(v, low=1) for v in request.form.getlist("elected")) if i]
        with attempt() as outcome:
            honours.decide_round(star_round, elected, scope.acting_user(), note=request.form.get("note") or None)
        if outcome.ok:
            flash(gettext("Decided: %(n)s stars. Bonus points went to those who are registered volunteers.",
                          n=len(elected)), "success")
        return self._back(pk)


_GeneratedCommendation = generated_view(Commendation)


@override(Commendation)
class CommendationView(WithExtras, _GeneratedCommendation):
    show_template = "honours/commendation.html"
    method_permission_name = {**_GeneratedCommendation.method_permission_name, "announce": "decide"}

    def extras(self, item) -> dict:
        honorees = db.session.scalars(select(Honoree).where(Honoree.commendation_id == item.id)
                                      .options(joinedload(Honoree.person).joinedload(Person.compound))
                                      .order_by(Honoree.id)).all()
        return {"commendation": item, "honorees": honorees, "statuses": COMMENDATION_STATUSES,
                "may_announce": item.status == honours.DRAFT and _can("can_decide", "Commendation"),
                "may_add": item.status == honours.DRAFT and _can("can_write", "Honoree")}

    @expose("/announce/<int:pk>", methods=["POST"])
    @has_access
    def announce(self, pk):
        commendation = self._visible(pk)
        with attempt() as outcome:
            honours.announce(commendation, scope.acting_user())
        if outcome.ok:
            flash(gettext("Announced: %(n)s people commended. Bonus points went to those who are registered "
                          "volunteers.", n=len(commendation.honorees)), "success")
        return self._back(pk)


# ----------------------------------------------------------------------------- public 光荣榜

class PublicStarsView(BaseView):
    """光荣榜: the current stars and the latest year's commendations, no login."""

    route_base = "/public"
    default_view = "stars"

    @expose("/stars/")
    @expose("/stars/<int:community_id>")
    def stars(self, community_id=None):
        communities, community = public_choice(Community, community_id)
        rounds = [(r, [{"name": public_name(s.person, s.publish_name), "reason": s.reason,
                        "compound": s.person.compound.name if s.person.compound else ""} for s in stars])
                  for r, stars in honours.current_stars(community.id)]
        year = db.session.scalar(select(func.max(Commendation.year)).where(
            Commendation.community_id == community.id, Commendation.status == honours.ANNOUNCED))
        commendations = []
        if year is not None:
            rows = db.session.scalars(
                select(Honoree).join(Commendation).where(Commendation.community_id == community.id,
                                                         Commendation.year == year,
                                                         Commendation.status == honours.ANNOUNCED)
                .options(joinedload(Honoree.commendation), joinedload(Honoree.person))
                .order_by(Commendation.id, Honoree.id)).all()
            grouped = {}
            for h in rows:
                grouped.setdefault(h.commendation, []).append(public_name(h.person, h.publish_name))
            commendations = list(grouped.items())
        return render_template("public/stars.html", community=community, communities=communities, rounds=rounds,
                               kinds=STAR_KINDS, year=year, commendations=commendations, now=clock.now(),
                               app_name=self.appbuilder.app_name)
