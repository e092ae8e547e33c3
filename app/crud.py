"""Base classes of every generated view and API.

:class:`EntityView` and :class:`EntityApi` are what the registry subclasses for each
declared model; a custom view in ``views/`` subclasses the generated class, so it
keeps scope, labels, eager loading and validation.
"""
from __future__ import annotations

import io
import logging
from datetime import date, datetime

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.api import safe
from flask_appbuilder.security.decorators import has_access, permission_name, protect
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext
from marshmallow import ValidationError

from app import scope
from app.api import RelatedId, SchemaConverter, bounded_int
from app.domain import NON_FIELD, DomainError

log = logging.getLogger(__name__)

#: every method of a generated view or API, collapsed to read / write (Superset-style)
VIEW_PERMISSIONS = {
    "list": "read", "show": "read", "download": "read",
    "add": "write", "edit": "write", "delete": "write",
    "action": "write", "action_post": "write",
    "export": "export",
}
API_PERMISSIONS = {
    "get_list": "read", "get": "read", "info": "read", "related": "read",
    "post": "write", "put": "write", "delete": "write",
}


def _request_args(prefix: str) -> dict:
    """{view name: int} of args like ``page_<View>=2``; bad or huge numbers are ignored."""
    result = {}
    for arg in request.args:
        if arg.startswith(prefix):
            value = bounded_int(request.args.get(arg), high=1_000_000)
            if value is not None:
                result[arg[len(prefix):]] = value
    return result


def _order_args() -> dict:
    result = {}
    for arg in request.args:
        if arg.startswith("_oc_"):
            name = arg[4:]
            direction = request.args.get("_od_" + name)
            if direction in ("asc", "desc"):
                result[name] = (request.args.get(arg), direction)
    return result


