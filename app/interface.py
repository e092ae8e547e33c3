"""The data interface under every generated view and API.

It replaces Flask-AppBuilder's list query with one that

* eager-loads every relation a page shows, however deep (``grid.community``): a list
  page costs the same statements for 10 rows or 100;
* sorts by relation columns (a relation sorts by the related row's display column),
  where stock FAB answered HTTP 500, and ignores unknown sort columns;
* caps the page size;
* writes through :mod:`app.domain` (validation, scope of parents, one transaction).
"""
from __future__ import annotations

from typing import Any, Optional

from flask import current_app
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import String, asc, cast, desc, func, inspect as sa_inspect, or_, select
from sqlalchemy.orm import ColumnProperty, RelationshipProperty, aliased, joinedload, selectinload

from app import domain, scope, sensitive
from app.api import MAX_ID, bounded_int
from app.filters import contains


def display_column(model):
    """The column a row of ``model`` sorts and is searched by when it stands for itself."""
    name = getattr(model, "__display__", None)
    mapper = sa_inspect(model)
    if name and name in mapper.columns:
        return getattr(model, name)
    return mapper.primary_key[0]


def display_loads(model) -> list[str]:
    """Relations a row of ``model`` needs to name itself (``__display_loads__``)."""
    return list(getattr(model, "__display_loads__", ()))


def picker_condition(model, text: str):
    """Rows of ``model`` a picker offers for ``text``: the model's own
    ``picker_filter(text)``, else its display column or code contains the text."""
    if hasattr(model, "picker_filter"):
        return model.picker_filter(text)
    conditions = [contains(cast(display_column(model), String), text)]
    code = sa_inspect(model).columns.get("code")
    if code is not None:
        conditions.append(contains(code, text))
    return or_(*conditions)


def loader_options(model, paths) -> list:
    """Loader options that fetch every relation named in ``paths`` eagerly.

    ``paths`` are list/show columns: ``"name"``, ``"grid"``, ``"grid.community"``,
    ``"compound.grid.name"``. Many-to-one hops are joined into the main statement;
    to-many hops cost one extra statement each (selectin), whatever the row count.
    """
    options = {}
    for path in paths or []:
        current, option, key = model, None, ()
        for part in path.split("."):
            rel = sa_inspect(current).relationships.get(part)
            if rel is None:
                break
            attr = getattr(current, part)
            strategy = selectinload if rel.uselist else joinedload
            option = strategy(attr) if option is None else getattr(option, strategy.__name__)(attr)
            key += (part,)
            options[key] = option
            current = rel.mapper.class_
            for extra in display_loads(current):  # what the related row's name needs
                sub = sa_inspect(current).relationships[extra]
                options[key + (extra,)] = getattr(option, "selectinload" if sub.uselist else "joinedload")(
                    getattr(current, extra))
    # keep only the longest chains: their prefixes are loaded by them
    keys = sorted(options)
    return [options[k] for k in keys if not any(o != k and o[:len(k)] == k for o in keys)]


