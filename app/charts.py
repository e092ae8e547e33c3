"""Declarative charts: declared with the entity, aggregated by the database.

An entity lists its charts in ``Admin.charts``::
    charts = [Chart("by_status", _l("Demands by status"), dimension="status"),
              Chart("per_month", _l("Demands per month"), dimension="created_at:month",
                    series="status", stacked=True, kind="bar")]

and gets, with no other code, a chart page (``/<entity>/chart/<name>``: ECharts served by
the app, and the data as a table under it, for copying into Excel and for screen
readers) and a JSON endpoint (``/<entity>/chart-data/<name>``), both under the entity's
read permission and the user's data scope.

* dimension: a column (its 字典 or fixed-choice labels are used), a many-to-one relation
  (grouped by its key, labelled by the related rows' names), or a date/time column with a
  bucket: ``column:day`` / ``:week`` / ``:month``;
* measure: ``count``, ``sum:<column>`` or ``avg:<column>``;
* series: an optional column splitting the measure (stacked or side by side);
* filters: default equality filters {column: value};
* dated: the date/time column a period applies to (the dashboard's, or the chart page's
  "from … to"); a chart without it shows every row, whatever the period;
* statistic: an existing domain statistic instead of a generated GROUP BY — a function
  (or ``"module:function"``) of a :class:`Slice` returning ``{"categories", "series"}``,
  one statement under the user's scope (service rates, volunteer hours, leaderboards).

Named statistics are resolved by name, with :mod:`importlib`, when the chart is drawn:
the engine imports no domain module by itself (the name comes from the domain's own
declaration), and an entity may name a statistic of a context it must not import — the
demands (service) name the reporting context's ``"models.reporting.dashboard:top_units"``
without importing reporting, which reads every context. (A registry of statistics would
need the statistic's module imported before any chart is drawn, and give nothing more.)

The aggregation is one ``SELECT … GROUP BY`` under :func:`app.scope.apply` (plus one
statement to name a relation's groups): no rows are loaded into Python to be grouped.
:func:`list_url` gives the entity's list filtered to the same period and place.

The period and place a chart page (or the dashboard) shows come from the request's
arguments: :func:`read_slice` reads them (bad input: a message and the default, the last
three months and the whole scope) and :func:`slice_args` writes them back into a link.
The places one may choose are the domain's: it registers, once, a function listing the
communities and grids of the acting user's scope with :func:`register_places` (none
registered: no place to choose, the whole scope).
"""
from __future__ import annotations

import datetime
import importlib
from dataclasses import dataclass, field as dc_field, replace
from decimal import Decimal
from typing import Any, Callable

from flask_babel import gettext
from sqlalchemy import DateTime, func, inspect as sa_inspect, select
from sqlalchemy.orm import RelationshipProperty

from app import clock, scope
from app.api import bounded_int
from app.declare import choices_of
from app.dictionary import label_of
from app.extensions import db
from app.periods import DAY, MONTH, WEEK, as_date, truncate
from app.registry import is_sensitive, view_class

KINDS = ("bar", "hbar", "line", "pie")
BUCKETS = (DAY, WEEK, MONTH)


class ChartError(ValueError):
    """A chart that cannot be drawn as asked (unknown chart, measure or bucket)."""


@dataclass(frozen=True)
class Chart:
    name: str
    label: Any
    dimension: str = ""
    measure: str = "count"
    series: str | None = None
    stacked: bool = False
    kind: str = "bar"
    filters: dict = dc_field(default_factory=dict)
    #: at most this many groups are shown: the largest (time buckets: all, in order)
    limit: int = 30
    dated: str | None = None
    statistic: Callable | str | None = None


