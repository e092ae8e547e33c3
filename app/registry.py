"""The registry: from a model's declaration to views, API, menu and permissions.

Every mapped class with an inner ``Admin`` declaration (see :mod:`app.declare`) is an
entity. For each, :func:`register_all` adds

* a ModelView (list / show / add / edit / delete / export) with zh titles and labels,
  search, filters, ordering, AJAX relation pickers, eager loading and scope;
* a ModelRestApi under ``/api/v1/<resource>/`` with OpenAPI docs, nested relations,
  a scoped ``related`` picker endpoint and the same validation;
* a menu entry in its category and the permissions ``can_read`` / ``can_write`` (and
  one per declared action) on the entity's name, shared by the view and the API.

A custom view in ``views/`` subclasses :func:`generated_view` and registers itself
with :func:`override`; it is then registered instead of the generated class.

The domain is not imported here: create_app imports the modules of ``DOMAIN`` (config.py)
first, and :func:`register_all` calls the ``register(appbuilder)`` of each that has one
after the entities are registered.
"""
from __future__ import annotations

import re
from flask import abort, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute, RelationshipProperty

from app import crud, fields, richtext
from app.declare import choices_of
from app.filters import FilterConverter
from app.interface import Interface
from app.menu import CATEGORIES
from app.scope import ScopeFilter

_overrides: dict = {}
_TRACKING = ("created_at", "updated_at", "created_by", "updated_by", "created_by_id",
             "updated_by_id")


# ----------------------------------------------------------------------------- discovery

def entities() -> list:
    """Every mapped class that declares ``Admin`` (and has not been withdrawn)."""
    from flask_appbuilder import Model

    found = []
    for mapper in Model.registry.mappers:
        cls = mapper.class_
        admin = cls.__dict__.get("Admin")
        if admin is not None and getattr(admin, "registered", True) \
                and cls.__table__.name in Model.metadata.tables:
            found.append(cls)
    order = list(CATEGORIES)
    return sorted(found, key=lambda m: (order.index(m.Admin.menu) if m.Admin.menu in order else len(order),
                                        m.Admin._seq))


def entity_name(model) -> str:
    """The permission / menu name of an entity: its class name."""
    return model.__name__


def menu_name(model) -> str:
    """The menu item's name (its ``menu_access`` permission); distinct from the
    entity's permission name so that FAB never mixes the two."""
    return model.__name__ + "List"


def entity_permissions(model) -> list[str]:
    """The permissions of an entity, shared by its view and its API (FAB removes
    what one of them lacks, so both must declare the same list)."""
    admin = model.Admin
    base = ["can_read"] if getattr(admin, "readonly", False) else ["can_read", "can_write"]
    return base + [f"can_{a}" for a in admin.actions]


def resource_name(model) -> str:
    return getattr(model.Admin, "resource_name", None) or model.__tablename__


# ----------------------------------------------------------------------------- columns

class EntityInterface(Interface):
    filter_converter_class = FilterConverter

    def is_dict(self, col_name: str) -> bool:
        column = self.list_columns.get(col_name)
        return column is not None and (bool(column.info.get("dict_type"))
                                       or column.info.get("choices") is not None)

    def is_tree_relation(self, col_name: str) -> bool:
        prop = self.list_properties.get(col_name)
        return isinstance(prop, RelationshipProperty) and prop.mapper.class_ is self.obj \
            and not prop.uselist and "path" in sa_inspect(self.obj).columns


def _prop(model, name):
    return sa_inspect(model).attrs.get(name)


def resolve(model, path: str):
    """(owner model, property or None) of the last segment of a dotted path."""
    owner = model
    parts = path.split(".")
    for part in parts[:-1]:
        prop = _prop(owner, part)
        if not isinstance(prop, RelationshipProperty):
            return owner, None
        owner = prop.mapper.class_
    return owner, _prop(owner, parts[-1])


def info_of(model, path: str) -> dict:
    owner, prop = resolve(model, path)
    if prop is None:
        return {}
    if prop.info:
        return prop.info
    if isinstance(prop, ColumnProperty):
        return prop.columns[0].info or {}
    return {}


def label(model, path: str):
    explicit = getattr(model.Admin, "labels", {}) or {}
    if path in explicit:
        return explicit[path]
    found = info_of(model, path).get("label")
    if found is not None:
        return found
    if path == "id":
        return _l("Record id")
    return re.sub(r"[_.]", " ", path).strip().capitalize()


