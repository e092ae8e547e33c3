"""地域: street → community → grid → compound → building → unit, roads and red stations."""
from __future__ import annotations

import datetime
import re
import secrets
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Column, Date, Float, ForeignKey, Integer, String, Table, Text,
                        UniqueConstraint, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock, scope
from app.base import Model, Tracked
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, Scope, field
from app.extensions import db
from app.filters import contains
from models.kernel import orgs
from models.kernel.base import InCommunity


class Street(Tracked, Model):
    """街道 (党工委/办事处): the level above a community."""

    __tablename__ = "street"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, info=field(_l("Name")))
    code: Mapped[Optional[str]] = mapped_column(
        String(9), unique=True,
        info=field(_l("Statistical code"), _l("9 digits (GB/T 2260 county code + 3-digit township code)")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Address")))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Street")
        label_plural = _l("Streets")
        menu = "places"
        icon = "fa-road"
        list_columns = ["name", "code", "address", "phone"]
        search_columns = ["name", "code"]
        form_columns = ["name", "code", "address", "phone", "notes"]
        order = ("name", "asc")
        scope = Scope(street="id")
        related = ["communities"]

    def validate(self, check) -> None:
        if self.code and not re.fullmatch(r"\d{9}", self.code):
            check.error("code", _l("The statistical code of a street has 9 digits."))


class Community(Tracked, Model):
    """社区: e.g. 文化路社区, 3430 households, 12250 residents."""

    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name", name="uq_community_street_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    street: Mapped[Street] = relationship(back_populates="communities", info=field(_l("Street")))
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    code: Mapped[str] = mapped_column(
        String(12), unique=True,
        info=field(_l("Statistical code"), _l("12-digit statistical division code")))
    area_km2: Mapped[Optional[float]] = mapped_column(Float, info=field(_l("Area (km²)")))
    households: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Number of households")))
    population: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Population")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Address")))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Community")
        label_plural = _l("Communities")
        menu = "places"
        icon = "fa-home"
        list_columns = ["name", "code", "street", "households", "population", "phone"]
        search_columns = ["name", "code", "street"]
        form_columns = ["street", "name", "code", "area_km2", "households", "population",
                        "address", "phone", "notes"]
        order = ("code", "asc")
        scope = Scope(street="street_id", community="id")
        related = ["grids", "roads"]
        actions = EXPORT

    def validate(self, check) -> None:
        if self.code is not None and not re.fullmatch(r"\d{12}", self.code):
            check.error("code", _l("The statistical code of a community has 12 digits."))
        elif self.code and self.street is not None and self.street.code \
                and not self.code.startswith(self.street.code):
            check.error("code", _l("The code must start with the street's code %(code)s.",
                                   code=self.street.code))
        for name in ("households", "population"):
            if (getattr(self, name) or 0) < 0:
                check.error(name, _l("Must not be negative."))
        if self.area_km2 is not None and self.area_km2 <= 0:
            check.error("area_km2", _l("Must be greater than zero."))


Street.communities = relationship(Community, back_populates="street", info=field(_l("Communities")),
                                  order_by=Community.code)


class Road(Tracked, Model):
    """街巷: one of the community's roads and lanes (门前四包)."""

    __tablename__ = "road"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_road_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Community] = relationship(backref="roads", info=field(_l("Community")))
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Road")
        label_plural = _l("Roads")
        menu = "places"
        icon = "fa-road"
        list_columns = ["name", "community", "community.street"]
        search_columns = ["name", "community"]
        form_columns = ["community", "name", "notes"]
        order = ("name", "asc")
        scope = Scope(community="community_id")


