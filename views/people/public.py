"""Public pages (no login): the 三长 notice of a compound (上墙公示), printable.

Its address carries the compound's unguessable ``public_token``. A head is named in
full and with a phone only with their consent (``publish_name``, ``publish_phone``);
otherwise the name reads 张* and the phone is left out."""
from __future__ import annotations

from flask import abort, render_template
from flask_appbuilder import BaseView, expose
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.sensitive import mask
from models.kernel.places import Compound
from models.people.people import Head


class PublicNoticeView(BaseView):
    route_base = "/public"
    default_view = "three_heads"

    @expose("/three-heads/<token>")
    def three_heads(self, token):
        compound = db.session.scalars(select(Compound).where(Compound.public_token == token)).first()
        if compound is None:
            abort(404)
        heads = db.session.scalars(
            select(Head).where(Head.compound_id == compound.id)
            .options(joinedload(Head.person), joinedload(Head.building), joinedload(Head.unit))).all()
        order = {"compound": 0, "building": 1, "unit": 2}
        heads.sort(key=lambda h: (order[h.level], h.building.name if h.building else "",
                                  h.unit.name if h.unit else ""))
        rows = [{"level": h.level, "place": (f"{h.building.name} {h.unit.name}" if h.unit else
                                              h.building.name if h.building else compound.name),
                 "name": h.person.name if h.publish_name else mask("name", h.person.name),
                 "phone": (h.person.phone or "") if h.publish_phone else ""}
                for h in heads]
        return render_template("public/three_heads.html", compound=compound, rows=rows,
                               app_name=self.appbuilder.app_name)
