"""人员: residents and households, merchants, special groups, party members, 三长, staff.

Codes follow the national standards (GB/T 2261.1 sex, GB/T 3304 ethnicity, GB/T 4762
political status, GB/T 4761 household relation) and live in the 字典; ID numbers are
checked by GB 11643 (app/standards.py). Personal data is sensitive (PIPL): ID numbers,
phones, special-group membership and children's names are masked (app/sensitive.py).
"""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import clock
from app import standards
from app.base import Model, Tracked
from app.charts import Chart
from app.declare import Admin as AdminBase, EXPORT, IMPORT, Scope, field
from app.dictionary import label_of, register_dict_type
from app.extensions import db
from app.filters import contains
from app.sensitive import mask, shown
from models.kernel.base import InCommunity
from models.kernel.orgs import Organisation, Position
from models.kernel.places import Building, Community, Compound, Grid, Road, Unit

for _code, _label in (
        ("gender", _l("Sex (GB/T 2261.1)")), ("ethnicity", _l("Ethnicity (GB/T 3304)")),
        ("political_status", _l("Political status (GB/T 4762)")),
        ("household_relation", _l("Relation to the head (GB/T 4761)")),
        ("residence_type", _l("Residence type")), ("special_group_type", _l("Special group type")),
        ("disability_category", _l("Disability category")), ("disability_level", _l("Disability level")),
        ("merchant_type", _l("Business type"))):
    register_dict_type(_code, _label)

HEAD = "02"  # GB/T 4761: 户主
FLOATING = "floating"
DISABLED = "disabled"


def _my_care_group(user):
    """The care groups a signed-in party member belongs to (for 仅本人 users)."""
    from models.people.care import CareGroup  # deferred: care's tables are built on people's classes (a cycle)

    return CareGroup.members.any(PartyMember.user_id == user.id)


def _my_party_members(user):
    """A 仅本人 user's own membership, and the members of the units the user liaises for."""
    from sqlalchemy import or_

    units = select(Position.organisation_id).where(Position.user_id == user.id)
    return or_(PartyMember.user_id == user.id, PartyMember.employer_unit_id.in_(units))