@dataclass
class Slice:
    """What a chart or the dashboard covers: the days [start, end] (None: no bound) and a
    place, a community and/or a grid (None: the whole data scope)."""
    start: datetime.date | None = None
    end: datetime.date | None = None
    community_id: int | None = None
    grid_id: int | None = None

    @property
    def since(self) -> datetime.datetime | None:
        return datetime.datetime.combine(self.start, datetime.time.min) if self.start else None

    @property
    def until(self) -> datetime.datetime | None:
        """The first moment after the period."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min) \
            if self.end else None

    def place(self, model) -> list:
        """Conditions narrowing ``model`` (with community_id / grid_id columns) to the place."""
        conditions = []
        if self.community_id is not None and hasattr(model, "community_id"):
            conditions.append(model.community_id == self.community_id)
        if self.grid_id is not None and hasattr(model, "grid_id"):
            conditions.append(model.grid_id == self.grid_id)
        return conditions

    def period(self, column) -> list:
        """Conditions keeping ``column`` (a date or a date-time) inside the period."""
        timed = isinstance(column.type, DateTime)
        conditions = []
        if self.start is not None:
            conditions.append(column >= (self.since if timed else self.start))
        if self.end is not None:
            conditions.append(column < (self.until if timed else self.end + datetime.timedelta(days=1)))
        return conditions

    def where(self, model, dated: str | None = None) -> list:
        return self.place(model) + (self.period(getattr(model, dated)) if dated else [])


#: the longest period one chart page or dashboard shows
MAX_DAYS = 366
#: the default period: the last three months
DEFAULT_DAYS = 91


@dataclass
class Choice:
    """The period and place asked for, what may be chosen, and what was wrong with the ask."""
    slice: Slice
    communities: list = dc_field(default_factory=list)
    grids: list = dc_field(default_factory=list)
    problems: list = dc_field(default_factory=list)


#: the domain's places, registered with :func:`register_places`
_places: Callable[[], tuple[list, list]] | None = None


def register_places(lister: Callable[[], tuple[list, list]] | None) -> None:
    """The hook through which the domain gives the places a slice may be narrowed to:
    ``lister()`` returns ``(communities, grids)`` within the acting user's data scope, in
    the order they are offered — each with ``id`` and ``name``, a grid also with
    ``community_id``. Registered once at start-up; ``None`` removes it."""
    global _places
    _places = lister


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    return today - datetime.timedelta(days=DEFAULT_DAYS), today


def read_slice(args, today: datetime.date) -> Choice:
    """The period and place of ``args`` (start, end: ISO dates; community, grid: ids),
    within the acting user's scope. Bad input becomes a message in ``problems`` and the
    default (the last three months; the whole scope)."""
    problems = []
    start, end = default_period(today)
    raw_start, raw_end = (args.get("start") or "").strip(), (args.get("end") or "").strip()
    if raw_start or raw_end:
        try:
            asked = datetime.date.fromisoformat(raw_start), datetime.date.fromisoformat(raw_end)
        except ValueError:
            problems.append(gettext("Give the period as two dates, from and until."))
        else:
            if asked[1] < asked[0]:
                problems.append(gettext("The end of the period must not be before its start."))
            elif (asked[1] - asked[0]).days > MAX_DAYS:
                problems.append(gettext("At most %(n)s days at a time.", n=MAX_DAYS))
            else:
                start, end = asked
    communities, grids = _places() if _places is not None else ([], [])
    chosen = Slice(start=start, end=end)
    if (args.get("community") or "").strip():
        community_id = bounded_int(args.get("community"), low=1)
        if community_id in {c.id for c in communities}:
            chosen.community_id = community_id
        else:
            problems.append(gettext("That community is outside your data scope."))
    if (args.get("grid") or "").strip():
        grid_id = bounded_int(args.get("grid"), low=1)
        grid = next((g for g in grids if g.id == grid_id), None)
        if grid is None:
            problems.append(gettext("That grid is outside your data scope."))
        else:
            chosen.grid_id, chosen.community_id = grid.id, grid.community_id
    return Choice(chosen, communities, grids, problems)


def slice_args(slice_: Slice) -> dict:
    """The request arguments that give ``slice_`` back (for links to other pages)."""
    args = {"start": slice_.start.isoformat() if slice_.start else None,
            "end": slice_.end.isoformat() if slice_.end else None,
            "community": slice_.community_id, "grid": slice_.grid_id}
    return {k: v for k, v in args.items() if v is not None}


def charts_of(model) -> dict[str, Chart]:
    return {c.name: c for c in getattr(model.Admin, "charts", None) or []}


def _column(model, name: str):
    mapper = sa_inspect(model)
    if name not in mapper.columns:
        raise ChartError(gettext("Unknown column: %(name)s", name=name))
    return getattr(model, name)


def _dimension(model, spec: str):
    """(SQL expression, how to label a group value)."""
    name, _sep, bucket = spec.partition(":")
    mapper = sa_inspect(model)
    prop = mapper.attrs.get(name)
    if isinstance(prop, RelationshipProperty) and not prop.uselist:
        local = list(prop.local_columns)[0]
        return getattr(model, local.key), ("relation", prop.mapper.class_)
    column = _column(model, name)
    if bucket:
        if bucket not in BUCKETS:
            raise ChartError(gettext("Unknown time bucket: %(name)s", name=bucket))
        return truncate(column, bucket), ("date", bucket)
    info = column.info
    if info.get("dict_type"):
        return column, ("dict", info["dict_type"])
    if info.get("choices") is not None:
        return column, ("choices", choices_of(info))
    return column, ("plain", None)


def _measure(model, spec: str):
    kind, _sep, name = spec.partition(":")
    if kind == "count" and not name:
        return func.count()
    if kind in ("sum", "avg") and name:
        column = _column(model, name)
        try:
            numeric = column.type.python_type in (int, float, Decimal) and column.type.python_type is not bool
        except NotImplementedError:
            numeric = False
        if not numeric or is_sensitive(model, name) or column.primary_key or column.foreign_keys:
            raise ChartError(gettext("Only a number can be summed or averaged: %(name)s", name=name))
        return func.sum(column) if kind == "sum" else func.avg(column)
    raise ChartError(gettext("Unknown measure: %(name)s", name=spec))


def _labeller(how, values):
    """A function naming each group value (one statement for a relation's names)."""
    kind, arg = how
    if kind == "relation":
        ids = [v for v in values if v is not None]
        names = {row.id: str(row) for row in db.session.scalars(select(arg).where(arg.id.in_(ids)))} if ids else {}
        return lambda v: names.get(v, gettext("None")) if v is not None else gettext("None")
    if kind == "dict":
        return lambda v: label_of(arg, v) if v is not None else gettext("None")
    if kind == "choices":
        return lambda v: str(arg.get(v, v)) if v is not None else gettext("None")
    if kind == "date":
        fmt = "%Y-%m" if arg == "month" else "%Y-%m-%d"
        return lambda v: as_date(v).strftime(fmt) if v is not None else gettext("None")
    return lambda v: str(v) if v is not None else gettext("None")


def number(value):
    """An aggregate as a chart shows it: 0 for none, money and decimals to two places."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01")))
    return round(value, 2) if isinstance(value, float) else value


#: series colours, fixed by the series' place in its choices (a status keeps its colour
#: from chart to chart): ECharts' default palette
PALETTE = ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc",
           "#8d98b3", "#e5cf0d", "#97b552")


def _resolve(statistic):
    if isinstance(statistic, str):
        module, _sep, name = statistic.partition(":")
        return getattr(importlib.import_module(module), name)
    return statistic


def aggregate(model, chart: Chart, slice_: Slice | None = None, *, measure: str | None = None) -> dict:
    """The chart's data: {"categories": [...], "series": [{"name", "data"}], "title", …}
    for the period and place of ``slice_``; ``measure`` replaces the declared one
    (``count``, ``sum:<column>``, ``avg:<column>``)."""
    slice_ = slice_ or Slice()
    head = {"title": str(chart.label), "kind": chart.kind, "stacked": chart.stacked,
            "generated_at": clock.now().strftime("%Y-%m-%d %H:%M")}
    if measure:
        if chart.statistic is not None:
            raise ChartError(gettext("This chart has its own measure; it cannot be changed."))
        chart = replace(chart, measure=measure)
    if chart.statistic is not None:
        data = _resolve(chart.statistic)(slice_)
        return {**head, "categories": list(data["categories"]), "series": list(data["series"])}
    dimension, how = _dimension(model, chart.dimension)
    measure_sql = _measure(model, chart.measure)
    columns = [dimension]
    series_column, series_how = (None, None)
    if chart.series:
        series_column, series_how = _dimension(model, chart.series)
        columns.append(series_column)
    stmt = select(*columns, measure_sql).group_by(*columns)
    for name, value in chart.filters.items():
        stmt = stmt.where(_column(model, name) == value)
    conditions = slice_.where(model, chart.dated)
    if conditions:
        stmt = stmt.where(*conditions)
    rows = db.session.execute(scope.apply(stmt, model)).all()
    groups = []
    for row in rows:
        if row[0] not in groups:
            groups.append(row[0])
    if how[0] == "date":
        groups.sort(key=lambda v: (v is None, str(v)))
    else:  # the largest first
        totals = {}
        for row in rows:
            totals[row[0]] = totals.get(row[0], 0) + (number(row[-1]) or 0)
        groups.sort(key=lambda v: -totals[v])
    shown = groups[:chart.limit] if how[0] != "date" else groups
    name_group = _labeller(how, shown)
    categories = [name_group(v) for v in shown]
    if series_column is None:
        values = {row[0]: number(row[-1]) for row in rows}
        series = [{"name": str(chart.label), "data": [values.get(v, 0) for v in shown]}]
    else:
        keys = []
        for row in rows:
            if row[1] not in keys:
                keys.append(row[1])
        order = list(series_how[1]) if series_how[0] == "choices" else []
        keys.sort(key=lambda k: (order.index(k) if k in order else len(order), str(k)))
        name_series = _labeller(series_how, keys)
        cells = {(row[0], row[1]): number(row[-1]) for row in rows}
        series = []
        for k in keys:
            one = {"name": name_series(k), "data": [cells.get((v, k), 0) for v in shown]}
            if k in order:
                one["color"] = PALETTE[order.index(k) % len(PALETTE)]
            series.append(one)
    return {**head, "categories": categories, "series": series}


def list_url(model, slice_: Slice | None = None, dated: str | None = None, **equal) -> str | None:
    """The address of ``model``'s list filtered to the period (on ``dated``) and place
    of ``slice_`` and to ``equal`` ({column: value}), with the list's own search filters
    (so the list shows the filters and they can be changed there). None: no list page."""
    from flask import current_app, url_for

    cls = view_class(model)
    view = next((v for v in current_app.appbuilder.baseviews if type(v) is cls), None)
    if view is None:
        return None
    searchable = view._filters.get_search_filters()
    args = {}

    def add(column, arg_name, value):
        for index, flt in enumerate(searchable.get(column, [])):
            if flt.arg_name == arg_name:
                args[f"_flt_{index}_{column}"] = value
                return

    slice_ = slice_ or Slice()
    if slice_.grid_id is not None:
        add("grid", "rel_o_m", slice_.grid_id)
    elif slice_.community_id is not None:
        add("community", "rel_o_m", slice_.community_id)
    if dated and slice_.start is not None:
        add(dated, "ge", slice_.start.isoformat())
    if dated and slice_.end is not None:
        add(dated, "le", slice_.end.isoformat())
    for column, value in equal.items():
        add(column, "eq", value)
    return url_for(f"{cls.__name__}.list", **args)
