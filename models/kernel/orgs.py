"""组织: one organisation tree (party organisations, committees, units, teams) and positions."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, literal,
                        update)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.base import Model, Tracked
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.domain import changed
from app.extensions import db
from models.kernel.places import Community, Compound, Grid, Street
from models.kernel.policy import UNIT_ACCOUNT_ROLES, UNIT_ROLE
from models.kernel.users import AppUser


class Organisation(Tracked, Model):
    """A node of the organisation tree; ``path`` is its materialised path "/1/5/12/"."""

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_organisation_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    type: Mapped[str] = mapped_column(
        String(40), index=True, info=field(_l("Organisation type"), dict_type="org_type"))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organisation.id"), index=True)
    parent = relationship("Organisation", remote_side=[id],
                          backref=backref("children", order_by="Organisation.name"),
                          info=field(_l("Parent organisation")))
    path: Mapped[Optional[str]] = mapped_column(String(400), index=True)
    street_id: Mapped[Optional[int]] = mapped_column(ForeignKey("street.id"), index=True)
    street: Mapped[Optional[Street]] = relationship(info=field(_l("Street")))
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Optional[Community]] = relationship(
        info=field(_l("Community"), _l("Empty for organisations of the street level")))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)
    grid: Mapped[Optional[Grid]] = relationship(info=field(_l("Grid")))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(
        info=field(_l("Compound"), _l("Only for organisations of one compound")))
    contact: Mapped[Optional[str]] = mapped_column(String(50), info=field(_l("Contact person")))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Address")))
    members: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Members")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Organisation")
        label_plural = _l("Organisations")
        menu = "orgs"
        icon = "fa-sitemap"
        list_columns = ["name", "type", "parent", "community", "compound", "contact", "phone"]
        search_columns = ["name", "type", "parent", "community", "grid", "compound"]
        form_columns = ["parent", "name", "type", "street", "community", "grid", "compound",
                        "contact", "phone", "address", "members", "notes"]
        order = ("path", "asc")
        scope = Scope(street="street_id", community="community_id", grid="grid_id")
        # A compound implies its grid and community, a grid its community, a community
        # its street (taken when left empty; what is given must agree, see validate).
        fill = [("grid", "compound.grid"), ("community", "compound.community"),
                ("community", "grid.community"), ("street", "community.street")]
        related = ["children", "positions"]
        actions = EXPORT

    def validate(self, check) -> None:
        if self.compound is not None:
            if self.community is not None and self.compound.community_id != self.community.id:
                check.error("compound", _l("This compound belongs to another community."))
            if self.grid is not None and self.compound.grid_id not in (None, self.grid.id):
                check.error("grid", _l("This compound belongs to another grid."))
        if self.grid is not None and self.community is not None \
                and self.grid.community_id != self.community.id:
            check.error("grid", _l("This grid belongs to another community."))
        if self.community is not None and self.street is not None \
                and self.community.street_id != self.street.id:
            check.error("community", _l("This community belongs to another street."))
        if self.parent is None and self.name:
            self._unique_root_name(check)
        # Tree: no cycles; a child sits in its parent's place.
        node, seen = self.parent, set()
        while node is not None:
            if node is self or (self.id is not None and node.id == self.id):
                check.error("parent", _l("An organisation cannot be placed under itself or its own sub-organisation."))
                break
            if id(node) in seen:
                break
            seen.add(id(node))
            node = node.parent
        parent = self.parent
        if parent is not None and parent.community_id is not None and self.community is not None \
                and parent.community_id != self.community.id:
            check.error("parent", _l("The parent organisation belongs to another community."))

    def _unique_root_name(self, check) -> None:
        """Top-level organisations are unique by name within their community (or street)."""
        from sqlalchemy import select

        place = (Organisation.community_id == self.community.id) if self.community is not None else (
            (Organisation.community_id.is_(None)) & (Organisation.street_id == (self.street.id if self.street else None)))
        stmt = select(Organisation.id).where(Organisation.parent_id.is_(None), Organisation.name == self.name, place)
        if self.id is not None:
            stmt = stmt.where(Organisation.id != self.id)
        with db.session.no_autoflush:
            if db.session.execute(stmt.limit(1)).first() is not None:
                check.error("name", _l("%(label)s “%(value)s” already exists.", label=_l("Name"), value=self.name))

    def before_save(self, session) -> None:
        """Keep the materialised paths of this node and its subtree in step."""
        old = self.path
        if self.id is None:
            session.add(self)
            session.flush()
        new = (self.parent.path if self.parent is not None and self.parent.path else "/") + f"{self.id}/"
        if old != new:
            self.path = new
            if old:
                session.execute(
                    update(Organisation)
                    .where(Organisation.path.like(old + "%"), Organisation.id != self.id)
                    .values(path=literal(new, String).concat(
                        func.substr(Organisation.path, len(old) + 1)))
                    .execution_options(synchronize_session=False))


class Position(Tracked, Model):
    """职务: a person (or user) holding a title in an organisation (书记, 委员, 组长…)."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                                 index=True)
    organisation: Mapped[Organisation] = relationship(
        backref=backref("positions", cascade="all, delete-orphan"),
        info=field(_l("Organisation")))
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Optional[Community]] = relationship(info=field(_l("Community")))
    street_id: Mapped[Optional[int]] = mapped_column(ForeignKey("street.id"), index=True)
    street: Mapped[Optional[Street]] = relationship(info=field(_l("Street")))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)
    grid: Mapped[Optional[Grid]] = relationship(info=field(_l("Grid")))
    title: Mapped[str] = mapped_column(String(40), info=field(_l("Title"), dict_type="position_title"))
    holder_name: Mapped[str] = mapped_column(String(50), info=field(_l("Holder")))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    user = relationship("AppUser", foreign_keys=[user_id],
                        info=field(_l("User account"), _l(
                            "Only an account of the partner-unit liaison role: it takes the unit's demands"),
                            picker_where=lambda: unit_account_condition()))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))
    since: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Since")))
    until: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Until")))

    __display__ = "holder_name"

    class Admin(AdminBase):
        label = _l("Position")
        label_plural = _l("Positions")
        menu = "orgs"
        icon = "fa-id-badge"
        list_columns = ["holder_name", "title", "organisation", "organisation.parent", "phone", "since"]
        search_columns = ["holder_name", "title", "organisation", "community"]
        form_columns = ["organisation", "title", "holder_name", "user", "phone", "since", "until"]
        order = ("organisation", "asc")
        scope = Scope(street="street_id", community="community_id", grid="grid_id")
        derive = {"community": "organisation.community", "street": "organisation.street",
                  "grid": "organisation.grid"}
        actions = EXPORT

    def validate(self, check) -> None:
        if self.since and self.until and self.until < self.since:
            check.error("until", _l("The end date is before the start date."))
        if self.user is not None and changed(self, "user") and not is_unit_account(self.user):
            check.error("user", _l("Only an account of the partner-unit liaison role can hold a position: the "
                                   "position makes it a taker of the unit's demands. “%(name)s” is not such an "
                                   "account.", name=self.user.username))


def _role_names(user) -> set[str]:
    return {role.name for role in (user.roles or [])}


def is_unit_account(user) -> bool:
    """Whether ``user`` is an account of a partner unit: it holds the liaison role, and
    no role besides the other taker role (never a leader's or a worker's account)."""
    names = _role_names(user)
    return UNIT_ROLE in names and names <= set(UNIT_ACCOUNT_ROLES)


def unit_account_condition():
    """The SQL condition of :func:`is_unit_account` (what the position's account picker offers)."""
    from flask_appbuilder.security.sqla.models import Role

    return AppUser.roles.any(Role.name == UNIT_ROLE) & ~AppUser.roles.any(Role.name.notin_(UNIT_ACCOUNT_ROLES))
