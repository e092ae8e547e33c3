"""Base classes of every generated view and API.

:class:`EntityView` and :class:`EntityApi` are what the registry subclasses for each
declared model; a custom view in ``views/`` subclasses the generated class, so it
keeps scope, labels, eager loading and validation.
"""
from __future__ import annotations

import contextlib
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

from app import clock, excel, scope, sensitive
from app.api import RelatedId, SchemaConverter, bounded_int
from app.domain import NON_FIELD, Conflict, DomainError, kept_reason
from app.extensions import db
from app.filters import FilterQuickSearch

log = logging.getLogger(__name__)

#: every method of a generated view or API, collapsed to read / write (Superset-style)
VIEW_PERMISSIONS = {
    "list": "read", "show": "read", "download": "read",
    "add": "write", "edit": "write", "delete": "write",
    "action": "write", "action_post": "write",
    "export": "export",
    "import_page": "import", "import_template": "import", "import_job": "import",
    "import_job_status": "import", "import_errors": "import",
    "chart": "read", "chart_data": "read",
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


def flash_errors(error: DomainError) -> None:
    """Each message of a refused domain step as a flash on the next page: how every page
    action (a view's try / act / rollback) says no."""
    for messages in error.errors().values():
        for message in messages:
            flash(str(message), "danger")


class Attempt:
    """The outcome of a page action run under :func:`attempt`: ``ok`` once it went through;
    ``error`` the :class:`DomainError` that refused it."""

    def __init__(self):
        self.ok = False
        self.error: DomainError | None = None


@contextlib.contextmanager
def attempt():
    """A page action's one shape: run the domain step; if it refuses (``DomainError``),
    nothing of it is kept (rollback) and each message is flashed — the page then goes on
    (``if outcome.ok: flash(success)``; a redirect either way)::

        with attempt() as outcome:
            volunteers.change_status(volunteer, action, user)
        if outcome.ok:
            flash(gettext("Done…"), "success")
        return self._back(pk)
    """
    outcome = Attempt()
    try:
        yield outcome
    except DomainError as error:
        db.session.rollback()
        flash_errors(error)
        outcome.error = error
    else:
        outcome.ok = True


def format_value(value) -> str:
    """How a value reads in a list, a show page and an export."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):  # markup made by the model (a link)
        return value
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
            select_columns=list(self.list_columns) + list(getattr(self.admin, "loads", ())))
        pks = [self._serialize_pk_if_composite(pk) for pk in self.datamodel.get_keys(items)]
        # rows that are never deleted get no delete link (app.domain.delete refuses them anyway)
        kwargs["kept"] = {pk for pk, item in zip(pks, items) if kept_reason(item) is not None}
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=self.datamodel.get_values(items, self.list_columns),
            order_columns=self.order_columns, formatters_columns=self.formatters_columns,
            page=page, page_size=page_size, count=count, pks=pks, actions=actions,
            filters=filters, modelview_name=self.__class__.__name__, **kwargs)
        return widgets

    def _joined_filters(self, filters, quick_search: bool):
        """The search filters, the scope (base filters) and the quick search box."""
        joined = filters.get_joined_filters(self._base_filters)
        text = (request.args.get("q") or "").strip() if quick_search else ""
        if text:
            joined.add_filter("id", FilterQuickSearch, text)
        return joined

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if name not in self.actions:
            abort(404)  # FAB's handler answered 500 for a name no action has
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        if request.form.get("action") not in self.actions:
            abort(404)
        return super().action_post()

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

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=show_fieldsets)
        columns = sensitive.columns_of(self.datamodel.obj)
        widgets["show"].template_args["reveal"] = {
            c: url_for("SensitiveDataView.reveal", entity=self.datamodel.obj.__name__, pk=pk, column=c)
            for c in self.show_columns
            if c in columns and (columns[c] != "minor_name" or sensitive.is_minor_row(item))} \
            if sensitive.can_reveal() else {}
        return widgets

    def _show(self, pk):
        item = self.datamodel.get(pk, self._base_filters,
                                  select_columns=list(self.show_columns) + list(getattr(self.admin, "loads", ())))
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
            self._prefill_defaults(form)
            self._prefill_args(form)
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _prefill_defaults(self, form) -> None:
        """What the model proposes for a new row (``form_defaults(user)``)."""
        defaults = getattr(self.datamodel.obj, "form_defaults", None)
        if defaults is None:
            return
        for name, value in defaults(scope.acting_user()).items():
            if name in form and not form[name].data:
                form[name].data = value

    def _prefill_args(self, form) -> None:
        """``/visit/add?person=12``: a link may start the form with a chosen row (the
        overdue list's "log a visit"). Only rows the user may see are taken."""
        for field in form:
            raw = request.args.get(field.name)
            model = getattr(field, "model", None)
            if raw is None or model is None or getattr(field, "multiple", False):
                continue
            pk = bounded_int(raw, low=1)
            if pk is not None:
                from sqlalchemy import select

                field.data = self.datamodel.session.scalars(
                    scope.apply(select(model).where(model.id == pk), model)).first()

    def _prefill_scope(self, form) -> None:
        """A new row starts in the user's own street / community / grid."""
        tree = scope.places()
        if tree is None:
            return
        user = scope.acting_user()
        nodes = {tree.street: getattr(user, "scope_street", None),
                 tree.community: getattr(user, "scope_community", None),
                 tree.grid: getattr(user, "scope_grid", None)}
        for field in form:
            model = getattr(field, "model", None)
            if model in nodes and nodes[model] is not None and field.data is None \
                    and not getattr(field, "multiple", False):
                field.data = nodes[model]

    def _masked_fields(self, form, item):
        """The form's fields whose values are masked for this row (a child's name too)."""
        return [(name, kind) for name, kind in sensitive.columns_of(self.datamodel.obj).items()
                if name in form and (kind != "minor_name" or sensitive.is_minor_row(item))]

    def _hide_sensitive(self, form, item, only=None) -> None:
        """An edit form never shows a sensitive value: the field is empty, its placeholder
        (and description) says the value is kept unless a new one is entered."""
        for name, kind in self._masked_fields(form, item):
            if only is not None and name not in only:
                continue  # what the user typed is shown back to them
            value = only[name] if only is not None else getattr(item, name)
            field = form[name]
            field.data = None
            if value not in (None, ""):
                hint = gettext("%(masked)s (unchanged unless you enter a new value)",
                               masked=sensitive.mask(kind, value))
                field.render_kw = {**(field.render_kw or {}), "placeholder": hint}
                field.description = hint

    def _empty_sensitive(self, form, item) -> dict:
        """Masked fields left empty keep their value: they are not required in this
        submission, and the value is put back after ``populate_obj`` — never into the form,
        which may be shown again."""
        from wtforms.validators import Optional as OptionalValidator

        kept = {}
        for name, _kind in self._masked_fields(form, item):
            field = form[name]
            if field.data in (None, "") and getattr(item, name) not in (None, ""):
                kept[name] = getattr(item, name)
                field.validators = [OptionalValidator()]
                field.flags.required = False
        return kept

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
            kept = self._empty_sensitive(form, item)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                try:
                    form.populate_obj(item)
                    for name, value in kept.items():
                        setattr(item, name, value)
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
            self._hide_sensitive(form, item, only=kept)  # shown again: never with a kept value
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            self._hide_sensitive(form, item)
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
        """The current list (search, quick search and scope applied) as .xlsx, sensitive
        values masked. Importable entities export in their import layout (round trip);
        ``?reveal=1`` exports unmasked for roles that may reveal — a logged reveal."""
        from app import importer  # deferred: app.importer imports app.records, which imports this module

        get_filter_args(self._filters)
        filters = self._joined_filters(self._filters, quick_search=True)
        order_column, order_direction = self.base_order or ("", "")
        reveal = request.args.get("reveal") == "1"
        if reveal and not sensitive.can_reveal():
            abort(403)
        name = f"{self.admin.plural()}-{clock.today().isoformat()}.xlsx"
        model = self.datamodel.obj
        counted = [0]

        def counting(rows):
            for row in rows:
                counted[0] += 1
                yield row

        if importer.importable(model):
            select_columns = [c for c in importer.column_names(model)]
            rows = self.datamodel.iterate(filters, order_column, order_direction, select_columns=select_columns)
            content = importer.export(model, counting(rows), reveal=reveal)
        else:
            content = self._export_list(filters, order_column, order_direction, counting)
        from app.audit import log_export  # deferred: app.audit imports app.records, which imports this module

        log_export(model, counted[0], self._filter_text(), revealed=reveal)
        return send_file(io.BytesIO(content), as_attachment=True, download_name=name,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def _filter_text(self) -> str:
        """The list's filters as the user reads them: "姓名 包含 张; 搜索 王"."""
        parts = [f"{self.label_columns.get(flt.column_name, flt.column_name)} {flt.name} {value}"
                 for flt, value in self._filters.get_filters_values()]
        if (request.args.get("q") or "").strip():
            parts.append(f"{gettext('Search')} {request.args['q'].strip()}")
        return "; ".join(str(p) for p in parts)

    def _export_list(self, filters, order_column, order_direction, counting=lambda rows: rows) -> bytes:
        columns = list(self.list_columns)
        writer = excel.XlsxWriter([excel.Column(name=c, header=str(self.label_columns.get(c, c)))
                                   for c in columns], str(self.admin.plural())[:31])
        rows = counting(self.datamodel.iterate(filters, order_column, order_direction, select_columns=columns))
        for row in self.datamodel.get_values(rows, columns):
            writer.append([self._cell(c, row[c]) for c in columns])
        return writer.save()

    def _cell(self, column, value):
        formatter = self.formatters_columns.get(column)
        if formatter is not None:
            value = formatter(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return format_value(value)

    # ---------------------------------------------------------------- import
    @expose("/import/", methods=["GET", "POST"])
    @has_access
    def import_page(self):
        from app import jobs  # deferred: app.jobs imports app.registry, which imports this module
        from app.jobs import ImportJob  # deferred: app.jobs imports app.registry, which imports this module

        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                flash(gettext("Choose an Excel file (.xlsx) to import."), "danger")
            elif not upload.filename.lower().endswith(".xlsx"):
                flash(gettext("The file is not an Excel workbook (.xlsx). Save it as .xlsx and try again."), "danger")
            else:
                job = jobs.start_import(self.datamodel.obj, upload.read(), upload.filename, g.user,
                                        request.form.get("update") == "y")
                return redirect(url_for(".import_job", job_id=job.id))
        recent = self.datamodel.session.query(ImportJob).filter(
            ImportJob.user_id == g.user.id, ImportJob.entity == self.datamodel.obj.__name__) \
            .order_by(ImportJob.id.desc()).limit(10).all()
        for job in recent:
            if job.status not in ("done", "failed"):
                jobs.status_of(job)  # a job that died meanwhile is listed as failed
        return self.render_template("entity/import.html", title=gettext(
            "Import %(entity)s", entity=self.admin.plural()), recent=recent,
            key_label=self.label_columns.get(getattr(self.admin, "import_key", None) or "", ""))

    @expose("/import/template")
    @has_access
    def import_template(self):
        from app import importer  # deferred: app.importer imports app.records, which imports this module

        name = gettext("%(entity)s import template", entity=self.admin.plural()) + ".xlsx"
        return send_file(io.BytesIO(importer.template(self.datamodel.obj)), as_attachment=True,
                         download_name=name,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def _job(self, job_id):
        from app.jobs import ImportJob  # deferred: app.jobs imports app.registry, which imports this module

        job_id = bounded_int(job_id, low=1)
        job = self.datamodel.session.get(ImportJob, job_id) if job_id else None
        if job is None or job.user_id != g.user.id or job.entity != self.datamodel.obj.__name__:
            abort(404)
        return job

    @expose("/import/job/<int:job_id>")
    @has_access
    def import_job(self, job_id):
        from app.jobs import PHASES, status_of  # deferred: app.jobs imports app.registry, which imports this module

        job = self._job(job_id)
        return self.render_template("entity/import_job.html", title=gettext(
            "Import %(entity)s", entity=self.admin.plural()), job=job, state=status_of(job), phases=PHASES)

    @expose("/import/job/<int:job_id>/status")
    @has_access
    def import_job_status(self, job_id):
        from flask import jsonify

        from app.jobs import PHASES, status_of  # deferred: app.jobs imports app.registry, which imports this module

        job = self._job(job_id)
        state = status_of(job)  # one answer: a dead job is failed, finished and 100 % at once
        return jsonify(status=state["status"], phase=str(PHASES.get(state["status"], "")),
                       percent=state["percent"], done=state["done"], total=state["total"],
                       written=job.written, bad_rows=job.bad_rows, message=state["message"],
                       errors=bool(job.error_workbook), finished=state["finished"],
                       interrupted=state["interrupted"])

    @expose("/import/job/<int:job_id>/errors")
    @has_access
    def import_errors(self, job_id):
        job = self._job(job_id)
        if not job.error_workbook:
            abort(404)
        name = gettext("errors of %(file)s", file=job.filename or "") + ".xlsx"
        return send_file(io.BytesIO(job.error_workbook), as_attachment=True, download_name=name,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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
        if isinstance(error, Conflict):  # someone else's step came first: refresh and retry
            return self.response(409, message=error.errors())
        return self.response_422(message=error.errors())

    def _json_object(self):
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None

    def _read_only(self, data: dict, schema) -> dict:
        """Fields of the record that this operation cannot set (its id, the time stamps,
        what is derived or shown only): refused by name, never dropped in silence."""
        from sqlalchemy import inspect as sa_inspect

        attrs = sa_inspect(self.datamodel.obj).attrs
        shown = {c.split(".")[0] for c in list(self.show_columns) + list(self.list_columns)}
        return {name: [gettext("This field is read only here; it cannot be set.")]
                for name in data if name not in schema.fields and (name in attrs or name in shown)}

    def _masked_echo(self, data: dict, item) -> dict:
        """A sensitive field sent back exactly as it was read (masked: "155****5494") would
        overwrite the real value with the mask: refused by name."""
        names = [n for n in sensitive.columns_of(self.datamodel.obj) if isinstance(data.get(n), str) and "*" in data[n]]
        if not names:
            return {}
        shown = self.show_model_schema.dump(item, many=False)
        return {n: [gettext("This is the masked value as it was shown; give the full value or leave the field out.")]
                for n in names if data[n] == shown.get(n) and data[n] != str(getattr(item, n) or "")}

    def post_headless(self):
        data = self._json_object()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        refused = self._read_only(data, self.add_model_schema)
        if refused:
            return self.response_422(message=refused)
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
        return self.response(201, result=self.show_model_schema.dump(item, many=False),
                             id=self.datamodel.get_pk_value(item))

    def put_headless(self, pk):
        data = self._json_object()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        refused = self._read_only(data, self.edit_model_schema) or self._masked_echo(data, item)
        if refused:
            return self.response_422(message=refused)
        try:
            # only the given fields change (PUT works as PATCH); nothing is merged back from a
            # dump, so masked values can never be written
            item = self.edit_model_schema.load(data, instance=item, partial=True)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return self.response_422(message=err.messages)
        try:
            self.pre_update(item)
            self.datamodel.edit(item)
            self.post_update(item)
        except DomainError as error:
            return self._domain_error(error)
        return self.response(200, result=self.show_model_schema.dump(item, many=False))

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


def can(permission: str, entity: str) -> bool:
    """Whether the signed-in user holds ``permission`` on ``entity`` (which buttons a page shows)."""
    return current_app.appbuilder.sm.has_access(permission, entity)


def public_choice(model, pk: int | None = None):
    """A public page's choice among all rows of ``model`` (a community, say): ``(rows,
    chosen)``, the rows in id order and the one whose id is ``pk`` — the first when no
    ``pk`` is given; 404 when there are none or ``pk`` is not among them."""
    from sqlalchemy import select

    rows = db.session.scalars(select(model).order_by(model.id)).all()
    if not rows:
        abort(404)
    chosen = next((row for row in rows if row.id == pk), None) if pk else rows[0]
    if chosen is None:
        abort(404)
    return rows, chosen


class WithExtras:
    """Show pages with extra template variables (the workflow's state and forms):
    ``extras(item)`` gives them; ``_visible(pk)`` is a row in the user's scope or 404."""

    extras_key = "work"

    def extras(self, item) -> dict:
        return {}

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions, show_fieldsets=show_fieldsets)
        widgets[self.extras_key] = self.extras(item)
        return widgets

    def render_template(self, template, **kwargs):
        widgets = kwargs.get("widgets") or {}
        if self.extras_key in widgets:
            kwargs.update(widgets[self.extras_key])
        return super().render_template(template, **kwargs)

    def _visible(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return item

    def _back(self, pk):
        return redirect(url_for(f"{type(self).__name__}.show", pk=pk))
