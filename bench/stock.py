"""The anchor: stock Flask-AppBuilder ModelViews of the same models.

Plain ``ModelView`` + ``SQLAInterface`` — FAB's own interface (lazy relation loading),
filters, widgets and templates, no scope, no masking — showing the same list columns as
the app's pages (the relations too), registered only in the bench's app instance under
``/stock/…``. They reuse the entity's ``can_read`` permission (``class_permission_name``),
so the bench user opens them with the permissions the policy already gives it; nothing is
added to the roles.

One departure from the defaults, for a reason: ``search_columns`` is only the column the
bench filters on. FAB's default search form (every column, relations included) renders
every row of each related table as an ``<option>`` on every list page — the residents'
page would render all households (hundreds of thousands, each naming its unit and compound
by lazy loads) and could not be measured within the bench's time at all.
"""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

READ_ONLY = {"list": "read", "show": "read", "download": "read", "action": "read", "action_post": "read"}


def views():
    from models.people import Person
    from models.points import LedgerEntry
    from models.service import Demand

    class StockPersonView(ModelView):
        datamodel = SQLAInterface(Person)
        route_base = "/stock/person"
        class_permission_name = "Person"
        method_permission_name = READ_ONLY
        base_permissions = ["can_read"]
        list_columns = list(Person.Admin.list_columns)
        search_columns = ["community"]
        page_size = 20

    class StockDemandView(ModelView):
        datamodel = SQLAInterface(Demand)
        route_base = "/stock/demand"
        class_permission_name = "Demand"
        method_permission_name = READ_ONLY
        base_permissions = ["can_read"]
        list_columns = list(Demand.Admin.list_columns)
        search_columns = ["status"]
        page_size = 20

    class StockLedgerEntryView(ModelView):
        datamodel = SQLAInterface(LedgerEntry)
        route_base = "/stock/ledger-entry"
        class_permission_name = "LedgerEntry"
        method_permission_name = READ_ONLY
        base_permissions = ["can_read"]
        list_columns = list(LedgerEntry.Admin.list_columns)
        search_columns = ["community"]
        page_size = 20

    return {"Person": StockPersonView, "Demand": StockDemandView, "LedgerEntry": StockLedgerEntryView}


def install(app) -> dict:
    """Register the stock views in ``app`` (before its first request); {entity: view class}."""
    classes = views()
    with app.app_context():
        for cls in classes.values():
            app.appbuilder.add_view_no_menu(cls)
    return classes


def filter_index(app, view_name: str, column: str, arg_names: tuple[str, ...]) -> int:
    """The position (``_flt_<i>_<column>``) of the first search filter of ``column`` in the
    registered view ``view_name`` whose ``arg_name`` is one of ``arg_names`` (an equality)."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == view_name)
    for index, flt in enumerate(view._filters.get_search_filters()[column]):
        if flt.arg_name in arg_names:
            return index
    raise LookupError(f"{view_name} has no {arg_names} filter on {column}")
