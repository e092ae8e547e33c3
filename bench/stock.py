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


def _stock(model, route_base: str, search: str):
    """A stock list view of ``model`` as a FAB user declares one."""
    return type(f"Stock{model.__name__}View", (ModelView,), {
        "datamodel": SQLAInterface(model), "route_base": route_base, "class_permission_name": model.__name__,
        "method_permission_name": READ_ONLY, "base_permissions": ["can_read"],
        "list_columns": list(model.Admin.list_columns), "search_columns": [search], "page_size": 20})


def views():
    from models.people.people import Person
    from models.volunteers.points import LedgerEntry
    from models.service.demands import Demand

    return {"Person": _stock(Person, "/stock/person", "community"),
            "Demand": _stock(Demand, "/stock/demand", "status"),
            "LedgerEntry": _stock(LedgerEntry, "/stock/ledger-entry", "community")}


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
