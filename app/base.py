"""The engine's pieces of every table: the constraint naming convention of
``Model.metadata``, who and when (:class:`Tracked`), row versions (:class:`Versioned`) and
exact money (:class:`Money`). The domain builds its own pieces (the places a row belongs
to) on them."""
from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from flask import g, has_request_context
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Numeric, TypeDecorator
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app import clock, scope
from app.declare import field
from app.scope import _acting

__all__ = ["FEN", "Model", "Money", "Tracked", "Versioned", "current_user_id", "now"]

# Named constraints, so that migrations can alter them on SQLite and PostgreSQL alike.
# (FAB's ab_* tables are defined before this and keep their own names.)
Model.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime.datetime:
    return clock.now()


def current_user_id() -> Optional[int]:
    """The id of the user acting (web, API, or a job run on a user's behalf), else None."""
    if _acting.get() is not None:
        return _acting.get().id
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    try:
        return user.id if user is not None and user.is_authenticated else None
    except Exception:  # anonymous or detached
        return None


class Versioned:
    """A workflow row (a demand, a decision, a pledge project, a meeting): every step of
    its workflow first claims it with :func:`app.domain.claim`, a conditional UPDATE on
    the version and the status the step starts from. Of two steps racing from one
    snapshot exactly one wins; the other gets :class:`app.domain.Conflict`."""

    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)


def _user_class() -> type:
    """The user model the domain registered (app.scope.register_user_model), else FAB's:
    resolved when the mappers are configured, after the domain is imported."""
    return scope.user_model() or User


class Tracked:
    """Who created and last changed a row, and when. Every business table has it."""

    created_at: Mapped[Optional[datetime.datetime]] = mapped_column(
        DateTime, default=now, info=field(_l("Created at")))
    updated_at: Mapped[Optional[datetime.datetime]] = mapped_column(
        DateTime, default=now, onupdate=now, info=field(_l("Updated at")))

    @declared_attr
    def created_by_id(cls) -> Mapped[Optional[int]]:
        return mapped_column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"),
                             default=current_user_id, index=True)

    @declared_attr
    def updated_by_id(cls) -> Mapped[Optional[int]]:
        return mapped_column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"),
                             default=current_user_id, onupdate=current_user_id)

    @declared_attr
    def created_by(cls):
        return relationship(_user_class, foreign_keys=[cls.created_by_id], lazy="select",
                            info=field(_l("Created by")))

    @declared_attr
    def updated_by(cls):
        return relationship(_user_class, foreign_keys=[cls.updated_by_id], lazy="select",
                            info=field(_l("Updated by")))

    #: the column shown when a row stands for itself (in lists, pickers, titles)
    __display__ = "name"

    def __repr__(self) -> str:
        value = getattr(self, self.__display__, None)
        return str(value) if value is not None else f"#{getattr(self, 'id', '?')}"

    def __str__(self) -> str:
        return self.__repr__()  # subclasses override __repr__ only

    def validate(self, check) -> None:
        """Domain rules of the entity beyond the schema; report with ``check.error``."""


#: one fen (分), the smallest amount of money
FEN = Decimal("0.01")


class Money(TypeDecorator):
    """Yuan as an exact ``Decimal`` with 2 places, never a float: NUMERIC(12, 2) on
    PostgreSQL; integer fen on SQLite, which has no decimal type (its NUMERIC would
    round through binary floating point, and sums would drift)."""

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if dialect.name == "sqlite":
            return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))
        return amount.quantize(FEN, rounding=ROUND_HALF_UP)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(FEN)
        return Decimal(value).quantize(FEN)
