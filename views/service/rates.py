"""服务率: the 响应率, 办结率 and 满意率 of the 三单 loop for a chosen period, by month (or
week, day), grid and category, with the rankings of the units and party members who
take orders; printable for the monthly meeting and readable on a phone. The figures
are :mod:`models.service.rates` (see there what is counted), within the user's data scope."""
from __future__ import annotations

import datetime
import re

from flask import request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import clock

from models.service import rates
from app.registry import entity_permissions
from models.service.demands import Demand

#: the groupings of the period table
UNIT_LABELS = {rates.MONTH: _l("By month"), rates.WEEK: _l("By week"), rates.DAY: _l("By day")}
#: at most this many rows in the period table
MAX_ROWS = 400
FIRST_YEAR, LAST_YEAR = 2000, 2099
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class PeriodError(ValueError):
    pass


def _months_back(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month_end(day: datetime.date) -> datetime.date:
    return rates.next_period(day.replace(day=1), rates.MONTH) - datetime.timedelta(days=1)


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last three months: the current month and the two before it (first and last
    day, both included)."""
    return _months_back(today, 2), _month_end(today)


def shortcuts(today: datetime.date) -> list[tuple[str, datetime.date, datetime.date]]:
    last_month = _months_back(today, 1)
    return [(gettext("Last three months"), *default_period(today)),
            (gettext("This month"), today.replace(day=1), _month_end(today)),
            (gettext("Last month"), last_month, _month_end(last_month)),
            (gettext("This year"), today.replace(month=1, day=1), today.replace(month=12, day=31))]


def parse_day(text: str, *, end: bool) -> datetime.date:
    """A date ``2026-03-01``, or a month ``2026-03`` (its first day, or for the end of
    the period its last day); raises PeriodError with the message to show."""
    text = (text or "").strip()
    try:
        if _DAY.match(text):
            year, month, day = (int(x) for x in _DAY.match(text).groups())
            value = datetime.date(year, month, day)
        elif _MONTH.match(text):
            year, month = (int(x) for x in _MONTH.match(text).groups())
            value = datetime.date(year, month, 1)
            value = _month_end(value) if end else value
        else:
            raise ValueError(text)
    except ValueError:
        raise PeriodError(gettext("Enter a date such as 2024-03-01.")) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        first, last = datetime.date(FIRST_YEAR, 1, 1).isoformat(), datetime.date(LAST_YEAR, 12, 31).isoformat()
        raise PeriodError(gettext("Choose dates between %(first)s and %(last)s.", first=first, last=last))
    return value


def parse_period(args, today: datetime.date) -> tuple[datetime.date, datetime.date, str]:
    """(first day, last day, unit) of the request's period; both days are included."""
    first, last = default_period(today)
    if (args.get("start") or "").strip():
        first = parse_day(args.get("start"), end=False)
    if (args.get("end") or "").strip():
        last = parse_day(args.get("end"), end=True)
    if last < first:
        raise PeriodError(gettext("The end date is before the start date."))
    unit = (args.get("unit") or rates.MONTH).strip()
    if unit not in UNIT_LABELS:
        raise PeriodError(gettext("Choose to group by month, week or day."))
    if rates.count_periods(first, last + datetime.timedelta(days=1), unit) > MAX_ROWS:
        raise PeriodError(gettext("The period is too long for this grouping: choose a shorter period or "
                                  "group by month."))
    return first, last, unit


class ServiceRatesView(BaseView):
    route_base = "/service-rates"
    default_view = "index"
    class_permission_name = "Demand"  # whoever reads demands reads their rates
    base_permissions = entity_permissions(Demand)
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        today = clock.today()
        form = {"start": request.args.get("start", ""), "end": request.args.get("end", ""),
                "unit": request.args.get("unit", rates.MONTH)}
        try:
            first, last, unit = parse_period(request.args, today)
        except PeriodError as problem:
            return self.render_template("rates/rates.html", error=str(problem), form=form, report=None,
                                        units=UNIT_LABELS, shortcuts=self._shortcuts(today),
                                        title=gettext("Service rates")), 400
        report = rates.report(first, last + datetime.timedelta(days=1), unit=unit)
        form = {"start": first.isoformat(), "end": last.isoformat(), "unit": unit}
        return self.render_template(
            "rates/rates.html", error=None, form=form, report=report, first=first, last=last,
            now_text=clock.now().strftime("%Y-%m-%d %H:%M"),
            units=UNIT_LABELS, shortcuts=self._shortcuts(today), title=gettext("Service rates"),
            many_communities=len({g.community_id for g in report.grids}) > 1)

    def _shortcuts(self, today):
        return [(label, url_for("ServiceRatesView.index", start=a.isoformat(), end=b.isoformat()))
                for label, a, b in shortcuts(today)]


def install(appbuilder) -> None:
    appbuilder.add_view(ServiceRatesView, "ServiceRates", label=_l("Service rates"), icon="fa-line-chart",
                        category="service")
