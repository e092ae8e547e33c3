"""The organisation tree: a custom view extending the generated Organisation view.

It keeps what the registry gives the generated view (scope, labels, pickers, eager
loading, permissions) and adds a tree page that can be narrowed to one subtree.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import scope
from app.api import bounded_int
from app.dictionary import choices
from app.registry import generated_view, override
from models.kernel.orgs import Organisation

_Generated = generated_view(Organisation)


@override(Organisation)
class OrganisationView(_Generated):
    method_permission_name = {**_Generated.method_permission_name, "tree": "read"}
    list_template = "organisations/list.html"

    def subtree(self, root_id: int | None):
        """The scoped organisations (of the subtree under ``root_id``), as nested nodes."""
        session = self.datamodel.session
        stmt = scope.apply(select(Organisation), Organisation).options(
            joinedload(Organisation.community), joinedload(Organisation.compound))
        root = None
        if root_id is not None:
            root = session.scalars(scope.apply(select(Organisation), Organisation)
                                   .where(Organisation.id == root_id)).first()
            if root is None:
                return None, []
            stmt = stmt.where(Organisation.path.like(root.path + "%"))
        rows = session.scalars(stmt.order_by(Organisation.path)).unique().all()
        by_id = {o.id: {"org": o, "children": []} for o in rows}
        roots = []
        for o in rows:
            node = by_id[o.id]
            parent = by_id.get(o.parent_id)
            (parent["children"] if parent is not None and o.id != root_id else roots).append(node)

        order = {code: i for i, (code, _label) in enumerate(choices("org_type", include_disabled=True))}
        key = lambda n: (order.get(n["org"].type, len(order)), n["org"].id)  # noqa: E731
        for node in by_id.values():
            node["children"].sort(key=key)
        roots.sort(key=key)
        return root, roots

    @expose("/tree/")
    @has_access
    def tree(self):
        root_id = bounded_int(request.args.get("root"), low=1)
        root, nodes = self.subtree(root_id)
        return self.render_template("organisations/tree.html", title=self.list_title,
                                    root=root, nodes=nodes,
                                    label_columns=self.label_columns,
                                    type_label=self.formatters_columns["type"])
