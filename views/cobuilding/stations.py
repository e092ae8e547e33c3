"""The contact card (便民服务一卡明) of a compound: its page, the printable card with a QR
code to its public page, and the public page itself (no login).

Only office and service numbers are on it: grid workers' office phones, the
organisations' phones, the police officer's, the repair hotlines — no resident's."""
from __future__ import annotations

from flask import abort, render_template, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from sqlalchemy import select

from app import clock, qr
from app.crud import WithExtras, can
from app.extensions import db
from app.registry import generated_view, override
from models.kernel.places import Compound
from models.cobuilding.stations import ContactCard, card_contents

_GeneratedCard = generated_view(ContactCard)


def public_url(compound: Compound) -> str:
    return url_for("PublicCardView.card", token=compound.public_token, _external=True)


@override(ContactCard)
class ContactCardView(WithExtras, _GeneratedCard):
    show_template = "stations/card_show.html"
    method_permission_name = {**_GeneratedCard.method_permission_name, "printable": "read"}

    def extras(self, item) -> dict:
        url = public_url(item.compound)
        return {**card_contents(item.compound), "public_url": url, "qr": qr.svg(url)}

    @expose("/print/<int:pk>")
    @has_access
    def printable(self, pk):
        item = self._visible(pk)
        url = public_url(item.compound)
        return self.render_template("stations/card_print.html", **card_contents(item.compound), public_url=url,
                                    qr=qr.svg(url, scale=3), title=gettext("Contact card of %(compound)s",
                                                                           compound=item.compound.name))


class PublicCardView(BaseView):
    """The card on a phone: scanned from the printed card's QR code, no login."""

    route_base = "/public"
    default_view = "card"

    @expose("/card/<token>")
    def card(self, token):
        compound = db.session.scalars(select(Compound).where(Compound.public_token == token)).first()
        if compound is None or compound.contact_card is None:
            abort(404)
        return render_template("public/card.html", **card_contents(compound), app_name=self.appbuilder.app_name)


# ----------------------------------------------------------------------------- the station page

from models.kernel.places import Station  # noqa: E402
from models.cobuilding.stations import WEEKDAYS, five_haves, on_duty  # noqa: E402

_GeneratedStation = generated_view(Station)


@override(Station)
class StationView(WithExtras, _GeneratedStation):
    """A station's page: its 五个有 checklist for a period (default: the last three
    months), who is on duty today, and the week's roster."""

    show_template = "stations/station.html"

    def extras(self, item) -> dict:
        import datetime

        from flask import request

        def day(name, default):
            try:
                return datetime.date.fromisoformat(request.args.get(name) or "") or default
            except ValueError:
                return default

        end = day("end", clock.today())
        start = day("start", end - datetime.timedelta(days=91))
        if start > end:
            start, end = end, start
        return {"station": item, "checklist": five_haves(item, start, end), "today_slots": on_duty(item),
                "weekdays": WEEKDAYS, "roster": list(item.duty_slots),
                "may_add": can("can_write", "DutySlot")}
