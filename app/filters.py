"""Search filters of generated lists.

Compared with FAB's defaults: text searches offer 包含 first; 字典 columns compare
codes; relation filters compare the foreign key (no extra query, a bad id finds
nothing instead of an error); tree relations can match a whole subtree.
"""
from __future__ import annotations

from flask_appbuilder.models.sqla import filters as fab
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect, select, false

from app import sensitive, standards
from app.api import bounded_int


def _int(value):
    return bounded_int(value, low=1)


def _fk_column(model, relation_name):
    rel = sa_inspect(model).relationships[relation_name]
    return list(rel.local_columns)[0]


class FilterRelationEqual(fab.FilterRelationOneToManyEqual):
    name = _l("Relation")
    arg_name = "rel_o_m"

    def apply(self, query, value):
        pk = _int(value)
        if pk is None:
            return query.filter(false())
        return query.filter(_fk_column(self.model, self.column_name) == pk)


class FilterRelationNotEqual(fab.FilterRelationOneToManyNotEqual):
    name = _l("No Relation")
    arg_name = "nrel_o_m"

    def apply(self, query, value):
        pk = _int(value)
        col = _fk_column(self.model, self.column_name)
        if pk is None:
            return query
        return query.filter((col != pk) | col.is_(None))


class FilterInSubtree(fab.FilterRelation):
    """The rows whose (self-referential) relation is the chosen node or any node under
    it, by the materialised ``path`` column of the related model."""

    name = _l("In subtree of")
    arg_name = "subtree"

    def apply(self, query, value):
        pk = _int(value)
        if pk is None:
            return query.filter(false())
        rel = sa_inspect(self.model).relationships[self.column_name]
        target = rel.mapper.class_
        node_path = select(target.path).where(target.id == pk).scalar_subquery()
        inner = select(target.id).where(target.path.like(node_path + "%"))
        return query.filter(_fk_column(self.model, self.column_name).in_(inner))


class FilterQuickSearch(fab.BaseFilter):
    """The quick search box: the text appears in any of the view's quick-search columns."""

    name = _l("Search")
    arg_name = "q"

    def apply(self, query, value):
        from sqlalchemy import or_

        columns = getattr(self.datamodel, "quick_search_columns", ())
        text = (value or "").strip()
        if not text:
            return query
        exact = _exact_id_search(self.model, text)
        if exact is not None:
            return query.filter(exact)
        if not columns:
            return query
        return query.filter(or_(*[_matches(self.model, c, text) for c in columns]))


def _matches(model, name: str, text: str):
    """``name`` contains the text: a text column, or a parent (many-to-one) whose name
    or picker rule matches."""
    from sqlalchemy import inspect as sa_inspect

    attribute = getattr(model, name)
    relationship = sa_inspect(model).relationships.get(name)
    if relationship is None:
        return contains(attribute, text)
    target = relationship.mapper.class_
    condition = target.picker_filter(text) if hasattr(target, "picker_filter") else contains(target.name, text)
    return attribute.has(condition)


def _exact_id_search(model, text: str):
    """A full ID number finds its row exactly — for roles that may reveal sensitive
    data, and without any partial matching that would tell other rows' numbers."""
    column = next((c for c, kind in sensitive.columns_of(model).items() if kind == "id"), None)
    if column is None or len(text) < 15 or not sensitive.can_reveal():
        return None
    try:
        number = standards.normalize_id_number(text)
    except standards.StandardError:
        return None
    return getattr(model, column) == number


class FilterDictEqual(fab.FilterEqual):
    name = _l("Equal to")


class FilterDictNotEqual(fab.FilterNotEqual):
    name = _l("Not Equal to")


class FilterOnOrAfter(fab.BaseFilter):
    """A date or date-time on or after the day given (the dashboard's "from")."""

    name = _l("On or after")
    arg_name = "ge"

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        day = _day(value)
        return query if day is None else query.filter(field >= day)


class FilterOnOrBefore(fab.BaseFilter):
    """A date on or before the day given; a date-time before the next day began."""

    name = _l("On or before")
    arg_name = "le"

    def apply(self, query, value):
        import datetime

        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        day = _day(value)
        if day is None:
            return query
        if self.datamodel.is_datetime(self.column_name):
            return query.filter(field < datetime.datetime.combine(day + datetime.timedelta(days=1),
                                                                  datetime.time.min))
        return query.filter(field <= day)


def _day(value):
    """A day from the filter's text (ISO, or the date part of a date-time); None if it is not one."""
    import datetime

    try:
        return datetime.date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None


_DATES = [fab.FilterEqual, fab.FilterGreater, fab.FilterSmaller, fab.FilterNotEqual, FilterOnOrAfter,
          FilterOnOrBefore]

def like_escape(text: str) -> str:
    """``text`` for a LIKE pattern that matches it literally: % and _ are characters a
    user may search for, not wildcards (escaped with \\, given as ESCAPE)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column, text: str):
    """``column`` (or any SQL string expression) contains ``text`` literally, whatever the
    case: ILIKE '%text%' with % and _ (and the escape character) escaped. The one way a
    search box's text becomes a condition."""
    return column.ilike(f"%{like_escape(str(text))}%", escape="\\")


def _like_filter(base, pattern: str, negate: bool):
    """FAB's LIKE filter ``base`` with the user's text taken literally."""

    class Literal(base):
        def apply(self, query, value):
            query, field = fab.get_field_setup_query(query, self.model, self.column_name)
            condition = field.ilike(pattern.format(like_escape(str(value or ""))), escape="\\")
            return query.filter(~condition if negate else condition)

    Literal.__name__ = base.__name__
    return Literal


FilterContains = _like_filter(fab.FilterContains, "%{}%", False)
FilterNotContains = _like_filter(fab.FilterNotContains, "%{}%", True)
FilterStartsWith = _like_filter(fab.FilterStartsWith, "{}%", False)
FilterNotStartsWith = _like_filter(fab.FilterNotStartsWith, "{}%", True)
FilterEndsWith = _like_filter(fab.FilterEndsWith, "%{}", False)
FilterNotEndsWith = _like_filter(fab.FilterNotEndsWith, "%{}", True)

_TEXT = [FilterContains, FilterStartsWith, fab.FilterEqual, FilterNotContains,
         FilterEndsWith, FilterNotStartsWith, FilterNotEndsWith, fab.FilterNotEqual]


class FilterConverter(fab.SQLAFilterConverter):
    conversion_table = (
        ("is_dict", [FilterDictEqual, FilterDictNotEqual]),
        ("is_tree_relation", [FilterRelationEqual, FilterInSubtree, FilterRelationNotEqual]),
        ("is_relation_many_to_one", [FilterRelationEqual, FilterRelationNotEqual]),
        ("is_relation_one_to_one", [FilterRelationEqual, FilterRelationNotEqual]),
        ("is_relation_many_to_many", [fab.FilterRelationManyToManyEqual]),
        ("is_relation_one_to_many", [fab.FilterRelationManyToManyEqual]),
        ("is_text", _TEXT),
        ("is_string", _TEXT),
        ("is_date", _DATES),
        ("is_datetime", _DATES),
    ) + tuple(row for row in fab.SQLAFilterConverter.conversion_table
              if row[0] not in ("is_relation_many_to_one", "is_relation_one_to_one",
                                "is_relation_many_to_many", "is_relation_one_to_many",
                                "is_text", "is_string", "is_date", "is_datetime"))