class Grid(Tracked, Model):
    """网格: one grid worker each, with a backup (AB角)."""

    __tablename__ = "grid"
    __table_args__ = (
        UniqueConstraint("community_id", "code", name="uq_grid_community_code"),
        UniqueConstraint("community_id", "name", name="uq_grid_community_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Community] = relationship(backref="grids", info=field(_l("Community")))
    code: Mapped[str] = mapped_column(String(40), info=field(_l("Grid code")))
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    primary_worker_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    primary_worker = relationship(
        "AppUser", foreign_keys=[primary_worker_id],
        info=field(_l("Grid worker (A)"), _l("The grid worker in charge")))
    backup_worker_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    backup_worker = relationship(
        "AppUser", foreign_keys=[backup_worker_id],
        info=field(_l("Grid worker (B)"), _l("Stands in when the A worker is away")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Grid")
        label_plural = _l("Grids")
        menu = "places"
        icon = "fa-th"
        list_columns = ["code", "name", "community", "primary_worker", "backup_worker"]
        search_columns = ["code", "name", "community", "primary_worker"]
        form_columns = ["community", "code", "name", "primary_worker", "backup_worker", "notes"]
        order = ("code", "asc")
        scope = Scope(community="community_id", grid="id")
        related = ["compounds"]
        actions = EXPORT

    def validate(self, check) -> None:
        if self.primary_worker is not None and self.primary_worker is self.backup_worker:
            check.error("backup_worker", _l("The B worker must be another person than the A worker."))


compound_road = Table(
    "compound_road", Model.metadata,
    Column("compound_id", ForeignKey("compound.id", ondelete="CASCADE"), primary_key=True),
    Column("road_id", ForeignKey("road.id", ondelete="CASCADE"), primary_key=True),
)

#: compound types, fixed codes in the 字典 "compound_type" (labels are editable)
SANWU, UNIT_BUILT, PROPERTY, SELF_BUILT = "sanwu", "unit_built", "property", "self_built"


class Compound(Tracked, Model):
    """小区: 57 in 文化路社区, 28 of them 三无."""

    __tablename__ = "compound"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_compound_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Community] = relationship(info=field(_l("Community")))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)
    grid: Mapped[Optional[Grid]] = relationship(backref="compounds", info=field(_l("Grid")))
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    type: Mapped[str] = mapped_column(
        String(40), info=field(_l("Compound type"), dict_type="compound_type"))
    build_year: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Build year")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Address")))
    roads = relationship(Road, secondary=compound_road, order_by=Road.name,
                         info=field(_l("Roads")))
    households: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Number of households")))
    owner_unit: Mapped[Optional[str]] = mapped_column(
        String(100), info=field(_l("Owner unit"), _l("The unit that built a 单位自建 compound")))
    public_token: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: secrets.token_urlsafe(12),
        info=field(_l("Public notice key"), _l("Part of the public notice's address; not guessable")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Compound")
        label_plural = _l("Compounds")
        menu = "places"
        icon = "fa-building"
        list_columns = ["name", "type", "grid", "grid.community", "build_year", "households"]
        search_columns = ["name", "type", "grid", "community", "address", "build_year"]
        charts = [Chart("by_type", _l("Compounds by type"), dimension="type", kind="pie")]
        form_columns = ["community", "grid", "name", "type", "build_year", "address", "roads",
                        "households", "owner_unit", "notes"]
        order = ("name", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        related = ["buildings", "stations"]
        actions = EXPORT
        show_columns = ["name", "community", "grid", "type", "build_year", "address", "roads", "households",
                        "owner_unit", "notes", "public_notice"]
        labels = {"public_notice": _l("Three heads notice")}

    @property
    def public_notice(self):
        """The printable public 三长 notice of the compound (no login needed)."""
        from flask import url_for
        from flask_babel import gettext
        from markupsafe import Markup, escape

        url = url_for("PublicNoticeView.three_heads", token=self.public_token, _external=True)
        text = gettext("Open the public notice")
        return Markup(f'<a href="{escape(url)}" target="_blank">{escape(text)}</a>')

    def validate(self, check) -> None:
        if self.grid is not None and self.community is not None \
                and self.grid.community_id != self.community.id:
            check.error("grid", _l("This grid belongs to another community."))
        for road in self.roads or []:
            if self.community is not None and road.community_id != self.community.id:
                check.error("roads", _l("Road %(name)s belongs to another community.", name=road.name))
        if self.build_year is not None and not 1900 <= self.build_year <= clock.today().year:
            check.error("build_year", _l("Enter a year between 1900 and this year."))
        if (self.households or 0) < 0:
            check.error("households", _l("Must not be negative."))


class Building(InCommunity, Tracked, Model):
    """楼栋: each has a 楼栋长 (136 in the case study)."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("compound_id", "name", name="uq_building_compound_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Compound] = relationship(backref="buildings", info=field(_l("Compound")))
    name: Mapped[str] = mapped_column(String(50), info=field(_l("Building"), _l("e.g. 1栋")))
    floors: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Floors")))
    households: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Number of households")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Building")
        label_plural = _l("Buildings")
        menu = "places"
        icon = "fa-building-o"
        list_columns = ["name", "compound", "compound.grid", "floors", "households"]
        search_columns = ["name", "compound", "grid", "community"]
        form_columns = ["compound", "name", "floors", "households", "notes"]
        order = ("compound", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "compound.community", "grid": "compound.grid"}
        related = ["units"]

    #: a building names itself with its compound: "建材宿舍 1栋"
    __display_loads__ = ["compound"]

    def __repr__(self) -> str:
        compound = self.compound.name if self.compound is not None else ""
        return f"{compound} {self.name or ''}".strip()

    @classmethod
    def picker_filter(cls, text: str):
        from sqlalchemy import or_

        return or_(contains(cls.name, text), cls.compound.has(contains(Compound.name, text)))

    @classmethod
    def lookup(cls, text: str, session, stmt):
        """The building named "小区 楼栋" (as shown and exported)."""
        parts = (text or "").split()
        if len(parts) < 2:
            return stmt.where(cls.name == text)
        return stmt.join(cls.compound).where(Compound.name == " ".join(parts[:-1]), cls.name == parts[-1])

    def validate(self, check) -> None:
        for name in ("floors", "households"):
            if (getattr(self, name) or 0) < 0:
                check.error(name, _l("Must not be negative."))


class Unit(InCommunity, Tracked, Model):
    """单元 (stairwell unit): each has a 单元长 (274 in the case study)."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "name", name="uq_unit_building_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    building: Mapped[Building] = relationship(backref="units", info=field(_l("Building")))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Compound] = relationship(info=field(_l("Compound")))
    name: Mapped[str] = mapped_column(String(50), info=field(_l("Unit"), _l("e.g. 1单元")))
    households: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Number of households")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Unit")
        label_plural = _l("Units")
        menu = "places"
        icon = "fa-columns"
        list_columns = ["name", "building", "compound", "grid", "households"]
        search_columns = ["name", "building", "compound", "grid"]
        form_columns = ["building", "name", "households", "notes"]
        order = ("compound", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"compound": "building.compound", "community": "building.community",
                  "grid": "building.grid"}

    #: a unit names itself with its compound and building: "建材宿舍 1栋 2单元"
    __display_loads__ = ["compound", "building"]

    def __repr__(self) -> str:
        parts = [self.compound.name if self.compound is not None else "",
                 self.building.name if self.building is not None else "", self.name or ""]
        return " ".join(p for p in parts if p)

    @classmethod
    def picker_filter(cls, text: str):
        from sqlalchemy import or_

        return or_(contains(cls.name, text), cls.compound.has(contains(Compound.name, text)),
                   cls.building.has(contains(Building.name, text)))

    @classmethod
    def lookup(cls, text: str, session, stmt):
        """The unit named "小区 楼栋 单元" (as shown and exported)."""
        parts = (text or "").split()
        if len(parts) < 3:
            return stmt.where(False)
        return (stmt.join(cls.building).join(Building.compound)
                .where(Compound.name == " ".join(parts[:-2]), Building.name == parts[-2], cls.name == parts[-1]))


