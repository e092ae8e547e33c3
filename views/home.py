"""The home page: the product's name and, for each role of the user, its work."""
from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app import policy


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))
        sm = self.appbuilder.sm
        roles = [r.name for r in user.roles]
        work = [policy.ROLES[name]["work"] for name in roles if name in policy.ROLES]
        sections = []
        for category, items in policy.home_sections():
            entries = []
            for model, view in items:
                name = model.__name__
                if sm.has_access("can_read", name):
                    entries.append({
                        "label": model.Admin.plural(model),
                        "icon": model.Admin.icon,
                        "list_url": url_for(f"{view.__name__}.list"),
                        "add_url": url_for(f"{view.__name__}.add")
                        if sm.has_access("can_write", name) and getattr(model.Admin, "form_columns", None) != [] else None,
                    })
            if entries:
                sections.append({"category": category, "entries": entries})
        overdue_count = None
        if sm.has_access("can_read", "Visit"):
            from models.care import overdue

            overdue_count = overdue(count_only=True)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    roles=roles, work=work, sections=sections, user=user,
                                    overdue_count=overdue_count)