def quick_search_columns(model, search_columns) -> list[str]:
    """The text columns the list's search box looks in."""
    declared = getattr(model.Admin, "quick_search", None)
    if declared is not None:
        return list(declared)
    result = []
    for name in search_columns:
        prop = _prop(model, name)
        if isinstance(prop, ColumnProperty) and not is_sensitive(model, name):
            column = prop.columns[0]
            if getattr(column.type, "length", None) and not column.info.get("dict_type") \
                    and column.info.get("choices") is None:
                result.append(name)
        elif isinstance(prop, RelationshipProperty) and not prop.uselist and _searchable_target(prop.mapper.class_):
            result.append(name)  # a card's compound, a volunteer's resident: searched by the parent's name
    return result


def _searchable_target(target) -> bool:
    """A parent found by its name (or its own picker rule) in a child's quick search."""
    return hasattr(target, "picker_filter") or isinstance(getattr(target, "name", None), InstrumentedAttribute)


def _default_columns(model) -> list[str]:
    mapper = sa_inspect(model)
    fk_cols = {c.key for rel in mapper.relationships for c in rel.local_columns}
    result = []
    for prop in mapper.attrs:
        if prop.key in _TRACKING or prop.key in ("id", "path"):
            continue
        if isinstance(prop, ColumnProperty) and (prop.key in fk_cols or prop.columns[0].primary_key):
            continue
        if isinstance(prop, RelationshipProperty) and prop.uselist and prop.secondary is None:
            continue
        result.append(prop.key)
    return result


def is_sensitive(model, path: str) -> bool:
    """Sensitive columns that are never searched or sorted by (a child's name, masked
    only on display, can be searched like any name)."""
    return info_of(model, path).get("sensitive") not in (None, "minor_name")


def _is_sortable(model, path: str) -> bool:
    """Sensitive columns are never sorted by (the order would tell their values)."""
    owner, prop = resolve(model, path)
    if is_sensitive(model, path):
        return False
    if isinstance(prop, ColumnProperty):
        return True
    return isinstance(prop, RelationshipProperty) and not prop.uselist


def _choice_formatter(info):
    return lambda code: str(choices_of(info).get(code, code if code is not None else ""))


def _dict_formatter(dict_type):
    from app.dictionary import label_of

    return lambda code: label_of(dict_type, code)


def _rich_excerpt(value) -> str:
    """A rich column in a list (and its export): a line of plain text."""
    return richtext.to_text(value, 60)


def _rich_html(value) -> Markup:
    """A rich column on a show page: its HTML, sanitized again on the way out (rows
    written before a rule was tightened must not slip through)."""
    html = richtext.sanitize(value)
    return Markup(f'<div class="rich-text">{html}</div>') if html else Markup("")


def _related_url(model, column):
    endpoint = f"{model.__name__}Api.related"
    return lambda: url_for(endpoint, column_name=column)


def _picker(model, rel_name: str, info: dict, required: bool):
    from wtforms.validators import InputRequired, Optional

    prop = _prop(model, rel_name)
    cls = fields.AjaxSelectMultipleField if prop.uselist else fields.AjaxSelectField
    validators = [InputRequired(message=_l("This field is required."))] if required else [Optional()]
    return cls(info.get("label", rel_name), validators, model=prop.mapper.class_,
               url=_related_url(model, rel_name), description=info.get("description", ""))


def _required_relation(model, rel_name: str) -> bool:
    prop = _prop(model, rel_name)
    return not prop.uselist and any(not c.nullable for c in prop.local_columns)


