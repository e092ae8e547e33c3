"""The bulletins' pages: a bulletin's page (attachments, what it reports, print), the
printable bulletin, and the archive (every issue by year).

The body is stored sanitized (:mod:`app.richtext`, in the one save path); attachments
are checked by content and stored by :mod:`app.uploads`.
"""
from __future__ import annotations

from flask import abort, flash, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, scope, uploads
from app.api import bounded_int
from app.crud import WithExtras
from app.domain import DomainError
from app.extensions import db
from app.registry import generated_view, override
from app.richtext import sanitize
from models.bulletins import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, Bulletin, BulletinAttachment
from models.honours import ELECTED, StarNominee
from models.people import Person
from views.honours import public_name
from views.service import _flash_errors
from views.volunteers import _can

_GeneratedBulletin = generated_view(Bulletin)


@override(Bulletin)
class BulletinView(WithExtras, _GeneratedBulletin):
    show_template = "bulletins/bulletin.html"
    method_permission_name = {**_GeneratedBulletin.method_permission_name, "attach": "write", "detach": "write",
                              "file": "read", "printable": "read", "archive": "read"}

    def extras(self, item) -> dict:
        return {"bulletin": item, "attachments": list(item.attachments), "may_edit": _can("can_write", "Bulletin"),
                "max_attachments": MAX_ATTACHMENTS, "max_mb": uploads.megabytes(MAX_ATTACHMENT_BYTES)}

    @expose("/attach/<int:pk>", methods=["POST"])
    @has_access
    def attach(self, pk):
        """Add attachments (photos, PDF, Word, Excel, PowerPoint), all or none."""
        bulletin = self._visible(pk)
        files = [f for f in request.files.getlist("files") if f and f.filename]
        stored = []
        try:
            if not files:
                raise DomainError(_l("Choose the files to attach."), field="files")
            if len(bulletin.attachments) + len(files) > MAX_ATTACHMENTS:
                raise DomainError(_l("At most %(n)s attachments a bulletin.", n=MAX_ATTACHMENTS), field="files")
            checked = [uploads.check(f, uploads.DOCUMENT_TYPES, MAX_ATTACHMENT_BYTES, field="files") for f in files]
            user = scope.acting_user()
            for item in checked:
                name = uploads.store("bulletin", item)
                stored.append(name)
                db.session.add(BulletinAttachment(bulletin_id=bulletin.id, filename=item.filename, stored_as=name,
                                                  content_type=item.content_type, size=len(item.content),
                                                  uploaded_at=clock.now(), uploaded_by_id=getattr(user, "id", None)))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            for name in stored:
                uploads.remove("bulletin", name)
            _flash_errors(error)
        except Exception:
            db.session.rollback()
            for name in stored:
                uploads.remove("bulletin", name)
            raise
        else:
            flash(gettext("Attached: %(n)s files.", n=len(files)), "success")
        return self._back(pk)

    @expose("/detach/<int:pk>/<int:attachment_id>", methods=["POST"])
    @has_access
    def detach(self, pk, attachment_id):
        bulletin = self._visible(pk)
        attachment = next((a for a in bulletin.attachments if a.id == attachment_id), None)
        if attachment is None:
            abort(404)
        name, filename = attachment.stored_as, attachment.filename
        db.session.delete(attachment)
        db.session.commit()
        uploads.remove("bulletin", name)
        flash(gettext("Removed: %(name)s.", name=filename), "success")
        return self._back(pk)

    @expose("/file/<int:attachment_id>")
    @has_access
    def file(self, attachment_id):
        """An attachment, for whoever may read its bulletin."""
        attachment = db.session.get(BulletinAttachment, attachment_id)
        if attachment is None:
            abort(404)
        self._visible(attachment.bulletin_id)
        return uploads.send("bulletin", attachment.stored_as, attachment.filename, attachment.content_type)

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
