"""Shared pieces of the domain's models that are about places (the engine's generic
pieces — Model, Tracked, Versioned, Money, now — are in :mod:`app.base`)."""
from __future__ import annotations

from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.declare import field

__all__ = ["InCommunity"]


class InCommunity:
    """The community (required) and grid (optional) a row belongs to: what the data
    scope filters on. Most rows take them from a parent (``Admin.derive``)."""

    @declared_attr
    def community_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("community.id"), index=True, nullable=False)

    @declared_attr
    def community(cls):
        return relationship("Community", foreign_keys=[cls.community_id], info=field(_l("Community")))

    @declared_attr
    def grid_id(cls) -> Mapped[Optional[int]]:
        return mapped_column(Integer, ForeignKey("grid.id"), index=True, nullable=True)

    @declared_attr
    def grid(cls):
        return relationship("Grid", foreign_keys=[cls.grid_id], info=field(_l("Grid")))