def form_extra_fields(model, columns: list[str], search: bool = False) -> dict:
    """Generated form fields: AJAX pickers for relations, selects for 字典 columns, the
    rich-text editor for ``rich`` columns."""
    from wtforms.validators import DataRequired, InputRequired, Optional

    result = {}
    for name in columns:
        prop = _prop(model, name)
        info = info_of(model, name)
        if isinstance(prop, RelationshipProperty):
            result[name] = _picker(model, name, info, required=not search and _required_relation(model, name))
        elif isinstance(prop, ColumnProperty) and not search and info.get("rich"):
            column = prop.columns[0]
            required = not column.nullable and column.default is None
            # DataRequired: an emptied editor still posts "<p><br></p>", which the field
            # cleans to "" (InputRequired would look at the raw text and accept it)
            validators = [DataRequired(message=_l("This field is required."))] if required else [Optional()]
            result[name] = fields.RichTextField(info.get("label", name), validators,
                                                description=info.get("description", ""))
        elif isinstance(prop, ColumnProperty) and info.get("choices") is not None:
            default = prop.columns[0].default
            result[name] = fields.ChoiceSelectField(
                info.get("label", name), [Optional()], info=info, description=info.get("description", ""),
                default=None if search or default is None or not default.is_scalar else default.arg,
                render_kw={"class": "form-control"})
        elif isinstance(prop, ColumnProperty) and not search \
                and type(prop.columns[0].type).__name__ == "DateTime":
            column = prop.columns[0]
            required = not column.nullable and column.default is None
            validators = [InputRequired(message=_l("This field is required."))] if required else [Optional()]
            result[name] = fields.LocalDateTimeField(info.get("label", name), validators,
                                                     description=info.get("description", ""))
        elif isinstance(prop, ColumnProperty) and info.get("dict_type"):
            column = prop.columns[0]
            required = not search and not column.nullable and column.default is None
            validators = [InputRequired(message=_l("This field is required."))] if required else [Optional()]
            result[name] = fields.DictSelectField(info.get("label", name), validators,
                                                  dict_type=info["dict_type"],
                                                  description=info.get("description", ""),
                                                  render_kw={"class": "form-control"})
    return result


# ----------------------------------------------------------------------------- generation

def _view_attrs(model) -> dict:
    admin = model.Admin
    list_columns = list(admin.list_columns or _default_columns(model))
    form_columns = list(admin.form_columns or _default_columns(model))
    show_columns = list(admin.show_columns or form_columns)
    if hasattr(model, "created_by_id"):
        show_columns += ["created_at", "created_by", "updated_at", "updated_by"]
    # sensitive columns are never searched by partial text (exact ID search: FilterQuickSearch)
    search_columns = [c for c in (admin.search_columns or [c for c in list_columns if "." not in c])
                      if not is_sensitive(model, c)]
    # rows of a community and grid can always be narrowed to them (the dashboard's links do)
    relations = sa_inspect(model).relationships
    search_columns += [c for c in ("community", "grid") if c in relations and c not in search_columns]
    all_columns = set(list_columns) | set(form_columns) | set(show_columns) | set(search_columns)
    labels = {c: label(model, c) for c in all_columns}
    descriptions = {c: info_of(model, c)["description"] for c in all_columns
                    if info_of(model, c).get("description") is not None}
    formatters, show_formatters, dict_columns = {}, {}, {}
    for c in all_columns:
        if info_of(model, c).get("format") is not None:
            formatters[c] = info_of(model, c)["format"]
            continue
        if info_of(model, c).get("rich"):
            formatters[c] = _rich_excerpt
            show_formatters[c] = _rich_html
            continue
        if info_of(model, c).get("choices") is not None:
            formatters[c] = _choice_formatter(info_of(model, c))
            continue
        dict_type = info_of(model, c).get("dict_type")
        if dict_type and dict_type != "__types__":
            formatters[c] = _dict_formatter(dict_type)
            dict_columns[c] = dict_type
        elif dict_type == "__types__":
            from app.dictionary import DICT_TYPES

            formatters[c] = lambda code: str(DICT_TYPES.get(code, code))
    entity_label = admin.title(model)
    plural = admin.plural(model)
    datamodel = EntityInterface(model)
    datamodel.quick_search_columns = quick_search_columns(model, search_columns)
    attrs = {
        "__module__": model.__module__,
        "datamodel": datamodel,
        "admin": admin,
        "class_permission_name": entity_name(model),
        "route_base": "/" + resource_name(model).replace("_", "-"),
        "list_columns": list_columns,
        "show_columns": show_columns,
        "add_columns": form_columns,
        "edit_columns": form_columns,
        "search_columns": search_columns,
        "order_columns": [c for c in list_columns if _is_sortable(model, c)],
        "label_columns": labels,
        "description_columns": descriptions,
        "formatters_columns": formatters,
        "show_formatters_columns": show_formatters,
        "dict_columns": dict_columns,
        "add_form_extra_fields": form_extra_fields(model, form_columns),
        "edit_form_extra_fields": form_extra_fields(model, form_columns),
        "search_form_extra_fields": form_extra_fields(model, search_columns, search=True),
        "base_order": tuple(admin.order) if admin.order else None,
        "page_size": 20,
        "list_title": _l("%(entity)s list", entity=plural),
        "show_title": _l("%(entity)s details", entity=entity_label),
        "add_title": _l("Add %(entity)s", entity=entity_label),
        "edit_title": _l("Edit %(entity)s", entity=entity_label),
        "base_permissions": entity_permissions(model),
        "method_permission_name": dict(crud.VIEW_PERMISSIONS),
    }
    if "export" not in admin.actions:
        attrs["method_permission_name"]["export"] = "write"
    if getattr(admin, "scope", None) is not None:
        attrs["base_filters"] = [["id", ScopeFilter, lambda: None]]
    return attrs


