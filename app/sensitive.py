"""Sensitive personal data (PIPL): declared on columns, masked everywhere, revealed
one value at a time by permitted roles, and every reveal is logged.

A column declares ``field(..., sensitive="id" | "phone" | "secret" | "date" | "minor_name")``:

* ``id``     ID numbers: ``4209**********123X``
* ``phone``  phone numbers: ``138****1234``
* ``secret`` whole value hidden: ``***`` (special-group membership and its details)
* ``date``   nothing: ``****-**-**``
* ``minor_name``  a name, masked (``张*``) only when its row is a child under 14 —
  all other sensitive values of such a row are masked as well.

Everything that shows rows — lists, show pages, exports (:class:`app.interface.Interface`),
the API (:class:`app.api.MaskedField`), pickers (the model's ``__repr__``) — calls
:func:`shown`. Roles holding ``can_reveal`` on ``SensitiveData`` may reveal a value
(:func:`reveal`), which writes an audit-log row: who, what, when, from where.
"""
from __future__ import annotations

from flask import has_request_context, request

from app import clock
from app.base import current_user_id
from app.extensions import begin_writing, db
from app.standards import mask_id_number, mask_name, mask_phone

PERMISSION = ("can_reveal", "SensitiveData")
MASKED_SECRET = "***"


def kind_of(model, column: str) -> str | None:
    table = getattr(model, "__table__", None)
    if table is None or column not in table.columns:
        return None
    return table.columns[column].info.get("sensitive")


def columns_of(model) -> dict[str, str]:
    """{column name: kind} of the model's sensitive columns."""
    return {c.key: c.info["sensitive"] for c in model.__table__.columns if c.info.get("sensitive")}


def is_minor_row(obj) -> bool:
    return bool(getattr(obj, "is_minor", False))


def mask(kind: str, value) -> str:
    if value is None or value == "":
        return ""
    if kind == "id":
        return mask_id_number(str(value))
    if kind == "phone":
        return mask_phone(str(value))
    if kind in ("minor_name", "name"):
        return mask_name(str(value))
    if kind == "date":
        return "****-**-**"  # a year beside a masked ID number would narrow it down
    return MASKED_SECRET


def shown(obj, column: str, value):
    """How ``value`` of ``obj.column`` is shown to anyone (masked when sensitive)."""
    kind = kind_of(type(obj), column)
    if kind is None:
        return value
    if kind == "minor_name":
        return mask(kind, value) if is_minor_row(obj) else value
    return mask(kind, value)


def can_reveal() -> bool:
    from flask import current_app

    return has_request_context() and current_app.appbuilder.sm.has_access(*PERMISSION)


def reveal(obj, column: str, *, commit: bool = True) -> str:
    """The real value of a sensitive column, written to the audit log first."""
    from app import domain, records, registry  # deferred: they import this module (via app.api)

    kind = kind_of(type(obj), column)
    if kind is None:
        raise domain.DomainError("not a sensitive column", column)
    user = getattr(__import__("flask").g, "user", None)
    db.session.add(records.AuditLog(
        user_id=current_user_id(), username=getattr(user, "username", None), action="reveal",
        entity=type(obj).__name__, entity_id=str(obj.id),
        summary=f"{obj}·{registry.label(type(obj), column)}"[:200],
        ip=request.remote_addr if has_request_context() else None))
    if commit:
        db.session.commit()
    value = getattr(obj, column)
    return "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))


def log_export(model, count: int) -> None:
    """An export with unmasked sensitive data is one logged reveal of many rows."""
    from flask import g

    from app import records  # deferred: app.records imports this module (via app.crud, app.api)

    begin_writing()  # a GET that writes (SQLite: after its reads, take the write lock)
    user = getattr(g, "user", None)
    what = request.query_string.decode("utf-8", "replace") if has_request_context() else ""
    db.session.add(records.AuditLog(
        user_id=current_user_id(), username=getattr(user, "username", None), action="reveal_export",
        entity=model.__name__, entity_id=None, summary=f"{count} · {what}"[:200],
        ip=request.remote_addr if has_request_context() else None))
    db.session.commit()


def watermark_text(user=None) -> str:
    """The watermark of a page that shows revealed data: who looked, and when."""
    from flask import g

    user = user if user is not None else g.get("user")
    name = user.get_full_name() if user is not None and hasattr(user, "get_full_name") else ""
    username = getattr(user, "username", "") or ""
    who = f"{name}（{username}）" if name and name != username else username
    return f"{who} {clock.now():%Y-%m-%d %H:%M}"
