"""Revealing one sensitive value: a POST (never a GET), for roles holding
``can_reveal`` on ``SensitiveData`` that may read the entity, for rows in their scope.
Every reveal is written to the audit log (app/sensitive.py)."""
from __future__ import annotations

from flask import jsonify
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi
from flask_appbuilder.security.decorators import has_access, permission_name, protect
from flask_babel import gettext
from sqlalchemy import select

from app import scope, sensitive
from app.api import bounded_int
from app.extensions import db
from app.registry import entities

PERMISSIONS = ["can_reveal"]


def _reveal(entity: str, pk: int, column: str):
    """(status, payload) of a reveal request."""
    from flask import current_app

    model = next((m for m in entities() if m.__name__ == entity), None)
    pk = bounded_int(pk, low=1)
    if model is None or pk is None or sensitive.kind_of(model, column) is None:
        return 404, {"message": gettext("The page or record does not exist, or it is outside your data scope.")}
    if not current_app.appbuilder.sm.has_access("can_read", model.__name__):
        return 403, {"message": gettext(
            "You do not have permission to open this page. Ask the security administrator if you need it.")}
    item = db.session.scalars(scope.apply(select(model).where(model.id == pk), model)).first()
    if item is not None and sensitive.kind_of(model, column) == "minor_name" and not sensitive.is_minor_row(item):
        item = None  # an adult's name is not masked: nothing to reveal
    if item is None:
        return 404, {"message": gettext("The page or record does not exist, or it is outside your data scope.")}
    return 200, {"value": sensitive.reveal(item, column), "watermark": sensitive.watermark_text()}


class SensitiveDataView(BaseView):
    route_base = "/sensitive"
    class_permission_name = "SensitiveData"
    base_permissions = PERMISSIONS
    method_permission_name = {"reveal": "reveal"}

    @expose("/reveal/<entity>/<int:pk>/<column>", methods=["POST"])
    @has_access
    def reveal(self, entity, pk, column):
        status, payload = _reveal(entity, pk, column)
        response = jsonify(payload)
        response.status_code = status
        return response


class SensitiveDataApi(BaseApi):
    resource_name = "sensitive"
    class_permission_name = "SensitiveData"
    base_permissions = PERMISSIONS
    method_permission_name = {"reveal": "reveal"}
    allow_browser_login = True
    openapi_spec_tag = "SensitiveData"

    @expose("/reveal/<entity>/<int:pk>/<column>", methods=["POST"])
    @protect()
    @permission_name("reveal")
    def reveal(self, entity, pk, column):
        """Reveal one sensitive value (logged).
        ---
        post:
          summary: The full value of one sensitive field of one record; the reveal is logged
          parameters:
          - {in: path, name: entity, schema: {type: string}}
          - {in: path, name: pk, schema: {type: integer}}
          - {in: path, name: column, schema: {type: string}}
          responses:
            200: {description: the value}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        status, payload = _reveal(entity, pk, column)
        return self.response(status, **payload)
