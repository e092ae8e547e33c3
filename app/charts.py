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
* filters: default equality filters {column: value}.

The aggregation is one ``SELECT … GROUP BY`` under :func:`app.scope.apply` (plus one
statement to name a relation's groups): no rows are loaded into Python to be grouped.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, inspect as sa_inspect, select
from sqlalchemy.orm import RelationshipProperty

from app import clock

KINDS = ("bar", "line", "pie")
BUCKETS = ("day", "week", "month")


class ChartError(ValueError):
    """A chart that cannot be drawn as asked (unknown chart, measure or bucket)."""


@dataclass(frozen=True)
class Chart:
    name: str
    label: Any
    dimension: str
    measure: str = "count"
    series: str | None = None
    stacked: bool = False
    kind: str = "bar"
    filters: dict = dc_field(default_factory=dict)
    #: at most this many groups are shown (the largest), the rest summed as 其他
    limit: int = 30


def charts_of(model) -> dict[str, Chart]:
    return {c.name: c for c in getattr(model.Admin, "charts", None) or []}


def _column(model, name: str):
    mapper = sa_inspect(model)
    if name not in mapper.columns:
        raise ChartError(gettext("Unknown column: %(name)s", name=name))
    return getattr(model, name)


def _dimension(model, spec: str):
    """(SQL expression, how to label a group value)."""
    from app import rates
    from app.declare import choices_of

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
        truncate, _hours = rates._dialect_functions(rates._dialect())
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
        return func.sum(column) if kind == "sum" else func.avg(column)
    raise ChartError(gettext("Unknown measure: %(name)s", name=spec))


def _labeller(how, values):
    """A function naming each group value (one statement for a relation's names)."""
    from app.extensions import db
    from app.rates import as_date
    from models.dictionary import label_of

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


def _number(value):
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01")))
    return round(value, 2) if isinstance(value, float) else value


def aggregate(model, chart: Chart, where=()) -> dict:
    """The chart's data: {"categories": [...], "series": [{"name", "data"}], "title"};
    ``where``: more conditions (a dashboard's period and place)."""
    from app import scope
    from app.extensions import db

    dimension, how = _dimension(model, chart.dimension)
    measure = _measure(model, chart.measure)
    columns = [dimension]
    series_column, series_how = (None, None)
    if chart.series:
        series_column, series_how = _dimension(model, chart.series)
        columns.append(series_column)
    stmt = select(*columns, measure).group_by(*columns)
    for name, value in chart.filters.items():
        stmt = stmt.where(_column(model, name) == value)
    if where:
        stmt = stmt.where(*where)
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
            totals[row[0]] = totals.get(row[0], 0) + (_number(row[-1]) or 0)
        groups.sort(key=lambda v: -totals[v])
    shown = groups[:chart.limit]
    name_group = _labeller(how, shown)
    categories = [name_group(v) for v in shown]
    if series_column is None:
        values = {row[0]: _number(row[-1]) for row in rows}
        series = [{"name": str(chart.label), "data": [values.get(v, 0) for v in shown]}]
    else:
        keys = []
        for row in rows:
            if row[1] not in keys:
                keys.append(row[1])
        name_series = _labeller(series_how, keys)
        cells = {(row[0], row[1]): _number(row[-1]) for row in rows}
        series = [{"name": name_series(k), "data": [cells.get((v, k), 0) for v in shown]} for k in keys]
    return {"title": str(chart.label), "kind": chart.kind, "stacked": chart.stacked, "categories": categories,
            "series": series, "generated_at": clock.now().strftime("%Y-%m-%d %H:%M")}