def _api_columns(model, columns: list[str]) -> list[str]:
    """API column names: relations as nested objects (``grid.id``, ``grid.name``);
    never a foreign-key column name (FAB #2425 with marshmallow 4)."""
    result = []
    for c in columns:
        if "." in c:
            continue  # one level of nesting only; deeper paths are read from the related API
        prop = _prop(model, c)
        if isinstance(prop, RelationshipProperty):
            target = prop.mapper.class_
            result += [f"{c}.id", f"{c}.{display_column_key(target)}"]
        elif isinstance(prop, ColumnProperty):
            result.append(c)
    return list(dict.fromkeys(result))


def display_column_key(model) -> str:
    from app.interface import display_column

    return display_column(model).key


def _api_attrs(model) -> dict:
    admin = model.Admin
    view_attrs = _view_attrs(model)
    form_columns = view_attrs["add_columns"]
    list_cols = ["id"] + _api_columns(model, view_attrs["list_columns"])
    show_cols = ["id"] + _api_columns(model, [c for c in view_attrs["show_columns"]
                                               if c not in ("created_by", "updated_by")
                                               and isinstance(_prop(model, c), (ColumnProperty, RelationshipProperty))])
    search = [c for c in view_attrs["search_columns"] if "." not in c]
    relations = tuple(c for c in set(form_columns) | set(search)
                      if isinstance(_prop(model, c), RelationshipProperty))
    attrs = {
        "__module__": model.__module__,
        "datamodel": EntityInterface(model),
        "admin": admin,
        "resource_name": resource_name(model),
        "class_permission_name": entity_name(model),
        "method_permission_name": dict(crud.API_PERMISSIONS),
        "list_columns": list_cols,
        "show_columns": show_cols,
        "add_columns": form_columns,
        "edit_columns": form_columns,
        "search_columns": search,
        "order_columns": [c for c in list_cols if "." not in c and not is_sensitive(model, c)],
        "label_columns": {c: (_l("%(name)s (id)", name=label(model, c.split(".")[0]))
                              if c.endswith(".id") else label(model, c))
                          for c in set(list_cols) | set(show_cols) | set(form_columns)},
        "list_title": view_attrs["list_title"],
        "show_title": view_attrs["show_title"],
        "add_title": view_attrs["add_title"],
        "edit_title": view_attrs["edit_title"],
        "description_columns": view_attrs["description_columns"],
        "admin_relations": relations,
        "base_order": tuple(admin.order) if admin.order and "." not in admin.order[0] else None,
        "page_size": 20,
        "max_page_size": 100,
        "openapi_spec_tag": model.__name__,
        "base_permissions": entity_permissions(model),
    }
    if getattr(admin, "scope", None) is not None:
        attrs["base_filters"] = [["id", ScopeFilter, lambda: None]]
    return attrs