#: The linkage parties of a red station by compound type (GLOSSARY.md). Each party is
#: (lazy label, organisation type code that fills it, where that organisation sits:
#: "community" = in the station's community, "compound" = in the station's compound).
LINKAGE = {
    UNIT_BUILT: [(_l("Residents' committee"), "residents_committee", "community"),
                 (_l("Owner unit"), None, None),
                 (_l("Party group"), "party_group", "compound"),
                 (_l("Owners' committee"), "owners_committee", "compound")],
    SANWU: [(_l("Residents' committee"), "residents_committee", "community"),
            (_l("Self-management committee"), "self_management", "compound"),
            (_l("Party group"), "party_group", "compound")],
    PROPERTY: [(_l("Residents' committee"), "residents_committee", "community"),
               (_l("Grid party branch"), "grid_branch", "grid"),
               (_l("Owners' committee"), "owners_committee", "compound"),
               (_l("Property company"), "property_company", "compound")],
}
# 自建房 compounds have neither an owner unit nor a property company: like 三无
# compounds, their station links the residents' committee, a 自管委 and the party group.
LINKAGE[SELF_BUILT] = LINKAGE[SANWU]


def compound_linkage(compound) -> list[tuple]:
    """A compound's linkage parties (LINKAGE by its type), each with the organisation
    that fills it (the owner unit's name for unit-built compounds), or None where none
    is registered yet. What a station shows and what a joint meeting invites."""
    parties = LINKAGE.get(compound.type, [])
    codes = {code for _label, code, _where in parties if code}
    Organisation = orgs.Organisation
    filled = db.session.scalars(select(Organisation).where(
        Organisation.type.in_(codes),
        Organisation.community_id == compound.community_id)).all() if codes else []
    result = []
    for label, code, where in parties:
        match = None
        if code is None:
            result.append((label, compound.owner_unit or None))
            continue
        for org in filled:
            if org.type != code:
                continue
            if where == "community" and org.compound_id is None:
                match = org
            elif where == "compound" and org.compound_id == compound.id:
                match = org
            elif where == "grid" and compound.grid_id and org.grid_id == compound.grid_id:
                match = org
            if match:
                break
        result.append((label, match))
    return result