def format_value(value) -> str:
    """How a value reads in a list, a show page and an export."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(v) for v in value)
    return str(value)


class EntityView(ModelView):
    """ModelView with collapsed permissions, eager loading, capped pages, field-level
    domain errors, a confirmation before deletion and an Excel export."""

    method_permission_name = VIEW_PERMISSIONS
    list_template = "entity/list.html"
    show_template = "entity/show.html"
    add_template = "entity/add.html"
    edit_template = "entity/edit.html"
    #: set by the registry: the Admin declaration of the model
    admin = None
    #: ids of the columns whose values are 字典 codes: {column path: dict type}
    dict_columns: dict = {}

    def post_add_redirect(self):
        """After adding, the list of the entity (where the new row can be found)."""
        return redirect(url_for(".list"))

    def render_template(self, template, **kwargs):
        kwargs.setdefault("view", self)
        return super().render_template(template, **kwargs)

    def quick_search_hint(self) -> str:
        columns = getattr(self.datamodel, "quick_search_columns", ())
        if not columns:
            return ""
        return gettext("Search by %(fields)s",
                       fields="、".join(str(self.label_columns.get(c, c)) for c in columns))

    # ---------------------------------------------------------------- listing
    def _page_size(self, requested):
        cap = current_app.config.get("MAX_PAGE_SIZE", 100)
        if not requested or requested <= 0:
            return self.page_size
        return min(requested, cap)

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="",
                         page=None, page_size=None, widgets=None, **kwargs):
        widgets = widgets or {}
        actions = actions or self.actions
        page_size = self._page_size(page_size)
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        if order_column and order_column not in self.order_columns:
            order_column, order_direction = "", ""
        joined_filters = self._joined_filters(filters, kwargs.pop("quick_search", False))
        count, items = self.datamodel.query(
            joined_filters, order_column, order_direction, page=page, page_size=page_size,
            select_columns=self.list_columns)
        pks = [self._serialize_pk_if_composite(pk) for pk in self.datamodel.get_keys(items)]
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=self.datamodel.get_values(items, self.list_columns),
            order_columns=self.order_columns, formatters_columns=self.formatters_columns,
            page=page, page_size=page_size, count=count, pks=pks, actions=actions,
            filters=filters, modelview_name=self.__class__.__name__, **kwargs)
        return widgets

    def _joined_filters(self, filters, quick_search: bool):
        """The search filters, the scope (base filters) and the quick search box."""
        from app.filters import FilterQuickSearch

        joined = filters.get_joined_filters(self._base_filters)
        text = (request.args.get("q") or "").strip() if quick_search else ""
        if text:
            joined.add_filter("id", FilterQuickSearch, text)
        return joined

    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename):
        abort(404)  # no entity stores files yet; FAB's handler answered 500 for unknown names

    def _list(self, **kwargs):
        name = self.__class__.__name__
        order_column, order_direction = _order_args().get(name, ("", ""))
        page = _request_args("page_").get(name)
        page_size = _request_args("psize_").get(name)
        get_filter_args(self._filters)
        widgets = self._get_list_widget(
            filters=self._filters, order_column=order_column, order_direction=order_direction,
            page=page, page_size=page_size, quick_search=True, **kwargs)
        form = self.search_form.refresh()
        self.update_redirect()
        return self._get_search_widget(form=form, widgets=widgets)

    def _get_related_views_widgets(self, item, orders=None, pages=None, page_sizes=None,
                                   widgets=None, **args):
        return super()._get_related_views_widgets(
            item, orders=_order_args(), pages=_request_args("page_"),
            page_sizes=_request_args("psize_"), widgets=widgets, **args)

    def _show(self, pk):
        item = self.datamodel.get(pk, self._base_filters, select_columns=self.show_columns)
        if not item:
            abort(404)
        widgets = self._get_show_widget(pk, item)
        self.update_redirect()
        return self._get_related_views_widgets(item, widgets=widgets)

    # ---------------------------------------------------------------- writing
    @staticmethod
    def _put_errors(form, error: DomainError) -> None:
        """Attach domain errors to the form's fields; the rest become a flash."""
        for field_name, messages in error.errors().items():
            field = getattr(form, field_name, None)
            if field_name != NON_FIELD and field is not None:
                field.errors = list(field.errors or []) + messages
            else:
                for message in messages:
                    flash(message, "danger")
        flash(gettext("Nothing was saved. Please correct the marked fields."), "danger")

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                try:
                    form.populate_obj(item)
                    self.pre_add(item)
                    self.datamodel.add(item)
                    self.post_add(item)
                except DomainError as error:
                    self.datamodel.session.rollback()
                    self._put_errors(form, error)
                else:
                    flash(str(self.add_row_message), "success")
                    g.saved_item = item
                    return None
            else:
                flash(gettext("Nothing was saved. Please correct the marked fields."), "danger")
        else:
            self._prefill_scope(form)
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _prefill_scope(self, form) -> None:
        """A new row starts in the user's own street / community / grid."""
        from models.places import Community, Grid, Street

        user = scope.acting_user()
        nodes = {Street: getattr(user, "scope_street", None),
                 Community: getattr(user, "scope_community", None),
                 Grid: getattr(user, "scope_grid", None)}
        for field in form:
            model = getattr(field, "model", None)
            if model in nodes and nodes[model] is not None and field.data is None \
                    and not getattr(field, "multiple", False):
                field.data = nodes[model]

    def _edit(self, pk):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                try:
                    form.populate_obj(item)
                    self.pre_update(item)
                    self.datamodel.edit(item)
                    self.post_update(item)
                except DomainError as error:
                    self.datamodel.session.rollback()
                    self._put_errors(form, error)
                else:
                    flash(str(self.edit_row_message), "success")
                    return None
            else:
                flash(gettext("Nothing was saved. Please correct the marked fields."), "danger")
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            self.update_redirect()
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, widgets=widgets)

    def _delete(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        try:
            self.pre_delete(item)
            self.datamodel.delete(item)
            self.post_delete(item)
        except DomainError as error:
            self.datamodel.session.rollback()
            for messages in error.errors().values():
                for message in messages:
                    flash(message, "danger")
        else:
            flash(str(self.delete_row_message), "success")
        self.update_redirect()

    # ---------------------------------------------------------------- export
    @expose("/export/")
    @has_access
    def export(self):
        """The current list (search filters and scope applied) as an .xlsx file."""
        from openpyxl import Workbook

        get_filter_args(self._filters)
        filters = self._joined_filters(self._filters, quick_search=True)
        columns = [c for c in self.list_columns]
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=str(self.admin.plural())[:31])
        sheet.append([str(self.label_columns.get(c, c)) for c in columns])
        order_column, order_direction = self.base_order or ("", "")
        rows = self.datamodel.iterate(filters, order_column, order_direction, select_columns=columns)
        for row in self.datamodel.get_values(rows, columns):
            sheet.append([self._cell(c, row[c]) for c in columns])
        buffer = io.BytesIO()
        workbook.save(buffer)
        buffer.seek(0)
        name = f"{self.admin.plural()}-{date.today().isoformat()}.xlsx"
        return send_file(buffer, as_attachment=True, download_name=name,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def _cell(self, column, value):
        formatter = self.formatters_columns.get(column)
        if formatter is not None:
            value = formatter(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return format_value(value)


class EntityApi(ModelRestApi):
    """ModelRestApi with collapsed permissions, relations written by id, scoped
    relation pickers and domain validation answering 422 with field-level messages."""

    method_permission_name = API_PERMISSIONS
    allow_browser_login = True
    model2schemaconverter = SchemaConverter
    admin = None
    #: relation names the picker endpoint answers for (set by the registry)
    admin_relations: tuple = ()

    def _domain_error(self, error: DomainError):
        self.datamodel.session.rollback()
        return self.response_422(message=error.errors())

    def _json_object(self):
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None

    def post_headless(self):
        data = self._json_object()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        try:
            item = self.add_model_schema.load(data)
        except ValidationError as err:
            return self.response_422(message=err.messages)
        try:
            self.pre_add(item)
            self.datamodel.add(item)
            self.post_add(item)
        except DomainError as error:
            return self._domain_error(error)
        return self.response(201, result=self.add_model_schema.dump(item, many=False),
                             id=self.datamodel.get_pk_value(item))

    def put_headless(self, pk):
        data = self._json_object()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        try:
            item = self.edit_model_schema.load(self._merge_update_item(item, data), instance=item)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return self.response_422(message=err.messages)
        try:
            self.pre_update(item)
            self.datamodel.edit(item)
            self.post_update(item)
        except DomainError as error:
            return self._domain_error(error)
        return self.response(200, result=self.edit_model_schema.dump(item, many=False))

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        try:
            self.pre_delete(item)
            self.datamodel.delete(item)
            self.post_delete(item)
        except DomainError as error:
            return self._domain_error(error)
        return self.response(200, message=gettext("Deleted."))

    # -- relation choices: the picker endpoint and the _info endpoint, both scoped --
    def _get_list_related_field(self, field, filter_rel_field, page=None, page_size=None):
        page, page_size = self._sanitize_page_args(page, page_size)
        count, rows = self.datamodel.related_choices(field.name, page=page or 0, size=page_size)
        return count, [{"id": r.id, "value": str(r)} for r in rows]

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        if isinstance(field, RelatedId):
            info["count"], info["values"] = self._get_list_related_field(field, filter_rel_field, page, page_size)
        info["label"] = str(self.label_columns.get(field.name, field.name))
        description = self.description_columns.get(field.name)
        info["description"] = str(description) if description is not None else ""
        return info

    @expose("/related/<column_name>", methods=["GET"])
    @protect()
    @safe
    @permission_name("related")
    def related(self, column_name):
        """Choices for a relation field, searched on the server and scoped.
        ---
        get:
          summary: Choices of a relation field (for pickers)
          parameters:
          - in: path
            name: column_name
            schema: {type: string}
          - in: query
            name: q
            schema: {type: string}
            description: text the choice's name (or code) contains
          - in: query
            name: page
            schema: {type: integer}
          - in: query
            name: ids
            schema: {type: string}
            description: comma-separated ids to resolve (current values)
          responses:
            200:
              description: matching rows, 20 a page
            404:
              $ref: '#/components/responses/404'
        """
        if column_name not in self.admin_relations:
            return self.response_404()
        ids = None
        if request.args.get("ids"):
            ids = [v for v in (bounded_int(x, low=1) for x in request.args["ids"].split(",")[:100]) if v]
        count, rows = self.datamodel.related_choices(
            column_name, text=request.args.get("q") or "", ids=ids,
            page=bounded_int(request.args.get("page"), 0, high=100_000))
        return self.response(200, count=count, result=[{"id": r.id, "text": str(r)} for r in rows])
