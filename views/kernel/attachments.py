"""Attachments on a record's page: a mixin for custom show views (with
:class:`app.crud.WithExtras`) adding the list, the upload, the removal and the download,
all through :mod:`models.kernel.attachments`; writing needs the entity's ``can_write``."""
from __future__ import annotations

from flask import abort, current_app, flash, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app import scope, uploads
from app.domain import DomainError
from app.crud import attempt
from models.kernel import attachments


class AttachmentsMixin:
    """Put before the generated view; call ``attachment_extras(item)`` in ``extras``."""

    attachment_permissions = {"attach": "write", "detach": "write", "attachment": "read"}

    def attachment_extras(self, item) -> dict:
        name = type(self).__name__
        return {"attachments": attachments.attachments_of(item), "record_id": item.id,
                "attach_url": url_for(f"{name}.attach", pk=item.id), "file_endpoint": f"{name}.attachment",
                "detach_endpoint": f"{name}.detach", "max_attachments": attachments.MAX_ATTACHMENTS,
                "max_mb": uploads.megabytes(attachments.MAX_ATTACHMENT_BYTES),
                "may_attach": current_app.appbuilder.sm.has_access("can_write", self.class_permission_name)}

    @expose("/attach/<int:pk>", methods=["POST"])
    @has_access
    def attach(self, pk):
        item = self._visible(pk)
        with attempt() as outcome:
            made = attachments.attach(item, request.files.getlist("files"), scope.acting_user())
        if outcome.ok:
            flash(gettext("Attached: %(n)s files.", n=len(made)), "success")
        return self._back(pk)

    @expose("/detach/<int:pk>/<int:attachment_id>", methods=["POST"])
    @has_access
    def detach(self, pk, attachment_id):
        item = self._visible(pk)
        try:
            name = attachments.detach(item, attachment_id, scope.acting_user())
        except DomainError:
            abort(404)
        flash(gettext("Removed: %(name)s.", name=name), "success")
        return self._back(pk)

    @expose("/attachment/<int:pk>/<int:attachment_id>")
    @has_access
    def attachment(self, pk, attachment_id):
        item = self._visible(pk)
        row = next((a for a in attachments.attachments_of(item) if a.id == attachment_id), None)
        if row is None:
            abort(404)
        return uploads.send(type(item).__tablename__, row.stored_as, row.filename, row.content_type)