class Household(InCommunity, Tracked, Model):
    """户: a dwelling (unit and room) and the people registered in it."""

    __tablename__ = "household"
    __table_args__ = (UniqueConstraint("unit_id", "room", name="uq_household_unit_room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Unit] = relationship(info=field(_l("Unit")))
    room: Mapped[str] = mapped_column(String(20), info=field(_l("Room"), _l("e.g. 301")))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    building: Mapped[Building] = relationship(info=field(_l("Building")))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Compound] = relationship(info=field(_l("Compound")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    __display_loads__ = ["compound", "building", "unit"]

    class Admin(AdminBase):
        label = _l("Household")
        label_plural = _l("Households")
        menu = "people"
        icon = "fa-home"
        list_columns = ["unit", "room", "head_name", "member_count", "grid"]
        search_columns = ["unit", "room", "compound", "building", "grid"]
        show_columns = ["unit", "room", "compound", "grid", "head_name", "member_count", "notes"]
        form_columns = ["unit", "room", "notes"]
        labels = {"head_name": _l("Head of household"), "member_count": _l("Members")}
        loads = ["members"]
        order = ("compound", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True)
        derive = {"building": "unit.building", "compound": "unit.compound",
                  "community": "unit.community", "grid": "unit.grid"}
        related = ["members"]
        actions = {**EXPORT, **IMPORT}
        import_columns = ["unit", "room", "notes"]
        import_key = None

    def __repr__(self) -> str:
        unit = str(self.unit) if self.unit is not None else ""
        return f"{unit} {self.room or ''}".strip()

    @property
    def head(self):
        return next((p for p in self.members if p.relation == HEAD), None)

    @property
    def head_name(self) -> str:
        head = self.head
        return str(head) if head is not None else ""

    @property
    def member_count(self) -> int:
        return len(self.members)

    @classmethod
    def picker_filter(cls, text: str):
        from sqlalchemy import or_

        return or_(contains(cls.room, text), cls.compound.has(contains(Compound.name, text)))

    @classmethod
    def lookup(cls, text: str, session, stmt):
        """The household named "小区 楼栋 单元 房号" (as exported)."""
        parts = (text or "").split()
        if len(parts) < 4:
            return stmt.where(False)
        compound, building, unit, room = " ".join(parts[:-3]), parts[-3], parts[-2], parts[-1]
        return (stmt.join(Household.unit).join(Unit.building).join(Building.compound)
                .where(Compound.name == compound, Building.name == building, Unit.name == unit,
                       Household.room == room))

    def validate(self, check) -> None:
        if self.room is not None:
            self.room = self.room.strip()


class Person(InCommunity, Tracked, Model):
    """居民: a resident (户籍, 常住 or 流动人口) of the community."""

    __tablename__ = "person"
    #: the list's default order, within a community and across a street or district
    __table_args__ = (Index("ix_person_community_name", "community_id", "name", "id"),
                      Index("ix_person_name", "name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), info=field(_l("Full name"), sensitive="minor_name"))
    sex: Mapped[Optional[str]] = mapped_column(
        String(2), info=field(_l("Sex"), _l("Taken from the ID number when it is given"), dict_type="gender"))
    id_number: Mapped[Optional[str]] = mapped_column(
        String(18), unique=True,
        info=field(_l("ID number"), _l("18 characters; old 15-digit numbers are upgraded"), sensitive="id",
                   kind="id_number"))
    birth_date: Mapped[Optional[datetime.date]] = mapped_column(
        Date, info=field(_l("Birth date"), _l("Taken from the ID number when it is given"), sensitive="date"))
    phone: Mapped[Optional[str]] = mapped_column(
        String(30), info=field(_l("Phone"), _l("Mobile (11 digits) or landline with area code"),
                               sensitive="phone", kind="phone"))
    ethnicity: Mapped[Optional[str]] = mapped_column(
        String(2), info=field(_l("Ethnicity"), dict_type="ethnicity"))
    political_status: Mapped[Optional[str]] = mapped_column(
        String(2), info=field(_l("Political status"), dict_type="political_status"))
    residence_type: Mapped[str] = mapped_column(
        String(20), info=field(_l("Residence type"), dict_type="residence_type"))
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("household.id"), index=True)
    household: Mapped[Optional[Household]] = relationship(
        backref="members", info=field(_l("Household")))
    relation: Mapped[Optional[str]] = mapped_column(
        String(2), info=field(_l("Relation to the head"), dict_type="household_relation"))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(
        info=field(_l("Compound"), _l("Taken from the household when it is given")))
    employer: Mapped[Optional[str]] = mapped_column(String(100), info=field(_l("Employer")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    class Admin(AdminBase):
        label = _l("Resident")
        label_plural = _l("Residents")
        menu = "people"
        icon = "fa-user"
        list_columns = ["name", "sex", "birth_date", "id_number", "phone", "household", "residence_type", "grid"]
        search_columns = ["name", "sex", "residence_type", "household", "compound", "grid", "political_status",
                          "ethnicity", "employer"]
        form_columns = ["name", "id_number", "sex", "birth_date", "phone", "ethnicity", "political_status",
                        "residence_type", "household", "relation", "compound", "community", "employer", "notes"]
        order = ("name", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: Person.care_group.has(_my_care_group(user)))
        derive = {"compound": "household.compound",
                  "community": ["household.community", "compound.community"],
                  "grid": ["household.grid", "compound.grid"]}
        related = ["special_groups"]
        actions = {**EXPORT, **IMPORT}
        charts = [Chart("by_grid_and_age", _l("Residents by grid and age"), dimension="grid", stacked=True,
                        statistic="models.reporting.dashboard:population_by_age")]
        import_columns = ["name", "id_number", "sex", "birth_date", "phone", "ethnicity", "political_status",
                          "residence_type", "household", "relation", "compound", "employer", "notes"]
        import_key = "id_number"

    @property
    def age(self) -> Optional[int]:
        return standards.age_on(self.birth_date, clock.today()) if self.birth_date else None

    @property
    def is_minor(self) -> bool:
        """Children under 14: their personal information is sensitive as a whole (PIPL)."""
        age = self.age
        return age is not None and age < 14

    def __repr__(self) -> str:
        return str(shown(self, "name", self.name) or "")

    def export_key(self, reveal: bool) -> str:
        """How an export names a resident in another register: the ID number (a name may
        be shared), masked unless the export reveals."""
        if self.id_number:
            return self.id_number if reveal else mask("id", self.id_number)
        return self.name

    @classmethod
    def lookup(cls, text: str, session, stmt):
        """A person named in an import: by ID number, else by a unique name."""
        value = (text or "").strip()
        try:
            number = standards.normalize_id_number(value)
        except standards.StandardError:
            return stmt.where(Person.name == value)
        return stmt.where(Person.id_number == number)

    def validate(self, check) -> None:
        self.name = standards.normalize_text(self.name)
        if self.id_number and not check.has("id_number"):  # already checked by its kind
            number = self.id_number
            born, sex = standards.id_birth_date(number), standards.id_sex(number)
            if self.birth_date is not None and self.birth_date != born:
                check.error("birth_date", _l("The ID number says %(date)s.", date=born.isoformat()))
            if self.sex not in (None, "", sex):
                check.error("sex", _l("The ID number says the person is %(sex)s.", sex=_sex_label(sex)))
            self.birth_date, self.sex = born, sex
        if self.birth_date is not None and self.birth_date > clock.today():
            check.error("birth_date", _l("The birth date is in the future."))
        if self.household is not None and self.relation in (None, ""):
            check.error("relation", _l("Give the relation to the head of the household."))
        if self.household is None and self.relation:
            check.error("household", _l("A relation to the head needs a household."))
        if self.household is not None and self.relation == HEAD:
            other = next((p for p in self.household.members if p.relation == HEAD and p is not self
                          and p.id != self.id), None)
            if other is not None:
                check.error("relation", _l("The household already has a head: %(name)s.", name=str(other)))
        if self.compound is not None and self.community is not None \
                and self.compound.community_id != self.community.id:
            check.error("compound", _l("This compound belongs to another community."))


def _sex_label(code: str) -> str:
    return label_of("gender", code)


class Merchant(InCommunity, Tracked, Model):
    """商业经营户: a shop or business in the community (317 in the case study)."""

    __tablename__ = "merchant"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_name: Mapped[str] = mapped_column(String(100), info=field(_l("Shop name")))
    owner_name: Mapped[str] = mapped_column(String(50), info=field(_l("Owner")))
    phone: Mapped[Optional[str]] = mapped_column(String(30), info=field(_l("Phone"), sensitive="phone",
                                                                         kind="phone"))
    business_type: Mapped[Optional[str]] = mapped_column(
        String(30), info=field(_l("Business type"), dict_type="merchant_type"))
    licence_no: Mapped[Optional[str]] = mapped_column(
        String(18), unique=True,
        info=field(_l("Licence number"), _l("Unified social credit code, 18 characters"), kind="code"))
    compound_id: Mapped[Optional[int]] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Optional[Compound]] = relationship(info=field(_l("Compound")))
    road_id: Mapped[Optional[int]] = mapped_column(ForeignKey("road.id"), index=True)
    road: Mapped[Optional[Road]] = relationship(info=field(_l("Road")))
    address: Mapped[Optional[str]] = mapped_column(String(200), info=field(_l("Address")))
    notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

    __display__ = "shop_name"

    class Admin(AdminBase):
        label = _l("Merchant")
        label_plural = _l("Merchants")
        menu = "people"
        icon = "fa-shopping-bag"
        list_columns = ["shop_name", "owner_name", "phone", "business_type", "road", "compound", "licence_no"]
        search_columns = ["shop_name", "owner_name", "business_type", "road", "compound", "licence_no", "grid"]
        form_columns = ["shop_name", "owner_name", "phone", "business_type", "licence_no", "road", "compound",
                        "address", "community", "notes"]
        order = ("shop_name", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True)
        derive = {"grid": ["compound.grid"], "community": ["compound.community", "road.community"]}
        actions = {**EXPORT, **IMPORT}
        import_columns = ["shop_name", "owner_name", "phone", "business_type", "licence_no", "road", "compound",
                          "address", "notes"]
        import_key = "licence_no"

    def validate(self, check) -> None:
        if self.licence_no:
            code = standards.normalize_text(self.licence_no).upper().replace(" ", "")
            if not _credit_code_ok(code):
                check.error("licence_no", _l("This is not a valid unified social credit code."))
            self.licence_no = code
        else:
            self.licence_no = None
        if self.compound is None and self.road is None:
            check.error("road", _l("Give the road or the compound of the shop."))
        for name in ("compound", "road"):
            parent = getattr(self, name)
            if parent is not None and self.community is not None and parent.community_id != self.community.id:
                check.error(name, _l("This %(what)s belongs to another community.", what=_l("place")))


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def _credit_code_ok(code: str) -> bool:
    """GB 32100-2015 unified social credit code: 18 characters, MOD 31 check character."""
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


def credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


ACTIVE, ENDED = "active", "ended"
MEMBERSHIP_STATUS = {ACTIVE: _l("In care"), ENDED: _l("Ended")}


class SpecialGroup(InCommunity, Tracked, Model):
    """特殊群体: a typed tag on a resident who needs care (低保户, 空巢老人, 残疾人…)."""

    __tablename__ = "special_group"
    __table_args__ = (UniqueConstraint("person_id", "type", name="uq_special_group_person_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    person: Mapped[Person] = relationship(backref="special_groups", info=field(_l("Resident")))
    type: Mapped[str] = mapped_column(
        String(30), index=True,
        info=field(_l("Special group"), _l("The visit frequency of each type is set in the dictionary"),
                   dict_type="special_group_type", sensitive="secret"))
    category: Mapped[Optional[str]] = mapped_column(
        String(20), info=field(_l("Disability category"), dict_type="disability_category", sensitive="secret"))
    level: Mapped[Optional[str]] = mapped_column(
        String(20), info=field(_l("Disability level"), dict_type="disability_level", sensitive="secret"))
    since: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("In care since")))
    until: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("In care until")))
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE,
                                        info=field(_l("Status"), choices=MEMBERSHIP_STATUS))
    details: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Details"), sensitive="secret"))

    __display__ = "type"

    class Admin(AdminBase):
        label = _l("Special group member")
        label_plural = _l("Special groups")
        menu = "care"
        icon = "fa-heart"
        list_columns = ["person", "type", "category", "level", "since", "status", "grid"]
        search_columns = ["person", "status", "grid"]
        form_columns = ["person", "type", "category", "level", "since", "until", "status", "details"]
        order = ("person", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True,
                      mine=lambda user: SpecialGroup.person.has(Person.care_group.has(_my_care_group(user))))
        derive = {"community": "person.community", "grid": "person.grid"}
        actions = {**EXPORT, **IMPORT}
        import_columns = ["person", "type", "category", "level", "since", "until", "status", "details"]
        import_key = None

    def __repr__(self) -> str:
        return f"{self.person}" if self.person is not None else ""

    def validate(self, check) -> None:
        if self.type == DISABLED:
            for name in ("category", "level"):
                if not getattr(self, name):
                    check.error(name, _l("Give the disability category and level."))
        elif self.category or self.level:
            check.error("category", _l("Category and level are only for disabled residents."))
        if self.since and self.until and self.until < self.since:
            check.error("until", _l("The end date is before the start date."))
        if self.until and self.until <= clock.today():
            self.status = ENDED


STATUS = {"full": _l("Full member"), "probationary": _l("Probationary member")}
ON_JOB, SINKING, RETIRED = "on_job", "sinking", "retired"
CATEGORY = {ON_JOB: _l("On-the-job party member"), SINKING: _l("Sinking party member"),
            RETIRED: _l("Retired party member")}


class PartyMember(InCommunity, Tracked, Model):
    """党员: a party member of a branch, and for 在职/下沉 members their unit."""

    __tablename__ = "party_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    person: Mapped[Person] = relationship(backref=backref("party_membership", uselist=False),
                                          info=field(_l("Resident")))
    branch_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    branch: Mapped[Organisation] = relationship(foreign_keys=[branch_id], info=field(_l("Branch")))
    status: Mapped[str] = mapped_column(String(20), default="full", info=field(_l("Membership"), choices=STATUS))
    joined_on: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Joined on")))
    category: Mapped[str] = mapped_column(String(20), info=field(_l("Category"), choices=CATEGORY))
    employer_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organisation.id"), index=True)
    employer_unit: Mapped[Optional[Organisation]] = relationship(
        foreign_keys=[employer_unit_id], info=field(_l("Work unit"), _l("For on-the-job and sinking members")))
    reported_on: Mapped[Optional[datetime.date]] = mapped_column(
        Date, info=field(_l("Reported on"), _l("When a sinking member reported to the community")))
    center_household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("household.id"), index=True)
    center_household: Mapped[Optional[Household]] = relationship(
        info=field(_l("Party-member household"), _l("党员中心户 led by this member")))
    commitment: Mapped[Optional[str]] = mapped_column(
        Text, info=field(_l("Public commitment"), _l("亮身份亮承诺: what the member promises to do")))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), unique=True)
    user = relationship("AppUser", foreign_keys=[user_id],
                        info=field(_l("User account"), _l("When the member signs in (to log visits or take orders)")))
    skills: Mapped[Optional[str]] = mapped_column(String(100), info=field(
        _l("Skills"), _l("What the member can help with, separated by commas (e.g. 教师, 电工)")))

    class Admin(AdminBase):
        label = _l("Party member")
        label_plural = _l("Party members")
        menu = "people"
        icon = "fa-star"
        list_columns = ["person", "branch", "status", "category", "employer_unit", "reported_on", "grid"]
        search_columns = ["person", "branch", "status", "category", "employer_unit", "grid"]
        form_columns = ["person", "branch", "status", "joined_on", "category", "employer_unit", "reported_on",
                        "center_household", "commitment", "skills", "user"]
        order = ("person", "asc")
        scope = Scope(community="community_id", grid="grid_id", personal=True, mine=_my_party_members)
        derive = {"community": "person.community", "grid": "person.grid"}
        actions = {**EXPORT, **IMPORT}
        import_columns = ["person", "branch", "status", "joined_on", "category", "employer_unit", "reported_on",
                          "center_household", "commitment"]
        import_key = None

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else ""

    @classmethod
    def picker_filter(cls, text: str):
        return cls.person.has(contains(Person.name, text))

    __display_loads__ = ["person"]

    def validate(self, check) -> None:
        if self.category in (ON_JOB, SINKING) and self.employer_unit is None:
            check.error("employer_unit", _l("Give the work unit of an on-the-job or sinking member."))
        if self.category == SINKING and self.reported_on is None:
            check.error("reported_on", _l("Give the date the member reported to the community."))
        if self.branch is not None and self.branch.type not in ("party_branch", "grid_branch", "general_branch",
                                                                "community_party_committee", "party_group"):
            check.error("branch", _l("Choose a party organisation."))