class Interface(SQLAInterface):
    """SQLAInterface with eager loading, relation sorting, capped pages and domain writes."""

    def max_page_size(self) -> int:
        try:
            return int(current_app.config.get("MAX_PAGE_SIZE", 100))
        except RuntimeError:
            return 100

    # ----------------------------------------------------------------- reading
    def order_expression(self, query, order_column: str, aliases: dict):
        """(query, column expression) to sort by ``order_column``, or (query, None) when
        it cannot be sorted by (unknown, a to-many relation, a computed property)."""
        if not order_column:
            return query, None
        model, entity, prefix = self.obj, self.obj, ()
        parts = order_column.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            prop = sa_inspect(model).attrs.get(part)
            if isinstance(prop, RelationshipProperty):
                if prop.uselist:
                    return query, None
                prefix += (part,)
                alias = aliases.get(prefix)
                if alias is None:
                    alias = aliases[prefix] = aliased(prop.mapper.class_)
                    query = query.outerjoin(alias, getattr(entity, part))
                model, entity = prop.mapper.class_, alias
                if last:
                    return query, getattr(alias, display_column(model).key)
            elif isinstance(prop, ColumnProperty) and last:
                return query, getattr(entity, part)
            else:
                return query, None
        return query, None

    def apply_order(self, query, order_column: str, order_direction: str):
        aliases: dict = {}
        query, column = self.order_expression(query, order_column, aliases)
        pk = getattr(self.obj, self.get_pk_name())
        direction = desc if order_direction == "desc" else asc
        if column is None:
            return query.order_by(pk)
        return query.order_by(direction(column), direction(pk))

    def query(self, filters: Optional[Filters] = None, order_column: str = "",
              order_direction: str = "", page: Optional[int] = None,
              page_size: Optional[int] = None, select_columns: Optional[list[str]] = None,
              outer_default_load: bool = False):
        query = self.session.query(self.obj)
        if filters:
            query = filters.apply_all(query)
        count = query.order_by(None).count()
        query = self.apply_order(query, order_column, order_direction)
        cap = self.max_page_size()
        page_size = cap if not page_size or page_size <= 0 else min(int(page_size), cap)
        if page:  # (a page past any data finds nothing; an absurd one is not sent to the database)
            query = query.offset(min(max(int(page), 0), 10**6) * page_size)
        query = query.limit(page_size)
        options = loader_options(self.obj, select_columns)
        if not options:
            return count, query.all()
        # The page first, its relations after: sorted and cut on the table itself, the
        # database joins 20 rows to their relations, not every matching row (at a district's
        # million residents the joins before the LIMIT cost 50+ ms a page; bench/).
        pk = getattr(self.obj, self.get_pk_name())
        ids = [row[0] for row in query.with_entities(pk).all()]
        if not ids:
            return count, []
        rows = self.session.query(self.obj).options(*options).filter(pk.in_(ids)).all()
        position = {value: i for i, value in enumerate(ids)}
        return count, sorted(rows, key=lambda row: position[getattr(row, pk.key)])

    def iterate(self, filters: Optional[Filters] = None, order_column: str = "",
                order_direction: str = "", select_columns: Optional[list[str]] = None,
                chunk: int = 500):
        """Every matching row, streamed in chunks by one statement (exports)."""
        query = self.session.query(self.obj)
        if filters:
            query = filters.apply_all(query)
        query = self.apply_order(query, order_column, order_direction)
        options = loader_options(self.obj, select_columns)
        if options:
            query = query.options(*options)
        return query.yield_per(chunk)

    def get(self, id: Any, filters: Optional[Filters] = None,
            select_columns: Optional[list[str]] = None, outer_default_load: bool = False):
        pk = getattr(self.obj, self.get_pk_name())
        id = bounded_int(id, low=1, high=MAX_ID)
        if id is None:
            return None
        query = self.session.query(self.obj)
        if filters:
            query = filters.copy().apply_all(query)
        query = query.filter(pk == id)
        options = loader_options(self.obj, select_columns)
        if options:
            query = query.options(*options)
        return query.first()

    def related_choices(self, relation: str, text: str = "", ids=None, page: int = 0, size: int = 20):
        """(count, rows) a picker for ``relation`` offers: scoped, searched, paged."""
        prop = sa_inspect(self.obj).relationships[relation]
        target = prop.mapper.class_
        pk = sa_inspect(target).primary_key[0]
        stmt = scope.apply(select(target), target)
        if prop.info.get("picker_where") is not None:  # e.g. only residents in care
            stmt = stmt.where(prop.info["picker_where"]())
        if ids is not None:
            stmt = stmt.where(pk.in_(ids))
        text = (text or "").strip()
        if text:
            stmt = stmt.where(picker_condition(target, text))
        count = self.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        loads = [joinedload(getattr(target, name)) for name in display_loads(target)]
        rows = self.session.scalars(stmt.options(*loads).order_by(display_column(target), pk)
                                    .offset(page * size).limit(size)).unique().all()
        return count, rows

    # ----------------------------------------------------------------- showing
    def _masked(self, item, column: str, value):
        """Sensitive values are shown masked (lists, show pages, exports alike)."""
        owner, leaf = item, column
        if "." in column:
            *path, leaf = column.split(".")
            for part in path:
                owner = getattr(owner, part, None) if owner is not None else None
            if owner is None:
                return value
        return sensitive.shown(owner, leaf, value)

    def get_values(self, lst, list_columns):
        for item in lst:
            yield {col: self._masked(item, col, self._get_attr_value(item, col)) for col in list_columns}

    def get_values_item(self, item, show_columns):
        return [self._masked(item, col, self._get_attr_value(item, col)) for col in show_columns]

    def get_related_interface(self, col_name: str):
        return self.__class__(self.get_related_model(col_name))

    # ----------------------------------------------------------------- writing
    def add(self, item, commit: bool = True) -> None:
        domain.save(item, commit=commit, session=self.session)

    def edit(self, item, commit: bool = True) -> None:
        domain.save(item, commit=commit, session=self.session)

    def delete(self, item, commit: bool = True) -> None:
        domain.delete(item, commit=commit, session=self.session)

    def delete_all(self, items) -> None:
        for item in items:
            domain.delete(item, commit=False, session=self.session)
        self.session.commit()
