"""Attachments of any record (a pledge project's photos, a meeting's signed minutes, a
bulletin's PDF): files checked by content and stored by :mod:`app.uploads`, listed on the
record's page, downloaded by whoever may read the record."""
from __future__ import annotations

import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app import clock, domain, uploads
from app.base import Model
from app.extensions import db

#: at most this many files per record, each at most this large
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class Attachment(Model):
    """A file attached to a record (``owner`` is the entity name, ``owner_id`` its id)."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))


def attachments_of(item) -> list[Attachment]:
    return db.session.scalars(select(Attachment).where(Attachment.owner == type(item).__name__,
                                                       Attachment.owner_id == item.id)
                              .order_by(Attachment.id)).all()


def attach(item, files, user=None) -> list[Attachment]:
    """Attach uploaded files to ``item``: each checked by content (photos, PDF, Word, Excel,
    PowerPoint), all or none — a refused file leaves nothing stored."""
    from flask_babel import lazy_gettext as _l

    domain.require_visible(item, user)
    files = [f for f in files if f and getattr(f, "filename", None)]
    if not files:
        raise domain.DomainError(_l("Choose the files to attach."), field="files")
    if len(attachments_of(item)) + len(files) > MAX_ATTACHMENTS:
        raise domain.DomainError(_l("At most %(n)s attachments a record.", n=MAX_ATTACHMENTS), field="files")
    checked = [uploads.check(f, uploads.DOCUMENT_TYPES, MAX_ATTACHMENT_BYTES, field="files") for f in files]
    kind = type(item).__tablename__
    stored, made = [], []
    try:
        for one in checked:
            name = uploads.store(kind, one)
            stored.append(name)
            made.append(Attachment(owner=type(item).__name__, owner_id=item.id, filename=one.filename,
                                   stored_as=name, content_type=one.content_type, size=len(one.content),
                                   uploaded_at=clock.now(), uploaded_by_id=getattr(user, "id", None)))
        db.session.add_all(made)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for name in stored:
            uploads.remove(kind, name)
        raise
    return made


def detach(item, attachment_id: int, user=None) -> str:
    """Remove an attachment of ``item``; its file goes after the row. The file name."""
    from flask_babel import lazy_gettext as _l

    domain.require_visible(item, user)
    row = next((a for a in attachments_of(item) if a.id == attachment_id), None)
    if row is None:
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    name, stored = row.filename, row.stored_as
    db.session.delete(row)
    db.session.commit()
    uploads.remove(type(item).__tablename__, stored)
    return name