LEVELS = {"compound": _l("Compound head"), "building": _l("Building head"), "unit": _l("Unit head")}


class Head(InCommunity, Tracked, Model):
    """三长: 小区长 / 楼栋长 / 单元长, posted publicly (上墙公示) in their compound."""

    __tablename__ = "head"
    __table_args__ = (
        UniqueConstraint("level", "compound_id", "building_id", "unit_id", name="uq_head_place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Person] = relationship(info=field(_l("Resident")))
    level: Mapped[str] = mapped_column(String(10), info=field(_l("Post"), choices=LEVELS))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    compound: Mapped[Compound] = relationship(info=field(_l("Compound")))
    building_id: Mapped[Optional[int]] = mapped_column(ForeignKey("building.id"), index=True)
    building: Mapped[Optional[Building]] = relationship(info=field(_l("Building")))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Optional[Unit]] = relationship(info=field(_l("Unit")))
    since: Mapped[Optional[datetime.date]] = mapped_column(Date, info=field(_l("Since")))
    publish_name: Mapped[Optional[bool]] = mapped_column(
        Boolean, default=False,
        info=field(_l("Full name on the public notice"), _l("Only with the head's consent; else 张*")))
    publish_phone: Mapped[Optional[bool]] = mapped_column(
        Boolean, default=False,
        info=field(_l("Phone on the public notice"), _l("Only with the head's consent")))

    class Admin(AdminBase):
        label = _l("Three heads")
        label_plural = _l("Three heads")
        menu = "people"
        icon = "fa-users"
        list_columns = ["level", "person", "compound", "building", "unit", "since"]
        search_columns = ["level", "person", "compound", "grid"]
        form_columns = ["level", "person", "compound", "building", "unit", "since", "publish_name", "publish_phone"]
        order = ("compound", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("compound", "unit.compound"), ("building", "unit.building"), ("compound", "building.compound")]
        derive = {"community": "compound.community", "grid": "compound.grid"}
        actions = EXPORT

    def __repr__(self) -> str:
        return str(self.person) if self.person is not None else ""

    def validate(self, check) -> None:
        if self.level == "compound":
            self.building, self.unit = None, None
        elif self.level == "building":
            self.unit = None
            if self.building is None:
                check.error("building", _l("A building head needs the building."))
        elif self.level == "unit" and self.unit is None:
            check.error("unit", _l("A unit head needs the unit."))
        if self.building is not None and self.compound is not None and self.building.compound_id != self.compound.id:
            check.error("building", _l("This building belongs to another compound."))
        if self.unit is not None and self.building is not None and self.unit.building_id != self.building.id:
            check.error("unit", _l("This unit belongs to another building."))
        if not check.problems and self.compound is not None:
            self._one_per_place(check)

    def _one_per_place(self, check) -> None:
        """One 小区长 per compound, one 楼栋长 per building, one 单元长 per unit."""
        stmt = select(Head.id).where(Head.level == self.level, Head.compound_id == self.compound.id)
        place = {"building": (Head.building_id, self.building), "unit": (Head.unit_id, self.unit)}.get(self.level)
        if place is not None and place[1] is not None:
            stmt = stmt.where(place[0] == place[1].id)
        if self.id is not None:
            stmt = stmt.where(Head.id != self.id)
        with db.session.no_autoflush:
            other = db.session.execute(stmt.limit(1)).first()
        if other is not None:
            target = {"compound": "compound", "building": "building", "unit": "unit"}[self.level]
            check.error(target, _l("This place already has its %(post)s.", post=LEVELS[self.level]))


CADRE, GRID_WORKER = "cadre", "grid_worker"
POSTS = {CADRE: _l("Committee cadre"), GRID_WORKER: _l("Grid worker")}


class Staff(Tracked, Model):
    """工作人员: 两委干部 and 网格员, each linked to their user account."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), info=field(_l("Name")))
    post: Mapped[str] = mapped_column(String(20), info=field(_l("Post"), choices=POSTS))
    title: Mapped[Optional[str]] = mapped_column(String(40), info=field(_l("Title"), dict_type="position_title"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), unique=True)
    user = relationship("AppUser", foreign_keys=[user_id], info=field(_l("User account")))
    phone: Mapped[Optional[str]] = mapped_column(String(30), info=field(_l("Phone"), kind="phone"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    community: Mapped[Community] = relationship(info=field(_l("Community")))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)
    grid: Mapped[Optional[Grid]] = relationship(info=field(_l("Grid"), _l("The grid of a grid worker")))

    class Admin(AdminBase):
        label = _l("Staff member")
        label_plural = _l("Staff")
        menu = "people"
        icon = "fa-id-card"
        list_columns = ["name", "post", "title", "grid", "phone", "user"]
        search_columns = ["name", "post", "grid"]
        form_columns = ["name", "post", "title", "community", "grid", "phone", "user"]
        show_columns = ["name", "post", "title", "community", "grid", "ab_role", "phone", "user"]
        labels = {"ab_role": _l("AB role")}
        order = ("post", "asc")
        scope = Scope(community="community_id", grid="grid_id")
        fill = [("community", "grid.community")]
        actions = EXPORT

    @property
    def ab_role(self) -> str:
        """A / B of the grids whose 网格员 this is (from the grid's AB角)."""
        from flask_babel import gettext

        if self.user_id is None:
            return ""
        parts = []
        for grid in self._grids():
            role = "A" if grid.primary_worker_id == self.user_id else "B"
            parts.append(gettext("%(grid)s %(role)s", grid=grid.name, role=role))
        return "、".join(parts)

    def _grids(self):
        return db.session.scalars(select(Grid).where(
            (Grid.primary_worker_id == self.user_id) | (Grid.backup_worker_id == self.user_id))
            .order_by(Grid.code)).all()

    def validate(self, check) -> None:
        if self.post == GRID_WORKER and self.grid is None:
            check.error("grid", _l("A grid worker needs the grid."))