class Station(InCommunity, Tracked, Model):
    """红色驿站: the service point of a compound; 阵地 is its room."""

    __tablename__ = "station"
    __table_args__ = (UniqueConstraint("compound_id", name="uq_station_compound"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Compound] = relationship(backref="stations", info=field(_l("Compound")))
    name: Mapped[str] = mapped_column(String(100), info=field(_l("Name")))
    room: Mapped[Optional[str]] = mapped_column(
        String(200), info=field(_l("Room (阵地)"), _l("Where the station meets: building and room")))
    opened_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Opened on")))
    area: Mapped[Optional[int]] = mapped_column(Integer, info=field(_l("Area (m²)")))
    phone: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Phone")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Red station")
        label_plural = _l("Red stations")
        menu = "places"
        icon = "fa-flag"
        list_columns = ["name", "compound", "compound.type", "grid", "room", "opened_on"]
        search_columns = ["name", "compound", "grid"]
        show_columns = ["name", "compound", "community", "grid", "room", "area", "opened_on", "phone",
                        "linkage_text", "notes"]
        form_columns = ["compound", "name", "room", "area", "opened_on", "phone", "notes"]
        order = ("name", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        derive = {"community": "compound.community", "grid": "compound.grid"}
        labels = {"linkage_text": _l("Linkage parties"), "compound.type": _l("Compound type")}
        related = ["duty_slots", "charters"]  # 坐班 and 有制度 (models.cobuilding.stations)

    def linkage(self) -> list[tuple]:
        """The station's linkage parties, each with the organisation that fills it
        (or None where none is registered yet), derived from the compound type."""
        return compound_linkage(self.compound) if self.compound is not None else []

    @property
    def linkage_text(self) -> str:
        from flask_babel import gettext

        missing = gettext("not set up yet")
        return "\n".join(gettext("%(party)s: %(organisation)s", party=label, organisation=org or missing)
                         for label, org in self.linkage())


#: data scope reads this tree (app.scope): a user's scope node is a street, community or grid
scope.register_places(Street, Community, Grid)
