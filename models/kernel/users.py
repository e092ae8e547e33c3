"""Users (FAB's ab_user) with a data scope: a node (street, community or grid) and a kind.
See app.scope for how the scope limits what a user sees; AppUser is registered as the
security manager's user model (app.scope.register_user_model)."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import scope as scope_mod
from app.declare import Scope, field
from app.domain import DomainError
from app.filters import contains
from app.scope import load_node, node_key, node_label, scope_problem  # noqa: F401  (the node helpers)
from models.kernel.places import Community, Grid, Street


class AppUser(User):
    """FAB's user (table ab_user) with a data scope: a node and a kind."""

    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}
    __display__ = "username"  # how the API names a user in nested objects
    #: accounts are seen (in pickers) by the users whose scope covers the account's
    #: own scope node: a community's workers see the community's accounts, not the
    #: system, security and audit administrators
    __scope__ = Scope(street="scope_street_id", community="scope_community_id", grid="scope_grid_id")

    @classmethod
    def picker_filter(cls, text: str):
        """Accounts are found by full name (surname first) or user name."""
        from sqlalchemy import or_

        return or_(contains(cls.username, text), contains(cls.last_name + cls.first_name, text),
                   contains(cls.first_name, text), contains(cls.last_name, text))

    scope_kind: Mapped[Optional[str]] = mapped_column(
        String(16), default=scope_mod.SELF, info=field(_l("Scope kind")))
    scope_street_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("street.id", use_alter=True, name="fk_ab_user_scope_street_id"))
    scope_community_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("community.id", use_alter=True, name="fk_ab_user_scope_community_id"))
    scope_grid_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("grid.id", use_alter=True, name="fk_ab_user_scope_grid_id"))
    #: the password was set by someone else (a new account, an administrator's reset):
    #: the user chooses their own at the next sign-in (app.passwords)
    must_change_password: Mapped[Optional[bool]] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)
    #: moves on with every password change: sessions signed in before it end (app.sessions)
    session_epoch: Mapped[Optional[int]] = mapped_column(Integer, default=0)
    scope_street = relationship("Street", foreign_keys=[scope_street_id])
    scope_community = relationship("Community", foreign_keys=[scope_community_id])
    scope_grid = relationship("Grid", foreign_keys=[scope_grid_id])

    def get_full_name(self) -> str:
        """Chinese names read surname first, without a space."""
        first, last = self.first_name or "", self.last_name or ""
        if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    @property
    def scope_node(self):
        return self.scope_grid or self.scope_community or self.scope_street

    @property
    def scope_text(self) -> str:
        node = self.scope_node
        kind = scope_mod.KINDS.get(self.scope_kind or scope_mod.SELF, "")
        return f"{node_label(node)} · {kind}" if node is not None else str(kind)

    def set_scope(self, kind: str, node) -> None:
        """Bind the user to ``node`` (a Street, Community, Grid or None) with ``kind``;
        the ids above the node are filled in. Raises DomainError when they do not fit."""
        problem = scope_problem(kind, node)
        if problem:
            raise DomainError(problem, "scope_node")
        self.scope_kind = kind
        self.scope_grid = node if isinstance(node, Grid) else None
        self.scope_community = node if isinstance(node, Community) else (
            node.community if isinstance(node, Grid) else None)
        community = self.scope_community
        self.scope_street = node if isinstance(node, Street) else (
            community.street if community is not None else None)


#: the accounts of the security manager (app.security) are these
scope_mod.register_user_model(AppUser)