class GeneratedView(crud.EntityView):
    """The base of generated views: formatters that differ on the show page.

    FAB 5.3 hands the same ``formatters_columns`` to the list widget, the show widget
    (and here the Excel export); a rich column must read as a line of text in a list
    and as formatted HTML on its page. ``show_formatters_columns`` override
    ``formatters_columns`` on the show page only."""

    #: {column: formatter} used on the show page instead of formatters_columns
    show_formatters_columns: dict = {}

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        if self.show_formatters_columns:
            args = widgets["show"].template_args
            args["formatters_columns"] = {**(args.get("formatters_columns") or {}),
                                          **self.show_formatters_columns}
        return widgets


    # ---------------------------------------------------------------- declared charts
    @expose("/chart/<name>")
    @has_access
    def chart(self, name):
        """A declared chart (``Admin.charts``): ECharts drawn from the JSON endpoint, and
        the same data as a table."""
        from flask import flash, request

        from app import charts, clock

        model = self.datamodel.obj
        declared = charts.charts_of(model).get(name)
        if declared is None:
            abort(404)
        choice = charts.read_slice(request.args, clock.today())
        for problem in choice.problems:
            flash(problem, "warning")
        try:
            data = charts.aggregate(model, declared, choice.slice, measure=request.args.get("measure"))
        except charts.ChartError as error:
            flash(str(error), "warning")
            data = charts.aggregate(model, declared, choice.slice)
        return self.render_template(
            "entity/chart.html", chart=declared, data=data, choice=choice,
            periodic=bool(declared.dated or declared.statistic),
            list_link=charts.list_url(model, choice.slice, declared.dated, **declared.filters),
            data_url=url_for(f"{type(self).__name__}.chart_data", name=name,
                             **charts.slice_args(choice.slice)),
            title=data["title"])

    @expose("/chart-data/<name>")
    @has_access
    def chart_data(self, name):
        from flask import jsonify

        from flask import request

        from app import charts, clock

        declared = charts.charts_of(self.datamodel.obj).get(name)
        if declared is None:
            return jsonify({"message": str(_l("Unknown chart: %(name)s", name=name))}), 404
        choice = charts.read_slice(request.args, clock.today())
        if choice.problems:
            return jsonify({"message": " ".join(choice.problems)}), 400
        try:
            data = charts.aggregate(self.datamodel.obj, declared, choice.slice, measure=request.args.get("measure"))
        except charts.ChartError as error:
            return jsonify({"message": str(error)}), 400
        return jsonify({**data, **charts.slice_args(choice.slice)})


_generated_views: dict = {}
_generated_apis: dict = {}


def generated_view(model):
    """The generated ModelView class of ``model`` (created once, then cached)."""
    if model in _generated_views:
        return _generated_views[model]
    cls = type(f"{model.__name__}View", (GeneratedView,), _view_attrs(model))
    _generated_views[model] = cls
    related = []
    for name in model.Admin.related or []:
        prop = _prop(model, name)
        child = prop.mapper.class_ if prop is not None else None
        if child is not None and "Admin" in child.__dict__:
            related.append(view_class(child))
    cls.related_views = related
    return cls


def generated_api(model):
    if model not in _generated_apis:
        _generated_apis[model] = type(f"{model.__name__}Api", (crud.EntityApi,), _api_attrs(model))
    return _generated_apis[model]


def override(model):
    """Class decorator: register a custom view (subclass of the generated one)."""
    def wrap(cls):
        _overrides[model] = cls
        return cls
    return wrap


def view_class(model):
    return _overrides.get(model) or generated_view(model)


_api_overrides: dict = {}


def override_api(model):
    """Class decorator: register a custom REST API (subclass of the generated one)."""
    def wrap(cls):
        _api_overrides[model] = cls
        return cls
    return wrap


def api_class(model):
    return _api_overrides.get(model) or generated_api(model)


# ----------------------------------------------------------------------------- registration

def register_entity(appbuilder, model) -> None:
    admin = model.Admin
    view = view_class(model)
    if admin.menu:
        category_key = admin.menu
        category_label, category_icon = CATEGORIES[category_key]
        appbuilder.add_view(view, menu_name(model), label=admin.plural(model),
                            icon=admin.icon, category=category_key, category_label=category_label,
                            category_icon=category_icon)
    else:
        appbuilder.add_view_no_menu(view)
    if admin.api:
        appbuilder.add_api(api_class(model))


def register_all(appbuilder, domain=()) -> None:
    """Register every entity, then call ``register(appbuilder)`` of each module of the
    domain (imported modules, in ``DOMAIN`` order) that defines one."""
    for model in entities():
        register_entity(appbuilder, model)
    for module in domain:
        register = getattr(module, "register", None)
        if callable(register):
            register(appbuilder)
