"""The bulletins' pages: a bulletin's page (attachments, what it reports, print), the
printable bulletin, and the archive (every issue by year).

The body is stored sanitized (:mod:`app.richtext`, in the one save path); attachments
are checked by content and stored by :mod:`app.uploads`.
"""
from __future__ import annotations

from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import scope
from app.crud import WithExtras
from app.extensions import db
from app.registry import generated_view, override
from app.richtext import sanitize
from models.volunteers.bulletins import Bulletin
from models.volunteers.honours import ELECTED, StarNominee
from models.people.people import Person
from views.volunteers.honours import public_name
from views.kernel.attachments import AttachmentsMixin

_GeneratedBulletin = generated_view(Bulletin)


@override(Bulletin)
class BulletinView(AttachmentsMixin, WithExtras, _GeneratedBulletin):
    show_template = "bulletins/bulletin.html"
    method_permission_name = {**_GeneratedBulletin.method_permission_name, "printable": "read", "archive": "read",
                              **AttachmentsMixin.attachment_permissions}

    def extras(self, item) -> dict:
        return {**self.attachment_extras(item), "bulletin": item}

    @expose("/print/<int:pk>")
    @has_access
    def printable(self, pk):
        """The bulletin as printed: masthead, body, the activities and stars it reports.
        Stars' names are masked (张*) unless they agreed, as on every public page."""
        bulletin = self._visible(pk)
        stars = []
        if bulletin.star_rounds:
            rows = db.session.scalars(select(StarNominee).where(
                StarNominee.round_id.in_([r.id for r in bulletin.star_rounds]), StarNominee.decision == ELECTED)
                .options(joinedload(StarNominee.person).joinedload(Person.compound))
                .order_by(StarNominee.round_id, StarNominee.id)).all()
            by_round = {r.id: [] for r in bulletin.star_rounds}
            for row in rows:
                by_round[row.round_id].append({"name": public_name(row.person, row.publish_name),
                                               "reason": row.reason})
            stars = [(r, by_round[r.id]) for r in bulletin.star_rounds]
        return self.render_template("bulletins/print.html", bulletin=bulletin, body=sanitize(bulletin.body),
                                    stars=stars, title=str(bulletin))

    @expose("/archive/")
    @has_access
    def archive(self):
        """Every issue of the user's communities, newest first, by year."""
        rows = db.session.execute(scope.apply(
            select(Bulletin.id, Bulletin.number, Bulletin.title, Bulletin.issued_on, Bulletin.community_id), Bulletin)
            .order_by(Bulletin.issued_on.desc(), Bulletin.number.desc())).all()
        years: dict = {}
        for row in rows:
            years.setdefault(row.issued_on.year, []).append(row)
        return self.render_template("bulletins/archive.html", years=years, total=len(rows),
                                    title=gettext("Bulletin archive"))


def install(appbuilder) -> None:
    appbuilder.add_link("BulletinArchive", href="/bulletin/archive/", label=_l("Bulletin archive"),
                        icon="fa-archive", category="honours")
